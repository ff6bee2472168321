package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/coverage"
)

// Coverage tolerances of an import. Interiors of two grids (or villages) may
// overlap by at most OverlapToleranceM2; gaps and spills against the town
// outline are reported from TilingToleranceM2. The first is tighter because
// an overlap makes routing ambiguous, while sub-square-metre slivers along
// an outline come from float noise in other tools' files.
const (
	OverlapToleranceM2 = 0.01
	TilingToleranceM2  = 1.0
)

// TownBorderGapM is half the width of the widest strip between two towns
// that an import reports as a gap along their border (in metres, as
// degrees of latitude): digitising gaps are this narrow, land between two
// towns is not.
const TownBorderGapM = 0.5

// ImportTown replaces the town td.Town.Code (adding it when the deployment
// does not hold it yet), its districts, villages and grids, and the
// leaders, deputies, duty desk and organizations on them, with td, in one
// transaction, as a new generation of that town created by actor. Other
// towns are not touched. It returns the new generation.
//
// Before writing, it checks td as a coverage in PostGIS: every geometry
// valid, every village and grid code under the town's, no overlaps between
// grids or between villages, every grid inside its village, grids and
// villages tiling the town outline, and the outline neither overlapping
// the deployment's other towns nor leaving a gap along their borders. If
// anything is wrong it returns a *geo.Error with code EINVALID listing
// every problem, located, and writes nothing. Grids that the import
// carries over unchanged keep their version; changed grids get a new
// version; grids of the town missing from td are retired. Returns
// EUNAVAILABLE when the database cannot be reached.
func (db *DB) ImportTown(ctx context.Context, td *geo.TownData, actor, note string) (int64, error) {
	gens, err := db.ImportTowns(ctx, []*geo.TownData{td}, actor, note)
	if err != nil {
		return 0, err
	}
	return gens[0], nil
}

