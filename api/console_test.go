package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
)

// consoleDir is the console's npm project, relative to this package.
const consoleDir = "console"

// consoleInstall is how to get what the browser test needs, from the
// repository root.
const consoleInstall = "apt-get install -y chromium fonts-wqy-microhei && npm ci --prefix api/console"

func TestConsole_pageAndAssets(t *testing.T) {
	c := newClient(t)
	page := c.get("/")
	if page.StatusCode != 200 || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", page.StatusCode, page.Header.Get("Content-Type"))
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q, want the page kept to its origin", csp)
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q, want no-cache", cc)
	}
	if again := c.get("/", "If-None-Match", page.Header.Get("ETag")); again.StatusCode != 304 {
		t.Errorf("GET / with its ETag: %d, want 304", again.StatusCode)
	}
	if bytes.Contains(page.body, []byte("//")) && regexp.MustCompile(`(src|href)="(https?:)?//`).Match(page.body) {
		t.Errorf("index.html loads something from another origin:\n%s", page.body)
	}

	// Every file index.html names is served under a versioned URL, with the
	// right type, cached for a year; without the version it revalidates.
	refs := regexp.MustCompile(`"(/console/[^"?]+)\?v=([0-9a-f]{12})"`).FindAllStringSubmatch(string(page.body), -1)
	want := map[string]string{"/console/app.js": "text/javascript; charset=utf-8",
		"/console/maplibre-gl.css": "text/css; charset=utf-8", "/console/style.css": "text/css; charset=utf-8",
		"/console/favicon.svg": "image/svg+xml"}
	for _, ref := range refs {
		res := c.get(ref[1] + "?v=" + ref[2])
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s?v=%s: %d, Cache-Control %q", ref[1], ref[2], res.StatusCode, res.Header.Get("Cache-Control"))
		}
		if ct, ok := want[ref[1]]; ok && res.Header.Get("Content-Type") != ct {
			t.Errorf("%s: Content-Type %q, want %q", ref[1], res.Header.Get("Content-Type"), ct)
		}
		delete(want, ref[1])
		if stale := c.get(ref[1] + "?v=000000000000"); stale.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s with another version: Cache-Control %q, want no-cache", ref[1], stale.Header.Get("Cache-Control"))
		}
	}
	if len(want) > 0 {
		t.Errorf("index.html does not name %v with a version", want)
	}

	// The module imports, fetched without a version: typed, revalidated
	// with the ETag, gzipped on request.
	for _, name := range []string{"maplibre-gl.mjs", "maplibre-gl-worker.mjs", "crs.js", "geometry.js"} {
		res := c.get("/console/" + name)
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || etag == "" {
			t.Errorf("/console/%s: %d %q ETag %q", name, res.StatusCode, res.Header.Get("Content-Type"), etag)
			continue
		}
		if again := c.get("/console/"+name, "If-None-Match", etag); again.StatusCode != 304 {
			t.Errorf("/console/%s with its ETag: %d, want 304", name, again.StatusCode)
		}
		gz := c.get("/console/"+name, "Accept-Encoding", "gzip, br")
		if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("ETag") == etag || !strings.Contains(gz.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("/console/%s gzipped: Content-Encoding %q, ETag %q (identity %q)", name, gz.Header.Get("Content-Encoding"), gz.Header.Get("ETag"), etag)
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, res.body) {
			t.Errorf("/console/%s: the gzip body does not decode to the file (%v)", name, err)
		}
		if no := c.get("/console/"+name, "Accept-Encoding", "gzip;q=0"); no.Header.Get("Content-Encoding") != "" {
			t.Errorf("/console/%s with gzip;q=0: Content-Encoding %q", name, no.Header.Get("Content-Encoding"))
		}
	}
	if res := c.get("/console/nothing.js"); res.StatusCode != 404 {
		t.Errorf("/console/nothing.js: %d, want a 404 problem", res.StatusCode)
	}
	if res := c.do(http.MethodHead, "/console/app.js", nil); res.StatusCode != 200 || len(res.body) != 0 {
		t.Errorf("HEAD /console/app.js: %d with %d bytes", res.StatusCode, len(res.body))
	}
}

