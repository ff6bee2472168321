package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

// demo is the demo town's snapshot, built once: handler tests need no
// database, since every endpoint here answers from memory.
var demo = func() *geo.Snapshot {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		panic(err)
	}
	s, err := geo.NewSnapshot(1, td.Area(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return s
}()

// client sends requests to a server and checks every response against the
// OpenAPI document.
type client struct {
	t      *testing.T
	srv    *api.Server
	router routers.Router
}

func newClient(t *testing.T) *client {
	t.Helper()
	var reg geo.Registry
	reg.Store(demo)
	return newClientFor(t, &reg)
}

func newClientFor(t *testing.T, reg *geo.Registry) *client {
	t.Helper()
	return &client{t: t, srv: api.New(reg, nil, api.Config{}, nil), router: openAPIRouter(t)}
}

// openAPIRouter finds the documented operation of a request; the document
// is loaded and checked for validity once per test binary (under -race that
// takes most of a second, and nearly every test asks for the router). The
// router only reads the document, so tests share it.
func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	sharedRouter.once.Do(func() { sharedRouter.router, sharedRouter.err = loadOpenAPIRouter() })
	if sharedRouter.err != nil {
		t.Fatal(sharedRouter.err)
	}
	return sharedRouter.router
}

var sharedRouter struct {
	once   sync.Once
	router routers.Router
	err    error
}

func loadOpenAPIRouter() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://wangge.test"}}
	return gorillamux.NewRouter(doc)
}

// checkOpenAPI fails the test when the response to a documented operation
// does not match openapi.json. Undocumented routes (unknown paths and
// methods, on purpose) are not checked.
func checkOpenAPI(t testing.TB, router routers.Router, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	req = req.Clone(context.Background())
	req.URL.Scheme, req.URL.Host = "http", "wangge.test"
	route, params, err := router.FindRoute(req)
	if err != nil {
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status,
		Header: header, Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: response does not match openapi.json: %v\nbody: %.300s", req.Method, req.URL, err, body)
	}
}

type response struct {
	*http.Response
	body []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// do sends a request; responses of documented operations must match the
// OpenAPI document, and every error must be problem+json.
func (c *client) do(method, target string, body []byte, header ...string) response {
	c.t.Helper()
	req := httptest.NewRequest(method, "http://wangge.test"+target, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.srv.ServeHTTP(rec, req)
	res := response{rec.Result(), rec.Body.Bytes()}
	if res.StatusCode >= 400 {
		if ct := res.Header.Get("Content-Type"); ct != api.ProblemContentType {
			c.t.Errorf("%s %s: status %d with Content-Type %q, want %s", method, target, res.StatusCode, ct, api.ProblemContentType)
		}
		var p api.Problem
		if err := json.Unmarshal(res.body, &p); err != nil || p.Status != res.StatusCode || p.Type == "" || p.Detail == "" {
			c.t.Errorf("%s %s: not a complete problem: %s", method, target, res.body)
		}
	}
	checkOpenAPI(c.t, c.router, req, res.StatusCode, res.Header, res.body)
	return res
}

func (c *client) get(target string, header ...string) response {
	c.t.Helper()
	return c.do(http.MethodGet, target, nil, header...)
}

type location struct {
	Point     []float64 `json:"point"`
	Match     string    `json:"match"`
	DistanceM float64   `json:"distance_m"`
	Grid      struct {
		Code    string `json:"code"`
		Village struct{ Code, Name string }
	} `json:"grid"`
	Leader        *struct{ Name string } `json:"leader"`
	Organizations []struct{ Kind, Name string }
	Also          []string `json:"also"`
	Generation    int64    `json:"generation"`
}

// randomPoints returns n points in and around the town, deterministically.
func randomPoints(n int) []orb.Point {
	r := rand.New(rand.NewPCG(1, 2))
	b := demo.Whole().Outline.Bound().Pad(0.01)
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
	}
	return pts
}

func TestLocate_agreesWithSnapshot(t *testing.T) {
	c := newClient(t)
	for _, p := range randomPoints(300) {
		res := c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1]))
		want, ok := demo.Locate(p, geo.DefaultToleranceM)
		if !ok {
			if res.StatusCode != http.StatusNotFound || !strings.Contains(string(res.body), "/problems/outside-coverage") {
				t.Errorf("%v: got %d %s, want 404 outside-coverage", p, res.StatusCode, res.body)
			}
			continue
		}
		var got location
		res.json(t, &got)
		if got.Grid.Code != want.Grid.Code || got.Match != want.Match.String() || got.Generation != 1 {
			t.Errorf("%v: got %s %s, want %s %s", p, got.Grid.Code, got.Match, want.Grid.Code, want.Match)
		}
		if got.Point[0] != p[0] || got.Point[1] != p[1] {
			t.Errorf("point echoed as %v, want %v", got.Point, p)
		}
		if got.Leader == nil || got.Leader.Name != want.Grid.Leader.Name || len(got.Organizations) == 0 {
			t.Errorf("%v: leader %v, organizations %v", p, got.Leader, got.Organizations)
		}
	}
}

