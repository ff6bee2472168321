package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"

	"github.com/getkin/kin-openapi/openapi3"
)

// Handler tests of OGC API – Features under /ogc. Every response is checked
// against openapi.json by the client; the real-client test with GDAL is in
// ogc_gdal_test.go.

const testBase = "http://wangge.test"

type ogcLink struct {
	Href, Rel, Type, Title string
}

type ogcFeature struct {
	Type     string
	ID       string
	Geometry *struct {
		Type        string
		Coordinates [][][][2]float64
	}
	Properties map[string]any
	Links      []ogcLink
}

type ogcItems struct {
	Type           string
	NumberMatched  int
	NumberReturned int
	TimeStamp      string
	Links          []ogcLink
	Features       []ogcFeature
}

func rel(links []ogcLink, rel, typ string) *ogcLink {
	for i := range links {
		if links[i].Rel == rel && (typ == "" || links[i].Type == typ) {
			return &links[i]
		}
	}
	return nil
}

// path turns an absolute link of the test server into a request target.
func path(t *testing.T, href string) string {
	t.Helper()
	if !strings.HasPrefix(href, testBase+"/ogc") {
		t.Fatalf("link %q is not absolute under %s/ogc", href, testBase)
	}
	return strings.TrimPrefix(href, testBase)
}

func (c *client) items(target string, header ...string) ogcItems {
	c.t.Helper()
	res := c.get(target, header...)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != api.GeoJSONContentType {
		c.t.Fatalf("%s: got %d %s: %.300s", target, res.StatusCode, res.Header.Get("Content-Type"), res.body)
	}
	var fc ogcItems
	res.json(c.t, &fc)
	return fc
}

func TestOGC_landingConformanceAPI(t *testing.T) {
	c := newClient(t)
	for _, target := range []string{"/ogc", "/ogc/"} {
		res := c.get(target)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", target, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var landing struct {
			Title, Description string
			Links              []ogcLink
		}
		res.json(t, &landing)
		for _, want := range [][2]string{{"self", "application/json"}, {"alternate", "text/html"},
			{"service-desc", "application/vnd.oai.openapi+json;version=3.0"}, {"service-doc", "text/html"},
			{"conformance", "application/json"}, {"data", "application/json"}} {
			l := rel(landing.Links, want[0], want[1])
			if l == nil {
				t.Fatalf("%s: no %s link of type %s in %+v", target, want[0], want[1], landing.Links)
			}
			path(t, l.Href)
		}
		if !strings.Contains(landing.Title, demo.Whole().Name) || !strings.Contains(landing.Description, "ynthetic") {
			t.Errorf("landing: %q / %q: want the town's name and the synthetic-data note", landing.Title, landing.Description)
		}
	}

	var conf struct{ ConformsTo []string }
	c.get("/ogc/conformance").json(t, &conf)
	for _, class := range []string{"core", "geojson", "html", "oas30"} {
		if !slices.Contains(conf.ConformsTo, "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"+class) {
			t.Errorf("conformance lacks %s: %v", class, conf.ConformsTo)
		}
	}

	// /ogc/api is the /ogc part of openapi.json, rooted at /ogc, with one
	// items path per collection listing its own parameters.
	res := c.get("/ogc/api")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.oai.openapi+json;version=3.0" {
		t.Fatalf("/ogc/api: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(res.body))
	}
	doc, err := openapi3.NewLoader().LoadFromData(res.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("/ogc/api is not a valid OpenAPI document: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != testBase+"/ogc" {
		t.Errorf("/ogc/api servers %+v, want %s/ogc", doc.Servers, testBase)
	}
	var full struct{ Paths map[string]any }
	if err := json.Unmarshal(api.OpenAPI, &full); err != nil {
		t.Fatal(err)
	}
	for p := range full.Paths {
		if rest, ok := strings.CutPrefix(p, "/ogc"); ok && doc.Paths.Find(cmp.Or(rest, "/")) == nil {
			t.Errorf("/ogc/api lacks %s (from %s)", cmp.Or(rest, "/"), p)
		}
	}
	for _, col := range []struct {
		id   string
		want []string
		not  []string
	}{
		{"grids", []string{"code", "households", "leader", "datetime", "filter", "crs"}, []string{"kind", "collectionId"}},
		{"organizations", []string{"kind", "grids", "filter"}, []string{"datetime", "households"}},
		{"incidents", []string{"status", "category", "grid_code", "overdue", "datetime", "received_at"}, []string{"leader", "description"}},
	} {
		item := doc.Paths.Find("/collections/" + col.id + "/items")
		if item == nil || item.Get == nil {
			t.Errorf("/ogc/api has no items path for %s", col.id)
			continue
		}
		for _, name := range col.want {
			if item.Get.Parameters.GetByInAndName("query", name) == nil {
				t.Errorf("/collections/%s/items lacks parameter %s", col.id, name)
			}
		}
		for _, name := range col.not {
			if item.Get.Parameters.GetByInAndName("query", name) != nil || item.Get.Parameters.GetByInAndName("path", name) != nil {
				t.Errorf("/collections/%s/items has parameter %s", col.id, name)
			}
		}
		if lang := item.Get.Parameters.GetByInAndName("query", "filter-lang"); lang == nil ||
			!slices.Contains(lang.Schema.Value.Enum, any("cql-text")) {
			t.Errorf("/collections/%s/items: filter-lang does not offer cql-text, which GDAL looks for", col.id)
		}
	}
	res = c.get("/ogc/api?f=html")
	if res.StatusCode != 200 || !strings.Contains(string(res.body), "/ogc/collections/{collectionId}/items") {
		t.Errorf("/ogc/api?f=html: %d %.200s", res.StatusCode, res.body)
	}
}

