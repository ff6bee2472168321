package geo_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/workcal"
)

func intp(v int) *int       { return &v }
func boolp(v bool) *bool    { return &v }
func strp(v string) *string { return &v }

// problemsAt lists where err's problems are.
func problemsAt(err error) []string {
	var out []string
	if e, ok := err.(*geo.Error); ok {
		for _, p := range e.Problems {
			out = append(out, p.Where)
		}
	}
	return out
}

func TestServiceItemRequest_Check(t *testing.T) {
	tests := []struct {
		name string
		req  geo.ServiceItemRequest
		want []string // where the problems are; none: valid
	}{
		{"working days", geo.ServiceItemRequest{Code: "noise", NameZh: "噪声扰民", LimitWorkdays: intp(5)}, nil},
		{"hours, inactive", geo.ServiceItemRequest{Code: "flood_2", NameZh: "汛情", LimitHours: intp(2), Active: boolp(false)}, nil},
		{"no limit", geo.ServiceItemRequest{Code: "noise", NameZh: "噪声扰民"}, []string{"limit_workdays"}},
		{"both limits", geo.ServiceItemRequest{Code: "noise", NameZh: "噪声扰民", LimitWorkdays: intp(5), LimitHours: intp(5)}, []string{"limit_hours"}},
		{"zero days", geo.ServiceItemRequest{Code: "noise", NameZh: "噪声扰民", LimitWorkdays: intp(0)}, []string{"limit_workdays"}},
		{"too many hours", geo.ServiceItemRequest{Code: "noise", NameZh: "噪声扰民", LimitHours: intp(9000)}, []string{"limit_hours"}},
		{"every member wrong", geo.ServiceItemRequest{Code: "Noise!", NameZh: " ", Description: strings.Repeat("很", 1001), LimitWorkdays: intp(-1)},
			[]string{"code", "name_zh", "description", "limit_workdays"}},
		{"code starting with a digit", geo.ServiceItemRequest{Code: "1noise", NameZh: "噪声", LimitHours: intp(1)}, []string{"code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := tt.req.Check()
			if got := problemsAt(err); !slices.Equal(got, tt.want) {
				t.Fatalf("problems at %v, want %v (%v)", got, tt.want, err)
			}
			if err == nil && (string(it.Code) != tt.req.Code || it.Active != (tt.req.Active == nil || *tt.req.Active) ||
				(it.LimitWorkdays > 0) == (it.LimitHours > 0)) {
				t.Errorf("checked item %+v", it)
			}
		})
	}
}

