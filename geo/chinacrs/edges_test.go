package chinacrs

import (
	"testing"

	"github.com/paulmach/orb"
)

// TestWGS84ToBD09NearEdges: the rectangle test of WGS84ToBD09 and
// BD09ToWGS84 is made on the point given, as for every other function, not
// on the intermediate GCJ-02 point. Just inside the east and north edges
// the GCJ-02 offset pushes the intermediate point out of the rectangle;
// before, the BD-09 step was then skipped (763–961 m off).
func TestWGS84ToBD09NearEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    orb.Point
	}{
		{"east edge", orb.Point{maxLon - 1e-4, 30}},
		{"north edge", orb.Point{120, maxLat - 1e-4}},
		{"north-east corner", orb.Point{maxLon - 1e-4, maxLat - 1e-4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if OutOfChina(tc.p) {
				t.Fatalf("%v is meant to be inside the rectangle", tc.p)
			}
			g := WGS84ToGCJ02(tc.p)
			if !OutOfChina(g) {
				t.Fatalf("GCJ-02 %v is meant to be pushed out of the rectangle", g)
			}
			got := WGS84ToBD09(tc.p)
			// The BD-09 step moves a point by (+0.0065°, +0.006°) give or take
			// its perturbations (under 0.001° this far from (0°, 0°)).
			shift := orb.Point{got[0] - g[0], got[1] - g[1]}
			if maxDiff(shift, orb.Point{bdLonShift, bdLatShift}) > 1e-3 {
				t.Errorf("WGS84ToBD09(%v) = %v, GCJ-02 %v: the BD-09 step moved it by %v, want about (%v, %v); %.0f m off",
					tc.p, got, g, shift, bdLonShift, bdLatShift, metres(got, orb.Point{g[0] + bdLonShift, g[1] + bdLatShift}))
			}
		})
	}
}

// TestBD09ToWGS84NearEdges: just inside the west and south edges the BD-09
// step moves a point out of the rectangle; BD09ToWGS84 still removes the
// GCJ-02 offset, since the test is made on the BD-09 point given.
func TestBD09ToWGS84NearEdges(t *testing.T) {
	for _, b := range []orb.Point{{minLon + 1e-4, 30}, {110, minLat + 1e-4}} {
		g := BD09ToGCJ02(b)
		if !OutOfChina(g) {
			t.Fatalf("GCJ-02 %v of BD-09 %v is meant to be outside the rectangle", g, b)
		}
		w := BD09ToWGS84(b)
		dLon, dLat := gcjOffset(w[0], w[1])
		if back := (orb.Point{w[0] + dLon, w[1] + dLat}); maxDiff(back, g) > 1e-9 {
			t.Errorf("BD09ToWGS84(%v) = %v, whose GCJ-02 point is %v, want %v (%.0f m off)", b, w, back, g, metres(back, g))
		}
	}
}
