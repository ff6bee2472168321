package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/gridindex"
	"wangge/geo/pgstore"
)

// The intake benchmark (-intake) measures POST /v1/incidents as `wangge
// serve` answers it, on a PostgreSQL of its own with fsync on (every
// commit waits for the disk, as in production, unlike the other
// measurements' throwaway cluster):
//
//	go run ./cmd/wangge-load -intake [-intake-c 8,16,32] [-intake-channel] [-intake-preload 0] [-duration 5s] [-runs 1]
//
// For each number of clients, each client a keep-alive connection
// sending, one after the other, complaints at random points inside the
// demo town's grids, each with its own Idempotency-Key: incidents/s, p50
// and p99 of the 201s, and the CPU share other processes took. After each
// measurement it counts what PostgreSQL holds: as many incidents,
// deadlines and audit entries as 201s were answered (warm-up included),
// and at least as many events; a shortfall fails the run. Beside each
// measurement, the intake batches it made (pgstore's IntakeStats). With
// -intake-channel an enabled SMS channel makes intake write each
// incident's messages to the outbox and NOTIFY (nobody delivers them).
// With -intake-preload N the measurements start on a table that already
// holds N open incidents, written the same way (preload).

// intakeBodies is how many request bodies the clients cycle through.
const intakeBodies = 8192

