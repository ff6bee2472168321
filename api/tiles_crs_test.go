package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/vectortile"
)

// tilePixel is where p (lon/lat, in whatever system the tile was made
// in) falls in tile t, in tile units (extent 4096): the oracle, through
// orb's Web Mercator projection rather than the encoder's own.
func tilePixel(p orb.Point, t maptile.Tile) orb.Point {
	const half = 20037508.342789244
	m := project.WGS84.ToMercator(p)
	scale := math.Ldexp(vectortile.DefaultExtent, int(t.Z))
	return orb.Point{math.Round((m[0]+half)/(2*half)*scale) - float64(t.X)*vectortile.DefaultExtent,
		math.Round((half-m[1])/(2*half)*scale) - float64(t.Y)*vectortile.DefaultExtent}
}

// hasVertex reports whether a decoded tile geometry has a vertex within
// tol tile units of want.
func hasVertex(g orb.Geometry, want orb.Point, tol float64) bool {
	found := false
	var walk func(orb.Geometry)
	walk = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.Point:
			found = found || math.Abs(g[0]-want[0]) <= tol && math.Abs(g[1]-want[1]) <= tol
		case orb.MultiPoint:
			for _, p := range g {
				walk(p)
			}
		case orb.Ring:
			for _, p := range g {
				walk(p)
			}
		case orb.Polygon:
			for _, r := range g {
				walk(r)
			}
		case orb.MultiPolygon:
			for _, p := range g {
				walk(p)
			}
		}
	}
	walk(g)
	return found
}

// getTileCRS fetches a grids tile in crs and decodes it.
func (c *client) getTileCRS(layer string, t maptile.Tile, crs string) (mvt.Layers, response) {
	c.t.Helper()
	res := c.get(tileURL(layer, t) + "?crs=" + crs)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("%s?crs=%s: %d %s", tileURL(layer, t), crs, res.StatusCode, res.body)
	}
	layers, err := mvt.Unmarshal(res.body)
	if err != nil {
		c.t.Fatal(err)
	}
	return layers, res
}

