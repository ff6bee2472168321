package pgstore_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	town, district      string
	village             string
	grid, item          string
	assignee, phone     string // who the case is with: a person is their name and phone
	escalations         int
	maxLevel            int
	onTime              *bool
	merged              bool
	rating              *string
	// visit, when set, makes this a line of the visit log, not an
	// incident: its place and person are the fields above.
	visit *rawVisit
}

// rawVisit is what the oracle reads of a visit or meeting.
type rawVisit struct {
	held       time.Time
	kind       string
	households int
}

// bruteForce computes a table from raw rows, one loop per figure's
// definition, independently of the store's query.
func bruteForce(raw []rawIncident, level figures.Level, from, to, now time.Time) (map[string]*figures.Row, figures.Row) {
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
		case figures.LevelCounty:
			return r.town[:6]
		case figures.LevelTown:
			return r.town
		case figures.LevelDistrict:
			return r.district
		case figures.LevelVillage:
			return r.village
		case figures.LevelGrid:
			return r.grid
		case figures.LevelPerson:
			if r.assignee == "" && r.phone == "" {
				return ""
			}
			return r.phone + ":" + r.assignee
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
		if v := r.visit; v != nil {
			if level == figures.LevelItem || !in(&v.held) {
				continue // service items have no visits
			}
			g := row(key(r, v.held))
			if v.kind == "visit" {
				g.Visits++
				g.HouseholdsVisited += v.households
			} else {
				g.Meetings++
			}
			continue
		}
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
	var all []float64
	for k, hs := range hours {
		all = append(all, hs...)
		slices.Sort(hs)
		m, p := percentile(hs, 0.5), percentile(hs, 0.9)
		out[k].MedianHours, out[k].P90Hours = &m, &p
	}
	// The total: the sum of the rows, with the median and p90 of all
	// their hours.
	total := figures.Row{Key: "total"}
	if len(all) > 0 {
		slices.Sort(all)
		m, p := percentile(all, 0.5), percentile(all, 0.9)
		total.MedianHours, total.P90Hours = &m, &p
	}
	for _, r := range out {
		total.Accepted += r.Accepted
		total.Completed += r.Completed
		total.OnTime += r.OnTime
		total.OverdueNow += r.OverdueNow
		total.Escalations += r.Escalations
		total.InVillage += r.InVillage
		total.InTown += r.InTown
		total.Rated += r.Rated
		total.Satisfied += r.Satisfied
		total.Unsatisfied += r.Unsatisfied
		total.Visits += r.Visits
		total.HouseholdsVisited += r.HouseholdsVisited
		total.Meetings += r.Meetings
	}
	return out, total
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
		SELECT i.received_at, i.completed_at, i.status, i.due_at, i.town_code,
		       CASE WHEN v.district_code IS NULL THEN '' ELSE v.town_code || v.district_code END, coalesce(i.village_code, ''),
		       coalesce(i.grid_code, ''), i.assignee_name, i.assignee_phone, i.category, i.escalation_count, i.max_level, i.on_time,
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
		if err := rows.Scan(&r.received, &r.completed, &r.status, &r.due, &r.town, &r.district, &r.village, &r.grid, &r.assignee, &r.phone,
			&r.item, &r.escalations, &r.maxLevel, &r.onTime, &r.merged, &r.rating); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The visit log, read plainly: each visit's grid, village, the
	// village's 片区 now, its town and the person who logged it.
	vrows, err := db.Pool.Query(context.Background(), `
		SELECT v.held_at, v.kind, v.households, v.town_code,
		       CASE WHEN vl.district_code IS NULL THEN '' ELSE vl.town_code || vl.district_code END,
		       v.village_code, v.grid_code, p.name, p.phone
		FROM visits v JOIN people p ON p.id = v.person_id LEFT JOIN villages vl ON vl.code = v.village_code`)
	if err != nil {
		t.Fatal(err)
	}
	defer vrows.Close()
	for vrows.Next() {
		r := rawIncident{visit: &rawVisit{}}
		if err := vrows.Scan(&r.visit.held, &r.visit.kind, &r.visit.households, &r.town, &r.district, &r.village, &r.grid,
			&r.assignee, &r.phone); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := vrows.Err(); err != nil {
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
	var merged, escalated, late, unsatisfied, rejected, open, visits, meetings int
	for _, r := range raw {
		if r.visit != nil {
			if r.visit.kind == "visit" {
				visits++
			} else {
				meetings++
			}
			continue
		}
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
		"rejected": rejected, "open": open, "visit": visits, "meeting": meetings} {
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
				want, wantTotal := bruteForce(raw, level, period.From, period.To, now)
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
				compareRow(t, tbl.Total, wantTotal)
				// The medians are PostgreSQL's percentile_cont over the
				// hours as the rollup computes them, to the bit.
				if col, ok := exactColumn[level]; ok {
					exact := exactPercentiles(t, db, col, period)
					for _, got := range append(tbl.Rows, tbl.Total) {
						key := got.Key
						if got.Key == "total" {
							key = "(total)"
						}
						w := exact[key]
						if !same(got.MedianHours, w[0]) || !same(got.P90Hours, w[1]) {
							t.Errorf("row %q: median, p90 %v %v, percentile_cont %v %v", got.Key,
								deref(got.MedianHours), deref(got.P90Hours), deref(w[0]), deref(w[1]))
						}
					}
				}
				if !slices.IsSortedFunc(tbl.Rows, func(a, b figures.Row) int { return cmp.Compare(a.Key, b.Key) }) {
					t.Error("rows are not in key order")
				}
			})
		}
	}
	// The year was read from whole months (those that ended more than a
	// month before the clock) and the days of the others.
	var months int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM figures_months_built WHERE month < '2026-11-01'`).Scan(&months); err != nil || months < 10 {
		t.Errorf("%d months of the demo year built (%v), want its first 11", months, err)
	}
}

// personKeySQL is how the oracle writes a person's key (the store's
// figures_person_key, written out again): phone, a colon, name.
const personKeySQL = "CASE WHEN assignee_name = '' AND assignee_phone = '' THEN '' ELSE assignee_phone || ':' || assignee_name END"

// exactColumn is, by level, the incidents' column a table groups by.
var exactColumn = map[figures.Level]string{
	figures.LevelCounty: "left(town_code, 6)", figures.LevelTown: "town_code", figures.LevelVillage: "coalesce(village_code, '')",
	figures.LevelGrid: "coalesce(grid_code, '')", figures.LevelPerson: personKeySQL, figures.LevelItem: "category",
}

// exactPercentiles is the median and p90 of the hours to close of the
// incidents completed in period, by col and (key "(total)") in all,
// from percentile_cont.
func exactPercentiles(t *testing.T, db *pgstore.DB, col string, period figures.Period) map[string][2]*float64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		SELECT coalesce(`+col+`, '(total)'),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY h), percentile_cont(0.9) WITHIN GROUP (ORDER BY h)
		FROM (SELECT *, extract(epoch FROM completed_at - received_at)::float8 / 3600 AS h FROM incidents
		      WHERE completed_at >= $1 AND completed_at < $2) i
		GROUP BY GROUPING SETS ((`+col+`), ())`, period.From, period.To)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]*float64{}
	var key string
	var m, p *float64
	_, err = pgx.ForEachRow(rows, []any{&key, &m, &p}, func() error { out[key] = [2]*float64{m, p}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func same(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func compareRow(t *testing.T, got, want figures.Row) {
	t.Helper()
	ints := func(r figures.Row) []int {
		return []int{r.Accepted, r.Completed, r.OnTime, r.OverdueNow, r.Escalations, r.InVillage, r.InTown, r.Rated, r.Satisfied, r.Unsatisfied}
	}
	if g, w := ints(got), ints(want); !slices.Equal(g, w) {
		t.Errorf("row %q: got %v, want %v (accepted, completed, on time, overdue, escalations, in village, in town, rated, satisfied, unsatisfied)", got.Key, g, w)
	}
	if g, w := [3]int{got.Visits, got.HouseholdsVisited, got.Meetings}, [3]int{want.Visits, want.HouseholdsVisited, want.Meetings}; g != w {
		t.Errorf("row %q: visits, households, meetings got %v, want %v", got.Key, g, w)
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
		// A namesake with another phone takes a case: two rows of one name.
		`UPDATE incidents SET assignee_phone = '13900000077'
		 WHERE id = (SELECT min(id) FROM incidents WHERE status = 'closed' AND assignee_phone <> '13900000077'
		             AND received_at > timestamptz '2026-07-15 00:00+08')`,
		// Only the due time moves (a limit extended): overdue now follows.
		`UPDATE incidents SET due_at = timestamptz '2026-12-10 00:00+08'
		 WHERE id = (SELECT max(id) FROM incidents WHERE status IN ('received', 'dispatched', 'accepted', 'reopened')
		             AND due_at < timestamptz '2026-11-01 00:00+08')`,
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
	for _, level := range []figures.Level{figures.LevelGrid, figures.LevelPerson, figures.LevelDistrict, figures.LevelDay, figures.LevelTown} {
		tbl, err := db.Figures(ctx, figures.Query{Level: level, Period: period, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		want, wantTotal := bruteForce(raw, level, period.From, period.To, now)
		compareRow(t, tbl.Total, wantTotal)
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
		if level == figures.LevelPerson {
			// The namesake is a row of their own, under the same name.
			var names []string
			for _, got := range tbl.Rows {
				if strings.HasPrefix(got.Key, "13900000077:") {
					names = append(names, got.Name)
				}
			}
			if len(names) != 1 || !slices.ContainsFunc(tbl.Rows, func(r figures.Row) bool {
				return r.Name == names[0] && !strings.HasPrefix(r.Key, "13900000077:")
			}) {
				t.Errorf("person rows: the namesake's %v, want one row named as another person's", names)
			}
		}
	}
}

// TestFigures_townsRollUp: with incidents of three towns in two counties
// (the demo town, a second town of its county, a town of the next county),
// the town and county tables agree with the brute-force count, and a
// county's row is the sum of its towns' rows, its median and p90 those of
// all its towns' hours.
func TestFigures_townsRollUp(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)
	for _, sql := range []string{
		`INSERT INTO towns (code, name, county, province, note, outline)
		 SELECT '431321102', '第二镇', county, province, '', ST_Translate(outline, 0.2, 0) FROM towns WHERE code = '431321101'
		 UNION ALL
		 SELECT '431322101', '邻县一镇', '邻县', province, '', ST_Translate(outline, 0.4, 0) FROM towns WHERE code = '431321101'`,
		// A third of the demo year again in each other town, as they
		// would be written (outside every grid of this database).
		`INSERT INTO incidents (category, severity, source, status, description, match, assignee_name, reported_at, received_at,
		     due_at, first_due_at, escalation_count, max_level, completed_at, on_time, created_by, town_code)
		 SELECT category, severity, source, status, description, 'outside', assignee_name, reported_at, received_at + interval '7 hours',
		     due_at + interval '7 hours', first_due_at, escalation_count, max_level, completed_at + (id % 97) * interval '13 minutes',
		     on_time, 'test', CASE WHEN id % 2 = 0 THEN '431321102' ELSE '431322101' END
		 FROM incidents WHERE id % 3 = 0 AND status <> 'merged'`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	raw := readRaw(t, db)
	towns := map[string]bool{}
	for _, r := range raw {
		towns[r.town] = true
	}
	if len(towns) != 3 {
		t.Fatalf("incidents of towns %v, want 3", towns)
	}
	for _, ps := range []struct{ spec, from, to string }{{"", "2025-12-01", "2026-11-30"}, {"2026-07", "", ""}} {
		period, err := figures.ParsePeriod(ps.spec, ps.from, ps.to, now)
		if err != nil {
			t.Fatal(err)
		}
		tables := map[figures.Level]*figures.Table{}
		for _, level := range []figures.Level{figures.LevelCounty, figures.LevelTown} {
			tbl, err := db.Figures(ctx, figures.Query{Level: level, Period: period, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			tables[level] = tbl
			want, wantTotal := bruteForce(raw, level, period.From, period.To, now)
			if len(tbl.Rows) != len(want) {
				t.Errorf("%s %s: got %d rows, want %d", period.Spec, level, len(tbl.Rows), len(want))
			}
			exact := exactPercentiles(t, db, exactColumn[level], period)
			for _, got := range tbl.Rows {
				w, ok := want[got.Key]
				if !ok {
					t.Errorf("%s %s: row %q is not in the brute-force count", period.Spec, level, got.Key)
					continue
				}
				compareRow(t, got, *w)
				if e := exact[got.Key]; !same(got.MedianHours, e[0]) || !same(got.P90Hours, e[1]) {
					t.Errorf("%s %s: row %q median, p90 %v %v, percentile_cont %v %v", period.Spec, level, got.Key,
						deref(got.MedianHours), deref(got.P90Hours), deref(e[0]), deref(e[1]))
				}
			}
			compareRow(t, tbl.Total, wantTotal)
		}
		if got := len(tables[figures.LevelCounty].Rows); got != 2 {
			t.Fatalf("%s: %d counties, want 2", period.Spec, got)
		}
		// Each county is the sum of its towns.
		for _, c := range tables[figures.LevelCounty].Rows {
			var sum figures.Row
			var ntowns int
			for _, tw := range tables[figures.LevelTown].Rows {
				if tw.Key[:6] != c.Key {
					continue
				}
				ntowns++
				if tw.Parent != c.Name {
					t.Errorf("town %q (%s) lies in %q, want its county %q", tw.Key, tw.Name, tw.Parent, c.Name)
				}
				sum.Accepted += tw.Accepted
				sum.Completed += tw.Completed
				sum.OnTime += tw.OnTime
				sum.OverdueNow += tw.OverdueNow
				sum.Escalations += tw.Escalations
				sum.InVillage += tw.InVillage
				sum.InTown += tw.InTown
				sum.Rated += tw.Rated
				sum.Satisfied += tw.Satisfied
				sum.Unsatisfied += tw.Unsatisfied
				sum.Visits += tw.Visits
				sum.HouseholdsVisited += tw.HouseholdsVisited
				sum.Meetings += tw.Meetings
			}
			sum.Key, sum.MedianHours, sum.P90Hours = c.Key, c.MedianHours, c.P90Hours
			compareRow(t, c, sum)
			if want := map[string]int{"431321": 2, "431322": 1}[c.Key]; ntowns != want {
				t.Errorf("county %q has %d towns, want %d", c.Key, ntowns, want)
			}
		}
		names := map[string]string{}
		for _, r := range tables[figures.LevelTown].Rows {
			names[r.Key] = r.Name
		}
		if names["431321102"] != "第二镇" || names["431322101"] != "邻县一镇" {
			t.Errorf("town names %v", names)
		}
	}
}

// TestFigures_concurrentWrites: while incidents keep arriving, every table
// counts a state the database was in during the call: its accepted and
// overdue-now totals lie between the counts taken just before and just
// after it (a write landing between the refresh and the read makes the
// store refresh again).
func TestFigures_concurrentWrites(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)
	period, err := figures.ParsePeriod("", "2025-12-01", "2026-11-30", now)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (accepted, overdue int) {
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> 'merged'),
			count(*) FILTER (WHERE status IN ('received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened') AND due_at < $3)
			FROM incidents WHERE received_at >= $1 AND received_at < $2`, period.From, period.To, now).Scan(&accepted, &overdue)
		if err != nil {
			t.Error(err)
		}
		return accepted, overdue
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for wctx.Err() == nil {
			// Open and overdue, received on one of the period's last
			// 20 days (a month not summed whole yet: each refresh is quick).
			_, err := db.Pool.Exec(wctx, `INSERT INTO incidents (category, severity, source, status, description, match, assignee_name,
				    reported_at, received_at, due_at, first_due_at, created_by)
				VALUES ('safety', 'minor', 'patrol', 'received', '并发测试', 'outside', '值班员', $1::timestamptz, $1::timestamptz,
				    $1::timestamptz + interval '1 day', $1::timestamptz + interval '1 day', 'test')`,
				period.To.Add(-time.Duration(n%20+1)*24*time.Hour+time.Hour))
			if err != nil {
				if wctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			n++
		}
	}()
	for i := 0; i < 15; i++ {
		a0, o0 := count()
		tbl, err := db.Figures(ctx, figures.Query{Level: figures.LevelTown, Period: period, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		a1, o1 := count()
		if got := tbl.Total.Accepted; got < a0 || got > a1 {
			t.Errorf("table %d: accepted %d, the database held %d before and %d after", i, got, a0, a1)
		}
		if got := tbl.Total.OverdueNow; got < o0 || got > o1 {
			t.Errorf("table %d: overdue now %d, the database held %d before and %d after", i, got, o0, o1)
		}
	}
	stop()
	if n := <-done; n < 15 {
		t.Errorf("only %d incidents written while the tables were read", n)
	}
}
