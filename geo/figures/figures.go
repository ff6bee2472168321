// Package figures holds the rules of the 考核 figures a township is assessed
// on: what each figure counts, the levels a table groups by, the periods it
// covers (days in China's time), and how a league table ranks its rows.
// It does no I/O: geo/pgstore computes the rows, api renders them as JSON,
// CSV and the .xlsx 通报.
//
// The definitions, for a period [from, to):
//
//   - accepted (受理): incidents received in the period, except those merged
//     into another (a duplicate call counts once);
//   - completed (办结): incidents whose completion (resolved and verified:
//     completed_at) falls in the period; rejected and cancelled incidents are
//     never completed;
//   - on time (按时办结): completed incidents whose on_time flag is true (done
//     by the first due time plus the time spent suspended);
//   - overdue now (当前超期): incidents received in the period that are open
//     now and past their current due time (suspended ones are not);
//   - escalations (升级次数): the sum of escalation_count over accepted
//     incidents;
//   - 小事不出村: completed incidents that never went above the village
//     (max_level ≤ 1); 大事不出镇: completed incidents that never left the
//     town (max_level ≤ 2, every level the service has today);
//   - satisfaction (满意率): over completed incidents whose resident answered
//     the latest 回访 request, the share answering 满意 or 基本满意;
//   - median and p90 time to close: hours from receipt to completion of the
//     completed incidents;
//   - visits (走访次数), households visited (走访户数) and meetings (会议次数:
//     两委会, 党员大会 and 群众大会) are read from the visit log (geo.Visit):
//     the household visits held in the period, the households they
//     visited, the meetings held in it. A visit's group is the grid and
//     village its point fell in (the village's 片区, town and county as for
//     incidents), the person who logged it, and by time levels the day of
//     China it was held; service items have no visits (no value).
//
// A row's place in a table (its group) is the incident's: its town (and
// the town's county: a county's row is the sum of its towns'), the village
// and grid it was routed to, the village's 片区, the assignee it has now, its
// service item; by time levels, the day, week, month or quarter in China of
// receipt for accepted-side figures and of completion for completion-side
// ones.
package figures

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"wangge/geo"
)

// Level is what a table's rows are.
type Level string

// Levels. The first seven are the places and people a township (or a
// county's towns) is assessed by; the time levels cut the period into
// buckets, for trends.
const (
	LevelCounty   Level = "county"   // 县（市、区）: the sum of its towns
	LevelTown     Level = "town"     // 乡镇（街道）
	LevelDistrict Level = "district" // 片区
	LevelVillage  Level = "village"  // 村（社区）
	LevelGrid     Level = "grid"     // 网格
	LevelPerson   Level = "person"   // 责任人 (the assignee)
	LevelItem     Level = "item"     // 服务事项 (the category)
	LevelDay      Level = "day"
	LevelWeek     Level = "week"
	LevelMonth    Level = "month"
	LevelQuarter  Level = "quarter"
)

// Levels lists every level, in the order of the 通报's sheets.
var Levels = []Level{LevelCounty, LevelTown, LevelDistrict, LevelVillage, LevelGrid, LevelPerson, LevelItem, LevelDay, LevelWeek, LevelMonth, LevelQuarter}

// ReportLevels are the levels the .xlsx 通报 has a sheet for.
var ReportLevels = []Level{LevelCounty, LevelTown, LevelDistrict, LevelVillage, LevelGrid, LevelPerson, LevelItem, LevelMonth}

// Chinese is the level's name in a 通报.
func (l Level) Chinese() string {
	switch l {
	case LevelCounty:
		return "县（市、区）"
	case LevelTown:
		return "乡镇（街道）"
	case LevelDistrict:
		return "片区"
	case LevelVillage:
		return "村（社区）"
	case LevelGrid:
		return "网格"
	case LevelPerson:
		return "责任人"
	case LevelItem:
		return "服务事项"
	case LevelDay:
		return "按日"
	case LevelWeek:
		return "按周"
	case LevelMonth:
		return "按月"
	case LevelQuarter:
		return "按季度"
	}
	return string(l)
}

