package gridindex

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// bigBound is about 1.5° x 1.5° around Beijing; 1000 x 1000 grids there are
// some 130 m x 170 m each.
var bigBound = orb.Bound{Min: orb.Point{116.0, 39.5}, Max: orb.Point{117.5, 41.0}}

type benchIndex struct {
	ix       *Index
	heap     uint64 // HeapAlloc growth across New, after GC
	build    time.Duration
	vertices float64 // per entry
}

var (
	bigOnce  sync.Once
	bigIndex benchIndex
)

// buildMeasured builds an index and measures the live heap it adds.
func buildMeasured(tb testing.TB, polys []orb.MultiPolygon) benchIndex {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix, err := New(polys)
	build := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(polys)
	return benchIndex{ix: ix, heap: after.HeapAlloc - before.HeapAlloc, build: build,
		vertices: float64(len(ix.pts)-ix.nRings) / float64(ix.Len())}
}

func randomPoints(b orb.Bound, n int, seed uint64) []orb.Point {
	rng := rand.New(rand.NewPCG(seed, 0))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
	}
	return pts
}

func benchLocate(b *testing.B, bi benchIndex, pts []orb.Point, tol float64) {
	mask := len(pts) - 1 // len is a power of two
	miss := 0
	i := 0
	for b.Loop() {
		if _, ok := bi.ix.Locate(pts[i&mask], tol); !ok {
			miss++
		}
		i++
	}
	if miss > 0 {
		b.Fatalf("%d points not located", miss)
	}
	// Reported after the loop: ResetTimer (which b.Loop calls) deletes
	// metrics reported before it.
	b.ReportMetric(float64(bi.ix.MemoryBytes())/(1<<20), "MiB")
	b.ReportMetric(float64(bi.heap)/(1<<20), "heap-MiB")
	b.ReportMetric(bi.build.Seconds(), "build-s")
	b.ReportMetric(bi.vertices, "vertices/grid")
}

// BenchmarkLocate1M: a million ten-vertex grids, uniform random points.
// Targets: <= 2 µs per lookup, <= 400 MiB.
func BenchmarkLocate1M(b *testing.B) {
	bigOnce.Do(func() {
		start := time.Now()
		polys := JitteredCoverage(1000, 1000, bigBound, 1)
		b.Logf("generated 1M grids in %v", time.Since(start))
		bigIndex = buildMeasured(b, polys)
	})
	benchLocate(b, bigIndex, randomPoints(bigBound, 1<<20, 2), 200)
}

// townIndex is a town-sized coverage: 230 grids of about 40 vertices.
func townIndex(b *testing.B) benchIndex {
	return buildMeasured(b, JitteredCoverageWith(23, 10, townBound, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18}))
}

// BenchmarkLocateTown: the realistic case. Target <= 300 ns.
func BenchmarkLocateTown(b *testing.B) {
	benchLocate(b, townIndex(b), randomPoints(townBound, 1<<16, 4), 200)
}

// BenchmarkLocateTownVertex: every point is a grid vertex (Boundary,
// allocates Also).
func BenchmarkLocateTownVertex(b *testing.B) {
	bi := townIndex(b)
	var pts []orb.Point
	for id := 0; len(pts) < 1<<12; id = (id + 1) % bi.ix.Len() {
		g := bi.ix.Geometry(id)[0][0]
		pts = append(pts, g[len(pts)%(len(g)-1)])
	}
	benchLocate(b, bi, pts, 200)
}

// BenchmarkLocateTownNearest: points up to ~100 m outside the town.
func BenchmarkLocateTownNearest(b *testing.B) {
	bi := townIndex(b)
	pts := randomPoints(orb.Bound{Min: orb.Point{townBound.Max[0] + 1e-5, townBound.Min[1]}, Max: orb.Point{townBound.Max[0] + 1e-3, townBound.Max[1]}}, 1<<12, 5)
	benchLocate(b, bi, pts, 200)
}

func BenchmarkNewTown(b *testing.B) {
	polys := JitteredCoverageWith(23, 10, townBound, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18})
	for b.Loop() {
		if _, err := New(polys); err != nil {
			b.Fatal(err)
		}
	}
}

// gappyIndex is the town-sized coverage with every fifth grid dropped (as in
// TestNearestOracle): random points in its box fall inside a grid, in a gap
// within 200 m of one, or farther from every grid.
func gappyIndex(b *testing.B) benchIndex {
	all := JitteredCoverageWith(23, 10, townBound, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18, HoleBlocks: true})
	var polys []orb.MultiPolygon
	for i, m := range all {
		if i%5 != 3 && (i%23 < 8 || i/23 > 4) { // gaps, and a missing block (far from every grid)
			polys = append(polys, m)
		}
	}
	return buildMeasured(b, polys)
}

// BenchmarkLocateGappy splits random points in the box of a coverage with
// gaps and a missing block by outcome: inside a grid, outside but within
// 200 m (nearest grid), farther (no grid), and all of them together.
func BenchmarkLocateGappy(b *testing.B) {
	bi := gappyIndex(b)
	const tol = 200
	bd := bi.ix.Bound()
	cats := map[string][]orb.Point{}
	for _, p := range randomPoints(orb.Bound{Min: orb.Point{bd.Min[0] - 0.005, bd.Min[1] - 0.005}, Max: orb.Point{bd.Max[0] + 0.005, bd.Max[1] + 0.005}}, 1<<16, 6) {
		r, ok := bi.ix.Locate(p, tol)
		switch {
		case !ok:
			cats["far"] = append(cats["far"], p)
		case r.Match == Nearest:
			cats["within200m"] = append(cats["within200m"], p)
		default:
			cats["inside"] = append(cats["inside"], p)
		}
		cats["all"] = append(cats["all"], p)
	}
	for _, name := range []string{"all", "inside", "within200m", "far"} {
		pts := cats[name]
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				bi.ix.Locate(pts[i%len(pts)], tol)
				i++
			}
			b.ReportMetric(100*float64(len(pts))/float64(len(cats["all"])), "%points")
		})
	}
}
