package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/pgstore"
)

// TestPlanApply_crash runs the real `wangge serve` binary on its embedded
// PostgreSQL in a fresh data folder and kills it while it applies a plan:
//
//  1. SIGKILL of the server inside the apply transaction (held open just
//     before COMMIT by pgstore.ApplyPauseEnv);
//  2. an immediate shutdown of PostgreSQL (SIGQUIT to the postmaster: no
//     checkpoint, crash recovery on the next start) inside the transaction,
//     then SIGKILL of the server;
//  3. SIGKILL at random moments of an apply running at full speed, a few
//     times.
//
// After each crash the server is restarted and the database must hold
// exactly one consistent generation: the newest generation's grids tile
// the town, every grid row is wholly of one generation or another, the
// plan is applied if and only if its generation exists, and locate (from
// the restarted server's snapshot) agrees with ST_Covers on the current
// grids.
func TestPlanApply_crash(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dir, err := os.MkdirTemp("", "wangge-crash-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the cluster runs as postgres when the tests run as root
	bin := filepath.Join(dir, "wangge")
	if out, err := exec.Command("go", "build", "-o", bin, "wangge/cmd/wangge").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))
	c := &crashEnv{t: t, bin: bin, dataDir: filepath.Join(dir, "data")}

	c.start("")
	t.Cleanup(c.shutdown)
	c.adopt()
	secret, err := c.db.CreateToken(context.Background(), "crash-planner", geo.AccessPlanner, "test")
	if err != nil {
		t.Fatal(err)
	}
	c.token = secret
	c.restart("") // tokens are read at start
	gen := c.check(1, "")
	t.Logf("started with the demo town in %v", time.Since(start).Round(time.Millisecond))

	// 1. The server dies inside the transaction.
	plan, point := c.splitPlan()
	c.restart("60s")
	c.applyInBackground(plan)
	c.waitPaused()
	c.kill()
	c.start("")
	gen = c.check(gen, plan)
	if gen != 1 {
		t.Fatalf("a kill inside the apply transaction left generation %d, want 1", gen)
	}
	c.locateAgrees(point, gen)

	// 2. PostgreSQL dies inside the transaction.
	c.restart("60s")
	c.applyInBackground(plan)
	c.waitPaused()
	c.crashPostgres()
	c.kill()
	c.start("")
	if gen = c.check(gen, plan); gen != 1 {
		t.Fatalf("a crash of PostgreSQL inside the apply transaction left generation %d, want 1", gen)
	}

	// 3. Kills at random moments of applies at full speed.
	r := rand.New(rand.NewPCG(20261122, 5))
	for i := range 3 {
		if c.planStatus(plan) == geo.PlanApplied {
			plan, point = c.splitPlan()
		}
		c.applyInBackground(plan)
		time.Sleep(time.Duration(r.IntN(250)) * time.Millisecond)
		c.kill()
		c.start("")
		gen = c.check(gen, plan)
		c.locateAgrees(point, gen)
		t.Logf("random kill %d: generation %d, plan %s", i+1, gen, c.planStatus(plan))
	}

	// And an apply that finishes moves the point to the new grid.
	if c.planStatus(plan) != geo.PlanApplied {
		if status := c.apply(plan); status != 200 {
			t.Fatalf("apply after the crashes: %d", status)
		}
		gen = c.check(gen, plan)
	}
	c.locateAgrees(point, gen)
	t.Logf("crash test done in %v", time.Since(start).Round(time.Millisecond))
}

// crashEnv is a running `wangge serve` and the database it uses.
type crashEnv struct {
	t       *testing.T
	bin     string
	dataDir string
	cmd     *exec.Cmd
	addr    string
	exited  chan struct{}
	log     *bytes.Buffer
	cluster *pgstore.Cluster
	db      *pgstore.DB
	token   string
	// newCode is the grid code the last split made, and oldCode the grid
	// split.
	newCode, oldCode string
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// start runs the binary; pause, if not empty, is the apply pause.
func (c *crashEnv) start(pause string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", c.dataDir)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, pgstore.ApplyPauseEnv+"=") {
			env = append(env, kv)
		}
	}
	if pause != "" {
		env = append(env, pgstore.ApplyPauseEnv+"="+pause)
	}
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmd, c.log, c.exited = cmd, &bytes.Buffer{}, make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			c.log.WriteString(line + "\n")
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
		close(c.exited)
	}()
	select {
	case c.addr = <-addr:
	case <-c.exited:
		c.t.Fatalf("wangge serve exited before serving:\n%s", c.log)
	case <-time.After(90 * time.Second):
		c.t.Fatalf("wangge serve did not start in 90 s:\n%s", c.log)
	}
}

// kill sends SIGKILL to the server and waits for it to die.
func (c *crashEnv) kill() {
	c.t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// restart stops the server gracefully and starts it again.
func (c *crashEnv) restart(pause string) {
	c.t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.kill()
	}
	if c.db != nil { // serve stopped PostgreSQL: the test's pool is stale
		c.db.Close()
		c.db = nil
	}
	c.start(pause)
	c.adopt()
}

