package coverage

import (
	"math"
	"slices"
	"wangge/geo/robust"

	"github.com/paulmach/orb"
)

// The overlay works on boundaries, not on faces. By Green's theorem the
// area of a region is ∮x dy over its boundary, and the boundary of A ∩ B
// is made of the parts of A's boundary inside B, the parts of B's boundary
// inside A, and the stretches the two share with both interiors on the same
// side. So the area of an intersection needs no polygon to be built: split
// every edge where it meets the other boundary, classify each piece by its
// midpoint, and add up the pieces that bound the intersection. A union is
// the same with "outside every other" instead of "inside the other", and
// its pieces, chained end to start, are the rings of the union.
//
// Every decision (crossing or not, which side, collinear or not) is taken
// with exact predicates on the coordinates; only the crossing points are
// rounded, and both edges that cross get the very same point, so the pieces
// chain up. Rounded points come back as vertices in the next round of a
// cascaded union (see union); three rules keep that consistent: pieces
// remember the edge they were cut from (collinearity is decided on those,
// which are exact), a crossing within snapDeg of an edge's end is that end,
// and pieces shorter than snapDeg are neither tested nor kept.

// partner records that an edge runs along a stretch of another region's
// edge (collinear and overlapping): the stretch belongs to both boundaries.
type partner struct {
	a, b orb.Point // the other edge
	same bool      // same direction: both regions on the same side
	of   int32     // the other region
}

// cut is a point where an edge must be split. crossing says that another
// region's edge, other, crosses it there (properly, inside both edges), so
// that the edge passes from inside that region to outside or back.
type cut struct {
	p        orb.Point
	crossing bool
	other    int32
}

// splitter collects, for each edge, where it must be split and which
// edges of other regions it runs along.
type splitter struct {
	cuts     [][]cut
	partners [][]partner
}

func newSplitter(n int) *splitter {
	return &splitter{cuts: make([][]cut, n), partners: make([][]partner, n)}
}

// reset makes s a splitter of n edges with nothing recorded, reusing its
// lists.
func (s *splitter) reset(n int) {
	if cap(s.cuts) < n {
		*s = *newSplitter(n)
		return
	}
	s.cuts, s.partners = s.cuts[:n], s.partners[:n]
	for i := range n {
		s.cuts[i], s.partners[i] = s.cuts[i][:0], s.partners[i][:0]
	}
}

// meetEdges records how edge i (e, of region ri) and edge j (f, of region
// rj) meet.
func (s *splitter) meetEdges(i int, e seg, ri int32, j int, f seg, rj int32) {
	la, lb, ok, o1, o2 := commonLine(e, f)
	if ok {
		// Pieces of edges on one line: they share a stretch if their spans
		// along the line overlap by more than a point. Each is cut where
		// the other ends, at the other's very endpoint.
		ta, tb := dot(la, lb, e.a), dot(la, lb, e.b)
		tc, td := dot(la, lb, f.a), dot(la, lb, f.b)
		lo, hi := max(min(ta, tb), min(tc, td)), min(max(ta, tb), max(tc, td))
		if !(lo < hi) {
			return
		}
		for _, p := range [2]orb.Point{f.a, f.b} {
			if t := dot(la, lb, p); t > min(ta, tb) && t < max(ta, tb) && p != e.a && p != e.b {
				s.cuts[i] = append(s.cuts[i], cut{p, false, int32(j)})
			}
		}
		for _, p := range [2]orb.Point{e.a, e.b} {
			if t := dot(la, lb, p); t > min(tc, td) && t < max(tc, td) && p != f.a && p != f.b {
				s.cuts[j] = append(s.cuts[j], cut{p, false, int32(i)})
			}
		}
		same := (tb > ta) == (td > tc)
		s.partners[i] = append(s.partners[i], partner{f.a, f.b, same, rj})
		s.partners[j] = append(s.partners[j], partner{e.a, e.b, same, ri})
		return
	}
	if e.a == f.a || e.a == f.b || e.b == f.a || e.b == f.b {
		// Not on one line, they meet only at the end they share: no cut
		// (an end is not strictly inside the other), nothing along. A
		// boundary and its neighbour's run through such pairs at every
		// shared vertex.
		return
	}
	m, at, o3, o4 := meetOriented(e.a, e.b, f.a, f.b, o1, o2)
	switch m {
	case crossing:
		// A crossing within snapDeg of an end of either edge is that end:
		// the end is a rounded cut point of an earlier union, exactly on
		// the other edge but for the rounding. Whether the other region's
		// boundary crosses there or only touches depends on the next edge
		// too, so the cut does not count as a crossing.
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
		// meetOriented's orientations are those of f's ends to e and of
		// e's ends to f.
		for k, p := range [2]orb.Point{f.a, f.b} {
			if [2]int{o1, o2}[k] == 0 && onSegment(e.a, e.b, p) {
				s.cuts[i] = append(s.cuts[i], cut{p, false, int32(j)})
			}
		}
		for k, p := range [2]orb.Point{e.a, e.b} {
			if [2]int{o3, o4}[k] == 0 && onSegment(f.a, f.b, p) {
				s.cuts[j] = append(s.cuts[j], cut{p, false, int32(i)})
			}
		}
	}
}

