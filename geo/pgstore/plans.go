package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"
	orbwkb "github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
)

// This file keeps plans (geo.PlanStore): drafts copied from the current
// generation, edited with PostGIS (split, merge, move, repairs), checked
// with the same coverage checks as an import (checkNext over next_*),
// previewed (impact) and applied as one generation by the same versioning
// as an import (writeGridVersions), under the same generation lock.

var _ geo.PlanStore = (*DB)(nil)

// ApplyPauseEnv names an environment variable that, set to a duration
// (e.g. "5s"), makes ApplyPlan wait that long inside its transaction just
// before COMMIT. It exists for the crash test, which kills the server
// while an apply is in flight; nothing else sets it.
const ApplyPauseEnv = "WANGGE_TEST_APPLY_PAUSE"

// metresPerDegree is the length of a degree of latitude (and of longitude
// at the equator) on the WGS-84 ellipsoid, near enough for tolerances.
const metresPerDegree = 111_320.0

// CreatePlan opens a draft on the current generation; see geo.PlanStore.
func (db *DB) CreatePlan(ctx context.Context, note string, rebase int64, actor string, now time.Time) (*geo.Plan, error) {
	var id int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		// Under the generation lock the grids copied are those of the
		// generation read, even while a plan is being applied.
		if _, err := tx.Exec(ctx, q("generation_lock")); err != nil {
			return err
		}
		var gen int64
		if err := tx.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
			return err
		}
		if gen == 0 {
			return geo.Errorf(geo.ENOTFOUND, "the database holds no town yet: import one with `wangge import`")
		}
		var from *geo.Plan
		if rebase > 0 {
			var err error
			if from, err = scanPlan(tx.QueryRow(ctx, q("plan_get"), rebase)); err != nil {
				return err
			}
			if from.Status != geo.PlanDraft {
				return geo.Errorf(geo.ECONFLICT, "plan %d was applied as generation %d: there is nothing to rebase", from.ID, from.AppliedGeneration)
			}
		}
		if err := tx.QueryRow(ctx, q("plan_create"), note, gen, rebase, actor, now).Scan(&id); err != nil {
			return err
		}
		if err := runSteps(ctx, tx, step{"plan_copy_grids", []any{id}}, step{"plan_copy_villages", []any{id}}); err != nil {
			return err
		}
		after := map[string]any{"base_generation": gen, "note": note}
		if from != nil {
			err := runSteps(ctx, tx,
				step{"plan_rebase_stage", []any{from.ID, from.BaseGeneration}},
				step{"plan_rebase_delete", []any{id}},
				step{"plan_rebase_insert", []any{id, from.ID}},
				step{"plan_rebase_villages", []any{id, from.ID}},
				step{"plan_rebase_leaders", []any{id, from.ID}})
			if err != nil {
				return err
			}
			after["rebased_from"] = from.ID
		}
		return audit(ctx, tx, now, actor, "plan.create", planTarget(id), nil, after, "")
	})
	if err != nil {
		return nil, planError(err)
	}
	return db.planHeader(ctx, id)
}

// Plans lists plans, newest first; see geo.PlanStore.
func (db *DB) Plans(ctx context.Context, status geo.PlanStatus) ([]geo.Plan, error) {
	var out []geo.Plan
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q("plans_list"), string(status))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Plan, error) {
			p, err := scanPlan(r)
			if err != nil {
				return geo.Plan{}, err
			}
			return *p, nil
		})
		if err != nil {
			return err
		}
		for i := range out {
			if err := summarise(ctx, tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, planError(err)
}

// Plan returns a plan with all its grids; see geo.PlanStore.
func (db *DB) Plan(ctx context.Context, id int64, at time.Time) (*geo.PlanView, error) {
	var v *geo.PlanView
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_get"), id))
		if err != nil {
			return err
		}
		grids, err := planGrids(ctx, tx, p, at, nil)
		if err != nil {
			return err
		}
		p.Summary = geo.PlanSummary{}
		for _, g := range grids {
			p.Summary.Count(g.Change)
			if g.LeaderAppointed {
				p.Summary.Leaders++
			}
		}
		v = &geo.PlanView{Plan: *p, Grids: grids}
		return nil
	})
	return v, planError(err)
}

// planHeader reads a plan with its summary.
func (db *DB) planHeader(ctx context.Context, id int64) (*geo.Plan, error) {
	var p *geo.Plan
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		var err error
		if p, err = scanPlan(tx.QueryRow(ctx, q("plan_get"), id)); err != nil {
			return err
		}
		return summarise(ctx, tx, p)
	})
	return p, planError(err)
}

func summarise(ctx context.Context, tx pgx.Tx, p *geo.Plan) error {
	s := &p.Summary
	return tx.QueryRow(ctx, q("plan_summary"), p.ID, p.BaseGeneration).Scan(&s.Unchanged, &s.Modified, &s.Added, &s.Retired, &s.Leaders)
}

// scanPlan reads a row of plan_get, plan_lock or plans_list; a missing
// plan is ENOTFOUND.
func scanPlan(row pgx.Row) (*geo.Plan, error) {
	p := &geo.Plan{}
	var status string
	var appliedAt *time.Time
	err := row.Scan(&p.ID, &p.Note, &p.BaseGeneration, &status, &p.RebasedFrom, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt,
		&p.Revision, &p.AppliedBy, &appliedAt, &p.AppliedGeneration)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "no such plan")
	} else if err != nil {
		return nil, err
	}
	p.Status = geo.PlanStatus(status)
	if appliedAt != nil {
		p.AppliedAt = *appliedAt
	}
	return p, nil
}

