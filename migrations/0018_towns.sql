-- Many towns in one deployment: a county's (or a city's) towns share one
-- database and one lookup index. A town's villages, grids, districts, duty
-- desk, plans and generations are its own; the town of a village or grid is
-- the first nine digits of its code (the national codes nest).
--
-- A database written before this migration holds one town; everything in
-- it is given that town, so single-town data keeps working unchanged.

ALTER TABLE town RENAME TO towns;
ALTER TABLE towns DROP CONSTRAINT town_pkey;
ALTER TABLE towns DROP COLUMN singleton;
ALTER TABLE towns ADD PRIMARY KEY (code);
CREATE INDEX towns_outline_gist ON towns USING gist (outline);

-- Districts (片区) are numbered within their town: "01" of one town is not
-- "01" of the next.
ALTER TABLE villages DROP CONSTRAINT villages_district_code_fkey;
ALTER TABLE districts ADD COLUMN town_code text;
UPDATE districts SET town_code = (SELECT min(code) FROM towns);
-- Districts of a database that lost its town row (never the case through
-- the API) cannot be placed: keep them under a code no town has.
UPDATE districts SET town_code = '000000000' WHERE town_code IS NULL;
ALTER TABLE districts ALTER COLUMN town_code SET NOT NULL;
ALTER TABLE districts ADD CONSTRAINT district_town_code CHECK (town_code ~ '^[0-9]{9}$');
ALTER TABLE districts DROP CONSTRAINT districts_pkey;
ALTER TABLE districts ADD PRIMARY KEY (town_code, code);
ALTER TABLE villages ADD COLUMN town_code text GENERATED ALWAYS AS (left(code, 9)) STORED;
ALTER TABLE villages ADD CONSTRAINT villages_district_fkey
    FOREIGN KEY (town_code, district_code) REFERENCES districts (town_code, code);
CREATE INDEX villages_town ON villages (town_code);

-- The grids of one town, current or at a generation, are found by code
-- prefix: a btree on the code answers left(code, 9) = $1 as a range.
CREATE INDEX grids_current_town ON grids ((left(code, 9))) WHERE retired_generation IS NULL;

-- Each generation changes one town (NULL: written before this migration,
-- when the database held one town). Ids stay global and increasing, so the
-- snapshot of the whole deployment is still "every grid of generation ≤ n".
ALTER TABLE generations ADD COLUMN town_code text CHECK (town_code ~ '^[0-9]{9}$');
CREATE INDEX generations_town ON generations (town_code, id);

-- A plan redraws one town (NULL: every town, the single-town behaviour).
ALTER TABLE plans ADD COLUMN town_code text CHECK (town_code ~ '^[0-9]{9}$');
UPDATE plans SET town_code = (SELECT min(code) FROM towns) WHERE (SELECT count(*) FROM towns) = 1;

-- A token may be limited to one town (NULL: every town).
ALTER TABLE api_tokens ADD COLUMN town_code text CHECK (town_code ~ '^[0-9]{9}$');

-- Each town has its own duty desk (值班室).
ALTER TABLE assignments ADD COLUMN town_code text CHECK (town_code ~ '^[0-9]{9}$');
UPDATE assignments SET town_code = (SELECT min(code) FROM towns) WHERE role = 'duty_desk';
DELETE FROM assignments WHERE role = 'duty_desk' AND town_code IS NULL;
ALTER TABLE assignments DROP CONSTRAINT assignment_scope;
ALTER TABLE assignments ADD CONSTRAINT assignment_scope CHECK (
    CASE role
        WHEN 'liaison_leader' THEN grid_code IS NULL AND village_code IS NOT NULL AND town_code IS NULL
        WHEN 'duty_desk' THEN grid_code IS NULL AND village_code IS NULL AND town_code IS NOT NULL
        ELSE grid_code IS NOT NULL AND village_code IS NULL AND town_code IS NULL
    END);
ALTER TABLE assignments DROP CONSTRAINT one_duty_desk;
ALTER TABLE assignments ADD CONSTRAINT one_duty_desk_per_town
    EXCLUDE USING gist (town_code WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'duty_desk');

-- Every incident belongs to a town: the one of the grid or village it was
-- routed to, else (outside every grid) the town whose outline is nearest
-- the point. A trigger fills it, so the writers of incidents need not.
ALTER TABLE incidents ADD COLUMN town_code text;
UPDATE incidents SET town_code = coalesce(left(coalesce(grid_code, village_code), 9), (SELECT min(code) FROM towns), '');
ALTER TABLE incidents ALTER COLUMN town_code SET NOT NULL;
CREATE INDEX incidents_town ON incidents (town_code, id);

CREATE FUNCTION wangge_incident_town() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.town_code IS NULL THEN
        NEW.town_code := left(coalesce(NEW.grid_code, NEW.village_code), 9);
    END IF;
    IF NEW.town_code IS NULL AND NEW.location IS NOT NULL THEN
        SELECT code INTO NEW.town_code FROM towns ORDER BY outline <-> NEW.location, code LIMIT 1;
    END IF;
    IF NEW.town_code IS NULL THEN
        SELECT min(code) INTO NEW.town_code FROM towns;
    END IF;
    NEW.town_code := coalesce(NEW.town_code, '');
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_town BEFORE INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION wangge_incident_town();

-- The incidents as read gain their town: a town-scoped caller's lists and
-- checks read it. CREATE OR REPLACE VIEW may only append columns.
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
       suspended_at, suspended_seconds, overdue_seconds, town_code
FROM incidents;