// shutdown stops the server and its PostgreSQL at the end of the test.
func (c *crashEnv) shutdown() {
	if c.db != nil {
		c.db.Close()
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exited
	}
	// A server killed last leaves PostgreSQL running: stop it.
	if cl, err := pgstore.StartCluster(context.Background(), c.dataDir, pgstore.ClusterOptions{}); err == nil && cl.Adopted {
		cl.Stop()
	}
}

// adopt connects the test to the server's running PostgreSQL.
func (c *crashEnv) adopt() {
	c.t.Helper()
	ctx := context.Background()
	cl, err := pgstore.StartCluster(ctx, c.dataDir, pgstore.ClusterOptions{})
	if err != nil || !cl.Adopted {
		c.t.Fatalf("adopting the server's PostgreSQL: %v", err)
	}
	c.cluster = cl
	if c.db != nil {
		c.db.Close()
	}
	if c.db, err = pgstore.Open(ctx, cl.ConnString("wangge")); err != nil {
		c.t.Fatal(err)
	}
}

// crashPostgres shuts PostgreSQL down immediately (SIGQUIT to the
// postmaster): open transactions are lost, and the next start recovers
// from the WAL.
func (c *crashEnv) crashPostgres() {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.cluster.PGData, "postmaster.pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	if err != nil {
		c.t.Fatal(err)
	}
	c.db.Close()
	c.db = nil
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// http sends a request to the server as the planner.
func (c *crashEnv) http(method, path string, body any, out any, header ...string) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+c.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %d %v: %s", method, path, res.StatusCode, err, b)
		}
	}
	return res.StatusCode
}

