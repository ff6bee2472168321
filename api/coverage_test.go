package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/coverage"
)

// coverageAnswer is the body of a 200 from POST /v1/coverage.
type coverageAnswer struct {
	CRS   string `json:"crs"`
	Grids []struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		Village   struct{ Code, Name string }
		OverlapM2 float64 `json:"overlap_m2"`
		Share     float64 `json:"share"`
		Leader    *struct{ Name, Phone string }
		Deputy    *struct{ Name, Phone string }
	} `json:"grids"`
	Totals struct {
		Grids      int     `json:"grids"`
		AreaM2     float64 `json:"area_m2"`
		OverlapM2  float64 `json:"overlap_m2"`
		Generation int64   `json:"generation"`
	} `json:"totals"`
}

// newCoverageClient is a client (checking responses against openapi.json)
// of a server with one token per role.
func newCoverageClient(t *testing.T) (*client, map[geo.AccessRole]string) {
	t.Helper()
	var reg geo.Registry
	reg.Store(demo)
	c := newClientFor(t, &reg)
	srv, secrets := newAuthServer(t)
	c.srv = srv
	return c, secrets
}

func (c *client) cover(body string, role geo.AccessRole, secrets map[geo.AccessRole]string) response {
	c.t.Helper()
	if role == "" {
		return c.do(http.MethodPost, "/v1/coverage", []byte(body))
	}
	return c.do(http.MethodPost, "/v1/coverage", []byte(body), "Authorization", "Bearer "+secrets[role])
}

// coverageCentre is a point well inside the demo town.
func coverageCentre() orb.Point { return demo.Whole().Outline.Bound().Center() }

func TestCoverage_roles(t *testing.T) {
	t.Parallel()
	c, secrets := newCoverageClient(t)
	p := coverageCentre()
	body := fmt.Sprintf(`{"geometry":{"type":"Point","coordinates":[%v,%v]},"radius_m":800}`, p[0], p[1])
	tests := []struct {
		role   geo.AccessRole
		status int
	}{
		{"", http.StatusUnauthorized},
		{geo.AccessViewer, http.StatusForbidden},
		{geo.AccessPlanner, http.StatusForbidden},
		{geo.AccessDispatcher, http.StatusOK},
		{geo.AccessAdmin, http.StatusOK},
	}
	for _, tt := range tests {
		name := string(tt.role)
		if name == "" {
			name = "anonymous"
		}
		t.Run(name, func(t *testing.T) {
			res := c.cover(body, tt.role, secrets)
			if res.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.body, tt.status)
			}
			if res.StatusCode != http.StatusOK {
				return
			}
			var got coverageAnswer
			res.json(t, &got)
			if len(got.Grids) == 0 {
				t.Fatal("no grids")
			}
			for _, g := range got.Grids {
				want, _ := demo.Grid(g.Code)
				if g.Leader == nil || g.Leader.Name != want.Leader.Name || g.Leader.Phone != want.Leader.Phone {
					t.Errorf("grid %s: leader %+v, want %s with phone %s", g.Code, g.Leader, want.Leader.Name, want.Leader.Phone)
				}
				if want.Deputy != nil && (g.Deputy == nil || g.Deputy.Phone != want.Deputy.Phone) {
					t.Errorf("grid %s: deputy %+v, want %s with phone", g.Code, g.Deputy, want.Deputy.Name)
				}
			}
		})
	}
}

func TestCoverage_answer(t *testing.T) {
	t.Parallel()
	c, secrets := newCoverageClient(t)
	p := coverageCentre()
	res := c.cover(fmt.Sprintf(`{"geometry":{"type":"Point","coordinates":[%v,%v]},"radius_m":1500}`, p[0], p[1]), geo.AccessDispatcher, secrets)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, res.body)
	}
	var got coverageAnswer
	res.json(t, &got)

	sh, err := coverage.NewShape(coverage.Request{Geometry: p, RadiusM: covPtr(1500.0)})
	if err != nil {
		t.Fatal(err)
	}
	want := sh.Grids(demo)
	if len(got.Grids) != len(want) || got.Totals.Grids != len(want) || got.Totals.Generation != demo.Generation || got.CRS != "wgs84" {
		t.Fatalf("%d grids (totals %+v), want %d", len(got.Grids), got.Totals, len(want))
	}
	sum := 0.0
	for i, g := range got.Grids {
		w := want[i]
		if g.Code != demo.Grids[w.Entry].Code || math.Abs(g.OverlapM2-w.OverlapM2) > 0.01 || math.Abs(g.Share-w.Share) > 1e-6 {
			t.Errorf("grid %d: %s %v m² (%v), want %s %v m² (%v)", i, g.Code, g.OverlapM2, g.Share, demo.Grids[w.Entry].Code, w.OverlapM2, w.Share)
		}
		if v, _ := demo.Village(g.Village.Code); v == nil || v.Name != g.Village.Name {
			t.Errorf("grid %s: village %+v", g.Code, g.Village)
		}
		if i > 0 && g.OverlapM2 > got.Grids[i-1].OverlapM2 {
			t.Errorf("not sorted by overlap at %d", i)
		}
		sum += g.OverlapM2
	}
	if math.Abs(got.Totals.AreaM2-math.Pi*1500*1500) > 1 || math.Abs(got.Totals.OverlapM2-sum) > 0.1 {
		t.Errorf("totals %+v: want area π·1500² = %.2f and overlap %.2f", got.Totals, math.Pi*1500*1500, sum)
	}
}

