// Package chinacrs converts points between WGS-84 and the two obfuscated
// coordinate systems used by map front-ends in mainland China.
//
// GCJ-02 ("Mars coordinates", from 国测局, the State Bureau of Surveying and
// Mapping) is the datum that Chinese regulations require published maps to
// use. AMap (Gaode), Tencent Maps, Apple Maps in China and Google Maps at
// google.cn all work in GCJ-02. It is WGS-84 plus a deliberately non-linear
// offset of a few hundred metres, computed by an undisclosed algorithm whose
// widely circulated reconstruction (a polynomial in longitude and latitude
// with superimposed sine waves, scaled to degrees on the Krasovsky 1940
// ellipsoid) is what every open-source converter implements, and what this
// package implements too.
//
// BD-09 is Baidu's own layer on top of GCJ-02: the point is converted to
// polar form about (0°, 0°), its radius is perturbed by 0.00002·sin(lat·π·3000/180),
// its angle by 0.000003·cos(lon·π·3000/180), and the result is shifted by
// (+0.0065°, +0.006°).
//
// Only the forward directions (WGS-84 → GCJ-02 → BD-09) are given by closed
// formulas. Neither has a closed-form inverse: the GCJ-02 offset is a function
// of the WGS-84 position, which is the unknown, and the BD-09 perturbations
// are functions of the GCJ-02 position. The one-step approximations found in
// many converters (apply the offset evaluated at the known point instead of
// the unknown one) are off by up to about 5 m for GCJ-02 and 0.2 m for
// BD-09. This package therefore inverts both by fixed-point iteration, which
// converges quickly because the offsets change slowly with position: each
// step shrinks the error more than a hundredfold for GCJ-02 and at least
// fortyfold for BD-09, so 4 to 6 steps are usually enough. The iterations
// stop once the forward transform of the result reproduces the input to
// about 1e-12°, far below the 1e-7° (about 1 cm) that matters.
//
// The offsets apply only inside a rectangle around China, longitude 72.004°
// to 137.8347° and latitude 0.8293° to 55.8271° (the rectangle used by the
// established converters, see OutOfChina). A point outside it, or one with a
// NaN coordinate, is returned unchanged by every function in this package. The
// test is made on the coordinates given to the function, whatever system they
// are in, exactly as the established converters do, and only on those: the
// two-step conversions between WGS-84 and BD-09 do not test the intermediate
// GCJ-02 point again, so both steps apply whenever the point given is inside. Within a few hundred
// metres of the rectangle's edges the transforms are therefore not exact
// inverses of each other; the edges lie well outside China's borders. The
// rectangle is crude the other way too: it also covers neighbouring
// countries (Mongolia, the Koreas, western Japan, much of South-East and
// Central Asia), and points there are offset as if they were in China, as
// the other converters do.
//
// Coordinates are longitude, latitude in degrees, in that order (orb.Point).
// No function allocates.
//
// Go lets the compiler fuse a multiplication and a following addition into
// one fused multiply-add, even across statements, and it does so on arm64,
// ppc64, s390x, riscv64 and loong64 but not on amd64. Every product here that
// feeds an addition is therefore wrapped in an explicit float64 conversion,
// which the language defines as a rounding that forbids fusion, so the
// package adds no architecture-dependent rounding of its own. Constants that
// the reference implementations compute in float64 (π·3000/180 and
// a·(1−e²)) are likewise computed at run time rather than folded exactly at
// compile time. Results can still differ in the last bit between
// architectures through the math package's own functions.
package chinacrs

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// CRS names a coordinate reference system accepted in requests: "wgs84",
// "gcj02" or "bd09". The zero value, like any value not returned by Parse,
// is treated as WGS84.
type CRS string

// The coordinate reference systems this package converts between.
const (
	// WGS84 is the World Geodetic System 1984 (EPSG:4326), used by GPS,
	// OpenStreetMap and the service's storage.
	WGS84 CRS = "wgs84"
	// GCJ02 is the Chinese obfuscated datum used by AMap (Gaode), Tencent
	// and Google Maps in China.
	GCJ02 CRS = "gcj02"
	// BD09 is Baidu's further obfuscation of GCJ02.
	BD09 CRS = "bd09"
)

