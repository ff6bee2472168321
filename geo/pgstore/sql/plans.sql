-- Plans: drafts of a redraw, their edits, repairs, impact and apply (see
-- migrations/0007_plans.sql). A grid of the draft is "unchanged" when its
-- name, village, counts and geometry (bit for bit, as EWKB) equal those of
-- the base's grid of the same code: the same test grids_retire_changed
-- applies, so what the draft calls unchanged keeps its version on apply.

-- name: no_jit
-- PostGIS functions declare high costs, so plain queries on a town pass
-- jit_above_cost and JIT compilation (0.4-0.8 s) outweighs running them.
SET LOCAL jit = off;

-- name: plan_create
INSERT INTO plans (note, base_generation, rebased_from, created_by, created_at, updated_at)
VALUES ($1, $2, nullif($3::bigint, 0), $4, $5, $5)
RETURNING id;

-- name: plan_copy_grids
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom)
SELECT $1, code, name, village_code, households, population, geom
FROM grids WHERE retired_generation IS NULL;

-- name: plan_copy_villages
INSERT INTO plan_villages (plan_id, code, outline)
SELECT $1, code, outline FROM villages WHERE retired_at IS NULL;

-- name: plan_get
SELECT id, note, base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at, revision,
       coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE id = $1;

-- name: plan_lock
SELECT id, note, base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at, revision,
       coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE id = $1 FOR UPDATE;

-- name: plans_list
-- Plans of status $1 (every plan when empty), newest first.
SELECT id, note, base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at, revision,
       coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE $1 = '' OR status = $1
ORDER BY id DESC LIMIT 200;

-- name: plan_touch
UPDATE plans SET revision = revision + 1, updated_at = $2 WHERE id = $1
RETURNING revision, updated_at;

-- name: plan_summary
-- Counts of the grids of plan $1 (base $2) by change, and its leaders.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1),
b AS (SELECT * FROM wangge_grids_at_generation($2)),
c AS (
    SELECT CASE
        WHEN b.code IS NULL THEN 'added'
        WHEN d.code IS NULL THEN 'retired'
        WHEN d.name = b.name AND d.village_code = b.village_code AND d.households = b.households
             AND d.population = b.population AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom) THEN 'unchanged'
        ELSE 'modified' END AS change
    FROM d FULL JOIN b ON b.code = d.code
)
SELECT count(*) FILTER (WHERE change = 'unchanged'), count(*) FILTER (WHERE change = 'modified'),
       count(*) FILTER (WHERE change = 'added'), count(*) FILTER (WHERE change = 'retired'),
       (SELECT count(*) FROM plan_leaders l JOIN d ON d.code = l.grid_code WHERE l.plan_id = $1)
FROM c;

-- name: plan_view
-- The grids of plan $1 (base $2) with their change, and the base's grids
-- the draft retired; leaders as at time $3 (the plan's, else the one in
-- office). With $4 not NULL, only those codes.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1 AND ($4::text[] IS NULL OR code = ANY($4))),
b AS (SELECT * FROM wangge_grids_at_generation($2) WHERE $4::text[] IS NULL OR code = ANY($4))
SELECT coalesce(d.code, b.code) AS code, coalesce(d.name, b.name), coalesce(d.village_code, b.village_code),
       coalesce(d.households, b.households), coalesce(d.population, b.population),
       ST_AsBinary(coalesce(d.geom, b.geom)),
       CASE
           WHEN b.code IS NULL THEN 'added'
           WHEN d.code IS NULL THEN 'retired'
           WHEN d.name = b.name AND d.village_code = b.village_code AND d.households = b.households
                AND d.population = b.population AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom) THEN 'unchanged'
           ELSE 'modified' END,
       coalesce(d.derived_from, '{}'),
       pl.name IS NOT NULL, coalesce(pl.name, cur.name), coalesce(pl.phone, cur.phone)
