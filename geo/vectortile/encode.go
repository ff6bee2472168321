package vectortile

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/paulmach/orb/maptile"
)

// This file writes the MVT 2.1 protobuf (vector_tile.proto) by hand: the
// schema has five messages and the writer is shorter than the glue a
// generated one needs, allocates little, and its output is a function of
// the input alone (keys and values are numbered in order of first use).

// Field keys (field number << 3 | wire type) of vector_tile.proto. Wire
// type 0 (varint) adds nothing to the number shifted, so those keys are
// the shift alone.
const (
	keyTileLayers = 3<<3 | 2

	keyLayerName     = 1<<3 | 2
	keyLayerFeatures = 2<<3 | 2
	keyLayerKeys     = 3<<3 | 2
	keyLayerValues   = 4<<3 | 2
	keyLayerExtent   = 5 << 3
	keyLayerVersion  = 15 << 3

	keyFeatureID       = 1 << 3
	keyFeatureTags     = 2<<3 | 2
	keyFeatureType     = 3 << 3
	keyFeatureGeometry = 4<<3 | 2

	keyValueString = 1<<3 | 2
	keyValueDouble = 3<<3 | 1
	keyValueUint   = 5 << 3
	keyValueSint   = 6 << 3
	keyValueBool   = 7 << 3
)

// mvtVersion is the version of the specification the layers follow.
const mvtVersion = 2

// GeomType values of the features written.
const (
	typePoint   = 1
	typePolygon = 3
)

