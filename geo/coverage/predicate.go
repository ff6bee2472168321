package coverage

import (
	"math"
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
	// Cheap box rejection first.
	if math.Max(a[0], b[0]) < math.Min(c[0], d[0]) || math.Max(c[0], d[0]) < math.Min(a[0], b[0]) ||
		math.Max(a[1], b[1]) < math.Min(c[1], d[1]) || math.Max(c[1], d[1]) < math.Min(a[1], b[1]) {
		return apart, at
	}
	o1, o2 := robust.Orient(a, b, c), robust.Orient(a, b, d)
	if o1 == 0 && o2 == 0 {
		// Collinear: they share a stretch if their spans overlap by more
		// than a point; sharing only an endpoint is touching.
		ta, tb := 0.0, dot(a, b, b)
		tc, td := dot(a, b, c), dot(a, b, d)
		lo, hi := math.Max(math.Min(ta, tb), math.Min(tc, td)), math.Min(math.Max(ta, tb), math.Max(tc, td))
		switch {
		case lo < hi:
			return collinear, at
		case lo == hi:
			return touching, at
		}
		return apart, at
	}
	if o1*o2 > 0 {
		return apart, at
	}
	o3, o4 := robust.Orient(c, d, a), robust.Orient(c, d, b)
	if o3*o4 > 0 {
		return apart, at
	}
	if o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0 {
		return crossing, crossingPoint(a, b, c, d)
	}
	return touching, at
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
		lo := math.Max(math.Min(a[i], b[i]), math.Min(c[i], d[i]))
		hi := math.Min(math.Max(a[i], b[i]), math.Max(c[i], d[i]))
		p[i] = math.Min(math.Max(p[i], lo), hi)
	}
	return p
}

// onSegment reports whether p, known to be collinear with a–b, lies
// strictly between a and b.
func onSegment(a, b, p orb.Point) bool {
	t := dot(a, b, p)
	return t > 0 && t < dot(a, b, b)
}
