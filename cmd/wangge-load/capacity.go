package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/pgstore"
)

// The capacity run (issue 12 item 5; BenchmarkCapacity in capacity_test.go
// runs it): one deployment at national size
// served by the real `wangge serve` binary. It generates, inside a private
// PostgreSQL, capacityGridsPerTown grids in each of -towns towns (1,000
// towns: 1,000,000 grids), starts the binary on it, and measures start-up
// to /readyz, the snapshot's memory, locate latency and rate (single points
// at 1 and -c connections, batches) against the same lookups in PostGIS,
// and a plan applied to one town through the HTTP API while a steady load
// keeps locating points in the other towns.
//
// The layout: towns side by side, capacityTownsAcross to a row, each
// 40 × 25 grids of 0.0015° × 0.0012° (about 150 m × 130 m) in 10 villages
// of 4 × 25 grids; each grid is a square with 12 vertices (each side cut
// in three, as BenchmarkStartupNational's), its corners on one lattice so
// that neighbours share their edges exactly.
const (
	capacityTownsAcross  = 25
	capacityTownCols     = 40 // grids across a town
	capacityTownRows     = 25 // grids up a town
	capacityVillages     = 10 // villages a town, each 4 columns of the town
	capacityGridsPerTown = capacityTownCols * capacityTownRows
	capacityVillageCols  = capacityTownCols / capacityVillages
	capacityGridsPerVill = capacityGridsPerTown / capacityVillages
	capacityLon0         = 100.0
	capacityLat0         = 30.0
	capacityStepLon      = 0.0005 // a third of a grid's width
	capacityStepLat      = 0.0004 // a third of a grid's height
	capacitySecretKey    = "wangge-load capacity run"
)

// capacityOptions are the capacity run's settings.
type capacityOptions struct {
	Towns    int           // towns of capacityGridsPerTown grids each
	Duration time.Duration // each rate measurement, after a warm-up
	Conns    int           // connections for single lookups (besides 1)
	Bin      string        // the wangge binary; "" builds it
	// Exclusion rebuilds the exclusion constraint on grid versions
	// after the load (minutes: a GiST of text and ranges has no sorted
	// build); without it the plan's apply is checked by the code alone.
	Exclusion bool
	// PlanRate is the rate of lookups, a second, kept up in the other
	// towns while a plan is applied to one.
	PlanRate int
}

// capacityRun is the state of one run.
type capacityRun struct {
	o       capacityOptions
	logf    func(format string, args ...any)
	out     io.Writer
	dir     string
	cluster *pgstore.Cluster
	db      *pgstore.DB
	pool    *pgxpool.Pool
	srv     *serverProc
	token   string
	client  *http.Client
	rows    [][3]string // metric, value, note
	notes   []string
	meter   *cpuMeter
	// watch follows the server's snapshots and RSS from its start.
	watch *snapshotWatch
	// readyAt is when /readyz first answered 200: the periodic reloads
	// tick every minute from about then.
	readyAt time.Time
	// warmed is when the last lookup that rendered a snapshot ended.
	warmed time.Time
	// reloads describes each periodic reload waited for.
	reloads []string
}

// runCapacity runs the whole capacity measurement and prints a Markdown
// report to out. It stops the server and PostgreSQL and removes its folder
// at the end, also on error.
func runCapacity(ctx context.Context, o capacityOptions, out io.Writer, logf func(string, ...any)) error {
	r := &capacityRun{o: o, logf: logf, out: out, client: &http.Client{Timeout: 10 * time.Minute}}
	defer r.close()
	if err := r.setUp(ctx); err != nil {
		return err
	}
	if err := r.generate(ctx); err != nil {
		return err
	}
	if err := r.start(ctx); err != nil {
		return err
	}
	if err := r.measureLookups(ctx); err != nil {
		return err
	}
	if err := r.measurePlan(ctx); err != nil {
		return err
	}
	r.finish()
	return r.write()
}

// setUp starts a private PostgreSQL in a temporary folder and builds the
// binary unless one was given.
func (r *capacityRun) setUp(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "wangge-capacity-")
	if err != nil {
		return err
	}
	r.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // PostgreSQL runs as postgres under root
		return err
	}
	r.logf("starting PostgreSQL in %s", dir)
	if r.cluster, err = pgstore.StartCluster(ctx, dir, pgstore.ClusterOptions{Ephemeral: true}); err != nil {
		return err
	}
	if r.db, err = openMigrated(ctx, r.cluster, "wangge"); err != nil {
		return err
	}
	r.meter = newCPUMeter(r.cluster.PGData)
	if r.o.Bin == "" {
		r.o.Bin = filepath.Join(dir, "wangge")
		t0 := time.Now()
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", r.o.Bin, "wangge/cmd/wangge").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, b)
		}
		r.logf("built %s in %v", r.o.Bin, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// close stops the server and PostgreSQL and removes the folder.
func (r *capacityRun) close() {
	if r.watch != nil {
		r.watch.stop()
		<-r.watch.stopped
	}
	if r.srv != nil {
		r.srv.stop()
	}
	if r.pool != nil {
		r.pool.Close()
	}
	if r.db != nil {
		r.db.Close()
	}
	if r.cluster != nil {
		if err := r.cluster.Stop(); err != nil {
			r.logf("stopping PostgreSQL: %v", err)
		}
	}
	if r.dir != "" {
		if err := os.RemoveAll(r.dir); err != nil {
			r.logf("removing %s: %v", r.dir, err)
		}
	}
}

// row adds a line to the report's table.
func (r *capacityRun) row(metric, value, note string) {
	r.rows = append(r.rows, [3]string{metric, value, note})
	r.logf("  %s: %s %s", metric, value, note)
}

// note adds a line under the table.
func (r *capacityRun) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.logf(format, args...)
}

