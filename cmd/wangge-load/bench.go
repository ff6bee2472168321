package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
)

// bench runs the measurements against an env and fills the report.
type bench struct {
	e    *env
	o    options
	logf func(string, ...any)
	pool *pgxpool.Pool // PostGIS benchmark connections
	pts  []orb.Point   // the random points every lookup figure uses
	rep  *report
}

// newBench prepares the points, checks that the API and PostGIS give the
// snapshot's answers on a sample of them, and opens the benchmark pool.
func newBench(ctx context.Context, e *env, o options, logf func(string, ...any)) (*bench, error) {
	b := &bench{e: e, o: o, logf: logf, pts: randomPoints(e.snap.Town.Outline.Bound(), pointCount, 1)}
	var err error
	if b.pool, err = openBenchPool(ctx, e.cluster.ConnString("wangge"), max(o.conns, o.batchConns)); err != nil {
		return nil, err
	}
	m := thisMachine()
	if m.PostgreSQL, m.PostGIS, err = pgVersions(ctx, b.pool); err != nil {
		b.pool.Close()
		return nil, err
	}
	s := e.snap
	mix := mixOf(s, b.pts)
	pct := func(n int) float64 { return 100 * float64(n) / float64(len(b.pts)) }
	b.rep = &report{Date: time.Now().Format("2006-01-02"), Command: o.command(), Machine: m,
		Town: fmt.Sprintf("demo town %s (%s), %d villages, %d grids, generation %d",
			s.Town.Name, s.Town.Code, len(s.Villages), len(s.Grids), s.Generation),
		Points: fmt.Sprintf("%d uniform random points in the town's bounding box: %.1f%% inside a grid, "+
			"%.2f%% on a border, %.1f%% outside but within 200 m (nearest grid), %.1f%% farther (404)",
			len(b.pts), pct(mix.Inside), pct(mix.Boundary), pct(mix.Nearest), pct(mix.Outside))}

	if err := checkAnswers(ctx, e.addr, s, b.pts[:200]); err != nil {
		b.pool.Close()
		return nil, fmt.Errorf("the API's answers differ from the snapshot's: %w", err)
	}
	bad, err := pgDisagreements(ctx, b.pool, s, b.pts[:2000])
	if err != nil {
		b.pool.Close()
		return nil, err
	}
	if bad > 0 {
		b.note("WARNING: PostGIS and the in-memory index disagree on %d of 2000 points", bad)
	}
	return b, nil
}

// note adds a line under the table and logs it.
func (b *bench) note(format string, args ...any) {
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf(format, args...))
	b.logf(format, args...)
}

// measure runs every measurement in turn and fills the report's rows.
func (b *bench) measure(ctx context.Context) error {
	h, err := b.measureHTTP(ctx)
	if err != nil {
		return err
	}
	p, err := b.measurePostGIS(ctx)
	if err != nil {
		return err
	}
	b.addServiceRows(h, p)
	if err := b.measureIndex(ctx); err != nil {
		return err
	}
	if b.o.skipCounty {
		return nil
	}
	b.logf("importing a synthetic county of 5,000 grids into a fresh database")
	county, err := benchCountyImport(ctx, b.e.cluster)
	if err != nil {
		return err
	}
	b.logf("county: %d grids imported in %v", county.Grids, county.Import.Round(time.Millisecond))
	b.rep.cost(fmt.Sprintf("`db.ImportTown` of a synthetic county: %d villages, %d grids, with leaders and councils (fresh database)",
		county.Villages, county.Grids), "s", county.Import.Seconds()).atMost(60)
	return nil
}

// httpFigures are the HTTP measurements.
type httpFigures struct {
	get              *loadResult
	getStatus        statusCounts
	post, cold, warm *loadResult
	collectionBytes  int
}