func TestConsole_town(t *testing.T) {
	c := newClient(t)
	res := c.get("/console/town.json")
	var town struct {
		Code, Name, Note string
		Generation       int64
		BBox             [4]float64
		Outline          struct {
			Type        string
			Coordinates [][][][2]float64
		}
	}
	res.json(t, &town)
	if town.Code != demo.Whole().Code || town.Name != "荷叶镇" || town.Generation != demo.Generation {
		t.Errorf("town.json: %s %s generation %d", town.Code, town.Name, town.Generation)
	}
	if !strings.Contains(town.Note, "Synthetic") || !strings.Contains(town.Note, "合成") {
		t.Errorf("the demo town's note does not say it is synthetic: %q", town.Note)
	}
	b := demo.Whole().Outline.Bound()
	if town.BBox != [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} || town.Outline.Type != "MultiPolygon" ||
		town.Outline.Coordinates[0][0][0] != [2]float64(demo.Whole().Outline[0][0][0]) {
		t.Errorf("town.json: bbox %v, outline %s starting at %v", town.BBox, town.Outline.Type, town.Outline.Coordinates[0][0][0])
	}
	if again := c.get("/console/town.json", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != 304 {
		t.Errorf("town.json with its ETag: %d, want 304", again.StatusCode)
	}
	var empty geo.Registry
	if res := newClientFor(t, &empty).get("/console/town.json"); res.StatusCode != 503 {
		t.Errorf("town.json before the first snapshot: %d, want 503", res.StatusCode)
	}
}

// TestConsole_distIsBuilt checks that the embedded dist/ is the build of
// src/ and of the maplibre-gl version package-lock.json pins: a change to
// src/ without `npm run build` fails here, without needing npm.
func TestConsole_distIsBuilt(t *testing.T) {
	src, err := os.ReadDir(filepath.Join(consoleDir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range src {
		a, errA := os.ReadFile(filepath.Join(consoleDir, "src", e.Name()))
		b, errB := os.ReadFile(filepath.Join(consoleDir, "dist", e.Name()))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("dist/%s is not src/%s: run `npm run build --prefix api/console` (%v, %v)", e.Name(), e.Name(), errA, errB)
		}
	}
	var lock struct {
		Packages map[string]struct{ Version string }
	}
	raw, err := os.ReadFile(filepath.Join(consoleDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	version := lock.Packages["node_modules/maplibre-gl"].Version
	lib, err := os.ReadFile(filepath.Join(consoleDir, "dist", "maplibre-gl.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if version == "" || !bytes.Contains(lib[:min(len(lib), 300)], []byte("maplibre-gl-js/blob/v"+version+"/")) {
		t.Errorf("dist/maplibre-gl.mjs is not maplibre-gl %q of package-lock.json: run `npm ci --prefix api/console && npm run build --prefix api/console`", version)
	}
}

// consoleProbe is what the browser test clicks and searches, worked out from
// the snapshot so that the browser is checked against the index, not
// against itself.
type consoleProbe struct {
	Grids int `json:"grids"`
	Click struct {
		Lon float64 `json:"lon"`
		Lat float64 `json:"lat"`
		// RoomM is a lower bound of the distance to the grid's edges.
		RoomM  float64 `json:"room_m"`
		Code   string  `json:"code"`
		Leader string  `json:"leader"`
	} `json:"click"`
	Search struct {
		Text string     `json:"text"`
		CRS  string     `json:"crs"`
		Code string     `json:"code"`
		WGS  [2]float64 `json:"wgs"`
	} `json:"search"`
	// Token is a dispatcher's bearer token; Incident is the number of the
	// incident at the search point.
	Token    string `json:"token"`
	Incident string `json:"incident"`
}

// consoleIncidents is an incident store holding a fixed list, enough for
// the console's incidents layer (GET /v1/incidents) without a database.
type consoleIncidents struct{ list []*geo.Incident }

func (s consoleIncidents) CreateIncident(context.Context, *geo.Incident, string, []byte, func(*geo.Incident) []geo.OutboxMessage) (*geo.Incident, bool, error) {
	return nil, false, fmt.Errorf("read-only")
}

func (s consoleIncidents) Incident(_ context.Context, number string) (*geo.Incident, error) {
	for _, inc := range s.list {
		if inc.Number == number {
			return inc, nil
		}
	}
	return nil, fmt.Errorf("no incident %s", number)
}

func (s consoleIncidents) AddIncidentEvent(context.Context, string, string, string, []byte, time.Time, func(*geo.Incident) (geo.IncidentChange, error)) (*geo.Incident, error) {
	return nil, fmt.Errorf("read-only")
}

func (s consoleIncidents) ListIncidents(context.Context, geo.IncidentFilter) ([]*geo.Incident, int64, error) {
	return s.list, 0, nil
}

func (s consoleIncidents) IncidentStats(context.Context, geo.IncidentFilter) (*geo.IncidentStats, error) {
	return &geo.IncidentStats{}, nil
}

// newConsoleIncidents puts an incident at the probe's search point and an
// overdue one at its click point.
func newConsoleIncidents(p *consoleProbe) consoleIncidents {
	now := time.Now()
	at := func(lon, lat float64) *[2]float64 { return &[2]float64{lon, lat} }
	p.Incident = "SJ-CONSOLE-1"
	return consoleIncidents{list: []*geo.Incident{
		{ID: 1, Number: p.Incident, Category: geo.CatDispute, Severity: geo.SevMajor, Status: geo.StDispatched,
			Location: at(p.Search.WGS[0], p.Search.WGS[1]), GridCode: p.Search.Code, Match: "inside",
			Assignee:   geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: "测试网格长"},
			ReportedAt: now, ReceivedAt: now, DueAt: now.Add(24 * time.Hour)},
		{ID: 2, Number: "SJ-CONSOLE-2", Category: geo.CatSafety, Severity: geo.SevUrgent, Status: geo.StAccepted,
			Location: at(p.Click.Lon, p.Click.Lat), GridCode: p.Click.Code, Match: "inside",
			Assignee:   geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: p.Click.Leader},
			ReportedAt: now.Add(-5 * time.Hour), ReceivedAt: now.Add(-5 * time.Hour), DueAt: now.Add(-3 * time.Hour)},
	}}
}

// roomiest returns, for each grid, the sampled point inside it farthest
// from its edges, and that distance in degrees.
func roomiest(s *geo.Snapshot) ([]orb.Point, []float64) {
	const n = 24
	pts := make([]orb.Point, len(s.Grids))
	room := make([]float64, len(s.Grids))
	for i, g := range s.Grids {
		b := g.Geometry.Bound()
		for y := range n {
			for x := range n {
				p := orb.Point{b.Min[0] + (float64(x)+0.5)*(b.Max[0]-b.Min[0])/n, b.Min[1] + (float64(y)+0.5)*(b.Max[1]-b.Min[1])/n}
				loc, ok := s.Locate(p, 0)
				if !ok || loc.Grid.Code != g.Code || loc.Match.String() != "inside" {
					continue
				}
				if d := planar.DistanceFrom(g.Geometry, p); d > room[i] {
					pts[i], room[i] = p, d
				}
			}
		}
	}
	return pts, room
}

func newConsoleProbe(t *testing.T) consoleProbe {
	t.Helper()
	pts, room := roomiest(demo)
	first, second := -1, -1
	for i := range room {
		if first < 0 || room[i] > room[first] {
			first = i
		}
	}
	for i := range room {
		if demo.Grids[i].VillageCode != demo.Grids[first].VillageCode && (second < 0 || room[i] > room[second]) {
			second = i
		}
	}
	if first < 0 || second < 0 || room[second] < 0.001 {
		t.Fatalf("no grid with room to click in (best %d, %d)", first, second)
	}
	var p consoleProbe
	p.Grids = len(demo.Grids)
	g := demo.Grids[first]
	p.Click.Lon, p.Click.Lat, p.Click.Code = pts[first][0], pts[first][1], g.Code
	// A planar distance in degrees is at least this many metres: a degree
	// of longitude is the shorter one.
	p.Click.RoomM = room[first] * 111_320 * math.Cos(p.Click.Lat*math.Pi/180)
	if g.Leader == nil {
		t.Fatalf("grid %s has no leader", g.Code)
	}
	p.Click.Leader = g.Leader.Name

	// The search point is given in GCJ-02, as picked on AMap, rounded as a
	// person would type it; WGS is where it really is.
	h := demo.Grids[second]
	gcj := chinacrs.WGS84ToGCJ02(pts[second])
	gcj = orb.Point{math.Round(gcj[0]*1e6) / 1e6, math.Round(gcj[1]*1e6) / 1e6}
	wgs := chinacrs.GCJ02ToWGS84(gcj)
	if loc, ok := demo.Locate(wgs, 0); !ok || loc.Grid.Code != h.Code || loc.Match.String() != "inside" {
		t.Fatalf("the search point %v (GCJ-02) is not inside grid %s", gcj, h.Code)
	}
	p.Search.Text = fmt.Sprintf("%v, %v", gcj[0], gcj[1])
	p.Search.CRS, p.Search.Code, p.Search.WGS = "gcj02", h.Code, [2]float64(wgs)
	return p
}

// consoleBrowserTools returns Node.js and Chromium, and fails the test,
// rather than skipping it, when they or the npm packages are missing.
func consoleBrowserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: the console's browser test needs Node.js 20 or newer (playwright-core 1.65 does not run on older ones), then `%s`", consoleInstall)
	}
	chromium = os.Getenv("WANGGE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s (set WANGGE_CHROMIUM to another): install it with `%s`", chromium, consoleInstall)
	}
	if _, err := os.Stat(filepath.Join(consoleDir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("api/console/node_modules lacks playwright-core: run `npm ci --prefix api/console` from the repository root")
	}
	return node, chromium
}

// consoleArtifacts is where the browser test leaves its screenshots:
// $WANGGE_ARTIFACTS/console when set, else api/console/testdata/artifacts
// (git-ignored).
func consoleArtifacts(t *testing.T) string {
	dir := filepath.Join(consoleDir, "testdata", "artifacts")
	if root := os.Getenv("WANGGE_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, "console")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestConsole_browser loads the console in headless Chromium against the
// real API over the demo town, with a dispatcher token and two incidents
// (a fixed in-memory store, no database): see console/test/browser.mjs for
// the checks.
// It fails, rather than skips, when Node.js, Chromium or the npm packages
// are missing.
func TestConsole_browser(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)

	p := newConsoleProbe(t)
	incidents := newConsoleIncidents(&p)
	secret, hash := geo.NewTokenSecret()
	var tokens geo.TokenSet
	tokens.Store(map[[32]byte]geo.Token{hash: {Name: "console-test", Role: geo.AccessDispatcher, Hash: hash}})
	p.Token = secret

	var reg geo.Registry
	reg.Store(demo)
	srv := httptest.NewServer(api.New(&reg, nil, api.Config{Tokens: &tokens, Incidents: incidents}, nil))
	defer srv.Close()

	probe, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	artifacts := consoleArtifacts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("test", "browser.mjs"), srv.URL, artifacts, string(probe))
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "WANGGE_CHROMIUM="+chromium)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node test/browser.mjs (%.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("the browser test failed: %v; screenshots, if any, in %s", err, artifacts)
	}
	t.Logf("screenshots: %s", filepath.Join(artifacts, "console.png"))
}