// capacityTownCodeSQL is town t's 9-digit code in SQL: synthetic counties
// 110101, 110102, … of 100 towns each.
const capacityTownCodeSQL = `(110100 + t / 100 + 1)::text || lpad((t % 100 + 1)::text, 3, '0')`

// capacityTownCode is the same in Go.
func capacityTownCode(t int) string {
	return fmt.Sprintf("%06d%03d", 110100+t/100+1, t%100+1)
}

// capacityCell is the bound of the grid in lattice column i, row j.
func capacityCell(i, j int) orb.Bound {
	return orb.Bound{Min: orb.Point{capacityLon(3 * i), capacityLat(3 * j)}, Max: orb.Point{capacityLon(3*i + 3), capacityLat(3*j + 3)}}
}

func capacityLon(k int) float64 { return capacityLon0 + float64(k)*capacityStepLon }
func capacityLat(k int) float64 { return capacityLat0 + float64(k)*capacityStepLat }

// capacityTownBound is the bound of town t.
func capacityTownBound(t int) orb.Bound {
	i0, j0 := (t%capacityTownsAcross)*capacityTownCols, (t/capacityTownsAcross)*capacityTownRows
	return capacityCell(i0, j0).Union(capacityCell(i0+capacityTownCols-1, j0+capacityTownRows-1))
}

