-- Service points and duty rosters (servicepoints.go).

-- name: service_points_at
-- The versions valid at $2 (NULL: the current ones), of town $1 ('' for
-- every town), by id.
SELECT id, town_code, coalesce(village_code, ''), kind, name, ST_X(location), ST_Y(location), address, hours,
       open_on_holidays, services, staff, valid_from, valid_to
FROM service_points
WHERE ($1 = '' OR town_code = $1)
  AND CASE WHEN $2::timestamptz IS NULL THEN valid_to IS NULL
           ELSE valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2) END
ORDER BY id;

-- name: service_point_at
SELECT id, town_code, coalesce(village_code, ''), kind, name, ST_X(location), ST_Y(location), address, hours,
       open_on_holidays, services, staff, valid_from, valid_to
FROM service_points
WHERE id = $1
  AND CASE WHEN $2::timestamptz IS NULL THEN valid_to IS NULL
           ELSE valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2) END;

-- name: service_point_history
SELECT id, town_code, coalesce(village_code, ''), kind, name, ST_X(location), ST_Y(location), address, hours,
       open_on_holidays, services, staff, valid_from, valid_to
FROM service_points
WHERE id = $1
ORDER BY valid_from;

-- name: service_point_lock
-- The current version of point $1, locked.
SELECT version FROM service_points WHERE id = $1 AND valid_to IS NULL FOR UPDATE;

-- name: service_point_next_id
SELECT nextval('service_point_ids');

-- name: service_point_insert
INSERT INTO service_points (id, town_code, village_code, kind, name, location, address, hours, open_on_holidays,
                            services, staff, valid_from, changed_by)
VALUES ($1, $2, nullif($3, ''), $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326), $8, $9, $10, $11, $12, $13, $14);

-- name: service_point_end
UPDATE service_points SET valid_to = $2 WHERE version = $1;

-- name: service_points_nearest
-- The current points handling service $3 ('' for any), nearest to
-- ($1, $2) on the spheroid first, at most $5; with whether a shift of
-- their roster covers $4.
SELECT id, town_code, coalesce(village_code, ''), kind, name, ST_X(location), ST_Y(location), address, hours,
       open_on_holidays, services, staff, valid_from, valid_to,
       ST_Distance(location::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, true) AS distance_m,
       EXISTS (SELECT 1 FROM duty_shifts d WHERE d.service_point_id = p.id AND d.starts_at <= $4 AND d.ends_at > $4)
FROM service_points p
WHERE valid_to IS NULL AND ($3 = '' OR $3 = ANY (services))
ORDER BY distance_m, id
LIMIT $5;

-- name: duty_shifts_between
-- The shifts at point $2 (NULL: the duty desk of town $1) overlapping
-- [$3, $4), by start.
SELECT id, town_code, coalesce(service_point_id, 0), to_char(roster_date, 'YYYY-MM-DD'), shift, starts_at, ends_at, name, phone
FROM duty_shifts
WHERE CASE WHEN $2::bigint IS NULL THEN service_point_id IS NULL AND town_code = $1 ELSE service_point_id = $2 END
  AND starts_at < $4 AND ends_at > $3
ORDER BY starts_at, id;

-- name: duty_desk_rosters
-- The duty desks' shifts not ended before $1, by town and start: what a
-- snapshot carries (geo.Town.DutyRoster).
SELECT id, town_code, 0, to_char(roster_date, 'YYYY-MM-DD'), shift, starts_at, ends_at, name, phone
FROM duty_shifts
WHERE service_point_id IS NULL AND ends_at > $1
ORDER BY town_code, starts_at, id;

-- name: duty_point_town
-- The town of point $1 at time $2 (its version then, or its first).
SELECT town_code FROM service_points
WHERE id = $1 AND (valid_to IS NULL OR valid_to > $2)
ORDER BY valid_from LIMIT 1;

-- name: duty_shifts_count_day
SELECT count(*) FROM duty_shifts
WHERE town_code = $1 AND coalesce(service_point_id, 0) = $2 AND roster_date = $3::date;

-- name: duty_shifts_delete_day
DELETE FROM duty_shifts
WHERE town_code = $1 AND coalesce(service_point_id, 0) = $2 AND roster_date = $3::date;

-- name: duty_shift_insert
INSERT INTO duty_shifts (town_code, service_point_id, roster_date, shift, starts_at, ends_at, name, phone, imported_at, imported_by)
VALUES ($1, nullif($2::bigint, 0), $3::date, $4, $5, $6, $7, $8, $9, $10);

-- name: service_points_count_town
SELECT count(*) FROM service_points WHERE town_code = $1;