func TestServiceItemPatch_Apply(t *testing.T) {
	it := geo.ServiceItem{Code: "noise", NameZh: "噪声扰民", Description: "夜间施工", LimitWorkdays: 5, Active: true}
	got, err := geo.ServiceItemPatch{LimitHours: intp(12)}.Apply(it)
	if err != nil || got.LimitHours != 12 || got.LimitWorkdays != 0 || got.NameZh != it.NameZh || got.Description != it.Description || !got.Active {
		t.Errorf("to hours: %+v %v", got, err)
	}
	got, err = geo.ServiceItemPatch{LimitWorkdays: intp(3), Active: boolp(false), Description: strp("")}.Apply(got)
	if err != nil || got.LimitHours != 0 || got.LimitWorkdays != 3 || got.Active || got.Description != "" {
		t.Errorf("to working days: %+v %v", got, err)
	}
	for name, p := range map[string]geo.ServiceItemPatch{
		"nothing":     {},
		"both limits": {LimitWorkdays: intp(3), LimitHours: intp(3)},
		"blank name":  {NameZh: strp("  ")},
	} {
		if _, err := p.Apply(it); geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestCalendarDayRequest_Check(t *testing.T) {
	d := workcal.Date{Year: 2027, Month: 2, Day: 6}
	if day, err := (geo.CalendarDayRequest{Kind: "workday", Name: " 春节调休上班 "}).Check(d); err != nil || day.Kind != workcal.Workday || day.Name != "春节调休上班" || day.Date != d {
		t.Errorf("%+v %v", day, err)
	}
	if _, err := (geo.CalendarDayRequest{Kind: "rest"}).Check(d); !slices.Equal(problemsAt(err), []string{"kind", "name"}) {
		t.Errorf("problems at %v, want kind and name", problemsAt(err))
	}
}

// calendar2026Spring is the Spring Festival of the 2026 notice: 15 to 23
// February off, Saturdays 14 and 28 February worked.
func calendar2026Spring(t *testing.T) *workcal.Calendar {
	t.Helper()
	var days []workcal.Day
	for d := 15; d <= 23; d++ {
		days = append(days, workcal.Day{Date: workcal.Date{Year: 2026, Month: 2, Day: d}, Kind: workcal.Holiday, Name: "春节"})
	}
	days = append(days, workcal.Day{Date: workcal.Date{Year: 2026, Month: 2, Day: 14}, Kind: workcal.Workday, Name: "春节调休上班"},
		workcal.Day{Date: workcal.Date{Year: 2026, Month: 2, Day: 28}, Kind: workcal.Workday, Name: "春节调休上班"})
	c, err := workcal.New(days)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRoute_serviceItemLimits checks intake with a catalogue: the category
// must be an active item (the message lists them), the due time is the
// item's limit on the calendar, major and urgent cases are held to their
// severity's limit when it ends first, and a catalogue swapped in applies
// to the next intake only.
func TestRoute_serviceItemLimits(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	var limits geo.Limits
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0).WithLimits(&limits)
	cal := calendar2026Spring(t)
	limits.Store(geo.NewCatalogue([]geo.ServiceItem{
		{Code: geo.CatEnvironment, NameZh: "环境卫生", LimitWorkdays: 3, Active: true},
		{Code: geo.CatSafety, NameZh: "安全隐患", LimitHours: 24, Active: true},
		{Code: "flood", NameZh: "汛情", LimitHours: 1, Active: true},
		{Code: geo.CatCustoms, NameZh: "移风易俗", LimitWorkdays: 3, Active: false},
	}, cal))
	received := time.Date(2026, 2, 13, 10, 0, 0, 0, workcal.Zone) // Friday before the festival
	endOf := func(day int) time.Time { return workcal.Date{Year: 2026, Month: 2, Day: day}.End() }
	tests := []struct {
		category, severity string
		want               time.Time
	}{
		{"environment", "minor", endOf(25)},                    // 14 (调休), 24, 25
		{"environment", "major", received.Add(24 * time.Hour)}, // the severity's 24 h end first
		{"environment", "urgent", received.Add(2 * time.Hour)},
		{"safety", "minor", received.Add(24 * time.Hour)}, // hours run through the holiday
		{"flood", "major", received.Add(time.Hour)},       // the item's hour ends before the severity's day
	}
	for _, tt := range tests {
		req := geo.IncidentRequest{Lon: ptr(112.005), Lat: ptr(27.005), Category: tt.category, Severity: tt.severity,
			Source: "walk_in", Description: "x"}
		inc, err := d.Route(snap, req, received.UTC())
		if err != nil {
			t.Fatalf("%s %s: %v", tt.category, tt.severity, err)
		}
		if !inc.DueAt.Equal(tt.want) {
			t.Errorf("%s %s: due %v, want %v", tt.category, tt.severity, inc.DueAt.In(workcal.Zone), tt.want.In(workcal.Zone))
		}
	}

	for _, cat := range []string{"customs", "dispute"} { // inactive; not in the catalogue
		req := geo.IncidentRequest{Lon: ptr(112.005), Lat: ptr(27.005), Category: cat, Severity: "minor", Source: "walk_in", Description: "x"}
		_, err := d.Route(snap, req, received)
		if e, ok := err.(*geo.Error); !ok || len(e.Problems) != 1 || e.Problems[0].Where != "category" ||
			e.Problems[0].Reason != `got "`+cat+`", want one of [environment flood safety]` {
			t.Errorf("%s: %v, want a category problem listing the active items", cat, err)
		}
	}

	env := geo.IncidentRequest{Lon: ptr(112.005), Lat: ptr(27.005), Category: "environment", Severity: "minor", Source: "walk_in", Description: "x"}
	before, _ := d.Route(snap, env, received)
	limits.Store(geo.NewCatalogue([]geo.ServiceItem{{Code: geo.CatEnvironment, NameZh: "环境卫生", LimitWorkdays: 1, Active: true}}, cal))
	after, _ := d.Route(snap, env, received)
	if !before.DueAt.Equal(endOf(25)) || !after.DueAt.Equal(endOf(14)) {
		t.Errorf("before the change due %v (want the 25th), after %v (want the 14th)", before.DueAt, after.DueAt)
	}

	// Without a catalogue: the built-in categories and the severity
	// limits, as before there was one.
	plain := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0).WithLimits(&geo.Limits{})
	if inc, err := plain.Route(snap, env, received); err != nil || !inc.DueAt.Equal(received.Add(72*time.Hour)) {
		t.Errorf("no catalogue: %v, due %v, want 72 h", err, inc.DueAt)
	}
}
