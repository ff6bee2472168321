package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// BenchmarkPlanApplyCounty times, on the demo county (16 towns, some
// 3,500 grids), the apply of a plan that splits one grid of a town: alone,
// with how long it holds the generation lock (what another town's apply
// may wait for), and while a plan of another town is applied at the same
// moment. A town's apply checks its draft under its own town's lock and
// takes the generation lock only to write.
//
//	go test ./geo/pgstore -run '^$' -bench PlanApplyCounty -benchtime 3x
func BenchmarkPlanApplyCounty(b *testing.B) {
	db, now, towns := benchDemoCounty(b)
	ctx := context.Background()
	// open opens a plan of town splitting one of its grids, and returns
	// it with its tag.
	open := func(town string, i int) (int64, geo.PlanTag) {
		now = now.Add(time.Second)
		p, err := db.CreatePlan(ctx, geo.NewPlan{Note: "bench", Town: town}, "bench", now)
		if err != nil {
			b.Fatal(err)
		}
		splitSomeGrid(b, db, p.ID, i, now)
		v, err := db.Plan(ctx, p.ID, now)
		if err != nil {
			b.Fatal(err)
		}
		return p.ID, v.Tag()
	}
	b.Run("alone", func(b *testing.B) {
		var held time.Duration
		for i := range b.N {
			b.StopTimer()
			id, tag := open(towns[1], i)
			stop := make(chan struct{})
			polled := make(chan time.Duration)
			go func() { polled <- generationLockHeld(b, db, stop) }()
			b.StartTimer()
			if _, err := db.ApplyPlan(ctx, id, tag, "bench", now); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			close(stop)
			held += <-polled
		}
		b.ReportMetric(float64(held.Milliseconds())/float64(b.N), "generation-lock-ms/op")
	})
	b.Run("beside another town", func(b *testing.B) {
		var other time.Duration
		for i := range b.N {
			b.StopTimer()
			idA, tagA := open(towns[2], i)
			idB, tagB := open(towns[3], i)
			done := make(chan error, 1)
			b.StartTimer()
			start := time.Now()
			go func() {
				_, err := db.ApplyPlan(ctx, idA, tagA, "bench", now)
				other += time.Since(start)
				done <- err
			}()
			if _, err := db.ApplyPlan(ctx, idB, tagB, "bench", now); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(other.Milliseconds())/float64(b.N), "other-town-ms/op")
	})
}

// generationLockHeld polls pg_locks every millisecond until stop is
// closed and returns for how long it saw the generation lock
// (generation_lock in town.sql: one bigint key, 7263002) granted.
func generationLockHeld(b *testing.B, db *pgstore.DB, stop <-chan struct{}) time.Duration {
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Error(err)
		return 0
	}
	defer conn.Release()
	var held time.Duration
	last := time.Now()
	for {
		select {
		case <-stop:
			return held
		default:
		}
		var granted bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0
			AND objid = 7263002 AND objsubid = 1 AND granted)`).Scan(&granted)
		if err != nil {
			b.Error(err)
			return held
		}
		now := time.Now()
		if granted {
			held += now.Sub(last)
		}
		last = now
		time.Sleep(time.Millisecond)
	}
}

// benchDemoCounty imports the demo county into a fresh database, town by
// town, and returns the towns' codes.
func benchDemoCounty(b *testing.B) (*pgstore.DB, time.Time, []string) {
	db := pgtest.MustOpenDB(b)
	county, err := fixtures.County()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var codes []string
	grids := 0
	for _, td := range county {
		if _, err := db.ImportTown(context.Background(), td, "bench", ""); err != nil {
			b.Fatalf("importing town %s: %v", td.Town.Code, err)
		}
		codes = append(codes, td.Town.Code)
		grids += len(td.Grids)
	}
	b.Logf("imported %d towns, %d grids in %v", len(codes), grids, time.Since(start).Round(time.Millisecond))
	return db, time.Now().Add(time.Minute), codes
}
