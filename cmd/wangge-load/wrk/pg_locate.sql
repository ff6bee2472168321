\set lon 112.05 + random(0, 1400000) / 10000000.0
\set lat 27.2041 + random(0, 1259000) / 10000000.0
SELECT code FROM grids WHERE retired_generation IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code LIMIT 1;
