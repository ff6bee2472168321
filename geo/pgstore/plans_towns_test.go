package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// Two towns side by side, each redrawn by its own plan:
//
//	27.01 +----+----+----+----+----+----+----+----+
//	      | A1 | A2 | A3 | A4 | B1 | B2 | B3 | B4 |
//	27.00 +----+----+----+----+----+----+----+----+
//	   112.00              112.04              112.08
//	      town 431321101 (smallTown) | town 431321102
//
// A1..A4 are g1..g4 of plans_test.go.
const (
	townA = "431321101"
	townB = "431321102"
	b1    = "431321102201001"
	b2    = "431321102201002"
	b3    = "431321102202001"
	vB1   = "431321102201"
)

// neighbourTown is smallTown moved 0.04° east, under town code 431321102,
// with leaders of its own.
func neighbourTown() *geo.TownData {
	td := smallTown()
	recode := func(code string) string { return townB + code[len(townA):] }
	shift := func(mp orb.MultiPolygon) orb.MultiPolygon {
		out := mp.Clone()
		for _, poly := range out {
			for _, ring := range poly {
				for i := range ring {
					ring[i][0] += 0.04
				}
			}
		}
		return out
	}
	td.Town.Code, td.Town.Name, td.Town.Outline = townB, "邻镇", shift(td.Town.Outline)
	for i := range td.Villages {
		v := &td.Villages[i]
		v.Code, v.Outline = recode(v.Code), shift(v.Outline)
	}
	for i := range td.Grids {
		g := &td.Grids[i]
		g.Code, g.VillageCode, g.Geometry = recode(g.Code), recode(g.VillageCode), shift(g.Geometry)
		g.Leader = &geo.Contact{Name: "邻" + g.Leader.Name, Phone: "1390739" + g.Leader.Phone[7:]}
		g.Organizations = []geo.OrganizationRef{{Kind: geo.OrgMediation, Name: "调解会" + g.VillageCode}}
	}
	return td
}

// twoTowns is a database holding smallTown (generation 1) and
// neighbourTown (generation 2), and a clock after both imports.
type twoTowns struct {
	t   *testing.T
	db  *pgstore.DB
	ctx context.Context
	now time.Time
}

func newTwoTowns(t *testing.T) *twoTowns {
	t.Helper()
	e := &twoTowns{t: t, db: pgtest.MustOpenDB(t), ctx: context.Background()}
	for _, td := range []*geo.TownData{smallTown(), neighbourTown()} {
		if _, err := e.db.ImportTown(e.ctx, td, "test", ""); err != nil {
			t.Fatalf("importing town %s: %v", td.Town.Code, err)
		}
	}
	e.now = time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	return e
}

func (e *twoTowns) tick() time.Time {
	e.now = e.now.Add(time.Second)
	return e.now
}

// open opens a draft of town (every town when "").
func (e *twoTowns) open(town string) *geo.Plan {
	e.t.Helper()
	p, err := e.db.CreatePlan(e.ctx, geo.NewPlan{Note: "plan of " + town, Town: town}, "planner", e.tick())
	if err != nil {
		e.t.Fatalf("opening a plan of %q: %v", town, err)
	}
	return p
}

func (e *twoTowns) edit(plan int64, code string, mp orb.MultiPolygon) {
	e.t.Helper()
	if _, err := e.db.EditPlanGrid(e.ctx, plan, code, geo.PlanGridEdit{Geometry: mp}, "planner", e.tick()); err != nil {
		e.t.Fatalf("plan %d, editing %s: %v", plan, code, err)
	}
}

