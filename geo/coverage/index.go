package coverage

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// cellGrid is a uniform grid of square cells over a set of items: the boxes
// of whole regions, each listed in every cell its box overlaps, or
// segments, each listed only in the cells it passes through (a long
// diagonal edge then takes a thin line of cells, not the square of its
// box).
type cellGrid struct {
	boxes  []orb.Bound
	min    orb.Point
	cw, ch float64
	nx, ny int
	start  []int32 // cell c holds ids[start[c]:start[c+1]]
	ids    []int32
	// Work lists of the last build, kept for the next (reuse).
	sizes       []float64
	last, next  []int32
	found, ends []int32
}

// maxCells bounds the grid's size whatever the input.
const maxCells = 1 << 20

// newBoxGrid indexes boxes by the cells they overlap.
func newBoxGrid(boxes []orb.Bound) *cellGrid {
	g := newCellGrid(boxes, func(b orb.Bound, side float64) float64 {
		return (math.Floor((b.Max[0]-b.Min[0])/side) + 2) * (math.Floor((b.Max[1]-b.Min[1])/side) + 2)
	})
	g.fill(func(i int, add func(c int)) {
		x0, y0, x1, y1 := g.cells(boxes[i])
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				add(y*g.nx + x)
			}
		}
	})
	return g
}

// newSegGrid indexes segments by the cells they pass through (and, to be
// safe from rounding, the cells within a hair of that).
func newSegGrid(segs []seg) *cellGrid {
	return new(cellGrid).reuse(segs)
}

// reuse makes g newSegGrid(segs), reusing g's lists: classify builds
// one for every polygon it splits.
func (g *cellGrid) reuse(segs []seg) *cellGrid {
	boxes := slices.Grow(g.boxes[:0], len(segs))
	for _, s := range segs {
		boxes = append(boxes, segBound(s.a, s.b))
	}
	g.init(boxes, func(b orb.Bound, side float64) float64 {
		return math.Floor((b.Max[0]-b.Min[0])/side) + math.Floor((b.Max[1]-b.Min[1])/side) + 4
	})
	g.fill(func(i int, add func(c int)) {
		s, b := segs[i], boxes[i]
		x0, x1 := g.cellX(b.Min[0]), g.cellX(b.Max[0])
		dx := s.b[0] - s.a[0]
		for x := x0; x <= x1; x++ {
			// The segment's latitude range within this column.
			ylo, yhi := b.Min[1], b.Max[1]
			if x0 != x1 && dx != 0 {
				cx0 := max(g.min[0]+float64(x)*g.cw, b.Min[0])
				cx1 := min(g.min[0]+float64(x+1)*g.cw, b.Max[0])
				y0 := s.a[1] + (cx0-s.a[0])/dx*(s.b[1]-s.a[1])
				y1 := s.a[1] + (cx1-s.a[0])/dx*(s.b[1]-s.a[1])
				margin := 1e-9*g.ch + 1e-12*(math.Abs(y0)+math.Abs(y1))
				ylo = max(min(y0, y1)-margin, b.Min[1])
				yhi = min(max(y0, y1)+margin, b.Max[1])
			}
			for y := g.cellY(ylo); y <= g.cellY(yhi); y++ {
				add(y*g.nx + x)
			}
		}
	})
	return g
}

// newCellGrid sizes a grid for boxes. Cells are square and about as large
// as the median box, so most items sit in a few cells and, unless they pile
// up, a cell holds a few items; a long edge among short ones spans many
// cells rather than making every cell large. Cells are made larger when
// the items would otherwise be listed more than 16 times each on average
// (entries estimates how many cells an item takes).
func newCellGrid(boxes []orb.Bound, entries func(b orb.Bound, side float64) float64) *cellGrid {
	g := &cellGrid{}
	g.init(boxes, entries)
	return g
}

// init makes g newCellGrid(boxes, entries), reusing its lists.
func (g *cellGrid) init(boxes []orb.Bound, entries func(b orb.Bound, side float64) float64) {
	g.boxes, g.min, g.cw, g.ch, g.nx, g.ny = boxes, orb.Point{}, 0, 0, 1, 1
	if len(boxes) == 0 {
		g.start = append(g.start[:0], 0, 0)
		g.ids = g.ids[:0]
		return
	}
	// The extent, as orb.Bound.Union would grow it (it skips empty
	// boxes), without its calls: this runs for every polygon classify
	// splits.
	all := boxes[0]
	sizes := g.sizes[:0]
	for k, b := range boxes {
		if k > 0 && !(b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1]) {
			all.Min[0], all.Min[1] = min(all.Min[0], b.Min[0]), min(all.Min[1], b.Min[1])
			all.Max[0], all.Max[1] = max(all.Max[0], b.Max[0]), max(all.Max[1], b.Max[1])
		}
		sizes = append(sizes, max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]))
	}
	g.sizes = sizes
	median := nth(sizes, len(sizes)/2)
	n := float64(len(boxes))
	w, h := all.Max[0]-all.Min[0], all.Max[1]-all.Min[1]
	side := max(median, math.Sqrt(w*h/maxCells))
	if side == 0 {
		side = max(w, h) / n // all boxes are points
	}
	for side > 0 {
		total := 0.0
		for _, b := range boxes {
			total += entries(b, side)
		}
		if total <= 16*n || side >= max(w, h) {
			break
		}
		side *= 2
	}
	g.min = all.Min
	if side > 0 {
		g.nx = int(min(math.Ceil(w/side), 4096))
		g.ny = int(min(math.Ceil(h/side), 4096))
	}
	g.nx, g.ny = max(g.nx, 1), max(g.ny, 1)
	// No more cells than maxCells, nor many more than items: empty cells
	// cost memory and time to scan.
	for limit := min(maxCells, 4*len(boxes)+64); g.nx*g.ny > limit; {
		g.nx, g.ny = max(g.nx*3/4, 1), max(g.ny*3/4, 1)
	}
	// Cell sizes that cover the whole extent exactly with nx × ny cells.
	g.cw, g.ch = w/float64(g.nx), h/float64(g.ny)
}

