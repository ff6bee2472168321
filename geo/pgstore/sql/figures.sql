-- The 考核 figures (package geo/figures has the definitions) are read from
-- the rollup figures_days (migration 0015): per side, China day, level and
-- key. The accepted side counts the incidents received that day (merged
-- ones excluded), the completed side those completed that day. A table's
-- period is whole China days [$2, $3); 片区 sums village rows, the time
-- levels sum item rows by day, week, month or quarter. A row with key NULL
-- is the total of the table.

-- name: figures_refresh_lock
-- One refresher at a time; the others wait and find nothing left to do.
SELECT pg_advisory_xact_lock(7263016);

-- name: figures_refresh_take
WITH taken AS (DELETE FROM figures_dirty_days RETURNING day)
SELECT coalesce(array_agg(day::text), '{}') FROM taken;

-- name: figures_refresh_clear
DELETE FROM figures_days WHERE day = ANY ($1::date[]);

-- name: figures_refresh_accepted
INSERT INTO figures_days (side, day, level, key, n, escalations)
SELECT 'accepted', d.day, lv.level, lv.key, count(*), sum(i.escalation_count)
FROM unnest($1::date[]) AS d (day)
JOIN incidents i ON i.received_at >= d.day::timestamp AT TIME ZONE 'Asia/Shanghai'
               AND i.received_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
CROSS JOIN LATERAL (VALUES ('village', coalesce(i.village_code, '')), ('grid', coalesce(i.grid_code, '')),
                           ('person', i.assignee_name), ('item', i.category)) AS lv (level, key)
WHERE i.status <> 'merged'
GROUP BY d.day, lv.level, lv.key;

-- name: figures_refresh_completed
-- A rating is the answer to the incident's latest request.
INSERT INTO figures_days (side, day, level, key, n, on_time, in_village, in_town, rated, satisfied, unsatisfied, hours)
SELECT 'completed', d.day, lv.level, lv.key, count(*),
       count(*) FILTER (WHERE i.on_time),
       count(*) FILTER (WHERE i.max_level <= 1),
       count(*) FILTER (WHERE i.max_level <= 2),
       count(r.rating),
       count(*) FILTER (WHERE r.rating IN ('satisfied', 'basically_satisfied')),
       count(*) FILTER (WHERE r.rating = 'unsatisfied'),
       array_agg(extract(epoch FROM i.completed_at - i.received_at)::float8 / 3600)
FROM unnest($1::date[]) AS d (day)
JOIN incidents i ON i.completed_at >= d.day::timestamp AT TIME ZONE 'Asia/Shanghai'
               AND i.completed_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
LEFT JOIN incident_latest_ratings r ON r.incident_id = i.id
CROSS JOIN LATERAL (VALUES ('village', coalesce(i.village_code, '')), ('grid', coalesce(i.grid_code, '')),
                           ('person', i.assignee_name), ('item', i.category)) AS lv (level, key)
GROUP BY d.day, lv.level, lv.key;

