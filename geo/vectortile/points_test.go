package vectortile_test

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"

	"wangge/geo/vectortile"
)

// TestPoints: a point feature lands on the tile pixel that orb's own
// Web Mercator projection puts it at (the oracle), with its id and
// properties; a point beyond the buffer is left out, one inside the
// buffer kept; mixing points and polygons in one feature is refused.
func TestPoints(t *testing.T) {
	tile := maptile.New(13294, 6901, 14)
	b := tile.Bound()
	in := orb.Point{b.Min[0] + 0.3*(b.Max[0]-b.Min[0]), b.Min[1] + 0.6*(b.Max[1]-b.Min[1])}
	// Just east of the tile: 20 units of 4096 into the buffer of 64.
	buffered := orb.Point{b.Max[0] + 20.0/4096*(b.Max[0]-b.Min[0]), in[1]}
	// Far east: beyond the buffer.
	far := orb.Point{b.Max[0] + 0.5*(b.Max[0]-b.Min[0]), in[1]}
	l, err := vectortile.NewLayer("incidents", []vectortile.Feature{
		{ID: 7, Points: orb.MultiPoint{in}, Properties: []vectortile.Property{{Key: "status", Value: "open"}}},
		{ID: 8, Points: orb.MultiPoint{buffered}},
		{ID: 9, Points: orb.MultiPoint{far}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := vectortile.Encode(tile, vectortile.DefaultOptions(), l)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || len(layers[0].Features) != 2 {
		t.Fatalf("got %d layers, want 1 with 2 features (the far point left out)", len(layers))
	}
	// Oracle: orb's projection of the point to the world at this zoom.
	scale := math.Ldexp(4096, 14)
	for i, want := range []orb.Point{in, buffered} {
		f := layers[0].Features[i]
		if f.ID != float64(7+i) {
			t.Errorf("feature %d: id %v", i, f.ID)
		}
		got, ok := f.Geometry.(orb.Point)
		if !ok {
			t.Fatalf("feature %d: %T, want a Point", i, f.Geometry)
		}
		m := project.WGS84.ToMercator(want)
		const half = 20037508.342789244
		wx := (m[0] + half) / (2 * half) * scale
		wy := (half - m[1]) / (2 * half) * scale
		ex, ey := math.Round(wx)-float64(tile.X)*4096, math.Round(wy)-float64(tile.Y)*4096
		if math.Abs(got[0]-ex) > 1 || math.Abs(got[1]-ey) > 1 {
			t.Errorf("feature %d at %v in tile units, want %v,%v", i, got, ex, ey)
		}
	}
	if layers[0].Features[0].Properties["status"] != "open" {
		t.Errorf("properties %v", layers[0].Features[0].Properties)
	}
	if _, err := vectortile.NewLayer("x", []vectortile.Feature{{Points: orb.MultiPoint{in},
		Geometry: orb.MultiPolygon{{{in, buffered, far}}}}}); err == nil {
		t.Error("a feature with both points and polygons was accepted")
	}
	if _, err := vectortile.NewLayer("x", []vectortile.Feature{{Points: orb.MultiPoint{{200, 0}}}}); err == nil {
		t.Error("a point at lon 200 was accepted")
	}
}
