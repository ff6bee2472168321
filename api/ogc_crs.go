package api

import (
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo/featurejson"
	"wangge/geo/ogccrs"
)

// This file reads the crs, bbox-crs and filter-crs parameters of OGC API –
// Features, Part 2, and writes geometries in the CRS asked for; the CRSs
// and the conversions are geo/ogccrs's.

// ogcCRS is a coordinate reference system /ogc answers in.
type ogcCRS = ogccrs.CRS

const (
	crsCRS84 = ogccrs.CRS84
	crs3857  = ogccrs.EPSG3857
)

// ogcCRSList is the crs list of every collection with geometry.
var ogcCRSList = ogccrs.URIs[:]

// parseOGCCRS reads a CRS parameter: the URI, or its short forms
// (EPSG:4490, [EPSG:4490], CRS84, OGC:CRS84).
func parseOGCCRS(param, raw string) (ogcCRS, error) {
	if c, ok := ogccrs.Parse(raw); ok {
		return c, nil
	}
	return 0, badParam(param, "got %q, want one of %s (or EPSG:4490, EPSG:4326, EPSG:3857, CRS84); "+
		"for GCJ-02 or BD-09 use /v1/grids?crs=gcj02|bd09", truncate(raw), strings.Join(ogcCRSList, ", "))
}

// geometryToCRS84 returns g, given in c, in CRS84, or the 400 of param
// when a position is outside c's valid area.
func geometryToCRS84(param string, g orb.Geometry, c ogcCRS) (orb.Geometry, error) {
	g, bad, ok := c.GeometryToCRS84(g)
	if !ok {
		return nil, badParam(param, "a position lies outside %s's valid area (in CRS84 it would be %s, %s)", c,
			strconv.FormatFloat(bad[0], 'g', 10, 64), strconv.FormatFloat(bad[1], 'g', 10, 64))
	}
	return g, nil
}

// appendGeometry appends g, converted from CRS84 to c, as a GeoJSON
// geometry; nil is null. Coordinates are written exactly (shortest
// round-trip text).
func appendGeometry(b []byte, g orb.Geometry, c ogcCRS) []byte {
	switch g := c.GeometryIn(g).(type) {
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
	if c == crs3857 && max(math.Abs(n[0]), math.Abs(n[1]), math.Abs(n[2]), math.Abs(n[3])) > ogccrs.MercatorHalfWorld*(1+1e-12) {
		return orb.Bound{}, badParam("bbox", "beyond Web Mercator's world (±%v m)", ogccrs.MercatorHalfWorld)
	}
	lo, hi := c.ToCRS84(orb.Point{n[0], n[1]}), c.ToCRS84(orb.Point{n[2], n[3]})
	b := orb.Bound{Min: orb.Point{math.Min(lo[0], hi[0]), math.Min(lo[1], hi[1])}, Max: orb.Point{math.Max(lo[0], hi[0]), math.Max(lo[1], hi[1])}}
	if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 {
		return orb.Bound{}, badParam("bbox", "the box lies outside %s's valid area", c)
	}
	return b, nil
}
