package cql2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// This file reads the JSON encoding (cql2-json).

// jsonParser counts nodes and depth while it walks one filter.
type jsonParser struct {
	depth, nodes int
}

// ParseJSON reads a filter in the JSON encoding.
func ParseJSON(data []byte) (*Node, error) {
	if !utf8.Valid(data) {
		return nil, errorf(-1, "the filter is not valid UTF-8")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, errorf(-1, "the filter is not JSON: %v", err)
	}
	p := &jsonParser{}
	return p.expr(json.RawMessage(bytes.TrimSpace(data)), "filter")
}

func (p *jsonParser) enter(where string) error {
	p.depth++
	p.nodes++
	if p.depth > MaxDepth {
		return errorf(-1, "%s: the filter nests deeper than %d levels", where, MaxDepth)
	}
	if p.nodes > MaxNodes {
		return errorf(-1, "%s: the filter has more than %d terms", where, MaxNodes)
	}
	return nil
}

// expr reads one expression at where (a JSON path for messages).
func (p *jsonParser) expr(raw json.RawMessage, where string) (*Node, error) {
	if err := p.enter(where); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errorf(-1, "%s: empty", where)
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errorf(-1, "%s: %v", where, err)
		}
		return Lit(Str(s)), nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, errorf(-1, "%s: %v", where, err)
		}
		return Lit(Bool(b)), nil
	case 'n':
		return Lit(nullValue()), nil
	case '[':
		return nil, errorf(-1, "%s: an array is only allowed as the list of \"in\"", where)
	case '{':
	default:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, errorf(-1, "%s: %s is not a number", where, clip(string(raw)))
		}
		return Lit(Num(f)), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errorf(-1, "%s: %v", where, err)
	}
	if op, ok := obj["op"]; ok {
		return p.call(obj, op, where)
	}
	if name, ok := obj["property"]; ok {
		var s string
		if err := json.Unmarshal(name, &s); err != nil || len(obj) != 1 {
			return nil, errorf(-1, "%s: want {\"property\": \"name\"}", where)
		}
		return Prop(s), nil
	}
	if len(obj) == 1 {
		for _, k := range []string{"timestamp", "date"} {
			if v, ok := obj[k]; ok {
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					return nil, errorf(-1, "%s.%s: want a string", where, k)
				}
				val, err := temporalLiteral(strings.ToUpper(k), s)
				if err != nil {
					return nil, errorf(-1, "%s: %s", where, err.(*Error).Msg)
				}
				return Lit(val), nil
			}
		}
		if v, ok := obj["interval"]; ok {
			var ends []json.RawMessage
			if err := json.Unmarshal(v, &ends); err != nil || len(ends) != 2 {
				return nil, errorf(-1, "%s.interval: want an array of two ends", where)
			}
			if bytes.Contains(ends[0], []byte(`"property"`)) || bytes.Contains(ends[1], []byte(`"property"`)) {
				n := &Node{Op: "interval"}
				for k, e := range ends {
					m, err := p.expr(e, fmt.Sprintf("%s.interval[%d]", where, k))
					if err != nil {
						return nil, err
					}
					n.Args = append(n.Args, m)
				}
				return n, nil
			}
			var vals [2]Value
			for k, e := range ends {
				var s string
				if err := json.Unmarshal(e, &s); err == nil {
					if s == ".." {
						vals[k] = nullValue()
						continue
					}
					if vals[k], err = instantLiteral(s); err != nil {
						return nil, errorf(-1, "%s.interval[%d]: %s", where, k, err.(*Error).Msg)
					}
					continue
				}
				var t map[string]string
				if err := json.Unmarshal(e, &t); err == nil && len(t) == 1 && (t["date"] != "" || t["timestamp"] != "") {
					if vals[k], err = instantLiteral(t["date"] + t["timestamp"]); err == nil {
						continue
					}
				}
				return nil, errorf(-1, "%s.interval[%d]: want a date, a timestamp or \"..\"", where, k)
			}
			val, err := makeInterval(vals[0], vals[1])
			if err != nil {
				return nil, errorf(-1, "%s: %s", where, err.(*Error).Msg)
			}
			return Lit(val), nil
		}
		if v, ok := obj["bbox"]; ok {
			var nums []float64
			if err := json.Unmarshal(v, &nums); err != nil {
				return nil, errorf(-1, "%s.bbox: want an array of 4 numbers", where)
			}
			g, err := bboxGeometry(nums)
			if err != nil {
				return nil, errorf(-1, "%s: %s", where, err.(*Error).Msg)
			}
			return Lit(GeomValue(g)), nil
		}
	}
	if _, ok := obj["type"]; ok {
		g, err := p.geometry(raw, where)
		if err != nil {
			return nil, err
		}
		return Lit(GeomValue(g)), nil
	}
	return nil, errorf(-1, "%s: want an object with \"op\", \"property\", \"timestamp\", \"date\", \"interval\", \"bbox\" or a GeoJSON geometry", where)
}

