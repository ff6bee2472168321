package gridindex

import (
	"math"
	"math/rand/v2"
	"testing"
	"wangge/geo/robust"

	"github.com/paulmach/orb"
)

func TestJitteredCoverage(t *testing.T) {
	tests := []struct {
		name   string
		nx, ny int
		opt    CoverageOptions
	}{
		{"default options", 10, 8, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3}},
		{"rectangles", 5, 4, CoverageOptions{}},
		{"maximum jitter, many edge vertices", 7, 6, CoverageOptions{Jitter: 1, MaxEdgeVertices: 18}},
		{"hole blocks", 9, 7, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true}},
		{"one cell", 1, 1, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			polys := JitteredCoverageWith(tc.nx, tc.ny, townBound, 1, tc.opt)
			again := JitteredCoverageWith(tc.nx, tc.ny, townBound, 1, tc.opt)
			if len(polys) != len(again) {
				t.Fatal("not deterministic")
			}
			for i := range polys {
				if !orb.Equal(polys[i], again[i]) {
					t.Fatalf("entry %d differs between runs", i)
				}
			}
			if other := JitteredCoverageWith(tc.nx, tc.ny, townBound, 2, tc.opt); tc.opt.Jitter > 0 && orb.Equal(other[0], polys[0]) {
				t.Error("seed has no effect")
			}
			if !tc.opt.HoleBlocks && len(polys) != tc.nx*tc.ny {
				t.Errorf("%d entries, want %d", len(polys), tc.nx*tc.ny)
			}

			// Every edge is shared by exactly two rings, except edges on
			// the bound's outline, which belong to one.
			type seg struct{ a, b orb.Point }
			edges := map[seg]int{}
			area, nv, nr := 0.0, 0, 0
			for _, m := range polys {
				for _, poly := range m {
					for k, ring := range poly {
						checkSimple(t, ring)
						a := math.Abs(ringArea(ring))
						if k > 0 {
							a = -a
						}
						area += a
						nv += len(ring) - 1
						nr++
						for i := 0; i+1 < len(ring); i++ {
							s := seg{ring[i], ring[i+1]}
							if s.b[0] < s.a[0] || (s.b[0] == s.a[0] && s.b[1] < s.a[1]) {
								s.a, s.b = s.b, s.a
							}
							edges[s]++
						}
					}
				}
			}
			onOutline := func(p orb.Point) bool {
				return p[0] == townBound.Min[0] || p[0] == townBound.Max[0] || p[1] == townBound.Min[1] || p[1] == townBound.Max[1]
			}
			for s, c := range edges {
				outline := onOutline(s.a) && onOutline(s.b) && (s.a[0] == s.b[0] || s.a[1] == s.b[1])
				if (outline && c != 1) || (!outline && c != 2) {
					t.Fatalf("edge %v used %d times (outline %v)", s, c, outline)
				}
			}
			want := (townBound.Max[0] - townBound.Min[0]) * (townBound.Max[1] - townBound.Min[1])
			if math.Abs(area-want) > 1e-9*want {
				t.Errorf("total area %v, want %v", area, want)
			}
			t.Logf("%d entries, %.1f vertices per ring", len(polys), float64(nv)/float64(nr))

			// Random points inside the bound are covered, by exactly one
			// grid unless on a boundary.
			ix, err := New(polys)
			if err != nil {
				t.Fatal(err)
			}
			if ix.Bound() != townBound {
				t.Errorf("index bound %v, want %v", ix.Bound(), townBound)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			for i := 0; i < 2000; i++ {
				p := orb.Point{townBound.Min[0] + rng.Float64()*(townBound.Max[0]-townBound.Min[0]), townBound.Min[1] + rng.Float64()*(townBound.Max[1]-townBound.Min[1])}
				r, ok := ix.Locate(p, 0)
				if !ok || (r.Match == Inside && r.Also != nil) {
					t.Fatalf("Locate(%v) = %+v, %v", p, r, ok)
				}
			}
		})
	}
	if got := JitteredCoverage(0, 3, townBound, 1); got != nil {
		t.Errorf("nx = 0 gave %d entries", len(got))
	}
}

func ringArea(r orb.Ring) float64 {
	s := 0.0
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

// checkSimple fails if two non-adjacent edges of the closed ring touch or
// two adjacent ones overlap.
func checkSimple(t *testing.T, r orb.Ring) {
	t.Helper()
	n := len(r) - 1
	if r[0] != r[n] || n < 3 {
		t.Fatalf("ring not closed or too short: %v", r)
	}
	seen := map[orb.Point]bool{}
	for _, p := range r[:n] {
		if seen[p] {
			t.Fatalf("ring repeats vertex %v", p)
		}
		seen[p] = true
	}
	for i := 0; i < n; i++ {
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue // adjacent through the closing vertex
			}
			if segmentsTouch(r[i], r[i+1], r[j], r[j+1]) {
				t.Fatalf("ring edges %d and %d touch: %v-%v, %v-%v", i, j, r[i], r[i+1], r[j], r[j+1])
			}
		}
	}
}

func segmentsTouch(a, b, c, d orb.Point) bool {
	o1, o2 := robust.Orient(a, b, c), robust.Orient(a, b, d)
	o3, o4 := robust.Orient(c, d, a), robust.Orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	in := func(p, q, x orb.Point) bool {
		return min(p[0], q[0]) <= x[0] && x[0] <= max(p[0], q[0]) && min(p[1], q[1]) <= x[1] && x[1] <= max(p[1], q[1])
	}
	return (o1 == 0 && in(a, b, c)) || (o2 == 0 && in(a, b, d)) || (o3 == 0 && in(c, d, a)) || (o4 == 0 && in(c, d, b))
}

// TestLocateDoesNotAllocate checks the no-allocation promise for points
// inside a grid (the common case), and for the nearest fallback.
func TestLocateDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		polys []orb.MultiPolygon
	}{
		{"town-like (slab index)", JitteredCoverageWith(23, 10, townBound, 7, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18})},
		{"small grids, holes", JitteredCoverageWith(40, 30, townBound, 8, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := New(tc.polys)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			var in, near []orb.Point
			for len(in) < 500 {
				p := orb.Point{townBound.Min[0] + rng.Float64()*(townBound.Max[0]-townBound.Min[0]), townBound.Min[1] + rng.Float64()*(townBound.Max[1]-townBound.Min[1])}
				if r, ok := ix.Locate(p, 200); ok && r.Match == Inside {
					in = append(in, p)
				}
				near = append(near, orb.Point{townBound.Max[0] + 0.0005, p[1]})
			}
			if a := testing.AllocsPerRun(20, func() {
				for _, p := range in {
					ix.Locate(p, 200)
				}
			}); a != 0 {
				t.Errorf("Locate inside: %v allocations per run, want 0", a)
			}
			if a := testing.AllocsPerRun(5, func() {
				for _, p := range near {
					if r, ok := ix.Locate(p, 200); !ok || r.Match != Nearest {
						panic("not nearest")
					}
				}
			}); a != 0 {
				t.Errorf("Locate nearest: %v allocations per run, want 0", a)
			}
			// Covering a shared vertex allocates only the result.
			v := tc.polys[len(tc.polys)/2][0][0][2]
			if a := testing.AllocsPerRun(20, func() { ix.Locate(v, 0) }); a > 1 {
				t.Errorf("Locate on a vertex: %v allocations, want <= 1 (Also)", a)
			}
		})
	}
}
