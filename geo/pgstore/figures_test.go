package pgstore_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo/figures"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// demoTownCode is the code of the demo town (fixtures/heye).
const demoTownCode = "431321101"

// loadDemoYear loads the demo town and its year into a fresh database.
func loadDemoYear(t *testing.T) *pgstore.DB {
	t.Helper()
	db, _ := loadDemo(t)
	n, err := db.LoadDemoYear(context.Background(), demoTownCode, fixtures.OpenDemoYear)
	if err != nil {
		t.Fatalf("loading the demo year: %v", err)
	}
	if n < 5000 {
		t.Fatalf("the demo year has %d incidents, want a year's worth (5000+)", n)
	}
	return db
}

// TestLoadDemoYear_idempotent: a second load adds nothing; a database of
// another town gets no demo year.
func TestLoadDemoYear_idempotent(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	count := func() (n [4]int) {
		err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_events),
			(SELECT count(*) FROM incident_deadlines), (SELECT count(*) FROM incident_ratings)`).Scan(&n[0], &n[1], &n[2], &n[3])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	if n, err := db.LoadDemoYear(ctx, demoTownCode, fixtures.OpenDemoYear); err != nil || n != 0 {
		t.Fatalf("second load: got %d, %v; want 0, nil", n, err)
	}
	if after := count(); after != before {
		t.Errorf("second load changed the counts: %v → %v", before, after)
	}
	// Every merged incident points at one received before it, and every
	// incident lies in the grid it was routed to.
	var bad int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents i
		LEFT JOIN incidents m ON m.id = i.merged_into
		LEFT JOIN grids g ON g.code = i.grid_code AND g.retired_generation IS NULL
		WHERE (i.merged_into IS NOT NULL AND m.received_at > i.received_at) OR NOT ST_Covers(g.geom, i.location)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d incidents badly merged or outside their grid (%v)", bad, err)
	}

	other := pgtest.MustOpenDB(t)
	if n, err := other.LoadDemoYear(ctx, demoTownCode, fixtures.OpenDemoYear); err != nil || n != 0 {
		t.Errorf("an empty database: got %d, %v; want 0, nil", n, err)
	}
}

// rawIncident is what the brute-force oracle reads of an incident.
type rawIncident struct {
	received, completed *time.Time
	status              string
	due                 time.Time
	district, village   string
	grid, person, item  string
	escalations         int
	maxLevel            int
	onTime              *bool
	merged              bool
	rating              *string
}

// bruteForce computes a table from raw rows, one loop per figure's
// definition, independently of the store's query.
func bruteForce(raw []rawIncident, level figures.Level, from, to, now time.Time) map[string]*figures.Row {
	out := map[string]*figures.Row{}
	in := func(t *time.Time) bool { return t != nil && !t.Before(from) && t.Before(to) }
	bucket := func(t time.Time) string {
		d := t.In(figures.China)
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, figures.China)
		switch level {
		case figures.LevelWeek:
			day = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		case figures.LevelMonth:
			day = day.AddDate(0, 0, 1-day.Day())
		case figures.LevelQuarter:
			day = time.Date(day.Year(), time.Month((int(day.Month())-1)/3*3+1), 1, 0, 0, 0, 0, figures.China)
		}
		return day.Format("2006-01-02")
	}
	key := func(r rawIncident, at time.Time) string {
		switch level {
		case figures.LevelDistrict:
			return r.district
		case figures.LevelVillage:
			return r.village
		case figures.LevelGrid:
			return r.grid
		case figures.LevelPerson:
			return r.person
		case figures.LevelItem:
			return r.item
		}
		return bucket(at)
	}
	row := func(k string) *figures.Row {
		if out[k] == nil {
			out[k] = &figures.Row{Key: k}
		}
		return out[k]
	}
	hours := map[string][]float64{}
	for _, r := range raw {
		if in(r.received) && !r.merged {
			g := row(key(r, *r.received))
			g.Accepted++
			g.Escalations += r.escalations
			open := slices.Contains([]string{"received", "dispatched", "accepted", "in_progress", "rejected", "reopened"}, r.status)
			if open && r.due.Before(now) {
				g.OverdueNow++
			}
		}
		if in(r.completed) {
			k := key(r, *r.completed)
			g := row(k)
			g.Completed++
			if *r.onTime {
				g.OnTime++
			}
			if r.maxLevel <= 1 {
				g.InVillage++
			}
			if r.maxLevel <= 2 {
				g.InTown++
			}
			if r.rating != nil {
				g.Rated++
				switch *r.rating {
				case "satisfied", "basically_satisfied":
					g.Satisfied++
				case "unsatisfied":
					g.Unsatisfied++
				}
			}
			hours[k] = append(hours[k], r.completed.Sub(*r.received).Hours())
		}
	}
	for k, hs := range hours {
		slices.Sort(hs)
		m, p := percentile(hs, 0.5), percentile(hs, 0.9)
		out[k].MedianHours, out[k].P90Hours = &m, &p
	}
	return out
}

// percentile is PostgreSQL's percentile_cont: linear between the two
// nearest ranks of sorted xs.
func percentile(xs []float64, p float64) float64 {
	pos := p * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(xs) {
		return xs[lo]
	}
	return xs[lo] + (pos-float64(lo))*(xs[lo+1]-xs[lo])
}

func readRaw(t *testing.T, db *pgstore.DB) []rawIncident {
	t.Helper()
	// Plain reads: every incident with its place, and the answer to its
	// latest rating request.
	rows, err := db.Pool.Query(context.Background(), `
		SELECT i.received_at, i.completed_at, i.status, i.due_at, coalesce(v.district_code, ''), coalesce(i.village_code, ''),
		       coalesce(i.grid_code, ''), i.assignee_name, i.category, i.escalation_count, i.max_level, i.on_time,
		       i.merged_into IS NOT NULL,
		       (SELECT r.rating FROM incident_ratings r WHERE r.incident_id = i.id ORDER BY r.requested_at DESC, r.id DESC LIMIT 1)
		FROM incidents i LEFT JOIN villages v ON v.code = i.village_code`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawIncident
	for rows.Next() {
		var r rawIncident
		if err := rows.Scan(&r.received, &r.completed, &r.status, &r.due, &r.district, &r.village, &r.grid, &r.person,
			&r.item, &r.escalations, &r.maxLevel, &r.onTime, &r.merged, &r.rating); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFigures_bruteForce compares every level's table over the demo year,
// and over a month, a week and a custom period, with the brute-force count.
func TestFigures_bruteForce(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	raw := readRaw(t, db)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)

	// The demo year shows what the figures are about.
	var merged, escalated, late, unsatisfied, rejected, open int
	for _, r := range raw {
		switch {
		case r.merged:
			merged++
		case r.status == "closed" && r.completed == nil:
			rejected++
		case r.completed == nil && r.status != "cancelled":
			open++
		}
		if r.escalations > 0 {
			escalated++
		}
		if r.onTime != nil && !*r.onTime {
			late++
		}
		if r.rating != nil && *r.rating == "unsatisfied" {
			unsatisfied++
		}
	}
	for what, n := range map[string]int{"merged": merged, "escalated": escalated, "late": late, "unsatisfied": unsatisfied,
		"rejected": rejected, "open": open} {
		if n < 5 {
			t.Errorf("the demo year has %d %s incidents, want some", n, what)
		}
	}

	periods := []struct{ spec, from, to string }{{"", "2025-12-01", "2026-11-30"}, {"2026-07", "", ""}, {"2026-W08", "", ""}, {"2026-Q1", "", ""},
		{"2026-12", "", ""}} // after the demo year: no rows, a total of zeros
	for _, ps := range periods {
		period, err := figures.ParsePeriod(ps.spec, ps.from, ps.to, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, level := range figures.Levels {
			if level == figures.LevelDay && period.Kind == figures.KindCustom {
				continue // 365 rows: the month, week and quarter periods check days
			}
			t.Run(fmt.Sprintf("%s/%s", period.Spec, level), func(t *testing.T) {
				tbl, err := db.Figures(ctx, figures.Query{Level: level, Period: period, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(raw, level, period.From, period.To, now)
				if len(tbl.Rows) != len(want) {
					t.Errorf("got %d rows, want %d", len(tbl.Rows), len(want))
				}
				var total figures.Row
				for _, got := range tbl.Rows {
					w, ok := want[got.Key]
					if !ok {
						t.Errorf("row %q is not in the brute-force count", got.Key)
						continue
					}
					compareRow(t, got, *w)
					if got.Name == "" {
						t.Errorf("row %q has no name", got.Key)
					}
					total.Accepted += got.Accepted
					total.Completed += got.Completed
					total.OverdueNow += got.OverdueNow
				}
				if tbl.Total.Accepted != total.Accepted || tbl.Total.Completed != total.Completed || tbl.Total.OverdueNow != total.OverdueNow {
					t.Errorf("total %+v does not add up to its rows %+v", tbl.Total, total)
				}
				if !slices.IsSortedFunc(tbl.Rows, func(a, b figures.Row) int { return cmp.Compare(a.Key, b.Key) }) {
					t.Error("rows are not in key order")
				}
			})
		}
	}
}

func compareRow(t *testing.T, got, want figures.Row) {
	t.Helper()
	ints := func(r figures.Row) []int {
		return []int{r.Accepted, r.Completed, r.OnTime, r.OverdueNow, r.Escalations, r.InVillage, r.InTown, r.Rated, r.Satisfied, r.Unsatisfied}
	}
	if g, w := ints(got), ints(want); !slices.Equal(g, w) {
		t.Errorf("row %q: got %v, want %v (accepted, completed, on time, overdue, escalations, in village, in town, rated, satisfied, unsatisfied)", got.Key, g, w)
	}
	near := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-6)
	}
	if !near(got.MedianHours, want.MedianHours) || !near(got.P90Hours, want.P90Hours) {
		t.Errorf("row %q: median, p90 got %v %v, want %v %v", got.Key, deref(got.MedianHours), deref(got.P90Hours), deref(want.MedianHours), deref(want.P90Hours))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestFigures_followsWrites: after a table has been read (and the rollup
// built), writes to incidents and ratings show in the next table exactly
// as the brute-force count sees them: the days they touch are recomputed.
func TestFigures_followsWrites(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)
	period, err := figures.ParsePeriod("", "2025-12-01", "2026-11-30", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Figures(ctx, figures.Query{Level: figures.LevelGrid, Period: period, Now: now}); err != nil {
		t.Fatal(err)
	}
	// As the closed loop would write them: an escalation, a completion
	// (late, at the town), a reassignment, a rating answered, an incident
	// moved to another grid, a new incident.
	for _, sql := range []string{
		`UPDATE incidents SET escalation_count = escalation_count + 1, max_level = 2, level = 2
		 WHERE id = (SELECT min(id) FROM incidents WHERE status = 'in_progress')`,
		`UPDATE incidents SET status = 'verified', completed_at = timestamptz '2026-11-30 20:00+08', on_time = false, max_level = 2
		 WHERE id = (SELECT min(id) FROM incidents WHERE status = 'accepted')`,
		`UPDATE incidents SET assignee_name = '新网格长'
		 WHERE id = (SELECT min(id) FROM incidents WHERE status = 'closed' AND received_at > timestamptz '2026-06-15 00:00+08')`,
		`UPDATE incident_ratings SET rating = 'unsatisfied', rated_at = requested_at + interval '1 hour'
		 WHERE id = (SELECT min(id) FROM incident_ratings WHERE rating IS NULL)`,
		`UPDATE incidents SET grid_code = (SELECT min(code) FROM grids), village_code = left((SELECT min(code) FROM grids), 12)
		 WHERE id = (SELECT min(id) FROM incidents WHERE completed_at IS NOT NULL)`,
		`INSERT INTO incidents (category, severity, source, status, description, match, grid_code, village_code, assignee_name,
		     reported_at, received_at, due_at, first_due_at, created_by)
		 VALUES ('safety', 'urgent', 'patrol', 'received', '测试', 'code', (SELECT max(code) FROM grids),
		     left((SELECT max(code) FROM grids), 12), '值班员', timestamptz '2026-11-30 23:00+08',
		     timestamptz '2026-11-30 23:00+08', timestamptz '2026-12-01 01:00+08', timestamptz '2026-12-01 01:00+08', 'test')`,
	} {
		tag, err := db.Pool.Exec(ctx, sql)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v, %d rows", sql, err, tag.RowsAffected())
		}
	}
	raw := readRaw(t, db)
	for _, level := range []figures.Level{figures.LevelGrid, figures.LevelPerson, figures.LevelDistrict, figures.LevelDay} {
		tbl, err := db.Figures(ctx, figures.Query{Level: level, Period: period, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(raw, level, period.From, period.To, now)
		if len(tbl.Rows) != len(want) {
			t.Errorf("%s: got %d rows, want %d", level, len(tbl.Rows), len(want))
		}
		for _, got := range tbl.Rows {
			if w, ok := want[got.Key]; ok {
				compareRow(t, got, *w)
			} else {
				t.Errorf("%s: row %q is not in the brute-force count", level, got.Key)
			}
		}
	}
}
