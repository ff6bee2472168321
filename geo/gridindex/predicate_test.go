package gridindex

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// ratOrient is an independent exact orientation: the sign of
// (b-a) x (c-a) in rational arithmetic.
func ratOrient(a, b, c orb.Point) int {
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	bax := new(big.Rat).Sub(r(b[0]), r(a[0]))
	bay := new(big.Rat).Sub(r(b[1]), r(a[1]))
	cax := new(big.Rat).Sub(r(c[0]), r(a[0]))
	cay := new(big.Rat).Sub(r(c[1]), r(a[1]))
	return new(big.Rat).Mul(bax, cay).Cmp(new(big.Rat).Mul(bay, cax))
}

func TestOrientNamed(t *testing.T) {
	tests := []struct {
		name    string
		a, b, c orb.Point
		want    int
	}{
		{"left of an upward edge", orb.Point{0, 0}, orb.Point{0, 1}, orb.Point{-1, 0.5}, 1},
		{"right of an upward edge", orb.Point{0, 0}, orb.Point{0, 1}, orb.Point{1, 0.5}, -1},
		{"on a vertical edge", orb.Point{0, 0}, orb.Point{0, 1}, orb.Point{0, 7}, 0},
		{"on a horizontal edge", orb.Point{0, 3}, orb.Point{1, 3}, orb.Point{-5, 3}, 0},
		{"on a vertex", orb.Point{0.1, 0.2}, orb.Point{0.3, 0.7}, orb.Point{0.1, 0.2}, 0},
		// 0.1, 0.2 and 0.3 are not representable, so whether (0.3, 0.3)
		// is exactly on the line through the other two is for the
		// rational oracle to say.
		{"decimal diagonal", orb.Point{0.1, 0.1}, orb.Point{0.2, 0.2}, orb.Point{0.3, 0.3}, ratOrient(orb.Point{0.1, 0.1}, orb.Point{0.2, 0.2}, orb.Point{0.3, 0.3})},
		{"tiny coordinates (underflowing products)", orb.Point{1e-200, 1e-200}, orb.Point{3e-200, 2e-200}, orb.Point{5e-200, 3e-200}, ratOrient(orb.Point{1e-200, 1e-200}, orb.Point{3e-200, 2e-200}, orb.Point{5e-200, 3e-200})},
		{"subnormal offset", orb.Point{0, 0}, orb.Point{1, 1}, orb.Point{0x1p-1074, 0}, -1},
		{"overflowing differences", orb.Point{-1e308, -1e308}, orb.Point{1e308, 1e308}, orb.Point{1e308, 1e308 * (1 - 0x1p-52)}, -1},
		{"overflowing, collinear", orb.Point{-1e308, -1e308}, orb.Point{1e308, 1e308}, orb.Point{0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if want := ratOrient(tc.a, tc.b, tc.c); want != tc.want {
				t.Fatalf("test table disagrees with the rational oracle: %d vs %d", tc.want, want)
			}
			if got := orient(tc.a, tc.b, tc.c); got != tc.want {
				t.Errorf("orient = %d, want %d", got, tc.want)
			}
			// Rotating the arguments keeps the sign; swapping flips it.
			if got := orient(tc.b, tc.c, tc.a); got != tc.want {
				t.Errorf("orient(b, c, a) = %d, want %d", got, tc.want)
			}
			if got := orient(tc.b, tc.a, tc.c); got != -tc.want {
				t.Errorf("orient(b, a, c) = %d, want %d", got, -tc.want)
			}
		})
	}
}

// TestOrientOnLongDiagonals puts points "on" long slanted edges with
// lon/lat-like coordinates: p = a + t(b-a) computed in float64, which is
// almost never exactly on the line, plus its ulp neighbours. The float
// filter cannot decide these; the exact path must agree with big.Rat.
func TestOrientOnLongDiagonals(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	counts := map[int]int{}
	for i := 0; i < 20000; i++ {
		a := orb.Point{73 + rng.Float64()*62, 18 + rng.Float64()*35}
		b := orb.Point{a[0] + (rng.Float64()*2-1)*2, a[1] + (rng.Float64()*2-1)*2}
		if i%4 == 0 { // short edges too: grid-sized
			b = orb.Point{a[0] + (rng.Float64()*2-1)*1e-3, a[1] + (rng.Float64()*2-1)*1e-3}
		}
		tt := rng.Float64()
		p := orb.Point{a[0] + tt*(b[0]-a[0]), a[1] + tt*(b[1]-a[1])}
		if i%3 == 0 {
			a, b, p = dyadicEdge(rng)
		}
		for _, q := range []orb.Point{
			p,
			{math.Nextafter(p[0], math.Inf(1)), p[1]},
			{math.Nextafter(p[0], math.Inf(-1)), p[1]},
			{p[0], math.Nextafter(p[1], math.Inf(1))},
			{p[0], math.Nextafter(p[1], math.Inf(-1))},
		} {
			want := ratOrient(a, b, q)
			counts[want]++
			if got := orient(a, b, q); got != want {
				t.Fatalf("orient(%v, %v, %v) = %d, want %d", a, b, q, got, want)
			}
			if got := orient(b, a, q); got != -want {
				t.Fatalf("orient(%v, %v, %v) = %d, want %d", b, a, q, got, -want)
			}
		}
	}
	t.Logf("sign counts: %v", counts)
	if counts[0] == 0 {
		t.Error("no exactly collinear case was generated; the test is too weak")
	}
}

