-- The 考核 figures at county scale (sql/figures.sql reads them):
--
-- * Town and county levels. figures_days gains rows of level 'town' (key:
--   incidents.town_code, 0018); a county's row is the sum of its towns'
--   (key: the town code's first six digits), so the county equals the sum
--   of its towns by construction.
-- * Exact medians from histograms. Each completed-side row keeps, in
--   hist, how many completions took each whole hour (bucket b holds
--   b < hours ≤ b + 1): big-endian int4 pairs (bucket, count) by bucket;
--   and in hours every completion's hours, sorted, as big-endian float8s
--   (a blob: the float8[] it replaces cost more to decode than to read).
--   A table merges its rows' histograms, finds the bucket of each rank a
--   median or p90 needs and its place there, and sorts only the hours of
--   those buckets: no sort of a year's completions.
-- * "Overdue now" without scanning the open incidents. Accepted-side rows
--   count the incidents received that day that are open now (open_due);
--   overdue now is that sum less the open incidents not yet due, which are
--   few and found by incidents_status_due. A change of due_at now marks
--   the days dirty, as a change of status always did.
-- * A table reads one level's rows only: figures_days is partitioned by
--   level (a year at grid level scanned every level's rows, 143 MB for a
--   county-year, and that scan was most of its time); and a year reads
--   whole months from figures_months, where they are built.
--
-- Every day is recomputed by the next table: for a county-year of a
-- million incidents 1 m 50 s to 2 m 52 s on the shared 2-core build
-- machine at load 10-20 (0015's first build: 23 s at load 2-4); the demo
-- year in about a second.

DROP TABLE figures_days;
CREATE TABLE figures_days (
    side        text NOT NULL CHECK (side IN ('accepted', 'completed')),
    day         date NOT NULL,
    level       text NOT NULL CHECK (level IN ('village', 'grid', 'person', 'item', 'town')),
    key         text NOT NULL,
    n           integer NOT NULL,
    -- accepted side
    escalations integer NOT NULL DEFAULT 0,
    open_due    integer NOT NULL DEFAULT 0,
    -- completed side
    on_time     integer NOT NULL DEFAULT 0,
    in_village  integer NOT NULL DEFAULT 0,
    in_town     integer NOT NULL DEFAULT 0,
    rated       integer NOT NULL DEFAULT 0,
    satisfied   integer NOT NULL DEFAULT 0,
    unsatisfied integer NOT NULL DEFAULT 0,
    hours       bytea NOT NULL DEFAULT '',
    hist        bytea NOT NULL DEFAULT '',
    PRIMARY KEY (side, level, day, key)
) PARTITION BY LIST (level);
CREATE TABLE figures_days_village PARTITION OF figures_days FOR VALUES IN ('village');
CREATE TABLE figures_days_grid PARTITION OF figures_days FOR VALUES IN ('grid');
CREATE TABLE figures_days_person PARTITION OF figures_days FOR VALUES IN ('person');
CREATE TABLE figures_days_item PARTITION OF figures_days FOR VALUES IN ('item');
CREATE TABLE figures_days_town PARTITION OF figures_days FOR VALUES IN ('town');
-- Statistics of the blobs are of no use to a plan and slow ANALYZE down.
ALTER TABLE figures_days ALTER COLUMN hours SET STATISTICS 0, ALTER COLUMN hist SET STATISTICS 0;
-- A year read from whole months reads the days of its other months only.
CREATE INDEX figures_days_day ON figures_days (day);

-- Whole months, summed from the days (hist and hours: the days'
-- concatenated), for the months listed in figures_months_built. A refresh
-- that recomputes a day drops its month; months that ended more than a
-- month ago are built again (pgstore.refreshFigures), so that a year
-- reads twelve rows a key, not 365.
CREATE TABLE figures_months (LIKE figures_days INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE figures_months RENAME COLUMN day TO month;
ALTER TABLE figures_months ADD PRIMARY KEY (side, level, month, key);
ALTER TABLE figures_months ALTER COLUMN hours SET STATISTICS 0, ALTER COLUMN hist SET STATISTICS 0;
CREATE TABLE figures_months_built (month date PRIMARY KEY);

INSERT INTO figures_dirty_days (day)
SELECT (received_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents
UNION
SELECT (completed_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents WHERE completed_at IS NOT NULL
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION figures_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM figures_mark_days(NEW.received_at, NEW.completed_at);
    ELSIF (OLD.received_at, OLD.completed_at, OLD.status, OLD.village_code, OLD.grid_code, OLD.assignee_name,
           OLD.category, OLD.escalation_count, OLD.max_level, OLD.on_time, OLD.due_at, OLD.town_code)
          IS DISTINCT FROM
          (NEW.received_at, NEW.completed_at, NEW.status, NEW.village_code, NEW.grid_code, NEW.assignee_name,
           NEW.category, NEW.escalation_count, NEW.max_level, NEW.on_time, NEW.due_at, NEW.town_code) THEN
        PERFORM figures_mark_days(OLD.received_at, OLD.completed_at, NEW.received_at, NEW.completed_at);
    END IF;
    RETURN NULL;
END $$;

-- figures_mark_days runs on every write of an incident. A LANGUAGE sql
-- function called from a trigger is parsed and planned on every call (6–10%
-- of a backend's CPU at intake); as plpgsql its plan is kept for the session.
CREATE OR REPLACE FUNCTION figures_mark_days(VARIADIC at timestamptz[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figures_dirty_days (day)
    SELECT DISTINCT (t AT TIME ZONE 'Asia/Shanghai')::date FROM unnest($1) t WHERE t IS NOT NULL
    ON CONFLICT DO NOTHING;
END $$;
