package vectortile

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// maxLat is the latitude at which Web Mercator's square world ends
// (atan(sinh(π)) in degrees); points farther north or south are clamped
// to it, as every Web Mercator tiler does.
const maxLat = 85.05112877980659

// mercator returns the position of p (lon/lat) in the Web Mercator world
// scaled to the unit square: x from 0 at 180°W to 1 at 180°E, y from 0 at
// maxLat north to 1 at maxLat south.
func mercator(p orb.Point) (x, y float64) {
	x = p[0]/360 + 0.5
	lat := min(max(p[1], -maxLat), maxLat)
	s := math.Sin(lat * (math.Pi / 180))
	y = 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
	return x, min(max(y, 0), 1)
}

// ipt is a point on a tile's integer grid, relative to the tile's
// top-left corner, x east and y south.
type ipt struct{ x, y int64 }

// less orders points lexicographically, x first.
func (p ipt) less(q ipt) bool { return p.x < q.x || p.x == q.x && p.y < q.y }

// frame maps Web Mercator unit coordinates to one tile's integer grid and
// holds its clip rectangle.
type frame struct {
	// scale is the number of units across the world at this zoom.
	scale float64
	// ox, oy are the world-grid coordinates of the tile's top-left corner.
	ox, oy int64
	// lo, hi bound the clip rectangle on both axes: -Buffer and
	// Extent+Buffer.
	lo, hi int64
	// box is the clip rectangle in Web Mercator unit coordinates, grown by
	// one unit so that no ring that could reach the rectangle after
	// snapping is skipped.
	box box
}

func newFrame(t maptile.Tile, opt Options) frame {
	ext := int64(opt.Extent)
	f := frame{scale: math.Ldexp(float64(ext), int(t.Z)), ox: int64(t.X) * ext, oy: int64(t.Y) * ext,
		lo: -int64(opt.Buffer), hi: ext + int64(opt.Buffer)}
	f.box = box{float64(f.ox+f.lo-1) / f.scale, float64(f.oy+f.lo-1) / f.scale,
		float64(f.ox+f.hi+1) / f.scale, float64(f.oy+f.hi+1) / f.scale}
	return f
}

// snap returns p's point on the tile's grid: the nearest point of the
// world grid of the zoom, shifted to the tile's corner. It depends on p
// alone (not on the ring or the tile's clip), which is what keeps shared
// vertices shared.
func (f *frame) snap(p mpt) ipt {
	return ipt{int64(math.Round(p.x*f.scale)) - f.ox, int64(math.Round(p.y*f.scale)) - f.oy}
}

// scratch holds the two point buffers that clipping alternates between.
type scratch struct{ a, b []ipt }

// ring returns r (open, in Web Mercator unit coordinates) snapped to the
// grid and clipped to the rectangle, cleaned of duplicate and collinear
// points, or nil when nothing with area is left. The result is an open
// ring whose last point joins its first; it lives in s until the next
// call.
func (f *frame) ring(r []mpt, s *scratch) []ipt {
	if len(r) < 3 {
		return nil
	}
	s.a = s.a[:0]
	minX, minY, maxX, maxY := int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MinInt64), int64(math.MinInt64)
	for _, p := range r {
		q := f.snap(p)
		s.a = append(s.a, q)
		minX, maxX = min(minX, q.x), max(maxX, q.x)
		minY, maxY = min(minY, q.y), max(maxY, q.y)
	}
	if maxX < f.lo || minX > f.hi || maxY < f.lo || minY > f.hi {
		return nil // the ring's box misses the rectangle: so does its area
	}
	return f.clip(s, minX < f.lo || maxX > f.hi || minY < f.lo || maxY > f.hi)
}