// deskProbe is what the dispatcher's desk test pastes, clicks and expects,
// worked out from dispatchTown.
type deskProbe struct {
	Token string `json:"token"`
	// Link is an AMap share link to the centre of grid 5, in GCJ-02 as
	// AMap gives it; GCJ is that point, WGS where it really is. Taken as
	// WGS-84 without conversion it would fall in grid 6.
	Link        string     `json:"link"`
	GCJ         [2]float64 `json:"gcj"`
	WGS         [2]float64 `json:"wgs"`
	Grid        string     `json:"grid"`
	Leader      string     `json:"leader"`
	LeaderPhone string     `json:"leader_phone"`
	// Baidu is a Baidu share link (lat,lng, BD-09) to the centre of
	// grid 3, BaiduGrid.
	Baidu     string `json:"baidu"`
	BaiduGrid string `json:"baidu_grid"`
	// Click is a WGS-84 point in grid 1, picked on the map.
	Click struct {
		WGS    [2]float64 `json:"wgs"`
		Grid   string     `json:"grid"`
		Leader string     `json:"leader"`
	} `json:"click"`
	Category string `json:"category"`
	// Reassign is who the case is then given to.
	Reassign struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
		Note  string `json:"note"`
	} `json:"reassign"`
	// Escalate is the note the case is then escalated with.
	Escalate string `json:"escalate"`
}

// drainOutbox runs the delivery worker until nothing is due (at most 10 s)
// and returns how many messages it handled.
func drainOutbox(ctx context.Context, e *notifyEnv) (int, error) {
	total := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		n, err := e.worker.Round(ctx)
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			continue
		}
		var due int
		if err := e.db.Pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')").Scan(&due); err != nil {
			return total, err
		}
		if due == 0 {
			return total, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return total, fmt.Errorf("the outbox did not drain in 10 s")
}

