// Package workcal counts working days (工作日) as Chinese public bodies do:
// Monday to Friday, except the statutory holidays (放假), plus the weekend
// days the State Council's yearly notice turns into working days (调休上班).
// The calendar is data, not rules: each year's 国务院办公厅关于…部分节假日安排的通知
// is entered as dates, because the holidays move with the lunar calendar
// and the 调休 pattern is decided anew each year.
//
// # The counting rule
//
// Time limits of government service (政务服务) are written "自受理之日起 N 个
// 工作日内办结", and periods are counted as the Civil Code (民法典) counts
// them: the day a period starts does not count (第二百零一条: 开始的当日不计入,
// 自下一日开始计算), and the last day ends at 24:00 (第二百零三条: 截止时间为
// 二十四时). So the first working day after the day of receipt is day 1, and
// DueWorkdays returns 24:00 of the Nth working day, China time, which is
// the instant midnight starts the day after. A complaint received on a
// holiday or a weekend starts counting the same way, on the next working
// day; one received at 00:05 on a Monday has all of Monday to itself, but
// Monday is not day 1.
//
// Limits in hours ("24 小时内") are clock hours from the moment of receipt
// (第二百零一条: 按照小时计算期间的, 自…规定的时间开始计算): they are used for
// matters that cannot wait for the next working day, so DueHours does not
// stop the clock on holidays or at night.
//
// Dates are civil dates in China Standard Time (UTC+8). China has kept no
// daylight saving time since 1991, so Zone is a fixed offset and the package
// does not depend on the machine's time zone database.
//
// Days outside the years the calendar holds data for follow the weekday
// rule and the statutory holidays the law fixes (Statutory; Covers tells
// which years have data): a due date in a year whose notice is not yet
// entered may still fall on a 补假 or a bridging day off.
package workcal

import (
	"fmt"
	"slices"
	"time"
)

// Zone is China Standard Time, UTC+8, the time of every date here.
var Zone = time.FixedZone("CST", 8*60*60)

// Date is a civil date in Zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in China.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Zone).Date()
	return Date{y, m, d}
}

// ParseDate reads a date written YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Zone)
	if err != nil {
		return Date{}, fmt.Errorf("got %q, want a date YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String writes d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Start is midnight at the start of d in China.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Zone) }

// End is 24:00 of d in China, the end of a period whose last day is d:
// the same instant as midnight starting the next day.
func (d Date) End() time.Time { return d.AddDays(1).Start() }

// AddDays returns the date n days after d (before, for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, Zone))
}

// Weekday is d's day of the week.
func (d Date) Weekday() time.Weekday { return d.Start().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int { return d.Start().Compare(e.Start()) }

// MarshalText writes d as YYYY-MM-DD (in JSON, a string).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d written YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Kind says what the notice made of a day.
type Kind string

// Kinds of days a calendar lists. Days it does not list follow the weekday
// rule.
const (
	Holiday Kind = "holiday" // 放假: no work, even on a weekday
	Workday Kind = "workday" // 调休上班: work, even on a weekend
)

// Kinds lists the kinds.
var Kinds = []Kind{Holiday, Workday}

// Day is one date the calendar sets apart from the weekday rule, with the
// holiday it belongs to ("春节", "春节调休上班").
type Day struct {
	Date Date   `json:"date"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
}

// Calendar is an immutable set of holidays and 调休 working days. The nil
// *Calendar is valid: the weekday rule alone.
type Calendar struct {
	days  map[Date]Day
	years map[int]bool
}

// New returns the calendar of days. A date listed twice, or a kind other
// than Holiday or Workday, is an error.
func New(days []Day) (*Calendar, error) {
	c := &Calendar{days: make(map[Date]Day, len(days)), years: map[int]bool{}}
	for _, d := range days {
		if !slices.Contains(Kinds, d.Kind) {
			return nil, fmt.Errorf("%s: kind %q, want holiday or workday", d.Date, d.Kind)
		}
		if _, dup := c.days[d.Date]; dup {
			return nil, fmt.Errorf("%s is listed twice", d.Date)
		}
		c.days[d.Date] = d
		c.years[d.Date.Year] = true
	}
	return c, nil
}

// IsWorkday reports whether d is a working day: a day listed as Workday,
// or a Monday to Friday neither listed as Holiday nor a statutory holiday.
func (c *Calendar) IsWorkday(d Date) bool {
	if day, ok := c.Day(d); ok {
		return day.Kind == Workday
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Day returns the day d as the calendar sets it apart from the weekday
// rule: the listed day, or else the statutory holiday d is (named
// "春节（法定）"), which no notice makes a working day. Days returns the
// listed ones only.
func (c *Calendar) Day(d Date) (Day, bool) {
	if c != nil {
		if day, ok := c.days[d]; ok {
			return day, true
		}
	}
	if name, ok := Statutory(d); ok {
		return Day{Date: d, Kind: Holiday, Name: name + "（法定）"}, true
	}
	return Day{}, false
}

// Days returns the listed days in date order.
func (c *Calendar) Days() []Day {
	if c == nil {
		return []Day{}
	}
	out := make([]Day, 0, len(c.days))
	for _, d := range c.days {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Day) int { return a.Date.Compare(b.Date) })
	return out
}

// Covers reports whether the calendar holds any day of year, that is
// whether that year's notice has been entered.
func (c *Calendar) Covers(year int) bool { return c != nil && c.years[year] }

// Years lists the years the calendar holds days of, in order.
func (c *Calendar) Years() []int {
	out := []int{}
	if c != nil {
		for y := range c.years {
			out = append(out, y)
		}
	}
	slices.Sort(out)
	return out
}

// DueWorkdays returns the end of a limit of n working days for something
// received at received: 24:00 (China time) of the nth working day after
// the day of receipt, which does not count. n <= 0 gives the end of the
// day of receipt.
func (c *Calendar) DueWorkdays(received time.Time, n int) time.Time {
	d := DateOf(received)
	for counted := 0; counted < n; {
		d = d.AddDays(1)
		if c.IsWorkday(d) {
			counted++
		}
	}
	return d.End()
}

// DueHours returns the end of a limit of n clock hours from received:
// holidays and nights count (see the package documentation).
func DueHours(received time.Time, n int) time.Time {
	return received.Add(time.Duration(n) * time.Hour)
}