// ErrUnknownCRS is matched, through errors.Is, by every error Parse returns.
var ErrUnknownCRS = errors.New("crs: unknown coordinate reference system")

// unknownCRSError is the error Parse returns; its value is the rejected
// input.
type unknownCRSError string

// Error lists the accepted values.
func (e unknownCRSError) Error() string {
	return "crs: got " + strconv.Quote(string(e)) + ", want wgs84, gcj02 or bd09"
}

// Is reports whether target is ErrUnknownCRS, so that errors.Is matches any
// Parse error whatever the rejected value.
func (e unknownCRSError) Is(target error) bool {
	return target == ErrUnknownCRS
}

// Parse returns the CRS named by a request parameter value. Matching ignores
// case. The empty string means WGS84, and "epsg:4326" and "wgs-84" are
// accepted as WGS84 too. Any other value yields an error that lists the
// accepted values and matches ErrUnknownCRS.
func Parse(s string) (CRS, error) {
	switch {
	case s == "",
		strings.EqualFold(s, string(WGS84)),
		strings.EqualFold(s, "wgs-84"),
		strings.EqualFold(s, "epsg:4326"):
		return WGS84, nil
	case strings.EqualFold(s, string(GCJ02)):
		return GCJ02, nil
	case strings.EqualFold(s, string(BD09)):
		return BD09, nil
	}
	return "", unknownCRSError(s)
}

// ToWGS84 converts the point p, given in c, to WGS-84. A c that Parse would
// not return is treated as WGS84, so p is returned unchanged.
func ToWGS84(c CRS, p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return BD09ToWGS84(p)
	}
	return p
}

// FromWGS84 converts the WGS-84 point p to c. A c that Parse would not
// return is treated as WGS84, so p is returned unchanged.
func FromWGS84(c CRS, p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return WGS84ToBD09(p)
	}
	return p
}

// The rectangle outside which no offset is applied, in degrees.
const (
	minLon = 72.004
	maxLon = 137.8347
	minLat = 0.8293
	maxLat = 55.8271
)

// OutOfChina reports whether p lies outside the rectangle, longitude 72.004°
// to 137.8347° and latitude 0.8293° to 55.8271° (edges included in the
// inside), where the GCJ-02 and BD-09 offsets apply. It also reports true
// for a point with a NaN coordinate, so that such points pass through the
// conversions unchanged instead of being iterated on.
func OutOfChina(p orb.Point) bool {
	// Written as the negation of "inside" so that any comparison with NaN,
	// which is false, makes the point count as outside.
	return !(p[0] >= minLon && p[0] <= maxLon && p[1] >= minLat && p[1] <= maxLat)
}

// Krasovsky 1940 ellipsoid, on which the GCJ-02 offset is scaled to degrees.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323 // first eccentricity squared
)

