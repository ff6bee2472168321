package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// TestMain sets gin's process-wide mode as main does, and runs the tests
// against a throwaway PostgreSQL cluster; as TestLargeLayer's child it
// runs wangge instead.
func TestMain(m *testing.M) {
	if os.Getenv(largeLayerChildEnv) != "" {
		os.Exit(largeLayerChild())
	}
	gin.SetMode(gin.ReleaseMode)
	pgtest.Main(m)
}

// server is a running `wangge serve`.
type server struct {
	t      *testing.T
	main   *Main
	cancel context.CancelFunc
	done   chan error
	log    *syncLog
}

// startServer boots the real Main on a free port with cfg and waits until
// it serves.
func startServer(t *testing.T, cfg Config) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncLog{}
	m := NewMain(io.Discard, log)
	m.Config = cfg
	m.Config.Addr = "127.0.0.1:0"
	s := &server{t: t, main: m, cancel: cancel, done: make(chan error, 1), log: log}
	go func() { s.done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-s.done:
		t.Fatalf("serve stopped before serving: %v\n%s", err, log)
	case <-time.After(90 * time.Second):
		t.Fatalf("serve did not start in 90 s\n%s", log)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		s.t.Errorf("serve returned %v\n%s", err, s.log)
	}
}

func (s *server) get(path string, v any) int {
	s.t.Helper()
	res, err := http.Get("http://" + s.main.Addr + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return res.StatusCode
}

type locateAnswer struct {
	Match      string
	Grid       struct{ Code string }
	Leader     *struct{ Name string }
	Generation int64
}

// demoPoint is a point inside the first grid of the demo town and its code.
func demoPoint(t *testing.T) (lon, lat float64, code string) {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := geo.NewSnapshot(1, td.Area(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := snap.Whole().Outline.Bound()
	for i := 1; ; i++ {
		p := b.Center()
		p[0] += float64(i) * 1e-4
		if loc, ok := snap.Locate(p, 0); ok && loc.Match.String() == "inside" {
			return p[0], p[1], loc.Grid.Code
		}
	}
}

// TestServe_embeddedDatabase is `make run`: no DATABASE_URL, a fresh data
// folder; the server starts PostgreSQL, loads the demo town, answers, stops
// PostgreSQL on shutdown, and a second start reuses the data. While the
// database is down, lookups keep working from memory.
func TestServe_embeddedDatabase(t *testing.T) {
	t.Parallel()
	// Not t.TempDir: its parent is closed to other users, and the server runs
	// as the postgres user when the tests run as root.
	dir, err := os.MkdirTemp("", "wangge-serve-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	cfg := DefaultConfig()
	cfg.DatabaseURL = ""
	cfg.DataDir = filepath.Join(dir, "data")
	lon, lat, code := demoPoint(t)
	target := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", lon, lat)

	start := time.Now()
	s := startServer(t, cfg)
	first := time.Since(start)
	var got locateAnswer
	if status := s.get(target, &got); status != 200 || got.Grid.Code != code || got.Leader == nil || got.Generation != 1 {
		t.Fatalf("locate: %d %+v, want %s", status, got, code)
	}
	if !strings.Contains(s.log.String(), "loading the demo town") {
		t.Errorf("the first start did not say it loaded the demo town:\n%s", s.log)
	}

	// PostgreSQL goes down: lookups go on from memory, readiness says so.
	c, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{})
	if err != nil || !c.Adopted {
		t.Fatalf("adopting the running cluster: %v (adopted %v)", err, c != nil && c.Adopted)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if status := s.get(target, &got); status != 200 || got.Grid.Code != code {
		t.Errorf("locate with the database down: %d %+v", status, got)
	}
	var ready struct{ Database string }
	if status := s.get("/readyz", &ready); status != 200 || ready.Database != "unavailable" {
		t.Errorf("readyz with the database down: %d %+v", status, ready)
	}
	s.stop()
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("PostgreSQL still running after shutdown (postmaster.pid: %v)", err)
	}

	start = time.Now()
	s = startServer(t, cfg)
	second := time.Since(start)
	if status := s.get(target, &got); status != 200 || got.Generation != 1 {
		t.Errorf("second start: %d %+v, want generation 1 (data reused)", status, got)
	}
	if strings.Contains(s.log.String(), "loading the demo town") || strings.Contains(s.log.String(), "initialising") {
		t.Errorf("the second start re-created the data:\n%s", s.log)
	}
	s.stop()
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("PostgreSQL still running after the second shutdown")
	}
	t.Logf("first start %v, second start %v", first.Round(time.Millisecond), second.Round(time.Millisecond))
}

// TestServe_databaseURL uses an existing server and picks up a new
// generation imported by another process through LISTEN/NOTIFY.
func TestServe_databaseURL(t *testing.T) {
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL = url
	cfg.DataDir = ""
	s := startServer(t, cfg)
	lon, lat, code := demoPoint(t)
	var got locateAnswer
	target := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", lon, lat)
	if status := s.get(target, &got); status != 200 || got.Grid.Code != code {
		t.Fatalf("locate: %d %+v", status, got)
	}

	// Another process re-imports the town with a new leader on that grid.
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"export", "-database-url", url, "-out", dir}, &out, &errb); err != nil {
		t.Fatalf("export: %v\n%s", err, errb.String())
	}
	td, err := townfile.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range td.Grids {
		if td.Grids[i].Code == code {
			td.Grids[i].Leader = &geo.Contact{Name: "新来的网格长", Phone: "13800000000"}
		}
	}
	if err := townfile.WriteDir(dir, td); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), []string{"import", "-database-url", url, dir}, &out, &errb); err != nil {
		t.Fatalf("import: %v\n%s", err, errb.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.get(target, &got)
		if got.Generation == 2 && got.Leader != nil && got.Leader.Name == "新来的网格长" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not pick up generation 2: %+v\n%s", got, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestExportImport_roundTrip: export then import into another database
// gives byte-identical files, the grids organization members serve
// included.
func TestExportImport_roundTrip(t *testing.T) {
	src, dst := pgtest.ConnString(t), pgtest.ConnString(t)
	var out, errb bytes.Buffer
	run := func(args ...string) {
		t.Helper()
		if err := Run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("wangge %v: %v\n%s", args, err, errb.String())
		}
	}
	fixtureDir := t.TempDir()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := townfile.WriteDir(fixtureDir, td); err != nil {
		t.Fatal(err)
	}
	served := t.TempDir() // the fixture, with a member serving two grids of the village
	v := slices.IndexFunc(td.Villages, func(v geo.Village) bool { return len(v.Organizations) > 0 && len(v.Organizations[0].Members) > 0 })
	var villageGrids []string
	for _, g := range td.Grids {
		if g.VillageCode == td.Villages[v].Code {
			villageGrids = append(villageGrids, g.Code)
		}
	}
	member := &td.Villages[v].Organizations[0].Members[0]
	member.Grids = villageGrids[:2]
	if err := townfile.WriteDir(served, td); err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	run("import", "-database-url", src, fixtureDir)
	run("import", "-database-url", src, served)
	run("export", "-database-url", src, "-out", a)
	run("import", "-database-url", dst, a)
	run("export", "-database-url", dst, "-out", b)
	for _, name := range []string{townfile.TownFile, townfile.VillagesFile, townfile.GridsFile} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		z, _ := os.ReadFile(filepath.Join(served, name))
		if !bytes.Equal(x, y) || !bytes.Equal(x, z) {
			t.Errorf("%s differs after export → import → export (or from the file imported)", name)
		}
	}
	back, err := townfile.ReadDir(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Villages[v].Organizations[0].Members[0]; got.Name != member.Name || !slices.Equal(got.Grids, member.Grids) {
		t.Errorf("exported twice, %s serves %v, want %v", got.Name, got.Grids, member.Grids)
	}
	for _, name := range []string{townfile.TownFile, townfile.VillagesFile, townfile.GridsFile} {
		x, _ := os.ReadFile(filepath.Join(fixtureDir, name))
		z, _ := fixtures.Heye.ReadFile(fixtures.HeyeDir + "/" + name)
		if !bytes.Equal(x, z) {
			t.Errorf("the demo's %s is not as townfile writes it", name)
		}
	}
}

// TestImport_refusesBrokenFiles: a broken file is refused with the feature
// named, and the database keeps what it had.
func TestImport_refusesBrokenFiles(t *testing.T) {
	url := pgtest.ConnString(t)
	dir := t.TempDir()
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	td.Grids[3].Geometry = td.Grids[4].Geometry // an overlap and a gap
	if err := townfile.WriteDir(dir, td); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"import", "-database-url", url, dir}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), td.Grids[3].Code) || !strings.Contains(errb.String(), "overlap") {
		t.Fatalf("import of overlapping grids: %v\n%s", err, errb.String())
	}
	os.WriteFile(filepath.Join(dir, townfile.GridsFile), []byte(`{"type":"FeatureCollection","features":[{"type":"Feature",`), 0o644)
	errb.Reset()
	err = Run(context.Background(), []string{"import", "-database-url", url, dir}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "grids.geojson") {
		t.Fatalf("import of truncated JSON: %v\n%s", err, errb.String())
	}
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if gen, _ := db.CurrentGeneration(context.Background()); gen != 0 {
		t.Errorf("generation %d after refused imports, want 0", gen)
	}
}

