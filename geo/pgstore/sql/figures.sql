-- The 考核 figures (package geo/figures has the definitions) are read from
-- the rollup figures_days (migrations 0015 and 0019): per side, China day,
-- level and key. The accepted side counts the incidents received that day
-- (merged ones excluded), the completed side those completed that day. A
-- table's period is whole China days [$2, $3). 片区 sums village rows (its
-- key: the town code and the 片区's code, 片区 being numbered within their
-- town), the county sums town rows (its key: the town code's first six
-- digits), the time levels sum item rows by day, week, month or quarter.
-- Months that ended more than a month ago are also kept whole, in
-- figures_months (figures_months_built lists them), which a table reads
-- instead of their days. The store adds the groups up for the total.

-- name: figures_refresh_lock
-- One refresher at a time; the others wait and find nothing left to do.
SELECT pg_advisory_xact_lock(7263016);

-- name: figures_refresh_take
WITH taken AS (DELETE FROM figures_dirty_days RETURNING day)
SELECT coalesce(array_agg(day::text), '{}') FROM taken;

-- name: figures_refresh_clear
DELETE FROM figures_days WHERE day = ANY ($1::date[]);

-- name: figures_refresh_accepted
-- open_due: received that day and open now (overdue now is open_due less
-- the open ones not yet due; the status list is figures_not_yet_due's).
INSERT INTO figures_days (side, day, level, key, n, escalations, open_due)
SELECT 'accepted', d.day, lv.level, lv.key, count(*), sum(i.escalation_count),
       count(*) FILTER (WHERE i.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened'))
FROM unnest($1::date[]) AS d (day)
JOIN incidents i ON i.received_at >= d.day::timestamp AT TIME ZONE 'Asia/Shanghai'
               AND i.received_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
CROSS JOIN LATERAL (VALUES ('village', coalesce(i.village_code, '')), ('grid', coalesce(i.grid_code, '')),
                           ('person', figures_person_key(i.assignee_name, i.assignee_phone)), ('item', i.category), ('town', i.town_code)) AS lv (level, key)
WHERE i.status <> 'merged'
GROUP BY d.day, lv.level, lv.key;

-- name: figures_refresh_completed
-- A rating is the answer to the incident's latest request. By bucket
-- first (bucket b: b < hours ≤ b + 1), then by row: hist is the (bucket,
-- count) pairs as big-endian int4s in bucket order, hours every hours as
-- big-endian float8s, sorted.
INSERT INTO figures_days (side, day, level, key, n, on_time, in_village, in_town, rated, satisfied, unsatisfied, hours, hist)
SELECT 'completed', day, level, key, sum(n), sum(on_time), sum(in_village), sum(in_town), sum(rated), sum(satisfied), sum(unsatisfied),
       string_agg(hours, ''::bytea ORDER BY b), string_agg(int4send(b) || int4send(n::int), ''::bytea ORDER BY b)
FROM (SELECT d.day, lv.level, lv.key, ceil(h.h)::int - 1 AS b, count(*) AS n,
             count(*) FILTER (WHERE i.on_time) AS on_time,
             count(*) FILTER (WHERE i.max_level <= 1) AS in_village,
             count(*) FILTER (WHERE i.max_level <= 2) AS in_town,
             count(r.rating) AS rated,
             count(*) FILTER (WHERE r.rating IN ('satisfied', 'basically_satisfied')) AS satisfied,
             count(*) FILTER (WHERE r.rating = 'unsatisfied') AS unsatisfied,
             string_agg(float8send(h.h), ''::bytea ORDER BY h.h) AS hours
      FROM unnest($1::date[]) AS d (day)
      JOIN incidents i ON i.completed_at >= d.day::timestamp AT TIME ZONE 'Asia/Shanghai'
                     AND i.completed_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
      LEFT JOIN incident_latest_ratings r ON r.incident_id = i.id
      CROSS JOIN LATERAL (SELECT extract(epoch FROM i.completed_at - i.received_at)::float8 / 3600 AS h) h
      CROSS JOIN LATERAL (VALUES ('village', coalesce(i.village_code, '')), ('grid', coalesce(i.grid_code, '')),
                                 ('person', figures_person_key(i.assignee_name, i.assignee_phone)), ('item', i.category), ('town', i.town_code)) AS lv (level, key)
      GROUP BY 1, 2, 3, 4) a
GROUP BY day, level, key;

-- name: figures_analyze
-- After a refresh of many days (a first build, a bulk load), the planner
-- needs the rollup's statistics before autovacuum would take them.
ANALYZE figures_days, figures_months;

-- name: figures_months_drop
-- $1 the days a refresh recomputed: their months' sums are dropped.
WITH m AS (SELECT DISTINCT date_trunc('month', d::timestamp)::date AS month FROM unnest($1::date[]) AS d),
     unbuilt AS (DELETE FROM figures_months_built b USING m WHERE b.month = m.month)
DELETE FROM figures_months f USING m WHERE f.month = m.month;

-- name: figures_months_to_build
-- Months that ended more than a month ago (few writes touch them), with
-- incidents and not built: every incident has a town, so the town rows
-- (a few a day) tell which months have any.
SELECT coalesce(array_agg(DISTINCT date_trunc('month', d.day::timestamp)::date::text), '{}')
FROM figures_days d
WHERE d.level = 'town' AND d.day < (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date
  AND NOT EXISTS (SELECT 1 FROM figures_months_built b WHERE b.month = date_trunc('month', d.day::timestamp)::date);

-- name: figures_months_build
-- $1 the months to build from their days.
WITH built AS (INSERT INTO figures_months_built (month) SELECT unnest($1::date[]))
INSERT INTO figures_months (side, month, level, key, n, escalations, open_due, on_time, in_village, in_town, rated, satisfied,
                            unsatisfied, hours, hist)
SELECT d.side, m.month, d.level, d.key, sum(d.n), sum(d.escalations), sum(d.open_due), sum(d.on_time), sum(d.in_village),
       sum(d.in_town), sum(d.rated), sum(d.satisfied), sum(d.unsatisfied),
       string_agg(d.hours, ''::bytea ORDER BY d.day), string_agg(d.hist, ''::bytea ORDER BY d.day)
FROM unnest($1::date[]) AS m (month)
JOIN figures_days d ON d.day >= m.month AND d.day < (m.month + interval '1 month')::date
GROUP BY d.side, m.month, d.level, d.key;

-- name: figures_stale
-- Days of the period still dirty in the reader's snapshot: its rollup
-- rows lag the incidents it sees (a write committed between the refresh
-- and the read); the store refreshes again.
SELECT count(*) FROM figures_dirty_days WHERE day >= $1::date AND day < $2::date;

-- name: figures_rows
-- $1 level, $2 first day, $3 the day after the last: per side and group,
-- the sums and (completed side) every row's histogram and hours,
-- concatenated. Whole months of the period that are built are read from
-- figures_months, the other days from figures_days (not for the day and
-- week levels: a month's row cannot be cut into days).
WITH whole AS (
    SELECT b.month FROM figures_months_built b
    WHERE $1::text NOT IN ('day', 'week') AND b.month >= $2::date AND (b.month + interval '1 month')::date <= $3::date),
src AS (
    SELECT f.side, f.month AS day, f.level, f.key, f.n, f.escalations, f.open_due, f.on_time, f.in_village, f.in_town,
           f.rated, f.satisfied, f.unsatisfied, f.hist, f.hours
    FROM figures_months f
    WHERE f.month IN (SELECT month FROM whole)
      AND f.level = CASE $1::text WHEN 'district' THEN 'village' WHEN 'village' THEN 'village' WHEN 'grid' THEN 'grid'
                                WHEN 'person' THEN 'person' WHEN 'town' THEN 'town' WHEN 'county' THEN 'town' ELSE 'item' END
    UNION ALL
    SELECT d.side, d.day, d.level, d.key, d.n, d.escalations, d.open_due, d.on_time, d.in_village, d.in_town,
           d.rated, d.satisfied, d.unsatisfied, d.hist, d.hours
    FROM figures_days d
    WHERE d.day >= $2::date AND d.day < $3::date
      -- Built months lie together (every month with incidents that ended
      -- a month ago is built): the days to read are before or after them.
      AND (d.day < coalesce((SELECT min(month) FROM whole), $3::date)
           OR d.day >= coalesce((SELECT (max(month) + interval '1 month')::date FROM whole), $3::date))
      AND d.level = CASE $1::text WHEN 'district' THEN 'village' WHEN 'village' THEN 'village' WHEN 'grid' THEN 'grid'
                                WHEN 'person' THEN 'person' WHEN 'town' THEN 'town' WHEN 'county' THEN 'town' ELSE 'item' END
      AND date_trunc('month', d.day::timestamp)::date NOT IN (SELECT month FROM whole))
SELECT d.side,
       CASE $1::text
           WHEN 'district' THEN CASE WHEN v.district_code IS NULL THEN '' ELSE v.town_code || v.district_code END
           WHEN 'county' THEN left(d.key, 6)
           WHEN 'day' THEN to_char(d.day, 'YYYY-MM-DD')
           WHEN 'week' THEN to_char(date_trunc('week', d.day::timestamp), 'YYYY-MM-DD')
           WHEN 'month' THEN to_char(date_trunc('month', d.day::timestamp), 'YYYY-MM-DD')
           WHEN 'quarter' THEN to_char(date_trunc('quarter', d.day::timestamp), 'YYYY-MM-DD')
           ELSE d.key
       END AS k,
       sum(d.n)::int, sum(d.escalations)::int, sum(d.open_due)::int, sum(d.on_time)::int, sum(d.in_village)::int,
       sum(d.in_town)::int, sum(d.rated)::int, sum(d.satisfied)::int, sum(d.unsatisfied)::int,
       string_agg(d.hist, ''::bytea), string_agg(d.hours, ''::bytea)
FROM src d
LEFT JOIN villages v ON d.level = 'village' AND v.code = d.key
GROUP BY 1, 2;

-- name: figures_not_yet_due
-- Open incidents received in the period whose due time is still to come
-- (few: incidents_status_due finds them): $1 level, $2 from, $3 to, $4 now.
-- Overdue now is the rollup's open_due less these.
SELECT k, count(*)::int
FROM (SELECT CASE $1::text
               WHEN 'district' THEN CASE WHEN v.district_code IS NULL THEN '' ELSE v.town_code || v.district_code END
               WHEN 'village' THEN coalesce(i.village_code, '')
               WHEN 'grid' THEN coalesce(i.grid_code, '')
               WHEN 'person' THEN figures_person_key(i.assignee_name, i.assignee_phone)
               WHEN 'item' THEN i.category
               WHEN 'town' THEN i.town_code
               WHEN 'county' THEN left(i.town_code, 6)
               WHEN 'day' THEN to_char(i.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
               WHEN 'quarter' THEN to_char(date_trunc('quarter', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
           END AS k
      FROM incidents i
      LEFT JOIN villages v ON v.code = i.village_code
      WHERE i.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened')
        AND i.due_at >= $4 AND i.received_at >= $2 AND i.received_at < $3 AND i.status <> 'merged') s
GROUP BY k;

-- name: figures_work_mem
-- The refresh sorts a day's completions, a table gathers its groups'
-- histograms: in memory, not on disk.
SET LOCAL work_mem = '64MB';

-- name: figures_names
-- Names of the places a table's keys may be, with the group each lies in:
-- counties (their province), towns (their county), 片区 (their town),
-- villages (their 片区) and grids (their latest version's name; their
-- village).
(SELECT DISTINCT ON (left(code, 6)) 'county', left(code, 6), county, province FROM towns ORDER BY left(code, 6), code)
UNION ALL
SELECT 'town', t.code, t.name, t.county FROM towns t
UNION ALL
SELECT 'district', d.town_code || d.code, d.name, coalesce(t.name, '') FROM districts d LEFT JOIN towns t ON t.code = d.town_code
UNION ALL
SELECT 'village', v.code, v.name, coalesce(d.name, '')
FROM villages v LEFT JOIN districts d ON d.town_code = v.town_code AND d.code = v.district_code
UNION ALL
SELECT 'grid', g.code, g.name, v.name
FROM (SELECT DISTINCT ON (code) code, name, village_code FROM grids ORDER BY code, valid_from DESC) g
JOIN villages v ON v.code = g.village_code;

-- name: figures_visits
-- The visit log's figures (issue 13): $1 level, $2 from, $3 to (China
-- midnights). Read from the log itself, no rollup: a town logs a few
-- thousand visits a year (a month's are found by visits_held, index only;
-- a county's year, some 200,000, is one scan of ~150 ms). The period's
-- visits are counted by the column the level needs first, and only those
-- groups are then named: a 片区 is its village's now (as an
-- incident's), a person figures_person_key of the person who logged the
-- visit, a time bucket the China day it was held in; service items have
-- no visits.
WITH g AS (
    SELECT CASE $1::text
               WHEN 'county' THEN left(v.town_code, 6)
               WHEN 'town' THEN v.town_code
               WHEN 'district' THEN v.village_code
               WHEN 'village' THEN v.village_code
               WHEN 'grid' THEN v.grid_code
               WHEN 'person' THEN v.person_id::text
               ELSE ((v.held_at AT TIME ZONE 'Asia/Shanghai')::date)::text
           END AS k,
           count(*) FILTER (WHERE v.kind = 'visit') AS visits,
           coalesce(sum(v.households) FILTER (WHERE v.kind = 'visit'), 0) AS households,
           count(*) FILTER (WHERE v.kind <> 'visit') AS meetings
    FROM visits v
    WHERE $1::text <> 'item' AND v.held_at >= $2 AND v.held_at < $3
    GROUP BY 1)
SELECT CASE $1::text
           WHEN 'district' THEN CASE WHEN vl.district_code IS NULL THEN '' ELSE vl.town_code || vl.district_code END
           WHEN 'person' THEN figures_person_key(p.name, p.phone)
           WHEN 'week' THEN to_char(date_trunc('week', g.k::date), 'YYYY-MM-DD')
           WHEN 'month' THEN to_char(date_trunc('month', g.k::date), 'YYYY-MM-DD')
           WHEN 'quarter' THEN to_char(date_trunc('quarter', g.k::date), 'YYYY-MM-DD')
           ELSE g.k
       END,
       sum(g.visits)::int, sum(g.households)::int, sum(g.meetings)::int
FROM g
LEFT JOIN villages vl ON $1::text = 'district' AND vl.code = g.k
LEFT JOIN people p ON $1::text = 'person' AND p.id::text = g.k
GROUP BY 1;
