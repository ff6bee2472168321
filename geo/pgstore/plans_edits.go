package pgstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps the edits of a draft: each runs in editPlan's
// transaction (lock the draft, edit, bump the revision, audit), except
// ReplacePlanLayer, which replaces every grid at once from a layer file.

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

// lockGrid locks grid code of draft p; EINVALID naming "code" when the
// code is of another town than p's, ENOTFOUND when the draft has no such
// grid.
func lockGrid(ctx context.Context, tx pgx.Tx, p *geo.Plan, code string) (*draftGrid, error) {
	if err := p.CheckInTown("code", code); err != nil {
		return nil, err
	}
	id := p.ID
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

// villageInPlan refuses, as EINVALID located at where, a village that is
// not in draft p: of another town, or of none.
func villageInPlan(ctx context.Context, tx pgx.Tx, p *geo.Plan, where, village string) error {
	if err := p.CheckInTown(where, village); err != nil {
		return err
	}
	var ok bool
	if err := tx.QueryRow(ctx, q("plan_village_exists"), p.ID, village).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return geo.Invalidf(where, "village %s is not in the town", village)
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
		if err := canonicalGrids(ctx, tx, p, touched); err != nil {
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

// canonicalGrids stores the grids codes of draft p (all when codes is nil)
// as the rest of the system expects them: a grid whose geometry is its
// base's within geo.GeometryToleranceDeg gets the base's geometry back, bit
// for bit; any other is forced counter-clockwise (exterior rings
// counter-clockwise, holes clockwise, as RFC 7946 says), whatever GEOS or
// the file made of it.
func canonicalGrids(ctx context.Context, tx pgx.Tx, p *geo.Plan, codes []string) error {
	if codes != nil && len(codes) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, q("plan_canonical"), p.ID, p.BaseGeneration, codes, geo.GeometryToleranceDeg, p.Town)
	return err
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
		g, err := lockGrid(ctx, tx, p, code)
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
		if err := p.CheckInTown("code", g.Code); err != nil {
			return nil, nil, nil, err
		}
		if err := villageInPlan(ctx, tx, p, "village_code", g.VillageCode); err != nil {
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
		g, err := lockGrid(ctx, tx, p, code)
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
	line, err := encodeLineWKB(r.Line)
	if err != nil {
		return nil, err
	}
	return db.editPlan(ctx, id, actor, now, "plan.split", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		g, err := lockGrid(ctx, tx, p, r.Code)
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
		for i, c := range r.Codes {
			if err := p.CheckInTown(fmt.Sprintf("codes[%d]", i), c); err != nil {
				return nil, nil, nil, err
			}
		}
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
		g, err := lockGrid(ctx, tx, p, r.Code)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := g.requireValid("moving it"); err != nil {
			return nil, nil, nil, err
		}
		if err := villageInPlan(ctx, tx, p, "village", r.Village); err != nil {
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
		if _, err := lockGrid(ctx, tx, p, code); err != nil {
			return nil, nil, nil, err
		}
		_, err := tx.Exec(ctx, q("plan_leader_set"), id, code, leader.Name, leader.Phone)
		// The phone is personal data: the audit log keeps the name.
		return []string{code}, nil, map[string]any{"code": code, "leader": leader.Name}, err
	})
}

// ReplacePlanLayer replaces a draft's grids by a layer; see geo.PlanStore.
func (db *DB) ReplacePlanLayer(ctx context.Context, id int64, grids []geo.NewPlanGrid, mode geo.LayerMode, actor string, now time.Time) (*geo.Plan, error) {
	if mode == "" {
		mode = geo.LayerReplaceAll
	}
	if _, err := geo.ParseLayerMode(string(mode)); err != nil {
		return nil, err
	}
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
		// A layer of a town's plan carries that town's grids only: the
		// grids of another town are refused, one problem each, and not
		// staged (their villages would be unknown too).
		inTown := rows[:0:0]
		for _, row := range rows {
			code := row[0].(string)
			if why := p.OutsideTown(code); why != "" {
				problems = append(problems, geo.Problem{Where: seen[code], Reason: why})
				continue
			}
			inTown = append(inTown, row)
		}
		if _, err := tx.Exec(ctx, q("plan_layer_stage")); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"plan_layer"},
			[]string{"code", "name", "village_code", "households", "population", "wkb"}, pgx.CopyFromRows(inTown)); err != nil {
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
			step{"plan_layer_delete", []any{id, mode == geo.LayerReplaceVillages}},
			step{"plan_layer_update", []any{id}},
			step{"plan_layer_insert", []any{id}},
			step{"plan_leaders_orphaned", []any{id}})
		if err != nil {
			return err
		}
		if err := canonicalGrids(ctx, tx, p, slices.Collect(maps.Keys(seen))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("plan_touch"), id, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "plan.import", planTarget(id), nil, map[string]any{"grids": len(grids), "mode": mode}, "")
	})
	if err != nil {
		return nil, planError(err)
	}
	return db.PlanHeader(ctx, id)
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
