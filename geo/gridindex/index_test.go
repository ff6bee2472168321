package gridindex

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// sq returns the closed counter-clockwise ring of the axis-aligned square
// [x0, x1] x [y0, y1].
func sq(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

func mp(polys ...orb.Polygon) orb.MultiPolygon { return orb.MultiPolygon(polys) }

// Fixtures.
var (
	// fourSquares is a 2x2 block of unit squares:
	//
	//	2 +---+---+
	//	  | 2 | 3 |
	//	1 +---+---+
	//	  | 0 | 1 |
	//	0 +---+---+
	//	  0   1   2
	fourSquares = []orb.MultiPolygon{
		mp(orb.Polygon{sq(0, 0, 1, 1)}),
		mp(orb.Polygon{sq(1, 0, 2, 1)}),
		mp(orb.Polygon{sq(0, 1, 1, 2)}),
		mp(orb.Polygon{sq(1, 1, 2, 2)}),
	}

	// holeFilled is a square with a square hole and a second grid filling
	// the hole exactly:
	//
	//	3 +-----------+
	//	  |     0     |
	//	2 |   +---+   |
	//	  |   | 1 |   |
	//	1 |   +---+   |
	//	  |           |
	//	0 +-----------+
	//	  0   1   2   3
	holeFilled = []orb.MultiPolygon{
		mp(orb.Polygon{sq(0, 0, 3, 3), reversed(sq(1, 1, 2, 2))}),
		mp(orb.Polygon{sq(1, 1, 2, 2)}),
	}

	// holeEmpty is the same holed square with nothing in the hole.
	holeEmpty = holeFilled[:1]

	// multi: grid 0 is two squares with grid 1 between them.
	//
	//	1 +---+---+---+
	//	  | 0 | 1 | 0 |
	//	0 +---+---+---+
	//	  0   1   2   3
	multi = []orb.MultiPolygon{
		mp(orb.Polygon{sq(0, 0, 1, 1)}, orb.Polygon{sq(2, 0, 3, 1)}),
		mp(orb.Polygon{sq(1, 0, 2, 1)}),
	}

	// apart: two squares two units apart; (1.5, 0.5) is equally far from
	// both.
	//
	//	1 +---+   +---+
	//	  | 0 |   | 1 |
	//	0 +---+   +---+
	//	  0   1   2   3
	apart = []orb.MultiPolygon{
		mp(orb.Polygon{sq(0, 0, 1, 1)}),
		mp(orb.Polygon{sq(2, 0, 3, 1)}),
	}
)

func reversed(r orb.Ring) orb.Ring {
	out := slices.Clone(r)
	slices.Reverse(out)
	return out
}

// metres from p to the segment a-b, as the index should report it.
func dist(p, a, b orb.Point) float64 { return spheroid.PointSegmentDistance(p, a, b) }

type locateCase struct {
	name   string
	polys  []orb.MultiPolygon
	p      orb.Point
	tol    float64
	ok     bool
	want   Result
	wantDM float64 // expected DistanceM for Nearest (compared to 1e-9 relative)
}

func locateCases() []locateCase {
	R := func(id int32, m Match, also ...int32) Result {
		if len(also) == 0 {
			also = nil
		}
		return Result{ID: id, Match: m, Also: also}
	}
	return []locateCase{
		// fourSquares
		{name: "strictly inside 0", polys: fourSquares, p: orb.Point{0.5, 0.5}, tol: 200, ok: true, want: R(0, Inside)},
		{name: "strictly inside 3", polys: fourSquares, p: orb.Point{1.5, 1.5}, tol: 200, ok: true, want: R(3, Inside)},
		{name: "inside 1 on the ray through a vertex", polys: fourSquares, p: orb.Point{1.5, 0.999}, ok: true, want: R(1, Inside)},
		{name: "shared vertical edge 0|1", polys: fourSquares, p: orb.Point{1, 0.5}, ok: true, want: R(0, Boundary, 1)},
		{name: "shared horizontal edge 1|3", polys: fourSquares, p: orb.Point{1.5, 1}, ok: true, want: R(1, Boundary, 3)},
		{name: "vertex shared by four", polys: fourSquares, p: orb.Point{1, 1}, ok: true, want: R(0, Boundary, 1, 2, 3)},
		{name: "outer edge of 0 only", polys: fourSquares, p: orb.Point{0, 0.5}, ok: true, want: R(0, Boundary)},
		{name: "outer corner of 3", polys: fourSquares, p: orb.Point{2, 2}, ok: true, want: R(3, Boundary)},
		{name: "outer-edge vertex of 0 and 1", polys: fourSquares, p: orb.Point{1, 0}, ok: true, want: R(0, Boundary, 1)},
		{name: "exterior within tolerance", polys: fourSquares, p: orb.Point{2.001, 0.5}, tol: 200, ok: true,
			want: R(1, Nearest), wantDM: dist(orb.Point{2.001, 0.5}, orb.Point{2, 0}, orb.Point{2, 1})},
		{name: "exterior beyond tolerance", polys: fourSquares, p: orb.Point{2.003, 0.5}, tol: 200},
		{name: "exterior near a corner", polys: fourSquares, p: orb.Point{2.001, 2.001}, tol: 200, ok: true,
			want: R(3, Nearest), wantDM: dist(orb.Point{2.001, 2.001}, orb.Point{2, 2}, orb.Point{2, 2})},
		{name: "exterior nearest a shared vertex: tie to smaller", polys: fourSquares, p: orb.Point{2.001, 1}, tol: 200, ok: true,
			want: R(1, Nearest), wantDM: dist(orb.Point{2.001, 1}, orb.Point{2, 1}, orb.Point{2, 1})},
		{name: "exterior with zero tolerance", polys: fourSquares, p: orb.Point{2.0000001, 0.5}, tol: 0},
		{name: "exterior with NaN tolerance", polys: fourSquares, p: orb.Point{2.0000001, 0.5}, tol: math.NaN()},
		{name: "NaN point", polys: fourSquares, p: orb.Point{math.NaN(), 0.5}, tol: 200},
		{name: "infinite point", polys: fourSquares, p: orb.Point{math.Inf(1), 0.5}, tol: 200},
		{name: "far away", polys: fourSquares, p: orb.Point{100, 50}, tol: 200},

		// holeFilled
		{name: "holed grid's interior", polys: holeFilled, p: orb.Point{0.5, 0.5}, ok: true, want: R(0, Inside)},
		{name: "inside the hole: the filling grid", polys: holeFilled, p: orb.Point{1.5, 1.5}, ok: true, want: R(1, Inside)},
		{name: "hole edge: holed grid and filler", polys: holeFilled, p: orb.Point{1.5, 1}, ok: true, want: R(0, Boundary, 1)},
		{name: "hole vertex: holed grid and filler", polys: holeFilled, p: orb.Point{2, 2}, ok: true, want: R(0, Boundary, 1)},
		{name: "outer edge of holed grid", polys: holeFilled, p: orb.Point{3, 1.5}, ok: true, want: R(0, Boundary)},
		{name: "right of the hole on the hole's top line", polys: holeFilled, p: orb.Point{2.5, 2}, ok: true, want: R(0, Inside)},

		// holeEmpty
		{name: "inside an empty hole: not covered", polys: holeEmpty, p: orb.Point{1.5, 1.5}, tol: 200},
		{name: "inside an empty hole near its edge", polys: holeEmpty, p: orb.Point{1.5, 1.001}, tol: 200, ok: true,
			want: R(0, Nearest), wantDM: dist(orb.Point{1.5, 1.001}, orb.Point{1, 1}, orb.Point{2, 1})},
		{name: "edge of an empty hole", polys: holeEmpty, p: orb.Point{1.5, 1}, ok: true, want: R(0, Boundary)},
		{name: "vertex of an empty hole", polys: holeEmpty, p: orb.Point{1, 2}, ok: true, want: R(0, Boundary)},

		// multi
		{name: "multipolygon first part", polys: multi, p: orb.Point{0.5, 0.5}, ok: true, want: R(0, Inside)},
		{name: "multipolygon second part", polys: multi, p: orb.Point{2.5, 0.5}, ok: true, want: R(0, Inside)},
		{name: "between the parts", polys: multi, p: orb.Point{1.5, 0.5}, ok: true, want: R(1, Inside)},
		{name: "edge between second part and 1", polys: multi, p: orb.Point{2, 0.25}, ok: true, want: R(0, Boundary, 1)},

		// apart
		{name: "gap: nearer to 0", polys: apart, p: orb.Point{1.4, 0.5}, tol: 100e3, ok: true,
			want: R(0, Nearest), wantDM: dist(orb.Point{1.4, 0.5}, orb.Point{1, 0}, orb.Point{1, 1})},
		{name: "gap: nearer to 1", polys: apart, p: orb.Point{1.6, 0.5}, tol: 100e3, ok: true,
			want: R(1, Nearest), wantDM: dist(orb.Point{1.6, 0.5}, orb.Point{2, 0}, orb.Point{2, 1})},
		{name: "gap: tie goes to the smaller ID", polys: apart, p: orb.Point{1.5, 0.5}, tol: 100e3, ok: true,
			want: R(0, Nearest), wantDM: dist(orb.Point{1.5, 0.5}, orb.Point{1, 0}, orb.Point{1, 1})},
		{name: "tie, entries listed the other way round", polys: []orb.MultiPolygon{apart[1], apart[0]}, p: orb.Point{1.5, 0.5}, tol: 100e3, ok: true,
			want: R(0, Nearest), wantDM: dist(orb.Point{1.5, 0.5}, orb.Point{1, 0}, orb.Point{1, 1})},
		{name: "gap: tolerance just short", polys: apart, p: orb.Point{1.5, 0.5}, tol: 0.999 * dist(orb.Point{1.5, 0.5}, orb.Point{1, 0}, orb.Point{1, 1})},
	}
}

// ringVariants rewrites every ring of polys: as given, reversed, unclosed,
// starting at another vertex, and with a duplicated vertex. The answers
// must not change.
var ringVariants = []struct {
	name string
	fn   func(orb.Ring) orb.Ring
}{
	{"as given", func(r orb.Ring) orb.Ring { return r }},
	{"reversed", reversed},
	{"unclosed", func(r orb.Ring) orb.Ring { return r[:len(r)-1] }},
	{"reversed unclosed", func(r orb.Ring) orb.Ring { return reversed(r)[:len(r)-1] }},
	{"rotated start", func(r orb.Ring) orb.Ring {
		open := r[:len(r)-1]
		out := append(slices.Clone(open[2:]), open[:2]...)
		return append(out, out[0])
	}},
	{"duplicated vertex", func(r orb.Ring) orb.Ring {
		return append(orb.Ring{r[0]}, r...)
	}},
}

func mapRings(polys []orb.MultiPolygon, fn func(orb.Ring) orb.Ring) []orb.MultiPolygon {
	out := make([]orb.MultiPolygon, len(polys))
	for i, m := range polys {
		for _, poly := range m {
			var np orb.Polygon
			for _, r := range poly {
				np = append(np, fn(slices.Clone(r)))
			}
			out[i] = append(out[i], np)
		}
	}
	return out
}

func TestLocate(t *testing.T) {
	for _, v := range ringVariants {
		for _, tc := range locateCases() {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				ix, err := New(mapRings(tc.polys, v.fn))
				if err != nil {
					t.Fatal(err)
				}
				got, ok := ix.Locate(tc.p, tc.tol)
				if ok != tc.ok {
					t.Fatalf("Locate(%v, %v) ok = %v, want %v (result %+v)", tc.p, tc.tol, ok, tc.ok, got)
				}
				if !ok {
					if !reflectEqual(got, Result{}) {
						t.Errorf("not ok but result %+v", got)
					}
					return
				}
				gotDM := got.DistanceM
				got.DistanceM = 0
				if !reflectEqual(got, tc.want) {
					t.Errorf("Locate(%v) = %+v, want %+v", tc.p, got, tc.want)
				}
				if tc.want.Match == Nearest {
					if math.Abs(gotDM-tc.wantDM) > 1e-9*tc.wantDM || gotDM <= 0 {
						t.Errorf("DistanceM = %v, want %v", gotDM, tc.wantDM)
					}
				} else if gotDM != 0 {
					t.Errorf("DistanceM = %v, want 0", gotDM)
				}
				// Covering agrees with Locate.
				cov := ix.Covering(tc.p)
				var want []int32
				if tc.want.Match != Nearest {
					want = append([]int32{tc.want.ID}, tc.want.Also...)
				}
				if !slices.Equal(cov, want) {
					t.Errorf("Covering(%v) = %v, want %v", tc.p, cov, want)
				}
			})
		}
	}
}

