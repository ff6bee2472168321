-- Party members and their 联系户 links (migration 0027).

-- name: party_person
SELECT EXISTS (SELECT 1 FROM people WHERE id = $1);

-- name: party_member_put
INSERT INTO party_members (person_id, member, joined_on, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (person_id) DO UPDATE
SET member = excluded.member, joined_on = excluded.joined_on, updated_at = excluded.updated_at, updated_by = excluded.updated_by;

-- name: party_member_get
SELECT member, to_char(joined_on, 'YYYY-MM-DD'), updated_at
FROM party_members WHERE person_id = $1;

-- name: party_member_groups
-- The 党员小组 (organizations of kind party_group) person $1 is a member
-- of at $2.
SELECT o.kind, o.name
FROM organization_members m JOIN organizations o ON o.id = m.organization_id
WHERE m.person_id = $1 AND o.kind = 'party_group'
  AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
ORDER BY o.village_code, o.name;

-- name: party_member_links
SELECT id, person_id, grid_code, households, starts_at, ends_at
FROM party_links
WHERE person_id = $1 AND starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2)
ORDER BY grid_code;

-- name: party_link_insert
-- Inserts nothing unless $1 is a party member now.
INSERT INTO party_links (person_id, grid_code, households, starts_at)
SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM party_members WHERE person_id = $1 AND member)
RETURNING id;

-- name: party_link_end
UPDATE party_links SET ends_at = $2
WHERE id = $1 AND ends_at IS NULL AND starts_at < $2
RETURNING id, person_id, grid_code, households, starts_at, ends_at;

-- name: party_link_exists
SELECT EXISTS (SELECT 1 FROM party_links WHERE id = $1);

-- name: party_counts
-- Per grid ($3 = 'grid') or village of town $1 (NULL: every town) at $2:
-- the distinct party members in the 党员小组 serving the grid (of the
-- village), those groups, the members with 联系户 links there and the
-- households linked.
WITH mem AS (
    SELECT CASE WHEN $3::text = 'grid' THEN og.grid_code ELSE o.village_code END AS key, o.id AS org, pm.person_id
    FROM organizations o
    LEFT JOIN organization_grids og ON $3::text = 'grid' AND og.organization_id = o.id
         AND og.starts_at <= $2 AND (og.ends_at IS NULL OR og.ends_at > $2)
    LEFT JOIN organization_members m ON m.organization_id = o.id AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
    LEFT JOIN party_members pm ON pm.person_id = m.person_id AND pm.member
    WHERE o.kind = 'party_group' AND o.created_at <= $2 AND (o.ended_at IS NULL OR o.ended_at > $2)
      AND ($3::text <> 'grid' OR og.grid_code IS NOT NULL)
      AND ($1::text IS NULL OR o.town_code = $1)
), links AS (
    SELECT CASE WHEN $3::text = 'grid' THEN grid_code ELSE left(grid_code, 12) END AS key, person_id, households
    FROM party_links
    WHERE starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2) AND ($1::text IS NULL OR left(grid_code, 9) = $1)
)
SELECT k.key, coalesce(g.members, 0), coalesce(g.groups, 0), coalesce(l.linked, 0), coalesce(l.households, 0)
FROM (SELECT key FROM mem UNION SELECT key FROM links) AS k
LEFT JOIN (SELECT key, count(DISTINCT person_id) AS members, count(DISTINCT org) AS groups FROM mem GROUP BY key) AS g USING (key)
LEFT JOIN (SELECT key, count(DISTINCT person_id) AS linked, sum(households) AS households FROM links GROUP BY key) AS l USING (key)
WHERE k.key IS NOT NULL
ORDER BY k.key;
