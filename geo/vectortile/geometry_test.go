package vectortile

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// The clip cases run on a 10×10 tile with no buffer: the rectangle is
// 0..10 on both axes, y down. In the pictures, ▒ is the input polygon and
// the frame is the tile.
func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   []ipt
		want []ipt // nil: dropped
		area int64 // twice the area, when want is not given exactly
	}{
		{
			// ┌──────────┐
			// │ ▒▒▒▒     │
			// │ ▒▒▒▒     │
			// └──────────┘
			name: "inside: kept as is",
			in:   []ipt{{2, 2}, {6, 2}, {6, 6}, {2, 6}},
			want: []ipt{{2, 2}, {6, 2}, {6, 6}, {2, 6}},
		},
		{
			// ┌──────────┐
			// │      ▒▒▒▒│▒▒▒▒
			// │      ▒▒▒▒│▒▒▒▒
			// └──────────┘
			name: "across the right side: cut at x=10",
			in:   []ipt{{6, 2}, {14, 2}, {14, 6}, {6, 6}},
			want: []ipt{{6, 2}, {10, 2}, {10, 6}, {6, 6}},
		},
		{
			//  ▒▒▒▒▒▒▒▒▒▒▒▒▒▒
			//  ▒┌──────────┐▒
			//  ▒│          │▒
			//  ▒└──────────┘▒
			//  ▒▒▒▒▒▒▒▒▒▒▒▒▒▒
			name: "covering the tile: the tile's square",
			in:   []ipt{{-5, -5}, {15, -5}, {15, 15}, {-5, 15}},
			want: []ipt{{0, 0}, {10, 0}, {10, 10}, {0, 10}},
		},
		{
			// ┌──────────┐
			// │          │ ▒▒▒
			// └──────────┘
			name: "outside: dropped",
			in:   []ipt{{12, 2}, {16, 2}, {16, 6}, {12, 6}},
		},
		{
			//  ▒▒▒▒▒▒▒▒▒▒▒▒▒▒
			//  ▒┌──────────┐
			//  ▒│          │
			//  ▒└──────────┘
			name: "L around two sides, box over the tile: dropped",
			in:   []ipt{{-4, -4}, {14, -4}, {14, -1}, {-1, -1}, {-1, 14}, {-4, 14}},
		},
		{
			// ┌──────────┐
			// │ ▒▒▒▒▒▒▒▒▒│▒▒▒
			// │          │ ▒
			// │ ▒▒▒▒▒▒▒▒▒│▒▒▒
			// └──────────┘
			// Two bands joined outside the tile: clipped, they stay one
			// ring joined along x=10, which lies in the buffer.
			name: "C-shape joined outside: one ring, bridge on the side",
			in:   []ipt{{2, 2}, {14, 2}, {14, 8}, {2, 8}, {2, 6}, {12, 6}, {12, 4}, {2, 4}},
			area: 2 * (8*2 + 8*2),
		},
		{
			name: "mid-edge and repeated points: dropped",
			in:   []ipt{{2, 2}, {4, 2}, {4, 2}, {6, 2}, {6, 6}, {2, 6}, {2, 4}},
			want: []ipt{{2, 2}, {6, 2}, {6, 6}, {2, 6}},
		},
		{
			//  ▒▒▒▒
			//  ▒▒▒▒───    a zero-width spike
			//  ▒▒▒▒
			name: "spike: dropped with the point it leaves",
			in:   []ipt{{2, 2}, {6, 2}, {6, 4}, {9, 4}, {6, 4}, {6, 6}, {2, 6}},
			want: []ipt{{2, 2}, {6, 2}, {6, 6}, {2, 6}},
		},
		{
			name: "collinear across the ring's start",
			in:   []ipt{{4, 2}, {6, 2}, {6, 6}, {2, 6}, {2, 2}},
			want: []ipt{{6, 2}, {6, 6}, {2, 6}, {2, 2}},
		},
		{
			name: "flat: dropped",
			in:   []ipt{{2, 2}, {6, 2}, {4, 2}},
		},
		{
			name: "all one point: dropped",
			in:   []ipt{{3, 3}, {3, 3}, {3, 3}, {3, 3}},
		},
		{
			// A sliver outside the tile whose crossing points coincide.
			name: "touching the side only: dropped",
			in:   []ipt{{10, 2}, {14, 2}, {14, 6}, {10, 6}},
		},
	}
	f := frame{lo: 0, hi: 10}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scratch{a: slices.Clone(tt.in)}
			got := f.clip(s, true)
			switch {
			case tt.want == nil && tt.area == 0:
				if got != nil {
					t.Fatalf("got %v, want nothing", got)
				}
			case tt.want != nil:
				if !sameRing(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			default:
				if a := area2(got); a != tt.area {
					t.Fatalf("got %v with twice the area %d, want %d", got, a, tt.area)
				}
			}
			for _, p := range got {
				if p.x < f.lo || p.x > f.hi || p.y < f.lo || p.y > f.hi {
					t.Errorf("point %v outside the rectangle", p)
				}
			}
			for i := range got {
				a, b, c := got[i], got[(i+1)%len(got)], got[(i+2)%len(got)]
				if a == b || cross(a, b, c) == 0 {
					t.Errorf("duplicate or collinear points left at %d: %v %v %v", i, a, b, c)
				}
			}
		})
	}
}

