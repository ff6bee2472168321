package coverage

import (
	"math"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

const rad = math.Pi / 180

// e is the first eccentricity of WGS-84.
var e = math.Sqrt(spheroid.E2)

// authalicQ is q(φ) of the ellipsoid's authalic latitude:
//
//	q = (1-e²)·[sinφ/(1-e²sin²φ) − 1/(2e)·ln((1-e·sinφ)/(1+e·sinφ))]
//
// Its derivative is 2(1-e²)cosφ/(1-e²sin²φ)², so the map
// (λ, φ) -> (a·λ, a·q(φ)/2) is Lambert's cylindrical equal-area projection
// of the ellipsoid: a region's area on the WGS-84 ellipsoid equals its area
// in that plane, exactly.
func authalicQ(lat float64) float64 {
	s := math.Sin(lat * rad)
	es := e * s
	return (1 - spheroid.E2) * (s/(1-es*es) - math.Log((1-es)/(1+es))/(2*e))
}

// frame is an equal-area plane for one computation: Lambert's cylindrical
// equal-area projection, shifted so that its origin is near the data (the
// shoelace sums then add small numbers, not large ones that cancel).
type frame struct {
	lon0, q0 float64
	// mn is M·N at the frame's centre: the area of a square radian of
	// lon/lat there, divided by cos(lat).
	mn float64
}

func newFrame(b orb.Bound) frame {
	c := b.Center()
	return frame{lon0: c[0], q0: authalicQ(c[1]),
		mn: spheroid.MeridionalRadius(c[1]) * spheroid.PrimeVerticalRadius(c[1])}
}

// xy projects p (lon, lat in degrees) into the frame, in metres.
func (f frame) xy(p orb.Point) (x, y float64) {
	return spheroid.A * (p[0] - f.lon0) * rad, spheroid.A / 2 * (authalicQ(p[1]) - f.q0)
}

// term is the contribution of the directed segment p->q to the area
// enclosed by a closed boundary (interior on the left), ∮x dy in the
// frame, for the geodesic between p and q: PostGIS's ST_Area(geography)
// takes edges as geodesics, and so does this, to within a few parts in a
// million of the edge's own correction.
//
// It is the trapezoid of the chord in the frame plus two small
// corrections of third order in the edge's extent (Δλ, Δφ in radians, φ
// the mid-latitude): the trapezoid misses the bend of the chord's image
// (the projection is not linear in latitude), −MN·sinφ·Δλ·Δφ²/12; and the
// geodesic bulges poleward of the lon/lat-straight chord, with curvature
// φ” = −(N/M)·sinφ·cosφ − 2·tanφ·φ'² in (λ, φ), which takes
// −MN·sinφ·((N/M)·cos²φ·Δλ³ + 2·Δλ·Δφ²)/12 from the region on its left.
// For a 4 km east-west edge at 27°N the two together are about 430 m².
func (f frame) term(p, q orb.Point) float64 {
	x1, y1 := f.xy(p)
	x2, y2 := f.xy(q)
	dl, dp := (q[0]-p[0])*rad, (q[1]-p[1])*rad
	s, c := math.Sincos((p[1] + q[1]) / 2 * rad)
	w := 1 - spheroid.E2*s*s
	nOverM := w / (1 - spheroid.E2)
	return (x1+x2)/2*(y2-y1) - f.mn*s*dl*(nOverM*c*c*dl*dl+3*dp*dp)/12
}

// AreaM2 returns the area of mp on the WGS-84 ellipsoid in square metres,
// with edges straight in lon/lat (as PostGIS computes
// ST_Area(geom::geography) for a small polygon: the edges differ from
// geodesics by millimetres at town scale). Rings may have any orientation:
// the first ring of each polygon adds, the others subtract.
func AreaM2(mp orb.MultiPolygon) float64 {
	f := newFrame(mp.Bound())
	total := 0.0
	for _, poly := range mp {
		for j, ring := range poly {
			a := math.Abs(f.ringArea(ring))
			if j == 0 {
				total += a
			} else {
				total -= a
			}
		}
	}
	return total
}

// chordAreaM2 is AreaM2 with the edges taken as chords of the equal-area
// plane (without the geodesics' bulge): what a region encloses in lon/lat,
// where GEOS overlays. See sliver.
func chordAreaM2(mp orb.MultiPolygon) float64 {
	f := newFrame(mp.Bound())
	total := 0.0
	for _, poly := range mp {
		for j, ring := range poly {
			s := 0.0
			for k := 1; k < len(ring); k++ {
				x1, y1 := f.xy(ring[k-1])
				x2, y2 := f.xy(ring[k])
				s += (x1 + x2) / 2 * (y2 - y1)
			}
			if j == 0 {
				total += math.Abs(s)
			} else {
				total -= math.Abs(s)
			}
		}
	}
	return total
}

// sliver says whether a part of an overlay is a zero-width sliver that
// GEOS would not have produced: one that encloses no more than tol m² with
// straight edges in lon/lat. Where two boundaries run a rounding error
// apart (a grid's top edge 27.01+0.01 = 27.020000000000003 under an
// outline's 27.02), the pieces between them close into rings of no width
// that GEOS's overlay in lon/lat drops; measured along geodesics, such a
// ring between one long east–west edge and several short ones encloses
// the bulge of the long geodesic (156 m² for 3.3 km at 27°N).
func sliver(mp orb.MultiPolygon, tol float64) bool {
	return chordAreaM2(mp) <= tol
}

// ringArea is the signed area of ring in the frame: positive when it runs
// counter-clockwise.
func (f frame) ringArea(ring orb.Ring) float64 {
	s := 0.0
	for k := 1; k < len(ring); k++ {
		s += f.term(ring[k-1], ring[k])
	}
	if n := len(ring); n > 0 && ring[0] != ring[n-1] {
		s += f.term(ring[n-1], ring[0])
	}
	return s
}