// TestTiles_gcj02Corner: a grid corner of the demo town, shifted into
// GCJ-02 by geo/chinacrs, lies at the GCJ-02 point's pixel of the z17
// tile under it in the crs=gcj02 tiles, and at the WGS-84 point's pixel in
// the default tiles: the two tiles differ by the GCJ-02 shift (hundreds
// of metres, hundreds of tile units at z17), as they must for the grids
// to sit on AMap's and Tencent's roads.
func TestTiles_gcj02Corner(t *testing.T) {
	c := newClient(t)
	const z = 17
	checked := 0
	for _, g := range demo.Grids[:40] {
		corner, ok := sharpCorner(g.Geometry[0][0])
		if !ok {
			continue
		}
		gcj := chinacrs.WGS84ToGCJ02(corner)
		wt, gt := maptile.At(corner, z), maptile.At(gcj, z)
		wp, gp := tilePixel(corner, wt), tilePixel(gcj, gt)
		inside := func(p orb.Point) bool { return p[0] > 8 && p[0] < 4088 && p[1] > 8 && p[1] < 4088 }
		if !inside(wp) || !inside(gp) {
			continue // a corner on a tile's edge is clipped there: another grid proves it
		}
		for _, tc := range []struct {
			crs  string
			tile maptile.Tile
			want orb.Point
		}{{"wgs84", wt, wp}, {"gcj02", gt, gp}} {
			layers, res := c.getTileCRS("grids", tc.tile, tc.crs)
			if want := map[string]string{"wgs84": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>", "gcj02": "<urn:wangge:crs:gcj02>"}[tc.crs]; res.Header.Get("Content-Crs") != want {
				t.Errorf("crs=%s: Content-Crs %q, want %q", tc.crs, res.Header.Get("Content-Crs"), want)
			}
			var found bool
			for _, f := range layers[0].Features {
				if f.Properties["code"] == g.Code {
					found = hasVertex(f.Geometry, tc.want, 1)
				}
			}
			if !found {
				t.Errorf("grid %s corner %v: crs=%s tile %v has no vertex at %v", g.Code, corner, tc.crs, tc.tile, tc.want)
			}
		}
		// The shift is real: GCJ-02 moves the corner by well over 100 m.
		if d := math.Hypot(gp[0]-wp[0]+float64(int(gt.X)-int(wt.X))*4096, gp[1]-wp[1]+float64(int(gt.Y)-int(wt.Y))*4096); d < 300 {
			t.Errorf("grid %s: the GCJ-02 corner is only %.0f units from the WGS-84 one", g.Code, d)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d corners away from tile edges", checked)
	}
}

// sharpCorner returns a vertex of ring where the boundary turns by more
// than 30°: a straight run's inner vertices are dropped from tiles as
// collinear, a corner never is.
func sharpCorner(ring orb.Ring) (orb.Point, bool) {
	n := len(ring) - 1 // closed
	for i := 0; i < n; i++ {
		a, p, b := ring[(i+n-1)%n], ring[i], ring[(i+1)%n]
		u, v := orb.Point{p[0] - a[0], p[1] - a[1]}, orb.Point{b[0] - p[0], b[1] - p[1]}
		turn := math.Abs(math.Atan2(u[0]*v[1]-u[1]*v[0], u[0]*v[0]+u[1]*v[1]))
		if turn > math.Pi/6 && turn < math.Pi*5/6 {
			return p, true
		}
	}
	return orb.Point{}, false
}

// TestTiles_crsParameter: bd09 is refused with the reason, an unknown crs
// and unknown parameters are 400 naming them, incident filters are
// refused on the grids, and the TileJSON of crs=gcj02 points at gcj02
// tiles with GCJ-02 bounds.
func TestTiles_crsParameter(t *testing.T) {
	c := newClient(t)
	tile := maptile.At(demo.Grids[0].Geometry[0][0][0], 14)
	for _, tc := range []struct{ query, param, detail string }{
		{"crs=bd09", "crs", "Baidu"},
		{"crs=epsg:3857", "crs", "wgs84 or gcj02"},
		{"zoom=3", "zoom", "unknown parameter"},
		{"status=received", "status", "incidents layer only"},
	} {
		for _, target := range []string{tileURL("grids", tile), "/tiles/grids.json"} {
			res := c.get(target + "?" + tc.query)
			var p struct {
				Detail string
				Errors []struct{ Where string }
			}
			res.json(t, &p)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.body), tc.param) || !strings.Contains(p.Detail+string(res.body), tc.detail) {
				t.Errorf("%s?%s: %d %s, want 400 naming %s and saying %q", target, tc.query, res.StatusCode, res.body, tc.param, tc.detail)
			}
		}
	}
	var doc struct {
		Tiles  []string
		Bounds [4]float64
		Crs    string
	}
	res := c.get("/tiles/grids.json?crs=gcj02")
	res.json(t, &doc)
	b := demo.Whole().Outline.Bound()
	want := chinacrs.WGS84ToGCJ02(b.Min)
	if doc.Crs != "gcj02" || len(doc.Tiles) != 1 || !strings.HasSuffix(doc.Tiles[0], "/tiles/grids/{z}/{x}/{y}.mvt?crs=gcj02") ||
		math.Abs(doc.Bounds[0]-want[0]) > 1e-9 || math.Abs(doc.Bounds[1]-want[1]) > 1e-9 {
		t.Errorf("TileJSON crs=gcj02: %s", res.body)
	}
	res = c.get("/tiles/grids.json")
	res.json(t, &doc)
	if doc.Crs != "wgs84" || strings.Contains(doc.Tiles[0], "crs") || doc.Bounds[0] != b.Min[0] {
		t.Errorf("TileJSON: %s", res.body)
	}
}

// TestGeoJSON_contentCRS: GeoJSON asked for in GCJ-02 or BD-09 says so in
// Content-Crs.
func TestGeoJSON_contentCRS(t *testing.T) {
	c := newClient(t)
	for crs, want := range map[string]string{"gcj02": "<urn:wangge:crs:gcj02>", "bd09": "<urn:wangge:crs:bd09>",
		"wgs84": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"} {
		for _, target := range []string{"/v1/grids?crs=" + crs, "/v1/grids/" + demo.Grids[0].Code + "?crs=" + crs} {
			res := c.get(target)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Crs") != want {
				t.Errorf("%s: %d, Content-Crs %q, want %q", target, res.StatusCode, res.Header.Get("Content-Crs"), want)
			}
		}
	}
}

