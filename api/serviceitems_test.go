package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/workcal"
)

// serviceItemAnswer is a service item as the API sends it.
type serviceItemAnswer struct {
	Code          string
	NameZh        string `json:"name_zh"`
	LimitWorkdays *int   `json:"limit_workdays"`
	LimitHours    *int   `json:"limit_hours"`
	Active        bool
}

// newLimitsEnv is the dispatch env with the catalogue and the calendar
// of migration 0014 loaded.
func newLimitsEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{ServiceItems: e.db})
	if err := e.srv.ReloadLimits(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// chinaEnd is 24:00 of a day of 2026 in China.
func chinaEnd(month time.Month, day int) time.Time {
	return workcal.Date{Year: 2026, Month: month, Day: day}.End()
}

// TestServiceItems_limitEditedAtRunTime is the case: an admin
// edits a service item's limit, and the holiday calendar, through the
// API; the next incident gets the new due time, the ones before keep
// theirs. It runs on Friday 13 February 2026, the last working day but
// one before the Spring Festival (15-23 February off, Saturday 14th and
// 28th worked).
func TestServiceItems_limitEditedAtRunTime(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	now := time.Date(2026, 2, 13, 10, 0, 0, 0, workcal.Zone)
	e.setNow(now)
	intake := func(category string) incidentAnswer {
		t.Helper()
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), category, "minor"), &inc); code != 201 {
			t.Fatalf("intake %s: %d %+v", category, code, inc)
		}
		return inc
	}
	patch := func(item string, body map[string]any) {
		t.Helper()
		var out serviceItemAnswer
		if code := e.do(geo.AccessAdmin, "PATCH", "/v1/service-items/"+item, body, &out); code != 200 {
			t.Fatalf("PATCH %s %v: %d", item, body, code)
		}
	}
	dueOf := func(number string) time.Time {
		t.Helper()
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+number, nil, &inc); code != 200 {
			t.Fatalf("GET %s: %d", number, code)
		}
		return inc.DueAt
	}

	// environment: 3 working days → 14th (调休), 24th, 25th.
	first := intake("environment")
	if !first.DueAt.Equal(chinaEnd(2, 25)) {
		t.Fatalf("3 working days from Friday 13 February: due %v, want the end of the 25th", first.DueAt.In(workcal.Zone))
	}
	patch("environment", map[string]any{"limit_workdays": 1})
	second := intake("environment")
	if !second.DueAt.Equal(chinaEnd(2, 14)) {
		t.Errorf("after the edit to 1 working day: due %v, want the end of the working Saturday 14th", second.DueAt.In(workcal.Zone))
	}
	patch("environment", map[string]any{"limit_hours": 4})
	third := intake("environment")
	if !third.DueAt.Equal(now.Add(4 * time.Hour)) {
		t.Errorf("after the edit to 4 hours: due %v, want %v", third.DueAt, now.Add(4*time.Hour))
	}
	if got := dueOf(first.Number); !got.Equal(chinaEnd(2, 25)) {
		t.Errorf("the first incident's due moved to %v: a limit edited later applies to new incidents only", got)
	}
	if got := dueOf(second.Number); !got.Equal(chinaEnd(2, 14)) {
		t.Errorf("the second incident's due moved to %v", got)
	}

	// The calendar, edited: the working Saturday made a holiday moves day
	// 1 past the festival; a festival Monday the notice added, given back
	// to the weekday rule, becomes day 1.
	patch("environment", map[string]any{"limit_workdays": 1})
	var day workcal.Day
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/calendar/2026-02-14", map[string]string{"kind": "holiday", "name": "春节"}, &day); code != 200 ||
		day.Kind != workcal.Holiday || day.Date.String() != "2026-02-14" {
		t.Fatalf("PUT 2026-02-14: %d %+v, want 200 (it replaced the 调休 day)", code, day)
	}
	if got := intake("environment").DueAt; !got.Equal(chinaEnd(2, 24)) {
		t.Errorf("with the 14th off: due %v, want the end of the 24th", got.In(workcal.Zone))
	}
	// 除夕 (Monday 16th) deleted from the calendar stays off: the law makes
	// it a holiday whatever the notice says.
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/calendar/2026-02-16", nil, nil); code != 204 {
		t.Fatalf("DELETE 2026-02-16: %d", code)
	}
	if got := intake("environment").DueAt; !got.Equal(chinaEnd(2, 24)) {
		t.Errorf("with 除夕 deleted from the calendar: due %v, want the end of the 24th", got.In(workcal.Zone))
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/calendar/2026-02-23", nil, nil); code != 204 {
		t.Fatalf("DELETE 2026-02-23: %d", code)
	}
	if got := intake("environment").DueAt; !got.Equal(chinaEnd(2, 23)) {
		t.Errorf("with Monday 23rd (初七, a notice's day) a working day: due %v, want the end of the 23rd", got.In(workcal.Zone))
	}

	// A retired item is refused at intake, with the message of old.
	patch("customs", map[string]any{"active": false})
	var p problemAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "customs", "minor"), &p); code != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Where != "category" ||
		p.Errors[0].Reason != `got "customs", want one of [dispute environment left_behind_children livelihood other safety]` {
		t.Errorf("a retired category: %d %+v", code, p)
	}
}

