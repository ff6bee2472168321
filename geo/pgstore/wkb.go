package pgstore

import (
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom/encoding/wkb"

	"wangge/geo"
)

// Geometries cross to and from PostGIS as plain WKB (ST_GeomFromWKB with
// SRID 4326 in, ST_AsBinary out), through go-geom's encoding/wkb only,
// converted to and from orb by geo (geomconv.go). WKB carries float64
// coordinates as they are, so a geometry comes back bit for bit.

// decodeWKB reads a Polygon or MultiPolygon from WKB.
func decodeWKB(b []byte) (orb.MultiPolygon, error) {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	return geo.FromGeom(g)
}

// encodeWKB renders mp as little-endian WKB for ST_GeomFromWKB.
func encodeWKB(mp orb.MultiPolygon) ([]byte, error) {
	return wkb.Marshal(geo.ToGeomMultiPolygon(mp), wkb.NDR)
}

// encodeLineWKB renders ls as little-endian WKB for ST_GeomFromWKB.
func encodeLineWKB(ls orb.LineString) ([]byte, error) {
	return wkb.Marshal(geo.ToGeomLineString(ls), wkb.NDR)
}
