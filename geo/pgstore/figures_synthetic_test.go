package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/geo/figures"
)

// TestAddSyntheticYear_visits: the benchmark's synthetic year logs n/5
// visits and meetings, each by its grid's leader at a point inside the
// grid (PostGIS), and the year's 考核 table counts them as a plain SQL
// count does.
func TestAddSyntheticYear_visits(t *testing.T) {
	db, _ := loadDemo(t)
	ctx := context.Background()
	const n = 5000
	if err := db.AddSyntheticYear(ctx, n); err != nil {
		t.Fatal(err)
	}
	var entries, visits, households, meetings, outside, notLeader int
	if err := db.Pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE v.kind = 'visit'), coalesce(sum(v.households) FILTER (WHERE v.kind = 'visit'), 0),
		       count(*) FILTER (WHERE v.kind <> 'visit'),
		       count(*) FILTER (WHERE NOT ST_Covers(g.geom, v.location)),
		       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.grid_code = v.grid_code
		                                          AND a.role = 'leader' AND a.person_id = v.person_id))
		FROM visits v JOIN grids g ON g.code = v.grid_code AND g.retired_generation IS NULL
		WHERE v.created_by = 'synthetic'`).Scan(&entries, &visits, &households, &meetings, &outside, &notLeader); err != nil {
		t.Fatal(err)
	}
	if entries != n/5 || visits == 0 || meetings == 0 || outside != 0 || notLeader != 0 {
		t.Fatalf("%d entries (want %d): %d visits, %d meetings; %d outside their grid, %d not by its leader",
			entries, n/5, visits, meetings, outside, notLeader)
	}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)
	period, err := figures.ParsePeriod("", "2025-12-01", "2026-11-30", now)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := db.Figures(ctx, figures.Query{Level: figures.LevelTown, Period: period, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Total.Visits != visits || tab.Total.HouseholdsVisited != households || tab.Total.Meetings != meetings {
		t.Errorf("the year's table counts %d visits, %d households, %d meetings; SQL: %d, %d, %d",
			tab.Total.Visits, tab.Total.HouseholdsVisited, tab.Total.Meetings, visits, households, meetings)
	}
}
