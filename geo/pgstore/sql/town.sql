-- Import of a whole town (wangge import, and the demo town on first start).
-- The data is staged in temporary tables, checked as a coverage, then
-- written as a new generation; all in one transaction.

-- name: import_stage
CREATE TEMP TABLE import_town (
    code text, name text, county text, province text, note text,
    duty_name text, duty_phone text,
    wkb bytea, outline geometry GENERATED ALWAYS AS (ST_GeomFromWKB(wkb, 4326)) STORED
) ON COMMIT DROP;
CREATE TEMP TABLE import_districts (code text, name text) ON COMMIT DROP;
CREATE TEMP TABLE import_villages (
    code text, name text, district_code text, liaison_name text, liaison_phone text,
    wkb bytea, outline geometry GENERATED ALWAYS AS (ST_GeomFromWKB(wkb, 4326)) STORED
) ON COMMIT DROP;
-- Leave periods of every person named in the import.
CREATE TEMP TABLE import_leaves (name text, phone text, starts_at timestamptz, ends_at timestamptz) ON COMMIT DROP;
-- Members of the villages' organizations.
CREATE TEMP TABLE import_org_members (village_code text, kind text, name text, member_name text, member_phone text, role text,
    grids text[]) ON COMMIT DROP;
CREATE TEMP TABLE import_grids (
    code text, name text, village_code text, households integer, population integer,
    leader_name text, leader_phone text, deputy_name text, deputy_phone text, orgs jsonb,
    wkb bytea, geom geometry GENERATED ALWAYS AS (ST_GeomFromWKB(wkb, 4326)) STORED
) ON COMMIT DROP;

-- name: next_stage
-- The grid layer of the next generation, with its villages and town
-- outline: what the coverage checks check and what grids_retire_changed and
-- grids_write_new write. An import fills it from its files, a plan from its
-- draft, the coverage report from the current generation. ogeom is the
-- geometry made valid (wangge_polygonal), which what overlays in PostGIS
-- uses (the repairs, and the checks below: the oracle of the tests), so
-- that one invalid grid does not hide the other problems. It is not a
-- generated column, and the fills leave it NULL: making every geometry
-- valid in PostGIS took most of the time of the checks of a large layer,
-- which run in Go (checkNextInGo) on the geometries as given; next_valid
-- fills it when something needs it.
-- JIT is off for the rest of the transaction: PostGIS functions declare
-- high costs, so the checks' estimates pass jit_above_cost and compiling
-- them took longer (0.4-0.8 s) than running them on a town.
SET LOCAL jit = off;
CREATE TEMP TABLE next_town (
    code text, outline geometry,
    ogeom geometry GENERATED ALWAYS AS (wangge_polygonal(outline)) STORED
) ON COMMIT DROP;
CREATE TEMP TABLE next_villages (
    code text, outline geometry, ogeom geometry
) ON COMMIT DROP;
-- has_leader is NULL when leaders are not checked (an import).
CREATE TEMP TABLE next_grids (
    code text, name text, village_code text, households integer, population integer,
    geom geometry, has_leader boolean, ogeom geometry
) ON COMMIT DROP;

-- name: import_unstage
-- The staging tables of one town, dropped before the next town of the same
-- transaction stages its own.
DROP TABLE import_town, import_districts, import_villages, import_leaves, import_org_members, import_grids,
    import_roles, import_assignments, import_orgs, next_town, next_villages, next_grids;

-- name: next_from_import
INSERT INTO next_town (code, outline) SELECT code, outline FROM import_town;
INSERT INTO next_villages (code, outline) SELECT code, outline FROM import_villages;
INSERT INTO next_grids (code, name, village_code, households, population, geom)
SELECT code, name, village_code, households, population, geom FROM import_grids;

-- name: next_index
-- Temporary tables are never analysed by autovacuum: without statistics
-- and an index the overlap self-join is a nested loop over all pairs.
CREATE INDEX ON next_grids USING gist (ogeom);
CREATE INDEX ON next_grids USING gist (geom);
CREATE INDEX ON next_grids (code);
CREATE INDEX ON next_villages USING gist (ogeom);
ANALYZE next_grids;
ANALYZE next_villages;

