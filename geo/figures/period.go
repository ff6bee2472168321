package figures

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"wangge/geo"
)

// China is the zone the figures' days are counted in (Asia/Shanghai: UTC+8
// all year, without daylight saving since 1991), fixed so that no tz
// database is needed.
var China = time.FixedZone("CST", 8*3600)

// PeriodKind is how a period was given.
type PeriodKind string

// Period kinds.
const (
	KindDay     PeriodKind = "day"
	KindWeek    PeriodKind = "week" // ISO 8601 week, Monday first
	KindMonth   PeriodKind = "month"
	KindQuarter PeriodKind = "quarter"
	KindYear    PeriodKind = "year"
	KindCustom  PeriodKind = "custom" // from and to, both days included
)

// Period is the time window a table covers: [From, To), both at midnight
// in China. Label is how the 通报 names it (e.g. "2026年第3季度").
type Period struct {
	Kind     PeriodKind
	From, To time.Time
	Label    string
	// Spec is the period as the caller gave it ("2026-Q3"; "2026-07-01..2026-09-30" for custom).
	Spec string
}

// MaxCustomDays bounds a custom period: a table longer than a few years
// is no assessment, and the bound keeps a query's scan finite.
const MaxCustomDays = 3 * 366

var (
	reDay     = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	reYear    = regexp.MustCompile(`^(\d{4})$`)
)

// ParsePeriod reads the period of a request. spec is one of
// 2026-11-03 (a day), 2026-W48 (an ISO week), 2026-11 (a month), 2026-Q4
// (a quarter) or 2026 (a year); or spec is empty and from and to are days
// (YYYY-MM-DD, to included); or all three are empty and the period is the
// month of now. Errors are EINVALID, naming the parameter.
func ParsePeriod(spec, from, to string, now time.Time) (Period, error) {
	switch {
	case spec != "" && (from != "" || to != ""):
		return Period{}, geo.Invalidf("period", "give either period or from and to, not both")
	case spec == "" && from == "" && to == "":
		t := now.In(China)
		return ParsePeriod(fmt.Sprintf("%04d-%02d", t.Year(), t.Month()), "", "", now)
	case spec == "":
		return customPeriod(from, to)
	}
	bad := func(why string) (Period, error) {
		return Period{}, geo.Invalidf("period", "got %q: %s", clip(spec), why)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := reDay.FindStringSubmatch(spec); m != nil {
		d, ok := date(atoi(m[1]), atoi(m[2]), atoi(m[3]))
		if !ok {
			return bad("no such day")
		}
		return Period{Kind: KindDay, From: d, To: d.AddDate(0, 0, 1), Spec: spec,
			Label: fmt.Sprintf("%d年%d月%d日", d.Year(), d.Month(), d.Day())}, nil
	}
	if m := reWeek.FindStringSubmatch(spec); m != nil {
		y, w := atoi(m[1]), atoi(m[2])
		start, ok := isoWeekStart(y, w)
		if !ok {
			return bad(fmt.Sprintf("year %d has no week %d", y, w))
		}
		return Period{Kind: KindWeek, From: start, To: start.AddDate(0, 0, 7), Spec: spec,
			Label: fmt.Sprintf("%d年第%d周", y, w)}, nil
	}
	if m := reMonth.FindStringSubmatch(spec); m != nil {
		d, ok := date(atoi(m[1]), atoi(m[2]), 1)
		if !ok {
			return bad("no such month")
		}
		return Period{Kind: KindMonth, From: d, To: d.AddDate(0, 1, 0), Spec: spec,
			Label: fmt.Sprintf("%d年%d月", d.Year(), d.Month())}, nil
	}
	if m := reQuarter.FindStringSubmatch(spec); m != nil {
		q := atoi(m[2])
		d, ok := date(atoi(m[1]), 3*q-2, 1)
		if !ok {
			return bad("no such quarter")
		}
		return Period{Kind: KindQuarter, From: d, To: d.AddDate(0, 3, 0), Spec: spec,
			Label: fmt.Sprintf("%d年第%d季度", d.Year(), q)}, nil
	}
	if m := reYear.FindStringSubmatch(spec); m != nil {
		d, ok := date(atoi(m[1]), 1, 1)
		if !ok {
			return bad("no such year")
		}
		return Period{Kind: KindYear, From: d, To: d.AddDate(1, 0, 0), Spec: spec, Label: fmt.Sprintf("%d年", d.Year())}, nil
	}
	return bad("want a day 2026-11-03, a week 2026-W48, a month 2026-11, a quarter 2026-Q4 or a year 2026")
}

func customPeriod(from, to string) (Period, error) {
	day := func(param, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, geo.Invalidf(param, "missing: a custom period needs both from and to (YYYY-MM-DD)")
		}
		m := reDay.FindStringSubmatch(s)
		if m == nil {
			return time.Time{}, geo.Invalidf(param, "got %q, want a day YYYY-MM-DD", clip(s))
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		t, ok := date(y, mo, d)
		if !ok {
			return time.Time{}, geo.Invalidf(param, "got %q: no such day", s)
		}
		return t, nil
	}
	f, err := day("from", from)
	if err != nil {
		return Period{}, err
	}
	t, err := day("to", to)
	if err != nil {
		return Period{}, err
	}
	if t.Before(f) {
		return Period{}, geo.Invalidf("to", "got %s, before from %s", to, from)
	}
	end := t.AddDate(0, 0, 1)
	if days := int(end.Sub(f).Hours()/24 + 0.5); days > MaxCustomDays {
		return Period{}, geo.Invalidf("to", "the period spans %d days, at most %d", days, MaxCustomDays)
	}
	return Period{Kind: KindCustom, From: f, To: end, Spec: from + ".." + to,
		Label: fmt.Sprintf("%d年%d月%d日至%d年%d月%d日", f.Year(), f.Month(), f.Day(), t.Year(), t.Month(), t.Day())}, nil
}

// date is midnight of y-m-d in China, and whether that day exists (years
// 2000–2099: the service keeps no older records, and the bound keeps
// arithmetic on dates far from overflow).
func date(y, m, d int) (time.Time, bool) {
	if y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, China)
	return t, t.Day() == d
}

// isoWeekStart is the Monday of ISO week w of year y, if the year has it.
func isoWeekStart(y, w int) (time.Time, bool) {
	jan4, ok := date(y, 1, 4) // always in week 1
	if !ok || w < 1 {
		return time.Time{}, false
	}
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	start := monday.AddDate(0, 0, 7*(w-1))
	if gy, gw := start.ISOWeek(); gy != y || gw != w {
		return time.Time{}, false
	}
	return start, true
}

func clip(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
