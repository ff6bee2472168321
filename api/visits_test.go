package api_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/photofile/photofiletest"
)

type visitAnswer struct {
	ID     int64
	Kind   string
	Person struct {
		ID   int64
		Name string
	}
	HeldAt     time.Time `json:"held_at"`
	Grid       string
	Village    string
	District   string
	Incident   *string
	Households int
	Attendees  int
}

type visitCountAnswer struct {
	Key        string
	Name       string
	Total      int
	ByKind     map[string]int `json:"by_kind"`
	Households int
}

type visitStatsAnswer struct {
	By     string
	Counts []visitCountAnswer
	Total  visitCountAnswer
}

// TestVisits_logCheckedAgainstGrids: visits and meetings are logged with
// the grid their point falls in (and its village and 片区); a point outside
// coverage, a grid the point is not in, an unknown person or incident are
// 400 naming the field; only dispatchers log and list; the counts per
// person, grid, village and 片区 add up.
func TestVisits_logCheckedAgainstGrids(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{})
	var person struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "走访干部", "phone": "13900001111"}, &person); code != 201 {
		t.Fatalf("POST /v1/people: %d", code)
	}
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &inc); code != 201 {
		t.Fatalf("POST /v1/incidents: %d", code)
	}
	at := func(p [2]float64) map[string]any { return map[string]any{"lon": p[0], "lat": p[1]} }
	held := t0.Add(-48 * time.Hour).Format(time.RFC3339)

	var v visitAnswer
	body := map[string]any{"person": person.ID, "held_at": held, "location": at(centre(1)), "raised": "邻里宅基地纠纷",
		"incident": inc.Number, "households": 3}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/visits", body, &v); code != 201 || v.Grid != "431321101201001" ||
		v.Village != "431321101201" || v.District != "01" || v.Kind != "visit" || v.Incident == nil || *v.Incident != inc.Number ||
		v.Households != 3 || v.Person.Name != "走访干部" {
		t.Fatalf("POST a visit: %d %+v", code, v)
	}
	body = map[string]any{"person": person.ID, "held_at": held, "location": at(centre(4)), "grid": "431321101202001"}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/visits", body, &v); code != 201 || v.Grid != "431321101202001" || v.Households != 1 || v.Incident != nil {
		t.Fatalf("POST a second visit: %d %+v (a visit counts one household by default)", code, v)
	}
	body = map[string]any{"kind": "party_meeting", "person": person.ID, "held_at": "2026-11-01", "location": at(centre(4)), "attendees": 23}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/visits", body, &v); code != 201 || v.Kind != "party_meeting" || v.Households != 0 || v.Attendees != 23 {
		t.Fatalf("POST a 党员大会: %d %+v", code, v)
	}

	// Refusals name the field.
	good := func(extra map[string]any) map[string]any {
		b := map[string]any{"person": person.ID, "held_at": held, "location": at(centre(2))}
		for k, x := range extra {
			b[k] = x
		}
		return b
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		where string
	}{
		{"outside coverage", good(map[string]any{"location": map[string]any{"lon": 113.5, "lat": 28.5}}), "location"},
		{"no location", good(map[string]any{"location": nil}), "location"},
		{"not in the grid named", good(map[string]any{"grid": "431321101201001"}), "grid"},
		{"unknown person", good(map[string]any{"person": 999999}), "person"},
		{"unknown incident", good(map[string]any{"incident": "WG99999999"}), "incident"},
		{"bad incident", good(map[string]any{"incident": "12345"}), "incident"},
		{"bad kind", good(map[string]any{"kind": "picnic"}), "kind"},
		{"future", good(map[string]any{"held_at": t0.Add(48 * time.Hour).Format(time.RFC3339)}), "held_at"},
		{"negative households", good(map[string]any{"households": -1}), "households"},
		{"unknown member", good(map[string]any{"weather": "晴"}), "weather"},
	} {
		var p problemAnswer
		code := e.do(geo.AccessDispatcher, "POST", "/v1/visits", c.body, &p)
		found := false
		for _, pe := range p.Errors {
			found = found || pe.Where == c.where
		}
		if code != 400 || !(found || len(p.Errors) == 0 && strings.Contains(p.Detail, c.where)) {
			t.Errorf("%s: %d %+v, want 400 naming %s", c.name, code, p, c.where)
		}
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer} {
		if code := e.do(role, "POST", "/v1/visits", good(nil), nil); code != 401 && code != 403 {
			t.Errorf("POST as %q: %d, want 401/403", role, code)
		}
		if code := e.do(role, "GET", "/v1/visits", nil, nil); code != 401 && code != 403 {
			t.Errorf("GET /v1/visits as %q: %d, want 401/403", role, code)
		}
	}

	// The list, filtered.
	var list struct{ Visits []visitAnswer }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/visits?person="+strconv.FormatInt(person.ID, 10), nil, &list); code != 200 || len(list.Visits) != 3 {
		t.Fatalf("GET /v1/visits?person=: %d, %d visits, want 3", code, len(list.Visits))
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/visits?grid=431321101202001&kind=visit", nil, &list); code != 200 || len(list.Visits) != 1 {
		t.Errorf("GET /v1/visits?grid=&kind=visit: %d, %d visits, want 1", code, len(list.Visits))
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/visits?from=2026-11-15&to=2026-11-30", nil, &list); code != 200 || len(list.Visits) != 2 {
		t.Errorf("GET /v1/visits?from=&to=: %d, %d visits, want the 2 visits", code, len(list.Visits))
	}

	// The counts.
	stats := func(query string) visitStatsAnswer {
		t.Helper()
		var s visitStatsAnswer
		if code := e.do("", "GET", "/v1/visits/stats"+query, nil, &s); code != 200 {
			t.Fatalf("GET /v1/visits/stats%s: %d", query, code)
		}
		return s
	}
	if s := stats("?by=person"); len(s.Counts) != 1 || s.Counts[0].Total != 3 || s.Counts[0].Households != 4 ||
		s.Counts[0].ByKind["visit"] != 2 || s.Counts[0].ByKind["party_meeting"] != 1 || s.Counts[0].Name != "走访干部" {
		t.Errorf("by person: %+v", s)
	}
	if s := stats("?by=grid"); len(s.Counts) != 2 || s.Counts[0].Key != "431321101201001" || s.Counts[0].Total != 1 ||
		s.Counts[1].Total != 2 || s.Total.Total != 3 || s.Total.Households != 4 {
		t.Errorf("by grid: %+v", s)
	}
	if s := stats("?by=village&kind=visit"); len(s.Counts) != 2 || s.Counts[1].Key != "431321101202" || s.Counts[1].Name != "2村" || s.Counts[1].Total != 1 {
		t.Errorf("by village, visits only: %+v", s)
	}
	if s := stats("?by=district"); len(s.Counts) != 1 || s.Counts[0].Key != "431321101/01" || s.Counts[0].Total != 3 {
		t.Errorf("by 片区: %+v", s)
	}
	if s := stats("?by=grid&district=01"); s.Total.Total != 3 {
		t.Errorf("in 片区 01: %+v", s)
	}
	var p problemAnswer
	for q, where := range map[string]string{"?by=household": "by", "?person=x": "person", "?from=soon": "from", "?colour=red": "colour"} {
		if code := e.do("", "GET", "/v1/visits/stats"+q, nil, &p); code != 400 || !strings.Contains(p.Detail, where) {
			t.Errorf("GET /v1/visits/stats%s: %d %+v, want 400 naming %s", q, code, p, where)
		}
	}
}

