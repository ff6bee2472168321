-- Organizations, their members and the grids they serve (organizations.go).
-- Periods are [starts_at, ends_at); an open one has ends_at NULL.

-- name: org_insert
INSERT INTO organizations (kind, name, village_code, contact, contact_phone, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: org_get
SELECT id, kind, name, coalesce(village_code, ''), contact, contact_phone, created_at, ended_at
FROM organizations WHERE id = $1;

-- name: org_lock
SELECT id, kind, name, coalesce(village_code, ''), contact, contact_phone, created_at, ended_at
FROM organizations WHERE id = $1
FOR UPDATE;

-- name: org_list
-- Organizations of kind $1 in village $2 serving grid $3 at $5 (NULL: any),
-- with status $4 at $5: 'active', 'ended', or NULL for both.
SELECT o.id, o.kind, o.name, coalesce(o.village_code, ''), o.contact, o.contact_phone, o.created_at, o.ended_at
FROM organizations o
WHERE ($1::text IS NULL OR o.kind = $1)
  AND ($2::text IS NULL OR o.village_code = $2)
  AND ($3::text IS NULL OR EXISTS (
        SELECT 1 FROM organization_grids og
        WHERE og.organization_id = o.id AND og.grid_code = $3
          AND og.starts_at <= $5 AND (og.ends_at IS NULL OR og.ends_at > $5)))
  AND CASE $4::text
        WHEN 'active' THEN o.ended_at IS NULL OR o.ended_at > $5
        WHEN 'ended' THEN o.ended_at IS NOT NULL AND o.ended_at <= $5
        ELSE true
      END
ORDER BY o.village_code, o.name, o.id;

-- name: org_update
UPDATE organizations
SET kind = $2, name = $3, village_code = $4, contact = $5, contact_phone = $6, ended_at = $7
WHERE id = $1;

-- name: org_starts_from
-- The first membership or attachment of organization $1 starting at or
-- after $2: ending the organization at $2 would leave it outside its life.
SELECT what, ref, starts_at FROM (
    SELECT 'membership' AS what, id::text AS ref, starts_at
    FROM organization_members WHERE organization_id = $1 AND starts_at >= $2
    UNION ALL
    SELECT 'attachment to grid', grid_code, starts_at
    FROM organization_grids WHERE organization_id = $1 AND starts_at >= $2
    UNION ALL
    SELECT 'member serving grid', mg.grid_code, mg.starts_at
    FROM organization_member_grids mg JOIN organization_members m ON m.id = mg.member_id
    WHERE m.organization_id = $1 AND mg.starts_at >= $2
) s
ORDER BY starts_at
LIMIT 1;

-- name: org_members_end
UPDATE organization_members SET ends_at = $2
WHERE organization_id = $1 AND (ends_at IS NULL OR ends_at > $2)
RETURNING id;

-- name: org_attachments_end
UPDATE organization_grids SET ends_at = $2
WHERE organization_id = $1 AND (ends_at IS NULL OR ends_at > $2)
RETURNING grid_code;

-- name: org_village_active
SELECT EXISTS (SELECT 1 FROM villages WHERE code = $1 AND retired_at IS NULL);

-- name: org_person_get
SELECT id, name, phone, ended_at FROM people WHERE id = $1;

-- name: org_person_lock
-- Serialises the find-or-create of one person by name and phone.
SELECT pg_advisory_xact_lock(7263010, hashtext($1 || '/' || $2));

-- name: org_person_find
SELECT id, name, phone, ended_at FROM people
WHERE name = $1 AND phone = $2 AND ended_at IS NULL
ORDER BY id
LIMIT 1;

-- name: org_person_insert
INSERT INTO people (name, phone, created_at) VALUES ($1, $2, $3)
RETURNING id;

-- name: org_member_insert
INSERT INTO organization_members (organization_id, person_id, role, starts_at)
VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: org_member_get
SELECT m.id, m.organization_id, m.role, m.starts_at, m.ends_at, p.id, p.name, p.phone, p.ended_at
FROM organization_members m JOIN people p ON p.id = m.person_id
WHERE m.id = $1 AND m.organization_id = $2;

-- name: org_member_lock
SELECT m.id, m.organization_id, m.role, m.starts_at, m.ends_at, p.id, p.name, p.phone, p.ended_at
FROM organization_members m JOIN people p ON p.id = m.person_id
WHERE m.id = $1 AND m.organization_id = $2
FOR UPDATE OF m;

-- name: org_member_end
UPDATE organization_members SET ends_at = $2 WHERE id = $1;

-- name: org_members_at
-- Memberships of organization $1 in force at $2: chairs first, then by name.
SELECT m.id, m.organization_id, m.role, m.starts_at, m.ends_at, p.id, p.name, p.phone, p.ended_at
FROM organization_members m JOIN people p ON p.id = m.person_id
WHERE m.organization_id = $1 AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
ORDER BY m.role <> 'chair', p.name, m.id;

-- name: org_grid_current
SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1 AND retired_generation IS NULL);

-- name: org_attach
INSERT INTO organization_grids (organization_id, grid_code, starts_at)
VALUES ($1, $2, $3)
RETURNING id;

