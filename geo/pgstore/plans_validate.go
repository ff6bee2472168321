package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps the checks of a draft (ValidatePlan) and of the current
// generation (CoverageReport): both stage a layer into next_* and run
// checkNext on it, in a transaction that is always rolled back.

// stagePlan fills next_* with plan p's draft, leaders as at time at: its
// grids and villages, and the outline of its town (of every town for a
// plan of the whole deployment). The checks then see that town alone.
func stagePlan(ctx context.Context, tx pgx.Tx, p *geo.Plan, at time.Time) error {
	return stageNext(ctx, tx, step{"next_from_town", []any{p.Town}}, step{"next_from_plan_villages", []any{p.ID}},
		step{"next_from_plan_grids", []any{p.ID, at}})
}

// validateStaged checks the staged next_* layer with the warnings of opts.
func validateStaged(ctx context.Context, tx pgx.Tx, opts geo.ValidationOptions, villageTiling bool) (*geo.ValidationReport, error) {
	findings, err := checkNext(ctx, tx, checkOptions{warnings: &opts, villageTiling: villageTiling})
	if err != nil {
		return nil, err
	}
	r := &geo.ValidationReport{Options: opts, Findings: findings}
	err = tx.QueryRow(ctx, q("next_grid_count")).Scan(&r.Grids)
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
		if err := stagePlan(ctx, tx, p, at); err != nil {
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
func (db *DB) CoverageReport(ctx context.Context, opts geo.ValidationOptions, town string, at time.Time) (*geo.ValidationReport, error) {
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
		err := stageNext(ctx, tx, step{"next_from_town", []any{town}}, step{"next_from_current_villages", []any{town}},
			step{"next_from_current_grids", []any{at, town}})
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
