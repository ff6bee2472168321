// Package coverage answers "which grids does this area cover, and by how
// much?" from the in-memory snapshot, without the database: a flood zone
// (a polygon), a road closure (a line with a buffer), a lost child's last
// known position (a point with a radius).
//
// Geometry is WGS-84 longitude/latitude with edges straight in lon/lat, as
// PostGIS treats a geometry: the shape is clipped against each grid in the
// lon/lat plane, as ST_Intersection(geometry, geometry) does. Areas are
// those of ST_Area(geography): on the ellipsoid, with each edge taken as a
// geodesic, computed in Lambert's cylindrical equal-area projection (exact
// for area) plus a third-order correction per edge for its bend (area.go).
// Buffers are built from rounds of CircleSegments vertices laid out with an
// azimuthal equidistant frame at each vertex, sized so that a round has the
// true circle's area (buffer.go).
//
// Clipping and union classify boundaries with exact orientation predicates
// (overlay.go): only areas are asked of an intersection, so no polygon is
// built for it, and the one union built, a buffer's, is of pieces that
// share their vertices exactly. No polygon-overlay library is used.
package coverage

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/spheroid"
)

// Limits on what one request may ask. A town is some 100 km² and a county
// a few thousand; beyond that the question is not a notification any more.
const (
	// MaxDistanceM bounds buffer_m and radius_m, in metres.
	MaxDistanceM = 50_000
	// MinDistanceM is the smallest buffer or radius, in metres: a round's
	// edges must stay well above snapDeg.
	MinDistanceM = 0.1
	// MaxAreaM2 bounds the area of the shape, buffer included: 10,000 km².
	MaxAreaM2 = 1e10
	// MaxSpanDeg bounds the extent of the shape, buffer included, in
	// degrees of longitude and of latitude.
	MaxSpanDeg = 2
	// MaxLatDeg keeps buffered shapes away from the poles, where a metre
	// is no longer a sensible fraction of a degree of longitude.
	MaxLatDeg = 85
	// MaxPositions bounds the positions of the geometry.
	MaxPositions = 20_000
	// MaxBufferedPositions bounds the positions of a geometry that is
	// buffered: each becomes a round of CircleSegments vertices.
	MaxBufferedPositions = 2_000
	// MaxWork bounds the pairs of edges compared and the edges looked at
	// while validating a polygon or building a buffer. Ordinary shapes at
	// the limits above need a few million; only boundaries that pile up on
	// one another (thousands of spikes a few metres apart, buffered) need
	// more, and get a "too complex" answer instead of seconds of work.
	MaxWork = 20_000_000
	// MinOverlapM2 is the smallest overlap that counts: a grid that the
	// shape covers by less merely touches it (a shared edge or vertex
	// gives zero, give or take rounding).
	MinOverlapM2 = 0.01
)

// Request is an area to cover: a geometry in WGS-84 and, depending on its
// type, a buffer or a radius in metres (nil when not given).
//
//   - orb.Polygon, orb.MultiPolygon: as is, or grown by BufferM (≥ 0).
//     Parts of a multipolygon may overlap: their union counts.
//   - orb.LineString, orb.MultiLineString: BufferM (> 0) on both sides and
//     round the ends. Lines may cross themselves.
//   - orb.Point: the circle of RadiusM (> 0).
type Request struct {
	Geometry orb.Geometry
	BufferM  *float64
	RadiusM  *float64
}

// TooLargeError reports a geometry with more positions than a limit allows,
// or one too convoluted to compute within MaxWork.
type TooLargeError struct {
	Where, Reason string
}

func (e *TooLargeError) Error() string { return e.Where + ": " + e.Reason }

// Shape is the area of a request, ready to be intersected with grids.
type Shape struct {
	// Polygon is the area as polygons in WGS-84: outer rings
	// counter-clockwise, holes clockwise.
	Polygon orb.MultiPolygon
	// AreaM2 is its area on the ellipsoid in square metres.
	AreaM2 float64
	// Dropped counts boundary pieces that could not be chained into rings
	// while building a union (zero unless the input is numerically
	// degenerate; see union).
	Dropped int

	s *shape
}