// TestOGC_beforeTheFirstSnapshot: the landing page answers, collections
// wait for the grids.
func TestOGC_beforeTheFirstSnapshot(t *testing.T) {
	var empty geo.Registry
	c := newClientFor(t, &empty)
	if res := c.get("/ogc"); res.StatusCode != 200 {
		t.Errorf("/ogc: %d", res.StatusCode)
	}
	if res := c.get("/ogc/collections"); res.StatusCode != 503 {
		t.Errorf("/ogc/collections: %d, want 503", res.StatusCode)
	}
}

type ogcCollectionDoc struct {
	ID, Title, Description, ItemType string
	Links                            []ogcLink
	CRS                              []string
	StorageCRS                       string
	Extent                           *struct {
		Spatial  *struct{ BBox [][]float64 }
		Temporal *struct{ Interval [][]*string }
	}
}

func TestOGC_collections(t *testing.T) {
	c := newClient(t)
	var doc struct {
		Links       []ogcLink
		Collections []ogcCollectionDoc
	}
	c.get("/ogc/collections").json(t, &doc)
	var ids []string
	for _, col := range doc.Collections {
		ids = append(ids, col.ID)
		items := rel(col.Links, "items", api.GeoJSONContentType)
		if items == nil || path(t, items.Href) != "/ogc/collections/"+col.ID+"/items?f=json" {
			t.Errorf("%s: items link %+v", col.ID, items)
		}
		wantCRS := []string{"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/4326",
			"http://www.opengis.net/def/crs/EPSG/0/4490", "http://www.opengis.net/def/crs/EPSG/0/3857"}
		if col.ID == "organizations" { // no geometry: CRS84 only
			wantCRS = wantCRS[:1]
		}
		if rel(col.Links, "items", "text/html") == nil || col.ItemType != "feature" || !slices.Equal(col.CRS, wantCRS) ||
			col.StorageCRS != wantCRS[0] || rel(col.Links, "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json") == nil {
			t.Errorf("%s: %+v", col.ID, col)
		}
		var one ogcCollectionDoc
		c.get("/ogc/collections/"+col.ID).json(t, &one)
		if one.ID != col.ID || path(t, rel(one.Links, "self", "application/json").Href) != "/ogc/collections/"+col.ID+"?f=json" {
			t.Errorf("/ogc/collections/%s: %+v", col.ID, one)
		}
	}
	if !slices.Equal(ids, []string{"grids", "villages", "organizations", "service-points"}) {
		t.Fatalf("collections %v", ids)
	}
	grids := doc.Collections[0]
	b := demo.Grids[0].Geometry.Bound()
	for _, g := range demo.Grids {
		b = b.Union(g.Geometry.Bound())
	}
	if grids.Extent == nil || grids.Extent.Spatial == nil || !slices.Equal(grids.Extent.Spatial.BBox[0], []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}) {
		t.Errorf("grids extent %+v, want %v", grids.Extent, b)
	}
	if grids.Extent.Temporal == nil || grids.Extent.Temporal.Interval[0][1] != nil {
		t.Errorf("grids temporal extent %+v: want an interval open at the end", grids.Extent.Temporal)
	}
	if doc.Collections[2].Extent != nil {
		t.Errorf("organizations have no geometry, yet an extent %+v", doc.Collections[2].Extent)
	}
}