// clip clips the snapped ring in s.a to the rectangle (when crosses says
// it reaches past it), cleans it, and returns it, or nil when it has no area.
func (f *frame) clip(s *scratch, crosses bool) []ipt {
	if crosses {
		s.b = clipSide(s.a, s.b[:0], 0, f.lo, true)
		s.a = clipSide(s.b, s.a[:0], 0, f.hi, false)
		s.b = clipSide(s.a, s.b[:0], 1, f.lo, true)
		s.a = clipSide(s.b, s.a[:0], 1, f.hi, false)
	}
	pts := clean(s.a)
	if len(pts) < 3 || area2(pts) == 0 {
		return nil
	}
	return pts
}

// coord returns p's x (axis 0) or y (axis 1).
func (p ipt) coord(axis int) int64 {
	if axis == 0 {
		return p.x
	}
	return p.y
}

// clipSide is one pass of Sutherland–Hodgman: it keeps the part of ring
// in on the side of the line coord(axis) = c given by keepAbove (>= c) or
// not (<= c), appending to out, which must not share storage with in.
func clipSide(in, out []ipt, axis int, c int64, keepAbove bool) []ipt {
	inside := func(p ipt) bool {
		if keepAbove {
			return p.coord(axis) >= c
		}
		return p.coord(axis) <= c
	}
	if len(in) == 0 {
		return out
	}
	s := in[len(in)-1]
	sIn := inside(s)
	for _, e := range in {
		eIn := inside(e)
		switch {
		case sIn && eIn:
			out = append(out, e)
		case sIn:
			out = append(out, crossing(s, e, axis, c))
		case eIn:
			out = append(out, crossing(s, e, axis, c), e)
		}
		s, sIn = e, eIn
	}
	return out
}

// crossing returns the grid point nearest to where segment s–e meets the
// line coord(axis) = c; s and e lie on either side of it, or one on it.
// The endpoints are taken in lexicographic order, so the answer does not
// depend on the segment's direction: the two polygons sharing an edge
// traverse it in opposite directions and must get the same point.
func crossing(s, e ipt, axis int, c int64) ipt {
	a, b := s, e
	if b.less(a) {
		a, b = b, a
	}
	if axis == 0 {
		d := math.Round(float64(c-a.x) * float64(b.y-a.y) / float64(b.x-a.x))
		return ipt{c, a.y + int64(d)}
	}
	d := math.Round(float64(c-a.y) * float64(b.x-a.x) / float64(b.y-a.y))
	return ipt{a.x + int64(d), c}
}

// cross returns the z component of (b-a) × (c-b): zero when a, b and c are
// collinear (including when c turns back along b–a).
func cross(a, b, c ipt) int64 {
	return (b.x-a.x)*(c.y-b.y) - (b.y-a.y)*(c.x-b.x)
}

// clean drops, in place, consecutive duplicate points and every point
// collinear with its neighbours (a straight pass-through or the tip of a
// zero-width spike), around the ring including across its start, until
// none is left. The coordinates must be small enough that cross cannot
// overflow, which the clip rectangle ensures.
func clean(r []ipt) []ipt {
	out := r[:0]
	for _, p := range r {
		for {
			n := len(out)
			if n > 0 && out[n-1] == p {
				break
			}
			if n >= 2 && cross(out[n-2], out[n-1], p) == 0 {
				out = out[:n-1]
				continue
			}
			out = append(out, p)
			break
		}
	}
	// The start: the last point, the first two, and so on, may still be
	// duplicate or collinear across the seam.
	start := 0
	for len(out)-start >= 3 {
		n := len(out)
		switch {
		case out[n-1] == out[start]:
			out = out[:n-1]
		case cross(out[n-2], out[n-1], out[start]) == 0:
			out = out[:n-1]
		case cross(out[n-1], out[start], out[start+1]) == 0:
			start++
		default:
			return out[start:]
		}
	}
	return out[start:]
}

// area2 returns twice the ring's signed area by the surveyor's formula in
// tile coordinates: positive for an exterior ring as MVT 2.1 defines it
// (clockwise on screen, y down).
func area2(r []ipt) int64 {
	var a int64
	prev := r[len(r)-1]
	for _, p := range r {
		a += prev.x*p.y - p.x*prev.y
		prev = p
	}
	return a
}

// reverse reverses r in place.
func reverse(r []ipt) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}
