package coverage

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/spheroid"
)

func metres(v float64) *float64 { return &v }

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// square returns the square of side 2·half metres centred on c (corners
// laid out with the local frame at c), counter-clockwise.
func square(c orb.Point, half float64) orb.Ring {
	l := newLocal(c)
	return orb.Ring{l.at(-half, -half), l.at(half, -half), l.at(half, half), l.at(-half, half), l.at(-half, -half)}
}

// mustShape builds the shape of req or fails the test.
func mustShape(t *testing.T, req Request) *Shape {
	t.Helper()
	sh, err := NewShape(req)
	if err != nil {
		t.Fatalf("NewShape: %v", err)
	}
	if sh.Dropped != 0 {
		t.Fatalf("%d boundary pieces dropped", sh.Dropped)
	}
	for i, p := range sh.Polygon {
		if probs, _ := checkPolygon(p, "shape", "", math.MaxInt); len(probs) > 0 {
			t.Fatalf("shape polygon %d is invalid: %v", i, probs)
		}
	}
	return sh
}

// sumOverlaps adds up the overlaps of the shape with the grids of the demo
// town.
func sumOverlaps(os []Overlap) float64 {
	s := 0.0
	for _, o := range os {
		s += o.OverlapM2
	}
	return s
}

// checkTiling checks what must hold for any shape: the overlaps add up to
// the shape's overlap with the town outline (the grids tile the town), each
// is positive and at most its grid, shares are in 0..1, and the list is
// sorted by overlap.
//
// The sum agrees to 1e-4, not to rounding: edges are geodesics (as in
// PostGIS), and a long edge of the shape cut by grid borders into pieces,
// each a geodesic of its own, bounds a little more or less than the whole
// edge would (36 m² in 825,000 for a 40 m buffer across the town). PostGIS
// sums the same way.
func checkTiling(t *testing.T, sh *Shape, os []Overlap) {
	t.Helper()
	snap := demo(t)
	town, _ := sh.Overlap(snap.Whole().Outline)
	if got := sumOverlaps(os); math.Abs(got-town.OverlapM2) > 1e-4*math.Max(town.OverlapM2, 1)+0.01 {
		t.Errorf("overlaps add up to %.4f m², the shape covers %.4f m² of the town", got, town.OverlapM2)
	}
	for i, o := range os {
		if !(o.OverlapM2 >= MinOverlapM2 && o.OverlapM2 <= o.GridM2 && o.Share > 0 && o.Share <= 1) {
			t.Errorf("grid %s: overlap %v of %v, share %v", snap.Grids[o.Entry].Code, o.OverlapM2, o.GridM2, o.Share)
		}
		if i > 0 && o.OverlapM2 > os[i-1].OverlapM2 {
			t.Errorf("not sorted by overlap: %v after %v", o.OverlapM2, os[i-1].OverlapM2)
		}
	}
}

// interiorPoint returns a point of grid i at least margin metres from its
// boundary, searching a lattice over its box.
func interiorPoint(t *testing.T, i int, margin float64) (orb.Point, bool) {
	g := demo(t).Grids[i].Geometry
	r := newRegion(g)
	b := g.Bound()
	for u := 0.1; u < 1; u += 0.1 {
		for v := 0.1; v < 1; v += 0.1 {
			p := orb.Point{b.Min[0] + u*(b.Max[0]-b.Min[0]), b.Min[1] + v*(b.Max[1]-b.Min[1])}
			if r.locate(p) != inside {
				continue
			}
			ok := true
			for _, e := range r.segs() {
				if spheroid.PointSegmentDistance(p, e.a, e.b) < margin {
					ok = false
					break
				}
			}
			if ok {
				return p, true
			}
		}
	}
	return orb.Point{}, false
}

