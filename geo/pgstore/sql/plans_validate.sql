-- Staging a draft, or the current generation, into next_* for the coverage
-- checks of town.sql (plans_validate.go). These fills leave ogeom (the
-- geometry made valid) NULL: the checks run in Go (coverage.Check), and
-- what overlays in PostGIS (the repairs, the oracle of the tests) fills it
-- first (next_valid). Making every geometry of a province's layer valid
-- in PostGIS took a minute.

-- name: next_from_town
-- The outline of town $1, the one a plan redraws. With $1 '' (a plan of
-- the whole deployment, the coverage report): the only town's, or the
-- union of every town's as one row (code ''), since the checks tile the
-- grids against one outline.
INSERT INTO next_town (code, outline)
SELECT CASE count(*) WHEN 1 THEN min(code) ELSE '' END,
       CASE count(*) WHEN 1 THEN (array_agg(outline))[1] ELSE ST_Multi(ST_Union(wangge_polygonal(outline))) END
FROM towns WHERE $1::text = '' OR code = $1
HAVING count(*) > 0;

-- name: next_from_plan_villages
INSERT INTO next_villages (code, outline) SELECT code, outline FROM plan_villages WHERE plan_id = $1;

-- name: next_from_plan_grids
-- The grids of plan $1; a grid has a leader when the plan appoints one or
-- one is in office at $2.
INSERT INTO next_grids (code, name, village_code, households, population, geom, has_leader)
SELECT g.code, g.name, g.village_code, g.households, g.population, g.geom,
       EXISTS (SELECT 1 FROM plan_leaders l WHERE l.plan_id = $1 AND l.grid_code = g.code)
       OR EXISTS (SELECT 1 FROM assignments a WHERE a.grid_code = g.code AND a.role = 'leader'
                  AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2))
FROM plan_grids g WHERE g.plan_id = $1;

-- name: next_from_current_villages
-- The current villages of town $1 ('': of every town).
INSERT INTO next_villages (code, outline)
SELECT code, outline FROM villages WHERE retired_at IS NULL AND ($1::text = '' OR town_code = $1);

-- name: next_from_current_grids
-- The current grids of town $2 ('': of every town); a grid has a leader
-- when one is in office at $1.
INSERT INTO next_grids (code, name, village_code, households, population, geom, has_leader)
SELECT g.code, g.name, g.village_code, g.households, g.population, g.geom,
       EXISTS (SELECT 1 FROM assignments a WHERE a.grid_code = g.code AND a.role = 'leader'
               AND a.starts_at <= $1 AND (a.ends_at IS NULL OR a.ends_at > $1))
FROM grids g WHERE g.retired_generation IS NULL AND ($2::text = '' OR left(g.code, 9) = $2);

-- name: coverage_missing_organizations
-- For each organization kind: the organizations of that kind working at
-- $1, and the grids of next_grids that none of them serves at $1.
SELECT k.kind,
       (SELECT count(*) FROM organizations o WHERE o.kind = k.kind AND o.created_at <= $1 AND (o.ended_at IS NULL OR o.ended_at > $1)),
       ARRAY(SELECT g.code FROM next_grids g
             WHERE NOT EXISTS (SELECT 1 FROM organization_grids og JOIN organizations o ON o.id = og.organization_id
                               WHERE og.grid_code = g.code AND o.kind = k.kind
                                 AND og.starts_at <= $1 AND (og.ends_at IS NULL OR og.ends_at > $1))
             ORDER BY g.code)
FROM unnest($2::text[]) WITH ORDINALITY AS k(kind, n)
ORDER BY k.n;

-- name: next_grid_count
SELECT count(*) FROM next_grids;
