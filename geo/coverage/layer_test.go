package coverage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
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

// TestFixedRegion_compactPieces: a geometry made valid keeps the edges it
// does not cut as references to its rings (4 bytes each instead of a
// seg's 64) and lists only the pieces cut from them; read back, its edges
// are the very pieces of the 64-byte form, in order, and its box and
// bands are theirs: the checks find the same things either way.
func TestFixedRegion_compactPieces(t *testing.T) {
	u := 0.001
	p := func(x, y float64) orb.Point { return orb.Point{x * u, y * u} }
	sq := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1), p(x0, y0)}
	}
	var round orb.Ring
	for k := 0; k <= 120; k++ {
		a := 2 * math.Pi * float64(k%120) / 120
		round = append(round, p(2+2*math.Cos(a), 2+2*math.Sin(a)))
	}
	cases := []struct {
		name string
		mp   orb.MultiPolygon
		cut  bool // some pieces are cut from the edges
	}{
		{"bowtie", orb.MultiPolygon{{{p(0, 0), p(2, 2), p(2, 0), p(0, 2), p(0, 0)}}}, true},
		{"square twice", orb.MultiPolygon{{{p(0, 0), p(2, 0), p(2, 2), p(0, 2), p(0, 0), p(2, 0), p(2, 2), p(0, 2), p(0, 0)}}}, false},
		{"clockwise self-touching", orb.MultiPolygon{{{p(0, 0), p(0, 1), p(1, 1), p(1, 2), p(2, 2), p(2, 1), p(1, 1), p(1, 0), p(0, 0)}}}, false},
		{"hole outside", orb.MultiPolygon{{sq(0, 0, 2, 2), sq(1, 1, 3, 3)}}, true},
		{"hole inside, counter-clockwise", orb.MultiPolygon{{sq(0, 0, 4, 4), sq(1, 1, 2, 2)}}, false},
		{"overlapping parts", orb.MultiPolygon{{sq(0, 0, 2, 2)}, {sq(1, 1, 3, 3)}}, true},
		{"parts sharing an edge", orb.MultiPolygon{{sq(0, 0, 1, 1)}, {sq(1, 0, 2, 1)}}, false},
		{"spike, not closed", orb.MultiPolygon{{{p(0, 0), p(2, 0), p(2, 1), p(4, 1), p(2, 1), p(2, 2), p(0, 2)}}}, false},
		{"round ring crossed by a hole, an island apart", orb.MultiPolygon{{round, sq(3, 1, 5, 3)}, {sq(10, 10, 11, 11)}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, asGiven := fixedPieces(c.mp)
			if asGiven {
				t.Fatal("valid as given")
			}
			r := fixedRegion(c.mp)
			if got := r.segs(); !slices.Equal(got, want.edges) {
				t.Fatalf("edges\n%v\nwant\n%v", got, want.edges)
			}
			if r.n() != len(want.edges) || r.box != want.box || !reflect.DeepEqual(r.bands, want.bands) {
				t.Errorf("n %d box %v, want %d %v; bands equal %v", r.n(), r.box, len(want.edges), want.box, reflect.DeepEqual(r.bands, want.bands))
			}
			whole := 0
			for _, e := range want.edges {
				if e.a == e.sa && e.b == e.sb {
					whole++
				}
			}
			if len(r.edges) != len(want.edges)-whole {
				t.Errorf("%d pieces listed, want %d (the %d not whole)", len(r.edges), len(want.edges)-whole, len(want.edges)-whole)
			}
			if (whole < len(want.edges)) != c.cut {
				t.Errorf("%d of %d pieces whole: cut %v, want %v", whole, len(want.edges), whole < len(want.edges), c.cut)
			}
			// The same region computed afresh has the same box and bands.
			fresh := piecesRegion(c.mp, want.edges, nil)
			if !slices.Equal(fresh.segs(), want.edges) || fresh.box != want.box || !reflect.DeepEqual(fresh.bands, want.bands) {
				t.Errorf("piecesRegion without the bands: differs")
			}
		})
	}
}

// TestPiecesRegion_wholeEdgesFound: pieces that are whole edges of the
// geometry refer to its rings whatever their order or direction, repeated
// vertices and points included; pieces of no edge of it are listed.
func TestPiecesRegion_wholeEdgesFound(t *testing.T) {
	ring := orb.Ring{{0, 0}, {4, 0}, {4, 0}, {4, 4}, {2, 2}, {0, 4}, {2, 2}, {0, 2}} // not closed
	mp := orb.MultiPolygon{{ring}, {{{10, 10}, {11, 10}, {11, 11}, {10, 10}}}}
	pieces := []seg{
		whole(orb.Point{0, 4}, orb.Point{2, 2}),                              // reversed, after a repeated point
		whole(orb.Point{0, 2}, orb.Point{0, 0}),                              // the closing edge
		whole(orb.Point{11, 11}, orb.Point{10, 10}),                          // the second polygon
		whole(orb.Point{4, 0}, orb.Point{0, 0}),                              // reversed
		whole(orb.Point{2, 2}, orb.Point{0, 2}),                              // forward, the second vertex at (2, 2)
		{orb.Point{1, 0}, orb.Point{4, 0}, orb.Point{0, 0}, orb.Point{4, 0}}, // cut
		whole(orb.Point{0, 0}, orb.Point{4, 4}),                              // no edge of mp
		whole(orb.Point{4, 0}, orb.Point{4, 0}),                              // zero length, as the repeated vertex
	}
	r := piecesRegion(mp, pieces, nil)
	if got := r.segs(); !slices.Equal(got, pieces) {
		t.Fatalf("edges\n%v\nwant\n%v", got, pieces)
	}
	if len(r.edges) != 2 {
		t.Errorf("%d pieces listed, want 2: %v", len(r.edges), r.edges)
	}
	want := &region{edges: pieces}
	want.finish()
	if r.box != want.box || !reflect.DeepEqual(r.bands, want.bands) {
		t.Errorf("box or bands differ")
	}
}