// ImportTowns imports several towns (a county's) as ImportTown does each,
// in one transaction: all of them or, if one is refused, none. Each town
// is checked against the towns before it and those the deployment holds.
// It returns the generation of each town, in the order given.
func (db *DB) ImportTowns(ctx context.Context, tds []*geo.TownData, actor, note string) ([]int64, error) {
	seen := map[string]bool{}
	for _, td := range tds {
		if seen[td.Town.Code] {
			return nil, geo.Errorf(geo.EINVALID, "town %s (%s) is given twice", td.Town.Code, td.Town.Name)
		}
		seen[td.Town.Code] = true
		if problems := codeProblems(td); len(problems) > 0 {
			return nil, &geo.Error{Code: geo.EINVALID,
				Message: fmt.Sprintf("the codes of town %s (%s) do not nest: %d problems, nothing was imported",
					td.Town.Code, td.Town.Name, len(problems)),
				Problems: problems}
		}
	}
	gens := make([]int64, len(tds))
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("generation_lock")); err != nil {
			return err
		}
		for i, td := range tds {
			var err error
			if gens[i], err = db.importTown(ctx, tx, db.Now().UTC(), td, actor, note, len(tds) > 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return gens, nil
}

// importTown does the work of ImportTown for one town inside tx, which
// holds the generation lock. Several towns in one transaction (named says
// so, for the messages) drop the staging tables after each. Open incidents
// follow, as after a plan: those whose location now lies in another grid
// are rerouted there, those of people whose roles the import ended are
// handed over.
func (db *DB) importTown(ctx context.Context, tx pgx.Tx, now time.Time, td *geo.TownData, actor, note string, named bool) (int64, error) {
	var gen int64
	err := func() error {
		if err := importOrgProblems(ctx, tx, td); err != nil { // orgkinds.go
			return err
		}
		if err := stageTown(ctx, tx, td); err != nil {
			return err
		}
		if err := stageNext(ctx, tx, step{name: "next_from_import"}); err != nil {
			return err
		}
		findings, err := checkNext(ctx, tx, checkOptions{townBorders: true, layer: layerOf(td)})
		if err != nil {
			return err
		}
		if problems := importProblems(findings); len(problems) > 0 {
			what := "the town"
			if named {
				what = fmt.Sprintf("town %s (%s)", td.Town.Code, td.Town.Name)
			}
			return &geo.Error{Code: geo.EINVALID,
				Message:  fmt.Sprintf("%s is not a valid coverage: %d problems, nothing was imported", what, len(problems)),
				Problems: problems}
		}
		moves, err := importMoves(ctx, tx, td.Town.Code)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, q("generation_new"), now, actor, note, td.Town.Code).Scan(&gen); err != nil {
			return err
		}
		// Villages first: the grids written next refer to them.
		err = runSteps(ctx, tx,
			step{"import_town_write", nil},
			step{"import_districts_write", nil},
			step{"import_districts_retire", []any{now}},
			step{"import_villages_write", nil},
			step{"import_villages_retire", []any{now}})
		if err != nil {
			return err
		}
		if err := writeGridVersions(ctx, tx, gen, now, td.Town.Code); err != nil {
			return err
		}
		err = runSteps(ctx, tx,
			step{"import_roles_stage", nil},
			step{"import_people_write", []any{now}},
			step{"import_assignments_stage", nil})
		if err != nil {
			return err
		}
		ended, err := collectAssignments(tx.Query(ctx, q("import_assignments_end"), now))
		if err != nil {
			return fmt.Errorf("import_assignments_end: %w", err)
		}
		err = runSteps(ctx, tx,
			step{"import_assignments_write", []any{now}},
			step{"import_leaves_delete", nil},
			step{"import_leaves_write", nil},
			step{"import_orgs_stage", nil},
			step{"import_orgs_write", []any{now}},
			step{"import_attachments_end", []any{now}},
			step{"import_attachments_write", []any{now}},
			step{"import_roster_orgs_write", []any{now}},
			step{"import_members_people_write", []any{now}},
			step{"import_members_end", []any{now}},
			step{"import_member_grids_clip", nil}, // organizations.sql
			step{"import_members_write", []any{now}},
			step{"import_member_grids_write", []any{now}}, // organizations.sql
			step{"notify", []any{fmt.Sprint(gen)}})
		if err != nil {
			return err
		}
		rr := &rerouting{db: db, tx: tx, actor: actor, actorRole: geo.AccessAdmin, at: now}
		rerouted, err := rr.rerouteMoves(ctx, moves, fmt.Sprintf("town %s imported as generation %d", td.Town.Code, gen))
		if err != nil {
			return err
		}
		handedOver, err := rr.handOver(ctx, ended)
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, "town.import", fmt.Sprintf("generation:%d", gen), nil,
			map[string]any{"town": td.Town.Code, "villages": len(td.Villages), "grids": len(td.Grids), "note": note,
				"incidents_rerouted": rerouted, "incidents_handed_over": handedOver}, ""); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("import_unstage"))
		return err
	}()
	return gen, err
}

// importMoves lists the open incidents of town that the staged import
// (next_grids) routes to another grid than the current grids do.
func importMoves(ctx context.Context, tx pgx.Tx, town string) ([]geo.IncidentMove, error) {
	var out []geo.IncidentMove
	var m geo.IncidentMove
	var status string
	rows, _ := tx.Query(ctx, q("import_impact_incidents"), openStatuses(), town)
	_, err := pgx.ForEachRow(rows, []any{&m.Number, &status, &m.Location[0], &m.Location[1], &m.Routed, &m.Before, &m.After}, func() error {
		m.Status = geo.Status(status)
		out = append(out, m)
		return nil
	})
	return out, err
}

// codeProblems checks that td's codes nest: villages under the town,
// grids under their village (the schema checks the latter too, but an
// import names every problem at once).
func codeProblems(td *geo.TownData) []geo.Problem {
	var out []geo.Problem
	for _, v := range td.Villages {
		if geo.TownCodeOf(v.Code) != td.Town.Code {
			out = append(out, geo.Problem{Where: "villages.geojson: " + v.Code,
				Reason: fmt.Sprintf("village %s (%s) is not under town %s: a village code is the town code plus three digits", v.Code, v.Name, td.Town.Code)})
		}
	}
	for _, g := range td.Grids {
		if len(g.Code) < 12 || g.Code[:12] != g.VillageCode {
			out = append(out, geo.Problem{Where: "grids.geojson: " + g.Code,
				Reason: fmt.Sprintf("grid %s is not under its village %s: a grid code is the village code plus three digits", g.Code, g.VillageCode)})
		}
	}
	return out
}

