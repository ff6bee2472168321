-- The working structure (migrations/0025_structure.sql): district bodies
-- (片区党工委) and work teams (工作组) with their seats, and the villages
-- teams cover. A seat or a coverage is in force at t when
-- starts_at <= t < ends_at (or open); a seat of a person who has left is
-- not held after they left. Seat rows are always read with the same
-- columns, in this order: id, person id, name, phone, person ended_at,
-- role, starts_at, ends_at.

-- name: structure_districts
-- The districts of town $1 ('' for every town) that are not retired, or
-- district $2 of it whether retired or not.
SELECT town_code, code, name, retired_at IS NOT NULL FROM districts
WHERE ($1::text = '' OR town_code = $1)
  AND ($2::text = '' AND retired_at IS NULL OR code = $2)
ORDER BY town_code, code;

-- name: structure_district_villages
-- The villages (not retired at $3) of the districts of town $1 ('' for
-- every town), of district $2 only when not ''.
SELECT v.town_code, v.district_code, v.code, v.name FROM villages v
WHERE v.district_code IS NOT NULL AND ($1::text = '' OR v.town_code = $1) AND ($2::text = '' OR v.district_code = $2)
  AND (v.retired_at IS NULL OR v.retired_at > $3)
ORDER BY v.code;

-- name: district_seats_at
-- The seats of the districts of town $1 ('' for every town; district $2
-- only when not '') held at $3, with their district.
SELECT d.id, d.person_id, p.name, p.phone, p.ended_at, d.role, d.starts_at, d.ends_at, d.town_code, d.district_code
FROM district_appointments d JOIN people p ON p.id = d.person_id
WHERE ($1::text = '' OR d.town_code = $1) AND ($2::text = '' OR d.district_code = $2)
  AND d.starts_at <= $3 AND (d.ends_at IS NULL OR d.ends_at > $3) AND (p.ended_at IS NULL OR p.ended_at > $3)
ORDER BY d.town_code, d.district_code, d.role DESC, p.name, d.id;

-- name: district_seats_all
-- Every seat of district $2 of town $1, newest first.
SELECT d.id, d.person_id, p.name, p.phone, p.ended_at, d.role, d.starts_at, d.ends_at
FROM district_appointments d JOIN people p ON p.id = d.person_id
WHERE d.town_code = $1 AND d.district_code = $2
ORDER BY d.starts_at DESC, d.id DESC;

-- name: district_lock
-- The district, locked: appointments to one body are made one at a time.
SELECT name, retired_at IS NOT NULL FROM districts WHERE town_code = $1 AND code = $2 FOR UPDATE;

-- name: district_seats_lock
-- The seats of district $2 of town $1 of role $3 ('' for any) held at $4,
-- of person $5 when not 0, locked.
SELECT d.id, d.person_id, p.name, p.phone, p.ended_at, d.role, d.starts_at, d.ends_at
FROM district_appointments d JOIN people p ON p.id = d.person_id
WHERE d.town_code = $1 AND d.district_code = $2 AND ($3::text = '' OR d.role = $3)
  AND d.starts_at <= $4 AND (d.ends_at IS NULL OR d.ends_at > $4)
  AND ($5::bigint = 0 OR d.person_id = $5)
ORDER BY d.starts_at, d.id
FOR UPDATE OF d;

-- name: district_seat_later
-- The first seat of role $3 of district $2 of town $1 that starts after $4.
SELECT p.name, d.starts_at FROM district_appointments d JOIN people p ON p.id = d.person_id
WHERE d.town_code = $1 AND d.district_code = $2 AND d.role = $3 AND d.starts_at > $4
ORDER BY d.starts_at LIMIT 1;

