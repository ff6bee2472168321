package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/coverage"
)

// CheckCoverage checks td as a coverage, as ImportTown does before it
// writes, and returns every finding, located, in the same words and order
// as checkNext's coverage checks: invalid geometries (PostGIS's reasons
// and locations, from ST_IsValidDetail), overlaps of grids and of
// villages, grids outside their village, and where grids and villages
// fail to tile the town outline. The overlays run in Go
// (coverage.CheckLayer), while PostgreSQL checks validity; PostGIS's
// overlays of the same checks take minutes on a province's layer.
// It writes nothing. Returns EUNAVAILABLE when the database cannot be
// reached.
func (db *DB) CheckCoverage(ctx context.Context, td *geo.TownData) ([]geo.Finding, error) {
	layer := layerOf(td)
	var out []geo.Finding
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("coverage_scale_stage")); err != nil {
			return err
		}
		rows := make([][]any, 0, 1+len(td.Villages)+len(td.Grids))
		add := func(kind, code string, mp orb.MultiPolygon) error {
			w, err := encodeWKB(mp)
			rows = append(rows, []any{kind, code, w})
			return err
		}
		if err := add("town", td.Town.Code, td.Town.Outline); err != nil {
			return err
		}
		for _, v := range td.Villages {
			if err := add("village", v.Code, v.Outline); err != nil {
				return err
			}
		}
		for _, g := range td.Grids {
			if err := add("grid", g.Code, g.Geometry); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"coverage_scale"}, []string{"layer", "code", "wkb"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		rows = nil
		var err error
		out, err = checkInGo(ctx, tx, q("coverage_scale_invalid"), layer)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// checkNextInGo is checkNext's coverage checks with the overlays in Go:
// it reads the staged next_* layer and returns the same findings (invalid
// geometries, overlaps, grids outside their village, tiling), in the same
// order. It needs no ogeom: next_* may leave out the generated column
// that makes every geometry valid in PostGIS, which is what takes most of
// the time of the PostGIS checks on a large layer.
func checkNextInGo(ctx context.Context, tx pgx.Tx) ([]geo.Finding, error) {
	l := &coverage.Layer{}
	var kind, code string
	var village *string
	var wkb []byte
	rows, _ := tx.Query(ctx, q("coverage_scale_next_layer"))
	_, err := pgx.ForEachRow(rows, []any{&kind, &code, &village, &wkb}, func() error {
		mp, err := decodeWKB(wkb)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, code, err)
		}
		switch kind {
		case "town":
			l.Outline = mp
		case "village":
			l.Villages = append(l.Villages, coverage.Feature{Code: code, Geometry: mp})
		default:
			f := coverage.Feature{Code: code, Geometry: mp}
			if village != nil {
				f.Village = *village
			}
			l.Grids = append(l.Grids, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return checkInGo(ctx, tx, q("check_invalid"), l)
}

// checkInGo runs the query of invalid geometries (layer, code, reason, x,
// y) in PostgreSQL while CheckLayer runs in Go, and returns the invalid
// geometries followed by CheckLayer's findings.
func checkInGo(ctx context.Context, tx pgx.Tx, invalidSQL string, l *coverage.Layer) ([]geo.Finding, error) {
	done := make(chan []geo.Finding, 1)
	go func() {
		done <- coverage.CheckLayer(l, coverage.LayerOptions{OverlapM2: OverlapToleranceM2, TilingM2: TilingToleranceM2})
	}()
	var out []geo.Finding
	var layer, code, reason string
	var x, y *float64
	rows, _ := tx.Query(ctx, invalidSQL)
	_, err := pgx.ForEachRow(rows, []any{&layer, &code, &reason, &x, &y}, func() error {
		out = append(out, geo.Finding{Kind: geo.FindInvalid, Layer: layer, Codes: []string{code},
			Reason: "invalid geometry: " + reason, Location: point(x, y)})
		return nil
	})
	overlays := <-done
	if err != nil {
		return nil, err
	}
	return append(out, overlays...), nil
}

// layerOf returns td as the layer CheckLayer checks.
func layerOf(td *geo.TownData) *coverage.Layer {
	l := &coverage.Layer{Outline: td.Town.Outline}
	for _, v := range td.Villages {
		l.Villages = append(l.Villages, coverage.Feature{Code: v.Code, Geometry: v.Outline})
	}
	for _, g := range td.Grids {
		l.Grids = append(l.Grids, coverage.Feature{Code: g.Code, Village: g.VillageCode, Geometry: g.Geometry})
	}
	return l
}