func reflectEqual(a, b Result) bool {
	return a.ID == b.ID && a.Match == b.Match && a.DistanceM == b.DistanceM && slices.Equal(a.Also, b.Also) && (a.Also == nil) == (b.Also == nil)
}

func TestMatchString(t *testing.T) {
	for m, want := range map[Match]string{Inside: "inside", Boundary: "boundary", Nearest: "nearest", 0: "Match(0)", 9: "Match(9)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", m, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := orb.Polygon{sq(0, 0, 1, 1)}
	tests := []struct {
		name  string
		polys []orb.MultiPolygon
		want  error
	}{
		{"nil multipolygon", []orb.MultiPolygon{nil}, ErrEmptyPolygon},
		{"polygon without rings", []orb.MultiPolygon{{good, orb.Polygon{}}}, ErrEmptyPolygon},
		{"empty ring", []orb.MultiPolygon{{orb.Polygon{orb.Ring{}}}}, ErrDegenerateRing},
		{"one point", []orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}}}}}, ErrDegenerateRing},
		{"two points closed", []orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}, {1, 1}, {0, 0}}}}}, ErrDegenerateRing},
		{"two distinct points repeated", []orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}, {1, 1}, {0, 0}, {1, 1}, {0, 0}}}}}, ErrDegenerateRing},
		{"three points with duplicates", []orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}, {0, 0}, {1, 1}, {1, 1}}}}}, ErrDegenerateRing},
		{"degenerate hole", []orb.MultiPolygon{{orb.Polygon{sq(0, 0, 1, 1), orb.Ring{{0.5, 0.5}, {0.6, 0.6}}}}}, ErrDegenerateRing},
		{"NaN", []orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}, {1, math.NaN()}, {1, 1}}}}}, ErrNonFinite},
		{"+Inf", []orb.MultiPolygon{{good}, {orb.Polygon{orb.Ring{{0, 0}, {math.Inf(1), 0}, {1, 1}}}}}, ErrNonFinite},
		{"-Inf in a hole", []orb.MultiPolygon{{orb.Polygon{sq(0, 0, 1, 1), orb.Ring{{0, 0}, {math.Inf(-1), 0}, {1, 1}}}}}, ErrNonFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := New(tc.polys)
			if !errors.Is(err, tc.want) || ix != nil {
				t.Errorf("New = %v, %v; want error %v", ix, err, tc.want)
			}
		})
	}
}