// snapDeg is the distance in degrees (about 0.1 mm) under which two points
// that should be one, but for rounding, are taken as one: a crossing and an
// end of an edge, or the end of one boundary piece and the start of the
// next when chaining.
const snapDeg = 1e-9

func near(p, q orb.Point) bool {
	return math.Abs(p[0]-q[0]) <= snapDeg && math.Abs(p[1]-q[1]) <= snapDeg
}

// commonLine returns a line that e and f both lie on, if they do: that of
// their supports when these are collinear, else their own when their
// rounded endpoints happen to be exactly collinear. Else it returns the
// orientations of f.a and f.b to the line e.a->e.b, for meetOriented:
// meetEdges runs for every pair of nearby edges, and took the same few
// orientations up to four times over (of a whole edge, its own support,
// the supports' orientations are the edge's).
func commonLine(e, f seg) (la, lb orb.Point, ok bool, o1, o2 int) {
	if (f.sa == e.sa || f.sa == e.sb) && (f.sb == e.sa || f.sb == e.sb) {
		// The same support (a boundary two polygons share).
		return e.sa, e.sb, true, 0, 0
	}
	s1, s2 := robust.Orient(e.sa, e.sb, f.sa), 0
	if s1 == 0 {
		if s2 = robust.Orient(e.sa, e.sb, f.sb); s2 == 0 {
			return e.sa, e.sb, true, 0, 0
		}
	}
	if e.a == e.sa && e.b == e.sb && f.a == f.sa && f.b == f.sb {
		// Whole edges: the second test would be the first again.
		if s1 != 0 {
			s2 = robust.Orient(e.a, e.b, f.b)
		}
		return la, lb, false, s1, s2
	}
	o1, o2 = robust.Orient(e.a, e.b, f.a), robust.Orient(e.a, e.b, f.b)
	if o1 == 0 && o2 == 0 {
		return e.a, e.b, true, 0, 0
	}
	return la, lb, false, o1, o2
}

// pieces calls fn for each piece p–q of edge i: e split at its cuts, in
// order, without zero-length pieces. at lists the cuts at q, each pair of
// edges once (nil at e's end): callers learn from it where the piece after
// q is on the other side of a region (an odd number of crossings by that
// region's edges) and where it must be tested afresh (an edge touches or
// runs along e there).
func (s *splitter) pieces(i int, e seg, fn func(p, q orb.Point, at []cut)) {
	cuts := s.cuts[i]
	if len(cuts) == 0 {
		fn(e.a, e.b, nil)
		return
	}
	slices.SortFunc(cuts, func(c, d cut) int {
		tc, td := dot(e.sa, e.sb, c.p), dot(e.sa, e.sb, d.p)
		switch {
		case tc < td:
			return -1
		case tc > td:
			return 1
		}
		return int(c.other) - int(d.other)
	})
	// The same pair of edges may have been met more than once.
	cuts = slices.Compact(cuts)
	s.cuts[i] = cuts
	prev := e.a
	for k := 0; k < len(cuts); {
		c := cuts[k].p
		first := k
		for k < len(cuts) && cuts[k].p == c {
			k++
		}
		if c != prev && c != e.b {
			fn(prev, c, cuts[first:k])
			prev = c
		}
	}
	fn(prev, e.b, nil)
}

// along returns the partner of edge i whose stretch contains the piece
// p–q, if any. Pieces never straddle a partner's end: the ends are cuts.
func (s *splitter) along(i int, e seg, p, q orb.Point, region int32) (partner, bool) {
	tm := (dot(e.sa, e.sb, p) + dot(e.sa, e.sb, q)) / 2
	for _, pt := range s.partners[i] {
		if pt.of != region {
			continue
		}
		t0, t1 := dot(e.sa, e.sb, pt.a), dot(e.sa, e.sb, pt.b)
		if tm > min(t0, t1) && tm < max(t0, t1) {
			return pt, true
		}
	}
	return partner{}, false
}