// TestOGC_paging walks the grids by next links: every grid once, in code
// order; numberMatched on every page; no next link on the last page.
func TestOGC_paging(t *testing.T) {
	c := newClient(t)
	if fc := c.items("/ogc/collections/grids/items"); fc.NumberReturned != 10 || len(fc.Features) != 10 || fc.NumberMatched != len(demo.Grids) {
		t.Errorf("default page: %d returned of %d, want 10 of %d", fc.NumberReturned, fc.NumberMatched, len(demo.Grids))
	}
	var ids []string
	target, pages := "/ogc/collections/grids/items?limit=50", 0
	for target != "" {
		fc := c.items(target)
		pages++
		if fc.Type != "FeatureCollection" || fc.NumberMatched != len(demo.Grids) || fc.NumberReturned != len(fc.Features) {
			t.Fatalf("%s: matched %d, returned %d of %d", target, fc.NumberMatched, fc.NumberReturned, len(fc.Features))
		}
		if ts, err := time.Parse(time.RFC3339, fc.TimeStamp); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("timeStamp %q", fc.TimeStamp)
		}
		self := rel(fc.Links, "self", api.GeoJSONContentType)
		if self == nil || rel(fc.Links, "alternate", "text/html") == nil || rel(fc.Links, "collection", "application/json") == nil {
			t.Fatalf("%s: links %+v", target, fc.Links)
		}
		if prev := rel(fc.Links, "prev", api.GeoJSONContentType); (prev != nil) != (pages > 1) {
			t.Errorf("page %d: prev link %+v", pages, prev)
		} else if pages == 2 && path(t, prev.Href) != "/ogc/collections/grids/items?f=json&limit=50" {
			t.Errorf("page 2: prev %s", prev.Href)
		}
		for _, f := range fc.Features {
			ids = append(ids, f.ID)
		}
		target = ""
		if next := rel(fc.Links, "next", api.GeoJSONContentType); next != nil {
			target = path(t, next.Href)
		}
	}
	want := make([]string, len(demo.Grids))
	for i, g := range demo.Grids {
		want[i] = g.Code
	}
	if pages != 5 || !slices.Equal(ids, want) {
		t.Errorf("%d pages, %d ids; want 5 pages and every grid once in code order", pages, len(ids))
	}
	all := c.items("/ogc/collections/grids/items?limit=10000")
	if all.NumberReturned != len(demo.Grids) || rel(all.Links, "next", "") != nil || rel(all.Links, "prev", "") != nil {
		t.Errorf("limit=10000: %d returned, links %+v", all.NumberReturned, all.Links)
	}
	past := c.items("/ogc/collections/grids/items?offset=1000")
	if past.NumberReturned != 0 || past.NumberMatched != len(demo.Grids) || rel(past.Links, "next", "") != nil {
		t.Errorf("offset past the end: %+v", past)
	}
}

