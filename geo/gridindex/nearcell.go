package gridindex

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// Candidate lists. Every raster cell near the coverage that is not wholly
// inside one entry gets the list of the edges that can be the nearest edge
// of some point of the cell: with U an upper bound, for every point of the
// cell, of the distance to its nearest edge (the smallest, over the edges
// near the cell, of an upper bound of the edge's distance from any point of
// the cell), an edge is listed unless a lower bound of its distance from
// every point of the cell exceeds U. The nearest edge of a point p of the
// cell, and every edge tied with it, is at most U from p, so it is listed:
// the nearest-grid search measures the listed edges only (and of those only
// the ones a lower bound from p itself does not exclude), and its answer is
// the exhaustive search's, the same grid and distance to the bit.
//
// The bounds hold for every point the cell functions put in the cell (the
// cell's rectangle widened by a rounding slack, cellRect) and for the
// spheroid measure's scales anywhere within listCapM of the cell's row
// (rowScales): U is only used, and a list only built, when U <= listCapM.
// The smallest lower bound of a list is also a lower bound of the distance
// from any point of the cell to the coverage, which tightens an uncovered
// cell's clearance.

// List limits: lists are built for cells within listMaxK cells (chessboard)
// of an edge's box and with U <= listCapM; a cell whose list would exceed
// listMaxLen edges gets none (it takes the tree search), and no lists are
// kept when they would hold more than listMaxPerCell edges per cell, the
// edge buckets more than bucketMaxPerCell, or the layer has more than
// listMaxEdgesPerCell edges per cell.
const (
	listCapM         = 400
	listMaxK         = 24
	listMaxLen       = 32
	listMaxPerCell   = 8
	bucketMaxPerCell = 16
	// listMaxEdgesPerCell: no lists for layers with more edges than this
	// per cell.
	listMaxEdgesPerCell = 2
	// listMinTol is the smallest tolerance a list answers; below it the
	// search box's 1% widening is too thin to cover float rounding of the
	// closest point, which the proof that the winner's box meets it needs.
	listMinTol = 1e-3
	// listMaxScaleRatio bounds, within a row's latitude window, the ratio
	// of the largest to the smallest metres per degree; it must stay well
	// under the search box's widening (1.01), see nearestInCell.
	listMaxScaleRatio = 1.005
)

// nearEdge is one entry of a cell's list: the edge (the index of its first
// vertex in pts) and the ID of the entry it bounds.
type nearEdge struct {
	edge, id int32
	// lo is a lower bound, rounded down, of the distance in metres from
	// any point of the cell to the edge; a list is sorted by it.
	lo float32
}

// rowScale holds, for one raster row, metres per degree that are at most
// (kx, ky) and at least (kxMax, kyMax) the spheroid measure's for any
// distance of at most listCapM from a point of the row. kx == 0 marks a row
// without lists (near a pole, or a window too tall for the ratio bound).
type rowScale struct {
	kx, ky       float64
	kxMax, kyMax float64
}

// scaled is a point in metres east and north of some origin, scaled by
// fixed metres per degree.
type scaled struct{ x, y float64 }

// kxAt is the measure's metres per degree of longitude at latitude lat:
// N(lat)·cos(lat)·π/180, decreasing in |lat|.
func kxAt(lat float64) float64 {
	return spheroid.PrimeVerticalRadius(lat) * math.Cos(lat*degree) * degree
}

// cellRect returns the rectangle, in degrees, holding every point that
// cellX, cellY put in column i, row j: the cell's nominal rectangle widened
// by a slack that exceeds the rounding of (x-x0)*sx and of x0+i/sx.
func (r *raster) cellRect(i, j int32) orb.Bound {
	return orb.Bound{
		Min: orb.Point{r.x0 + float64(i)/r.sx - r.slackX, r.y0 + float64(j)/r.sy - r.slackY},
		Max: orb.Point{r.x0 + float64(i+1)/r.sx + r.slackX, r.y0 + float64(j+1)/r.sy + r.slackY},
	}
}

