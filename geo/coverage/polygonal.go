package coverage

import (
	"math"
	"math/bits"
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
// n and edge. A region of boundary pieces (cut from other edges) may list
// them in edges; one made from input rings refers to the rings instead of
// copying them, each edge an int32, in 4 bytes instead of a seg's 64 (on a
// province's layer, 7 M edges, which as segs were the bulk of the checks'
// memory). A geometry made valid (fixedRegion) mixes the two: its whole
// edges refer to its rings, the few pieces cut from them are listed.
type region struct {
	edges []seg
	// With at set, edge i is at[i]: edges[^at[i]] when at[i] < 0, else
	// the edge from vertex v = at[i]>>1 to the next one of its ring, or the
	// other way when at[i]&1 is 1. Vertex v is vertex v - start[j] of
	// rings[j] (start[j] <= v < start[j+1]); the last vertex of a ring
	// goes to the first.
	rings []orb.Ring
	start []int32
	at    []int32
	box   orb.Bound
	bands bands
	// asGiven: the region is its geometry as given, which was valid
	// (fixedRegion).
	asGiven bool
}

// maxRingVertices is the most vertices a region can refer to (at's
// encoding); a larger geometry's edges are listed.
const maxRingVertices = 1 << 30

// newRegion prepares mp. Rings may come in either orientation; ring 0 of
// each polygon is the outer one. Repeated consecutive vertices are skipped.
// The region refers to mp's rings: they must not change while it is used.
func newRegion(mp orb.MultiPolygon) *region {
	r := &region{}
	if !r.addRings(mp) {
		for _, poly := range mp {
			for j, ring := range poly {
				r.edges = appendRing(r.edges, ring, (signedArea(ring) > 0) != (j == 0))
			}
		}
		r.finish()
		return r
	}
	n := 0
	for _, ring := range r.rings {
		n += len(ring)
	}
	r.at = make([]int32, 0, n)
	j := 0
	for _, poly := range mp {
		for h, ring := range poly {
			if vertices(ring) == 0 {
				continue
			}
			ccw := signedArea(ring) > 0
			r.addRing(j, ccw != (h == 0))
			j++
		}
	}
	if len(r.at) == 0 {
		*r = region{}
	}
	r.finish()
	return r
}

// vertices is the number of distinct vertices of ring as appendRing reads
// it: without the last when it repeats the first.
func vertices(ring orb.Ring) int {
	n := len(ring)
	if n > 1 && ring[0] == ring[n-1] {
		n--
	}
	return n
}

// addRings makes mp's rings (without the closing vertex) the rings r
// refers to, and reports whether their vertices fit at's encoding.
func (r *region) addRings(mp orb.MultiPolygon) bool {
	total, rings := 0, 0
	for _, poly := range mp {
		for _, ring := range poly {
			if n := vertices(ring); n > 0 {
				total += n
				rings++
			}
		}
	}
	if total >= maxRingVertices {
		return false
	}
	r.rings = make([]orb.Ring, 0, rings)
	r.start = make([]int32, 1, rings+1)
	for _, poly := range mp {
		for _, ring := range poly {
			if n := vertices(ring); n > 0 {
				r.rings = append(r.rings, ring[:n])
				r.start = append(r.start, r.start[len(r.start)-1]+int32(n))
			}
		}
	}
	return true
}

// addRing adds the edges of ring j as appendRing lists them, in the same
// order: skipping zero-length ones, the ring closed, each reversed if
// asked.
func (r *region) addRing(j int, reverse bool) {
	ring, base := r.rings[j], r.start[j]
	n := len(ring)
	var dir int32
	if reverse {
		dir = 1
	}
	for k := 0; k < n; k++ {
		next := k + 1
		if next == n {
			next = 0
		}
		if ring[k] != ring[next] {
			r.at = append(r.at, (base+int32(k))<<1|dir)
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
	return r.ref(r.at[i])
}

// ref returns the edge that the code c of at stands for.
func (r *region) ref(c int32) seg {
	if c < 0 {
		return r.edges[^c]
	}
	ring, k, next := r.vertex(c >> 1)
	if c&1 == 1 {
		return whole(ring[next], ring[k])
	}
	return whole(ring[k], ring[next])
}

// edgeHint is edge(i), given *ring, a guess at the ring of the edge's
// vertex, which it updates. Loops over the edges in order, or over a
// band's (mostly in order), then seldom look the ring up: the lookup
// (vertex) was a tenth of the overlays' time.
func (r *region) edgeHint(i int, ring *int) seg {
	if r.at == nil {
		return r.edges[i]
	}
	c := r.at[i]
	if c < 0 {
		return r.edges[^c]
	}
	v := c >> 1
	j := *ring
	if j >= len(r.rings) || r.start[j] > v || r.start[j+1] <= v {
		j = r.ringOf(v)
		*ring = j
	}
	rg := r.rings[j]
	k := v - r.start[j]
	next := k + 1
	if int(next) == len(rg) {
		next = 0
	}
	if c&1 == 1 {
		return whole(rg[next], rg[k])
	}
	return whole(rg[k], rg[next])
}

// ringOf returns the ring of vertex v: the last one starting at or
// before v.
func (r *region) ringOf(v int32) int {
	j := 0
	if len(r.rings) > 1 {
		lo, hi := 0, len(r.rings)
		for hi-lo > 1 {
			m := int(uint(lo+hi) >> 1)
			if r.start[m] <= v {
				lo = m
			} else {
				hi = m
			}
		}
		j = lo
	}
	return j
}

// vertex returns the ring of vertex v, and v's index in it and the next
// one's.
func (r *region) vertex(v int32) (ring orb.Ring, k, next int32) {
	j := r.ringOf(v)
	ring = r.rings[j]
	k = v - r.start[j]
	next = k + 1
	if int(next) == len(ring) {
		next = 0
	}
	return ring, k, next
}

// piecesRegion returns the region whose edges are pieces, in order, cut
// from the edges of mp (made valid by fixedRegion, say), with the box and
// bands of done, which has those edges (or nil, to compute them). A piece
// that is a whole edge of mp, in either direction, refers to mp's rings;
// only the others are kept as segs. The edges read back are the very
// pieces given.
func piecesRegion(mp orb.MultiPolygon, pieces []seg, done *region) *region {
	r := &region{}
	if len(pieces) == 0 {
		return r
	}
	if !r.addRings(mp) {
		r.edges = pieces
	} else {
		r.at = make([]int32, 0, len(pieces))
		var vs vertexIndex
		guess := int32(0)
		for _, s := range pieces {
			if s.a == s.sa && s.b == s.sb {
				if c, ok := r.find(s, guess, &vs); ok {
					r.at = append(r.at, c)
					guess = c + 2 // the next vertex, the same way
					continue
				}
			}
			r.at = append(r.at, ^int32(len(r.edges)))
			r.edges = append(r.edges, s)
		}
		r.edges = slices.Clip(r.edges)
	}
	if done != nil {
		r.box, r.bands = done.box, done.bands
	} else {
		r.finish()
	}
	return r
}

// find returns the code of at that stands for the whole edge s, trying
// the codes from guess on first, then the index of r's vertices by point
// (built on first use).
func (r *region) find(s seg, guess int32, vs *vertexIndex) (int32, bool) {
	// Pieces mostly follow their rings: try the next vertices (past an
	// edge cut into pieces, zero-length ones the pieces skip, a spike
	// left out), either way.
	total := r.start[len(r.start)-1]
	for g := guess; g >= 0 && g>>1 < total && g < guess+2*maxSkip; g += 2 {
		if r.ref(g) == s {
			return g, true
		}
		if r.ref(g^1) == s {
			return g ^ 1, true
		}
	}
	if vs.ids == nil {
		vs.build(r)
	}
	for _, x := range vs.at(s.a) {
		if ring, _, next := r.vertex(x.v); ring[next] == s.b {
			return x.v << 1, true
		}
	}
	for _, x := range vs.at(s.b) {
		if ring, _, next := r.vertex(x.v); ring[next] == s.a {
			return x.v<<1 | 1, true
		}
	}
	return 0, false
}

// maxSkip is how many vertices past the last whole edge piecesRegion
// looks for the next before it looks the edge up in the vertex index.
const maxSkip = 16

// vertexIndex lists a region's vertices sorted by point.
type vertexIndex struct {
	ids []vertexAt
}

type vertexAt struct {
	p orb.Point
	v int32
}

func (vs *vertexIndex) build(r *region) {
	vs.ids = make([]vertexAt, 0, r.start[len(r.start)-1])
	for j, ring := range r.rings {
		for k, p := range ring {
			vs.ids = append(vs.ids, vertexAt{p, r.start[j] + int32(k)})
		}
	}
	slices.SortFunc(vs.ids, func(a, b vertexAt) int { return comparePoints(a.p, b.p) })
}

// at returns the vertices at p.
func (vs *vertexIndex) at(p orb.Point) []vertexAt {
	lo, _ := slices.BinarySearchFunc(vs.ids, p, func(x vertexAt, p orb.Point) int { return comparePoints(x.p, p) })
	hi := lo
	for hi < len(vs.ids) && vs.ids[hi].p == p {
		hi++
	}
	return vs.ids[lo:hi]
}

func comparePoints(p, q orb.Point) int {
	if c := compareFloats(p[0], q[0]); c != 0 {
		return c
	}
	return compareFloats(p[1], q[1])
}

// compareFloats is cmp.Compare for numbers that are not NaN (coordinates
// and parameters along edges), without its NaN tests: sorting points and
// cuts calls it millions of times.
func compareFloats(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// near appends to dst the edges of r whose boxes meet b (boxesMeet), in
// order. They are looked up in the bands b's latitudes span when those
// list fewer than half of r's edges, else every edge is looked at. marks,
// when not nil, is a bitset of zeros to use (and leave zero), kept by the
// caller from call to call.
func (r *region) near(b orb.Bound, dst []int32, marks *[]uint64) []int32 {
	n := r.n()
	if bs := &r.bands; bs.n > 1 {
		// An edge meeting b has latitudes in b's span, so it is listed in
		// one of b's bands (band is monotone).
		lo, hi := bs.band(b.Min[1]), bs.band(b.Max[1])
		if ids := bs.ids[bs.start[lo]:bs.start[hi+1]]; len(ids) < n/2 {
			// An edge spanning several bands is in each: the edges found
			// are marked in a bitset and read back in order (sorting the
			// list instead took a twentieth of the overlays' time).
			words := (n + 63) >> 6
			if marks == nil {
				marks = new([]uint64)
			}
			if cap(*marks) < words {
				*marks = make([]uint64, words)
			}
			set := (*marks)[:words]
			first, last := n, -1
			ring := 0
			for _, i := range ids {
				w, m := i>>6, uint64(1)<<(i&63)
				if set[w]&m != 0 || !boxesMeet(r.edgeHint(int(i), &ring), b) {
					continue
				}
				set[w] |= m
				first, last = min(first, int(i)), max(last, int(i))
			}
			for w := first >> 6; w <= last>>6; w++ {
				for x := set[w]; x != 0; x &= x - 1 {
					dst = append(dst, int32(w<<6+bits.TrailingZeros64(x)))
				}
				set[w] = 0
			}
			return dst
		}
	}
	ring := 0
	for i := range n {
		if boxesMeet(r.edgeHint(i, &ring), b) {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// appendEdges appends r's edges to dst.
func (r *region) appendEdges(dst []seg) []seg {
	if r.at == nil {
		return append(dst, r.edges...)
	}
	dst = slices.Grow(dst, len(r.at))
	ring := 0
	for i := range r.at {
		dst = append(dst, r.edgeHint(i, &ring))
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
	dst = slices.Grow(dst, n)
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
	// The box as orb.Bound.Extend grows it, without its calls.
	b := orb.Bound{Min: e0.a, Max: e0.a}
	ring := 0
	for i := range r.n() {
		e := r.edgeHint(i, &ring)
		b.Min[0], b.Min[1] = min(b.Min[0], e.a[0], e.b[0]), min(b.Min[1], e.a[1], e.b[1])
		b.Max[0], b.Max[1] = max(b.Max[0], e.a[0], e.b[0]), max(b.Max[1], e.a[1], e.b[1])
	}
	r.box = b
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
	ring := 0
	for _, i := range r.bands.at(p[1]) {
		e := r.edgeHint(int(i), &ring)
		a, b := e.a, e.b
		if p[1] < min(a[1], b[1]) || p[1] > max(a[1], b[1]) {
			continue
		}
		if (a[1] <= p[1]) != (b[1] <= p[1]) {
			// The edge straddles the horizontal line through p (half-open).
			// Wholly east or west of p, it is on that side: the exact
			// orientation can only agree, and most edges of a band are
			// far from p.
			if p[0] < a[0] && p[0] < b[0] {
				in = !in
				continue
			}
			if p[0] > a[0] && p[0] > b[0] {
				continue
			}
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
		if p == a || p == b || (a[1] == b[1] && p[0] > min(a[0], b[0]) && p[0] < max(a[0], b[0])) {
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
	ring := 0
	for i := range n {
		e := r.edgeHint(i, &ring)
		sumDy += math.Abs(e.b[1] - e.a[1])
	}
	bs := bands{y0: box.Min[1], n: 1}
	if h > 0 && sumDy > 0 {
		// Bands about as tall as an average edge: each edge spans about
		// two, and a band holds a few edges.
		bs.n = int(min(max(h*float64(n)/sumDy, 1), min(float64(n), 1<<16)))
		bs.inv = float64(bs.n) / h
	}
	counts := make([]int32, bs.n+1)
	for i := range n {
		lo, hi := bs.span(r.edgeHint(i, &ring))
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
		lo, hi := bs.span(r.edgeHint(i, &ring))
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
	return bs.band(min(e.a[1], e.b[1])), bs.band(max(e.a[1], e.b[1]))
}

// at returns the edges whose band range includes y.
func (bs *bands) at(y float64) []int32 {
	if bs.n == 0 {
		return nil
	}
	k := bs.band(y)
	return bs.ids[bs.start[k]:bs.start[k+1]]
}