// gcjOffset returns the GCJ-02 offset (dLon, dLat) in degrees to be added to
// the WGS-84 point (lon, lat). It is the formula of the open-source
// converters, without the out-of-China test.
func gcjOffset(lon, lat float64) (dLon, dLat float64) {
	x, y := lon-105.0, lat-35.0
	// Every product that is later added to or subtracted from, even in
	// another statement and even implicitly (the compiler rewrites 2*xPi as
	// xPi+xPi), is wrapped in float64() to forbid a fused multiply-add (see
	// the package documentation).
	xPi, yPi := float64(x*math.Pi), float64(y*math.Pi)
	sx := math.Sqrt(math.Abs(x))
	xy := float64(x * y)

	// Terms shared by both components, then the per-component sine series.
	d := float64(20.0*math.Sin(6.0*xPi)) + float64(20.0*math.Sin(2.0*xPi))
	tLat := d + (float64(20.0*math.Sin(yPi)) + float64(40.0*math.Sin(yPi/3.0)))
	tLon := d + (float64(20.0*math.Sin(xPi)) + float64(40.0*math.Sin(xPi/3.0)))
	tLat += float64(160.0*math.Sin(yPi/12.0)) + float64(320.0*math.Sin(yPi/30.0))
	tLon += float64(150.0*math.Sin(xPi/12.0)) + float64(300.0*math.Sin(xPi/30.0))
	tLat = float64(tLat * (2.0 / 3.0))
	tLon = float64(tLon * (2.0 / 3.0))
	tLat += -100.0 + float64(2.0*x) + float64(3.0*y) + float64(float64(0.2*y)*y) + float64(0.1*xy) + float64(0.2*sx)
	tLon += 300.0 + x + float64(2.0*y) + float64(float64(0.1*x)*x) + float64(0.1*xy) + float64(0.1*sx)

	// Scale from metres on the Krasovsky ellipsoid to degrees: the
	// meridional radius M for latitude and N·cos(lat) for longitude.
	radLat := lat / 180.0 * math.Pi
	s, c := math.Sincos(radLat)
	magic := 1 - float64(float64(krasovskyEE*s)*s)
	sqrtMagic := math.Sqrt(magic)
	// The divisor constants are computed at run time, as the reference
	// implementations do, rather than folded exactly by the compiler.
	a, ee := krasovskyA, krasovskyEE
	dLat = (tLat * 180.0) / ((a * (1 - ee)) / (magic * sqrtMagic) * math.Pi)
	dLon = (tLon * 180.0) / (a / sqrtMagic * c * math.Pi)
	return dLon, dLat
}

// WGS84ToGCJ02 converts a WGS-84 point to GCJ-02. Points outside China
// (see OutOfChina) are returned unchanged.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	dLon, dLat := gcjOffset(p[0], p[1])
	return orb.Point{p[0] + dLon, p[1] + dLat}
}

// Iteration limits for the inverse transforms. The tolerance is on the
// change of the estimate, in degrees. It is reached in 3 to 6 steps, or up
// to 9 right next to longitude 105°, where the GCJ-02 offset has a
// square-root cusp; the step limit only guards against non-termination.
const (
	inverseTol      = 1e-12
	inverseMaxSteps = 20
)

// GCJ02ToWGS84 converts a GCJ-02 point to WGS-84 by solving
// WGS84ToGCJ02(w) = p for w. Starting from w = p it repeats
// w ← w − (WGS84ToGCJ02(w) − p) until the step is below 1e-12°. This is a
// contraction because the offset changes by less than 1% of any change in
// position (except within about 1e-12° of longitude 105°, where a √|lon−105|
// term makes the iteration dither at that scale before it stops).
// The result reproduces p through WGS84ToGCJ02 to about 1e-12° (0.1 µm),
// unlike the one-step approximation p − offset(p), which is off by up to
// about 5 m. Points outside China (see OutOfChina) are returned unchanged.
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	return gcjToWGS84(p)
}

// gcjToWGS84 is GCJ02ToWGS84 without the rectangle test.
func gcjToWGS84(p orb.Point) orb.Point {
	lon, lat := p[0], p[1]
	for range inverseMaxSteps {
		dLon, dLat := gcjOffset(lon, lat)
		rLon := (lon + dLon) - p[0]
		rLat := (lat + dLat) - p[1]
		lon -= rLon
		lat -= rLat
		if math.Abs(rLon) <= inverseTol && math.Abs(rLat) <= inverseTol {
			break
		}
	}
	return orb.Point{lon, lat}
}

// pi is math.Pi as a float64 variable, so that xPi is computed with float64
// rounding after each operation, as in the reference implementations, and
// not folded exactly as a constant expression would be.
var pi = math.Pi

// xPi is the BD-09 angular frequency π·3000/180 in radians per degree.
var xPi = pi * 3000.0 / 180.0

// Constants of the BD-09 transform.
const (
	bdLonShift = 0.0065   // degrees added to longitude
	bdLatShift = 0.006    // degrees added to latitude
	bdRadius   = 0.00002  // amplitude of the radius perturbation
	bdAngle    = 0.000003 // amplitude of the angle perturbation, radians
)

