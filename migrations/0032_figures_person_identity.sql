-- The person level of the 考核 figures groups by who a person is, not by
-- their name alone. A town's registry knows a person by name and phone
-- (0005: two people who have not left never share the pair), and namesakes
-- are common in a township: 王伟 of one grid and 王伟 of another were one
-- row of the table. The key is 'phone:name' ('' for no assignee), so a
-- reader takes the phone before the first colon (phones are digits) and
-- the name after it.
CREATE FUNCTION figures_person_key(name text, phone text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN name = '' AND phone = '' THEN '' ELSE phone || ':' || name END $$;

-- A change of the assignee's phone alone (a namesake took the case) moves
-- the incident between keys: its days are recomputed.
CREATE OR REPLACE FUNCTION figures_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM figures_mark_days(NEW.received_at, NEW.completed_at);
    ELSIF (OLD.received_at, OLD.completed_at, OLD.status, OLD.village_code, OLD.grid_code, OLD.assignee_name,
           OLD.assignee_phone, OLD.category, OLD.escalation_count, OLD.max_level, OLD.on_time, OLD.due_at, OLD.town_code)
          IS DISTINCT FROM
          (NEW.received_at, NEW.completed_at, NEW.status, NEW.village_code, NEW.grid_code, NEW.assignee_name,
           NEW.assignee_phone, NEW.category, NEW.escalation_count, NEW.max_level, NEW.on_time, NEW.due_at, NEW.town_code) THEN
        PERFORM figures_mark_days(OLD.received_at, OLD.completed_at, NEW.received_at, NEW.completed_at);
    END IF;
    RETURN NULL;
END $$;

-- The person rows so far are keyed by name: every day is recomputed by the
-- next table (the other levels come out as they were), and whole months
-- are built again from the new days.
DELETE FROM figures_months;
DELETE FROM figures_months_built;
INSERT INTO figures_dirty_days (day)
SELECT (received_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents
UNION
SELECT (completed_at AT TIME ZONE 'Asia/Shanghai')::date FROM incidents WHERE completed_at IS NOT NULL
ON CONFLICT DO NOTHING;