// TestRegionNear: the edges of a region near a box, found from its bands,
// are those a look at every edge finds, in the same order; so are the
// pieces classify reports of them when it leaves the others out.
func TestRegionNear(t *testing.T) {
	rnd := rand.New(rand.NewPCG(16, 4))
	star := randomStar(rnd, 2000)
	flat := orb.Ring{{0, 0}, {1, 0}, {2, 0}, {0, 0}} // no height: one band
	for _, r := range []*region{newRegion(orb.MultiPolygon{{star}}), newRegion(orb.MultiPolygon{{flat}}), {}} {
		for range 200 {
			x, y := 3*rnd.Float64()-1.5, 3*rnd.Float64()-1.5
			b := orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + rnd.Float64()*rnd.Float64(), y + 0.3*rnd.Float64()*rnd.Float64()}}
			var want []int32
			for i := range r.n() {
				if boxesMeet(r.edge(i), b) {
					want = append(want, int32(i))
				}
			}
			if got := r.near(b, nil, nil); !slices.Equal(got, want) {
				t.Fatalf("box %v: near %v, want %v", b, got, want)
			}
		}
	}
	// classifyNear without all reports the pieces classify reports of the
	// edges near the others, in the same order.
	r := newRegion(orb.MultiPolygon{{star}})
	type piece struct {
		p, q orb.Point
		rel  int8
	}
	for _, o := range []*region{newRegion(box(0.9, -0.2, 2, 0.2)), newRegion(box(-1.6, -0.1, -0.8, 0.1)), newRegion(box(-2, -2, 2, 2))} {
		var want, got []piece
		classify(r, []*region{o}, func(p, q orb.Point, e seg, rel []int8) {
			if boxesMeet(e, o.box) {
				want = append(want, piece{p, q, rel[0]})
			}
		})
		classifyNear(r, []*region{o}, false, func(p, q orb.Point, e seg, rel []int8) {
			got = append(got, piece{p, q, rel[0]})
		})
		if !slices.Equal(got, want) {
			t.Errorf("other %v: %d pieces, want %d", o.box, len(got), len(want))
		}
		if len(want) == 0 {
			t.Errorf("other %v: no pieces", o.box)
		}
	}
}

// TestDifferencesEdges: one split of each boundary against the other gives
// both differences, piece for piece and in order, as differenceEdges does
// with two. The star crosses the boxes, shares no edge with them; the
// boxes share edges (same side, opposite side), lie inside one another,
// apart, or are empty.
//
//	+----+----+     a, b: side by side, an edge in common (opposite)
//	| a  |  b |     c: a's left half (edges along a's, same side)
//	+----+----+     d: inside a, touching nothing; e: far away
func TestDifferencesEdges(t *testing.T) {
	star := randomStar(rand.New(rand.NewPCG(16, 5)), 500)
	regions := map[string]*region{
		"star":       newRegion(orb.MultiPolygon{{star}}),
		"a":          newRegion(box(0, 0, 1, 1)),
		"b":          newRegion(box(1, 0, 2, 1)),
		"c":          newRegion(box(0, 0, 0.5, 1)),
		"d":          newRegion(box(0.2, 0.2, 0.4, 0.4)),
		"e":          newRegion(box(5, 5, 6, 6)),
		"big":        newRegion(box(-2, -2, 2, 2)),
		"made valid": fixedRegion(orb.MultiPolygon{{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}}),
		"empty":      {},
	}
	names := make([]string, 0, len(regions))
	for n := range regions {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, x := range names {
		for _, y := range names {
			a, b := regions[x], regions[y]
			ab, ba := differencesEdges(a, b)
			if want := differenceEdges(a, b); !slices.Equal(ab, want) {
				t.Errorf("%s ∖ %s: %d pieces, want %d (differenceEdges)", x, y, len(ab), len(want))
			}
			if want := differenceEdges(b, a); !slices.Equal(ba, want) {
				t.Errorf("%s ∖ %s: %d pieces, want %d (differenceEdges)", y, x, len(ba), len(want))
			}
		}
	}
}

// randomStar is a closed ring of n vertices around the origin, each at a
// random distance between 1 and 1.5.
func randomStar(rnd *rand.Rand, n int) orb.Ring {
	star := make(orb.Ring, 0, n+1)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		r := 1 + 0.5*rnd.Float64()
		star = append(star, orb.Point{r * math.Cos(a), r * math.Sin(a)})
	}
	return append(star, star[0])
}