// cellXClamped is cellX for any x, clamped to the raster's columns.
func (r *raster) cellXClamped(x float64) int32 {
	if !(x >= r.x0) {
		return 0
	}
	return r.cellX(min(x, r.x1))
}

// cellYClamped is cellY for any y, clamped to the raster's rows.
func (r *raster) cellYClamped(y float64) int32 {
	if !(y >= r.y0) {
		return 0
	}
	return r.cellY(min(y, r.y1))
}

// rowScales computes the scales of every row (see rowScale).
func (r *raster) rowScales() []rowScale {
	// A distance of at most listCapM spans at most listCapM/kyMin degrees
	// of latitude, so the measure's mid-latitude stays within g of the row.
	g := listCapM / kyMin * 1.01
	rows := make([]rowScale, r.ny)
	for j := range r.ny {
		b := r.cellRect(0, j)
		lo, hi := b.Min[1]-g, b.Max[1]+g
		aMax := max(math.Abs(lo), math.Abs(hi))
		aMin := min(math.Abs(lo), math.Abs(hi))
		if lo <= 0 && hi >= 0 {
			aMin = 0
		}
		if !(aMax < 89) {
			continue
		}
		// N·cos shrinks and M grows with |latitude|.
		s := rowScale{
			kx:    kxAt(aMax) * (1 - 1e-9),
			kxMax: kxAt(aMin) * (1 + 1e-9),
			ky:    spheroid.MeridionalRadius(aMin) * degree * (1 - 1e-9),
			kyMax: spheroid.MeridionalRadius(aMax) * degree * (1 + 1e-9),
		}
		if s.kxMax/s.kx > listMaxScaleRatio || s.kyMax/s.ky > listMaxScaleRatio {
			continue
		}
		rows[j] = s
	}
	return rows
}

// segDist2 is the squared Euclidean distance from the origin to the
// segment a-b (scaled coordinates).
func segDist2(a, b scaled) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = -(a.x*dx + a.y*dy) / l2
	}
	t = min(max(t, 0), 1)
	cx, cy := a.x+t*dx, a.y+t*dy
	return cx*cx + cy*cy
}

// scale returns q relative to o in metres by kx, ky.
func scale(q, o orb.Point, kx, ky float64) scaled {
	return scaled{(q[0] - o[0]) * kx, (q[1] - o[1]) * ky}
}

// rectSegLower returns a lower bound, in metres, of the distance from any
// point of rect to any point of the segment a-b in the metric scaled by
// kx, ky (so, with a row's lower scales, of the measure's distance).
func rectSegLower(rect orb.Bound, a, b orb.Point, kx, ky float64) float64 {
	var d float64
	if min(a[0], b[0]) > rect.Max[0] || max(a[0], b[0]) < rect.Min[0] || min(a[1], b[1]) > rect.Max[1] || max(a[1], b[1]) < rect.Min[1] {
		// The segment's box misses the rectangle, so they are disjoint
		// and the closest pair has an endpoint of the segment or a
		// corner of the rectangle in it.
		d2 := min(pointRectDist2(a, rect, kx, ky), pointRectDist2(b, rect, kx, ky))
		for _, c := range [4]orb.Point{rect.Min, rect.Max, {rect.Min[0], rect.Max[1]}, {rect.Max[0], rect.Min[1]}} {
			d2 = min(d2, segDist2(scale(a, c, kx, ky), scale(b, c, kx, ky)))
		}
		d = math.Sqrt(d2)
	} else {
		// Triangle inequality from the centre.
		c := orb.Point{(rect.Min[0] + rect.Max[0]) / 2, (rect.Max[1] + rect.Min[1]) / 2}
		half := math.Hypot((rect.Max[0]-rect.Min[0])/2*kx, (rect.Max[1]-rect.Min[1])/2*ky)
		d = math.Sqrt(segDist2(scale(a, c, kx, ky), scale(b, c, kx, ky))) - half*(1+1e-9)
	}
	return max(d*(1-1e-9)-1e-6, 0)
}

