package coverage

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
)

func box(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x1, y1}}.ToPolygon()}
}

// TestCheckLayer_cases: named layers of boxes (in 0.001° units) with the
// findings each must give.
//
//	+---+---+        grids a | b share an edge: nothing
//	| a | b |        c overlaps b by a 1×1 corner
//	+---+-+-+-+      the outline is 0..4 × 0..2: the rest is a gap
//	    | |c  |      c sticks out below the outline
//	    +-+---+
func TestCheckLayer_cases(t *testing.T) {
	u := 0.001
	l := &Layer{
		Outline:  box(0, 0, 4*u, 2*u),
		Villages: []Feature{{Code: "v1", Geometry: box(0, 0, 4*u, 2*u)}},
		Grids: []Feature{
			{Code: "a", Village: "v1", Geometry: box(0, u, 2*u, 2*u)},
			{Code: "b", Village: "v1", Geometry: box(2*u, u, 4*u, 2*u)},
			{Code: "c", Village: "v1", Geometry: box(3*u, -u, 4*u, 1.5*u)},
		},
	}
	fs := CheckLayer(l, LayerOptions{OverlapM2: 0.01, TilingM2: 1})
	cell := AreaM2(box(0, 0, u, u))
	want := []struct {
		kind  geo.FindingKind
		codes []string
		area  float64
	}{
		{geo.FindOverlap, []string{"b", "c"}, cell / 2},
		{geo.FindVillageCrossing, []string{"c"}, cell},
		{geo.FindGap, nil, 3 * cell},
		{geo.FindOutsideTown, nil, cell},
	}
	if len(fs) != len(want) {
		for _, f := range fs {
			t.Log(f.Reason, f.Location)
		}
		t.Fatalf("got %d findings, want %d", len(fs), len(want))
	}
	for i, w := range want {
		f := fs[i]
		if f.Kind != w.kind || math.Abs(f.AreaM2-w.area) > 1e-6*w.area || len(f.Codes) != len(w.codes) {
			t.Errorf("finding %d: got %v %v %.3f (%s), want %v %v %.3f", i, f.Kind, f.Codes, f.AreaM2, f.Reason, w.kind, w.codes, w.area)
		}
		if a := AreaM2(f.Area); math.Abs(a-w.area) > 1e-6*w.area {
			t.Errorf("finding %d: its part has %.3f m², want %.3f", i, a, w.area)
		}
		if newRegion(f.Area).locate(f.Location) != inside {
			t.Errorf("finding %d: location %v is not inside its part", i, f.Location)
		}
	}
}

// TestFixedRegion_cases: invalid rings made valid as ST_MakeValid's
// structure method makes them (areas in square units of 0.001°).
func TestFixedRegion_cases(t *testing.T) {
	u := 0.001
	p := func(x, y float64) orb.Point { return orb.Point{x * u, y * u} }
	cell := AreaM2(box(0, 0, u, u))
	cases := []struct {
		name string
		mp   orb.MultiPolygon
		area float64 // in cells
	}{
		// a figure eight: both loops are kept
		//  |\  /|
		//  | \/ |
		//  | /\ |
		//  |/  \|
		{"bowtie", orb.MultiPolygon{{{p(0, 0), p(2, 2), p(2, 0), p(0, 2), p(0, 0)}}}, 2},
		{"clockwise square", orb.MultiPolygon{{{p(0, 0), p(0, 2), p(2, 2), p(2, 0), p(0, 0)}}}, 4},
		// a square walked twice is one square
		{"square twice", orb.MultiPolygon{{{p(0, 0), p(2, 0), p(2, 2), p(0, 2), p(0, 0), p(2, 0), p(2, 2), p(0, 2), p(0, 0)}}}, 4},
		// a shell touching itself at a vertex: two squares meeting at (1,1)
		{"self-touching", orb.MultiPolygon{{{p(0, 0), p(1, 0), p(1, 1), p(2, 1), p(2, 2), p(1, 2), p(1, 1), p(0, 1), p(0, 0)}}}, 2},
		// a hole sticking out of its shell: cut out where it overlaps
		{"hole outside", orb.MultiPolygon{{{p(0, 0), p(2, 0), p(2, 2), p(0, 2), p(0, 0)}, {p(1, 1), p(3, 1), p(3, 3), p(1, 3), p(1, 1)}}}, 3},
		// overlapping polygons of a multipolygon are merged
		{"overlapping parts", orb.MultiPolygon{box(0, 0, 2*u, 2*u)[0], box(u, u, 3*u, 3*u)[0]}, 7},
		// a spike (an edge that folds back) adds nothing
		{"spike", orb.MultiPolygon{{{p(0, 0), p(2, 0), p(2, 1), p(4, 1), p(2, 1), p(2, 2), p(0, 2), p(0, 0)}}}, 4},
	}
	// A ring of 120 vertices (more than segPairs compares directly, so
	// pairs of edges may be met twice) with a long spike out and back.
	var round, spiked orb.Ring
	for k := 0; k <= 120; k++ {
		a := 2 * math.Pi * float64(k%120) / 120
		round = append(round, p(2+2*math.Cos(a), 2+2*math.Sin(a)))
	}
	spiked = append(spiked, round[:31]...) // up to vertex 30
	spiked = append(spiked, p(2, 6))       // out to the spike's tip
	spiked = append(spiked, round[30:]...) // back to vertex 30, and on
	cases = append(cases, struct {
		name string
		mp   orb.MultiPolygon
		area float64
	}{"long spike on a round ring", orb.MultiPolygon{{spiked}}, AreaM2(orb.MultiPolygon{{round}}) / cell})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := fixedRegion(c.mp)
			got := piecesArea(r.segs()) / cell
			if math.Abs(got-c.area) > 1e-6 {
				t.Errorf("area %.6f cells, want %v", got, c.area)
			}
			mp, dropped := chain(r.segs())
			if dropped != 0 {
				t.Errorf("%d pieces did not chain", dropped)
			}
			if a := AreaM2(mp) / cell; math.Abs(a-c.area) > 1e-6 {
				t.Errorf("chained: %.6f cells, want %v", a, c.area)
			}
		})
	}
}