-- name: next_valid
-- Fill ogeom where a fill left it NULL (an import), for the checks that
-- overlay in PostGIS.
UPDATE next_grids SET ogeom = wangge_polygonal(geom) WHERE ogeom IS NULL;
UPDATE next_villages SET ogeom = wangge_polygonal(outline) WHERE ogeom IS NULL;
ANALYZE next_grids;
ANALYZE next_villages;

-- name: check_invalid
-- Every geometry that is not OGC-valid, with PostGIS's reason and location.
SELECT layer, code, (d).reason, ST_X((d).location), ST_Y((d).location)
FROM (
    SELECT 'town' AS layer, code, ST_IsValidDetail(outline) AS d FROM next_town
    UNION ALL
    SELECT 'village', code, ST_IsValidDetail(outline) FROM next_villages
    UNION ALL
    SELECT 'grid', code, ST_IsValidDetail(geom) FROM next_grids
) s
WHERE NOT (d).valid
ORDER BY layer, code;

-- name: check_overlaps
-- Pairs of grids, and pairs of villages, whose interiors overlap by more
-- than $1 m², with the overlap.
WITH pairs AS (
    SELECT 'grid' AS layer, a.code AS a, b.code AS b, ST_CollectionExtract(ST_Intersection(a.ogeom, b.ogeom), 3) AS i
    FROM next_grids a
    JOIN next_grids b ON a.code < b.code AND a.ogeom && b.ogeom AND ST_Relate(a.ogeom, b.ogeom, '2********')
    UNION ALL
    SELECT 'village', a.code, b.code, ST_CollectionExtract(ST_Intersection(a.ogeom, b.ogeom), 3)
    FROM next_villages a
    JOIN next_villages b ON a.code < b.code AND a.ogeom && b.ogeom AND ST_Relate(a.ogeom, b.ogeom, '2********')
)
SELECT layer, a, b, wangge_area_m2(i), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(i))
FROM pairs, ST_PointOnSurface(i) AS p
WHERE wangge_area_m2(i) > $1
ORDER BY layer, a, b;

-- name: check_outside_village
-- Grids with more than $1 m² outside the outline of their village, with
-- that part.
SELECT g.code, g.village_code, wangge_area_m2(d), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(d))
FROM next_grids g
JOIN next_villages v ON v.code = g.village_code
CROSS JOIN LATERAL ST_CollectionExtract(ST_Difference(g.ogeom, v.ogeom), 3) AS d
CROSS JOIN LATERAL ST_PointOnSurface(d) AS p
WHERE NOT ST_CoveredBy(g.ogeom, v.ogeom) AND wangge_area_m2(d) > $1
ORDER BY g.code;

-- name: check_tiling
-- Where the grids, and the villages, fail to tile the town outline: parts
-- of the outline that no grid (village) covers, and parts of grids
-- (villages) outside the outline, each larger than $1 m²; with the part
-- and, for gaps in the grids, the villages it lies in.
WITH town AS (SELECT ogeom AS outline FROM next_town),
layers AS (
    SELECT 'grids' AS layer, ST_Union(ogeom) AS u FROM next_grids
    UNION ALL
    SELECT 'villages', ST_Union(ogeom) FROM next_villages
),
parts AS (
    SELECT l.layer, 'gap' AS kind, (ST_Dump(ST_CollectionExtract(ST_Difference(t.outline, coalesce(l.u, 'SRID=4326;POLYGON EMPTY'::geometry)), 3))).geom AS g
    FROM layers l, town t
    UNION ALL
    SELECT l.layer, 'outside', (ST_Dump(ST_CollectionExtract(ST_Difference(l.u, t.outline), 3))).geom
    FROM layers l, town t
)
SELECT layer, kind, wangge_area_m2(g), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(g)),
       CASE WHEN layer = 'grids' AND kind = 'gap' THEN
           ARRAY(SELECT v.code FROM next_villages v WHERE v.ogeom && g AND ST_Relate(v.ogeom, g, '2********') ORDER BY v.code)
       END
FROM parts, ST_PointOnSurface(g) AS p
WHERE wangge_area_m2(g) > $1
ORDER BY layer, kind, wangge_area_m2(g) DESC;

