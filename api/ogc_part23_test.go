package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/api"
	"wangge/geo"
)

// Tests of OGC API – Features Parts 2 (CRS) and 3 (Filtering) on the demo
// town, from memory. Incidents and the grid history, which need the
// database, are in ogc_incidents_test.go; GDAL's view in ogc_gdal_test.go.

const (
	uriCRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	uri4326  = "http://www.opengis.net/def/crs/EPSG/0/4326"
	uri4490  = "http://www.opengis.net/def/crs/EPSG/0/4490"
	uri3857  = "http://www.opengis.net/def/crs/EPSG/0/3857"
)

// rawItems is an items response whose geometries stay raw, to read them
// in any CRS.
type rawItems struct {
	NumberMatched int
	Features      []struct {
		ID         string
		Geometry   json.RawMessage
		Properties map[string]any
	}
}

func (c *client) rawItems(target string) (rawItems, string) {
	c.t.Helper()
	res := c.get(target)
	if res.StatusCode != 200 {
		c.t.Fatalf("%s: %d %s", target, res.StatusCode, res.body)
	}
	var fc rawItems
	res.json(c.t, &fc)
	return fc, res.Header.Get("Content-Crs")
}

// ids lists the features' ids in order.
func (fc rawItems) ids() []string {
	out := make([]string, len(fc.Features))
	for i, f := range fc.Features {
		out[i] = f.ID
	}
	return out
}

