package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps the base-map setting: one row, created by the migration.

// scanBaseMap reads a basemap_settings row.
func scanBaseMap(row pgx.CollectableRow) (geo.BaseMap, error) {
	var b geo.BaseMap
	var provider string
	var updated *time.Time
	err := row.Scan(&provider, &b.URL, &b.KeySealed, &b.KeyHint, &b.Layer, &b.File, &b.CRS, &b.Attribution, &b.MaxZoom,
		&updated, &b.UpdatedBy)
	b.Provider = geo.BaseMapProvider(provider)
	if updated != nil {
		b.UpdatedAt = *updated
	}
	return b, err
}

// BaseMap returns the base-map setting.
func (db *DB) BaseMap(ctx context.Context) (geo.BaseMap, error) {
	rows, _ := db.Pool.Query(ctx, q("basemap_get"))
	b, err := pgx.CollectExactlyOneRow(rows, scanBaseMap)
	if err != nil {
		return geo.BaseMap{}, unavailable(err)
	}
	return b, nil
}

// SetBaseMap locks the setting, lets change edit it and stores it with an
// audit entry (without the key), in one transaction.
func (db *DB) SetBaseMap(ctx context.Context, actor string, at time.Time, change func(*geo.BaseMap) error) (geo.BaseMap, error) {
	var out geo.BaseMap
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q("basemap_get_for_update"))
		b, err := pgx.CollectExactlyOneRow(rows, scanBaseMap)
		if err != nil {
			return err
		}
		before := map[string]any{"provider": b.Provider, "url": b.URL, "layer": b.Layer, "file": b.File, "key_hint": b.KeyHint}
		if err := change(&b); err != nil {
			return err
		}
		b.UpdatedAt, b.UpdatedBy = at, actor
		if _, err := tx.Exec(ctx, q("basemap_update"), string(b.Provider), b.URL, b.KeySealed, b.KeyHint, b.Layer, b.File, b.CRS,
			b.Attribution, b.MaxZoom, at, actor); err != nil {
			return err
		}
		out = b
		return audit(ctx, tx, at, actor, "basemap.update", "basemap", before,
			map[string]any{"provider": b.Provider, "url": b.URL, "layer": b.Layer, "file": b.File, "key_hint": b.KeyHint}, "")
	})
	if err != nil {
		return geo.BaseMap{}, unavailable(err)
	}
	return out, nil
}
