package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo/figures"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// BenchmarkFigures times each level's table over the county-year, for the
// whole year and for one month. Making the county-year takes minutes (8½
// on the shared build machine); run it alone, or use fixtures/cmd/figuresbench,
// which keeps its database between runs:
//
//	go test -run '^$' -bench BenchmarkFigures -benchtime 5x ./geo/pgstore/
func BenchmarkFigures(b *testing.B) {
	const n = 1_000_000
	db := pgtest.MustOpenDB(b)
	ctx := context.Background()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ImportTown(ctx, td, "bench", ""); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := db.AddSyntheticYear(ctx, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d synthetic incidents in %s", n, time.Since(start).Round(time.Second))
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China)
	for _, spec := range [][3]string{{"", "2025-12-01", "2026-11-30"}, {"2026-06", "", ""}} {
		period, err := figures.ParsePeriod(spec[0], spec[1], spec[2], now)
		if err != nil {
			b.Fatal(err)
		}
		for _, level := range figures.Levels {
			b.Run(fmt.Sprintf("period=%s/level=%s", period.Spec, level), func(b *testing.B) {
				for b.Loop() {
					if _, err := db.Figures(ctx, figures.Query{Level: level, Period: period, Now: now}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
