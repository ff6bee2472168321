-- A record that cannot lie (issue 11): what an incident's history was,
-- kept as it happened, so that the figures a township is held to cannot be
-- raised by rejecting, closing, escalating or re-routing.
--
-- * Completion (办结) is verification: completed_at and on_time are set
--   then, never by a close after a reject or a cancel.
-- * Every time limit an incident was given is a row of incident_deadlines;
--   an escalation adds one and marks the one it replaces as missed, so a
--   new due time never hides an old one.
-- * Events keep the actor's role and the incident's level at the time.
-- * Suspension (挂起) stops the clock; a possible duplicate is flagged at
--   intake and may be merged into the first incident.

ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_status_check CHECK (status IN ('received', 'dispatched', 'accepted',
    'in_progress', 'resolved', 'verified', 'closed', 'rejected', 'reopened', 'suspended', 'cancelled', 'merged'));

-- A person a dispatcher named who holds none of the routing roles.
ALTER TABLE incidents DROP CONSTRAINT incidents_assignee_role_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_assignee_role_check
    CHECK (assignee_role IN ('leader', 'deputy', 'liaison_leader', 'duty_desk', 'designee'));

ALTER TABLE incidents
    -- The time limit given at intake (before any escalation or suspension).
    ADD COLUMN first_due_at      timestamptz,
    ADD COLUMN escalation_count  integer NOT NULL DEFAULT 0 CHECK (escalation_count >= 0),
    -- The highest level ever reached: 0 grid, 1 village, 2 town.
    ADD COLUMN max_level         smallint NOT NULL DEFAULT 0 CHECK (max_level BETWEEN 0 AND 2),
    -- When it counted as completed (办结): verified. NULL otherwise.
    ADD COLUMN completed_at      timestamptz,
    -- NULL until completed; true when completed by first_due_at plus the
    -- time spent suspended.
    ADD COLUMN on_time           boolean,
    -- The reason of a reject or a cancel.
    ADD COLUMN outcome_reason    text NOT NULL DEFAULT '',
    ADD COLUMN merged_into       bigint REFERENCES incidents (id),
    ADD COLUMN possible_duplicate_of bigint REFERENCES incidents (id),
    -- Set while suspended: since when.
    ADD COLUMN suspended_at      timestamptz,
    ADD COLUMN suspended_seconds bigint NOT NULL DEFAULT 0 CHECK (suspended_seconds >= 0),
    -- Time spent past a due, summed over the deadlines that ended missed;
    -- the interval of a deadline still in force is added when read.
    ADD COLUMN overdue_seconds   bigint NOT NULL DEFAULT 0 CHECK (overdue_seconds >= 0),
    ADD CONSTRAINT incident_completed_on_time CHECK ((completed_at IS NULL) = (on_time IS NULL)),
    ADD CONSTRAINT incident_merged CHECK ((status = 'merged') = (merged_into IS NOT NULL)),
    ADD CONSTRAINT incident_suspended CHECK ((status = 'suspended') = (suspended_at IS NOT NULL)),
    ADD CONSTRAINT incident_not_own_duplicate CHECK (possible_duplicate_of <> id AND merged_into <> id);

-- Backfill. Escalations before this migration overwrote due_at, so the
-- first due of an escalated incident is not known: the first escalation
-- is the latest it can have been (the escalator acts on overdue cases).
UPDATE incidents i
SET first_due_at = least(i.due_at, (SELECT min(e.at) FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'escalate')),
    escalation_count = (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'escalate'),
    max_level = i.level;
ALTER TABLE incidents ALTER COLUMN first_due_at SET NOT NULL;

-- A row written without its first due time (a loader, a test) gets its
-- due time: at intake they are the same.
CREATE FUNCTION incidents_first_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.first_due_at := coalesce(NEW.first_due_at, NEW.due_at);
    NEW.max_level := greatest(NEW.max_level, NEW.level);
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_first_due BEFORE INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_first_due();

-- Completed: verified (a close after a reject is not). The completion time
-- is that of the last verification.
UPDATE incidents i
SET completed_at = v.at, on_time = v.at <= i.first_due_at
FROM (SELECT incident_id, max(at) AS at FROM incident_events WHERE action = 'verify' GROUP BY incident_id) v
WHERE v.incident_id = i.id AND i.status IN ('verified', 'closed');

UPDATE incidents i
SET outcome_reason = coalesce((SELECT e.note FROM incident_events e
                               WHERE e.incident_id = i.id AND e.action = 'reject' ORDER BY e.id DESC LIMIT 1), '')
WHERE i.status IN ('rejected', 'closed');

CREATE INDEX incidents_completed ON incidents (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX incidents_duplicate_of ON incidents (possible_duplicate_of) WHERE possible_duplicate_of IS NOT NULL;
CREATE INDEX incidents_merged_into ON incidents (merged_into) WHERE merged_into IS NOT NULL;
-- Intake looks for open incidents of a category near a point.
CREATE INDEX incidents_category_received ON incidents (category, received_at);

-- Every time limit an incident was given, in order (seq from 1): the one
-- set at intake, then one per escalation, reassignment or correction that
-- set a new one. missed_at is when it was found missed (NULL: met, or
-- still in force and not yet missed); ended_at is when it stopped being in
-- force (NULL: in force).
CREATE TABLE incident_deadlines (
    incident_id bigint NOT NULL REFERENCES incidents (id),
    seq         integer NOT NULL CHECK (seq >= 1),
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 2),
    due_at      timestamptz NOT NULL,
    set_at      timestamptz NOT NULL,
    -- What set it: receive, escalate, reassign, correct.
    set_by      text NOT NULL DEFAULT 'receive',
    missed_at   timestamptz,
    ended_at    timestamptz,
    PRIMARY KEY (incident_id, seq),
    CONSTRAINT incident_deadline_missed_after_due CHECK (missed_at IS NULL OR missed_at >= due_at)
);