// TestConsole_desk drives the dispatcher's desk (调度台) in headless
// Chromium against a server with real stores (PostgreSQL, an outbox, the
// five kinds of channel pointed at local receivers): a dispatcher's token
// is set, a map click and then an AMap share link route the intake before
// it is sent (a Baidu link too, and the link reader's edge cases are
// checked), an incomplete intake shows its field errors, a double click
// creates one incident, the case is listed, opened, its messages shown
// delivered after the worker runs (the one to a failing webhook dead,
// with its error), and reassigned to a named person (a bad
// phone first), then escalated with a note. The API then confirms the grid (the GCJ-02 point converted
// to WGS-84), the reassignment and the deliveries. The browser part is
// deskBrowserScript, below; the worker runs when it asks, between steps.
// Screenshots: desk-*.png in consoleArtifacts.
func TestConsole_desk(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	e := newNotifyEnv(t)

	var p deskProbe
	p.Token = e.secrets[geo.AccessDispatcher]
	p.Category = "environment"
	grid := e.snap.Grids[4] // grid 5: 网格长5 in office
	if grid.Leader == nil {
		t.Fatalf("grid %s has no leader", grid.Code)
	}
	p.Grid, p.Leader, p.LeaderPhone = grid.Code, grid.Leader.Name, grid.Leader.Phone
	gcj := chinacrs.WGS84ToGCJ02(centre(5))
	gcj = orb.Point{math.Round(gcj[0]*1e6) / 1e6, math.Round(gcj[1]*1e6) / 1e6}
	p.GCJ, p.WGS = [2]float64(gcj), [2]float64(chinacrs.GCJ02ToWGS84(gcj))
	if loc, ok := e.snap.Locate(orb.Point(p.WGS), 0); !ok || loc.Grid.Code != p.Grid {
		t.Fatalf("the link's point %v (GCJ-02) is not in grid %s", gcj, p.Grid)
	}
	unconverted := ""
	if loc, ok := e.snap.Locate(gcj, 0); ok {
		unconverted = loc.Grid.Code
	}
	if unconverted == p.Grid {
		t.Fatalf("the link's point %v falls in grid %s whether converted or not: the test would not see a missing conversion", gcj, p.Grid)
	}
	p.Link = fmt.Sprintf("https://uri.amap.com/marker?position=%v,%v&name=%s&src=wangge-test&coordinate=gaode&callnative=0",
		gcj[0], gcj[1], "荷叶镇测试点")
	bd := chinacrs.FromWGS84(chinacrs.BD09, centre(3))
	p.Baidu = fmt.Sprintf("http://api.map.baidu.com/marker?location=%.6f,%.6f&title=%s&content=%s&output=html&src=webapp.wangge.test",
		bd[1], bd[0], "测试", "网格3")
	p.BaiduGrid = e.snap.Grids[2].Code
	first := e.snap.Grids[0]
	p.Click.WGS, p.Click.Grid, p.Click.Leader = [2]float64(centre(1)), first.Code, first.Leader.Name
	p.Reassign.Name, p.Reassign.Phone, p.Reassign.Note = "李调解员", "13700000099", "熟悉该片情况"
	p.Escalate = "涉及多户，需镇里协调"

	// The 12345 platform's webhook fails its first four requests: the
	// routing message to it is dead-lettered, and the desk must say so.
	e.webhook.FailStatus(4, 500)

	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	// The browser script asks for deliveries here (from Node.js, not
	// from the page), so the worker runs between its steps.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/deliver" {
			http.NotFound(w, r)
			return
		}
		n, err := drainOutbox(ctx, e)
		if err != nil {
			t.Errorf("delivering: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"delivered":%d}`, n)
	}))
	defer control.Close()

	probe, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	artifacts := consoleArtifacts(t)
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-", srv.URL, artifacts, control.URL, string(probe))
	cmd.Dir = consoleDir // where node_modules/playwright-core is found
	cmd.Stdin = strings.NewReader(deskBrowserScript)
	cmd.Env = append(os.Environ(), "WANGGE_CHROMIUM="+chromium)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node (the desk's browser script, %.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("the desk's browser test failed: %v; screenshots, if any, in %s", err, artifacts)
	}
	m := regexp.MustCompile(`(?m)^RESULT (\{.*\})$`).FindSubmatch(out)
	if m == nil {
		t.Fatal("the browser script printed no RESULT")
	}
	var result struct{ Number string }
	if err := json.Unmarshal(m[1], &result); err != nil {
		t.Fatal(err)
	}

	// Through the API: one incident (the double click made one), in grid
	// 5, at the AMap point converted to WGS-84, reassigned, every message
	// delivered but the dead one.
	var list struct{ Incidents []struct{ Number string } }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents", nil, &list); code != 200 || len(list.Incidents) != 1 || list.Incidents[0].Number != result.Number {
		t.Fatalf("GET /v1/incidents: %d %+v, want the one incident %s", code, list.Incidents, result.Number)
	}
	var inc struct {
		Number, Status, Category, Severity, Description string
		Grid                                            struct{ Code, Match string }
		Location                                        [2]float64
		Input                                           struct {
			CRS      string
			Lon, Lat float64
		}
		Assignee struct{ Role, Name, Phone, Reason string }
		Reporter struct{ Name, Phone string }
		Events   []struct {
			Action, Actor, Note string
			Assignee            *struct{ Name, Phone string }
		}
		Messages []messageAnswer
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+result.Number, nil, &inc); code != 200 {
		t.Fatalf("GET /v1/incidents/%s: %d", result.Number, code)
	}
	if inc.Grid.Code != p.Grid || inc.Grid.Match != "inside" {
		t.Errorf("incident %s is in grid %s (%s), want %s (unconverted the point would be in %q)", inc.Number, inc.Grid.Code, inc.Grid.Match, p.Grid, unconverted)
	}
	if inc.Input.CRS != "gcj02" || inc.Input.Lon != p.GCJ[0] || inc.Input.Lat != p.GCJ[1] {
		t.Errorf("input %+v, want the link's %v in gcj02", inc.Input, p.GCJ)
	}
	if math.Abs(inc.Location[0]-p.WGS[0]) > 1e-9 || math.Abs(inc.Location[1]-p.WGS[1]) > 1e-9 {
		t.Errorf("location %v, want %v (the GCJ-02 point in WGS-84)", inc.Location, p.WGS)
	}
	if inc.Category != p.Category || inc.Severity != "urgent" || inc.Status != "dispatched" || inc.Reporter.Phone != "13812345678" {
		t.Errorf("incident: %s %s %s, reporter %+v", inc.Category, inc.Severity, inc.Status, inc.Reporter)
	}
	// Village 2 has no liaison leader: escalated, the case goes to the
	// town duty desk.
	if inc.Assignee.Role != "duty_desk" || inc.Assignee.Name != "镇值班室" {
		t.Errorf("assignee %+v, want the town duty desk after the escalation", inc.Assignee)
	}
	var actions []string
	reassigned, escalated := false, false
	for _, ev := range inc.Events {
		actions = append(actions, ev.Action)
		if ev.Action == "reassign" && ev.Assignee != nil && ev.Assignee.Name == p.Reassign.Name && ev.Assignee.Phone == p.Reassign.Phone && ev.Note == p.Reassign.Note {
			reassigned = true
		}
		escalated = escalated || ev.Action == "escalate" && ev.Note == p.Escalate
	}
	if !reassigned || !escalated || strings.Join(actions, ",") != "receive,dispatch,reassign,escalate" {
		t.Errorf("events %v, want receive, dispatch, one reassign to %s %s and one escalate, with their notes", actions, p.Reassign.Name, p.Reassign.Phone)
	}
	toLeader, toNew, dead := false, false, 0
	for _, msg := range inc.Messages {
		if msg.Channel == "12345平台" && msg.Kind == "routed" {
			dead++
			if msg.Status != "dead" || msg.Attempts != 4 || !strings.Contains(msg.LastError, "500") {
				t.Errorf("the routing message to the failing webhook: %+v, want dead after 4 attempts naming the 500", msg)
			}
		} else if msg.Status != "sent" {
			t.Errorf("message %s on %s to %s: %s (%s)", msg.ID, msg.Channel, msg.Recipient.Name, msg.Status, msg.LastError)
		}
		toLeader = toLeader || msg.Recipient.Phone == p.LeaderPhone
		toNew = toNew || msg.Recipient.Phone == p.Reassign.Phone
	}
	if !toLeader || !toNew || dead != 1 {
		t.Errorf("messages %+v: want some to the leader %s and some to %s", inc.Messages, p.LeaderPhone, p.Reassign.Phone)
	}
	var phones []string
	for _, sms := range e.sms.Received() {
		phones = append(phones, sms.Phone)
	}
	if !slices.Contains(phones, p.LeaderPhone) || !slices.Contains(phones, p.Reassign.Phone) {
		t.Errorf("the SMS gateway got messages for %v, want %s and %s", phones, p.LeaderPhone, p.Reassign.Phone)
	}
	t.Logf("screenshots: %s", filepath.Join(artifacts, "desk-*.png"))
}

