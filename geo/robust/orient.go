// Package robust holds exact geometric predicates for float64 coordinates:
// the orientation of three points, decided by a fast float filter and, when
// the filter cannot tell, by exact arithmetic. "On the border" then means
// exactly on it, which is what the lookup index and the coverage clipper
// need to agree with each other and with PostGIS.
package robust

import (
	"math"
	"math/big"

	"github.com/paulmach/orb"
)

const (
	// epsilon is half an ulp of 1: the relative rounding error of one
	// float64 operation.
	epsilon = 0x1p-53
	// ccwErrBoundA is Shewchuk's bound for orient2d's float filter: if
	// |det| > ccwErrBoundA·(|detLeft|+|detRight|), the float determinant has
	// the sign of the exact one (the bound covers the rounding of the four
	// differences, the two products and the subtraction).
	ccwErrBoundA = (3 + 16*epsilon) * epsilon
	// minFilterSum keeps the filter away from underflow, where the relative
	// error model behind ccwErrBoundA does not hold. Lon/lat inputs never get
	// near it (products of coordinate differences of 1e-14 are ~2^-93).
	minFilterSum = 0x1p-900
	// exactPrec is enough bits for every intermediate of the determinant to
	// be exact for any finite float64 inputs: a difference of two float64s
	// spans at most 2^1024..2^-1074 (2099 bits), a product of two such at
	// most 4198 bits, and the final difference 4199.
	exactPrec = 4224
)

// Orient returns the sign of the determinant
//
//	| a.x-c.x  a.y-c.y |
//	| b.x-c.x  b.y-c.y |
//
// computed exactly: +1 if a, b, c turn counter-clockwise (c is left of the
// directed line a->b), -1 if clockwise, 0 if they are collinear. Inputs must
// be finite.
//
// The float filter decides almost every call; the exact path runs only when
// c is on, or within a few ulps of, the line through a and b.
func Orient(a, b, c orb.Point) int {
	acx := a[0] - c[0]
	bcx := b[0] - c[0]
	acy := a[1] - c[1]
	bcy := b[1] - c[1]
	// The explicit conversions round each product to float64 so the
	// compiler may not fuse them into a multiply-add (allowed by the Go
	// spec), which would break the error bound.
	detl := float64(acx * bcy)
	detr := float64(acy * bcx)
	det := detl - detr
	sum := math.Abs(detl) + math.Abs(detr)
	bound := ccwErrBoundA * sum
	// NaN or ±Inf from overflow fail both comparisons and fall through to
	// the exact path.
	if det > bound {
		if sum >= minFilterSum {
			return 1
		}
	} else if -det > bound {
		if sum >= minFilterSum {
			return -1
		}
	}
	// A float difference is zero exactly when the operands are equal
	// (gradual underflow makes small differences exact), so if each product
	// has a zero factor, both exact products are zero. This catches the
	// common degenerate cases cheaply: c on a vertex, or on a horizontal or
	// vertical edge.
	if (acx == 0 || bcy == 0) && (acy == 0 || bcx == 0) {
		return 0
	}
	return OrientExact(a, b, c)
}

// OrientExact is orient in arbitrary precision. It allocates; it only runs
// for nearly collinear inputs.
func OrientExact(a, b, c orb.Point) int {
	var ax, ay, bx, by, cx, cy big.Float
	ax.SetFloat64(a[0])
	ay.SetFloat64(a[1])
	bx.SetFloat64(b[0])
	by.SetFloat64(b[1])
	cx.SetFloat64(c[0])
	cy.SetFloat64(c[1])

	var acx, bcx, acy, bcy, l, r big.Float
	for _, f := range []*big.Float{&acx, &bcx, &acy, &bcy, &l, &r} {
		f.SetPrec(exactPrec)
	}
	acx.Sub(&ax, &cx)
	bcx.Sub(&bx, &cx)
	acy.Sub(&ay, &cy)
	bcy.Sub(&by, &cy)
	l.Mul(&acx, &bcy)
	r.Mul(&acy, &bcx)
	return l.Cmp(&r)
}