// stageTown copies td into the temporary import tables.
func stageTown(ctx context.Context, tx pgx.Tx, td *geo.TownData) error {
	if _, err := tx.Exec(ctx, q("import_stage")); err != nil {
		return err
	}
	t := td.Town
	tw, err := encodeWKB(t.Outline)
	if err != nil {
		return err
	}
	var leaves [][]any
	addLeaves := func(c *geo.Contact) {
		if c == nil {
			return
		}
		for _, p := range c.Leave {
			leaves = append(leaves, []any{c.Name, c.Phone, p.From, p.To})
		}
	}
	dn, dp := contactCols(t.DutyDesk)
	addLeaves(t.DutyDesk)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_town"},
		[]string{"code", "name", "county", "province", "note", "duty_name", "duty_phone", "wkb"},
		pgx.CopyFromRows([][]any{{t.Code, t.Name, t.County, t.Province, t.Note, dn, dp, tw}})); err != nil {
		return err
	}
	rows := make([][]any, len(t.Districts))
	for i, d := range t.Districts {
		rows[i] = []any{d.Code, d.Name}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_districts"}, []string{"code", "name"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	rows = make([][]any, len(td.Villages))
	for i, v := range td.Villages {
		w, err := encodeWKB(v.Outline)
		if err != nil {
			return err
		}
		ln, lp := contactCols(v.LiaisonLeader)
		addLeaves(v.LiaisonLeader)
		rows[i] = []any{v.Code, v.Name, v.DistrictCode, ln, lp, w}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_villages"},
		[]string{"code", "name", "district_code", "liaison_name", "liaison_phone", "wkb"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	rows = make([][]any, len(td.Grids))
	for i, g := range td.Grids {
		w, err := encodeWKB(g.Geometry)
		if err != nil {
			return err
		}
		orgs := make([]map[string]string, len(g.Organizations))
		for k, o := range g.Organizations {
			orgs[k] = map[string]string{"kind": string(o.Kind), "name": o.Name}
		}
		orgJSON, _ := json.Marshal(orgs)
		ln, lp := contactCols(g.Leader)
		dn, dp := contactCols(g.Deputy)
		addLeaves(g.Leader)
		addLeaves(g.Deputy)
		rows[i] = []any{g.Code, g.Name, g.VillageCode, int32(g.Households), int32(g.Population), ln, lp, dn, dp, string(orgJSON), w}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"import_grids"},
		[]string{"code", "name", "village_code", "households", "population",
			"leader_name", "leader_phone", "deputy_name", "deputy_phone", "orgs", "wkb"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"import_leaves"}, []string{"name", "phone", "starts_at", "ends_at"}, pgx.CopyFromRows(leaves))
	if err != nil {
		return err
	}
	var members [][]any
	for _, v := range td.Villages {
		for _, o := range v.Organizations {
			for _, m := range o.Members {
				members = append(members, []any{v.Code, string(o.Kind), o.Name, m.Name, m.Phone, string(m.Role), m.Grids})
			}
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"import_org_members"},
		[]string{"village_code", "kind", "name", "member_name", "member_phone", "role", "grids"}, pgx.CopyFromRows(members))
	return err
}

func contactCols(c *geo.Contact) (name, phone *string) {
	if c == nil {
		return nil, nil
	}
	return &c.Name, &c.Phone
}

// step is one named query of a write and its arguments.
type step struct {
	name string
	args []any
}

// runSteps runs the steps in order, naming the failing one.
func runSteps(ctx context.Context, tx pgx.Tx, steps ...step) error {
	for _, s := range steps {
		if _, err := tx.Exec(ctx, q(s.name), s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// stageNext creates the tables of the next generation's layer (next_town,
// next_villages, next_grids), fills them with the fill steps, and indexes
// them for the checks. An import fills them from its files, a plan from
// its draft, the coverage report from the current generation; the checks
// and the versioning of grids are then the same code for all three.
func stageNext(ctx context.Context, tx pgx.Tx, fill ...step) error {
	steps := append([]step{{"next_stage", nil}}, fill...)
	return runSteps(ctx, tx, append(steps, step{"next_index", nil})...)
}

// writeGridVersions makes next_grids the current grids as generation gen
// from time now: grids it carries over unchanged keep their version,
// changed and missing ones are retired, changed and new ones get a new
// version. An import and an applied plan share it, so that a generation
// is written the same way whoever writes it.
// Only town's grids are versioned ("": every town's, a plan over the whole
// deployment).
func writeGridVersions(ctx context.Context, tx pgx.Tx, gen int64, now time.Time, town string) error {
	return runSteps(ctx, tx, step{"grids_retire_changed", []any{gen, now, nullIfEmpty(town)}}, step{"grids_write_new", []any{gen, now}})
}

// checkOptions select the checks checkNext runs beyond the coverage
// checks of an import.
type checkOptions struct {
	// warnings, when set, adds slivers, grids without a leader and
	// households out of range.
	warnings *geo.ValidationOptions
	// villageTiling adds villages whose own grids do not tile them.
	villageTiling bool
	// townBorders adds overlaps with the deployment's other towns and gaps
	// along their borders (an import: plans do not move town outlines).
	townBorders bool
	// layer, when set, is the staged layer already in memory (an
	// import's): the overlays in Go check it instead of reading next_*.
	layer *coverage.Layer
	// overlaysInPostGIS runs the overlays in PostGIS (check_overlaps,
	// check_outside_village, check_tiling, check_village_tiling,
	// check_slivers, and the locations of check_leaders and
	// check_households) instead of in Go: the oracle of the tests.
	overlaysInPostGIS bool
}

// checkNext runs the coverage checks on the staged next_* layer and
// returns every finding, located: invalid geometries, overlaps between
// grids and between villages, grids outside their village, and where
// grids and villages fail to tile the town outline; then what opts adds.
// Overlays use the geometries made valid, so an invalid grid is reported
// once, as invalid, and does not hide the others' problems. The overlays,
// the village tiling, the slivers and the locations of the warnings run
// in Go (checkNextInGo), which finds the same as PostGIS
// (checkNextInPostGIS, checkMoreInPostGIS) in a fraction of the time on a
// large layer; the package's tests run both and compare them (crossCheck).
func checkNext(ctx context.Context, tx pgx.Tx, opts checkOptions) ([]geo.Finding, error) {
	var cov, more []geo.Finding
	var err error
	if opts.overlaysInPostGIS {
		if cov, err = checkNextInPostGIS(ctx, tx); err == nil {
			more, err = checkMoreInPostGIS(ctx, tx, opts)
		}
	} else {
		cov, more, err = checkNextInGo(ctx, tx, opts)
		if err == nil && crossCheck != nil {
			var pg, pgMore []geo.Finding
			if pg, err = checkNextInPostGIS(ctx, tx); err == nil {
				if pgMore, err = checkMoreInPostGIS(ctx, tx, opts); err == nil {
					err = crossCheck(append(slices.Clip(cov), more...), append(pg, pgMore...))
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	out := cov
	if opts.townBorders {
		var kind, other string
		var area float64
		var x, y *float64
		var wkb []byte
		rows, _ := tx.Query(ctx, q("check_town_borders"), OverlapToleranceM2, TilingToleranceM2, TownBorderGapM/metresPerDegree)
		_, err = pgx.ForEachRow(rows, []any{&kind, &other, &area, &x, &y, &wkb}, func() error {
			f := geo.Finding{Kind: geo.FindOverlap, Layer: "town", Codes: []string{other}, AreaM2: area, Location: point(x, y),
				Reason: fmt.Sprintf("the town outline overlaps town %s by %.2f m²", other, area)}
			if kind == "gap" {
				f.Kind = geo.FindGap
				f.Reason = fmt.Sprintf("a gap of %.2f m² between the town outline and town %s's", area, other)
			}
			f.Area, err = decodeWKB(wkb)
			out = append(out, f)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return append(out, more...), nil
}

// checkMoreInPostGIS is what opts adds to the coverage checks (the
// village tiling, then the warnings), in PostGIS on ogeom, which
// checkNextInPostGIS has filled: the oracle of checkNextInGo's.
func checkMoreInPostGIS(ctx context.Context, tx pgx.Tx, opts checkOptions) ([]geo.Finding, error) {
	var out []geo.Finding
	var code string
	var x, y *float64
	var wkb []byte
	if opts.villageTiling {
		var uncovered, outside float64
		rows, _ := tx.Query(ctx, q("check_village_tiling"), TilingToleranceM2)
		_, err := pgx.ForEachRow(rows, []any{&code, &uncovered, &outside, &x, &y, &wkb}, func() error {
			f := villageTilingFinding(code, uncovered, outside, point(x, y))
			var err error
			f.Area, err = decodeWKB(wkb)
			out = append(out, f)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if opts.warnings != nil {
		warnings, err := checkWarnings(ctx, tx, *opts.warnings)
		if err != nil {
			return nil, err
		}
		out = append(out, warnings...)
	}
	return out, nil
}

// villageTilingFinding is a village whose own grids leave uncovered m² of
// it and have outside m² outside it.
func villageTilingFinding(code string, uncovered, outside float64, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindVillageNotTiled, Layer: "village", Codes: []string{code}, AreaM2: uncovered + outside,
		Reason: fmt.Sprintf("the grids of village %s do not tile it: %.2f m² of it no grid of the village covers, %.2f m² of its grids lie outside it",
			code, uncovered, outside), Location: at}
}

// checkNextInPostGIS is the coverage checks of checkNext with the overlays
// in PostGIS: invalid geometries, overlaps between grids and between
// villages, grids outside their village, and where grids and villages fail
// to tile the town outline. It makes the staged geometries valid in
// PostGIS first (next_valid), which the overlays need.
func checkNextInPostGIS(ctx context.Context, tx pgx.Tx) ([]geo.Finding, error) {
	if _, err := tx.Exec(ctx, q("next_valid")); err != nil {
		return nil, fmt.Errorf("next_valid: %w", err)
	}
	var out []geo.Finding
	var layer, code, reason string
	var x, y *float64
	rows, _ := tx.Query(ctx, q("check_invalid"))
	_, err := pgx.ForEachRow(rows, []any{&layer, &code, &reason, &x, &y}, func() error {
		out = append(out, geo.Finding{Kind: geo.FindInvalid, Layer: layer, Codes: []string{code},
			Reason: "invalid geometry: " + reason, Location: point(x, y)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var a, b string
	var area float64
	var wkb []byte
	rows, _ = tx.Query(ctx, q("check_overlaps"), OverlapToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&layer, &a, &b, &area, &x, &y, &wkb}, func() error {
		f := overlapFinding(layer, a, b, area, point(x, y))
		f.Area, err = decodeWKB(wkb)
		out = append(out, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, q("check_outside_village"), OverlapToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&a, &b, &area, &x, &y, &wkb}, func() error {
		f := crossingFinding(a, b, area, point(x, y))
		f.Area, err = decodeWKB(wkb)
		out = append(out, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	var kind string
	var villages []string
	rows, _ = tx.Query(ctx, q("check_tiling"), TilingToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&layer, &kind, &area, &x, &y, &wkb, &villages}, func() error {
		layer = strings.TrimSuffix(layer, "s")
		f := geo.Finding{Kind: geo.FindGap, Layer: layer, Villages: villages, AreaM2: area, Location: point(x, y),
			Reason: fmt.Sprintf("a gap of %.2f m² inside the town outline that no %s covers", area, layer)}
		if len(villages) > 0 {
			f.Reason += " (in village " + strings.Join(villages, ", ") + ")"
		}
		if kind == "outside" {
			f.Kind, f.Villages = geo.FindOutsideTown, nil
			f.Reason = fmt.Sprintf("%.2f m² of %ss lie outside the town outline", area, layer)
		}
		f.Area, err = decodeWKB(wkb)
		out = append(out, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// overlapFinding is an overlap of features a and b (a < b) of layer.
func overlapFinding(layer, a, b string, area float64, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindOverlap, Layer: layer, Codes: []string{a, b}, AreaM2: area,
		Reason: fmt.Sprintf("%ss %s and %s overlap by %.2f m²", layer, a, b, area), Location: at}
}

// crossingFinding is the part of grid outside its village.
func crossingFinding(grid, village string, area float64, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindVillageCrossing, Layer: "grid", Codes: []string{grid}, Villages: []string{village}, AreaM2: area,
		Reason: fmt.Sprintf("grid %s has %.2f m² outside its village %s", grid, area, village), Location: at}
}

// checkWarnings finds slivers, grids without a leader and grids whose
// households are out of range in next_grids.
func checkWarnings(ctx context.Context, tx pgx.Tx, o geo.ValidationOptions) ([]geo.Finding, error) {
	var out []geo.Finding
	var code string
	var area float64
	var width *float64
	var x, y *float64
	var wkb []byte
	rows, _ := tx.Query(ctx, q("check_slivers"), o.SliverM2, o.SliverWidthM)
	_, err := pgx.ForEachRow(rows, []any{&code, &area, &width, &x, &y, &wkb}, func() error {
		w := 0.0
		if width != nil {
			w = *width
		}
		f := sliverFinding(code, area, w, o, point(x, y))
		var err error
		f.Area, err = decodeWKB(wkb)
		out = append(out, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, q("check_leaders"))
	_, err = pgx.ForEachRow(rows, []any{&code, &x, &y}, func() error {
		out = append(out, noLeaderFinding(code, point(x, y)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	var households int
	rows, _ = tx.Query(ctx, q("check_households"), o.HouseholdsMin, o.HouseholdsMax)
	_, err = pgx.ForEachRow(rows, []any{&code, &households, &x, &y}, func() error {
		out = append(out, householdsFinding(code, households, o, point(x, y)))
		return nil
	})
	return out, err
}

// sliverFinding is a sliver of area m² and mean width m of grid code.
func sliverFinding(code string, area, width float64, o geo.ValidationOptions, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindSliver, Layer: "grid", Codes: []string{code}, AreaM2: area, WidthM: width, Location: at,
		Reason: fmt.Sprintf("grid %s has a sliver of %.2f m², %.2f m wide on average (thresholds: %v m², %v m)",
			code, area, width, o.SliverM2, o.SliverWidthM)}
}

// noLeaderFinding is grid code without a leader.
func noLeaderFinding(code string, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindNoLeader, Layer: "grid", Codes: []string{code}, Location: at,
		Reason: fmt.Sprintf("grid %s has no leader: its matters would go to the village's liaison leader", code)}
}

// householdsFinding is grid code with households out of o's range.
func householdsFinding(code string, households int, o geo.ValidationOptions, at orb.Point) geo.Finding {
	return geo.Finding{Kind: geo.FindHouseholds, Layer: "grid", Codes: []string{code}, Value: households, Location: at,
		Reason: fmt.Sprintf("grid %s has %d households, want %d..%d", code, households, o.HouseholdsMin, o.HouseholdsMax)}
}

// importProblems words the findings of an import as problems of its
// files: town.geojson, villages.geojson, grids.geojson.
func importProblems(findings []geo.Finding) []geo.Problem {
	files := map[string]string{"town": "town.geojson", "village": "villages.geojson", "grid": "grids.geojson"}
	problems := make([]geo.Problem, 0, len(findings))
	for _, f := range findings {
		p := geo.Problem{Where: files[f.Layer], Reason: f.Reason}
		if f.Location != (orb.Point{}) {
			p.Location = []float64{f.Location[0], f.Location[1]}
		}
		switch f.Kind {
		case geo.FindInvalid, geo.FindOverlap, geo.FindVillageCrossing:
			p.Where += ": " + strings.Join(f.Codes, " and ")
		case geo.FindGap:
			if f.Layer != "town" {
				p.Reason = fmt.Sprintf("a gap of %.2f m² inside the town outline that no %s covers", f.AreaM2, f.Layer)
			}
		}
		problems = append(problems, p)
	}
	return problems
}

// point is the point at x, y; the zero point when either is NULL.
func point(x, y *float64) orb.Point {
	if x == nil || y == nil {
		return orb.Point{}
	}
	return orb.Point{*x, *y}
}