func mid(p, q orb.Point) orb.Point { return orb.Point{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2} }

// shape is a region prepared for many intersections: a box grid over its
// edges finds those near a grid.
type shape struct {
	*region
	edgeGrid *cellGrid
}

func newShape(r *region) *shape {
	return &shape{region: r, edgeGrid: newSegGrid(r.segs())}
}

// intersectionArea returns the area in square metres of s ∩ g on the
// ellipsoid, and g's own area computed the same way in the same frame, so
// that a grid inside s has a share of exactly 1.
func (s *shape) intersectionArea(g *region) (overlap, whole float64) {
	f := newFrame(g.box)
	gedges := g.segs()
	for _, e := range gedges {
		whole += f.term(e.a, e.b)
	}
	nearby := s.edgeGrid.within(g.box)
	if len(nearby) == 0 {
		// No edge of s comes nearby g: g is all inside s or all outside.
		if len(gedges) > 0 && s.locate(gedges[0].a) == inside {
			return whole, whole
		}
		return 0, whole
	}
	// Edges 0..len(nearby)-1 are s's, the rest g's.
	sp := newSplitter(len(nearby) + len(gedges))
	for k, id := range nearby {
		e := s.edge(int(id))
		eb := segBound(e.a, e.b)
		for j, ge := range gedges {
			if eb.Intersects(segBound(ge.a, ge.b)) {
				sp.meetEdges(k, e, 0, len(nearby)+j, ge, 1)
			}
		}
	}
	// s's boundary inside g, or along g's boundary in the same direction.
	for k, id := range nearby {
		e := s.edge(int(id))
		sp.pieces(k, e, func(p, q orb.Point, _ []cut) {
			if pt, ok := sp.along(k, e, p, q, 1); ok {
				if pt.same {
					overlap += f.term(p, q)
				}
				return
			}
			if g.locate(mid(p, q)) == inside {
				overlap += f.term(p, q)
			}
		})
	}
	// g's boundary inside s (stretches along s's boundary are counted
	// above, or bound nothing). s may have many edges, so a point-in-shape
	// test is done only for the first piece of an edge and after a cut
	// where s's boundary touches the edge: at a crossing, the next piece is
	// on the other side.
	for j, e := range gedges {
		k := len(nearby) + j
		known, in := false, false
		sp.pieces(k, e, func(p, q orb.Point, at []cut) {
			if _, ok := sp.along(k, e, p, q, 0); ok {
				known = false
				return
			}
			// A piece shorter than snapDeg is too short to test reliably
			// (see unionEdges); its side is known from the crossings or it
			// is left out, which changes the sum by less than 0.1 m².
			if !known && !near(p, q) {
				l := s.locate(mid(p, q))
				known, in = l != boundary, l == inside
			}
			if known && in {
				overlap += f.term(p, q)
			}
			for _, c := range at {
				if !c.crossing {
					known = false
				}
				in = in != c.crossing
			}
		})
	}
	return overlap, whole
}

