package pgstore_test

import (
	"context"
	"encoding/csv"
	"testing"

	"wangge/fixtures"
)

// TestLoadDemoYear_visits: the demo year brings its visit and meeting log,
// every line of visits.csv; PostGIS (not the generator's own check) finds
// each point covered by the grid it is recorded in, and in that grid's
// village; the visits that raised an incident link to one of the year in
// the same grid, received after the visit; each person is one of the
// registry's. Loading again adds nothing, and a year loaded before the
// log gets the log alone.
func TestLoadDemoYear_visits(t *testing.T) {
	db := loadDemoYear(t)
	ctx := context.Background()
	f, err := fixtures.OpenDemoYear(fixtures.DemoVisitsFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantVisits, wantLinked := len(recs)-1, 0
	for _, r := range recs[1:] {
		if r[11] != "" {
			wantLinked++
		}
	}
	type counts struct{ visits, linked, households, meetings, people int }
	count := func() (c counts) {
		err := db.Pool.QueryRow(ctx, `SELECT count(*), count(incident_id), coalesce(sum(households), 0),
			count(*) FILTER (WHERE kind <> 'visit'), count(DISTINCT person_id) FROM visits`).
			Scan(&c.visits, &c.linked, &c.households, &c.meetings, &c.people)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	got := count()
	if got.visits != wantVisits || got.linked != wantLinked || got.visits < 3000 {
		t.Fatalf("loaded %+v, want %d visits of which %d linked", got, wantVisits, wantLinked)
	}
	if got.households < 3700 || got.households > 4500 || got.meetings < 39*18 {
		t.Errorf("loaded %+v: want about 4,100 households and 18 meetings a village", got)
	}
	var outside, wrongVillage, badLink, badPerson int
	err = db.Pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE g.code = v.grid_code AND g.retired_generation IS NULL
		                                  AND ST_Covers(g.geom, v.location))),
		count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE g.code = v.grid_code AND g.village_code = v.village_code)),
		count(*) FILTER (WHERE v.incident_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = v.incident_id
		                 AND i.created_by = 'demo-year' AND i.grid_code = v.grid_code AND i.received_at > v.held_at)),
		count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.id = v.person_id AND p.ended_at IS NULL))
		FROM visits v`).Scan(&outside, &wrongVillage, &badLink, &badPerson)
	if err != nil {
		t.Fatal(err)
	}
	if outside+wrongVillage+badLink+badPerson != 0 {
		t.Errorf("%d visits outside their grid, %d in another village, %d badly linked, %d by nobody", outside, wrongVillage, badLink, badPerson)
	}
	// Grid leaders visit: most visitors are people the town file brought.
	var leaders int
	if err := db.Pool.QueryRow(ctx, `SELECT count(DISTINCT v.person_id) FROM visits v
		JOIN assignments a ON a.person_id = v.person_id AND a.role IN ('leader', 'deputy')`).Scan(&leaders); err != nil || leaders < 150 {
		t.Errorf("%d grid leaders and deputies visited (%v), want most of the town's", leaders, err)
	}

	if n, err := db.LoadDemoYear(ctx, demoTownCode, fixtures.OpenDemoYear); err != nil || n != 0 {
		t.Fatalf("second load: %d, %v", n, err)
	}
	if again := count(); again != got {
		t.Errorf("second load: %+v, was %+v", again, got)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM visits`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadDemoYear(ctx, demoTownCode, fixtures.OpenDemoYear); err != nil {
		t.Fatal(err)
	}
	if again := count(); again != got {
		t.Errorf("a year without its log: loaded %+v, want %+v", again, got)
	}
}