// clean fails unless plan validates with no finding at all.
func (e *twoTowns) clean(plan int64) {
	e.t.Helper()
	r, err := e.db.ValidatePlan(e.ctx, plan, geo.DefaultValidationOptions(), e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	if b, w := r.Count(); b != 0 || w != 0 {
		e.t.Errorf("plan %d should validate clean, got %+v", plan, r.Findings)
	}
}

func (e *twoTowns) apply(plan int64) (*geo.Plan, error) {
	e.t.Helper()
	v, err := e.db.Plan(e.ctx, plan, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.db.ApplyPlan(e.ctx, plan, v.Tag(), "planner", e.tick())
}

// gridRow is a version of a grid as stored.
type gridRow struct {
	ID, Generation, Retired int64
	Code                    string
}

// rows returns every grid version of town, current and retired, by id.
func (e *twoTowns) rows(town string) []gridRow {
	e.t.Helper()
	rs, err := e.db.Pool.Query(e.ctx, `SELECT id, generation, coalesce(retired_generation, 0), code FROM grids WHERE left(code, 9) = $1 ORDER BY id`, town)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	var out []gridRow
	for rs.Next() {
		var r gridRow
		if err := rs.Scan(&r.ID, &r.Generation, &r.Retired, &r.Code); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// problemAt fails unless err is EINVALID naming where.
func problemAt(t *testing.T, what string, err error, where string) {
	t.Helper()
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) == 0 || ge.Problems[0].Where != where {
		t.Errorf("%s: got %v, want EINVALID naming %q", what, err, where)
	}
}

// TestPlans_perTown: a plan of town A applied while town B's plan stays
// valid and current, and B's applied after it; neither apply touches the
// other town's grid rows.
func TestPlans_perTown(t *testing.T) {
	e := newTwoTowns(t)
	pa, pb := e.open(townA), e.open(townB)
	// Each plan is based on its town's generation and holds its grids.
	if pa.Town != townA || pa.BaseGeneration != 1 || pa.Summary.Unchanged != 4 {
		t.Errorf("plan of A: %+v", pa)
	}
	if pb.Town != townB || pb.BaseGeneration != 2 || pb.Summary.Unchanged != 4 {
		t.Errorf("plan of B: %+v", pb)
	}
	v, err := e.db.Plan(e.ctx, pb.ID, e.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range v.Grids {
		if !strings.HasPrefix(g.Code, townB) {
			t.Errorf("plan of B holds grid %s", g.Code)
		}
	}
	// A plan of one town checks that town alone: no gap where the other
	// town's grids are missing from it.
	e.clean(pa.ID)
	e.clean(pb.ID)

	// Both move a border between their first two grids.
	e.edit(pa.ID, g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(pa.ID, g2, rect(112.012, 27.00, 112.02, 27.01))
	e.edit(pb.ID, b1, rect(112.04, 27.00, 112.052, 27.01))
	e.edit(pb.ID, b2, rect(112.052, 27.00, 112.06, 27.01))
	e.clean(pa.ID)
	e.clean(pb.ID)
	// A second plan of A, opened before A's apply, will go stale.
	staleA := e.open(townA)
	e.edit(staleA.ID, g3, rect(112.02, 27.00, 112.031, 27.01))
	e.edit(staleA.ID, g4, rect(112.031, 27.00, 112.04, 27.01))

	beforeB := e.rows(townB)
	im, err := e.db.PlanImpact(e.ctx, pa.ID, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Grids) != 2 || im.Grids[0].Code != g1 || im.Grids[1].Code != g2 {
		t.Errorf("impact of A's plan: %+v", im.Grids)
	}
	applied, err := e.apply(pa.ID)
	if err != nil {
		t.Fatal(err)
	}
	if applied.AppliedGeneration != 3 {
		t.Fatalf("A applied as generation %d, want 3", applied.AppliedGeneration)
	}
	var genTown *string
	if err := e.db.Pool.QueryRow(e.ctx, `SELECT town_code FROM generations WHERE id = 3`).Scan(&genTown); err != nil {
		t.Fatal(err)
	}
	if genTown == nil || *genTown != townA {
		t.Errorf("generation 3 is of town %v, want %s", genTown, townA)
	}
	if after := e.rows(townB); !slices.Equal(after, beforeB) {
		t.Errorf("applying A's plan touched B's grids:\nbefore %v\nafter  %v", beforeB, after)
	}

	// B's plan is still current and clean, and applies after A's.
	e.clean(pb.ID)
	if v, err := e.db.Plan(e.ctx, pb.ID, e.now); err != nil || v.BaseGeneration != 2 || v.Summary.Modified != 2 {
		t.Errorf("B's plan after A's apply: %+v, %v", v, err)
	}
	// A's other plan is stale: its town changed.
	var stale *geo.StaleBaseError
	if _, err := e.apply(staleA.ID); !errors.As(err, &stale) || stale.Current != 3 || !strings.Contains(stale.Error(), "town "+townA) {
		t.Errorf("A's older plan: got %v, want stale (current 3)", err)
	}
	beforeA := e.rows(townA)
	applied, err = e.apply(pb.ID)
	if err != nil {
		t.Fatalf("B's plan after A's: %v", err)
	}
	if applied.AppliedGeneration != 4 {
		t.Errorf("B applied as generation %d, want 4", applied.AppliedGeneration)
	}
	if after := e.rows(townA); !slices.Equal(after, beforeA) {
		t.Errorf("applying B's plan touched A's grids:\nbefore %v\nafter  %v", beforeA, after)
	}
	// Each town's changed grids got its own generation; the rest kept theirs.
	area, gen, err := e.db.LoadArea(e.ctx, 0, e.tick())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{g1: 3, g2: 3, g3: 1, g4: 1, b1: 4, b2: 4, b3: 2}
	for _, g := range area.Grids {
		if w, ok := want[g.Code]; ok && g.Generation != w {
			t.Errorf("grid %s: generation %d, want %d", g.Code, g.Generation, w)
		}
	}
	if gen != 4 || len(area.Grids) != 8 {
		t.Errorf("after both applies: generation %d, %d grids", gen, len(area.Grids))
	}
	// A new plan of A is based on A's generation, not B's.
	if p := e.open(townA); p.BaseGeneration != 3 {
		t.Errorf("new plan of A: base %d, want 3", p.BaseGeneration)
	}
	// Plans list by town.
	plans, err := e.db.Plans(e.ctx, "", townB)
	if err != nil || len(plans) != 1 || plans[0].ID != pb.ID {
		t.Errorf("plans of B: %+v, %v", plans, err)
	}
}

// TestPlans_townRefusals: a plan of one town refuses the other town's
// grids and villages, naming the member; opening a plan names a town that
// is not the deployment's, and a rebase across towns.
func TestPlans_townRefusals(t *testing.T) {
	e := newTwoTowns(t)
	pa := e.open(townA)
	name := "x"
	_, err := e.db.EditPlanGrid(e.ctx, pa.ID, b1, geo.PlanGridEdit{Name: &name}, "planner", e.tick())
	problemAt(t, "editing B's grid in A's plan", err, "code")
	_, err = e.db.RetirePlanGrid(e.ctx, pa.ID, b1, "planner", e.tick())
	problemAt(t, "retiring B's grid in A's plan", err, "code")
	_, err = e.db.AddPlanGrid(e.ctx, pa.ID, geo.NewPlanGrid{Code: "431321102201009", Name: "x", Geometry: rect(112.04, 27.00, 112.041, 27.001)}, "planner", e.tick())
	problemAt(t, "adding a grid of B to A's plan", err, "code")
	_, err = e.db.MovePlanGrid(e.ctx, pa.ID, geo.MoveRequest{Code: g4, Village: vB1, NewCode: "431321102201009"}, "planner", e.tick())
	problemAt(t, "moving A's grid to B's village", err, "village")
	_, err = e.db.MergePlanGrids(e.ctx, pa.ID, geo.MergeRequest{Codes: []string{b1, b2}, Into: b1}, "planner", e.tick())
	problemAt(t, "merging B's grids in A's plan", err, "codes[0]")
	_, err = e.db.SetPlanLeader(e.ctx, pa.ID, b1, geo.Contact{Name: "某人", Phone: "13907380009"}, "planner", e.tick())
	problemAt(t, "appointing a leader of B's grid in A's plan", err, "code")
	_, err = e.db.RepairPlan(e.ctx, pa.ID, geo.Repair{Kind: geo.RepairMakeValid, Codes: []string{b1}}, "planner", e.tick())
	problemAt(t, "repairing B's grid in A's plan", err, "codes[0]")
	layer := []geo.NewPlanGrid{
		{Code: g1, Geometry: rect(112.00, 27.00, 112.01, 27.01), Where: "feature 0"},
		{Code: b1, Geometry: rect(112.04, 27.00, 112.05, 27.01), Where: "feature 1"},
	}
	_, err = e.db.ReplacePlanLayer(e.ctx, pa.ID, layer, geo.LayerReplaceVillages, "planner", e.tick())
	var ge *geo.Error
	if !errors.As(err, &ge) || len(ge.Problems) != 1 || ge.Problems[0].Where != "feature 1" || !strings.Contains(ge.Problems[0].Reason, townB) {
		t.Errorf("a layer with B's grid in A's plan: got %v, want one problem at feature 1", err)
	}
	if v, err := e.db.Plan(e.ctx, pa.ID, e.now); err != nil || v.Revision != 0 {
		t.Errorf("the refusals changed A's plan: revision %d, %v", v.Revision, err)
	}

	_, err = e.db.CreatePlan(e.ctx, geo.NewPlan{Town: "431321199"}, "planner", e.tick())
	problemAt(t, "a plan of a town the deployment does not hold", err, "town")
	_, err = e.db.CreatePlan(e.ctx, geo.NewPlan{Town: "4313"}, "planner", e.tick())
	problemAt(t, "a plan of a malformed town code", err, "town")
	_, err = e.db.CreatePlan(e.ctx, geo.NewPlan{Town: townB, Rebase: pa.ID}, "planner", e.tick())
	problemAt(t, "rebasing A's plan as a plan of B", err, "rebase")
	// A rebase without a town keeps the town of the plan rebased.
	if p, err := e.db.CreatePlan(e.ctx, geo.NewPlan{Rebase: pa.ID}, "planner", e.tick()); err != nil || p.Town != townA || p.BaseGeneration != 1 {
		t.Errorf("rebasing A's plan: %+v, %v", p, err)
	}
	// Without a town, a deployment of two towns opens a plan of both, on
	// the newest generation.
	all := e.open("")
	if all.Town != "" || all.BaseGeneration != 2 || all.Summary.Unchanged != 8 {
		t.Errorf("plan of every town: %+v", all)
	}
	e.clean(all.ID)
}

// TestPlans_townLockIsTheTownsOwn: while a writer of generations holds
// the generation lock, plans open and validate; while town A's apply lock
// is held (an apply of A checking its draft), B's plan validates and
// applies, and so does the check of A's own draft.
func TestPlans_townLockIsTheTownsOwn(t *testing.T) {
	e := newTwoTowns(t)
	pa, pb := e.open(townA), e.open(townB)
	e.edit(pb.ID, b1, rect(112.04, 27.00, 112.052, 27.01))
	e.edit(pb.ID, b2, rect(112.052, 27.00, 112.06, 27.01))

	held, err := e.db.Pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The lock generation_lock takes (town.sql).
	if _, err := held.Exec(e.ctx, `SELECT pg_advisory_xact_lock(7263002)`); err != nil {
		t.Fatal(err)
	}
	waiting, cancelWaiting := context.WithTimeout(e.ctx, 20*time.Second)
	if _, err := e.db.CreatePlan(waiting, geo.NewPlan{Town: townB}, "planner", e.tick()); err != nil {
		t.Errorf("opening a plan while the generation lock is held: %v", err)
	}
	if _, err := e.db.ValidatePlan(waiting, pb.ID, geo.DefaultValidationOptions(), e.now); err != nil {
		t.Errorf("validating a plan while the generation lock is held: %v", err)
	}
	cancelWaiting()
	if err := held.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}

	tx, err := e.db.Pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	// The lock plan_town_lock takes for town A (plans_apply.sql).
	if _, err := tx.Exec(e.ctx, `SELECT pg_advisory_xact_lock(7263003, $1::integer)`, townA); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	if _, err := e.db.ValidatePlan(ctx, pa.ID, geo.DefaultValidationOptions(), e.now); err != nil {
		t.Errorf("validating A's plan while A's lock is held: %v", err)
	}
	v, err := e.db.Plan(ctx, pb.ID, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ApplyPlan(ctx, pb.ID, v.Tag(), "planner", e.tick()); err != nil {
		t.Errorf("applying B's plan while A's lock is held: %v", err)
	}
}

// TestPlans_oneTownDefault: in a deployment of one town, a plan opened
// without a town is that town's, and its apply writes a generation of it.
func TestPlans_oneTownDefault(t *testing.T) {
	e := newPlanEnv(t)
	v, err := e.db.Plan(e.ctx, e.plan, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if v.Town != townA {
		t.Fatalf("plan opened without a town: town %q, want %s", v.Town, townA)
	}
	e.edit(g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(g2, rect(112.012, 27.00, 112.02, 27.01))
	p, err := e.apply(1)
	if err != nil {
		t.Fatal(err)
	}
	var genTown *string
	if err := e.db.Pool.QueryRow(e.ctx, `SELECT town_code FROM generations WHERE id = $1`, p.AppliedGeneration).Scan(&genTown); err != nil {
		t.Fatal(err)
	}
	if genTown == nil || *genTown != townA {
		t.Errorf("generation %d is of town %v, want %s", p.AppliedGeneration, genTown, townA)
	}
}

// TestPlans_twoTownsApplyAtOnce: plans of two towns applied at the same
// moment both succeed, as generations 3 and 4 in one order or the other,
// each of its own town.
func TestPlans_twoTownsApplyAtOnce(t *testing.T) {
	e := newTwoTowns(t)
	pa, pb := e.open(townA), e.open(townB)
	e.edit(pa.ID, g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(pa.ID, g2, rect(112.012, 27.00, 112.02, 27.01))
	e.edit(pb.ID, b1, rect(112.04, 27.00, 112.052, 27.01))
	e.edit(pb.ID, b2, rect(112.052, 27.00, 112.06, 27.01))
	tags := map[int64]geo.PlanTag{}
	for _, id := range []int64{pa.ID, pb.ID} {
		v, err := e.db.Plan(e.ctx, id, e.now)
		if err != nil {
			t.Fatal(err)
		}
		tags[id] = v.Tag()
	}
	at := e.tick()
	type result struct {
		p   *geo.Plan
		err error
	}
	done := make(chan result, 2)
	for _, id := range []int64{pa.ID, pb.ID} {
		go func() {
			p, err := e.db.ApplyPlan(e.ctx, id, tags[id], "planner", at)
			done <- result{p, err}
		}()
	}
	gens := map[string]int64{}
	for range 2 {
		r := <-done
		if r.err != nil {
			t.Fatalf("applying at once: %v", r.err)
		}
		gens[r.p.Town] = r.p.AppliedGeneration
	}
	if !(gens[townA] == 3 && gens[townB] == 4) && !(gens[townA] == 4 && gens[townB] == 3) {
		t.Errorf("generations of the applies: %v, want 3 and 4", gens)
	}
	for town, gen := range gens {
		var got *string
		if err := e.db.Pool.QueryRow(e.ctx, `SELECT town_code FROM generations WHERE id = $1`, gen).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == nil || *got != town {
			t.Errorf("generation %d is of town %v, want %s", gen, got, town)
		}
	}
}
