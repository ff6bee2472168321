package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// This file keeps plans (geo.PlanStore): drafts of one town (or of every
// town) copied from its current generation and read back with their
// grids. The rest of a plan's life is
// in the files beside it: plans_edits.go edits a draft with PostGIS (split,
// merge, move, a whole layer), plans_validate.go checks it with the same
// coverage checks as an import (checkNext over next_*), plans_repair.go
// repairs what the checks find, and plans_apply.go previews (impact) and
// applies it as one generation by the same versioning as an import
// (writeGridVersions), under the same generation lock.

var _ geo.PlanStore = (*DB)(nil)

// CreatePlan opens a draft of a town on its current generation; see
// geo.PlanStore.
func (db *DB) CreatePlan(ctx context.Context, np geo.NewPlan, actor string, now time.Time) (*geo.Plan, error) {
	if err := np.Check(); err != nil {
		return nil, err
	}
	var id int64
	// Repeatable read: the town's generation and the grids copied are read
	// from one snapshot, so they agree even while a plan of the town is
	// being applied, and no lock is needed (none that another town's
	// apply would wait for).
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		var from *geo.Plan
		if np.Rebase > 0 {
			var err error
			if from, err = scanPlan(tx.QueryRow(ctx, q("plan_get"), np.Rebase)); err != nil {
				return err
			}
			if from.Status != geo.PlanDraft {
				return geo.Errorf(geo.ECONFLICT, "plan %d was applied as generation %d: there is nothing to rebase", from.ID, from.AppliedGeneration)
			}
		}
		town, err := planTown(ctx, tx, np, from)
		if err != nil {
			return err
		}
		var gen int64
		if err := tx.QueryRow(ctx, q("plan_base_generation"), town).Scan(&gen); err != nil {
			return err
		}
		if gen == 0 {
			return geo.Errorf(geo.ENOTFOUND, "the database holds no town yet: import one with `wangge import`")
		}
		if err := tx.QueryRow(ctx, q("plan_create"), np.Note, gen, np.Rebase, actor, now, town).Scan(&id); err != nil {
			return err
		}
		if err := runSteps(ctx, tx, step{"plan_copy_grids", []any{id, town}}, step{"plan_copy_villages", []any{id, town}}); err != nil {
			return err
		}
		after := map[string]any{"base_generation": gen, "note": np.Note}
		if town != "" {
			after["town"] = town
		}
		if from != nil {
			err := runSteps(ctx, tx,
				step{"plan_rebase_stage", []any{from.ID, from.BaseGeneration, from.Town}},
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
	return db.PlanHeader(ctx, id)
}

// planTown resolves the town a new plan redraws: np.Town, which must be a
// town of the deployment; else the town of the plan it rebases (from);
// else the deployment's only town; else "" (every town). A rebase of a
// plan of another town is refused, naming "rebase".
func planTown(ctx context.Context, tx pgx.Tx, np geo.NewPlan, from *geo.Plan) (string, error) {
	rows, _ := tx.Query(ctx, q("plan_towns"))
	towns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	town := np.Town
	switch {
	case town != "" && !slices.Contains(towns, town):
		return "", geo.Invalidf("town", "%s is not a town of this deployment (%s)", town, townList(towns))
	case from != nil && town != "" && from.Town != town:
		return "", geo.Invalidf("rebase", "plan %d redraws %s, not town %s: a plan is rebased onto its own town", from.ID, townOrAll(from.Town), town)
	case from != nil:
		return from.Town, nil
	case town == "" && len(towns) == 1:
		return towns[0], nil
	}
	return town, nil
}

// townList names the towns for a message, the first few of many.
func townList(towns []string) string {
	switch n := len(towns); {
	case n == 0:
		return "it holds no town yet"
	case n <= 5:
		return "its towns: " + strings.Join(towns, ", ")
	default:
		return fmt.Sprintf("its %d towns: %s, …", n, strings.Join(towns[:5], ", "))
	}
}

// townOrAll names a plan's town for a message.
func townOrAll(town string) string {
	if town == "" {
		return "every town"
	}
	return "town " + town
}

// Plans lists plans, newest first; see geo.PlanStore.
func (db *DB) Plans(ctx context.Context, status geo.PlanStatus, town string) ([]geo.Plan, error) {
	var out []geo.Plan
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q("plans_list"), string(status), town)
		if err != nil {
			return err
		}
		if out, err = appendRows([]geo.Plan{}, rows, byValue(scanPlan)); err != nil {
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

// PlanHeader reads a plan with its summary; see geo.PlanStore.
func (db *DB) PlanHeader(ctx context.Context, id int64) (*geo.Plan, error) {
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
	return tx.QueryRow(ctx, q("plan_summary"), p.ID, p.BaseGeneration, p.Town).Scan(&s.Unchanged, &s.Modified, &s.Added, &s.Retired, &s.Leaders)
}

// scanPlan reads a row of plan_get, plan_lock or plans_list; a missing
// plan is ENOTFOUND.
func scanPlan(row pgx.Row) (*geo.Plan, error) {
	p := &geo.Plan{}
	var status string
	var appliedAt *time.Time
	err := row.Scan(&p.ID, &p.Note, &p.Town, &p.BaseGeneration, &status, &p.RebasedFrom, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt,
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
	rows, _ := tx.Query(ctx, q("plan_view"), p.ID, p.BaseGeneration, at, codes, p.Town)
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
