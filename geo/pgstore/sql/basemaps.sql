-- name: basemap_get
SELECT provider, url, key_sealed, key_hint, layer, file, crs, attribution, max_zoom, updated_at, updated_by
FROM basemap_settings;

-- name: basemap_get_for_update
SELECT provider, url, key_sealed, key_hint, layer, file, crs, attribution, max_zoom, updated_at, updated_by
FROM basemap_settings
FOR UPDATE;

-- name: basemap_update
UPDATE basemap_settings
SET provider = $1, url = $2, key_sealed = $3, key_hint = $4, layer = $5, file = $6, crs = $7,
    attribution = $8, max_zoom = $9, updated_at = $10, updated_by = $11;