FROM d FULL JOIN b ON b.code = d.code
LEFT JOIN plan_leaders pl ON pl.plan_id = $1 AND pl.grid_code = d.code
LEFT JOIN LATERAL (
    SELECT p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.grid_code = coalesce(d.code, b.code) AND a.role = 'leader'
      AND a.starts_at <= $3 AND (a.ends_at IS NULL OR a.ends_at > $3)
    ORDER BY a.starts_at DESC LIMIT 1
) cur ON true
ORDER BY 1;

-- name: plan_grid_get
-- A grid of plan $1, locked, with its validity and area.
SELECT name, village_code, households, population, ST_IsValid(geom), wangge_area_m2(wangge_polygonal(geom)), derived_from
FROM plan_grids WHERE plan_id = $1 AND code = $2 FOR UPDATE;

-- name: plan_grid_edit
UPDATE plan_grids
SET geom = coalesce(ST_Multi(ST_GeomFromWKB($3, 4326)), geom),
    name = coalesce($4, name), households = coalesce($5, households), population = coalesce($6, population)
WHERE plan_id = $1 AND code = $2;

-- name: plan_code_used
-- Whether code $2 is a grid of plan $1 or was ever a grid of the registry:
-- codes are never reused, so that a code's history means one place.
SELECT EXISTS (SELECT 1 FROM plan_grids WHERE plan_id = $1 AND code = $2)
    OR EXISTS (SELECT 1 FROM grids WHERE code = $2);

-- name: plan_village_exists
SELECT EXISTS (SELECT 1 FROM plan_villages WHERE plan_id = $1 AND code = $2);

-- name: plan_grid_add
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom, derived_from)
VALUES ($1, $2, $3, $4, $5, $6, ST_Multi(ST_GeomFromWKB($7, 4326)), coalesce($8::text[], '{}'));

-- name: plan_grid_delete
DELETE FROM plan_grids WHERE plan_id = $1 AND code = $2;

-- name: plan_leader_delete
DELETE FROM plan_leaders WHERE plan_id = $1 AND grid_code = ANY($2);

-- name: plan_leader_set
INSERT INTO plan_leaders (plan_id, grid_code, name, phone) VALUES ($1, $2, $3, $4)
ON CONFLICT (plan_id, grid_code) DO UPDATE SET name = excluded.name, phone = excluded.phone;

-- name: plan_split_parts
-- The parts of grid $2 of plan $1 cut by the line $3 (WKB), largest first.
SELECT ST_AsBinary(ST_Multi(d.geom)), wangge_area_m2(d.geom)
FROM plan_grids g
CROSS JOIN LATERAL ST_Dump(ST_Split(g.geom, ST_GeomFromWKB($3, 4326))) AS d
WHERE g.plan_id = $1 AND g.code = $2
ORDER BY 2 DESC, 1;

-- name: plan_split_keep
UPDATE plan_grids SET geom = ST_GeomFromWKB($3, 4326), households = $4, population = $5
WHERE plan_id = $1 AND code = $2;

-- name: plan_merge_grids
-- The grids $2 of plan $1, locked, with their village and validity.
SELECT code, village_code, ST_IsValid(geom) FROM plan_grids
WHERE plan_id = $1 AND code = ANY($2) ORDER BY code FOR UPDATE;

-- name: plan_merge_adjacent
-- Pairs of the grids $2 of plan $1 that share a border (their boundaries
-- meet along a line, not just at points) or overlap.
SELECT a.code, b.code
FROM plan_grids a
JOIN plan_grids b ON b.plan_id = a.plan_id AND a.code < b.code AND a.geom && b.geom
WHERE a.plan_id = $1 AND a.code = ANY($2) AND b.code = ANY($2)
  AND (ST_Relate(a.geom, b.geom, '****1****') OR ST_Relate(a.geom, b.geom, '2********'));

-- name: plan_merge_write
-- Grid $3 of plan $1 becomes the union of the grids $2, their households
-- and population added up.
UPDATE plan_grids g
SET geom = m.geom, households = m.households, population = m.population, derived_from = m.derived
FROM (
    SELECT ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) AS geom, sum(households)::integer AS households,
           sum(population)::integer AS population,
           ARRAY(SELECT DISTINCT x FROM plan_grids s, unnest(s.derived_from || s.code) AS x
                 WHERE s.plan_id = $1 AND s.code = ANY($2) AND x <> $3 ORDER BY x) AS derived
    FROM plan_grids WHERE plan_id = $1 AND code = ANY($2)
) m
WHERE g.plan_id = $1 AND g.code = $3;