// GCJ02ToBD09 converts a GCJ-02 point to BD-09 with Baidu's published
// formula. Points outside China (see OutOfChina) are returned unchanged.
func GCJ02ToBD09(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	return gcjToBD09(p)
}

// gcjToBD09 is GCJ02ToBD09 without the rectangle test.
func gcjToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(float64(x*x)+float64(y*y)) + float64(bdRadius*math.Sin(y*xPi))
	theta := math.Atan2(y, x) + float64(bdAngle*math.Cos(x*xPi))
	s, c := math.Sincos(theta)
	return orb.Point{float64(z*c) + bdLonShift, float64(z*s) + bdLatShift}
}

// bd09ToGCJ02Approx is the one-step inverse of GCJ02ToBD09 used by the
// open-source converters: the perturbations are evaluated at the shifted
// BD-09 point instead of at the unknown GCJ-02 point, an error of up to
// about 2e-6° (0.2 m). It has no out-of-China test.
func bd09ToGCJ02Approx(p orb.Point) orb.Point {
	x, y := p[0]-bdLonShift, p[1]-bdLatShift
	z := math.Sqrt(float64(x*x)+float64(y*y)) - float64(bdRadius*math.Sin(y*xPi))
	theta := math.Atan2(y, x) - float64(bdAngle*math.Cos(x*xPi))
	s, c := math.Sincos(theta)
	return orb.Point{float64(z * c), float64(z * s)}
}

// BD09ToGCJ02 converts a BD-09 point to GCJ-02. It starts from the one-step
// inverse used by the open-source converters and refines it by fixed-point
// iteration: since GCJ02ToBD09 maps g to the polar point with radius
// |g| + 0.00002·sin(g_lat·xπ) and angle ∠g + 0.000003·cos(g_lon·xπ), g is
// recomputed from the radius and angle of p − (0.0065, 0.006) minus the
// perturbations evaluated at the current g, until the change is below
// 1e-12°. Each step shrinks the error at least fortyfold. The result
// reproduces p through GCJ02ToBD09 to about 1e-12°; the one-step inverse
// alone is off by up to about 2e-6° (0.2 m). Points outside China (see
// OutOfChina) are returned unchanged.
func BD09ToGCJ02(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	return bdToGCJ02(p)
}

// bdToGCJ02 is BD09ToGCJ02 without the rectangle test.
func bdToGCJ02(p orb.Point) orb.Point {
	x, y := p[0]-bdLonShift, p[1]-bdLatShift
	r := math.Sqrt(float64(x*x) + float64(y*y))
	phi := math.Atan2(y, x)
	// The first pass, with the perturbations taken at (x, y), is the
	// converters' one-step formula.
	gLon, gLat := x, y
	for range inverseMaxSteps {
		z := r - float64(bdRadius*math.Sin(gLat*xPi))
		theta := phi - float64(bdAngle*math.Cos(gLon*xPi))
		s, c := math.Sincos(theta)
		nLon, nLat := float64(z*c), float64(z*s)
		done := math.Abs(nLon-gLon) <= inverseTol && math.Abs(nLat-gLat) <= inverseTol
		gLon, gLat = nLon, nLat
		if done {
			break
		}
	}
	return orb.Point{gLon, gLat}
}

// WGS84ToBD09 converts a WGS-84 point to BD-09, through GCJ-02. Points
// outside China (see OutOfChina) are returned unchanged. The rectangle test
// is made once, on p: an intermediate GCJ-02 point pushed just past the
// east or north edge still gets the BD-09 step.
func WGS84ToBD09(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	dLon, dLat := gcjOffset(p[0], p[1])
	return gcjToBD09(orb.Point{p[0] + dLon, p[1] + dLat})
}

// BD09ToWGS84 converts a BD-09 point to WGS-84, through GCJ-02, inverting
// both steps by iteration (see BD09ToGCJ02 and GCJ02ToWGS84). Points outside
// China (see OutOfChina) are returned unchanged. The rectangle test is made
// once, on p: an intermediate GCJ-02 point just past the west or south edge
// still has the GCJ-02 offset removed.
func BD09ToWGS84(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	return gcjToWGS84(bdToGCJ02(p))
}