// measureHTTP measures the API over loopback.
func (b *bench) measureHTTP(ctx context.Context) (*httpFigures, error) {
	o, addr := b.o, b.e.addr
	h := &httpFigures{}
	var err error
	if _, h.collectionBytes, err = gridsETag(addr); err != nil {
		return nil, err
	}
	phases := []struct {
		name, what string
		run        func() error
		report     func() string
	}{
		{"get-locate", fmt.Sprintf("GET /v1/locate, %d connections", o.conns), func() (err error) {
			h.get, h.getStatus, err = locateGET(ctx, addr, b.pts, o.conns, o.warmup(), o.duration)
			return err
		}, func() string {
			return fmt.Sprintf("%.0f req/s, p50 %v, p99 %v", h.get.opsPerSec(), h.get.Latency.quantile(.5), h.get.Latency.quantile(.99))
		}},
		{"post-locate", fmt.Sprintf("POST /v1/locate (%d points), %d connections", batchPoints, o.batchConns), func() (err error) {
			h.post, err = locatePOST(ctx, addr, b.pts, o.batchConns, o.warmup(), o.duration)
			return err
		}, func() string { return fmt.Sprintf("%.0f points/s", h.post.itemsPerSec()) }},
		{"grids-cold", fmt.Sprintf("GET /v1/grids cold, %d connections", o.batchConns), func() (err error) {
			h.cold, err = gridsCold(ctx, addr, o.batchConns, o.warmup(), o.duration)
			return err
		}, func() string { return fmt.Sprintf("%.0f calls/s", h.cold.opsPerSec()) }},
		{"grids-warm", fmt.Sprintf("GET /v1/grids warm (304), %d connections", o.conns), func() (err error) {
			h.warm, err = gridsWarm(ctx, addr, o.conns, o.warmup(), o.duration)
			return err
		}, func() string { return fmt.Sprintf("%.0f calls/s", h.warm.opsPerSec()) }},
	}
	for _, ph := range phases {
		b.logf("%s, %v", ph.what, o.duration)
		if err := b.profiled(ph.name, ph.run); err != nil {
			return nil, fmt.Errorf("%s: %w", ph.what, err)
		}
		b.logf("  %s", ph.report())
	}
	return h, nil
}

// profiled runs fn under a CPU profile written to -cpuprofile's path
// suffixed with "."+phase, when -cpuprofile is set.
func (b *bench) profiled(phase string, fn func() error) error {
	if b.o.cpuProfile == "" {
		return fn()
	}
	path := b.o.cpuProfile + "." + phase
	stop, err := startProfile(path)
	if err != nil {
		return err
	}
	err = fn()
	stop()
	b.logf("  CPU profile: go tool pprof %s", path)
	return err
}

// pgFigures are the PostGIS measurements.
type pgFigures struct {
	one, batch, geojson *loadResult
}

// measurePostGIS measures the PostGIS equivalents over pgx.
func (b *bench) measurePostGIS(ctx context.Context) (*pgFigures, error) {
	o := b.o
	p := &pgFigures{}
	var err error
	b.logf("PostGIS single-point query, %d connections, %v", o.conns, o.duration)
	if p.one, err = pgLocateOne(ctx, b.pool, b.pts, o.conns, o.warmup(), o.duration); err != nil {
		return nil, fmt.Errorf("PostGIS single point: %w", err)
	}
	b.logf("  %.0f queries/s, p50 %v, p99 %v", p.one.opsPerSec(), p.one.Latency.quantile(.5), p.one.Latency.quantile(.99))
	b.logf("PostGIS %d-point batch query, %d connections, %v", pgBatchPoints, o.batchConns, o.duration)
	if p.batch, err = pgLocateBatch(ctx, b.pool, b.pts, o.batchConns, o.warmup(), o.duration); err != nil {
		return nil, fmt.Errorf("PostGIS batch: %w", err)
	}
	b.logf("  %.0f points/s", p.batch.itemsPerSec())
	b.logf("PostGIS full-town GeoJSON, %d connections, %v", o.batchConns, o.duration)
	if p.geojson, err = pgTownGeoJSON(ctx, b.pool, o.batchConns, o.warmup(), o.duration); err != nil {
		return nil, fmt.Errorf("PostGIS GeoJSON: %w", err)
	}
	b.logf("  %.1f calls/s", p.geojson.opsPerSec())
	return p, nil
}

