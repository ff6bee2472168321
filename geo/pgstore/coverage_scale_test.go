package pgstore_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
	"wangge/geo/covscale"
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
		if g.Kind != geo.FindInvalid && !covers(g.Area, g.Location) {
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
