package gridindex

import (
	"math"
	"unsafe"

	"github.com/paulmach/orb"
)

// The directory replaces the R-tree walk of cover on a layer of many small
// grids (a million, nationally), where the raster is not built. It is a
// uniform grid of cells over the index's bound; a cell lists, as runs of
// consecutive slots, every slot whose leaf box reaches it. A point is then
// tested against the leaves of its cell's runs only: one small table read
// instead of four internal levels of sixteen boxes each, and a dozen leaf
// boxes instead of one or two groups of sixteen.
//
// Which cell a point is in is decided by cellX/cellY, monotone functions of
// the coordinate, and a box is listed in every cell between the cells of its
// corners under the same functions, so every leaf whose box holds the point
// is in the point's cell. A run may also take in a few slots between the
// listed ones (dirGap): their box test rejects the point, as the tree's
// would have.

// directory sizing: cells are about dirCellBoxes mean leaf boxes wide and
// high, and the directory is built for at least dirMinEntries entries.
const (
	dirMinEntries     = 1 << 14
	dirCellBoxes      = 2
	dirGap            = 4
	dirEntriesPerCell = 4
)

type directory struct {
	x0, y0 float64
	sx, sy float64 // cells per degree
	nx, ny int32
	cells  []dirCell // row-major, ny rows of nx
}

// dirCell lists the slots of a cell as up to dirRuns runs: slots
// start[k] <= s < start[k]+int32(n[k]) for k < count. A count of
// dirTree means the cell's slots did not fit: its points take the tree.
// v[k] is the first vertex of run k (leaves[start[k]].vstart): a lookup
// touches the run's vertices while it reads the run's leaves, so the
// vertex array's page walk and first cache lines are no longer a third
// dependent memory access after the leaf. Thirty-two bytes, so a lookup
// reads one cache line of the directory.
type dirCell struct {
	start [dirRuns]int32
	v     [dirRuns]int32
	n     [dirRuns]uint8
	count uint8
	_     [4]byte
}

const (
	dirRuns = 3
	dirTree = 0xff
	// dirMaxScan caps the slots a cell's runs may span.
	dirMaxScan = 64
)

// cellX is the column of x, clamped to the directory; it is monotone in x.
func (d *directory) cellX(x float64) int32 { return dirCellOf((x-d.x0)*d.sx, d.nx) }

// cellY is the row of y, as cellX.
func (d *directory) cellY(y float64) int32 { return dirCellOf((y-d.y0)*d.sy, d.ny) }

// dirCellOf is v truncated and clamped to [0, n-1], clamped before the
// conversion so that a box corner far beyond the bound cannot overflow it.
func dirCellOf(v float64, n int32) int32 {
	if !(v > 0) {
		return 0
	}
	if v >= float64(n-1) {
		return n - 1
	}
	return int32(v)
}

// buildDirectory sets ix.dir for a layer of at least minEntries entries
// without a raster (New passes dirMinEntries; tests force smaller layers).
func (ix *Index) buildDirectory(minEntries int) {
	if ix.n < minEntries || ix.raster != nil {
		return
	}
	b := ix.bound
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if !(w > 0) || !(h > 0) {
		return
	}
	var bw, bh float64
	for s := range ix.n {
		l := &ix.leaves[s]
		bw += float64(l.maxX) - float64(l.minX)
		bh += float64(l.maxY) - float64(l.minY)
	}
	bw, bh = bw/float64(ix.n), bh/float64(ix.n)
	if !(bw > 0) || !(bh > 0) {
		return
	}
	// About dirCellBoxes mean boxes a cell, at most one cell per
	// dirEntriesPerCell entries (dirCell bytes / dirEntriesPerCell a grid).
	nx := max(1, math.Floor(w/(dirCellBoxes*bw)))
	ny := max(1, math.Floor(h/(dirCellBoxes*bh)))
	if limit := float64(ix.n / dirEntriesPerCell); nx*ny > limit {
		f := math.Sqrt(limit / (nx * ny))
		nx, ny = max(1, math.Floor(nx*f)), max(1, math.Floor(ny*f))
	}
	d := &directory{x0: b.Min[0], y0: b.Min[1], sx: nx / w, sy: ny / h, nx: int32(nx), ny: int32(ny)}
	if !(d.sx < math.Inf(1)) || !(d.sy < math.Inf(1)) {
		return
	}
	ncell := int(d.nx) * int(d.ny)

	// Counting sort of (cell, slot) pairs by cell; slots ascend within a
	// cell because they are visited in order.
	count := make([]int32, ncell+1)
	total := 0
	for s := range ix.n {
		i0, i1, j0, j1 := d.span(&ix.leaves[s])
		total += int(i1-i0+1) * int(j1-j0+1)
		if total > 16*ix.n {
			return
		}
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				count[int(j)*int(d.nx)+int(i)+1]++
			}
		}
	}
	for c := 1; c <= ncell; c++ {
		count[c] += count[c-1]
	}
	slots := make([]int32, total)
	next := append([]int32(nil), count[:ncell]...)
	for s := range ix.n {
		i0, i1, j0, j1 := d.span(&ix.leaves[s])
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				c := int(j)*int(d.nx) + int(i)
				slots[next[c]] = int32(s)
				next[c]++
			}
		}
	}

	// Runs: consecutive listed slots, closing gaps of up to dirGap
	// slots, then the closest runs merged until dirRuns are left.
	d.cells = make([]dirCell, ncell)
	var runs []slotRun
	fallback := 0
	for c := range ncell {
		l := slots[count[c]:count[c+1]]
		runs = runs[:0]
		for k := 0; k < len(l); {
			e := k
			for e+1 < len(l) && l[e+1]-l[e] <= dirGap+1 {
				e++
			}
			runs = append(runs, slotRun{l[k], l[e] + 1})
			k = e + 1
		}
		for len(runs) > dirRuns {
			m := 0
			for k := 1; k+1 < len(runs); k++ {
				if runs[k+1].start-runs[k].end < runs[m+1].start-runs[m].end {
					m = k
				}
			}
			runs[m].end = runs[m+1].end
			runs = append(runs[:m+1], runs[m+2:]...)
		}
		cell := &d.cells[c]
		scan := int32(0)
		for _, r := range runs {
			scan += r.end - r.start
		}
		if scan > dirMaxScan {
			cell.count = dirTree
			fallback++
			continue
		}
		for k, r := range runs {
			cell.start[k], cell.n[k] = r.start, uint8(r.end-r.start)
			cell.v[k] = ix.leaves[r.start].vstart
		}
		cell.count = uint8(len(runs))
	}
	if fallback*16 > ncell {
		d.cells = nil
		return
	}
	ix.dir = d
}

