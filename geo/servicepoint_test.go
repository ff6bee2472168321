package geo_test

import (
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/workcal"
)

// cst is a time of 2026 in China.
func cst(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, workcal.Zone)
}

// nationalDay2026 is the calendar of 2026's 国庆节: 1-7 October off, Sunday
// 20 September and Saturday 10 October worked.
func nationalDay2026(t *testing.T) *workcal.Calendar {
	t.Helper()
	var days []workcal.Day
	for d := 1; d <= 7; d++ {
		days = append(days, workcal.Day{Date: workcal.Date{Year: 2026, Month: 10, Day: d}, Kind: workcal.Holiday, Name: "国庆节"})
	}
	days = append(days, workcal.Day{Date: workcal.Date{Year: 2026, Month: 10, Day: 10}, Kind: workcal.Workday, Name: "国庆节调休上班"})
	cal, err := workcal.New(days)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func TestServicePoint_OpenAt(t *testing.T) {
	hours, err := geo.ParseOpeningHours(map[string][]string{
		"mon": {"08:30-12:00", "14:30-17:30"}, "tue": {"08:30-12:00", "14:30-17:30"}, "wed": {"08:30-12:00", "14:30-17:30"},
		"thu": {"08:30-12:00", "14:30-17:30"}, "fri": {"08:30-12:00", "14:30-17:30"}, "sat": {"09:00-12:00"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cal := nationalDay2026(t)
	p := geo.ServicePoint{Hours: hours}
	always := geo.ServicePoint{Hours: hours, OpenOnHolidays: true}
	for _, c := range []struct {
		name string
		p    geo.ServicePoint
		at   time.Time
		want bool
	}{
		{"Monday morning", p, cst(9, 28, 9, 0), true},
		{"Monday at the opening minute", p, cst(9, 28, 8, 30), true},
		{"Monday at the closing minute", p, cst(9, 28, 12, 0), false},
		{"Monday lunch", p, cst(9, 28, 13, 0), false},
		{"Saturday morning", p, cst(9, 26, 10, 0), true},
		{"Sunday", p, cst(9, 27, 10, 0), false},
		{"National Day, a Thursday", p, cst(10, 1, 10, 0), false},
		{"National Day, open on holidays: Thursday's hours", always, cst(10, 1, 10, 0), true},
		{"Saturday 10 October worked (调休): Monday's hours", p, cst(10, 10, 15, 0), true},
		{"the same instant in UTC", p, cst(9, 28, 9, 0).UTC(), true},
	} {
		if got := c.p.OpenAt(c.at, cal); got != c.want {
			t.Errorf("%s (%s): open %v, want %v", c.name, c.at, got, c.want)
		}
	}
	if _, err := geo.ParseOpeningHours(map[string][]string{"mon": {"12:00-08:00"}, "xyz": {"08:00-09:00"}, "tue": {"10:00-12:00", "09:00-11:00"}}); err == nil {
		t.Error("bad hours accepted")
	} else if ge := err.(*geo.Error); len(ge.Problems) != 3 {
		t.Errorf("want 3 problems (mon[0], xyz, tue[1]), got %v", ge.Problems)
	}
}

// deskTown is a one-grid town whose duty desk is 镇值班室, with roster.
func deskTown(t *testing.T, roster []geo.DutyShift) *geo.Snapshot {
	t.Helper()
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.01, 27.01),
		DutyDesk: &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}, DutyRoster: roster},
		Villages: []geo.Village{{Code: "431321101201", Name: "一村", Outline: square(112, 27, 112.01, 27.01)}},
		Grids: []geo.GridRecord{{Grid: geo.Grid{Code: "431321101201001", Name: "网格1", VillageCode: "431321101201",
			Geometry: square(112, 27, 112.01, 27.01)}}}}
	snap, err := geo.NewSnapshot(1, td.Area(), cst(9, 30, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// shiftOf checks a roster row as the import does.
func shiftOf(t *testing.T, snap *geo.Snapshot, date, start, end, shift, name, phone string) geo.DutyShift {
	t.Helper()
	sh, ps := geo.CheckDutyRow(geo.DutyRosterRow{Line: 2, Date: date, Start: start, End: end, Shift: shift, Name: name, Phone: phone}, snap)
	if len(ps) > 0 {
		t.Fatalf("%s %s-%s: %v", date, start, end, ps)
	}
	return sh
}

// TestAssign_dutyDeskFollowsRoster is the case: the duty desk step
// goes to whoever the town's roster has on duty, across midnight (a night
// shift 20:00-08:00 belongs to the day it starts) and on a public holiday
// (a 24-hour holiday shift), and to the fixed duty desk when the roster
// has nobody.
func TestAssign_dutyDeskFollowsRoster(t *testing.T) {
	bare := deskTown(t, nil)
	roster := []geo.DutyShift{
		shiftOf(t, bare, "2026-09-30", "08:00", "20:00", "白班", "王白班", "13800000001"),
		shiftOf(t, bare, "2026/9/30", "20:00", "08:00", "夜班", "李夜班", "13800000002"),
		shiftOf(t, bare, "2026年10月1日", "08:00", "08:00", "国庆值班", "赵国庆", "13800000003"),
		// Excel serial day 46297 is 2026-10-02; 0.375 is 09:00.
		shiftOf(t, bare, "46297", "0.375", "0.5", "", "钱半天", "13800000004"),
	}
	if roster[1].To != cst(10, 1, 8, 0) || roster[2].To != cst(10, 2, 8, 0) || roster[3].From != cst(10, 2, 9, 0) {
		t.Fatalf("shifts read wrong: %+v", roster)
	}
	snap := deskTown(t, roster)
	outside := (*geo.GridRecord)(nil)
	g, _ := snap.Grid("431321101201001")
	for _, c := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"day shift", cst(9, 30, 12, 0), "王白班"},
		{"handover at 20:00: the night shift", cst(9, 30, 20, 0), "李夜班"},
		{"after midnight: still the night shift of the 30th", cst(10, 1, 3, 0), "李夜班"},
		{"07:59 on National Day", cst(10, 1, 7, 59), "李夜班"},
		{"National Day, 08:00: the holiday shift", cst(10, 1, 8, 0), "赵国庆"},
		{"National Day, midnight", cst(10, 2, 0, 0), "赵国庆"},
		{"2 October 08:30: nobody rostered, the fixed desk", cst(10, 2, 8, 30), "镇值班室"},
		{"2 October 10:00", cst(10, 2, 10, 0), "钱半天"},
		{"before the roster", cst(9, 29, 12, 0), "镇值班室"},
	} {
		for _, gr := range []*geo.GridRecord{g, outside} {
			a, ok := snap.Assign("431321101", gr, geo.LevelTown, c.at)
			if !ok || a.Role != geo.RoleDutyDesk || a.Name != c.want {
				t.Errorf("%s (grid %v): %+v, want %s at the duty desk", c.name, gr != nil, a, c.want)
			}
		}
	}
	// From the grid up: the grid has nobody, so the roster takes it, and
	// the reason says so.
	a, _ := snap.Assign("431321101", g, geo.LevelGrid, cst(10, 1, 3, 0))
	if a.Name != "李夜班" || a.Phone != "13800000002" || a.Reason != "no leader → no deputy → no village liaison leader → town duty desk: on the duty roster (夜班)" {
		t.Errorf("from the grid: %+v", a)
	}
}

func TestCheckDutyRow_problems(t *testing.T) {
	snap := deskTown(t, nil)
	_, ps := geo.CheckDutyRow(geo.DutyRosterRow{Date: "2026-13-01", Start: "25:00", End: "x", Name: "", Phone: "123", Point: "abc", Town: "999"}, snap)
	got := map[string]bool{}
	for _, p := range ps {
		got[p.Where] = true
	}
	for _, w := range []string{"date", "start", "end", "name", "phone", "service_point", "town"} {
		if !got[w] {
			t.Errorf("no problem named %s: %v", w, ps)
		}
	}
}
