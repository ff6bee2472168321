package featurejson

import (
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/jsonerr"
)

// DecodePolygonal reads a GeoJSON Polygon or MultiPolygon geometry object
// strictly: every position must have two numbers (a third, the altitude, is
// accepted and dropped), and then geo.Polygonal's checks apply (ranges,
// closed rings). General GeoJSON decoders fill a short position with zeros,
// which would silently move a vertex to longitude or latitude 0; this one
// says which position is wrong instead. Each reason locates the defect.
func DecodePolygonal(raw json.RawMessage) (orb.MultiPolygon, []string) {
	var obj struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, []string{"geometry is missing (null)"}
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, []string{"geometry: " + jsonerr.Describe(raw, err)}
	}
	if len(obj.Coordinates) == 0 {
		return nil, []string{fmt.Sprintf("geometry of type %q has no coordinates", obj.Type)}
	}
	var mp orb.MultiPolygon
	switch obj.Type {
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(obj.Coordinates, &rings); err != nil {
			return nil, []string{"Polygon coordinates: " + jsonerr.Describe(obj.Coordinates, err) + " (want [[[lon,lat],...],...])"}
		}
		poly, reasons := polygonOf(rings, "")
		if len(reasons) > 0 {
			return nil, reasons
		}
		mp = orb.MultiPolygon{poly}
	case "MultiPolygon":
		var polys [][][][]float64
		if err := json.Unmarshal(obj.Coordinates, &polys); err != nil {
			return nil, []string{"MultiPolygon coordinates: " + jsonerr.Describe(obj.Coordinates, err) + " (want [[[[lon,lat],...],...],...])"}
		}
		var reasons []string
		for i, rings := range polys {
			poly, r := polygonOf(rings, fmt.Sprintf("polygon %d ", i))
			reasons = append(reasons, r...)
			mp = append(mp, poly)
		}
		if len(reasons) > 0 {
			return nil, reasons
		}
	default:
		return nil, []string{fmt.Sprintf("geometry type %q: want Polygon or MultiPolygon", obj.Type)}
	}
	return geo.Polygonal(mp)
}

func polygonOf(rings [][][]float64, prefix string) (orb.Polygon, []string) {
	var reasons []string
	poly := make(orb.Polygon, len(rings))
	for j, ring := range rings {
		r := make(orb.Ring, len(ring))
		for k, pos := range ring {
			if len(pos) < 2 || len(pos) > 3 {
				reasons = append(reasons, fmt.Sprintf("%sring %d position %d: got %d numbers, want [lon,lat] or [lon,lat,alt]", prefix, j, k, len(pos)))
				continue
			}
			r[k] = orb.Point{pos[0], pos[1]}
		}
		poly[j] = r
	}
	return poly, reasons
}