-- name: check_town_borders
-- Where the staged town meets the deployment's other towns: overlaps of
-- more than $1 m², and gaps between them of more than $2 m². A gap is what
-- closing the two outlines together (grow by $3 degrees, then shrink)
-- fills that closing each alone does not: a strip narrower than twice $3
-- between two towns, a digitising gap rather than land between them.
-- Closing each town alone first keeps a town's own notches out of it. One
-- row per finding: kind 'overlap' or 'gap', the other town, the part.
WITH n AS (SELECT code, ogeom FROM next_town),
o AS (
    SELECT t.code, wangge_polygonal(t.outline) AS ogeom
    FROM towns t, n
    WHERE t.code <> n.code AND t.outline && ST_Expand(n.ogeom, 0.01)
),
parts AS (
    SELECT 'overlap' AS kind, o.code, (ST_Dump(ST_CollectionExtract(ST_Intersection(n.ogeom, o.ogeom), 3))).geom AS g
    FROM n, o WHERE ST_Relate(n.ogeom, o.ogeom, '2********')
    UNION ALL
    SELECT 'gap', o.code, (ST_Dump(ST_CollectionExtract(ST_Difference(
        ST_Buffer(ST_Buffer(ST_Union(n.ogeom, o.ogeom), $3::float8), -$3::float8),
        ST_Union(ST_Buffer(ST_Buffer(n.ogeom, $3::float8), -$3::float8), ST_Buffer(ST_Buffer(o.ogeom, $3::float8), -$3::float8))), 3))).geom
    FROM n, o WHERE ST_DWithin(n.ogeom, o.ogeom, 2 * $3::float8)
)
SELECT kind, code, wangge_area_m2(g), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(g))
FROM parts, ST_PointOnSurface(g) AS p
WHERE wangge_area_m2(g) > CASE kind WHEN 'overlap' THEN $1::float8 ELSE $2::float8 END
ORDER BY kind, code, wangge_area_m2(g) DESC;

-- name: check_slivers
-- Polygon parts of grids smaller than $1 m² or whose mean width
-- (2·area/perimeter) is under $2 m.
SELECT g.code, m.area, 2 * m.area / nullif(m.perimeter, 0), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(d.geom))
FROM next_grids g
CROSS JOIN LATERAL ST_Dump(g.ogeom) AS d
CROSS JOIN LATERAL (SELECT wangge_area_m2(d.geom) AS area, ST_Perimeter(d.geom::geography) AS perimeter) AS m
CROSS JOIN LATERAL ST_PointOnSurface(d.geom) AS p
WHERE m.area < $1 OR 2 * m.area < $2 * m.perimeter
ORDER BY g.code, m.area;

-- name: check_leaders
-- Grids without a leader (has_leader false; NULL is "not checked").
SELECT g.code, ST_X(p), ST_Y(p)
FROM next_grids g, ST_PointOnSurface(g.ogeom) AS p
WHERE g.has_leader = false
ORDER BY g.code;

-- name: check_households
-- Grids whose households are outside [$1, $2].
SELECT g.code, g.households, ST_X(p), ST_Y(p)
FROM next_grids g, ST_PointOnSurface(g.ogeom) AS p
WHERE g.households < $1 OR g.households > $2
ORDER BY g.code;

-- name: check_village_tiling
-- Villages whose own grids do not tile them: the parts of the outline that
-- none of its grids covers and the parts of its grids outside it, when
-- they add up to more than $1 m².
WITH own AS (
    SELECT v.code, v.ogeom AS outline, ST_Union(g.ogeom) AS u
    FROM next_villages v LEFT JOIN next_grids g ON g.village_code = v.code
    GROUP BY v.code, v.ogeom
),
diff AS (
    SELECT code,
           ST_CollectionExtract(ST_Difference(outline, coalesce(u, 'SRID=4326;POLYGON EMPTY'::geometry)), 3) AS uncovered,
           ST_CollectionExtract(ST_Difference(coalesce(u, 'SRID=4326;POLYGON EMPTY'::geometry), outline), 3) AS outside
    FROM own
)
SELECT code, wangge_area_m2(uncovered), wangge_area_m2(outside), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(s))
FROM diff
CROSS JOIN LATERAL ST_CollectionExtract(ST_Union(uncovered, outside), 3) AS s
CROSS JOIN LATERAL ST_PointOnSurface(s) AS p
WHERE wangge_area_m2(uncovered) + wangge_area_m2(outside) > $1
ORDER BY code;

