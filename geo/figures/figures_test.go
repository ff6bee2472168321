package figures

import (
	"math"
	"slices"
	"testing"
	"time"

	"wangge/geo"
)

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC) // 2026-12-03 01:00 in China
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, China) }
	for _, tc := range []struct {
		name, spec, from, to string
		kind                 PeriodKind
		start, end           time.Time
		label                string
	}{
		{"default is now's month in China", "", "", "", KindMonth, day(2026, 12, 1), day(2027, 1, 1), "2026年12月"},
		{"day", "2026-11-03", "", "", KindDay, day(2026, 11, 3), day(2026, 11, 4), "2026年11月3日"},
		{"leap day", "2024-02-29", "", "", KindDay, day(2024, 2, 29), day(2024, 3, 1), "2024年2月29日"},
		{"ISO week 1 starts in the year before", "2026-W01", "", "", KindWeek, day(2025, 12, 29), day(2026, 1, 5), "2026年第1周"},
		{"week 53 of a long year", "2026-W53", "", "", KindWeek, day(2026, 12, 28), day(2027, 1, 4), "2026年第53周"},
		{"month", "2026-02", "", "", KindMonth, day(2026, 2, 1), day(2026, 3, 1), "2026年2月"},
		{"quarter", "2026-Q4", "", "", KindQuarter, day(2026, 10, 1), day(2027, 1, 1), "2026年第4季度"},
		{"year", "2026", "", "", KindYear, day(2026, 1, 1), day(2027, 1, 1), "2026年"},
		{"custom, to included", "", "2025-12-01", "2026-11-30", KindCustom, day(2025, 12, 1), day(2026, 12, 1), "2025年12月1日至2026年11月30日"},
		{"custom, one day", "", "2026-05-01", "2026-05-01", KindCustom, day(2026, 5, 1), day(2026, 5, 2), "2026年5月1日至2026年5月1日"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePeriod(tc.spec, tc.from, tc.to, now)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.kind || !p.From.Equal(tc.start) || !p.To.Equal(tc.end) || p.Label != tc.label {
				t.Errorf("got %s [%s, %s) %q, want %s [%s, %s) %q", p.Kind, p.From, p.To, p.Label, tc.kind, tc.start, tc.end, tc.label)
			}
		})
	}
}

func TestParsePeriod_refused(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ name, spec, from, to, where string }{
		{"no such day", "2026-02-30", "", "", "period"},
		{"not leap", "2025-02-29", "", "", "period"},
		{"no week 53 in 2025", "2025-W53", "", "", "period"},
		{"week 0", "2026-W00", "", "", "period"},
		{"month 13", "2026-13", "", "", "period"},
		{"quarter 5", "2026-Q5", "", "", "period"},
		{"year out of range", "1999", "", "", "period"},
		{"free text", "last month", "", "", "period"},
		{"both forms", "2026-11", "2026-11-01", "", "period"},
		{"from without to", "", "2026-11-01", "", "to"},
		{"to without from", "", "", "2026-11-01", "from"},
		{"to before from", "", "2026-11-02", "2026-11-01", "to"},
		{"bad from", "", "2026/11/01", "2026-11-30", "from"},
		{"too long", "", "2020-01-01", "2026-01-01", "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePeriod(tc.spec, tc.from, tc.to, now)
			e, ok := err.(*geo.Error)
			if !ok || e.Code != geo.EINVALID || len(e.Problems) != 1 || e.Problems[0].Where != tc.where {
				t.Errorf("got %v, want EINVALID at %s", err, tc.where)
			}
		})
	}
}

func TestParseLevelAndSort(t *testing.T) {
	if l, err := ParseLevel(""); err != nil || l != LevelVillage {
		t.Errorf("empty level: got %q %v, want village", l, err)
	}
	for _, l := range Levels {
		if got, err := ParseLevel(string(l)); err != nil || got != l {
			t.Errorf("level %s: got %q %v", l, got, err)
		}
		if l.Chinese() == string(l) {
			t.Errorf("level %s has no Chinese name", l)
		}
	}
	if _, err := ParseLevel("province"); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("level province: got %v, want EINVALID", err)
	}
	if f, err := ParseSort(""); err != nil || f.Name != "accepted" {
		t.Errorf("empty sort: got %q %v, want accepted", f.Name, err)
	}
	if _, err := ParseSort("speed"); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("sort speed: got %v, want EINVALID", err)
	}
	seen := map[string]bool{}
	for _, f := range Figures {
		if seen[f.Name] || seen[f.Chinese] || f.Definition == "" {
			t.Errorf("figure %s: duplicate name or header, or no definition", f.Name)
		}
		seen[f.Name], seen[f.Chinese] = true, true
	}
}

func ptr(v float64) *float64 { return &v }

