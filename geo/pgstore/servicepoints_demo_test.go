package pgstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/fixtures/towngen"
	"wangge/geo"
	"wangge/geo/townfile"
	"wangge/geo/workcal"
)

// TestDemoServicePoints_loadWithTheDemoTown: the demo town's service
// points and the duty rosters of its demo year are the same on every run,
// load once with the town, and the snapshot then routes the duty desk's
// matters to the rostered cadre (a night shift, a National Day shift).
func TestDemoServicePoints_loadWithTheDemoTown(t *testing.T) {
	db, _ := loadDemo(t)
	ctx := context.Background()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := geo.LoadCatalogue(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	points := towngen.DemoServicePoints(td, towngen.DefaultServicePointSeed)
	shifts := towngen.DemoDutyRoster(td, points, cat.Calendar, towngen.DefaultServicePointSeed)
	if again := towngen.DemoServicePoints(td, towngen.DefaultServicePointSeed); !reflect.DeepEqual(points, again) {
		t.Fatal("the demo service points differ between two runs")
	}
	if again := towngen.DemoDutyRoster(td, points, cat.Calendar, towngen.DefaultServicePointSeed); !reflect.DeepEqual(shifts, again) {
		t.Fatal("the demo duty roster differs between two runs")
	}
	villages := map[string]bool{}
	for _, v := range td.Villages {
		villages[v.Code] = true
	}
	for _, p := range points {
		if p.VillageCode != "" && !villages[p.VillageCode] {
			t.Errorf("%s: no village %s", p.Name, p.VillageCode)
		}
	}
	at := towngen.YearStart
	n, err := db.LoadDemoServicePoints(ctx, td.Town.Code, points, shifts, at)
	if err != nil || n != len(points) || n < 40 {
		t.Fatalf("loading: %d of %d, %v", n, len(points), err)
	}
	if n, err := db.LoadDemoServicePoints(ctx, td.Town.Code, points, shifts, at); err != nil || n != 0 {
		t.Fatalf("loading twice: %d, %v", n, err)
	}
	t.Logf("%d service points, %d shifts in the demo year", len(points), len(shifts))
	night := time.Date(2026, 9, 30, 23, 0, 0, 0, workcal.Zone)
	holiday := time.Date(2026, 10, 1, 23, 0, 0, 0, workcal.Zone)
	// The rosters run a year past the demo year: a demo started then finds
	// the desk on duty, on 2027's statutory days too (除夕 2027 is 5 February).
	later := time.Date(2027, 6, 1, 23, 0, 0, 0, workcal.Zone)
	eve := time.Date(2027, 2, 5, 23, 0, 0, 0, workcal.Zone)
	for _, c := range []struct {
		at    time.Time
		shift string
	}{{night, "夜班"}, {holiday, "节假日值班"}, {later, "夜班"}, {eve, "节假日值班"}} {
		loaded, gen, err := db.LoadArea(ctx, 0, c.at)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := geo.NewSnapshot(gen, loaded, c.at)
		if err != nil {
			t.Fatal(err)
		}
		var want geo.DutyShift
		for _, s := range shifts {
			if s.ServicePointID == 0 && s.Covers(c.at) {
				want = s
			}
		}
		a, ok := snap.Assign(td.Town.Code, nil, geo.LevelTown, c.at)
		if !ok || want.Shift != c.shift || a.Name != want.Name || a.Phone != want.Phone {
			t.Errorf("%s: assigned %+v, want %+v", c.at, a, want)
		}
		if len(snap.Towns[0].ServicePoints) != len(points) {
			t.Errorf("the snapshot holds %d points", len(snap.Towns[0].ServicePoints))
		}
	}
}
