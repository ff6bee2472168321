-- name: incident_by_key
SELECT number, request_hash FROM incidents WHERE created_by = $1 AND idempotency_key = $2;

-- name: incident_intake_prepare
-- Before an incident is written: the incident the caller ($1) created
-- earlier under its Idempotency-Key ($2), if any; else the id the new one
-- will have and its number, so that its messages can be written with it
-- in the same statement. The lookup of a batch (migration 0035), for one.
SELECT number, request_hash, id, new_number FROM incident_intake_keys(ARRAY[$1::text], ARRAY[$2::text]);

-- name: incident_create
-- Intake in one statement (one transaction, one round trip): the incident
-- with id $1 (possible_duplicate_of: the first incident of its category
-- received since $32, not yet finished with, within $31 m, when $31 > 0:
-- the box in degrees, wide enough at any latitude short of the poles (a
-- degree of latitude is 110.6 km at the equator, of longitude 111.3 km
-- times the cosine: dividing by 110 km leaves room), lets
-- the GiST index incidents_open_location_category (migration 0034;
-- its predicate is the status test, word for word) find candidates, and
-- the spheroid decides, tried on the candidates in received_at order
-- until one is near enough: OFFSET 0 keeps ST_DWithin out of the scan,
-- where it would run on every candidate), its first
-- deadline, its events ($33-$42, in order),
-- its messages ($46-$53; the id of each is made as insertMessages makes
-- it, and a number other than $55, the one they were written with, fails
-- the statement), the NOTIFY that wakes the outbox workers ($54, when not
-- NULL) and the audit entry ($44, $45); its town is $56 (NULL: the
-- trigger of migration 0018 finds it). Another request holding the same
-- key first (ON CONFLICT) makes every part write nothing and the
-- statement return no row. The rows: the incident as incident_rows gives
-- it (migration 0024), then each event as incident_events and the
-- deadline as incident_deadlines give them, one row per event.
WITH ins AS (
    INSERT INTO incidents (
        id, category, severity, source, status, description, reporter_name, reporter_phone,
        location, input_crs, input_lon, input_lat,
        grid_code, village_code, match, distance_m, generation,
        assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
        reported_at, received_at, due_at, created_by, idempotency_key, request_hash,
        first_due_at, max_level, town_code, possible_duplicate_of)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
        CASE WHEN $9::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($9, $10::float8), 4326) END, $11, $12, $13,
        $14, $15, $16, $17, $18,
        $19, $20, $21, $22, $23::int2, $24,
        $25, $26::timestamptz, $27::timestamptz, $28::text, $29, $30,
        $27, $23, $56,
        (SELECT c.id FROM (
            SELECT d.id, d.received_at, d.location FROM incidents d
            WHERE $31::float8 > 0 AND d.category = $2 AND d.received_at >= $32
              AND d.status NOT IN ('verified', 'closed', 'cancelled', 'merged')
              AND d.location && ST_Expand(ST_SetSRID(ST_MakePoint($9, $10), 4326), $31 / (110000 * greatest(cos(radians($10)), 0.01)))
            ORDER BY d.received_at, d.id
            OFFSET 0) c
         WHERE ST_DWithin(c.location::geography, ST_SetSRID(ST_MakePoint($9, $10), 4326)::geography, $31)
         ORDER BY c.received_at, c.id
         LIMIT 1))
    ON CONFLICT (created_by, idempotency_key) DO NOTHING
    RETURNING *
), dl AS (
    INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by)
    SELECT i.id, 1, $23, $27, $26, $43 FROM ins i
    RETURNING *
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note, assignee_role, assignee_name,
        assignee_phone, actor_role, level)
    SELECT i.id, $26, e.actor, e.action, e.from_status, e.to_status, e.note, e.assignee_role, e.assignee_name,
        e.assignee_phone, e.actor_role, e.level
    FROM ins i,
        unnest($33::text[], $34::text[], $35::text[], $36::text[], $37::text[], $38::text[], $39::text[], $40::text[],
            $41::text[], $42::int2[]) WITH ORDINALITY
            AS e (actor, action, from_status, to_status, note, assignee_role, assignee_name, assignee_phone, actor_role, level, ord)
    ORDER BY e.ord
    RETURNING *
), ob AS (
    INSERT INTO outbox (message_id, channel_id, incident_id, kind, recipient_name, recipient_phone, mention,
        title, body, fields, next_attempt_at, created_at)
    SELECT CASE WHEN i.number = $55 THEN format('%s-e%s-c%s-%s', i.number, (SELECT max(id) FROM ev), m.channel_id, m.ord - 1) END,
        m.channel_id, i.id, m.kind, m.name, m.phone, ARRAY(SELECT jsonb_array_elements_text(m.mention::jsonb)),
        m.title, m.body, m.fields::jsonb, $26, $26
    FROM ins i,
        unnest($46::bigint[], $47::text[], $48::text[], $49::text[], $50::text[], $51::text[], $52::text[], $53::text[])
            WITH ORDINALITY AS m (channel_id, kind, name, phone, mention, title, body, fields, ord)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
), nt AS (
    SELECT pg_notify('wangge_registry', $54::text) FROM ins WHERE $54::text IS NOT NULL
), au AS (
    INSERT INTO audit_log (at, actor, action, target, before, after, request_id)
    SELECT $26, $28, $45, 'incident:' || i.number, NULL, $44::jsonb, '' FROM ins i
)
SELECT i.id, i.number, i.category, i.severity, i.source, i.status, i.description, i.reporter_name, i.reporter_phone,
       ST_X(i.location), ST_Y(i.location), i.input_crs, i.input_lon, i.input_lat,
       coalesce(i.grid_code, ''), coalesce(i.village_code, ''), i.match,
       coalesce(i.distance_m, 0), coalesce(i.generation, 0),
       coalesce(i.assignee_role, ''), i.assignee_name, i.assignee_phone, i.assignee_reason, i.level, i.co_notified,
       i.reported_at, i.received_at, i.due_at, i.resolved_at, i.closed_at, i.created_by,
       i.first_due_at, i.escalation_count, i.max_level, i.completed_at, i.on_time, i.outcome_reason,
       '', -- merged_into: a new incident is merged into none
       coalesce(incident_number(i.possible_duplicate_of), ''),
       i.suspended_at, i.suspended_seconds, i.overdue_seconds, i.town_code,
       e.id, e.at, e.actor, e.action, coalesce(e.from_status, ''), e.to_status, e.note, e.assignee_role, e.assignee_name,
       e.assignee_phone, coalesce(e.actor_role, ''), coalesce(e.level, 0),
       d.seq, d.level, d.due_at, d.set_at, d.set_by, d.missed_at, d.ended_at,
       (SELECT count(*) FROM nt) + (SELECT count(*) FROM ob)