// planGrids reads the grids of plan p as they compare with its base, with
// leaders at time at; only codes when codes is not nil.
func planGrids(ctx context.Context, tx pgx.Tx, p *geo.Plan, at time.Time, codes []string) ([]geo.PlanGrid, error) {
	rows, _ := tx.Query(ctx, q("plan_view"), p.ID, p.BaseGeneration, at, codes)
	var out []geo.PlanGrid
	var g geo.PlanGrid
	var raw []byte
	var change string
	var leaderName, leaderPhone *string
	_, err := pgx.ForEachRow(rows, []any{&g.Code, &g.Name, &g.VillageCode, &g.Households, &g.Population, &raw, &change,
		&g.DerivedFrom, &g.LeaderAppointed, &leaderName, &leaderPhone}, func() error {
		var err error
		if g.Geometry, err = decodeWKB(raw); err != nil {
			return err
		}
		g.Change = geo.GridChange(change)
		g.Leader = nil
		if leaderName != nil {
			g.Leader = &geo.Contact{Name: *leaderName}
			if leaderPhone != nil {
				g.Leader.Phone = *leaderPhone
			}
		}
		out = append(out, g)
		g.DerivedFrom = nil
		return nil
	})
	return out, err
}

// noJIT turns JIT off for the transaction (see no_jit in plans.sql).
func noJIT(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, q("no_jit"))
	return err
}

func planTarget(id int64) string { return fmt.Sprintf("plan:%d", id) }

// lockDraft locks plan id for an edit; ECONFLICT once applied.
func lockDraft(ctx context.Context, tx pgx.Tx, id int64) (*geo.Plan, error) {
	p, err := scanPlan(tx.QueryRow(ctx, q("plan_lock"), id))
	if err != nil {
		return nil, err
	}
	if p.Status != geo.PlanDraft {
		return nil, geo.Errorf(geo.ECONFLICT, "plan %d was applied as generation %d and can no longer change: open a new plan", p.ID, p.AppliedGeneration)
	}
	return p, nil
}

// draftGrid is a grid of a draft as an edit sees it.
type draftGrid struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	VillageCode string   `json:"village_code"`
	Households  int      `json:"households"`
	Population  int      `json:"population"`
	AreaM2      float64  `json:"area_m2"`
	Valid       bool     `json:"valid"`
	DerivedFrom []string `json:"-"`
}

// lockGrid locks grid code of the draft; ENOTFOUND when it has none.
func lockGrid(ctx context.Context, tx pgx.Tx, id int64, code string) (*draftGrid, error) {
	g := &draftGrid{Code: code}
	err := tx.QueryRow(ctx, q("plan_grid_get"), id, code).Scan(&g.Name, &g.VillageCode, &g.Households, &g.Population,
		&g.Valid, &g.AreaM2, &g.DerivedFrom)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "plan %d has no grid %s", id, code)
	}
	return g, err
}

// requireValid refuses an edit that needs GEOS on an invalid geometry.
func (g *draftGrid) requireValid(what string) error {
	if !g.Valid {
		return geo.Errorf(geo.EINVALID, "grid %s has an invalid geometry: repair it (make_valid) before %s", g.Code, what)
	}
	return nil
}

// codeFree refuses a code that is in the draft or was ever used.
func codeFree(ctx context.Context, tx pgx.Tx, id int64, code string) error {
	var used bool
	if err := tx.QueryRow(ctx, q("plan_code_used"), id, code).Scan(&used); err != nil {
		return err
	}
	if used {
		return geo.Errorf(geo.ECONFLICT, "grid code %s is taken: it is in the draft or belonged to a grid before, and codes are never reused", code)
	}
	return nil
}

func villageInPlan(ctx context.Context, tx pgx.Tx, id int64, village string) error {
	var ok bool
	if err := tx.QueryRow(ctx, q("plan_village_exists"), id, village).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return geo.Errorf(geo.EINVALID, "village %s is not in the town", village)
	}
	return nil
}

// editFunc changes a locked draft and returns the grid codes it touched
// (for the answer) and what the audit log records before and after.
type editFunc func(tx pgx.Tx, p *geo.Plan) (touched []string, before, after any, err error)

// editPlan runs one edit of draft id in a transaction: it locks the plan,
// runs edit, bumps the revision, audits action, and returns the touched
// grids as they are after the edit with the whole plan's summary.
func (db *DB) editPlan(ctx context.Context, id int64, actor string, now time.Time, action string, edit editFunc) (*geo.PlanView, error) {
	var v *geo.PlanView
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := lockDraft(ctx, tx, id)
		if err != nil {
			return err
		}
		touched, before, after, err := edit(tx, p)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, q("plan_touch"), id, now).Scan(&p.Revision, &p.UpdatedAt); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, action, planTarget(id), before, after, ""); err != nil {
			return err
		}
		if touched == nil {
			touched = []string{}
		}
		grids, err := planGrids(ctx, tx, p, now, touched)
		if err != nil {
			return err
		}
		if err := summarise(ctx, tx, p); err != nil {
			return err
		}
		v = &geo.PlanView{Plan: *p, Grids: grids}
		return nil
	})
	return v, planError(err)
}

