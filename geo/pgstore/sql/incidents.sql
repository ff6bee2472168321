-- name: incident_by_key
SELECT number, request_hash FROM incidents WHERE created_by = $1 AND idempotency_key = $2;

-- name: incident_insert
INSERT INTO incidents (
    category, severity, source, status, description, reporter_name, reporter_phone,
    location, input_crs, input_lon, input_lat,
    grid_code, village_code, match, distance_m, generation,
    assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
    reported_at, received_at, due_at, created_by, idempotency_key, request_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7,
    CASE WHEN $8::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($8, $9), 4326) END, $10, $11, $12,
    $13, $14, $15, $16, $17,
    $18, $19, $20, $21, $22, $23,
    $24, $25, $26, $27, $28, $29)
ON CONFLICT (created_by, idempotency_key) DO NOTHING
RETURNING id, number;

-- name: incident_event_insert
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note, assignee_role, assignee_name, assignee_phone)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id;

-- name: incident_get
SELECT * FROM incident_rows WHERE number = $1;

-- name: incident_get_for_update
SELECT * FROM incident_rows WHERE number = $1 FOR UPDATE;

-- name: incident_events
SELECT id, at, actor, action, coalesce(from_status, ''), to_status, note, assignee_role, assignee_name, assignee_phone
FROM incident_events WHERE incident_id = $1 ORDER BY id;

-- name: incident_update
UPDATE incidents
SET status = $2, assignee_role = $3, assignee_name = $4, assignee_phone = $5, assignee_reason = $6,
    level = $7, due_at = $8, resolved_at = $9, closed_at = $10
WHERE id = $1;

-- name: incidents_list
-- Newest first; $10 is the cursor (ids below it), $11 the page size.
SELECT * FROM incident_rows
WHERE ($1::text IS NULL OR grid_code = $1)
  AND ($2::text IS NULL OR village_code = $2)
  AND ($3::text[] IS NULL OR status = ANY ($3))
  AND ($4::text IS NULL OR category = $4)
  AND (NOT $5::bool OR (status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') AND due_at < $6))
  AND ($7::timestamptz IS NULL OR received_at >= $7)
  AND ($8::timestamptz IS NULL OR received_at < $8)
  AND ($9::float8[] IS NULL OR (lon BETWEEN $9[1] AND $9[3] AND lat BETWEEN $9[2] AND $9[4]))
  AND ($10::bigint IS NULL OR id < $10)
ORDER BY id DESC
LIMIT $11;

-- name: incidents_stats
-- Per category, then the totals (category NULL): received, closed, median
-- and p90 hours from receipt to closing, overdue now ($6).
SELECT category, count(*), count(*) FILTER (WHERE status = 'closed'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at) / 3600) FILTER (WHERE status = 'closed'),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at) / 3600) FILTER (WHERE status = 'closed'),
       count(*) FILTER (WHERE status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') AND due_at < $6)
FROM incidents
WHERE ($1::text IS NULL OR grid_code = $1)
  AND ($2::text IS NULL OR village_code = $2)
  AND ($3::text IS NULL OR category = $3)
  AND ($4::timestamptz IS NULL OR received_at >= $4)
  AND ($5::timestamptz IS NULL OR received_at < $5)
GROUP BY GROUPING SETS ((category), ())
ORDER BY category NULLS LAST;

-- name: escalation_lock
-- One replica escalates at a time; the others skip the round.
SELECT pg_try_advisory_xact_lock(7263003);

-- name: incidents_overdue
SELECT number FROM incidents
WHERE status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened')
  AND due_at < $1 AND level < 2
ORDER BY due_at
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: incident_event_by_key
SELECT request_hash FROM incident_event_keys WHERE incident_id = $1 AND actor = $2 AND key = $3;

-- name: incident_event_key_insert
-- Called right after the event is appended, with the incident locked: the
-- incident's newest event is the one the key was posted for.
INSERT INTO incident_event_keys (event_id, incident_id, actor, key, request_hash)
SELECT max(id), $1, $2, $3, $4 FROM incident_events WHERE incident_id = $1;