FROM ins i JOIN dl d ON d.incident_id = i.id JOIN ev e ON e.incident_id = i.id
ORDER BY e.id;

-- name: incident_intake_prepare_batch
-- incident_intake_prepare for a batch of requests ($1 callers, $2 their
-- Idempotency-Keys, NULL for none; no (caller, key) twice): per request
-- (ord, from 1), the incident made earlier under its key, else a new id
-- and its number. The caller hands the new ids out in ascending order.
-- The function (migration 0035) keeps one plan per connection that can
-- only read the key index, so nothing is planned per batch.
SELECT ord, number, request_hash, id, new_number FROM incident_intake_keys($1::text[], $2::text[]);

-- name: incident_create_batch
-- incident_create for a batch of incidents in one statement (one
-- transaction, one commit): one element per incident in $1-$34, in the
-- order they are written (ascending ids), each as incident_create's
-- parameters ($33 the number its messages were written with, $34 its
-- audit entry's after), and in $59 (its town); the events of all of
-- them in $35-$45 ($35 the incident's id, in order within each
-- incident); the messages in $48-$57 ($48 the incident's id, $49 the
-- message's index within the
-- incident). The possible-duplicate check sees the incidents written
-- before this statement and, as one-by-one writes would, the earlier
-- incidents of the batch (a statement cannot see its own inserts: they
-- are checked from the parameters; incidents_open_location_category,
-- migration 0034, finds the others: its predicate is this status test,
-- word for word; as in incident_create, the spheroid is tried on them in
-- received_at order, the first near enough ends it; the batch's earlier
-- incidents pass the same box first, which is cheaper than the spheroid
-- and leaves the answer as it is). There is no ON CONFLICT: a key that
-- another request wrote since the lookup fails the statement (after that
-- request commits), and the caller then writes the batch one incident at
-- a time, where incident_create handles it; the lookup has answered every
-- retry that came after the first request's commit. A possible duplicate's
-- number is incident_number of its id (migration 0035), not read
-- again. The rows: as incident_create's, ordered by incident then event.
WITH inp AS (
    SELECT x.*,
        CASE WHEN x.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326) END AS pt
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
        $9::float8[], $10::float8[], $11::text[], $12::float8[], $13::float8[],
        $14::text[], $15::text[], $16::text[], $17::float8[], $18::bigint[],
        $19::text[], $20::text[], $21::text[], $22::text[], $23::int2[], $24::text[],
        $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::text[], $29::text[], $30::bytea[],
        $31::float8[], $32::timestamptz[], $33::text[], $34::text[], $59::text[]) WITH ORDINALITY
        AS x (id, category, severity, source, status, description, reporter_name, reporter_phone,
            lon, lat, input_crs, input_lon, input_lat,
            grid_code, village_code, match, distance_m, generation,
            assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
            reported_at, received_at, due_at, created_by, idempotency_key, request_hash,
            dup_meters, dup_since, number, after, town_code, ord)
), ins AS (
    INSERT INTO incidents (
        id, category, severity, source, status, description, reporter_name, reporter_phone,
        location, input_crs, input_lon, input_lat,
        grid_code, village_code, match, distance_m, generation,
        assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
        reported_at, received_at, due_at, created_by, idempotency_key, request_hash,
        first_due_at, max_level, town_code, possible_duplicate_of)
    SELECT x.id, x.category, x.severity, x.source, x.status, x.description, x.reporter_name, x.reporter_phone,
        x.pt, x.input_crs, x.input_lon, x.input_lat,
        x.grid_code, x.village_code, x.match, x.distance_m, x.generation,
        x.assignee_role, x.assignee_name, x.assignee_phone, x.assignee_reason, x.level, x.co_notified::jsonb,
        x.reported_at, x.received_at, x.due_at, x.created_by, x.idempotency_key, x.request_hash,
        x.due_at, x.level, x.town_code,
        CASE WHEN x.dup_meters > 0 AND x.pt IS NOT NULL THEN (
            SELECT c.id FROM (
                (SELECT b.id, b.received_at FROM (
                    SELECT d.id, d.received_at, d.location FROM incidents d
                    WHERE d.category = x.category AND d.received_at >= x.dup_since
                      AND d.status NOT IN ('verified', 'closed', 'cancelled', 'merged')
                      AND d.location && ST_Expand(x.pt, x.dup_meters / (110000 * greatest(cos(radians(x.lat)), 0.01)))
                    ORDER BY d.received_at, d.id
                    OFFSET 0) b
                 WHERE ST_DWithin(b.location::geography, x.pt::geography, x.dup_meters)
                 ORDER BY b.received_at, b.id
                 LIMIT 1)
                UNION ALL
                SELECT p.id, p.received_at FROM inp p
                WHERE p.ord < x.ord AND p.pt IS NOT NULL AND p.category = x.category AND p.received_at >= x.dup_since
                  AND p.status NOT IN ('verified', 'closed', 'cancelled', 'merged')
                  AND p.pt && ST_Expand(x.pt, x.dup_meters / (110000 * greatest(cos(radians(x.lat)), 0.01)))
                  AND ST_DWithin(p.pt::geography, x.pt::geography, x.dup_meters)
            ) c
            ORDER BY c.received_at, c.id
            LIMIT 1) END
    FROM inp x
    ORDER BY x.ord
    RETURNING *
), dl AS (
    INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by)
    SELECT i.id, 1, x.level, x.due_at, x.received_at, $46 FROM ins i JOIN inp x ON x.id = i.id
    RETURNING *
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note, assignee_role, assignee_name,
        assignee_phone, actor_role, level)
    SELECT i.id, i.received_at, e.actor, e.action, e.from_status, e.to_status, e.note, e.assignee_role, e.assignee_name,
        e.assignee_phone, e.actor_role, e.level
    FROM unnest($35::bigint[], $36::text[], $37::text[], $38::text[], $39::text[], $40::text[], $41::text[], $42::text[],
            $43::text[], $44::text[], $45::int2[]) WITH ORDINALITY
            AS e (incident_id, actor, action, from_status, to_status, note, assignee_role, assignee_name, assignee_phone,
                actor_role, level, ord)
        JOIN ins i ON i.id = e.incident_id
    ORDER BY e.ord
    RETURNING *
), ob AS (
    INSERT INTO outbox (message_id, channel_id, incident_id, kind, recipient_name, recipient_phone, mention,
        title, body, fields, next_attempt_at, created_at)
    SELECT CASE WHEN i.number = x.number
            THEN format('%s-e%s-c%s-%s', i.number, (SELECT max(v.id) FROM ev v WHERE v.incident_id = i.id), m.channel_id, m.idx) END,
        m.channel_id, i.id, m.kind, m.name, m.phone, ARRAY(SELECT jsonb_array_elements_text(m.mention::jsonb)),
        m.title, m.body, m.fields::jsonb, i.received_at, i.received_at
    FROM unnest($48::bigint[], $49::int[], $50::bigint[], $51::text[], $52::text[], $53::text[], $54::text[], $55::text[],
            $56::text[], $57::text[]) WITH ORDINALITY
            AS m (incident_id, idx, channel_id, kind, name, phone, mention, title, body, fields, ord)
        JOIN ins i ON i.id = m.incident_id
        JOIN inp x ON x.id = i.id
    ORDER BY m.ord
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
), nt AS (
    SELECT pg_notify('wangge_registry', $58::text) WHERE $58::text IS NOT NULL AND EXISTS (SELECT FROM ins)
), au AS (
    INSERT INTO audit_log (at, actor, action, target, before, after, request_id)
    SELECT i.received_at, i.created_by, $47, 'incident:' || i.number, NULL, x.after::jsonb, ''
    FROM ins i JOIN inp x ON x.id = i.id
    ORDER BY i.id
)
SELECT i.id, i.number, i.category, i.severity, i.source, i.status, i.description, i.reporter_name, i.reporter_phone,
       ST_X(i.location), ST_Y(i.location), i.input_crs, i.input_lon, i.input_lat,
       coalesce(i.grid_code, ''), coalesce(i.village_code, ''), i.match,
       coalesce(i.distance_m, 0), coalesce(i.generation, 0),
       coalesce(i.assignee_role, ''), i.assignee_name, i.assignee_phone, i.assignee_reason, i.level, i.co_notified,
       i.reported_at, i.received_at, i.due_at, i.resolved_at, i.closed_at, i.created_by,
       i.first_due_at, i.escalation_count, i.max_level, i.completed_at, i.on_time, i.outcome_reason,
       '', -- merged_into: a new incident is merged into none
       coalesce(incident_number(i.possible_duplicate_of), ''),
       i.suspended_at, i.suspended_seconds, i.overdue_seconds, i.town_code,
       e.id, e.at, e.actor, e.action, coalesce(e.from_status, ''), e.to_status, e.note, e.assignee_role, e.assignee_name,
       e.assignee_phone, coalesce(e.actor_role, ''), coalesce(e.level, 0),
       d.seq, d.level, d.due_at, d.set_at, d.set_by, d.missed_at, d.ended_at,
       (SELECT count(*) FROM nt) + (SELECT count(*) FROM ob)
