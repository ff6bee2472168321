-- The catalogue of organization kinds per town (migration 0027).

-- name: org_kinds_list
-- $1: the town. InUse counts the town's organizations of each kind.
SELECT k.town_code, k.code, k.name_zh, k.description, k.position,
       (SELECT count(*) FROM organizations o WHERE o.town_code = k.town_code AND o.kind = k.code),
       k.updated_at, k.updated_by, k.co_notify
FROM organization_kinds k
WHERE k.town_code = $1
ORDER BY k.position, k.code;

-- name: org_kind_lock
SELECT town_code, code, name_zh, description, position, 0, updated_at, updated_by, co_notify
FROM organization_kinds WHERE town_code = $1 AND code = $2
FOR UPDATE;

-- name: org_kind_put
INSERT INTO organization_kinds (town_code, code, name_zh, description, position, updated_at, updated_by, co_notify)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (town_code, code) DO UPDATE
SET name_zh = excluded.name_zh, description = excluded.description, position = excluded.position,
    updated_at = excluded.updated_at, updated_by = excluded.updated_by, co_notify = excluded.co_notify;

-- name: org_kind_delete
-- Fails on organizations_kind_fkey while an organization of the town has
-- the kind (ECONFLICT).
DELETE FROM organization_kinds WHERE town_code = $1 AND code = $2;

-- name: org_kind_known
SELECT EXISTS (SELECT 1 FROM organization_kinds WHERE ($1::text IS NULL OR town_code = $1) AND code = $2);

-- name: org_kinds_co_notify
-- The kinds whose catalogue entry sets co-notification (migration 0028),
-- for snapshots.
SELECT town_code, code, co_notify FROM organization_kinds WHERE co_notify IS NOT NULL;

-- name: org_kinds_share
-- Town $1's catalogue, its rows locked against deletion until the
-- transaction ends (an import checks its kinds against it).
SELECT code FROM organization_kinds WHERE town_code = $1 FOR SHARE;

-- name: org_kinds_town_known
SELECT EXISTS (SELECT 1 FROM towns WHERE code = $1);