-- name: plan_merge_delete
DELETE FROM plan_grids WHERE plan_id = $1 AND code = ANY($2) AND code <> $3;

-- name: plan_move_grid
-- Grid $2 of plan $1 becomes grid $3 of village $4.
UPDATE plan_grids SET code = $3, village_code = $4, derived_from = array_append(derived_from, $2)
WHERE plan_id = $1 AND code = $2;

-- name: plan_move_village_out
-- Village $2 of plan $1 loses the area $3 (WKB); returns what is left.
UPDATE plan_villages SET outline = ST_Multi(ST_CollectionExtract(ST_Difference(outline, ST_GeomFromWKB($3, 4326)), 3))
WHERE plan_id = $1 AND code = $2
RETURNING wangge_area_m2(outline);

-- name: plan_move_village_in
UPDATE plan_villages SET outline = ST_Multi(ST_CollectionExtract(ST_Union(outline, ST_GeomFromWKB($3, 4326)), 3))
WHERE plan_id = $1 AND code = $2;

-- name: plan_grid_geom
SELECT ST_AsBinary(geom) FROM plan_grids WHERE plan_id = $1 AND code = $2;

-- name: plan_move_leader
-- The leader of grid $2 goes with it to code $3: the one plan $1 appoints,
-- else the one in office at $4.
INSERT INTO plan_leaders (plan_id, grid_code, name, phone)
SELECT $1, $3, name, phone FROM (
    SELECT l.name, l.phone, 0 AS rank FROM plan_leaders l WHERE l.plan_id = $1 AND l.grid_code = $2
    UNION ALL
    SELECT p.name, p.phone, 1 FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.grid_code = $2 AND a.role = 'leader' AND a.starts_at <= $4 AND (a.ends_at IS NULL OR a.ends_at > $4)
) s
ORDER BY rank LIMIT 1
ON CONFLICT (plan_id, grid_code) DO UPDATE SET name = excluded.name, phone = excluded.phone;

-- name: plan_layer_stage
CREATE TEMP TABLE plan_layer (
    code text, name text, village_code text, households integer, population integer,
    wkb bytea, geom geometry GENERATED ALWAYS AS (ST_Multi(ST_GeomFromWKB(wkb, 4326))) STORED
) ON COMMIT DROP;

-- name: plan_layer_unknown_villages
-- Codes of the layer whose village is not in plan $1.
SELECT l.code, l.village_code FROM plan_layer l
WHERE NOT EXISTS (SELECT 1 FROM plan_villages v WHERE v.plan_id = $1 AND v.code = l.village_code)
ORDER BY l.code;

-- name: plan_layer_reused_codes
-- Codes of the layer that belonged to grids of the registry other than
-- the base's ($1): codes are never reused.
SELECT DISTINCT l.code FROM plan_layer l JOIN grids g ON g.code = l.code
WHERE NOT EXISTS (SELECT 1 FROM wangge_grids_at_generation($1) b WHERE b.code = l.code)
ORDER BY l.code;

-- name: plan_layer_delete
DELETE FROM plan_grids g WHERE g.plan_id = $1 AND NOT EXISTS (SELECT 1 FROM plan_layer l WHERE l.code = g.code);

-- name: plan_layer_update
UPDATE plan_grids g
SET geom = l.geom, name = coalesce(nullif(l.name, ''), g.name),
    households = coalesce(l.households, g.households), population = coalesce(l.population, g.population)
FROM plan_layer l WHERE g.plan_id = $1 AND g.code = l.code;

-- name: plan_layer_insert
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom)
SELECT $1, l.code, coalesce(nullif(l.name, ''), '网格' || right(l.code, 3)), l.village_code,
       coalesce(l.households, 0), coalesce(l.population, 0), l.geom
FROM plan_layer l
WHERE NOT EXISTS (SELECT 1 FROM plan_grids g WHERE g.plan_id = $1 AND g.code = l.code);

