package geo

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"wangge/geo/workcal"
)

// This file is the duty rosters (值班/坐班 表): who is on duty, per date and
// shift, at a service point or at a town's duty desk (值班室). A shift
// runs from its start to its end in Beijing time; one that ends at or
// before its start ends the next day (a night shift 20:00–08:00, a 24-hour
// holiday shift 08:00–08:00) and belongs to the roster day it starts on.
// The incident fallback follows the desk's roster: when a shift of the
// town's desk covers the time, its person takes what falls to the duty
// desk; otherwise the town's fixed duty desk does (Snapshot.dutyDeskAt).

// DutyShift is one person on duty for one shift.
type DutyShift struct {
	ID       int64
	TownCode string
	// ServicePointID is the service point of the shift; 0 for the town's
	// duty desk.
	ServicePointID int64
	// Date is the roster day the shift belongs to (the day it starts).
	Date  workcal.Date
	Shift string // 白班, 夜班, 坐班 ... as the roster names it; may be ""
	// From and To bound the shift, [From, To).
	From, To time.Time
	Name     string
	Phone    string
}

// Covers reports whether the shift runs at t.
func (s DutyShift) Covers(t time.Time) bool { return !t.Before(s.From) && t.Before(s.To) }

// OnDuty returns the shifts of shifts that run at t, the latest started
// first (at a handover, the one taking over), then by name.
func OnDuty(shifts []DutyShift, t time.Time) []DutyShift {
	var out []DutyShift
	for _, s := range shifts {
		if s.Covers(t) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b DutyShift) int {
		if c := b.From.Compare(a.From); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// dutyDeskAt is who takes what falls to the duty desk of g's town (of
// town when g is nil) at t, and the reason to record: the person of the
// desk's roster whose shift covers t, else the fixed duty desk
// (dutyDesk). The roster is the one loaded with the snapshot
// (Town.DutyRoster: the shifts not ended two days before it was loaded).
func (s *Snapshot) dutyDeskAt(town string, g *GridRecord, t time.Time) (*Contact, string) {
	code := town
	if g != nil {
		code = TownCodeOf(g.Code)
	}
	tw, ok := s.TownOf(code)
	if !ok && code == "" && len(s.Towns) == 1 {
		tw, ok = &s.Towns[0], true
	}
	if ok {
		if on := OnDuty(tw.DutyRoster, t); len(on) > 0 {
			why := "town duty desk: on the duty roster"
			if on[0].Shift != "" {
				why += " (" + on[0].Shift + ")"
			}
			return &Contact{Name: on[0].Name, Phone: on[0].Phone}, why
		}
	}
	return s.dutyDesk(town, g), "town duty desk"
}

// MaxDutyRosterRows bounds an imported duty roster.
const MaxDutyRosterRows = 20_000

// DutyRosterRow is one row of a duty roster file, its cells as read (the
// reader normalises spaces and full-width characters). Line is the row
// number the spreadsheet shows.
type DutyRosterRow struct {
	Line  int
	Date  string // 2026-10-01, 2026/10/1, 2026年10月1日, or an Excel day number
	Start string // 08:00 (or an Excel fraction of a day)
	End   string // 20:00; at or before Start: the next day
	Shift string
	Name  string
	Phone string
	// Point is a service point's id; empty for the town's duty desk, whose
	// town is Town (optional when the deployment holds one town).
	Point string
	Town  string
}

// CheckDutyRow returns the shift row asks for, or the problems of its
// cells (Where names the cell's field: date, start, end, name, phone,
// service_point, town). Whether the service point exists is the store's
// to check; the town must be on snap.
func CheckDutyRow(row DutyRosterRow, snap *Snapshot) (DutyShift, []Problem) {
	var ps problemList
	sh := DutyShift{Shift: strings.TrimSpace(row.Shift), Name: strings.TrimSpace(row.Name)}
	d, ok := parseRosterDate(row.Date)
	if !ok {
		ps.add("date", "got %q, want a date such as 2026-10-01", Clip(row.Date))
	}
	from, ok1 := parseRosterClock(row.Start)
	to, ok2 := parseRosterClock(row.End)
	if !ok1 {
		ps.add("start", "got %q, want a time of day such as 08:00", Clip(row.Start))
	}
	if !ok2 {
		ps.add("end", "got %q, want a time of day such as 20:00 (at or before the start: the next day)", Clip(row.End))
	}
	if ok && ok1 && ok2 {
		sh.Date = d
		sh.From = d.Start().Add(time.Duration(from) * time.Minute)
		end := d.Start().Add(time.Duration(to) * time.Minute)
		if !end.After(sh.From) {
			end = end.Add(24 * time.Hour)
		}
		sh.To = end
	}
	if sh.Name == "" || utf8.RuneCountInString(sh.Name) > 30 {
		ps.add("name", "required, at most 30 characters")
	}
	if utf8.RuneCountInString(sh.Shift) > 20 {
		ps.add("shift", "at most 20 characters")
	}
	phone, err := NormalizePhone(row.Phone)
	switch {
	case err != nil:
		ps.add("phone", "%s", ErrorMessage(err))
	case phone == "":
		ps.add("phone", "required: the person on duty must be reachable")
	}
	sh.Phone = phone
	if p := strings.TrimSpace(row.Point); p != "" {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			ps.add("service_point", "got %q, want the id of a service point (empty for the town's duty desk)", Clip(p))
		}
		sh.ServicePointID = id
	}
	town := strings.TrimSpace(row.Town)
	switch {
	case town == "" && sh.ServicePointID == 0 && len(snap.Towns) == 1:
		sh.TownCode = snap.Towns[0].Code
	case town == "" && sh.ServicePointID == 0:
		ps.add("town", "required for a duty desk row: the 9-digit code of the town (or give a service point)")
	case town != "":
		if _, ok := snap.TownOf(town); !ok || len(town) != 9 {
			ps.add("town", "got %q, want the 9-digit code of a town of this deployment", Clip(town))
		}
		sh.TownCode = town
	}
	return sh, ps
}

// parseRosterDate reads a date as rosters write it: 2026-10-01,
// 2026/10/1, 2026.10.1, 2026年10月1日, or an Excel serial day number.
func parseRosterDate(s string) (workcal.Date, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 20000 || n >= 80000 {
			return workcal.Date{}, false
		}
		// Excel's day 0 is 1899-12-30 (with its 1900 leap-year bug).
		t := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n))
		return workcal.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, true
	}
	r := strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", "")
	parts := strings.Split(r.Replace(s), "-")
	if len(parts) != 3 {
		return workcal.Date{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return workcal.Date{}, false
		}
		n[i] = v
	}
	d, err := workcal.ParseDate(fmt.Sprintf("%04d-%02d-%02d", n[0], n[1], n[2]))
	return d, err == nil
}