// boxGap2 is the squared scaled distance between the rectangle and the
// segment a-b's box: at most the segment's.
func boxGap2(rect orb.Bound, a, b orb.Point, kx, ky float64) float64 {
	dx := max(min(a[0], b[0])-rect.Max[0], rect.Min[0]-max(a[0], b[0]), 0) * kx
	dy := max(min(a[1], b[1])-rect.Max[1], rect.Min[1]-max(a[1], b[1]), 0) * ky
	return dx*dx + dy*dy
}

// pointRectDist2 is the squared scaled distance from q to the rectangle.
func pointRectDist2(q orb.Point, rect orb.Bound, kx, ky float64) float64 {
	dx := max(rect.Min[0]-q[0], q[0]-rect.Max[0], 0) * kx
	dy := max(rect.Min[1]-q[1], q[1]-rect.Max[1], 0) * ky
	return dx*dx + dy*dy
}

// rectSegUpper returns, for the row scales s, a bound U such that the
// measure's distance from any point of rect to the segment a-b is at most
// U whenever U <= listCapM.
//
// PointSegmentDistance(p, a, b) measures p–q, q the closest point of the
// segment in the tangent plane at p (scales kx(p), ky(p)), with the scales
// at the mid-latitude m of p and q. With both p and m in the row's window,
// that is at most ρ times the tangent-plane distance, ρ the largest ratio of
// the row's upper to lower scales, which is at most the distance to the
// segment under the upper scales. That distance is convex in p, so its
// maximum over the rectangle is at a corner. q is within that distance of
// p, hence within listCapM/kyMin degrees of latitude when it is at most
// listCapM, which keeps m in the window.
//
// It returns min(u, that bound), and skips the corners when the distance
// from the rectangle's centre, which is at most the corners' largest (the
// centre is their average), already shows the bound is at least u.
func rectSegUpper(rect orb.Bound, a, b orb.Point, s *rowScale, u float64) float64 {
	rho := max(s.kxMax/s.kx, s.kyMax/s.ky)
	c := orb.Point{(rect.Min[0] + rect.Max[0]) / 2, (rect.Min[1] + rect.Max[1]) / 2}
	if m := rho * math.Sqrt(segDist2(scale(a, c, s.kxMax, s.kyMax), scale(b, c, s.kxMax, s.kyMax))) * (1 - 1e-9); m >= u {
		return u
	}
	d2 := 0.0
	for _, c := range [4]orb.Point{rect.Min, rect.Max, {rect.Min[0], rect.Max[1]}, {rect.Max[0], rect.Min[1]}} {
		d2 = max(d2, segDist2(scale(a, c, s.kxMax, s.kyMax), scale(b, c, s.kxMax, s.kyMax)))
	}
	return min(u, rho*math.Sqrt(d2)*(1+1e-9)+1e-6)
}

