-- name: rating_request_insert
INSERT INTO incident_ratings (incident_id, token_hash, requested_at, expires_at)
VALUES ($1, $2, $3, $4);

-- name: rating_request_for_update
SELECT r.id, i.number, r.rating IS NOT NULL, r.expires_at
FROM incident_ratings r JOIN incidents i ON i.id = r.incident_id
WHERE r.token_hash = $1
FOR UPDATE OF r;

-- name: rating_record
UPDATE incident_ratings SET rating = $2, comment = $3, rated_at = $4 WHERE id = $1;

-- name: ratings_stats
-- The ratings of the incidents in scope (as incidents_stats), latest
-- request per incident; $6 the town (NULL: every town).
SELECT count(*), count(r.rating),
       count(*) FILTER (WHERE r.rating = 'satisfied'),
       count(*) FILTER (WHERE r.rating = 'basically_satisfied'),
       count(*) FILTER (WHERE r.rating = 'unsatisfied')
FROM incident_ratings r JOIN incidents i ON i.id = r.incident_id
WHERE ($1::text IS NULL OR i.grid_code = $1)
  AND ($2::text IS NULL OR i.village_code = $2)
  AND ($3::text IS NULL OR i.category = $3)
  AND ($4::timestamptz IS NULL OR i.received_at >= $4)
  AND ($5::timestamptz IS NULL OR i.received_at < $5)
  AND ($6::text IS NULL OR i.town_code = $6);