-- name: org_attachment_open
SELECT id, organization_id, grid_code, starts_at, ends_at FROM organization_grids
WHERE organization_id = $1 AND grid_code = $2 AND ends_at IS NULL
FOR UPDATE;

-- name: org_detach
UPDATE organization_grids SET ends_at = $2 WHERE id = $1;

-- name: org_grids_at
-- Attachments of the organizations $1 in force at $2.
SELECT id, organization_id, grid_code, starts_at, ends_at FROM organization_grids
WHERE organization_id = ANY($1) AND starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2)
ORDER BY organization_id, grid_code;

-- name: org_attachments
SELECT id, organization_id, grid_code, starts_at, ends_at FROM organization_grids
WHERE organization_id = $1
ORDER BY grid_code, starts_at;

-- Members serving grids (organization_member_grids, migration 0028).

-- name: org_member_grids_end_all
-- Ending organization $1 at $2 ends its members' grids.
UPDATE organization_member_grids mg SET ends_at = $2
FROM organization_members m
WHERE m.id = mg.member_id AND m.organization_id = $1 AND (mg.ends_at IS NULL OR mg.ends_at > $2);

-- name: org_member_grids_end
-- Ending membership $1 at $2 ends its grids.
UPDATE organization_member_grids SET ends_at = $2
WHERE member_id = $1 AND (ends_at IS NULL OR ends_at > $2);

-- name: org_member_grid_starts_from
-- The first grid membership $1 serves from $2 or later.
SELECT grid_code, starts_at FROM organization_member_grids
WHERE member_id = $1 AND starts_at >= $2
ORDER BY starts_at
LIMIT 1;

-- name: org_member_grids
SELECT id, member_id, grid_code, starts_at, ends_at FROM organization_member_grids
WHERE member_id = $1
ORDER BY grid_code, starts_at;

-- name: org_member_grids_from
-- Periods of membership $1 not ended by $2, locked.
SELECT id, member_id, grid_code, starts_at, ends_at FROM organization_member_grids
WHERE member_id = $1 AND (ends_at IS NULL OR ends_at > $2)
ORDER BY grid_code, starts_at
FOR UPDATE;

-- name: org_member_grid_end
UPDATE organization_member_grids SET ends_at = $2 WHERE id = $1;

-- name: org_member_grid_insert
INSERT INTO organization_member_grids (member_id, grid_code, starts_at, ends_at)
VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: org_grid_members_at
-- Members serving grid $1 at $2, with their organization and person.
SELECT o.id, o.kind, o.name, coalesce(o.village_code, ''),
       m.id, m.role, m.starts_at, m.ends_at, p.id, p.name, p.phone, p.ended_at,
       mg.id, mg.starts_at, mg.ends_at
FROM organization_member_grids mg
JOIN organization_members m ON m.id = mg.member_id
JOIN organizations o ON o.id = m.organization_id
JOIN people p ON p.id = m.person_id
WHERE mg.grid_code = $1 AND mg.starts_at <= $2 AND (mg.ends_at IS NULL OR mg.ends_at > $2)
ORDER BY o.kind, o.name, m.role <> 'chair', p.name, m.id;

-- name: import_member_grids_clip
-- After an import ended memberships (import_members_end), their grids end
-- with them; periods that would start after the end were never in force
-- and go.
WITH never AS (
    DELETE FROM organization_member_grids mg USING organization_members m
    WHERE m.id = mg.member_id AND m.ends_at IS NOT NULL AND mg.starts_at >= m.ends_at
)
UPDATE organization_member_grids mg SET ends_at = m.ends_at
FROM organization_members m
WHERE m.id = mg.member_id AND m.ends_at IS NOT NULL AND mg.starts_at < m.ends_at
  AND (mg.ends_at IS NULL OR mg.ends_at > m.ends_at);

-- name: import_member_grids_write
-- Members an import lists with grids (villages.geojson: members[].grids)
-- serve exactly those from $1: others end, new ones start; a member
-- listed without grids keeps theirs.
WITH listed AS (
    SELECT DISTINCT m.id AS member_id, i.grids
    FROM import_org_members i
    JOIN organizations o ON o.village_code = i.village_code AND o.kind = i.kind AND o.name = i.name
    JOIN people p ON p.name = i.member_name AND p.phone = i.member_phone AND p.ended_at IS NULL
    JOIN organization_members m ON m.organization_id = o.id AND m.person_id = p.id AND m.role = i.role AND m.ends_at IS NULL
    WHERE i.grids IS NOT NULL
), ended AS (
    UPDATE organization_member_grids mg SET ends_at = $1
    FROM listed l
    WHERE mg.member_id = l.member_id AND mg.ends_at IS NULL AND mg.starts_at < $1 AND NOT (mg.grid_code = ANY (l.grids))
)
INSERT INTO organization_member_grids (member_id, grid_code, starts_at)
SELECT DISTINCT l.member_id, g.code, $1::timestamptz
FROM listed l, unnest(l.grids) AS g (code)
WHERE NOT EXISTS (SELECT 1 FROM organization_member_grids mg
                  WHERE mg.member_id = l.member_id AND mg.grid_code = g.code AND mg.ends_at IS NULL);
