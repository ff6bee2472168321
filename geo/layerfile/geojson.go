package layerfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"wangge/geo/featurejson"
	"wangge/geo/jsonerr"
)

// readGeoJSON reads a FeatureCollection (or a single Feature). Geometries
// are decoded strictly (featurejson.DecodePolygonal); properties keep their
// order; a "crs" member (GeoJSON 2008, written by QGIS and GDAL) must name
// a geographic WGS 84 or CGCS2000 system.
func readGeoJSON(p *problems, data []byte) raw {
	return readGeoJSONAs(p, p.file, data)
}

func readGeoJSONAs(p *problems, where string, data []byte) raw {
	r := raw{format: GeoJSON, where: where}
	data = stripBOM(data)
	var top struct {
		Type     string            `json:"type"`
		CRS      json.RawMessage   `json:"crs"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		msg := jsonerr.Describe(data, err)
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset >= int64(len(data)) {
			msg += " (the file ends too early: truncated?)"
		}
		p.add(where, "%s", msg)
		return r
	}
	if len(top.CRS) > 0 && string(top.CRS) != "null" {
		checkGeoJSONCRS(p, where, top.CRS)
	}
	if len(top.Features) > p.lim.MaxFeatures {
		p.tooLarge(where, "MaxFeatures", "holds %d features, over %d", len(top.Features), p.lim.MaxFeatures)
		return r
	}
	switch top.Type {
	case "FeatureCollection":
	case "Feature":
		top.Features = []json.RawMessage{data}
	default:
		p.add(where, "type %q: want FeatureCollection (or Feature)", top.Type)
		return r
	}
	for i, raw := range top.Features {
		var f struct {
			Type       string          `json:"type"`
			Geometry   json.RawMessage `json:"geometry"`
			Properties json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			p.add(featureWhere(where, i, "", ""), "%s", jsonerr.Describe(raw, err))
			continue
		}
		if f.Type != "Feature" {
			p.add(featureWhere(where, i, "", ""), "type %q: want Feature", f.Type)
			continue
		}
		attrs, err := orderedProperties(f.Properties)
		if err != nil {
			p.add(featureWhere(where, i, "", ""), "properties: %s", err)
			continue
		}
		geom, reasons := featurejson.DecodePolygonal(f.Geometry)
		r.features = append(r.features, rawFeature{index: i, attrs: attrs, geom: geom, reasons: reasons})
	}
	return r
}

// orderedProperties reads a properties object keeping the order of its
// members. Strings are taken as they are, null as "", other values as
// their compact JSON text.
func orderedProperties(data json.RawMessage) ([]attr, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s", jsonerr.Describe(data, err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("got %s, want an object", jsonKind(tok))
	}
	var attrs []attr
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s", jsonerr.Describe(data, err))
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s", jsonerr.Describe(data, err))
		}
		attrs = append(attrs, attr{key, jsonText(v)})
	}
	return attrs, nil
}

func jsonText(v json.RawMessage) string {
	switch {
	case string(v) == "null":
		return ""
	case len(v) > 0 && v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case len(v) > 0 && (v[0] == '{' || v[0] == '['):
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			return b.String()
		}
	}
	return string(v)
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// checkGeoJSONCRS accepts the names of CRS84, EPSG:4326 and EPSG:4490 in
// the GeoJSON 2008 "crs" member and refuses any other.
func checkGeoJSONCRS(p *problems, where string, data json.RawMessage) {
	var c struct {
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &c); err != nil || c.Properties.Name == "" {
		return // a linked or odd crs object: RFC 7946 says WGS 84
	}
	name := strings.ToUpper(c.Properties.Name)
	for _, ok := range []string{"CRS84", "EPSG::4326", "EPSG:4326", "EPSG::4490", "EPSG:4490", "CRS:84"} {
		if strings.HasSuffix(name, ok) {
			return
		}
	}
	p.add(where, "crs %q: wangge reads longitude/latitude in WGS 84 or CGCS2000 (EPSG:4326, EPSG:4490) and does not reproject; export the layer in EPSG:4326", c.Properties.Name)
}
