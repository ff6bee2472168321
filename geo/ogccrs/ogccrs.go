// Package ogccrs is the coordinate reference systems OGC API – Features,
// Part 2 (Coordinate Reference Systems by Reference) answers in, and the
// conversions between them. Features are stored in CRS84 (WGS-84 lon/lat);
// the others are computed from it:
//
//   - EPSG:4326 (WGS-84) and EPSG:4490 (CGCS2000) have the same numbers as
//     CRS84 — CGCS2000 and WGS-84 agree to centimetres, which the grids'
//     own accuracy does not reach — but their EPSG definitions put latitude
//     first, and Part 2 says coordinates follow the CRS's axis order. So
//     EPSG:4490 is [lat, lon], as GDAL has it for EPSG:4490 and 4326 when
//     it honours the authority's axis order. CRS84 is lon, lat.
//   - EPSG:3857 (Web Mercator) is easting, northing in metres on the sphere
//     of radius 6378137 m.
//
// GCJ-02 and BD-09, the offsets of Chinese web maps, are geo/chinacrs's.
package ogccrs

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// CRS is a coordinate reference system of OGC API – Features.
type CRS int

// The CRSs, in the order collections list them.
const (
	CRS84 CRS = iota
	EPSG4326
	EPSG4490
	EPSG3857
)

// URIs are the CRS identifiers, in the order of the CRSs.
var URIs = [...]string{
	CRS84:    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
	EPSG4326: "http://www.opengis.net/def/crs/EPSG/0/4326",
	EPSG4490: "http://www.opengis.net/def/crs/EPSG/0/4490",
	EPSG3857: "http://www.opengis.net/def/crs/EPSG/0/3857",
}

// String is c's URI.
func (c CRS) String() string { return URIs[c] }

// Parse reads a CRS identifier: the URI (http or https), or its short forms
// (EPSG:4490, [EPSG:4490], CRS84, OGC:CRS84), case aside.
func Parse(raw string) (CRS, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(raw), "["), "]")
	s = strings.Replace(s, "https://", "http://", 1)
	for c, uri := range URIs {
		short := uri[strings.LastIndex(uri, "/")+1:]
		if strings.HasPrefix(uri, "http://www.opengis.net/def/crs/EPSG/") {
			short = "EPSG:" + short
		}
		if s == uri || strings.EqualFold(s, short) || strings.EqualFold(s, "OGC:"+short) {
			return CRS(c), true
		}
	}
	return 0, false
}

// Web Mercator: the sphere's radius and the latitude where its square world
// ends.
const (
	MercatorR      = 6378137.0
	MercatorMaxLat = 85.05112877980659
	// MercatorHalfWorld is x at the antimeridian, and y at MercatorMaxLat.
	MercatorHalfWorld = math.Pi * MercatorR
)

// FromCRS84 returns p (lon, lat) in c, in c's axis order. Web Mercator
// clamps latitudes beyond its square world to its edge.
func (c CRS) FromCRS84(p orb.Point) orb.Point {
	switch c {
	case EPSG4326, EPSG4490:
		return orb.Point{p[1], p[0]}
	case EPSG3857:
		lat := math.Max(-MercatorMaxLat, math.Min(MercatorMaxLat, p[1]))
		return orb.Point{MercatorR * p[0] * math.Pi / 180, MercatorR * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))}
	}
	return p
}

// ToCRS84 returns p, given in c, as lon, lat.
func (c CRS) ToCRS84(p orb.Point) orb.Point {
	switch c {
	case EPSG4326, EPSG4490:
		return orb.Point{p[1], p[0]}
	case EPSG3857:
		return orb.Point{p[0] / MercatorR * 180 / math.Pi, (2*math.Atan(math.Exp(p[1]/MercatorR)) - math.Pi/2) * 180 / math.Pi}
	}
	return p
}

// GeometryIn returns g (CRS84) in c: g itself for CRS84, else a copy.
func (c CRS) GeometryIn(g orb.Geometry) orb.Geometry {
	if c == CRS84 || g == nil {
		return g
	}
	return project.Geometry(orb.Clone(g), c.FromCRS84)
}

// GeometryToCRS84 returns g, given in c, in CRS84 (a copy unless c is
// CRS84). ok is false when a position falls outside lon/lat's range (or is
// not a number) once converted; bad is the first such position.
func (c CRS) GeometryToCRS84(g orb.Geometry) (out orb.Geometry, bad orb.Point, ok bool) {
	if c != CRS84 {
		g = project.Geometry(orb.Clone(g), c.ToCRS84)
	}
	ok = true
	project.Geometry(orb.Clone(g), func(p orb.Point) orb.Point {
		if ok && !InRange(p) {
			bad, ok = p, false
		}
		return p
	})
	return g, bad, ok
}

// InRange reports whether p is a lon, lat within ±180, ±90.
func InRange(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
}