-- name: generation_lock
-- Serialises every writer of generations: two imports (or plan applies)
-- never interleave.
SELECT pg_advisory_xact_lock(7263002);

-- name: generation_new
-- A new generation changing town $4 (NULL: every town).
INSERT INTO generations (id, created_at, created_by, note, town_code)
SELECT coalesce(max(id), 0) + 1, $1, $2, $3, $4 FROM generations
RETURNING id;

-- name: import_town_write
-- The imported town replaces its own row; other towns stay as they are.
INSERT INTO towns (code, name, county, province, note, outline)
SELECT code, name, county, province, note, outline FROM import_town
ON CONFLICT (code) DO UPDATE
SET name = excluded.name, county = excluded.county,
    province = excluded.province, note = excluded.note, outline = excluded.outline;

-- name: import_districts_write
INSERT INTO districts (town_code, code, name)
SELECT (SELECT code FROM import_town), code, name FROM import_districts
ON CONFLICT (town_code, code) DO UPDATE SET name = excluded.name, retired_at = NULL;

-- name: import_districts_retire
UPDATE districts SET retired_at = $1
WHERE retired_at IS NULL AND town_code = (SELECT code FROM import_town)
  AND code NOT IN (SELECT code FROM import_districts);

-- name: import_villages_write
INSERT INTO villages (code, name, district_code, outline)
SELECT code, name, nullif(district_code, ''), outline FROM import_villages
ON CONFLICT (code) DO UPDATE
SET name = excluded.name, district_code = excluded.district_code, outline = excluded.outline, retired_at = NULL;

-- name: import_villages_retire
UPDATE villages SET retired_at = $1
WHERE retired_at IS NULL AND town_code = (SELECT code FROM import_town)
  AND code NOT IN (SELECT code FROM import_villages);

-- name: grids_retire_changed
-- Retire every current grid version of town $3 (NULL: of every town) that
-- next_grids does not carry over unchanged; unchanged grids keep their
-- version (and generation). An import and an applied plan both version
-- grids this way.
UPDATE grids g SET retired_generation = $1, valid_to = $2
WHERE g.retired_generation IS NULL AND ($3::text IS NULL OR left(g.code, 9) = $3) AND NOT EXISTS (
    SELECT 1 FROM next_grids i
    WHERE i.code = g.code AND i.name = g.name AND i.village_code = g.village_code
      AND i.households = g.households AND i.population = g.population
      AND ST_AsEWKB(i.geom) = ST_AsEWKB(g.geom));

-- name: grids_write_new
-- Insert a version for every grid of next_grids that has no current one
-- (after grids_retire_changed: the new and the changed grids).
INSERT INTO grids (code, name, village_code, households, population, geom, generation, valid_from)
SELECT i.code, i.name, i.village_code, i.households, i.population, i.geom, $1, $2
FROM next_grids i
WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE g.code = i.code AND g.retired_generation IS NULL);

-- name: import_roles_stage
-- Every role the import names: grid leaders and deputies, village liaison
-- leaders, the town duty desk.
CREATE TEMP TABLE import_roles ON COMMIT DROP AS
SELECT i.code AS grid_code, NULL::text AS village_code, NULL::text AS town_code, r.role, r.name, r.phone
FROM import_grids i
CROSS JOIN LATERAL (VALUES ('leader', i.leader_name, i.leader_phone), ('deputy', i.deputy_name, i.deputy_phone)) AS r(role, name, phone)
WHERE r.name IS NOT NULL
UNION ALL
SELECT NULL, v.code, NULL, 'liaison_leader', v.liaison_name, v.liaison_phone FROM import_villages v WHERE v.liaison_name IS NOT NULL
UNION ALL
SELECT NULL, NULL, t.code, 'duty_desk', t.duty_name, t.duty_phone FROM import_town t WHERE t.duty_name IS NOT NULL;