// addServiceRows adds the rows that compare the API with PostGIS.
func (b *bench) addServiceRows(h *httpFigures, p *pgFigures) {
	o, r := b.o, b.rep
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	pgOne := fmt.Sprintf("prepared single-point `ST_Covers` query over pgx, %d connections", o.conns)
	r.rate(fmt.Sprintf("`GET /v1/locate`, %d keep-alive connections", o.conns), "lookups/s", h.get.opsPerSec()).
		vs(pgOne, p.one.opsPerSec()).atLeast(30_000)
	r.cost("`GET /v1/locate` latency p50", "µs", us(h.get.Latency.quantile(.5))).
		vs(pgOne, us(p.one.Latency.quantile(.5)))
	r.cost("`GET /v1/locate` latency p99", "µs", us(h.get.Latency.quantile(.99))).
		vs(pgOne, us(p.one.Latency.quantile(.99)))
	r.rate(fmt.Sprintf("`POST /v1/locate`, %d points per request, %d connections", batchPoints, o.batchConns), "points/s",
		h.post.itemsPerSec()).
		vs(fmt.Sprintf("%d-point `unnest … LEFT JOIN LATERAL (… ST_Covers … LIMIT 1)` query, %d connections", pgBatchPoints, o.batchConns),
			p.batch.itemsPerSec()).atLeast(1_000_000)
	pgJSON := fmt.Sprintf("`json_build_object(… json_agg(ST_AsGeoJSON(g.*)::json))` of the town, whole text read, %d connections", o.batchConns)
	r.rate(fmt.Sprintf("`GET /v1/grids` full town (%d KiB), cold, %d connections", h.collectionBytes>>10, o.batchConns), "calls/s",
		h.cold.opsPerSec()).vs(pgJSON, p.geojson.opsPerSec()).ratioAtLeast(20)
	r.rate(fmt.Sprintf("`GET /v1/grids` full town, `If-None-Match` → 304, %d connections", o.conns), "calls/s",
		h.warm.opsPerSec()).vs(pgJSON, p.geojson.opsPerSec())
	b.note("GET /v1/locate answers: %d × 200, %d × 404 (outside coverage), warm-up included", h.getStatus[200], h.getStatus[404])
}

// measureIndex measures the in-memory index alone, without HTTP.
func (b *bench) measureIndex(ctx context.Context) error {
	b.logf("in-memory index on the demo town, %v", b.o.duration)
	t := benchTownIndex(ctx, b.e.snap, b.pts, b.o.duration)
	b.rep.cost("index lookup (`LocateCode`), demo town, the same random points", "ns", t.AllNs).atMost(300)
	b.rep.cost("index lookup (`LocateCode`), demo town, only the points inside a grid", "ns", t.CoveredNs).atMost(300)
	b.logf("  %.0f ns per lookup (%.0f ns inside a grid)", t.AllNs, t.CoveredNs)
	if b.o.skip1M {
		return ctx.Err()
	}
	b.logf("in-memory index over 1,000,000 synthetic grids (JitteredCoverage 1000x1000), %v", b.o.duration)
	m, err := benchMillion(ctx, b.o.duration)
	if err != nil {
		return err
	}
	b.logf("  built in %v, %.0f ns per lookup, %d MiB", m.Build.Round(time.Millisecond), m.NsPerLookup, m.MemoryBytes>>20)
	name := fmt.Sprintf("index over %s grids (%.1f vertices each)", thousands(int64(m.Grids)), float64(m.VerticesTotal)/float64(m.Grids))
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	b.rep.cost(name+": build (`gridindex.New`)", "s", m.Build.Seconds())
	b.rep.cost(name+": lookup, uniform random points", "ns", m.NsPerLookup).atMost(2000)
	b.rep.cost(name+": `MemoryBytes()`", "MiB", mib(int64(m.MemoryBytes))).atMost(400)
	b.rep.cost(name+": live heap growth (`runtime.ReadMemStats` after GC)", "MiB", mib(m.HeapGrowth)).atMost(400)
	return nil
}
