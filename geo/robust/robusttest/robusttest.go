// Package robusttest holds test oracles for exact predicates: slow,
// obviously correct rational arithmetic that the fast predicates of
// package robust, and the code built on them, are checked against.
package robusttest

import (
	"math"
	"math/big"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// RatOrient is an independent exact orientation: the sign of
// (b-a) x (c-a) in rational arithmetic.
func RatOrient(a, b, c orb.Point) int {
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	bax := new(big.Rat).Sub(r(b[0]), r(a[0]))
	bay := new(big.Rat).Sub(r(b[1]), r(a[1]))
	cax := new(big.Rat).Sub(r(c[0]), r(a[0]))
	cay := new(big.Rat).Sub(r(c[1]), r(a[1]))
	return new(big.Rat).Mul(bax, cay).Cmp(new(big.Rat).Mul(bay, cax))
}

// DyadicEdge returns a slanted edge a-b and a point p exactly on it: a is a
// multiple of 2^-36 near lon/lat values, the step d has components that are
// multiples of 2^-36, b = a + K·d and p = a + m·d, all exact in float64.
// Float evaluation of robust.Orient gives 0 with a nonzero error bound here, so
// these exercise the exact path's zero.
func DyadicEdge(rng *rand.Rand) (a, b, p orb.Point) {
	const u = 0x1p-36
	a = orb.Point{math.Round((73+rng.Float64()*62)/u) * u, math.Round((18+rng.Float64()*35)/u) * u}
	d := orb.Point{float64(rng.IntN(1<<16)+1) * u, float64(rng.IntN(1<<16)-(1<<15)) * u}
	k := rng.IntN(1<<10) + 2
	m := rng.IntN(k-1) + 1
	b = orb.Point{a[0] + float64(k)*d[0], a[1] + float64(k)*d[1]}
	p = orb.Point{a[0] + float64(m)*d[0], a[1] + float64(m)*d[1]}
	return a, b, p
}