-- name: import_people_write
-- People named in the import who are not yet known (by name and phone
-- among people who have not left).
INSERT INTO people (name, phone, created_at)
SELECT DISTINCT r.name, r.phone, $1::timestamptz
FROM import_roles r
WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.name = r.name AND p.phone = r.phone AND p.ended_at IS NULL);

-- name: import_assignments_stage
CREATE TEMP TABLE import_assignments ON COMMIT DROP AS
SELECT r.grid_code, r.village_code, r.town_code, r.role,
       (SELECT min(p.id) FROM people p WHERE p.name = r.name AND p.phone = r.phone AND p.ended_at IS NULL) AS person_id
FROM import_roles r;

-- name: import_assignments_end
-- End the assignments in the imported town of the roles the import governs
-- that it does not repeat (members are not in the town files and are left
-- alone; other towns' people are not the import's business), returning
-- them as collectAssignments reads them: their holders' open incidents are
-- handed over.
UPDATE assignments a SET ends_at = $1
FROM people p
WHERE p.id = a.person_id
  AND a.role IN ('leader', 'deputy', 'liaison_leader', 'duty_desk') AND a.ends_at IS NULL AND a.starts_at < $1
  AND left(coalesce(a.grid_code, a.village_code, a.town_code), 9) = (SELECT code FROM import_town)
  AND NOT EXISTS (SELECT 1 FROM import_assignments d
                  WHERE d.role = a.role AND d.person_id = a.person_id
                    AND d.grid_code IS NOT DISTINCT FROM a.grid_code
                    AND d.village_code IS NOT DISTINCT FROM a.village_code
                    AND d.town_code IS NOT DISTINCT FROM a.town_code)
RETURNING a.id, p.id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at;

-- name: import_impact_incidents
-- The town's open incidents (statuses $1, town $2) whose location the
-- current grids and the imported ones (next_grids) route to different
-- grids, by locate's boundary rule (the smallest code covering it; ''
-- outside every grid): what the import moves, as a plan's impact does.
-- The imported grids are valid here (the checks refused any that is not),
-- so their geometries are used as given.
SELECT number, status, ST_X(location), ST_Y(location), coalesce(grid_code, ''), before, after
FROM incidents i
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT min(g.code) FROM grids g
                     WHERE g.retired_generation IS NULL AND left(g.code, 9) = $2
                       AND g.geom && i.location AND ST_Covers(g.geom, i.location)), '') AS before,
           coalesce((SELECT min(n.code) FROM next_grids n
                     WHERE n.geom && i.location AND ST_Covers(n.geom, i.location)), '') AS after
) r
WHERE i.location IS NOT NULL AND i.town_code = $2 AND i.status = ANY($1) AND before <> after
ORDER BY i.id;

-- name: import_assignments_write
INSERT INTO assignments (person_id, role, grid_code, village_code, town_code, starts_at)
SELECT d.person_id, d.role, d.grid_code, d.village_code, d.town_code, $1
FROM import_assignments d
WHERE NOT EXISTS (SELECT 1 FROM assignments a
                  WHERE a.role = d.role AND a.person_id = d.person_id AND a.ends_at IS NULL
                    AND a.grid_code IS NOT DISTINCT FROM d.grid_code
                    AND a.village_code IS NOT DISTINCT FROM d.village_code
                    AND a.town_code IS NOT DISTINCT FROM d.town_code);

-- name: import_leaves_delete
-- The import carries every leave period of the people it names: drop the
-- ones it does not repeat.
DELETE FROM leaves l
USING people p
WHERE p.id = l.person_id AND p.ended_at IS NULL
  AND EXISTS (SELECT 1 FROM import_roles r WHERE r.name = p.name AND r.phone = p.phone)
  AND NOT EXISTS (SELECT 1 FROM import_leaves il
                  WHERE il.name = p.name AND il.phone = p.phone AND il.starts_at = l.starts_at AND il.ends_at = l.ends_at);