func TestRank(t *testing.T) {
	rows := []Row{
		{Key: "a", Accepted: 10, Completed: 8, OnTime: 6, OverdueNow: 2, MedianHours: ptr(30)},
		{Key: "b", Accepted: 10, Completed: 5, OnTime: 5, OverdueNow: 0, MedianHours: ptr(10)},
		{Key: "c", Accepted: 4, Completed: 0, OverdueNow: 2},
		{Key: "d", Accepted: 12, Completed: 8, OnTime: 4, OverdueNow: 5, MedianHours: ptr(30)},
	}
	type want struct {
		key  string
		rank int
	}
	for _, tc := range []struct {
		sort string
		want []want
	}{
		// Higher first; a tie shares its rank and the next skips.
		{"accepted", []want{{"d", 1}, {"a", 2}, {"b", 2}, {"c", 4}}},
		// Lower first; c has no completed incidents, so no rate: last, unranked.
		{"on_time_rate", []want{{"b", 1}, {"a", 2}, {"d", 3}, {"c", 0}}},
		{"overdue_now", []want{{"b", 1}, {"a", 2}, {"c", 2}, {"d", 4}}},
		{"median_hours", []want{{"b", 1}, {"a", 2}, {"d", 2}, {"c", 0}}},
	} {
		t.Run(tc.sort, func(t *testing.T) {
			f, err := ParseSort(tc.sort)
			if err != nil {
				t.Fatal(err)
			}
			got := Rank(rows, f)
			for i, w := range tc.want {
				if got[i].Key != w.key || got[i].Rank != w.rank {
					t.Errorf("place %d: got %s ranked %d, want %s ranked %d", i, got[i].Key, got[i].Rank, w.key, w.rank)
				}
			}
		})
	}
}

func TestFigureFormat(t *testing.T) {
	r := Row{Accepted: 3, Completed: 2, OnTime: 1, MedianHours: ptr(12.25)}
	for name, want := range map[string]string{"accepted": "3", "on_time_rate": "0.5000", "median_hours": "12.2",
		"satisfaction_rate": "", "p90_hours": "", "completion_rate": "0.6667"} {
		f, _ := FigureByName(name)
		if got := f.Format(r); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{7}, 0.5, 7},
		{[]float64{7}, 0.9, 7},
		{[]float64{1, 2}, 0.5, 1.5},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4}, 0.9, 3.7},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.9, 10},
		{[]float64{0, 10}, 0, 0},
		{[]float64{0, 10}, 1, 10},
	} {
		if got := Percentile(tc.xs, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
}

// TestPercentileAt: from the ranks PercentileRanks names alone,
// PercentileAt gives percentile_cont of the whole sorted slice, to the bit,
// and so does Percentile.
func TestPercentileAt(t *testing.T) {
	for n := 1; n <= 40; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i*i) / 7
		}
		for _, p := range []float64{0, 0.1, 0.5, 0.9, 1} {
			ranks := PercentileRanks(n, p)
			got := PercentileAt(n, p, func(rank int) float64 {
				if !slices.Contains(ranks, rank) {
					t.Errorf("n %d p %v: asked for rank %d, not in %v", n, p, rank, ranks)
				}
				return xs[rank]
			})
			// percentile_cont's formula, written out.
			pos := p * float64(n-1)
			lo := int(pos)
			want := xs[n-1]
			if lo+1 < n {
				want = xs[lo] + (pos-float64(lo))*(xs[lo+1]-xs[lo])
			}
			if got != want || Percentile(xs, p) != want {
				t.Errorf("n %d p %v: got %v, want %v", n, p, got, want)
			}
		}
	}
}

// TestVisitFigures: the visit log's columns are counts ranked higher
// first, formatted as integers; rows that cannot have visits (service
// items, NoVisits) have no value and rank last, unranked.
func TestVisitFigures(t *testing.T) {
	rows := []Row{{Key: "a", Visits: 3, HouseholdsVisited: 5, Meetings: 1}, {Key: "b", Visits: 7, HouseholdsVisited: 9},
		{Key: "c", NoVisits: true}, {Key: "d", Visits: 3, HouseholdsVisited: 5, Meetings: 2}}
	for _, name := range []string{"visits", "households_visited", "meetings"} {
		f, err := ParseSort(name)
		if err != nil || !f.HigherBetter || f.Rate || f.Hours || f.Chinese == "" || f.Definition == "" {
			t.Fatalf("%s: %+v, %v", name, f, err)
		}
		if v, ok := f.Value(rows[2]); ok {
			t.Errorf("%s of a row without visits: %v, want no value", name, v)
		}
		if got := f.Format(rows[2]); got != "" {
			t.Errorf("%s formats a row without visits as %q", name, got)
		}
	}
	f, _ := ParseSort("visits")
	var got []string
	var ranks []int
	for _, r := range Rank(rows, f) {
		got = append(got, r.Key)
		ranks = append(ranks, r.Rank)
	}
	if !slices.Equal(got, []string{"b", "a", "d", "c"}) || !slices.Equal(ranks, []int{1, 2, 2, 0}) {
		t.Errorf("by visits: %v ranked %v, want b, a, d, c ranked 1, 2, 2, 0", got, ranks)
	}
	if h, _ := ParseSort("households_visited"); h.Format(rows[1]) != "9" {
		t.Errorf("households_visited of b formats as %q", h.Format(rows[1]))
	}
}