-- name: district_seat_insert
INSERT INTO district_appointments (town_code, district_code, person_id, role, starts_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: district_seat_end
UPDATE district_appointments SET ends_at = $2 WHERE id = $1;

-- name: team_insert
INSERT INTO work_teams (town_code, kind, name, created_at) VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: team_get
SELECT id, town_code, kind, name, created_at, ended_at FROM work_teams WHERE id = $1;

-- name: team_lock
SELECT id, town_code, kind, name, created_at, ended_at FROM work_teams WHERE id = $1 FOR UPDATE;

-- name: team_by_name
-- The team of town $1 named $2 that works, other than $3.
SELECT id FROM work_teams WHERE town_code = $1 AND name = $2 AND ended_at IS NULL AND id <> $3;

-- name: teams_list
-- The teams of town $1 ('' for all), covering village $2 at $4 when not
-- '', of status $3 (active, ended, '' for both; at $4), by id.
SELECT t.id, t.town_code, t.kind, t.name, t.created_at, t.ended_at FROM work_teams t
WHERE ($1::text = '' OR t.town_code = $1)
  AND ($3::text = '' OR ($3 = 'active') = (t.ended_at IS NULL OR t.ended_at > $4))
  AND ($2::text = '' OR EXISTS (SELECT 1 FROM work_team_villages c WHERE c.team_id = t.id AND c.village_code = $2
                                 AND c.starts_at <= $4 AND (c.ends_at IS NULL OR c.ends_at > $4)))
ORDER BY t.id;

-- name: team_rename
UPDATE work_teams SET name = $2 WHERE id = $1;

-- name: team_end
UPDATE work_teams SET ended_at = $2 WHERE id = $1;

-- name: team_later
-- A seat or coverage of team $1 that starts at or after $2: disbanding
-- the team then would leave it in force after the end.
SELECT 'seat' AS what, starts_at FROM work_team_members WHERE team_id = $1 AND starts_at >= $2
UNION ALL
SELECT 'village', starts_at FROM work_team_villages WHERE team_id = $1 AND starts_at >= $2
ORDER BY 2 LIMIT 1;

-- name: team_villages_end_all
UPDATE work_team_villages SET ends_at = $2
WHERE team_id = $1 AND starts_at < $2 AND (ends_at IS NULL OR ends_at > $2);

-- name: team_seats_at
-- The seats of teams $1 held at $2, with their team.
SELECT m.id, m.person_id, p.name, p.phone, p.ended_at, m.role, m.starts_at, m.ends_at, m.team_id
FROM work_team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = ANY($1) AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2) AND (p.ended_at IS NULL OR p.ended_at > $2)
ORDER BY m.team_id, m.role, p.name, m.id;

-- name: team_seats_all
SELECT m.id, m.person_id, p.name, p.phone, p.ended_at, m.role, m.starts_at, m.ends_at
FROM work_team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = $1
ORDER BY m.starts_at DESC, m.id DESC;

-- name: team_seats_lock
SELECT m.id, m.person_id, p.name, p.phone, p.ended_at, m.role, m.starts_at, m.ends_at
FROM work_team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = $1 AND ($2::text = '' OR m.role = $2)
  AND m.starts_at <= $3 AND (m.ends_at IS NULL OR m.ends_at > $3)
  AND ($4::bigint = 0 OR m.person_id = $4)
ORDER BY m.starts_at, m.id
FOR UPDATE OF m;

-- name: team_seat_later
SELECT p.name, m.starts_at FROM work_team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = $1 AND m.role = $2 AND m.starts_at > $3
ORDER BY m.starts_at LIMIT 1;

-- name: team_seat_insert
INSERT INTO work_team_members (team_id, person_id, role, starts_at) VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: team_seat_end
UPDATE work_team_members SET ends_at = $2 WHERE id = $1;

-- name: team_villages_at
-- The coverage of teams $1 in force at $2.
SELECT c.id, c.team_id, t.name, t.kind, c.village_code, v.name, c.starts_at, c.ends_at
FROM work_team_villages c JOIN work_teams t ON t.id = c.team_id JOIN villages v ON v.code = c.village_code
WHERE c.team_id = ANY($1) AND c.starts_at <= $2 AND (c.ends_at IS NULL OR c.ends_at > $2)
ORDER BY c.team_id, c.village_code;

-- name: team_villages_all
SELECT c.id, c.team_id, t.name, t.kind, c.village_code, v.name, c.starts_at, c.ends_at
FROM work_team_villages c JOIN work_teams t ON t.id = c.team_id JOIN villages v ON v.code = c.village_code
WHERE c.team_id = $1
ORDER BY c.starts_at DESC, c.id DESC;

