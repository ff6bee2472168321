-- People, their assignments (appointments) and leave; roster imports.
-- An assignment is in force at t when starts_at <= t < ends_at (or open).
-- Assignment rows are always read with the same columns, in this order:
-- id, person id, name, phone, person ended_at, role, grid code, village
-- code, starts_at, ends_at.

-- name: people_notify
-- Announces a change of who serves the grids; the payload is the current
-- generation, so that every replica reloads its snapshot.
SELECT pg_notify('wangge_registry', (SELECT coalesce(max(id), 0) FROM generations)::text);

-- name: person_insert
INSERT INTO people (name, phone, created_at) VALUES ($1, $2, $3)
RETURNING id;

-- name: person_get
SELECT id, name, phone, created_at, ended_at FROM people WHERE id = $1;

-- name: person_lock
-- Serialises the writes that concern one person (leave, ending).
SELECT id, name, phone, created_at, ended_at FROM people WHERE id = $1 FOR UPDATE;

-- name: person_by_identity
-- The person of that name and phone who has not left (at most one, by
-- the index people_active_identity).
SELECT id FROM people WHERE name = $1 AND phone = $2 AND ended_at IS NULL;

-- name: people_active
-- Everyone who has not left, for rosters to match rows against.
SELECT id, name, phone FROM people WHERE ended_at IS NULL;

-- name: people_list
-- A page of people by id after $6: name containing $1, holding role $2
-- and/or any role on grid $3 at $4, status $5 (active, left, or '' for
-- both).
SELECT p.id, p.name, p.phone, p.created_at, p.ended_at
FROM people p
WHERE ($1::text = '' OR strpos(p.name, $1) > 0)
  AND ($2::text = '' AND $3::text = '' OR EXISTS (
        SELECT 1 FROM assignments a
        WHERE a.person_id = p.id AND ($2 = '' OR a.role = $2) AND ($3 = '' OR a.grid_code = $3)
          AND a.starts_at <= $4 AND (a.ends_at IS NULL OR a.ends_at > $4)))
  AND ($5::text = '' OR ($5 = 'active') = (p.ended_at IS NULL))
  AND p.id > $6
ORDER BY p.id
LIMIT $7;

-- name: person_update
UPDATE people SET name = $2, phone = $3 WHERE id = $1;

-- name: person_end
UPDATE people SET ended_at = $2 WHERE id = $1;

-- name: person_assignments_later
-- The first assignment of person $1 that starts at or after $2: ending the
-- person then would leave it in force after they left.
SELECT a.id, a.role, a.starts_at FROM assignments a
WHERE a.person_id = $1 AND a.starts_at >= $2
ORDER BY a.starts_at LIMIT 1;

-- name: person_assignments_end
-- Ends at $2 every assignment of person $1 in force then (or later).
UPDATE assignments a SET ends_at = $2
FROM people p
WHERE p.id = a.person_id AND a.person_id = $1 AND a.starts_at < $2 AND (a.ends_at IS NULL OR a.ends_at > $2)
RETURNING a.id, a.person_id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at;

-- name: person_memberships_end
-- A person who leaves leaves their organizations too.
UPDATE organization_members SET ends_at = $2
WHERE person_id = $1 AND starts_at < $2 AND (ends_at IS NULL OR ends_at > $2);

-- name: assignments_at
-- The assignments of people $1 in force at $2.
SELECT a.id, a.person_id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE a.person_id = ANY($1) AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2)
ORDER BY a.person_id, a.role, a.grid_code, a.village_code;

-- name: assignments_of_person
SELECT a.id, a.person_id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE a.person_id = $1
ORDER BY a.starts_at DESC, a.id DESC;

-- name: holders_lock
-- The assignments of role $1 in scope (grid $2, village $3, or the duty
-- desk of town $6) in force at $4, of person $5 when not 0, locked: a
-- concurrent appointment waits here, then finds the holder ended and fails
-- on the exclusion constraint.
SELECT a.id, a.person_id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE a.role = $1 AND a.grid_code IS NOT DISTINCT FROM $2::text AND a.village_code IS NOT DISTINCT FROM $3::text
  AND a.town_code IS NOT DISTINCT FROM $6::text
  AND a.starts_at <= $4 AND (a.ends_at IS NULL OR a.ends_at > $4)
  AND ($5::bigint = 0 OR a.person_id = $5)
ORDER BY a.starts_at, a.id
FOR UPDATE OF a;

-- name: assignment_end
UPDATE assignments SET ends_at = $2 WHERE id = $1;

-- name: assignment_insert
INSERT INTO assignments (person_id, role, grid_code, village_code, starts_at, town_code)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: grid_current
SELECT code, name, village_code FROM grids WHERE code = $1 AND retired_generation IS NULL;

-- name: grid_any_version
-- The newest version of a grid code, retired or not.
SELECT code, name, village_code FROM grids WHERE code = $1 ORDER BY valid_from DESC LIMIT 1;

-- name: village_current
SELECT code, name FROM villages WHERE code = $1 AND retired_at IS NULL;

-- name: grid_staff_at
-- Who held a role on grid $1, or the liaison leadership of village $2, at $3.
SELECT a.id, a.person_id, p.name, p.phone, p.ended_at, a.role, coalesce(a.grid_code, ''), coalesce(a.village_code, ''), a.starts_at, a.ends_at
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE (a.grid_code = $1 OR a.village_code = $2 AND a.role = 'liaison_leader')
  AND a.starts_at <= $3 AND (a.ends_at IS NULL OR a.ends_at > $3)
ORDER BY a.role, p.name, a.id;

-- name: leaves_covering
-- The leave of people $1 in force at $2.
SELECT id, person_id, starts_at, ends_at, note FROM leaves
WHERE person_id = ANY($1) AND starts_at <= $2 AND ends_at > $2
ORDER BY person_id, starts_at;

-- name: leaves_of_person
SELECT id, person_id, starts_at, ends_at, note FROM leaves WHERE person_id = $1 ORDER BY starts_at, id;

-- name: leave_overlapping
SELECT id, starts_at, ends_at FROM leaves
WHERE person_id = $1 AND tstzrange(starts_at, ends_at) && tstzrange($2, $3)
ORDER BY starts_at LIMIT 1;

-- name: leave_insert
INSERT INTO leaves (person_id, starts_at, ends_at, note) VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: leave_delete
DELETE FROM leaves WHERE id = $1 AND person_id = $2
RETURNING starts_at, ends_at, note;

-- name: roster_lock
-- Serialises roster imports: two offices uploading at once apply one after
-- the other, each against what the other left.
SELECT pg_advisory_xact_lock(7263005);

-- name: roster_grids
SELECT code, name, village_code FROM grids WHERE retired_generation IS NULL ORDER BY code;

-- name: roster_villages
SELECT code, name FROM villages WHERE retired_at IS NULL ORDER BY code;

-- name: roster_organizations
-- Organizations that work, to resolve a roster's 组织 column by village
-- and name (read only: memberships are kept by /v1/organizations).
SELECT id, kind, name, coalesce(village_code, '') FROM organizations WHERE ended_at IS NULL ORDER BY id;

-- name: town_codes
SELECT code FROM towns ORDER BY code;
