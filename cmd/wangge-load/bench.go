package main

import (
	"context"
	"fmt"
	"strings"
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

	// meter measures the CPU other processes take during each
	// measurement; other sums it over the measurements.
	meter      *cpuMeter
	other      cpuLap
	maxOther   float64
	otherKnown bool

	countyDBs int // databases made for county imports so far

	run       int      // the current run, from 0
	disturbed []string // measurements other processes disturbed
}

// newBench opens the benchmark pool, prepares the points, and checks that
// the API and PostGIS give the snapshot's answers on a sample of them. The
// caller closes the bench, also on error.
func newBench(ctx context.Context, e *env, o options, logf func(string, ...any)) (*bench, error) {
	b := &bench{e: e, o: o, logf: logf, pts: randomPoints(e.snap.Whole().Outline.Bound(), pointCount, 1),
		meter: newCPUMeter(e.cluster.PGData)}
	var err error
	if b.pool, err = openBenchPool(ctx, e.cluster.ConnString("wangge"), max(o.conns, o.batchConns)); err != nil {
		return b, err
	}
	m := thisMachine()
	if m.PostgreSQL, m.PostGIS, err = pgVersions(ctx, b.pool); err != nil {
		return b, err
	}
	s := e.snap
	mix := mixOf(s, b.pts)
	pct := func(n int) float64 { return 100 * float64(n) / float64(len(b.pts)) }
	b.rep = &report{Date: time.Now().Format("2006-01-02"), Command: o.command(), Machine: m, Runs: o.runs,
		Town: fmt.Sprintf("demo %s: %s (%s), %d villages, %d grids, generation %d", o.data,
			s.Whole().Name, s.Whole().Code, len(s.Villages), len(s.Grids), s.Generation),
		Points: fmt.Sprintf("%d uniform random points in the town's bounding box: %.1f%% inside a grid, "+
			"%.2f%% on a border, %.1f%% outside but within 200 m (nearest grid), %.1f%% farther (404)",
			len(b.pts), pct(mix.Inside), pct(mix.Boundary), pct(mix.Nearest), pct(mix.Outside))}

	if err := checkAnswers(ctx, e.addr, s, b.pts[:200]); err != nil {
		return b, fmt.Errorf("the API's answers differ from the snapshot's: %w", err)
	}
	bad, err := pgDisagreements(ctx, b.pool, s, b.pts[:2000])
	if err != nil {
		return b, err
	}
	if bad > 0 {
		b.note("WARNING: PostGIS and the in-memory index disagree on %d of 2000 points", bad)
	}
	return b, nil
}

// close closes the benchmark pool.
func (b *bench) close() {
	if b.pool != nil {
		b.pool.Close()
	}
}

// note adds a line under the table and logs it.
func (b *bench) note(format string, args ...any) {
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf(format, args...))
	b.logf(format, args...)
}

// measureRuns runs every measurement -runs times and sets the report's
// rows to the median of the runs.
func (b *bench) measureRuns(ctx context.Context) error {
	var runs [][]row
	for run := range b.o.runs {
		if b.o.runs > 1 {
			b.logf("run %d of %d", run+1, b.o.runs)
		}
		b.rep.Results, b.run = nil, run
		if err := b.measure(ctx, run); err != nil {
			return err
		}
		runs = append(runs, b.rep.Results)
	}
	b.rep.Results = medianRows(runs)
	b.reportOtherLoad()
	return nil
}

// measure runs every measurement once, in turn, and adds the report's
// rows.
func (b *bench) measure(ctx context.Context, run int) error {
	h, err := b.measureHTTP(ctx, run)
	if err != nil {
		return err
	}
	p, err := b.measurePostGIS(ctx)
	if err != nil {
		return err
	}
	b.addServiceRows(h, p)
	if err := b.measureTiles(ctx, run); err != nil { // tilebench.go
		return err
	}
	if err := b.measureIndex(ctx); err != nil {
		return err
	}
	if !b.o.skip1M {
		if err := b.measureMillion(ctx); err != nil {
			return err
		}
	}
	if !b.o.skipCounty {
		return b.measureCounty(ctx)
	}
	return nil
}

