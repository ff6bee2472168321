-- A synthetic county-year for the figures' benchmark (AddSyntheticYear):
-- $1 incidents received over 2025-12-01..2026-12-01 in the current grids
-- (the benchmark loads the demo town only, so a county's volume lands in one town's grids),
-- about 90 % completed, 12 % escalated, some open and overdue; then a
-- rating for 60 % of the completed, and a visit log. Run after
-- figures_synthetic_seed on the same connection, they make the same rows
-- every time.

-- name: figures_synthetic_seed
SELECT setseed(0.2026);

-- name: figures_synthetic_incidents
WITH a AS MATERIALIZED (SELECT array_agg(code ORDER BY code) AS codes FROM grids WHERE retired_generation IS NULL)
INSERT INTO incidents (category, severity, source, status, description, match, generation, grid_code, village_code,
    assignee_role, assignee_name, level, reported_at, received_at, due_at, first_due_at, escalation_count, max_level,
    resolved_at, completed_at, on_time, closed_at, created_by)
SELECT (ARRAY['dispute','environment','safety','livelihood','customs','left_behind_children','other'])[1 + floor(r.c * 7)::int],
       'minor', 'hotline_12345',
       CASE WHEN r.s < 0.90 THEN 'closed' WHEN r.s < 0.95 THEN 'in_progress' WHEN r.s < 0.97 THEN 'rejected' ELSE 'received' END,
       '合成数据 synthetic', 'code', (SELECT max(id) FROM generations), g.code, left(g.code, 12),
       CASE WHEN r.e < 0.12 THEN 'liaison_leader' ELSE 'leader' END,
       CASE WHEN r.e < 0.12 THEN '联村' || left(g.code, 12) ELSE '网格长' || g.code END,
       CASE WHEN r.e < 0.02 THEN 2 WHEN r.e < 0.12 THEN 1 ELSE 0 END,
       t.received, t.received, t.received + interval '72 hours', t.received + interval '72 hours',
       CASE WHEN r.e < 0.02 THEN 2 WHEN r.e < 0.12 THEN 1 ELSE 0 END,
       CASE WHEN r.e < 0.02 THEN 2 WHEN r.e < 0.12 THEN 1 ELSE 0 END,
       CASE WHEN r.s < 0.90 THEN t.received + r.d * interval '6 days' END,
       CASE WHEN r.s < 0.90 THEN t.received + r.d * interval '6 days' + interval '2 hours' END,
       CASE WHEN r.s < 0.90 THEN r.d * interval '6 days' + interval '2 hours' <= interval '72 hours' END,
       CASE WHEN r.s < 0.90 THEN t.received + r.d * interval '6 days' + interval '3 hours' END,
       'synthetic'
FROM a
CROSS JOIN generate_series(1, $1::int) n
CROSS JOIN LATERAL (SELECT random() AS c, random() AS s, random() AS e, random() * random() AS d, random() AS gi, random() AS ti
                    WHERE n > 0) r
CROSS JOIN LATERAL (SELECT timestamptz '2025-12-01 00:00+08' + r.ti * interval '365 days' AS received) t
CROSS JOIN LATERAL (SELECT a.codes[1 + floor(r.gi * array_length(a.codes, 1))::int] AS code) g
-- In the order of receipt, as intake writes them.
ORDER BY t.received;

-- name: figures_synthetic_ratings
INSERT INTO incident_ratings (incident_id, token_hash, requested_at, expires_at, rating, rated_at)
SELECT id, sha256(convert_to('synthetic rating ' || id, 'UTF8')), closed_at, closed_at + interval '30 days',
       (ARRAY['satisfied', 'satisfied', 'satisfied', 'basically_satisfied', 'unsatisfied'])[1 + floor(random() * 5)::int],
       closed_at + interval '1 day'
FROM incidents WHERE created_by = 'synthetic' AND completed_at IS NOT NULL AND random() < 0.6;

-- name: figures_synthetic_visits
-- $1 / 5 visit-log entries over the same year (1,000,000 incidents: 200,000
-- entries, about a 40-town county's year), each logged by the leader of a
-- current grid at a point inside it: 85 % household visits of 1 to 6
-- households, the rest meetings of 10 to 60.
WITH g AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY g.code) AS i, g.code, g.village_code, left(g.code, 9) AS town,
           g.generation, ST_PointOnSurface(g.geom) AS p, a.person_id
    FROM grids g
    JOIN assignments a ON a.grid_code = g.code AND a.role = 'leader' AND a.ends_at IS NULL
    WHERE g.retired_generation IS NULL),
n AS (SELECT count(*) AS grids FROM g)
INSERT INTO visits (town_code, kind, person_id, held_at, location, grid_code, village_code, generation,
    households, attendees, created_at, created_by)
SELECT g.town,
       CASE WHEN r.k < 0.85 THEN 'visit' WHEN r.k < 0.95 THEN 'committee_meeting' ELSE 'villager_meeting' END,
       g.person_id, t.held, g.p, g.code, g.village_code, g.generation,
       CASE WHEN r.k < 0.85 THEN 1 + floor(r.h * 6)::int ELSE 0 END,
       CASE WHEN r.k < 0.85 THEN 0 ELSE 10 + floor(r.h * 50)::int END,
       t.held, 'synthetic'
FROM n
CROSS JOIN generate_series(1, $1::int / 5) s
CROSS JOIN LATERAL (SELECT random() AS k, random() AS h, random() AS gi, random() AS ti WHERE s > 0) r
CROSS JOIN LATERAL (SELECT timestamptz '2025-12-01 00:00+08' + r.ti * interval '365 days' AS held) t
JOIN g ON g.i = 1 + floor(r.gi * n.grids)::int
ORDER BY t.held;

-- name: figures_synthetic_analyze
-- Vacuumed, as autovacuum would have by then: index-only scans need the
-- visibility map.
VACUUM (ANALYZE) incidents, incident_ratings, incident_latest_ratings, visits;
