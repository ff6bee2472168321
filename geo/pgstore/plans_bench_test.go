package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom/encoding/wkb"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/gridindex"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// The benchmarks time validation and apply of a plan that splits one grid
// (a geometric change, so that apply versions grids and the checks see a
// new grid), on the demo town (200+ grids) and on a synthetic county of
// 5,000 grids. Targets: town under 300 ms, county under 10 s, each.
//
//	go test ./geo/pgstore -run '^$' -bench Plan -benchtime 5x

func BenchmarkPlanValidate(b *testing.B) {
	for _, town := range benchTowns {
		b.Run(town.name, func(b *testing.B) {
			db, now := town.load(b)
			ctx := context.Background()
			p, err := db.CreatePlan(ctx, geo.NewPlan{Note: "bench"}, "bench", now)
			if err != nil {
				b.Fatal(err)
			}
			splitSomeGrid(b, db, p.ID, 0, now)
			b.ResetTimer()
			for range b.N {
				r, err := db.ValidatePlan(ctx, p.ID, geo.DefaultValidationOptions(), now)
				if err != nil {
					b.Fatal(err)
				}
				if blocking, _ := r.Count(); blocking > 0 {
					b.Fatalf("blocking problems: %+v", r.Findings)
				}
			}
		})
	}
}

func BenchmarkPlanApply(b *testing.B) {
	for _, town := range benchTowns {
		b.Run(town.name, func(b *testing.B) {
			db, now := town.load(b)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				now = now.Add(time.Second)
				p, err := db.CreatePlan(ctx, geo.NewPlan{Note: "bench"}, "bench", now)
				if err != nil {
					b.Fatal(err)
				}
				splitSomeGrid(b, db, p.ID, i, now)
				v, err := db.Plan(ctx, p.ID, now)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := db.ApplyPlan(ctx, p.ID, v.Tag(), "bench", now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCoverageReport times the coverage report of the current
// generation: validation's checks plus village tiling and organizations.
func BenchmarkCoverageReport(b *testing.B) {
	for _, town := range benchTowns {
		b.Run(town.name, func(b *testing.B) {
			db, now := town.load(b)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				if _, err := db.CoverageReport(ctx, geo.DefaultValidationOptions(), "", now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var benchTowns = []struct {
	name string
	load func(b *testing.B) (*pgstore.DB, time.Time)
}{
	{"town", benchDemoTown},
	{"county5000", benchCounty},
}

// benchDemoTown imports the demo town into a fresh database.
func benchDemoTown(b *testing.B) (*pgstore.DB, time.Time) {
	db := pgtest.MustOpenDB(b)
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ImportTown(context.Background(), td, "bench", ""); err != nil {
		b.Fatal(err)
	}
	return db, time.Now().Add(time.Minute)
}

// benchCounty imports a county of 50 villages of 10×10 grids of a jittered
// lattice (5,000 grids, about 1 km each) with a leader on every grid. The
// village and town outlines are the PostGIS union of their grids.
func benchCounty(b *testing.B) (*pgstore.DB, time.Time) {
	const cols, rows, cells = 10, 5, 10 // villages per row and column, grids per village side
	ctx := context.Background()
	db := pgtest.MustOpenDB(b)
	nx := cols * cells
	lattice := gridindex.JitteredCoverage(nx, rows*cells, orb.Bound{Min: orb.Point{112.0, 27.0}, Max: orb.Point{113.0, 27.5}}, 7)
	td := &geo.TownData{Town: geo.Town{Code: "431321900", Name: "合成县", Note: "synthetic: a benchmark county",
		Districts: []geo.District{{Code: "01", Name: "一片"}}}}
	var cellRows [][]any
	for vr := range rows {
		for vc := range cols {
			k := vr*cols + vc
			vcode := fmt.Sprintf("431321900%03d", 201+k)
			td.Villages = append(td.Villages, geo.Village{Code: vcode, Name: fmt.Sprintf("合成%d村", k+1), DistrictCode: "01"})
			for dj := range cells {
				for di := range cells {
					seq := dj*cells + di + 1
					n := k*cells*cells + seq
					cell := lattice[(vr*cells+dj)*nx+vc*cells+di]
					td.Grids = append(td.Grids, geo.GridRecord{
						Grid: geo.Grid{Code: fmt.Sprintf("%s%03d", vcode, seq), Name: fmt.Sprintf("第%d网格", seq), VillageCode: vcode,
							Households: 80 + n%70, Population: 250 + n%230, Geometry: cell},
						Leader: &geo.Contact{Name: fmt.Sprintf("网格长%04d", n), Phone: fmt.Sprintf("139%08d", n)},
					})
					raw, err := wkb.Marshal(geo.ToGeomMultiPolygon(cell), wkb.NDR)
					if err != nil {
						b.Fatal(err)
					}
					cellRows = append(cellRows, []any{vcode, raw})
				}
			}
		}
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE cells (village text, wkb bytea) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cells"}, []string{"village", "wkb"}, pgx.CopyFromRows(cellRows)); err != nil {
			return err
		}
		outlines := map[string]orb.MultiPolygon{}
		var code string
		var raw []byte
		rs, _ := tx.Query(ctx, `SELECT village, ST_AsBinary(ST_Multi(ST_Union(ST_GeomFromWKB(wkb, 4326)))) FROM cells GROUP BY village
			UNION ALL SELECT 'town', ST_AsBinary(ST_Multi(ST_Union(ST_GeomFromWKB(wkb, 4326)))) FROM cells`)
		_, err := pgx.ForEachRow(rs, []any{&code, &raw}, func() error {
			g, err := wkb.Unmarshal(raw)
			if err != nil {
				return err
			}
			outlines[code], err = geo.FromGeom(g)
			return err
		})
		if err != nil {
			return err
		}
		for i := range td.Villages {
			td.Villages[i].Outline = outlines[td.Villages[i].Code]
		}
		td.Town.Outline = outlines["town"]
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := db.ImportTown(ctx, td, "bench", ""); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d grids in %v", len(td.Grids), time.Since(start).Round(time.Millisecond))
	return db, time.Now().Add(time.Minute)
}

// splitSomeGrid splits the i-th grid (in code order) of plan id that a
// north–south line through the middle of its bounding box cuts in two.
func splitSomeGrid(b *testing.B, db *pgstore.DB, id int64, i int, now time.Time) {
	ctx := context.Background()
	v, err := db.Plan(ctx, id, now)
	if err != nil {
		b.Fatal(err)
	}
	for k := i; k < len(v.Grids); k++ {
		g := v.Grids[k]
		bb := g.Geometry.Bound()
		x := bb.Center()[0]
		line := orb.LineString{{x, bb.Min[1] - 0.001}, {x, bb.Max[1] + 0.001}}
		newCode := fmt.Sprintf("%s%03d", g.VillageCode, 900-k%100)
		_, err := db.SplitPlanGrid(ctx, id, geo.SplitRequest{Code: g.Code, Line: line, NewCode: newCode}, "bench", now)
		if err == nil {
			return
		}
	}
	b.Fatal("no grid to split")
}