// fill lists each item i in the cells that cells(i, add) adds, once each,
// in increasing order within a cell. Each item's cells are found once and
// kept for the second pass, and add is one closure for all items: a
// closure made per item escaped to the heap, and with the cells found
// twice this was most of the time of building a grid.
func (g *cellGrid) fill(cells func(i int, add func(c int))) {
	n := g.nx * g.ny
	counts := append(g.start[:0], make([]int32, n+1)...)
	last := append(g.last[:0], make([]int32, n)...) // the last item added to a cell, plus one
	g.last = last
	found, ends := g.found[:0], slices.Grow(g.ends[:0], len(g.boxes))
	cur := int32(0)
	add := func(c int) {
		if last[c] != cur {
			last[c] = cur
			counts[c+1]++
			found = append(found, int32(c))
		}
	}
	for i := range g.boxes {
		cur = int32(i) + 1
		cells(i, add)
		ends = append(ends, int32(len(found)))
	}
	g.found, g.ends = found, ends
	for c := 1; c < len(counts); c++ {
		counts[c] += counts[c-1]
	}
	g.start = counts
	g.ids = append(g.ids[:0], make([]int32, counts[len(counts)-1])...)
	fill := append(g.next[:0], counts[:len(counts)-1]...)
	g.next = fill
	from := int32(0)
	for i, end := range ends {
		for _, c := range found[from:end] {
			g.ids[fill[c]] = int32(i)
			fill[c]++
		}
		from = end
	}
}

// nth returns the k-th smallest of xs (0-based), xs[k] once sorted,
// reordering xs: a selection in linear time on average where the grid
// needs only the median size.
func nth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		// Hoare's partition around the middle element.
		p := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// cellX returns the column of x, clamped to the grid.
func (g *cellGrid) cellX(x float64) int {
	if g.cw <= 0 {
		return 0
	}
	i := int((x - g.min[0]) / g.cw)
	return min(max(i, 0), g.nx-1)
}

func (g *cellGrid) cellY(y float64) int {
	if g.ch <= 0 {
		return 0
	}
	i := int((y - g.min[1]) / g.ch)
	return min(max(i, 0), g.ny-1)
}

func (g *cellGrid) cells(b orb.Bound) (x0, y0, x1, y1 int) {
	return g.cellX(b.Min[0]), g.cellY(b.Min[1]), g.cellX(b.Max[0]), g.cellY(b.Max[1])
}

// within returns the items listed in the cells that q overlaps whose boxes
// intersect q, each once, in increasing order.
func (g *cellGrid) within(q orb.Bound) []int32 {
	if len(g.boxes) == 0 {
		return nil
	}
	var out []int32
	x0, y0, x1, y1 := g.cells(q)
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			c := y*g.nx + x
			for _, id := range g.ids[g.start[c]:g.start[c+1]] {
				if g.boxes[id].Intersects(q) {
					out = append(out, id)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pairs calls fn for every pair i < j of items listed in a common cell
// whose boxes intersect: at least once for every pair of segments that
// meet, and possibly more than once for a pair that shares several cells
// (callers must not mind repeats). It gives up, returning false, before
// doing anything, when that means comparing more than limit pairs: items
// piled up in a few cells cost quadratic time, and the callers turn that
// into a "too complex" answer rather than spend it.
func (g *cellGrid) pairs(limit int, fn func(i, j int32)) bool {
	work := 0
	for c := 0; c < g.nx*g.ny; c++ {
		k := int(g.start[c+1] - g.start[c])
		if work += k * (k - 1) / 2; work > limit {
			return false
		}
	}
	for c := 0; c < g.nx*g.ny; c++ {
		ids := g.ids[g.start[c]:g.start[c+1]]
		for k, i := range ids {
			bi := g.boxes[i]
			for _, j := range ids[k+1:] {
				if !bi.Intersects(g.boxes[j]) {
					continue
				}
				if i < j {
					fn(i, j)
				} else {
					fn(j, i)
				}
			}
		}
	}
	return true
}

// smallSet is the number of items up to which comparing all pairs is
// cheaper than building a grid.
const smallSet = 64

// segPairs calls fn for the pairs i < j of segments whose boxes intersect,
// at least once each, like cellGrid.pairs (and gives up the same way).
func segPairs(segs []seg, limit int, fn func(i, j int32)) bool {
	if len(segs) > smallSet {
		return newSegGrid(segs).pairs(limit, fn)
	}
	boxes := make([]orb.Bound, len(segs))
	for i, s := range segs {
		boxes[i] = segBound(s.a, s.b)
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if boxes[i].Intersects(boxes[j]) {
				fn(int32(i), int32(j))
			}
		}
	}
	return true
}

// segBound is the box of the segment a–b.
func segBound(a, b orb.Point) orb.Bound {
	return orb.Bound{Min: orb.Point{min(a[0], b[0]), min(a[1], b[1])},
		Max: orb.Point{max(a[0], b[0]), max(a[1], b[1])}}
}
