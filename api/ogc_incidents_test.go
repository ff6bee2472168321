package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// ogcIncidentEnv is a dispatch env with sessions and seven incidents
// received an hour apart, in grids 1, 2 and 5, of three categories, one
// of them resolved.
func ogcIncidentEnv(t *testing.T) (*dispatchEnv, []incidentAnswer) {
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{Logins: e.db, SecretKey: []byte("0123456789abcdef0123456789abcdef")})
	var out []incidentAnswer
	for i, spec := range []struct {
		grid     int
		category string
	}{{1, "environment"}, {2, "safety"}, {5, "environment"}, {1, "dispute"}, {5, "safety"}, {2, "environment"}, {1, "safety"}} {
		e.setNow(t0.Add(time.Duration(i) * time.Hour))
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(spec.grid), spec.category, "minor"), &inc); code != 201 {
			t.Fatalf("creating incident %d: %d", i, code)
		}
		out = append(out, inc)
	}
	e.setNow(t0.Add(8 * time.Hour))
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+out[0].Number+"/events", map[string]string{"action": "accept"}, nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	return e, out
}

// ogcGet sends a GET as role and returns the status and body.
func (e *dispatchEnv) ogcGet(role geo.AccessRole, target string) (int, []byte) {
	e.t.Helper()
	var raw json.RawMessage
	code := e.do(role, "GET", target, nil, &raw)
	return code, raw
}

// ogcIncidentFC is an incidents items response.
type ogcIncidentFC struct {
	NumberMatched int
	Features      []struct {
		ID       string
		Geometry *struct {
			Type        string
			Coordinates [2]float64
		}
		Properties map[string]any
	}
}

func (fc ogcIncidentFC) ids() []string {
	var out []string
	for _, f := range fc.Features {
		out = append(out, f.ID)
	}
	return out
}

