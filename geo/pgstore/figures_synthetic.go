package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// AddSyntheticYear adds n synthetic incidents over the demo year, with
// ratings, and n/5 entries of the visit log, for the figures' benchmark
// (BENCHMARKS.md): the same rows every time for the same town and n. It is
// for benchmark databases only.
func (db *DB) AddSyntheticYear(ctx context.Context, n int) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, name := range []string{"figures_synthetic_seed", "figures_synthetic_incidents", "figures_synthetic_ratings", "figures_synthetic_visits"} {
			args := []any{}
			if name == "figures_synthetic_incidents" || name == "figures_synthetic_visits" {
				args = append(args, n)
			}
			if _, err := tx.Exec(ctx, q(name), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	_, err = db.Pool.Exec(ctx, q("figures_synthetic_analyze"))
	return unavailable(err)
}
