package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
)

// This file keeps the repairs of a draft (RepairPlan), one function a
// geo.RepairKind, each run inside editPlan's transaction.

// metresPerDegree is the length of a degree of latitude (and of longitude
// at the equator) on the WGS-84 ellipsoid, near enough for tolerances.
const metresPerDegree = 111_320.0

// RepairPlan applies a repair to a draft; see geo.PlanStore.
func (db *DB) RepairPlan(ctx context.Context, id int64, r geo.Repair, actor string, now time.Time) (*geo.RepairResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Kind == geo.RepairSnap && len(r.Codes) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "codes: name the grids to snap (those of an overlap or beside a gap in the validation report)")
	}
	res := &geo.RepairResult{Kind: r.Kind}
	_, err := db.editPlan(ctx, id, actor, now, "plan.repair", func(tx pgx.Tx, p *geo.Plan) ([]string, any, any, error) {
		for i, c := range r.Codes {
			if err := p.CheckInTown(fmt.Sprintf("codes[%d]", i), c); err != nil {
				return nil, nil, nil, err
			}
		}
		var err error
		switch r.Kind {
		case geo.RepairMakeValid:
			err = repairMakeValid(ctx, tx, id, r, res)
		case geo.RepairSnap:
			err = repairSnap(ctx, tx, p, r, res)
		case geo.RepairFillGap:
			err = repairFillGaps(ctx, tx, p, r, now, res)
		case geo.RepairDissolveSliver:
			err = repairSlivers(ctx, tx, p, r, now, res)
		case geo.RepairClipToVillage:
			err = repairCrossings(ctx, tx, id, r, res)
		}
		after := map[string]any{"kind": r.Kind, "changed": res.Changed, "notes": res.Notes}
		return res.Changed, map[string]any{"codes": r.Codes, "at": r.At, "tolerance_m": r.ToleranceM}, after, err
	})
	if err != nil {
		return nil, err
	}
	if len(res.Changed) == 0 && len(res.Notes) == 0 {
		res.Notes = append(res.Notes, "nothing to repair")
	}
	return res, nil
}

func repairMakeValid(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, res *geo.RepairResult) error {
	var codes []string
	if len(r.Codes) > 0 {
		codes = r.Codes
	}
	var code string
	var area float64
	var empty []string
	rows, _ := tx.Query(ctx, q("plan_make_valid"), id, codes)
	_, err := pgx.ForEachRow(rows, []any{&code, &area}, func() error {
		if area <= 0 {
			empty = append(empty, code)
		}
		res.Changed = append(res.Changed, code)
		res.Notes = append(res.Notes, fmt.Sprintf("grid %s made valid: %.2f m²", code, area))
		return nil
	})
	if err != nil {
		return err
	}
	if len(empty) > 0 {
		return geo.Errorf(geo.EINVALID, "grids %s have no area once made valid: redraw or retire them", strings.Join(empty, ", "))
	}
	return nil
}

// snapDegrees converts a snap tolerance in metres to degrees at the
// town's latitude, using the longitude scale (the smaller metres per
// degree), so that every vertex within the tolerance in any direction is
// snapped; north–south the reach is up to 1/cos(latitude) longer.
func snapDegrees(ctx context.Context, tx pgx.Tx, town string, metres float64) (float64, error) {
	var lat float64
	if err := tx.QueryRow(ctx, q("town_latitude"), town).Scan(&lat); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	return metres / (metresPerDegree * math.Max(math.Cos(lat*math.Pi/180), 0.01)), nil
}

func repairSnap(ctx context.Context, tx pgx.Tx, p *geo.Plan, r geo.Repair, res *geo.RepairResult) error {
	id := p.ID
	deg, err := snapDegrees(ctx, tx, p.Town, r.ToleranceM)
	if err != nil {
		return err
	}
	for _, code := range r.Codes {
		if _, err := lockGrid(ctx, tx, p, code); err != nil {
			return err
		}
		var changed bool
		err := tx.QueryRow(ctx, q("plan_snap"), id, code, deg).Scan(&changed)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s has no neighbour within %v m", code, r.ToleranceM))
		case err != nil:
			return err
		case changed:
			res.Changed = append(res.Changed, code)
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s snapped to its neighbours within %v m", code, r.ToleranceM))
		default:
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s already agrees with its neighbours within %v m", code, r.ToleranceM))
		}
	}
	return nil
}

// giveArea gives area (WKB) to the grid of the draft, other than except,
// with which it shares the longest border, and records it in res.
func giveArea(ctx context.Context, tx pgx.Tx, id int64, area []byte, except string, village *string, what string, res *geo.RepairResult) error {
	var code string
	var shared float64
	err := tx.QueryRow(ctx, q("plan_give_area"), id, area, except, village).Scan(&code, &shared)
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Errorf(geo.EINVALID, "%s touches no valid grid: draw a grid over it instead", what)
	} else if err != nil {
		return err
	}
	if !slices.Contains(res.Changed, code) {
		res.Changed = append(res.Changed, code)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s given to grid %s (shared border %.1f m)", what, code, shared))
	return nil
}