func TestAreaM2(t *testing.T) {
	for _, lat := range []float64{0, 27.26, 45, 70} {
		c := orb.Point{112.12, lat}
		// A 1 km square laid out with geodesic offsets: 1e6 m² to well
		// under a part per million.
		if got := AreaM2(orb.MultiPolygon{{square(c, 500)}}); relErr(got, 1e6) > 1e-6 {
			t.Errorf("1 km square at %v°: %.3f m²", lat, got)
		}
		// Orientation does not matter; a hole subtracts.
		ring := square(c, 500)
		rev := append(orb.Ring(nil), ring...)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		holed := orb.Polygon{rev, square(c, 100)}
		if got := AreaM2(orb.MultiPolygon{holed}); relErr(got, 1e6-4e4) > 1e-6 {
			t.Errorf("square with a hole at %v°: %.3f m²", lat, got)
		}
	}
}

func TestCircle(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	for _, r := range []float64{0.1, 10, 500, 5000, 50000} {
		p := Circle(c, r)
		if len(p[0]) != CircleSegments+1 || p[0][0] != p[0][CircleSegments] {
			t.Fatalf("r=%v: %d positions, want %d closed", r, len(p[0]), CircleSegments+1)
		}
		// The area of the true circle (the geodesic circle's area differs
		// from πr² by (r/R)²/12 relative: 5e-6 at 50 km).
		if e := relErr(AreaM2(orb.MultiPolygon{p}), math.Pi*r*r); e > 1e-5 {
			t.Errorf("r=%v m: area off by %.2g", r, e)
		}
		if r > 500 {
			continue // beyond PointSegmentDistance's accuracy of 1e-6
		}
		want := r * circleScale(CircleSegments)
		for _, v := range p[0] {
			if d := spheroid.PointSegmentDistance(c, v, v); relErr(d, want) > 1e-6 {
				t.Fatalf("r=%v m: vertex %v at %.6f m, want %.6f", r, v, d, want)
			}
		}
	}
}

func TestLineBuffers(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	l := newLocal(c)
	const r = 50.0
	tests := []struct {
		name string
		g    orb.Geometry
		want float64
	}{
		// ◯════════◯   2rL + πr²
		{"straight segment", orb.LineString{l.at(-1000, 0), l.at(1000, 0)}, 2*r*2000 + math.Pi*r*r},
		{"diagonal segment", orb.LineString{l.at(-700, -700), l.at(700, 700)}, 2*r*math.Hypot(1400, 1400) + math.Pi*r*r},
		// ════╗
		//     ║   a right turn: the outer corner adds a quarter round, the
		//     ║   inner one overlaps by r² − πr²/4.
		{"right angle", orb.LineString{l.at(-1000, 0), l.at(0, 0), l.at(0, -1000)}, 2*r*2000 + math.Pi*r*r + (math.Pi/4-1)*r*r},
		{"retracing", orb.LineString{l.at(-1000, 0), l.at(1000, 0), l.at(-1000, 0)}, 2*r*2000 + math.Pi*r*r},
		{"repeated positions", orb.LineString{l.at(-1000, 0), l.at(-1000, 0), l.at(1000, 0), l.at(1000, 0)}, 2*r*2000 + math.Pi*r*r},
		{"a line of one point", orb.LineString{c, c}, math.Pi * r * r},
		{"two disjoint lines", orb.MultiLineString{{l.at(-1000, 0), l.at(1000, 0)}, {l.at(-1000, 500), l.at(1000, 500)}}, 2 * (2*r*2000 + math.Pi*r*r)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := mustShape(t, Request{Geometry: tc.g, BufferM: metres(r)})
			// The buffer's straight sides are within 0.02 % of r, in or
			// out depending on their direction (see CircleSegments).
			if e := relErr(sh.AreaM2, tc.want); e > 3e-4 {
				t.Errorf("area %.2f m², want %.2f (rel err %.2g)", sh.AreaM2, tc.want, e)
			}
		})
	}
}