func TestLocate_sharedVertexIsBoundary(t *testing.T) {
	c := newClient(t)
	// A vertex of the first grid that some other grid also has.
	g := demo.Grids[0]
	for _, v := range g.Geometry[0][0] {
		covering := demo.Index().Covering(v)
		if len(covering) < 2 {
			continue
		}
		var got location
		c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", v[0], v[1])).json(t, &got)
		if got.Match != "boundary" || got.Grid.Code != demo.Grids[covering[0]].Code || len(got.Also) != len(covering)-1 {
			t.Fatalf("vertex %v of %s: got %+v, want boundary to %s with %d others", v, g.Code, got, demo.Grids[covering[0]].Code, len(covering)-1)
		}
		for i, code := range got.Also {
			if code != demo.Grids[covering[i+1]].Code || code <= got.Grid.Code {
				t.Errorf("also[%d] = %s: want the larger codes in order", i, code)
			}
		}
		return
	}
	t.Fatal("the first grid shares no vertex with another grid")
}

func TestLocate_badParameters(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		query, param string
	}{
		{"lat=27.2", "lon"},
		{"lon=112.1", "lat"},
		{"lon=abc&lat=27.2", "lon"},
		{"lon=NaN&lat=27.2", "lon"},
		{"lon=112.1&lat=Inf", "lat"},
		{"lon=181&lat=27.2", "lon"},
		{"lon=112.1&lat=-90.5", "lat"},
		{"lon=1e400&lat=27", "lon"},
		{"lon=112.1&lat=27.2&crs=utm", "crs"},
	}
	for _, tt := range tests {
		res := c.get("/v1/locate?" + tt.query)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != 400 || p.Type != api.TypeInvalidParameter || !strings.HasPrefix(p.Detail, tt.param+":") {
			t.Errorf("%s: got %d %s, want 400 naming %s", tt.query, res.StatusCode, res.body, tt.param)
		}
	}
}

func TestLocate_outsideCoverage(t *testing.T) {
	c := newClient(t)
	res := c.get("/v1/locate?lon=116.4&lat=39.9")
	if res.StatusCode != 404 || !strings.Contains(string(res.body), api.TypeOutsideCoverage) {
		t.Errorf("Beijing: got %d %s", res.StatusCode, res.body)
	}
}