// TestVisits_photos: a visit's photos are limited and checked as
// incidents' photos are; the EXIF position is checked against the
// visit's grid; the same bytes again are the same photo; only dispatchers
// attach and read them.
func TestVisits_photos(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{MaxPhotoBytes: 64 << 10})
	var person struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "走访干部", "phone": "13900001111"}, &person); code != 201 {
		t.Fatalf("POST /v1/people: %d", code)
	}
	var v visitAnswer
	body := map[string]any{"person": person.ID, "held_at": "2026-11-20", "location": map[string]any{"lon": centre(1)[0], "lat": centre(1)[1]}}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/visits", body, &v); code != 201 {
		t.Fatalf("POST /v1/visits: %d", code)
	}
	target := "/v1/visits/" + strconv.FormatInt(v.ID, 10) + "/photos"
	var ph struct {
		ID            int64
		URL           string
		LocationCheck string `json:"location_check"`
	}
	inGrid := photofiletest.JPEG(photofiletest.Options{Width: 64, Height: 48, GPS: &[2]float64{centre(1)[0], centre(1)[1]}})
	if code := e.do(geo.AccessDispatcher, "POST", target, string(inGrid), &ph, "Content-Type", "image/jpeg"); code != 201 || ph.LocationCheck != "inside" {
		t.Fatalf("uploading a photo taken in the grid to %s: %d %+v", target, code, ph)
	}
	first := ph.ID
	if code := e.do(geo.AccessDispatcher, "POST", target, string(inGrid), &ph, "Content-Type", "image/jpeg"); code != 200 || ph.ID != first {
		t.Errorf("the same bytes again: %d %+v, want 200 and photo %d", code, ph, first)
	}
	far := photofiletest.PNG(photofiletest.Options{Width: 20, Height: 20, GPS: &[2]float64{centre(1)[0] + 0.1, centre(1)[1]}})
	if code := e.do(geo.AccessDispatcher, "POST", target, string(far), &ph, "Content-Type", "image/png"); code != 201 || ph.LocationCheck != "outside" {
		t.Errorf("a photo taken 10 km away: %d %+v, want 201 outside", code, ph)
	}
	if code := e.do(geo.AccessDispatcher, "POST", target, "not an image", nil, "Content-Type", "text/plain"); code != 415 {
		t.Errorf("text: %d, want 415", code)
	}
	if code := e.do(geo.AccessDispatcher, "POST", target, string(make([]byte, 70<<10)), nil, "Content-Type", "image/jpeg"); code != 413 {
		t.Errorf("over the limit: %d, want 413", code)
	}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/visits/999999/photos", string(inGrid), nil, "Content-Type", "image/jpeg"); code != 404 {
		t.Errorf("an unknown visit: %d, want 404", code)
	}
	if code := e.do(geo.AccessViewer, "POST", target, string(inGrid), nil, "Content-Type", "image/jpeg"); code != 403 {
		t.Errorf("a viewer uploading: %d, want 403", code)
	}
	for n := 0; n < 7; n++ {
		img := photofiletest.PNG(photofiletest.Options{Width: 10 + n, Height: 10})
		if code := e.do(geo.AccessDispatcher, "POST", target, string(img), nil, "Content-Type", "image/png"); code != 201 {
			t.Fatalf("photo %d: %d", n+3, code)
		}
	}
	if code := e.do(geo.AccessDispatcher, "POST", target, string(photofiletest.PNG(photofiletest.Options{Width: 99, Height: 10})), nil, "Content-Type", "image/png"); code != 409 {
		t.Errorf("a tenth photo: %d, want 409", code)
	}
	req := httptest.NewRequest("GET", "/v1/visits/"+strconv.FormatInt(v.ID, 10)+"/photos/"+strconv.FormatInt(first, 10), nil)
	req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessDispatcher])
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/jpeg" || rec.Body.Len() == 0 {
		t.Errorf("GET the photo: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if code := e.do(geo.AccessViewer, "GET", "/v1/visits/"+strconv.FormatInt(v.ID, 10)+"/photos/"+strconv.FormatInt(first, 10), nil, nil); code != 403 {
		t.Errorf("a viewer reading a visit photo: %d, want 403", code)
	}
}