func TestPolygonBuffer(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	for _, r := range []float64{10, 200, 3000} {
		// A 2 km square grown by r: 4e6 + 4·2000·r + πr².
		sh := mustShape(t, Request{Geometry: orb.Polygon{square(c, 1000)}, BufferM: metres(r)})
		if want := 4e6 + 8000*r + math.Pi*r*r; relErr(sh.AreaM2, want) > 3e-4 {
			t.Errorf("r=%v: area %.1f, want %.1f", r, sh.AreaM2, want)
		}
		if len(sh.Polygon) != 1 || len(sh.Polygon[0]) != 1 {
			t.Errorf("r=%v: %d polygons, want one without holes", r, len(sh.Polygon))
		}
	}
	// A hole narrower than twice the buffer closes.
	holed := orb.Polygon{square(c, 1000), square(c, 100)}
	sh := mustShape(t, Request{Geometry: holed, BufferM: metres(150)})
	if len(sh.Polygon[0]) != 1 {
		t.Errorf("the 200 m hole of a polygon grown by 150 m is still there")
	}
	sh = mustShape(t, Request{Geometry: holed, BufferM: metres(50)})
	if len(sh.Polygon[0]) != 2 {
		t.Errorf("the 200 m hole of a polygon grown by 50 m is gone")
	}
}

func TestUnion(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) *region {
		return newRegion(orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}})
	}
	tests := []struct {
		name          string
		regions       []*region
		polys, holes  int
		planarArea2x2 float64 // twice the planar area
	}{
		// ┌──┬──┐
		// │  │  │  sharing an edge: one ring
		// └──┴──┘
		{"shared edge", []*region{sq(0, 0, 1, 1), sq(1, 0, 2, 1)}, 1, 0, 4},
		// ┌──┐
		// │ ┌┼─┐  overlapping
		// └─┼┘ │
		//   └──┘
		{"overlap", []*region{sq(0, 0, 2, 2), sq(1, 1, 3, 3)}, 1, 0, 14},
		//    ┌─┐
		//    │ │   touching at a corner: two polygons
		// ┌─┐└─┘
		// └─┘
		{"corner", []*region{sq(0, 0, 1, 1), sq(1, 1, 2, 2)}, 2, 0, 4},
		{"contained", []*region{sq(0, 0, 3, 3), sq(1, 1, 2, 2)}, 1, 0, 18},
		{"identical", []*region{sq(0, 0, 1, 1), sq(0, 0, 1, 1)}, 1, 0, 2},
		// Four bars around a square: a frame with a hole.
		{"frame", []*region{sq(0, 0, 3, 1), sq(2, 0, 3, 3), sq(0, 2, 3, 3), sq(0, 0, 1, 3)}, 1, 1, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp, dropped, ok := union(tc.regions, math.MaxInt)
			if !ok || dropped != 0 {
				t.Fatalf("ok %v, dropped %d", ok, dropped)
			}
			holes, area := 0, 0.0
			for _, p := range mp {
				holes += len(p) - 1
				for _, r := range p {
					area += signedArea(r)
				}
			}
			if len(mp) != tc.polys || holes != tc.holes || area != tc.planarArea2x2 {
				t.Errorf("got %d polygons, %d holes, 2×area %v; want %d, %d, %v: %v", len(mp), holes, area, tc.polys, tc.holes, tc.planarArea2x2, mp)
			}
		})
	}
}

