-- name: generation_at
-- The generation in force at $1: the newest created at or before it.
SELECT coalesce(max(id), 0) FROM generations WHERE created_at <= $1;

-- name: generations_list
SELECT g.id, g.created_at, g.created_by, g.note,
       (SELECT count(*) FROM grids r WHERE r.generation <= g.id AND (r.retired_generation IS NULL OR r.retired_generation > g.id)),
       (SELECT count(*) FROM grids r WHERE r.generation = g.id),
       (SELECT count(*) FROM grids r WHERE r.retired_generation = g.id)
FROM generations g ORDER BY g.id DESC;

-- name: grid_history
SELECT code, name, village_code, households, population, ST_AsBinary(geom), generation, coalesce(retired_generation, 0), valid_from, valid_to
FROM grids WHERE code = $1 ORDER BY valid_from;