// runIntake runs the intake benchmark and prints its table.
func runIntake(ctx context.Context, o options, stdout io.Writer, logf func(string, ...any)) error {
	clients, err := parseClients(o.intakeClients)
	if err != nil {
		return err
	}
	if o.intakeBatches > 0 {
		pgstore.IntakeBatches = o.intakeBatches
	}
	if o.intakeBatchMax > 0 {
		pgstore.IntakeBatchMax = o.intakeBatchMax
	}
	e := &env{logf: logf, busyPoll: o.busyPoll}
	defer e.close()
	ie, err := setUpIntake(ctx, e, o.intakeChannel)
	if err != nil {
		return err
	}
	if o.intakePreload > 0 {
		if err := ie.preload(ctx, int64(o.intakePreload)); err != nil {
			return err
		}
	}
	meter := newCPUMeter(e.cluster.PGData)
	fmt.Fprintf(stdout, "intake POST /v1/incidents, fsync on, %s, channel: %v, batches: %d in flight of up to %d, open incidents before the first measurement: %d; command: %s\n\n",
		ie.version, o.intakeChannel, pgstore.IntakeBatches, pgstore.IntakeBatchMax, ie.total, o.command())
	fmt.Fprintln(stdout, "| run | clients | incidents/s | p50 | p99 | CPU per incident: this process (server and clients) / PostgreSQL | batches: how many, mean size, started beside another, mean time | PostgreSQL meanwhile: WAL per incident (full-page images), checkpoints, autovacuum and autoanalyze runs | other processes' CPU | load average (1 min) |")
	fmt.Fprintln(stdout, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for run := range o.runs {
		for _, c := range clients {
			if o.waitIdle > 0 {
				waitIdle(ctx, meter, o.waitIdle)
			}
			meter.lap()
			self0, pg0 := ourTicks(meter)
			st0 := ie.e.db.IntakeStats()
			act0, err := ie.activity(ctx)
			if err != nil {
				return err
			}
			res, created, err := ie.measure(ctx, run, c, o.warmup(), o.duration)
			if err != nil {
				return fmt.Errorf("%d clients: %w", c, err)
			}
			self1, pg1 := ourTicks(meter)
			batches := batchSummary(st0, ie.e.db.IntakeStats())
			act1, err := ie.activity(ctx)
			if err != nil {
				return err
			}
			lap, ok := meter.lap()
			other := "?"
			if ok {
				other = fmt.Sprintf("%.0f%%", 100*lap.share())
			}
			if err := ie.check(ctx, created); err != nil {
				return fmt.Errorf("%d clients: %w", c, err)
			}
			perIncident := func(ticks uint64) float64 { return float64(ticks) * 1e6 / clockTicks / float64(max(created, 1)) }
			fmt.Fprintf(stdout, "| %d | %d | %s | %.1f ms | %.1f ms | %.0f µs / %.0f µs | %s | %s | %s | %s |\n", run+1, c, thousands(int64(res.opsPerSec()+0.5)),
				float64(res.Latency.quantile(0.5).Microseconds())/1000, float64(res.Latency.quantile(0.99).Microseconds())/1000,
				perIncident(self1-self0), perIncident(pg1-pg0), batches, act1.since(act0, created), other, loadAverage())
		}
	}
	fmt.Fprintf(stdout, "\nevery 201 checked against PostgreSQL: %d incidents, each with its deadline, audit entry and events\n", ie.total)
	return nil
}

// batchSummary describes the intake batches between two IntakeStats
// (warm-up included, as the CPU figures are): how many, their mean size,
// the share that started while another was being written, and their mean
// time.
func batchSummary(a, b pgstore.IntakeStats) string {
	n := b.Batches - a.Batches
	if n == 0 {
		return "none"
	}
	return fmt.Sprintf("%s, %.1f, %.0f%%, %.2f ms", thousands(n), float64(b.Incidents-a.Incidents)/float64(n),
		100*float64(b.Beside-a.Beside)/float64(n), float64((b.Busy-a.Busy).Microseconds())/1000/float64(n))
}

// pgActivity is what PostgreSQL's background work has done so far, as its
// statistics views count it.
type pgActivity struct {
	walBytes, walFPI, checkpoints, vacuums, analyzes int64
}

// activity reads the server's pgActivity (pg_stat_wal, the checkpoint
// counts, pg_stat_user_tables).
func (ie *intakeEnv) activity(ctx context.Context) (pgActivity, error) {
	var a pgActivity
	var version int
	if err := ie.e.db.Pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return a, err
	}
	// PostgreSQL 17 moved the checkpoint counts to pg_stat_checkpointer.
	checkpoints := "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
	if version >= 170000 {
		checkpoints = "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
	}
	err := ie.e.db.Pool.QueryRow(ctx, `SELECT (SELECT wal_bytes::bigint FROM pg_stat_wal), (SELECT wal_fpi FROM pg_stat_wal),
		(`+checkpoints+`),
		(SELECT coalesce(sum(autovacuum_count), 0)::bigint FROM pg_stat_user_tables),
		(SELECT coalesce(sum(autoanalyze_count), 0)::bigint FROM pg_stat_user_tables)`).Scan(
		&a.walBytes, &a.walFPI, &a.checkpoints, &a.vacuums, &a.analyzes)
	return a, err
}

// since describes the activity from a to b, over created incidents.
func (b pgActivity) since(a pgActivity, created int64) string {
	n := float64(max(created, 1))
	return fmt.Sprintf("%.1f kB (%.2f), %d, %d and %d", float64(b.walBytes-a.walBytes)/1024/n, float64(b.walFPI-a.walFPI)/n,
		b.checkpoints-a.checkpoints, b.vacuums-a.vacuums, b.analyzes-a.analyzes)
}

