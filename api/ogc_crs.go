package api

import (
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"wangge/geo/featurejson"
)

// This file implements OGC API – Features, Part 2 (Coordinate Reference
// Systems by Reference): the crs, bbox-crs and filter-crs parameters and the
// Content-Crs header. Features are stored in CRS84 (WGS-84 lon/lat); the
// others are computed from it:
//
//   - EPSG:4326 (WGS-84) and EPSG:4490 (CGCS2000) have the same numbers as
//     CRS84 — CGCS2000 and WGS-84 agree to centimetres, which the grids'
//     own accuracy does not reach — but their EPSG definitions put latitude
//     first, and Part 2 says coordinates follow the CRS's axis order. So
//     crs=…/EPSG/0/4490 answers [lat, lon], as GDAL does for EPSG:4490 and
//     4326 when it honours the authority's axis order. CRS84 is lon, lat.
//   - EPSG:3857 (Web Mercator) is easting, northing in metres on the sphere
//     of radius 6378137 m.

// ogcCRS is a coordinate reference system /ogc answers in.
type ogcCRS int

const (
	crsCRS84 ogcCRS = iota
	crs4326
	crs4490
	crs3857
)

// ogcCRSURIs are the CRS identifiers, in the order collections list them.
var ogcCRSURIs = [...]string{
	crsCRS84: ogcCRS84,
	crs4326:  "http://www.opengis.net/def/crs/EPSG/0/4326",
	crs4490:  "http://www.opengis.net/def/crs/EPSG/0/4490",
	crs3857:  "http://www.opengis.net/def/crs/EPSG/0/3857",
}

// ogcCRSList is the crs list of every collection with geometry.
var ogcCRSList = ogcCRSURIs[:]

func (c ogcCRS) String() string { return ogcCRSURIs[c] }

// parseOGCCRS reads a CRS parameter: the URI, or its short forms
// (EPSG:4490, [EPSG:4490], CRS84, OGC:CRS84).
func parseOGCCRS(param, raw string) (ogcCRS, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(raw), "["), "]")
	s = strings.Replace(s, "https://", "http://", 1)
	for c, uri := range ogcCRSURIs {
		short := uri[strings.LastIndex(uri, "/")+1:]
		if strings.HasPrefix(uri, "http://www.opengis.net/def/crs/EPSG/") {
			short = "EPSG:" + short
		}
		if s == uri || strings.EqualFold(s, short) || strings.EqualFold(s, "OGC:"+short) {
			return ogcCRS(c), nil
		}
	}
	return 0, badParam(param, "got %q, want one of %s (or EPSG:4490, EPSG:4326, EPSG:3857, CRS84); "+
		"for GCJ-02 or BD-09 use /v1/grids?crs=gcj02|bd09", truncate(raw), strings.Join(ogcCRSList, ", "))
}

// Web Mercator: the sphere's radius and the latitude where its square world
// ends.
const (
	mercatorR      = 6378137.0
	mercatorMaxLat = 85.05112877980659
	// mercatorHalfWorld is x at the antimeridian, and y at mercatorMaxLat.
	mercatorHalfWorld = math.Pi * mercatorR
)

// fromCRS84 returns p (lon, lat) in c, in c's axis order.
func (c ogcCRS) fromCRS84(p orb.Point) orb.Point {
	switch c {
	case crs4326, crs4490:
		return orb.Point{p[1], p[0]}
	case crs3857:
		lat := math.Max(-mercatorMaxLat, math.Min(mercatorMaxLat, p[1]))
		return orb.Point{mercatorR * p[0] * math.Pi / 180, mercatorR * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))}
	}
	return p
}

// toCRS84 returns p, given in c, as lon, lat.
func (c ogcCRS) toCRS84(p orb.Point) orb.Point {
	switch c {
	case crs4326, crs4490:
		return orb.Point{p[1], p[0]}
	case crs3857:
		return orb.Point{p[0] / mercatorR * 180 / math.Pi, (2*math.Atan(math.Exp(p[1]/mercatorR)) - math.Pi/2) * 180 / math.Pi}
	}
	return p
}

// geometryIn returns g (CRS84) in c; g itself for CRS84.
func (c ogcCRS) geometryIn(g orb.Geometry) orb.Geometry {
	if c == crsCRS84 || g == nil {
		return g
	}
	return project.Geometry(orb.Clone(g), c.fromCRS84)
}

// geometryToCRS84 returns g, given in c, in CRS84, or an error when a
// position is outside c's valid area.
func (c ogcCRS) geometryToCRS84(param string, g orb.Geometry) (orb.Geometry, error) {
	if c != crsCRS84 {
		g = project.Geometry(orb.Clone(g), c.toCRS84)
	}
	var err error
	visitPoints(g, func(p orb.Point) {
		if err == nil && (math.IsNaN(p[0]) || math.IsNaN(p[1]) || p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90) {
			err = badParam(param, "a position lies outside %s's valid area (in CRS84 it would be %s, %s)", c,
				strconv.FormatFloat(p[0], 'g', 10, 64), strconv.FormatFloat(p[1], 'g', 10, 64))
		}
	})
	return g, err
}

// visitPoints calls f on every position of g.
func visitPoints(g orb.Geometry, f func(orb.Point)) {
	project.Geometry(orb.Clone(g), func(p orb.Point) orb.Point { f(p); return p })
}

// appendGeometry appends g, converted from CRS84 to c, as a GeoJSON
// geometry; nil is null. Coordinates are written exactly (shortest
// round-trip text).
func appendGeometry(b []byte, g orb.Geometry, c ogcCRS) []byte {
	switch g := c.geometryIn(g).(type) {
	case orb.MultiPolygon:
		return featurejson.AppendMultiPolygon(b, g, featurejson.Exact)
	case orb.Point:
		return featurejson.AppendPointGeometry(b, g, featurejson.Exact)
	}
	return append(b, "null"...)
}

// ogcBBoxIn reads a bbox's four numbers given in c (in c's axis order) as
// a CRS84 bound.
func ogcBBoxIn(raw string, c ogcCRS) (orb.Bound, error) {
	parts := strings.Split(raw, ",")
	if len(parts) == 6 {
		return orb.Bound{}, badParam("bbox", "got 6 numbers; heights are not supported, want 4")
	}
	if len(parts) != 4 {
		return orb.Bound{}, badParam("bbox", "got %d numbers, want 4 in %s's axis order", len(parts), c)
	}
	var n [4]float64
	for i, s := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return orb.Bound{}, badParam("bbox", "number %d: got %q, want a number", i+1, truncate(s))
		}
		n[i] = v
	}
	if n[0] > n[2] || n[1] > n[3] {
		return orb.Bound{}, badParam("bbox", "the lower corner (%g, %g) is above or right of the upper (%g, %g)", n[0], n[1], n[2], n[3])
	}
	if c == crs3857 && max(math.Abs(n[0]), math.Abs(n[1]), math.Abs(n[2]), math.Abs(n[3])) > mercatorHalfWorld*(1+1e-12) {
		return orb.Bound{}, badParam("bbox", "beyond Web Mercator's world (±%v m)", mercatorHalfWorld)
	}
	lo, hi := c.toCRS84(orb.Point{n[0], n[1]}), c.toCRS84(orb.Point{n[2], n[3]})
	b := orb.Bound{Min: orb.Point{math.Min(lo[0], hi[0]), math.Min(lo[1], hi[1])}, Max: orb.Point{math.Max(lo[0], hi[0]), math.Max(lo[1], hi[1])}}
	if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 {
		return orb.Bound{}, badParam("bbox", "the box lies outside %s's valid area", c)
	}
	return b, nil
}