func TestLocateBatch(t *testing.T) {
	c := newClient(t)
	pts := randomPoints(3000)
	body, _ := json.Marshal(map[string]any{"points": pts})
	res := c.do(http.MethodPost, "/v1/locate", body)
	if res.StatusCode != 200 {
		t.Fatalf("got %d %s", res.StatusCode, res.body)
	}
	var got struct {
		Generation int64
		Results    []struct {
			Grid      *string
			Match     string
			DistanceM *float64 `json:"distance_m"`
		}
	}
	res.json(t, &got)
	if len(got.Results) != len(pts) {
		t.Fatalf("%d results for %d points", len(got.Results), len(pts))
	}
	for i, p := range pts {
		want, ok := demo.Locate(p, geo.DefaultToleranceM)
		r := got.Results[i]
		switch {
		case !ok && (r.Grid != nil || r.Match != "outside"):
			t.Errorf("point %d %v: got %v %s, want outside", i, p, *r.Grid, r.Match)
		case ok && (r.Grid == nil || *r.Grid != want.Grid.Code || r.Match != want.Match.String()):
			t.Errorf("point %d %v: got %+v, want %s %s", i, p, r, want.Grid.Code, want.Match)
		}
	}
}

func TestLocateBatch_problems(t *testing.T) {
	c := newClient(t)
	many := make([][2]float64, 10_001)
	for i := range many {
		many[i] = [2]float64{112.1, 27.25}
	}
	tooMany, _ := json.Marshal(map[string]any{"points": many})
	huge := append([]byte(`{"points":[`), bytes.Repeat([]byte(`[112.1,27.25],`), 400_000)...)
	tests := []struct {
		name   string
		body   string
		status int
		detail string
	}{
		{"empty body", "", 400, "empty"},
		{"not JSON", "{points:", 400, "line 1, column"},
		{"points missing", `{"crs":"gcj02"}`, 400, "points: required"},
		{"point of three numbers", `{"points":[[112.1,27.2],[1,2,3]]}`, 400, "points[1]"},
		{"point out of range", `{"points":[[112.1,27.2],[212.1,27.2]]}`, 400, "points[1]: lon: got 212.1"},
		{"string coordinate", `{"points":[["112.1",27.2]]}`, 400, "points[0]"},
		{"bad crs", `{"points":[[112.1,27.2]],"crs":"wgs"}`, 400, "crs"},
		{"wrong type", `{"points":{"a":1}}`, 400, "points"},
		{"too many points", string(tooMany), 413, "at most 10000"},
		{"too large a body", string(huge), 413, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.do(http.MethodPost, "/v1/locate", []byte(tt.body))
			var p api.Problem
			res.json(t, &p)
			if res.StatusCode != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("got %d %q, want %d with %q", res.StatusCode, p.Detail, tt.status, tt.detail)
			}
		})
	}
	res := c.do(http.MethodPost, "/v1/locate", []byte(`{"points":[]}`), "Content-Type", "text/plain")
	if res.StatusCode != 415 {
		t.Errorf("text/plain: got %d, want 415", res.StatusCode)
	}
}

type featureCollection struct {
	Type       string
	Generation int64
	Features   []struct {
		ID         string
		Geometry   struct{ Type string }
		Properties map[string]any
	}
}

