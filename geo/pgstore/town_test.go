package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func rect(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// smallTown is a town of two villages of two grids each, about 1 km wide:
//
//	27.01 +-----+-----+-----+-----+
//	      | 001 | 002 | 001 | 002 |
//	27.00 +-----+-----+-----+-----+
//	   112.00    village 001  112.02  village 002  112.04
func smallTown() *geo.TownData {
	td := &geo.TownData{
		Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: rect(112.00, 27.00, 112.04, 27.01),
			Districts: []geo.District{{Code: "01", Name: "东片"}}},
	}
	for v := 0; v < 2; v++ {
		vcode := "43132110120" + string(rune('1'+v))
		x := 112.00 + 0.02*float64(v)
		td.Villages = append(td.Villages, geo.Village{Code: vcode, Name: "村" + vcode[11:], DistrictCode: "01", Outline: rect(x, 27.00, x+0.02, 27.01)})
		for g := 0; g < 2; g++ {
			gx := x + 0.01*float64(g)
			td.Grids = append(td.Grids, geo.GridRecord{
				Grid: geo.Grid{Code: vcode + "00" + string(rune('1'+g)), Name: "网格", VillageCode: vcode,
					Households: 50, Population: 150, Geometry: rect(gx, 27.00, gx+0.01, 27.01)},
				Leader:        &geo.Contact{Name: "曾" + vcode[11:] + string(rune('1'+g)), Phone: "1390738000" + string(rune('1'+g))},
				Organizations: []geo.OrganizationRef{{Kind: geo.OrgMediation, Name: "调解会" + vcode}},
			})
		}
	}
	return td
}

