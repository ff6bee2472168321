-- Edits of a draft (plans_edits.go): one grid, split, merge, move, leader,
-- or a whole layer.

-- name: plan_touch
UPDATE plans SET revision = revision + 1, updated_at = $2 WHERE id = $1
RETURNING revision, updated_at;

-- name: plan_canonical
-- The grids of plan $1 (of codes $3 when not NULL) as stored: one whose
-- geometry has as many polygons and vertices as its base's (generation
-- $2, town $5) and lies within Hausdorff distance $4 (degrees) of it takes
-- the base's geometry back, bit for bit; any other is forced
-- counter-clockwise (RFC 7946). Only rows that change are written.
WITH b AS (
    SELECT code, geom FROM wangge_grids_at_generation($2)
    WHERE ($3::text[] IS NULL OR code = ANY($3)) AND ($5::text = '' OR left(code, 9) = $5)
),
n AS (
    SELECT d.code,
           CASE WHEN b.geom IS NOT NULL AND d.geom && ST_Expand(b.geom, $4)
                     AND ST_NumGeometries(d.geom) = ST_NumGeometries(b.geom) AND ST_NPoints(d.geom) = ST_NPoints(b.geom)
                     AND ST_HausdorffDistance(d.geom, b.geom) <= $4
                THEN b.geom ELSE ST_ForcePolygonCCW(d.geom) END AS geom
    FROM plan_grids d LEFT JOIN b ON b.code = d.code
    WHERE d.plan_id = $1 AND ($3::text[] IS NULL OR d.code = ANY($3))
)
UPDATE plan_grids g SET geom = n.geom
FROM n
WHERE g.plan_id = $1 AND g.code = n.code AND ST_AsEWKB(g.geom) <> ST_AsEWKB(n.geom);

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
-- Grids of plan $1 the layer does not have: every one, or with $2 only
-- those of the villages the layer has grids in.
DELETE FROM plan_grids g WHERE g.plan_id = $1 AND NOT EXISTS (SELECT 1 FROM plan_layer l WHERE l.code = g.code)
  AND (NOT $2::boolean OR g.village_code IN (SELECT l.village_code FROM plan_layer l));

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