// buildLists builds the candidate lists of r (see the comment at the top of
// this file); dist is the chessboard distance of every cell to the nearest
// cell an edge's box reaches. It tightens the clearance of uncovered cells.
// It leaves r.near nil when the lists would be too large.
func (ix *Index) buildLists(r *raster, dist []int32) {
	ncell := int(r.nx) * int(r.ny)
	if !(max(math.Abs(r.x0), math.Abs(r.x1)) <= 1e4) {
		return // not geographic: keep the measure far from overflow
	}
	if edges := len(ix.pts) - ix.nRings; edges > listMaxEdgesPerCell*ncell {
		return // cells too coarse for short lists (and a large edge map)
	}
	rows := r.rowScales()

	// Edge buckets: every cell an edge's box reaches lists the edge.
	count := make([]int32, ncell+1)
	total := 0
	bucketCells := func(a, c orb.Point) (i0, i1, j0, j1 int32) {
		return r.cellX(min(a[0], c[0])), r.cellX(max(a[0], c[0])), r.cellY(min(a[1], c[1])), r.cellY(max(a[1], c[1]))
	}
	for s := 0; s < ix.n; s++ {
		ix.forEdges(s, func(e int32) {
			i0, i1, j0, j1 := bucketCells(ix.pts[e], ix.pts[e+1])
			total += int(i1-i0+1) * int(j1-j0+1)
			for j := j0; j <= j1; j++ {
				for i := i0; i <= i1; i++ {
					count[int(j)*int(r.nx)+int(i)+1]++
				}
			}
		})
		if total > bucketMaxPerCell*ncell {
			return
		}
	}
	if total > bucketMaxPerCell*ncell {
		return
	}
	for c := 1; c <= ncell; c++ {
		count[c] += count[c-1]
	}
	shared := ix.sharedEdges()
	bucket := make([]nearEdge, total)
	fill := append([]int32(nil), count[:ncell]...)
	for s := 0; s < ix.n; s++ {
		id := ix.leaves[s].id
		if id < 0 {
			id = ^id
		}
		ix.forEdges(s, func(e int32) {
			i0, i1, j0, j1 := bucketCells(ix.pts[e], ix.pts[e+1])
			for j := j0; j <= j1; j++ {
				for i := i0; i <= i1; i++ {
					c := int(j)*int(r.nx) + int(i)
					bucket[fill[c]] = nearEdge{edge: e, id: id}
					fill[c]++
				}
			}
		})
	}

	// Per cell: an upper bound U from the edges within its chessboard
	// distance, then every edge within U's reach, kept if its lower
	// bound does not exceed U (the final, smallest U).
	stamp := make([]int32, len(ix.pts))
	gen := int32(0)
	type cand struct {
		e  nearEdge
		lo float64
	}
	var cands []cand
	off := make([]uint32, ncell+1)
	var edges []nearEdge
	for j := range r.ny {
		s := &rows[j]
		for i := range r.nx {
			c := int(j)*int(r.nx) + int(i)
			off[c] = uint32(len(edges))
			k := dist[c]
			v := r.cells[c]
			if s.kx == 0 || k > listMaxK || v&cellInterior != 0 || (v != 0 && float64(math.Float32frombits(v)) > listCapM) {
				continue // inside an entry, or too far from every edge
			}
			if v == 0 && allShared(bucket[count[c]:count[c+1]], shared) {
				continue // most likely covered throughout
			}
			rect := r.cellRect(i, j)
			scan := func(i0, i1, j0, j1 int32, fn func(e nearEdge)) {
				gen++
				for jj := max(j0, 0); jj <= min(j1, r.ny-1); jj++ {
					for ii := max(i0, 0); ii <= min(i1, r.nx-1); ii++ {
						cc := int(jj)*int(r.nx) + int(ii)
						for _, e := range bucket[count[cc]:count[cc+1]] {
							if stamp[e.edge] != gen {
								stamp[e.edge] = gen
								fn(e)
							}
						}
					}
				}
			}
			// Any edge gives an upper bound; those of the cells at
			// chessboard distance k, the nearest with edges, give a
			// good one (the ring's four sides; k == 0: the cell).
			u := math.Inf(1)
			upper := func(e nearEdge) { u = rectSegUpper(rect, ix.pts[e.edge], ix.pts[e.edge+1], s, u) }
			scan(i-k, i+k, j-k, j-k, upper)
			if k > 0 {
				scan(i-k, i+k, j+k, j+k, upper)
				scan(i-k, i-k, j-k+1, j+k-1, upper)
				scan(i+k, i+k, j-k+1, j+k-1, upper)
			}
			if !(u <= listCapM) {
				continue
			}
			// An edge within u of a point of the rectangle has a point
			// (in its box) within u/kx degrees of longitude and u/ky of
			// latitude of the rectangle, so the edge is in a bucket
			// between the cells of the rectangle's corners widened by
			// that (the cell functions are monotone; widened by a
			// millionth more for rounding, and clamped to the raster).
			ux, uy := u/s.kx*(1+1e-6)+r.slackX, u/s.ky*(1+1e-6)+r.slackY
			cands = cands[:0]
			scan(r.cellXClamped(rect.Min[0]-ux), r.cellXClamped(rect.Max[0]+ux), r.cellYClamped(rect.Min[1]-uy), r.cellYClamped(rect.Max[1]+uy), func(e nearEdge) {
				a, b := ix.pts[e.edge], ix.pts[e.edge+1]
				// The boxes' distance first: a cheaper, smaller bound.
				if boxGap2(rect, a, b, s.kx, s.ky) > (u+1)*(u+1) {
					return
				}
				lo := rectSegLower(rect, a, b, s.kx, s.ky)
				if lo > u {
					return
				}
				u = rectSegUpper(rect, a, b, s, u)
				cands = append(cands, cand{e, lo})
			})
			n, lowest := 0, math.Inf(1)
			for _, cd := range cands {
				if cd.lo <= u {
					n++
					lowest = min(lowest, cd.lo)
				}
			}
			if n == 0 || n > listMaxLen {
				continue
			}
			start := len(edges)
			for _, cd := range cands {
				if cd.lo <= u {
					e := cd.e
					e.lo = float32(cd.lo)
					if float64(e.lo) > cd.lo {
						e.lo = math.Nextafter32(e.lo, 0)
					}
					edges = append(edges, e)
				}
			}
			slices.SortFunc(edges[start:], func(a, b nearEdge) int {
				return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.edge, b.edge))
			})
			if v != 0 {
				// Uncovered: no point of the cell is closer than lowest.
				f := float32(lowest)
				if float64(f) > lowest {
					f = math.Nextafter32(f, 0)
				}
				if f > math.Float32frombits(v) {
					r.cells[c] = math.Float32bits(f)
				}
			}
		}
		if len(edges) > listMaxPerCell*ncell {
			return
		}
	}
	off[ncell] = uint32(len(edges))
	r.near, r.nearEdges, r.rows = off, clip(edges), rows
}

