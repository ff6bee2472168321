-- The demo year (fixtures/demoyear): CSV files copied into temporary
-- tables of text columns, named as the files' headers, then inserted in
-- one transaction. Its incidents are created by 'demo-year' with the
-- idempotency key 'demo-year-<seq>', which is how a second load knows.

-- name: demo_year_lock
SELECT pg_advisory_xact_lock(7263015);

-- name: demo_year_loaded
-- $1: the demo town's code, answered if the deployment holds that town.
SELECT EXISTS (SELECT 1 FROM incidents WHERE created_by = 'demo-year'),
       coalesce((SELECT code FROM towns WHERE code = $1), ''),
       coalesce((SELECT max(id) FROM generations), 0);

-- name: demo_year_tables
CREATE TEMPORARY TABLE demo_incidents (
    seq text, category text, severity text, source text, status text, description text, reporter_name text,
    reporter_phone text, lon text, lat text, grid_code text, village_code text, assignee_role text, assignee_name text,
    assignee_phone text, assignee_reason text, level text, max_level text, escalation_count text, received_at text,
    first_due_at text, due_at text, resolved_at text, closed_at text, completed_at text, on_time text,
    outcome_reason text, merged_into text, suspended_at text, suspended_seconds text, overdue_seconds text,
    id bigint
) ON COMMIT DROP;
CREATE TEMPORARY TABLE demo_events (
    seq text, at text, actor text, actor_role text, action text, from_status text, to_status text, note text,
    assignee_role text, assignee_name text, assignee_phone text, level text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE demo_deadlines (
    seq text, n text, level text, due_at text, set_at text, set_by text, missed_at text, ended_at text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE demo_ratings (
    seq text, requested_at text, rating text, comment text, rated_at text
) ON COMMIT DROP;

-- name: demo_year_ids
-- Ids are drawn first, so that a merged incident can name the one it was
-- merged into in the same insert.
-- In the year's order, so that numbers follow the time of receipt.
UPDATE demo_incidents d SET id = s.id
FROM (SELECT seq, nextval(pg_get_serial_sequence('incidents', 'id')) AS id
      FROM (SELECT seq FROM demo_incidents ORDER BY seq::int) o) s
WHERE s.seq = d.seq;

-- name: demo_year_insert_incidents
-- $1: the generation the grids were routed with.
INSERT INTO incidents (id, category, severity, source, status, description, reporter_name, reporter_phone,
    location, input_crs, input_lon, input_lat, grid_code, village_code, match, distance_m, generation,
    assignee_role, assignee_name, assignee_phone, assignee_reason, level, reported_at, received_at, due_at,
    resolved_at, closed_at, created_by, idempotency_key,
    first_due_at, escalation_count, max_level, completed_at, on_time, outcome_reason, merged_into,
    suspended_at, suspended_seconds, overdue_seconds)
SELECT d.id, d.category, d.severity, d.source, d.status, d.description, d.reporter_name, d.reporter_phone,
       ST_SetSRID(ST_MakePoint(d.lon::float8, d.lat::float8), 4326), 'wgs84', d.lon::float8, d.lat::float8,
       d.grid_code, d.village_code, 'inside', 0, $1::bigint,
       d.assignee_role, d.assignee_name, d.assignee_phone, d.assignee_reason, d.level::smallint,
       d.received_at::timestamptz, d.received_at::timestamptz, d.due_at::timestamptz,
       nullif(d.resolved_at, '')::timestamptz, nullif(d.closed_at, '')::timestamptz, 'demo-year', 'demo-year-' || d.seq,
       d.first_due_at::timestamptz, d.escalation_count::int, d.max_level::smallint, nullif(d.completed_at, '')::timestamptz,
       nullif(d.on_time, '')::boolean, d.outcome_reason, m.id,
       nullif(d.suspended_at, '')::timestamptz, d.suspended_seconds::bigint, d.overdue_seconds::bigint
FROM demo_incidents d
LEFT JOIN demo_incidents m ON m.seq = nullif(d.merged_into, '')
ORDER BY d.id;

-- name: demo_year_insert_events
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note,
    assignee_role, assignee_name, assignee_phone, actor_role, level)
SELECT i.id, e.at::timestamptz, e.actor, e.action, nullif(e.from_status, ''), e.to_status, e.note,
       nullif(e.assignee_role, ''), nullif(e.assignee_name, ''), nullif(e.assignee_phone, ''), e.actor_role, e.level::smallint
FROM demo_events e JOIN demo_incidents i ON i.seq = e.seq
ORDER BY i.id, e.at::timestamptz;

-- name: demo_year_insert_deadlines
INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by, missed_at, ended_at)
SELECT i.id, d.n::int, d.level::smallint, d.due_at::timestamptz, d.set_at::timestamptz, d.set_by,
       nullif(d.missed_at, '')::timestamptz, nullif(d.ended_at, '')::timestamptz
FROM demo_deadlines d JOIN demo_incidents i ON i.seq = d.seq;

-- name: demo_year_insert_ratings
-- The links of the demo's ratings cannot be answered: their token hashes
-- are of no token anyone was sent.
INSERT INTO incident_ratings (incident_id, token_hash, requested_at, expires_at, rating, comment, rated_at)
SELECT i.id, sha256(convert_to('demo-year rating ' || r.seq, 'UTF8')), r.requested_at::timestamptz,
       r.requested_at::timestamptz + interval '30 days', nullif(r.rating, ''), r.comment, nullif(r.rated_at, '')::timestamptz
FROM demo_ratings r JOIN demo_incidents i ON i.seq = r.seq;

-- The demo year's visit and meeting log (fixtures/demoyear/visits.csv,
-- fixtures/visits.go), loaded once: its visits are created by
-- 'demo-year'. The people are found by name and phone (the grid leaders
-- and deputies the town brought, the work teams and 党工委 its structure
-- did), and added if missing; a visit that raised an incident of the year
-- links to it by the incident's idempotency key.

-- name: demo_visits_loaded
SELECT EXISTS (SELECT 1 FROM visits WHERE created_by = 'demo-year');

-- name: demo_visits_table
CREATE TEMPORARY TABLE demo_visits (
    seq text, kind text, person_name text, person_phone text, held_at text, lon text, lat text, grid_code text,
    village_code text, district_code text, raised text, incident_seq text, households text, attendees text
) ON COMMIT DROP;

-- name: demo_visits_people
INSERT INTO people (name, phone, created_at)
SELECT DISTINCT d.person_name, d.person_phone, now()
FROM demo_visits d
WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.name = d.person_name AND p.phone = d.person_phone AND p.ended_at IS NULL);

-- name: demo_visits_insert
-- $1: the generation the points were located in. Logged when held.
INSERT INTO visits (town_code, kind, person_id, held_at, location, grid_code, village_code, district_code, generation,
                    raised, incident_id, households, attendees, created_at, created_by)
SELECT left(d.grid_code, 9), d.kind, p.id, d.held_at::timestamptz, ST_SetSRID(ST_MakePoint(d.lon::float8, d.lat::float8), 4326),
       d.grid_code, d.village_code, d.district_code, $1::bigint, d.raised, i.id, d.households::int, d.attendees::int,
       d.held_at::timestamptz, 'demo-year'
FROM demo_visits d
JOIN people p ON p.name = d.person_name AND p.phone = d.person_phone AND p.ended_at IS NULL
LEFT JOIN incidents i ON d.incident_seq <> '' AND i.created_by = 'demo-year' AND i.idempotency_key = 'demo-year-' || d.incident_seq
ORDER BY d.seq::int;
