-- name: outbox_insert
-- A message is written once: a retried transaction that writes it again
-- (same message_id) adds nothing.
INSERT INTO outbox (message_id, channel_id, incident_id, kind, recipient_name, recipient_phone, mention,
                    title, body, fields, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (message_id) DO NOTHING;

-- name: outbox_claim
-- Leases up to $3 due messages until $2: pending ones, and those whose
-- worker's lease ran out. SKIP LOCKED keeps two workers off one message.
WITH due AS (
    SELECT id FROM outbox
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1, next_attempt_at = $2
    FROM due WHERE o.id = due.id
    RETURNING o.*
)
SELECT m.message_id, m.channel_id, c.name, c.kind, coalesce(i.number, ''), m.kind, m.recipient_name, m.recipient_phone,
       m.mention, m.title, m.body, m.fields, m.status, m.attempts, m.last_error, m.created_at, m.sent_at, m.next_attempt_at
FROM claimed m JOIN channels c ON c.id = m.channel_id LEFT JOIN incidents i ON i.id = m.incident_id
ORDER BY m.id;

-- name: outbox_sent
UPDATE outbox SET status = 'sent', sent_at = $2, last_error = '' WHERE message_id = $1 AND status = 'sending';

-- name: outbox_failed
-- $5: the attempt never reached the receiver (a local rate limit) and
-- does not count.
UPDATE outbox SET status = CASE WHEN $4 THEN 'dead' ELSE 'pending' END, last_error = $2, next_attempt_at = $3,
       attempts = attempts - CASE WHEN $5 THEN 1 ELSE 0 END
WHERE message_id = $1 AND status = 'sending';

-- name: outbox_release
-- Messages leased and not sent, handed back before their lease ran out
-- (a lease that has run out may be another worker's by now): due at $2,
-- the attempt the claim counted taken back.
UPDATE outbox SET status = 'pending', next_attempt_at = $2, attempts = attempts - 1
WHERE message_id = ANY ($1) AND status = 'sending' AND next_attempt_at > $2;

-- name: outbox_of_incident
SELECT m.message_id, m.channel_id, c.name, c.kind, i.number, m.kind, m.recipient_name, m.recipient_phone,
       m.mention, m.title, m.body, m.fields, m.status, m.attempts, m.last_error, m.created_at, m.sent_at, m.next_attempt_at
FROM outbox m JOIN channels c ON c.id = m.channel_id JOIN incidents i ON i.id = m.incident_id
WHERE i.number = $1
ORDER BY m.id;

-- name: outbox_counts
SELECT c.kind, m.status, count(*) FROM outbox m JOIN channels c ON c.id = m.channel_id GROUP BY c.kind, m.status;

-- name: channels_all
SELECT id, name, kind, coalesce(village_code, ''), coalesce(grid_code, ''), categories, kinds, severities, enabled,
       settings, secret_sealed, created_at, updated_at
FROM channels ORDER BY id;

-- name: channel_insert
INSERT INTO channels (name, kind, settings, secret_sealed, village_code, grid_code, categories, kinds, enabled,
                      created_by, created_at, updated_at, severities)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
RETURNING id;

-- name: channel_update
UPDATE channels SET name = $2, settings = $3, secret_sealed = $4, village_code = $5, grid_code = $6,
       categories = $7, kinds = $8, enabled = $9, updated_at = $10, severities = $11
WHERE id = $1;

-- name: channel_get_for_update
SELECT id, name, kind, coalesce(village_code, ''), coalesce(grid_code, ''), categories, kinds, severities, enabled,
       settings, secret_sealed, created_at, updated_at
FROM channels WHERE id = $1 FOR UPDATE;

-- name: incidents_due_soon
-- Open incidents due before $2 (and not yet overdue at $1) whose current
-- time limit has not been reminded.
SELECT number FROM incidents
WHERE status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened')
  AND due_at > $1 AND due_at <= $2
  AND (reminded_due_at IS DISTINCT FROM due_at)
ORDER BY due_at
LIMIT $3
FOR UPDATE SKIP LOCKED;

-- name: incident_reminded
UPDATE incidents SET reminded_due_at = due_at WHERE id = $1;
