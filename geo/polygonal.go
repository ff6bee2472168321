package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Polygonal checks that g is a Polygon or MultiPolygon fit to be stored as a
// grid, village or town outline, and returns it as a MultiPolygon. It checks
// what can be checked without a geometry engine: every coordinate finite and
// within lon -180..180, lat -90..90; every ring closed with at least four
// positions (as RFC 7946 requires). OGC validity (self-intersection, holes
// outside shells) is PostGIS's job (ST_IsValid), done when the data is
// written. Each returned reason says what is wrong and where in the geometry.
func Polygonal(g orb.Geometry) (orb.MultiPolygon, []string) {
	var mp orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		mp = g
	case nil:
		return nil, []string{"geometry is missing (null)"}
	default:
		return nil, []string{fmt.Sprintf("geometry type %s: want Polygon or MultiPolygon", g.GeoJSONType())}
	}
	var reasons []string
	if len(mp) == 0 {
		return nil, []string{"geometry is empty"}
	}
	for i, poly := range mp {
		if len(poly) == 0 {
			reasons = append(reasons, fmt.Sprintf("polygon %d has no rings", i))
		}
		for j, ring := range poly {
			where := fmt.Sprintf("polygon %d ring %d", i, j)
			if len(mp) == 1 {
				where = fmt.Sprintf("ring %d", j)
			}
			if r := checkRing(ring); r != "" {
				reasons = append(reasons, where+": "+r)
			}
		}
	}
	if len(reasons) > 0 {
		return nil, reasons
	}
	return mp, nil
}

func checkRing(ring orb.Ring) string {
	for k, p := range ring {
		if prob := CheckLonLat(p[0], p[1]); prob != nil {
			return fmt.Sprintf("position %d: %s", k, prob)
		}
	}
	if len(ring) < 4 {
		return fmt.Sprintf("has %d positions: want at least 4 (a closed ring of 3 distinct points)", len(ring))
	}
	if ring[0] != ring[len(ring)-1] {
		return fmt.Sprintf("is not closed: first position %v differs from last %v", ring[0], ring[len(ring)-1])
	}
	return ""
}

// CheckLonLat returns nil when lon, lat are finite and within range, and
// otherwise the problem, located at the wrong coordinate ("lon" or "lat").
func CheckLonLat(lon, lat float64) *Problem {
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return &Problem{Where: "lon", Reason: fmt.Sprintf("got %v, want a finite number", lon)}
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return &Problem{Where: "lat", Reason: fmt.Sprintf("got %v, want a finite number", lat)}
	case lon < -180 || lon > 180:
		return &Problem{Where: "lon", Reason: fmt.Sprintf("got %v, want -180..180", lon)}
	case lat < -90 || lat > 90:
		return &Problem{Where: "lat", Reason: fmt.Sprintf("got %v, want -90..90", lat)}
	}
	return nil
}
