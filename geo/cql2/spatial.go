package cql2

import (
	"github.com/paulmach/orb"

	"wangge/geo/robust"
)

// parts is a geometry taken apart: its points, its segments (of lines and
// of polygon rings), and its polygons.
type parts struct {
	points   []orb.Point
	segments [][2]orb.Point
	polygons []orb.Polygon
	bound    orb.Bound
}

func partsOf(g orb.Geometry) parts {
	var p parts
	var add func(orb.Geometry)
	line := func(ls []orb.Point) {
		for i := 0; i+1 < len(ls); i++ {
			p.segments = append(p.segments, [2]orb.Point{ls[i], ls[i+1]})
		}
		if len(ls) == 1 {
			p.points = append(p.points, ls[0])
		}
	}
	add = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.Point:
			p.points = append(p.points, g)
		case orb.MultiPoint:
			p.points = append(p.points, g...)
		case orb.LineString:
			line(g)
		case orb.MultiLineString:
			for _, ls := range g {
				line(ls)
			}
		case orb.Ring:
			add(orb.Polygon{g})
		case orb.Polygon:
			p.polygons = append(p.polygons, g)
			for _, r := range g {
				line(r)
			}
		case orb.MultiPolygon:
			for _, poly := range g {
				add(poly)
			}
		case orb.Collection:
			for _, m := range g {
				add(m)
			}
		case orb.Bound:
			add(g.ToPolygon())
		}
	}
	add(g)
	if g != nil {
		p.bound = g.Bound()
	}
	return p
}

// Intersects reports whether a and b have a point in common, boundaries
// included (a point on a polygon's edge or on the edge of one of its holes
// intersects it), in planar coordinates. A nil geometry intersects
// nothing.
func Intersects(a, b orb.Geometry) bool {
	if a == nil || b == nil {
		return false
	}
	pa, pb := partsOf(a), partsOf(b)
	if !pa.bound.Intersects(pb.bound) {
		return false
	}
	// An edge of one meets an edge of the other.
	for _, s := range pa.segments {
		for _, t := range pb.segments {
			if segmentsMeet(s[0], s[1], t[0], t[1]) {
				return true
			}
		}
	}
	// A point (or a vertex of a line or polygon, which, with no edges
	// meeting, stands for all of it) of one lies in or on the other.
	return anyIn(pa, pb) || anyIn(pb, pa)
}

// anyIn reports whether a point of a, or the first vertex of one of its
// lines or polygons, lies in b: on a point, on an edge or inside a
// polygon of b.
func anyIn(a, b parts) bool {
	probes := append([]orb.Point(nil), a.points...)
	for _, s := range a.segments {
		probes = append(probes, s[0])
	}
	for _, p := range probes {
		for _, q := range b.points {
			if p == q {
				return true
			}
		}
		for _, t := range b.segments {
			if onSegment(p, t[0], t[1]) {
				return true
			}
		}
		for _, poly := range b.polygons {
			if inPolygon(p, poly) {
				return true
			}
		}
	}
	return false
}

// segmentsMeet reports whether the closed segments pq and rs share a
// point, with exact orientation tests.
func segmentsMeet(p, q, r, s orb.Point) bool {
	o1, o2 := robust.Orient(p, q, r), robust.Orient(p, q, s)
	o3, o4 := robust.Orient(r, s, p), robust.Orient(r, s, q)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true // a proper crossing
	}
	// Otherwise they meet only where an end of one lies on the other.
	return onSegment(r, p, q) || onSegment(s, p, q) || onSegment(p, r, s) || onSegment(q, r, s)
}

// onSegment reports whether p lies on the closed segment ab.
func onSegment(p, a, b orb.Point) bool {
	if robust.Orient(a, b, p) != 0 {
		return false
	}
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// inPolygon reports whether p lies inside poly or on its boundary: on an
// edge (of the shell or of a hole), or inside the shell and outside every
// hole.
func inPolygon(p orb.Point, poly orb.Polygon) bool {
	inside := false
	for _, ring := range poly {
		for i := 0; i+1 < len(ring); i++ {
			a, b := ring[i], ring[i+1]
			if onSegment(p, a, b) {
				return true
			}
			// Even–odd crossing of the ray going right from p.
			if (a[1] > p[1]) != (b[1] > p[1]) {
				o := robust.Orient(a, b, p)
				if b[1] > a[1] && o > 0 || b[1] < a[1] && o < 0 {
					inside = !inside
				}
			}
		}
	}
	return inside
}