// TestOGC_incidents: who sees the incidents collection, what its features
// hold (compared with /v1/incidents), and its filters.
func TestOGC_incidents(t *testing.T) {
	t.Parallel()
	e, incs := ogcIncidentEnv(t)

	// Anonymous callers, viewers and planners do not see the collection.
	for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessPlanner} {
		var cols struct{ Collections []struct{ ID string } }
		e.do(role, "GET", "/ogc/collections", nil, &cols)
		for _, c := range cols.Collections {
			if c.ID == "incidents" {
				t.Errorf("role %q sees the incidents collection", role)
			}
		}
		want := 403
		if role == "" {
			want = 401
		}
		for _, target := range []string{"/ogc/collections/incidents", "/ogc/collections/incidents/items",
			"/ogc/collections/incidents/queryables", "/ogc/collections/incidents/items/" + incs[0].Number} {
			if code, body := e.ogcGet(role, target); code != want {
				t.Errorf("%s as %q: %d %s, want %d", target, role, code, body, want)
			}
		}
	}

	// Dispatchers see every incident, as /v1/incidents lists them.
	var v1 struct {
		Incidents []struct {
			Number, Status, Category string
			Location                 *[2]float64
			Grid                     struct{ Code string }
			ReceivedAt               time.Time `json:"received_at"`
		}
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents?limit=1000", nil, &v1)
	var fc ogcIncidentFC
	code, body := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items?limit=100")
	if code != 200 {
		t.Fatalf("items as dispatcher: %d %s", code, body)
	}
	json.Unmarshal(body, &fc)
	if fc.NumberMatched != len(incs) || len(v1.Incidents) != len(incs) {
		t.Fatalf("%d features, /v1 lists %d, %d created", fc.NumberMatched, len(v1.Incidents), len(incs))
	}
	for i, f := range fc.Features {
		w := v1.Incidents[i]
		if f.ID != w.Number || f.Properties["status"] != w.Status || f.Properties["category"] != w.Category ||
			f.Properties["grid_code"] != w.Grid.Code || f.Properties["received_at"] != w.ReceivedAt.UTC().Format(time.RFC3339) ||
			f.Geometry == nil || f.Geometry.Type != "Point" || f.Geometry.Coordinates != *w.Location {
			t.Errorf("feature %d: %+v, /v1 has %+v", i, f, w)
		}
	}
	for _, personal := range []string{"13912345678", "李女士", "门口垃圾堆放", "reporter", "description", "phone"} {
		if strings.Contains(string(body), personal) {
			t.Errorf("the incidents collection shows %q", personal)
		}
	}
	if m := phonePattern.FindString(string(body)); m != "" {
		t.Errorf("the incidents collection shows a phone number %s", m)
	}

	// Filters: each compared with what /v1 says or what the test made.
	at := func(i int) string { return t0.Add(time.Duration(i) * time.Hour).UTC().Format(time.RFC3339) }
	byCategory := func(cat string) (out []string) {
		for _, w := range v1.Incidents {
			if w.Category == cat {
				out = append(out, w.Number)
			}
		}
		return out
	}
	numbers := func(idx ...int) (out []string) {
		for _, i := range idx {
			out = append(out, incs[i].Number)
		}
		return out
	}
	b := centre(5)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"category=safety", byCategory("safety")},
		{"status=accepted", numbers(0)},
		{"grid_code=431321101202002", numbers(4, 2)},
		{"datetime=" + at(3), numbers(3)},
		{"received_at=" + at(3), numbers(3)},
		{"datetime=" + at(2) + "/" + at(4), numbers(4, 3, 2)},
		{"datetime=../" + at(1), numbers(1, 0)},
		{"datetime=" + at(6) + "/..", numbers(6)},
		{fmt.Sprintf("bbox=%v,%v,%v,%v", b[0]-0.001, b[1]-0.001, b[0]+0.001, b[1]+0.001), numbers(4, 2)},
		{"filter=" + url.QueryEscape("category = 'environment' AND T_AFTER(received_at, TIMESTAMP('"+at(1)+"'))"), numbers(5, 2)},
		{"filter=" + url.QueryEscape("received_at >= '"+at(5)+"'"), numbers(6, 5)},
		{"filter=" + url.QueryEscape("T_DURING(received_at, INTERVAL('"+at(0)+"', '"+at(2)+"'))"), numbers(1)},
		{"filter=" + url.QueryEscape("status = 'accepted' OR grid_code LIKE '%201001'"), numbers(6, 3, 0)},
		{"filter=" + url.QueryEscape("resolved_at IS NULL AND level = 0 AND NOT overdue") + "&category=dispute", numbers(3)},
		{"filter-lang=cql2-json&filter=" + url.QueryEscape(`{"op":"in","args":[{"property":"category"},["dispute","safety"]]}`), numbers(6, 4, 3, 1)},
		{"filter=" + url.QueryEscape(fmt.Sprintf("S_INTERSECTS(geometry, POLYGON((%v %v, %v %v, %v %v, %v %v)))",
			b[0]-0.001, b[1]-0.001, b[0]+0.001, b[1]-0.001, b[0], b[1]+0.001, b[0]-0.001, b[1]-0.001)), numbers(4, 2)},
		{"sortby=received_at", numbers(0, 1, 2, 3, 4, 5, 6)},
		{"sortby=category,-received_at", numbers(3, 5, 2, 0, 6, 4, 1)},
	} {
		var got ogcIncidentFC
		code, body := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items?limit=100&"+tc.query)
		json.Unmarshal(body, &got)
		if code != 200 || !slices.Equal(got.ids(), tc.want) || got.NumberMatched != len(tc.want) {
			t.Errorf("%s: %d %v, want %v (%.200s)", tc.query, code, got.ids(), tc.want, body)
		}
	}

	// The HTML pages a dispatcher browses.
	for _, target := range []string{"/ogc/collections/incidents?f=html", "/ogc/collections/incidents/items?f=html",
		"/ogc/collections/incidents/items/" + incs[1].Number + "?f=html", "/ogc/collections/incidents/queryables?f=html"} {
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessDispatcher])
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "received_at") || strings.Contains(rec.Body.String(), "13912345678") {
			t.Errorf("%s: %d %.300s", target, rec.Code, rec.Body)
		}
	}

	// One incident, in CGCS2000 (lat, lon).
	var one struct {
		ID       string
		Geometry struct{ Coordinates [2]float64 }
	}
	code, body = e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items/"+incs[2].Number+"?crs=EPSG:4490")
	json.Unmarshal(body, &one)
	if c := centre(5); code != 200 || one.ID != incs[2].Number || one.Geometry.Coordinates != [2]float64{c[1], c[0]} {
		t.Errorf("incident in EPSG:4490: %d %s", code, body)
	}
	if code, _ := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items/NOPE"); code != 404 {
		t.Errorf("unknown incident: %d", code)
	}
	for _, bad := range []struct{ query, param string }{
		{"status=lost", "status"}, {"category=noise", "category"}, {"received_at=yesterday", "received_at"},
		{"overdue=maybe", "overdue"}, {"filter=" + url.QueryEscape("reporter_phone = '1'"), "filter"},
		{"datetime=tomorrow", "datetime"},
	} {
		code, body := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items?"+bad.query)
		var p api.Problem
		json.Unmarshal(body, &p)
		if code != 400 || !strings.HasPrefix(p.Detail, bad.param+":") {
			t.Errorf("%s: %d %q, want 400 naming %s", bad.query, code, p.Detail, bad.param)
		}
	}

	// A person signed in sees the incidents of their grid only: the
	// leader of grid 5 sees incidents 2 and 4.
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
	var mine ogcIncidentFC
	code, body = e.ogcGet(geo.AccessPerson, "/ogc/collections/incidents/items")
	json.Unmarshal(body, &mine)
	if code != 200 || !slices.Equal(mine.ids(), numbers(4, 2)) {
		t.Errorf("the leader of grid 5 sees %v (%d), want %v", mine.ids(), code, numbers(4, 2))
	}
	if code, _ := e.ogcGet(geo.AccessPerson, "/ogc/collections/incidents/items/"+incs[0].Number); code != 403 {
		t.Errorf("the leader of grid 5 reading an incident of grid 1: %d, want 403", code)
	}
	if code, _ := e.ogcGet(geo.AccessPerson, "/ogc/collections/incidents/items/"+incs[2].Number); code != 200 {
		t.Errorf("the leader of grid 5 reading an incident of grid 5: %d", code)
	}
}

