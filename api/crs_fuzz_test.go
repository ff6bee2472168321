package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
)

// TestLocate_chineseMapCoordinates: a point picked on AMap (GCJ-02) or
// Baidu (BD-09) routes to the grid of the WGS-84 point it stands for, and
// the grids come back in the coordinates the map draws in.
func TestLocate_chineseMapCoordinates(t *testing.T) {
	c := newClient(t)
	for _, p := range randomPoints(100) {
		want, ok := demo.Locate(p, geo.DefaultToleranceM)
		if !ok {
			continue
		}
		for _, crs := range []chinacrs.CRS{chinacrs.GCJ02, chinacrs.BD09} {
			q := chinacrs.FromWGS84(crs, p)
			if q.Equal(p) {
				t.Fatalf("%s: the point did not move", crs)
			}
			var got location
			c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v&crs=%s", q[0], q[1], crs)).json(t, &got)
			if got.Grid.Code != want.Grid.Code || got.Point[0] != q[0] {
				t.Errorf("%v as %s %v: got %s (point %v), want %s", p, crs, q, got.Grid.Code, got.Point, want.Grid.Code)
			}
		}
	}
	var f struct {
		Geometry struct{ Coordinates [][][][2]float64 }
	}
	g := demo.Grids[0]
	c.get("/v1/grids/"+g.Code+"?crs=gcj02").json(t, &f)
	v := g.Geometry[0][0][0]
	if got, want := orb.Point(f.Geometry.Coordinates[0][0][0]), chinacrs.FromWGS84(chinacrs.GCJ02, v); got != want {
		t.Errorf("grid in GCJ-02: first vertex %v, want %v", got, want)
	}
}

// FuzzLocateBatch: no body makes the batch endpoint panic or answer 5xx;
// every refusal is a 4xx problem.
func FuzzLocateBatch(f *testing.F) {
	for _, s := range []string{`{"points":[[112.1,27.25]]}`, `{"points":[[112.1,27.25]],"crs":"bd09"}`,
		`{"points":[]}`, `{"points":[[1e308,-1e308]]}`, `{"points":null}`, `[]`, `{"points":[[112.1]]}`} {
		f.Add([]byte(s))
	}
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{MaxBatchPoints: 100, MaxBodyBytes: 1 << 16}, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/locate", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
		case 400, 413:
			if rec.Header().Get("Content-Type") != api.ProblemContentType {
				t.Fatalf("%d without problem+json", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
