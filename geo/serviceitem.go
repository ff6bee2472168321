package geo

import (
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"wangge/geo/workcal"
)

// This file is the catalogue of service items (服务事项): what an incident
// can be about, and the time limit (办理时限) each kind of matter is given,
// in working days on the holiday calendar or in clock hours. The catalogue
// and the calendar are data an admin edits at run time; the server keeps
// the current pair in memory (Limits) and swaps it whole on every change,
// so that intake reads a consistent catalogue without touching the
// database. A changed limit applies to incidents received after the
// change: an incident keeps the due time it was given at intake.

// Limits of service item requests.
const (
	MaxServiceItemName        = 50
	MaxServiceItemDescription = 1000
	MaxLimitWorkdays          = 250
	MaxLimitHours             = 8760
)

// ServiceItem is one entry of the catalogue. Exactly one of LimitWorkdays
// and LimitHours is set (> 0). Its Code is the category incidents carry.
type ServiceItem struct {
	Code          Category
	NameZh        string
	Description   string
	LimitWorkdays int
	LimitHours    int
	// Active items are offered at intake; an inactive one stays in the
	// catalogue for the incidents that have it.
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Due is the end of its time limit for a matter received at received, on
// calendar cal (nil: the weekday rule): see package workcal for the
// counting rule.
func (it ServiceItem) Due(cal *workcal.Calendar, received time.Time) time.Time {
	if it.LimitHours > 0 {
		return workcal.DueHours(received, it.LimitHours)
	}
	return cal.DueWorkdays(received, it.LimitWorkdays)
}

// serviceItemCode is the form of a code: it names a category in URLs,
// filters and Open311's service_code.
var serviceItemCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ServiceItemRequest creates a service item: a code, a Chinese name, a
// description, and either limit_workdays or limit_hours. Active defaults
// to true.
type ServiceItemRequest struct {
	Code          string `json:"code"`
	NameZh        string `json:"name_zh"`
	Description   string `json:"description"`
	LimitWorkdays *int   `json:"limit_workdays"`
	LimitHours    *int   `json:"limit_hours"`
	Active        *bool  `json:"active"`
}

// Check returns the item r asks for, or one EINVALID error naming every
// wrong member.
func (r ServiceItemRequest) Check() (ServiceItem, error) {
	var ps problemList
	it := ServiceItem{Code: Category(r.Code), Active: r.Active == nil || *r.Active}
	if !serviceItemCode.MatchString(r.Code) {
		ps.add("code", "got %q, want 1 to 40 lowercase letters, digits or _, starting with a letter", Clip(r.Code))
	}
	it.NameZh = ps.itemName(r.NameZh)
	it.Description = ps.itemDescription(r.Description)
	it.LimitWorkdays, it.LimitHours = ps.itemLimit(r.LimitWorkdays, r.LimitHours, true)
	return it, ps.err()
}

// ServiceItemPatch changes a service item: members present change, absent
// ones stay. Giving limit_workdays makes the limit one in working days
// (and drops the one in hours), and the other way round; giving both is
// refused.
type ServiceItemPatch struct {
	NameZh        *string `json:"name_zh"`
	Description   *string `json:"description"`
	LimitWorkdays *int    `json:"limit_workdays"`
	LimitHours    *int    `json:"limit_hours"`
	Active        *bool   `json:"active"`
}

// Apply returns it changed by p, or one EINVALID error naming every wrong
// member; a patch that changes nothing is refused too.
func (p ServiceItemPatch) Apply(it ServiceItem) (ServiceItem, error) {
	var ps problemList
	if p == (ServiceItemPatch{}) {
		ps.add("body", "nothing to change: give name_zh, description, limit_workdays, limit_hours or active")
	}
	if p.NameZh != nil {
		it.NameZh = ps.itemName(*p.NameZh)
	}
	if p.Description != nil {
		it.Description = ps.itemDescription(*p.Description)
	}
	if p.LimitWorkdays != nil || p.LimitHours != nil {
		it.LimitWorkdays, it.LimitHours = ps.itemLimit(p.LimitWorkdays, p.LimitHours, false)
	}
	if p.Active != nil {
		it.Active = *p.Active
	}
	return it, ps.err()
}

func (ps *problemList) itemName(raw string) string {
	name := strings.TrimSpace(raw)
	if name == "" || utf8.RuneCountInString(name) > MaxServiceItemName {
		ps.add("name_zh", "required, at most %d characters", MaxServiceItemName)
	}
	return name
}

func (ps *problemList) itemDescription(raw string) string {
	d := strings.TrimSpace(raw)
	if utf8.RuneCountInString(d) > MaxServiceItemDescription {
		ps.add("description", "at most %d characters", MaxServiceItemDescription)
	}
	return d
}

// itemLimit checks a limit given as working days or hours, exactly one of
// them (required: one must be given).
func (ps *problemList) itemLimit(workdays, hours *int, required bool) (int, int) {
	switch {
	case workdays != nil && hours != nil:
		ps.add("limit_hours", "give limit_workdays or limit_hours, not both")
	case workdays != nil:
		if *workdays < 1 || *workdays > MaxLimitWorkdays {
			ps.add("limit_workdays", "got %d, want 1..%d working days", *workdays, MaxLimitWorkdays)
		}
		return *workdays, 0
	case hours != nil:
		if *hours < 1 || *hours > MaxLimitHours {
			ps.add("limit_hours", "got %d, want 1..%d hours", *hours, MaxLimitHours)
		}
		return 0, *hours
	case required:
		ps.add("limit_workdays", "required: a limit in working days (limit_workdays) or in hours (limit_hours)")
	}
	return 0, 0
}

// CalendarDayRequest sets what a date is: a holiday (放假) or a working
// day (调休上班), and the holiday it belongs to.
type CalendarDayRequest struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// MaxCalendarDayName bounds the name of a calendar day, in characters.
const MaxCalendarDayName = 50

// Check returns the day r sets on date.
func (r CalendarDayRequest) Check(date workcal.Date) (workcal.Day, error) {
	var ps problemList
	day := workcal.Day{Date: date, Kind: workcal.Kind(r.Kind), Name: strings.TrimSpace(r.Name)}
	if !slices.Contains(workcal.Kinds, day.Kind) {
		ps.add("kind", "got %q, want holiday (放假) or workday (调休上班)", Clip(r.Kind))
	}
	if day.Name == "" || utf8.RuneCountInString(day.Name) > MaxCalendarDayName {
		ps.add("name", "required (the holiday, e.g. 春节), at most %d characters", MaxCalendarDayName)
	}
	return day, ps.err()
}

// Catalogue is the service items and the holiday calendar as loaded at one
// moment; it is never changed, only replaced.
type Catalogue struct {
	items    []ServiceItem // by code
	byCode   map[Category]ServiceItem
	active   []Category
	Calendar *workcal.Calendar
}

// NewCatalogue returns the catalogue of items on calendar cal.
func NewCatalogue(items []ServiceItem, cal *workcal.Calendar) *Catalogue {
	c := &Catalogue{items: slices.Clone(items), byCode: make(map[Category]ServiceItem, len(items)), Calendar: cal}
	slices.SortFunc(c.items, func(a, b ServiceItem) int { return strings.Compare(string(a.Code), string(b.Code)) })
	for _, it := range c.items {
		c.byCode[it.Code] = it
		if it.Active {
			c.active = append(c.active, it.Code)
		}
	}
	return c
}

// Items lists every item, inactive ones too, by code.
func (c *Catalogue) Items() []ServiceItem { return slices.Clone(c.items) }

// Item returns the item with code.
func (c *Catalogue) Item(code Category) (ServiceItem, bool) {
	it, ok := c.byCode[code]
	return it, ok
}

// Active lists the codes offered at intake, in order.
func (c *Catalogue) Active() []Category { return slices.Clone(c.active) }

// Limits holds the current catalogue, swapped whole on every change. The
// zero value holds none: callers then fall back to the built-in
// categories and the severity limits.
type Limits struct{ cur atomic.Pointer[Catalogue] }

// Load returns the current catalogue, nil before the first Store.
func (l *Limits) Load() *Catalogue {
	if l == nil {
		return nil
	}
	return l.cur.Load()
}

// Store makes c the current catalogue.
func (l *Limits) Store(c *Catalogue) { l.cur.Store(c) }

// WithLimits returns d deciding categories and due times from the
// catalogue l holds at each decision (see intakeCategories, limitDue).
func (d Dispatcher) WithLimits(l *Limits) Dispatcher {
	d.limits = l
	return d
}

// Categories lists the known category codes: with a catalogue loaded, its
// active items, and its inactive ones too when withInactive (a filter over
// past incidents, or a count of them, must take a category no longer
// offered); without one (nil l, or before the first Store), the built-in
// Categories. This is the one place that decides which codes exist. The
// slice may be shared: do not change it.
func (l *Limits) Categories(withInactive bool) []Category {
	c := l.Load()
	switch {
	case c == nil:
		return Categories
	case withInactive:
		out := make([]Category, len(c.items))
		for i, it := range c.items {
			out[i] = it.Code
		}
		return out
	}
	return c.active
}

// intakeCategories lists the categories intake accepts: the active ones.
func (d Dispatcher) intakeCategories() []Category { return d.limits.Categories(false) }

// limitDue is the due time of an incident of category cat and severity
// sev given a time limit at received (at intake, or when it is handed on:
// Dispatcher.due). With a catalogue, it is the service item's
// limit on the holiday calendar, shortened to the severity's limit when
// the severity is above minor (major, urgent) and that limit ends
// earlier: minor is the ordinary case and follows the item; a severe one
// never waits longer than its severity allows. Without a catalogue, the
// severity's limit alone, as before there was one.
func (d Dispatcher) limitDue(cat Category, sev Severity, received time.Time) time.Time {
	bySeverity := received.Add(d.cfg.DueIn[sev])
	c := d.limits.Load()
	if c == nil {
		return bySeverity
	}
	it, ok := c.Item(cat)
	if !ok {
		return bySeverity
	}
	due := it.Due(c.Calendar, received)
	if sev != SevMinor && d.cfg.DueIn[sev] > 0 && bySeverity.Before(due) {
		return bySeverity
	}
	return due
}
