package robust

import (
	"math"
	"math/rand/v2"
	"testing"
	"wangge/geo/robust/robusttest"

	"github.com/paulmach/orb"
)

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
		{"decimal diagonal", orb.Point{0.1, 0.1}, orb.Point{0.2, 0.2}, orb.Point{0.3, 0.3}, robusttest.RatOrient(orb.Point{0.1, 0.1}, orb.Point{0.2, 0.2}, orb.Point{0.3, 0.3})},
		{"tiny coordinates (underflowing products)", orb.Point{1e-200, 1e-200}, orb.Point{3e-200, 2e-200}, orb.Point{5e-200, 3e-200}, robusttest.RatOrient(orb.Point{1e-200, 1e-200}, orb.Point{3e-200, 2e-200}, orb.Point{5e-200, 3e-200})},
		{"subnormal offset", orb.Point{0, 0}, orb.Point{1, 1}, orb.Point{0x1p-1074, 0}, -1},
		{"overflowing differences", orb.Point{-1e308, -1e308}, orb.Point{1e308, 1e308}, orb.Point{1e308, 1e308 * (1 - 0x1p-52)}, -1},
		{"overflowing, collinear", orb.Point{-1e308, -1e308}, orb.Point{1e308, 1e308}, orb.Point{0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if want := robusttest.RatOrient(tc.a, tc.b, tc.c); want != tc.want {
				t.Fatalf("test table disagrees with the rational oracle: %d vs %d", tc.want, want)
			}
			if got := Orient(tc.a, tc.b, tc.c); got != tc.want {
				t.Errorf("orient = %d, want %d", got, tc.want)
			}
			// Rotating the arguments keeps the sign; swapping flips it.
			if got := Orient(tc.b, tc.c, tc.a); got != tc.want {
				t.Errorf("Orient(b, c, a) = %d, want %d", got, tc.want)
			}
			if got := Orient(tc.b, tc.a, tc.c); got != -tc.want {
				t.Errorf("Orient(b, a, c) = %d, want %d", got, -tc.want)
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
			a, b, p = robusttest.DyadicEdge(rng)
		}
		for _, q := range []orb.Point{
			p,
			{math.Nextafter(p[0], math.Inf(1)), p[1]},
			{math.Nextafter(p[0], math.Inf(-1)), p[1]},
			{p[0], math.Nextafter(p[1], math.Inf(1))},
			{p[0], math.Nextafter(p[1], math.Inf(-1))},
		} {
			want := robusttest.RatOrient(a, b, q)
			counts[want]++
			if got := Orient(a, b, q); got != want {
				t.Fatalf("Orient(%v, %v, %v) = %d, want %d", a, b, q, got, want)
			}
			if got := Orient(b, a, q); got != -want {
				t.Fatalf("Orient(%v, %v, %v) = %d, want %d", b, a, q, got, -want)
			}
		}
	}
	t.Logf("sign counts: %v", counts)
	if counts[0] == 0 {
		t.Error("no exactly collinear case was generated; the test is too weak")
	}
}

func BenchmarkOrient(b *testing.B) {
	pa, pb, pc := orb.Point{116.1, 39.9}, orb.Point{116.2, 40.0}, orb.Point{116.15, 39.93}
	s := 0
	for b.Loop() {
		s += Orient(pa, pb, pc)
	}
	_ = s
}

func BenchmarkOrientExact(b *testing.B) {
	// c is exactly the midpoint of a slanted edge: the float determinant
	// is 0 with a nonzero error bound, so every call takes the big path.
	pa, pb := orb.Point{116.5, 39.75}, orb.Point{117.25, 40.125}
	pc := orb.Point{(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2}
	if Orient(pa, pb, pc) != 0 || robusttest.RatOrient(pa, pb, pc) != 0 {
		b.Fatal("not collinear")
	}
	s := 0
	for b.Loop() {
		s += Orient(pa, pb, pc)
	}
	_ = s
}