// sharedEdges returns a bitset over pts: bit e is set when edge e's segment
// is also an edge of another entry (either direction). In a coverage such
// an edge has an entry on each side.
func (ix *Index) sharedEdges() []uint64 {
	type seg struct{ a, b orb.Point }
	first := make(map[seg]int32, len(ix.pts))
	bits := make([]uint64, (len(ix.pts)+63)/64)
	for s := range ix.n {
		ix.forEdges(s, func(e int32) {
			k := seg{ix.pts[e], ix.pts[e+1]}
			if k.b[0] < k.a[0] || (k.b[0] == k.a[0] && k.b[1] < k.a[1]) {
				k.a, k.b = k.b, k.a
			}
			o, seen := first[k]
			switch {
			case !seen:
				first[k] = e
			case ix.slotOfEdge(o) != int32(s):
				bits[o/64] |= 1 << (o % 64)
				bits[e/64] |= 1 << (e % 64)
			}
		})
	}
	return bits
}

// slotOfEdge returns the slot whose vertices hold edge e.
func (ix *Index) slotOfEdge(e int32) int32 {
	lo, hi := 0, ix.n // the slot is the last with vstart <= e
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if ix.leaves[m].vstart <= e {
			lo = m
		} else {
			hi = m
		}
	}
	return int32(lo)
}

// allShared reports whether every edge of a bucket is shared. A cell whose
// bucket holds only shared edges is, in a valid coverage, usually covered
// throughout (every part of it next to an edge is inside the entry on
// that side), so buildLists gives it no list. This only saves work: a
// point in a cell without a list takes the tree search, which is always
// right.
func allShared(bucket []nearEdge, shared []uint64) bool {
	for _, e := range bucket {
		if shared[e.edge/64]&(1<<(e.edge%64)) == 0 {
			return false
		}
	}
	return true
}