// TestGrids runs the named cases of the issue on the demo town.
func TestGrids(t *testing.T) {
	snap := demo(t)
	i := 42
	p, ok := interiorPoint(t, i, 80)
	if !ok {
		t.Fatal("no interior point in grid 42")
	}
	g := snap.Grids[i]

	t.Run("polygon over one grid", func(t *testing.T) {
		sh := mustShape(t, Request{Geometry: orb.Polygon{square(p, 50)}})
		os := sh.Grids(snap)
		if len(os) != 1 || os[0].Entry != i {
			t.Fatalf("got %v, want grid %s alone", os, g.Code)
		}
		if e := relErr(os[0].OverlapM2, sh.AreaM2); e > 1e-9 {
			t.Errorf("overlap %v m², shape %v m²", os[0].OverlapM2, sh.AreaM2)
		}
		if e := relErr(os[0].Share, sh.AreaM2/AreaM2(g.Geometry)); e > 1e-9 {
			t.Errorf("share %v, want %v", os[0].Share, sh.AreaM2/AreaM2(g.Geometry))
		}
		checkTiling(t, sh, os)
	})

	t.Run("over a shared edge", func(t *testing.T) {
		// The midpoint of a long edge of grid i that another grid has too.
		var m orb.Point
		var other string
		ring := g.Geometry[0][0]
		for k := 1; k < len(ring) && other == ""; k++ {
			a, b := ring[k-1], ring[k]
			if spheroid.PointSegmentDistance(a, b, b) < 200 {
				continue
			}
			m = orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
			if cov := snap.Index().Covering(m); len(cov) == 2 {
				other = snap.Grids[cov[0]].Code
				if other == g.Code {
					other = snap.Grids[cov[1]].Code
				}
			}
		}
		if other == "" {
			t.Fatal("no long shared edge")
		}
		sh := mustShape(t, Request{Geometry: orb.Polygon{square(m, 30)}})
		os := sh.Grids(snap)
		if len(os) != 2 {
			t.Fatalf("got %d grids, want 2 (%s and %s)", len(os), g.Code, other)
		}
		codes := map[string]bool{snap.Grids[os[0].Entry].Code: true, snap.Grids[os[1].Entry].Code: true}
		if !codes[g.Code] || !codes[other] {
			t.Errorf("got %v, want %s and %s", codes, g.Code, other)
		}
		if e := relErr(sumOverlaps(os), sh.AreaM2); e > 1e-9 {
			t.Errorf("overlaps add up to %v m², the shape has %v", sumOverlaps(os), sh.AreaM2)
		}
	})

	t.Run("fully containing grids", func(t *testing.T) {
		b := g.Geometry.Bound().Pad(0.002)
		sh := mustShape(t, Request{Geometry: b.ToPolygon()})
		os := sh.Grids(snap)
		found := false
		for _, o := range os {
			if o.Entry == i {
				found = true
				if o.Share != 1 || o.OverlapM2 != o.GridM2 {
					t.Errorf("grid %s inside the shape: share %v, overlap %v of %v; want exactly 1", g.Code, o.Share, o.OverlapM2, o.GridM2)
				}
			}
		}
		if !found || len(os) < 3 {
			t.Errorf("%d grids, grid %s found %v", len(os), g.Code, found)
		}
		checkTiling(t, sh, os)
	})

	t.Run("the grid itself", func(t *testing.T) {
		// Its neighbours merely touch it: not listed.
		sh := mustShape(t, Request{Geometry: g.Geometry})
		os := sh.Grids(snap)
		if len(os) != 1 || os[0].Entry != i || os[0].Share != 1 {
			t.Errorf("got %+v, want grid %s alone with share 1", os, g.Code)
		}
	})

	t.Run("a village outline", func(t *testing.T) {
		v := snap.Villages[5]
		sh := mustShape(t, Request{Geometry: v.Outline})
		os := sh.Grids(snap)
		n := 0
		for _, gr := range snap.Grids {
			if gr.VillageCode == v.Code {
				n++
			}
		}
		if len(os) != n {
			t.Errorf("%d grids, the village has %d", len(os), n)
		}
		for _, o := range os {
			if gr := snap.Grids[o.Entry]; gr.VillageCode != v.Code || relErr(o.Share, 1) > 1e-9 {
				t.Errorf("grid %s of village %s: share %v", gr.Code, gr.VillageCode, o.Share)
			}
		}
	})

	t.Run("circle", func(t *testing.T) {
		sh := mustShape(t, Request{Geometry: p, RadiusM: metres(1500)})
		os := sh.Grids(snap)
		if len(os) < 5 || os[0].OverlapM2 <= os[len(os)-1].OverlapM2 {
			t.Errorf("%d grids", len(os))
		}
		checkTiling(t, sh, os)
	})

	t.Run("buffered line", func(t *testing.T) {
		b := snap.Whole().Outline.Bound()
		line := orb.LineString{{b.Min[0], b.Min[1]}, b.Center(), {b.Max[0], b.Center()[1]}}
		sh := mustShape(t, Request{Geometry: line, BufferM: metres(40)})
		os := sh.Grids(snap)
		if len(os) < 10 {
			t.Errorf("%d grids", len(os))
		}
		checkTiling(t, sh, os)
	})

	t.Run("shape with a hole", func(t *testing.T) {
		b := g.Geometry.Bound()
		shell := b.Pad(0.004).ToPolygon()[0]
		hole := b.Pad(0.0003).ToPolygon()[0]
		sh := mustShape(t, Request{Geometry: orb.Polygon{shell, hole}})
		os := sh.Grids(snap)
		for _, o := range os {
			if o.Entry == i {
				t.Errorf("grid %s, inside the hole, is listed with %v m²", g.Code, o.OverlapM2)
			}
		}
		if len(os) < 3 {
			t.Errorf("%d grids", len(os))
		}
		checkTiling(t, sh, os)
	})

	t.Run("outside the town", func(t *testing.T) {
		b := snap.Whole().Outline.Bound()
		sh := mustShape(t, Request{Geometry: orb.Point{b.Max[0] + 0.1, b.Max[1] + 0.1}, RadiusM: metres(2000)})
		if os := sh.Grids(snap); len(os) != 0 {
			t.Errorf("got %v, want none", os)
		}
	})
}

