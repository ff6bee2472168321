package pgstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom/encoding/wkb"

	"wangge/geo"
)

// Geometries cross to and from PostGIS as plain WKB (ST_GeomFromWKB with
// SRID 4326 in, ST_AsBinary out): written through go-geom's encoding/wkb,
// converted from orb by geo (geomconv.go); read by wkbArena below, straight
// into orb. WKB carries float64 coordinates as they are, so a geometry
// comes back bit for bit.

// decodeWKB reads a Polygon or MultiPolygon from WKB.
func decodeWKB(b []byte) (orb.MultiPolygon, error) {
	var a wkbArena
	return a.decode(b)
}

// encodeWKB renders mp as little-endian WKB for ST_GeomFromWKB.
func encodeWKB(mp orb.MultiPolygon) ([]byte, error) {
	return wkb.Marshal(geo.ToGeomMultiPolygon(mp), wkb.NDR)
}

// encodeLineWKB renders ls as little-endian WKB for ST_GeomFromWKB.
func encodeLineWKB(ls orb.LineString) ([]byte, error) {
	return wkb.Marshal(geo.ToGeomLineString(ls), wkb.NDR)
}

// wkbArena decodes 2D WKB Polygons and MultiPolygons, in either byte
// order, straight into orb; with a chunk, the points of many geometries
// share one allocation. TestWKBArena holds it to go-geom's decoder, to
// the bit. It exists because a national layer is a million geometries,
// and go-geom's flat coordinates, then orb's rings, were most of the time
// of a load: three allocations per grid instead of a dozen.
type wkbArena struct {
	pts []orb.Point
	// chunk is the number of points allocated at once (0: each ring its
	// own, for a single geometry).
	chunk int
}

// wkbArenaChunk is the chunk of a load's arena.
const wkbArenaChunk = 1 << 16

var errWKBShort = errors.New("wkb: truncated")

type wkbReader struct {
	b   []byte
	off int
	be  bool // big-endian (XDR)
}

func (r *wkbReader) uint32() (uint32, error) {
	if len(r.b)-r.off < 4 {
		return 0, errWKBShort
	}
	v := r.b[r.off : r.off+4]
	r.off += 4
	if r.be {
		return binary.BigEndian.Uint32(v), nil
	}
	return binary.LittleEndian.Uint32(v), nil
}

// header reads a byte order and a geometry type.
func (r *wkbReader) header() (uint32, error) {
	if r.off >= len(r.b) {
		return 0, errWKBShort
	}
	switch r.b[r.off] {
	case 0:
		r.be = true
	case 1:
		r.be = false
	default:
		return 0, fmt.Errorf("wkb: byte order %d, want 0 or 1", r.b[r.off])
	}
	r.off++
	return r.uint32()
}

// count reads a count of items of at least size bytes each, refusing one
// the remaining bytes cannot hold (so a corrupt count allocates nothing).
func (r *wkbReader) count(size int) (int, error) {
	n, err := r.uint32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(size) > uint64(len(r.b)-r.off) {
		return 0, errWKBShort
	}
	return int(n), nil
}

func (a *wkbArena) polygon(r *wkbReader) (orb.Polygon, error) {
	nr, err := r.count(4)
	if err != nil {
		return nil, err
	}
	poly := make(orb.Polygon, nr)
	for i := range poly {
		np, err := r.count(16)
		if err != nil {
			return nil, err
		}
		if cap(a.pts)-len(a.pts) < np {
			a.pts = make([]orb.Point, 0, max(np, a.chunk))
		}
		k := len(a.pts)
		ring := a.pts[k : k+np : k+np] // full cap: an append copies
		a.pts = a.pts[:k+np]
		v := r.b[r.off : r.off+16*np]
		r.off += 16 * np
		for j := range ring {
			x, y := v[16*j:16*j+8], v[16*j+8:16*j+16]
			if r.be {
				ring[j] = orb.Point{math.Float64frombits(binary.BigEndian.Uint64(x)), math.Float64frombits(binary.BigEndian.Uint64(y))}
			} else {
				ring[j] = orb.Point{math.Float64frombits(binary.LittleEndian.Uint64(x)), math.Float64frombits(binary.LittleEndian.Uint64(y))}
			}
		}
		poly[i] = ring
	}
	return poly, nil
}

// decode reads one Polygon or MultiPolygon.
func (a *wkbArena) decode(b []byte) (orb.MultiPolygon, error) {
	const wkbPolygon, wkbMultiPolygon = 3, 6
	r := &wkbReader{b: b}
	typ, err := r.header()
	if err != nil {
		return nil, err
	}
	var mp orb.MultiPolygon
	switch typ {
	case wkbPolygon:
		p, err := a.polygon(r)
		if err != nil {
			return nil, err
		}
		mp = orb.MultiPolygon{p}
	case wkbMultiPolygon:
		n, err := r.count(9)
		if err != nil {
			return nil, err
		}
		mp = make(orb.MultiPolygon, n)
		for i := range mp {
			if typ, err := r.header(); err != nil {
				return nil, err
			} else if typ != wkbPolygon {
				return nil, fmt.Errorf("wkb: multipolygon part of type %d, want 3 (Polygon)", typ)
			}
			if mp[i], err = a.polygon(r); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("wkb: geometry type %d, want 3 (Polygon) or 6 (MultiPolygon)", typ)
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("wkb: %d bytes after the geometry", len(b)-r.off)
	}
	return mp, nil
}