// IsTime reports whether l cuts the period into time buckets (a trend)
// rather than into places or people (a league table).
func (l Level) IsTime() bool {
	switch l {
	case LevelDay, LevelWeek, LevelMonth, LevelQuarter:
		return true
	}
	return false
}

// ParseLevel reads the level parameter ("" is village).
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return LevelVillage, nil
	}
	if l := Level(s); slices.Contains(Levels, l) {
		return l, nil
	}
	return "", geo.Invalidf("level", "got %q, want one of %v", clip(s), Levels)
}

// Row is one line of a table: a group's figures in the period.
type Row struct {
	// Key identifies the group: a county's code (6 digits), a town's (9),
	// a 片区's (its town's and its own: 43132110101), a village or grid
	// code, the assignee's name, a category, or a bucket's first day
	// (2026-11-02).
	Key string
	// Name is how a reader knows the group (a village's name); Parent is
	// the group it lies in, where there is one (a grid's village, a
	// village's 片区), by name.
	Name, Parent string

	Accepted    int
	Completed   int
	OnTime      int
	OverdueNow  int
	Escalations int
	InVillage   int // 小事不出村
	InTown      int // 大事不出镇
	Rated       int
	Satisfied   int // 满意 and 基本满意
	Unsatisfied int
	// MedianHours and P90Hours are nil without completed incidents.
	MedianHours, P90Hours *float64

	// Visits, HouseholdsVisited and Meetings count the visit log (走访
	// and meetings). NoVisits marks rows visits cannot have (service
	// items): their visit figures have no value.
	Visits, HouseholdsVisited, Meetings int
	NoVisits                            bool
}

// Figure is one column of a table: its name on the wire, its header in a
// 通报, its definition, how it is read from a row and whether a league
// table ranks the larger value first.
type Figure struct {
	Name       string
	Chinese    string
	Definition string
	// Rate figures are shares in [0, 1]; Hours figures are durations.
	Rate, Hours  bool
	HigherBetter bool
	// Value is the figure of a row, and false when it has none (a rate
	// over zero incidents, a median without completed ones).
	Value func(Row) (float64, bool)
}

func count(f func(Row) int) func(Row) (float64, bool) {
	return func(r Row) (float64, bool) { return float64(f(r)), true }
}

func rate(num, den func(Row) int) func(Row) (float64, bool) {
	return func(r Row) (float64, bool) {
		if den(r) == 0 {
			return 0, false
		}
		return float64(num(r)) / float64(den(r)), true
	}
}

func hours(f func(Row) *float64) func(Row) (float64, bool) {
	return func(r Row) (float64, bool) {
		if p := f(r); p != nil {
			return *p, true
		}
		return 0, false
	}
}

// visitCount is a count of the visit log, without a value where visits
// cannot be (NoVisits).
func visitCount(f func(Row) int) func(Row) (float64, bool) {
	return func(r Row) (float64, bool) {
		if r.NoVisits {
			return 0, false
		}
		return float64(f(r)), true
	}
}

var (
	accepted  = func(r Row) int { return r.Accepted }
	completed = func(r Row) int { return r.Completed }
)