// EditPlanGrid changes a grid of a draft; see geo.PlanStore.
func (db *DB) EditPlanGrid(ctx context.Context, id int64, code string, e geo.PlanGridEdit, actor string, now time.Time) (*geo.PlanView, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var raw []byte
	if e.Geometry != nil {
		var err error
		if raw, err = encodeWKB(e.Geometry); err != nil {
			return nil, err
		}
	}
	return db.editPlan(ctx, id, actor, now, "plan.grid.update", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		g, err := lockGrid(ctx, tx, id, code)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, err := tx.Exec(ctx, q("plan_grid_edit"), id, code, raw, e.Name, e.Households, e.Population); err != nil {
			return nil, nil, nil, err
		}
		after := map[string]any{"code": code, "geometry": e.Geometry != nil, "name": e.Name, "households": e.Households, "population": e.Population}
		return []string{code}, g, after, nil
	})
}

// AddPlanGrid adds a grid to a draft; see geo.PlanStore.
func (db *DB) AddPlanGrid(ctx context.Context, id int64, g geo.NewPlanGrid, actor string, now time.Time) (*geo.PlanView, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	raw, err := encodeWKB(g.Geometry)
	if err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.grid.add", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		if err := villageInPlan(ctx, tx, id, g.VillageCode); err != nil {
			return nil, nil, nil, err
		}
		if err := codeFree(ctx, tx, id, g.Code); err != nil {
			return nil, nil, nil, err
		}
		_, err := tx.Exec(ctx, q("plan_grid_add"), id, g.Code, g.Name, g.VillageCode, g.Households, g.Population, raw, nil)
		after := map[string]any{"code": g.Code, "name": g.Name, "village_code": g.VillageCode, "households": g.Households, "population": g.Population}
		return []string{g.Code}, nil, after, err
	})
}

// RetirePlanGrid removes a grid from a draft; see geo.PlanStore.
func (db *DB) RetirePlanGrid(ctx context.Context, id int64, code string, actor string, now time.Time) (*geo.PlanView, error) {
	return db.editPlan(ctx, id, actor, now, "plan.grid.retire", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		g, err := lockGrid(ctx, tx, id, code)
		if err != nil {
			return nil, nil, nil, err
		}
		err = runSteps(ctx, tx, step{"plan_grid_delete", []any{id, code}}, step{"plan_leader_delete", []any{id, []string{code}}})
		return []string{code}, g, nil, err
	})
}

// SplitPlanGrid cuts a grid of a draft in two; see geo.SplitRequest.
func (db *DB) SplitPlanGrid(ctx context.Context, id int64, r geo.SplitRequest, actor string, now time.Time) (*geo.PlanView, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	line, err := orbwkb.Marshal(r.Line)
	if err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.split", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		g, err := lockGrid(ctx, tx, id, r.Code)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := g.requireValid("splitting it"); err != nil {
			return nil, nil, nil, err
		}
		if err := codeFree(ctx, tx, id, r.NewCode); err != nil {
			return nil, nil, nil, err
		}
		type part struct {
			wkb  []byte
			area float64
		}
		var parts []part
		var pt part
		rows, _ := tx.Query(ctx, q("plan_split_parts"), id, r.Code, line)
		if _, err := pgx.ForEachRow(rows, []any{&pt.wkb, &pt.area}, func() error {
			parts = append(parts, part{slices.Clone(pt.wkb), pt.area})
			return nil
		}); err != nil {
			return nil, nil, nil, err
		}
		switch {
		case len(parts) < 2:
			return nil, nil, nil, geo.Errorf(geo.EINVALID,
				"the line does not cut grid %s in two: it must cross the grid from one side of its boundary to another", r.Code)
		case len(parts) > 2:
			return nil, nil, nil, geo.Errorf(geo.EINVALID,
				"the line cuts grid %s into %d parts, want exactly 2: draw a line that crosses the grid once, from boundary to boundary (a grid of several separate parts is cut into more)",
				r.Code, len(parts))
		}
		keptH, newH := geo.SplitCounts(g.Households, parts[0].area, parts[1].area)
		keptP, newP := geo.SplitCounts(g.Population, parts[0].area, parts[1].area)
		name := r.NewName
		if name == "" {
			name = truncateRunes(g.Name, geo.MaxGridName-4) + "（拆分）"
		}
		err = runSteps(ctx, tx,
			step{"plan_split_keep", []any{id, r.Code, parts[0].wkb, keptH, keptP}},
			step{"plan_grid_add", []any{id, r.NewCode, name, g.VillageCode, newH, newP, parts[1].wkb, []string{r.Code}}})
		after := map[string]any{
			"kept":   map[string]any{"code": r.Code, "area_m2": parts[0].area, "households": keptH, "population": keptP},
			"added":  map[string]any{"code": r.NewCode, "name": name, "area_m2": parts[1].area, "households": newH, "population": newP},
			"counts": "households and population shared in proportion to area",
		}
		return []string{r.Code, r.NewCode}, g, after, err
	})
}