-- name: village_teams_all
-- Every team that covered village $1, newest first.
SELECT c.id, c.team_id, t.name, t.kind, c.village_code, v.name, c.starts_at, c.ends_at
FROM work_team_villages c JOIN work_teams t ON t.id = c.team_id JOIN villages v ON v.code = c.village_code
WHERE c.village_code = $1
ORDER BY c.starts_at DESC, c.id DESC;

-- name: village_cover_lock
-- The coverage of village $1 in force at $2 or later, locked.
SELECT c.id, c.team_id, t.name, t.kind, c.village_code, v.name, c.starts_at, c.ends_at
FROM work_team_villages c JOIN work_teams t ON t.id = c.team_id JOIN villages v ON v.code = c.village_code
WHERE c.village_code = $1 AND (c.ends_at IS NULL OR c.ends_at > $2)
ORDER BY c.starts_at
FOR UPDATE OF c;

-- name: village_cover_insert
INSERT INTO work_team_villages (team_id, village_code, starts_at) VALUES ($1, $2, $3)
RETURNING id;

-- name: village_cover_end
UPDATE work_team_villages SET ends_at = $2 WHERE id = $1;

-- name: structure_secretaries_at
-- The district secretaries holding their seat at $1, for the snapshot.
SELECT d.town_code, d.district_code, p.id, p.name, p.phone
FROM district_appointments d JOIN people p ON p.id = d.person_id
WHERE d.role = 'secretary' AND d.starts_at <= $1 AND (d.ends_at IS NULL OR d.ends_at > $1)
  AND (p.ended_at IS NULL OR p.ended_at > $1);

-- name: structure_village_teams_at
-- The team covering each village at $1 with its leader then (NULLs when
-- the team has none), for the snapshot.
SELECT c.village_code, t.id, t.name, t.kind, l.id, l.name, l.phone
FROM work_team_villages c JOIN work_teams t ON t.id = c.team_id
LEFT JOIN LATERAL (
    SELECT p.id, p.name, p.phone FROM work_team_members m JOIN people p ON p.id = m.person_id
    WHERE m.team_id = t.id AND m.role = 'leader' AND m.starts_at <= $1 AND (m.ends_at IS NULL OR m.ends_at > $1)
      AND (p.ended_at IS NULL OR p.ended_at > $1)
) l ON true
WHERE c.starts_at <= $1 AND (c.ends_at IS NULL OR c.ends_at > $1) AND (t.ended_at IS NULL OR t.ended_at > $1);

-- name: structure_person_villages
-- The villages person $1 answers for at $2 through the structure: those of
-- the districts they sit on, and those their teams cover, with the role.
SELECT CASE d.role WHEN 'secretary' THEN 'district_secretary' ELSE 'district_member' END, v.code, d.starts_at
FROM district_appointments d
JOIN villages v ON v.town_code = d.town_code AND v.district_code = d.district_code AND v.retired_at IS NULL
WHERE d.person_id = $1 AND d.starts_at <= $2 AND (d.ends_at IS NULL OR d.ends_at > $2)
UNION ALL
SELECT CASE m.role WHEN 'leader' THEN 'team_leader' ELSE 'team_member' END, c.village_code, m.starts_at
FROM work_team_members m
JOIN work_teams t ON t.id = m.team_id AND (t.ended_at IS NULL OR t.ended_at > $2)
JOIN work_team_villages c ON c.team_id = t.id AND c.starts_at <= $2 AND (c.ends_at IS NULL OR c.ends_at > $2)
WHERE m.person_id = $1 AND m.starts_at <= $2 AND (m.ends_at IS NULL OR m.ends_at > $2)
ORDER BY 2, 1;

-- name: structure_town_seeded
-- Whether town $1 has any district seat or work team: the demo structure
-- is seeded only into a town that has none.
SELECT EXISTS (SELECT 1 FROM district_appointments WHERE town_code = $1)
    OR EXISTS (SELECT 1 FROM work_teams WHERE town_code = $1);
