package coverage

import (
	"math"
	"slices"
	"wangge/geo/robust"

	"github.com/paulmach/orb"
)

// seg is a directed edge of a polygonal region, with the region on its left.
// sa–sb is the edge it was cut from, its support: an edge of an input
// polygon, or of a piece of a buffer. A cut point is rounded, so a piece
// of an edge is not exactly on the line through the edge; collinearity is
// decided on the supports, which are exact (see meetSegs).
type seg struct {
	a, b   orb.Point
	sa, sb orb.Point
}

// whole returns the uncut edge a->b.
func whole(a, b orb.Point) seg { return seg{a, b, a, b} }

// region is a polygonal region prepared for overlay: its edges, oriented so
// that the region is on their left (outer rings counter-clockwise, holes
// clockwise), with a band index for point-in-polygon tests. Read them with
// n and edge: a region of boundary pieces (cut from other edges) lists
// them in edges; one of whole input edges (newRegion) refers to the rings
// it was made from instead of copying them, each edge an int32, in 4 bytes
// instead of a seg's 64 (on a province's layer, 7 M edges, which as segs
// were the bulk of the checks' memory).
type region struct {
	edges []seg
	// Edge i of a region of rings is edge k = at[i] - start[j] of rings[j]
	// (start[j] <= at[i] < start[j+1]): rings[j][k] to the next vertex, or
	// the other way when rev[j].
	rings []orb.Ring
	start []int32
	rev   []bool
	at    []int32
	box   orb.Bound
	bands bands
	// asGiven: the region is its geometry as given, which was valid
	// (fixedRegion).
	asGiven bool
}

// newRegion prepares mp. Rings may come in either orientation; ring 0 of
// each polygon is the outer one. Repeated consecutive vertices are skipped.
// The region refers to mp's rings: they must not change while it is used.
func newRegion(mp orb.MultiPolygon) *region {
	r := &region{}
	n, rings := 0, 0
	for _, poly := range mp {
		for _, ring := range poly {
			n += len(ring)
			rings++
		}
	}
	r.rings = make([]orb.Ring, 0, rings)
	r.rev = make([]bool, 0, rings)
	r.start = make([]int32, 1, rings+1)
	r.at = make([]int32, 0, n)
	for _, poly := range mp {
		for j, ring := range poly {
			ccw := signedArea(ring) > 0
			r.addRing(ring, ccw != (j == 0))
		}
	}
	if len(r.at) == 0 {
		*r = region{}
	}
	r.finish()
	return r
}

// addRing adds the edges of ring as appendRing lists them, in the same
// order: skipping zero-length ones, the ring closed, each reversed if
// asked.
func (r *region) addRing(ring orb.Ring, reverse bool) {
	n := len(ring)
	if n > 1 && ring[0] == ring[n-1] {
		n--
	}
	if n == 0 {
		return
	}
	base := r.start[len(r.start)-1]
	r.rings = append(r.rings, ring[:n])
	r.rev = append(r.rev, reverse)
	r.start = append(r.start, base+int32(n))
	for k := 0; k < n; k++ {
		next := k + 1
		if next == n {
			next = 0
		}
		if ring[k] != ring[next] {
			r.at = append(r.at, base+int32(k))
		}
	}
}

// n is the number of edges.
func (r *region) n() int {
	if r.at != nil {
		return len(r.at)
	}
	return len(r.edges)
}

// edge returns edge i.
func (r *region) edge(i int) seg {
	if r.at == nil {
		return r.edges[i]
	}
	k := r.at[i]
	j := 0
	if len(r.rings) > 1 {
		// The last ring starting at or before k.
		lo, hi := 0, len(r.rings)
		for hi-lo > 1 {
			m := int(uint(lo+hi) >> 1)
			if r.start[m] <= k {
				lo = m
			} else {
				hi = m
			}
		}
		j = lo
	}
	ring := r.rings[j]
	k -= r.start[j]
	next := k + 1
	if int(next) == len(ring) {
		next = 0
	}
	if r.rev[j] {
		return whole(ring[next], ring[k])
	}
	return whole(ring[k], ring[next])
}

// appendEdges appends r's edges to dst.
func (r *region) appendEdges(dst []seg) []seg {
	if r.at == nil {
		return append(dst, r.edges...)
	}
	dst = slices.Grow(dst, len(r.at))
	for i := range r.at {
		dst = append(dst, r.edge(i))
	}
	return dst
}

// segs returns r's edges as a list (a copy for a region of vertices).
func (r *region) segs() []seg {
	if r.at == nil {
		return r.edges
	}
	return r.appendEdges(nil)
}