// union returns the union of the regions as a multipolygon whose outer
// rings run counter-clockwise and holes clockwise, and the number of
// boundary pieces that could not be chained into rings (zero unless the
// input is numerically degenerate; such pieces are dropped). It gives up,
// returning ok false, when the work exceeds limit (pairs of edges compared
// plus edges looked at by point-in-region tests).
//
// The union is cascaded: regions are merged in groups of unionGroup
// neighbours in the order given (lineRegions gives them along the line),
// then the results in groups, and so on. Edges that end up inside are
// dropped early, so a buffer much wider than the spacing of its line's
// vertices, where hundreds of pieces overlap, costs about as much as a
// narrow one instead of growing with the square of the overlap.
func union(regions []*region, limit int) (mp orb.MultiPolygon, dropped int, ok bool) {
	work := 0
	level := regions
	for len(level) > 1 {
		next := make([]*region, 0, (len(level)+unionGroup-1)/unionGroup)
		for i := 0; i < len(level); i += unionGroup {
			group := level[i:min(i+unionGroup, len(level))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			edges, complete := unionEdges(group, limit, &work)
			if !complete {
				return nil, 0, false
			}
			next = append(next, &region{edges: edges})
			next[len(next)-1].finish()
		}
		level = next
	}
	if len(level) == 0 {
		return nil, 0, true
	}
	mp, dropped = chain(level[0].segs())
	return mp, dropped, true
}

// leftmost returns the unused piece among cands that turns farthest left
// from s, or -1.
func leftmost(pieces []seg, used []bool, s seg, cands []int32) int32 {
	next := int32(-1)
	best := math.Inf(-1)
	dx, dy := s.b[0]-s.a[0], s.b[1]-s.a[1]
	for _, c := range cands {
		if used[c] {
			continue
		}
		n := pieces[c]
		ex, ey := n.b[0]-n.a[0], n.b[1]-n.a[1]
		if turn := math.Atan2(dx*ey-dy*ex, dx*ex+dy*ey); turn > best {
			best, next = turn, c
		}
	}
	return next
}

// unionGroup is how many regions union merges at a time.
const unionGroup = 4

// unionEdges returns the directed edges that bound the union of the
// regions, adding the work done to *work and giving up (false) when it
// exceeds limit.
func unionEdges(regions []*region, limit int, work *int) ([]seg, bool) {
	type ref struct {
		region int32
		edge   int32
	}
	var refs []ref
	var edges []seg
	for ri, r := range regions {
		for ei := range r.n() {
			refs = append(refs, ref{int32(ri), int32(ei)})
			edges = append(edges, r.edge(ei))
		}
	}
	sp := newSplitter(len(refs))
	complete := segPairs(edges, limit-*work, func(i, j int32) {
		if refs[i].region != refs[j].region {
			*work++
			sp.meetEdges(int(i), edges[i], refs[i].region, int(j), edges[j], refs[j].region)
		}
	})
	if !complete {
		return nil, false
	}

	regionBoxes := make([]orb.Bound, len(regions))
	for i, r := range regions {
		regionBoxes[i] = r.box
	}
	var regionGrid *cellGrid
	if len(regions) > smallSet {
		regionGrid = newBoxGrid(regionBoxes)
	}

	// Each piece is kept if it is outside every other region. Along an
	// edge, the side of a region changes only where one of its edges
	// crosses: a point-in-region test is needed for the first piece and
	// after a touch, not for every piece.
	var kept []seg
	type side struct {
		region    int32
		known, in bool
	}
	var sides []side
	for i := range refs {
		if *work > limit {
			return nil, false
		}
		e, ri := edges[i], refs[i].region
		sides = sides[:0]
		eb := segBound(e.a, e.b)
		var cands []int32
		if regionGrid != nil {
			cands = regionGrid.within(eb)
		} else {
			for id, b := range regionBoxes {
				if b.Intersects(eb) {
					cands = append(cands, int32(id))
				}
			}
		}
		for _, id := range cands {
			if id != ri {
				sides = append(sides, side{region: id})
			}
		}
		sp.pieces(i, e, func(p, q orb.Point, at []cut) {
			keep := true
			tm := (dot(e.sa, e.sb, p) + dot(e.sa, e.sb, q)) / 2
			for _, pt := range sp.partners[i] {
				t0, t1 := dot(e.sa, e.sb, pt.a), dot(e.sa, e.sb, pt.b)
				if !(tm > min(t0, t1) && tm < max(t0, t1)) {
					continue
				}
				// Shared with another region: kept once, by the region with
				// the smallest index, if both lie on the same side; interior
				// to the union if they lie on opposite sides. The side of
				// that region after the stretch is not known.
				if !pt.same || pt.of < ri {
					keep = false
				}
				for k := range sides {
					if sides[k].region == pt.of {
						sides[k].known = false
						sides[k].region = -1 - sides[k].region // skip for this piece
					}
				}
			}
			// A piece shorter than snapDeg runs between cuts that rounding
			// may have put out of order: a point-in-region test on it
			// could contradict the crossings, and chain drops it anyway.
			tiny := near(p, q)
			keep = keep && !tiny
			m := mid(p, q)
			for k := range sides {
				sd := &sides[k]
				if sd.region < 0 || !keep {
					continue
				}
				if !sd.known {
					r := regions[sd.region]
					*work += len(r.bands.at(m[1])) + 1
					l := r.locate(m)
					sd.known, sd.in = l != boundary, l == inside
				}
				if sd.in {
					keep = false
				}
			}
			if keep {
				kept = append(kept, seg{p, q, e.sa, e.sb})
			}
			for k := range sides {
				if sides[k].region < 0 {
					sides[k].region = -1 - sides[k].region
				}
			}
			for _, c := range at {
				of := refs[c.other].region
				for k := range sides {
					if sides[k].region == of {
						if !c.crossing {
							sides[k].known = false
						}
						sides[k].in = sides[k].in != c.crossing
					}
				}
			}
		})
	}
	return kept, true
}

// chain links directed boundary pieces into closed rings, turning as far
// left as possible where several rings meet at a vertex (so rings that
// touch at a point stay separate rings, as OGC validity wants), and nests
// the clockwise rings (holes) into the smallest counter-clockwise ring
// (outer) that contains them. Pieces shorter than snapDeg are dropped, and
// where a chain ends without a piece to continue, it continues from a piece
// that starts within snapDeg (cut points rounded differently); it returns
// the number of pieces it could not place in a closed ring.
func chain(all []seg) (orb.MultiPolygon, int) {
	pieces := make([]seg, 0, len(all))
	for _, s := range all {
		if !near(s.a, s.b) {
			pieces = append(pieces, s)
		}
	}
	// The pieces by start point, sorted: out(p) is the run that starts at
	// p (a sorted index takes a tenth of the memory of a map of slices).
	byStart := make([]int32, len(pieces))
	for i := range byStart {
		byStart[i] = int32(i)
	}
	cmpPoint := func(p, q orb.Point) int {
		if c := compareFloats(p[0], q[0]); c != 0 {
			return c
		}
		return compareFloats(p[1], q[1])
	}
	slices.SortFunc(byStart, func(i, j int32) int { return cmpPoint(pieces[i].a, pieces[j].a) })
	out := func(p orb.Point) []int32 {
		lo, _ := slices.BinarySearchFunc(byStart, p, func(i int32, p orb.Point) int { return cmpPoint(pieces[i].a, p) })
		hi := lo
		for hi < len(byStart) && pieces[byStart[hi]].a == p {
			hi++
		}
		return byStart[lo:hi]
	}
	used := make([]bool, len(pieces))
	// nearby finds unused pieces that start within snapDeg of p, through
	// a map of starts by cell of snapDeg, built on first use.
	var cells map[[2]int64][]int32
	cellOf := func(p orb.Point) [2]int64 {
		return [2]int64{int64(math.Floor(p[0] / snapDeg)), int64(math.Floor(p[1] / snapDeg))}
	}
	nearby := func(p orb.Point) []int32 {
		if cells == nil {
			cells = map[[2]int64][]int32{}
			for i, s := range pieces {
				c := cellOf(s.a)
				cells[c] = append(cells[c], int32(i))
			}
		}
		var found []int32
		c := cellOf(p)
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for _, i := range cells[[2]int64{c[0] + dx, c[1] + dy}] {
					if !used[i] && near(pieces[i].a, p) {
						found = append(found, i)
					}
				}
			}
		}
		return found
	}
	dropped := 0
	var shells, holes []orb.Ring
	for first := range pieces {
		if used[first] {
			continue
		}
		used[first] = true
		ring := orb.Ring{pieces[first].a}
		cur := int32(first)
		for {
			s := pieces[cur]
			if near(s.b, ring[0]) && len(ring) > 2 {
				ring = append(ring, ring[0])
				break
			}
			ring = append(ring, s.b)
			cands := out(s.b)
			next := leftmost(pieces, used, s, cands)
			if next < 0 {
				next = leftmost(pieces, used, s, nearby(s.b))
				if next >= 0 {
					// Continue from the nearby start: it replaces s.b.
					ring[len(ring)-1] = pieces[next].a
				}
			}
			if next < 0 {
				break // an open chain: dropped below
			}
			used[next] = true
			cur = next
		}
		if ring[0] != ring[len(ring)-1] || len(ring) < 4 {
			dropped += len(ring) - 1
			continue
		}
		switch a := signedArea(ring); {
		case a > 0:
			shells = append(shells, ring)
		case a < 0:
			holes = append(holes, ring)
		}
	}
	mp := make(orb.MultiPolygon, len(shells))
	for i, r := range shells {
		mp[i] = orb.Polygon{r}
	}
	if len(holes) == 0 {
		return mp, dropped
	}
	// The shells as regions, to place the holes in (only then: most
	// overlays have none).
	shellRegions := make([]*region, len(shells))
	shellAreas := make([]float64, len(shells))
	for i, r := range shells {
		shellRegions[i] = newRegion(orb.MultiPolygon{{r}})
		shellAreas[i] = signedArea(r)
	}
	for _, h := range holes {
		best := -1
		for i, sr := range shellRegions {
			if !sr.box.Contains(h[0]) || (best >= 0 && shellAreas[i] >= shellAreas[best]) {
				continue
			}
			// A hole may touch its shell at vertices: decide on the first
			// vertex that is not on the shell's boundary.
			for _, v := range h {
				if l := sr.locate(v); l != boundary {
					if l == inside {
						best = i
					}
					break
				}
			}
		}
		if best < 0 {
			dropped += len(h) - 1
			continue
		}
		mp[best] = append(mp[best], h)
	}
	return mp, dropped
}