func TestNewAcceptsDegenerateButDistinct(t *testing.T) {
	// Three distinct collinear points: zero area. PostGIS calls it invalid;
	// the index accepts it, covers its edges and has no interior.
	ix, err := New([]orb.MultiPolygon{{orb.Polygon{orb.Ring{{0, 0}, {1, 0}, {2, 0}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := ix.Locate(orb.Point{1.5, 0}, 0); !ok || r.Match != Boundary {
		t.Errorf("on the flat ring: %+v %v", r, ok)
	}
	if _, ok := ix.Locate(orb.Point{1.5, 1e-9}, 0); ok {
		t.Error("off the flat ring: covered")
	}
}

func TestEmptyIndex(t *testing.T) {
	ix, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 0 || ix.Bound() != (orb.Bound{}) {
		t.Errorf("Len %d Bound %v", ix.Len(), ix.Bound())
	}
	if _, ok := ix.Locate(orb.Point{0, 0}, 1e6); ok {
		t.Error("empty index located a point")
	}
	if c := ix.Covering(orb.Point{0, 0}); c != nil {
		t.Errorf("Covering = %v", c)
	}
}

func TestAccessors(t *testing.T) {
	ix, err := New(holeFilled)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 {
		t.Errorf("Len = %d", ix.Len())
	}
	if want := (orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{3, 3}}); ix.Bound() != want {
		t.Errorf("Bound = %v, want %v", ix.Bound(), want)
	}
	if ix.MemoryBytes() <= 0 {
		t.Errorf("MemoryBytes = %d", ix.MemoryBytes())
	}
	for id, want := range holeFilled {
		if got := ix.Geometry(id); !orb.Equal(got, want) {
			t.Errorf("Geometry(%d) = %v, want %v", id, got, want)
		}
	}
	// Unclosed, duplicated input comes back closed and clean.
	ix, err = New([]orb.MultiPolygon{{{{{0, 0}, {1, 0}, {1, 0}, {1, 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ix.Geometry(0), (orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}); !orb.Equal(got, want) {
		t.Errorf("Geometry = %v, want %v", got, want)
	}
}