// TestGrids_randomShapes checks the invariants on random shapes across the
// town: the overlaps add up to the shape's part of the town.
func TestGrids_randomShapes(t *testing.T) {
	snap := demo(t)
	r := rand.New(rand.NewPCG(7, 11))
	b := snap.Whole().Outline.Bound()
	random := func() orb.Point {
		return orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
	}
	for k := range 30 {
		var req Request
		switch k % 3 {
		case 0:
			req = Request{Geometry: random(), RadiusM: metres(50 + 2000*r.Float64())}
		case 1:
			req = Request{Geometry: walk(2+r.IntN(30), random(), 0.003, uint64(k)), BufferM: metres(5 + 300*r.Float64())}
		default:
			req = Request{Geometry: blob(3+r.IntN(40), random(), 0.002+0.02*r.Float64(), uint64(k)), BufferM: metres(100 * r.Float64())}
		}
		sh := mustShape(t, req)
		checkTiling(t, sh, sh.Grids(snap))
	}
}

func TestNewShape_invalid(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	ring := square(c, 500)
	tri := orb.Ring{{112.1, 27.2}, {112.2, 27.2}, {112.15, 27.3}, {112.1, 27.2}}
	tests := []struct {
		name        string
		req         Request
		where, want string
		at          []float64 // where the geometry is wrong, if located
	}{
		{"no geometry", Request{}, "geometry", "required", nil},
		{"a point without radius", Request{Geometry: c}, "radius_m", "required", nil},
		{"a point with a buffer", Request{Geometry: c, BufferM: metres(10), RadiusM: metres(10)}, "buffer_m", "takes radius_m", nil},
		{"a line without buffer", Request{Geometry: orb.LineString{c, {112.13, 27.27}}}, "buffer_m", "required", nil},
		{"a line with a radius", Request{Geometry: orb.LineString{c, {112.13, 27.27}}, RadiusM: metres(5)}, "radius_m", "takes buffer_m", nil},
		{"a line with a zero buffer", Request{Geometry: orb.LineString{c, {112.13, 27.27}}, BufferM: metres(0)}, "buffer_m", "want > 0", nil},
		{"a polygon with a radius", Request{Geometry: orb.Polygon{ring}, RadiusM: metres(5)}, "radius_m", "takes buffer_m", nil},
		{"negative buffer", Request{Geometry: orb.Polygon{ring}, BufferM: metres(-1)}, "buffer_m", "want ≥ 0", nil},
		{"NaN radius", Request{Geometry: c, RadiusM: metres(math.NaN())}, "radius_m", "finite", nil},
		{"infinite buffer", Request{Geometry: orb.LineString{c, {112.13, 27.27}}, BufferM: metres(math.Inf(1))}, "buffer_m", "finite", nil},
		{"radius over 50 km", Request{Geometry: c, RadiusM: metres(50_001)}, "radius_m", "at most 50000", nil},
		{"radius under 0.1 m", Request{Geometry: c, RadiusM: metres(0.01)}, "radius_m", "at least 0.1", nil},
		{"longitude out of range", Request{Geometry: orb.Point{181, 27}, RadiusM: metres(5)}, "geometry", "lon: got 181", nil},
		{"NaN latitude", Request{Geometry: orb.LineString{c, {112, math.NaN()}}, BufferM: metres(5)}, "geometry", "line 0 position 1: lat", nil},
		{"a line of one position", Request{Geometry: orb.LineString{c}, BufferM: metres(5)}, "geometry", "at least 2", nil},
		{"unclosed ring", Request{Geometry: orb.Polygon{ring[:4]}}, "geometry", "not closed", nil},
		{"collinear ring", Request{Geometry: orb.Polygon{{{112, 27}, {112.1, 27}, {112.2, 27}, {112, 27}}}}, "geometry", "folds back on itself at (112, 27)", []float64{112, 27}},
		// ┌─┐
		//  ╳   a bow tie: crossing at its centre
		// └─┘
		{"bow tie", Request{Geometry: orb.Polygon{{{112, 27}, {112.1, 27.1}, {112.1, 27}, {112, 27.1}, {112, 27}}}}, "geometry", "ring 0 intersects itself at (112.05, 27.05)", []float64{112.05, 27.05}},
		{"spike", Request{Geometry: orb.Polygon{{{112, 27}, {112.1, 27}, {112.2, 27}, {112.1, 27}, {112.1, 27.1}, {112, 27}}}}, "geometry", "folds back", nil},
		{"ring touching itself", Request{Geometry: orb.Polygon{{{112, 27}, {112.2, 27}, {112.1, 27.1}, {112.2, 27.2}, {112, 27.2}, {112.1, 27.1}, {112, 27}}}}, "geometry", "intersects itself at (112.1, 27.1)", []float64{112.1, 27.1}},
		{"hole outside", Request{Geometry: orb.Polygon{tri, square(orb.Point{113, 27.25}, 100)}}, "geometry", "ring 1 (a hole) is not inside ring 0", nil},
		{"hole crossing the shell", Request{Geometry: orb.Polygon{tri, {{112.14, 27.19}, {112.16, 27.19}, {112.16, 27.21}, {112.14, 27.21}, {112.14, 27.19}}}}, "geometry", "rings 0 and 1 cross", nil},
		{"nested holes", Request{Geometry: orb.Polygon{tri, square(orb.Point{112.15, 27.24}, 1000), square(orb.Point{112.15, 27.24}, 100)}}, "geometry", "holes may not nest", nil},
		{"second polygon wrong", Request{Geometry: orb.MultiPolygon{{tri}, {{{112, 27}, {112.1, 27.1}, {112.1, 27}, {112, 27.1}, {112, 27}}}}}, "geometry", "polygon 1: ring 0 intersects itself", nil},
		{"too wide", Request{Geometry: orb.LineString{{110, 27}, {112.5, 27}}, BufferM: metres(10)}, "geometry", "spans", nil},
		{"too large", Request{Geometry: orb.Polygon{{{110, 0}, {111.9, 0}, {111.9, 1.9}, {110, 1.9}, {110, 0}}}}, "geometry", "km²: at most 10000", nil},
		{"buffered near the pole", Request{Geometry: orb.Point{10, 86}, RadiusM: metres(10)}, "geometry", "within ±85°", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewShape(tc.req)
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) == 0 {
				t.Fatalf("got %v, want an EINVALID problem", err)
			}
			var p *geo.Problem
			for k := range ge.Problems {
				if strings.Contains(ge.Problems[k].Reason, tc.want) {
					p = &ge.Problems[k]
					break
				}
			}
			if p == nil || p.Where != tc.where {
				t.Fatalf("got %v; want %s: …%s…", ge.Problems, tc.where, tc.want)
			}
			if tc.at != nil && (len(p.Location) != 2 || math.Abs(p.Location[0]-tc.at[0]) > 1e-12 || math.Abs(p.Location[1]-tc.at[1]) > 1e-12) {
				t.Errorf("located at %v, want %v", p.Location, tc.at)
			}
		})
	}
}