// MergePlanGrids merges grids of a draft; see geo.MergeRequest.
func (db *DB) MergePlanGrids(ctx context.Context, id int64, r geo.MergeRequest, actor string, now time.Time) (*geo.PlanView, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.merge", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		found := map[string]bool{}
		var code, village string
		var valid bool
		var invalid []string
		rows, _ := tx.Query(ctx, q("plan_merge_grids"), id, r.Codes)
		if _, err := pgx.ForEachRow(rows, []any{&code, &village, &valid}, func() error {
			found[code] = true
			if !valid {
				invalid = append(invalid, code)
			}
			return nil
		}); err != nil {
			return nil, nil, nil, err
		}
		for _, c := range r.Codes {
			if !found[c] {
				return nil, nil, nil, geo.Errorf(geo.ENOTFOUND, "plan %d has no grid %s", id, c)
			}
		}
		if len(invalid) > 0 {
			return nil, nil, nil, geo.Errorf(geo.EINVALID, "grids %s have invalid geometries: repair them (make_valid) before merging", strings.Join(invalid, ", "))
		}
		// The grids must form one connected group through shared borders.
		group := map[string]string{}
		var find func(string) string
		find = func(c string) string {
			if group[c] == "" || group[c] == c {
				return c
			}
			group[c] = find(group[c])
			return group[c]
		}
		var a, b string
		rows, _ = tx.Query(ctx, q("plan_merge_adjacent"), id, r.Codes)
		if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
			group[find(a)] = find(b)
			return nil
		}); err != nil {
			return nil, nil, nil, err
		}
		var apart []string
		for _, c := range r.Codes {
			if find(c) != find(r.Into) {
				apart = append(apart, c)
			}
		}
		if len(apart) > 0 {
			return nil, nil, nil, geo.Errorf(geo.EINVALID,
				"grids %s share no border with %s and the others (touching at a point is not enough): only adjacent grids merge",
				strings.Join(apart, ", "), r.Into)
		}
		others := slices.DeleteFunc(slices.Clone(r.Codes), func(c string) bool { return c == r.Into })
		err := runSteps(ctx, tx,
			step{"plan_merge_write", []any{id, r.Codes, r.Into}},
			step{"plan_merge_delete", []any{id, r.Codes, r.Into}},
			step{"plan_leader_delete", []any{id, others}})
		return r.Codes, nil, map[string]any{"codes": r.Codes, "into": r.Into}, err
	})
}

// MovePlanGrid moves a grid of a draft to another village; see
// geo.MoveRequest.
func (db *DB) MovePlanGrid(ctx context.Context, id int64, r geo.MoveRequest, actor string, now time.Time) (*geo.PlanView, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.move", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		g, err := lockGrid(ctx, tx, id, r.Code)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := g.requireValid("moving it"); err != nil {
			return nil, nil, nil, err
		}
		if err := villageInPlan(ctx, tx, id, r.Village); err != nil {
			return nil, nil, nil, err
		}
		if err := codeFree(ctx, tx, id, r.NewCode); err != nil {
			return nil, nil, nil, err
		}
		var geom []byte
		if err := tx.QueryRow(ctx, q("plan_grid_geom"), id, r.Code).Scan(&geom); err != nil {
			return nil, nil, nil, err
		}
		err = runSteps(ctx, tx,
			step{"plan_move_leader", []any{id, r.Code, r.NewCode, now}},
			step{"plan_leader_delete", []any{id, []string{r.Code}}},
			step{"plan_move_grid", []any{id, r.Code, r.NewCode, r.Village}},
			step{"plan_move_village_in", []any{id, r.Village, geom}})
		if err != nil {
			return nil, nil, nil, err
		}
		var left float64
		if err := tx.QueryRow(ctx, q("plan_move_village_out"), id, g.VillageCode, geom).Scan(&left); err != nil {
			return nil, nil, nil, err
		}
		if left <= TilingToleranceM2 {
			return nil, nil, nil, geo.Errorf(geo.ECONFLICT,
				"village %s would have no area left without grid %s: a village leaves the town by an import, not by a plan", g.VillageCode, r.Code)
		}
		after := map[string]any{"code": r.Code, "new_code": r.NewCode, "from_village": g.VillageCode, "to_village": r.Village}
		return []string{r.Code, r.NewCode}, g, after, nil
	})
}

// SetPlanLeader appoints a grid's leader in a draft; see geo.PlanStore.
func (db *DB) SetPlanLeader(ctx context.Context, id int64, code string, leader geo.Contact, actor string, now time.Time) (*geo.PlanView, error) {
	leader, err := geo.CheckLeader(leader)
	if err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.leader", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		if _, err := lockGrid(ctx, tx, id, code); err != nil {
			return nil, nil, nil, err
		}
		_, err := tx.Exec(ctx, q("plan_leader_set"), id, code, leader.Name, leader.Phone)
		// The phone is personal data: the audit log keeps the name.
		return []string{code}, nil, map[string]any{"code": code, "leader": leader.Name}, err
	})
}