func covPtr[T any](v T) *T { return &v }

// TestCoverage_gcj02 sends the same shapes in GCJ-02 (as picked on AMap)
// and in BD-09, and gets the same grids as in WGS-84.
func TestCoverage_gcj02(t *testing.T) {
	t.Parallel()
	c, secrets := newCoverageClient(t)
	p := coverageCentre()
	ring := orb.Ring{{p[0] - 0.01, p[1] - 0.008}, {p[0] + 0.012, p[1] - 0.006}, {p[0] + 0.004, p[1] + 0.01}, {p[0] - 0.01, p[1] - 0.008}}
	line := orb.LineString{{p[0] - 0.03, p[1]}, {p[0], p[1] + 0.01}, {p[0] + 0.03, p[1] - 0.02}}
	shapes := map[string]func(conv func(orb.Point) orb.Point) string{
		"point": func(conv func(orb.Point) orb.Point) string {
			q := conv(p)
			return fmt.Sprintf(`{"type":"Point","coordinates":[%v,%v]},"radius_m":900`, q[0], q[1])
		},
		"polygon": func(conv func(orb.Point) orb.Point) string {
			return fmt.Sprintf(`{"type":"Polygon","coordinates":[%s]}`, coveragePositions(orb.LineString(ring), conv))
		},
		"line": func(conv func(orb.Point) orb.Point) string {
			return fmt.Sprintf(`{"type":"LineString","coordinates":%s},"buffer_m":60`, coveragePositions(line, conv))
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			answers := map[string]coverageAnswer{}
			for crs, conv := range map[string]func(orb.Point) orb.Point{
				"wgs84": func(q orb.Point) orb.Point { return q },
				"gcj02": chinacrs.WGS84ToGCJ02,
				"bd09":  chinacrs.WGS84ToBD09,
			} {
				res := c.cover(fmt.Sprintf(`{"geometry":%s,"crs":%q}`, shape(conv), crs), geo.AccessDispatcher, secrets)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", crs, res.StatusCode, res.body)
				}
				var a coverageAnswer
				res.json(t, &a)
				if a.CRS != crs || len(a.Grids) == 0 {
					t.Fatalf("%s: crs %s, %d grids", crs, a.CRS, len(a.Grids))
				}
				answers[crs] = a
			}
			want := answers["wgs84"]
			for _, crs := range []string{"gcj02", "bd09"} {
				got := answers[crs]
				if len(got.Grids) != len(want.Grids) {
					t.Fatalf("%s: %d grids, in WGS-84 %d", crs, len(got.Grids), len(want.Grids))
				}
				for i := range got.Grids {
					g, w := got.Grids[i], want.Grids[i]
					// The inverse transforms are iterative: positions come
					// back within millimetres.
					if g.Code != w.Code || math.Abs(g.OverlapM2-w.OverlapM2) > 1e-4*w.OverlapM2+1 {
						t.Errorf("%s: grid %d is %s with %v m², in WGS-84 %s with %v m²", crs, i, g.Code, g.OverlapM2, w.Code, w.OverlapM2)
					}
				}
			}
		})
	}
}

// coveragePositions renders a line's positions, converted, as a GeoJSON array.
func coveragePositions(ls orb.LineString, conv func(orb.Point) orb.Point) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		q := conv(p)
		fmt.Fprintf(&b, "[%v,%v]", q[0], q[1])
	}
	b.WriteByte(']')
	return b.String()
}

