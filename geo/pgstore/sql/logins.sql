-- name: login_lock
-- Serialises the requests for one number ($1 = 1) or from one address
-- ($1 = 2) across replicas, so that two at once cannot both pass a limit.
SELECT pg_advisory_xact_lock(7263100 + $1::int, hashtext($2::text));

-- name: login_requests_by_phone
SELECT at FROM login_requests WHERE phone = $1 AND at > $2;

-- name: login_requests_by_address
SELECT at FROM login_requests WHERE address = $1 AND at > $2;

-- name: login_request_insert
INSERT INTO login_requests (phone, address, at) VALUES ($1, $2, $3);

-- name: login_requests_purge
DELETE FROM login_requests WHERE at <= $1;

-- name: login_person_by_phone
-- The people with this number who have not left and hold a role at $2: an
-- assignment, the chair of an organization that has not ended, or a seat
-- on a district's body or a work team (0025_structure.sql).
SELECT p.id, p.name, p.phone FROM people p
WHERE p.phone = $1 AND p.ended_at IS NULL
  AND (EXISTS (SELECT 1 FROM assignments a
               WHERE a.person_id = p.id AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2))
    OR EXISTS (SELECT 1 FROM organization_members m JOIN organizations o ON o.id = m.organization_id
               WHERE m.person_id = p.id AND m.role = 'chair' AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
                 AND (o.ended_at IS NULL OR o.ended_at > $2))
    OR wangge_holds_structure_seat(p.id, $2))
ORDER BY p.id;

-- name: login_codes_spend
-- A new code replaces the number's earlier ones.
UPDATE login_codes SET used_at = $2 WHERE phone = $1 AND used_at IS NULL;

-- name: login_code_insert
INSERT INTO login_codes (phone, person_id, salt, hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: login_codes_purge
DELETE FROM login_codes WHERE expires_at <= $1;

-- name: login_code_latest
-- The number's code in force (at most one: see login_codes_spend), locked.
SELECT id, person_id, salt, hash, expires_at, attempts FROM login_codes
WHERE phone = $1 AND used_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1
FOR UPDATE;

-- name: login_code_attempt
UPDATE login_codes SET attempts = attempts + 1 WHERE id = $1
RETURNING attempts;

-- name: login_code_use
UPDATE login_codes SET used_at = $2 WHERE id = $1;

-- name: login_person_holds_role
-- Whether person $1 has not left and holds a role at $2.
SELECT EXISTS (SELECT 1 FROM people p WHERE p.id = $1 AND p.ended_at IS NULL
  AND (EXISTS (SELECT 1 FROM assignments a
               WHERE a.person_id = p.id AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2))
    OR EXISTS (SELECT 1 FROM organization_members m JOIN organizations o ON o.id = m.organization_id
               WHERE m.person_id = p.id AND m.role = 'chair' AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
                 AND (o.ended_at IS NULL OR o.ended_at > $2))
    OR wangge_holds_structure_seat(p.id, $2)));

-- name: session_next_id
SELECT nextval(pg_get_serial_sequence('sessions', 'id'));

-- name: session_insert
INSERT INTO sessions (id, person_id, token_hash, via, address, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: session_revoke
UPDATE sessions SET revoked_at = $2, revoked_by = $3
WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2
RETURNING person_id;

-- name: sessions_revoked
SELECT id, expires_at FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1;

-- name: session_active
SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2);

-- name: login_link_insert
INSERT INTO login_links (person_id, hash, created_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: login_link_get
SELECT id, person_id, expires_at, used_at FROM login_links WHERE hash = $1 FOR UPDATE;

-- name: login_link_use
UPDATE login_links SET used_at = $2, session_id = $3 WHERE id = $1;

-- name: person_chairs_at
-- The organizations person $1 chairs at $2.
SELECT o.id, o.kind, o.name, coalesce(o.village_code, '')
FROM organization_members m JOIN organizations o ON o.id = m.organization_id
WHERE m.person_id = $1 AND m.role = 'chair' AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
  AND (o.ended_at IS NULL OR o.ended_at > $2)
ORDER BY o.id;

-- name: person_incidents
-- The incidents of a person's scope: assigned to their phone ($1), in the
-- grids ($2) or villages ($3) they hold, or told to an organization they
-- chair ($4: [{"village_code", "kind", "name"}]); of statuses $5 (NULL:
-- all). Open ones first by due time, then the others newest first.
SELECT * FROM incident_rows r
WHERE ((r.assignee_phone <> '' AND r.assignee_phone = $1)
    OR r.grid_code = ANY ($2::text[])
    OR r.village_code = ANY ($3::text[])
    OR EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS c (village_code text, kind text, name text)
               WHERE c.village_code = r.village_code
                 AND r.co_notified @> jsonb_build_array(jsonb_build_object('kind', c.kind, 'name', c.name))))
  AND ($5::text[] IS NULL OR r.status = ANY ($5))
ORDER BY r.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') DESC,
         CASE WHEN r.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') THEN r.due_at END,
         r.received_at DESC, r.id DESC
LIMIT $6;
