-- The log of visits and meetings (migration 0027).

-- name: visit_person
-- The person who visited: their name, if they exist.
SELECT name FROM people WHERE id = $1;

-- name: visit_incident
SELECT id FROM incidents WHERE number = $1;

-- name: visit_insert
INSERT INTO visits (town_code, kind, person_id, held_at, location, grid_code, village_code, district_code, generation,
                    raised, incident_id, households, attendees, created_at, created_by)
VALUES ($1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING id;

-- name: visits_list
-- $1 town, $2 kind, $3 person, $4 grid, $5 village, $6 district, $7 from,
-- $8 to, $9 before id (0: none), $10 limit. NULL: any.
SELECT v.id, v.town_code, v.kind, v.person_id, p.name, v.held_at, ST_X(v.location), ST_Y(v.location),
       v.grid_code, v.village_code, v.district_code, v.generation, v.raised, coalesce(i.number, ''),
       v.households, v.attendees, v.created_at, v.created_by
FROM visits v
JOIN people p ON p.id = v.person_id
LEFT JOIN incidents i ON i.id = v.incident_id
WHERE ($1::text IS NULL OR v.town_code = $1)
  AND ($2::text IS NULL OR v.kind = $2)
  AND ($3::bigint IS NULL OR v.person_id = $3)
  AND ($4::text IS NULL OR v.grid_code = $4)
  AND ($5::text IS NULL OR v.village_code = $5)
  AND ($6::text IS NULL OR v.district_code = $6)
  AND ($7::timestamptz IS NULL OR v.held_at >= $7)
  AND ($8::timestamptz IS NULL OR v.held_at < $8)
  AND ($9::bigint = 0 OR v.id < $9)
ORDER BY v.id DESC
LIMIT $10;

-- name: visits_count
-- Counts by $9: person, grid, village or district (片区 codes are
-- numbered within a town: the key is town code || '/' || district code).
-- Same filters as visits_list ($1..$8).
SELECT CASE $9::text WHEN 'person' THEN v.person_id::text WHEN 'grid' THEN v.grid_code
                     WHEN 'village' THEN v.village_code ELSE v.town_code || '/' || v.district_code END AS key,
       CASE $9::text WHEN 'person' THEN min(p.name) ELSE '' END,
       v.kind, count(*), sum(v.households)
FROM visits v
JOIN people p ON p.id = v.person_id
WHERE ($1::text IS NULL OR v.town_code = $1)
  AND ($2::text IS NULL OR v.kind = $2)
  AND ($3::bigint IS NULL OR v.person_id = $3)
  AND ($4::text IS NULL OR v.grid_code = $4)
  AND ($5::text IS NULL OR v.village_code = $5)
  AND ($6::text IS NULL OR v.district_code = $6)
  AND ($7::timestamptz IS NULL OR v.held_at >= $7)
  AND ($8::timestamptz IS NULL OR v.held_at < $8)
GROUP BY 1, v.kind
ORDER BY 1, v.kind;

-- name: visit_get
SELECT v.id, v.town_code, v.kind, v.person_id, p.name, v.held_at, ST_X(v.location), ST_Y(v.location),
       v.grid_code, v.village_code, v.district_code, v.generation, v.raised, coalesce(i.number, ''),
       v.households, v.attendees, v.created_at, v.created_by
FROM visits v
JOIN people p ON p.id = v.person_id
LEFT JOIN incidents i ON i.id = v.incident_id
WHERE v.id = $1;

-- name: visit_lock
SELECT id FROM visits WHERE id = $1 FOR UPDATE;

-- name: visit_photo_find
SELECT id, uploaded_by, uploaded_at FROM visit_photos WHERE visit_id = $1 AND sha256 = $2;

-- name: visit_photo_count
SELECT count(*) FROM visit_photos WHERE visit_id = $1;

-- name: visit_photo_insert
INSERT INTO visit_photos (visit_id, sha256, content_type, width, height, location_check, data, uploaded_by, uploaded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: visit_photo_get
SELECT id, sha256, content_type, width, height, location_check, data, uploaded_by, uploaded_at
FROM visit_photos WHERE visit_id = $1 AND id = $2;