// Figures lists the columns of every table, in order.
var Figures = []Figure{
	{Name: "accepted", Chinese: "受理数", HigherBetter: true, Value: count(accepted),
		Definition: "本期受理的诉求件数（被合并的重复件不计）"},
	{Name: "completed", Chinese: "办结数", HigherBetter: true, Value: count(completed),
		Definition: "本期办结（办理完成并经核实）的件数；退回、撤销不计为办结"},
	{Name: "completion_rate", Chinese: "办结率", Rate: true, HigherBetter: true, Value: rate(completed, accepted),
		Definition: "办结数 ÷ 受理数（本期办结的可能含前期受理件）"},
	{Name: "on_time", Chinese: "按时办结数", HigherBetter: true, Value: count(func(r Row) int { return r.OnTime }),
		Definition: "本期办结且在首次办理时限（扣除挂起时间）内办结的件数"},
	{Name: "on_time_rate", Chinese: "按时办结率", Rate: true, HigherBetter: true, Value: rate(func(r Row) int { return r.OnTime }, completed),
		Definition: "按时办结数 ÷ 办结数"},
	{Name: "overdue_now", Chinese: "当前超期数", Value: count(func(r Row) int { return r.OverdueNow }),
		Definition: "本期受理、目前仍未办结且已过办理时限的件数（挂起件不计）"},
	{Name: "escalations", Chinese: "升级次数", Value: count(func(r Row) int { return r.Escalations }),
		Definition: "本期受理件被升级（超时或人工）的次数之和"},
	{Name: "in_village", Chinese: "小事不出村数", HigherBetter: true, Value: count(func(r Row) int { return r.InVillage }),
		Definition: "本期办结且从未升级到镇级的件数（最高层级 ≤ 村）"},
	{Name: "in_village_rate", Chinese: "小事不出村率", Rate: true, HigherBetter: true, Value: rate(func(r Row) int { return r.InVillage }, completed),
		Definition: "小事不出村数 ÷ 办结数"},
	{Name: "in_town", Chinese: "大事不出镇数", HigherBetter: true, Value: count(func(r Row) int { return r.InTown }),
		Definition: "本期办结且未出镇的件数（最高层级 ≤ 镇）"},
	{Name: "in_town_rate", Chinese: "大事不出镇率", Rate: true, HigherBetter: true, Value: rate(func(r Row) int { return r.InTown }, completed),
		Definition: "大事不出镇数 ÷ 办结数"},
	{Name: "rated", Chinese: "回访评价数", HigherBetter: true, Value: count(func(r Row) int { return r.Rated }),
		Definition: "本期办结件中群众已回复最近一次回访的件数"},
	{Name: "satisfaction_rate", Chinese: "满意率", Rate: true, HigherBetter: true, Value: rate(func(r Row) int { return r.Satisfied }, func(r Row) int { return r.Rated }),
		Definition: "（满意 + 基本满意）÷ 回访评价数"},
	{Name: "unsatisfied", Chinese: "不满意数", Value: count(func(r Row) int { return r.Unsatisfied }),
		Definition: "回访评价为不满意的件数"},
	{Name: "median_hours", Chinese: "办结用时中位数（小时）", Hours: true, Value: hours(func(r Row) *float64 { return r.MedianHours }),
		Definition: "本期办结件从受理到办结的小时数的中位数"},
	{Name: "p90_hours", Chinese: "办结用时P90（小时）", Hours: true, Value: hours(func(r Row) *float64 { return r.P90Hours }),
		Definition: "本期办结件从受理到办结的小时数的第90百分位数"},
	{Name: "visits", Chinese: "走访次数", HigherBetter: true, Value: visitCount(func(r Row) int { return r.Visits }),
		Definition: "本期入户走访的记录次数（按走访时间；计入走访地点所在网格、走访人）；服务事项不适用"},
	{Name: "households_visited", Chinese: "走访户数", HigherBetter: true, Value: visitCount(func(r Row) int { return r.HouseholdsVisited }),
		Definition: "本期入户走访记录的走访户数之和"},
	{Name: "meetings", Chinese: "会议次数", HigherBetter: true, Value: visitCount(func(r Row) int { return r.Meetings }),
		Definition: "本期召开的两委会、党员大会、群众大会次数（计入会议地点所在网格、记录人）"},
}

// FigureByName returns the figure called name.
func FigureByName(name string) (Figure, bool) {
	i := slices.IndexFunc(Figures, func(f Figure) bool { return f.Name == name })
	if i < 0 {
		return Figure{}, false
	}
	return Figures[i], true
}