// NewShape validates req and builds its shape. It returns a *geo.Error with
// code EINVALID whose problems name the member ("geometry", "buffer_m",
// "radius_m") and say what is wrong, and where for a geometry; or a
// *TooLargeError when the geometry has too many positions.
func NewShape(req Request) (*Shape, error) {
	var polys orb.MultiPolygon
	var lines []orb.LineString
	var point orb.Point
	isPoint := false
	switch g := req.Geometry.(type) {
	case orb.Point:
		point, isPoint = g, true
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		lines = append([]orb.LineString{}, g...)
	case orb.Polygon:
		polys = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		polys = g
	case nil:
		return nil, invalid("geometry", "required: a GeoJSON Point, LineString, MultiLineString, Polygon or MultiPolygon")
	default:
		return nil, invalid("geometry", fmt.Sprintf("type %s: want Point, LineString, MultiLineString, Polygon or MultiPolygon", g.GeoJSONType()))
	}

	if err := checkPositions(point, isPoint, lines, polys); err != nil {
		return nil, err
	}
	var dist float64
	switch {
	case isPoint:
		if req.BufferM != nil {
			return nil, invalid("buffer_m", "a Point takes radius_m (the circle's radius in metres), not buffer_m")
		}
		if req.RadiusM == nil {
			return nil, invalid("radius_m", "required for a Point: the circle's radius in metres, > 0")
		}
		d, err := distance("radius_m", *req.RadiusM, false)
		if err != nil {
			return nil, err
		}
		dist = d
	case lines != nil:
		if req.RadiusM != nil {
			return nil, invalid("radius_m", "a line takes buffer_m (metres on each side), not radius_m")
		}
		if req.BufferM == nil {
			return nil, invalid("buffer_m", "required for a line: metres on each side, > 0")
		}
		d, err := distance("buffer_m", *req.BufferM, false)
		if err != nil {
			return nil, err
		}
		dist = d
	default:
		if req.RadiusM != nil {
			return nil, invalid("radius_m", "a polygon takes buffer_m (metres to grow it by, optional), not radius_m")
		}
		if req.BufferM != nil {
			d, err := distance("buffer_m", *req.BufferM, true)
			if err != nil {
				return nil, err
			}
			dist = d
		}
	}

	n := 0
	for _, ls := range lines {
		n += len(ls)
	}
	for _, p := range polys {
		for _, r := range p {
			n += len(r)
		}
	}
	if n > MaxPositions {
		return nil, &TooLargeError{"geometry", fmt.Sprintf("%d positions: at most %d", n, MaxPositions)}
	}
	if dist > 0 && n > MaxBufferedPositions {
		return nil, &TooLargeError{"geometry", fmt.Sprintf("%d positions to buffer: at most %d", n, MaxBufferedPositions)}
	}
	if err := checkExtent(req.Geometry.Bound(), dist); err != nil {
		return nil, err
	}

	var probs []geo.Problem
	for i, p := range polys {
		prefix := ""
		if len(polys) > 1 {
			prefix = fmt.Sprintf("polygon %d: ", i)
		}
		pp, ok := checkPolygon(p, "geometry", prefix, MaxWork)
		if !ok {
			return nil, tooComplex()
		}
		probs = append(probs, pp...)
	}
	if len(probs) > 0 {
		return nil, &geo.Error{Code: geo.EINVALID, Message: "geometry: " + probs[0].Reason, Problems: probs}
	}

	sh := &Shape{}
	complete := true
	switch {
	case isPoint:
		sh.Polygon = orb.MultiPolygon{Circle(point, dist)}
	case lines != nil:
		sh.Polygon, sh.Dropped, complete = union(lineRegions(lines, dist, false), MaxWork)
	case len(polys) == 1 && dist == 0:
		sh.Polygon = oriented(polys)
	default:
		// The half bands and slices first, in order along each ring, then
		// the polygons, so that the cascaded union merges neighbours.
		var regions []*region
		if dist > 0 {
			var rings []orb.LineString
			for _, p := range oriented(polys) {
				for _, r := range p {
					rings = append(rings, orb.LineString(r))
				}
			}
			regions = lineRegions(rings, dist, true)
		}
		for _, p := range polys {
			regions = append(regions, newRegion(orb.MultiPolygon{p}))
		}
		sh.Polygon, sh.Dropped, complete = union(regions, MaxWork)
	}
	if !complete {
		return nil, tooComplex()
	}
	sh.AreaM2 = AreaM2(sh.Polygon)
	if sh.AreaM2 > MaxAreaM2 {
		return nil, invalid("geometry", fmt.Sprintf("the shape covers %.0f km²: at most %.0f km²", sh.AreaM2/1e6, MaxAreaM2/1e6))
	}
	sh.s = newShape(newRegion(sh.Polygon))
	return sh, nil
}

// checkPositions checks what a GeoJSON decoder may not have: every
// position finite and within range, lines of at least two positions,
// polygons of closed rings (see geo.Polygonal).
func checkPositions(point orb.Point, isPoint bool, lines []orb.LineString, polys orb.MultiPolygon) error {
	if isPoint {
		if msg := geo.CheckLonLat(point[0], point[1]); msg != nil {
			return invalid("geometry", msg.String())
		}
		return nil
	}
	if lines != nil {
		if len(lines) == 0 {
			return invalid("geometry", "a MultiLineString with no lines")
		}
		for i, ls := range lines {
			if len(ls) < 2 {
				return invalid("geometry", fmt.Sprintf("line %d has %d positions: want at least 2", i, len(ls)))
			}
			for k, p := range ls {
				if msg := geo.CheckLonLat(p[0], p[1]); msg != nil {
					return invalid("geometry", fmt.Sprintf("line %d position %d: %s", i, k, msg))
				}
			}
		}
		return nil
	}
	if _, reasons := geo.Polygonal(polys); len(reasons) > 0 {
		probs := make([]geo.Problem, len(reasons))
		for i, r := range reasons {
			probs[i] = geo.Problem{Where: "geometry", Reason: r}
		}
		return &geo.Error{Code: geo.EINVALID, Message: "geometry: " + reasons[0], Problems: probs}
	}
	return nil
}

