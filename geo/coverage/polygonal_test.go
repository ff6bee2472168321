package coverage

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/robust"
)

// TestLocate_everyEdge: locate (bands, and edges wholly east or west of
// the point decided without an orientation) agrees with a crossing count
// over every edge with exact orientations, for points anywhere, on
// vertices, on edges and on the latitudes of vertices, in a region of
// several rings (a star with a hole and an island; edges refer to rings,
// and a ring lookup is guessed from the last edge).
func TestLocate_everyEdge(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 4))
	star := randomStar(rnd, 300)
	hole := orb.Ring{{-0.3, -0.3}, {-0.3, 0.3}, {0.3, 0.3}, {0.3, -0.3}, {-0.3, -0.3}}
	island := orb.Ring{{3, 0}, {4, 0}, {4, 1}, {3, 0}}
	r := newRegion(orb.MultiPolygon{{star, hole}, {island}})
	want := func(p orb.Point) int {
		in := false
		for i := range r.n() {
			e := r.edge(i)
			a, b := e.a, e.b
			if p == a || p == b {
				return boundary
			}
			o := robust.Orient(a, b, p)
			if o == 0 && min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1]) {
				return boundary
			}
			if (a[1] <= p[1]) != (b[1] <= p[1]) && (b[1] > a[1]) == (o > 0) {
				in = !in
			}
		}
		if in {
			return inside
		}
		return outside
	}
	var points []orb.Point
	for range 3000 {
		points = append(points, orb.Point{6*rnd.Float64() - 2, 4*rnd.Float64() - 2})
	}
	for i := range r.n() {
		e := r.edge(i)
		points = append(points, e.a, mid(e.a, e.b), orb.Point{e.a[0] - 0.01, e.a[1]}, orb.Point{e.a[0] + 5, e.a[1]})
	}
	kinds := map[int]int{}
	for _, p := range points {
		got, w := r.locate(p), want(p)
		if got != w {
			t.Fatalf("locate(%v) = %d, want %d", p, got, w)
		}
		kinds[w]++
	}
	if kinds[inside] == 0 || kinds[outside] == 0 || kinds[boundary] == 0 {
		t.Errorf("points by result: %v", kinds)
	}
}

// TestEdgeHint: edgeHint reads the edge that edge reads, whatever the
// guess it is given.
func TestEdgeHint(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 5))
	mp := orb.MultiPolygon{{randomStar(rnd, 40), {{-0.2, -0.2}, {-0.2, 0.2}, {0.2, 0.2}, {-0.2, -0.2}}}, {{{3, 0}, {4, 0}, {4, 1}, {3, 0}}}}
	r := newRegion(mp)
	ring := 0
	for range 2000 {
		i := rnd.IntN(r.n())
		if rnd.IntN(4) == 0 {
			ring = rnd.IntN(len(r.rings) + 2)
		}
		if got, want := r.edgeHint(i, &ring), r.edge(i); got != want {
			t.Fatalf("edge %d: %v, want %v", i, got, want)
		}
	}
}

// TestRegionNear_reusedMarks: near finds the same edges with a bitset
// kept from call to call (classify's) as with a fresh one, and leaves it
// zero.
func TestRegionNear_reusedMarks(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 6))
	regions := []*region{newRegion(orb.MultiPolygon{{randomStar(rnd, 3000)}}), newRegion(orb.MultiPolygon{{randomStar(rnd, 100)}})}
	var marks []uint64
	for range 300 {
		r := regions[rnd.IntN(len(regions))]
		x, y := 3*rnd.Float64()-1.5, 3*rnd.Float64()-1.5
		b := orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + 0.5*rnd.Float64(), y + 0.1*rnd.Float64()}}
		if got, want := r.near(b, nil, &marks), r.near(b, nil, nil); !slices.Equal(got, want) {
			t.Fatalf("box %v: %v, want %v", b, got, want)
		}
		for w, x := range marks {
			if x != 0 {
				t.Fatalf("box %v: word %d of the bitset left %x", b, w, x)
			}
		}
	}
}
