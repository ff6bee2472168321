package pgstore_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// nudged returns mp with every latitude one float64 step north (about
// 3.6e-15° at 27°N, what a GCJ-02 round trip leaves) and every ring
// reversed (clockwise, as a Shapefile has them).
func nudged(mp orb.MultiPolygon) orb.MultiPolygon {
	out := mp.Clone()
	for _, poly := range out {
		for _, ring := range poly {
			for i := range ring {
				ring[i][1] = math.Nextafter(ring[i][1], 90)
			}
			slices.Reverse(ring)
		}
	}
	return out
}

// TestPlan_layerWithinToleranceKeepsTheBase: a layer whose grids differ
// from the base's below geo.GeometryToleranceDeg (and in orientation) is
// unchanged; a vertex moved 1 m is a modification; split parts are stored
// counter-clockwise. With LayerReplaceVillages a layer of village 201
// leaves village 202's grids in the draft.
func TestPlan_layerWithinToleranceKeepsTheBase(t *testing.T) {
	e := newPlanEnv(t)
	town := smallTown()
	var layer []geo.NewPlanGrid
	for _, g := range town.Grids {
		mp := nudged(g.Geometry)
		if g.Code == g3 {
			mp[0][0][1][0] += 1e-5
		}
		layer = append(layer, geo.NewPlanGrid{Code: g.Code, Geometry: mp})
	}
	p, err := e.db.ReplacePlanLayer(e.ctx, e.plan, layer, geo.LayerReplaceAll, "planner-1", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.Unchanged != 3 || p.Summary.Modified != 1 {
		t.Errorf("a layer within the tolerance but one vertex: %+v, want 3 unchanged and 1 modified", p.Summary)
	}
	if got := e.view()[g3].Geometry[0][0]; got.Orientation() != orb.CCW {
		t.Errorf("grid %s, modified from a clockwise ring, is stored clockwise", g3)
	}

	other := e.open()
	p, err = e.db.ReplacePlanLayer(e.ctx, other, layer[:2], geo.LayerReplaceVillages, "planner-1", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.Unchanged != 4 || p.Summary.Retired != 0 {
		t.Errorf("village 201 alone with mode villages: %+v, want 4 unchanged, none retired", p.Summary)
	}
	if _, err := e.db.ReplacePlanLayer(e.ctx, other, layer[:2], "some", "planner-1", e.tick()); errCode(err) != geo.EINVALID {
		t.Errorf("mode some: got %v, want EINVALID", err)
	}

	v, err := e.db.SplitPlanGrid(e.ctx, other, geo.SplitRequest{Code: g4, Line: orb.LineString{{112.035, 26.99}, {112.035, 27.02}}, NewCode: v2 + "003"}, "planner-1", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range v.Grids {
		if g.Geometry[0][0].Orientation() != orb.CCW {
			t.Errorf("grid %s made by a split is stored clockwise", g.Code)
		}
	}
}

// TestPlan_applyNeedsTheCurrentRevision: the tag of a draft changes with
// every edit; apply refuses a tag an edit has left, and a draft that
// changes nothing.
func TestPlan_applyNeedsTheCurrentRevision(t *testing.T) {
	e := newPlanEnv(t)
	if _, err := e.apply(1); errCode(err) != geo.ECONFLICT {
		t.Errorf("apply an unchanged draft: got %v, want ECONFLICT", err)
	}
	name := "甲"
	v, err := e.db.EditPlanGrid(e.ctx, e.plan, g1, geo.PlanGridEdit{Name: &name}, "planner-1", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	reviewed := v.Tag()
	name = "乙"
	if v, err = e.db.EditPlanGrid(e.ctx, e.plan, g2, geo.PlanGridEdit{Name: &name}, "planner-2", e.tick()); err != nil {
		t.Fatal(err)
	}
	if v.Tag() == reviewed {
		t.Fatalf("the tag %v did not change with an edit", reviewed)
	}
	var stale *geo.StaleBaseError
	if _, err := e.db.ApplyPlan(e.ctx, e.plan, reviewed, "planner-1", e.tick()); !errors.As(err, &stale) || stale.Tag != v.Tag() {
		t.Errorf("apply with the tag before the colleague's edit: got %v, want StaleBaseError naming %v", err, v.Tag())
	}
	if _, err := e.db.ApplyPlan(e.ctx, e.plan, v.Tag(), "planner-1", e.tick()); err != nil {
		t.Errorf("apply with the current tag: %v", err)
	}
}
