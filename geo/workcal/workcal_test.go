package workcal_test

import (
	"testing"
	"time"

	"wangge/geo/workcal"
)

// notice2026 is 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), as
// ranges of holidays and the 调休 working days, transcribed from its text:
//
//	元旦 1月1日至3日放假, 1月4日(周日)上班; 春节 2月15日至23日放假,
//	2月14日(周六)、2月28日(周六)上班; 清明节 4月4日至6日; 劳动节 5月1日至5日,
//	5月9日(周六)上班; 端午节 6月19日至21日; 中秋节 9月25日至27日; 国庆节
//	10月1日至7日, 9月20日(周日)、10月10日(周六)上班.
var notice2026 = struct {
	holidays [][2]string
	workdays []string
}{
	holidays: [][2]string{{"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
		{"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"}, {"2026-10-01", "2026-10-07"}},
	workdays: []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"},
}

func date(t testing.TB, s string) workcal.Date {
	t.Helper()
	d, err := workcal.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// days2026 expands notice2026 into the calendar's days, and returns the
// sets of holidays and working weekend days for the brute-force oracle.
func days2026(t testing.TB) ([]workcal.Day, map[workcal.Date]bool, map[workcal.Date]bool) {
	var days []workcal.Day
	hol, work := map[workcal.Date]bool{}, map[workcal.Date]bool{}
	for _, r := range notice2026.holidays {
		for d := date(t, r[0]); d.Compare(date(t, r[1])) <= 0; d = d.AddDays(1) {
			days = append(days, workcal.Day{Date: d, Kind: workcal.Holiday, Name: "放假"})
			hol[d] = true
		}
	}
	for _, s := range notice2026.workdays {
		days = append(days, workcal.Day{Date: date(t, s), Kind: workcal.Workday, Name: "调休上班"})
		work[date(t, s)] = true
	}
	return days, hol, work
}

func calendar2026(t testing.TB) *workcal.Calendar {
	days, _, _ := days2026(t)
	c, err := workcal.New(days)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cst is a time of day in China.
func cst(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, workcal.Zone)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// February 2026 around the Spring Festival (休 = holiday, 班 = 调休 working
// Saturday):
//
//	Mon Tue Wed Thu Fri Sat Sun
//	  9  10  11  12  13 14班 15休
//	16休 17休 18休 19休 20休 21休 22休
//	23休  24  25  26  27 28班  1 (Mar)
//	  2
func TestDueWorkdays_springFestivalAndTiaoxiu(t *testing.T) {
	c := calendar2026(t)
	tests := []struct {
		name     string
		received string // China time
		n        int
		want     string // the due date; due at its 24:00
	}{
		{"the 调休 Saturday is day 1", "2026-02-13 10:00", 1, "2026-02-14"},
		{"day 2 waits for the holiday's end", "2026-02-13 10:00", 2, "2026-02-24"},
		{"received on the working Saturday: it does not count", "2026-02-14 16:00", 1, "2026-02-24"},
		{"received during the holiday", "2026-02-18 09:00", 3, "2026-02-26"},
		{"received on the last day off, runs into the working Saturday", "2026-02-23 09:00", 5, "2026-02-28"},
		{"after the working Saturday, Sunday rests", "2026-02-26 09:00", 3, "2026-03-02"},
		{"across the whole festival", "2026-02-11 09:00", 5, "2026-02-25"},
		{"one minute after midnight is still not day 1", "2026-02-24 00:01", 1, "2026-02-25"},
		{"new year: 1 Jan to 3 Jan off, Sunday 4 Jan works", "2025-12-31 15:00", 1, "2026-01-04"},
		{"labour day: 1 to 5 May off", "2026-04-30 09:00", 1, "2026-05-06"},
		{"labour day: Saturday 9 May works", "2026-05-08 09:00", 1, "2026-05-09"},
		{"labour day: then Sunday rests", "2026-05-08 09:00", 2, "2026-05-11"},
		{"national day: Sunday 20 Sep works", "2026-09-19 09:00", 1, "2026-09-20"},
		{"national day: 1 to 7 Oct off", "2026-09-30 17:00", 1, "2026-10-08"},
		{"national day: Saturday 10 Oct works", "2026-10-09 09:00", 1, "2026-10-10"},
		{"15 working days over the national day", "2026-09-24 09:00", 15, "2026-10-22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.DueWorkdays(cst(t, tt.received), tt.n)
			want := date(t, tt.want).End()
			if !got.Equal(want) {
				t.Errorf("received %s + %d working days: due %s, want %s", tt.received, tt.n,
					got.In(workcal.Zone).Format(time.DateTime), want.In(workcal.Zone).Format(time.DateTime))
			}
			if got.In(workcal.Zone).Format("15:04:05") != "00:00:00" {
				t.Errorf("due %v, want 24:00 of a day in China", got)
			}
		})
	}
}

// TestDueWorkdays_chinaDate checks that the day of receipt is China's date,
// not UTC's: 17:30 UTC on Friday 13 February is 01:30 on the working
// Saturday in China.
func TestDueWorkdays_chinaDate(t *testing.T) {
	c := calendar2026(t)
	received := time.Date(2026, 2, 13, 17, 30, 0, 0, time.UTC)
	if got, want := c.DueWorkdays(received, 1), date(t, "2026-02-24").End(); !got.Equal(want) {
		t.Errorf("due %v, want %v", got, want)
	}
	if got, want := c.DueWorkdays(received, 1).UTC(), time.Date(2026, 2, 24, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("due %v UTC, want %v", got, want)
	}
}

// TestDueWorkdays_withoutCalendar: the nil calendar is the weekday rule,
// which the Spring Festival shows wrong, so the holiday data matters.
// Without the year's notice, the weekday rule and the statutory days the
// law fixes: 除夕 2026 (16 February, a Monday) to 初三 are off, but not the
// 调休 days the notice added (the Saturday worked, the Friday off).
func TestDueWorkdays_withoutCalendar(t *testing.T) {
	var c *workcal.Calendar
	if got, want := c.DueWorkdays(cst(t, "2026-02-13 10:00"), 2), date(t, "2026-02-23").End(); !got.Equal(want) {
		t.Errorf("weekday rule and statutory days: due %v, want %v", got, want)
	}
	if c.IsWorkday(date(t, "2026-02-14")) || c.IsWorkday(date(t, "2026-02-16")) || !c.IsWorkday(date(t, "2026-02-20")) || c.Covers(2026) {
		t.Error("the nil calendar must follow the weekday rule and the statutory days, and cover no year")
	}
}

// notice2025 is 国务院办公厅关于2025年部分节假日安排的通知 (2024-11-12),
// its holiday ranges: 元旦 1月1日; 春节 1月28日至2月4日; 清明节 4月4日至6日;
// 劳动节 5月1日至5日; 端午节 5月31日至6月2日; 国庆节、中秋节 10月1日至8日.
var notice2025 = [][2]string{{"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
	{"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"}}

// TestStatutoryWithinNotices holds the law's days, and the lunar dates
// they are computed from, to the two published notices: every statutory
// day of 2025 and 2026 is a day off in its notice, 13 of them a year, 4
// of them 春节.
func TestStatutoryWithinNotices(t *testing.T) {
	for year, ranges := range map[int][][2]string{2025: notice2025, 2026: notice2026.holidays} {
		off := map[workcal.Date]bool{}
		for _, r := range ranges {
			for d := date(t, r[0]); d.Compare(date(t, r[1])) <= 0; d = d.AddDays(1) {
				off[d] = true
			}
		}
		count := map[string]int{}
		for d := (workcal.Date{Year: year, Month: time.January, Day: 1}); d.Year == year; d = d.AddDays(1) {
			name, ok := workcal.Statutory(d)
			if !ok {
				continue
			}
			count[name]++
			if !off[d] {
				t.Errorf("%s (%s) is statutory but a working day in %d's notice", d, name, year)
			}
		}
		total := 0
		for _, n := range count {
			total += n
		}
		if total != 13 || count["春节"] != 4 || count["国庆节"] != 3 || count["劳动节"] != 2 {
			t.Errorf("%d: statutory days %v, want 13: 春节 4, 国庆节 3, 劳动节 2, the others 1", year, count)
		}
	}
	if _, ok := workcal.Statutory(date(t, "2036-01-01")); ok {
		t.Error("2036 is past the lunar table: no statutory days are claimed for it")
	}
}

// TestDueWorkdays_yearWithoutNotice: 2027's notice is not in the calendar,
// so 除夕 (5 February, a Friday) to 初三 (8 February, a Monday) are off by
// law; a 2026 calendar leaves 2027 uncovered. An admin entering part of
// the notice does not lose the others.
func TestDueWorkdays_yearWithoutNotice(t *testing.T) {
	c := calendar2026(t)
	if got, want := c.DueWorkdays(cst(t, "2027-02-04 10:00"), 1), date(t, "2027-02-09").End(); !got.Equal(want) {
		t.Errorf("2027 without its notice: due %v, want %v", got, want)
	}
	if !c.IsWorkday(date(t, "2027-09-14")) || c.IsWorkday(date(t, "2027-09-15")) || c.IsWorkday(date(t, "2027-10-01")) {
		t.Error("2027: 中秋 (15 September) and 国庆 (1 October) are off, the day before 中秋 is not")
	}
	partial, err := workcal.New([]workcal.Day{{Date: date(t, "2027-01-01"), Kind: workcal.Holiday, Name: "元旦"}})
	if err != nil {
		t.Fatal(err)
	}
	if partial.IsWorkday(date(t, "2027-02-05")) || !partial.Covers(2027) {
		t.Error("a year with part of its notice entered keeps its statutory days")
	}
}

// TestDueWorkdays_bruteForce checks every receipt day of 2026 and limits of
// 1 to 20 working days against a count made directly from the notice: the
// due date is a working day, and exactly n working days lie after the day
// of receipt up to it.
func TestDueWorkdays_bruteForce(t *testing.T) {
	c := calendar2026(t)
	_, hol, work := days2026(t)
	hol[date(t, "2027-01-01")] = true // 元旦 by law: limits of late December reach it
	isWork := func(d workcal.Date) bool {
		if hol[d] {
			return false
		}
		if work[d] {
			return true
		}
		return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
	}
	for d := date(t, "2026-01-01"); d.Year == 2026; d = d.AddDays(1) {
		received := d.Start().Add(14 * time.Hour)
		for n := 1; n <= 20; n++ {
			// The last day of the limit: it ends at 24:00, the instant
			// the next day starts.
			due := workcal.DateOf(c.DueWorkdays(received, n)).AddDays(-1)
			count := 0
			for x := d.AddDays(1); x.Compare(due) <= 0; x = x.AddDays(1) {
				if isWork(x) {
					count++
				}
			}
			if !isWork(due) || count != n {
				t.Fatalf("received %s + %d: due %s (working day %v), %d working days counted", d, n, due, isWork(due), count)
			}
		}
	}
}

func TestDueHours_countsHolidays(t *testing.T) {
	received := cst(t, "2026-02-14 20:00")
	if got, want := workcal.DueHours(received, 24), cst(t, "2026-02-15 20:00"); !got.Equal(want) {
		t.Errorf("due %v, want %v: hour limits run through holidays", got, want)
	}
}

func TestNew_refusesBadDays(t *testing.T) {
	d := date(t, "2026-02-16")
	for name, days := range map[string][]workcal.Day{
		"twice":    {{Date: d, Kind: workcal.Holiday}, {Date: d, Kind: workcal.Workday}},
		"bad kind": {{Date: d, Kind: "rest"}},
	} {
		if _, err := workcal.New(days); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c := calendar2026(t)
	if !c.Covers(2026) || c.Covers(2027) || len(c.Years()) != 1 || len(c.Days()) != 33+6 {
		t.Errorf("covers %v, %d days", c.Years(), len(c.Days()))
	}
	if day, ok := c.Day(date(t, "2026-02-28")); !ok || day.Kind != workcal.Workday {
		t.Errorf("2026-02-28: %+v %v", day, ok)
	}
}

func TestParseDate(t *testing.T) {
	for _, bad := range []string{"", "2026-2-1", "2026-02-30", "20260201", "2026-02-01T00:00:00Z"} {
		if _, err := workcal.ParseDate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var d workcal.Date
	if err := d.UnmarshalText([]byte("2026-02-28")); err != nil || d.String() != "2026-02-28" || d.Weekday() != time.Saturday {
		t.Errorf("%v %v", d, err)
	}
}