// TestOGC_crs reads every grid in each CRS: CRS84 is the stored
// lon/lat; EPSG:4326 and EPSG:4490 are the same numbers with latitude
// first, as their EPSG definitions order the axes; EPSG:3857 is Web
// Mercator, checked on its defining points and by the inverse.
func TestOGC_crs(t *testing.T) {
	c := newClient(t)
	for _, crs := range []struct{ param, uri string }{{"", uriCRS84}, {url.QueryEscape(uriCRS84), uriCRS84},
		{"EPSG:4326", uri4326}, {url.QueryEscape(uri4490), uri4490}, {"%5BEPSG:4490%5D", uri4490}, {"EPSG:3857", uri3857}} {
		target := "/ogc/collections/grids/items?limit=10000"
		if crs.param != "" {
			target += "&crs=" + crs.param
		}
		fc, contentCRS := c.rawItems(target)
		if contentCRS != "<"+crs.uri+">" {
			t.Errorf("%s: Content-Crs %q, want <%s>", target, contentCRS, crs.uri)
		}
		if len(fc.Features) != len(demo.Grids) {
			t.Fatalf("%s: %d grids", target, len(fc.Features))
		}
		worst := 0.0
		for i, f := range fc.Features {
			var geom struct{ Coordinates [][][][2]float64 }
			if err := json.Unmarshal(f.Geometry, &geom); err != nil {
				t.Fatal(err)
			}
			g := demo.Grids[i]
			for pi, poly := range g.Geometry {
				for ri, ring := range poly {
					for k, p := range ring {
						got := geom.Coordinates[pi][ri][k]
						switch crs.uri {
						case uriCRS84:
							if got != [2]float64(p) {
								t.Fatalf("grid %s: CRS84 %v, stored %v", g.Code, got, p)
							}
						case uri4326, uri4490:
							if got != [2]float64{p[1], p[0]} {
								t.Fatalf("grid %s: %s %v, want lat, lon of %v", g.Code, crs.uri, got, p)
							}
						case uri3857:
							lon := got[0] / 6378137 * 180 / math.Pi
							lat := math.Atan(math.Sinh(got[1]/6378137)) * 180 / math.Pi
							worst = max(worst, math.Abs(lon-p[0]), math.Abs(lat-p[1]))
						}
					}
				}
			}
		}
		if worst > 1e-9 {
			t.Errorf("EPSG:3857 back to lon/lat differs from the stored vertices by up to %g°", worst)
		}
	}

	// Web Mercator's defining points: the antimeridian and the latitude
	// where its square world ends are both at 20037508.342789244 m.
	res := c.get("/ogc/collections/grids/items?limit=1&crs=EPSG:3857&filter=" + url.QueryEscape("code = '"+demo.Grids[0].Code+"'"))
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, res.body)
	}
	var one struct {
		Features []struct {
			Geometry struct{ Coordinates [][][][2]float64 }
		}
	}
	res.json(t, &one)
	p := demo.Grids[0].Geometry[0][0][0]
	got := one.Features[0].Geometry.Coordinates[0][0][0]
	if wantX := p[0] / 180 * 20037508.342789244; math.Abs(got[0]-wantX) > 1e-6 {
		t.Errorf("EPSG:3857 x of lon %v: %v, want %v", p[0], got[0], wantX)
	}

	// One feature in EPSG:4490.
	var f struct {
		Geometry struct{ Coordinates [][][][2]float64 }
	}
	res = c.get("/ogc/collections/villages/items/" + demo.Villages[0].Code + "?crs=EPSG:4490")
	if res.StatusCode != 200 || res.Header.Get("Content-Crs") != "<"+uri4490+">" {
		t.Fatalf("village in EPSG:4490: %d %q", res.StatusCode, res.Header.Get("Content-Crs"))
	}
	res.json(t, &f)
	if v := demo.Villages[0].Outline[0][0][0]; f.Geometry.Coordinates[0][0][0] != [2]float64{v[1], v[0]} {
		t.Errorf("village in EPSG:4490: %v, want lat, lon of %v", f.Geometry.Coordinates[0][0][0], v)
	}

	for _, bad := range []struct{ target, param string }{
		{"/ogc/collections/grids/items?crs=EPSG:9999", "crs"},
		{"/ogc/collections/grids/items?crs=gcj02", "crs"},
		{"/ogc/collections/organizations/items?crs=EPSG:4490", "crs"},
		{"/ogc/collections/grids/items?bbox-crs=EPSG:4490", "bbox-crs"},
		{"/ogc/collections/grids/items?bbox=27,112,28,113&bbox-crs=EPSG:1", "bbox-crs"},
		{"/ogc/collections/grids/items?bbox=1,2,3&bbox-crs=EPSG:4490", "bbox"},
		{"/ogc/collections/grids/items?bbox=0,0,1,9e9&bbox-crs=EPSG:3857", "bbox"},
		{"/ogc/collections/grids/items/" + demo.Grids[0].Code + "?crs=x", "crs"},
	} {
		res := c.get(bad.target)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != 400 || !strings.HasPrefix(p.Detail, bad.param+":") {
			t.Errorf("%s: %d %q, want 400 naming %s", bad.target, res.StatusCode, p.Detail, bad.param)
		}
	}
}

// TestOGC_bboxCRS: the same box in each CRS's axis order selects the same
// grids as in CRS84.
func TestOGC_bboxCRS(t *testing.T) {
	c := newClient(t)
	b := demo.Grids[7].Geometry.Bound()
	want, _ := c.rawItems(fmt.Sprintf("/ogc/collections/grids/items?limit=10000&bbox=%v,%v,%v,%v", b.Min[0], b.Min[1], b.Max[0], b.Max[1]))
	if len(want.Features) < 2 {
		t.Fatalf("the box selects %d grids: want its grid and its neighbours", len(want.Features))
	}
	merc := func(p orb.Point) (x, y float64) {
		return 6378137 * p[0] * math.Pi / 180, 6378137 * math.Log(math.Tan(math.Pi/4+p[1]*math.Pi/360))
	}
	x0, y0 := merc(b.Min)
	x1, y1 := merc(b.Max)
	for _, q := range []string{
		fmt.Sprintf("bbox=%v,%v,%v,%v&bbox-crs=EPSG:4490", b.Min[1], b.Min[0], b.Max[1], b.Max[0]),
		fmt.Sprintf("bbox=%v,%v,%v,%v&bbox-crs=%s", b.Min[1], b.Min[0], b.Max[1], b.Max[0], url.QueryEscape(uri4326)),
		fmt.Sprintf("bbox=%v,%v,%v,%v&bbox-crs=%s", b.Min[0], b.Min[1], b.Max[0], b.Max[1], url.QueryEscape(uriCRS84)),
		// Grown by a millimetre: the projection's rounding must not
		// lose a grid that touches the box.
		fmt.Sprintf("bbox=%.4f,%.4f,%.4f,%.4f&bbox-crs=EPSG:3857", x0-0.001, y0-0.001, x1+0.001, y1+0.001),
	} {
		got, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&" + q)
		if !slices.Equal(got.ids(), want.ids()) {
			t.Errorf("%s: %v, want %v", q, got.ids(), want.ids())
		}
	}
}