func TestCoverage_badInput(t *testing.T) {
	t.Parallel()
	c, secrets := newCoverageClient(t)
	p := coverageCentre()
	pt := fmt.Sprintf(`{"type":"Point","coordinates":[%v,%v]}`, p[0], p[1])
	line := `{"type":"LineString","coordinates":[[112.1,27.25],[112.12,27.26]]}`
	var many strings.Builder
	many.WriteString(`{"type":"LineString","coordinates":[`)
	for i := range coverage.MaxPositions + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, "[%v,27.25]", 112.1+float64(i)*1e-6)
	}
	many.WriteString(`]}`)
	tests := []struct {
		name   string
		body   string
		status int
		where  string // the member errors[0] names; "" to check detail only
		want   string // in the detail
	}{
		{"malformed JSON", `{"geometry":`, 400, "", "malformed JSON"},
		{"NaN is not JSON", `{"geometry":` + pt + `,"radius_m":NaN}`, 400, "", "malformed JSON"},
		{"unknown member", `{"geometry":` + pt + `,"radius":5}`, 400, "", `unknown field "radius"`},
		{"radius as a string", `{"geometry":` + pt + `,"radius_m":"5"}`, 400, "", "radius_m"},
		{"no geometry", `{"radius_m":5}`, 400, "geometry", "missing"},
		{"a Feature, not a geometry", `{"geometry":{"type":"Feature","geometry":` + pt + `},"radius_m":5}`, 400, "geometry", `"Feature": want Point`},
		{"short position", `{"geometry":{"type":"Point","coordinates":[112.1]},"radius_m":5}`, 400, "geometry", "got 1 numbers"},
		{"latitude out of range", `{"geometry":{"type":"LineString","coordinates":[[112.1,27.2],[112.1,97.2]]},"buffer_m":5}`, 400, "geometry", "position 1: lat: got 97.2"},
		{"point without radius", `{"geometry":` + pt + `}`, 400, "radius_m", "required"},
		{"point with a buffer", `{"geometry":` + pt + `,"buffer_m":10}`, 400, "buffer_m", "radius_m"},
		{"line without buffer", `{"geometry":` + line + `}`, 400, "buffer_m", "required"},
		{"line with zero buffer", `{"geometry":` + line + `,"buffer_m":0}`, 400, "buffer_m", "> 0"},
		{"negative radius", `{"geometry":` + pt + `,"radius_m":-3}`, 400, "radius_m", "got -3"},
		{"absurd radius", `{"geometry":` + pt + `,"radius_m":1e9}`, 400, "radius_m", "at most 50000"},
		{"bow tie", `{"geometry":{"type":"Polygon","coordinates":[[[112.1,27.2],[112.2,27.3],[112.2,27.2],[112.1,27.3],[112.1,27.2]]]}}`, 400, "geometry", "intersects itself at (112.15, 27.25)"},
		{"unclosed ring", `{"geometry":{"type":"Polygon","coordinates":[[[112.1,27.2],[112.2,27.3],[112.2,27.2],[112.1,27.3]]]}}`, 400, "geometry", "not closed"},
		{"too wide", `{"geometry":{"type":"LineString","coordinates":[[100,27],[112,27]]},"buffer_m":10}`, 400, "geometry", "spans"},
		{"unknown crs", `{"geometry":` + pt + `,"radius_m":5,"crs":"epsg:3857"}`, 400, "crs", "want wgs84, gcj02 or bd09"},
		{"too many positions", `{"geometry":` + many.String() + `,"buffer_m":5}`, 413, "geometry", "positions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.cover(tt.body, geo.AccessDispatcher, secrets)
			var p api.Problem
			if err := json.Unmarshal(res.body, &p); err != nil || res.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.body, tt.status)
			}
			if !strings.Contains(p.Detail, tt.want) {
				t.Errorf("detail %q, want …%s…", p.Detail, tt.want)
			}
			if tt.where != "" && (len(p.Errors) == 0 || p.Errors[0].Where != tt.where) {
				t.Errorf("errors %+v, want the first at %s", p.Errors, tt.where)
			}
		})
	}
	t.Run("bow tie located", func(t *testing.T) {
		// In the caller's CRS: the crossing of a GCJ-02 bow tie is given
		// back in GCJ-02.
		res := c.cover(`{"crs":"gcj02","geometry":{"type":"Polygon","coordinates":[[[112.1,27.2],[112.2,27.3],[112.2,27.2],[112.1,27.3],[112.1,27.2]]]}}`, geo.AccessDispatcher, secrets)
		var p api.Problem
		res.json(t, &p)
		// The crossing of the transformed edges, transformed back, is
		// within metres of the GCJ-02 crossing (the offset bends lines).
		if len(p.Errors) == 0 || len(p.Errors[0].Location) != 2 ||
			math.Abs(p.Errors[0].Location[0]-112.15) > 1e-4 || math.Abs(p.Errors[0].Location[1]-27.25) > 1e-4 {
			t.Fatalf("got %+v, want the crossing at (112.15, 27.25)", p.Errors)
		}
		at := fmt.Sprintf("(%v, %v)", p.Errors[0].Location[0], p.Errors[0].Location[1])
		if !strings.Contains(p.Detail, at) || !strings.Contains(p.Errors[0].Reason, at) {
			t.Errorf("detail %q and reason %q do not say %s", p.Detail, p.Errors[0].Reason, at)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		res := c.do(http.MethodPost, "/v1/coverage", []byte(`geometry=x`), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+secrets[geo.AccessDispatcher])
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("got %d %s, want 415", res.StatusCode, res.body)
		}
	})
}