// TestServiceItems_endpoints checks who may do what, the list Open311 needs,
// idempotent creation, and the problems of bad writes.
func TestServiceItems_endpoints(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	var list struct {
		ServiceItems []serviceItemAnswer `json:"service_items"`
	}
	if code := e.do("", "GET", "/v1/service-items", nil, &list); code != 200 || len(list.ServiceItems) != 7 {
		t.Fatalf("anonymous list: %d, %d items", code, len(list.ServiceItems))
	}
	for _, it := range list.ServiceItems {
		if (it.LimitWorkdays == nil) == (it.LimitHours == nil) || it.NameZh == "" || !it.Active {
			t.Errorf("%+v: want one limit, a name, active", it)
		}
	}
	if it := list.ServiceItems[0]; it.Code != "customs" || *it.LimitWorkdays != 3 {
		t.Errorf("first by code: %+v", it)
	}
	if code := e.do("", "GET", "/v1/service-items?active=false", nil, &list); code != 200 || len(list.ServiceItems) != 0 {
		t.Errorf("?active=false: %d, %d items", code, len(list.ServiceItems))
	}
	var p problemAnswer
	if code := e.do("", "GET", "/v1/service-items?active=maybe", nil, &p); code != 400 || p.Errors[0].Where != "active" {
		t.Errorf("?active=maybe: %d %+v", code, p)
	}
	var one serviceItemAnswer
	if code := e.do("", "GET", "/v1/service-items/safety", nil, &one); code != 200 || one.LimitHours == nil || *one.LimitHours != 24 || one.LimitWorkdays != nil {
		t.Errorf("safety: %d %+v", code, one)
	}
	if code := e.do("", "GET", "/v1/service-items/nothing", nil, nil); code != 404 {
		t.Errorf("unknown item: %d", code)
	}

	noise := map[string]any{"code": "noise", "name_zh": "噪声扰民", "description": "夜间施工、广场舞", "limit_workdays": 2}
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessDispatcher: 403, geo.AccessPlanner: 403} {
		if code := e.do(role, "POST", "/v1/service-items", noise, nil); code != want {
			t.Errorf("POST as %q: %d, want %d", role, code, want)
		}
	}
	body, _ := json.Marshal(noise)
	req := httptest.NewRequest("POST", "/v1/service-items", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessAdmin])
	req.Header.Set("Idempotency-Key", "n-1")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	var created serviceItemAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || rec.Code != 201 ||
		rec.Header().Get("Location") != "/v1/service-items/noise" || created.Code != "noise" || *created.LimitWorkdays != 2 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-items", noise, nil, "Idempotency-Key", "n-1"); code != 200 {
		t.Errorf("retry with the key: %d, want 200", code)
	}
	other := map[string]any{"code": "noise", "name_zh": "噪声", "limit_workdays": 2}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-items", other, &p, "Idempotency-Key", "n-1"); code != 422 {
		t.Errorf("the key with another body: %d, want 422", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-items", noise, &p); code != 409 || !strings.Contains(p.Detail, "noise") {
		t.Errorf("the code again: %d %+v, want 409", code, p)
	}
	p = problemAnswer{}
	bad := map[string]any{"code": "Bad Code", "name_zh": "", "limit_workdays": 2, "limit_hours": 3}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-items", bad, &p); code != 400 || len(p.Errors) != 3 ||
		p.Errors[0].Where != "code" || p.Errors[1].Where != "name_zh" || p.Errors[2].Where != "limit_hours" {
		t.Errorf("a bad item: %d %+v, want code, name_zh and limit_hours named", code, p)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", "/v1/service-items/noise", map[string]any{}, &p); code != 400 {
		t.Errorf("an empty patch: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", "/v1/service-items/nothing", map[string]any{"active": false}, nil); code != 404 {
		t.Errorf("PATCH an unknown item: %d", code)
	}

	// The new item is a category intake accepts at once, with its limit.
	e.setNow(time.Date(2026, 3, 2, 9, 0, 0, 0, workcal.Zone)) // a Monday
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "noise", "minor"), &inc); code != 201 ||
		!inc.DueAt.Equal(chinaEnd(3, 4)) {
		t.Errorf("intake of the new item: %d, due %v, want the end of Wednesday 4 March", code, inc.DueAt.In(workcal.Zone))
	}
}