func repairFillGaps(ctx context.Context, tx pgx.Tx, p *geo.Plan, r geo.Repair, now time.Time, res *geo.RepairResult) error {
	id := p.ID
	if err := stageValidPlan(ctx, tx, p, now); err != nil {
		return err
	}
	var x, y *float64
	if r.At != nil {
		x, y = &r.At[0], &r.At[1]
	}
	rows, err := tx.Query(ctx, q("plan_gaps"), TilingToleranceM2, x, y)
	if err != nil {
		return err
	}
	gaps, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	if len(gaps) == 0 && r.At != nil {
		return geo.Errorf(geo.EINVALID, "at: no gap of more than %v m² covers %v", TilingToleranceM2, *r.At)
	}
	for i, g := range gaps {
		mp, err := decodeWKB(g)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("gap %d of %d (near %.6f, %.6f)", i+1, len(gaps), mp.Bound().Center()[0], mp.Bound().Center()[1])
		if err := giveArea(ctx, tx, id, g, "", nil, what, res); err != nil {
			return err
		}
	}
	return nil
}

// stageValidPlan stages plan p's draft as stagePlan does, with ogeom
// filled: the repairs overlay the geometries made valid in PostGIS.
func stageValidPlan(ctx context.Context, tx pgx.Tx, p *geo.Plan, at time.Time) error {
	if err := stagePlan(ctx, tx, p, at); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, q("next_valid"))
	return err
}

func repairSlivers(ctx context.Context, tx pgx.Tx, p *geo.Plan, r geo.Repair, now time.Time, res *geo.RepairResult) error {
	id := p.ID
	if err := stageValidPlan(ctx, tx, p, now); err != nil {
		return err
	}
	o := geo.DefaultValidationOptions()
	type sliver struct {
		code string
		wkb  []byte
		area orb.MultiPolygon
	}
	var slivers []sliver
	var code string
	var areaM2 float64
	var width, x, y *float64
	var raw []byte
	rows, _ := tx.Query(ctx, q("check_slivers"), o.SliverM2, o.SliverWidthM)
	_, err := pgx.ForEachRow(rows, []any{&code, &areaM2, &width, &x, &y, &raw}, func() error {
		if len(r.Codes) > 0 && !slices.Contains(r.Codes, code) {
			return nil
		}
		mp, err := decodeWKB(raw)
		if err != nil {
			return err
		}
		if r.At != nil && !planar.MultiPolygonContains(mp, *r.At) {
			return nil
		}
		slivers = append(slivers, sliver{code, slices.Clone(raw), mp})
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range slivers {
		var parts int
		if err := tx.QueryRow(ctx, q("plan_grid_parts"), id, s.code).Scan(&parts); err != nil {
			return err
		}
		if parts < 2 {
			res.Notes = append(res.Notes, fmt.Sprintf("grid %s is a sliver as a whole: merge it into a neighbour or retire it", s.code))
			continue
		}
		if _, err := tx.Exec(ctx, q("plan_take_area"), id, s.code, s.wkb); err != nil {
			return err
		}
		if !slices.Contains(res.Changed, s.code) {
			res.Changed = append(res.Changed, s.code)
		}
		if err := giveArea(ctx, tx, id, s.wkb, s.code, nil, "a sliver of grid "+s.code, res); err != nil {
			return err
		}
	}
	return nil
}

func repairCrossings(ctx context.Context, tx pgx.Tx, id int64, r geo.Repair, res *geo.RepairResult) error {
	var codes []string
	if len(r.Codes) > 0 {
		codes = r.Codes
	}
	type crossing struct {
		code    string
		part    []byte
		village *string
	}
	var found []crossing
	var c crossing
	rows, _ := tx.Query(ctx, q("plan_crossings"), id, codes, OverlapToleranceM2)
	if _, err := pgx.ForEachRow(rows, []any{&c.code, &c.part, &c.village}, func() error {
		found = append(found, crossing{c.code, slices.Clone(c.part), c.village})
		return nil
	}); err != nil {
		return err
	}
	for _, c := range found {
		if _, err := tx.Exec(ctx, q("plan_take_area"), id, c.code, c.part); err != nil {
			return err
		}
		if !slices.Contains(res.Changed, c.code) {
			res.Changed = append(res.Changed, c.code)
		}
		if c.village == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("a part of grid %s outside the town was cut off", c.code))
			continue
		}
		what := fmt.Sprintf("the part of grid %s in village %s", c.code, *c.village)
		if err := giveArea(ctx, tx, id, c.part, c.code, c.village, what, res); err != nil {
			return err
		}
	}
	return nil
}
