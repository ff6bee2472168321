package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/coverage"
)

// CheckBothWays stages td as ImportTown does and returns checkNext's
// findings (the overlays in PostGIS) and checkNextInGo's (in Go), in a
// transaction that is rolled back.
func (db *DB) CheckBothWays(ctx context.Context, td *geo.TownData) (inPostGIS, inGo []geo.Finding, err error) {
	return db.CheckBothWaysWith(ctx, td, nil, false)
}

// CheckBothWaysWith is CheckBothWays with the checks of a plan: the
// warnings of w when not nil (no leader is checked: an import's staging
// has none), the village tiling when villageTiling. inGo then holds the
// coverage findings followed by those.
func (db *DB) CheckBothWaysWith(ctx context.Context, td *geo.TownData, w *geo.ValidationOptions, villageTiling bool) (inPostGIS, inGo []geo.Finding, err error) {
	errRollback := errors.New("rollback")
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := stageTown(ctx, tx, td); err != nil {
			return err
		}
		if err := stageNext(ctx, tx, step{name: "next_from_import"}); err != nil {
			return err
		}
		opts := checkOptions{warnings: w, villageTiling: villageTiling, overlaysInPostGIS: true}
		if inPostGIS, err = checkNext(ctx, tx, opts); err != nil {
			return err
		}
		opts.overlaysInPostGIS = false
		cov, more, err := checkNextInGo(ctx, tx, opts)
		if err != nil {
			return err
		}
		inGo = append(cov, more...)
		return errRollback
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return inPostGIS, inGo, err
}

// DecideDoubts runs decideDoubts on l in a transaction and merges the
// findings into given as checkInGo does.
func (db *DB) DecideDoubts(ctx context.Context, l *coverage.Layer, doubts []coverage.Doubt, given []geo.Finding) ([]geo.Finding, error) {
	var out []geo.Finding
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		decided, err := decideDoubts(ctx, tx, l, doubts)
		out = mergeOverlays(given, decided)
		return err
	})
	return out, err
}

// WithoutCrossCheck runs fn with the overlays in Go alone, as a server
// runs them: what a benchmark times.
func WithoutCrossCheck(fn func()) {
	saved := crossCheck
	crossCheck = nil
	defer func() { crossCheck = saved }()
	fn()
}

// EncodeWKB is encodeWKB, for seeding a benchmark's database.
func EncodeWKB(mp orb.MultiPolygon) ([]byte, error) { return encodeWKB(mp) }
