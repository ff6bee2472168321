package pgstore_test

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// BenchmarkStartupNational times what a server does at start on a national
// layer: LoadTown (every grid of the current generation, with its leader,
// deputy and organizations) and geo.NewSnapshot (sorting and the lookup
// index). The database is the demo town plus 1,000 synthetic villages of
// 1,000 square grids each (12 vertices, about 165 m × 130 m, a 1000 × 1000
// lattice around Beijing), generated inside PostgreSQL; to keep the set-up
// short on a shared machine the two GiST indexes on grids.geom and the
// exclusion constraint on grid versions are dropped first (loading uses
// neither). Target (issue 16): ≤ 10 s. Reported: load-s, index-s, total-s
// and the heap the snapshot holds (heap-MiB, live after GC).
//
//	go test ./geo/pgstore -run '^$' -bench StartupNational -benchtime 1x -timeout 30m
func BenchmarkStartupNational(b *testing.B) {
	ctx := context.Background()
	db := pgtest.MustOpenDB(b)
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := db.ImportTown(ctx, td, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, stmt := range []string{
		`ALTER TABLE grids DROP CONSTRAINT grid_versions_disjoint`,
		`DROP INDEX grids_geom_gist`,
		`DROP INDEX grids_current_geom_gist`,
		`INSERT INTO villages (code, name, outline)
		 SELECT '431321900' || lpad(v::text, 3, '0'), '合成' || v || '村',
		        ST_Multi(ST_MakeEnvelope(116.0, 39.5 + v * 0.0015, 117.5, 39.5 + (v + 1) * 0.0015, 4326))
		 FROM generate_series(0, 999) v`,
		`INSERT INTO grids (code, name, village_code, geom, generation, valid_from)
		 SELECT '431321900' || lpad(v::text, 3, '0') || lpad(k::text, 3, '0'), '第' || k || '网格',
		        '431321900' || lpad(v::text, 3, '0'),
		        ST_Multi(ST_Segmentize(ST_MakeEnvelope(116.0 + k * 0.0015, 39.5 + v * 0.0015,
		                                               116.0 + (k + 1) * 0.0015, 39.5 + (v + 1) * 0.0015, 4326), 0.0006)),
		        $gen, now() - interval '1 day'
		 FROM generate_series(0, 999) v, generate_series(0, 999) k`,
		`ANALYZE grids`,
	} {
		if _, err := db.Pool.Exec(ctx, strings.ReplaceAll(stmt, "$gen", strconv.FormatInt(gen, 10))); err != nil {
			b.Fatalf("%.40s…: %v", stmt, err)
		}
	}
	b.Logf("generated 1,000,000 grids in %v", time.Since(start).Round(time.Millisecond))
	at := time.Now().Add(time.Minute)

	logLoadBreakdown(b, db, gen, at)

	var loadS, indexS, cpuS, heapMiB float64
	var grids, vertices int
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cpu0 := cpuTime()
		t0 := time.Now()
		td, g, err := db.LoadArea(ctx, 0, at)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		snap, err := geo.NewSnapshot(g, td, t1)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		cpuS = (cpuTime() - cpu0).Seconds()
		runtime.GC()
		runtime.ReadMemStats(&after)
		loadS, indexS = t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds()
		heapMiB = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		grids = snap.Index().Len()
		vertices = 0
		for _, gr := range snap.Grids {
			for _, poly := range gr.Geometry {
				for _, ring := range poly {
					vertices += len(ring)
				}
			}
		}
		b.Logf("%d grids (%d vertices): load %.2f s, index %.2f s, total %.2f s (this process's CPU %.2f s); heap %.0f MiB (index %.0f MiB); %d heap objects",
			grids, vertices, loadS, indexS, loadS+indexS, cpuS, heapMiB, float64(snap.Index().MemoryBytes())/(1<<20), after.HeapObjects-before.HeapObjects)
		runtime.KeepAlive(snap)
	}
	if grids < 1_000_000 {
		b.Fatalf("loaded %d grids, want at least 1,000,000", grids)
	}
	b.ReportMetric(loadS, "load-s")
	b.ReportMetric(indexS, "index-s")
	b.ReportMetric(loadS+indexS, "total-s")
	b.ReportMetric(cpuS, "cpu-s")
	b.ReportMetric(heapMiB, "heap-MiB")
}

// cpuTime is the user and system CPU time of the process so far: on a
// shared machine the wall time of a load also measures the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// logLoadBreakdown logs where LoadTown's time goes on the grid query: in
// PostgreSQL alone (the rows counted there) and its plan, through the wire
// (rows read and dropped), and by binary COPY (LoadTown's decoding is the
// rest).
func logLoadBreakdown(b *testing.B, db *pgstore.DB, gen int64, at time.Time) {
	ctx := context.Background()
	query := strings.TrimRight(strings.TrimSpace(pgstore.Queries()["grids_at_generation"]), ";")
	t0 := time.Now()
	var n, bytes int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*), sum(length(s.st_asbinary)) FROM ("+query+") s", gen, at).Scan(&n, &bytes); err != nil {
		b.Fatal(err)
	}
	inPG := time.Since(t0)
	plan, _ := db.Pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+query, gen, at)
	lines, err := pgx.CollectRows(plan, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("plan:\n%s", strings.Join(lines, "\n"))
	t1 := time.Now()
	rows, _ := db.Pool.Query(ctx, query, gen, at)
	var wire int64
	for rows.Next() {
		for _, v := range rows.RawValues() {
			wire += int64(len(v))
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	// The same rows by binary COPY (parameters cannot be bound in COPY;
	// gen is an integer and at is formatted by us, so this is safe here).
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	cq := strings.NewReplacer("$1", strconv.FormatInt(gen, 10), "$2", "'"+at.UTC().Format(time.RFC3339Nano)+"'::timestamptz").Replace(query)
	t3 := time.Now()
	tag, err := conn.Conn().PgConn().CopyTo(ctx, io.Discard, "COPY ("+cq+") TO STDOUT (FORMAT binary)")
	if err != nil {
		b.Fatal(err)
	}
	t4 := time.Now()
	b.Logf("grid query: %d rows, %d MB of WKB; in PostgreSQL %.2f s, through the wire (%d MB, not decoded) %.2f s; by binary COPY (%d rows, not decoded) %.2f s",
		n, bytes>>20, inPG.Seconds(), wire>>20, t2.Sub(t1).Seconds(), tag.RowsAffected(), t4.Sub(t3).Seconds())
}