func TestNewShape_valid(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	tests := []struct {
		name string
		req  Request
	}{
		{"hole touching the shell at a vertex", Request{Geometry: orb.Polygon{
			{{112, 27}, {112.2, 27}, {112.2, 27.2}, {112, 27.2}, {112, 27}},
			{{112, 27}, {112.1, 27.05}, {112.05, 27.1}, {112, 27}}}}},
		{"repeated positions", Request{Geometry: orb.Polygon{{{112, 27}, {112, 27}, {112.1, 27}, {112.1, 27.1}, {112, 27}}}}},
		{"clockwise shell", Request{Geometry: orb.Polygon{{{112, 27}, {112, 27.1}, {112.1, 27.1}, {112, 27}}}}},
		{"overlapping parts", Request{Geometry: orb.MultiPolygon{{square(c, 500)}, {square(orb.Point{112.125, 27.26}, 500)}}}},
		{"polygon with a zero buffer", Request{Geometry: orb.Polygon{square(c, 500)}, BufferM: metres(0)}},
		{"self-crossing line", Request{Geometry: orb.LineString{{112.1, 27.2}, {112.2, 27.3}, {112.2, 27.2}, {112.1, 27.3}}, BufferM: metres(30)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := mustShape(t, tc.req)
			if sh.AreaM2 <= 0 {
				t.Errorf("area %v", sh.AreaM2)
			}
		})
	}
	// Overlapping parts count once: two 1 km squares 500 m apart in
	// longitude share a quarter of... half of each.
	sh := mustShape(t, tests[3].req)
	if want := AreaM2(orb.MultiPolygon{{square(c, 500)}}) * 1.5; relErr(sh.AreaM2, want) > 0.01 {
		t.Errorf("overlapping parts: %v m², want about %v", sh.AreaM2, want)
	}
}