// slotRun is the slots [start, end).
type slotRun struct{ start, end int32 }

// span returns the cells a leaf's box reaches: columns i0..i1, rows j0..j1.
func (d *directory) span(l *leaf) (i0, i1, j0, j1 int32) {
	return d.cellX(float64(l.minX)), d.cellX(float64(l.maxX)), d.cellY(float64(l.minY)), d.cellY(float64(l.maxY))
}

// coverDir is cover through the directory; p is within the index's bound.
// done is false when p's cell defers to the tree.
func (ix *Index) coverDir(p orb.Point, dst []int32) (_ []int32, onB, done bool) {
	d := ix.dir
	x, y := p[0], p[1]
	cell := &d.cells[int(d.cellY(y))*int(d.nx)+int(d.cellX(x))]
	if cell.count == dirTree {
		return dst, false, false
	}
	nr := min(int(cell.count), dirRuns)
	// Touch each run's vertices at its start and dirTouch points on (a
	// run of a dozen ten-vertex grids): loads independent of the leaf
	// loads below, so their misses overlap. The result is only compared
	// with a value it cannot have (finite coordinates) to keep the loads.
	touch := uint64(0)
	last := int32(len(ix.pts) - 1)
	for k := range nr {
		v := cell.v[k]
		touch |= math.Float64bits(ix.pts[v][0]) | math.Float64bits(ix.pts[min(v+dirTouch, last)][1])
	}
	for k := range nr {
		for s := cell.start[k]; s < cell.start[k]+int32(cell.n[k]); s++ {
			l := &ix.leaves[s]
			if b2u(x >= float64(l.minX))&b2u(y >= float64(l.minY))&b2u(x <= float64(l.maxX))&b2u(y <= float64(l.maxY)) == 0 {
				continue
			}
			var c int
			id := l.id
			if id >= 0 {
				c = classifyRing(ix.pts[l.vstart:ix.leaves[s+1].vstart], p)
			} else {
				id = ^id
				c = ix.classifySlot(s, p)
			}
			switch c {
			case inside:
				dst = append(dst, id)
			case onBoundary:
				dst = append(dst, id)
				onB = true
			}
		}
	}
	if touch == 1 {
		dirKeep() // rare and harmless
	}
	return dst, onB, true
}

// dirTouch is how far into a run coverDir touches its vertices: 2 KiB.
const dirTouch = 128

// dirKeep does nothing; calling it when the touched bits have one
// arbitrary value keeps the compiler from dropping the touch loads.
//
//go:noinline
func dirKeep() {}

// dirBytes is the directory's share of MemoryBytes.
func (ix *Index) dirBytes() int {
	if ix.dir == nil {
		return 0
	}
	return int(unsafe.Sizeof(*ix.dir)) + int(unsafe.Sizeof(dirCell{}))*cap(ix.dir.cells)
}