// ReplacePlanLayer replaces a draft's grids by a layer; see geo.PlanStore.
func (db *DB) ReplacePlanLayer(ctx context.Context, id int64, grids []geo.NewPlanGrid, actor string, now time.Time) (*geo.Plan, error) {
	var problems []geo.Problem
	seen := map[string]string{}
	rows := make([][]any, 0, len(grids))
	for i := range grids {
		g := &grids[i]
		where := g.Where
		if where == "" {
			where = fmt.Sprintf("feature %d", i)
		}
		if err := g.ValidateInLayer(); err != nil {
			problems = append(problems, geo.Problem{Where: where, Reason: geo.ErrorMessage(err)})
			continue
		}
		if first, dup := seen[g.Code]; dup {
			problems = append(problems, geo.Problem{Where: where, Reason: fmt.Sprintf("grid code %s is also the code of %s", g.Code, first)})
			continue
		}
		seen[g.Code] = where
		raw, err := encodeWKB(g.Geometry)
		if err != nil {
			return nil, err
		}
		var h, pop *int32
		if g.CountsGiven {
			hv, pv := int32(g.Households), int32(g.Population)
			h, pop = &hv, &pv
		}
		rows = append(rows, []any{g.Code, g.Name, g.VillageCode, h, pop, raw})
	}
	if len(grids) == 0 {
		problems = append(problems, geo.Problem{Where: "layer", Reason: "the layer has no grids"})
	}
	if len(problems) > 0 {
		return nil, &geo.Error{Code: geo.EINVALID, Message: fmt.Sprintf("the layer has %d problems: nothing was imported", len(problems)), Problems: problems}
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := lockDraft(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("plan_layer_stage")); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"plan_layer"},
			[]string{"code", "name", "village_code", "households", "population", "wkb"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		var code, village string
		rs, _ := tx.Query(ctx, q("plan_layer_unknown_villages"), id)
		if _, err := pgx.ForEachRow(rs, []any{&code, &village}, func() error {
			problems = append(problems, geo.Problem{Where: seen[code], Reason: fmt.Sprintf("grid %s: village %s is not in the town", code, village)})
			return nil
		}); err != nil {
			return err
		}
		rs, _ = tx.Query(ctx, q("plan_layer_reused_codes"), p.BaseGeneration)
		if _, err := pgx.ForEachRow(rs, []any{&code}, func() error {
			problems = append(problems, geo.Problem{Where: seen[code],
				Reason: fmt.Sprintf("grid code %s belonged to a grid retired before generation %d: codes are never reused", code, p.BaseGeneration)})
			return nil
		}); err != nil {
			return err
		}
		if len(problems) > 0 {
			return &geo.Error{Code: geo.EINVALID, Message: fmt.Sprintf("the layer has %d problems: nothing was imported", len(problems)), Problems: problems}
		}
		err = runSteps(ctx, tx,
			step{"plan_layer_delete", []any{id}},
			step{"plan_layer_update", []any{id}},
			step{"plan_layer_insert", []any{id}},
			step{"plan_leaders_orphaned", []any{id}})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("plan_touch"), id, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "plan.import", planTarget(id), nil, map[string]any{"grids": len(grids)}, "")
	})
	if err != nil {
		return nil, planError(err)
	}
	return db.planHeader(ctx, id)
}

// stagePlan fills next_* with plan id's draft, leaders as at time at.
func stagePlan(ctx context.Context, tx pgx.Tx, id int64, at time.Time) error {
	return stageNext(ctx, tx, step{"next_from_town", nil}, step{"next_from_plan_villages", []any{id}},
		step{"next_from_plan_grids", []any{id, at}})
}

// validateStaged checks the staged next_* layer with the warnings of opts.
func validateStaged(ctx context.Context, tx pgx.Tx, opts geo.ValidationOptions, villageTiling bool) (*geo.ValidationReport, error) {
	findings, err := checkNext(ctx, tx, checkOptions{warnings: &opts, villageTiling: villageTiling})
	if err != nil {
		return nil, err
	}
	r := &geo.ValidationReport{Options: opts, Findings: findings}
	err = tx.QueryRow(ctx, "SELECT count(*) FROM next_grids").Scan(&r.Grids)
	return r, err
}

// ValidatePlan checks a draft; see geo.PlanStore.
func (db *DB) ValidatePlan(ctx context.Context, id int64, opts geo.ValidationOptions, at time.Time) (*geo.ValidationReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var r *geo.ValidationReport
	err := scratch(ctx, db, pgx.ReadCommitted, func(tx pgx.Tx) error {
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_get"), id))
		if err != nil {
			return err
		}
		if err := stagePlan(ctx, tx, id, at); err != nil {
			return err
		}
		if r, err = validateStaged(ctx, tx, opts, false); err != nil {
			return err
		}
		r.PlanID, r.Generation = p.ID, p.BaseGeneration
		return nil
	})
	return r, planError(err)
}

// scratch runs fn in a transaction that is always rolled back: the
// checks create temporary tables, which a read-only transaction may not.
func scratch(ctx context.Context, db *DB, iso pgx.TxIsoLevel, fn func(tx pgx.Tx) error) error {
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := noJIT(ctx, tx); err != nil {
		return err
	}
	return fn(tx)
}

// CoverageReport checks the current generation; see geo.PlanStore.
func (db *DB) CoverageReport(ctx context.Context, opts geo.ValidationOptions, at time.Time) (*geo.ValidationReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var r *geo.ValidationReport
	// Repeatable read: the generation and the grids read agree.
	err := scratch(ctx, db, pgx.RepeatableRead, func(tx pgx.Tx) error {
		var gen int64
		if err := tx.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
			return err
		}
		if gen == 0 {
			return geo.Errorf(geo.ENOTFOUND, "the database holds no town yet: import one with `wangge import`")
		}
		err := stageNext(ctx, tx, step{"next_from_town", nil}, step{"next_from_current_villages", nil},
			step{"next_from_current_grids", []any{at}})
		if err != nil {
			return err
		}
		if r, err = validateStaged(ctx, tx, opts, true); err != nil {
			return err
		}
		r.Generation = gen
		kinds := make([]string, len(geo.OrgKinds))
		for i, k := range geo.OrgKinds {
			kinds[i] = string(k)
		}
		var m geo.MissingOrganizations
		rows, _ := tx.Query(ctx, q("coverage_missing_organizations"), at, kinds)
		_, err = pgx.ForEachRow(rows, []any{&m.Kind, &m.InTown, &m.Codes}, func() error {
			r.MissingOrganizations = append(r.MissingOrganizations, m)
			m.Codes = nil
			return nil
		})
		return err
	})
	return r, planError(err)
}