func TestGrids(t *testing.T) {
	c := newClient(t)
	res := c.get("/v1/grids")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != api.GeoJSONContentType {
		t.Fatalf("got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var fc featureCollection
	res.json(t, &fc)
	if len(fc.Features) != len(demo.Grids) || fc.Features[0].ID != demo.Grids[0].Code {
		t.Fatalf("%d features, want %d", len(fc.Features), len(demo.Grids))
	}
	etag := res.Header.Get("ETag")
	if again := c.get("/v1/grids", "If-None-Match", etag); again.StatusCode != 304 || len(again.body) != 0 {
		t.Errorf("If-None-Match %s: got %d", etag, again.StatusCode)
	}

	village := demo.Villages[3].Code
	c.get("/v1/grids?village="+village).json(t, &fc)
	for _, f := range fc.Features {
		if f.Properties["village_code"] != village {
			t.Errorf("village filter returned %s of %v", f.ID, f.Properties["village_code"])
		}
	}
	want := 0
	for _, g := range demo.Grids {
		if g.VillageCode == village {
			want++
		}
	}
	if len(fc.Features) != want {
		t.Errorf("village %s: %d grids, want %d", village, len(fc.Features), want)
	}

	b := demo.Grids[10].Geometry.Bound()
	c.get(fmt.Sprintf("/v1/grids?bbox=%v,%v,%v,%v", b.Min[0], b.Min[1], b.Max[0], b.Max[1])).json(t, &fc)
	found := false
	for _, f := range fc.Features {
		found = found || f.ID == demo.Grids[10].Code
	}
	if !found || len(fc.Features) >= len(demo.Grids) {
		t.Errorf("bbox of grid 10: %d features, grid 10 found: %v", len(fc.Features), found)
	}

	for _, q := range []string{"bbox=1,2,3", "bbox=1,2,a,4", "bbox=3,2,1,4", "bbox=1,2,3,95", "village=12", "precision=20", "crs=x"} {
		if res := c.get("/v1/grids?" + q); res.StatusCode != 400 {
			t.Errorf("%s: got %d, want 400", q, res.StatusCode)
		}
	}
	if res := c.get("/v1/grids?village=999999999999"); res.StatusCode != 404 {
		t.Errorf("unknown village: got %d, want 404", res.StatusCode)
	}
}

// TestGrids_exactCoordinates checks that coordinates leave exactly as
// stored, and that precision rounds them.
func TestGrids_exactCoordinates(t *testing.T) {
	c := newClient(t)
	g := demo.Grids[0]
	var f struct {
		Geometry struct{ Coordinates [][][][2]float64 }
	}
	c.get("/v1/grids/"+g.Code).json(t, &f)
	for k, p := range g.Geometry[0][0] {
		if f.Geometry.Coordinates[0][0][k] != [2]float64(p) {
			t.Fatalf("vertex %d: got %v, stored %v", k, f.Geometry.Coordinates[0][0][k], p)
		}
	}
	res := c.get("/v1/grids/" + g.Code + "?precision=3")
	if bytes.Contains(res.body, []byte("112.1534423828125")) || !bytes.Contains(res.body, []byte(`"MultiPolygon"`)) {
		t.Errorf("precision=3 left long coordinates: %.200s", res.body)
	}
}

func TestGrid(t *testing.T) {
	c := newClient(t)
	g := demo.Grids[5]
	for i := 5; g.Deputy == nil; i++ { // a grid with a deputy: a few are vacant
		g = demo.Grids[i]
	}
	var f struct {
		ID         string
		Properties struct {
			Leader, Deputy *struct{ Name string }
			Organizations  []struct{ Kind, Name string }
		}
	}
	c.get("/v1/grids/"+g.Code).json(t, &f)
	if f.ID != g.Code || f.Properties.Leader.Name != g.Leader.Name || f.Properties.Deputy.Name != g.Deputy.Name ||
		len(f.Properties.Organizations) != len(g.Organizations) {
		t.Errorf("got %+v", f)
	}
	if res := c.get("/v1/grids/431321101999999"); res.StatusCode != 404 {
		t.Errorf("unknown grid: %d", res.StatusCode)
	}
	if res := c.get("/v1/grids/12ab"); res.StatusCode != 400 {
		t.Errorf("malformed code: %d", res.StatusCode)
	}
}

func TestVillages(t *testing.T) {
	c := newClient(t)
	var v struct {
		Villages []struct {
			Code     string
			Grids    int
			District *struct{ Code, Name string }
		}
	}
	c.get("/v1/villages").json(t, &v)
	total := 0
	for _, vil := range v.Villages {
		total += vil.Grids
		if vil.Grids == 0 || vil.District == nil {
			t.Errorf("village %s: %d grids, district %v", vil.Code, vil.Grids, vil.District)
		}
	}
	if len(v.Villages) != len(demo.Villages) || total != len(demo.Grids) {
		t.Errorf("%d villages with %d grids, want %d with %d", len(v.Villages), total, len(demo.Villages), len(demo.Grids))
	}
}

// TestNoPhoneNumbers: public responses carry names, never phones.
func TestNoPhoneNumbers(t *testing.T) {
	c := newClient(t)
	g := demo.Grids[0]
	p := g.Geometry[0][0][0]
	for _, target := range []string{"/v1/grids", "/v1/grids/" + g.Code, "/v1/villages",
		fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1])} {
		body := string(c.get(target).body)
		for _, gr := range demo.Grids {
			for _, ct := range []*geo.Contact{gr.Leader, gr.Deputy} {
				if ct != nil && ct.Phone != "" && strings.Contains(body, ct.Phone) {
					t.Fatalf("%s shows the phone of %s", target, ct.Name)
				}
			}
		}
		if strings.Contains(body, "phone") {
			t.Errorf("%s has a phone field", target)
		}
	}
}

