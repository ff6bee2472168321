package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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

// crossCheck, when set (by the package's tests), makes checkNext run the
// overlays in PostGIS too and fail unless they find what Go found: every
// import, plan validation and coverage report of the tests is then also a
// comparison with the oracle.
var crossCheck func(inGo, inPostGIS []geo.Finding) error

// checkNextInGo is checkNext's coverage checks with the overlays in Go:
// it returns the findings of checkNextInPostGIS (invalid geometries,
// overlaps, grids outside their village, tiling), in the same order. The
// reasons a geometry is invalid are PostGIS's (check_invalid), found while
// CheckLayer runs. It needs no ogeom: CheckLayer makes the geometries
// valid itself, and making them valid in PostGIS is what took most of the
// time of the PostGIS checks on a large layer. l is the staged layer when
// the caller holds it in memory (an import); nil reads it from next_*.
func checkNextInGo(ctx context.Context, tx pgx.Tx, l *coverage.Layer) ([]geo.Finding, error) {
	if l != nil {
		return checkInGo(ctx, tx, q("check_invalid"), l)
	}
	l = &coverage.Layer{}
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
// geometries followed by CheckLayer's findings, with the overlays Go left
// in doubt decided by PostGIS.
func checkInGo(ctx context.Context, tx pgx.Tx, invalidSQL string, l *coverage.Layer) ([]geo.Finding, error) {
	type result struct {
		findings []geo.Finding
		doubts   []coverage.Doubt
	}
	done := make(chan result, 1)
	go func() {
		f, d := coverage.CheckLayerDoubts(l, coverage.LayerOptions{OverlapM2: OverlapToleranceM2, TilingM2: TilingToleranceM2})
		done <- result{f, d}
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
	r := <-done
	if err != nil {
		return nil, err
	}
	decided, err := decideDoubts(ctx, tx, l, r.doubts)
	if err != nil {
		return nil, err
	}
	return append(out, mergeOverlays(r.findings, decided)...), nil
}

// decideDoubts overlays the two geometries of each doubt in PostGIS
// (coverage_scale_doubts) and returns the findings of those over the
// tolerance, worded as checkNextInPostGIS words them.
func decideDoubts(ctx context.Context, tx pgx.Tx, l *coverage.Layer, doubts []coverage.Doubt) ([]geo.Finding, error) {
	if len(doubts) == 0 {
		return nil, nil
	}
	n := len(doubts)
	kinds, layers, as, bs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	was, wbs := make([][]byte, n), make([][]byte, n)
	for i, d := range doubts {
		fa, fb := l.Grids, l.Grids
		switch {
		case d.Kind == geo.FindVillageCrossing:
			fb = l.Villages
		case d.Layer == "village":
			fa, fb = l.Villages, l.Villages
		}
		a, b := fa[d.A], fb[d.B]
		if d.Kind == geo.FindOverlap && b.Code < a.Code {
			a, b = b, a
		}
		var err error
		if was[i], err = encodeWKB(a.Geometry); err != nil {
			return nil, err
		}
		if wbs[i], err = encodeWKB(b.Geometry); err != nil {
			return nil, err
		}
		kinds[i], layers[i], as[i], bs[i] = string(d.Kind), d.Layer, a.Code, b.Code
	}
	var out []geo.Finding
	var kind, layer, a, b string
	var area float64
	var x, y *float64
	var wkb []byte
	rows, _ := tx.Query(ctx, q("coverage_scale_doubts"), OverlapToleranceM2, kinds, layers, as, bs, was, wbs)
	_, err := pgx.ForEachRow(rows, []any{&kind, &layer, &a, &b, &area, &x, &y, &wkb}, func() error {
		var f geo.Finding
		if geo.FindingKind(kind) == geo.FindOverlap {
			f = overlapFinding(layer, a, b, area, point(x, y))
		} else {
			f = crossingFinding(a, b, area, point(x, y))
		}
		var err error
		f.Area, err = decodeWKB(wkb)
		out = append(out, f)
		return err
	})
	return out, err
}

// mergeOverlays puts the decided doubts among CheckLayer's findings, in
// check_overlaps' and check_outside_village's order: overlaps of grids,
// then of villages, by codes; grids outside their village by code; then
// the rest as they were.
func mergeOverlays(findings, decided []geo.Finding) []geo.Finding {
	if len(decided) == 0 {
		return findings
	}
	group := func(f geo.Finding) int {
		switch {
		case f.Kind == geo.FindOverlap && f.Layer == "grid":
			return 0
		case f.Kind == geo.FindOverlap:
			return 1
		case f.Kind == geo.FindVillageCrossing:
			return 2
		}
		return 3
	}
	out := append(slices.Clone(findings), decided...)
	slices.SortStableFunc(out, func(x, y geo.Finding) int {
		gx, gy := group(x), group(y)
		if gx != gy || gx == 3 {
			return cmp.Compare(gx, gy)
		}
		return slices.Compare(x.Codes, y.Codes)
	})
	return out
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
