-- Three costs of intake that bought nothing (sql/incidents.sql,
-- incident_intake_prepare_batch, incident_create_batch, incident_create).

-- possible_duplicate_of is a hint: intake sets it to an incident its own
-- statement has just read, and incidents are never deleted (the reason 0034
-- dropped the index behind this key). Its foreign-key check still ran for
-- nearly every new incident in a busy town, and each check locked the
-- earlier incident's row (FOR KEY SHARE): a WAL record per incident, an old
-- heap page dirtied again (a full-page image after each checkpoint), and,
-- when two batches named the same earlier incident, a multixact.
ALTER TABLE incidents DROP CONSTRAINT incidents_possible_duplicate_of_fkey;

-- An incident's number from its id: the expression of incidents.number
-- (migration 0003), for statements that know an id before its row is
-- written or without reading the row. A plain SQL function, inlined.
CREATE FUNCTION incident_number(id bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 'WG' || lpad(id::text, 8, '0') $$;

-- Intake's lookup of Idempotency-Keys, one batch at a time: for each
-- request (ord, from 1), the incident its caller made earlier under its key,
-- else the id the new one will have and its number. As a plain statement it had to be
-- planned for every batch: a plan kept from a connection's first batches,
-- made while incidents was small, read the whole table for each key as the
-- table grew. That planning was 8% of PostgreSQL's CPU at 32 clients. Here
-- the plan is made once per connection and kept, and it cannot be that one:
-- each key is looked up on its own (LATERAL ... LIMIT 1 keeps the lookup a
-- nested loop) and, with sequential scans priced out, only the unique index
-- on (created_by, idempotency_key) can answer it, at any size of the table.
CREATE FUNCTION incident_intake_keys(callers text[], keys text[])
RETURNS TABLE (ord bigint, number text, request_hash bytea, id bigint, new_number text)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT x.ord, k.number, k.request_hash, n.id, incident_number(n.id)
    FROM unnest(callers, keys) WITH ORDINALITY AS x (created_by, key, ord)
    LEFT JOIN LATERAL (
        SELECT i.id, i.number, i.request_hash FROM incidents i
        WHERE i.created_by = x.created_by AND i.idempotency_key = x.key
        LIMIT 1) k ON true
    LEFT JOIN LATERAL (SELECT nextval('incidents_id_seq') AS id WHERE k.id IS NULL) n ON true;
END $$;

-- Intake now writes the town of an incident routed to a grid (its grid's,
-- which is what the trigger finds first); the trigger, a PL/pgSQL call for
-- every row, is not called when there is nothing left for it to do. Other
-- writers, and intake outside every grid, leave town_code NULL as before.
DROP TRIGGER incidents_town ON incidents;
CREATE TRIGGER incidents_town BEFORE INSERT ON incidents
    FOR EACH ROW WHEN (NEW.town_code IS NULL) EXECUTE FUNCTION wangge_incident_town();