-- name: import_leaves_write
INSERT INTO leaves (person_id, starts_at, ends_at)
SELECT DISTINCT p.id, il.starts_at, il.ends_at
FROM import_leaves il
JOIN people p ON p.name = il.name AND p.phone = il.phone AND p.ended_at IS NULL
WHERE NOT EXISTS (SELECT 1 FROM leaves l WHERE l.person_id = p.id AND l.starts_at = il.starts_at AND l.ends_at = il.ends_at);

-- name: import_orgs_stage
CREATE TEMP TABLE import_orgs ON COMMIT DROP AS
SELECT DISTINCT i.code AS grid_code, i.village_code, o ->> 'kind' AS kind, o ->> 'name' AS name
FROM import_grids i, jsonb_array_elements(i.orgs) AS o;

-- name: import_orgs_write
INSERT INTO organizations (kind, name, village_code, created_at)
SELECT DISTINCT kind, name, village_code, $1::timestamptz FROM import_orgs
ON CONFLICT (village_code, kind, name) DO UPDATE SET ended_at = NULL;

-- name: import_attachments_end
UPDATE organization_grids og SET ends_at = $1
WHERE og.ends_at IS NULL AND og.starts_at < $1
  AND left(og.grid_code, 9) = (SELECT code FROM import_town) AND NOT EXISTS (
    SELECT 1 FROM import_orgs d
    JOIN organizations o ON o.village_code = d.village_code AND o.kind = d.kind AND o.name = d.name
    WHERE o.id = og.organization_id AND d.grid_code = og.grid_code);

-- name: import_attachments_write
INSERT INTO organization_grids (organization_id, grid_code, starts_at)
SELECT o.id, d.grid_code, $1
FROM import_orgs d
JOIN organizations o ON o.village_code = d.village_code AND o.kind = d.kind AND o.name = d.name
WHERE NOT EXISTS (SELECT 1 FROM organization_grids og
                  WHERE og.organization_id = o.id AND og.grid_code = d.grid_code AND og.ends_at IS NULL);

-- name: notify
SELECT pg_notify('wangge_registry', $1::text);

-- name: listen
-- The channel of notify, named by NotifyChannel in db.go.
LISTEN wangge_registry;

-- name: generation_current
SELECT coalesce(max(id), 0) FROM generations;

-- name: generation_latest
-- The newest generation and when it was written; no row before the first.
SELECT id, created_at FROM generations ORDER BY id DESC LIMIT 1;

-- name: registry_changed_since
-- Whether a snapshot of generation $1 loaded at $2 is out of date at $3:
-- a newer generation, or something dated that comes into force or ends in
-- ($2, $3] (what loadArea reads "in office at" its time).
SELECT (SELECT coalesce(max(id), 0) FROM generations) <> $1
    OR EXISTS (SELECT 1 FROM assignments WHERE starts_at > $2 AND starts_at <= $3 OR ends_at > $2 AND ends_at <= $3)
    OR EXISTS (SELECT 1 FROM organization_grids WHERE starts_at > $2 AND starts_at <= $3 OR ends_at > $2 AND ends_at <= $3)
    OR EXISTS (SELECT 1 FROM organization_members WHERE starts_at > $2 AND starts_at <= $3 OR ends_at > $2 AND ends_at <= $3);

-- name: towns_get
-- Every town with its duty desk at time $1, by code.
SELECT t.code, t.name, t.county, t.province, t.note, ST_AsBinary(t.outline), d.id, d.name, d.phone
FROM towns t
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.role = 'duty_desk' AND a.town_code = t.code AND a.starts_at <= $1 AND (a.ends_at IS NULL OR a.ends_at > $1)
    ORDER BY a.starts_at DESC LIMIT 1
) d ON true
ORDER BY t.code;

-- name: leaves_of
SELECT person_id, starts_at, ends_at FROM leaves WHERE person_id = ANY($1) ORDER BY person_id, starts_at;

-- name: districts_active
SELECT town_code, code, name FROM districts WHERE retired_at IS NULL ORDER BY town_code, code;

