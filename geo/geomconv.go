package geo

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
)

// This file is the one place where geometries cross between go-geom (used by
// geo/pgstore for (E)WKB to and from PostGIS) and orb (used everywhere else).

// ToGeomMultiPolygon converts mp to a go-geom MultiPolygon with SRID 4326.
func ToGeomMultiPolygon(mp orb.MultiPolygon) *geom.MultiPolygon {
	coords := make([][][]geom.Coord, len(mp))
	for i, poly := range mp {
		coords[i] = make([][]geom.Coord, len(poly))
		for j, ring := range poly {
			rc := make([]geom.Coord, len(ring))
			for k, p := range ring {
				rc[k] = geom.Coord{p[0], p[1]}
			}
			coords[i][j] = rc
		}
	}
	g := geom.NewMultiPolygon(geom.XY).MustSetCoords(coords)
	return g.SetSRID(4326)
}

// ToGeomLineString converts ls to a go-geom LineString with SRID 4326.
func ToGeomLineString(ls orb.LineString) *geom.LineString {
	coords := make([]geom.Coord, len(ls))
	for i, p := range ls {
		coords[i] = geom.Coord{p[0], p[1]}
	}
	g := geom.NewLineString(geom.XY).MustSetCoords(coords)
	return g.SetSRID(4326)
}

// FromGeom converts a go-geom Polygon or MultiPolygon to an orb
// MultiPolygon, dropping any Z or M ordinates. Other types are an error.
func FromGeom(g geom.T) (orb.MultiPolygon, error) {
	switch g := g.(type) {
	case *geom.Polygon:
		return orb.MultiPolygon{polygonFromGeom(g)}, nil
	case *geom.MultiPolygon:
		mp := make(orb.MultiPolygon, g.NumPolygons())
		for i := range mp {
			mp[i] = polygonFromGeom(g.Polygon(i))
		}
		return mp, nil
	}
	return nil, fmt.Errorf("geometry %T: want Polygon or MultiPolygon", g)
}

func polygonFromGeom(p *geom.Polygon) orb.Polygon {
	poly := make(orb.Polygon, p.NumLinearRings())
	stride := p.Stride()
	for i := range poly {
		flat := p.LinearRing(i).FlatCoords()
		ring := make(orb.Ring, len(flat)/stride)
		for k := range ring {
			ring[k] = orb.Point{flat[k*stride], flat[k*stride+1]}
		}
		poly[i] = ring
	}
	return poly
}
