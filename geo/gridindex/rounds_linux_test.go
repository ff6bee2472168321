package gridindex

import (
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLocate1MRounds is BenchmarkLocate1M timed the way its figures in
// BENCHMARKS.md are: 15 rounds of 2^19 lookups on one locked OS thread,
// reporting the median and best of the thread's own CPU time per lookup
// (which other processes on a loaded machine do not inflate the way they
// inflate wall time or -bench's rounds) and the median wall time:
//
//	go test -run '^$' -bench Locate1MRounds -benchtime 1x ./geo/gridindex/
func BenchmarkLocate1MRounds(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	bi := buildMeasured(b, JitteredCoverage(1000, 1000, bigBound, 1))
	runtime.GC()
	pts := randomPoints(bigBound, 1<<20, 2)
	const rounds, n = 15, 1 << 19
	for b.Loop() {
		var wall, cpu []float64
		for r := range rounds {
			w0, c0 := time.Now(), threadCPU()
			for i := range n {
				if _, ok := bi.ix.Locate(pts[(r*n+i)&(len(pts)-1)], 200); !ok {
					b.Fatalf("point %v not located", pts[(r*n+i)&(len(pts)-1)])
				}
			}
			wall = append(wall, float64(time.Since(w0).Nanoseconds())/n)
			cpu = append(cpu, float64((threadCPU()-c0).Nanoseconds())/n)
		}
		slices.Sort(wall)
		slices.Sort(cpu)
		b.ReportMetric(cpu[rounds/2], "cpu-ns/lookup")
		b.ReportMetric(cpu[0], "best-cpu-ns/lookup")
		b.ReportMetric(wall[rounds/2], "wall-ns/lookup")
	}
	b.ReportMetric(float64(bi.ix.MemoryBytes())/(1<<20), "MiB")
}

// threadCPU is the user and system CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