// TestOGC_cql2 filters the grids with CQL2 text and JSON and compares
// with the snapshot, filtered in Go.
func TestOGC_cql2(t *testing.T) {
	c := newClient(t)
	village := demo.Grids[40].VillageCode
	centre, _ := planar.CentroidArea(demo.Grids[40].Geometry)
	b := demo.Grids[40].Geometry.Bound()
	var populations []int
	for _, g := range demo.Grids {
		populations = append(populations, g.Population)
	}
	slices.Sort(populations)
	median := populations[len(populations)/2]
	cases := []struct {
		name, text, json string
		want             func(i int) bool
	}{
		{"comparison and AND", fmt.Sprintf("village_code = '%s' AND population >= %d", village, median),
			fmt.Sprintf(`{"op":"and","args":[{"op":"=","args":[{"property":"village_code"},"%s"]},{"op":">=","args":[{"property":"population"},%d]}]}`, village, median),
			func(i int) bool { g := demo.Grids[i]; return g.VillageCode == village && g.Population >= median }},
		{"OR and NOT", fmt.Sprintf("NOT (population < %d) OR code = '%s'", median, demo.Grids[0].Code),
			fmt.Sprintf(`{"op":"or","args":[{"op":"not","args":[{"op":"<","args":[{"property":"population"},%d]}]},{"op":"=","args":[{"property":"code"},"%s"]}]}`, median, demo.Grids[0].Code),
			func(i int) bool { return demo.Grids[i].Population >= median || i == 0 }},
		{"LIKE", "code LIKE '" + village + "%'", `{"op":"like","args":[{"property":"code"},"` + village + `%"]}`,
			func(i int) bool { return strings.HasPrefix(demo.Grids[i].Code, village) }},
		{"IN", fmt.Sprintf("code IN ('%s', '%s', 'nope')", demo.Grids[3].Code, demo.Grids[9].Code),
			fmt.Sprintf(`{"op":"in","args":[{"property":"code"},["%s","%s","nope"]]}`, demo.Grids[3].Code, demo.Grids[9].Code),
			func(i int) bool { return i == 3 || i == 9 }},
		{"BETWEEN", fmt.Sprintf("households BETWEEN %d AND %d", 100, 150), `{"op":"between","args":[{"property":"households"},100,150]}`,
			func(i int) bool { h := demo.Grids[i].Households; return h >= 100 && h <= 150 }},
		{"IS NULL", "leader IS NULL", `{"op":"isNull","args":[{"property":"leader"}]}`,
			func(i int) bool { return demo.Grids[i].Leader == nil }},
		{"property-property", "households > population", `{"op":">","args":[{"property":"households"},{"property":"population"}]}`,
			func(i int) bool { return demo.Grids[i].Households > demo.Grids[i].Population }},
		{"S_INTERSECTS point", fmt.Sprintf("S_INTERSECTS(geometry, POINT(%v %v))", centre[0], centre[1]),
			fmt.Sprintf(`{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[%v,%v]}]}`, centre[0], centre[1]),
			func(i int) bool { return planar.MultiPolygonContains(demo.Grids[i].Geometry, centre) }},
		{"S_INTERSECTS bbox", fmt.Sprintf("S_INTERSECTS(geometry, BBOX(%v, %v, %v, %v))", b.Min[0], b.Min[1], b.Max[0], b.Max[1]),
			fmt.Sprintf(`{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[%v,%v,%v,%v]}]}`, b.Min[0], b.Min[1], b.Max[0], b.Max[1]),
			nil}, // compared with the bbox parameter below
		{"CASEI", "CASEI(district_code) = CASEI('" + strings.ToUpper(demo.Villages[0].DistrictCode) + "')",
			`{"op":"=","args":[{"op":"casei","args":[{"property":"district_code"}]},{"op":"casei","args":["` + demo.Villages[0].DistrictCode + `"]}]}`,
			func(i int) bool {
				v, _ := demo.Village(demo.Grids[i].VillageCode)
				return strings.EqualFold(v.DistrictCode, demo.Villages[0].DistrictCode)
			}},
	}
	bboxIDs, _ := c.rawItems(fmt.Sprintf("/ogc/collections/grids/items?limit=10000&bbox=%v,%v,%v,%v", b.Min[0], b.Min[1], b.Max[0], b.Max[1]))
	for _, tc := range cases {
		var want []string
		if tc.want == nil {
			want = bboxIDs.ids()
		} else {
			for i, g := range demo.Grids {
				if tc.want(i) {
					want = append(want, g.Code)
				}
			}
		}
		for lang, filter := range map[string]string{"cql2-text": tc.text, "cql2-json": tc.json} {
			fc, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&filter-lang=" + lang + "&filter=" + url.QueryEscape(filter))
			if !slices.Equal(fc.ids(), want) || fc.NumberMatched != len(want) {
				t.Errorf("%s (%s): %d grids %v, want %d %v", tc.name, lang, fc.NumberMatched, fc.ids(), len(want), want)
			}
		}
	}
	if got, _ := c.rawItems("/ogc/collections/grids/items?filter=" + url.QueryEscape("population > 0")); len(got.Features) != 10 {
		t.Errorf("filter with default paging: %d features, want 10", len(got.Features))
	}

	// filter-crs: the same point given lat, lon in EPSG:4490 and in Web
	// Mercator metres.
	x, y := 6378137*centre[0]*math.Pi/180, 6378137*math.Log(math.Tan(math.Pi/4+centre[1]*math.Pi/360))
	for _, q := range []string{
		"filter-crs=EPSG:4490&filter=" + url.QueryEscape(fmt.Sprintf("S_INTERSECTS(geometry, POINT(%v %v))", centre[1], centre[0])),
		"filter-crs=" + url.QueryEscape(uri3857) + "&filter=" + url.QueryEscape(fmt.Sprintf("S_INTERSECTS(geometry, POINT(%.6f %.6f))", x, y)),
	} {
		fc, _ := c.rawItems("/ogc/collections/grids/items?" + q)
		if !slices.Equal(fc.ids(), []string{demo.Grids[40].Code}) {
			t.Errorf("%s: %v, want %s", q, fc.ids(), demo.Grids[40].Code)
		}
	}

	// Organizations have no geometry and their grids list is not a
	// queryable.
	fc, _ := c.rawItems("/ogc/collections/organizations/items?limit=10000&filter=" + url.QueryEscape("kind = 'mediation' AND grid_count >= 1"))
	if fc.NumberMatched == 0 {
		t.Error("no mediation committee found by filter")
	}

	for _, bad := range []struct{ target, param, detail string }{
		{"/ogc/collections/grids/items?filter=" + url.QueryEscape("popluation > 3"), "filter", `unknown property "popluation"`},
		{"/ogc/collections/grids/items?filter=" + url.QueryEscape("population > 'many'"), "filter", "compares a number with a string"},
		{"/ogc/collections/grids/items?filter=" + url.QueryEscape("population >"), "filter", "operand"},
		{"/ogc/collections/grids/items?filter-lang=cql2-json&filter=" + url.QueryEscape(`{"op":"=","args":[{"property":"x"},1]}`), "filter", `unknown property "x"`},
		{"/ogc/collections/organizations/items?filter=" + url.QueryEscape("grids = 'x'"), "filter", `unknown property "grids"`},
		{"/ogc/collections/organizations/items?filter=" + url.QueryEscape("S_INTERSECTS(geometry, POINT(1 2))"), "filter", `unknown property "geometry"`},
		{"/ogc/collections/grids/items?filter-lang=sql&filter=x", "filter-lang", "cql2-text"},
		{"/ogc/collections/grids/items?filter-lang=cql2-text", "filter-lang", "without filter"},
		{"/ogc/collections/grids/items?filter-crs=EPSG:4490", "filter-crs", "without filter"},
		{"/ogc/collections/grids/items?filter=", "filter", "empty"},
		{"/ogc/collections/grids/items?filter-crs=EPSG:4490&filter=" + url.QueryEscape("S_INTERSECTS(geometry, POINT(112 95))"), "filter", "outside"},
		{"/ogc/collections/grids/items?filter=" + url.QueryEscape(strings.Repeat("(", 70)+"population > 1"+strings.Repeat(")", 70)), "filter", "nests deeper"},
		{"/ogc/collections/grids/items?filter=" + strings.Repeat("x", 40000), "filter", "bytes"},
	} {
		res := c.get(bad.target)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != 400 || !strings.HasPrefix(p.Detail, bad.param+":") || !strings.Contains(p.Detail, bad.detail) {
			t.Errorf("%.120s: %d %q, want 400 naming %s with %q", bad.target, res.StatusCode, p.Detail, bad.param, bad.detail)
		}
	}
}