// dyadicEdge returns a slanted edge a-b and a point p exactly on it: a is a
// multiple of 2^-36 near lon/lat values, the step d has components that are
// multiples of 2^-36, b = a + K·d and p = a + m·d, all exact in float64.
// Float evaluation of orient gives 0 with a nonzero error bound here, so
// these exercise the exact path's zero.
func dyadicEdge(rng *rand.Rand) (a, b, p orb.Point) {
	const u = 0x1p-36
	a = orb.Point{math.Round((73+rng.Float64()*62)/u) * u, math.Round((18+rng.Float64()*35)/u) * u}
	d := orb.Point{float64(rng.IntN(1<<16)+1) * u, float64(rng.IntN(1<<16)-(1<<15)) * u}
	k := rng.IntN(1<<10) + 2
	m := rng.IntN(k-1) + 1
	b = orb.Point{a[0] + float64(k)*d[0], a[1] + float64(k)*d[1]}
	p = orb.Point{a[0] + float64(m)*d[0], a[1] + float64(m)*d[1]}
	return a, b, p
}

// TestDiagonalEdgeCovering checks whole lookups against the oracle for
// points near the long diagonal a-b shared by two triangles: on the
// diagonal both cover the point, otherwise exactly one does.
//
//	left +-------+ b
//	     |  1  / |
//	     |   /   |
//	     | /  0  |
//	   a +-------+ right
func TestDiagonalEdgeCovering(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	t.Run("decimal endpoints", func(t *testing.T) {
		testDiagonal(t, rng, orb.Point{116.123456789012, 39.987654321098}, orb.Point{117.345678901234, 40.876543210987}, false)
	})
	a, b, _ := dyadicEdge(rng)
	t.Run("dyadic endpoints", func(t *testing.T) { testDiagonal(t, rng, a, b, true) })
}

func testDiagonal(t *testing.T, rng *rand.Rand, a, b orb.Point, dyadic bool) {
	right := orb.Point{b[0], a[1]} // triangle 0: a, right, b (below the diagonal)
	left := orb.Point{a[0], b[1]}  // triangle 1: a, b, left (above it)
	polys := []orb.MultiPolygon{
		{{{a, right, b, a}}},
		{{{a, b, left, a}}},
	}
	ix, err := New(polys)
	if err != nil {
		t.Fatal(err)
	}
	onLine := 0
	for i := 0; i < 20000; i++ {
		tt := rng.Float64()
		if dyadic && i%4 == 0 {
			// A fraction with a small power-of-two denominator keeps
			// a + t(b-a) exact often enough.
			tt = float64(rng.IntN(1024)) / 1024
		}
		p := orb.Point{a[0] + tt*(b[0]-a[0]), a[1] + tt*(b[1]-a[1])}
		if i%2 == 1 {
			p[1] = math.Nextafter(p[1], math.Inf(int(rng.IntN(2))*2-1))
		}
		// Triangle 1 is on the side of the diagonal where its corner
		// "left" is (which side that is depends on b's direction).
		var want []int32
		switch ratOrient(a, b, p) {
		case 0:
			want = []int32{0, 1}
			onLine++
		case ratOrient(a, b, left):
			want = []int32{1}
		default:
			want = []int32{0}
		}
		got := ix.Covering(p)
		if len(got) != len(want) || got[0] != want[0] || (len(want) == 2 && got[1] != want[1]) {
			t.Fatalf("Covering(%v) = %v, want %v", p, got, want)
		}
		r, ok := ix.Locate(p, 0)
		if !ok || r.ID != want[0] || (r.Match == Boundary) != (len(want) == 2) {
			t.Fatalf("Locate(%v) = %+v, %v; want ID %d", p, r, ok, want[0])
		}
	}
	t.Logf("%d of 20000 points exactly on the diagonal", onLine)
	if dyadic && onLine == 0 {
		t.Error("no point exactly on the diagonal; the test is too weak")
	}
}

func BenchmarkOrient(b *testing.B) {
	pa, pb, pc := orb.Point{116.1, 39.9}, orb.Point{116.2, 40.0}, orb.Point{116.15, 39.93}
	s := 0
	for b.Loop() {
		s += orient(pa, pb, pc)
	}
	_ = s
}

func BenchmarkOrientExact(b *testing.B) {
	// c is exactly the midpoint of a slanted edge: the float determinant
	// is 0 with a nonzero error bound, so every call takes the big path.
	pa, pb := orb.Point{116.5, 39.75}, orb.Point{117.25, 40.125}
	pc := orb.Point{(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2}
	if orient(pa, pb, pc) != 0 || ratOrient(pa, pb, pc) != 0 {
		b.Fatal("not collinear")
	}
	s := 0
	for b.Loop() {
		s += orient(pa, pb, pc)
	}
	_ = s
}
