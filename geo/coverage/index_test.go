package coverage

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// TestNth: the selection gives what sorting gives, for every rank, on
// lists with many repeats (grid sizes often repeat) and without.
func TestNth(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 1))
	for _, n := range []int{1, 2, 3, 7, 64, 1000} {
		for _, levels := range []int{1, 3, 1 << 30} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(rnd.IntN(levels))
			}
			sorted := slices.Sorted(slices.Values(xs))
			for k := range n {
				if got := nth(slices.Clone(xs), k); got != sorted[k] {
					t.Fatalf("n %d, %d levels: nth(%d) = %v, want %v", n, levels, k, got, sorted[k])
				}
			}
		}
	}
}

// TestSegGrid_pairs: a grid built for segments and then reused for others
// lists each segment once per cell, in increasing order, and its pairs
// include every pair of segments that meet (brute force, exact).
func TestSegGrid_pairs(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 2))
	var g cellGrid
	for round := range 20 {
		// Short edges of a star and a few long ones across it, on a
		// lattice so that some meet at ends or run along each other.
		star := randomStar(rnd, 50+round*20)
		var segs []seg
		for k := 0; k+1 < len(star); k++ {
			segs = append(segs, whole(star[k], star[k+1]))
		}
		for range 5 {
			a := orb.Point{float64(rnd.IntN(7)-3) / 2, float64(rnd.IntN(7)-3) / 2}
			b := orb.Point{float64(rnd.IntN(7)-3) / 2, float64(rnd.IntN(7)-3) / 2}
			if a != b {
				segs = append(segs, whole(a, b))
			}
		}
		g.reuse(segs)
		for c := 0; c < g.nx*g.ny; c++ {
			ids := g.ids[g.start[c]:g.start[c+1]]
			for k := 1; k < len(ids); k++ {
				if ids[k] <= ids[k-1] {
					t.Fatalf("round %d: cell %d lists %v", round, c, ids)
				}
			}
		}
		found := map[[2]int32]bool{}
		g.pairs(1<<40, func(i, j int32) { found[[2]int32{i, j}] = true })
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				if m, _ := meet(segs[i].a, segs[i].b, segs[j].a, segs[j].b); m != apart && !found[[2]int32{int32(i), int32(j)}] {
					t.Fatalf("round %d: segments %d and %d meet (%d), not paired", round, i, j, m)
				}
			}
		}
	}
}
