package layerfile_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
	"wangge/geo/townfile"
)

// demoTown reads the demo town (荷叶镇, 230 grids) from the fixtures.
func demoTown(t testing.TB) *geo.TownData {
	t.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	return td
}

// withIslandsAndHoles returns td with two grids made harder: the first
// gets a hole and a second polygon (an island with its own hole), both
// drawn with the wrong orientation, which the writers must fix.
//
//	+-----------+     +-------+
//	|  +-----+  |     | +---+ |
//	|  |hole |  |     | |   | |   grid 0: a square with a hole, and
//	|  +-----+  |     | +---+ |   an island with a hole
//	+-----------+     +-------+
func withIslandsAndHoles(t testing.TB) *geo.TownData {
	td := demoTown(t)
	g := &td.Grids[0]
	b := g.Geometry.Bound()
	x0, y0, x1, y1 := b.Min[0], b.Min[1], b.Max[0], b.Max[1]
	dx, dy := (x1-x0)/4, (y1-y0)/4
	square := func(ax, ay, bx, by float64) orb.Ring { // clockwise
		return orb.Ring{{ax, ay}, {ax, by}, {bx, by}, {bx, ay}, {ax, ay}}
	}
	ccw := func(r orb.Ring) orb.Ring {
		out := append(orb.Ring(nil), r...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	g.Geometry = orb.MultiPolygon{
		{square(x0, y0, x1, y1), ccw(square(x0+dx, y0+dy, x1-dx, y1-dy))},
		{ccw(square(x1+dx, y0, x1+3*dx, y1)), square(x1+1.5*dx, y0+dy, x1+2.5*dx, y1-dy)},
	}
	return td
}

// normalized returns mp oriented the RFC 7946 way, so that geometries that
// differ only in ring direction compare equal.
func normalized(mp orb.MultiPolygon) orb.MultiPolygon {
	out := orb.MultiPolygon{}
	for _, poly := range mp {
		p := orb.Polygon{}
		for j, ring := range poly {
			r := append(orb.Ring(nil), ring...)
			if (planar.Area(r) > 0) != (j == 0) {
				r.Reverse()
			}
			p = append(p, r)
		}
		out = append(out, p)
	}
	return out
}

// checkSameGrids fails unless the layer holds td's grids: the same codes,
// names and village codes, the same vertices (bit for bit, up to ring
// direction) and so an area difference of 0 m² (< 1 m² is the bar).
func checkSameGrids(t *testing.T, td *geo.TownData, l *layerfile.Layer, tolDeg float64) {
	t.Helper()
	if len(l.Features) != len(td.Grids) {
		t.Fatalf("read %d features, wrote %d grids", len(l.Features), len(td.Grids))
	}
	byCode := map[string]*geo.GridRecord{}
	for i := range td.Grids {
		byCode[td.Grids[i].Code] = &td.Grids[i]
	}
	worstArea, worstVertex := 0.0, 0.0
	for _, f := range l.Features {
		g, ok := byCode[f.Code]
		if !ok {
			t.Fatalf("feature %d: code %q is not one of the grids written", f.Index, f.Code)
		}
		delete(byCode, f.Code)
		if f.Name != g.Name || f.VillageCode != g.VillageCode {
			t.Errorf("grid %s: name %q, village %q; want %q, %q", g.Code, f.Name, f.VillageCode, g.Name, g.VillageCode)
		}
		want, got := normalized(g.Geometry), normalized(f.Geometry)
		if len(want) != len(got) {
			t.Fatalf("grid %s: %d polygons, want %d", g.Code, len(got), len(want))
		}
		for i := range want {
			if len(want[i]) != len(got[i]) {
				t.Fatalf("grid %s polygon %d: %d rings, want %d", g.Code, i, len(got[i]), len(want[i]))
			}
			for j := range want[i] {
				if len(want[i][j]) != len(got[i][j]) {
					t.Fatalf("grid %s polygon %d ring %d: %d vertices, want %d", g.Code, i, j, len(got[i][j]), len(want[i][j]))
				}
				for k, p := range want[i][j] {
					q := got[i][j][k]
					worstVertex = max(worstVertex, math.Abs(p[0]-q[0]), math.Abs(p[1]-q[1]))
				}
			}
		}
		worstArea = max(worstArea, math.Abs(orbgeo.Area(want)-orbgeo.Area(got)))
	}
	if worstArea >= 1 || worstVertex > tolDeg {
		t.Errorf("largest area difference %.3g m², largest vertex difference %.3g°; want < 1 m² and ≤ %g°", worstArea, worstVertex, tolDeg)
	}
	t.Logf("%d grids: largest area difference %.3g m², largest vertex difference %.3g°", len(l.Features), worstArea, worstVertex)
}

// TestRoundTrip: the demo town written in each format and read back gives
// the same grids, exactly.
func TestRoundTrip(t *testing.T) {
	for _, town := range []struct {
		name string
		td   *geo.TownData
	}{{"demo town", demoTown(t)}, {"islands and holes", withIslandsAndHoles(t)}} {
		for _, f := range layerfile.Formats {
			t.Run(town.name+"/"+string(f), func(t *testing.T) {
				b, err := layerfile.Write(f, town.td, layerfile.WriteOptions{Name: "431321101-g1"})
				if err != nil {
					t.Fatal(err)
				}
				l, err := layerfile.Read("431321101-g1"+f.Ext(), b, layerfile.ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if l.Format != f {
					t.Errorf("read as %s, want %s", l.Format, f)
				}
				checkSameGrids(t, town.td, l, 0)
				again, err := layerfile.Write(f, town.td, layerfile.WriteOptions{Name: "431321101-g1"})
				if err != nil || !bytes.Equal(b, again) {
					t.Errorf("writing twice gave different bytes (%v)", err)
				}
			})
		}
	}
}

// TestRoundTrip_attributes: every format carries code, name, village code
// and name, households, population and the leader's name, and no phone.
func TestRoundTrip_attributes(t *testing.T) {
	td := demoTown(t)
	g := td.Grids[0]
	if g.Leader == nil || g.Leader.Phone == "" {
		t.Fatal("the first demo grid should have a leader with a phone")
	}
	want := map[string]string{"code": g.Code, "name": g.Name, "households": fmt.Sprint(g.Households),
		"population": fmt.Sprint(g.Population), "leader": g.Leader.Name}
	for _, f := range layerfile.Formats {
		b, err := layerfile.Write(f, td, layerfile.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(g.Leader.Phone)) {
			t.Errorf("%s: the export holds the leader's phone", f)
		}
		l, err := layerfile.Read("x"+f.Ext(), b, layerfile.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		props := l.Features[0].Properties
		village, villageName := props["village_code"]+props["vill_code"], props["village_name"]+props["vill_name"]
		if village != g.VillageCode || villageName != td.Villages[0].Name {
			t.Errorf("%s: village %q %q, want %q %q", f, village, villageName, g.VillageCode, td.Villages[0].Name)
		}
		for k, v := range want {
			if props[k] != v {
				t.Errorf("%s: %s = %q, want %q (all: %v)", f, k, props[k], v, props)
			}
		}
	}
}

// TestKML_GCJ02: grids drawn on a GCJ-02 map (奥维地图, AMap) and read with
// crs gcj02 land within 1 cm of where they are in WGS-84.
func TestKML_GCJ02(t *testing.T) {
	td := demoTown(t)
	for _, crs := range []chinacrs.CRS{chinacrs.GCJ02, chinacrs.BD09} {
		drawn := demoTown(t)
		for i := range drawn.Grids {
			for _, poly := range drawn.Grids[i].Geometry {
				for _, ring := range poly {
					for k := range ring {
						ring[k] = chinacrs.FromWGS84(crs, ring[k])
					}
				}
			}
		}
		b, err := layerfile.WriteKML(drawn, layerfile.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The same file through the writer's own CRS option.
		b2, err := layerfile.WriteKML(td, layerfile.WriteOptions{CRS: crs})
		if err != nil || !bytes.Equal(b, b2) {
			t.Errorf("%s: WriteOptions.CRS differs from converting first (%v)", crs, err)
		}
		asIs, err := layerfile.Read("drawn.kml", b, layerfile.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l, err := layerfile.Read("drawn.kml", b, layerfile.ReadOptions{CRS: crs})
		if err != nil {
			t.Fatal(err)
		}
		// 1 cm is about 9e-8° of latitude and 1e-7° of longitude here.
		checkSameGrids(t, td, l, 9e-8)
		off := math.Abs(asIs.Features[0].Geometry[0][0][0][0] - td.Grids[0].Geometry[0][0][0][0])
		if off < 1e-4 {
			t.Errorf("%s: read as WGS-84 the grid is only %g° off: the test does not test", crs, off)
		}
	}
}