// nearestInCell answers the nearest-grid search for p from its cell's
// candidate list; done is false when p is outside the raster, its cell has
// no list or tol is below listMinTol, and the caller searches the tree.
//
// The answer is the exhaustive search's: the list holds every edge that can
// be p's nearest (see the top of this file) and an edge is skipped only
// when its lower bound from p proves it farther than the best distance
// measured. The exhaustive search only considers entries whose box meets
// its search box (p widened by 1.01 times tol converted to degrees at p's
// latitude for latitude and at the box's poleward edge for longitude); the
// winner here is within tol <= listCapM, so its closest point is within
// tol/ky of latitude and tol/kx of longitude of p with the row's lower
// scales, and the search box reaches 1.01·tol/kyMax and 1.01·tol/kxMax:
// more, since the row's scales differ by at most listMaxScaleRatio.
func (ix *Index) nearestInCell(p orb.Point, tol float64) (res Result, ok, done bool) {
	r := ix.raster
	x, y := p[0], p[1]
	if !(x >= r.x0 && y >= r.y0 && x <= r.x1 && y <= r.y1) || !(tol >= listMinTol) {
		return Result{}, false, false
	}
	j := r.cellY(y)
	c := int(j)*int(r.nx) + int(r.cellX(x))
	list := r.nearEdges[r.near[c]:r.near[c+1]]
	if len(list) == 0 {
		return Result{}, false, false
	}
	s := &r.rows[j]
	abs := 1e-6 * (1 + math.Abs(x) + math.Abs(y))
	cut := tol*(1+1e-9) + abs
	cut2 := cut * cut
	// Lower bounds from p itself (see lowerBound: the row's scales are at
	// most the measure's for an edge within listCapM; an edge farther
	// cannot be the nearest, whatever its bound says), over the prefix of
	// the list whose cell bounds (which are at most these) do not exceed
	// the smallest found: the edge with the smallest is measured first.
	var lbs [listMaxLen]float64
	n, first, firstLB := len(list), -1, cut2
	for i, e := range list {
		if lo := float64(e.lo); lo*lo > firstLB {
			n = i
			break
		}
		a, b := ix.pts[e.edge], ix.pts[e.edge+1]
		d2 := segDist2(scaled{(a[0] - x) * s.kx, (a[1] - y) * s.ky}, scaled{(b[0] - x) * s.kx, (b[1] - y) * s.ky})
		lbs[i] = d2
		if d2 <= firstLB {
			first, firstLB = i, d2
		}
	}
	if first < 0 {
		return Result{}, false, true // every edge is farther than tol
	}
	e := list[first]
	best, bestID := spheroid.PointSegmentDistance(p, ix.pts[e.edge], ix.pts[e.edge+1]), e.id
	cut = best*(1+1e-9) + abs
	cut2 = min(cut2, cut*cut)
	for i, e := range list {
		if i >= n {
			if lo := float64(e.lo); lo*lo > cut2 {
				break // so are the rest's
			}
			a, b := ix.pts[e.edge], ix.pts[e.edge+1]
			lbs[i] = segDist2(scaled{(a[0] - x) * s.kx, (a[1] - y) * s.ky}, scaled{(b[0] - x) * s.kx, (b[1] - y) * s.ky})
		}
		if i == first || !(lbs[i] <= cut2) {
			continue
		}
		d := spheroid.PointSegmentDistance(p, ix.pts[e.edge], ix.pts[e.edge+1])
		if d < best || (d == best && e.id < bestID) {
			best, bestID = d, e.id
			cut = best*(1+1e-9) + abs
			cut2 = min(cut2, cut*cut)
		}
	}
	if !(best <= tol) {
		return Result{}, false, true
	}
	return Result{ID: bestID, Match: Nearest, DistanceM: best}, true, true
}