// TestCheckLayer_roundingSlivers: rows of squares whose top edges are
// 27.01+0.01 = 27.020000000000003 under an outline's 27.02 tile it as far
// as PostGIS can tell (GEOS drops the zero-width slivers between them),
// so CheckLayer finds nothing either, though along geodesics the sliver
// between the outline's one long top edge and the grids' three short
// ones would enclose 156 m² (the long geodesic's bulge).
func TestCheckLayer_roundingSlivers(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
	}
	l := &Layer{Outline: sq(112, 27, 112.03, 27.02)}
	for v := 0; v < 2; v++ {
		vcode := fmt.Sprintf("43132110120%d", v+1)
		l.Villages = append(l.Villages, Feature{Code: vcode, Geometry: sq(112, 27+0.01*float64(v), 112.03, 27.01+0.01*float64(v))})
		for g := 0; g < 3; g++ {
			l.Grids = append(l.Grids, Feature{Code: fmt.Sprintf("%s%03d", vcode, g+1), Village: vcode,
				Geometry: sq(112+0.01*float64(g), 27+0.01*float64(v), 112.01+0.01*float64(g), 27.01+0.01*float64(v))})
		}
	}
	if top := l.Grids[3].Geometry[0][0][2][1]; top == 27.02 {
		t.Fatalf("the grids' top edge is %v: the layer does not exercise the rounding", top)
	}
	if fs := CheckLayer(l, LayerOptions{OverlapM2: 0.01, TilingM2: 1}); len(fs) != 0 {
		t.Errorf("findings on a layer that tiles its outline: %+v", fs)
	}
	// A real part along the same edge is still found: the top row raised
	// by 1e-5° (1.1 m over 3.3 km) sticks out of the outline.
	for i := 3; i < 6; i++ {
		for k := range l.Grids[i].Geometry[0][0] {
			if l.Grids[i].Geometry[0][0][k][1] > 27.015 {
				l.Grids[i].Geometry[0][0][k][1] = 27.02001
			}
		}
	}
	fs := CheckLayer(l, LayerOptions{OverlapM2: 0.01, TilingM2: 1})
	outside := 0
	for _, f := range fs {
		if f.Kind == geo.FindOutsideTown && f.Layer == "grid" {
			outside++
			if f.AreaM2 < 3000 || f.AreaM2 > 4000 {
				t.Errorf("%s: want about 3,300 m²", f.Reason)
			}
		}
	}
	if outside != 1 {
		t.Errorf("%d parts of grids outside the outline, want 1: %+v", outside, fs)
	}
}

// TestNewRegion_edgesAsAppendRing: a region of rings (which refers to
// the input instead of copying it into segs) has the edges appendRing
// lists, in the same order and direction, zero-length ones skipped:
// checks of a layer find the same pieces in the same order either way.
func TestNewRegion_edgesAsAppendRing(t *testing.T) {
	ccw := orb.Ring{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}
	cw := orb.Ring{{1, 1}, {1, 2}, {2, 2}, {2, 2}, {2, 1}} // not closed, a repeated vertex
	island := orb.Ring{{10, 10}, {10, 11}, {11, 11}, {11, 10}, {10, 10}}
	for _, mp := range []orb.MultiPolygon{
		{{ccw}},
		{{ccw.Clone(), cw}},
		{{ccw, orb.Ring{{1, 1}, {2, 1}, {2, 2}, {1, 1}}}, {island}}, // a counter-clockwise hole, a clockwise shell
		{{orb.Ring{{0, 0}, {0, 0}}}},
		{},
	} {
		var want []seg
		for _, poly := range mp {
			for j, ring := range poly {
				want = appendRing(want, ring, (signedArea(ring) > 0) != (j == 0))
			}
		}
		r := newRegion(mp)
		if got := r.segs(); !slices.Equal(got, want) {
			t.Errorf("%v: edges %v, want %v", mp, got, want)
		}
		if r.n() != len(want) {
			t.Errorf("%v: n = %d, want %d", mp, r.n(), len(want))
		}
		for i := range want {
			if r.edge(i) != want[i] {
				t.Errorf("%v: edge %d = %v, want %v", mp, i, r.edge(i), want[i])
			}
		}
	}
}

// TestFixedRegion_validAsGiven: a valid multipolygon of simple shells
// comes out of fixedRegion as a region of its rings, with the edges of
// the shells fixRing returns, in order.
func TestFixedRegion_validAsGiven(t *testing.T) {
	ccw := orb.Ring{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}
	cw := orb.Ring{{10, 10}, {10, 11}, {11, 11}, {11, 10}, {10, 10}}
	for _, mp := range []orb.MultiPolygon{{{ccw}}, {{cw}}, {{ccw}, {cw}}} {
		var want []seg
		for _, poly := range mp {
			shell, simple := fixRing(poly[0])
			if !simple {
				t.Fatalf("%v: not simple", poly[0])
			}
			want = append(want, shell...)
		}
		r := fixedRegion(mp)
		if !r.asGiven || r.at == nil {
			t.Errorf("%v: asGiven %v, a region of rings %v", mp, r.asGiven, r.at != nil)
		}
		if got := r.segs(); !slices.Equal(got, want) {
			t.Errorf("%v: edges %v, want %v", mp, got, want)
		}
	}
}
