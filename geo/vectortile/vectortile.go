// Package vectortile encodes layers of polygons (and of points) as Mapbox
// Vector Tiles (MVT 2.1) in the Web Mercator tiling scheme: EPSG:3857,
// tiles addressed z/x/y with y growing southwards, as MapLibre, Leaflet
// and QGIS expect. Input is lon/lat; nothing here knows GCJ-02 or BD-09
// (a caller that wants GCJ-02 tiles shifts the coordinates first). A point
// is snapped to the tile grid as a vertex is, and kept when it lands in
// the tile grown by the buffer.
//
// A tile is made in three steps, each of which keeps an edge shared by two
// polygons shared in the tile, so that neighbouring polygons never show a
// crack between them at any zoom:
//
//  1. Every vertex is projected to Web Mercator and snapped to the integer
//     grid of the tile (Extent units along a side). The result depends on
//     the vertex alone: equal vertices give equal tile points, in this tile
//     and, shifted by a whole number of tiles, in every tile of the zoom.
//  2. Rings are clipped to the tile grown by Buffer units on each side
//     (Sutherland–Hodgman, one side at a time). Where an edge crosses a
//     side, the crossing is computed from the edge's endpoints taken in a
//     canonical order (the lexicographically smaller first), so an edge
//     shared by two polygons crosses at the same point for both.
//  3. Consecutive duplicate points and exactly collinear points (integer
//     cross product zero, spikes included) are dropped, and a ring left
//     without area is dropped with, for an exterior ring, its holes.
//
// There is no other simplification: snapping to the grid is what thins
// the vertices at low zooms, and it treats both sides of a shared edge
// alike. Line simplification (Douglas–Peucker and kin) would not: it
// simplifies each ring on its own and opens cracks.
//
// Exterior rings are written with positive area by the surveyor's formula
// in tile coordinates (clockwise on screen, y down) and holes with negative
// area, as MVT 2.1 §4.3.4.4 requires, whatever the input's winding. Where
// a polygon leaves the tile, the clipped ring runs along the buffered
// rectangle's sides; those runs lie in the buffer, outside the drawn tile.
package vectortile

