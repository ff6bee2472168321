package pgstore

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"

	"wangge/geo"
)

// TestWKBArena holds the WKB decoder to go-geom's as the
// oracle: the same polygons, rings and coordinates to the bit, in both byte
// orders, for Polygons and MultiPolygons with holes; and an error, never a
// panic or a partial geometry, for every truncation, a wrong type, a bad
// byte order and trailing bytes.
func TestWKBArena(t *testing.T) {
	ring := orb.Ring{{0, 0}, {awkward[0], awkward[1]}, {awkward[2], awkward[3]}, {awkward[4], awkward[5]}, {awkward[6], awkward[7]}, {0, 0}}
	hole := orb.Ring{{0.1, 0.1}, {0.2, 0.1}, {0.2, 0.2}, {0.1, 0.1}}
	var blobs [][]byte
	for _, order := range []binary.ByteOrder{wkb.NDR, wkb.XDR} {
		for _, g := range []geom.T{
			geo.ToGeomMultiPolygon(orb.MultiPolygon{{ring}, {ring, hole, hole}}),
			geo.ToGeomMultiPolygon(orb.MultiPolygon{{ring}}).Polygon(0),
			geo.ToGeomMultiPolygon(orb.MultiPolygon{{ring, hole}}).Polygon(0),
		} {
			b, err := wkb.Marshal(g, order)
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
	}
	arena := wkbArena{chunk: wkbArenaChunk}
	for n, b := range blobs {
		want, err := geomDecodeWKB(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := arena.decode(b)
		if err != nil {
			t.Fatalf("blob %d: %v", n, err)
		}
		if len(got) != len(want) {
			t.Fatalf("blob %d: %d polygons, want %d", n, len(got), len(want))
		}
		for i := range want {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("blob %d polygon %d: %d rings, want %d", n, i, len(got[i]), len(want[i]))
			}
			for j := range want[i] {
				if len(got[i][j]) != len(want[i][j]) {
					t.Fatalf("blob %d polygon %d ring %d: %d points, want %d", n, i, j, len(got[i][j]), len(want[i][j]))
				}
				for k, p := range want[i][j] {
					q := got[i][j][k]
					if !sameBits(p[0], q[0]) || !sameBits(p[1], q[1]) {
						t.Errorf("blob %d polygon %d ring %d point %d: got %v, want %v", n, i, j, k, q, p)
					}
				}
			}
		}
		// Rings share the arena but not their capacity: appending to one
		// must not overwrite the next.
		next := arena.pts[len(arena.pts)-1]
		last := got[len(got)-1][len(got[len(got)-1])-1]
		_ = append(last, orb.Point{math.Inf(1), math.Inf(1)})
		if arena.pts[len(arena.pts)-1] != next {
			t.Fatalf("blob %d: an append to a ring wrote into the arena", n)
		}
		for cut := 0; cut < len(b); cut++ {
			if mp, err := arena.decode(b[:cut]); err == nil {
				t.Fatalf("blob %d cut at %d of %d bytes: got %v, want an error", n, cut, len(b), mp)
			}
		}
		if _, err := arena.decode(append(append([]byte(nil), b...), 0)); err == nil {
			t.Errorf("blob %d with a trailing byte: no error", n)
		}
		bad := append([]byte(nil), b...)
		bad[0] = 7
		if _, err := arena.decode(bad); err == nil {
			t.Errorf("blob %d with byte order 7: no error", n)
		}
	}
	point, err := wkb.Marshal(geom.NewPointFlat(geom.XY, []float64{1, 2}), wkb.NDR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arena.decode(point); err == nil {
		t.Error("a Point: no error")
	}
	// A count larger than the bytes left allocates nothing and fails.
	huge := []byte{1, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}
	if _, err := arena.decode(huge); err == nil {
		t.Error("a multipolygon of 2^31-1 parts in 9 bytes: no error")
	}
}

// geomDecodeWKB is the oracle: go-geom's WKB decoder, converted to orb.
func geomDecodeWKB(b []byte) (orb.MultiPolygon, error) {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	return geo.FromGeom(g)
}
