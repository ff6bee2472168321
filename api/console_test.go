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
	if town.Code != demo.Town.Code || town.Name != "荷叶镇" || town.Generation != demo.Generation {
		t.Errorf("town.json: %s %s generation %d", town.Code, town.Name, town.Generation)
	}
	if !strings.Contains(town.Note, "Synthetic") || !strings.Contains(town.Note, "合成") {
		t.Errorf("the demo town's note does not say it is synthetic: %q", town.Note)
	}
	b := demo.Town.Outline.Bound()
	if town.BBox != [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} || town.Outline.Type != "MultiPolygon" ||
		town.Outline.Coordinates[0][0][0] != [2]float64(demo.Town.Outline[0][0][0]) {
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

func (s consoleIncidents) AddIncidentEvent(context.Context, string, string, time.Time, func(*geo.Incident) (geo.IncidentChange, error)) (*geo.Incident, error) {
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
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: the console's browser test needs Node.js 20 or newer (playwright-core 1.65 does not run on older ones), then `%s`", consoleInstall)
	}
	chromium := os.Getenv("WANGGE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s (set WANGGE_CHROMIUM to another): install it with `%s`", chromium, consoleInstall)
	}
	if _, err := os.Stat(filepath.Join(consoleDir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("api/console/node_modules lacks playwright-core: run `npm ci --prefix api/console` from the repository root")
	}

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