func TestOGC_filters(t *testing.T) {
	c := newClient(t)
	g := demo.Grids[17]
	village, district := g.VillageCode, ""
	if v, ok := demo.Village(village); ok {
		district = v.DistrictCode
	}
	count := func(keep func(g *geo.GridRecord) bool) int {
		n := 0
		for i := range demo.Grids {
			if keep(&demo.Grids[i]) {
				n++
			}
		}
		return n
	}
	inDistrict := func(code string) bool { v, _ := demo.Village(code); return v != nil && v.DistrictCode == district }
	villagesInDistrict := 0
	for _, v := range demo.Villages {
		if v.DistrictCode == district {
			villagesInDistrict++
		}
	}
	tests := []struct {
		collection, query string
		want              int
	}{
		{"grids", "village_code=" + village, count(func(x *geo.GridRecord) bool { return x.VillageCode == village })},
		{"grids", "district_code=" + district, count(func(x *geo.GridRecord) bool { return inDistrict(x.VillageCode) })},
		{"grids", "code=" + g.Code, 1},
		{"grids", "leader=" + url.QueryEscape(g.Leader.Name), count(func(x *geo.GridRecord) bool { return x.Leader != nil && x.Leader.Name == g.Leader.Name })},
		{"grids", fmt.Sprintf("households=%d", g.Households), count(func(x *geo.GridRecord) bool { return x.Households == g.Households })},
		{"grids", fmt.Sprintf("households=0%d", g.Households), count(func(x *geo.GridRecord) bool { return x.Households == g.Households })},
		{"grids", "village_code=" + village + "&code=" + g.Code, 1},
		{"grids", "code=431321101999999", 0},
		{"villages", "district_code=" + district, villagesInDistrict},
		{"villages", "code=" + village, 1},
		{"organizations", "kind=mediation", demoOrganizations(func(o geo.OrganizationRef) bool { return o.Kind == geo.OrgMediation })},
		{"organizations", "grids=" + g.Code, len(g.Organizations)},
		{"organizations", "village_code=" + village + "&kind=health_committee", 1},
	}
	for _, tt := range tests {
		fc := c.items("/ogc/collections/" + tt.collection + "/items?limit=2&" + tt.query)
		if fc.NumberMatched != tt.want || fc.NumberReturned != min(2, tt.want) {
			t.Errorf("%s?%s: matched %d, returned %d; want %d", tt.collection, tt.query, fc.NumberMatched, fc.NumberReturned, tt.want)
		}
		next := rel(fc.Links, "next", api.GeoJSONContentType)
		if (next != nil) != (tt.want > 2) {
			t.Errorf("%s?%s: next link %+v with %d matched", tt.collection, tt.query, next, tt.want)
		}
		if next != nil {
			q, _ := url.ParseQuery(tt.query)
			nq, _ := url.Parse(next.Href)
			for k := range q {
				if nq.Query().Get(k) != q.Get(k) {
					t.Errorf("%s?%s: next link %s drops the filter %s", tt.collection, tt.query, next.Href, k)
				}
			}
			if again := c.items(path(t, next.Href)); again.NumberMatched != tt.want {
				t.Errorf("%s: page 2 matched %d", next.Href, again.NumberMatched)
			}
		}
	}
}

