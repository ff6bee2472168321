package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
	"wangge/geo/coverage"
	"wangge/geo/covscale"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestCheckNextInGo_agreesWithPostGIS: on a generated layer of 1,200 grids
// with injected overlaps, gaps, invalid grids, parts outside villages and
// outside the outline (covscale.Generated), the coverage checks with the
// overlays in Go find what checkNext finds in PostGIS: the same findings
// in the same order, with the same words, areas within 0.01 m² + 5e-5 of
// the area, and every location inside its part (the villages of a gap
// may be fewer: see sameFindings). CheckCoverage (the same
// checks on a TownData, without staging next_*) finds them too.
func TestCheckNextInGo_agreesWithPostGIS(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := covscale.Generated(40, 30)
	pg, inGo, err := db.CheckBothWays(ctx, td)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := db.CheckCoverage(ctx, td)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[geo.FindingKind]int{}
	for _, f := range pg {
		kinds[f.Kind]++
	}
	t.Logf("PostGIS: %v", kinds)
	for _, k := range []geo.FindingKind{geo.FindInvalid, geo.FindOverlap, geo.FindVillageCrossing, geo.FindGap, geo.FindOutsideTown} {
		if kinds[k] == 0 {
			t.Errorf("PostGIS found no %s: the layer does not exercise it", k)
		}
	}
	sameFindings(t, "checkNextInGo", inGo, pg)
	sameFindings(t, "CheckCoverage", direct, pg)

	// The import runs the overlays in Go (and, in this package's tests,
	// compares them with PostGIS: pgstore.CrossChecked): it refuses the
	// layer with one problem per finding of PostGIS, in the same order,
	// plus the town borders (none: it is the only town).
	before := pgstore.CrossChecked()
	_, err = db.ImportTown(ctx, td, "test", "")
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID {
		t.Fatalf("import of the generated layer: %v, want EINVALID", err)
	}
	if pgstore.CrossChecked() != before+1 {
		t.Errorf("the import's overlays were compared with PostGIS %d times, want 1", pgstore.CrossChecked()-before)
	}
	if len(ge.Problems) != len(pg) {
		t.Errorf("the import names %d problems, PostGIS finds %d", len(ge.Problems), len(pg))
	}
	for i := range min(len(ge.Problems), len(pg)) {
		p, f := ge.Problems[i], pg[i]
		if f.Kind == geo.FindInvalid && (p.Reason != f.Reason || p.Location[0] != f.Location[0] || p.Location[1] != f.Location[1]) {
			t.Errorf("problem %d: %q at %v, PostGIS %q at %v", i, p.Reason, p.Location, f.Reason, f.Location)
		}
		if (f.Kind == geo.FindOverlap || f.Kind == geo.FindVillageCrossing) && !strings.HasSuffix(p.Where, strings.Join(f.Codes, " and ")) {
			t.Errorf("problem %d in %q, PostGIS's finding is of %v", i, p.Where, f.Codes)
		}
	}
}

func sameFindings(t *testing.T, name string, got, want []geo.Finding) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d findings, PostGIS %d", name, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		gk := fmt.Sprint(g.Kind, g.Layer, g.Codes)
		wk := fmt.Sprint(w.Kind, w.Layer, w.Codes)
		// The villages of a gap: PostGIS also names a village whose
		// outline only runs along the gap, when its overlay's rounding
		// makes their interiors meet; ours must be among its.
		sameVillages := slices.Equal(g.Villages, w.Villages)
		for _, v := range g.Villages {
			if !slices.Contains(w.Villages, v) {
				t.Errorf("%s: finding %d: village %s of %v is not among PostGIS's %v", name, i, v, g.Villages, w.Villages)
			}
		}
		if len(g.Villages) == 0 && len(w.Villages) > 0 {
			t.Errorf("%s: finding %d: no villages, PostGIS %v", name, i, w.Villages)
		}
		if gk != wk || math.Abs(g.AreaM2-w.AreaM2) > 0.01+5e-5*w.AreaM2 {
			t.Errorf("%s: finding %d: got %s %.3f m², PostGIS %s %.3f m²", name, i, gk, g.AreaM2, wk, w.AreaM2)
			continue
		}
		if g.Kind == geo.FindInvalid && (g.Reason != w.Reason || g.Location != w.Location) {
			t.Errorf("%s: finding %d: got %q at %v, PostGIS %q at %v", name, i, g.Reason, g.Location, w.Reason, w.Location)
		}
		// Reasons carry areas to 0.01 m²: compare their words only.
		if sameVillages && stripNumbers(g.Reason) != stripNumbers(w.Reason) {
			t.Errorf("%s: finding %d: got %q, PostGIS %q", name, i, g.Reason, w.Reason)
		}
		if g.Kind != geo.FindInvalid && w.Area != nil && !covers(g.Area, g.Location) {
			t.Errorf("%s: finding %d (%s): location %v is not inside its part", name, i, gk, g.Location)
		}
	}
}