func TestLocateCommand(t *testing.T) {
	url := pgtest.ConnString(t)
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if _, err := db.ImportTown(context.Background(), td, "test", ""); err != nil {
		t.Fatal(err)
	}
	lon, lat, code := demoPoint(t)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"locate", "-database-url", url, fmt.Sprint(lon), fmt.Sprint(lat)}, &out, &errb); err != nil {
		t.Fatalf("locate: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), code) || !strings.Contains(out.String(), "leader") {
		t.Errorf("locate printed:\n%s", out.String())
	}
	out.Reset()
	err = Run(context.Background(), []string{"locate", "-database-url", url, "0", "0"}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "outside coverage") {
		t.Errorf("locate 0 0: %v, %s", err, out.String())
	}
	if err := Run(context.Background(), []string{"locate", "-database-url", url, "200", "0"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "lon") {
		t.Errorf("locate 200 0: %v", err)
	}
}

// TestTokens: a token created on the command line is accepted by a running
// server at once (NOTIFY), shows phones to a dispatcher, and is refused once
// revoked.
func TestTokens(t *testing.T) {
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = url, ""
	s := startServer(t, cfg)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-database-url", url, "-role", "dispatcher", "-name", "调度员-王芳"}, &out, &errb); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "wg_") {
		t.Fatalf("token create printed %q", secret)
	}
	if err := Run(context.Background(), []string{"token", "create", "-database-url", url, "-role", "dispatcher", "-name", "调度员-王芳"}, &out, &errb); err == nil {
		t.Error("a second token with the same name was created")
	}
	lon, lat, _ := demoPoint(t)
	target := fmt.Sprintf("http://%s/v1/locate?lon=%v&lat=%v", s.main.Addr, lon, lat)
	status := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	waitFor := func(want int) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := status()
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("status %d, want %d: %s", code, want, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if body := waitFor(200); !strings.Contains(body, `"phone"`) {
		t.Errorf("a dispatcher sees no phone: %s", body)
	}
	out.Reset()
	if err := Run(context.Background(), []string{"token", "list", "-database-url", url}, &out, &errb); err != nil || !strings.Contains(out.String(), "调度员-王芳") {
		t.Errorf("token list: %v\n%s", err, out.String())
	}
	if err := Run(context.Background(), []string{"token", "revoke", "-database-url", url, "调度员-王芳"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	waitFor(401)
	db, _ := pgstore.Open(context.Background(), url)
	defer db.Close()
	var n int
	db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE target = 'token:调度员-王芳'`).Scan(&n)
	if n != 2 {
		t.Errorf("%d audit entries for the token, want 2 (create, revoke)", n)
	}
}

// TestServe_databaseDownAndBack: with PostgreSQL stopped, creating an
// incident answers 503 problem+json (never 201), locate keeps answering
// from memory and readiness reports the database down; once PostgreSQL is
// back, writes succeed without restarting wangge.
func TestServe_databaseDownAndBack(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "wangge-fault-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = "", filepath.Join(dir, "data")
	s := startServer(t, cfg)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-data-dir", cfg.DataDir, "-role", "dispatcher", "-name", "desk"}, &out, &errb); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	lon, lat, code := demoPoint(t)
	post := func() (int, string) {
		body := fmt.Sprintf(`{"lon":%v,"lat":%v,"category":"safety","severity":"urgent","description":"桥面裂缝","source":"patrol"}`, lon, lat)
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.main.Addr+"/v1/incidents", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type") + " " + string(b)
	}
	until := func(want int) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := post()
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("POST /v1/incidents: %d, want %d: %s", code, want, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	until(201)

	c, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{})
	if err != nil || !c.Adopted {
		t.Fatalf("adopting the cluster: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		code, body := post()
		if code != 503 || !strings.HasPrefix(body, "application/problem+json") {
			t.Fatalf("with PostgreSQL down: %d %s, want 503 problem+json", code, body)
		}
	}
	var got locateAnswer
	if status := s.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", lon, lat), &got); status != 200 || got.Grid.Code != code {
		t.Errorf("locate with PostgreSQL down: %d %+v", status, got)
	}
	var ready struct{ Database string }
	if status := s.get("/readyz", &ready); status != 200 || ready.Database != "unavailable" {
		t.Errorf("readyz with PostgreSQL down: %d %+v", status, ready)
	}

	if _, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{}); err != nil {
		t.Fatal(err)
	}
	until(201)
	if status := s.get("/readyz", &ready); status != 200 || ready.Database != "ok" {
		t.Errorf("readyz after PostgreSQL is back: %d %+v", status, ready)
	}
}

// TestExport_formats: the command line exports the grids for GIS tools.
func TestExport_formats(t *testing.T) {
	url := pgtest.ConnString(t)
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if _, err := db.ImportTown(context.Background(), td, "test", ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"geojson", "kml", "kmz", "shp"} {
		out := filepath.Join(dir, "grids."+f)
		var stdout, stderr bytes.Buffer
		if err := Run(context.Background(), []string{"export", "-database-url", url, "-format", f, "-out", out}, &stdout, &stderr); err != nil {
			t.Fatalf("export -format %s: %v\n%s", f, err, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil || len(b) < 10_000 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"export", "-database-url", url, "-format", "dwg", "-out", filepath.Join(dir, "x")}, &stdout, &stderr); err == nil {
		t.Error("export -format dwg succeeded")
	}
}

// syncLog is a server's log as a test reads it while the server's
// goroutines write it.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