// TestOGC_bbox checks bbox against the lookup index: a box shrunk to a
// point selects exactly the grids that cover the point, edges included,
// which a test on bounding boxes alone would not.
func TestOGC_bbox(t *testing.T) {
	c := newClient(t)
	points := randomPoints(40)
	points = append(points, demo.Grids[0].Geometry[0][0]...) // vertices, shared with neighbours
	for _, p := range points {
		var want []string
		for _, id := range demo.Index().Covering(p) {
			want = append(want, demo.Grids[id].Code)
		}
		fc := c.items(fmt.Sprintf("/ogc/collections/grids/items?bbox=%v,%v,%v,%v", p[0], p[1], p[0], p[1]))
		var got []string
		for _, f := range fc.Features {
			got = append(got, f.ID)
		}
		if !slices.Equal(got, want) || fc.NumberMatched != len(want) {
			t.Errorf("bbox at %v: got %v, want %v", p, got, want)
		}
	}
	b := demo.Whole().Outline.Bound()
	whole := fmt.Sprintf("bbox=%v,%v,%v,%v", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	if fc := c.items("/ogc/collections/grids/items?" + whole); fc.NumberMatched != len(demo.Grids) {
		t.Errorf("the town's bbox: %d grids", fc.NumberMatched)
	}
	if fc := c.items("/ogc/collections/villages/items?" + whole); fc.NumberMatched != len(demo.Villages) {
		t.Errorf("the town's bbox: %d villages", fc.NumberMatched)
	}
	if fc := c.items("/ogc/collections/organizations/items?" + whole); fc.NumberMatched != 0 {
		t.Errorf("organizations have no geometry, yet %d meet a bbox", fc.NumberMatched)
	}
	if fc := c.items("/ogc/collections/grids/items?bbox=116.3,39.8,116.5,40"); fc.NumberMatched != 0 {
		t.Errorf("Beijing: %d grids", fc.NumberMatched)
	}
}

// datedSnapshot is the demo town with validity times, as a snapshot loaded
// from the database has them: grid 0 since 2025-01-01, the rest since the
// current generation took effect on 2026-03-01.
func datedSnapshot(t *testing.T) *geo.Snapshot {
	t.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range td.Grids {
		td.Grids[i].ValidFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	td.Grids[0].ValidFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := geo.NewSnapshot(2, td.Area(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOGC_datetime(t *testing.T) {
	// The demo snapshot comes from a file without times: it holds since always.
	c := newClient(t)
	if fc := c.items("/ogc/collections/grids/items?datetime=2001-01-01T00:00:00Z"); fc.NumberMatched != len(demo.Grids) {
		t.Errorf("undated snapshot: %d grids", fc.NumberMatched)
	}

	var reg geo.Registry
	reg.Store(datedSnapshot(t))
	c = newClientFor(t, &reg)
	var col ogcCollectionDoc
	c.get("/ogc/collections/grids").json(t, &col)
	if iv := col.Extent.Temporal.Interval[0]; iv[0] == nil || *iv[0] != "2025-01-01T00:00:00Z" || iv[1] != nil {
		t.Errorf("temporal extent %v, want [2025-01-01T00:00:00Z, null]", iv)
	}
	for _, q := range []string{"2026-03-01T00:00:00Z", "2026-06-01T08:00:00%2B08:00", "2026-04-01T00:00:00Z/..",
		"2026-04-01T00:00:00Z/2027-01-01T00:00:00Z", "2026-03-01T00:00:00.5Z/"} {
		if fc := c.items("/ogc/collections/grids/items?datetime=" + q); fc.NumberMatched != len(demo.Grids) {
			t.Errorf("datetime=%s: %d grids, want all", q, fc.NumberMatched)
		}
	}
	// Without a history store, a datetime reaching before the current
	// generation is 503 (answered from the history:
	// ogc_incidents_test.go).
	for _, q := range []string{"2026-02-28T23:59:59Z", "2025-06-01T00:00:00Z", "../2026-06-01T00:00:00Z", "2025-06-01T00:00:00Z/2026-06-01T00:00:00Z"} {
		if res := c.get("/ogc/collections/grids/items?datetime=" + q); res.StatusCode != 503 || !strings.Contains(string(res.body), "history is not available") {
			t.Errorf("datetime=%s without history: %d %s", q, res.StatusCode, res.body)
		}
	}
	tests := []struct{ query, detail string }{
		{"../..", "both ends open"},
		{"2026-06-01T00:00:00Z/2026-05-01T00:00:00Z", "ends before it starts"},
		{"2026-06-01", "RFC 3339"},
		{"yesterday", "RFC 3339"},
	}
	for _, tt := range tests {
		res := c.get("/ogc/collections/grids/items?datetime=" + tt.query)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != 400 || !strings.HasPrefix(p.Detail, "datetime:") || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("datetime=%s: %d %q, want 400 with %q", tt.query, res.StatusCode, p.Detail, tt.detail)
		}
	}
	res := c.get("/ogc/collections/villages/items?datetime=2026-06-01T00:00:00Z")
	if res.StatusCode != 400 || !strings.Contains(string(res.body), "datetime: unknown parameter for collection villages") {
		t.Errorf("villages with datetime: %d %s", res.StatusCode, res.body)
	}
}

func TestOGC_badRequests(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		target string
		status int
		param  string
	}{
		{"/ogc/collections/grids/items?limit=0", 400, "limit"},
		{"/ogc/collections/grids/items?limit=10001", 400, "limit"},
		{"/ogc/collections/grids/items?limit=ten", 400, "limit"},
		{"/ogc/collections/grids/items?offset=-1", 400, "offset"},
		{"/ogc/collections/grids/items?offset=1.5", 400, "offset"},
		{"/ogc/collections/grids/items?bbox=1,2,3", 400, "bbox"},
		{"/ogc/collections/grids/items?bbox=112,27,0,113,28,100", 400, "bbox"},
		{"/ogc/collections/grids/items?bbox=113,27,112,28", 400, "bbox"},
		{"/ogc/collections/grids/items?bbox=112,27,113,95", 400, "bbox"},
		{"/ogc/collections/grids/items?bbox=a,27,113,28", 400, "bbox"},
		{"/ogc/collections/grids/items?village=431321101001", 400, "village"},
		{"/ogc/collections/grids/items?crs=gcj02", 400, "crs"},
		{"/ogc/collections/grids/items?bbox-crs=x", 400, "bbox-crs"},
		{"/ogc/collections/grids/items?households=many", 400, "households"},
		{"/ogc/collections/grids/items?code=1&code=2", 400, "code"},
		{"/ogc/collections/villages/items?kind=mediation", 400, "kind"},
		{"/ogc/collections/organizations/items?households=3", 400, "households"},
		{"/ogc/collections/grids/items?f=xml", 400, "f"},
		{"/ogc?f=pdf", 400, "f"},
		{"/ogc?limit=3", 400, "limit"},
		{"/ogc/conformance?x=1", 400, "x"},
		{"/ogc/collections?bbox=1,2,3,4", 400, "bbox"},
		{"/ogc/collections/grids?limit=1", 400, "limit"},
		{"/ogc/collections/grids/items/" + demo.Grids[0].Code + "?limit=1", 400, "limit"},
		{"/ogc/collections/parcels", 404, ""},
		{"/ogc/collections/parcels/items", 404, ""},
		{"/ogc/collections/grids/items/431321101999999", 404, ""},
		{"/ogc/collections/villages/items/" + demo.Grids[0].Code, 404, ""},
		{"/ogc/collections/organizations/items/nobody", 404, ""},
	}
	for _, tt := range tests {
		res := c.get(tt.target)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.target, res.StatusCode, res.body, tt.status)
			continue
		}
		if tt.param != "" && (!strings.HasPrefix(p.Detail, tt.param+":") || len(p.Errors) != 1 || p.Errors[0].Where != tt.param) {
			t.Errorf("%s: %q does not name %s", tt.target, p.Detail, tt.param)
		}
		if tt.status == 404 && p.Type != api.TypeNotFound {
			t.Errorf("%s: type %s", tt.target, p.Type)
		}
	}
}

// TestOGC_negotiation: f wins; otherwise browsers (Accept preferring
// text/html) get HTML and everything else JSON.
func TestOGC_negotiation(t *testing.T) {
	c := newClient(t)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	tests := []struct {
		target, accept, want string
	}{
		{"/ogc", "", "application/json"},
		{"/ogc", "*/*", "application/json"},
		{"/ogc", browser, "text/html; charset=utf-8"},
		{"/ogc", "application/json", "application/json"},
		{"/ogc", "text/html;q=0.5, application/json", "application/json"},
		{"/ogc", "application/json;q=0.2, text/*", "text/html; charset=utf-8"},
		{"/ogc?f=json", browser, "application/json"},
		{"/ogc?f=html", "application/json", "text/html; charset=utf-8"},
		{"/ogc/conformance", browser, "text/html; charset=utf-8"},
		{"/ogc/api", browser, "text/html; charset=utf-8"},
		{"/ogc/collections", browser, "text/html; charset=utf-8"},
		{"/ogc/collections/villages", browser, "text/html; charset=utf-8"},
		{"/ogc/collections/grids/items", "application/geo+json, application/json", api.GeoJSONContentType},
		{"/ogc/collections/grids/items", browser, "text/html; charset=utf-8"},
		{"/ogc/collections/grids/items?f=json", browser, api.GeoJSONContentType},
		{"/ogc/collections/grids/items/" + demo.Grids[3].Code, "", api.GeoJSONContentType},
		{"/ogc/collections/grids/items/" + demo.Grids[3].Code, browser, "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		res := c.get(tt.target, "Accept", tt.accept)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != tt.want {
			t.Errorf("%s with Accept %q: %d %s, want %s", tt.target, tt.accept, res.StatusCode, res.Header.Get("Content-Type"), tt.want)
		}
		if !strings.Contains(res.Header.Get("Vary"), "Accept") {
			t.Errorf("%s: Vary %q", tt.target, res.Header.Get("Vary"))
		}
		if strings.HasPrefix(tt.want, "text/html") && !strings.HasPrefix(string(res.body), "<!doctype html>") {
			t.Errorf("%s: not an HTML page: %.100s", tt.target, res.body)
		}
	}
}

func TestOGC_html(t *testing.T) {
	c := newClient(t)
	body := string(c.get("/ogc/collections/grids/items?f=html&limit=7&offset=7").body)
	if n := strings.Count(body, "<tr><td><a href=\"http://wangge.test/ogc/collections/grids/items/"); n != 7 {
		t.Errorf("items page: %d rows, want 7", n)
	}
	for _, want := range []string{demo.Grids[7].Code, demo.Grids[13].Name, `rel="next"`, `rel="prev"`,
		"http://wangge.test/ogc/collections/grids/items?f=html&amp;limit=7&amp;offset=14", "<th>leader</th>"} {
		if !strings.Contains(body, want) {
			t.Errorf("items page lacks %s", want)
		}
	}
	g := demo.Grids[7]
	body = string(c.get("/ogc/collections/grids/items/" + g.Code + "?f=html").body)
	for _, want := range []string{g.Name, g.Leader.Name, "MultiPolygon", "?f=json"} {
		if !strings.Contains(body, want) {
			t.Errorf("item page lacks %s", want)
		}
	}
	body = string(c.get("/ogc/collections/organizations?f=html").body)
	for _, want := range []string{"grid_count", "list of strings", "/ogc/collections/organizations/items?f=html"} {
		if !strings.Contains(body, want) {
			t.Errorf("collection page lacks %s", want)
		}
	}
	body = string(c.get("/ogc/collections?f=html").body)
	for _, want := range []string{"/ogc/collections/grids?f=html", "/ogc/collections/villages/items?f=html", "organizations"} {
		if !strings.Contains(body, want) {
			t.Errorf("collections page lacks %s", want)
		}
	}
}

// TestOGC_absoluteLinks: links follow the proxy's scheme and host, so that
// GDAL and QGIS behind a TLS proxy stay on https.
func TestOGC_absoluteLinks(t *testing.T) {
	c := newClient(t)
	targets := []string{"/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/grids",
		"/ogc/collections/grids/items?limit=5&offset=5", "/ogc/collections/grids/items/" + demo.Grids[0].Code}
	for _, target := range targets {
		var doc struct {
			Links       []ogcLink
			Collections []struct{ Links []ogcLink }
		}
		c.get(target, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "map.example.cn, proxy.internal").json(t, &doc)
		links := doc.Links
		for _, col := range doc.Collections {
			links = append(links, col.Links...)
		}
		if len(links) < 2 {
			t.Errorf("%s: links %+v", target, links)
		}
		for _, l := range links {
			if !strings.HasPrefix(l.Href, "https://map.example.cn/ogc") || l.Rel == "" || l.Type == "" {
				t.Errorf("%s: link %+v, want https://map.example.cn/ogc… with rel and type", target, l)
			}
		}
	}
	var doc struct{ Links []ogcLink }
	c.get("/ogc", "X-Forwarded-Host", `evil.example/"><script>`, "X-Forwarded-Proto", "gopher").json(t, &doc)
	if !strings.HasPrefix(doc.Links[0].Href, testBase+"/ogc") {
		t.Errorf("bad forwarded host and scheme were used: %s", doc.Links[0].Href)
	}
}

func TestOGC_item(t *testing.T) {
	c := newClient(t)
	g := demo.Grids[42]
	res := c.get("/ogc/collections/grids/items/" + g.Code)
	var f ogcFeature
	res.json(t, &f)
	if f.ID != g.Code || f.Geometry == nil || f.Geometry.Type != "MultiPolygon" {
		t.Fatalf("got %+v", f)
	}
	for i, poly := range g.Geometry {
		for j, ring := range poly {
			for k, p := range ring {
				if f.Geometry.Coordinates[i][j][k] != [2]float64(p) {
					t.Fatalf("vertex %d/%d/%d: got %v, stored %v", i, j, k, f.Geometry.Coordinates[i][j][k], p)
				}
			}
		}
	}
	v, _ := demo.Village(g.VillageCode)
	if f.Properties["code"] != g.Code || f.Properties["village_code"] != g.VillageCode || f.Properties["village_name"] != v.Name ||
		f.Properties["leader"] != g.Leader.Name || f.Properties["households"] != float64(g.Households) {
		t.Errorf("properties %v", f.Properties)
	}
	if s := rel(f.Links, "self", api.GeoJSONContentType); s == nil || path(t, s.Href) != "/ogc/collections/grids/items/"+g.Code+"?f=json" {
		t.Errorf("self link %+v", s)
	}
	if rel(f.Links, "alternate", "text/html") == nil || rel(f.Links, "collection", "application/json") == nil {
		t.Errorf("links %+v", f.Links)
	}

	var vf ogcFeature
	c.get("/ogc/collections/villages/items/"+v.Code).json(t, &vf)
	if vf.ID != v.Code || vf.Geometry == nil || vf.Properties["grids"].(float64) < 1 || vf.Properties["district_code"] != v.DistrictCode {
		t.Errorf("village: %+v", vf.Properties)
	}

	orgs := c.items("/ogc/collections/organizations/items?limit=10000")
	if want := demoOrganizations(func(geo.OrganizationRef) bool { return true }); orgs.NumberMatched != want || want == 0 {
		t.Errorf("%d organizations, want %d", orgs.NumberMatched, want)
	}
	seen := map[string]bool{}
	for _, o := range orgs.Features {
		if o.Geometry != nil || seen[o.ID] || !strings.HasPrefix(o.ID, o.Properties["village_code"].(string)+"-"+o.Properties["kind"].(string)+"-") {
			t.Errorf("organization %s: %+v", o.ID, o)
		}
		seen[o.ID] = true
	}
	o := orgs.Features[5]
	var of ogcFeature
	c.get("/ogc/collections/organizations/items/"+o.ID).json(t, &of)
	if of.ID != o.ID || of.Properties["name"] != o.Properties["name"] || of.Properties["grid_count"] != float64(len(of.Properties["grids"].([]any))) {
		t.Errorf("organization %s: %+v", o.ID, of)
	}
}

// demoOrganizations counts the demo town's organizations that keep accepts:
// an organization is its village, kind and name.
func demoOrganizations(keep func(geo.OrganizationRef) bool) int {
	seen := map[[3]string]bool{}
	for _, g := range demo.Grids {
		for _, o := range g.Organizations {
			if keep(o) {
				seen[[3]string{g.VillageCode, string(o.Kind), o.Name}] = true
			}
		}
	}
	return len(seen)
}

// TestOGC_noPhoneNumbers: no representation shows a phone.
func TestOGC_noPhoneNumbers(t *testing.T) {
	c := newClient(t)
	var phones []string
	for _, g := range demo.Grids {
		for _, ct := range []*geo.Contact{g.Leader, g.Deputy} {
			if ct != nil && ct.Phone != "" {
				phones = append(phones, ct.Phone)
			}
		}
	}
	if len(phones) == 0 {
		t.Fatal("the demo town has no phones to look for")
	}
	targets := []string{"/ogc", "/ogc/conformance", "/ogc/collections"}
	for _, col := range []string{"grids", "villages", "organizations"} {
		targets = append(targets, "/ogc/collections/"+col, "/ogc/collections/"+col+"/items?limit=10000")
		for _, f := range c.items("/ogc/collections/" + col + "/items?limit=3").Features {
			targets = append(targets, "/ogc/collections/"+col+"/items/"+f.ID)
		}
	}
	for _, target := range targets {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		for _, f := range []string{"json", "html"} {
			body := string(c.get(target + sep + "f=" + f).body)
			for _, p := range phones {
				if strings.Contains(body, p) {
					t.Fatalf("%s as %s shows the phone %s", target, f, p)
				}
			}
			// As a JSON member or an HTML table header: the landing page's
			// note may say that the demo's phone numbers are synthetic.
			for _, field := range []string{`"phone"`, `>phone<`, `"deputy"`, `>deputy<`} {
				if strings.Contains(body, field) {
					t.Errorf("%s as %s has the field %s", target, f, field)
				}
			}
		}
	}
}

func TestOGC_etag(t *testing.T) {
	c := newClient(t)
	target := "/ogc/collections/grids/items?limit=3&village_code=" + demo.Grids[0].VillageCode
	res := c.get(target)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again := c.get(target, "If-None-Match", etag); again.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", again.StatusCode)
	}
	for _, h := range [][]string{{"Accept", "text/html"}, {"X-Forwarded-Host", "other.example"}} {
		if again := c.get(target, "If-None-Match", etag, h[0], h[1]); again.StatusCode != 200 {
			t.Errorf("%s changes the body, yet the ETag matched: %d", h[0], again.StatusCode)
		}
	}
	if again := c.get(target+"&offset=3", "If-None-Match", etag); again.StatusCode != 200 {
		t.Errorf("another page, the same ETag: %d", again.StatusCode)
	}
}