func stripNumbers(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' {
			return -1
		}
		return r
	}, s)
}

// covers says whether p is inside mp (planar, in lon/lat).
func covers(mp orb.MultiPolygon, p orb.Point) bool {
	return planar.MultiPolygonContains(mp, p)
}

// TestDecideDoubts: the overlays Go leaves in doubt (coverage.Doubt) are
// decided by PostGIS on the two geometries: an overlap over the tolerance
// and a grid's part outside its village are found, worded as the PostGIS
// checks word them, with their areas; a pair that only touches is not;
// and the findings fall in check_overlaps' and check_outside_village's
// order among those Go found.
func TestDecideDoubts(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	sq := func(x0, y0, x1, y1 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
	}
	l := &coverage.Layer{
		Villages: []coverage.Feature{{Code: "431321101201", Geometry: sq(112, 27, 112.01, 27.01)}},
		Grids: []coverage.Feature{
			{Code: "431321101201002", Village: "431321101201", Geometry: sq(112, 27, 112.005, 27.01)},
			// Overlaps 002 by 0.0001° of longitude, and pokes out of the village.
			{Code: "431321101201001", Village: "431321101201", Geometry: sq(112.0049, 27, 112.0101, 27.01)},
			{Code: "431321101201003", Village: "431321101201", Geometry: sq(112.005, 27.01, 112.01, 27.02)},
		},
	}
	doubts := []coverage.Doubt{
		{Kind: geo.FindOverlap, Layer: "grid", A: 0, B: 1},
		{Kind: geo.FindOverlap, Layer: "grid", A: 1, B: 2}, // they touch along a line: nothing
		{Kind: geo.FindVillageCrossing, Layer: "grid", A: 1, B: 0},
	}
	given := []geo.Finding{
		{Kind: geo.FindOverlap, Layer: "grid", Codes: []string{"431321101201000", "431321101201009"}},
		{Kind: geo.FindOverlap, Layer: "village", Codes: []string{"431321101201", "431321101202"}},
		{Kind: geo.FindGap, Layer: "grid"},
	}
	got, err := db.DecideDoubts(context.Background(), l, doubts, given)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, f := range got {
		order = append(order, fmt.Sprint(f.Kind, f.Layer, f.Codes))
	}
	want := []string{
		"overlapgrid[431321101201000 431321101201009]", "overlapgrid[431321101201001 431321101201002]",
		"overlapvillage[431321101201 431321101202]", "village_crossinggrid[431321101201001]", "gapgrid[]",
	}
	if !slices.Equal(order, want) {
		t.Fatalf("findings %v, want %v", order, want)
	}
	// The areas, against planar areas scaled at 27° N (within 0.5%).
	mPerDegLon, mPerDegLat := 111320*math.Cos(27.005*math.Pi/180), 110574.0
	for i, wantM2 := range map[int]float64{1: 0.0001 * 0.01 * mPerDegLon * mPerDegLat, 3: 0.0001 * 0.01 * mPerDegLon * mPerDegLat} {
		f := got[i]
		if math.Abs(f.AreaM2-wantM2) > 0.005*wantM2 || !strings.Contains(f.Reason, fmt.Sprintf("%.2f m²", f.AreaM2)) ||
			len(f.Area) == 0 || !covers(f.Area, f.Location) {
			t.Errorf("%s: %.2f m² (want about %.2f), location %v in %v", f.Reason, f.AreaM2, wantM2, f.Location, f.Area)
		}
	}
	if got[3].Villages[0] != "431321101201" {
		t.Errorf("the crossing names village %v", got[3].Villages)
	}
}

