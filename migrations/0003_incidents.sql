-- Incidents (complaints) routed to grid leaders and followed to closure.
-- An incident keeps the grid, match and generation it was routed with, and
-- the assignee as they were at that moment. Events are append-only.

CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    number           text GENERATED ALWAYS AS ('WG' || lpad(id::text, 8, '0')) STORED UNIQUE,
    category         text NOT NULL CHECK (category IN ('dispute', 'environment', 'safety', 'livelihood', 'customs', 'left_behind_children', 'other')),
    severity         text NOT NULL CHECK (severity IN ('minor', 'major', 'urgent')),
    source           text NOT NULL CHECK (source IN ('hotline_12345', 'wechat', 'walk_in', 'patrol', 'other')),
    status           text NOT NULL CHECK (status IN ('received', 'dispatched', 'accepted', 'in_progress', 'resolved', 'verified', 'closed', 'rejected', 'reopened')),
    description      text NOT NULL CHECK (description <> ''),
    reporter_name    text NOT NULL DEFAULT '',
    reporter_phone   text NOT NULL DEFAULT '',
    -- Where, in WGS-84, and as the caller gave it.
    location         geometry(Point, 4326),
    input_crs        text NOT NULL DEFAULT 'wgs84',
    input_lon        double precision,
    input_lat        double precision,
    -- How it was routed.
    grid_code        text,
    village_code     text,
    match            text NOT NULL CHECK (match IN ('inside', 'boundary', 'nearest', 'code', 'outside')),
    distance_m       double precision,
    generation       bigint REFERENCES generations (id),
    assignee_role    text CHECK (assignee_role IN ('leader', 'deputy', 'liaison_leader', 'duty_desk')),
    assignee_name    text NOT NULL DEFAULT '',
    assignee_phone   text NOT NULL DEFAULT '',
    assignee_reason  text NOT NULL DEFAULT '',
    level            smallint NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 2),
    co_notified      jsonb NOT NULL DEFAULT '[]',
    reported_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    resolved_at      timestamptz,
    closed_at        timestamptz,
    created_by       text NOT NULL,
    -- Idempotency-Key, scoped to the caller, with the hash of the request
    -- body it was first used with.
    idempotency_key  text,
    request_hash     bytea,
    CONSTRAINT incident_located CHECK ((location IS NULL) = (input_lon IS NULL)),
    CONSTRAINT incident_idempotency UNIQUE (created_by, idempotency_key)
);
CREATE INDEX incidents_grid ON incidents (grid_code, received_at);
CREATE INDEX incidents_village ON incidents (village_code, received_at);
CREATE INDEX incidents_status_due ON incidents (status, due_at);
CREATE INDEX incidents_received ON incidents (received_at);
CREATE INDEX incidents_location ON incidents USING gist (location);

CREATE TABLE incident_events (
    id             bigserial PRIMARY KEY,
    incident_id    bigint NOT NULL REFERENCES incidents (id),
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    action         text NOT NULL CHECK (action IN ('receive', 'dispatch', 'accept', 'start', 'resolve', 'verify', 'close', 'reject', 'reopen', 'reassign', 'escalate', 'comment')),
    from_status    text,
    to_status      text NOT NULL,
    note           text NOT NULL DEFAULT '',
    assignee_role  text,
    assignee_name  text,
    assignee_phone text
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- The history is appended, never rewritten.
CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();

-- The columns the service reads, in the order it scans them.
CREATE VIEW incident_rows AS
SELECT id, number, category, severity, source, status, description, reporter_name, reporter_phone,
       ST_X(location) AS lon, ST_Y(location) AS lat, input_crs, input_lon, input_lat,
       coalesce(grid_code, '') AS grid_code, coalesce(village_code, '') AS village_code, match,
       coalesce(distance_m, 0) AS distance_m, coalesce(generation, 0) AS generation,
       coalesce(assignee_role, '') AS assignee_role, assignee_name, assignee_phone, assignee_reason, level, co_notified,
       reported_at, received_at, due_at, resolved_at, closed_at, created_by
FROM incidents;
