package gridindex

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// withDirectory returns a copy of ix whose cover goes through a directory
// built for any number of entries (and no raster), and a copy that walks
// the tree only.
func withDirectory(t *testing.T, ix *Index) (dir, tree *Index) {
	t.Helper()
	d, tr := *ix, *ix
	d.raster, d.dir = nil, nil
	d.buildDirectory(0)
	if d.dir == nil {
		t.Fatal("no directory built")
	}
	tr.raster, tr.dir = nil, nil
	return &d, &tr
}

// dirProbePoints adds, to samplePoints, the corners of every leaf box and
// points one float64 ulp either side of them, where "the box holds the
// point" is decided by a single comparison, and points on the directory's
// cell border lines and one ulp either side.
func dirProbePoints(ix *Index, rng *rand.Rand, polys []orb.MultiPolygon, n int) []orb.Point {
	pts := samplePoints(rng, polys, ix.Bound(), n)
	nudge := func(v float64, k int) float64 {
		switch k {
		case 0:
			return math.Nextafter(v, math.Inf(-1))
		case 2:
			return math.Nextafter(v, math.Inf(1))
		}
		return v
	}
	for s := 0; s < ix.n; s += max(1, ix.n/500) {
		l := &ix.leaves[s]
		for _, c := range []orb.Point{{float64(l.minX), float64(l.minY)}, {float64(l.maxX), float64(l.maxY)}, {float64(l.minX), float64(l.maxY)}, {float64(l.maxX), float64(l.minY)}} {
			for k := range 3 {
				pts = append(pts, orb.Point{nudge(c[0], k), nudge(c[1], rng.IntN(3))})
			}
		}
	}
	if d := ix.dir; d != nil {
		for i := int32(1); i < d.nx; i += max(1, d.nx/50) {
			x := d.x0 + float64(i)/d.sx
			for k := range 3 {
				y := ix.bound.Min[1] + rng.Float64()*(ix.bound.Max[1]-ix.bound.Min[1])
				pts = append(pts, orb.Point{nudge(x, k), y})
			}
		}
		for j := int32(1); j < d.ny; j += max(1, d.ny/50) {
			y := d.y0 + float64(j)/d.sy
			for k := range 3 {
				x := ix.bound.Min[0] + rng.Float64()*(ix.bound.Max[0]-ix.bound.Min[0])
				pts = append(pts, orb.Point{x, nudge(y, k)})
			}
		}
	}
	return pts
}

// TestDirectoryMatchesOracle holds the directory's covering sets to the
// exact oracle (and to the tree walk) on the oracle's layers, forced to use
// a directory: holes and multi-polygons, slab-indexed grids, axis-aligned
// rectangles, long edges, a deep tree, and overlapping grids (invalid
// input, where every covering grid must still be found).
func TestDirectoryMatchesOracle(t *testing.T) {
	overlapping := JitteredCoverage(30, 20, townBound, 47)
	for i := 0; i < 600; i += 7 {
		shifted := orb.MultiPolygon{{slices.Clone(overlapping[i][0][0])}}
		for k := range shifted[0][0] {
			shifted[0][0][k][0] += 0.5 * (townBound.Max[0] - townBound.Min[0]) / 30
			shifted[0][0][k][1] += 0.3 * (townBound.Max[1] - townBound.Min[1]) / 20
		}
		overlapping = append(overlapping, shifted)
	}
	tests := []struct {
		name   string
		polys  []orb.MultiPolygon
		points int
	}{
		{"jittered 24x18 with holes and multipolygons", mergeSome(JitteredCoverageWith(24, 18, townBound, 42,
			CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true})), 30_000},
		{"town-like 23x10, ~40 vertices (slab index)", JitteredCoverageWith(23, 10, townBound, 43,
			CoverageOptions{Jitter: 0.24, MaxEdgeVertices: 18}), 20_000},
		{"rectangles (axis-aligned edges)", JitteredCoverageWith(12, 9, townBound, 44, CoverageOptions{}), 10_000},
		{"jittered 100x80 (deep tree)", JitteredCoverage(100, 80, townBound, 46), 20_000},
		{"coarse 4x3 over 4°x3° (long edges)", JitteredCoverageWith(4, 3, orb.Bound{Min: orb.Point{114, 38}, Max: orb.Point{118, 41}}, 45,
			CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 1, HoleBlocks: true}), 10_000},
		{"overlapping grids (invalid)", overlapping, 20_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := New(tc.polys)
			if err != nil {
				t.Fatal(err)
			}
			dir, tree := withDirectory(t, ix)
			o := newOracle(tc.polys)
			rng := rand.New(rand.NewPCG(101, uint64(len(tc.polys))))
			pts := dirProbePoints(dir, rng, tc.polys, tc.points)
			deferred, multi, covered := 0, 0, 0
			for _, p := range pts {
				want, wantB := o.covering(p)
				var buf [hitBuf]int32
				got, gotB, done := dir.coverDir(p, buf[:0])
				if !done {
					deferred++
				}
				sortSmall(got)
				if !(p[0] >= ix.bound.Min[0] && p[0] <= ix.bound.Max[0] && p[1] >= ix.bound.Min[1] && p[1] <= ix.bound.Max[1]) {
					got, gotB = nil, false // cover checks the bound before the directory
				}
				if done && (!slices.Equal(got, want) || gotB != wantB) {
					t.Fatalf("coverDir(%v) = %v boundary %v; oracle %v boundary %v", p, got, gotB, want, wantB)
				}
				if c := dir.Covering(p); !slices.Equal(c, want) {
					t.Fatalf("Covering(%v) = %v, oracle %v", p, c, want)
				}
				r1, ok1 := dir.Locate(p, 0)
				r2, ok2 := tree.Locate(p, 0)
				if ok1 != ok2 || r1.ID != r2.ID || r1.Match != r2.Match || !slices.Equal(r1.Also, r2.Also) {
					t.Fatalf("Locate(%v): directory %+v %v, tree %+v %v", p, r1, ok1, r2, ok2)
				}
				if len(want) > 1 {
					multi++
				}
				if len(want) > 0 {
					covered++
				}
			}
			t.Logf("%d entries, %d cells, %d points: %d covered, %d by several, %d deferred to the tree",
				ix.n, len(dir.dir.cells), len(pts), covered, multi, deferred)
			if covered < len(pts)/4 || multi < len(pts)/20 {
				t.Errorf("too few covered (%d) or multiply covered (%d) points", covered, multi)
			}
		})
	}
}

