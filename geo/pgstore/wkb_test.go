package pgstore

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"
)

// awkward are coordinates that a decimal or float32 detour would change.
var awkward = []float64{
	112.01, 0.1 + 0.2, math.Nextafter(27, 28), math.Nextafter(27, 26),
	-179.99999999999997, 1e-300, math.SmallestNonzeroFloat64, math.Copysign(0, -1),
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestWKB_roundTripIsBitExact(t *testing.T) {
	ring := orb.Ring{{0, 0}, {awkward[0], awkward[1]}, {awkward[2], awkward[3]}, {awkward[4], awkward[5]}, {awkward[6], awkward[7]}, {0, 0}}
	mp := orb.MultiPolygon{{ring}, {ring, ring}}
	b, err := encodeWKB(mp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeWKB(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(mp) {
		t.Fatalf("got %d polygons, want %d", len(got), len(mp))
	}
	for i := range mp {
		for j := range mp[i] {
			for k, p := range mp[i][j] {
				q := got[i][j][k]
				if !sameBits(p[0], q[0]) || !sameBits(p[1], q[1]) {
					t.Errorf("polygon %d ring %d point %d: got %v, want %v", i, j, k, q, p)
				}
			}
		}
	}

	line := orb.LineString{{awkward[0], awkward[1]}, {awkward[2], awkward[3]}, {awkward[4], awkward[7]}}
	b, err = encodeLineWKB(line)
	if err != nil {
		t.Fatal(err)
	}
	g, err := wkb.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	ls, ok := g.(*geom.LineString)
	if !ok {
		t.Fatalf("got %T, want a LineString", g)
	}
	if ls.NumCoords() != len(line) {
		t.Fatalf("got %d positions, want %d", ls.NumCoords(), len(line))
	}
	for i, p := range line {
		c := ls.Coord(i)
		if !sameBits(p[0], c[0]) || !sameBits(p[1], c[1]) {
			t.Errorf("line point %d: got %v, want %v", i, c, p)
		}
	}
}
