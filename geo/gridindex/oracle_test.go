package gridindex

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// The oracle is a deliberately naive, independent implementation of
// ST_Covers: every polygon is checked (after a bounding-box test), and the
// crossing of an edge is decided by computing the ray's intersection with
// it exactly in rational arithmetic instead of by an orientation sign.

type oracleIndex struct {
	polys  []orb.MultiPolygon
	bounds []orb.Bound
}

func newOracle(polys []orb.MultiPolygon) *oracleIndex {
	o := &oracleIndex{polys: polys}
	for _, m := range polys {
		o.bounds = append(o.bounds, m.Bound())
	}
	return o
}

// covering returns the IDs covering p ascending and whether p is on the
// boundary of any of them.
func (o *oracleIndex) covering(p orb.Point) (ids []int32, boundary bool) {
	for id, m := range o.polys {
		if !o.bounds[id].Contains(p) {
			continue
		}
		switch oraclePIP(m, p) {
		case inside:
			ids = append(ids, int32(id))
		case onBoundary:
			ids = append(ids, int32(id))
			boundary = true
		}
	}
	return ids, boundary
}

func oraclePIP(m orb.MultiPolygon, p orb.Point) int {
	in := false
	for _, poly := range m {
		for _, ring := range poly {
			for i := range ring {
				a, b := ring[i], ring[(i+1)%len(ring)]
				if p == a {
					return onBoundary
				}
				if a == b {
					continue
				}
				if a[1] == p[1] && b[1] == p[1] {
					if min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) {
						return onBoundary
					}
					continue
				}
				if (a[1] <= p[1]) == (b[1] <= p[1]) {
					continue // does not straddle p.y (half-open)
				}
				if a[0] < p[0] && b[0] < p[0] {
					continue
				}
				if a[0] > p[0] && b[0] > p[0] {
					in = !in
					continue
				}
				// x = a.x + (p.y - a.y)(b.x - a.x)/(b.y - a.y), exactly.
				r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
				x := new(big.Rat).Sub(r(p[1]), r(a[1]))
				x.Mul(x, new(big.Rat).Sub(r(b[0]), r(a[0])))
				x.Quo(x, new(big.Rat).Sub(r(b[1]), r(a[1])))
				x.Add(x, r(a[0]))
				switch x.Cmp(r(p[0])) {
				case 0:
					return onBoundary
				case 1:
					in = !in
				}
			}
		}
	}
	if in {
		return inside
	}
	return outside
}

// samplePoints draws n query points over polys: uniform points in a box
// slightly larger than bound, exact vertices, points computed on edges
// (rarely exactly on them, always within ulps), points on edges at dyadic
// fractions, and vertices nudged by one ulp.
func samplePoints(rng *rand.Rand, polys []orb.MultiPolygon, bound orb.Bound, n int) []orb.Point {
	var rings []orb.Ring
	for _, m := range polys {
		for _, poly := range m {
			rings = append(rings, poly...)
		}
	}
	w, h := bound.Max[0]-bound.Min[0], bound.Max[1]-bound.Min[1]
	randEdge := func() (orb.Point, orb.Point) {
		r := rings[rng.IntN(len(rings))]
		i := rng.IntN(len(r) - 1)
		return r[i], r[i+1]
	}
	pts := make([]orb.Point, n)
	for i := range pts {
		switch k := rng.IntN(10); {
		case k < 4:
			pts[i] = orb.Point{bound.Min[0] - 0.02*w + rng.Float64()*1.04*w, bound.Min[1] - 0.02*h + rng.Float64()*1.04*h}
		case k < 6:
			pts[i], _ = randEdge()
		case k < 8:
			a, b := randEdge()
			t := rng.Float64()
			pts[i] = orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
		case k < 9:
			a, b := randEdge()
			t := float64(rng.IntN(9)) / 8
			pts[i] = orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
		default:
			a, _ := randEdge()
			dir := func() float64 { return math.Inf(rng.IntN(2)*2 - 1) }
			pts[i] = orb.Point{math.Nextafter(a[0], dir()), math.Nextafter(a[1], dir())}
			if rng.IntN(2) == 0 {
				pts[i][rng.IntN(2)] = a[rng.IntN(2)]
			}
		}
	}
	return pts
}

// mergeSome turns every seventh entry into a two-part multipolygon by
// absorbing the entry two places later (not its neighbour, so the parts are
// usually disjoint), to exercise multi-polygon parity.
func mergeSome(polys []orb.MultiPolygon) []orb.MultiPolygon {
	var out []orb.MultiPolygon
	skip := map[int]bool{}
	for i, m := range polys {
		if skip[i] {
			continue
		}
		if i%7 == 0 && i+2 < len(polys) {
			m = append(slices.Clone(m), polys[i+2]...)
			skip[i+2] = true
		}
		out = append(out, m)
	}
	return out
}

var townBound = orb.Bound{Min: orb.Point{116.30, 39.90}, Max: orb.Point{116.42, 39.99}}

