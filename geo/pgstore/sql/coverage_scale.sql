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
-- CheckLayer: the town outline, the villages, the grids with their village.
SELECT 'town', code, NULL, ST_AsBinary(outline) FROM next_town
UNION ALL
SELECT 'village', code, NULL, ST_AsBinary(outline) FROM next_villages
UNION ALL
SELECT 'grid', code, village_code, ST_AsBinary(geom) FROM next_grids;

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
