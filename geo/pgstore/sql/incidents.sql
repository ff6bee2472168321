-- name: incident_by_key
SELECT number, request_hash FROM incidents WHERE created_by = $1 AND idempotency_key = $2;

-- name: incident_insert
INSERT INTO incidents (
    category, severity, source, status, description, reporter_name, reporter_phone,
    location, input_crs, input_lon, input_lat,
    grid_code, village_code, match, distance_m, generation,
    assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
    reported_at, received_at, due_at, created_by, idempotency_key, request_hash,
    first_due_at, max_level, possible_duplicate_of)
VALUES ($1, $2, $3, $4, $5, $6, $7,
    CASE WHEN $8::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($8, $9), 4326) END, $10, $11, $12,
    $13, $14, $15, $16, $17,
    $18, $19, $20, $21, $22, $23,
    $24, $25, $26, $27, $28, $29,
    $26, $22, (SELECT id FROM incidents WHERE number = $30))
ON CONFLICT (created_by, idempotency_key) DO NOTHING
RETURNING id, number;

-- name: incident_event_insert
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note, assignee_role, assignee_name, assignee_phone,
    actor_role, level)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: incident_get
SELECT * FROM incident_rows WHERE number = $1;

-- name: incident_get_for_update
SELECT * FROM incident_rows WHERE number = $1 FOR UPDATE;

-- name: incident_events
SELECT id, at, actor, action, coalesce(from_status, ''), to_status, note, assignee_role, assignee_name, assignee_phone,
       coalesce(actor_role, ''), coalesce(level, 0)
FROM incident_events WHERE incident_id = $1 ORDER BY id;

-- name: incident_update
-- The record's columns are computed by the caller from the locked row.
UPDATE incidents
SET status = $2, assignee_role = $3, assignee_name = $4, assignee_phone = $5, assignee_reason = $6,
    level = $7, due_at = $8, resolved_at = $9, closed_at = $10,
    escalation_count = $11, max_level = $12, completed_at = $13, on_time = $14, outcome_reason = $15,
    suspended_at = $16, suspended_seconds = $17, overdue_seconds = $18,
    merged_into = (SELECT m.id FROM incidents m WHERE m.number = $19)
WHERE id = $1;

-- name: incident_correct
-- A correction: the category, and the place and routing it gives.
UPDATE incidents
SET category = $2,
    location = CASE WHEN $3::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($3, $4), 4326) END,
    input_crs = $5, input_lon = $6, input_lat = $7,
    grid_code = $8, village_code = $9, match = $10, distance_m = $11, generation = $12, co_notified = $13
WHERE id = $1;

-- name: incident_deadlines
SELECT seq, level, due_at, set_at, set_by, missed_at, ended_at
FROM incident_deadlines WHERE incident_id = $1 ORDER BY seq;

-- name: incident_deadline_insert
INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: incident_deadline_end
-- The deadline in force ends at $3; missed ($4) when it had passed (a
-- miss found earlier keeps its time).
UPDATE incident_deadlines
SET ended_at = $3, missed_at = coalesce(missed_at, $4)
WHERE incident_id = $1 AND seq = $2;

-- name: incident_deadline_shift
-- A suspension ended: the deadline in force moves by how long it lasted.
UPDATE incident_deadlines SET due_at = due_at + $3 WHERE incident_id = $1 AND seq = $2;

-- name: incident_deadlines_missed
-- The deadlines in force of open incidents that passed by $1, found
-- missed now (whether or not the incident can go higher).
UPDATE incident_deadlines d
SET missed_at = $1
FROM incidents i
WHERE i.id = d.incident_id AND d.ended_at IS NULL AND d.missed_at IS NULL AND d.due_at < $1
  AND i.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened');

-- name: incident_possible_duplicate
-- The first incident of category $1, received since $2, not yet finished
-- with, within $5 m of ($3, $4): the one a new incident may repeat. The
-- box in degrees (wide enough at any latitude short of the poles) lets
-- the GiST index find candidates; the spheroid decides.
SELECT number FROM incidents
WHERE category = $1 AND received_at >= $2
  AND status NOT IN ('verified', 'closed', 'cancelled', 'merged')
  AND location && ST_Expand(ST_SetSRID(ST_MakePoint($3, $4), 4326), $5 / (111000 * greatest(cos(radians($4)), 0.01)))
  AND ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography, $5)
ORDER BY received_at, id
LIMIT 1;

-- name: incident_contacts
SELECT f.number, c.reporter_name, c.reporter_phone, c.added_at
FROM incident_contacts c JOIN incidents f ON f.id = c.from_incident
WHERE c.incident_id = $1 ORDER BY c.id;

-- name: incident_contact_insert
INSERT INTO incident_contacts (incident_id, from_incident, reporter_name, reporter_phone, added_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (incident_id, from_incident) DO NOTHING;

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
-- Per category, then the totals (category NULL): received (受理; an
-- incident merged into another is counted there, once), closed, completed
-- (办结: verified), median and p90 hours from receipt to closing, overdue
-- now ($6).
SELECT category, count(*) FILTER (WHERE status <> 'merged'), count(*) FILTER (WHERE status = 'closed'),
       count(*) FILTER (WHERE completed_at IS NOT NULL),
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