// TestOGC_gridsDatetimeHistory: datetime before the current generation
// answers the grids of the generation in force then, feature by feature
// as GET /v1/grids?at= does.
func TestOGC_gridsDatetimeHistory(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return t1 }
	td := dispatchTown()
	if _, err := db.ImportTown(ctx, td, "test", "first"); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return t2 }
	td.Grids[0].Geometry = square(112, 27, 112.012, 27.01)
	td.Grids[1].Geometry = square(112.012, 27, 112.02, 27.01)
	if _, err := db.ImportTown(ctx, td, "test", "redraw"); err != nil {
		t.Fatal(err)
	}
	loaded, gen, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := geo.NewSnapshot(gen, loaded, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var reg geo.Registry
	reg.Store(snap)
	c := &client{t: t, srv: api.New(&reg, db, api.Config{History: db}, nil), router: openAPIRouter(t)}
	for _, at := range []time.Time{t1.Add(time.Hour), t2.Add(-time.Second), t2, t2.Add(time.Hour)} {
		q := url.QueryEscape(at.Format(time.RFC3339))
		v1 := c.get("/v1/grids?at=" + q)
		var want struct {
			Features []json.RawMessage
		}
		v1.json(t, &want)
		got, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&datetime=" + q)
		if len(got.Features) != len(want.Features) || len(got.Features) == 0 {
			t.Fatalf("datetime=%s: %d grids, /v1 has %d", q, len(got.Features), len(want.Features))
		}
		for i, raw := range want.Features {
			var w struct {
				ID         string
				Geometry   json.RawMessage
				Properties map[string]any
			}
			json.Unmarshal(raw, &w)
			f := got.Features[i]
			if f.ID != w.ID || string(f.Geometry) != string(w.Geometry) || fmt.Sprint(f.Properties) != fmt.Sprint(w.Properties) {
				t.Errorf("datetime=%s, grid %d: %s %s %v; /v1 %s %s %v", q, i, f.ID, f.Geometry, f.Properties, w.ID, w.Geometry, w.Properties)
			}
		}
	}
	// Grid 001 is 0.01° wide in generation 1 and 0.012° in 2.
	first, _ := c.rawItems("/ogc/collections/grids/items?datetime=" + url.QueryEscape(t1.Add(time.Hour).Format(time.RFC3339)) + "&code=431321101201001")
	now, _ := c.rawItems("/ogc/collections/grids/items?code=431321101201001")
	if string(first.Features[0].Geometry) == string(now.Features[0].Geometry) || !strings.Contains(string(now.Features[0].Geometry), "112.012") {
		t.Errorf("grid 001 then %s, now %s: want the redraw", first.Features[0].Geometry, now.Features[0].Geometry)
	}
	if fc, _ := c.rawItems("/ogc/collections/grids/items?datetime=2020-01-01T00:00:00Z"); fc.NumberMatched != 0 {
		t.Errorf("before the first generation: %d grids, want none", fc.NumberMatched)
	}
	// An interval within generation 1 gives its grids, as an instant in
	// it does.
	inFirst, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&datetime=" +
		url.QueryEscape(t1.Add(time.Hour).Format(time.RFC3339)+"/"+t2.Add(-time.Hour).Format(time.RFC3339)))
	atFirst, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&datetime=" + url.QueryEscape(t1.Add(time.Hour).Format(time.RFC3339)))
	if !slices.Equal(inFirst.ids(), atFirst.ids()) || len(inFirst.Features) != 6 {
		t.Errorf("an interval in generation 1: %v, an instant in it: %v", inFirst.ids(), atFirst.ids())
	}
	// An interval across the redraw gives both versions of the two
	// redrawn grids: the newest under its code, the older as
	// <code>@<generation>, with the geometry /v1/grids/{code}/history
	// gives that version.
	across, _ := c.rawItems("/ogc/collections/grids/items?limit=10000&datetime=" +
		url.QueryEscape(t1.Add(time.Hour).Format(time.RFC3339)+"/.."))
	want := []string{"431321101201001", "431321101201001@1", "431321101201002", "431321101201002@1", "431321101201003",
		"431321101202001", "431321101202002", "431321101202003"}
	got := across.ids()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("an interval across the redraw: %v, want %v", got, want)
	}
	var history struct {
		Features []struct {
			ID       string
			Geometry json.RawMessage
		}
	}
	c.get("/v1/grids/431321101201001/history").json(t, &history)
	compared := 0
	for _, f := range across.Features {
		for _, h := range history.Features {
			if f.ID == h.ID || f.ID+"@2" == h.ID {
				compared++
				if string(f.Geometry) != string(h.Geometry) {
					t.Errorf("%s: %s, history says %s", f.ID, f.Geometry, h.Geometry)
				}
			}
		}
	}
	if compared != 2 {
		t.Errorf("compared %d versions of grid 001 with its history, want 2", compared)
	}
	if history.Features[0].ID != "431321101201001@1" {
		t.Errorf("the history's first version is %s", history.Features[0].ID)
	}
}