// RepairPlan applies a repair to a draft; see geo.PlanStore.
func (db *DB) RepairPlan(ctx context.Context, id int64, r geo.Repair, actor string, now time.Time) (*geo.RepairResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Kind == geo.RepairSnap && len(r.Codes) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "codes: name the grids to snap (those of an overlap or beside a gap in the validation report)")
	}
	res := &geo.RepairResult{Kind: r.Kind}
	_, err := db.editPlan(ctx, id, actor, now, "plan.repair", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		var err error
		switch r.Kind {
		case geo.RepairMakeValid:
			err = repairMakeValid(ctx, tx, id, r, res)
		case geo.RepairSnap:
			err = repairSnap(ctx, tx, id, r, res)
		case geo.RepairFillGap:
			err = repairFillGaps(ctx, tx, id, r, now, res)
		case geo.RepairDissolveSliver:
			err = repairSlivers(ctx, tx, id, r, now, res)
		case geo.RepairClipToVillage:
			err = repairCrossings(ctx, tx, id, r, res)
		}
		after := map[string]any{"kind": r.Kind, "changed": res.Changed, "notes": res.Notes}
		return res.Changed, map[string]any{"codes": r.Codes, "at": r.At, "tolerance_m": r.ToleranceM}, after, err
	})
	if err != nil {
		return nil, err
	}
	if len(res.Changed) == 0 && len(res.Notes) == 0 {
		res.Notes = append(res.Notes, "nothing to repair")
	}
	return res, nil
}

func repairMakeValid(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, res *geo.RepairResult) error {
	var codes []string
	if len(r.Codes) > 0 {
		codes = r.Codes
	}
	var code string
	var area float64
	var empty []string
	rows, _ := tx.Query(ctx, q("plan_make_valid"), id, codes)
	_, err := pgx.ForEachRow(rows, []any{&code, &area}, func() error {
		if area <= 0 {
			empty = append(empty, code)
		}
		res.Changed = append(res.Changed, code)
		res.Notes = append(res.Notes, fmt.Sprintf("grid %s made valid: %.2f m²", code, area))
		return nil
	})
	if err != nil {
		return err
	}
	if len(empty) > 0 {
		return geo.Errorf(geo.EINVALID, "grids %s have no area once made valid: redraw or retire them", strings.Join(empty, ", "))
	}
	return nil
}

// snapDegrees converts a snap tolerance in metres to degrees at the
// town's latitude, using the longitude scale (the smaller metres per
// degree), so that every vertex within the tolerance in any direction is
// snapped; north–south the reach is up to 1/cos(latitude) longer.
func snapDegrees(ctx context.Context, tx pgx.Tx, metres float64) (float64, error) {
	var lat float64
	if err := tx.QueryRow(ctx, "SELECT coalesce(ST_Y(ST_Centroid(outline)), 0) FROM town").Scan(&lat); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	return metres / (metresPerDegree * math.Max(math.Cos(lat*math.Pi/180), 0.01)), nil
}

func repairSnap(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, res *geo.RepairResult) error {
	deg, err := snapDegrees(ctx, tx, r.ToleranceM)
	if err != nil {
		return err
	}
	for _, code := range r.Codes {
		if _, err := lockGrid(ctx, tx, id, code); err != nil {
			return err
		}
		var changed bool
		err := tx.QueryRow(ctx, q("plan_snap"), id, code, deg).Scan(&changed)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s has no neighbour within %v m", code, r.ToleranceM))
		case err != nil:
			return err
		case changed:
			res.Changed = append(res.Changed, code)
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s snapped to its neighbours within %v m", code, r.ToleranceM))
		default:
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s already agrees with its neighbours within %v m", code, r.ToleranceM))
		}
	}
	return nil
}

// giveArea gives area (WKB) to the grid of the draft, other than except,
// with which it shares the longest border, and records it in res.
func giveArea(ctx context.Context, tx pgx.Tx, id int64, area []byte, except string, village *string, what string, res *geo.RepairResult) error {
	var code string
	var shared float64
	err := tx.QueryRow(ctx, q("plan_give_area"), id, area, except, village).Scan(&code, &shared)
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Errorf(geo.EINVALID, "%s touches no valid grid: draw a grid over it instead", what)
	} else if err != nil {
		return err
	}
	if !slices.Contains(res.Changed, code) {
		res.Changed = append(res.Changed, code)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s given to grid %s (shared border %.1f m)", what, code, shared))
	return nil
}

func repairFillGaps(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, now time.Time, res *geo.RepairResult) error {
	if err := stagePlan(ctx, tx, id, now); err != nil {
		return err
	}
	var x, y *float64
	if r.At != nil {
		x, y = &r.At[0], &r.At[1]
	}
	rows, err := tx.Query(ctx, q("plan_gaps"), TilingToleranceM2, x, y)
	if err != nil {
		return err
	}
	gaps, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	if len(gaps) == 0 && r.At != nil {
		return geo.Errorf(geo.EINVALID, "at: no gap of more than %v m² covers %v", TilingToleranceM2, *r.At)
	}
	for i, g := range gaps {
		mp, err := decodeWKB(g)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("gap %d of %d (near %.6f, %.6f)", i+1, len(gaps), mp.Bound().Center()[0], mp.Bound().Center()[1])
		if err := giveArea(ctx, tx, id, g, "", nil, what, res); err != nil {
			return err
		}
	}
	return nil
}

