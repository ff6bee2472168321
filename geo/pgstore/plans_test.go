package pgstore_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// The grids of smallTown (see town_test.go):
//
//	27.01 +-----+-----+-----+-----+
//	      | G1  | G2  | G3  | G4  |
//	27.00 +-----+-----+-----+-----+
//	   112.00 112.01 112.02 112.03 112.04
//	      village 201 | village 202
const (
	g1 = "431321101201001"
	g2 = "431321101201002"
	g3 = "431321101202001"
	g4 = "431321101202002"
	v1 = "431321101201"
	v2 = "431321101202"
)

// planEnv is smallTown in a fresh database with a draft opened on it, and
// a clock after the import.
type planEnv struct {
	t    *testing.T
	db   *pgstore.DB
	ctx  context.Context
	now  time.Time
	plan int64
}

func newPlanEnv(t *testing.T) *planEnv {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	e := &planEnv{t: t, db: db, ctx: context.Background()}
	if _, err := db.ImportTown(e.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	e.now = time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	e.plan = e.open()
	return e
}

// open opens a draft on the current generation.
func (e *planEnv) open() int64 {
	e.t.Helper()
	p, err := e.db.CreatePlan(e.ctx, geo.NewPlan{Note: "test"}, "planner-1", e.tick())
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// tick moves the clock a second on and returns it.
func (e *planEnv) tick() time.Time {
	e.now = e.now.Add(time.Second)
	return e.now
}

func (e *planEnv) edit(code string, mp orb.MultiPolygon) {
	e.t.Helper()
	if _, err := e.db.EditPlanGrid(e.ctx, e.plan, code, geo.PlanGridEdit{Geometry: mp}, "planner-1", e.tick()); err != nil {
		e.t.Fatalf("editing %s: %v", code, err)
	}
}

func (e *planEnv) validate() *geo.ValidationReport {
	e.t.Helper()
	r, err := e.db.ValidatePlan(e.ctx, e.plan, geo.DefaultValidationOptions(), e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *planEnv) view() map[string]geo.PlanGrid {
	e.t.Helper()
	v, err := e.db.Plan(e.ctx, e.plan, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]geo.PlanGrid{}
	for _, g := range v.Grids {
		out[g.Code] = g
	}
	return out
}

// apply applies the draft with If-Match naming generation ifMatch at the
// draft's current revision.
func (e *planEnv) apply(ifMatch int64) (*geo.Plan, error) {
	return e.db.ApplyPlan(e.ctx, e.plan, geo.PlanTag{Generation: ifMatch, Revision: e.revision(e.plan)}, "planner-1", e.tick())
}

// revision reads plan id's revision.
func (e *planEnv) revision(id int64) int {
	e.t.Helper()
	v, err := e.db.Plan(e.ctx, id, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Revision
}

// findings returns the findings of kind k.
func findings(r *geo.ValidationReport, k geo.FindingKind) []geo.Finding {
	var out []geo.Finding
	for _, f := range r.Findings {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func errCode(err error) string { return geo.ErrorCode(err) }

func TestPlan_draftCopiesTheCurrentGeneration(t *testing.T) {
	e := newPlanEnv(t)
	v, err := e.db.Plan(e.ctx, e.plan, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if v.BaseGeneration != 1 || v.Status != geo.PlanDraft || len(v.Grids) != 4 || v.Summary.Unchanged != 4 {
		t.Fatalf("new draft: base %d, status %s, %d grids, summary %+v", v.BaseGeneration, v.Status, len(v.Grids), v.Summary)
	}
	if v.Grids[0].Leader == nil || v.Grids[0].Leader.Name == "" || v.Grids[0].Change != geo.GridUnchanged {
		t.Errorf("grid %s: leader %v, change %s", v.Grids[0].Code, v.Grids[0].Leader, v.Grids[0].Change)
	}
	r := e.validate()
	if b, w := r.Count(); b != 0 || w != 0 {
		t.Errorf("the imported town should validate clean, got %+v", r.Findings)
	}
	if _, err := e.db.Plan(e.ctx, 999, e.now); errCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown plan: got %v, want ENOTFOUND", err)
	}
	plans, err := e.db.Plans(e.ctx, geo.PlanDraft, "")
	if err != nil || len(plans) != 1 || plans[0].ID != e.plan || plans[0].Summary.Unchanged != 4 {
		t.Errorf("Plans: %+v, %v", plans, err)
	}
}

func TestPlan_edits(t *testing.T) {
	e := newPlanEnv(t)
	// Move the border between G1 and G2 east by 0.002°.
	e.edit(g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(g2, rect(112.012, 27.00, 112.02, 27.01))
	name := "新名字"
	hh := 77
	if _, err := e.db.EditPlanGrid(e.ctx, e.plan, g4, geo.PlanGridEdit{Name: &name, Households: &hh}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.EditPlanGrid(e.ctx, e.plan, "431321101201009", geo.PlanGridEdit{Name: &name}, "planner-1", e.tick()); errCode(err) != geo.ENOTFOUND {
		t.Errorf("editing a grid not in the draft: got %v, want ENOTFOUND", err)
	}

	// Split G3 north/south: two parts, counts by area.
	line := orb.LineString{{112.019, 27.004}, {112.031, 27.004}}
	v, err := e.db.SplitPlanGrid(e.ctx, e.plan, geo.SplitRequest{Code: g3, Line: line, NewCode: "431321101202003"}, "planner-1", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Grids) != 2 || v.Grids[0].Households+v.Grids[1].Households != 50 || v.Grids[0].Households != 30 || v.Grids[1].Households != 20 {
		t.Errorf("split: %+v", v.Grids)
	}
	if v.Grids[1].Change != geo.GridAdded || v.Grids[1].Name != "网格（拆分）" || !slices.Equal(v.Grids[1].DerivedFrom, []string{g3}) {
		t.Errorf("new part: %+v", v.Grids[1])
	}
	for _, bad := range []struct {
		name string
		r    geo.SplitRequest
		want string
	}{
		{"line inside the grid", geo.SplitRequest{Code: g4, Line: orb.LineString{{112.032, 27.004}, {112.038, 27.004}}, NewCode: "431321101202009"}, "does not cut"},
		{"line crossing twice", geo.SplitRequest{Code: g4, Line: orb.LineString{{112.029, 27.003}, {112.041, 27.003}, {112.041, 27.006}, {112.029, 27.006}}, NewCode: "431321101202009"}, "into 3 parts"},
		{"new code of another village", geo.SplitRequest{Code: g4, Line: line, NewCode: "431321101201009"}, "village"},
		{"code taken", geo.SplitRequest{Code: g4, Line: orb.LineString{{112.029, 27.004}, {112.041, 27.004}}, NewCode: g3}, "taken"},
	} {
		_, err := e.db.SplitPlanGrid(e.ctx, e.plan, bad.r, "planner-1", e.tick())
		if err == nil || !strings.Contains(geo.ErrorMessage(err), bad.want) {
			t.Errorf("%s: got %v, want an error saying %q", bad.name, err, bad.want)
		}
	}

	// Merge the two halves of G3 back: adjacent, one village.
	if _, err := e.db.MergePlanGrids(e.ctx, e.plan, geo.MergeRequest{Codes: []string{g3, "431321101202003"}, Into: g3}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.MergePlanGrids(e.ctx, e.plan, geo.MergeRequest{Codes: []string{g1, g3}, Into: g1}, "planner-1", e.tick()); err == nil {
		t.Error("merging grids of two villages should fail")
	}
	// Move G2 to village 202 as 202005; the village outlines follow.
	if _, err := e.db.MovePlanGrid(e.ctx, e.plan, geo.MoveRequest{Code: g2, Village: v2, NewCode: "431321101202005"}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.SetPlanLeader(e.ctx, e.plan, g4, geo.Contact{Name: "新网格长", Phone: "13907380000"}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddPlanGrid(e.ctx, e.plan, geo.NewPlanGrid{Code: g1, Name: "x", Geometry: rect(112, 27, 112.001, 27.001)}, "planner-1", e.tick()); errCode(err) != geo.ECONFLICT {
		t.Errorf("adding an existing code: got %v, want ECONFLICT", err)
	}
	grids := e.view()
	// G3, split and merged back, has the cut's vertices on its border: it
	// is modified, with its counts added up again.
	want := map[string]geo.GridChange{g1: geo.GridModified, g2: geo.GridRetired, "431321101202005": geo.GridAdded, g3: geo.GridModified, g4: geo.GridModified}
	for code, c := range want {
		if grids[code].Change != c {
			t.Errorf("%s: change %s, want %s", code, grids[code].Change, c)
		}
	}
	if l := grids["431321101202005"].Leader; l == nil || l.Name != "曾12" {
		t.Errorf("the moved grid should keep its leader, got %+v", l)
	}
	if l := grids[g4].Leader; l == nil || l.Name != "新网格长" || !grids[g4].LeaderAppointed {
		t.Errorf("appointed leader of %s: %+v", g4, grids[g4])
	}
	if b, _ := e.validate().Count(); b != 0 {
		t.Errorf("after the edits: %+v", e.validate().Findings)
	}

	// Apply: a new generation with the border moved, the moved grid under
	// its new code and village, the new leader in office.
	p, err := e.apply(1)
	if err != nil {
		t.Fatal(err)
	}
	if p.AppliedGeneration != 2 || p.Status != geo.PlanApplied {
		t.Fatalf("applied: %+v", p)
	}
	td, gen, err := e.db.LoadArea(e.ctx, 0, e.tick())
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]geo.GridRecord{}
	for _, g := range td.Grids {
		codes[g.Code] = g
	}
	if gen != 2 || len(td.Grids) != 4 || codes["431321101202005"].VillageCode != v2 || codes[g4].Leader.Name != "新网格长" {
		t.Errorf("generation %d: %d grids, moved %+v, leader %+v", gen, len(td.Grids), codes["431321101202005"].Grid, codes[g4].Leader)
	}
	if c := codes["431321101202005"]; c.Leader == nil || c.Leader.Name != "曾12" {
		t.Errorf("the moved grid's leader: %+v", c.Leader)
	}
	if codes[g3].Households != 50 || codes[g3].Generation != 2 {
		t.Errorf("G3 split and merged: %+v", codes[g3].Grid)
	}
	if _, err := e.db.EditPlanGrid(e.ctx, e.plan, g1, geo.PlanGridEdit{Name: &name}, "planner-1", e.tick()); errCode(err) != geo.ECONFLICT {
		t.Errorf("editing an applied plan: got %v, want ECONFLICT", err)
	}
}

// sliverStrip is a strip 1 m high along the bottom of G1, short of its
// east edge so that as a part of G2 it does not touch G2's polygon.
var sliverStrip = orb.Polygon{{{112.00, 27.00}, {112.009, 27.00}, {112.009, 27.00001}, {112.00, 27.00001}, {112.00, 27.00}}}

// Each case breaks smallTown in one way; validation must find it, located
// inside what is wrong, and the repair must fix it.
var brokenCases = []struct {
	name   string
	break_ func(e *planEnv)
	kind   geo.FindingKind
	codes  []string
	repair geo.Repair
}{
	{"gap", func(e *planEnv) {
		//  G1 |gap| G2: G1's east edge pulled 10 m west
		e.edit(g1, rect(112.00, 27.00, 112.0099, 27.01))
	}, geo.FindGap, nil, geo.Repair{Kind: geo.RepairFillGap}},
	{"overlap", func(e *planEnv) {
		// G1's east edge pushed 0.5 m into G2
		e.edit(g1, rect(112.00, 27.00, 112.010005, 27.01))
	}, geo.FindOverlap, []string{g1, g2}, geo.Repair{Kind: geo.RepairSnap, Codes: []string{g1}}},
	{"invalid ring", func(e *planEnv) {
		// a spike from the north edge into G1: a self-intersecting ring
		e.edit(g1, orb.MultiPolygon{{{{112.00, 27.00}, {112.01, 27.00}, {112.01, 27.01}, {112.005, 27.01}, {112.005, 27.005},
			{112.005, 27.01}, {112.00, 27.01}, {112.00, 27.00}}}})
	}, geo.FindInvalid, []string{g1}, geo.Repair{Kind: geo.RepairMakeValid}},
	{"sliver", func(e *planEnv) {
		// G2 takes a 1 m strip of G1 as a separate part
		g1Left := orb.MultiPolygon{{{{112.00, 27.00001}, {112.009, 27.00001}, {112.009, 27.00}, {112.01, 27.00}, {112.01, 27.01}, {112.00, 27.01}, {112.00, 27.00001}}}}
		e.edit(g1, g1Left)
		e.edit(g2, append(rect(112.01, 27.00, 112.02, 27.01), sliverStrip))
	}, geo.FindSliver, []string{g2}, geo.Repair{Kind: geo.RepairDissolveSliver}},
	{"village crossing", func(e *planEnv) {
		// G2 reaches 100 m into village 202, G3 gives way
		e.edit(g2, rect(112.01, 27.00, 112.021, 27.01))
		e.edit(g3, rect(112.021, 27.00, 112.03, 27.01))
	}, geo.FindVillageCrossing, []string{g2}, geo.Repair{Kind: geo.RepairClipToVillage}},
}

func TestPlan_validationFindsAndRepairs(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newPlanEnv(t)
			tc.break_(e)
			r := e.validate()
			found := findings(r, tc.kind)
			if len(found) == 0 {
				t.Fatalf("no %s found in %+v", tc.kind, r.Findings)
			}
			f := found[0]
			if tc.codes != nil && !slices.Equal(f.Codes, tc.codes) {
				t.Errorf("%s names %v, want %v", tc.kind, f.Codes, tc.codes)
			}
			if f.Location == (orb.Point{}) {
				t.Errorf("%s is not located: %+v", tc.kind, f)
			}
			if f.Area != nil && !planar.MultiPolygonContains(f.Area, f.Location) {
				t.Errorf("%s: location %v is not inside the area found", tc.kind, f.Location)
			}
			if f.Kind.Blocking() != slices.Contains([]geo.FindingKind{geo.FindGap, geo.FindOverlap, geo.FindInvalid}, tc.kind) {
				t.Errorf("%s: blocking %v", tc.kind, f.Kind.Blocking())
			}
			if tc.kind.Blocking() {
				_, err := e.apply(1)
				var be *geo.BlockingError
				if !errors.As(err, &be) || len(findings(be.Report, tc.kind)) == 0 {
					t.Errorf("apply with a %s: got %v, want a BlockingError reporting it", tc.kind, err)
				}
			}
			res, err := e.db.RepairPlan(e.ctx, e.plan, tc.repair, "planner-1", e.tick())
			if err != nil {
				t.Fatalf("repair %s: %v", tc.repair.Kind, err)
			}
			if len(res.Changed) == 0 {
				t.Errorf("repair %s changed nothing: %+v", tc.repair.Kind, res)
			}
			if after := e.validate(); len(after.Findings) != 0 {
				t.Errorf("after %s: %+v", tc.repair.Kind, after.Findings)
			}
			// A repair may bring the draft back to its base exactly (snap
			// puts G1's edge back): such a draft changes nothing, and apply
			// refuses it rather than write an identical generation.
			v, err := e.db.Plan(e.ctx, e.plan, e.now)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.apply(1)
			switch s := v.Summary; {
			case s.Modified+s.Added+s.Retired == 0 && errCode(err) != geo.ECONFLICT:
				t.Errorf("apply after a repair back to the base: got %v, want ECONFLICT (changes nothing)", err)
			case s.Modified+s.Added+s.Retired > 0 && err != nil:
				t.Errorf("apply after the repair: %v", err)
			}
		})
	}
}

func TestPlan_warnings(t *testing.T) {
	e := newPlanEnv(t)
	hh := 500
	if _, err := e.db.EditPlanGrid(e.ctx, e.plan, g1, geo.PlanGridEdit{Households: &hh}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	line := orb.LineString{{112.019, 27.004}, {112.031, 27.004}}
	if _, err := e.db.SplitPlanGrid(e.ctx, e.plan, geo.SplitRequest{Code: g3, Line: line, NewCode: "431321101202003"}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	r := e.validate()
	if f := findings(r, geo.FindHouseholds); len(f) != 2 || f[0].Codes[0] != g1 || f[0].Value != 500 {
		t.Errorf("households out of range: %+v", f) // g1 has 500, the new part 20
	}
	if f := findings(r, geo.FindNoLeader); len(f) != 1 || f[0].Codes[0] != "431321101202003" {
		t.Errorf("no leader: %+v", f)
	}
	if b, _ := r.Count(); b != 0 {
		t.Errorf("warnings only, got %+v", r.Findings)
	}
	if _, err := e.db.SetPlanLeader(e.ctx, e.plan, "431321101202003", geo.Contact{Name: "新人", Phone: "13900001111"}, "p", e.tick()); err != nil {
		t.Fatal(err)
	}
	if f := findings(e.validate(), geo.FindNoLeader); len(f) != 0 {
		t.Errorf("after appointing a leader: %+v", f)
	}
}

func TestPlan_applyRefusesBlockingProblemsAndStaleBase(t *testing.T) {
	e := newPlanEnv(t)
	e.edit(g4, rect(112.03, 27.00, 112.045, 27.01)) // spills outside the town
	_, err := e.apply(1)
	var be *geo.BlockingError
	if !errors.As(err, &be) || len(findings(be.Report, geo.FindOutsideTown)) == 0 {
		t.Fatalf("spill: got %v", err)
	}
	e.edit(g4, rect(112.03, 27.00, 112.04, 27.01))
	var stale *geo.StaleBaseError
	if _, err := e.apply(7); !errors.As(err, &stale) {
		t.Errorf("If-Match 7 on base 1: got %v, want StaleBaseError", err)
	}
	// Another plan is applied first: this one's base is stale.
	other := e.open()
	name := "别的"
	if _, err := e.db.EditPlanGrid(e.ctx, other, g1, geo.PlanGridEdit{Name: &name}, "planner-2", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ApplyPlan(e.ctx, other, geo.PlanTag{Generation: 1, Revision: 1}, "planner-2", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(1); !errors.As(err, &stale) || stale.Current != 2 {
		t.Errorf("stale base: got %v, want StaleBaseError with current 2", err)
	}
	if gen, _ := e.db.CurrentGeneration(e.ctx); gen != 2 {
		t.Errorf("generation %d, want 2", gen)
	}
}

// TestPlan_concurrentApply: two planners apply plans on the same base at
// once; one wins, the other gets a stale base, and nothing is lost: the
// loser's draft is intact and rebasing it onto the new generation keeps
// both changes.
func TestPlan_concurrentApply(t *testing.T) {
	e := newPlanEnv(t)
	a := e.plan
	b := e.open()
	nameA, nameB := "甲方案", "乙方案"
	if _, err := e.db.EditPlanGrid(e.ctx, a, g1, geo.PlanGridEdit{Name: &nameA}, "planner-1", e.tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.EditPlanGrid(e.ctx, b, g4, geo.PlanGridEdit{Name: &nameB}, "planner-2", e.tick()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []int64{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.db.ApplyPlan(e.ctx, id, geo.PlanTag{Generation: 1, Revision: 1}, "planner", e.now)
		}()
	}
	wg.Wait()
	var stale *geo.StaleBaseError
	ok := (errs[0] == nil) != (errs[1] == nil) && (errors.As(errs[0], &stale) || errors.As(errs[1], &stale))
	if !ok {
		t.Fatalf("want one success and one StaleBaseError, got %v and %v", errs[0], errs[1])
	}
	loser, winnerName, loserName, loserCode := b, nameA, nameB, g4
	if errs[0] != nil {
		loser, winnerName, loserName, loserCode = a, nameB, nameA, g1
	}
	lv, err := e.db.Plan(e.ctx, loser, e.now)
	if err != nil || lv.Status != geo.PlanDraft || lv.Summary.Modified != 1 {
		t.Fatalf("the loser's draft: %+v, %v", lv, err)
	}
	rebased, err := e.db.CreatePlan(e.ctx, geo.NewPlan{Note: "rebased", Rebase: loser}, "planner", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	if rebased.BaseGeneration != 2 || rebased.Summary.Modified != 1 {
		t.Errorf("rebased plan: %+v", rebased)
	}
	if _, err := e.db.ApplyPlan(e.ctx, rebased.ID, rebased.Tag(), "planner", e.tick()); err != nil {
		t.Fatal(err)
	}
	td, _, err := e.db.LoadArea(e.ctx, 0, e.tick())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, g := range td.Grids {
		names[g.Code] = g.Name
	}
	winnerCode := g1
	if loserCode == g1 {
		winnerCode = g4
	}
	if names[winnerCode] != winnerName || names[loserCode] != loserName {
		t.Errorf("after both: %v", names)
	}
	for _, g := range td.Grids {
		if (g.Code == g2 || g.Code == g3) && g.Generation != 1 {
			t.Errorf("grid %s, unchanged by both plans, should keep its version of generation 1, has %d", g.Code, g.Generation)
		}
	}
}

func TestPlan_impact(t *testing.T) {
	e := newPlanEnv(t)
	// An open incident in the strip that moves from G2 to G1.
	p := orb.Point{112.011, 27.005}
	var id int64
	err := e.db.Pool.QueryRow(e.ctx, `INSERT INTO incidents (category, severity, source, status, description, location, input_lon, input_lat,
		grid_code, village_code, match, generation, reported_at, received_at, due_at, created_by)
		VALUES ('safety','minor','patrol','dispatched','x', ST_SetSRID(ST_MakePoint($1,$2),4326), $1, $2, $3, $4, 'inside', 1, now(), now(), now(), 't')
		RETURNING id`, p[0], p[1], g2, v1).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	e.edit(g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(g2, rect(112.012, 27.00, 112.02, 27.01))
	im, err := e.db.PlanImpact(e.ctx, e.plan, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Moves) != 1 || im.Moves[0].From != g2 || im.Moves[0].To != g1 {
		t.Fatalf("moves: %+v", im.Moves)
	}
	m := im.Moves[0]
	// 0.002° of a 0.01° grid: a fifth of its area and of its 50 households.
	if math.Abs(m.Households-10) > 0.1 || math.Abs(m.AreaM2/(m.AreaM2+areaOf(t, e, g2))-0.2) > 0.01 {
		t.Errorf("move: %+v", m)
	}
	if len(im.Grids) != 2 || im.Grids[0].Code != g1 || math.Abs(im.Grids[0].GainedM2-m.AreaM2) > 1e-6 {
		t.Errorf("grids: %+v", im.Grids)
	}
	if len(im.Incidents) != 1 || im.Incidents[0].Before != g2 || im.Incidents[0].After != g1 {
		t.Errorf("incidents: %+v", im.Incidents)
	}
	// Merging G4 into G3 retires G4, which ends its organization's
	// attachment; a split's new part is served by the organizations of
	// the grid it came from.
	if _, err := e.db.MergePlanGrids(e.ctx, e.plan, geo.MergeRequest{Codes: []string{g3, g4}, Into: g3}, "p", e.tick()); err != nil {
		t.Fatal(err)
	}
	line := orb.LineString{{112.019, 27.004}, {112.041, 27.004}}
	if _, err := e.db.SplitPlanGrid(e.ctx, e.plan, geo.SplitRequest{Code: g3, Line: line, NewCode: "431321101202003"}, "p", e.tick()); err != nil {
		t.Fatal(err)
	}
	im, err = e.db.PlanImpact(e.ctx, e.plan, e.now)
	if err != nil {
		t.Fatal(err)
	}
	var detached, attached []string
	for _, a := range im.Attachments {
		if a.Detach {
			detached = append(detached, a.GridCode)
		} else {
			attached = append(attached, a.GridCode+" via "+strings.Join(a.Via, ","))
		}
	}
	if !slices.Equal(detached, []string{g4}) || !slices.Equal(attached, []string{"431321101202003 via " + g3}) {
		t.Errorf("attachments: ended on %v, started on %v", detached, attached)
	}
	if _, err := e.apply(1); err != nil {
		t.Fatal(err)
	}
	td, _, err := e.db.LoadArea(e.ctx, 0, e.tick())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range td.Grids {
		if g.Code == "431321101202003" && (len(g.Organizations) != 1 || g.Organizations[0].Name != "调解会431321101202") {
			t.Errorf("the new part's organizations: %+v", g.Organizations)
		}
	}
}

// areaOf is the area of a grid of the draft after the edit, in m².
func areaOf(t *testing.T, e *planEnv, code string) float64 {
	var a float64
	err := e.db.Pool.QueryRow(e.ctx, `SELECT wangge_area_m2(geom) FROM plan_grids WHERE plan_id = $1 AND code = $2`, e.plan, code).Scan(&a)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCoverageReport(t *testing.T) {
	e := newPlanEnv(t)
	r, err := e.db.CoverageReport(e.ctx, geo.DefaultValidationOptions(), "", e.now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Generation != 1 || r.Grids != 4 || len(r.Findings) != 0 {
		t.Errorf("report: %+v", r)
	}
	for _, m := range r.MissingOrganizations {
		want := 4
		if m.Kind == geo.OrgMediation {
			want = 0
		}
		if len(m.Codes) != want {
			t.Errorf("%s: %d grids lack it, want %d", m.Kind, len(m.Codes), want)
		}
	}
	// A plan that lets G2 cross into village 202 is applied (crossing is
	// a warning): the report names the crossing and both villages.
	e.edit(g2, rect(112.01, 27.00, 112.021, 27.01))
	e.edit(g3, rect(112.021, 27.00, 112.03, 27.01))
	if _, err := e.apply(1); err != nil {
		t.Fatal(err)
	}
	r, err = e.db.CoverageReport(e.ctx, geo.DefaultValidationOptions(), "", e.tick())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range r.Findings {
		kinds = append(kinds, string(f.Kind)+" "+strings.Join(f.Codes, ","))
	}
	want := []string{"village_crossing " + g2, "village_not_tiled " + v1, "village_not_tiled " + v2}
	if !slices.Equal(kinds, want) {
		t.Errorf("coverage report after a crossing: %q, want %q", kinds, want)
	}
}
