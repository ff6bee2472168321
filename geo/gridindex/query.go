package gridindex

import (
	"math"
	"slices"
	"wangge/geo/robust"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// Point-in-polygon outcome of one entry.
const (
	outside = iota
	inside
	onBoundary
)

// Outcome of one edge for the crossing test.
const (
	noCross = iota
	cross
	onEdge
)

// hitBuf is how many covering entries Locate collects without allocating;
// in a valid coverage a point is covered by as many grids as meet at one
// vertex.
const hitBuf = 16

// Locate routes p (lon, lat) to a grid:
//
//   - p strictly inside exactly one grid: that grid, Inside.
//   - p on the boundary (edge or vertex, outer ring or hole) of one or more
//     grids: Boundary, ID the smallest ID among all grids covering p, Also
//     the other covering grids ascending (nil if there are none, e.g. on the
//     coverage's outer edge).
//   - p covered by no grid but within toleranceM metres (on the WGS-84
//     spheroid, see package spheroid) of one: Nearest, the closest grid, ties
//     to the smallest ID, with DistanceM set. A toleranceM that is not > 0
//     disables this step.
//   - otherwise, or for a non-finite p: ok is false.
//
// On invalid input where grids overlap, a point strictly inside several is
// Inside with the smallest ID and the others in Also.
//
// Locate does not allocate when p is covered by a single grid or by none
// (allocation happens for Also and, rarely, in the exact predicate).
func (ix *Index) Locate(p orb.Point, toleranceM float64) (res Result, ok bool) {
	if ix.raster != nil {
		res, ok, done, uncovered := ix.locateRaster(p, toleranceM)
		if done {
			return res, ok
		}
		if uncovered {
			return ix.nearest(p, toleranceM)
		}
	}
	var buf [hitBuf]int32
	hits, onB := ix.cover(p, buf[:0])
	switch len(hits) {
	case 0:
		if toleranceM > 0 && finite(p) {
			return ix.nearest(p, toleranceM)
		}
		return Result{}, false
	case 1:
		res = Result{ID: hits[0], Match: Inside}
	default:
		sortSmall(hits)
		res = Result{ID: hits[0], Match: Inside, Also: slices.Clone(hits[1:])}
	}
	if onB {
		res.Match = Boundary
	}
	return res, true
}

// Covering returns every entry whose polygon covers p (boundary included),
// ascending, or nil if none does. It is meant for tests and diagnostics.
func (ix *Index) Covering(p orb.Point) []int32 {
	var buf [hitBuf]int32
	hits, _ := ix.cover(p, buf[:0])
	if len(hits) == 0 {
		return nil
	}
	sortSmall(hits)
	return slices.Clone(hits)
}

// sortSmall is an insertion sort: hit lists have a handful of elements.
func sortSmall(s []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// cover appends to dst the entries covering p, in tree order, and reports
// whether p is on the boundary of any of them.
func (ix *Index) cover(p orb.Point, dst []int32) ([]int32, bool) {
	// Written positively so NaN coordinates are rejected here: every box
	// test below is "skip if outside", which NaN would pass.
	if !(p[0] >= ix.bound.Min[0] && p[0] <= ix.bound.Max[0] && p[1] >= ix.bound.Min[1] && p[1] <= ix.bound.Max[1]) || ix.n == 0 {
		return dst, false
	}
	if ix.dir != nil {
		if hits, onB, done := ix.coverDir(p, dst); done {
			return hits, onB
		}
	}
	x, y := p[0], p[1]
	onB := false
	// Pending groups: internal group starts, and leaf group starts stored
	// as ^start (negative).
	var stack [maxStack]int32
	sp := 0
	group, isLeaf := ix.root, ix.rootLeaf
	for {
		if isLeaf {
			// Array pointer: one bounds check per group. The extra
			// element is the next leaf, whose vstart ends the last one.
			leaves := (*[nodeSize + 1]leaf)(ix.leaves[group:])
			for i := range nodeSize {
				l := &leaves[i]
				// Branch-free containment test: which of 16 boxes holds
				// a random point is unpredictable, so four short-circuit
				// branches per box cost more than four SETcc and one
				// rarely taken branch.
				if b2u(x >= float64(l.minX))&b2u(y >= float64(l.minY))&b2u(x <= float64(l.maxX))&b2u(y <= float64(l.maxY)) == 0 {
					continue
				}
				var c int
				id := l.id
				if id >= 0 {
					c = classifyRing(ix.pts[l.vstart:leaves[i+1].vstart], p)
				} else {
					id = ^id
					c = ix.classifySlot(group+int32(i), p)
				}
				switch c {
				case inside:
					dst = append(dst, id)
				case onBoundary:
					dst = append(dst, id)
					onB = true
				}
			}
		} else {
			boxes := (*[4 * nodeSize]float32)(ix.boxes[4*group:])
			refs := (*[nodeSize]int32)(ix.refs[group:])
			childLeaf := group < ix.l1Slots
			for i := range nodeSize {
				if b2u(x >= float64(boxes[4*i]))&b2u(y >= float64(boxes[4*i+1]))&b2u(x <= float64(boxes[4*i+2]))&b2u(y <= float64(boxes[4*i+3])) == 0 {
					continue
				}
				if childLeaf {
					stack[sp] = ^refs[i]
				} else {
					stack[sp] = refs[i]
				}
				sp++
			}
		}
		if sp == 0 {
			return dst, onB
		}
		sp--
		group, isLeaf = stack[sp], false
		if group < 0 {
			group, isLeaf = ^group, true
		}
	}
}

// b2u is 1 for true and 0 for false; the compiler turns it into SETcc.
func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// classifyRing tells whether p is outside, inside or on the boundary of the
// closed ring pts (an entry with a single ring). It counts crossings of a
// ray from p towards +x: odd means inside, whatever the orientation.
func classifyRing(pts []orb.Point, p orb.Point) int {
	in := false
	for i := 1; i < len(pts); i++ {
		switch edgeTest(pts[i-1], pts[i], p) {
		case cross:
			in = !in
		case onEdge:
			return onBoundary
		}
	}
	if in {
		return inside
	}
	return outside
}

// classifySlot is classifyRing for the general case: crossing parity over
// all rings of the entry in slot s (holes and the parts of a multi-polygon
// alike), through its y-slab index if it has one.
func (ix *Index) classifySlot(s int32, p orb.Point) int {
	if ix.slabOf != nil {
		if k := ix.slabOf[s]; k >= 0 {
			return ix.classifySlab(&ix.slabs[k], p)
		}
	}
	in := false
	r0, r1 := ix.ringsOf(s)
	for r := r0; r < r1; r++ {
		lo, hi := ix.ringRange(r)
		switch classifyRing(ix.pts[lo:hi], p) {
		case inside:
			in = !in
		case onBoundary:
			return onBoundary
		}
	}
	if in {
		return inside
	}
	return outside
}

// classifySlab is classifySlot over the edges listed in p's y-slab cell,
// which are all the edges whose closed y range holds p.y; no other edge can
// cross the ray or hold p.
func (ix *Index) classifySlab(s *slab, p orb.Point) int {
	c := s.cells + s.cell(p[1])
	in := false
	for _, i := range ix.slabEdges[ix.slabCells[c]:ix.slabCells[c+1]] {
		switch edgeTest(ix.pts[i], ix.pts[i+1], p) {
		case cross:
			in = !in
		case onEdge:
			return onBoundary
		}
	}
	if in {
		return inside
	}
	return outside
}

// edgeTest relates p to the edge a->b: onEdge if p is on the closed
// segment; cross if the ray from p towards +x crosses the edge under the
// half-open rule (the edge counts if min(a.y, b.y) <= p.y < max(a.y, b.y),
// so a ray through a vertex counts the two edges meeting there correctly and
// horizontal edges never count); noCross otherwise.
func edgeTest(a, b, p orb.Point) int {
	px, py := p[0], p[1]
	ay, by := a[1], b[1]
	if (ay > py && by > py) || (ay < py && by < py) {
		return noCross // p.y outside the edge's closed y range
	}
	ax, bx := a[0], b[0]
	if ax < px && bx < px {
		return noCross // edge entirely left of p
	}
	spans := (ay <= py) != (by <= py) // half-open y rule
	if ax > px && bx > px {
		// Edge entirely right of p: it crosses the ray iff it spans p.y,
		// and p cannot be on it.
		if spans {
			return cross
		}
		return noCross
	}
	// p is in the edge's closed bounding box.
	o := robust.Orient(a, b, p)
	if o == 0 {
		return onEdge
	}
	// Upward edge (a below): the crossing is right of p iff p is left of
	// a->b; downward edge: iff p is right of it.
	if spans && (ay <= py) == (o > 0) {
		return cross
	}
	return noCross
}

// nearest returns the grid closest to p within tol metres; p is covered by
// no grid.
//
// It measures edges on the spheroid only where a cheap lower bound of their
// distance (see lowerBound) does not already exclude them: it collects the
// candidates whose box is within tol, visits them in order of their box's
// lower bound, stops when that bound exceeds the best distance found, and
// within a candidate skips the edges whose box is farther than the best
// distance so far. Skipped edges and candidates are provably farther than the
// answer, so the result is the exhaustive search's (nearestExhaustive in the
// tests): the same grid, the same distance, ties to the smallest ID.
func (ix *Index) nearest(p orb.Point, tol float64) (Result, bool) {
	if ix.farFromOutline(p, tol) {
		return Result{}, false
	}
	if ix.raster != nil && ix.raster.near != nil {
		if res, ok, done := ix.nearestInCell(p, tol); done {
			return res, ok
		}
	}
	// Search box. MetresToDegrees is exact at p's latitude; the distance
	// is measured at the mid-latitude of p and the closest point, at most
	// dLat away, where a degree of longitude can be shorter (towards the
	// pole) and a degree of latitude differs by under 1%. So take the
	// longitude scale at the poleward edge of the box and add 1%.
	//
	// This is spheroid.MetresToDegrees(p[1], tol) for dLat and
	// MetresToDegrees(lat, tol) for dLon, spelt out to compute only the
	// half of each that is used and to keep the longitude scale at lat for
	// the lower bounds: the same expressions, so the same box.
	dLat := tol / (spheroid.MeridionalRadius(p[1]) * degree)
	if dLat > 180 {
		dLat = 180
	}
	dLat *= 1.01
	lat := min(math.Abs(p[1])+dLat, 90)
	kLon := spheroid.PrimeVerticalRadius(lat) * math.Cos(lat*degree) * degree
	dLon := tol / kLon
	if !(dLon <= 360) || dLon < 0 {
		dLon = 360
	}
	dLon *= 1.01
	q := orb.Bound{Min: orb.Point{p[0] - dLon, p[1] - dLat}, Max: orb.Point{p[0] + dLon, p[1] + dLat}}
	if !q.Intersects(ix.bound) || ix.n == 0 {
		return Result{}, false
	}
	lb := newLowerBound(p, lat, kLon)
	cutTol := lb.cut(tol)
	cutTol2 := cutTol * cutTol
	if !(lb.box2(ix.bound.Min[0], ix.bound.Min[1], ix.bound.Max[0], ix.bound.Max[1]) <= cutTol2) {
		return Result{}, false // farther than tol from the whole coverage
	}

	// Candidates: leaves whose box meets the search box and is within
	// tol by the lower bound.
	var cbuf [64]candidate
	cands := cbuf[:0]
	var stack [maxStack]int32
	sp := 0
	group, isLeaf := ix.root, ix.rootLeaf
	for {
		if isLeaf {
			leaves := (*[nodeSize]leaf)(ix.leaves[group:])
			for i := range leaves {
				l := &leaves[i]
				minX, minY, maxX, maxY := float64(l.minX), float64(l.minY), float64(l.maxX), float64(l.maxY)
				if !boxesMeet(q, minX, minY, maxX, maxY) {
					continue
				}
				if d2 := lb.box2(minX, minY, maxX, maxY); d2 <= cutTol2 {
					cands = append(cands, candidate{d2: d2, slot: group + int32(i)})
				}
			}
		} else {
			boxes := (*[4 * nodeSize]float32)(ix.boxes[4*group:])
			refs := (*[nodeSize]int32)(ix.refs[group:])
			childLeaf := group < ix.l1Slots
			for i := range nodeSize {
				minX, minY, maxX, maxY := float64(boxes[4*i]), float64(boxes[4*i+1]), float64(boxes[4*i+2]), float64(boxes[4*i+3])
				if !boxesMeet(q, minX, minY, maxX, maxY) || !(lb.box2(minX, minY, maxX, maxY) <= cutTol2) {
					continue
				}
				if childLeaf {
					stack[sp] = ^refs[i]
				} else {
					stack[sp] = refs[i]
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
	if len(cands) == 0 {
		return Result{}, false
	}
	sortCandidates(cands)

	best, bestID := math.Inf(1), int32(-1)
	for _, c := range cands {
		// Every candidate from here on has a lower bound above cut, so
		// it is farther than best (or than tol): it can neither win nor
		// tie.
		cut := lb.cut(min(best, tol))
		if c.d2 > cut*cut {
			break
		}
		id := ix.leaves[c.slot].id
		if id < 0 {
			id = ^id
		}
		d := ix.boundaryDistanceWithin(c.slot, p, &lb, cut)
		if d < best || (d == best && id < bestID) {
			best, bestID = d, id
		}
	}
	if bestID < 0 || !(best <= tol) {
		return Result{}, false
	}
	return Result{ID: bestID, Match: Nearest, DistanceM: best}, true
}

// boxesMeet is q.Intersects for a box given by its corners.
func boxesMeet(q orb.Bound, minX, minY, maxX, maxY float64) bool {
	return q.Min[0] <= maxX && q.Max[0] >= minX && q.Min[1] <= maxY && q.Max[1] >= minY
}

// candidate is a slot and the squared lower bound of its box's distance.
type candidate struct {
	d2   float64
	slot int32
}

// sortCandidates sorts by lower bound, then slot (deterministic order; the
// result does not depend on it).
func sortCandidates(c []candidate) {
	less := func(a, b candidate) bool { return a.d2 < b.d2 || (a.d2 == b.d2 && a.slot < b.slot) }
	if len(c) > 32 {
		slices.SortFunc(c, func(a, b candidate) int {
			if less(a, b) {
				return -1
			}
			if less(b, a) {
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && less(c[j], c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// degree is one degree in radians.
const degree = math.Pi / 180

// kyMin is a lower bound of the metres a degree of latitude spans anywhere
// (M·π/180, whose minimum is at the equator), less a safety margin.
var kyMin = spheroid.MeridionalRadius(0) * degree * (1 - 1e-9)

// lowerBound gives lower bounds of spheroid.PointSegmentDistance from p to
// the edges inside a box, from the box's distance in degrees converted
// with the smallest metres per degree the measure can use.
//
// PointSegmentDistance measures p–q, q a point of the edge (so in its box),
// as hypot(Δlon·N(m)·cos(m), Δlat·M(m))·π/180, m the mid-latitude of p and
// q. M(m) >= M(0) for any m, so a distance d has |Δlat| <= d/kyMin; for
// d <= tol, |m - p.y| <= |Δlat|/2 <= maxLat - |p.y| by the caller's choice of
// maxLat, and N·cos, the radius of the parallel, shrinks with |latitude|,
// so N(m)·cos(m) >= its value at maxLat. Hence, for every edge within tol,
// hypot(dx·kx, dy·ky) <= d, with dx, dy the degrees between p and the box.
// A bound is only used to decide "farther than c" for some c <= tol, which
// it therefore decides correctly for every edge (an edge beyond tol is
// farther than c anyway). cut adds margins for rounding.
type lowerBound struct {
	x, y   float64
	kx, ky float64 // metres per degree, at most the measure's
	abs    float64 // absolute rounding margin in metres
}

// newLowerBound needs maxLat >= |p.y| + tol/kyMin/2 (nearest passes
// |p.y| + 1.01·tol/(M(p.y)·π/180), which is larger) and kLon, the metres per
// degree of longitude at maxLat: N(maxLat)·cos(maxLat)·π/180.
func newLowerBound(p orb.Point, maxLat, kLon float64) lowerBound {
	lb := lowerBound{x: p[0], y: p[1], ky: kyMin, abs: 1e-6 * (1 + math.Abs(p[0]) + math.Abs(p[1]))}
	if maxLat < 90 && kLon > 0 {
		lb.kx = kLon * (1 - 1e-9)
	}
	return lb
}

// box2 is the squared lower bound, in square metres, of the distance from
// p to any point of the box.
func (lb *lowerBound) box2(minX, minY, maxX, maxY float64) float64 {
	dx := max(minX-lb.x, lb.x-maxX, 0) * lb.kx
	dy := max(minY-lb.y, lb.y-maxY, 0) * lb.ky
	return dx*dx + dy*dy
}

// cut returns c widened by the rounding margins: a lower bound above
// cut(c) proves the distance is above c.
func (lb *lowerBound) cut(c float64) float64 {
	return c*(1+1e-9) + lb.abs
}

// boundaryDistanceWithin returns the distance in metres from p to the
// boundary of the entry in slot s (the closest edge of any ring, holes
// included) when it is at most c, with cut = lb.cut(c); otherwise some
// value above c (possibly +Inf). It measures only the edges whose lower
// bound does not exceed cut or the closest distance found so far.
func (ix *Index) boundaryDistanceWithin(s int32, p orb.Point, lb *lowerBound, cut float64) float64 {
	d := math.Inf(1)
	cut2 := cut * cut
	r0, r1 := ix.ringsOf(s)
	for r := r0; r < r1; r++ {
		lo, hi := ix.ringRange(r)
		pts := ix.pts[lo:hi]
		for i := 1; i < len(pts); i++ {
			a, b := pts[i-1], pts[i]
			if !(lb.box2(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])) <= cut2) {
				continue
			}
			// min, not <, so a NaN propagates as in the exhaustive
			// search.
			if e := min(d, spheroid.PointSegmentDistance(p, a, b)); e != d {
				d = e
				c := lb.cut(d)
				cut2 = min(cut2, c*c)
			}
		}
	}
	return d
}