// appendRing appends the edges of ring, reversed if asked, skipping
// zero-length ones and closing the ring if its last vertex is not its
// first.
func appendRing(dst []seg, ring orb.Ring, reverse bool) []seg {
	n := len(ring)
	if n > 1 && ring[0] == ring[n-1] {
		n--
	}
	for k := 0; k < n; k++ {
		a, b := ring[k], ring[(k+1)%n]
		if reverse {
			a, b = b, a
		}
		if a != b {
			dst = append(dst, whole(a, b))
		}
	}
	return dst
}

// finish computes the box and the band index.
func (r *region) finish() {
	if r.n() == 0 {
		return
	}
	e0 := r.edge(0)
	r.box = orb.Bound{Min: e0.a, Max: e0.a}
	for i := range r.n() {
		e := r.edge(i)
		r.box = r.box.Extend(e.a).Extend(e.b)
	}
	r.bands = newBands(r, r.box)
}

// signedArea is twice the planar (lon/lat) signed area of ring: positive
// when counter-clockwise.
func signedArea(ring orb.Ring) float64 {
	s := 0.0
	n := len(ring)
	if n < 3 {
		return 0
	}
	o := ring[0]
	for k := 1; k+1 < n; k++ {
		s += (ring[k][0]-o[0])*(ring[k+1][1]-o[1]) - (ring[k+1][0]-o[0])*(ring[k][1]-o[1])
	}
	if ring[n-1] != o { // not closed: close it
		s += (ring[n-1][0]-o[0])*(ring[0][1]-o[1]) - (ring[0][0]-o[0])*(ring[n-1][1]-o[1])
	}
	return s
}

// Point-in-region results.
const (
	outside  = -1
	boundary = 0
	inside   = 1
)

// locate says whether p is inside r, outside it, or on its boundary
// (exactly, with exact predicates).
func (r *region) locate(p orb.Point) int {
	if r.n() == 0 || !r.box.Contains(p) {
		return outside
	}
	in := false
	for _, i := range r.bands.at(p[1]) {
		e := r.edge(int(i))
		a, b := e.a, e.b
		if p[1] < math.Min(a[1], b[1]) || p[1] > math.Max(a[1], b[1]) {
			continue
		}
		if (a[1] <= p[1]) != (b[1] <= p[1]) {
			// The edge straddles the horizontal line through p (half-open).
			o := robust.Orient(a, b, p)
			if o == 0 {
				return boundary
			}
			if (b[1] > a[1]) == (o > 0) {
				in = !in // the edge is to the right of p
			}
			continue
		}
		// The edge touches the line through p at an end, or lies on it.
		if p == a || p == b || (a[1] == b[1] && p[0] > math.Min(a[0], b[0]) && p[0] < math.Max(a[0], b[0])) {
			return boundary
		}
	}
	if in {
		return inside
	}
	return outside
}

// bands is an index of edges by horizontal band: a point-in-polygon test
// only looks at the edges whose latitude span meets the point's band.
type bands struct {
	y0, inv float64
	n       int
	start   []int32
	ids     []int32
}

func newBands(r *region, box orb.Bound) bands {
	h := box.Max[1] - box.Min[1]
	sumDy := 0.0
	n := r.n()
	for i := range n {
		e := r.edge(i)
		sumDy += math.Abs(e.b[1] - e.a[1])
	}
	bs := bands{y0: box.Min[1], n: 1}
	if h > 0 && sumDy > 0 {
		// Bands about as tall as an average edge: each edge spans about
		// two, and a band holds a few edges.
		bs.n = int(math.Min(math.Max(h*float64(n)/sumDy, 1), math.Min(float64(n), 1<<16)))
		bs.inv = float64(bs.n) / h
	}
	counts := make([]int32, bs.n+1)
	for i := range n {
		lo, hi := bs.span(r.edge(i))
		for k := lo; k <= hi; k++ {
			counts[k+1]++
		}
	}
	for k := 1; k < len(counts); k++ {
		counts[k] += counts[k-1]
	}
	bs.start = counts
	bs.ids = make([]int32, counts[bs.n])
	fill := append([]int32(nil), counts[:bs.n]...)
	for i := range n {
		lo, hi := bs.span(r.edge(i))
		for k := lo; k <= hi; k++ {
			bs.ids[fill[k]] = int32(i)
			fill[k]++
		}
	}
	return bs
}

func (bs *bands) band(y float64) int {
	k := int((y - bs.y0) * bs.inv)
	return min(max(k, 0), bs.n-1)
}

func (bs *bands) span(e seg) (int, int) {
	return bs.band(math.Min(e.a[1], e.b[1])), bs.band(math.Max(e.a[1], e.b[1]))
}

// at returns the edges whose band range includes y.
func (bs *bands) at(y float64) []int32 {
	if bs.n == 0 {
		return nil
	}
	k := bs.band(y)
	return bs.ids[bs.start[k]:bs.start[k+1]]
}