func TestImportTown_roundTrip(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, _, err := db.LoadArea(ctx, 0, time.Now()); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("empty database: got %v, want ENOTFOUND", err)
	}
	gen, err := db.ImportTown(ctx, smallTown(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if gen != 1 {
		t.Fatalf("generation: got %d, want 1", gen)
	}
	td, gotGen, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if gotGen != 1 || len(td.Grids) != 4 || len(td.Villages) != 2 {
		t.Fatalf("loaded generation %d with %d grids, %d villages", gotGen, len(td.Grids), len(td.Villages))
	}
	want := smallTown()
	for i, g := range td.Grids {
		w := want.Grids[i]
		if g.Code != w.Code || !orb.Equal(g.Geometry, w.Geometry) || g.Leader == nil || g.Leader.Name != w.Leader.Name || g.Leader.Phone != w.Leader.Phone {
			t.Errorf("grid %d: got %+v, want %+v", i, g, w)
		}
		if len(g.Organizations) != 1 || g.Organizations[0] != w.Organizations[0] {
			t.Errorf("grid %s organizations: got %v", g.Code, g.Organizations)
		}
	}

	// A second import that changes one grid's leader and moves one border
	// keeps unchanged grids' versions and retires the changed ones.
	next := smallTown()
	next.Grids[0].Leader = &geo.Contact{Name: "新网格长", Phone: "13900000000"}
	next.Grids[0].Geometry = rect(112.00, 27.00, 112.005, 27.01)
	next.Grids[1].Geometry = rect(112.005, 27.00, 112.02, 27.01)
	gen2, err := db.ImportTown(ctx, next, "test", "redraw")
	if err != nil {
		t.Fatal(err)
	}
	td2, _, err := db.LoadArea(ctx, gen2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if td2.Grids[0].Leader.Name != "新网格长" || td2.Grids[0].Generation != gen2 || td2.Grids[2].Generation != 1 {
		t.Errorf("after redraw: leader %v, generations %d and %d", td2.Grids[0].Leader, td2.Grids[0].Generation, td2.Grids[2].Generation)
	}
	old, _, err := db.LoadArea(ctx, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !orb.Equal(old.Grids[0].Geometry, want.Grids[0].Geometry) {
		t.Errorf("generation 1 should keep the old boundary of %s", old.Grids[0].Code)
	}
}

// TestImportTown_rolesAndLeave: liaison leaders, the duty desk and leave
// periods survive an import → load round trip, and a second import that
// drops a leave period removes it.
func TestImportTown_rolesAndLeave(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := smallTown()
	leave := geo.Period{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	td.Town.DutyDesk = &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}
	td.Villages[1].LiaisonLeader = &geo.Contact{Name: "联村组长", Phone: "13900000009"}
	td.Grids[2].Leader.Leave = []geo.Period{leave}
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Towns[0].DutyDesk == nil || got.Towns[0].DutyDesk.Name != "镇值班室" {
		t.Errorf("duty desk: %+v", got.Towns[0].DutyDesk)
	}
	if got.Villages[0].LiaisonLeader != nil || got.Villages[1].LiaisonLeader == nil || got.Villages[1].LiaisonLeader.Phone != "13900000009" {
		t.Errorf("liaison leaders: %+v, %+v", got.Villages[0].LiaisonLeader, got.Villages[1].LiaisonLeader)
	}
	l := got.Grids[2].Leader
	if len(l.Leave) != 1 || !l.Leave[0].From.Equal(leave.From) || !l.Leave[0].To.Equal(leave.To) {
		t.Errorf("leave of %s: %+v", l.Name, l.Leave)
	}
	if !l.OnLeave(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) || l.OnLeave(leave.To) {
		t.Error("OnLeave disagrees with the period [from, to)")
	}
	td.Grids[2].Leader.Leave = nil
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	got, _, _ = db.LoadArea(ctx, 0, time.Now())
	if len(got.Grids[2].Leader.Leave) != 0 {
		t.Errorf("a leave dropped from the file is still there: %+v", got.Grids[2].Leader.Leave)
	}
}

func TestImportTown_refusesBadCoverage(t *testing.T) {
	bowtie := orb.MultiPolygon{{{{112.00, 27.00}, {112.01, 27.01}, {112.01, 27.00}, {112.00, 27.01}, {112.00, 27.00}}}}
	tests := []struct {
		name   string
		change func(td *geo.TownData)
		want   string // in some problem's reason
		where  string // in that problem's where
	}{
		{"self-intersecting grid", func(td *geo.TownData) { td.Grids[0].Geometry = bowtie }, "Self-intersection", "431321101201001"},
		{"overlap", func(td *geo.TownData) { td.Grids[0].Geometry = rect(112.00, 27.00, 112.012, 27.01) }, "overlap by", "431321101201001 and 431321101201002"},
		{"gap", func(td *geo.TownData) { td.Grids[0].Geometry = rect(112.00, 27.00, 112.009, 27.01) }, "a gap of", "grids.geojson"},
		{"outside village", func(td *geo.TownData) {
			td.Grids[1].Geometry = rect(112.01, 27.00, 112.021, 27.01)
			td.Grids[2].Geometry = rect(112.021, 27.00, 112.03, 27.01)
		}, "outside its village", "431321101201002"},
		{"spill outside town", func(td *geo.TownData) { td.Grids[3].Geometry = rect(112.03, 27.00, 112.05, 27.01) }, "outside the town outline", "grids.geojson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.MustOpenDB(t)
			ctx := context.Background()
			td := smallTown()
			tt.change(td)
			_, err := db.ImportTown(ctx, td, "test", "")
			ge, ok := err.(*geo.Error)
			if !ok || ge.Code != geo.EINVALID {
				t.Fatalf("got %v, want an EINVALID *geo.Error", err)
			}
			found := false
			for _, p := range ge.Problems {
				if strings.Contains(p.Reason, tt.want) && strings.Contains(p.Where, tt.where) {
					found = true
					if len(p.Location) != 2 {
						t.Errorf("problem %q is not located", p.Reason)
					}
				}
			}
			if !found {
				t.Errorf("no problem with %q at %q in %+v", tt.want, tt.where, ge.Problems)
			}
			if gen, err := db.CurrentGeneration(ctx); err != nil || gen != 0 {
				t.Errorf("after a refused import: generation %d (%v), want 0: nothing written", gen, err)
			}
		})
	}
}
