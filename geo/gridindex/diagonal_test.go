package gridindex

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/robust/robusttest"
)

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
	a, b, _ := robusttest.DyadicEdge(rng)
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
		switch robusttest.RatOrient(a, b, p) {
		case 0:
			want = []int32{0, 1}
			onLine++
		case robusttest.RatOrient(a, b, left):
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