// parseRosterClock reads a time of day: 8:00, 08:00, 08:00:00, 24:00, or
// an Excel fraction of a day (0.333333 for 08:00), to the minute.
func parseRosterClock(s string) (int, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "：", ":"))
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1 {
			return 0, false
		}
		return int(f*1440 + 0.5), true
	}
	if len(s) == 8 && strings.HasSuffix(s, ":00") {
		s = s[:5]
	}
	if len(s) == 4 && s[1] == ':' {
		s = "0" + s
	}
	return ParseClock(s)
}

// DutyRosterReport is what an import of a duty roster did, or would do
// in a dry run.
type DutyRosterReport struct {
	Applied bool
	Rows    int
	// Shifts is the number of shifts the roster holds; Replaced the
	// stored shifts of the same days and places it replaces.
	Shifts   int
	Replaced int
	// Days are the (place, date) pairs the roster covers, in order.
	Days []DutyRosterDay
	// Errors name the rows at fault; with any, nothing is written.
	Errors []Problem
}

// DutyRosterDay is a place and a date a roster covers.
type DutyRosterDay struct {
	TownCode       string
	ServicePointID int64
	Date           workcal.Date
	Shifts         int
}

// RosterDays groups shifts by place and date, in order.
func RosterDays(shifts []DutyShift) []DutyRosterDay {
	var out []DutyRosterDay
	at := map[DutyRosterDay]int{}
	for _, s := range shifts {
		key := DutyRosterDay{TownCode: s.TownCode, ServicePointID: s.ServicePointID, Date: s.Date}
		i, ok := at[key]
		if !ok {
			out = append(out, key)
			i = len(out) - 1
			at[key] = i
		}
		out[i].Shifts++
	}
	slices.SortFunc(out, func(a, b DutyRosterDay) int {
		return cmp.Or(strings.Compare(a.TownCode, b.TownCode), cmp.Compare(a.ServicePointID, b.ServicePointID), a.Date.Compare(b.Date))
	})
	return out
}
