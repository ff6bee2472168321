-- Coverage checks of large layers: geo/coverage.CheckLayer does the
-- overlays (overlaps, parts outside villages, gaps, parts outside the
-- outline) in Go; PostGIS gives what only it can word the same way, the
-- reasons a geometry is invalid.

-- name: coverage_scale_stage
CREATE TEMP TABLE coverage_scale (layer text, code text, wkb bytea) ON COMMIT DROP;

-- name: coverage_scale_invalid
-- Every staged geometry that is not OGC-valid, with PostGIS's reason and
-- location, as check_invalid gives them.
SELECT layer, code, (d).reason, ST_X((d).location), ST_Y((d).location)
FROM (SELECT layer, code, ST_IsValidDetail(ST_GeomFromWKB(wkb, 4326)) AS d FROM coverage_scale) s
WHERE NOT (d).valid
ORDER BY layer, code;

-- name: coverage_scale_next_layer
-- The staged next_* layer as it was given (not made valid), for
-- coverage.Check: the town outline, the villages, the grids with their
-- village, households and whether they have a leader (NULL: not checked);
-- and whether each geometry is valid, with PostGIS's reason and location
-- when it is not, as check_invalid gives them (GEOS finds out in a
-- second or two for a province's layer; Go, looking for
-- self-intersections before it overlays, took several times as long).
SELECT layer, code, village_code, ST_AsBinary(g), households, has_leader,
       (d).valid, (d).reason, ST_X((d).location), ST_Y((d).location)
FROM (
    SELECT 'town' AS layer, code, NULL AS village_code, outline AS g, 0 AS households, NULL::boolean AS has_leader,
           ST_IsValidDetail(outline) AS d FROM next_town
    UNION ALL
    SELECT 'village', code, NULL, outline, 0, NULL, ST_IsValidDetail(outline) FROM next_villages
    UNION ALL
    SELECT 'grid', code, village_code, geom, households, has_leader, ST_IsValidDetail(geom) FROM next_grids
) s;

-- name: coverage_scale_doubts
-- The overlays Go left in doubt (coverage.Doubt), decided as check_overlaps
-- and check_outside_village decide them, on the two geometries given:
-- $1 the tolerance in m²; per doubt, $2 its kind ('overlap' or
-- 'village_crossing'), $3 its layer, $4 and $5 the codes (two features;
-- a grid and its village), $6 and $7 their WKB. Rows: kind, layer, the
-- codes, the area, a point inside the part, the part.
WITH d AS (
    SELECT kind, layer, a, b, wangge_polygonal(ST_GeomFromWKB(wa, 4326)) AS ga, wangge_polygonal(ST_GeomFromWKB(wb, 4326)) AS gb
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[]) AS u (kind, layer, a, b, wa, wb)),
parts AS (
    SELECT kind, layer, a, b,
           ST_CollectionExtract(CASE kind WHEN 'overlap' THEN ST_Intersection(ga, gb) ELSE ST_Difference(ga, gb) END, 3) AS i
    FROM d)
SELECT kind, layer, a, b, wangge_area_m2(i), ST_X(p), ST_Y(p), ST_AsBinary(ST_Multi(i))
FROM parts, ST_PointOnSurface(i) AS p
WHERE wangge_area_m2(i) > $1;

-- name: coverage_scale_village_doubts
-- The villages whose tiling Go left in doubt (coverage.Report's
-- VillageDoubts), decided as check_village_tiling decides them, on the
-- geometries given: $1 the tolerance in m²; $2 the villages' codes, $3
-- their WKB; $4 the village code of each of their grids, $5 its WKB.
-- Rows as check_village_tiling's.
WITH v AS (
    SELECT code, wangge_polygonal(ST_GeomFromWKB(w, 4326)) AS outline FROM unnest($2::text[], $3::bytea[]) AS u (code, w)),
g AS (
    SELECT vcode, wangge_polygonal(ST_GeomFromWKB(w, 4326)) AS ogeom FROM unnest($4::text[], $5::bytea[]) AS u (vcode, w)),
own AS (
    SELECT v.code, v.outline, ST_Union(g.ogeom) AS u
    FROM v LEFT JOIN g ON g.vcode = v.code
    GROUP BY v.code, v.outline
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