// deskBrowserScript is TestConsole_desk's browser part, run by Node.js
// from api/console (for playwright-core) with the script on stdin:
//
//	node --input-type=module - URL ARTIFACT_DIR CONTROL_URL PROBE_JSON
//
// It prints one line per check ("ok" or "FAIL"), then "RESULT {number}"
// and exits 0 when every check passed. POST CONTROL_URL/deliver runs the
// delivery worker until the outbox is empty. (It is kept here rather than
// beside console/test/browser.mjs so that the test is one file.)
const deskBrowserScript = `
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, control, probeJSON] = process.argv.slice(2);
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
const started = Date.now();
const deadline = setTimeout(() => {
  console.error('FAIL: the desk test took more than 120 s');
  process.exit(1);
}, 120000);

const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log((ok ? 'ok   ' : 'FAIL ') + message);
  return ok;
}
function log(message) {
  console.log('     ' + message + ' (' + ((Date.now() - started) / 1000).toFixed(1) + ' s)');
}
const seen = [];
let allowed = () => false;
function saw(kind, text) {
  if (!allowed({ kind, text })) seen.push({ kind, text });
}
function nothingUnexpected(when) {
  check(seen.length === 0, 'no console errors, page errors or failed requests ' + when +
    (seen.length ? ':\n' + seen.map((e) => '       ' + e.kind + ': ' + e.text).join('\n') : ''));
  seen.length = 0;
}
// allow400 lets a phase provoke 400 answers from path.
function allow400(path) {
  allowed = (e) => (e.kind === 'HTTP 400' && e.text.includes(path))
    || (e.kind === 'console error' && /Failed to load resource: the server responded with a status of 400/.test(e.text));
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function deliver() {
  const res = await fetch(control + '/deliver', { method: 'POST' });
  const body = await res.json();
  log('the worker delivered ' + body.delivered + ' message(s)');
  return body.delivered;
}

mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--lang=zh-CN'],
});
let number = '';
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1,
    locale: 'zh-CN', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') saw('console error', m.text() + ' ' + (m.location().url || ''));
  });
  page.on('pageerror', (err) => saw('page error', err.stack || err.message));
  page.on('requestfailed', (r) => saw('failed request', r.method() + ' ' + r.url() + ': ' + (r.failure() || {}).errorText));
  page.on('response', (r) => {
    if (r.status() >= 400) saw('HTTP ' + r.status(), r.request().method() + ' ' + r.url());
  });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    saw('request to another origin', u);
    return route.abort();
  });
  // Every POST /v1/incidents and its Idempotency-Key, and the answers.
  const posts = [];
  const answers = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/incidents') posts.push(r.headers()['idempotency-key'] || '');
  });
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/incidents') answers.push(r.status());
  });
  const idle = () => page.evaluate(() => new Promise((resolve) => {
    const m = window.wangge.map;
    m.triggerRepaint();
    m.once('idle', resolve);
  }));
  const text = async (selector) => (await page.textContent(selector).catch(() => '')) || '';
  const waitFor = (selector, timeout = 10000) => page.waitForSelector(selector, { timeout }).then(() => true, () => false);

  // 1. The console, a dispatcher's token, the desk.
  await page.goto(url + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30000 });
  check(await page.evaluate(() => document.body.dataset.state) === 'ready', 'the console starts');
  await page.fill('#token-input', probe.token);
  await page.click('#token-form button[type=submit]');
  await page.click('#desk-toggle');
  check(await waitFor('#desk:not([hidden]) #intake-form'), 'the 调度台 button opens the desk on its intake form');
  await idle();
  log('desk open');

  // 2. A click on the map sets the point and shows where it goes.
  const screen = (wgs) => page.evaluate((p) => {
    const at = window.wangge.map.project(p);
    const r = window.wangge.map.getCanvas().getBoundingClientRect();
    return { x: r.left + at.x, y: r.top + at.y };
  }, wgs);
  let at = await screen(probe.click.wgs);
  await page.mouse.click(at.x, at.y);
  check(await waitFor('#intake-route[data-state=routed][data-grid="' + probe.click.grid + '"]'),
    'a click on the map routes the point to grid ' + probe.click.grid + ' before anything is sent');
  let route = await text('#intake-route');
  check(route.includes(probe.click.leader), 'the preview names its leader ' + probe.click.leader + ': ' + route.slice(0, 80));
  check(await page.inputValue('#intake-crs') === 'wgs84' && await page.isHidden('#panel'),
    'a picked point is WGS-84, and the click does not open the grid panel');

  // 3. A short link cannot be followed offline: the desk says so.
  await page.fill('#intake-where', 'https://surl.amap.com/2AbCdEf');
  await waitFor('#intake-where-note.error');
  const short = await text('#intake-where-note');
  check(/短链接/.test(short) && /离线/.test(short), 'a surl.amap.com short link is explained, not guessed: ' + short.slice(0, 60));

  // A Baidu link gives lat,lng in BD-09.
  await page.fill('#intake-where', probe.baidu);
  check(await waitFor('#intake-route[data-state=routed][data-grid="' + probe.baidu_grid + '"]') && await page.inputValue('#intake-crs') === 'bd09',
    'a Baidu marker link (lat,lng, BD-09 by default) routes to grid ' + probe.baidu_grid);
  // The link reader's edge cases, in the page's own module.
  const cases = [
    ['112.12,27.27', 112.12, 27.27, null],
    ['27.27，112.12', 112.12, 27.27, null],
    ['https://uri.amap.com/marker?position=112.1256,27.2672&coordinate=wgs84', 112.1256, 27.2672, 'wgs84'],
    ['https://ditu.amap.com/regeo?lng=112.12&lat=27.27', 112.12, 27.27, 'gcj02'],
    ['http://api.map.baidu.com/marker?location=27.2672,112.1256&coord_type=gcj02&output=html', 112.1256, 27.2672, 'gcj02'],
    ['http://api.map.baidu.com/marker?location=27.2672,112.1256&amp;coord_type=wgs84', 112.1256, 27.2672, 'wgs84'],
    ['https://map.baidu.com/?latlng=27.26,112.12', 112.12, 27.26, 'bd09'],
    ['https://apis.map.qq.com/uri/v1/marker?marker=coord:27.2672,112.1256;title:x', 112.1256, 27.2672, 'gcj02'],
    ['https://j.map.baidu.com/4a/AbC', null, null, 'error'],
    ['http://api.map.baidu.com/marker?location=3150000,12476000&coord_type=bd09mc', null, null, 'error'],
    ['https://www.amap.com/place/B0FFFAB6J2', null, null, 'error'],
  ];
  const parsed = await page.evaluate(async (list) => {
    const m = await import('/console/links.js');
    return list.map(([t]) => m.parseLocation(t));
  }, cases);
  const wrong = cases.map((c, i) => [c, parsed[i]]).filter(([[, lon, lat, crs], got]) => (crs === 'error' ? !got.error
    : got.lon !== lon || got.lat !== lat || got.crs !== crs)).map(([[t], got]) => t + ' → ' + JSON.stringify(got));
  check(wrong.length === 0, 'the link reader gets ' + cases.length + ' links and texts right' + (wrong.length ? ': ' + wrong.join('; ') : ''));

  // 4. The AMap share link: GCJ-02 recognised, routed to the right grid.
  await page.fill('#intake-where', '【高德地图】荷叶镇测试点 ' + probe.link);
  check(await waitFor('#intake-where-note[data-via=amap]'), 'the AMap share link is recognised');
  check(await waitFor('#intake-route[data-state=routed][data-grid="' + probe.grid + '"]'), 'the link routes to grid ' + probe.grid);
  const filled = { lon: await page.inputValue('#intake-lon'), lat: await page.inputValue('#intake-lat'), crs: await page.inputValue('#intake-crs') };
  check(Number(filled.lon) === probe.gcj[0] && Number(filled.lat) === probe.gcj[1] && filled.crs === 'gcj02',
    'lon, lat and crs are filled from the link: ' + JSON.stringify(filled));
  route = await text('#intake-route');
  check(route.includes(probe.leader), 'the preview names grid ' + probe.grid + "'s leader " + probe.leader);
  await idle();
  const marked = await page.evaluate((wgs) => {
    const m = window.wangge.map;
    const p = m.project(wgs);
    return { point: m.queryRenderedFeatures([p.x, p.y], { layers: ['desk-point'] }).length, selected: window.wangge.selected() };
  }, probe.wgs);
  check(marked.point === 1 && marked.selected === probe.grid, 'the point is marked where it is in WGS-84 and its grid highlighted: ' + JSON.stringify(marked));
  nothingUnexpected('while picking the point');

  // 5. Sent incomplete: each field says what is wrong.
  allow400('/v1/incidents');
  await page.click('#intake-submit');
  await waitFor('#intake-form .field[data-field=category] .field-error:not([hidden])');
  const bad = await page.$$eval('#intake-form .field-error:not([hidden])', (els) => els.map((e) => e.closest('.field').dataset.field));
  check(['category', 'severity', 'description'].every((f) => bad.includes(f)), 'an incomplete intake shows the errors beside category, severity and description: ' + bad.join(', '));
  check(/want one of/.test(await text('#intake-form .field[data-field=category] .field-error')), "the server's reason is shown");
  await page.screenshot({ path: join(artifacts, 'desk-intake-errors.png') });
  nothingUnexpected('but the 400 asked for');
  allowed = () => false;

  // 6. Filled in and double-clicked: one incident.
  await page.selectOption('#intake-category', probe.category);
  await page.selectOption('#intake-severity', 'urgent');
  await page.fill('#intake-description', '村道旁垃圾堆放多日，气味大，请尽快清理。');
  await page.fill('#intake-reporter-name', '王女士');
  await page.fill('#intake-reporter-phone', '13812345678');
  posts.length = 0;
  answers.length = 0;
  await page.dblclick('#intake-submit');
  check(await waitFor('#intake-result .created[data-number]'), 'the intake is accepted');
  for (let i = 0; i < 100 && answers.length < posts.length; i++) await sleep(50);
  number = await page.getAttribute('#intake-result .created', 'data-number');
  check(posts.length === 2 && posts[0] !== '' && posts[0] === posts[1],
    'a double click sends the intake twice with one Idempotency-Key: ' + JSON.stringify(posts));
  check(answers.slice().sort().join(',') === '200,201', 'the server creates it once (201) and returns it again (200): ' + answers.join(','));
  await sleep(200);
  const created = await text('#intake-result .created');
  check(created.includes(number) && created.includes(probe.leader) && (await page.$$('#intake-result .created')).length === 1,
    'the desk shows incident ' + number + ', given to ' + probe.leader + ': ' + created.slice(0, 120));
  await page.screenshot({ path: join(artifacts, 'desk-intake.png') });
  log('incident ' + number + ' created');

  // 7. The cases: listed, filtered.
  await page.click('#desk-tab-cases');
  check(await waitFor('#cases-list li.case[data-number="' + number + '"]'), 'the case is in the list of open cases');
  check((await page.$$('#cases-list li.case')).length === 1, 'one case in the list');
  check((await text('#cases-list li.case')).includes('已派单'), 'the case shows its status');
  await page.selectOption('#cases-category', 'dispute');
  await page.waitForFunction(() => document.getElementById('cases-view').dataset.state === 'loaded' && !document.querySelector('#cases-list li.case'), null, { timeout: 10000 }).catch(() => {});
  check((await page.$$('#cases-list li.case')).length === 0, 'filtered by another category, the list is empty');
  await page.selectOption('#cases-category', '');
  await waitFor('#cases-list li.case[data-number="' + number + '"]');
  await page.screenshot({ path: join(artifacts, 'desk-cases.png') });

  // 8. The worker delivers; the case shows every message sent.
  check(await deliver() > 0, 'the worker has messages to deliver');
  await page.click('#cases-list li.case[data-number="' + number + '"] > button');
  check(await waitFor('#case-detail .case-detail'), 'a click opens the case');
  const rows = () => page.$$eval('#case-detail tr.message', (trs) => trs.map((r) => ({ status: r.dataset.status, kind: r.dataset.kind,
    channel: r.dataset.channelKind, attempts: Number(r.querySelector('td.num').textContent), text: r.textContent,
    error: r.nextElementSibling && r.nextElementSibling.matches('.message-error') ? r.nextElementSibling.textContent : '' })));
  let msgs = await rows();
  const others = msgs.filter((m) => m.channel !== 'webhook');
  check(others.length >= 3 && others.every((m) => m.status === 'sent'), 'every message is shown delivered: ' + msgs.map((m) => m.channel + ' ' + m.status).join(', '));
  const hook = msgs.find((m) => m.channel === 'webhook') || {};
  check(hook.status === 'dead' && hook.attempts === 4 && /500/.test(hook.error) && /失败/.test(hook.text),
    'the message to the failing webhook is shown dead after 4 attempts with its last error: ' + JSON.stringify(hook));
  check(msgs.some((m) => m.channel === 'sms' && m.text.includes(probe.leader) && m.text.includes(probe.leader_phone)),
    'the SMS to the leader is listed with the recipient');
  check((await text('#case-detail dd.grid')).includes(probe.grid), 'the case shows its grid');
  const history = await page.$$eval('#case-detail .history li', (lis) => lis.map((li) => li.dataset.action));
  check(history.join(',') === 'receive,dispatch', 'the history shows receive and dispatch: ' + history.join(','));
  await idle();
  await page.screenshot({ path: join(artifacts, 'desk-case.png') });

  // 9. Reassigned to a named person: a bad phone first.
  allow400('/events');
  await page.click('#reassign-box > summary');
  await page.check('#reassign-named');
  await page.fill('#reassign-name', probe.reassign.name);
  await page.fill('#reassign-phone', '12345');
  await page.fill('#reassign-note', probe.reassign.note);
  await page.click('#reassign-submit');
  check(await waitFor('#act-reassign .field[data-field=assignee] .field-error:not([hidden])'), 'a bad phone is shown beside the person');
  nothingUnexpected('but the 400 asked for');
  allowed = () => false;
  await page.fill('#reassign-phone', probe.reassign.phone);
  await page.click('#reassign-submit');
  check(await waitFor('#case-detail .history li[data-action=reassign]'), 'the reassignment is in the history');
  const assignee = await text('#case-detail dd.assignee');
  check(assignee.includes(probe.reassign.name) && assignee.includes(probe.reassign.phone), 'the case is with ' + probe.reassign.name + ': ' + assignee);
  msgs = await rows();
  check(msgs.some((m) => m.kind === 'reassigned' && m.status === 'pending'), 'the reassignment messages are listed, pending');
  await deliver();
  await page.click('#case-refresh');
  await page.waitForFunction(() => {
    const trs = [...document.querySelectorAll('#case-detail tr.message[data-kind=reassigned]')];
    return trs.length && trs.every((r) => r.dataset.status === 'sent');
  }, null, { timeout: 10000 }).catch(() => {});
  msgs = await rows();
  const again = msgs.filter((m) => m.kind === 'reassigned');
  check(again.length >= 3 && again.every((m) => m.status === 'sent') && again.some((m) => m.channel === 'sms' && m.text.includes(probe.reassign.name)),
    'after delivery the reassignment messages are sent, the SMS to ' + probe.reassign.name + ' among them: ' + again.map((m) => m.channel + ' ' + m.status).join(', '));
  await page.evaluate(() => document.querySelector('#case-detail .history').scrollIntoView());
  await idle();
  await page.screenshot({ path: join(artifacts, 'desk-reassigned.png') });

  // 10. Escalated with a note: one level up.
  await page.click('#escalate-box > summary');
  await page.fill('#escalate-note', probe.escalate);
  await page.click('#escalate-submit');
  check(await waitFor('#case-detail .history li[data-action=escalate]'), 'the escalation is in the history');
  const up = await text('#case-detail dd.assignee');
  check(!up.includes(probe.reassign.name) && (await text('#case-detail .history li[data-action=escalate]')).includes(probe.escalate),
    'escalated with its note, the case is now with ' + up);
  await deliver();
  nothingUnexpected('with the case');
  await context.close();
} catch (err) {
  check(false, 'the test itself failed: ' + (err.stack || err));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
console.log('RESULT ' + JSON.stringify({ number }));
log('screenshots in ' + artifacts);
if (failures.length) {
  console.log(failures.length + ' check(s) failed');
  process.exit(1);
}
console.log('all desk checks passed');
`