-- name: plan_leaders_orphaned
-- Leaders appointed to grids no longer in plan $1.
DELETE FROM plan_leaders l WHERE l.plan_id = $1
  AND NOT EXISTS (SELECT 1 FROM plan_grids g WHERE g.plan_id = $1 AND g.code = l.grid_code);

-- name: plan_rebase_stage
-- The grids plan $1 changed relative to its base $2: added or modified
-- (with the row) or retired (without).
CREATE TEMP TABLE plan_rebase ON COMMIT DROP AS
SELECT coalesce(o.code, b.code) AS code, o.code IS NULL AS retired
FROM (SELECT * FROM plan_grids WHERE plan_id = $1) o
FULL JOIN wangge_grids_at_generation($2) b ON b.code = o.code
WHERE o.code IS NULL OR b.code IS NULL
   OR NOT (o.name = b.name AND o.village_code = b.village_code AND o.households = b.households
           AND o.population = b.population AND ST_AsEWKB(o.geom) = ST_AsEWKB(b.geom));

-- name: plan_rebase_delete
DELETE FROM plan_grids n WHERE n.plan_id = $1 AND n.code IN (SELECT code FROM plan_rebase);

-- name: plan_rebase_insert
-- The grids plan $2 added or modified, into plan $1.
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom, derived_from)
SELECT $1, o.code, o.name, o.village_code, o.households, o.population, o.geom, o.derived_from
FROM plan_grids o JOIN plan_rebase r ON r.code = o.code AND NOT r.retired
WHERE o.plan_id = $2
  AND EXISTS (SELECT 1 FROM plan_villages v WHERE v.plan_id = $1 AND v.code = o.village_code);

-- name: plan_rebase_villages
-- Village outlines plan $2 changed (they differ from the registry's) into
-- plan $1.
UPDATE plan_villages n SET outline = o.outline
FROM plan_villages o JOIN villages v ON v.code = o.code
WHERE o.plan_id = $2 AND n.plan_id = $1 AND n.code = o.code AND ST_AsEWKB(o.outline) <> ST_AsEWKB(v.outline);

-- name: plan_rebase_leaders
INSERT INTO plan_leaders (plan_id, grid_code, name, phone)
SELECT $1, l.grid_code, l.name, l.phone FROM plan_leaders l
WHERE l.plan_id = $2 AND EXISTS (SELECT 1 FROM plan_grids g WHERE g.plan_id = $1 AND g.code = l.grid_code)
ON CONFLICT (plan_id, grid_code) DO UPDATE SET name = excluded.name, phone = excluded.phone;

-- name: next_from_town
INSERT INTO next_town (code, outline) SELECT code, outline FROM town;

-- name: next_from_plan_villages
INSERT INTO next_villages (code, outline) SELECT code, outline FROM plan_villages WHERE plan_id = $1;

-- name: next_from_plan_grids
-- The grids of plan $1; a grid has a leader when the plan appoints one or
-- one is in office at $2.
INSERT INTO next_grids (code, name, village_code, households, population, geom, has_leader)
SELECT g.code, g.name, g.village_code, g.households, g.population, g.geom,
       EXISTS (SELECT 1 FROM plan_leaders l WHERE l.plan_id = $1 AND l.grid_code = g.code)
       OR EXISTS (SELECT 1 FROM assignments a WHERE a.grid_code = g.code AND a.role = 'leader'
                  AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2))
FROM plan_grids g WHERE g.plan_id = $1;

-- name: next_from_current_villages
INSERT INTO next_villages (code, outline) SELECT code, outline FROM villages WHERE retired_at IS NULL;

-- name: next_from_current_grids
-- The current grids; a grid has a leader when one is in office at $1.
INSERT INTO next_grids (code, name, village_code, households, population, geom, has_leader)
SELECT g.code, g.name, g.village_code, g.households, g.population, g.geom,
       EXISTS (SELECT 1 FROM assignments a WHERE a.grid_code = g.code AND a.role = 'leader'
               AND a.starts_at <= $1 AND (a.ends_at IS NULL OR a.ends_at > $1))
