package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// TestScopedDispatcher_figures: a town's dispatcher sees its town's rows
// of the 考核 tables, with its town's own row as the total, and is refused
// the levels counted over every town; its 通报 has its town's sheets only.
// The county's dispatcher sees both towns.
func TestScopedDispatcher_figures(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	for _, p := range []struct {
		lon, lat float64
	}{{centre(1)[0], centre(1)[1]}, {centre(2)[0], centre(2)[1]}, {inB[0], inB[1]}} {
		if code := e.do(geo.AccessDispatcher, http.MethodPost, "/v1/incidents",
			newIncident([2]float64{p.lon, p.lat}, "safety", "minor"), nil); code != http.StatusCreated {
			t.Fatalf("intake: %d", code)
		}
	}
	accepted := func(a figuresAnswer, key string) float64 {
		for _, r := range a.Rows {
			if r.Key == key && r.Figures["accepted"] != nil {
				return *r.Figures["accepted"]
			}
		}
		return -1
	}
	var county, town figuresAnswer
	if code := e.do(geo.AccessDispatcher, http.MethodGet, "/v1/figures?level=town&period=2026", nil, &county); code != 200 ||
		accepted(county, townA) != 2 || accepted(county, townB) != 1 {
		t.Fatalf("the county's town table: %d %+v", code, county.Rows)
	}
	if code := e.do(dispatcherA, http.MethodGet, "/v1/figures?level=village&period=2026", nil, &town); code != 200 {
		t.Fatalf("town A's village table: %d", code)
	}
	for _, r := range town.Rows {
		if !strings.HasPrefix(r.Key, townA) {
			t.Errorf("town A's dispatcher sees village %s", r.Key)
		}
	}
	if len(town.Rows) == 0 || town.Total.Key != townA || town.Total.Figures["accepted"] == nil || *town.Total.Figures["accepted"] != 2 {
		t.Errorf("town A's total: %+v, want town A's own row (2 accepted)", town.Total)
	}
	var p problemAnswer
	if code := e.do(dispatcherA, http.MethodGet, "/v1/figures?level=person&period=2026", nil, &p); code != http.StatusForbidden ||
		!strings.Contains(p.Type, "outside-town-scope") {
		t.Errorf("town A's dispatcher by person: %d %+v, want 403", code, p)
	}
	rec := e.raw(dispatcherA, "/v1/figures.xlsx?period=2026")
	if rec.Code != 200 {
		t.Fatalf("town A's 通报: %d", rec.Code)
	}
	f, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"乡镇（街道）", "片区", "村（社区）", "网格", "说明"}; !slices.Equal(got, want) {
		t.Errorf("town A's 通报 sheets %v, want %v", got, want)
	}

	// The county's dispatcher asks for town B's table with ?town=: the
	// same rows and total a town B token gets.
	var asked, own figuresAnswer
	if code := e.do(geo.AccessDispatcher, http.MethodGet, "/v1/figures?level=village&period=2026&town="+townB, nil, &asked); code != 200 {
		t.Fatalf("the county's dispatcher, town B's villages: %d", code)
	}
	if code := e.do(dispatcherB, http.MethodGet, "/v1/figures?level=village&period=2026", nil, &own); code != 200 {
		t.Fatalf("town B's dispatcher, its villages: %d", code)
	}
	if len(asked.Rows) == 0 || len(asked.Rows) != len(own.Rows) || asked.Total.Key != townB ||
		asked.Total.Figures["accepted"] == nil || *asked.Total.Figures["accepted"] != 1 {
		t.Errorf("?town=%s: %d rows, total %+v; want town B's %d rows and its own total (1 accepted)", townB, len(asked.Rows), asked.Total, len(own.Rows))
	}
	for _, tc := range []struct {
		who    geo.AccessRole
		target string
		status int
		where  string
	}{
		{geo.AccessDispatcher, "/v1/figures?level=person&period=2026&town=" + townB, 400, "town"}, // persons are the deployment's
		{geo.AccessDispatcher, "/v1/figures?level=village&period=2026&town=999999999", 400, "town"},
		{geo.AccessDispatcher, "/v1/figures?level=village&period=bad&town=x", 400, "period"}, // every problem at once
		{dispatcherA, "/v1/figures?level=village&period=2026&town=" + townB, 403, ""},
	} {
		var p problemAnswer
		code := e.do(tc.who, http.MethodGet, tc.target, nil, &p)
		named := tc.where == ""
		for _, pe := range p.Errors {
			named = named || pe.Where == tc.where
		}
		if code != tc.status || !named {
			t.Errorf("%s %s: %d %+v, want %d naming %q", tc.who, tc.target, code, p, tc.status, tc.where)
		}
	}
	if rec := e.raw(geo.AccessDispatcher, "/v1/figures.xlsx?period=2026&town="+townB); rec.Code != 200 {
		t.Errorf("town B's 通报 for the county's dispatcher: %d", rec.Code)
	} else if f, err := excelize.OpenReader(rec.Body); err != nil {
		t.Error(err)
	} else if got := f.GetSheetList(); !slices.Equal(got, []string{"乡镇（街道）", "片区", "村（社区）", "网格", "说明"}) {
		t.Errorf("town B's 通报 sheets %v", got)
	}
}

// TestScopedDispatcher_staffing: a town's dispatcher sees its town's
// staffing gaps and duty desk only; the county's sees every town's.
func TestScopedDispatcher_staffing(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	type answer struct {
		Totals    struct{ Grids int }
		Villages  []struct{ Code string }
		DutyDesks []struct{ Town struct{ Code string } } `json:"duty_desks"`
	}
	var county, town answer
	if code := e.do(geo.AccessDispatcher, http.MethodGet, "/v1/staffing", nil, &county); code != 200 || len(county.DutyDesks) != 2 {
		t.Fatalf("the county's staffing: %d, %d duty desks", code, len(county.DutyDesks))
	}
	if code := e.do(dispatcherA, http.MethodGet, "/v1/staffing", nil, &town); code != 200 {
		t.Fatalf("town A's staffing: %d", code)
	}
	for _, v := range town.Villages {
		if !strings.HasPrefix(v.Code, townA) {
			t.Errorf("town A's dispatcher sees village %s", v.Code)
		}
	}
	if len(town.DutyDesks) != 1 || town.DutyDesks[0].Town.Code != townA || town.Totals.Grids >= county.Totals.Grids {
		t.Errorf("town A's staffing: %d desks, %d grids (county %d)", len(town.DutyDesks), town.Totals.Grids, county.Totals.Grids)
	}
}