// ParseSort reads the sort parameter: a figure's name ("" ranks by
// accepted, the figure a township is first read by).
func ParseSort(s string) (Figure, error) {
	if s == "" {
		s = "accepted"
	}
	f, ok := FigureByName(s)
	if !ok {
		names := make([]string, len(Figures))
		for i, f := range Figures {
			names[i] = f.Name
		}
		return Figure{}, geo.Invalidf("sort", "got %q, want one of %v", clip(s), names)
	}
	return f, nil
}

// Ranked is a row in a league table: its rank by the table's figure (1 is
// best; equal values share a rank and the next rank skips, 1, 1, 3) or 0
// when the row has no value for it (listed last).
type Ranked struct {
	Rank int
	Row
}

// Rank orders rows best first by f and numbers them. Rows without a value
// come last, unranked; ties keep the order of their keys, so a table is the
// same every time. Time levels are not league tables: rank them by key.
func Rank(rows []Row, f Figure) []Ranked {
	out := make([]Ranked, len(rows))
	for i, r := range rows {
		out[i] = Ranked{Row: r}
	}
	slices.SortStableFunc(out, func(a, b Ranked) int {
		va, oka := f.Value(a.Row)
		vb, okb := f.Value(b.Row)
		switch {
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		case oka && va != vb:
			if f.HigherBetter {
				return cmp.Compare(vb, va)
			}
			return cmp.Compare(va, vb)
		}
		return cmp.Compare(a.Key, b.Key)
	})
	for i := range out {
		v, ok := f.Value(out[i].Row)
		switch {
		case !ok:
			out[i].Rank = 0
		case i > 0:
			if pv, pok := f.Value(out[i-1].Row); pok && pv == v {
				out[i].Rank = out[i-1].Rank
				continue
			}
			fallthrough
		default:
			out[i].Rank = i + 1
		}
	}
	return out
}

// Percentile is the p-quantile (0 ≤ p ≤ 1) of sorted, which must be sorted
// and not empty, interpolated linearly between the two closest ranks: what
// PostgreSQL's percentile_cont computes.
func Percentile(sorted []float64, p float64) float64 {
	return PercentileAt(len(sorted), p, func(rank int) float64 { return sorted[rank] })
}

// PercentileRanks are the ranks (0-based, ascending) of n values that
// their p-quantile is computed from: one or two.
func PercentileRanks(n int, p float64) []int {
	pos := p * float64(n-1)
	lo := int(pos)
	if lo+1 >= n {
		return []int{n - 1}
	}
	return []int{lo, lo + 1}
}

// PercentileAt is Percentile of n sorted values (n > 0) of which at
// returns the one of a rank; it asks only for PercentileRanks(n, p).
func PercentileAt(n int, p float64, at func(rank int) float64) float64 {
	pos := p * float64(n-1)
	lo := int(pos)
	if lo+1 >= n {
		return at(n - 1)
	}
	a, b := at(lo), at(lo+1)
	return a + (pos-float64(lo))*(b-a)
}

// Query asks for one table.
type Query struct {
	Level  Level
	Period Period
	// Now is when "overdue now" is judged.
	Now time.Time
}

// Table is a computed table: its rows (in key order) and the total of the
// whole period (with its own median and p90).
type Table struct {
	Query
	Rows  []Row
	Total Row
}

// Store computes tables. It returns EUNAVAILABLE when the database cannot
// be reached.
type Store interface {
	// Figures computes the table of q: one row per group with at least
	// one incident accepted or completed, or one visit or meeting held,
	// in the period.
	Figures(ctx context.Context, q Query) (*Table, error)
}

// Format renders a figure's value for text (CSV): counts as integers,
// rates as fractions with four decimals, hours with one; "" for no value.
func (f Figure) Format(r Row) string {
	v, ok := f.Value(r)
	switch {
	case !ok:
		return ""
	case f.Rate:
		return fmt.Sprintf("%.4f", v)
	case f.Hours:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}
