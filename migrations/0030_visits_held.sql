-- The 考核 figures count the visit log by period (sql/figures.sql,
-- figures_visits): a period's visits of every town, found by when they
-- were held. visits_town_held serves one town's; this serves a county's
-- month, with the columns the figures read, so that the index alone
-- answers. (A year's visits are most of the log: PostgreSQL scans it.)
CREATE INDEX visits_held ON visits (held_at) INCLUDE (kind, households, person_id, town_code, village_code, grid_code);
