-- name: open311_request_save
-- A retry under the same key replaces the extras while no incident has
-- the key; the token stays the first one.
INSERT INTO open311_requests (token, created_by, idempotency_key, request_hash, jurisdiction_id, address, address_id,
                              email, media_url, device_id, account_id, first_name, last_name, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (created_by, idempotency_key) DO UPDATE
SET request_hash = EXCLUDED.request_hash, jurisdiction_id = EXCLUDED.jurisdiction_id, address = EXCLUDED.address,
    address_id = EXCLUDED.address_id, email = EXCLUDED.email, media_url = EXCLUDED.media_url,
    device_id = EXCLUDED.device_id, account_id = EXCLUDED.account_id, first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name
WHERE NOT EXISTS (SELECT 1 FROM incidents i
                  WHERE i.created_by = open311_requests.created_by AND i.idempotency_key = open311_requests.idempotency_key);

-- name: open311_request_token
SELECT token FROM open311_requests WHERE created_by = $1 AND idempotency_key = $2;

-- name: open311_extras
-- The rows that belong to incidents: same actor, key and body hash.
SELECT i.number, o.jurisdiction_id, o.address, o.address_id, o.email, o.media_url, o.device_id, o.account_id,
       o.first_name, o.last_name
FROM incidents i
JOIN open311_requests o
  ON o.created_by = i.created_by AND o.idempotency_key = i.idempotency_key AND o.request_hash = i.request_hash
WHERE i.number = ANY ($1::text[]);

-- name: open311_token
SELECT coalesce(i.number, '')
FROM open311_requests o
LEFT JOIN incidents i
  ON i.created_by = o.created_by AND i.idempotency_key = o.idempotency_key AND i.request_hash = o.request_hash
WHERE o.token = $1;

-- name: open311_updates
-- When each incident last changed (its last event) and the note of the
-- event that set its current status.
SELECT i.number,
       (SELECT max(e.at) FROM incident_events e WHERE e.incident_id = i.id),
       coalesce((SELECT e.note FROM incident_events e
                 WHERE e.incident_id = i.id AND e.to_status = i.status AND e.from_status IS DISTINCT FROM e.to_status
                 ORDER BY e.id DESC LIMIT 1), '')
FROM incidents i
WHERE i.number = ANY ($1::text[]);