// parseClients reads "8,16,32".
func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 150 {
			return nil, fmt.Errorf("-intake-c %q: want numbers of clients 1..150, comma-separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// intakeEnv is the served API and what the clients send.
type intakeEnv struct {
	e       *env
	secret  string
	bodies  [][]byte
	version string
	total   int64 // incidents created and checked so far
}

// setUpIntake starts a durable PostgreSQL in a temporary folder, imports
// the demo town and serves the API as `wangge serve` configures it for
// intake (the stores of incidents, outbox, channels and service items, a
// dispatcher's token).
func setUpIntake(ctx context.Context, e *env, channel bool) (*intakeEnv, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "wangge-load-intake-")
	if err != nil {
		return nil, err
	}
	e.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // PostgreSQL runs as postgres when this runs as root
		return nil, err
	}
	e.logf("starting PostgreSQL (fsync on) in %s", dir)
	if e.cluster, err = pgstore.StartCluster(sctx, dir, pgstore.ClusterOptions{}); err != nil {
		return nil, err
	}
	if e.db, err = openMigrated(sctx, e.cluster, "wangge"); err != nil {
		return nil, err
	}
	if err := e.loadDemo(sctx, "town"); err != nil {
		return nil, err
	}
	ie := &intakeEnv{e: e}
	if err := e.db.Pool.QueryRow(sctx, "SELECT current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')").Scan(&ie.version); err != nil {
		return nil, err
	}
	if channel {
		if _, err := e.db.CreateChannel(sctx, geo.ChannelRecord{Channel: geo.Channel{Name: "短信", Kind: geo.ChanSMS, Enabled: true},
			Settings: json.RawMessage(`{}`)}, "wangge-load", time.Now()); err != nil {
			return nil, err
		}
	}
	secret, hash := geo.NewTokenSecret()
	var tokens geo.TokenSet
	tokens.Store(map[[32]byte]geo.Token{hash: {Name: "wangge-load", Role: geo.AccessDispatcher, Hash: hash}})
	ie.secret = secret

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	handler := api.New(&e.registry, e.db, api.Config{Tokens: &tokens, Incidents: e.db, Outbox: e.db, Channels: e.db,
		ServiceItems: e.db, People: e.db, Organizations: e.db, History: e.db}, log)
	if err := handler.ReloadLimits(sctx); err != nil {
		return nil, err
	}
	if err := e.startHTTP(handler); err != nil {
		return nil, err
	}

	// Bodies at random points inside grids, of four categories.
	var bound orb.Bound
	for i, g := range e.snap.Grids {
		if i == 0 {
			bound = g.Geometry.Bound()
		}
		bound = bound.Union(g.Geometry.Bound())
	}
	categories := []string{"environment", "safety", "dispute", "livelihood"}
	for _, p := range randomPoints(bound, 16*intakeBodies, 7) {
		if r, ok := e.snap.LocateCode(p, geo.DefaultToleranceM); !ok || r.Match != gridindex.Inside {
			continue
		}
		c := categories[len(ie.bodies)%len(categories)]
		ie.bodies = append(ie.bodies, fmt.Appendf(nil, `{"lon":%s,"lat":%s,"category":%q,"severity":"minor","description":"垃圾堆放","source":"wechat","reporter_phone":"13912345678"}`,
			formatCoord(p[0]), formatCoord(p[1]), c))
		if len(ie.bodies) == intakeBodies {
			break
		}
	}
	if len(ie.bodies) == 0 {
		return nil, errors.New("no random point fell inside a grid")
	}
	return ie, sctx.Err()
}

// measure runs clients keep-alive connections for warmup+d, each sending
// a new incident after the other, and returns the result of the recorded
// window and the number of 201s in all.
func (ie *intakeEnv) measure(ctx context.Context, run, clients int, warmup, d time.Duration) (*loadResult, int64, error) {
	var created atomic.Int64
	ops, closeAll, err := ie.clientOps(fmt.Sprintf("load-%d-%d", run, clients), clients, time.Now().Add(warmup+d+ioSlack), &created)
	if err != nil {
		return nil, 0, err
	}
	defer closeAll()
	res, err := runLoad(ctx, ops, warmup, d)
	return res, created.Load(), err
}

// preloadClients is how many clients write the incidents of -intake-preload.
const preloadClients = 32