// TestOGC_sortby orders grids by population, descending, with code as the
// tie-break, and pages through that order.
func TestOGC_sortby(t *testing.T) {
	c := newClient(t)
	want := slices.Clone(demo.Grids)
	slices.SortStableFunc(want, func(a, b geo.GridRecord) int {
		if a.Population != b.Population {
			return b.Population - a.Population
		}
		return strings.Compare(a.Code, b.Code)
	})
	for _, q := range []string{"sortby=-population,code", "sortby=-population,%2Bcode", "sortby=-population,+code"} {
		fc, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&" + q)
		for i, f := range fc.Features {
			if f.ID != want[i].Code {
				t.Fatalf("%s: feature %d is %s, want %s", q, i, f.ID, want[i].Code)
			}
		}
	}
	page2, _ := c.rawItems("/ogc/collections/grids/items?limit=5&offset=5&sortby=-population,code")
	if page2.ids()[0] != want[5].Code {
		t.Errorf("second page starts with %s, want %s", page2.ids()[0], want[5].Code)
	}
	for _, bad := range []string{"sortby=size", "sortby=grids", "sortby=", "sortby=-"} {
		coll := "grids"
		if bad == "sortby=grids" {
			coll = "organizations"
		}
		res := c.get("/ogc/collections/" + coll + "/items?" + bad)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != 400 || !strings.HasPrefix(p.Detail, "sortby:") {
			t.Errorf("%s: %d %q", bad, res.StatusCode, p.Detail)
		}
	}
}

