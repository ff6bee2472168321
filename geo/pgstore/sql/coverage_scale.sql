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