// preload writes about n incidents through the API, as the measurements
// do but with keys of their own, unrecorded, and checks them; then VACUUM
// ANALYZE, as autovacuum would soon do on a server that has been taking
// incidents for a while, so that the measurements that follow find the
// table grown and its statistics current. Every incident is left open: the
// duplicate check has them all as candidates.
func (ie *intakeEnv) preload(ctx context.Context, n int64) error {
	var created atomic.Int64
	ops, closeAll, err := ie.clientOps("preload", preloadClients, time.Now().Add(time.Hour), &created)
	if err != nil {
		return err
	}
	defer closeAll()
	t0 := time.Now()
	errs := make(chan error, len(ops))
	for _, o := range ops {
		go func() {
			for created.Load() < n && ctx.Err() == nil {
				if _, err := o(); err != nil {
					errs <- err
					return
				}
			}
			errs <- ctx.Err()
		}()
	}
	var first error
	for range ops {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("preloading: %w", first)
	}
	if err := ie.check(ctx, created.Load()); err != nil {
		return fmt.Errorf("preloading: %w", err)
	}
	wrote := time.Since(t0)
	for _, table := range []string{"incidents", "incident_events", "incident_deadlines", "audit_log"} {
		if _, err := ie.e.db.Pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return fmt.Errorf("preloading: %w", err)
		}
	}
	ie.e.logf("preloaded %d open incidents in %.1f s (%.0f/s), then VACUUM ANALYZE in %.1f s", created.Load(),
		wrote.Seconds(), float64(created.Load())/wrote.Seconds(), (time.Since(t0) - wrote).Seconds())
	return nil
}

// clientOps gives clients ops, each on a keep-alive connection of its own
// (open until deadline) sending a new incident after the other, with
// Idempotency-Keys that start with prefix; created counts the 201s.
// closeAll closes the connections.
func (ie *intakeEnv) clientOps(prefix string, clients int, deadline time.Time, created *atomic.Int64) (ops []op, closeAll func(), err error) {
	var conns []*rawConn
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
	}
	ops = make([]op, clients)
	for w := range ops {
		c, err := dialRaw(ie.e.addr, deadline)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, c)
		n := w * len(ie.bodies) / clients
		var req []byte
		ops[w] = func() (int, error) {
			body := ie.bodies[n%len(ie.bodies)]
			n++
			req = fmt.Appendf(req[:0], "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
				"Idempotency-Key: %s-%d-%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				ie.secret, prefix, w, n, len(body), body)
			status, _, err := c.do(req)
			if err != nil {
				return 0, err
			}
			if status != http.StatusCreated {
				return 0, fmt.Errorf("status %d, want 201", status)
			}
			created.Add(1)
			return 1, nil
		}
	}
	return ops, closeAll, nil
}

// check counts what PostgreSQL holds after created more 201s.
func (ie *intakeEnv) check(ctx context.Context, created int64) error {
	ie.total += created
	var incidents, deadlines, audits, events int64
	err := ie.e.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_deadlines),
		(SELECT count(*) FROM audit_log WHERE action = 'incident.create'), (SELECT count(*) FROM incident_events)`).Scan(
		&incidents, &deadlines, &audits, &events)
	if err != nil {
		return err
	}
	if incidents != ie.total || deadlines != ie.total || audits != ie.total || events < ie.total {
		return fmt.Errorf("%d incidents answered 201, PostgreSQL holds %d incidents, %d deadlines, %d audit entries, %d events",
			ie.total, incidents, deadlines, audits, events)
	}
	return nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// ourTicks is the CPU time of this process and of its PostgreSQL server.
func ourTicks(m *cpuMeter) (self, pg uint64) {
	self, _, _ = procTimes("self")
	if m.postmaster > 0 {
		pg = m.serverTimes()
	}
	return self, pg
}

// waitIdle waits up to limit for a second in which other processes take
// less than 10% of the CPU.
func waitIdle(ctx context.Context, m *cpuMeter, limit time.Duration) {
	end := time.Now().Add(limit)
	m.lap()
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(time.Second)
		if lap, ok := m.lap(); !ok || lap.share() < 0.10 {
			return
		}
	}
}

// loadAverage is the 1-minute load average, "?" when unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