// Geometry commands (MVT 2.1 §4.3.2).
const (
	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

// encoder holds the state of one Encode call; its buffers and tables are
// reused across calls through a pool.
type encoder struct {
	f   frame
	s   scratch
	opt Options

	geom []uint32 // command integers of the current feature
	cx   int64    // cursor of the current feature's geometry
	cy   int64
	pb   []byte // a packed field's payload
	fb   []byte // the current feature's message
	lb   []byte // the current layer's message

	// keyAt[k] is the tile's index of the layer's key k plus one, or zero
	// when the tile does not use it yet; keys lists, in tile order, the
	// layer's indexes of the keys used. The same for values.
	keyAt, valueAt []uint32
	keys, values   []uint32
}

func newEncoder() *encoder { return &encoder{} }

func (e *encoder) reset(t maptile.Tile, opt Options) {
	e.f = newFrame(t, opt)
	e.opt = opt
}

// appendLayer appends l's features that reach the tile to out as a Layer
// message, or nothing when none does.
func (e *encoder) appendLayer(out []byte, l *Layer) []byte {
	e.lb = e.lb[:0]
	e.keyAt = resize(e.keyAt, len(l.keys))
	e.valueAt = resize(e.valueAt, len(l.values))
	e.keys, e.values = e.keys[:0], e.values[:0]
	e.lb = appendString(e.lb, keyLayerName, l.name)
	n := 0
	for i := range l.features {
		f := &l.features[i]
		if !f.box.intersects(e.f.box) || !e.geometry(f) {
			continue
		}
		e.fb = e.fb[:0]
		if f.id != 0 {
			e.fb = binary.AppendUvarint(append(e.fb, keyFeatureID), f.id)
		}
		if len(f.tags) > 0 {
			e.pb = e.pb[:0]
			for k := 0; k < len(f.tags); k += 2 {
				e.pb = binary.AppendUvarint(e.pb, uint64(local(e.keyAt, &e.keys, f.tags[k])))
				e.pb = binary.AppendUvarint(e.pb, uint64(local(e.valueAt, &e.values, f.tags[k+1])))
			}
			e.fb = appendBytes(e.fb, keyFeatureTags, e.pb)
		}
		if f.pts != nil {
			e.fb = append(e.fb, keyFeatureType, typePoint)
		} else {
			e.fb = append(e.fb, keyFeatureType, typePolygon)
		}
		e.pb = e.pb[:0]
		for _, c := range e.geom {
			e.pb = binary.AppendUvarint(e.pb, uint64(c))
		}
		e.fb = appendBytes(e.fb, keyFeatureGeometry, e.pb)
		e.lb = appendBytes(e.lb, keyLayerFeatures, e.fb)
		n++
	}
	for _, k := range e.keys {
		e.keyAt[k] = 0
		e.lb = appendString(e.lb, keyLayerKeys, l.keys[k])
	}
	for _, v := range e.values {
		e.valueAt[v] = 0
		e.lb = appendBytes(e.lb, keyLayerValues, l.values[v])
	}
	if n == 0 {
		return out
	}
	e.lb = binary.AppendUvarint(append(e.lb, keyLayerExtent), uint64(e.opt.Extent))
	e.lb = binary.AppendUvarint(append(e.lb, keyLayerVersion), mvtVersion)
	return appendBytes(out, keyTileLayers, e.lb)
}

// resize returns s with length n and every element zero, reusing its
// storage when it can. The encoder leaves its tables zeroed after each
// layer, so only new storage needs clearing.
func resize(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

// local returns the tile's index of the layer's key or value i, adding it
// to used if the tile has not used it yet.
func local(at []uint32, used *[]uint32, i uint32) uint32 {
	if at[i] == 0 {
		*used = append(*used, i)
		at[i] = uint32(len(*used))
	}
	return at[i] - 1
}

// geometry encodes f's polygons in the tile into e.geom and reports
// whether anything is left. Each exterior ring is followed by its holes;
// a polygon whose exterior ring vanishes is left out with its holes.
func (e *encoder) geometry(f *feature) bool {
	e.geom = e.geom[:0]
	e.cx, e.cy = 0, 0
	if f.pts != nil {
		return e.points(f.pts)
	}
	for _, poly := range f.polys {
		if len(poly) == 0 {
			continue
		}
		ext := e.f.ring(poly[0], &e.s)
		if ext == nil {
			continue
		}
		if area2(ext) < 0 {
			reverse(ext)
		}
		e.ring(ext)
		for _, hole := range poly[1:] {
			h := e.f.ring(hole, &e.s)
			if h == nil {
				continue
			}
			if area2(h) > 0 {
				reverse(h)
			}
			e.ring(h)
		}
	}
	return len(e.geom) > 0
}

// points encodes the points that snap into the buffered tile as one
// MoveTo with as many points, and reports whether any did.
func (e *encoder) points(pts []mpt) bool {
	e.geom = append(e.geom, 0) // the command, once the count is known
	n := 0
	for _, m := range pts {
		p := e.f.snap(m)
		if p.x < e.f.lo || p.x > e.f.hi || p.y < e.f.lo || p.y > e.f.hi {
			continue
		}
		e.point(p)
		n++
	}
	if n == 0 {
		e.geom = e.geom[:0]
		return false
	}
	e.geom[0] = command(cmdMoveTo, n)
	return true
}

// ring appends the commands of one ring: MoveTo its first point, LineTo
// the others, ClosePath.
func (e *encoder) ring(r []ipt) {
	e.geom = append(e.geom, command(cmdMoveTo, 1))
	e.point(r[0])
	e.geom = append(e.geom, command(cmdLineTo, len(r)-1))
	for _, p := range r[1:] {
		e.point(p)
	}
	e.geom = append(e.geom, command(cmdClosePath, 1))
}

// point appends p as a zigzag-encoded move from the cursor.
func (e *encoder) point(p ipt) {
	e.geom = append(e.geom, zigzag(p.x-e.cx), zigzag(p.y-e.cy))
	e.cx, e.cy = p.x, p.y
}

func command(id, count int) uint32 { return uint32(id&7) | uint32(count)<<3 }

// zigzag encodes a parameter integer (MVT 2.1 §4.3.2); clipped tile
// coordinates and their differences fit in 32 bits.
func zigzag(v int64) uint32 {
	w := int32(v)
	return uint32(w<<1) ^ uint32(w>>31)
}

// encodeValue returns the Value message of v, a normal value.
func encodeValue(v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(nil, keyValueString, v)
	case bool:
		if v {
			return []byte{keyValueBool, 1}
		}
		return []byte{keyValueBool, 0}
	case uint64:
		return binary.AppendUvarint([]byte{keyValueUint}, v)
	case int64:
		return binary.AppendUvarint([]byte{keyValueSint}, uint64(v<<1)^uint64(v>>63))
	case float64:
		return binary.LittleEndian.AppendUint64([]byte{keyValueDouble}, math.Float64bits(v))
	}
	panic(fmt.Sprintf("vectortile: value of type %T", v)) // normalValue lets no other type through
}

// normalValue maps a property value to the type it is written as:
// string, bool, uint64 (integers >= 0, written as uint_value), int64
// (negative integers, written as sint_value) or float64 (double_value),
// and nil for nil.
func normalValue(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, uint64:
		return v, nil
	case int:
		return normalInt(int64(v)), nil
	case int64:
		return normalInt(v), nil
	case float64:
		return v, nil
	}
	return nil, fmt.Errorf("value of type %T: want string, bool, int, int64, uint64 or float64", v)
}

func normalInt(v int64) any {
	if v >= 0 {
		return uint64(v)
	}
	return v
}

// appendBytes appends a length-delimited field.
func appendBytes(b []byte, key byte, payload []byte) []byte {
	b = binary.AppendUvarint(append(b, key), uint64(len(payload)))
	return append(b, payload...)
}

// appendString appends a string field.
func appendString(b []byte, key byte, s string) []byte {
	b = binary.AppendUvarint(append(b, key), uint64(len(s)))
	return append(b, s...)
}