FROM grids g WHERE g.retired_generation IS NULL;

-- name: coverage_missing_organizations
-- For each organization kind: the organizations of that kind working at
-- $1, and the grids of next_grids that none of them serves at $1.
SELECT k.kind,
       (SELECT count(*) FROM organizations o WHERE o.kind = k.kind AND o.created_at <= $1 AND (o.ended_at IS NULL OR o.ended_at > $1)),
       ARRAY(SELECT g.code FROM next_grids g
             WHERE NOT EXISTS (SELECT 1 FROM organization_grids og JOIN organizations o ON o.id = og.organization_id
                               WHERE og.grid_code = g.code AND o.kind = k.kind
                                 AND og.starts_at <= $1 AND (og.ends_at IS NULL OR og.ends_at > $1))
             ORDER BY g.code)
FROM unnest($2::text[]) WITH ORDINALITY AS k(kind, n)
ORDER BY k.n;

-- name: plan_gaps
-- The parts of the town outline that no grid of next_grids covers, larger
-- than $1 m², largest first; with $2/$3 not NULL, only the one covering
-- that point.
SELECT ST_AsBinary(ST_Multi(d.geom))
FROM next_town t
CROSS JOIN LATERAL (SELECT ST_Union(ogeom) AS u FROM next_grids) l
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Difference(t.ogeom, coalesce(l.u, 'SRID=4326;POLYGON EMPTY'::geometry)), 3)) AS d
WHERE wangge_area_m2(d.geom) > $1
  AND ($2::float8 IS NULL OR ST_Covers(d.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)))
ORDER BY wangge_area_m2(d.geom) DESC;

-- name: plan_give_area
-- Give the area $2 (WKB) to the grid of plan $1 (other than $3; of
-- village $4 when not NULL) that shares the longest border with it, the
-- nearest one when none shares a border measurably; returns that grid's
-- code and the border length (m).
WITH a AS (SELECT ST_GeomFromWKB($2, 4326) AS g),
best AS (
    SELECT p.code, ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.g), p.geom), 2)::geography) AS shared,
           ST_Distance(p.geom, a.g) AS dist
    FROM plan_grids p, a
    WHERE p.plan_id = $1 AND p.code <> $3 AND ($4::text IS NULL OR p.village_code = $4)
      AND ST_DWithin(p.geom, a.g, 1e-7) AND ST_IsValid(p.geom)
    ORDER BY shared DESC, dist, p.code
    LIMIT 1
)
UPDATE plan_grids p SET geom = ST_Multi(ST_CollectionExtract(ST_Union(p.geom, a.g), 3))
FROM best, a
WHERE p.plan_id = $1 AND p.code = best.code
RETURNING p.code, best.shared;

-- name: plan_crossings
-- The parts of valid grids of plan $1 (of codes $2 when not NULL) outside
-- their village's outline, larger than $3 m², each with the village it
-- lies in (NULL outside every village).
SELECT g.code, ST_AsBinary(ST_Multi(d.geom)),
       (SELECT o.code FROM plan_villages o
        WHERE o.plan_id = $1 AND o.code <> g.village_code AND ST_Intersects(o.outline, ST_PointOnSurface(d.geom))
        ORDER BY o.code LIMIT 1)
FROM plan_grids g
JOIN plan_villages v ON v.plan_id = g.plan_id AND v.code = g.village_code
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Difference(g.geom, v.outline), 3)) AS d
WHERE g.plan_id = $1 AND ($2::text[] IS NULL OR g.code = ANY($2)) AND ST_IsValid(g.geom)
  AND NOT ST_CoveredBy(g.geom, v.outline) AND wangge_area_m2(d.geom) > $3
ORDER BY g.code, wangge_area_m2(d.geom) DESC;

-- name: plan_take_area
-- Grid $2 of plan $1 loses the area $3 (WKB).
UPDATE plan_grids SET geom = ST_Multi(ST_CollectionExtract(ST_Difference(geom, ST_GeomFromWKB($3, 4326)), 3))
WHERE plan_id = $1 AND code = $2;