// generate writes the towns, villages, grids and one generation per town
// with SQL inside PostgreSQL. The GiST indexes on grids.geom and the
// exclusion constraint on grid versions are dropped for the load and
// built again after it (the PostGIS lookups and the plan's apply use them).
func (r *capacityRun) generate(ctx context.Context) error {
	conn, err := r.db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var defs []string
	if err := conn.QueryRow(ctx, `SELECT array_agg(pg_get_indexdef(c.oid) ORDER BY c.relname) FROM pg_class c
		WHERE c.relname IN ('grids_geom_gist', 'grids_current_geom_gist')`).Scan(&defs); err != nil {
		return err
	}
	var exclusion string
	if err := conn.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'grid_versions_disjoint'`).Scan(&exclusion); err != nil {
		return err
	}
	towns := strconv.Itoa(r.o.Towns - 1)
	across, cols, rows := strconv.Itoa(capacityTownsAcross), strconv.Itoa(capacityTownCols), strconv.Itoa(capacityTownRows)
	vcols, villages, perVillage := strconv.Itoa(capacityVillageCols), strconv.Itoa(capacityVillages-1), strconv.Itoa(capacityGridsPerVill-1)
	x := func(k string) string {
		return fmt.Sprintf("(%v + (%s) * %v)::float8", capacityLon0, k, capacityStepLon)
	}
	y := func(k string) string {
		return fmt.Sprintf("(%v + (%s) * %v)::float8", capacityLat0, k, capacityStepLat)
	}
	var ring []string
	for _, c := range [][2]string{{"0", "0"}, {"1", "0"}, {"2", "0"}, {"3", "0"}, {"3", "1"}, {"3", "2"}, {"3", "3"},
		{"2", "3"}, {"1", "3"}, {"0", "3"}, {"0", "2"}, {"0", "1"}, {"0", "0"}} {
		ring = append(ring, fmt.Sprintf("ST_MakePoint(%s, %s)", x("3 * i + "+c[0]), y("3 * j + "+c[1])))
	}
	box := func(i0, j0, i1, j1 string) string {
		return fmt.Sprintf("ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326))", x("3 * ("+i0+")"), y("3 * ("+j0+")"), x("3 * ("+i1+")"), y("3 * ("+j1+")"))
	}
	ti0, tj0 := "(t % "+across+") * "+cols, "(t / "+across+") * "+rows
	steps := []struct{ what, sql string }{
		{"set-up", `SET maintenance_work_mem = '256MB'`},
		{"drop", `ALTER TABLE grids DROP CONSTRAINT grid_versions_disjoint`},
		{"drop", `DROP INDEX grids_geom_gist`},
		{"drop", `DROP INDEX grids_current_geom_gist`},
		{"cell function", `CREATE FUNCTION capacity_cell(i int, j int) RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
			SELECT ST_SetSRID(ST_Multi(ST_MakePolygon(ST_MakeLine(ARRAY[` + strings.Join(ring, ", ") + `]))), 4326) $$`},
		{"towns", `INSERT INTO towns (code, name, county, province, note, outline)
			SELECT ` + capacityTownCodeSQL + `, '合成' || t || '镇', '合成' || (t / 100 + 1) || '县', '合成省', 'synthetic (wangge-load capacity)',
			       ` + box(ti0, tj0, ti0+" + "+cols, tj0+" + "+rows) + `
			FROM generate_series(0, ` + towns + `) t`},
		{"generations", `INSERT INTO generations (id, created_by, note, town_code)
			SELECT t + 1, 'wangge-load', 'synthetic town', ` + capacityTownCodeSQL + ` FROM generate_series(0, ` + towns + `) t`},
		{"villages", `INSERT INTO villages (code, name, outline)
			SELECT ` + capacityTownCodeSQL + ` || lpad((v + 1)::text, 3, '0'), '合成' || (v + 1) || '村',
			       ` + box(ti0+" + v * "+vcols, tj0, ti0+" + (v + 1) * "+vcols, tj0+" + "+rows) + `
			FROM generate_series(0, ` + towns + `) t, generate_series(0, ` + villages + `) v`},
		{"grids", `INSERT INTO grids (code, name, village_code, households, population, geom, generation, valid_from)
			SELECT ` + capacityTownCodeSQL + ` || lpad((v + 1)::text, 3, '0') || lpad((k + 1)::text, 3, '0'), '第' || (k + 1) || '网格',
			       ` + capacityTownCodeSQL + ` || lpad((v + 1)::text, 3, '0'), 300, 900,
			       capacity_cell(` + ti0 + ` + v * ` + vcols + ` + k / ` + rows + `, ` + tj0 + ` + k % ` + rows + `),
			       t + 1, now() - interval '1 day'
			FROM generate_series(0, ` + towns + `) t, generate_series(0, ` + villages + `) v, generate_series(0, ` + perVillage + `) k`},
		{"drop cell function", `DROP FUNCTION capacity_cell(int, int)`},
	}
	t0 := time.Now()
	for _, s := range steps {
		t := time.Now()
		if _, err := conn.Exec(ctx, s.sql); err != nil {
			return fmt.Errorf("generating (%s): %w", s.what, err)
		}
		if s.what == "grids" || s.what == "villages" {
			r.logf("  %s: %v", s.what, time.Since(t).Round(time.Millisecond))
		}
	}
	load := time.Since(t0)
	t1 := time.Now()
	post := defs
	if r.o.Exclusion {
		post = append(post, `ALTER TABLE grids ADD CONSTRAINT grid_versions_disjoint `+exclusion)
	}
	for _, sql := range append(post, `ANALYZE`) {
		t := time.Now()
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%.60s…: %w", sql, err)
		}
		r.logf("  %.70s…: %v", sql, time.Since(t).Round(time.Millisecond))
	}
	indexes := time.Since(t1)
	if !r.o.Exclusion {
		r.note("the exclusion constraint grid_versions_disjoint was dropped for the load and not rebuilt (-capacity.exclusion rebuilds it, which took 5–10 minutes on this machine): the plan's apply ran without that check")
	}
	var grids, vertices, dbBytes, gridBytes int64
	if err := conn.QueryRow(ctx, `SELECT count(*), sum(ST_NPoints(geom)), pg_database_size(current_database()), pg_total_relation_size('grids')
		FROM grids WHERE retired_generation IS NULL`).Scan(&grids, &vertices, &dbBytes, &gridBytes); err != nil {
		return err
	}
	r.row("data", fmt.Sprintf("%s towns, %s villages, %s grids (%s vertices)", thousands(int64(r.o.Towns)),
		thousands(int64(r.o.Towns*capacityVillages)), thousands(grids), thousands(vertices)),
		fmt.Sprintf("generated in PostgreSQL in %.1f s, then the GiST indexes built in %.1f s", load.Seconds(), indexes.Seconds()))
	r.row("PostgreSQL size", fmt.Sprintf("%.0f MiB database, of which grids %.0f MiB with indexes", mib(dbBytes), mib(gridBytes)), "")
	if grids != int64(r.o.Towns*capacityGridsPerTown) {
		return fmt.Errorf("generated %d grids, want %d", grids, r.o.Towns*capacityGridsPerTown)
	}
	r.token, err = r.db.CreateToken(ctx, "capacity-planner", geo.AccessPlanner, "wangge-load")
	return err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// serverProc is `wangge serve` running as a child process.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	pid    int
	log    bytes.Buffer
	mu     sync.Mutex
	exited chan struct{}
}

func (s *serverProc) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop ends the server with SIGTERM, or SIGKILL after 30 s.
func (s *serverProc) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// freePort returns a loopback address with a free port.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var capacityStartupLog = regexp.MustCompile(`msg=serving .*startup=(\S+)`)

// start runs `wangge serve` on the database and times it to a 200 from
// /readyz, then reads its memory.
func (r *capacityRun) start(ctx context.Context) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(r.o.Bin, "serve", "--addr", addr, "--demo=false")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "WANGGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DATABASE_URL="+r.cluster.ConnString("wangge"), "WANGGE_SECRET_KEY="+capacitySecretKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	s := &serverProc{cmd: cmd, addr: addr, exited: make(chan struct{})}
	r.logf("starting %s serve on %s", r.o.Bin, addr)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.pid = cmd.Process.Pid
	r.srv = s
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		cmd.Wait()
		close(s.exited)
	}()
	var ready time.Duration
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("wangge serve exited before it was ready:\n%s", s.logText())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if res, err := r.client.Get("http://" + addr + "/readyz"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				r.readyAt = time.Now()
				ready = r.readyAt.Sub(t0)
				break
			}
		}
		if time.Since(t0) > 10*time.Minute {
			return fmt.Errorf("wangge serve not ready after 10 minutes:\n%s", s.logText())
		}
	}
	logged := "?"
	if m := capacityStartupLog.FindStringSubmatch(s.logText()); m != nil {
		logged = m[1]
	}
	cpu := procCPU(s.pid)
	r.row("start-up: process start to /readyz 200", fmt.Sprintf("%.1f s", ready.Seconds()),
		fmt.Sprintf("(the server logs startup=%s; its CPU time to ready %.1f s)", logged, cpu.Seconds()))
	m, err := r.metrics()
	if err != nil {
		return err
	}
	r.row("memory after start: RSS / Go heap in use / heap allocated / Go runtime total", fmt.Sprintf("%.0f / %.0f / %.0f / %.0f MiB",
		mib(int64(m["process_resident_memory_bytes"])), mib(int64(m["go_memstats_heap_inuse_bytes"])),
		mib(int64(m["go_memstats_heap_alloc_bytes"])), mib(int64(m["go_memstats_sys_bytes"]))), "(/metrics, just after ready)")
	r.watch = r.watchSnapshot(context.WithoutCancel(ctx))
	d, err := r.firstLookup(ctx)
	if err != nil {
		return err
	}
	d2, err := r.firstLookup(ctx)
	if err != nil {
		return err
	}
	r.row("first `GET /v1/locate` after ready / the next one", fmt.Sprintf("%.2f s / %.1f ms", d.Seconds(), float64(d2.Microseconds())/1000),
		fmt.Sprintf("(answers are rendered per grid on first use; server CPU time so far %.1f s)", procCPU(s.pid).Seconds()))
	if m, err = r.metrics(); err != nil {
		return err
	}
	r.row("memory after the first lookup: RSS / Go heap in use / heap allocated", fmt.Sprintf("%.0f / %.0f / %.0f MiB",
		mib(int64(m["process_resident_memory_bytes"])), mib(int64(m["go_memstats_heap_inuse_bytes"])),
		mib(int64(m["go_memstats_heap_alloc_bytes"]))), "(/metrics)")
	return nil
}

// procCPU is the user and system CPU time process pid has used.
func procCPU(pid int) time.Duration {
	t, _, ok := procTimes(strconv.Itoa(pid))
	if !ok {
		return 0
	}
	return time.Duration(t) * time.Second / 100 // USER_HZ
}

// vmStatus reads a "Vm…" line of /proc/pid/status, in bytes.
func vmStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// metrics reads the server's /metrics into name → value (unlabelled
// series only).
func (r *capacityRun) metrics() (map[string]float64, error) {
	res, err := r.client.Get("http://" + r.srv.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// api sends one request with the planner's token and decodes a JSON
// answer into into (nil: discard). It returns the response.
func (r *capacityRun) api(ctx context.Context, method, path string, body any, into any, header ...string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+r.srv.addr+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res, err
	}
	if res.StatusCode >= 300 {
		return res, fmt.Errorf("%s %s: %d %.500s", method, path, res.StatusCode, b)
	}
	if into != nil {
		return res, json.Unmarshal(b, into)
	}
	return res, nil
}

// lap runs fn and returns the share of the machine's CPU time other
// processes (not this one, the server or PostgreSQL) took meanwhile.
func (r *capacityRun) lap(fn func() error) (float64, error) {
	r.meter.lap()
	s0 := procCPU(r.srv.pid)
	err := fn()
	l, ok := r.meter.lap()
	if !ok {
		return 0, err
	}
	server := (procCPU(r.srv.pid) - s0).Seconds() * 100 // clock ticks
	return max(l.foreign-server, 0) / l.total, err
}

// capacityPoints are uniform random points over the whole coverage.
func (r *capacityRun) points() []orb.Point {
	b := capacityTownBound(0)
	for t := 1; t < r.o.Towns; t++ {
		b = b.Union(capacityTownBound(t))
	}
	return randomPoints(b, pointCount, 12)
}

// measureLookups checks the server's answers against PostGIS and
// measures single lookups at 1 and -c connections and batches at 2, each
// against the same in PostGIS.
func (r *capacityRun) measureLookups(ctx context.Context) error {
	var err error
	if r.pool, err = openBenchPool(ctx, r.cluster.ConnString("wangge"), max(r.o.Conns, 2)); err != nil {
		return err
	}
	pts := r.points()
	if err := r.checkAgainstPostGIS(ctx, pts[:300]); err != nil {
		return err
	}
	warm := min(r.o.Duration/5, time.Second)
	type m struct {
		what  string
		conns int
		run   func(conns int) (*loadResult, error)
		batch bool
	}
	getReqs := locateRequests(pts)
	postReqs := make([][]byte, 8)
	for i := range postReqs {
		postReqs[i] = postJSONRequest("/v1/locate", batchBody(window(pts, i*batchPoints, batchPoints)))
	}
	slowest := map[string]time.Duration{}
	httpGet := func(c int) (*loadResult, error) {
		res, worst, err := capacityLoad(ctx, r.srv.addr, getReqs, 1, c, warm, r.o.Duration)
		slowest[fmt.Sprint("get", c)] = worst
		return res, err
	}
	pgOne := func(c int) (*loadResult, error) { return pgLocateOne(ctx, r.pool, pts, c, warm, r.o.Duration) }
	httpPost := func(c int) (*loadResult, error) {
		res, worst, err := capacityLoad(ctx, r.srv.addr, postReqs, batchPoints, c, warm, r.o.Duration)
		slowest[fmt.Sprint("post", c)] = worst
		return res, err
	}
	pgBatch := func(c int) (*loadResult, error) { return pgLocateBatch(ctx, r.pool, pts, c, warm, r.o.Duration) }
	for _, pair := range [][2]m{
		{{"`GET /v1/locate`", 1, httpGet, false}, {"PostGIS `ST_Covers` (GiST), one point a query", 1, pgOne, false}},
		{{"`GET /v1/locate`", r.o.Conns, httpGet, false}, {"PostGIS `ST_Covers` (GiST), one point a query", r.o.Conns, pgOne, false}},
		{{"`POST /v1/locate`, 10,000 points a request", 2, httpPost, true}, {"PostGIS, 1,000 points a query (`unnest` + `LATERAL`)", 2, pgBatch, true}},
	} {
		var res [2]*loadResult
		var other [2]float64
		if err := r.quietWindow(ctx, 2*(warm+r.o.Duration)+2*time.Second); err != nil {
			return err
		}
		for k, mm := range pair {
			r.logf("%s, %d connections", mm.what, mm.conns)
			o, err := r.lap(func() (err error) { res[k], err = mm.run(mm.conns); return })
			if err != nil {
				return fmt.Errorf("%s: %w", mm.what, err)
			}
			other[k] = o
		}
		w, p := res[0], res[1]
		if pair[0].batch {
			r.row(fmt.Sprintf("%s, %d connections", pair[0].what, pair[0].conns),
				fmt.Sprintf("%s points/s", thousands(int64(w.itemsPerSec()))),
				fmt.Sprintf("PostGIS: %s points/s (%s): **%.1f×**; other processes %.0f%% / %.0f%% of the CPU",
					thousands(int64(p.itemsPerSec())), pair[1].what, w.itemsPerSec()/p.itemsPerSec(), 100*other[0], 100*other[1]))
			continue
		}
		r.row(fmt.Sprintf("%s, %d connection(s)", pair[0].what, pair[0].conns),
			fmt.Sprintf("%s lookups/s; p50 %s, p99 %s, slowest %s", thousands(int64(w.opsPerSec())), us(w.Latency.quantile(0.5)), us(w.Latency.quantile(0.99)), us(slowest[fmt.Sprint("get", pair[0].conns)])),
			fmt.Sprintf("PostGIS: %s lookups/s, p50 %s, p99 %s: **%.1f×** the rate; other processes %.0f%% / %.0f%% of the CPU",
				thousands(int64(p.opsPerSec())), us(p.Latency.quantile(0.5)), us(p.Latency.quantile(0.99)),
				w.opsPerSec()/p.opsPerSec(), 100*other[0], 100*other[1]))
	}
	return nil
}

// us formats a duration in microseconds.
func us(d time.Duration) string { return thousands(d.Microseconds()) + " µs" }

// checkAgainstPostGIS compares GET /v1/locate's grid with PostGIS's
// ST_Covers answer on pts: the coverage has no gaps, so both must name
// the same grid (the smallest code on a shared border).
func (r *capacityRun) checkAgainstPostGIS(ctx context.Context, pts []orb.Point) error {
	bad := 0
	for _, p := range pts {
		var loc struct{ Grid struct{ Code string } }
		if _, err := r.api(ctx, "GET", locateTarget(p), nil, &loc); err != nil {
			return err
		}
		var code string
		if err := r.pool.QueryRow(ctx, "locate_one", p[0], p[1]).Scan(&code); err != nil {
			return fmt.Errorf("PostGIS at %v: %w", p, err)
		}
		if code != loc.Grid.Code {
			bad++
			r.logf("  %v: wangge %s, PostGIS %s", p, loc.Grid.Code, code)
		}
	}
	r.logf("checked %d points: %d answers differ between the server and PostGIS", len(pts), bad)
	if bad > 0 {
		return fmt.Errorf("%d of %d points located differently by the server and by PostGIS", bad, len(pts))
	}
	return nil
}

// snapshotWatch follows the server's snapshots through /readyz (its
// generation and load time, to the second) and its RSS, every 100 ms.
// /readyz, unlike the grid and locate routes, does not render anything
// for a new snapshot, so watching does not change what is measured.
type snapshotWatch struct {
	mu      sync.Mutex
	events  []snapshotEvent
	maxRSS  int64
	stopped chan struct{}
	stop    func()
}

// snapshotEvent is a snapshot seen for the first time.
type snapshotEvent struct {
	gen      int64
	loadedAt time.Time // when the server began loading it, to the second
	seenAt   time.Time
}

// last returns the latest event.
func (w *snapshotWatch) last() snapshotEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.events) == 0 {
		return snapshotEvent{}
	}
	return w.events[len(w.events)-1]
}

func (r *capacityRun) watchSnapshot(ctx context.Context) *snapshotWatch {
	w := &snapshotWatch{stopped: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	go func() {
		defer close(w.stopped)
		var last string
		for ctx.Err() == nil {
			rss := vmStatus(r.srv.pid, "VmRSS")
			var ready struct {
				Generation int64  `json:"generation"`
				LoadedAt   string `json:"loaded_at"`
			}
			_, err := r.api(ctx, "GET", "/readyz", nil, &ready)
			now := time.Now()
			w.mu.Lock()
			w.maxRSS = max(w.maxRSS, rss)
			if key := fmt.Sprint(ready.Generation, ready.LoadedAt); err == nil && key != last {
				last = key
				at, _ := time.Parse(time.RFC3339, ready.LoadedAt)
				w.events = append(w.events, snapshotEvent{gen: ready.Generation, loadedAt: at, seenAt: now})
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

// capacityReloadEvery is `wangge serve`'s periodic reload (reloadEvery in
// cmd/wangge): its ticker starts just before the server listens.
const capacityReloadEvery = time.Minute

// nextTick is the next periodic reload after t.
func (r *capacityRun) nextTick(t time.Time) time.Time {
	k := t.Sub(r.readyAt)/capacityReloadEvery + 1
	return r.readyAt.Add(k * capacityReloadEvery)
}

// quietWindow waits, if needed, so that the next need of time holds no
// periodic reload tick of the server (a tick reloads only when something
// dated came into force) and a first lookup has been made on the snapshot
// in use: the rate figures then measure lookups, not reloads, which are
// measured on their own.
func (r *capacityRun) quietWindow(ctx context.Context, need time.Duration) error {
	if until := time.Until(r.nextTick(time.Now())); until < need+2*time.Second {
		tick := r.nextTick(time.Now())
		cpu0 := procCPU(r.srv.pid)
		r.logf("  waiting %v for the periodic reload at %s to be served", until.Round(time.Second), tick.Format("15:04:05"))
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if e := r.watch.last(); e.seenAt.After(tick) {
				cpuReload := procCPU(r.srv.pid) - cpu0
				d, err := r.firstLookup(ctx)
				if err != nil {
					return err
				}
				r.reloads = append(r.reloads, fmt.Sprintf("%s: swapped in %.1f s after the tick (server CPU %.1f s), then the first lookup %.1f s (server CPU %.1f s in all)",
					tick.Format("15:04:05"), e.seenAt.Sub(tick).Seconds(), cpuReload.Seconds(), d.Seconds(), (procCPU(r.srv.pid)-cpu0).Seconds()))
				r.logf("  %s", r.reloads[len(r.reloads)-1])
				break
			}
		}
	}
	if e := r.watch.last(); e.seenAt.After(r.warmed) {
		if _, err := r.firstLookup(ctx); err != nil {
			return err
		}
	}
	return nil
}

// firstLookup times one GET /v1/locate and marks the snapshot rendered.
func (r *capacityRun) firstLookup(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	_, err := r.api(ctx, "GET", locateTarget(capacityCell(0, 0).Center()), nil, nil)
	r.warmed = time.Now()
	return r.warmed.Sub(t0), err
}

// capacityLoad is a closed-loop HTTP load like httpLoad, but a slow
// answer (a reload's stall) is measured, not failed: each read may take up
// to capacitySlack. It also returns the slowest request.
func capacityLoad(ctx context.Context, addr string, reqs [][]byte, items, workers int, warmup, d time.Duration) (*loadResult, time.Duration, error) {
	deadline := time.Now().Add(warmup + d + capacitySlack)
	ops := make([]op, workers)
	slowest := make([]time.Duration, workers)
	for w := range ops {
		c, err := dialRaw(addr, deadline)
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		next := w * len(reqs) / workers
		ops[w] = func() (int, error) {
			req := reqs[next%len(reqs)]
			next++
			t0 := time.Now()
			status, _, err := c.do(req)
			slowest[w] = max(slowest[w], time.Since(t0))
			if err != nil {
				return 0, err
			}
			if status != 200 {
				return 0, fmt.Errorf("status %d for %.80q", status, req)
			}
			return items, nil
		}
	}
	res, err := runLoad(ctx, ops, warmup, d)
	if err != nil {
		return nil, 0, err
	}
	var worst time.Duration
	for _, s := range slowest {
		worst = max(worst, s)
	}
	return res, worst, nil
}

// capacitySlack is how long after its load a read may still take.
const capacitySlack = 5 * time.Minute

// paced is what a paced load measured: the latency of the lookups
// answered 200 and every failure.
type paced struct {
	hist     histogram
	ok, bad  atomic.Int64
	failures []string
	mu       sync.Mutex
	// worst is the slowest lookup and when it started.
	worst   time.Duration
	worstAt time.Time
}

// pacedLoad keeps up rate GET /v1/locate a second over pts on 8
// connections until stop is closed; a failed connection is dialled again.
// The caller waits on the WaitGroup before reading the result.
func (r *capacityRun) pacedLoad(ctx context.Context, pts []orb.Point, rate int, stop <-chan struct{}) (*paced, *sync.WaitGroup) {
	const workers = 8
	p := &paced{}
	reqs := locateRequests(pts)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * workers / float64(rate))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h histogram
			defer func() { p.mu.Lock(); p.hist.merge(&h); p.mu.Unlock() }()
			var c *rawConn
			fail := func(msg string) {
				p.bad.Add(1)
				p.mu.Lock()
				if len(p.failures) < 20 {
					p.failures = append(p.failures, msg)
				}
				p.mu.Unlock()
				if c != nil {
					c.Close()
					c = nil
				}
			}
			next := time.Now().Add(time.Duration(w) * interval / workers)
			for i := w; ; i += workers {
				select {
				case <-stop:
					if c != nil {
						c.Close()
					}
					return
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(interval)
				if c == nil {
					var err error
					if c, err = dialRaw(r.srv.addr, time.Now().Add(time.Hour)); err != nil {
						fail(err.Error())
						continue
					}
				}
				t0 := time.Now()
				status, _, err := c.do(reqs[i%len(reqs)])
				d := time.Since(t0)
				switch {
				case err != nil:
					fail(err.Error())
				case status != 200:
					fail(fmt.Sprintf("status %d for %.80q", status, reqs[i%len(reqs)]))
				default:
					p.ok.Add(1)
					h.record(d)
					p.mu.Lock()
					if d > p.worst {
						p.worst, p.worstAt = d, t0
					}
					p.mu.Unlock()
				}
			}
		}()
	}
	return p, &wg
}

// measurePlan opens a plan of one town through the API, splits one of its
// grids, validates and applies it, while a paced load locates points in
// the other towns; then checks the split is served.
func (r *capacityRun) measurePlan(ctx context.Context) error {
	town := r.o.Towns / 2
	code := capacityTownCode(town)
	tb := capacityTownBound(town)
	var others []orb.Point
	for _, p := range r.points() {
		if !tb.Pad(0.0001).Contains(p) {
			others = append(others, p)
		}
	}
	watch := r.watch
	if err := r.quietWindow(ctx, 20*time.Second); err != nil {
		return err
	}
	stop := make(chan struct{})
	load, wg := r.pacedLoad(ctx, others, r.o.PlanRate, stop)
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	r.logf("plan on town %s while %d lookups/s go to the other towns", code, r.o.PlanRate)
	time.Sleep(2 * time.Second) // the load's steady state
	rssBefore := vmStatus(r.srv.pid, "VmRSS")

	var times []string
	step := func(what string, fn func() error) error {
		t := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		times = append(times, fmt.Sprintf("%s %.2f s", what, time.Since(t).Seconds()))
		r.logf("  %s: %v", what, time.Since(t).Round(time.Millisecond))
		return nil
	}
	var plan struct{ ID int64 }
	if err := step("create (`POST /v1/plans` {\"town\"})", func() error {
		_, err := r.api(ctx, "POST", "/v1/plans", map[string]any{"town": code, "note": "capacity run: split one grid"}, &plan)
		return err
	}); err != nil {
		return err
	}
	base := "/v1/plans/" + strconv.FormatInt(plan.ID, 10)
	i0, j0 := (town%capacityTownsAcross)*capacityTownCols, (town/capacityTownsAcross)*capacityTownRows
	cell := capacityCell(i0, j0)
	mid := (cell.Min[0] + cell.Max[0]) / 2
	split, newCode := code+"001001", code+"001101"
	line := map[string]any{"type": "LineString", "coordinates": [][]float64{{mid, cell.Min[1] - 0.0005}, {mid, cell.Max[1] + 0.0005}}}
	if err := step("split a grid (`POST …/split`)", func() error {
		_, err := r.api(ctx, "POST", base+"/split", map[string]any{"code": split, "line": line, "new_code": newCode}, nil)
		return err
	}); err != nil {
		return err
	}
	var report struct {
		Grids, Blocking, Warnings int
	}
	if err := step("validate (`GET …/validation`)", func() error {
		_, err := r.api(ctx, "GET", base+"/validation", nil, &report)
		return err
	}); err != nil {
		return err
	}
	res, err := r.api(ctx, "GET", base, nil, nil)
	if err != nil {
		return err
	}
	etag := res.Header.Get("ETag")
	genBefore, err := r.db.CurrentGeneration(ctx)
	if err != nil {
		return err
	}
	// The commit is seen from here, polling the database's generation.
	var committedAt atomic.Int64
	pollDone := make(chan struct{})
	pollCtx, stopPoll := context.WithCancel(ctx)
	go func() {
		defer close(pollDone)
		for pollCtx.Err() == nil {
			if g, err := r.db.CurrentGeneration(pollCtx); err == nil && g > genBefore {
				committedAt.Store(time.Now().UnixNano())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var applied struct{ Generation int64 }
	applyStart := time.Now()
	err = step("apply (`POST …/apply`, answered after the reload)", func() error {
		_, err := r.api(ctx, "POST", base+"/apply", nil, &applied, "If-Match", etag)
		return err
	})
	applyEnd := time.Now()
	stopPoll()
	<-pollDone
	if err != nil {
		return err
	}
	// Let the load run on through the NOTIFY-triggered reload.
	time.Sleep(3 * time.Second)
	rssAfter := vmStatus(r.srv.pid, "VmRSS")
	stopLoad()

	var p struct{ Grid struct{ Code string } }
	half := capacityCell(i0, j0).Center()
	if _, err := r.api(ctx, "GET", locateTarget(orb.Point{half[0] + 0.0003, half[1]}), nil, &p); err != nil {
		return err
	}
	var q struct{ Grid struct{ Code string } }
	if _, err := r.api(ctx, "GET", locateTarget(orb.Point{half[0] - 0.0003, half[1]}), nil, &q); err != nil {
		return err
	}
	if (p.Grid.Code != newCode && q.Grid.Code != newCode) || p.Grid.Code == q.Grid.Code {
		return fmt.Errorf("after the apply the two halves of %s are located in %s and %s, want %s and %s", split, q.Grid.Code, p.Grid.Code, split, newCode)
	}

	commit := time.Unix(0, committedAt.Load())
	r.row("plan on one town (1,000 grids) while the others are served", strings.Join(times, "; "),
		fmt.Sprintf("generation %d → %d; validation of %d grids: %d blocking, %d warnings", genBefore, applied.Generation, report.Grids, report.Blocking, report.Warnings))
	if committedAt.Load() != 0 {
		r.row("apply: committed in PostgreSQL / snapshot reloaded", fmt.Sprintf("%.2f s / %.2f s", commit.Sub(applyStart).Seconds(), applyEnd.Sub(commit).Seconds()),
			"(commit seen by polling the generation every 10 ms; reload = commit to the apply's answer, which waits for this replica's reload)")
	}
	watch.mu.Lock()
	for _, e := range watch.events {
		if e.gen == applied.Generation && committedAt.Load() != 0 {
			r.row("new generation in use by the server (/readyz) after the commit", fmt.Sprintf("%.2f s", e.seenAt.Sub(commit).Seconds()),
				"(/readyz polled every 100 ms; each grid's answer is rendered on its first lookup on it)")
			break
		}
	}
	maxRSS := watch.maxRSS
	watch.mu.Unlock()
	load.mu.Lock()
	defer load.mu.Unlock()
	r.row("lookups in the other towns during the plan", fmt.Sprintf("%s answered 200, **%d failed**", thousands(load.ok.Load()), load.bad.Load()),
		fmt.Sprintf("paced at %d/s on 8 connections; p50 %s, p99 %s, p99.9 %s, slowest %s (at %s, apply %s–%s)", r.o.PlanRate,
			us(load.hist.quantile(0.5)), us(load.hist.quantile(0.99)), us(load.hist.quantile(0.999)), us(load.worst),
			load.worstAt.Format("15:04:05.000"), applyStart.Format("15:04:05.000"), applyEnd.Format("15:04:05.000")))
	for _, f := range load.failures {
		r.note("lookup failure during the plan: %s", f)
	}
	r.row("RSS before the plan / after the apply / highest seen during it", fmt.Sprintf("%.0f / %.0f / %.0f MiB", mib(rssBefore), mib(rssAfter), mib(maxRSS)),
		"(/proc/PID/status VmRSS, sampled every 50 ms)")
	if load.bad.Load() > 0 {
		return errors.New("lookups failed while the plan was applied")
	}
	return nil
}

// finish adds the server's peak memory and its reload log.
func (r *capacityRun) finish() {
	m, err := r.metrics()
	if err == nil {
		r.row("memory at the end: RSS / Go heap in use / heap allocated", fmt.Sprintf("%.0f / %.0f / %.0f MiB",
			mib(int64(m["process_resident_memory_bytes"])), mib(int64(m["go_memstats_heap_inuse_bytes"])), mib(int64(m["go_memstats_heap_alloc_bytes"]))), "")
	}
	r.watch.mu.Lock()
	var loads []string
	for _, e := range r.watch.events {
		loads = append(loads, fmt.Sprintf("g%d loaded from %s, in use %s", e.gen, e.loadedAt.Format("15:04:05"), e.seenAt.Format("15:04:05.0")))
	}
	r.watch.mu.Unlock()
	r.note("snapshots over the run (/readyz, load start to the second): %s", strings.Join(loads, "; "))
	for _, l := range r.reloads {
		r.note("periodic reload at %s", l)
	}
	r.row("peak RSS of the server over the run (VmHWM)", fmt.Sprintf("%.0f MiB", mib(vmStatus(r.srv.pid, "VmHWM"))),
		fmt.Sprintf("(server CPU time over the run: %.1f s)", procCPU(r.srv.pid).Seconds()))
}

// write prints the report.
func (r *capacityRun) write() error {
	var b strings.Builder
	fmt.Fprintf(&b, "| metric | wangge serve | notes |\n|---|---:|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", row[0], row[1], row[2])
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(r.out, b.String())
	return err
}
