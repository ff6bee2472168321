package gridindex

import (
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// CoverageOptions tunes JitteredCoverageWith. The zero value gives plain
// axis-aligned rectangles.
type CoverageOptions struct {
	// Jitter is how far a shared lattice vertex may move on each axis, as a
	// fraction of the cell size. It is clamped to [0, 0.24]: below 0.25 every
	// cell stays convex, which keeps the extra edge vertices from crossing.
	// Vertices on the bound's edges move only along it; its corners stay.
	Jitter float64
	// MaxEdgeVertices is the most extra vertices inserted along one lattice
	// edge; each edge gets a deterministic count in [0, MaxEdgeVertices],
	// so a cell has 4 + 2·MaxEdgeVertices vertices on average. Extra vertices
	// on interior edges are pushed sideways by up to 3% of the edge (small
	// enough that a convex cell's edges cannot cross); on the bound's edges
	// they stay on it.
	MaxEdgeVertices int
	// HoleBlocks replaces 3x3 blocks of cells in a checkerboard of blocks
	// (block column + block row even) by two grids: the block with its
	// centre cell cut out as a hole, and the centre cell itself.
	HoleBlocks bool
}

// JitteredCoverage returns an nx×ny lattice of quadrilateral grids that
// tiles bound exactly, with Jitter 0.2 and MaxEdgeVertices 3 (about ten
// vertices per grid). Grids are in row-major order from bound.Min (x
// fastest). Neighbours share bit-identical vertices along their common
// edges, so the cells have no gaps or overlaps. The same arguments always
// give the same result (math/rand/v2 PCG streams keyed by seed and lattice
// position). Rings are closed and counter-clockwise.
func JitteredCoverage(nx, ny int, bound orb.Bound, seed uint64) []orb.MultiPolygon {
	return JitteredCoverageWith(nx, ny, bound, seed, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3})
}

// JitteredCoverageWith is JitteredCoverage with explicit options. With
// HoleBlocks the result has fewer than nx·ny entries; each holed block is
// emitted at its lower-left cell's position and its centre cell at the
// centre's.
func JitteredCoverageWith(nx, ny int, bound orb.Bound, seed uint64, opt CoverageOptions) []orb.MultiPolygon {
	if nx <= 0 || ny <= 0 {
		return nil
	}
	g := lattice{nx: nx, ny: ny, b: bound, seed: seed, jitter: min(max(opt.Jitter, 0), 0.24), maxExtra: max(opt.MaxEdgeVertices, 0)}
	g.cw = (bound.Max[0] - bound.Min[0]) / float64(nx)
	g.ch = (bound.Max[1] - bound.Min[1]) / float64(ny)

	// blockAt reports whether cell (i, j) belongs to a holed block and
	// returns its lower-left cell.
	blockAt := func(i, j int) (int, int, bool) {
		if !opt.HoleBlocks {
			return 0, 0, false
		}
		bi, bj := i/3, j/3
		if (bi+bj)%2 != 0 || 3*bi+3 > nx || 3*bj+3 > ny {
			return 0, 0, false
		}
		return 3 * bi, 3 * bj, true
	}

	out := make([]orb.MultiPolygon, 0, nx*ny)
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			i0, j0, ok := blockAt(i, j)
			switch {
			case !ok:
				out = append(out, orb.MultiPolygon{{g.ringAround(i, j, i+1, j+1)}})
			case i == i0 && j == j0:
				shell := g.ringAround(i0, j0, i0+3, j0+3)
				hole := g.ringAround(i0+1, j0+1, i0+2, j0+2)
				hole.Reverse() // clockwise, as OGC expects (the index does not care)
				out = append(out, orb.MultiPolygon{{shell, hole}})
			case i == i0+1 && j == j0+1:
				out = append(out, orb.MultiPolygon{{g.ringAround(i, j, i+1, j+1)}})
			}
		}
	}
	return out
}

type lattice struct {
	nx, ny   int
	b        orb.Bound
	cw, ch   float64 // cell width and height
	seed     uint64
	jitter   float64
	maxExtra int
}

// stream is a PCG random stream for one lattice element.
type stream struct{ pcg rand.PCG }

// rng returns the stream of one lattice element; kind separates vertices,
// horizontal edges and vertical edges. Keying streams by position (rather
// than drawing from one stream in order) makes every element a pure
// function of (seed, kind, i, j).
func (g *lattice) rng(kind, i, j int) *stream {
	s := &stream{}
	s.pcg.Seed(g.seed, uint64(kind)<<60|uint64(i)<<30|uint64(j))
	return s
}

