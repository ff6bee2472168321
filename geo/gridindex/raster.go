package gridindex

import (
	"math"
	"unsafe"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// The raster is a coarse grid of cells over the index's bound (widened by
// rasterMarginM) that answers most points before the R-tree is walked. A
// cell that no edge's box reaches holds no boundary point, so (being a
// rectangle, hence connected) it lies wholly inside or wholly outside every
// entry, and one point of it decides for all:
//
//   - inside exactly one entry: every point of the cell is Inside that
//     entry;
//   - inside none: every point is uncovered, and the cell stores a lower
//     bound of its distance in metres to every edge (from the chessboard
//     distance, in cells, to the nearest cell an edge's box reaches), so a
//     tolerance below it rejects the point at once and any other goes
//     straight to the nearest-grid search.
//
// Every other cell ("mixed") takes the tree path. Which cell a point is in
// is decided by cellX/cellY, monotone functions of the coordinate, and an
// edge's box marks every cell between the cells of its corners under the
// same functions, so no rounding can put a boundary point in a cell the
// raster calls clear.

// Cell values: 0 is mixed; with cellInterior set, the low bits are the ID
// of the entry covering the whole cell; otherwise the value is the float32
// bits of the clearance in metres (> 0) of an uncovered cell.
const cellInterior = 1 << 31

// Raster sizing: up to rasterPerEntry cells per entry and rasterMaxCells
// in all (1 MiB, so it stays in the cache beside the tree's upper levels).
// A raster that decides fewer than 1/rasterMinDecisive of its cells is not
// kept: on a layer of many small grids it would cost a cache miss and save
// nothing.
const (
	rasterPerEntry    = 256
	rasterMaxCells    = 1 << 18
	rasterMinDecisive = 8
)

// farCapM caps the distances the raster and the outline test use: their
// metres-per-degree of longitude hold for any point within farCapM of the
// coverage (see newFarScale), so they decide only tolerances below it.
const farCapM = 100_000

type raster struct {
	x0, y0 float64 // the raster's extent: the index's bound widened by
	x1, y1 float64 // rasterMarginM (at most a quarter of its size)
	sx, sy float64 // cells per degree
	nx, ny int32
	cells  []uint32 // row-major, ny rows of nx

	// slackX, slackY widen a cell's nominal rectangle to hold every point
	// the cell functions put in it (cellRect).
	slackX, slackY float64
	// Candidate lists (nearcell.go): cell c's are nearEdges[near[c]:near[c+1]];
	// near is nil when no lists are kept. rows holds each row's scales.
	near      []uint32
	nearEdges []nearEdge
	rows      []rowScale
}

// rasterMarginM widens the raster beyond the index's bound, so that points
// just outside the coverage (within the usual tolerances) are answered from
// it too; points farther out are rejected by the outline test.
const rasterMarginM = 500

// cellX is the column of x, for x0 <= x <= x1; it is monotone in x.
func (r *raster) cellX(x float64) int32 { return min(int32((x-r.x0)*r.sx), r.nx-1) }

// cellY is the row of y, as cellX.
func (r *raster) cellY(y float64) int32 { return min(int32((y-r.y0)*r.sy), r.ny-1) }

// newFarScale returns metres per degree of longitude that is at most the
// measure's (see lowerBound) for every distance of at most farCapM between
// a point and a point of the coverage: such a distance spans under 0.91° of
// latitude, so the mid-latitude the measure uses is within 0.46° of the
// coverage's latitudes, and the radius of the parallel shrinks with
// |latitude|. It is 0 (no longitude bound) near the poles.
func newFarScale(b orb.Bound) float64 {
	lat := max(math.Abs(b.Min[1]), math.Abs(b.Max[1])) + 1
	if lat >= 90 {
		return 0
	}
	return spheroid.PrimeVerticalRadius(lat) * math.Cos(lat*degree) * degree * (1 - 1e-9)
}

// farFromOutline reports whether p is provably farther than tol metres from
// every entry, judging by the index's bound alone: it costs a few
// multiplications and no trigonometry.
func (ix *Index) farFromOutline(p orb.Point, tol float64) bool {
	if !(tol < farCapM) {
		return false
	}
	lb := lowerBound{x: p[0], y: p[1], kx: ix.farKx, ky: kyMin, abs: 1e-6 * (1 + math.Abs(p[0]) + math.Abs(p[1]))}
	c := lb.cut(tol)
	return lb.box2(ix.bound.Min[0], ix.bound.Min[1], ix.bound.Max[0], ix.bound.Max[1]) > c*c
}

// buildRaster sets ix.raster when a raster decides enough cells.
func (ix *Index) buildRaster() {
	b := ix.bound
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if ix.n == 0 || !(w > 0) || !(h > 0) {
		return
	}
	// The margin: rasterMarginM in degrees (farKx is at most the metres
	// per degree of longitude, so this is at least the margin), at most a
	// quarter of the bound's size so a small layer keeps its resolution.
	mx, my := 0.0, min(rasterMarginM/kyMin, h/4)
	if ix.farKx > 0 {
		mx = min(rasterMarginM/ix.farKx, w/4)
	}
	// The margin gets cells of its own: the bound keeps the resolution
	// of up to rasterPerEntry cells per entry.
	b = orb.Bound{Min: orb.Point{b.Min[0] - mx, b.Min[1] - my}, Max: orb.Point{b.Max[0] + mx, b.Max[1] + my}}
	wb, hb := w, h
	w, h = b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	total := min(float64(rasterPerEntry*ix.n)*(w/wb)*(h/hb), rasterMaxCells)
	nx := int32(max(1, min(math.Round(math.Sqrt(total*w/h)), total)))
	ny := int32(max(1, math.Round(total/float64(nx))))
	r := &raster{x0: b.Min[0], y0: b.Min[1], x1: b.Max[0], y1: b.Max[1], sx: float64(nx) / w, sy: float64(ny) / h, nx: nx, ny: ny}
	if !(r.sx < math.Inf(1)) || !(r.sy < math.Inf(1)) {
		return
	}
	// (x-x0)*sx is within a few ulps of w*sx = nx, so x is within nx·w·2^-51
	// of the cell's nominal rectangle, and x0+i/sx within a few ulps of its
	// magnitude; the slack exceeds both.
	mag := 1 + max(math.Abs(b.Min[0]), math.Abs(b.Max[0]), math.Abs(b.Min[1]), math.Abs(b.Max[1]))
	r.slackX = 1e-12*w + 1e-13*mag
	r.slackY = 1e-12*h + 1e-13*mag
	// A cell must be well inside an entry to decide anything: skip the
	// work when the entries' boxes average under 16 cells (a million
	// small grids).
	area := 0.0
	for s := range ix.n {
		l := &ix.leaves[s]
		area += (float64(l.maxX) - float64(l.minX)) * (float64(l.maxY) - float64(l.minY))
	}
	if area/float64(ix.n) < 16*(w/float64(nx))*(h/float64(ny)) {
		return
	}

	// Chessboard distance in cells to the nearest cell an edge's box
	// reaches: 0 there, filled by two passes of the usual 8-neighbour
	// chamfer, which is exact for this metric.
	const far = math.MaxInt32
	dist := make([]int32, int(nx)*int(ny))
	for i := range dist {
		dist[i] = far
	}
	for s := 0; s < ix.n; s++ {
		ix.forEdges(s, func(i int32) {
			a, c := ix.pts[i], ix.pts[i+1]
			i0, i1 := r.cellX(min(a[0], c[0])), r.cellX(max(a[0], c[0]))
			j0, j1 := r.cellY(min(a[1], c[1])), r.cellY(max(a[1], c[1]))
			for j := j0; j <= j1; j++ {
				row := dist[int(j)*int(nx):]
				for i := i0; i <= i1; i++ {
					row[i] = 0
				}
			}
		})
	}
	at := func(i, j int32) int32 {
		if i < 0 || j < 0 || i >= nx || j >= ny {
			return far
		}
		return dist[int(j)*int(nx)+int(i)]
	}
	relax := func(i, j int32, nb [4][2]int32) {
		d := &dist[int(j)*int(nx)+int(i)]
		for _, o := range nb {
			if v := at(i+o[0], j+o[1]); v != far && v+1 < *d {
				*d = v + 1
			}
		}
	}
	for j := int32(0); j < ny; j++ {
		for i := int32(0); i < nx; i++ {
			relax(i, j, [4][2]int32{{-1, -1}, {0, -1}, {1, -1}, {-1, 0}})
		}
	}
	for j := ny - 1; j >= 0; j-- {
		for i := nx - 1; i >= 0; i-- {
			relax(i, j, [4][2]int32{{1, 1}, {0, 1}, {-1, 1}, {1, 0}})
		}
	}

	// A point of cell column i and one of column i' with |i-i'| >= k are
	// more than (k-1) cell widths apart, less rounding (slack); likewise
	// rows. An edge point is in a cell at chessboard distance >= k.
	cw, ch := w/float64(nx), h/float64(ny)
	slack := 1e-12 * (1 + max(math.Abs(b.Min[0]), math.Abs(b.Max[0]), math.Abs(b.Min[1]), math.Abs(b.Max[1])))
	cells := make([]uint32, len(dist))
	decisive := 0
	var buf [hitBuf]int32
	for j := int32(0); j < ny; j++ {
		for i := int32(0); i < nx; i++ {
			k := dist[int(j)*int(nx)+int(i)]
			if k == 0 {
				continue
			}
			// A point of the cell: its centre, if the cell functions
			// agree (a cell narrower than rounding has none to spare).
			c := orb.Point{r.x0 + (float64(i)+0.5)*cw, r.y0 + (float64(j)+0.5)*ch}
			if r.cellX(c[0]) != i || r.cellY(c[1]) != j {
				continue
			}
			hits, onB := ix.cover(c, buf[:0])
			switch {
			case onB || len(hits) > 1:
				continue // cannot happen without edges; overlaps stay on the tree path
			case len(hits) == 1:
				cells[int(j)*int(nx)+int(i)] = cellInterior | uint32(hits[0])
			default:
				clear := 0.0
				if k != far && k > 1 {
					gx := max(float64(k-1)*cw*(1-1e-6)-slack, 0)
					gy := max(float64(k-1)*ch*(1-1e-6)-slack, 0)
					clear = min(gx*ix.farKx, gy*kyMin, farCapM)
				} else if k == far {
					clear = farCapM
				}
				// Rounded down, and at least the smallest float32 so that
				// the value is not 0 (mixed).
				f := float32(clear)
				if float64(f) > clear {
					f = math.Nextafter32(f, 0)
				}
				cells[int(j)*int(nx)+int(i)] = max(math.Float32bits(f), 1)
			}
			decisive++
		}
	}
	if decisive*rasterMinDecisive < len(cells) {
		return
	}
	r.cells = cells
	ix.buildLists(r, dist)
	ix.raster = r
}

// locateRaster answers p from the raster when its cell is decisive: done
// is false for a mixed cell or a point outside the raster; uncovered is
// true when p is in an uncovered cell whose clearance does not exceed tol
// (so no grid covers p, but one may be within tol).
func (ix *Index) locateRaster(p orb.Point, tol float64) (res Result, ok, done, uncovered bool) {
	r := ix.raster
	x, y := p[0], p[1]
	// Written positively so NaN is refused.
	if !(x >= r.x0 && y >= r.y0 && x <= r.x1 && y <= r.y1) {
		return Result{}, false, false, false
	}
	v := r.cells[int(r.cellY(y))*int(r.nx)+int(r.cellX(x))]
	switch {
	case v == 0:
		return Result{}, false, false, false
	case v&cellInterior != 0:
		return Result{ID: int32(v &^ cellInterior), Match: Inside}, true, true, false
	case !(tol > 0) || tol < float64(math.Float32frombits(v)):
		return Result{}, false, true, false
	}
	return Result{}, false, false, true
}

// rasterBytes is the raster's share of MemoryBytes.
func (ix *Index) rasterBytes() int {
	if ix.raster == nil {
		return 0
	}
	r := ix.raster
	return int(unsafe.Sizeof(*r)) + 4*cap(r.cells) + 4*cap(r.near) +
		int(unsafe.Sizeof(nearEdge{}))*cap(r.nearEdges) + int(unsafe.Sizeof(rowScale{}))*cap(r.rows)
}