FROM ins i JOIN dl d ON d.incident_id = i.id JOIN ev e ON e.incident_id = i.id
ORDER BY i.id, e.id;

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
    grid_code = $8, village_code = $9, match = $10, distance_m = $11, generation = $12, co_notified = $13,
    town_code = coalesce($14, town_code)
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

-- name: incident_contacts
SELECT f.number, c.reporter_name, c.reporter_phone, c.added_at
FROM incident_contacts c JOIN incidents f ON f.id = c.from_incident
WHERE c.incident_id = $1 ORDER BY c.id;

-- name: incident_contact_insert
INSERT INTO incident_contacts (incident_id, from_incident, reporter_name, reporter_phone, added_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (incident_id, from_incident) DO NOTHING;

-- name: incidents_list
-- Newest first; $10 is the cursor (ids below it), $11 the page size; $12
-- the town (NULL: every town).
SELECT * FROM incident_rows
WHERE ($12::text IS NULL OR town_code = $12)
  AND ($1::text IS NULL OR grid_code = $1)
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
-- now ($6); $7 the town (NULL: every town).
SELECT category, count(*) FILTER (WHERE status <> 'merged'), count(*) FILTER (WHERE status = 'closed'),
       count(*) FILTER (WHERE completed_at IS NOT NULL),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at) / 3600) FILTER (WHERE status = 'closed'),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - received_at) / 3600) FILTER (WHERE status = 'closed'),
       count(*) FILTER (WHERE status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') AND due_at < $6)
FROM incidents
WHERE ($7::text IS NULL OR town_code = $7)
  AND ($1::text IS NULL OR grid_code = $1)
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