// TestOGC_queryables checks the JSON Schema of each collection's
// queryables against its features' properties.
func TestOGC_queryables(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		id   string
		want map[string]string
	}{
		{"grids", map[string]string{"code": "string", "population": "integer", "leader": "string", "geometry": ""}},
		{"organizations", map[string]string{"kind": "string", "grid_count": "integer"}},
	} {
		res := c.get("/ogc/collections/" + tc.id + "/queryables")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/schema+json" {
			t.Fatalf("%s: %d %s", tc.id, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var doc struct {
			Schema     string `json:"$schema"`
			ID         string `json:"$id"`
			Type       string
			Properties map[string]struct{ Type, Format string }
		}
		res.json(t, &doc)
		if doc.Type != "object" || !strings.Contains(doc.Schema, "json-schema.org") || doc.ID != testBase+"/ogc/collections/"+tc.id+"/queryables" {
			t.Errorf("%s: %+v", tc.id, doc)
		}
		for name, typ := range tc.want {
			if p, ok := doc.Properties[name]; !ok || p.Type != typ {
				t.Errorf("%s: queryable %s is %+v, want type %q", tc.id, name, p, typ)
			}
		}
		if _, ok := doc.Properties["grids"]; ok {
			t.Errorf("%s: the list grids is a queryable", tc.id)
		}
		// Queryables as query parameters: each (but the geometry) selects
		// the first feature by its own value.
		first, _ := c.rawItems("/ogc/collections/" + tc.id + "/items?limit=1")
		for name := range doc.Properties {
			v, ok := first.Features[0].Properties[name]
			if name == "geometry" || !ok || v == nil {
				continue
			}
			fc, _ := c.rawItems("/ogc/collections/" + tc.id + "/items?limit=10000&" + name + "=" + url.QueryEscape(fmt.Sprint(v)))
			if !slices.Contains(fc.ids(), first.Features[0].ID) {
				t.Errorf("%s: %s=%v does not select %s", tc.id, name, v, first.Features[0].ID)
			}
		}
	}
	if res := c.get("/ogc/collections/grids/queryables?f=html"); res.StatusCode != 200 || !strings.Contains(string(res.body), "population") {
		t.Errorf("queryables as HTML: %d", res.StatusCode)
	}
	if res := c.get("/ogc/collections/parcels/queryables"); res.StatusCode != 404 {
		t.Errorf("queryables of an unknown collection: %d", res.StatusCode)
	}

	var conf struct{ ConformsTo []string }
	c.get("/ogc/conformance").json(t, &conf)
	for _, class := range []string{"ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
		"ogcapi-features-3/1.0/conf/features-filter", "ogcapi-features-3/1.0/conf/queryables",
		"ogcapi-features-3/1.0/conf/queryables-query-parameters", "cql2/1.0/conf/cql2-text",
		"cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/advanced-comparison-operators",
		"cql2/1.0/conf/basic-spatial-functions", "cql2/1.0/conf/temporal-functions"} {
		if !slices.Contains(conf.ConformsTo, "http://www.opengis.net/spec/"+class) {
			t.Errorf("conformance lacks %s", class)
		}
	}
	for _, class := range conf.ConformsTo {
		if strings.Contains(class, "arithmetic") || strings.Contains(class, "array-functions") || strings.HasSuffix(class, "/spatial-functions") {
			t.Errorf("conformance declares %s, which is not implemented", class)
		}
	}
}