func repairSlivers(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, now time.Time, res *geo.RepairResult) error {
	if err := stagePlan(ctx, tx, id, now); err != nil {
		return err
	}
	o := geo.DefaultValidationOptions()
	type sliver struct {
		code string
		wkb  []byte
		area orb.MultiPolygon
	}
	var slivers []sliver
	var code string
	var areaM2 float64
	var width, x, y *float64
	var raw []byte
	rows, _ := tx.Query(ctx, q("check_slivers"), o.SliverM2, o.SliverWidthM)
	_, err := pgx.ForEachRow(rows, []any{&code, &areaM2, &width, &x, &y, &raw}, func() error {
		if len(r.Codes) > 0 && !slices.Contains(r.Codes, code) {
			return nil
		}
		mp, err := decodeWKB(raw)
		if err != nil {
			return err
		}
		if r.At != nil && !planar.MultiPolygonContains(mp, *r.At) {
			return nil
		}
		slivers = append(slivers, sliver{code, slices.Clone(raw), mp})
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range slivers {
		var parts int
		if err := tx.QueryRow(ctx, "SELECT ST_NumGeometries(geom) FROM plan_grids WHERE plan_id = $1 AND code = $2", id, s.code).Scan(&parts); err != nil {
			return err
		}
		if parts < 2 {
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s is a sliver as a whole: merge it into a neighbour or retire it", s.code))
			continue
		}
		if _, err := tx.Exec(ctx, q("plan_take_area"), id, s.code, s.wkb); err != nil {
			return err
		}
		if !slices.Contains(res.Changed, s.code) {
			res.Changed = append(res.Changed, s.code)
		}
		if err := giveArea(ctx, tx, id, s.wkb, s.code, nil, "a sliver of grid "+s.code, res); err != nil {
			return err
		}
	}
	return nil
}

func repairCrossings(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, res *geo.RepairResult) error {
	var codes []string
	if len(r.Codes) > 0 {
		codes = r.Codes
	}
	type crossing struct {
		code    string
		part    []byte
		village *string
	}
	var found []crossing
	var c crossing
	rows, _ := tx.Query(ctx, q("plan_crossings"), id, codes, OverlapToleranceM2)
	if _, err := pgx.ForEachRow(rows, []any{&c.code, &c.part, &c.village}, func() error {
		found = append(found, crossing{c.code, slices.Clone(c.part), c.village})
		return nil
	}); err != nil {
		return err
	}
	for _, c := range found {
		if _, err := tx.Exec(ctx, q("plan_take_area"), id, c.code, c.part); err != nil {
			return err
		}
		if !slices.Contains(res.Changed, c.code) {
			res.Changed = append(res.Changed, c.code)
		}
		if c.village == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("a part of grid %s outside the town was cut off", c.code))
			continue
		}
		what := fmt.Sprintf("the part of grid %s in village %s", c.code, *c.village)
		if err := giveArea(ctx, tx, id, c.part, c.code, c.village, what, res); err != nil {
			return err
		}
	}
	return nil
}

// PlanImpact computes what applying a plan would change; see
// geo.PlanStore.
func (db *DB) PlanImpact(ctx context.Context, id int64, at time.Time) (*geo.Impact, error) {
	var im *geo.Impact
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_get"), id))
		if err != nil {
			return err
		}
		im = &geo.Impact{PlanID: p.ID, BaseGeneration: p.BaseGeneration}
		byCode := map[string]int{}
		var g geo.GridImpact
		var change string
		rows, _ := tx.Query(ctx, q("plan_impact_grids"), id, p.BaseGeneration, at)
		if _, err := pgx.ForEachRow(rows, []any{&g.Code, &change, &g.AreaBeforeM2, &g.AreaAfterM2, &g.HouseholdsBefore, &g.HouseholdsAfter,
			&g.PopulationBefore, &g.PopulationAfter, &g.LeaderBefore, &g.LeaderAfter}, func() error {
			g.Change = geo.GridChange(change)
			byCode[g.Code] = len(im.Grids)
			im.Grids = append(im.Grids, g)
			return nil
		}); err != nil {
			return err
		}
		var m geo.AreaMove
		var h, pop *float64
		rows, _ = tx.Query(ctx, q("plan_impact_moves"), id, p.BaseGeneration, TilingToleranceM2)
		if _, err := pgx.ForEachRow(rows, []any{&m.From, &m.To, &m.AreaM2, &h, &pop}, func() error {
			m.Households, m.Population = orZero(h), orZero(pop)
			im.Moves = append(im.Moves, m)
			if i, ok := byCode[m.From]; ok {
				im.Grids[i].LostM2 += m.AreaM2
				im.Grids[i].HouseholdsOut += m.Households
				im.Grids[i].PopulationOut += m.Population
			}
			if i, ok := byCode[m.To]; ok {
				im.Grids[i].GainedM2 += m.AreaM2
				im.Grids[i].HouseholdsIn += m.Households
				im.Grids[i].PopulationIn += m.Population
			}
			return nil
		}); err != nil {
			return err
		}
		if im.Attachments, err = attachmentChanges(ctx, tx, p, at); err != nil {
			return err
		}
		var open []string
		for _, s := range geo.Statuses {
			if s.Open() {
				open = append(open, string(s))
			}
		}
		var inc geo.IncidentMove
		var status string
		rows, _ = tx.Query(ctx, q("plan_impact_incidents"), id, p.BaseGeneration, open)
		_, err = pgx.ForEachRow(rows, []any{&inc.Number, &status, &inc.Location[0], &inc.Location[1], &inc.Routed, &inc.Before, &inc.After}, func() error {
			inc.Status = geo.Status(status)
			im.Incidents = append(im.Incidents, inc)
			return nil
		})
		return err
	})
	return im, planError(err)
}

func orZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// attachmentChanges lists the attachments applying p at time at ends and
// starts; apply writes exactly what impact shows.
func attachmentChanges(ctx context.Context, tx pgx.Tx, p *geo.Plan, at time.Time) ([]geo.AttachmentChange, error) {
	var out []geo.AttachmentChange
	var c geo.AttachmentChange
	var kind string
	rows, _ := tx.Query(ctx, q("plan_attachment_changes"), p.ID, p.BaseGeneration, at)
	_, err := pgx.ForEachRow(rows, []any{&c.Detach, &c.AttachmentID, &c.OrganizationID, &kind, &c.Name, &c.GridCode, &c.Via}, func() error {
		c.Kind = geo.OrgKind(kind)
		out = append(out, c)
		c.Via = nil
		return nil
	})
	return out, err
}