// TestCheckNextInGo_planChecksAgreeWithPostGIS: the checks a draft and the
// coverage report add to an import's (slivers, grids whose households are
// out of range, villages their own grids do not tile), in Go over the
// layer, find what PostGIS finds on the same staged layer (check_slivers,
// check_households, check_village_tiling): the same findings in the same
// order, areas and mean widths within 0.01 + 5e-5, the households, every
// part's location inside it and a grid's location at PostGIS's
// ST_PointOnSurface (within 1e-9°). The layer is covscale.Generated with households
// spread over 0..399, and a mean width threshold that makes some of its
// jittered grids (about 1 km across) slivers.
func TestCheckNextInGo_planChecksAgreeWithPostGIS(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := covscale.Generated(30, 20)
	for i := range td.Grids {
		td.Grids[i].Households = (i * 37) % 400
	}
	o := geo.ValidationOptions{SliverM2: 800_000, SliverWidthM: 480, HouseholdsMin: 30, HouseholdsMax: 300}
	pg, inGo, err := db.CheckBothWaysWith(ctx, td, &o, true)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[geo.FindingKind]int{}
	for _, f := range pg {
		kinds[f.Kind]++
	}
	t.Logf("PostGIS: %v", kinds)
	for _, k := range []geo.FindingKind{geo.FindSliver, geo.FindHouseholds, geo.FindVillageNotTiled, geo.FindOverlap, geo.FindGap} {
		if kinds[k] == 0 {
			t.Errorf("PostGIS found no %s: the layer does not exercise it", k)
		}
	}
	if kinds[geo.FindSliver] > len(td.Grids)/2 {
		t.Errorf("%d slivers of %d grids: the threshold does not tell grids apart", kinds[geo.FindSliver], len(td.Grids))
	}
	sameFindings(t, "checkNextInGo", inGo, pg)
	for i := range min(len(inGo), len(pg)) {
		g, w := inGo[i], pg[i]
		if math.Abs(g.WidthM-w.WidthM) > 0.01+5e-5*w.WidthM || g.Value != w.Value {
			t.Errorf("finding %d (%s %v): width %.3f m, households %d; PostGIS %.3f m, %d", i, g.Kind, g.Codes, g.WidthM, g.Value, w.WidthM, w.Value)
		}
		if w.Kind == geo.FindHouseholds && (math.Abs(g.Location[0]-w.Location[0]) > 1e-9 || math.Abs(g.Location[1]-w.Location[1]) > 1e-9) {
			t.Errorf("finding %d (%s %v): at %v, PostGIS at %v", i, g.Kind, g.Codes, g.Location, w.Location)
		}
	}
}

// TestCheckNextInGo_villageDoubtsDecidedByPostGIS: on covscale.Generated's
// county of 5,000 grids with every grid made valid beforehand (as the
// registry holds them), the doubled grids (two overlapping copies merged)
// have vertices at rounded crossing points on their neighbours' edges,
// and the pieces of their villages' tiling do not close into rings in Go:
// those villages are decided in PostGIS. The village tiling then names
// the villages PostGIS names, with its areas, villages 001 and 003 (whose
// doubled grids stick out of them) among them.
func TestCheckNextInGo_villageDoubtsDecidedByPostGIS(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := covscale.Generated(100, 50)
	for i, g := range td.Grids {
		td.Grids[i].Geometry = coverage.Union([]orb.MultiPolygon{g.Geometry})
	}
	pg, inGo, err := db.CheckBothWaysWith(ctx, td, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	sameFindings(t, "checkNextInGo", inGo, pg)
	tiled := map[string]bool{}
	for _, f := range inGo {
		if f.Kind == geo.FindVillageNotTiled {
			tiled[f.Codes[0]] = true
		}
	}
	if !tiled["430000001001"] || !tiled["430000001003"] || len(tiled) < 80 {
		t.Errorf("villages not tiled: %d, 001 %v, 003 %v; want 001 and 003 among them", len(tiled), tiled["430000001001"], tiled["430000001003"])
	}
}
