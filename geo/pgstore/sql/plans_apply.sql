-- What applying a plan changes (impact) and the apply itself
-- (plans_apply.go). The town of the plan is passed as text ('' for a plan
-- of every town): the base's grids read are that town's only, and the
-- apply retires that town's grids only.

-- name: plan_impact_grids
-- The changed grids of plan $1 (base $2, town $4): areas, counts and
-- leaders (at $3) before and after.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1),
b AS (SELECT * FROM wangge_grids_at_generation($2) WHERE $4::text = '' OR left(code, 9) = $4)
SELECT coalesce(d.code, b.code),
       CASE WHEN b.code IS NULL THEN 'added' WHEN d.code IS NULL THEN 'retired' ELSE 'modified' END,
       coalesce(wangge_area_m2(b.geom), 0), coalesce(wangge_area_m2(wangge_polygonal(d.geom)), 0),
       coalesce(b.households, 0), coalesce(d.households, 0), coalesce(b.population, 0), coalesce(d.population, 0),
       coalesce((SELECT p.name FROM assignments a JOIN people p ON p.id = a.person_id
                 WHERE a.grid_code = b.code AND a.role = 'leader' AND a.starts_at <= $3 AND (a.ends_at IS NULL OR a.ends_at > $3)
                 ORDER BY a.starts_at DESC LIMIT 1), ''),
       coalesce((SELECT l.name FROM plan_leaders l WHERE l.plan_id = $1 AND l.grid_code = d.code),
                (SELECT p.name FROM assignments a JOIN people p ON p.id = a.person_id
                 WHERE a.grid_code = d.code AND a.role = 'leader' AND a.starts_at <= $3 AND (a.ends_at IS NULL OR a.ends_at > $3)
                 ORDER BY a.starts_at DESC LIMIT 1), '')
FROM d FULL JOIN b ON b.code = d.code
WHERE b.code IS NULL OR d.code IS NULL
   OR NOT (d.name = b.name AND d.village_code = b.village_code AND d.households = b.households
           AND d.population = b.population AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom))
ORDER BY 1;

-- name: plan_impact_moves
-- Area passing from a grid of the base ($2, town $4) to another grid of plan $1,
-- larger than $3 m², where either grid's geometry changed; and the area of
-- changed base grids that no grid of the draft covers (to NULL), and of
-- changed draft grids that no grid of the base covered (from NULL). The
-- households and population moved are the base grid's, in proportion to
-- the area moved.
WITH b AS (SELECT code, households, population, geom, wangge_area_m2(geom) AS area FROM wangge_grids_at_generation($2)
           WHERE $4::text = '' OR left(code, 9) = $4),
cb AS (
    SELECT b.* FROM b
    WHERE NOT EXISTS (SELECT 1 FROM plan_grids d WHERE d.plan_id = $1 AND d.code = b.code AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom))
),
cd AS (
    SELECT d.code, wangge_polygonal(d.geom) AS geom FROM plan_grids d
    WHERE d.plan_id = $1
      AND NOT EXISTS (SELECT 1 FROM b WHERE b.code = d.code AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom))
),
pairs AS (
    SELECT cb.code AS from_code, d.code AS to_code FROM cb
    JOIN plan_grids d ON d.plan_id = $1 AND d.geom && cb.geom AND d.code <> cb.code
    UNION
    SELECT b.code, cd.code FROM cd JOIN b ON b.geom && cd.geom AND b.code <> cd.code
),
moved AS (
    SELECT p.from_code, p.to_code, b.households, b.population, b.area,
           ST_CollectionExtract(ST_Intersection(b.geom, wangge_polygonal(d.geom)), 3) AS i
    FROM pairs p
    JOIN b ON b.code = p.from_code
    JOIN plan_grids d ON d.plan_id = $1 AND d.code = p.to_code
    UNION ALL
    SELECT cb.code, NULL, cb.households, cb.population, cb.area,
           ST_CollectionExtract(ST_Difference(cb.geom, coalesce(
               (SELECT ST_Union(wangge_polygonal(d.geom)) FROM plan_grids d WHERE d.plan_id = $1 AND d.geom && cb.geom),
               'SRID=4326;POLYGON EMPTY'::geometry)), 3)
    FROM cb
    UNION ALL
    SELECT NULL, cd.code, 0, 0, 1,
           ST_CollectionExtract(ST_Difference(cd.geom, coalesce(
               (SELECT ST_Union(b.geom) FROM b WHERE b.geom && cd.geom),
               'SRID=4326;POLYGON EMPTY'::geometry)), 3)
    FROM cd
)
SELECT coalesce(from_code, ''), coalesce(to_code, ''), a, households * a / nullif(area, 0), population * a / nullif(area, 0)
FROM moved, wangge_area_m2(i) AS a
WHERE a > $3
ORDER BY 1, 2;

