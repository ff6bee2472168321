package coverage

import (
	"wangge/geo/robust"

	"github.com/paulmach/orb"
)

// meeting is how two segments meet.
type meeting int

const (
	apart     meeting = iota // no common point
	touching                 // one common point, an endpoint of one of them
	collinear                // a common stretch of positive length
	crossing                 // the interiors cross at one point
)

// meet classifies how the segments a–b and c–d meet, with exact
// predicates. For a crossing, at is the computed crossing point (rounded,
// clamped into both segments' boxes); for touching and collinear the
// caller splits at the endpoints, which are exact. Degenerate segments
// (a == b) are not expected.
func meet(a, b, c, d orb.Point) (m meeting, at orb.Point) {
	// Cheap box rejection first, before any orientation.
	if boxesApart(a, b, c, d) {
		return apart, at
	}
	m, at, _, _ = meetOriented(a, b, c, d, robust.Orient(a, b, c), robust.Orient(a, b, d))
	return m, at
}

// meetOriented is meet, given o1 and o2, the orientations of c and d to
// the line a->b; it also returns o3 and o4, those of a and b to c->d,
// when it returns touching (else they may be left 0).
func meetOriented(a, b, c, d orb.Point, o1, o2 int) (m meeting, at orb.Point, o3, o4 int) {
	if boxesApart(a, b, c, d) {
		return apart, at, 0, 0
	}
	if o1 == 0 && o2 == 0 {
		// Collinear: they share a stretch if their spans overlap by more
		// than a point; sharing only an endpoint is touching.
		ta, tb := 0.0, dot(a, b, b)
		tc, td := dot(a, b, c), dot(a, b, d)
		lo, hi := max(min(ta, tb), min(tc, td)), min(max(ta, tb), max(tc, td))
		switch {
		case lo < hi:
			return collinear, at, 0, 0
		case lo == hi:
			return touching, at, robust.Orient(c, d, a), robust.Orient(c, d, b)
		}
		return apart, at, 0, 0
	}
	if o1*o2 > 0 {
		return apart, at, 0, 0
	}
	o3, o4 = robust.Orient(c, d, a), robust.Orient(c, d, b)
	if o3*o4 > 0 {
		return apart, at, o3, o4
	}
	if o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0 {
		return crossing, crossingPoint(a, b, c, d), o3, o4
	}
	return touching, at, o3, o4
}

// boxesApart says whether the boxes of the segments a–b and c–d are
// disjoint (closed boxes).
func boxesApart(a, b, c, d orb.Point) bool {
	return max(a[0], b[0]) < min(c[0], d[0]) || max(c[0], d[0]) < min(a[0], b[0]) ||
		max(a[1], b[1]) < min(c[1], d[1]) || max(c[1], d[1]) < min(a[1], b[1])
}

// dot is the parameter of p along the direction a->b, scaled by |b-a|²:
// (p-a)·(b-a). It orders points on the line through a and b.
func dot(a, b, p orb.Point) float64 {
	return (p[0]-a[0])*(b[0]-a[0]) + (p[1]-a[1])*(b[1]-a[1])
}

// crossingPoint computes where the segments a–b and c–d, known to cross
// properly, meet. The result is clamped into the intersection of the two
// segments' boxes, so it never lands outside either segment's span.
func crossingPoint(a, b, c, d orb.Point) orb.Point {
	rx, ry := b[0]-a[0], b[1]-a[1]
	sx, sy := d[0]-c[0], d[1]-c[1]
	den := rx*sy - ry*sx
	t := ((c[0]-a[0])*sy - (c[1]-a[1])*sx) / den
	var p orb.Point
	// Interpolate from the nearer end of a–b for precision.
	if t <= 0.5 {
		p = orb.Point{a[0] + t*rx, a[1] + t*ry}
	} else {
		p = orb.Point{b[0] - (1-t)*rx, b[1] - (1-t)*ry}
	}
	for i := range 2 {
		lo := max(min(a[i], b[i]), min(c[i], d[i]))
		hi := min(max(a[i], b[i]), max(c[i], d[i]))
		p[i] = min(max(p[i], lo), hi)
	}
	return p
}

// onSegment reports whether p, known to be collinear with a–b, lies
// strictly between a and b.
func onSegment(a, b, p orb.Point) bool {
	t := dot(a, b, p)
	return t > 0 && t < dot(a, b, b)
}
