package gridindex

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// locateReference is Locate without the raster and the outline test: the
// tree's exact covering set, and for an uncovered point the exhaustive
// nearest-grid search.
func (ix *Index) locateReference(p orb.Point, tol float64) (Result, bool) {
	var buf [hitBuf]int32
	hits, onB := ix.cover(p, buf[:0])
	if len(hits) == 0 {
		if tol > 0 && finite(p) {
			return ix.nearestExhaustive(p, tol)
		}
		return Result{}, false
	}
	sortSmall(hits)
	res := Result{ID: hits[0], Match: Inside}
	if len(hits) > 1 {
		res.Also = slices.Clone(hits[1:])
	}
	if onB {
		res.Match = Boundary
	}
	return res, true
}

// TestRasterMatchesTree holds the raster's shortcuts (interior cells,
// uncovered cells with a clearance, the outline test for points outside the
// bound) to the tree and the exhaustive nearest search: the same answer, the
// same distance to the bit, on random points, vertices, points on and next
// to edges, points on and one ulp either side of every cell border line,
// and points far outside, for several tolerances.
func TestRasterMatchesTree(t *testing.T) {
	gappy := func(seed uint64) []orb.MultiPolygon {
		all := JitteredCoverageWith(30, 20, townBound, seed, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 6, HoleBlocks: true})
		var polys []orb.MultiPolygon
		for i, m := range all {
			if i%5 != 3 && (i%30 < 10 || i/30 > 6) {
				polys = append(polys, m)
			}
		}
		return mergeSome(polys)
	}
	cases := []struct {
		name  string
		polys []orb.MultiPolygon
	}{
		{"town", JitteredCoverageWith(23, 10, townBound, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18})},
		{"gappy with holes and multipolygons", gappy(61)},
		{"one square", []orb.MultiPolygon{mp(orb.Polygon{sq(116.3, 39.9, 116.31, 39.91)})}},
	}
	tols := []float64{0, 20, 150, 2000, 150_000, math.NaN()}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := New(tc.polys)
			if err != nil {
				t.Fatal(err)
			}
			r := ix.raster
			if r == nil {
				t.Fatal("no raster built")
			}
			rng := rand.New(rand.NewPCG(71, uint64(len(tc.polys))))
			b := ix.Bound()
			w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
			pts := samplePoints(rng, tc.polys, b, 8000)
			// Cell border lines and their float neighbours.
			for k := 0; k < 2000; k++ {
				x := r.x0 + float64(rng.IntN(int(r.nx)+1))/r.sx
				y := b.Min[1] + rng.Float64()*h
				if k%2 == 1 {
					x = b.Min[0] + rng.Float64()*w
					y = r.y0 + float64(rng.IntN(int(r.ny)+1))/r.sy
				}
				for _, dx := range []float64{-1, 0, 1} {
					p := orb.Point{x, y}
					if dx != 0 {
						p[k%2] = math.Nextafter(p[k%2], dx*math.Inf(1))
					}
					pts = append(pts, p)
				}
			}
			// Far outside, up to 3° away, and not finite.
			for k := 0; k < 2000; k++ {
				pts = append(pts, orb.Point{b.Min[0] + (rng.Float64()*7-3)*max(w, 1), b.Min[1] + (rng.Float64()*7-3)*max(h, 1)})
			}
			pts = append(pts, orb.Point{math.NaN(), b.Min[1]}, orb.Point{b.Min[0], math.Inf(1)})

			stats := map[string]int{}
			for _, p := range pts {
				for _, tol := range tols {
					got, gotOK := ix.Locate(p, tol)
					want, wantOK := ix.locateReference(p, tol)
					if gotOK != wantOK || (gotOK && !reflectEqual(got, want)) {
						t.Fatalf("Locate(%v, %v) = %+v, %v; want %+v, %v", p, tol, got, gotOK, want, wantOK)
					}
					_, _, done, uncovered := ix.locateRaster(p, tol)
					switch {
					case done && gotOK:
						stats["raster inside"]++
					case done:
						stats["raster clear"]++
					case uncovered:
						stats["raster uncovered"]++
					case !gotOK && !ix.bound.Contains(p):
						stats["outside the bound, not found"]++
					}
				}
			}
			t.Logf("%d×%d cells; %v", r.nx, r.ny, stats)
			if stats["raster inside"] == 0 || stats["outside the bound, not found"] == 0 {
				t.Errorf("weak sample: %v", stats)
			}
			if tc.name == "gappy with holes and multipolygons" && (stats["raster clear"] == 0 || stats["raster uncovered"] == 0) {
				t.Errorf("weak sample: %v", stats)
			}
		})
	}
}