func TestNewShape_tooLarge(t *testing.T) {
	c := orb.Point{112.12, 27.26}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"too many positions", Request{Geometry: blob(MaxPositions+1, c, 0.05, 1)}, "positions: at most"},
		{"too many positions to buffer", Request{Geometry: walk(MaxBufferedPositions+1, c, 0.001, 1), BufferM: metres(10)}, "positions to buffer"},
		{"edges piled up", Request{Geometry: spikes(MaxPositions-1, c, 0.05)}, "too complex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewShape(tc.req)
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Where != "geometry" || !strings.Contains(tl.Reason, tc.want) {
				t.Errorf("got %v, want a TooLargeError …%s…", err, tc.want)
			}
		})
	}
}

// spikes is a star of n vertices around c: n/2 spikes, each the length of
// half the star's radius, which a horizontal line crosses hundreds of
// times.
func spikes(n int, c orb.Point, size float64) orb.Polygon {
	ring := make(orb.Ring, 0, n+1)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		d := size * (0.5 + 0.5*float64(k%2))
		ring = append(ring, orb.Point{c[0] + d*math.Cos(a), c[1] + d*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

// TestBuffers_randomAreValid builds buffers of random walks and wiggly
// outlines, narrow and wide, and checks that every one chains into valid
// polygons without dropping a piece.
func TestBuffers_randomAreValid(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	c := orb.Point{112.1, 27.25}
	for k := range 40 {
		n := 3 + r.IntN(150)
		var g orb.Geometry = walk(n, c, 0.0005+0.005*r.Float64(), uint64(k))
		if k%2 == 1 {
			g = blob(n, c, 0.005+0.05*r.Float64(), uint64(k))
		}
		d := []float64{1, 10, 50, 200, 1000, 5000}[r.IntN(6)]
		mustShape(t, Request{Geometry: g, BufferM: &d})
	}
}