// splitPlan opens a plan that splits a grid in two (the first grid a
// north–south line through the middle of its bounding box cuts in two)
// and returns it with a point in the new part.
func (c *crashEnv) splitPlan() (string, orb.Point) {
	c.t.Helper()
	var p struct{ ID int64 }
	if status := c.http("POST", "/v1/plans", map[string]any{"note": "crash test"}, &p); status != 201 {
		c.t.Fatalf("POST /v1/plans: %d", status)
	}
	var fc planCollection
	c.http("GET", fmt.Sprintf("/v1/plans/%d", p.ID), nil, &fc)
	ctx := context.Background()
	for i, f := range fc.Features {
		var g struct{ Coordinates [][][][2]float64 }
		json.Unmarshal(f.Geometry, &g)
		var b orb.Bound
		for k, pt := range g.Coordinates[0][0] {
			if k == 0 {
				b = orb.Bound{Min: orb.Point(pt), Max: orb.Point(pt)}
			}
			b = b.Extend(orb.Point(pt))
		}
		x := b.Center()[0]
		line := map[string]any{"type": "LineString", "coordinates": [][]float64{{x, b.Min[1] - 0.001}, {x, b.Max[1] + 0.001}}}
		code := f.Properties.Code
		newCode := fmt.Sprintf("%s%03d", code[:12], 900-i)
		status := c.http("POST", fmt.Sprintf("/v1/plans/%d/split", p.ID), map[string]any{"code": code, "line": line, "new_code": newCode}, nil)
		if status != 200 {
			continue
		}
		var pt orb.Point
		err := c.db.Pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM plan_grids, ST_PointOnSurface(geom) p WHERE plan_id = $1 AND code = $2`,
			p.ID, newCode).Scan(&pt[0], &pt[1])
		if err != nil {
			c.t.Fatal(err)
		}
		c.oldCode, c.newCode = code, newCode
		return strconv.FormatInt(p.ID, 10), pt
	}
	c.t.Fatal("no grid of the demo town could be split")
	return "", orb.Point{}
}

// applyInBackground sends the apply and lets it fail when the server dies.
func (c *crashEnv) applyInBackground(plan string) {
	etag := c.planETag(plan)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+c.addr+"/v1/plans/"+plan+"/apply", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("If-Match", etag)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
}

func (c *crashEnv) apply(plan string) int {
	return c.http("POST", "/v1/plans/"+plan+"/apply", nil, nil, "If-Match", c.planETag(plan))
}

func (c *crashEnv) planETag(plan string) string {
	var tag geo.PlanTag
	if err := c.db.Pool.QueryRow(context.Background(), `SELECT base_generation, revision FROM plans WHERE id = $1`, plan).Scan(&tag.Generation, &tag.Revision); err != nil {
		c.t.Fatal(err)
	}
	return strconv.Quote(tag.String())
}

func (c *crashEnv) planStatus(plan string) geo.PlanStatus {
	var s string
	if err := c.db.Pool.QueryRow(context.Background(), `SELECT status FROM plans WHERE id = $1`, plan).Scan(&s); err != nil {
		c.t.Fatal(err)
	}
	return geo.PlanStatus(s)
}

// waitPaused waits until the apply's transaction has done everything but
// COMMIT: idle in transaction after its NOTIFY.
func (c *crashEnv) waitPaused() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := c.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE '%pg_notify%'`).Scan(&n)
		if err != nil {
			c.t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("the apply never paused before COMMIT:\n%s", c.log)
}

// check verifies that the database holds exactly one consistent
// generation, prev or prev+1, that plan (if any) is applied exactly when
// its generation exists, and returns the generation.
func (c *crashEnv) check(prev int64, plan string) int64 {
	c.t.Helper()
	c.adopt()
	ctx := context.Background()
	var gen, current, atGen, retiredLater, laterVersions int64
	var symDiff, overlap float64
	err := c.db.Pool.QueryRow(ctx, `
		SELECT (SELECT max(id) FROM generations),
		       (SELECT count(*) FROM grids WHERE retired_generation IS NULL),
		       (SELECT count(*) FROM wangge_grids_at_generation((SELECT max(id) FROM generations))),
		       (SELECT count(*) FROM grids WHERE retired_generation > (SELECT max(id) FROM generations)),
		       (SELECT count(*) FROM grids WHERE generation > (SELECT max(id) FROM generations)),
		       (SELECT ST_Area(ST_SymDifference(ST_Union(g.geom), t.outline)::geography) FROM grids g, towns t
		        WHERE g.retired_generation IS NULL GROUP BY t.outline),
		       (SELECT coalesce(max(wangge_area_m2(ST_Intersection(a.geom, b.geom))), 0)
		        FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom
		        WHERE a.retired_generation IS NULL AND b.retired_generation IS NULL)`).
		Scan(&gen, &current, &atGen, &retiredLater, &laterVersions, &symDiff, &overlap)
	if err != nil {
		c.t.Fatal(err)
	}
	switch {
	case gen != prev && gen != prev+1:
		c.t.Fatalf("generation %d after a crash from %d", gen, prev)
	case current != atGen || retiredLater != 0 || laterVersions != 0:
		c.t.Fatalf("generation %d is not consistent: %d current rows, %d in force in it, %d retired later, %d versions of later generations",
			gen, current, atGen, retiredLater, laterVersions)
	case symDiff >= 1 || overlap > 0.01:
		c.t.Fatalf("the grids of generation %d do not tile the town: symmetric difference %.3f m², overlap %.3f m²", gen, symDiff, overlap)
	}
	if plan != "" {
		var status string
		var applied *int64
		if err := c.db.Pool.QueryRow(ctx, `SELECT status, applied_generation FROM plans WHERE id = $1`, plan).Scan(&status, &applied); err != nil {
			c.t.Fatal(err)
		}
		if advanced := gen == prev+1; advanced != (status == string(geo.PlanApplied)) || (applied != nil && *applied != gen) {
			c.t.Fatalf("generation %d (from %d) but plan %s is %s (applied as %v)", gen, prev, plan, status, applied)
		}
	}
	return gen
}

// locateAgrees checks that the server routes the split's point to the
// grid the database says covers it in generation gen (the new part once
// applied, the old grid before), and that locate agrees with ST_Covers on
// points across the town.
func (c *crashEnv) locateAgrees(point orb.Point, gen int64) {
	c.t.Helper()
	ctx := context.Background()
	var bounds orb.Bound
	var minX, minY, maxX, maxY float64
	if err := c.db.Pool.QueryRow(ctx, `SELECT ST_XMin(outline), ST_YMin(outline), ST_XMax(outline), ST_YMax(outline) FROM towns`).
		Scan(&minX, &minY, &maxX, &maxY); err != nil {
		c.t.Fatal(err)
	}
	bounds = orb.Bound{Min: orb.Point{minX, minY}, Max: orb.Point{maxX, maxY}}
	r := rand.New(rand.NewPCG(uint64(gen), 9))
	pts := [][]float64{{point[0], point[1]}}
	for range 300 {
		pts = append(pts, []float64{bounds.Min[0] + r.Float64()*(bounds.Max[0]-bounds.Min[0]), bounds.Min[1] + r.Float64()*(bounds.Max[1]-bounds.Min[1])})
	}
	var answer struct {
		Generation int64
		Results    []struct{ Grid *string }
	}
	if status := c.http("POST", "/v1/locate", map[string]any{"points": pts}, &answer); status != 200 || answer.Generation != gen {
		c.t.Fatalf("locate after the restart: %d, generation %d, want %d", status, answer.Generation, gen)
	}
	for i, p := range pts {
		var want *string
		err := c.db.Pool.QueryRow(ctx, `SELECT min(code) FROM grids WHERE retired_generation IS NULL
			AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))`, p[0], p[1]).Scan(&want)
		if err != nil {
			c.t.Fatal(err)
		}
		got := answer.Results[i].Grid
		if want != nil && (got == nil || *got != *want) {
			c.t.Fatalf("point %v: locate says %v, ST_Covers on generation %d says %s", p, got, gen, *want)
		}
	}
	var inNew bool
	c.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1 AND retired_generation IS NULL)`, c.newCode).Scan(&inNew)
	want := c.oldCode
	if inNew {
		want = c.newCode
	}
	if got := answer.Results[0].Grid; got == nil || *got != want {
		c.t.Fatalf("the split's point is located in %v, want %s (generation %d)", got, want, gen)
	}
}
