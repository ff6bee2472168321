package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// GenerationAt returns the generation in force at t; ENOTFOUND before the
// first one.
func (db *DB) GenerationAt(ctx context.Context, t time.Time) (int64, error) {
	var gen int64
	if err := db.Pool.QueryRow(ctx, q("generation_at"), t).Scan(&gen); err != nil {
		return 0, unavailable(err)
	}
	if gen == 0 {
		return 0, geo.Errorf(geo.ENOTFOUND, "no grids were in force at %s: the first generation is later", t.UTC().Format(time.RFC3339))
	}
	return gen, nil
}

// Generations lists every generation, newest first, with its grid count
// and how many grid versions it introduced and retired.
func (db *DB) Generations(ctx context.Context) ([]geo.GenerationSummary, error) {
	rows, _ := db.Pool.Query(ctx, q("generations_list"))
	var out []geo.GenerationSummary
	var g geo.GenerationSummary
	_, err := pgx.ForEachRow(rows, []any{&g.ID, &g.CreatedAt, &g.CreatedBy, &g.Note, &g.TownCode, &g.Grids, &g.Introduced, &g.Retired}, func() error {
		out = append(out, g)
		return nil
	})
	return out, unavailable(err)
}

// GridHistory returns every version of a grid, oldest first; ENOTFOUND
// when the code never existed.
func (db *DB) GridHistory(ctx context.Context, code string) ([]geo.GridVersion, error) {
	rows, _ := db.Pool.Query(ctx, q("grid_history"), code)
	var out []geo.GridVersion
	var v geo.GridVersion
	var raw []byte
	var validTo *time.Time
	_, err := pgx.ForEachRow(rows, []any{&v.Code, &v.Name, &v.VillageCode, &v.Households, &v.Population, &raw,
		&v.Generation, &v.RetiredGeneration, &v.ValidFrom, &validTo}, func() error {
		var err error
		if v.Geometry, err = decodeWKB(raw); err != nil {
			return err
		}
		v.ValidTo = time.Time{}
		if validTo != nil {
			v.ValidTo = *validTo
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if len(out) == 0 {
		return nil, geo.Errorf(geo.ENOTFOUND, "grid %s never existed", code)
	}
	return out, nil
}