// TestConsole_deskRecord drives the desk's honest-record steps in headless
// Chromium against the real stores: a case is suspended (refused in the
// page without a reason, then with one: 挂起 and the reason shown, still
// in the open list) and resumed; a second call about the same dispute,
// flagged as a possible duplicate, links to the first and is merged
// through its 合并 button (a merge into itself first: the server's
// problem is shown beside the into field); the first then lists the
// duplicate's reporter among its contacts, and its category is corrected
// (refused in the page without a reason). The API confirms each step.
// Screenshots: desk-record-*.png in consoleArtifacts.
func TestConsole_deskRecord(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	e := newDispatchEnv(t, dispatchTown())
	var first, dup recordAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &first); code != 201 {
		t.Fatalf("the first call: %d", code)
	}
	e.setNow(t0.Add(time.Hour))
	// 0.0005° of longitude at 27°N is about 50 m: within the duplicate rule.
	second := newIncident(orb.Point{centre(1)[0] + 0.0005, centre(1)[1]}, "dispute", "minor")
	second["reporter_name"], second["reporter_phone"] = "王大爷", "13612345678"
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", second, &dup); code != 201 || dup.PossibleDup == nil || dup.PossibleDup.Number != first.Number {
		t.Fatalf("the second call: %d, flagged %+v, want %s", code, dup.PossibleDup, first.Number)
	}
	probe, err := json.Marshal(map[string]string{"token": e.secrets[geo.AccessDispatcher], "first": first.Number, "dup": dup.Number,
		"reason": "等待司法鉴定", "dup_reporter": "王大爷", "correct": "类别登记错误"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	artifacts := consoleArtifacts(t)
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-", srv.URL, artifacts, string(probe))
	cmd.Dir = consoleDir
	cmd.Stdin = strings.NewReader(deskRecordScript)
	cmd.Env = append(os.Environ(), "WANGGE_CHROMIUM="+chromium)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node (the desk's record script, %.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("the desk's record browser test failed: %v; screenshots, if any, in %s", err, artifacts)
	}

	// Through the API: the first suspended with its reason and resumed,
	// back where it was; the duplicate merged into it, its reporter kept.
	var a, b recordAnswer
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+first.Number, nil, &a); code != 200 {
		t.Fatalf("GET %s: %d", first.Number, code)
	}
	var actions []string
	suspended := false
	for _, ev := range a.Events {
		actions = append(actions, ev.Action)
		suspended = suspended || ev.Action == "suspend" && ev.Note == "等待司法鉴定"
	}
	if a.Status != "dispatched" || a.SuspendedAt != nil || !suspended || !slices.Contains(actions, "resume") {
		t.Errorf("%s: %s, suspended_at %v, events %v: want dispatched again after a suspend with its reason and a resume", a.Number, a.Status, a.SuspendedAt, actions)
	}
	if a.Category != "safety" || !slices.Contains(actions, "correct") {
		t.Errorf("%s: category %s, events %v: want corrected to safety", a.Number, a.Category, actions)
	}
	if len(a.Contacts) != 1 || a.Contacts[0].From != dup.Number || a.Contacts[0].Reporter.Name != "王大爷" {
		t.Errorf("%s contacts %+v, want the reporter of %s", a.Number, a.Contacts, dup.Number)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+dup.Number, nil, &b); code != 200 {
		t.Fatalf("GET %s: %d", dup.Number, code)
	}
	if b.Status != "merged" || b.MergedInto == nil || b.MergedInto.Number != first.Number {
		t.Errorf("%s: %s into %+v, want merged into %s", b.Number, b.Status, b.MergedInto, first.Number)
	}
}