// TestTiles_incidentsRoles: the incidents layer follows the OGC
// collection's policy: 401 for anonymous callers and 403 for viewer and
// planner tokens (tiles and TileJSON); dispatchers and admins get every
// incident, with the documented attributes and nothing personal (no
// reporter, description or phone); a person signed in gets the incidents
// of their own scope only; filters apply; a crs=gcj02 tile puts the
// incident at its GCJ-02 pixel.
func TestTiles_incidentsRoles(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{Logins: e.db, SecretKey: []byte("0123456789abcdef0123456789abcdef")})
	var created []incidentAnswer
	for _, n := range []int{1, 5} {
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, http.MethodPost, "/v1/incidents", newIncident(centre(n), "environment", "minor"), &inc,
			"Idempotency-Key", fmt.Sprintf("tile-%d", n)); code != http.StatusCreated {
			t.Fatalf("creating: %d", code)
		}
		created = append(created, inc)
	}
	get := func(role geo.AccessRole, target string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+e.secrets[role])
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		checkOpenAPI(t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
		return rec
	}
	decode := func(rec *httptest.ResponseRecorder) []*mvt.Layer {
		t.Helper()
		if rec.Code == http.StatusNoContent {
			return nil
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		layers, err := mvt.Unmarshal(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return layers
	}
	tile := maptile.At(centre(1), 12) // the whole test town
	fields := []string{"assignee_name", "assignee_role", "category", "due_at", "grid_code", "number", "overdue",
		"received_at", "severity", "status", "village_code"}

	for _, target := range []string{tileURL("incidents", tile), "/tiles/incidents.json"} {
		if rec := get("", target); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("anonymous %s: %d, want 401 with WWW-Authenticate", target, rec.Code)
		}
		for _, role := range []geo.AccessRole{geo.AccessViewer, geo.AccessPlanner} {
			if rec := get(role, target); rec.Code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", role, target, rec.Code)
			}
		}
	}
	for _, role := range []geo.AccessRole{geo.AccessDispatcher, geo.AccessAdmin} {
		rec := get(role, tileURL("incidents", tile))
		if cc := rec.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "private") || !strings.Contains(rec.Header().Get("Vary"), "Authorization") {
			t.Errorf("%s: Cache-Control %q, Vary %q", role, cc, rec.Header().Get("Vary"))
		}
		if strings.Contains(rec.Body.String(), "13912345678") || strings.Contains(rec.Body.String(), "李女士") || strings.Contains(rec.Body.String(), "垃圾") {
			t.Errorf("%s: the tile holds the reporter or the description", role)
		}
		layers := decode(rec)
		if len(layers) != 1 || len(layers[0].Features) != 2 {
			t.Fatalf("%s: %v layers, want 1 with 2 incidents", role, layers)
		}
		for _, f := range layers[0].Features {
			keys := slices.Sorted(maps.Keys(f.Properties))
			if !slices.Equal(keys, fields) {
				t.Errorf("%s: attributes %v, want %v", role, keys, fields)
			}
			if _, ok := f.Geometry.(orb.Point); !ok {
				t.Errorf("%s: %T, want a point", role, f.Geometry)
			}
		}
		var tj struct {
			Tiles        []string
			VectorLayers []struct{ Fields map[string]string } `json:"vector_layers"`
		}
		json.Unmarshal(get(role, "/tiles/incidents.json?status=received").Body.Bytes(), &tj)
		if len(tj.VectorLayers) != 1 || len(tj.VectorLayers[0].Fields) != len(fields) || !strings.HasSuffix(tj.Tiles[0], "?status=received") {
			t.Errorf("%s: TileJSON %+v", role, tj)
		}
	}

	// The leader of grid 5 (village 2's second grid: 431321101202002)
	// signed in sees the incident there, not the one in grid 1.
	var link, session struct{ Token string }
	var found struct {
		People []struct {
			ID   int64
			Name string
		}
	}
	e.do(geo.AccessAdmin, "GET", "/v1/people?name=网格长5", nil, &found)
	var leader5 int64
	for _, p := range found.People {
		if p.Name == "网格长5" {
			leader5 = p.ID
		}
	}
	if e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": leader5}, &link) != 201 ||
		e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &session) != 200 {
		t.Fatalf("signing in the leader of grid 5: %+v", found)
	}
	e.secrets[geo.AccessPerson] = session.Token
	mine := decode(get(geo.AccessPerson, tileURL("incidents", tile)))
	if len(mine) != 1 || len(mine[0].Features) != 1 || mine[0].Features[0].Properties["number"] != created[1].Number {
		t.Errorf("the leader of grid 5 sees %v, want %s only", mine, created[1].Number)
	}

	// Filters: no incident is closed; one is in grid 005.
	if layers := decode(get(geo.AccessDispatcher, tileURL("incidents", tile)+"?status=closed")); len(layers) != 0 {
		t.Errorf("status=closed: %v", layers)
	}
	layers := decode(get(geo.AccessDispatcher, tileURL("incidents", tile)+"?grid=431321101202002"))
	if len(layers) != 1 || len(layers[0].Features) != 1 || layers[0].Features[0].Properties["number"] != created[1].Number {
		t.Errorf("grid=431321101202002: %v, want %s only", layers, created[1].Number)
	}
	// GCJ-02: the incident at its shifted pixel, in the tile under the
	// shifted point.
	gcj := chinacrs.WGS84ToGCJ02(centre(1))
	gt := maptile.At(gcj, 16)
	layers = decode(get(geo.AccessDispatcher, tileURL("incidents", gt)+"?crs=gcj02"))
	if len(layers) != 1 || !hasVertex(layers[0].Features[0].Geometry, tilePixel(gcj, gt), 1) {
		t.Errorf("gcj02 tile %v: %v, want the incident at %v", gt, layers, tilePixel(gcj, gt))
	}
	if rec := get(geo.AccessDispatcher, tileURL("incidents", gt)+"?category=nonsense"); rec.Code != http.StatusBadRequest {
		t.Errorf("category=nonsense: %d", rec.Code)
	}
}