// distance checks a buffer or radius.
func distance(where string, v float64, zeroOK bool) (float64, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, invalid(where, fmt.Sprintf("got %v, want a finite number of metres", v))
	case v < 0 || (v == 0 && !zeroOK):
		want := "> 0"
		if zeroOK {
			want = "≥ 0"
		}
		return 0, invalid(where, fmt.Sprintf("got %v, want %s metres", v, want))
	case v > MaxDistanceM:
		return 0, invalid(where, fmt.Sprintf("got %v m, at most %d m", v, MaxDistanceM))
	case v > 0 && v < MinDistanceM:
		return 0, invalid(where, fmt.Sprintf("got %v m, at least %v m", v, MinDistanceM))
	}
	return v, nil
}

// checkExtent bounds the shape's extent, buffer included, and keeps a
// buffered shape off the poles.
func checkExtent(b orb.Bound, dist float64) error {
	maxLat := max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))
	if dist > 0 && maxLat > MaxLatDeg {
		return invalid("geometry", fmt.Sprintf("latitude %v: a buffered shape must stay within ±%d°", maxLat, MaxLatDeg))
	}
	dLon, dLat := spheroid.MetresToDegrees(min(maxLat, MaxLatDeg), dist)
	w, h := b.Max[0]-b.Min[0]+2*dLon, b.Max[1]-b.Min[1]+2*dLat
	if w > MaxSpanDeg || h > MaxSpanDeg {
		return invalid("geometry", fmt.Sprintf("the shape spans %.3g° of longitude by %.3g° of latitude (buffer included): at most %d° each", w, h, MaxSpanDeg))
	}
	if b.Min[1]-dLat < -90 || b.Max[1]+dLat > 90 || b.Min[0]-dLon < -180 || b.Max[0]+dLon > 180 {
		return invalid("geometry", "the buffer crosses a pole or the antimeridian")
	}
	return nil
}

func tooComplex() *TooLargeError {
	return &TooLargeError{"geometry", "too complex to compute: its edges (or its buffer's) pile up on one another; simplify it or use a smaller buffer"}
}

func invalid(where, reason string) *geo.Error {
	return &geo.Error{Code: geo.EINVALID, Message: where + ": " + reason, Problems: []geo.Problem{{Where: where, Reason: reason}}}
}

// oriented returns mp with outer rings counter-clockwise and holes
// clockwise (copies where a ring is reversed).
func oriented(mp orb.MultiPolygon) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(mp))
	for i, poly := range mp {
		out[i] = make(orb.Polygon, len(poly))
		for j, ring := range poly {
			if (signedArea(ring) > 0) != (j == 0) {
				ring = slices.Clone(ring)
				slices.Reverse(ring)
			}
			out[i][j] = ring
		}
	}
	return out
}

// Overlap is a grid that the shape covers.
type Overlap struct {
	// Entry is the grid's position in Snapshot.Grids.
	Entry int
	// OverlapM2 is the area of grid ∩ shape on the ellipsoid.
	OverlapM2 float64
	// GridM2 is the grid's area, computed the same way.
	GridM2 float64
	// Share is OverlapM2/GridM2, in 0..1; exactly 1 for a grid the shape
	// contains.
	Share float64
}

// Grids returns every grid of snap that the shape covers by at least
// MinOverlapM2, largest overlap first (ties by grid code). Candidates are
// the grids whose bounding box meets the shape's.
func (sh *Shape) Grids(snap *geo.Snapshot) []Overlap {
	box := sh.s.box
	var out []Overlap
	for i := range snap.Grids {
		g := &snap.Grids[i]
		if len(g.Geometry) == 0 || !g.Geometry.Bound().Intersects(box) {
			continue
		}
		o, ok := sh.Overlap(g.Geometry)
		if !ok {
			continue
		}
		o.Entry = i
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Overlap) int {
		if c := cmp.Compare(b.OverlapM2, a.OverlapM2); c != 0 {
			return c
		}
		return cmp.Compare(a.Entry, b.Entry)
	})
	return out
}

// Overlap measures how much of the polygon grid the shape covers; ok is
// false when that is less than MinOverlapM2. Entry is left zero.
func (sh *Shape) Overlap(grid orb.MultiPolygon) (o Overlap, ok bool) {
	overlap, whole := sh.s.intersectionArea(newRegion(grid))
	if overlap < MinOverlapM2 {
		return Overlap{}, false
	}
	overlap = min(overlap, whole)
	return Overlap{OverlapM2: overlap, GridM2: whole, Share: overlap / whole}, true
}
