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
		r, err := checkInGo(ctx, tx, q("coverage_scale_invalid"), layer,
			coverage.LayerOptions{OverlapM2: OverlapToleranceM2, TilingM2: TilingToleranceM2})
		out = r.cov
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

// checkNextInGo is checkNext's checks with the overlays in Go: it returns
// the findings of checkNextInPostGIS (invalid geometries, overlaps, grids
// outside their village, tiling), in the same order, and those of
// checkMoreInPostGIS (the village tiling and the warnings that opts asks
// for). The reasons a geometry is invalid are PostGIS's: an import's
// (opts.layer, the staged layer the caller holds in memory; it asks for
// nothing more) from check_invalid while coverage.Check runs; else from
// ST_IsValidDetail as the layer is read from next_*, and Check then
// overlays the valid geometries as given. It needs no ogeom: Check makes
// the invalid geometries valid itself, and making them valid in PostGIS
// is what took most of the time of the PostGIS checks on a large layer.
func checkNextInGo(ctx context.Context, tx pgx.Tx, opts checkOptions) (cov, more []geo.Finding, err error) {
	lo := coverage.LayerOptions{OverlapM2: OverlapToleranceM2, TilingM2: TilingToleranceM2, VillageTiling: opts.villageTiling}
	if w := opts.warnings; w != nil {
		lo.Slivers = &coverage.SliverOptions{M2: w.SliverM2, WidthM: w.SliverWidthM}
		lo.Points = true
	}
	if opts.layer != nil && !lo.VillageTiling && lo.Slivers == nil {
		r, err := checkInGo(ctx, tx, q("check_invalid"), opts.layer, lo)
		if err != nil {
			return nil, nil, err
		}
		return r.cov, nil, nil
	}
	l := &coverage.Layer{}
	var invalid []geo.Finding
	var households []int
	var hasLeader []*bool
	var kind, code string
	var village, reason *string
	var wkb []byte
	var hh int
	var leader *bool
	var valid bool
	var x, y *float64
	rows, _ := tx.Query(ctx, q("coverage_scale_next_layer"))
	_, err = pgx.ForEachRow(rows, []any{&kind, &code, &village, &wkb, &hh, &leader, &valid, &reason, &x, &y}, func() error {
		mp, err := decodeWKB(wkb)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, code, err)
		}
		if !valid {
			r := ""
			if reason != nil {
				r = *reason
			}
			invalid = append(invalid, geo.Finding{Kind: geo.FindInvalid, Layer: kind, Codes: []string{code},
				Reason: "invalid geometry: " + r, Location: point(x, y)})
		}
		switch kind {
		case "town":
			l.Outline = mp
		case "village":
			l.Villages = append(l.Villages, coverage.Feature{Code: code, Geometry: mp, Valid: valid})
		default:
			f := coverage.Feature{Code: code, Geometry: mp, Valid: valid}
			if village != nil {
				f.Village = *village
			}
			l.Grids = append(l.Grids, f)
			households = append(households, hh)
			hasLeader = append(hasLeader, leader)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// check_invalid's order.
	slices.SortStableFunc(invalid, func(a, b geo.Finding) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Codes[0], b.Codes[0]))
	})
	rep := coverage.Check(l, lo)
	decided, err := decideDoubts(ctx, tx, l, rep.Doubts)
	if err != nil {
		return nil, nil, err
	}
	r := checked{append(invalid, mergeOverlays(rep.Findings, decided)...), rep}
	more = r.rep.VillagesNotTiled
	if len(r.rep.VillageDoubts) > 0 {
		decided, err := decideVillageDoubts(ctx, tx, l, r.rep.VillageDoubts)
		if err != nil {
			return nil, nil, err
		}
		more = append(slices.Clip(more), decided...)
		slices.SortStableFunc(more, func(a, b geo.Finding) int { return cmp.Compare(a.Codes[0], b.Codes[0]) })
	}
	if w := opts.warnings; w != nil {
		for _, f := range r.rep.Slivers {
			s := sliverFinding(f.Codes[0], f.AreaM2, f.WidthM, *w, f.Location)
			s.Area = f.Area
			more = append(more, s)
		}
		// check_leaders and check_households list grids by code.
		order := make([]int, len(l.Grids))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int { return cmp.Compare(l.Grids[i].Code, l.Grids[j].Code) })
		for _, i := range order {
			if hasLeader[i] != nil && !*hasLeader[i] {
				more = append(more, noLeaderFinding(l.Grids[i].Code, r.rep.Points[i]))
			}
		}
		for _, i := range order {
			if h := households[i]; h < w.HouseholdsMin || h > w.HouseholdsMax {
				more = append(more, householdsFinding(l.Grids[i].Code, h, *w, r.rep.Points[i]))
			}
		}
	}
	return r.cov, more, nil
}

// checked is what checkInGo finds: the invalid geometries followed by
// the coverage checks' findings, and coverage.Check's report.
type checked struct {
	cov []geo.Finding
	rep *coverage.Report
}

// checkInGo runs the query of invalid geometries (layer, code, reason, x,
// y) in PostgreSQL while coverage.Check runs in Go, and returns the invalid
// geometries followed by Check's findings, with the overlays Go left in
// doubt decided by PostGIS, and Check's report.
func checkInGo(ctx context.Context, tx pgx.Tx, invalidSQL string, l *coverage.Layer, o coverage.LayerOptions) (checked, error) {
	done := make(chan *coverage.Report, 1)
	go func() { done <- coverage.Check(l, o) }()
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
		return checked{}, err
	}
	decided, err := decideDoubts(ctx, tx, l, r.Doubts)
	if err != nil {
		return checked{}, err
	}
	return checked{append(out, mergeOverlays(r.Findings, decided)...), r}, nil
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

// decideVillageDoubts overlays each village that Go left in doubt with
// its grids in PostGIS (coverage_scale_village_doubts) and returns those
// its grids do not tile, worded as check_village_tiling's.
func decideVillageDoubts(ctx context.Context, tx pgx.Tx, l *coverage.Layer, doubts []int) ([]geo.Finding, error) {
	var codes, gcodes []string
	var wv, wg [][]byte
	in := map[string]bool{}
	for _, i := range doubts {
		v := l.Villages[i]
		w, err := encodeWKB(v.Geometry)
		if err != nil {
			return nil, err
		}
		codes, wv = append(codes, v.Code), append(wv, w)
		in[v.Code] = true
	}
	for _, g := range l.Grids {
		if in[g.Village] {
			w, err := encodeWKB(g.Geometry)
			if err != nil {
				return nil, err
			}
			gcodes, wg = append(gcodes, g.Village), append(wg, w)
		}
	}
	var out []geo.Finding
	var code string
	var uncovered, outside float64
	var x, y *float64
	var wkb []byte
	rows, _ := tx.Query(ctx, q("coverage_scale_village_doubts"), TilingToleranceM2, codes, wv, gcodes, wg)
	_, err := pgx.ForEachRow(rows, []any{&code, &uncovered, &outside, &x, &y, &wkb}, func() error {
		f := villageTilingFinding(code, uncovered, outside, point(x, y))
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
