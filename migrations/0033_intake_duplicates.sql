-- Intake's possible-duplicate check (sql/incidents.sql, incident_create and
-- incident_create_batch) looks for the open incidents of one category near
-- a point, the first by received_at. The point is a parameter, so the
-- planner cannot weigh the box against the table, and it chose by the
-- table's size: on a small table, incidents_category_received read in
-- received_at order (LIMIT 1) or the whole table. Each connection keeps
-- the plan it made for the statement in its first executions, so a server
-- that started empty went on reading every incident of the category of
-- the last 72 hours for each new one: at 32 clients on a table filling
-- from empty, 480 rows per incident and most of PostgreSQL's CPU. An index
-- on exactly what is asked (category and place, of open incidents only)
-- is the cheapest path at every size, with statistics or without, once
-- the two indexes that competed with it are gone: incidents_location and
-- incidents_category_received, which only that check read (service items
-- are never deleted, so no foreign-key check needs the latter).
CREATE INDEX incidents_open_category_location ON incidents USING gist (category, location)
    WHERE status NOT IN ('verified', 'closed', 'cancelled', 'merged');
DROP INDEX incidents_location;
DROP INDEX incidents_category_received;

-- A batch of intake is one INSERT of up to 64 incidents. Their days are
-- marked dirty for the figures once per statement (the inserted rows as a
-- transition table) rather than by a row trigger and an INSERT per
-- incident; an update of an incident still marks its days as it happens.
CREATE FUNCTION figures_incidents_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM figures_mark_days(VARIADIC ARRAY(SELECT t FROM inserted, unnest(ARRAY[received_at, completed_at]) t));
    RETURN NULL;
END $$;

DROP TRIGGER figures_incident_changed ON incidents;
CREATE TRIGGER figures_incident_changed AFTER UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION figures_incident_changed();
CREATE TRIGGER figures_incidents_inserted AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION figures_incidents_inserted();

-- Intake writes first_due_at and max_level itself; the trigger that fills
-- them for other writers is not called when it would change nothing.
DROP TRIGGER incidents_first_due ON incidents;
CREATE TRIGGER incidents_first_due BEFORE INSERT ON incidents
    FOR EACH ROW WHEN (NEW.first_due_at IS NULL OR NEW.max_level IS NULL OR NEW.max_level < NEW.level)
    EXECUTE FUNCTION incidents_first_due();
