-- The 考核 figures (package geo/figures, sql/figures.sql) on a county's
-- year: reading a year of incidents (a million rows) for every table costs
-- seconds, so the figures read a rollup by China day instead, kept exact:
--
-- * figures_days holds, per side (accepted: by day of receipt; completed:
--   by day of completion), day, level (village, grid, person, item) and
--   key, the additive counts and the hours to close of each completion (an
--   array, so medians stay exact). 片区 sums the village rows; the time
--   levels sum the item rows by day.
-- * A write to an incident or a rating marks the days it touches dirty
--   (figures_dirty_days); the next table recomputes those days from the
--   incidents before reading (pgstore.refreshFigures).
-- * "Overdue now" depends on now: it is read from the open incidents.
-- * incident_latest_ratings keeps each incident's latest rating request,
--   which the rollup joins by key.

CREATE TABLE incident_latest_ratings (
    incident_id  bigint PRIMARY KEY REFERENCES incidents (id),
    request_id   bigint NOT NULL,
    requested_at timestamptz NOT NULL,
    rating       text
);

INSERT INTO incident_latest_ratings (incident_id, request_id, requested_at, rating)
SELECT DISTINCT ON (incident_id) incident_id, id, requested_at, rating
FROM incident_ratings
ORDER BY incident_id, requested_at DESC, id DESC;

CREATE TABLE figures_days (
    side        text NOT NULL CHECK (side IN ('accepted', 'completed')),
    day         date NOT NULL,
    level       text NOT NULL CHECK (level IN ('village', 'grid', 'person', 'item')),
    key         text NOT NULL,
    n           integer NOT NULL,
    -- accepted side
    escalations integer NOT NULL DEFAULT 0,
    -- completed side
    on_time     integer NOT NULL DEFAULT 0,
    in_village  integer NOT NULL DEFAULT 0,
    in_town     integer NOT NULL DEFAULT 0,
    rated       integer NOT NULL DEFAULT 0,
    satisfied   integer NOT NULL DEFAULT 0,
    unsatisfied integer NOT NULL DEFAULT 0,
    hours       float8[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (side, level, day, key)
);

-- Every day with incidents starts dirty: the first table builds the rollup.
CREATE TABLE figures_dirty_days (day date PRIMARY KEY);
INSERT INTO figures_dirty_days (day)
SELECT (received_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents
UNION
SELECT (completed_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents WHERE completed_at IS NOT NULL;

CREATE FUNCTION figures_mark_days(VARIADIC at timestamptz[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO figures_dirty_days (day)
    SELECT DISTINCT (t AT TIME ZONE 'Asia/Shanghai')::date FROM unnest(at) t WHERE t IS NOT NULL
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION figures_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM figures_mark_days(NEW.received_at, NEW.completed_at);
    ELSIF (OLD.received_at, OLD.completed_at, OLD.status, OLD.village_code, OLD.grid_code, OLD.assignee_name,
           OLD.category, OLD.escalation_count, OLD.max_level, OLD.on_time)
          IS DISTINCT FROM
          (NEW.received_at, NEW.completed_at, NEW.status, NEW.village_code, NEW.grid_code, NEW.assignee_name,
           NEW.category, NEW.escalation_count, NEW.max_level, NEW.on_time) THEN
        PERFORM figures_mark_days(OLD.received_at, OLD.completed_at, NEW.received_at, NEW.completed_at);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER figures_incident_changed AFTER INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION figures_incident_changed();

-- A new request, or an answer to one, replaces the kept one unless an
-- older request is answered late; the incident's day of completion is
-- then dirty.
CREATE FUNCTION incident_latest_ratings_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_latest_ratings AS l (incident_id, request_id, requested_at, rating)
    VALUES (NEW.incident_id, NEW.id, NEW.requested_at, NEW.rating)
    ON CONFLICT (incident_id) DO UPDATE
        SET request_id = EXCLUDED.request_id, requested_at = EXCLUDED.requested_at, rating = EXCLUDED.rating
        WHERE (EXCLUDED.requested_at, EXCLUDED.request_id) >= (l.requested_at, l.request_id);
    PERFORM figures_mark_days(completed_at) FROM incidents WHERE id = NEW.incident_id;
    RETURN NULL;
END $$;

CREATE TRIGGER incident_latest_ratings_keep AFTER INSERT OR UPDATE ON incident_ratings
    FOR EACH ROW EXECUTE FUNCTION incident_latest_ratings_keep();
