-- Plans: drafts of a redraw (see migrations/0007_plans.sql), copied from
-- the current generation and read back; their edits, checks, repairs,
-- impact and apply are in the plans_*.sql files beside this one. A grid of
-- the draft is "unchanged" when its name, village, counts and geometry (bit
-- for bit, as EWKB) equal those of the base's grid of the same code: the
-- same test grids_retire_changed applies, so what the draft calls unchanged
-- keeps its version on apply.
--
-- A plan redraws one town (plans.town_code; NULL: every town). Its town
-- is passed as text, '' for every town: the queries then read the base's
-- grids of that town only (the first nine digits of a grid's code), so
-- another town's grids are never in a draft, its impact or its diff.

-- name: no_jit
-- PostGIS functions declare high costs, so plain queries on a town pass
-- jit_above_cost and JIT compilation (0.4-0.8 s) outweighs running them.
SET LOCAL jit = off;

-- name: plan_towns
-- The towns of the deployment, by code.
SELECT code FROM towns ORDER BY code;

-- name: plan_base_generation
-- The current generation of town $1: the newest that changed it (its own,
-- or one of the whole deployment, town_code NULL); of the deployment when
-- $1 is ''. Generations of other towns do not count.
SELECT coalesce(max(id), 0) FROM generations
WHERE $1::text = '' OR town_code = $1 OR town_code IS NULL;

-- name: plan_create
INSERT INTO plans (note, base_generation, rebased_from, created_by, created_at, updated_at, town_code)
VALUES ($1, $2, nullif($3::bigint, 0), $4, $5, $5, nullif($6::text, ''))
RETURNING id;

-- name: plan_copy_grids
-- The current grids of town $2 ('': every town) into plan $1.
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom)
SELECT $1, code, name, village_code, households, population, geom
FROM grids WHERE retired_generation IS NULL AND ($2::text = '' OR left(code, 9) = $2);

-- name: plan_copy_villages
-- The village outlines of town $2 ('': every town) into plan $1.
INSERT INTO plan_villages (plan_id, code, outline)
SELECT $1, code, outline FROM villages WHERE retired_at IS NULL AND ($2::text = '' OR town_code = $2);

-- name: plan_get
SELECT id, note, coalesce(town_code, ''), base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at,
       revision, coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE id = $1;

-- name: plan_lock
SELECT id, note, coalesce(town_code, ''), base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at,
       revision, coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE id = $1 FOR UPDATE;

-- name: plans_list
-- Plans of status $1 (every plan when empty) of town $2 (every plan when
-- empty; a plan of every town is listed under each town), newest first.
SELECT id, note, coalesce(town_code, ''), base_generation, status, coalesce(rebased_from, 0), created_by, created_at, updated_at,
       revision, coalesce(applied_by, ''), applied_at, coalesce(applied_generation, 0)
FROM plans WHERE ($1 = '' OR status = $1) AND ($2::text = '' OR town_code = $2 OR town_code IS NULL)
ORDER BY id DESC LIMIT 200;

-- name: plan_summary
-- Counts of the grids of plan $1 (base $2, town $3) by change, and its
-- leaders.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1),
b AS (SELECT * FROM wangge_grids_at_generation($2) WHERE $3::text = '' OR left(code, 9) = $3),
c AS (
    SELECT CASE
        WHEN b.code IS NULL THEN 'added'
        WHEN d.code IS NULL THEN 'retired'
        WHEN d.name = b.name AND d.village_code = b.village_code AND d.households = b.households
             AND d.population = b.population AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom) THEN 'unchanged'
        ELSE 'modified' END AS change
    FROM d FULL JOIN b ON b.code = d.code
)
SELECT count(*) FILTER (WHERE change = 'unchanged'), count(*) FILTER (WHERE change = 'modified'),
       count(*) FILTER (WHERE change = 'added'), count(*) FILTER (WHERE change = 'retired'),
       (SELECT count(*) FROM plan_leaders l JOIN d ON d.code = l.grid_code WHERE l.plan_id = $1)
FROM c;