// TestDirectoryOnLargeLayer: New builds the directory for a layer of
// dirMinEntries grids or more, most cells answer without the tree, and
// Locate (tolerances 0 and 200 m) gives the tree's answer, exactly, without
// allocating for a point covered by one grid.
func TestDirectoryOnLargeLayer(t *testing.T) {
	polys := JitteredCoverage(160, 120, townBound, 49)
	if len(polys) < dirMinEntries {
		t.Fatalf("layer of %d grids is below dirMinEntries", len(polys))
	}
	ix, err := New(polys)
	if err != nil {
		t.Fatal(err)
	}
	if ix.dir == nil || ix.raster != nil {
		t.Fatalf("directory %v, raster %v: want a directory and no raster", ix.dir != nil, ix.raster != nil)
	}
	deferredCells := 0
	for i, c := range ix.dir.cells {
		if c.count == dirTree {
			deferredCells++
			continue
		}
		for k := range int(c.count) {
			if c.v[k] != ix.leaves[c.start[k]].vstart {
				t.Fatalf("cell %d run %d: first vertex %d, leaf %d starts at %d", i, k, c.v[k], c.start[k], ix.leaves[c.start[k]].vstart)
			}
		}
	}
	if deferredCells*100 > len(ix.dir.cells) {
		t.Errorf("%d of %d cells defer to the tree", deferredCells, len(ix.dir.cells))
	}
	tree := *ix
	tree.dir = nil
	o := newOracle(polys)
	rng := rand.New(rand.NewPCG(102, 0))
	pts := dirProbePoints(ix, rng, polys, 30_000)
	for i, p := range pts {
		for _, tol := range []float64{0, 200} {
			r1, ok1 := ix.Locate(p, tol)
			r2, ok2 := tree.Locate(p, tol)
			if ok1 != ok2 || r1.ID != r2.ID || r1.Match != r2.Match || r1.DistanceM != r2.DistanceM || !slices.Equal(r1.Also, r2.Also) {
				t.Fatalf("Locate(%v, %v): directory %+v %v, tree %+v %v", p, tol, r1, ok1, r2, ok2)
			}
		}
		if i%10 == 0 {
			want, _ := o.covering(p)
			if got := ix.Covering(p); !slices.Equal(got, want) {
				t.Fatalf("Covering(%v) = %v, oracle %v", p, got, want)
			}
		}
	}
	inside := orb.Point{}
	for _, p := range randomPoints(ix.Bound(), 100, 7) {
		if r, ok := ix.Locate(p, 200); ok && r.Match == Inside {
			inside = p
			break
		}
	}
	if a := testing.AllocsPerRun(100, func() { ix.Locate(inside, 200) }); a != 0 {
		t.Errorf("Locate(%v) allocates %v times", inside, a)
	}
	t.Logf("%d grids: %d cells (%d defer to the tree), %.2f MiB of %.2f MiB", ix.n, len(ix.dir.cells), deferredCells,
		float64(ix.dirBytes())/(1<<20), float64(ix.MemoryBytes())/(1<<20))
}