-- name: figures_accepted
-- $1 level, $2 first day, $3 the day after the last.
SELECT k, coalesce(sum(n), 0)::int, coalesce(sum(escalations), 0)::int
FROM (SELECT CASE $1::text
               WHEN 'district' THEN coalesce(v.district_code, '')
               WHEN 'day' THEN to_char(d.day, 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'quarter' THEN to_char(date_trunc('quarter', d.day::timestamp), 'YYYY-MM-DD')
               ELSE d.key
           END AS k,
             d.n, d.escalations
      FROM figures_days d
      LEFT JOIN villages v ON d.level = 'village' AND v.code = d.key
      WHERE d.side = 'accepted' AND d.day >= $2::date AND d.day < $3::date
        AND d.level = CASE $1::text WHEN 'district' THEN 'village' WHEN 'village' THEN 'village'
                                    WHEN 'grid' THEN 'grid' WHEN 'person' THEN 'person' ELSE 'item' END) s
GROUP BY GROUPING SETS ((k), ())
ORDER BY k NULLS LAST;

-- name: figures_completed
-- Over no rows (an empty period) the total's sums are NULL: zero.
SELECT k, coalesce(sum(n), 0)::int, coalesce(sum(on_time), 0)::int, coalesce(sum(in_village), 0)::int,
       coalesce(sum(in_town), 0)::int, coalesce(sum(rated), 0)::int, coalesce(sum(satisfied), 0)::int,
       coalesce(sum(unsatisfied), 0)::int
FROM (SELECT CASE $1::text
               WHEN 'district' THEN coalesce(v.district_code, '')
               WHEN 'day' THEN to_char(d.day, 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'quarter' THEN to_char(date_trunc('quarter', d.day::timestamp), 'YYYY-MM-DD')
               ELSE d.key
           END AS k,
             d.n, d.on_time, d.in_village, d.in_town, d.rated, d.satisfied, d.unsatisfied
      FROM figures_days d
      LEFT JOIN villages v ON d.level = 'village' AND v.code = d.key
      WHERE d.side = 'completed' AND d.day >= $2::date AND d.day < $3::date
        AND d.level = CASE $1::text WHEN 'district' THEN 'village' WHEN 'village' THEN 'village'
                                    WHEN 'grid' THEN 'grid' WHEN 'person' THEN 'person' ELSE 'item' END) s
GROUP BY GROUPING SETS ((k), ())
ORDER BY k NULLS LAST;

-- name: figures_hours
-- Every completion's hours to close, by key: the store takes the median
-- and p90 of them (figures.Percentile). Sorting a year's 900,000 values
-- in PostgreSQL, per group and again for the total, takes seconds; the
-- arrays travel as they are and Go sorts them in a tenth of that.
SELECT k, hours
FROM (SELECT CASE $1::text
               WHEN 'district' THEN coalesce(v.district_code, '')
               WHEN 'day' THEN to_char(d.day, 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', d.day::timestamp), 'YYYY-MM-DD')
               WHEN 'quarter' THEN to_char(date_trunc('quarter', d.day::timestamp), 'YYYY-MM-DD')
               ELSE d.key
           END AS k, d.hours
      FROM figures_days d
      LEFT JOIN villages v ON d.level = 'village' AND v.code = d.key
      WHERE d.side = 'completed' AND d.day >= $2::date AND d.day < $3::date
        AND d.level = CASE $1::text WHEN 'district' THEN 'village' WHEN 'village' THEN 'village'
                                    WHEN 'grid' THEN 'grid' WHEN 'person' THEN 'person' ELSE 'item' END) s;

-- name: figures_overdue
-- Overdue now changes with now, so it is read from the open incidents
-- (few, by incidents_status_due): $1 level, $2 from, $3 to, $4 now.
SELECT k, count(*)::int
FROM (SELECT CASE $1::text
               WHEN 'district' THEN coalesce(v.district_code, '')
               WHEN 'village' THEN coalesce(i.village_code, '')
               WHEN 'grid' THEN coalesce(i.grid_code, '')
               WHEN 'person' THEN i.assignee_name
               WHEN 'item' THEN i.category
               WHEN 'day' THEN to_char(i.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
               WHEN 'quarter' THEN to_char(date_trunc('quarter', i.received_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
           END AS k
      FROM incidents i
      LEFT JOIN villages v ON v.code = i.village_code
      WHERE i.status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened')
        AND i.due_at < $4 AND i.received_at >= $2 AND i.received_at < $3) s
GROUP BY GROUPING SETS ((k), ())
ORDER BY k NULLS LAST;

-- name: figures_work_mem
-- The medians sort a period's completions: in memory, not on disk.
SET LOCAL work_mem = '64MB';

-- name: figures_names
-- Names of the places a table's keys may be: districts (parent ''),
-- villages (parent: their district's name) and grids (their latest
-- version's name; parent: their village's name).
SELECT 'district', d.code, d.name, '' FROM districts d
UNION ALL
SELECT 'village', v.code, v.name, coalesce(d.name, '') FROM villages v LEFT JOIN districts d ON d.code = v.district_code
UNION ALL
SELECT 'grid', g.code, g.name, v.name
FROM (SELECT DISTINCT ON (code) code, name, village_code FROM grids ORDER BY code, valid_from DESC) g
JOIN villages v ON v.code = g.village_code;
