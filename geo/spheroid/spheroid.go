// Package spheroid measures short distances on the WGS-84 ellipsoid between
// points given as longitude, latitude in degrees (EPSG:4326).
//
// It is deliberately not a geodesic library: the one geodesic measure,
// GeodesicM (Vincenty's formula beyond 0.02°), is for the perimeters of
// whole layers' polygons, whose edges can be long. Distances are computed in a
// local tangent plane whose axes are scaled by the ellipsoid's two principal
// radii of curvature: the meridional radius M(lat) north-south and the
// prime-vertical radius N(lat) times cos(lat) east-west. Evaluating the
// scales at the mid-latitude of the two points (rather than at one end)
// cancels the first-order error, so for distances up to a few kilometres the
// result agrees with the true geodesic distance to better than one part in
// 10^6 (the tests compare with Vincenty's formula up to 5 km at latitudes up
// to 70° and see 2e-7 at worst; they assert 0.01%). The error grows with the
// square of the distance; do not use it beyond a few
// tens of kilometres, near the poles (|lat| > 85°) or across the
// antimeridian: longitudes are taken as plain numbers, so an edge from 179.9°
// to -179.9° spans the globe, exactly as it does for a PostGIS geometry.
package spheroid

import (
	"math"

	"github.com/paulmach/orb"
)

// WGS-84 defining constants.
const (
	// A is the semi-major axis (equatorial radius) in metres.
	A = 6378137.0
	// F is the flattening.
	F = 1 / 298.257223563
	// E2 is the first eccentricity squared, f(2-f).
	E2 = F * (2 - F)
)

const rad = math.Pi / 180

// MeridionalRadius returns M, the radius of curvature of the meridian at
// latitude lat (degrees), in metres: a(1-e²)/(1-e²sin²lat)^(3/2). One degree
// of latitude spans about M·π/180 metres.
func MeridionalRadius(lat float64) float64 {
	s := math.Sin(lat * rad)
	w := 1 - E2*s*s
	return A * (1 - E2) / (w * math.Sqrt(w))
}

// PrimeVerticalRadius returns N, the radius of curvature in the prime
// vertical at latitude lat (degrees), in metres: a/sqrt(1-e²sin²lat). One
// degree of longitude spans about N·cos(lat)·π/180 metres.
func PrimeVerticalRadius(lat float64) float64 {
	s := math.Sin(lat * rad)
	return A / math.Sqrt(1-E2*s*s)
}

// MetresToDegrees converts a distance in metres at latitude lat (degrees)
// into the longitude and latitude extents, in degrees, that it spans there:
// dLat = metres/(M·π/180) and dLon = metres/(N·cos(lat)·π/180). The
// conversion is local and exact only at lat itself; callers that need a
// search box must widen it (see gridindex). Near the poles, where a degree of
// longitude shrinks to nothing, dLon is capped at 360 and dLat at 180.
// A negative or NaN distance gives NaN extents.
func MetresToDegrees(lat, metres float64) (dLon, dLat float64) {
	if math.IsNaN(metres) || metres < 0 {
		return math.NaN(), math.NaN()
	}
	dLat = metres / (MeridionalRadius(lat) * rad)
	dLon = metres / (PrimeVerticalRadius(lat) * math.Cos(lat*rad) * rad)
	// cos(90°) is not exactly zero in float64, so the pole gives a huge but
	// finite dLon; the cap also catches +Inf and NaN from cos rounding.
	if !(dLon <= 360) || dLon < 0 {
		dLon = 360
	}
	if dLat > 180 {
		dLat = 180
	}
	return dLon, dLat
}

// PointSegmentDistance returns the distance in metres from p to the closest
// point of the segment a–b (all lon, lat in degrees). The segment is straight
// in longitude/latitude, as a PostGIS geometry edge is. A degenerate segment
// (a == b) gives the distance from p to a.
//
// The closest point q is found in the tangent plane at p (scaled by M and
// N·cos at p's latitude); the distance p–q is then measured with the scales
// at the mid-latitude of p and q, which makes it accurate to better than 1e-6
// relative for distances up to a few kilometres (see the package comment for
// the limits).
func PointSegmentDistance(p, a, b orb.Point) float64 {
	kx := PrimeVerticalRadius(p[1]) * math.Cos(p[1]*rad) * rad
	ky := MeridionalRadius(p[1]) * rad

	ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
	dx, dy := (b[0]-a[0])*kx, (b[1]-a[1])*ky

	// Parameter of the projection of p (the origin) onto the line a + t·d.
	var q orb.Point
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
	}
	switch {
	case !(t > 0): // also NaN
		q = a
	case t >= 1:
		q = b
	default:
		q = orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
	}
	return pointDistance(p, q)
}

// pointDistance is the mid-latitude plane distance between p and q, in
// metres.
func pointDistance(p, q orb.Point) float64 {
	if p == q {
		return 0
	}
	m := (p[1] + q[1]) / 2
	x := (q[0] - p[0]) * PrimeVerticalRadius(m) * math.Cos(m*rad) * rad
	y := (q[1] - p[1]) * MeridionalRadius(m) * rad
	return math.Hypot(x, y)
}