// deskRecordScript is TestConsole_deskRecord's browser part:
//
//	node --input-type=module - URL ARTIFACT_DIR PROBE_JSON
//
// It prints one line per check and exits 0 when every check passed.
const deskRecordScript = `
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, probeJSON] = process.argv.slice(2);
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
const deadline = setTimeout(() => {
  console.error('FAIL: the desk record test took more than 100 s');
  process.exit(1);
}, 100000);
const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log((ok ? 'ok   ' : 'FAIL ') + message);
  return ok;
}
const seen = [];
let allowed = () => false;
function saw(kind, text) {
  if (!allowed({ kind, text })) seen.push({ kind, text });
}
function nothingUnexpected(when) {
  check(seen.length === 0, 'no console errors, page errors or failed requests ' + when +
    (seen.length ? ':\n' + seen.map((e) => '       ' + e.kind + ': ' + e.text).join('\n') : ''));
  seen.length = 0;
}

mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--lang=zh-CN'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, locale: 'zh-CN', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') saw('console error', m.text() + ' ' + (m.location().url || ''));
  });
  page.on('pageerror', (err) => saw('page error', err.stack || err.message));
  page.on('requestfailed', (r) => saw('failed request', r.method() + ' ' + r.url() + ': ' + (r.failure() || {}).errorText));
  page.on('response', (r) => {
    if (r.status() >= 400) saw('HTTP ' + r.status(), r.request().method() + ' ' + r.url());
  });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    saw('request to another origin', u);
    return route.abort();
  });
  const events = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/events')) events.push(r.postDataJSON());
  });
  const text = async (selector) => (await page.textContent(selector).catch(() => '')) || '';
  const waitFor = (selector, timeout = 10000) => page.waitForSelector(selector, { timeout }).then(() => true, () => false);

  await page.goto(url + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30000 });
  await page.fill('#token-input', probe.token);
  await page.click('#token-form button[type=submit]');
  await page.click('#desk-toggle');
  await waitFor('#desk:not([hidden]) #intake-form');
  const sources = await page.$$eval('#intake-source option', (os) => os.map((o) => o.value));
  check(!sources.includes('open311') && sources.includes('hotline_12345'), 'the intake offers no open311 source: ' + sources.join(','));
  await page.click('#desk-tab-cases');
  check(await waitFor('#cases-list li.case[data-number="' + probe.dup + '"]'), 'both cases are listed');
  const statuses = await page.$$eval('#cases-status option', (os) => Object.fromEntries(os.map((o) => [o.value, o.textContent])));
  check(/挂起/.test(statuses.suspended) && /撤销/.test(statuses.cancelled) && /合并/.test(statuses.merged),
    'the status filter has 挂起, 撤销 and 合并: ' + JSON.stringify(statuses));
  check((await text('#cases-list li.case[data-number="' + probe.dup + '"]')).includes('疑似重复'), 'the flagged case says 疑似重复 in the list');

  // 1. The first case: its record, then suspended (a reason first required).
  await page.click('#cases-list li.case[data-number="' + probe.first + '"] > button');
  check(await waitFor('#case-detail[data-number="' + probe.first + '"] .case-detail'), 'the first case opens');
  const record = { first: await text('#case-detail dd.first-due'), onTime: await text('#case-detail dd.on-time'),
    escalations: await text('#case-detail dd.escalations'), missed: await text('#case-detail dd.missed'),
    deadlines: (await page.$$('#case-deadlines tr.deadline')).length };
  check(/\d/.test(record.first) && /未办结/.test(record.onTime) && record.escalations.startsWith('0') && record.missed.startsWith('0') && record.deadlines === 1,
    'the case shows its first due, not completed, no escalation, no missed deadline and one deadline: ' + JSON.stringify(record));
  await page.click('#suspend-box > summary');
  const before = events.length;
  await page.click('#suspend-submit');
  const need = await waitFor('#act-suspend .field[data-field=note] .field-error:not([hidden])');
  check(need && events.length === before, 'suspend without a reason is refused in the page, nothing sent: ' + (await text('#act-suspend .field-error')));
  await page.fill('#suspend-note', probe.reason);
  await page.click('#suspend-submit');
  check(await waitFor('#case-detail[data-status=suspended]'), 'the case is suspended');
  const chip = await text('#case-detail h2 .chip.status');
  const since = await text('#case-detail dd.suspended');
  check(chip.includes('挂起') && since.includes(probe.reason), 'it shows 挂起 and the reason: ' + chip + ' / ' + since);
  check(await waitFor('#act-steps button[data-action=resume]') && !(await page.$('#suspend-box')) && !(await page.$('#reassign-box')),
    'a suspended case offers 恢复, not suspend, reassign or escalate');
  await page.screenshot({ path: join(artifacts, 'desk-record-suspended.png') });
  await page.click('#case-back');
  await page.waitForFunction(() => document.getElementById('cases-view').dataset.state === 'loaded', null, { timeout: 10000 });
  check(await waitFor('#cases-list li.case[data-number="' + probe.first + '"] .chip.status[data-status=suspended]'), 'a suspended case is in the open list');

  // 2. Resumed.
  await page.click('#cases-list li.case[data-number="' + probe.first + '"] > button');
  await waitFor('#act-steps button[data-action=resume]');
  await page.click('#act-steps button[data-action=resume]');
  check(await waitFor('#case-detail[data-status=dispatched] .history li[data-action=resume]'), 'resumed, the case is dispatched again, 恢复 in its history');
  check((await text('#case-detail .history li[data-action=suspend]')).includes(probe.reason), 'the history keeps the suspension and its reason');
  nothingUnexpected('suspending and resuming');

  // 3. The duplicate: a link to the first, merged with 合并.
  await page.click('#case-back');
  await page.click('#cases-list li.case[data-number="' + probe.dup + '"] > button');
  check(await waitFor('#case-detail[data-number="' + probe.dup + '"] dd.duplicate button.duplicate-link[data-number="' + probe.first + '"]'),
    'the duplicate links to ' + probe.first);
  await page.click('#case-detail dd.duplicate button.duplicate-link');
  check(await waitFor('#case-detail[data-number="' + probe.first + '"] .case-detail'), 'the link opens ' + probe.first);
  await page.click('#case-back');
  await page.click('#cases-list li.case[data-number="' + probe.dup + '"] > button');
  await waitFor('#case-detail[data-number="' + probe.dup + '"] #merge-duplicate');
  allowed = (e) => (e.kind === 'HTTP 400' && e.text.includes('/events'))
    || (e.kind === 'console error' && /status of 400/.test(e.text));
  await page.click('#merge-box > summary');
  await page.fill('#merge-into', probe.dup);
  await page.click('#merge-submit');
  check(await waitFor('#act-merge .field[data-field=into] .field-error:not([hidden])'),
    "the server's problem is shown beside the into field: " + (await text('#act-merge .field[data-field=into] .field-error')));
  nothingUnexpected('but the 400 asked for');
  allowed = () => false;
  await page.fill('#merge-into', '');
  await page.click('#merge-duplicate');
  check(await waitFor('#case-detail[data-status=merged] dd.merged-into button.merged-link[data-number="' + probe.first + '"]'), 'merged, the case says into ' + probe.first);
  check((await text('#case-detail h2 .chip.status')).includes('合并') && !(await page.$('#act-merge')) && !(await page.$('#correct-box')),
    'a merged case shows 已合并 and offers no merge or correction');
  await page.screenshot({ path: join(artifacts, 'desk-record-merged.png') });
  await page.click('#case-detail dd.merged-into button.merged-link');
  check(await waitFor('#case-detail[data-number="' + probe.first + '"] dd.contacts li[data-from="' + probe.dup + '"]'), 'the first case lists the merged reporter');
  check((await text('#case-detail dd.contacts')).includes(probe.dup_reporter), 'the contact is ' + probe.dup_reporter);
  await page.screenshot({ path: join(artifacts, 'desk-record-contacts.png') });
  nothingUnexpected('merging');

  // 4. Corrected: the category, with a reason (required first).
  await page.click('#correct-box > summary');
  await page.selectOption('#correct-category', 'safety');
  const sent = events.length;
  await page.click('#correct-submit');
  check(await waitFor('#act-correct .field[data-field=note] .field-error:not([hidden])') && events.length === sent,
    'a correction without a reason is refused in the page');
  await page.fill('#correct-note', probe.correct);
  await page.click('#correct-submit');
  check(await waitFor('#case-detail .history li[data-action=correct]'), 'the correction is in the history');
  check((await text('#case-detail dd.category')).includes('安全隐患') && (await text('#case-detail .history li[data-action=correct]')).includes(probe.correct),
    'the case shows its new category and the reason: ' + (await text('#case-detail dd.category')));
  nothingUnexpected('correcting');
  await context.close();
} catch (err) {
  check(false, 'the test itself failed: ' + (err.stack || err));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
if (failures.length) {
  console.log(failures.length + ' check(s) failed');
  process.exit(1);
}
console.log('all desk record checks passed');
`
