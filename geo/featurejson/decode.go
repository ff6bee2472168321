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

// DecodeGeometry reads a GeoJSON Point, LineString, MultiLineString, Polygon
// or MultiPolygon geometry object with the same strictness as
// DecodePolygonal: every position must have two numbers (a third, the
// altitude, is accepted and dropped) within the lon/lat ranges, a line must
// have at least two positions, and polygons get DecodePolygonal's checks.
// It returns an orb.Point, orb.LineString, orb.MultiLineString or
// orb.MultiPolygon (a Polygon comes back as a MultiPolygon of one). Each
// reason locates the defect by line and position index.
func DecodeGeometry(raw json.RawMessage) (orb.Geometry, []string) {
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
	switch obj.Type {
	case "Polygon", "MultiPolygon":
		mp, reasons := DecodePolygonal(raw)
		if len(reasons) > 0 {
			return nil, reasons
		}
		return mp, nil
	case "Point", "LineString", "MultiLineString":
	default:
		return nil, []string{fmt.Sprintf("geometry type %q: want Point, LineString, MultiLineString, Polygon or MultiPolygon", obj.Type)}
	}
	if len(obj.Coordinates) == 0 || string(obj.Coordinates) == "null" {
		return nil, []string{fmt.Sprintf("geometry of type %q has no coordinates", obj.Type)}
	}
	switch obj.Type {
	case "Point":
		var pos []float64
		if err := json.Unmarshal(obj.Coordinates, &pos); err != nil {
			return nil, []string{"Point coordinates: " + jsonerr.Describe(obj.Coordinates, err) + " (want [lon,lat])"}
		}
		p, reason := positionOf(pos, "position")
		if reason != "" {
			return nil, []string{reason}
		}
		return p, nil
	case "LineString":
		var line [][]float64
		if err := json.Unmarshal(obj.Coordinates, &line); err != nil {
			return nil, []string{"LineString coordinates: " + jsonerr.Describe(obj.Coordinates, err) + " (want [[lon,lat],...])"}
		}
		ls, reasons := lineOf(line, "")
		if len(reasons) > 0 {
			return nil, reasons
		}
		return ls, nil
	default: // MultiLineString
		var lines [][][]float64
		if err := json.Unmarshal(obj.Coordinates, &lines); err != nil {
			return nil, []string{"MultiLineString coordinates: " + jsonerr.Describe(obj.Coordinates, err) + " (want [[[lon,lat],...],...])"}
		}
		if len(lines) == 0 {
			return nil, []string{"MultiLineString has no lines"}
		}
		mls := make(orb.MultiLineString, len(lines))
		var reasons []string
		for i, line := range lines {
			ls, r := lineOf(line, fmt.Sprintf("line %d ", i))
			reasons = append(reasons, r...)
			mls[i] = ls
		}
		if len(reasons) > 0 {
			return nil, reasons
		}
		return mls, nil
	}
}

// lineOf converts the positions of one line, naming each wrong one.
func lineOf(line [][]float64, prefix string) (orb.LineString, []string) {
	if len(line) < 2 {
		return nil, []string{fmt.Sprintf("%shas %d positions: want at least 2", prefixOr(prefix, "line "), len(line))}
	}
	var reasons []string
	ls := make(orb.LineString, len(line))
	for k, pos := range line {
		p, reason := positionOf(pos, fmt.Sprintf("%sposition %d", prefix, k))
		if reason != "" {
			reasons = append(reasons, reason)
		}
		ls[k] = p
	}
	return ls, reasons
}

// positionOf converts one position, checking its length and ranges.
func positionOf(pos []float64, where string) (orb.Point, string) {
	if len(pos) < 2 || len(pos) > 3 {
		return orb.Point{}, fmt.Sprintf("%s: got %d numbers, want [lon,lat] or [lon,lat,alt]", where, len(pos))
	}
	if msg := geo.CheckLonLat(pos[0], pos[1]); msg != nil {
		return orb.Point{}, where + ": " + msg.String()
	}
	return orb.Point{pos[0], pos[1]}, ""
}

func prefixOr(prefix, def string) string {
	if prefix == "" {
		return def
	}
	return prefix
}