// call reads {"op": ..., "args": [...]}.
func (p *jsonParser) call(obj map[string]json.RawMessage, rawOp json.RawMessage, where string) (*Node, error) {
	var op string
	if err := json.Unmarshal(rawOp, &op); err != nil {
		return nil, errorf(-1, "%s.op: want a string", where)
	}
	for k := range obj {
		if k != "op" && k != "args" {
			return nil, errorf(-1, "%s: unknown member %q (an operation has \"op\" and \"args\")", where, clip(k))
		}
	}
	var args []json.RawMessage
	if raw, ok := obj["args"]; ok {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, errorf(-1, "%s.args: want an array", where)
		}
	}
	lower := strings.ToLower(op)
	n := &Node{Op: lower}
	switch {
	case lower == "isnull":
		n.Op = "isNull"
	case lower == "and" || lower == "or" || lower == "not" || comparisons[op] || lower == "like" || lower == "between" ||
		lower == "in" || lower == "casei" || spatialOps[lower] || temporalOps[lower]:
	case otherSpatialOps[lower]:
		return nil, errorf(-1, "%s: %s is not supported: the spatial functions are s_intersects and s_disjoint", where, op)
	case unsupported[lower] != "":
		return nil, errorf(-1, "%s: %s is not supported (%s)", where, op, unsupported[lower])
	default:
		return nil, errorf(-1, "%s: unknown operator %q", where, clip(op))
	}
	want := map[string]int{"not": 1, "isNull": 1, "casei": 1, "like": 2, "between": 3, "in": 2}[n.Op]
	switch {
	case n.Op == "and" || n.Op == "or":
		if len(args) < 2 {
			return nil, errorf(-1, "%s: %s needs two arguments or more, got %d", where, op, len(args))
		}
	case comparisons[n.Op] || spatialOps[n.Op] || temporalOps[n.Op]:
		want = 2
		fallthrough
	default:
		if len(args) != want {
			return nil, errorf(-1, "%s: %s needs %d argument(s), got %d", where, op, want, len(args))
		}
	}
	for i, a := range args {
		at := fmt.Sprintf("%s.args[%d]", where, i)
		if n.Op == "in" && i == 1 {
			var list []json.RawMessage
			if err := json.Unmarshal(a, &list); err != nil || len(list) == 0 {
				return nil, errorf(-1, "%s: want a non-empty array of values", at)
			}
			for k, item := range list {
				m, err := p.expr(item, fmt.Sprintf("%s[%d]", at, k))
				if err != nil {
					return nil, err
				}
				n.Args = append(n.Args, m)
			}
			continue
		}
		m, err := p.expr(a, at)
		if err != nil {
			return nil, err
		}
		n.Args = append(n.Args, m)
	}
	return n, nil
}

// geometry reads a GeoJSON geometry object of any type. Positions are two
// numbers (a third is dropped); values are not range-checked here, since
// filter-crs may be projected.
func (p *jsonParser) geometry(raw json.RawMessage, where string) (orb.Geometry, error) {
	var obj struct {
		Type        string            `json:"type"`
		Coordinates json.RawMessage   `json:"coordinates"`
		Geometries  []json.RawMessage `json:"geometries"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errorf(-1, "%s: %v", where, err)
	}
	bad := func(shape string) error {
		return errorf(-1, "%s: %s coordinates: want %s", where, obj.Type, shape)
	}
	switch obj.Type {
	case "Point":
		var c []float64
		if json.Unmarshal(obj.Coordinates, &c) != nil || len(c) < 2 || len(c) > 3 {
			return nil, bad("[x, y]")
		}
		return orb.Point{c[0], c[1]}, nil
	case "MultiPoint", "LineString":
		var c [][]float64
		if json.Unmarshal(obj.Coordinates, &c) != nil || len(c) == 0 {
			return nil, bad("[[x, y], ...]")
		}
		pts, ok := points(c)
		if !ok || obj.Type == "LineString" && len(pts) < 2 {
			return nil, bad("[[x, y], ...] with two positions or more")
		}
		if obj.Type == "LineString" {
			return orb.LineString(pts), nil
		}
		return orb.MultiPoint(pts), nil
	case "MultiLineString", "Polygon":
		var c [][][]float64
		if json.Unmarshal(obj.Coordinates, &c) != nil || len(c) == 0 {
			return nil, bad("[[[x, y], ...], ...]")
		}
		if obj.Type == "Polygon" {
			poly, err := polygonOf(c)
			if err != nil {
				return nil, errorf(-1, "%s: %s", where, err.(*Error).Msg)
			}
			return poly, nil
		}
		var ml orb.MultiLineString
		for _, line := range c {
			pts, ok := points(line)
			if !ok || len(pts) < 2 {
				return nil, bad("lines of two positions or more")
			}
			ml = append(ml, orb.LineString(pts))
		}
		return ml, nil
	case "MultiPolygon":
		var c [][][][]float64
		if json.Unmarshal(obj.Coordinates, &c) != nil || len(c) == 0 {
			return nil, bad("[[[[x, y], ...], ...], ...]")
		}
		var mp orb.MultiPolygon
		for _, rings := range c {
			poly, err := polygonOf(rings)
			if err != nil {
				return nil, errorf(-1, "%s: %s", where, err.(*Error).Msg)
			}
			mp = append(mp, poly)
		}
		return mp, nil
	case "GeometryCollection":
		var gc orb.Collection
		for i, m := range obj.Geometries {
			if err := p.enter(where); err != nil {
				return nil, err
			}
			g, err := p.geometry(m, fmt.Sprintf("%s.geometries[%d]", where, i))
			p.depth--
			if err != nil {
				return nil, err
			}
			gc = append(gc, g)
		}
		return gc, nil
	}
	return nil, errorf(-1, "%s: unknown geometry type %q", where, clip(obj.Type))
}

func points(c [][]float64) ([]orb.Point, bool) {
	out := make([]orb.Point, len(c))
	for i, pos := range c {
		if len(pos) < 2 || len(pos) > 3 {
			return nil, false
		}
		out[i] = orb.Point{pos[0], pos[1]}
	}
	return out, true
}

func polygonOf(rings [][][]float64) (orb.Polygon, error) {
	var poly orb.Polygon
	for _, r := range rings {
		pts, ok := points(r)
		if !ok {
			return nil, errorf(-1, "a ring has a position without two numbers")
		}
		if err := checkRing(pts); err != nil {
			return nil, err
		}
		poly = append(poly, orb.Ring(pts))
	}
	return poly, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 60 {
		return s
	}
	for i := 60; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}