-- name: plan_attachment_changes
-- The organization attachments that applying plan $1 (base $2, town $4) at $3
-- ends (grids it retires) and starts (a grid took area from grids an
-- organization of its village, or of no village, serves: the codes in
-- derived_from).
WITH att AS (
    SELECT og.id, og.organization_id, og.grid_code FROM organization_grids og
    WHERE og.starts_at <= $3 AND (og.ends_at IS NULL OR og.ends_at > $3)
),
retired AS (
    SELECT b.code FROM wangge_grids_at_generation($2) b
    WHERE ($4::text = '' OR left(b.code, 9) = $4)
      AND NOT EXISTS (SELECT 1 FROM plan_grids d WHERE d.plan_id = $1 AND d.code = b.code)
)
SELECT true, a.id, o.id, o.kind, o.name, a.grid_code, '{}'::text[]
FROM att a JOIN organizations o ON o.id = a.organization_id
WHERE a.grid_code IN (SELECT code FROM retired)
UNION ALL
SELECT false, 0, o.id, o.kind, o.name, g.code, array_agg(DISTINCT src ORDER BY src)
FROM plan_grids g
CROSS JOIN LATERAL unnest(g.derived_from) AS src
JOIN att a ON a.grid_code = src
JOIN organizations o ON o.id = a.organization_id
WHERE g.plan_id = $1 AND src <> g.code
  AND (o.village_code IS NULL OR o.village_code = g.village_code)
  AND (o.ended_at IS NULL OR o.ended_at > $3)
  AND NOT EXISTS (SELECT 1 FROM att x WHERE x.organization_id = o.id AND x.grid_code = g.code)
GROUP BY o.id, o.kind, o.name, g.code
ORDER BY 6, 4, 5;

-- name: plan_impact_incidents
-- Open incidents (statuses $3) whose location the base ($2) and plan $1
-- route to different grids (the smallest code covering it, as locate's
-- boundary rule; '' outside every grid), among the grids of the plan's
-- town $4: another town's grids are the same before and after.
SELECT number, status, ST_X(location), ST_Y(location), coalesce(grid_code, ''), before, after
FROM incidents i
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT min(b.code) FROM wangge_grids_at_generation($2) b
                     WHERE ($4::text = '' OR left(b.code, 9) = $4)
                       AND b.geom && i.location AND ST_Covers(b.geom, i.location)), '') AS before,
           coalesce((SELECT min(d.code) FROM plan_grids d
                     WHERE d.plan_id = $1 AND d.geom && i.location AND ST_Covers(wangge_polygonal(d.geom), i.location)), '') AS after
) r
WHERE i.location IS NOT NULL AND i.status = ANY($3) AND before <> after
ORDER BY i.id;

-- name: plan_apply_villages
-- Village outlines plan $1 changed (a move), into the registry.
UPDATE villages v SET outline = p.outline
FROM plan_villages p
WHERE p.plan_id = $1 AND p.code = v.code AND ST_AsEWKB(p.outline) <> ST_AsEWKB(v.outline);

-- name: plan_apply_people
-- People plan $1 appoints who are not yet known (by name and phone among
-- people who have not left), as the town import finds them.
INSERT INTO people (name, phone, created_at)
SELECT DISTINCT l.name, l.phone, $2::timestamptz FROM plan_leaders l
WHERE l.plan_id = $1
  AND NOT EXISTS (SELECT 1 FROM people p WHERE p.name = l.name AND p.phone = l.phone AND p.ended_at IS NULL);

-- name: plan_apply_end_assignments
-- At $3: end every assignment on grids plan $1 retired from its base $2
-- (of town $4),
-- the leader assignments of grids it gives another leader, and the deputy
-- assignment of a new leader on the same grid (one person, one role).
-- Returns the assignments ended, as assignments_at does, so that their
-- holders' open incidents are handed over.
UPDATE assignments a SET ends_at = $3
FROM people h
WHERE h.id = a.person_id
  AND a.grid_code IS NOT NULL AND a.starts_at < $3 AND (a.ends_at IS NULL OR a.ends_at > $3) AND (
    a.grid_code IN (SELECT b.code FROM wangge_grids_at_generation($2) b
                    WHERE ($4::text = '' OR left(b.code, 9) = $4)
                      AND NOT EXISTS (SELECT 1 FROM plan_grids d WHERE d.plan_id = $1 AND d.code = b.code))
    OR EXISTS (SELECT 1 FROM plan_leaders l JOIN people p ON p.name = l.name AND p.phone = l.phone AND p.ended_at IS NULL
               WHERE l.plan_id = $1 AND l.grid_code = a.grid_code
                 AND ((a.role = 'leader' AND p.id <> a.person_id) OR (a.role = 'deputy' AND p.id = a.person_id))))
RETURNING a.id, a.person_id, h.name, h.phone, h.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at;

-- name: plan_apply_leaders
INSERT INTO assignments (person_id, role, grid_code, starts_at)
SELECT p.id, 'leader', l.grid_code, $2
FROM plan_leaders l JOIN people p ON p.name = l.name AND p.phone = l.phone AND p.ended_at IS NULL
WHERE l.plan_id = $1
  AND NOT EXISTS (SELECT 1 FROM assignments a
                  WHERE a.role = 'leader' AND a.grid_code = l.grid_code AND a.person_id = p.id
                    AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2));

-- name: plan_apply_detach
UPDATE organization_grids SET ends_at = $2 WHERE id = ANY($1) AND starts_at < $2;

-- name: plan_apply_attach
INSERT INTO organization_grids (organization_id, grid_code, starts_at)
SELECT unnest($1::bigint[]), unnest($2::text[]), $3;

-- name: plan_mark_applied
UPDATE plans SET status = 'applied', applied_by = $2, applied_at = $3, applied_generation = $4, updated_at = $3
WHERE id = $1;

-- name: plan_town_lock
-- Serialises the applies of town $1 (a 9-digit code, within int4): a
-- town's apply checks its draft under this lock and takes the generation
-- lock (town.sql) only to write, so that another town's apply waits only
-- for the writing. A separate key space (two int4 keys) from the
-- generation lock's one bigint key.
SELECT pg_advisory_xact_lock(7263003, $1::integer);