// phase runs one measurement: fn, which logs nothing and returns a
// summary. With -wait-idle it first waits for the machine to be idle, and
// measures again, up to maxAttempts times, when other processes took more
// than disturbedShare of the CPU time meanwhile; the last attempt counts.
func (b *bench) phase(ctx context.Context, what string, fn func() (summary string, err error)) error {
	b.logf("%s", what)
	for attempt := 1; ; attempt++ {
		if err := b.waitIdle(ctx); err != nil {
			return err
		}
		b.meter.lap() // the phase starts now
		summary, err := fn()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		b.logf("  %s", summary)
		l, ok := b.meter.lap()
		if !ok {
			return ctx.Err()
		}
		b.logf("  (other processes: %.0f%% of the CPU time)", 100*l.share())
		if b.o.waitIdle <= 0 || l.share() <= disturbedShare || attempt == maxAttempts {
			b.addOther(l)
			if l.share() > disturbedShare {
				b.disturbed = append(b.disturbed, fmt.Sprintf("%s (run %d: %.0f%%)", what, b.run+1, 100*l.share()))
			}
			return ctx.Err()
		}
		b.logf("  disturbed by other processes: measuring again")
	}
}

// Measurements that other processes disturb are repeated (with
// -wait-idle) up to maxAttempts times in all.
const (
	disturbedShare = 0.10
	maxAttempts    = 3
)

// addOther adds a measurement's reading of other processes' CPU to the
// run's total.
func (b *bench) addOther(l cpuLap) {
	b.other.add(l)
	b.otherKnown = true
	b.maxOther = max(b.maxOther, l.share())
}

// quietShare is the share of the machine's CPU time that other processes
// may take without the figures being flagged as depressed by them.
const quietShare = 0.05

// waitIdle waits, up to -wait-idle, until other processes take less than
// quietShare of the CPU time over a second (and returns at once without
// -wait-idle).
func (b *bench) waitIdle(ctx context.Context) error {
	if b.o.waitIdle <= 0 {
		return nil
	}
	deadline := time.Now().Add(b.o.waitIdle)
	b.meter.lap()
	for n := 0; time.Now().Before(deadline); n++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		l, ok := b.meter.lap()
		if !ok || l.share() < quietShare {
			return nil
		}
		if n%30 == 0 {
			b.logf("  waiting for the machine to be idle: other processes take %.0f%% of the CPU time", 100*l.share())
		}
	}
	b.logf("  the machine did not become idle within %v: measuring anyway", b.o.waitIdle)
	return nil
}

// reportOtherLoad records how much CPU other processes took during the
// measurements, with a warning when it is enough to depress the figures.
func (b *bench) reportOtherLoad() {
	if !b.otherKnown {
		return
	}
	share, most := b.other.share(), b.maxOther
	b.rep.Machine.OtherLoad, b.rep.Machine.OtherLoadMax = &share, &most
	switch {
	case b.o.waitIdle <= 0 && (share > quietShare || most > disturbedShare):
		b.note("WARNING: other processes took %.0f%% of the CPU time during the measurements (up to %.0f%% during one): "+
			"the figures are lower than this machine can do; run again when it is idle, or with -wait-idle", 100*share, 100*most)
	case len(b.disturbed) > 0:
		b.note("other processes took more than %.0f%% of the CPU time, even after %d attempts, during these measurements, "+
			"which may have lowered them: %s", 100*disturbedShare, maxAttempts, strings.Join(b.disturbed, "; "))
	}
}

// httpFigures are the HTTP measurements.
type httpFigures struct {
	get              *loadResult
	getStatus        statusCounts
	post, cold, warm *loadResult
	collectionBytes  int
}