// TestCalendar_endpoints checks the calendar's reads and writes: who may,
// the shipped 2026 schedule, and the problems of bad writes.
func TestCalendar_endpoints(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	var cal struct {
		Years []int
		Days  []workcal.Day
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/calendar", nil, &cal); code != 200 || len(cal.Years) != 1 || cal.Years[0] != 2026 || len(cal.Days) != 39 {
		t.Fatalf("calendar: %d, years %v, %d days; want 2026's 33 days off and 6 worked", code, cal.Years, len(cal.Days))
	}
	if d := cal.Days[0]; d.Date.String() != "2026-01-01" || d.Kind != workcal.Holiday || d.Name != "元旦" {
		t.Errorf("first day %+v", d)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/calendar?year=2027", nil, &cal); code != 200 || len(cal.Days) != 0 {
		t.Errorf("2027: %d, %d days", code, len(cal.Days))
	}
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403} {
		if code := e.do(role, "GET", "/v1/calendar", nil, nil); code != want {
			t.Errorf("GET as %q: %d, want %d", role, code, want)
		}
	}
	if code := e.do(geo.AccessDispatcher, "PUT", "/v1/calendar/2027-02-06", map[string]string{"kind": "holiday", "name": "春节"}, nil); code != 403 {
		t.Errorf("PUT as dispatcher: %d", code)
	}
	var day workcal.Day
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/calendar/2027-02-06", map[string]string{"kind": "holiday", "name": "春节"}, &day); code != 201 {
		t.Errorf("PUT a new day: %d", code)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/calendar?year=2027", nil, &cal); code != 200 || len(cal.Days) != 1 || len(cal.Years) != 2 {
		t.Errorf("2027 after the PUT: %d, %+v", code, cal)
	}
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/calendar/2027-02-07", map[string]string{"kind": "rest"}, &p); code != 400 || len(p.Errors) != 2 {
		t.Errorf("a bad day: %d %+v", code, p)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/calendar/2027-03-01", nil, nil); code != 404 {
		t.Errorf("DELETE a day not listed: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/calendar/2027-02-30", nil, &p); code != 400 || p.Errors[0].Where != "date" {
		t.Errorf("DELETE 2027-02-30: %d %+v", code, p)
	}
}

// TestServiceItems_withoutStore: a server without the store answers 503 and
// keeps the built-in categories and severity limits.
func TestServiceItems_withoutStore(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	if code := e.do("", "GET", "/v1/service-items", nil, nil); code != http.StatusServiceUnavailable {
		t.Errorf("no store: %d, want 503", code)
	}
	if err := e.srv.ReloadLimits(context.Background()); err != nil {
		t.Errorf("ReloadLimits without a store: %v", err)
	}
}

// TestReloadLimits_warnsOfUncoveredYear: a year whose notice is not entered
// counts by the weekday rule alone, so the server says so while limits set
// now can end in it: in December 2026 (the shipped calendar holds 2026
// only), not in June.
func TestReloadLimits_warnsOfUncoveredYear(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	for _, tt := range []struct {
		now  time.Time
		warn bool
	}{
		{time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), false},
	} {
		var log bytes.Buffer
		srv := api.New(e.reg, e.db, api.Config{ServiceItems: e.db, Now: func() time.Time { return tt.now }},
			slog.New(slog.NewTextHandler(&log, nil)))
		if err := srv.ReloadLimits(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(log.String(), "year=2027"); got != tt.warn {
			t.Errorf("at %v: warned about 2027 %v, want %v: %s", tt.now, got, tt.warn, log.String())
		}
	}
}