func TestProblems_routesAndMethods(t *testing.T) {
	c := newClient(t)
	if res := c.get("/v2/nothing"); res.StatusCode != 404 || !strings.Contains(string(res.body), api.TypeNoRoute) {
		t.Errorf("unknown route: %d %s", res.StatusCode, res.body)
	}
	res := c.do(http.MethodDelete, "/v1/grids", nil)
	if res.StatusCode != 405 || res.Header.Get("Allow") == "" {
		t.Errorf("DELETE /v1/grids: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	var doc api.Problem
	c.get(api.TypeOutsideCoverage).json(t, &doc)
	if res := c.get(api.TypeOutsideCoverage); res.StatusCode != 200 {
		t.Errorf("problem type documentation: %d", res.StatusCode)
	}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	var empty geo.Registry
	c := newClientFor(t, &empty)
	if res := c.get("/readyz"); res.StatusCode != 503 {
		t.Errorf("readyz before the first snapshot: %d, want 503", res.StatusCode)
	}
	if res := c.get("/v1/locate?lon=112.1&lat=27.25"); res.StatusCode != 503 {
		t.Errorf("locate before the first snapshot: %d, want 503", res.StatusCode)
	}
	c = newClient(t)
	if res := c.get("/healthz"); res.StatusCode != 200 {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	var ready struct {
		Generation int64
		Grids      int
		Database   string
	}
	c.get("/readyz").json(t, &ready)
	if ready.Grids != len(demo.Grids) || ready.Database != "absent" {
		t.Errorf("readyz: %+v", ready)
	}
	c.get("/v1/locate?lon=112.1&lat=27.25")
	res := c.get("/metrics")
	for _, want := range []string{"wangge_http_requests_total", `route="/v1/locate"`, "wangge_grids ", "wangge_located_points_total"} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var doc map[string]any
	c.get("/openapi.json").json(t, &doc)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi.json: %v", doc["openapi"])
	}
	_ = io.Discard
}

// TestHTTP_gzipAndCORS: the full collection is served precompressed, other
// bodies compressed on the fly, and front-ends on other origins may read
// them.
func TestHTTP_gzipAndCORS(t *testing.T) {
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{CORSOrigins: []string{"https://map.example.cn"}}, nil)
	for _, target := range []string{"/v1/grids", "/v1/grids?village=" + demo.Villages[0].Code, "/v1/villages"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept-Encoding", "gzip, br")
		req.Header.Set("Origin", "https://map.example.cn")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Access-Control-Allow-Origin") != "https://map.example.cn" {
			t.Errorf("%s: Content-Encoding %q, Allow-Origin %q", target, rec.Header().Get("Content-Encoding"), rec.Header().Get("Access-Control-Allow-Origin"))
			continue
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !json.Valid(plain) {
			t.Errorf("%s: gzip body does not decode to JSON: %v", target, err)
		}
	}
	req := httptest.NewRequest(http.MethodOptions, "/v1/locate", nil)
	req.Header.Set("Origin", "https://map.example.cn")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Headers") != "content-type" {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	req = httptest.NewRequest(http.MethodGet, "/v1/villages", nil)
	req.Header.Set("Origin", "https://evil.example")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("an origin not configured may read responses")
	}
}