// measureHTTP measures the API over loopback.
func (b *bench) measureHTTP(ctx context.Context, run int) (*httpFigures, error) {
	o, addr := b.o, b.e.addr
	h := &httpFigures{}
	var err error
	if _, h.collectionBytes, err = gridsETag(addr); err != nil {
		return nil, err
	}
	steps := []struct {
		name, what string
		run        func() (string, error)
	}{
		{"get-locate", fmt.Sprintf("GET /v1/locate, %d connections, %v", o.conns, o.duration), func() (string, error) {
			var err error
			if h.get, h.getStatus, err = locateGET(ctx, addr, b.pts, o.conns, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f req/s, p50 %v, p99 %v, %d × 200 and %d × 404 (warm-up included)", h.get.opsPerSec(),
				h.get.Latency.quantile(.5), h.get.Latency.quantile(.99), h.getStatus[200], h.getStatus[404]), nil
		}},
		{"post-locate", fmt.Sprintf("POST /v1/locate (%d points), %d connections, %v", batchPoints, o.batchConns, o.duration), func() (string, error) {
			var err error
			if h.post, err = locatePOST(ctx, addr, b.pts, o.batchConns, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f points/s", h.post.itemsPerSec()), nil
		}},
		{"grids-cold", fmt.Sprintf("GET /v1/grids cold, %d connections, %v", o.batchConns, o.duration), func() (string, error) {
			var err error
			if h.cold, err = gridsCold(ctx, addr, o.batchConns, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f calls/s", h.cold.opsPerSec()), nil
		}},
		{"grids-warm", fmt.Sprintf("GET /v1/grids warm (304), %d connections, %v", o.conns, o.duration), func() (string, error) {
			var err error
			if h.warm, err = gridsWarm(ctx, addr, o.conns, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f calls/s", h.warm.opsPerSec()), nil
		}},
	}
	for _, s := range steps {
		err := b.phase(ctx, s.what, func() (summary string, err error) {
			err = b.profiled(fmt.Sprintf("%s.%d", s.name, run+1), func() (err error) {
				summary, err = s.run()
				return err
			})
			return summary, err
		})
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// profiled runs fn under a CPU profile written to -cpuprofile's path
// suffixed with "."+name, when -cpuprofile is set.
func (b *bench) profiled(name string, fn func() error) error {
	if b.o.cpuProfile == "" {
		return fn()
	}
	path := b.o.cpuProfile + "." + name
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
	err := b.phase(ctx, fmt.Sprintf("PostGIS single-point query, %d connections, %v", o.conns, o.duration), func() (string, error) {
		var err error
		if p.one, err = pgLocateOne(ctx, b.pool, b.pts, o.conns, o.warmup(), o.duration); err != nil {
			return "", err
		}
		return fmt.Sprintf("%.0f queries/s, p50 %v, p99 %v", p.one.opsPerSec(), p.one.Latency.quantile(.5), p.one.Latency.quantile(.99)), nil
	})
	if err != nil {
		return nil, err
	}
	err = b.phase(ctx, fmt.Sprintf("PostGIS %d-point batch query, %d connections, %v", pgBatchPoints, o.batchConns, o.duration), func() (string, error) {
		var err error
		if p.batch, err = pgLocateBatch(ctx, b.pool, b.pts, o.batchConns, o.warmup(), o.duration); err != nil {
			return "", err
		}
		return fmt.Sprintf("%.0f points/s", p.batch.itemsPerSec()), nil
	})
	if err != nil {
		return nil, err
	}
	err = b.phase(ctx, fmt.Sprintf("PostGIS full-town GeoJSON, %d connections, %v", o.batchConns, o.duration), func() (string, error) {
		var err error
		if p.geojson, err = pgTownGeoJSON(ctx, b.pool, o.batchConns, o.warmup(), o.duration); err != nil {
			return "", err
		}
		return fmt.Sprintf("%.1f calls/s", p.geojson.opsPerSec()), nil
	})
	if err != nil {
		return nil, err
	}
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
	r.rate(fmt.Sprintf("`POST /v1/locate`, %s points per request, %d connections", thousands(batchPoints), o.batchConns), "points/s",
		h.post.itemsPerSec()).
		vs(fmt.Sprintf("%s-point `unnest … LEFT JOIN LATERAL (… ST_Covers … LIMIT 1)` query, %d connections", thousands(pgBatchPoints), o.batchConns),
			p.batch.itemsPerSec()).atLeast(1_000_000)
	pgJSON := fmt.Sprintf("`json_build_object(… json_agg(ST_AsGeoJSON(g.*)::json))` of the town, whole text read, %d connections", o.batchConns)
	r.rate(fmt.Sprintf("`GET /v1/grids` full town (%d KiB), cold, %d connections", h.collectionBytes>>10, o.batchConns), "calls/s",
		h.cold.opsPerSec()).vs(pgJSON, p.geojson.opsPerSec()).ratioAtLeast(20)
	r.rate(fmt.Sprintf("`GET /v1/grids` full town, `If-None-Match` → 304, %d connections", o.conns), "calls/s",
		h.warm.opsPerSec()).vs(pgJSON, p.geojson.opsPerSec())
}

// measureIndex measures the in-memory index of the demo town alone,
// without HTTP.
func (b *bench) measureIndex(ctx context.Context) error {
	var t townIndexResult
	err := b.phase(ctx, "in-memory index on the demo town, "+b.o.duration.String(), func() (string, error) {
		t = benchTownIndex(ctx, b.e.snap, b.pts, b.o.duration)
		return fmt.Sprintf("%.0f ns per lookup (inside a grid %.0f, nearest %.0f, farther %.0f)",
			t.AllNs, t.InsideNs, t.NearestNs, t.OutsideNs), nil
	})
	if err != nil {
		return err
	}
	lookup := "index lookup (`Snapshot.LocateCode`), demo " + b.o.data + ", "
	b.rep.cost(lookup+"all the random points", "ns", t.AllNs).atMost(300)
	b.rep.cost(lookup+"points inside a grid", "ns", t.InsideNs).atMost(300)
	b.rep.cost(lookup+"points within 200 m outside (nearest grid)", "ns", t.NearestNs)
	b.rep.cost(lookup+"points farther outside (no grid, 404)", "ns", t.OutsideNs)
	return nil
}

// measureMillion measures the in-memory index over a million synthetic
// grids.
func (b *bench) measureMillion(ctx context.Context) error {
	var m *millionResult
	err := b.phase(ctx, "in-memory index over 1,000,000 synthetic grids (JitteredCoverage 1000x1000), "+b.o.duration.String(), func() (string, error) {
		var err error
		if m, err = benchMillion(ctx, b.o.duration); err != nil {
			return "", err
		}
		return fmt.Sprintf("built in %v, %.0f ns per lookup, %d MiB", m.Build.Round(time.Millisecond), m.NsPerLookup, m.MemoryBytes>>20), nil
	})
	if err != nil {
		return err
	}
	name := fmt.Sprintf("index over %s grids (%.1f vertices each)", thousands(int64(m.Grids)), float64(m.VerticesTotal)/float64(m.Grids))
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	b.rep.cost(name+": build (`gridindex.New`)", "s", m.Build.Seconds())
	b.rep.cost(name+": lookup, uniform random points", "ns", m.NsPerLookup).atMost(2000)
	b.rep.cost(name+": `MemoryBytes()`", "MiB", mib(int64(m.MemoryBytes))).atMost(400)
	b.rep.cost(name+": live heap growth (`runtime.ReadMemStats` after GC)", "MiB", mib(m.HeapGrowth)).atMost(400)
	return nil
}

// measureCounty times the import of the synthetic county into a fresh
// database.
func (b *bench) measureCounty(ctx context.Context) error {
	var c *countyResult
	err := b.phase(ctx, "import of a synthetic county of 5,000 grids into a fresh database", func() (string, error) {
		b.countyDBs++
		var err error
		if c, err = benchCountyImport(ctx, b.e.cluster, fmt.Sprintf("county%d", b.countyDBs)); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d grids imported in %v", c.Grids, c.Import.Round(time.Millisecond)), nil
	})
	if err != nil {
		return err
	}
	b.rep.cost(fmt.Sprintf("`db.ImportTown` of a synthetic county: %d villages, %s grids, with leaders and councils (fresh database)",
		c.Villages, thousands(int64(c.Grids))), "s", c.Import.Seconds()).atMost(60)
	return nil
}