func TestOracle(t *testing.T) {
	tests := []struct {
		name   string
		polys  []orb.MultiPolygon
		points int
	}{
		{"jittered 24x18 with holes and multipolygons", mergeSome(JitteredCoverageWith(24, 18, townBound, 42,
			CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true})), 100_000},
		{"town-like 23x10, ~40 vertices (slab index)", JitteredCoverageWith(23, 10, townBound, 43,
			CoverageOptions{Jitter: 0.24, MaxEdgeVertices: 18}), 30_000},
		{"rectangles (axis-aligned edges)", JitteredCoverageWith(12, 9, townBound, 44, CoverageOptions{}), 20_000},
		// Enough entries for four R-tree levels.
		{"jittered 100x80 (deep tree)", JitteredCoverage(100, 80, townBound, 46), 20_000},
		// Edges a degree long: points computed on them are within ulps
		// but the products in orient are large, so the float filter fails
		// and the exact path decides (with cell-sized edges, plain float
		// arithmetic would mostly have been right anyway).
		{"coarse 4x3 over 4°x3° (long edges)", JitteredCoverageWith(4, 3, orb.Bound{Min: orb.Point{114, 38}, Max: orb.Point{118, 41}}, 45,
			CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 1, HoleBlocks: true}), 20_000},
	}
	if testing.Short() {
		for i := range tests {
			tests[i].points /= 10
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := New(tc.polys)
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle(tc.polys)
			rng := rand.New(rand.NewPCG(99, uint64(len(tc.polys))))
			pts := samplePoints(rng, tc.polys, ix.Bound(), tc.points)
			stats := map[string]int{}
			for _, p := range pts {
				want, wantB := o.covering(p)
				got := ix.Covering(p)
				if !slices.Equal(got, want) {
					t.Fatalf("Covering(%v) = %v, oracle %v", p, got, want)
				}
				r, ok := ix.Locate(p, 0)
				switch {
				case len(want) == 0:
					stats["uncovered"]++
					if ok {
						t.Fatalf("Locate(%v) = %+v, want not ok", p, r)
					}
				case !ok || r.ID != want[0] || !slices.Equal(r.Also, want[1:]) || (r.Match == Boundary) != wantB:
					t.Fatalf("Locate(%v) = %+v, %v; oracle covering %v boundary %v", p, r, ok, want, wantB)
				default:
					stats[r.Match.String()]++
				}
			}
			t.Logf("%d entries, %d points: %v", len(tc.polys), len(pts), stats)
			if stats["boundary"] < len(pts)/10 || stats["inside"] < len(pts)/10 {
				t.Errorf("too few boundary or inside points: %v", stats)
			}
		})
	}
}

// TestNearestOracle compares the Nearest fallback with a brute-force
// search over every entry's edges, on a coverage with gaps (removed cells)
// and empty holes (removed hole fillers).
func TestNearestOracle(t *testing.T) {
	all := JitteredCoverageWith(30, 20, townBound, 47, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true})
	var polys []orb.MultiPolygon
	for i, m := range all {
		if i%5 != 3 { // drop every fifth entry: gaps and empty holes
			polys = append(polys, m)
		}
	}
	ix, err := New(polys)
	if err != nil {
		t.Fatal(err)
	}
	o := newOracle(polys)
	const tol = 150.0
	rng := rand.New(rand.NewPCG(12, 13))
	b := townBound
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	stats := map[string]int{}
	for i := 0; i < 4000; i++ {
		p := orb.Point{b.Min[0] - 0.03*w + rng.Float64()*1.06*w, b.Min[1] - 0.03*h + rng.Float64()*1.06*h}
		if ids, _ := o.covering(p); len(ids) > 0 {
			continue
		}
		wantID, wantD := int32(-1), math.Inf(1)
		for id, m := range polys {
			d := math.Inf(1)
			for _, poly := range m {
				for _, ring := range poly {
					for k := 0; k+1 < len(ring); k++ {
						d = min(d, spheroid.PointSegmentDistance(p, ring[k], ring[k+1]))
					}
				}
			}
			if d < wantD {
				wantID, wantD = int32(id), d
			}
		}
		r, ok := ix.Locate(p, tol)
		if wantD > tol {
			stats["beyond"]++
			if ok {
				t.Fatalf("Locate(%v) = %+v, want not ok (nearest %d at %.3f m)", p, r, wantID, wantD)
			}
			continue
		}
		stats["nearest"]++
		if !ok || r.Match != Nearest || r.ID != wantID || r.DistanceM != wantD || r.Also != nil {
			t.Fatalf("Locate(%v) = %+v, %v; want Nearest %d at %v m", p, r, ok, wantID, wantD)
		}
	}
	t.Logf("%v", stats)
	if stats["nearest"] < 100 || stats["beyond"] < 100 {
		t.Errorf("weak sample: %v", stats)
	}
}

// TestConcurrentLocate runs lookups from several goroutines (meaningful
// under -race).
func TestConcurrentLocate(t *testing.T) {
	polys := JitteredCoverage(20, 20, townBound, 48)
	ix, err := New(polys)
	if err != nil {
		t.Fatal(err)
	}
	pts := randomPoints(townBound, 2000, 49)
	want := make([]Result, len(pts))
	for i, p := range pts {
		want[i], _ = ix.Locate(p, 200)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range pts {
				if r, _ := ix.Locate(p, 200); r.ID != want[i].ID || r.Match != want[i].Match {
					t.Errorf("Locate(%v) = %+v, want %+v", p, r, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
