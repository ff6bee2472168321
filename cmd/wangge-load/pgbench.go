package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/gridindex"
)

// The PostGIS equivalents of the HTTP figures, prepared on every
// connection of the benchmark pool.
const (
	// sqlLocateOne is GET /v1/locate's question without the nearest-grid
	// fallback: the grid covering a point, the smallest code on a border.
	sqlLocateOne = `SELECT code FROM grids
WHERE retired_generation IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
ORDER BY code LIMIT 1`

	// sqlLocateBatch is POST /v1/locate's: one row per point, in order, with
	// the code or NULL.
	sqlLocateBatch = `SELECT p.i, g.code
FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, i)
LEFT JOIN LATERAL (
    SELECT code FROM grids
    WHERE retired_generation IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
    ORDER BY code LIMIT 1
) g ON true
ORDER BY p.i`

	// sqlTownGeoJSON is GET /v1/grids's: the full town as a FeatureCollection.
	sqlTownGeoJSON = `SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(ST_AsGeoJSON(g.*)::json))
FROM (SELECT code, name, village_code, geom FROM grids WHERE retired_generation IS NULL) g`
)

// pgBatchPoints is the number of points in one batch query.
const pgBatchPoints = 1000

// openBenchPool opens a pool of up to conns connections, each with the
// three statements prepared.
func openBenchPool(ctx context.Context, connString string, conns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	cfg.ConnConfig.RuntimeParams["application_name"] = "wangge-load"
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		for name, sql := range map[string]string{"locate_one": sqlLocateOne, "locate_batch": sqlLocateBatch, "town_geojson": sqlTownGeoJSON} {
			if _, err := c.Prepare(ctx, name, sql); err != nil {
				return fmt.Errorf("preparing %s: %w", name, err)
			}
		}
		return nil
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// pgLoad runs a load with one pool connection held per worker for the
// whole run (as the HTTP workers hold one keep-alive connection).
func pgLoad(ctx context.Context, pool *pgxpool.Pool, workers int, warmup, d time.Duration,
	newOp func(w int, c *pgx.Conn) op) (*loadResult, error) {
	ops := make([]op, workers)
	for w := range ops {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Release()
		ops[w] = newOp(w, c.Conn())
	}
	return runLoad(ctx, ops, warmup, d)
}

// pgLocateOne measures the single-point lookup.
func pgLocateOne(ctx context.Context, pool *pgxpool.Pool, pts []orb.Point, workers int, warmup, d time.Duration) (*loadResult, error) {
	return pgLoad(ctx, pool, workers, warmup, d, func(w int, c *pgx.Conn) op {
		next := w * len(pts) / workers
		var code string
		return func() (int, error) {
			p := pts[next%len(pts)]
			next++
			err := c.QueryRow(ctx, "locate_one", p[0], p[1]).Scan(&code)
			if errors.Is(err, pgx.ErrNoRows) { // outside every grid: a valid answer
				err = nil
			}
			return 1, err
		}
	})
}

// pgLocateBatch measures the batch lookup, pgBatchPoints per query.
func pgLocateBatch(ctx context.Context, pool *pgxpool.Pool, pts []orb.Point, workers int, warmup, d time.Duration) (*loadResult, error) {
	const batches = 8
	lons, lats := make([][]float64, batches), make([][]float64, batches)
	for b := range batches {
		for _, p := range window(pts, b*pgBatchPoints, pgBatchPoints) {
			lons[b] = append(lons[b], p[0])
			lats[b] = append(lats[b], p[1])
		}
	}
	return pgLoad(ctx, pool, workers, warmup, d, func(w int, c *pgx.Conn) op {
		next := w
		return func() (int, error) {
			b := next % batches
			next++
			rows, err := c.Query(ctx, "locate_batch", lons[b], lats[b])
			if err != nil {
				return 0, err
			}
			var i int64
			var code *string
			n := 0
			if _, err := pgx.ForEachRow(rows, []any{&i, &code}, func() error { n++; return nil }); err != nil {
				return 0, err
			}
			if n != pgBatchPoints {
				return 0, fmt.Errorf("batch query: %d rows for %d points", n, pgBatchPoints)
			}
			return n, nil
		}
	})
}

// pgTownGeoJSON measures the full-town GeoJSON, reading the whole text.
func pgTownGeoJSON(ctx context.Context, pool *pgxpool.Pool, workers int, warmup, d time.Duration) (*loadResult, error) {
	return pgLoad(ctx, pool, workers, warmup, d, func(_ int, c *pgx.Conn) op {
		var doc []byte
		return func() (int, error) {
			if err := c.QueryRow(ctx, "town_geojson").Scan(&doc); err != nil {
				return 0, err
			}
			if len(doc) < 100 {
				return 0, fmt.Errorf("town GeoJSON: got %q", doc)
			}
			return 1, nil
		}
	})
}

// pgVersions returns the server's version() and the short form of
// postgis_full_version(): "PostGIS 3.3.2 (GEOS 3.11.1, PROJ 9.1.1)".
func pgVersions(ctx context.Context, pool *pgxpool.Pool) (pg, postgis string, err error) {
	var full string
	err = pool.QueryRow(ctx, `SELECT version(), postgis_full_version()`).Scan(&pg, &full)
	if err != nil {
		return "", "", err
	}
	field := func(name string) string {
		_, rest, ok := strings.Cut(full, name+`="`)
		if !ok {
			return "?"
		}
		v, _, _ := strings.Cut(rest, `"`)
		v, _, _ = strings.Cut(v, " ") // drop the commit hash
		return v
	}
	postgis = fmt.Sprintf("PostGIS %s (GEOS %s, PROJ %s)", field("POSTGIS"), field("GEOS"), field("PROJ"))
	if i := strings.Index(pg, " on "); i > 0 {
		pg = pg[:i]
	}
	return pg, postgis, nil
}

// pgDisagreements runs the batch query over pts and counts the points on
// which PostGIS and the snapshot name different grids. Points the snapshot
// routes to the nearest grid are skipped: ST_Covers has no tolerance.
func pgDisagreements(ctx context.Context, pool *pgxpool.Pool, snap *geo.Snapshot, pts []orb.Point) (int, error) {
	lons, lats := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		lons[i], lats[i] = p[0], p[1]
	}
	rows, err := pool.Query(ctx, "locate_batch", lons, lats)
	if err != nil {
		return 0, err
	}
	var i int64
	var code *string
	bad := 0
	_, err = pgx.ForEachRow(rows, []any{&i, &code}, func() error {
		r, ok := snap.LocateCode(pts[i-1], geo.DefaultToleranceM)
		if ok && r.Match == gridindex.Nearest {
			return nil
		}
		if ok != (code != nil) || ok && snap.Grids[r.ID].Code != *code {
			bad++
		}
		return nil
	})
	return bad, err
}
