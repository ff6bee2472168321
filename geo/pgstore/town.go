package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom/encoding/wkb"

	"wangge/geo"
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

// ImportTown replaces the town, its districts, villages and grids, and the
// leaders, deputies and organizations on them, with td, in one transaction,
// as a new generation created by actor. It returns the new generation.
//
// Before writing, it checks td as a coverage in PostGIS: every geometry
// valid, no overlaps between grids or between villages, every grid inside
// its village, grids and villages tiling the town outline. If anything is
// wrong it returns a *geo.Error with code EINVALID listing every problem,
// located, and writes nothing. Grids that the import carries over unchanged
// keep their version; changed grids get a new version; grids missing from
// td are retired. Returns EUNAVAILABLE when the database cannot be reached.
func (db *DB) ImportTown(ctx context.Context, td *geo.TownData, actor, note string) (int64, error) {
	var gen int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("generation_lock")); err != nil {
			return err
		}
		if err := stageTown(ctx, tx, td); err != nil {
			return err
		}
		if problems, err := checkCoverage(ctx, tx); err != nil {
			return err
		} else if len(problems) > 0 {
			return &geo.Error{Code: geo.EINVALID,
				Message:  fmt.Sprintf("the town is not a valid coverage: %d problems, nothing was imported", len(problems)),
				Problems: problems}
		}
		now := db.Now().UTC()
		if err := tx.QueryRow(ctx, q("generation_new"), now, actor, note).Scan(&gen); err != nil {
			return err
		}
		steps := []struct {
			name string
			args []any
		}{
			{"import_town_write", nil},
			{"import_districts_write", nil},
			{"import_districts_retire", []any{now}},
			{"import_villages_write", nil},
			{"import_villages_retire", []any{now}},
			{"import_grids_retire", []any{gen, now}},
			{"import_grids_write", []any{gen, now}},
			{"import_roles_stage", nil},
			{"import_people_write", []any{now}},
			{"import_assignments_stage", nil},
			{"import_assignments_end", []any{now}},
			{"import_assignments_write", []any{now}},
			{"import_leaves_delete", nil},
			{"import_leaves_write", nil},
			{"import_orgs_stage", nil},
			{"import_orgs_write", []any{now}},
			{"import_attachments_end", []any{now}},
			{"import_attachments_write", []any{now}},
			{"notify", []any{fmt.Sprint(gen)}},
		}
		for _, s := range steps {
			if _, err := tx.Exec(ctx, q(s.name), s.args...); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		return audit(ctx, tx, now, actor, "town.import", fmt.Sprintf("generation:%d", gen), nil,
			map[string]any{"town": td.Town.Code, "villages": len(td.Villages), "grids": len(td.Grids), "note": note}, "")
	})
	if err != nil {
		return 0, unavailable(err)
	}
	return gen, nil
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
	return err
}

func contactCols(c *geo.Contact) (name, phone *string) {
	if c == nil {
		return nil, nil
	}
	return &c.Name, &c.Phone
}

// encodeWKB renders mp as little-endian WKB for ST_GeomFromWKB.
func encodeWKB(mp orb.MultiPolygon) ([]byte, error) {
	return wkb.Marshal(geo.ToGeomMultiPolygon(mp), wkb.NDR)
}

// checkCoverage runs the coverage checks on the staged town and returns
// every problem, located. Overlaps and tiling are only checked when every
// geometry is valid, because GEOS cannot overlay invalid ones.
func checkCoverage(ctx context.Context, tx pgx.Tx) ([]geo.Problem, error) {
	var problems []geo.Problem
	files := map[string]string{"town": "town.geojson", "village": "villages.geojson", "grid": "grids.geojson",
		"villages": "villages.geojson", "grids": "grids.geojson"}
	rows, _ := tx.Query(ctx, q("import_invalid"))
	var kind, code, reason string
	var x, y *float64
	_, err := pgx.ForEachRow(rows, []any{&kind, &code, &reason, &x, &y}, func() error {
		problems = append(problems, geo.Problem{Where: files[kind] + ": " + code,
			Reason: "invalid geometry: " + reason, Location: lonLat(x, y)})
		return nil
	})
	if err != nil || len(problems) > 0 {
		return problems, err
	}
	var a, b string
	var area float64
	rows, _ = tx.Query(ctx, q("import_overlaps"), OverlapToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&kind, &a, &b, &area, &x, &y}, func() error {
		problems = append(problems, geo.Problem{Where: files[kind] + ": " + a + " and " + b,
			Reason: fmt.Sprintf("%ss %s and %s overlap by %.2f m²", kind, a, b, area), Location: lonLat(x, y)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, q("import_outside_village"), OverlapToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&a, &b, &area, &x, &y}, func() error {
		problems = append(problems, geo.Problem{Where: files["grid"] + ": " + a,
			Reason: fmt.Sprintf("grid %s has %.2f m² outside its village %s", a, area, b), Location: lonLat(x, y)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var layer string
	rows, _ = tx.Query(ctx, q("import_tiling"), TilingToleranceM2)
	_, err = pgx.ForEachRow(rows, []any{&layer, &kind, &area, &x, &y}, func() error {
		reason := fmt.Sprintf("a gap of %.2f m² inside the town outline that no %s covers", area, layer[:len(layer)-1])
		if kind == "outside" {
			reason = fmt.Sprintf("%.2f m² of %s lie outside the town outline", area, layer)
		}
		problems = append(problems, geo.Problem{Where: files[layer], Reason: reason, Location: lonLat(x, y)})
		return nil
	})
	return problems, err
}

func lonLat(x, y *float64) []float64 {
	if x == nil || y == nil {
		return nil
	}
	return []float64{*x, *y}
}