-- name: plan_view
-- The grids of plan $1 (base $2, town $5) with their change, and the
-- base's grids the draft retired; leaders as at time $3 (the plan's, else
-- the one in office). With $4 not NULL, only those codes.
WITH d AS (SELECT * FROM plan_grids WHERE plan_id = $1 AND ($4::text[] IS NULL OR code = ANY($4))),
b AS (SELECT * FROM wangge_grids_at_generation($2)
      WHERE ($4::text[] IS NULL OR code = ANY($4)) AND ($5::text = '' OR left(code, 9) = $5))
SELECT coalesce(d.code, b.code) AS code, coalesce(d.name, b.name), coalesce(d.village_code, b.village_code),
       coalesce(d.households, b.households), coalesce(d.population, b.population),
       ST_AsBinary(coalesce(d.geom, b.geom)),
       CASE
           WHEN b.code IS NULL THEN 'added'
           WHEN d.code IS NULL THEN 'retired'
           WHEN d.name = b.name AND d.village_code = b.village_code AND d.households = b.households
                AND d.population = b.population AND ST_AsEWKB(d.geom) = ST_AsEWKB(b.geom) THEN 'unchanged'
           ELSE 'modified' END,
       coalesce(d.derived_from, '{}'),
       pl.name IS NOT NULL, coalesce(pl.name, cur.name), coalesce(pl.phone, cur.phone)
FROM d FULL JOIN b ON b.code = d.code
LEFT JOIN plan_leaders pl ON pl.plan_id = $1 AND pl.grid_code = d.code
LEFT JOIN LATERAL (
    SELECT p.name, p.phone FROM assignments a JOIN people p ON p.id = a.person_id
    WHERE a.grid_code = coalesce(d.code, b.code) AND a.role = 'leader'
      AND a.starts_at <= $3 AND (a.ends_at IS NULL OR a.ends_at > $3)
    ORDER BY a.starts_at DESC LIMIT 1
) cur ON true
ORDER BY 1;

-- name: plan_rebase_stage
-- The grids plan $1 (of town $3) changed relative to its base $2: added
-- or modified (with the row) or retired (without).
CREATE TEMP TABLE plan_rebase ON COMMIT DROP AS
SELECT coalesce(o.code, b.code) AS code, o.code IS NULL AS retired
FROM (SELECT * FROM plan_grids WHERE plan_id = $1) o
FULL JOIN (SELECT * FROM wangge_grids_at_generation($2) WHERE $3::text = '' OR left(code, 9) = $3) b ON b.code = o.code
WHERE o.code IS NULL OR b.code IS NULL
   OR NOT (o.name = b.name AND o.village_code = b.village_code AND o.households = b.households
           AND o.population = b.population AND ST_AsEWKB(o.geom) = ST_AsEWKB(b.geom));

-- name: plan_rebase_delete
DELETE FROM plan_grids n WHERE n.plan_id = $1 AND n.code IN (SELECT code FROM plan_rebase);

-- name: plan_rebase_insert
-- The grids plan $2 added or modified, into plan $1.
INSERT INTO plan_grids (plan_id, code, name, village_code, households, population, geom, derived_from)
SELECT $1, o.code, o.name, o.village_code, o.households, o.population, o.geom, o.derived_from
FROM plan_grids o JOIN plan_rebase r ON r.code = o.code AND NOT r.retired
WHERE o.plan_id = $2
  AND EXISTS (SELECT 1 FROM plan_villages v WHERE v.plan_id = $1 AND v.code = o.village_code);

-- name: plan_rebase_villages
-- Village outlines plan $2 changed (they differ from the registry's) into
-- plan $1.
UPDATE plan_villages n SET outline = o.outline
FROM plan_villages o JOIN villages v ON v.code = o.code
WHERE o.plan_id = $2 AND n.plan_id = $1 AND n.code = o.code AND ST_AsEWKB(o.outline) <> ST_AsEWKB(v.outline);

-- name: plan_rebase_leaders
INSERT INTO plan_leaders (plan_id, grid_code, name, phone)
SELECT $1, l.grid_code, l.name, l.phone FROM plan_leaders l
WHERE l.plan_id = $2 AND EXISTS (SELECT 1 FROM plan_grids g WHERE g.plan_id = $1 AND g.code = l.grid_code)
ON CONFLICT (plan_id, grid_code) DO UPDATE SET name = excluded.name, phone = excluded.phone;