import (
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// DefaultExtent is the number of integer units along a tile side, as in
// MVT 2.1's examples and PostGIS's ST_AsMVTGeom.
const DefaultExtent = 4096

// DefaultBuffer is how many units past each tile edge geometry is kept
// by default: enough that a stroke of a few pixels drawn along a polygon
// edge does not end at the tile seam.
const DefaultBuffer = 64

// MaxZoom is the largest zoom Encode accepts; tile coordinates then still
// fit in an int64 with room to spare.
const MaxZoom = 30

// Options are the tile's resolution and buffer.
type Options struct {
	// Extent is the number of integer units along a tile side, 1..65536;
	// 0 means DefaultExtent.
	Extent uint32
	// Buffer is how many units past each tile edge geometry is kept,
	// 0..Extent. Zero keeps nothing past the edges.
	Buffer uint32
}

// DefaultOptions returns Extent 4096 and Buffer 64.
func DefaultOptions() Options { return Options{Extent: DefaultExtent, Buffer: DefaultBuffer} }

// Property is one attribute of a feature. Value is a string, bool, int,
// int64, uint64 or float64; a nil Value leaves the attribute out of the
// tile (MVT has no null).
type Property struct {
	Key   string
	Value any
}

// Feature is one feature of a layer, in lon/lat: polygonal, or a point
// feature when Points is set.
type Feature struct {
	// ID is the feature's id in the tile. Zero means no id (MVT ids are
	// optional and unsigned).
	ID uint64
	// Geometry is the feature's area: rings closed or not, any winding
	// (exterior rings come first in each polygon, then its holes).
	Geometry orb.MultiPolygon
	// Points makes the feature a POINT (or, with several, MULTIPOINT)
	// feature; Geometry must then be empty. A point is in a tile when it
	// snaps into the tile grown by the buffer.
	Points     orb.MultiPoint
	Properties []Property
}

// Layer is a named list of features, checked, projected and indexed once
// by NewLayer and then encoded into any number of tiles. It is immutable
// and safe for concurrent use.
type Layer struct {
	name     string
	features []feature
	// keys and values are the layer's distinct property keys and values
	// (values as encoded Value messages); a tile holds those its features
	// use.
	keys   []string
	values [][]byte
}

// feature is a Feature prepared for encoding.
type feature struct {
	id uint64
	// tags are pairs of indexes into the layer's keys and values.
	tags []uint32
	// polys holds the polygons' rings in Web Mercator unit coordinates
	// (see mercator), without closing points.
	polys [][][]mpt
	// pts are the points of a point feature, in Web Mercator unit
	// coordinates; nil for a polygonal one.
	pts []mpt
	// box is the bounding box of polys or pts.
	box box
}

// mpt is a point in Web Mercator unit coordinates.
type mpt struct{ x, y float64 }

// box is an axis-aligned box in Web Mercator unit coordinates.
type box struct{ minX, minY, maxX, maxY float64 }

func (b box) intersects(o box) bool {
	return b.minX <= o.maxX && o.minX <= b.maxX && b.minY <= o.maxY && o.minY <= b.maxY
}

// NewLayer checks features and returns them as a layer called name. It
// fails if name is empty, a coordinate is not a finite lon/lat (lon
// -180..180, lat -90..90), or a property value has a type MVT cannot hold.
// Features without any ring are kept and never appear in a tile. The
// layer keeps no reference to features.
func NewLayer(name string, features []Feature) (*Layer, error) {
	if name == "" {
		return nil, fmt.Errorf("vectortile: layer name is empty")
	}
	l := &Layer{name: name, features: make([]feature, len(features))}
	n := 0
	for _, f := range features {
		for _, poly := range f.Geometry {
			for _, ring := range poly {
				n += len(ring)
			}
		}
	}
	pts := make([]mpt, 0, n) // one backing array for every ring
	keyAt, valueAt := map[string]uint32{}, map[any]uint32{}
	for i, f := range features {
		lf := &l.features[i]
		lf.id = f.ID
		lf.box = box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		if len(f.Points) > 0 && len(f.Geometry) > 0 {
			return nil, fmt.Errorf("vectortile: layer %s feature %d: both points and polygons: want one kind", name, i)
		}
		for _, p := range f.Points {
			if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
				return nil, fmt.Errorf("vectortile: layer %s feature %d: coordinate %v: want lon -180..180, lat -90..90", name, i, p)
			}
			x, y := mercator(p)
			lf.pts = append(lf.pts, mpt{x, y})
			lf.box = box{min(lf.box.minX, x), min(lf.box.minY, y), max(lf.box.maxX, x), max(lf.box.maxY, y)}
		}
		for _, poly := range f.Geometry {
			rings := make([][]mpt, 0, len(poly))
			for _, ring := range poly {
				if k := len(ring); k > 1 && ring[0] == ring[k-1] {
					ring = ring[:k-1]
				}
				start := len(pts)
				for _, p := range ring {
					if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
						return nil, fmt.Errorf("vectortile: layer %s feature %d: coordinate %v: want lon -180..180, lat -90..90", name, i, p)
					}
					x, y := mercator(p)
					pts = append(pts, mpt{x, y})
					lf.box = box{min(lf.box.minX, x), min(lf.box.minY, y), max(lf.box.maxX, x), max(lf.box.maxY, y)}
				}
				rings = append(rings, pts[start:len(pts):len(pts)])
			}
			lf.polys = append(lf.polys, rings)
		}
		for _, p := range f.Properties {
			v, err := normalValue(p.Value)
			if err != nil {
				return nil, fmt.Errorf("vectortile: layer %s feature %d property %s: %v", name, i, p.Key, err)
			}
			if v == nil {
				continue
			}
			k, ok := keyAt[p.Key]
			if !ok {
				k = uint32(len(l.keys))
				keyAt[p.Key] = k
				l.keys = append(l.keys, p.Key)
			}
			vi, ok := valueAt[v]
			if !ok {
				vi = uint32(len(l.values))
				valueAt[v] = vi
				l.values = append(l.values, encodeValue(v))
			}
			lf.tags = append(lf.tags, k, vi)
		}
	}
	return l, nil
}

// Name returns the layer's name.
func (l *Layer) Name() string { return l.name }

// Len returns the number of features in the layer.
func (l *Layer) Len() int { return len(l.features) }

// Encode returns tile t of the layers as an uncompressed MVT 2.1 protobuf.
// A layer with no feature in the tile is left out; a tile with no feature
// at all is empty (zero bytes), which MVT readers take as an empty tile.
// The bytes are a function of the arguments alone. Encode fails only on a
// tile outside the zoom's range or on bad options.
func Encode(t maptile.Tile, opt Options, layers ...*Layer) ([]byte, error) {
	if opt.Extent == 0 {
		opt.Extent = DefaultExtent
	}
	switch {
	case t.Z > MaxZoom:
		return nil, fmt.Errorf("vectortile: zoom %d: want 0..%d", t.Z, MaxZoom)
	case uint64(t.X) >= 1<<t.Z || uint64(t.Y) >= 1<<t.Z:
		return nil, fmt.Errorf("vectortile: tile %d/%d/%d: x and y want 0..%d", t.Z, t.X, t.Y, uint64(1)<<t.Z-1)
	case opt.Extent > 1<<16:
		return nil, fmt.Errorf("vectortile: extent %d: want 1..65536", opt.Extent)
	case opt.Buffer > opt.Extent:
		return nil, fmt.Errorf("vectortile: buffer %d: want 0..extent (%d)", opt.Buffer, opt.Extent)
	}
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	e.reset(t, opt)
	var out []byte
	for _, l := range layers {
		out = e.appendLayer(out, l)
	}
	return out, nil
}

// encoders recycles the scratch buffers and tables of Encode.
var encoders = sync.Pool{New: func() any { return newEncoder() }}