// sameRing reports whether a and b are the same cyclic sequence.
func sameRing(a, b []ipt) bool {
	if len(a) != len(b) {
		return false
	}
	for shift := range a {
		ok := true
		for i := range a {
			if a[(i+shift)%len(a)] != b[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestCrossing_sameBothWays: a shared edge, traversed one way by one
// polygon and the other way by its neighbour, crosses a tile side at the
// same point for both, also far from the tile and at high zoom.
func TestCrossing_sameBothWays(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		span := int64(1) << (4 + r.IntN(40))
		c := r.Int64N(span) - span/2
		a := ipt{c - 1 - r.Int64N(span), r.Int64N(2*span) - span}
		b := ipt{c + 1 + r.Int64N(span), r.Int64N(2*span) - span}
		if r.IntN(2) == 0 {
			a.x, b.x = c-r.Int64N(2), c+r.Int64N(2) // on or next to the line
		}
		if a.x > c || b.x < c || a.x == b.x {
			continue
		}
		p, q := crossing(a, b, 0, c), crossing(b, a, 0, c)
		if p != q || p.x != c {
			t.Fatalf("edge %v–%v across x=%d: %v one way, %v the other", a, b, c, p, q)
		}
		// The same edge, transposed, across y=c, both ways.
		at, bt := ipt{a.y, a.x}, ipt{b.y, b.x}
		if p, q := crossing(at, bt, 1, c), crossing(bt, at, 1, c); p != q || p.y != c {
			t.Fatalf("transposed edge %v–%v across y=%d: %v one way, %v the other", at, bt, c, p, q)
		}
		lo, hi := min(a.y, b.y), max(a.y, b.y)
		if p.y < lo || p.y > hi {
			t.Fatalf("edge %v–%v: crossing %v off the segment", a, b, p)
		}
	}
}

// TestSnap_sameVertexSamePointInEveryTile: a vertex lands on the same
// world grid point in each of the tiles around it, so tiles meet without
// seams.
func TestSnap_sameVertexSamePointInEveryTile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	opt := DefaultOptions()
	for range 2000 {
		p := orb.Point{112.05 + 0.14*r.Float64(), 27.20 + 0.13*r.Float64()}
		z := maptile.Zoom(8 + r.IntN(15))
		home := maptile.At(p, z)
		fh := newFrame(home, opt)
		x, y := mercator(p)
		m := mpt{x, y}
		want := fh.snap(m)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				nb := maptile.New(uint32(int(home.X)+dx), uint32(int(home.Y)+dy), z)
				fn := newFrame(nb, opt)
				got := fn.snap(m)
				if got.x+int64(dx)*DefaultExtent != want.x || got.y+int64(dy)*DefaultExtent != want.y {
					t.Fatalf("%v at z%d: %v in %v, %v in %v", p, z, want, home, got, nb)
				}
			}
		}
		if want.x < -1 || want.x > DefaultExtent+1 || want.y < -1 || want.y > DefaultExtent+1 {
			t.Fatalf("%v at z%d: %v is not in its own tile %v", p, z, want, home)
		}
		if !fh.box.intersects(box{x, y, x, y}) {
			t.Fatalf("%v: not in the box %v of its tile", p, fh.box)
		}
	}
}

// TestMercator checks the projection against known values and its
// inverse.
func TestMercator(t *testing.T) {
	for _, tt := range []struct {
		p    orb.Point
		x, y float64
	}{
		{orb.Point{0, 0}, 0.5, 0.5},
		{orb.Point{-180, maxLat}, 0, 0},
		{orb.Point{180, -maxLat}, 1, 1},
		{orb.Point{90, 89.9}, 0.75, 0}, // clamped
	} {
		x, y := mercator(tt.p)
		if math.Abs(x-tt.x) > 1e-12 || math.Abs(y-tt.y) > 1e-12 {
			t.Errorf("mercator(%v) = %v, %v; want %v, %v", tt.p, x, y, tt.x, tt.y)
		}
	}
	p := orb.Point{112.1534423828125, 27.245361328125}
	x, y := mercator(p)
	if q := lonLat(x, y); math.Abs(q[0]-p[0]) > 1e-12 || math.Abs(q[1]-p[1]) > 1e-12 {
		t.Errorf("lonLat(mercator(%v)) = %v", p, q)
	}
}

// lonLat is the inverse of mercator.
func lonLat(x, y float64) orb.Point {
	return orb.Point{(x - 0.5) * 360, math.Atan(math.Sinh(math.Pi*(1-2*y))) * (180 / math.Pi)}
}
