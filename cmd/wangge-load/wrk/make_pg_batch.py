# Writes pg_batch.sql: PostGIS's batch query (as cmd/wangge-load's, one row
# per point, in order) over 10,000 uniform random points in the demo town's
# box, as array literals, for pgbench -M prepared.
import random
random.seed(7)
pts = [(112.05 + random.random() * 0.14, 27.2041 + random.random() * 0.1259) for _ in range(10000)]
lons = '{' + ','.join('%.6f' % p[0] for p in pts) + '}'
lats = '{' + ','.join('%.6f' % p[1] for p in pts) + '}'
open('pg_batch.sql', 'w').write(
    "SELECT p.i, g.code FROM unnest('%s'::float8[], '%s'::float8[]) WITH ORDINALITY AS p(lon, lat, i) "
    "LEFT JOIN LATERAL (SELECT code FROM grids WHERE retired_generation IS NULL AND "
    "ST_Covers(geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) ORDER BY code LIMIT 1) g ON true ORDER BY p.i;\n" % (lons, lats))
