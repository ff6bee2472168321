-- Repairs of a draft (plans_repair.go): make valid, snap, fill gaps,
-- dissolve slivers, clip to village.

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

-- name: town_latitude
-- The latitude of the centroid of town $1 (of every town when ''), for a
-- tolerance in metres; 0 before the first import.
SELECT coalesce(ST_Y(ST_Centroid(ST_Collect(outline))), 0) FROM towns WHERE $1::text = '' OR code = $1;

-- name: plan_grid_parts
-- How many polygons grid $2 of plan $1 has.
SELECT ST_NumGeometries(geom) FROM plan_grids WHERE plan_id = $1 AND code = $2;