-- name: villages_active
-- Villages with their liaison leader at time $1.
SELECT v.code, v.name, coalesce(v.district_code, ''), ST_AsBinary(v.outline), l.id, l.name, l.phone
FROM villages v
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.village_code = v.code AND a.role = 'liaison_leader' AND a.starts_at <= $1 AND (a.ends_at IS NULL OR a.ends_at > $1)
) l ON true
WHERE v.retired_at IS NULL ORDER BY v.code;

-- name: grids_at_generation
-- The grids of generation $1 with the leader and deputy holding the grid
-- at time $2, in no particular order: the caller sorts by code (sorting a
-- million rows this wide here spilled to disk and was half the query).
SELECT g.code, g.name, g.village_code, g.households, g.population, ST_AsBinary(g.geom),
       g.generation, g.valid_from, g.valid_to,
       l.id, l.name, l.phone, d.id, d.name, d.phone
FROM grids g
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.grid_code = g.code AND a.role = 'leader' AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2)
) l ON true
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.grid_code = g.code AND a.role = 'deputy' AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2)
) d ON true
WHERE g.generation <= $1 AND (g.retired_generation IS NULL OR g.retired_generation > $1);

-- name: attachments_at
-- Organizations serving each grid at time $1.
SELECT og.grid_code, o.kind, o.name
FROM organization_grids og JOIN organizations o ON o.id = og.organization_id
WHERE og.starts_at <= $1 AND (og.ends_at IS NULL OR og.ends_at > $1)
ORDER BY og.grid_code, o.kind, o.name;

-- name: import_roster_orgs_write
-- Organizations listed with their members in villages.geojson.
INSERT INTO organizations (kind, name, village_code, created_at)
SELECT DISTINCT kind, name, village_code, $1::timestamptz FROM import_org_members
ON CONFLICT (village_code, kind, name) DO UPDATE SET ended_at = NULL;

-- name: import_members_people_write
INSERT INTO people (name, phone, created_at)
SELECT DISTINCT i.member_name, i.member_phone, $1::timestamptz
FROM import_org_members i
WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.name = i.member_name AND p.phone = i.member_phone AND p.ended_at IS NULL);

-- name: import_members_end
-- For the organizations the import lists with members, end the
-- memberships it does not repeat (same person, same role).
UPDATE organization_members m SET ends_at = $1
FROM organizations o
WHERE o.id = m.organization_id AND m.ends_at IS NULL AND m.starts_at < $1
  AND EXISTS (SELECT 1 FROM import_org_members i WHERE i.village_code = o.village_code AND i.kind = o.kind AND i.name = o.name)
  AND NOT EXISTS (
    SELECT 1 FROM import_org_members i
    JOIN people p ON p.name = i.member_name AND p.phone = i.member_phone AND p.ended_at IS NULL
    WHERE i.village_code = o.village_code AND i.kind = o.kind AND i.name = o.name AND p.id = m.person_id AND i.role = m.role);

-- name: import_members_write
INSERT INTO organization_members (organization_id, person_id, role, starts_at)
SELECT DISTINCT o.id, p.id, i.role, $1::timestamptz
FROM import_org_members i
JOIN organizations o ON o.village_code = i.village_code AND o.kind = i.kind AND o.name = i.name
JOIN people p ON p.name = i.member_name AND p.phone = i.member_phone AND p.ended_at IS NULL
WHERE NOT EXISTS (SELECT 1 FROM organization_members m
                  WHERE m.organization_id = o.id AND m.person_id = p.id AND m.role = i.role AND m.ends_at IS NULL);

-- name: rosters_at
-- Members of the villages' organizations at time $1, with the grids each
-- serves then (NULL: none).
SELECT o.village_code, o.kind, o.name, p.name, p.phone, m.role,
       (SELECT array_agg(mg.grid_code ORDER BY mg.grid_code) FROM organization_member_grids mg
        WHERE mg.member_id = m.id AND mg.starts_at <= $1 AND (mg.ends_at IS NULL OR mg.ends_at > $1))
FROM organization_members m
JOIN organizations o ON o.id = m.organization_id
JOIN people p ON p.id = m.person_id
WHERE m.starts_at <= $1 AND (m.ends_at IS NULL OR m.ends_at > $1) AND o.village_code IS NOT NULL
ORDER BY o.village_code, o.kind, o.name, p.name;