// ApplyPlan writes a draft as a new generation; see geo.PlanStore.
func (db *DB) ApplyPlan(ctx context.Context, id, ifMatch int64, actor string, now time.Time) (*geo.Plan, error) {
	var applied *geo.Plan
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		// The same lock as ImportTown: two writers of generations never
		// interleave, and the base is checked under it.
		if _, err := tx.Exec(ctx, q("generation_lock")); err != nil {
			return err
		}
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_lock"), id))
		if err != nil {
			return err
		}
		if p.Status != geo.PlanDraft {
			return geo.Errorf(geo.ECONFLICT, "plan %d was applied already, as generation %d", p.ID, p.AppliedGeneration)
		}
		var cur int64
		var curAt time.Time
		if err := tx.QueryRow(ctx, "SELECT id, created_at FROM generations ORDER BY id DESC LIMIT 1").Scan(&cur, &curAt); err != nil {
			return err
		}
		if ifMatch != p.BaseGeneration || cur != p.BaseGeneration {
			return &geo.StaleBaseError{Plan: p.ID, Base: p.BaseGeneration, Current: cur, IfMatch: ifMatch}
		}
		// Generations are ordered in time (history finds the generation in
		// force at t by created_at): a replica whose clock lags writes at
		// the previous generation's instant rather than before it.
		if now.Before(curAt) {
			now = curAt
		}
		if err := stagePlan(ctx, tx, id, now); err != nil {
			return err
		}
		report, err := validateStaged(ctx, tx, geo.DefaultValidationOptions(), false)
		if err != nil {
			return err
		}
		report.PlanID, report.Generation = p.ID, p.BaseGeneration
		if blocking, _ := report.Count(); blocking > 0 {
			return &geo.BlockingError{Report: report}
		}
		attachments, err := attachmentChanges(ctx, tx, p, now)
		if err != nil {
			return err
		}
		var gen int64
		note := fmt.Sprintf("plan %d", p.ID)
		if p.Note != "" {
			note += ": " + p.Note
		}
		if err := tx.QueryRow(ctx, q("generation_new"), now, actor, note).Scan(&gen); err != nil {
			return err
		}
		if err := runSteps(ctx, tx, step{"plan_apply_villages", []any{id}}); err != nil {
			return err
		}
		if err := writeGridVersions(ctx, tx, gen, now); err != nil {
			return err
		}
		var detach []int64
		var attachOrgs []int64
		var attachCodes []string
		for _, a := range attachments {
			if a.Detach {
				detach = append(detach, a.AttachmentID)
			} else {
				attachOrgs, attachCodes = append(attachOrgs, a.OrganizationID), append(attachCodes, a.GridCode)
			}
		}
		err = runSteps(ctx, tx,
			step{"plan_apply_people", []any{id, now}},
			step{"plan_apply_end_assignments", []any{id, p.BaseGeneration, now}},
			step{"plan_apply_leaders", []any{id, now}},
			step{"plan_apply_detach", []any{detach, now}},
			step{"plan_apply_attach", []any{attachOrgs, attachCodes, now}},
			step{"plan_mark_applied", []any{id, actor, now, gen}})
		if err != nil {
			return err
		}
		if err := summarise(ctx, tx, p); err != nil {
			return err
		}
		p.Status, p.AppliedBy, p.AppliedAt, p.AppliedGeneration, p.UpdatedAt = geo.PlanApplied, actor, now, gen, now
		after := map[string]any{"generation": gen, "base_generation": p.BaseGeneration, "summary": p.Summary,
			"attachments_started": len(attachOrgs), "attachments_ended": len(detach)}
		if err := audit(ctx, tx, now, actor, "plan.apply", planTarget(id), nil, after, ""); err != nil {
			return err
		}
		// NOTIFY is delivered at COMMIT, so it is last: the crash test
		// knows that a transaction idle after it has done all but commit.
		if _, err := tx.Exec(ctx, q("notify"), fmt.Sprint(gen)); err != nil {
			return err
		}
		applied = p
		return pauseBeforeCommit(ctx)
	})
	if err != nil {
		return nil, planError(err)
	}
	return applied, nil
}

// pauseBeforeCommit waits for the duration named by ApplyPauseEnv, if
// any: the crash test kills the server during this wait, inside the
// transaction, to prove that nothing of the apply survives.
func pauseBeforeCommit(ctx context.Context) error {
	d, err := time.ParseDuration(os.Getenv(ApplyPauseEnv))
	if err != nil || d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// planError passes domain errors through, turns a refusal of PostGIS (a
// topology error on a draft's geometries) into EINVALID without its text,
// and a lost database into EUNAVAILABLE.
func planError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "XX000": // PostGIS reports GEOS failures as internal errors
			return geo.Errorf(geo.EINVALID, "PostGIS could not compute this on the draft's geometries (a topology error): repair the grids concerned (make_valid, snap) and retry")
		case pgErr.Code == "23505" && pgErr.ConstraintName == "plan_grids_pkey":
			return geo.Errorf(geo.ECONFLICT, "the grid code is already in the draft")
		case pgErr.Code == "23P01" && pgErr.ConstraintName == "one_leader_per_grid":
			return geo.Errorf(geo.ECONFLICT, "a grid of the plan has a leader appointed from a later date: end that appointment first")
		}
	}
	return unavailable(err)
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