-- name: plan_make_valid
-- Make the invalid grids of plan $1 (of codes $2 when not NULL) valid,
-- keeping their polygons; returns each with its area left.
UPDATE plan_grids
SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom, 'method=structure'), 3))
WHERE plan_id = $1 AND ($2::text[] IS NULL OR code = ANY($2)) AND NOT ST_IsValid(geom)
RETURNING code, wangge_area_m2(geom);

-- name: plan_snap
-- Snap grid $2 of plan $1 to the union of its neighbours within $3
-- degrees, made valid; returns whether it changed. NULL when it has no
-- neighbour that close.
WITH t AS (SELECT geom FROM plan_grids WHERE plan_id = $1 AND code = $2),
n AS (
    SELECT ST_Union(wangge_polygonal(o.geom)) AS u
    FROM plan_grids o, t
    WHERE o.plan_id = $1 AND o.code <> $2 AND ST_DWithin(o.geom, t.geom, $3)
),
s AS (SELECT wangge_polygonal(ST_Snap(wangge_polygonal(t.geom), n.u, $3)) AS geom FROM t, n WHERE n.u IS NOT NULL)
UPDATE plan_grids p SET geom = ST_Multi(s.geom)
FROM s, t
WHERE p.plan_id = $1 AND p.code = $2
RETURNING ST_AsEWKB(p.geom) <> ST_AsEWKB(t.geom);

-- name: plan_impact_grids
-- The changed grids of plan $1 (base $2): areas, counts and leaders
-- (at $3) before and after.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1),
b AS (SELECT * FROM wangge_grids_at_generation($2))
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
-- Area passing from a grid of the base ($2) to another grid of plan $1,
-- larger than $3 m², where either grid's geometry changed; and the area of
-- changed base grids that no grid of the draft covers (to NULL), and of
-- changed draft grids that no grid of the base covered (from NULL). The
-- households and population moved are the base grid's, in proportion to
-- the area moved.
WITH b AS (SELECT code, households, population, geom, wangge_area_m2(geom) AS area FROM wangge_grids_at_generation($2)),
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
-- The organization attachments that applying plan $1 (base $2) at $3
-- ends (grids it retires) and starts (a grid took area from grids an
-- organization of its village, or of no village, serves: the codes in
-- derived_from).
WITH att AS (
    SELECT og.id, og.organization_id, og.grid_code FROM organization_grids og
    WHERE og.starts_at <= $3 AND (og.ends_at IS NULL OR og.ends_at > $3)
),
retired AS (
    SELECT b.code FROM wangge_grids_at_generation($2) b
    WHERE NOT EXISTS (SELECT 1 FROM plan_grids d WHERE d.plan_id = $1 AND d.code = b.code)
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
-- boundary rule; '' outside every grid).
SELECT number, status, ST_X(location), ST_Y(location), coalesce(grid_code, ''), before, after
FROM incidents i
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT min(b.code) FROM wangge_grids_at_generation($2) b
                     WHERE b.geom && i.location AND ST_Covers(b.geom, i.location)), '') AS before,
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
-- At $3: end every assignment on grids plan $1 retired from its base $2,
-- the leader assignments of grids it gives another leader, and the deputy
-- assignment of a new leader on the same grid (one person, one role).
UPDATE assignments a SET ends_at = $3
WHERE a.grid_code IS NOT NULL AND a.starts_at < $3 AND (a.ends_at IS NULL OR a.ends_at > $3) AND (
    a.grid_code IN (SELECT b.code FROM wangge_grids_at_generation($2) b
                    WHERE NOT EXISTS (SELECT 1 FROM plan_grids d WHERE d.plan_id = $1 AND d.code = b.code))
    OR EXISTS (SELECT 1 FROM plan_leaders l JOIN people p ON p.name = l.name AND p.phone = l.phone AND p.ended_at IS NULL
               WHERE l.plan_id = $1 AND l.grid_code = a.grid_code
                 AND ((a.role = 'leader' AND p.id <> a.person_id) OR (a.role = 'deputy' AND p.id = a.person_id))));

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