// float returns a uniform float64 in [0, 1).
func (s *stream) float() float64 { return float64(s.pcg.Uint64()>>11) * 0x1p-53 }

// intN returns an int in [0, n); the modulo bias is irrelevant here.
func (s *stream) intN(n int) int { return int(s.pcg.Uint64() % uint64(n)) }

// vertex returns lattice vertex (i, j), 0 <= i <= nx, 0 <= j <= ny. It is a
// pure function of its arguments, which is what makes neighbours' shared
// vertices identical.
func (g *lattice) vertex(i, j int) orb.Point {
	r := g.rng(0, i, j)
	du := (r.float()*2 - 1) * g.jitter
	dv := (r.float()*2 - 1) * g.jitter
	p := orb.Point{g.b.Min[0] + (float64(i)+du)*g.cw, g.b.Min[1] + (float64(j)+dv)*g.ch}
	// Vertices on the bound's edges stay exactly on them.
	switch i {
	case 0:
		p[0] = g.b.Min[0]
	case g.nx:
		p[0] = g.b.Max[0]
	}
	switch j {
	case 0:
		p[1] = g.b.Min[1]
	case g.ny:
		p[1] = g.b.Max[1]
	}
	return p
}

// edge returns the polyline of a lattice edge from its start corner up to,
// not including, its end corner, in canonical direction: horizontal edges
// (kind 1) run from (i, j) to (i+1, j), vertical ones (kind 2) from (i, j)
// to (i, j+1).
func (g *lattice) edge(kind, i, j int) []orb.Point {
	a := g.vertex(i, j)
	var b orb.Point
	var onBound bool
	if kind == 1 {
		b = g.vertex(i+1, j)
		onBound = j == 0 || j == g.ny
	} else {
		b = g.vertex(i, j+1)
		onBound = i == 0 || i == g.nx
	}
	out := make([]orb.Point, 1, 1+g.maxExtra)
	out[0] = a
	if g.maxExtra == 0 {
		return out
	}
	r := g.rng(kind, i, j)
	k := r.intN(g.maxExtra + 1)
	dx, dy := b[0]-a[0], b[1]-a[1]
	// The sideways direction, perpendicular in lattice units.
	ox, oy := -dy/g.ch*g.cw, dx/g.cw*g.ch
	for m := 0; m < k; m++ {
		// Evenly spaced in (0.1, 0.9), so the points are ordered.
		t := 0.1 + 0.8*(float64(m)+0.5)/float64(k)
		h := 0.0
		if !onBound {
			h = (r.float()*2 - 1) * 0.03
		}
		// On a bound edge dx or dy is zero, so the fixed coordinate is
		// copied exactly.
		out = append(out, orb.Point{a[0] + t*dx + h*ox, a[1] + t*dy + h*oy})
	}
	return out
}

// ringAround returns the closed counter-clockwise ring around the block of
// cells [i0, i1) x [j0, j1) along lattice edges.
func (g *lattice) ringAround(i0, j0, i1, j1 int) orb.Ring {
	ring := make(orb.Ring, 0, 2*(i1-i0+j1-j0)*(1+g.maxExtra)+1)
	for i := i0; i < i1; i++ { // bottom, left to right
		ring = append(ring, g.edge(1, i, j0)...)
	}
	for j := j0; j < j1; j++ { // right side, upwards
		ring = append(ring, g.edge(2, i1, j)...)
	}
	for i := i1 - 1; i >= i0; i-- { // top, right to left
		ring = appendReversed(ring, g.edge(1, i, j1), g.vertex(i+1, j1))
	}
	for j := j1 - 1; j >= j0; j-- { // left side, downwards
		ring = appendReversed(ring, g.edge(2, i0, j), g.vertex(i0, j+1))
	}
	return append(ring, ring[0])
}

// appendReversed appends the edge polyline e (start corner first, end
// corner omitted) walked backwards from its end corner: end, then the extra
// vertices in reverse, leaving out the start corner, which the next edge
// supplies.
func appendReversed(ring orb.Ring, e []orb.Point, end orb.Point) orb.Ring {
	ring = append(ring, end)
	for m := len(e) - 1; m >= 1; m-- {
		ring = append(ring, e[m])
	}
	return ring
}
