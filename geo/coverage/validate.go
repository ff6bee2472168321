package coverage

import (
	"fmt"
	"math"
	"wangge/geo/robust"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// maxReported bounds the problems reported for one geometry.
const maxReported = 10

// checkPolygon returns what makes poly invalid as an OGC simple-feature
// polygon, each problem located: a ring with fewer than three distinct
// vertices or no area, a ring that crosses or touches itself, an edge that
// folds back on the previous one, two rings that cross or share a stretch,
// a hole outside the outer ring or inside another hole. Rings may touch
// each other at single points. prefix names the polygon in a multipolygon
// ("polygon 2 ") or is empty. ok is false when checking would take more
// than limit comparisons of edges (see boxGrid.pairs).
func checkPolygon(poly orb.Polygon, where, prefix string, limit int) (probs []geo.Problem, ok bool) {
	add := func(loc orb.Point, format string, args ...any) {
		if len(probs) < maxReported {
			probs = append(probs, geo.Problem{Where: where, Reason: prefix + fmt.Sprintf(format, args...), Location: []float64{loc[0], loc[1]}})
		}
	}
	type edge struct {
		seg
		ring, k, n int // ring index, edge index in the ring, edges in the ring
	}
	var edges []edge
	rings := make([]*region, len(poly))
	for j, ring := range poly {
		segs := appendRing(nil, ring, false)
		if len(segs) < 3 {
			add(ring[0], "ring %d has %d distinct vertices: want at least 3", j, len(segs))
			continue
		}
		for k, s := range segs {
			edges = append(edges, edge{s, j, k, len(segs)})
		}
		rings[j] = newRegion(orb.MultiPolygon{{ring}})
	}
	if len(probs) > 0 {
		return probs, true
	}
	segs := make([]seg, len(edges))
	for i, e := range edges {
		segs[i] = e.seg
	}
	seen := map[[2]int32]bool{} // pairs already reported
	complete := newSegGrid(segs).pairs(limit, func(i, j int32) {
		e, f := edges[i], edges[j]
		m, at := meet(e.a, e.b, f.a, f.b)
		if m == apart || seen[[2]int32{i, j}] {
			return
		}
		seen[[2]int32{i, j}] = true
		if m != crossing {
			at = touchPoint(e.seg, f.seg)
		}
		if e.ring != f.ring {
			switch m {
			case crossing:
				add(at, "rings %d and %d cross at (%v, %v)", e.ring, f.ring, at[0], at[1])
			case collinear:
				add(at, "rings %d and %d share a stretch of boundary at (%v, %v)", e.ring, f.ring, at[0], at[1])
			}
			return
		}
		adjacent := (e.k+1)%e.n == f.k || (f.k+1)%f.n == e.k
		switch {
		case adjacent && m == collinear:
			add(at, "ring %d folds back on itself at (%v, %v) (edges %d and %d overlap)", e.ring, at[0], at[1], e.k, f.k)
		case !adjacent:
			add(at, "ring %d intersects itself at (%v, %v) (edges %d and %d)", e.ring, at[0], at[1], e.k, f.k)
		}
	})
	if !complete {
		return nil, false
	}
	for j, ring := range poly {
		if len(probs) == 0 && signedArea(ring) == 0 {
			add(ring[0], "ring %d has no area", j)
		}
	}
	if len(probs) > 0 {
		return probs, true
	}
	// Holes: inside the outer ring, and not inside one another. Rings no
	// longer cross, so one vertex off the other's boundary decides.
	for h := 1; h < len(poly); h++ {
		if side(rings[0], poly[h]) != inside {
			add(poly[h][0], "ring %d (a hole) is not inside ring 0 (the outer ring)", h)
		}
	}
	if len(poly) > 2 {
		holeBoxes := make([]orb.Bound, len(poly)-1)
		for h := range holeBoxes {
			holeBoxes[h] = rings[h+1].box
		}
		seen := map[[2]int32]bool{}
		newBoxGrid(holeBoxes).pairs(math.MaxInt, func(i, j int32) {
			if seen[[2]int32{i, j}] {
				return
			}
			seen[[2]int32{i, j}] = true
			a, b := int(i)+1, int(j)+1
			if side(rings[b], poly[a]) == inside {
				add(poly[a][0], "ring %d is inside ring %d: holes may not nest", a, b)
			} else if side(rings[a], poly[b]) == inside {
				add(poly[b][0], "ring %d is inside ring %d: holes may not nest", b, a)
			}
		})
	}
	return probs, true
}

// side says where ring lies relative to r, given that they do not cross:
// by its first vertex that is not on r's boundary (boundary if all are).
func side(r *region, ring orb.Ring) int {
	for _, v := range ring {
		if l := r.locate(v); l != boundary {
			return l
		}
	}
	return boundary
}

// touchPoint returns a point that the touching or collinear segments e and f
// have in common: an endpoint of one that lies on the other.
func touchPoint(e, f seg) orb.Point {
	for _, p := range [2]orb.Point{f.a, f.b} {
		if robust.Orient(e.a, e.b, p) == 0 && dot(e.a, e.b, p) >= 0 && dot(e.a, e.b, p) <= dot(e.a, e.b, e.b) {
			return p
		}
	}
	for _, p := range [2]orb.Point{e.a, e.b} {
		if robust.Orient(f.a, f.b, p) == 0 && dot(f.a, f.b, p) >= 0 && dot(f.a, f.b, p) <= dot(f.a, f.b, f.b) {
			return p
		}
	}
	return e.a
}
