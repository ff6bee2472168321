package pgstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"wangge/geo"
)

// TestSortGridsByCode holds the cycle-following sort to slices.SortStableFunc
// as the oracle, on shuffles with duplicate codes (ties keep their order).
func TestSortGridsByCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 3, 10, 1000} {
		grids := make([]geo.GridRecord, n)
		for i := range grids {
			grids[i].Code = fmt.Sprintf("431321101%03d%03d", rng.IntN(10), rng.IntN(1+n/3))
			grids[i].Households = i // the original position
		}
		want := slices.Clone(grids)
		slices.SortStableFunc(want, func(a, b geo.GridRecord) int { return strings.Compare(a.Code, b.Code) })
		sortGridsByCode(grids)
		for i := range want {
			if grids[i].Code != want[i].Code || grids[i].Households != want[i].Households {
				t.Fatalf("n=%d: position %d holds %s (was %d), want %s (was %d)", n, i, grids[i].Code, grids[i].Households, want[i].Code, want[i].Households)
			}
		}
	}
}
