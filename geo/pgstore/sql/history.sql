-- name: generation_at
-- The generation in force at $1: the newest created at or before it.
SELECT coalesce(max(id), 0) FROM generations WHERE created_at <= $1;

-- name: generations_list
-- Every generation with the town it changed ('' before towns were many)
-- and its grid counts: what it introduced and retired, and (a running sum
-- of the two) how many grids were in force in it. One pass over grids,
-- not one per generation: a national deployment has a generation per
-- town's change.
WITH introduced AS (SELECT generation AS id, count(*) AS n FROM grids GROUP BY generation),
retired AS (SELECT retired_generation AS id, count(*) AS n FROM grids WHERE retired_generation IS NOT NULL GROUP BY retired_generation)
SELECT g.id, g.created_at, g.created_by, g.note, coalesce(g.town_code, ''),
       (sum(coalesce(i.n, 0) - coalesce(r.n, 0)) OVER (ORDER BY g.id))::bigint,
       coalesce(i.n, 0), coalesce(r.n, 0)
FROM generations g
LEFT JOIN introduced i ON i.id = g.id
LEFT JOIN retired r ON r.id = g.id
ORDER BY g.id DESC;

-- name: grid_history
SELECT code, name, village_code, households, population, ST_AsBinary(geom), generation, coalesce(retired_generation, 0), valid_from, valid_to
FROM grids WHERE code = $1 ORDER BY valid_from;