-- The escalator looks for deadlines in force that have passed.
CREATE INDEX incident_deadlines_in_force ON incident_deadlines (due_at) WHERE ended_at IS NULL AND missed_at IS NULL;

-- Backfill: the first deadline of each incident; an escalated incident's
-- first deadline ended missed at its first escalation, and the current one
-- follows it.
INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by, missed_at, ended_at)
SELECT i.id, 1, CASE WHEN i.escalation_count > 0 THEN 0 ELSE i.level END, i.first_due_at, i.received_at, 'receive',
       CASE WHEN i.escalation_count > 0 THEN greatest(e.first_at, i.first_due_at)
            WHEN i.completed_at > i.first_due_at THEN i.completed_at END,
       CASE WHEN i.escalation_count > 0 THEN e.first_at
            WHEN i.status IN ('verified', 'closed', 'rejected') THEN coalesce(i.completed_at, i.closed_at) END
FROM incidents i
LEFT JOIN (SELECT incident_id, min(at) AS first_at FROM incident_events WHERE action = 'escalate' GROUP BY incident_id) e
       ON e.incident_id = i.id;
INSERT INTO incident_deadlines (incident_id, seq, level, due_at, set_at, set_by, missed_at, ended_at)
SELECT i.id, 2, i.level, i.due_at, e.last_at, 'escalate',
       CASE WHEN i.completed_at > i.due_at THEN i.completed_at END,
       CASE WHEN i.status IN ('verified', 'closed', 'rejected') THEN coalesce(i.completed_at, i.closed_at) END
FROM incidents i
JOIN (SELECT incident_id, max(at) AS last_at FROM incident_events WHERE action = 'escalate' GROUP BY incident_id) e
  ON e.incident_id = i.id;
UPDATE incidents i
SET overdue_seconds = coalesce((SELECT sum(greatest(0, extract(epoch FROM d.ended_at - d.due_at)))::bigint
                                FROM incident_deadlines d WHERE d.incident_id = i.id AND d.ended_at IS NOT NULL), 0);

-- The role of who acted (their access role or, for a person, what they
-- held then; 'system' for the service itself) and the incident's level
-- after the event, as they were at the time.
ALTER TABLE incident_events ADD COLUMN actor_role text, ADD COLUMN level smallint CHECK (level BETWEEN 0 AND 2);
-- Backfill the level from the assignee each event left the incident with
-- (the role says the level); the actor's role of old events is not known.
-- The history is append-only: the trigger stands aside for this one
-- filling of a new column, inside the migration's transaction.
ALTER TABLE incident_events DISABLE TRIGGER incident_events_append_only;
UPDATE incident_events e
SET level = coalesce((SELECT CASE p.assignee_role WHEN 'liaison_leader' THEN 1 WHEN 'duty_desk' THEN 2 ELSE 0 END
                      FROM incident_events p
                      WHERE p.incident_id = e.incident_id AND p.id <= e.id AND p.assignee_role IS NOT NULL
                      ORDER BY p.id DESC LIMIT 1), 0);
ALTER TABLE incident_events ENABLE TRIGGER incident_events_append_only;

ALTER TABLE incident_events DROP CONSTRAINT incident_events_action_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_action_check CHECK (action IN ('receive', 'dispatch', 'accept',
    'start', 'resolve', 'verify', 'close', 'reject', 'reopen', 'reassign', 'escalate', 'comment',
    'request_reassign', 'request_escalate',
    'correct', 'suspend', 'resume', 'cancel', 'merge', 'reroute', 'handover'));

-- The reporters of incidents merged into this one: kept as contacts, so
-- that each is called back.
CREATE TABLE incident_contacts (
    id             bigserial PRIMARY KEY,
    incident_id    bigint NOT NULL REFERENCES incidents (id),
    from_incident  bigint NOT NULL REFERENCES incidents (id),
    reporter_name  text NOT NULL DEFAULT '',
    reporter_phone text NOT NULL DEFAULT '',
    added_at       timestamptz NOT NULL,
    CONSTRAINT incident_contact_once UNIQUE (incident_id, from_incident)
);

-- The view gains the new columns at its end (CREATE OR REPLACE VIEW may
-- only append); the incidents an incident points at go by their numbers.
CREATE OR REPLACE VIEW incident_rows AS
SELECT id, number, category, severity, source, status, description, reporter_name, reporter_phone,
       ST_X(location) AS lon, ST_Y(location) AS lat, input_crs, input_lon, input_lat,
       coalesce(grid_code, '') AS grid_code, coalesce(village_code, '') AS village_code, match,
       coalesce(distance_m, 0) AS distance_m, coalesce(generation, 0) AS generation,
       coalesce(assignee_role, '') AS assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
       reported_at, received_at, due_at, resolved_at, closed_at, created_by,
       first_due_at, escalation_count, max_level, completed_at, on_time, outcome_reason,
       coalesce((SELECT m.number FROM incidents m WHERE m.id = incidents.merged_into), '') AS merged_into,
       coalesce((SELECT d.number FROM incidents d WHERE d.id = incidents.possible_duplicate_of), '') AS possible_duplicate_of,
       suspended_at, suspended_seconds, overdue_seconds
FROM incidents;
