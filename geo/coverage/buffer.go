package coverage

import (
	"math"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// CircleSegments is the number of vertices of a circle, and of the round
// ends and joins of a buffer. The polygon's radius is enlarged so that its
// area equals the circle's exactly (see circleScale); with 128 vertices its
// outline then stays within 0.02 % of the radius from the true circle, in
// and out, and a buffer's width within 0.02 % of twice the distance.
const CircleSegments = 128

// circleScale is the factor k by which the circumradius of a regular n-gon
// must exceed r for the n-gon to have the area of the circle of radius r:
// n/2·(kr)²·sin(2π/n) = πr².
func circleScale(n int) float64 {
	t := 2 * math.Pi / float64(n)
	return math.Sqrt(t / math.Sin(t))
}

// local is an azimuthal equidistant frame at a point of the ellipsoid: it
// turns a displacement in metres east and north into lon/lat. It solves the
// direct problem on a sphere of radius √(M·N) (the Gaussian radius at the
// centre) and rescales the latitude and longitude differences by the
// ellipsoid's radii of curvature at the path's mid-latitude: the scale is
// exact at the centre, the convergence of the meridians is kept, and at
// 50 km a point lands within 0.2 m (4e-6) of the geodesic answer
// (TestCoverage_agreesWithPostGIS measures a 50 km circle's vertices with
// ST_Distance(geography)).
type local struct {
	lat0, lon0 float64 // radians
	sin0, cos0 float64
	r, kLat    float64 // √(M·N), and √(M·N)/M at the centre
}

func newLocal(c orb.Point) local {
	m, n := spheroid.MeridionalRadius(c[1]), spheroid.PrimeVerticalRadius(c[1])
	r := math.Sqrt(m * n)
	return local{lat0: c[1] * rad, lon0: c[0] * rad, sin0: math.Sin(c[1] * rad), cos0: math.Cos(c[1] * rad),
		r: r, kLat: r / m}
}

// at returns the point dx metres east and dy metres north of the centre
// (along the geodesic in that direction, at that distance).
func (l local) at(dx, dy float64) orb.Point {
	d := math.Hypot(dx, dy) / l.r
	if d == 0 {
		return orb.Point{l.lon0 / rad, l.lat0 / rad}
	}
	sinA, cosA := dx/math.Hypot(dx, dy), dy/math.Hypot(dx, dy)
	sinD, cosD := math.Sin(d), math.Cos(d)
	sinLat := l.sin0*cosD + l.cos0*sinD*cosA
	lat := math.Asin(sinLat)
	dLon := math.Atan2(sinA*sinD*l.cos0, cosD-l.sin0*sinLat)
	// The sphere's latitude and longitude differences, rescaled by the
	// ellipsoid's radii of curvature at the mid-latitude of the path.
	dLat := (lat - l.lat0) * l.kLat
	mid := (l.lat0 + dLat/2) / rad
	m, n := spheroid.MeridionalRadius(mid), spheroid.PrimeVerticalRadius(mid)
	return orb.Point{(l.lon0 + dLon*l.r/n) / rad, (l.lat0 + (lat-l.lat0)*l.r/m) / rad}
}

// roundPoints returns the CircleSegments vertices of the polygon that stands
// for the circle of radius r metres around c, counter-clockwise, starting
// due east. Two calls with the same c and r return the same points, to the
// bit: buffers of consecutive segments share their join exactly.
func roundPoints(c orb.Point, r float64) []orb.Point {
	l := newLocal(c)
	rr := r * circleScale(CircleSegments)
	pts := make([]orb.Point, CircleSegments)
	for k := range pts {
		t := 2 * math.Pi * float64(k) / CircleSegments
		pts[k] = l.at(rr*math.Cos(t), rr*math.Sin(t))
	}
	return pts
}

// Circle returns the polygon standing for the circle of radius r metres
// around c on the WGS-84 ellipsoid: CircleSegments vertices, counter-
// clockwise, with the area of the true circle.
func Circle(c orb.Point, r float64) orb.Polygon {
	pts := roundPoints(c, r)
	ring := make(orb.Ring, 0, len(pts)+1)
	ring = append(ring, pts...)
	return orb.Polygon{append(ring, pts[0])}
}

// lineRegions returns regions whose union is the buffer of r metres around
// the lines, as the Minkowski sum of each line with the round polygon:
//
//   - for each segment a band: the parallelogram between the two rounds'
//     vertices that lie farthest out on either side of the segment, with the
//     segment's ends as extra vertices on its two short sides;
//   - at each joint, the slice of the round that fills the gap between two
//     bands on the outer side of the turn, from the round's centre;
//   - at each end of an open line, the half round behind it.
//
// All pieces take their corners from the same rounds, computed once per
// vertex, so where they meet they share vertices and edges exactly; the
// union resolves them with exact predicates. A ring (closed line) has
// joints all round and no ends. A line whose positions are all the same
// point stands for that point: its buffer is the round around it.
//
// With rightOnly, the lines are the rings of a polygon with its interior on
// their left, and only what lies right of them is built: half bands, and
// slices at the joints that turn left (convex corners). The polygon itself
// covers the rest, so the union of it with these regions is its buffer,
// without the inner halves of the bands that would pile up inside.
func lineRegions(lines []orb.LineString, r float64, rightOnly bool) []*region {
	var out []*region
	for _, ls := range lines {
		pts := make([]orb.Point, 0, len(ls))
		for _, p := range ls {
			if len(pts) == 0 || p != pts[len(pts)-1] {
				pts = append(pts, p)
			}
		}
		closed := len(pts) > 2 && pts[0] == pts[len(pts)-1]
		if closed {
			pts = pts[:len(pts)-1]
		}
		if len(pts) == 1 {
			out = append(out, newRegion(orb.MultiPolygon{Circle(pts[0], r)}))
			continue
		}
		rounds := make([][]orb.Point, len(pts))
		for k, p := range pts {
			rounds[k] = roundPoints(p, r)
		}
		nseg := len(pts) - 1
		if closed {
			nseg = len(pts)
		}
		left := make([]int, nseg) // lattice index of each segment's left normal
		for k := range nseg {
			ex, ey := heading(pts[k], pts[(k+1)%len(pts)])
			left[k] = latticeIndex(-ey, ex)
		}
		half := func(i int) int { return (i + CircleSegments/2) % CircleSegments }
		band := func(k int) *region {
			a, b, j := pts[k], pts[(k+1)%len(pts)], (k+1)%len(pts)
			l, rt := left[k], half(left[k])
			if rightOnly {
				return polygonRegion([]orb.Point{a, rounds[k][rt], rounds[j][rt], b})
			}
			return polygonRegion([]orb.Point{a, rounds[k][rt], rounds[j][rt], b, rounds[j][l], rounds[k][l]})
		}
		// joint adds the slice at vertex k between segments in and next.
		joint := func(k, in, next int) {
			d := ((left[next]-left[in])%CircleSegments + CircleSegments) % CircleSegments
			switch {
			case d == 0:
			case d <= CircleSegments/2: // the normals turn left: the gap is on the right
				out = append(out, pie(pts[k], rounds[k], half(left[in]), half(left[next])))
			case !rightOnly: // they turn right: the gap is on the left
				out = append(out, pie(pts[k], rounds[k], left[next], left[in]))
			}
		}
		// In order along the line, so that the cascaded union merges
		// neighbours first: each band with the slice that joins it to the
		// next.
		if !closed {
			out = append(out, pie(pts[0], rounds[0], left[0], half(left[0])))
		}
		for k := range nseg {
			out = append(out, band(k))
			switch {
			case k+1 < nseg:
				joint(k+1, k, k+1)
			case closed:
				joint(0, k, 0)
			}
		}
		if !closed {
			last := len(pts) - 1
			out = append(out, pie(pts[last], rounds[last], half(left[nseg-1]), left[nseg-1]))
		}
	}
	return out
}

// heading returns the direction of the segment a->b in metres east and
// north, with the scales at its mid-latitude.
func heading(a, b orb.Point) (ex, ey float64) {
	m := (a[1] + b[1]) / 2
	return (b[0] - a[0]) * spheroid.PrimeVerticalRadius(m) * math.Cos(m*rad), (b[1] - a[1]) * spheroid.MeridionalRadius(m)
}

// latticeIndex returns the index of the round's vertex whose direction from
// the centre is nearest to (ex, ey): the round's farthest vertex that way.
func latticeIndex(ex, ey float64) int {
	k := int(math.Round(math.Atan2(ey, ex) / (2 * math.Pi / CircleSegments)))
	return (k%CircleSegments + CircleSegments) % CircleSegments
}

// pie returns the slice of the round around c from vertex from to vertex to,
// counter-clockwise, closed through c.
func pie(c orb.Point, round []orb.Point, from, to int) *region {
	pts := []orb.Point{c}
	for k := from; ; k = (k + 1) % CircleSegments {
		pts = append(pts, round[k])
		if k == to {
			break
		}
	}
	return polygonRegion(pts)
}

// polygonRegion returns the region of the counter-clockwise polygon with the
// given vertices (not repeated at the end).
func polygonRegion(pts []orb.Point) *region {
	r := &region{edges: make([]seg, 0, len(pts))}
	for k, p := range pts {
		q := pts[(k+1)%len(pts)]
		if p != q {
			r.edges = append(r.edges, whole(p, q))
		}
	}
	r.finish()
	return r
}
