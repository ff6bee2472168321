-- name: photo_incident
SELECT id FROM incidents WHERE number = $1;

-- name: photo_insert
-- A photo already attached to the incident (same checksum) is not stored
-- again: no row comes back and the caller reads the first.
INSERT INTO incident_photos (incident_id, sha256, content_type, bytes, width, height, location, location_check,
                             distance_m, data, uploaded_by, uploaded_at)
VALUES ($1, $2, $3, $4, $5, $6,
        CASE WHEN $7::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($7, $8), 4326) END, $9,
        $10, $11, $12, $13)
ON CONFLICT (incident_id, sha256) DO NOTHING
RETURNING id;

-- name: photo_by_sha
SELECT id FROM incident_photos WHERE incident_id = $1 AND sha256 = $2;

-- name: photos_list
-- An incident's photos without their bytes, oldest first.
SELECT p.id, i.number, p.sha256, p.content_type, p.bytes, p.width, p.height, ST_X(p.location), ST_Y(p.location),
       p.location_check, p.distance_m, p.uploaded_by, p.uploaded_at
FROM incident_photos p JOIN incidents i ON i.id = p.incident_id
WHERE i.number = $1 AND ($2::bigint IS NULL OR p.id = $2)
ORDER BY p.id;

-- name: photo_data
SELECT p.data FROM incident_photos p JOIN incidents i ON i.id = p.incident_id WHERE i.number = $1 AND p.id = $2;
