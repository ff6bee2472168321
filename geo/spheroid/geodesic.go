package spheroid

import (
	"math"

	"github.com/paulmach/orb"
)

// GeodesicM returns the length in metres of the geodesic between p and q
// (lon, lat in degrees) on the WGS-84 ellipsoid, as PostGIS's
// ST_Length(geography) measures an edge: for points less than 0.02° apart
// in both, in the plane of the mid-latitude (this package's measure, within
// 1e-7 of the geodesic there, at a tenth of the cost); else VincentyM.
func GeodesicM(p, q orb.Point) float64 {
	if p == q {
		return 0
	}
	if math.Abs(q[0]-p[0]) < 0.02 && math.Abs(q[1]-p[1]) < 0.02 {
		m := (p[1] + q[1]) / 2
		x := (q[0] - p[0]) * PrimeVerticalRadius(m) * math.Cos(m*rad) * rad
		y := (q[1] - p[1]) * MeridionalRadius(m) * rad
		return math.Hypot(x, y)
	}
	return VincentyM(p, q)
}

// VincentyM returns the length in metres of the geodesic between p and q
// on the WGS-84 ellipsoid by Vincenty's inverse formula (within a tenth of
// a millimetre of the exact geodesic; for nearly antipodal points, where it
// does not converge, the last iterate). It is also the tests' independent
// measure of the plane approximation.
func VincentyM(p, q orb.Point) float64 {
	const b = A * (1 - F)
	l := (q[0] - p[0]) * rad
	u1 := math.Atan((1 - F) * math.Tan(p[1]*rad))
	u2 := math.Atan((1 - F) * math.Tan(q[1]*rad))
	sinU1, cosU1 := math.Sincos(u1)
	sinU2, cosU2 := math.Sincos(u2)
	lambda := l
	var sinSigma, cosSigma, sigma, cos2Alpha, cos2SigmaM float64
	for range 200 {
		sinL, cosL := math.Sincos(lambda)
		sinSigma = math.Hypot(cosU2*sinL, cosU1*sinU2-sinU1*cosU2*cosL)
		if sinSigma == 0 {
			return 0
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosL
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinL / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		cos2SigmaM = 0
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		c := F / 16 * cos2Alpha * (4 + F*(4-3*cos2Alpha))
		prev := lambda
		lambda = l + (1-c)*F*sinAlpha*(sigma+c*sinSigma*(cos2SigmaM+c*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-13 {
			break
		}
	}
	u := cos2Alpha * (A*A - b*b) / (b * b)
	ka := 1 + u/16384*(4096+u*(-768+u*(320-175*u)))
	kb := u / 1024 * (256 + u*(-128+u*(74-47*u)))
	dSigma := kb * sinSigma * (cos2SigmaM + kb/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-
		kb/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
	return b * ka * (sigma - dSigma)
}
