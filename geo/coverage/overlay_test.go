package coverage

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/robust"
)

// TestMeetEdges_asEveryOrientation: meetEdges records what it recorded
// when it took every orientation afresh (referenceMeetEdges, the rules of
// meetEdges, commonLine and meet written out on robust.Orient alone), on
// pairs of edges from a small lattice, where ends are shared, edges run
// along each other, touch and cross; whole edges and pieces of them (cut
// at a rounded point, with the edge as support).
func TestMeetEdges_asEveryOrientation(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 3))
	lattice := func() orb.Point { return orb.Point{float64(rnd.IntN(5)) / 4, float64(rnd.IntN(5)) / 4} }
	edge := func() seg {
		for {
			a, b := lattice(), lattice()
			if a == b {
				continue
			}
			s := whole(a, b)
			if rnd.IntN(3) == 0 {
				// A piece: from a rounded point a third of the way along.
				p := orb.Point{a[0] + (b[0]-a[0])/3, a[1] + (b[1]-a[1])/3}
				s = seg{p, b, a, b}
			}
			return s
		}
	}
	kinds := map[meeting]int{}
	for range 20000 {
		e, f := edge(), edge()
		var got, want splitter
		got.reset(2)
		want.reset(2)
		got.meetEdges(0, e, 0, 1, f, 1)
		referenceMeetEdges(&want, 0, e, 0, 1, f, 1)
		for i := range 2 {
			if !slices.Equal(got.cuts[i], want.cuts[i]) || !slices.Equal(got.partners[i], want.partners[i]) {
				t.Fatalf("e %v, f %v: edge %d cuts %v partners %v, want %v %v", e, f, i, got.cuts[i], got.partners[i], want.cuts[i], want.partners[i])
			}
		}
		m, _ := meet(e.a, e.b, f.a, f.b)
		kinds[m]++
	}
	for _, m := range []meeting{apart, touching, collinear, crossing} {
		if kinds[m] == 0 {
			t.Errorf("no pair of kind %d", m)
		}
	}
}

// referenceMeetEdges is meetEdges with each orientation computed where
// its rules ask for it.
func referenceMeetEdges(s *splitter, i int, e seg, ri int32, j int, f seg, rj int32) {
	orient := robust.Orient
	var la, lb orb.Point
	ok := false
	if orient(e.sa, e.sb, f.sa) == 0 && orient(e.sa, e.sb, f.sb) == 0 {
		la, lb, ok = e.sa, e.sb, true
	} else if orient(e.a, e.b, f.a) == 0 && orient(e.a, e.b, f.b) == 0 {
		la, lb, ok = e.a, e.b, true
	}
	if ok {
		ta, tb := dot(la, lb, e.a), dot(la, lb, e.b)
		tc, td := dot(la, lb, f.a), dot(la, lb, f.b)
		lo, hi := math.Max(math.Min(ta, tb), math.Min(tc, td)), math.Min(math.Max(ta, tb), math.Max(tc, td))
		if !(lo < hi) {
			return
		}
		for _, p := range [2]orb.Point{f.a, f.b} {
			if t := dot(la, lb, p); t > math.Min(ta, tb) && t < math.Max(ta, tb) && p != e.a && p != e.b {
				s.cuts[i] = append(s.cuts[i], cut{p, false, int32(j)})
			}
		}
		for _, p := range [2]orb.Point{e.a, e.b} {
			if t := dot(la, lb, p); t > math.Min(tc, td) && t < math.Max(tc, td) && p != f.a && p != f.b {
				s.cuts[j] = append(s.cuts[j], cut{p, false, int32(i)})
			}
		}
		same := (tb > ta) == (td > tc)
		s.partners[i] = append(s.partners[i], partner{f.a, f.b, same, rj})
		s.partners[j] = append(s.partners[j], partner{e.a, e.b, same, ri})
		return
	}
	a, b, c, d := e.a, e.b, f.a, f.b
	if math.Max(a[0], b[0]) < math.Min(c[0], d[0]) || math.Max(c[0], d[0]) < math.Min(a[0], b[0]) ||
		math.Max(a[1], b[1]) < math.Min(c[1], d[1]) || math.Max(c[1], d[1]) < math.Min(a[1], b[1]) {
		return
	}
	o1, o2 := orient(a, b, c), orient(a, b, d)
	m := touching
	if o1 == 0 && o2 == 0 {
		ta, tb := 0.0, dot(a, b, b)
		tc, td := dot(a, b, c), dot(a, b, d)
		lo, hi := math.Max(math.Min(ta, tb), math.Min(tc, td)), math.Min(math.Max(ta, tb), math.Max(tc, td))
		switch {
		case lo < hi:
			m = collinear
		case lo > hi:
			return
		}
	} else {
		if o1*o2 > 0 {
			return
		}
		o3, o4 := orient(c, d, a), orient(c, d, b)
		if o3*o4 > 0 {
			return
		}
		if o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0 {
			m = crossing
		}
	}
	switch m {
	case crossing:
		at := crossingPoint(a, b, c, d)
		for _, p := range [2]orb.Point{e.a, e.b} {
			if near(at, p) {
				s.cuts[j] = append(s.cuts[j], cut{p, false, int32(i)})
				return
			}
		}
		for _, p := range [2]orb.Point{f.a, f.b} {
			if near(at, p) {
				s.cuts[i] = append(s.cuts[i], cut{p, false, int32(j)})
				return
			}
		}
		s.cuts[i] = append(s.cuts[i], cut{at, true, int32(j)})
		s.cuts[j] = append(s.cuts[j], cut{at, true, int32(i)})
	case touching:
		for _, p := range [2]orb.Point{f.a, f.b} {
			if orient(e.a, e.b, p) == 0 && onSegment(e.a, e.b, p) {
				s.cuts[i] = append(s.cuts[i], cut{p, false, int32(j)})
			}
		}
		for _, p := range [2]orb.Point{e.a, e.b} {
			if orient(f.a, f.b, p) == 0 && onSegment(f.a, f.b, p) {
				s.cuts[j] = append(s.cuts[j], cut{p, false, int32(i)})
			}
		}
	}
}