// FuzzOGCItems sends hostile query strings to the grids' items: every
// answer is a 200 or a 4xx problem, never a 5xx or a panic.
func FuzzOGCItems(f *testing.F) {
	for _, s := range []string{
		"filter=" + url.QueryEscape("population > 3 AND S_INTERSECTS(geometry, BBOX(112, 27, 113, 28))"),
		"filter-lang=cql2-json&filter=" + url.QueryEscape(`{"op":"not","args":[{"op":"isNull","args":[{"property":"leader"}]}]}`),
		"crs=EPSG:3857&bbox=1,1,2,2&bbox-crs=EPSG:3857", "sortby=-population,+code,name",
		"filter-crs=EPSG:4490&filter=" + url.QueryEscape("S_INTERSECTS(geometry, POLYGON((27 112, 27 113, 28 113, 27 112)))"),
		"filter=%00", "filter=%FF%FE", "datetime=2026-01-01T00:00:00Z/..", "bbox=-180,-90,180,90&bbox-crs=EPSG:4326",
		"filter=" + url.QueryEscape(strings.Repeat("NOT ", 80)+"TRUE"), "filter=" + url.QueryEscape("name LIKE '"+strings.Repeat("%_", 500)+"'"),
	} {
		f.Add(s)
	}
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{}, nil)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "http://wangge.test/ogc/collections/grids/items", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code != 200 && rec.Code != 304 && rec.Header().Get("Content-Type") != api.ProblemContentType {
			t.Fatalf("?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}
