package gridindex

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// nearestExhaustive is the nearest-grid search as it was before pruning,
// kept as the reference of TestNearestPrunedMatchesExhaustive: every
// candidate whose box meets the search box, every edge measured.
func (ix *Index) nearestExhaustive(p orb.Point, tol float64) (Result, bool) {
	_, dLat := spheroid.MetresToDegrees(p[1], tol)
	dLat *= 1.01
	dLon, _ := spheroid.MetresToDegrees(min(math.Abs(p[1])+dLat, 90), tol)
	dLon *= 1.01
	q := orb.Bound{Min: orb.Point{p[0] - dLon, p[1] - dLat}, Max: orb.Point{p[0] + dLon, p[1] + dLat}}
	if !q.Intersects(ix.bound) || ix.n == 0 {
		return Result{}, false
	}
	best, bestID := math.Inf(1), int32(-1)
	var stack [maxStack]int32
	sp := 0
	group, isLeaf := ix.root, ix.rootLeaf
	for {
		if isLeaf {
			for s := group; s < group+nodeSize; s++ {
				l := &ix.leaves[s]
				if !q.Intersects(l.bound()) {
					continue
				}
				id := l.id
				if id < 0 {
					id = ^id
				}
				d := ix.boundaryDistanceExhaustive(s, p)
				if d < best || (d == best && id < bestID) {
					best, bestID = d, id
				}
			}
		} else {
			childLeaf := group < ix.l1Slots
			for s := group; s < group+nodeSize; s++ {
				if !q.Intersects(ix.box(int(s))) {
					continue
				}
				if childLeaf {
					stack[sp] = ^ix.refs[s]
				} else {
					stack[sp] = ix.refs[s]
				}
				sp++
			}
		}
		if sp == 0 {
			break
		}
		sp--
		group, isLeaf = stack[sp], false
		if group < 0 {
			group, isLeaf = ^group, true
		}
	}
	if bestID < 0 || !(best <= tol) {
		return Result{}, false
	}
	return Result{ID: bestID, Match: Nearest, DistanceM: best}, true
}

func (ix *Index) boundaryDistanceExhaustive(s int32, p orb.Point) float64 {
	d := math.Inf(1)
	r0, r1 := ix.ringsOf(s)
	for r := r0; r < r1; r++ {
		lo, hi := ix.ringRange(r)
		pts := ix.pts[lo:hi]
		for i := 1; i < len(pts); i++ {
			d = min(d, spheroid.PointSegmentDistance(p, pts[i-1], pts[i]))
		}
	}
	return d
}

// TestNearestPrunedMatchesExhaustive compares the pruned nearest-grid search
// with the exhaustive one on random points near and far from several
// coverages (gaps, holes, multi-polygons, slab-indexed grids, exact squares
// whose gaps put points at equal distances from several grids), at several
// tolerances and latitudes: the same answer, bit for bit.
func TestNearestPrunedMatchesExhaustive(t *testing.T) {
	type layer struct {
		name  string
		polys []orb.MultiPolygon
	}
	drop := func(all []orb.MultiPolygon, keep func(i int) bool) []orb.MultiPolygon {
		var out []orb.MultiPolygon
		for i, m := range all {
			if keep(i) {
				out = append(out, m)
			}
		}
		return out
	}
	// Exact squares on a dyadic lattice (1/256° cells, exactly
	// representable) with every third one missing: the centre of a
	// missing cell is at exactly equal distances from the grids left and
	// right of it, and from those above and below; so is every point on
	// the vertical or horizontal line through it.
	var gaps []orb.Point
	squares := func(b orb.Bound, nx, ny int) []orb.MultiPolygon {
		var out []orb.MultiPolygon
		const w = 1.0 / 256
		x0, y0 := math.Floor(b.Min[0]*256)/256, math.Floor(b.Min[1]*256)/256
		for j := range ny {
			for i := range nx {
				x, y := x0+float64(i)*w, y0+float64(j)*w
				if (i+j)%3 == 1 {
					gaps = append(gaps, orb.Point{x + w/2, y + w/2})
					continue
				}
				out = append(out, mp(orb.Polygon{sq(x, y, x+w, y+w)}))
			}
		}
		return out
	}
	north := orb.Bound{Min: orb.Point{25.0, 69.5}, Max: orb.Point{25.1, 69.56}}
	var layers []layer
	for _, b := range []orb.Bound{townBound, north, {Min: orb.Point{-60.05, -0.03}, Max: orb.Point{-59.95, 0.03}}} {
		layers = append(layers,
			layer{"gappy", drop(JitteredCoverageWith(30, 20, b, 47, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true}), func(i int) bool { return i%5 != 3 })},
			layer{"slabs+multi", mergeSome(drop(JitteredCoverageWith(23, 10, b, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18}), func(i int) bool { return i%4 != 1 }))},
			layer{"squares", squares(b, 24, 12)},
		)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	stats := map[string]int{}
	for _, l := range layers {
		ix, err := New(l.polys)
		if err != nil {
			t.Fatal(err)
		}
		b := ix.Bound()
		w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		check := func(p orb.Point, tol float64) {
			if len(ix.Covering(p)) > 0 {
				stats["covered"]++
				return
			}
			got, gok := ix.nearest(p, tol)
			want, wok := ix.nearestExhaustive(p, tol)
			if gok != wok || got.ID != want.ID || got.Match != want.Match || got.DistanceM != want.DistanceM {
				t.Fatalf("%s: nearest(%v, %v) = %+v, %v; exhaustive %+v, %v", l.name, p, tol, got, gok, want, wok)
			}
			if wok && l.name == "squares" {
				// Count the answers other grids tie with.
				for id, m := range l.polys {
					if int32(id) != want.ID && ix.boundaryDistanceExhaustive(ix.slotOfID(int32(id)), p) == want.DistanceM && len(m) > 0 {
						stats["tie"]++
						break
					}
				}
			}
			if wok {
				stats["nearest"]++
			} else {
				stats["none"]++
			}
		}
		for i := 0; i < 3000; i++ {
			tol := []float64{200, 50, 1000, 1e-3, 1e7}[i%5]
			var p orb.Point
			switch k := rng.IntN(4); k {
			case 0: // anywhere near the box
				p = orb.Point{b.Min[0] - 0.1*w + rng.Float64()*1.2*w, b.Min[1] - 0.1*h + rng.Float64()*1.2*h}
			case 1: // far
				p = orb.Point{b.Min[0] - 2*w + rng.Float64()*5*w, b.Min[1] - 2*h + rng.Float64()*5*h}
			case 2: // a gap centre, maybe moved along one axis (ties)
				p = gaps[rng.IntN(len(gaps))]
				if rng.IntN(2) == 0 {
					p[rng.IntN(2)] += float64(rng.IntN(64)-32) / (256 * 128)
				}
			default: // just outside the coverage's box
				p = orb.Point{b.Max[0] + rng.Float64()*0.004, b.Min[1] + rng.Float64()*h}
			}
			check(p, tol)
		}
	}
	t.Logf("%v", stats)
	if stats["nearest"] < 1000 || stats["none"] < 1000 || stats["tie"] < 50 {
		t.Errorf("weak sample: %v", stats)
	}
}
