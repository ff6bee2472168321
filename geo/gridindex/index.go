package gridindex

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/paulmach/orb"
)

// These are the errors New wraps; match them with errors.Is. The wrapping
// message names the offending entry, polygon and ring.
var (
	// ErrEmptyPolygon means an entry has no polygons, or a polygon has no
	// rings.
	ErrEmptyPolygon = errors.New("empty polygon")
	// ErrDegenerateRing means a ring has fewer than 3 distinct points.
	ErrDegenerateRing = errors.New("ring has fewer than 3 distinct points")
	// ErrNonFinite means a coordinate is NaN or infinite.
	ErrNonFinite = errors.New("non-finite coordinate")
	// ErrTooLarge means there are more entries, rings or vertices than
	// the index's int32 offsets can address (2^31-1).
	ErrTooLarge = errors.New("too many entries, rings or vertices")
)

// Match says how Locate related a point to the grid it returned.
type Match uint8

const (
	// Inside means the point is strictly inside the grid.
	Inside Match = iota + 1
	// Boundary means the point is on an edge or vertex of the grid (outer
	// ring or hole), and possibly of the others listed in Result.Also.
	Boundary
	// Nearest means no grid covers the point and the grid is the closest
	// one within the tolerance.
	Nearest
)

// String returns "inside", "boundary", "nearest", or "Match(n)" for other
// values.
func (m Match) String() string {
	switch m {
	case Inside:
		return "inside"
	case Boundary:
		return "boundary"
	case Nearest:
		return "nearest"
	}
	return fmt.Sprintf("Match(%d)", uint8(m))
}

// Result is the answer of Locate.
type Result struct {
	// ID is the entry (position in New's input) the point is routed to.
	ID int32
	// Match says why the point was routed to ID.
	Match Match
	// DistanceM is zero unless Match is Nearest; then it is the distance
	// in metres on the WGS-84 spheroid from the point to ID's boundary.
	DistanceM float64
	// Also lists, ascending, the other entries that cover the point when
	// more than one does (in a valid coverage: the point is on a shared
	// boundary). It is nil when only ID covers the point.
	Also []int32
}

// Index is an immutable point-in-polygon index over a set of grids. It is
// safe for concurrent use. See the package documentation for the layout.
//
// Entries are stored in "slot" order: the Hilbert order of the R-tree's
// leaves, so that a leaf, its geometry and its spatial neighbours' geometry
// are close in memory. Slot s in [0, n) holds entry leaves[s].id.
type Index struct {
	n     int
	bound orb.Bound

	// R-tree leaves (see rtree.go): leafSlots padded slots plus a sentinel,
	// whose vstart closes the last entry's vertex range.
	leaves []leaf
	// Internal R-tree nodes: 4 float32s per slot (minX, minY, maxX, maxY,
	// rounded outwards) and the first slot of the child group, which for
	// slots below l1Slots is a group of leaves.
	boxes    []float32
	refs     []int32
	l1Slots  int32
	root     int32 // first slot of the root group
	rootLeaf bool  // the root group is a group of leaves (n <= nodeSize)

	// Geometry, flat, in slot order. Every ring is stored closed (first
	// vertex repeated at the end), so edge i is pts[i]-pts[i+1] for any i
	// that is not the last vertex of a ring. Use ringsOf and ringRange:
	// when every entry has a single ring (nRings == n), ringStart and
	// slotRing are nil, slot s owns ring s and ring r starts at
	// leaves[r].vstart (8 bytes a grid saved on a national layer).
	pts       []orb.Point
	ringStart []int32  // ring r is pts[ringStart[r]:ringStart[r+1]]; len rings+1
	slotRing  []int32  // slot s owns rings slotRing[s]:slotRing[s+1]; len n+1
	exterior  []uint64 // bit r set: ring r starts a new polygon (its shell)
	nRings    int

	// Y-slab edge index for entries with many edges.
	slabOf    []int32 // per slot: index into slabs, or -1; nil when no entry has one
	slabs     []slab
	slabCells []int32 // cell c of slab s lists slabEdges[slabCells[s.cells+c]:slabCells[s.cells+c+1]]
	slabEdges []int32 // an edge is the index of its first vertex in pts

	// Coarse answers before the tree (raster.go): nil when it would not
	// pay; farKx is newFarScale(bound).
	raster *raster
	farKx  float64

	// Cell directory replacing the tree walk of cover on large layers
	// (directory.go): nil when not built.
	dir *directory
}

// leaf is an R-tree leaf: an entry's bounding box, with what a lookup needs
// next in the same cache lines, saving two dependent memory loads per
// candidate on large indexes. The box is float32 rounded outwards (it only
// filters candidates; the point-in-polygon test is exact), which makes a
// group of 16 leaves six cache lines instead of ten.
type leaf struct {
	minX, minY, maxX, maxY float32
	// vstart is the entry's first vertex in pts; its vertices end at the
	// next leaf's vstart.
	vstart int32
	// id is the entry ID, or ^ID (negative) when the entry has several
	// rings or a slab index and must take the slower general path.
	id int32
}

// slab is the y-slab edge index of one entry: cell c covers the y range
// where int((y-y0)*scale) == c (clamped to [0, k-1]).
type slab struct {
	y0, scale float64
	k         int32
	cells     int32 // offset of the entry's k+1 cell bounds in slabCells
}

// slabThreshold is the number of edges above which an entry gets a y-slab
// index: below it a plain loop over all edges is as fast.
const slabThreshold = 24

// New builds an index over polys; an entry's ID is its position in polys.
// The caller sorts entries by grid code, so a smaller ID means a smaller
// code, which is what Locate's tie-breaks rely on.
//
// Polygons may be MultiPolygons with holes; rings may be closed or not and
// of either orientation (point-in-polygon uses crossing parity, which needs
// neither). Consecutive duplicate points are dropped. New does not check
// that rings are simple, that a multi-polygon's parts are disjoint or that
// grids do not overlap; on such input Locate still answers by crossing
// parity, but PostGIS (which would call the geometry invalid) may disagree.
//
// New returns an error, never panics, for an entry without polygons, a
// polygon without rings, a ring with fewer than 3 distinct points, a
// non-finite coordinate, or more than 2^31-1 entries, rings or vertices. An
// empty polys gives an empty index that locates nothing.
func New(polys []orb.MultiPolygon) (*Index, error) {
	n := len(polys)
	if n >= math.MaxInt32 {
		return nil, ErrTooLarge
	}
	// Pass 1: validate, count and measure, so every slice is allocated
	// once at its final size.
	var nRings, nPts int
	bounds := make([]orb.Bound, n)
	for e, mp := range polys {
		if len(mp) == 0 {
			return nil, fmt.Errorf("gridindex: entry %d: %w", e, ErrEmptyPolygon)
		}
		b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
		for q, poly := range mp {
			if len(poly) == 0 {
				return nil, fmt.Errorf("gridindex: entry %d polygon %d: %w", e, q, ErrEmptyPolygon)
			}
			for r, ring := range poly {
				k, err := checkRing(ring)
				if err != nil {
					return nil, fmt.Errorf("gridindex: entry %d polygon %d ring %d: %w", e, q, r, err)
				}
				nRings++
				nPts += k + 1
				for _, p := range ring {
					b.Min[0], b.Min[1] = min(b.Min[0], p[0]), min(b.Min[1], p[1])
					b.Max[0], b.Max[1] = max(b.Max[0], p[0]), max(b.Max[1], p[1])
				}
			}
		}
		bounds[e] = b
	}
	if nRings >= math.MaxInt32 || nPts >= math.MaxInt32 {
		return nil, ErrTooLarge
	}

	ix := &Index{
		n:        n,
		pts:      make([]orb.Point, 0, nPts),
		exterior: make([]uint64, (nRings+63)/64),
		nRings:   nRings,
	}
	if nRings != n { // some entry has several rings
		ix.ringStart = make([]int32, 0, nRings+1)
		ix.slotRing = make([]int32, 0, n+1)
	}
	order := ix.buildTree(bounds)

	// Pass 2: copy the normalised rings in slot order.
	r := 0
	for s, e := range order {
		if ix.slotRing != nil {
			ix.slotRing = append(ix.slotRing, int32(r))
		}
		ix.leaves[s].vstart = int32(len(ix.pts))
		for _, poly := range polys[e] {
			ix.exterior[r/64] |= 1 << (r % 64)
			for _, ring := range poly {
				if ix.ringStart != nil {
					ix.ringStart = append(ix.ringStart, int32(len(ix.pts)))
				}
				ix.pts = appendRing(ix.pts, ring)
				r++
			}
		}
	}
	if ix.slotRing != nil {
		ix.slotRing = append(ix.slotRing, int32(r))
		ix.ringStart = append(ix.ringStart, int32(len(ix.pts)))
	}
	for s := n; s < len(ix.leaves); s++ {
		ix.leaves[s].vstart = int32(len(ix.pts)) // padding and sentinel
	}

	ix.buildSlabs()
	// Entries the fast path cannot handle: several rings, or a slab index.
	for s := 0; s < n; s++ {
		if r0, r1 := ix.ringsOf(int32(s)); r1-r0 > 1 || (ix.slabOf != nil && ix.slabOf[s] >= 0) {
			ix.leaves[s].id = ^ix.leaves[s].id
		}
	}
	ix.farKx = newFarScale(ix.bound)
	ix.buildRaster() // it locates points with the finished index
	ix.buildDirectory(dirMinEntries)
	return ix, nil
}

// checkRing validates ring and returns its number of vertices after
// dropping consecutive duplicates and the closing point.
func checkRing(ring orb.Ring) (int, error) {
	for _, p := range ring {
		if !finite(p) {
			return 0, fmt.Errorf("%w: %v", ErrNonFinite, p)
		}
	}
	k := 0
	var first, prev orb.Point
	for i, p := range ring {
		if i > 0 && p == prev {
			continue
		}
		if k == 0 {
			first = p
		}
		prev = p
		k++
	}
	if k > 1 && prev == first {
		k--
	}
	// Three distinct points: the first, some other, and a third different
	// from both (A,B,A,B has two).
	if k >= 3 {
		var second orb.Point
		n := 1
		for _, p := range ring {
			if n == 1 && p != first {
				second, n = p, 2
			} else if n == 2 && p != first && p != second {
				return k, nil
			}
		}
	}
	return 0, ErrDegenerateRing
}

// appendRing appends ring to dst without consecutive duplicates and closed.
func appendRing(dst []orb.Point, ring orb.Ring) []orb.Point {
	start := len(dst)
	for _, p := range ring {
		if len(dst) > start && dst[len(dst)-1] == p {
			continue
		}
		dst = append(dst, p)
	}
	if dst[len(dst)-1] != dst[start] {
		dst = append(dst, dst[start])
	}
	return dst
}

func finite(p orb.Point) bool {
	// x-x is NaN for NaN and ±Inf, 0 otherwise.
	return p[0]-p[0] == 0 && p[1]-p[1] == 0
}

// buildSlabs gives every slot with more than slabThreshold edges a y-slab
// edge index.
func (ix *Index) buildSlabs() {
	var big []int32
	for e := 0; e < ix.n; e++ {
		if ix.edgeCount(e) > slabThreshold {
			big = append(big, int32(e))
		}
	}
	if len(big) == 0 {
		return
	}
	ix.slabOf = make([]int32, ix.n)
	for i := range ix.slabOf {
		ix.slabOf[i] = -1
	}
	ix.slabs = make([]slab, 0, len(big))
	var counts []int32
	for _, e := range big {
		ne := ix.edgeCount(int(e))
		// One cell per edge: most edges then overlap one to three cells
		// and a lookup tests a handful of edges (edges along the top
		// and bottom of a grid share the extreme cells). Fewer cells
		// measured slower, more cost memory for little gain.
		k := min(max(ne, 1), 4096)
		b := ix.slotBound(int(e))
		s := slab{y0: b.Min[1], k: int32(k), cells: int32(len(ix.slabCells))}
		if h := b.Max[1] - b.Min[1]; h > 0 {
			s.scale = float64(k) / h
		}
		// Counting sort of the edges into cells. The cell of y is a
		// monotone function of y, so an edge whose closed y range holds
		// p.y is listed in p.y's cell: cells cell(ymin)..cell(ymax).
		counts = append(counts[:0], make([]int32, k+1)...)
		ix.forEdges(int(e), func(i int32) {
			c0, c1 := s.cellRange(ix.pts[i][1], ix.pts[i+1][1])
			for c := c0; c <= c1; c++ {
				counts[c+1]++
			}
		})
		base := int32(len(ix.slabEdges))
		for c := 1; c <= k; c++ {
			counts[c] += counts[c-1]
		}
		for c := 0; c <= k; c++ {
			ix.slabCells = append(ix.slabCells, base+counts[c])
		}
		ix.slabEdges = append(ix.slabEdges, make([]int32, counts[k])...)
		ix.forEdges(int(e), func(i int32) {
			c0, c1 := s.cellRange(ix.pts[i][1], ix.pts[i+1][1])
			for c := c0; c <= c1; c++ {
				ix.slabEdges[base+counts[c]] = i
				counts[c]++
			}
		})
		ix.slabOf[e] = int32(len(ix.slabs))
		ix.slabs = append(ix.slabs, s)
	}
	ix.slabCells = clip(ix.slabCells)
	ix.slabEdges = clip(ix.slabEdges)
}

func clip[T any](s []T) []T { return append(make([]T, 0, len(s)), s...) }

// cell returns the slab cell holding y.
func (s *slab) cell(y float64) int32 {
	c := int32((y - s.y0) * s.scale)
	if c < 0 { // also a guard for y below y0, which the bbox test excludes
		return 0
	}
	if c >= s.k {
		return s.k - 1
	}
	return c
}

func (s *slab) cellRange(y0, y1 float64) (int32, int32) {
	if y0 > y1 {
		y0, y1 = y1, y0
	}
	return s.cell(y0), s.cell(y1)
}

// ringsOf returns the rings of slot s: r0 <= r < r1.
func (ix *Index) ringsOf(s int32) (r0, r1 int32) {
	if ix.slotRing == nil {
		return s, s + 1
	}
	return ix.slotRing[s], ix.slotRing[s+1]
}

// ringRange returns the vertices of ring r: pts[lo:hi], closed. A slot's
// rings are consecutive, so its vertices are pts[ringRange(r0).lo :
// ringRange(r1-1).hi].
func (ix *Index) ringRange(r int32) (lo, hi int32) {
	if ix.ringStart == nil {
		return ix.leaves[r].vstart, ix.leaves[r+1].vstart
	}
	return ix.ringStart[r], ix.ringStart[r+1]
}

// edgeCount returns the number of edges of slot s.
func (ix *Index) edgeCount(s int) int {
	r0, r1 := ix.ringsOf(int32(s))
	lo, _ := ix.ringRange(r0)
	_, hi := ix.ringRange(r1 - 1)
	// Each ring stores one more vertex than it has edges.
	return int(hi-lo) - int(r1-r0)
}

// forEdges calls fn with the first vertex index of every edge of slot s.
func (ix *Index) forEdges(s int, fn func(i int32)) {
	r0, r1 := ix.ringsOf(int32(s))
	for r := r0; r < r1; r++ {
		lo, hi := ix.ringRange(r)
		for i := lo; i < hi-1; i++ {
			fn(i)
		}
	}
}

// slotBound returns the exact bounding box of slot s's vertices.
func (ix *Index) slotBound(s int) orb.Bound {
	r0, r1 := ix.ringsOf(int32(s))
	lo, _ := ix.ringRange(r0)
	_, hi := ix.ringRange(r1 - 1)
	b := orb.Bound{Min: ix.pts[lo], Max: ix.pts[lo]}
	for _, p := range ix.pts[lo+1 : hi] {
		b.Min[0], b.Min[1] = min(b.Min[0], p[0]), min(b.Min[1], p[1])
		b.Max[0], b.Max[1] = max(b.Max[0], p[0]), max(b.Max[1], p[1])
	}
	return b
}

// Len returns the number of entries.
func (ix *Index) Len() int { return ix.n }

// Bound returns the bounding box of all entries (the zero Bound for an
// empty index).
func (ix *Index) Bound() orb.Bound { return ix.bound }

// MemoryBytes estimates the heap the index holds: the sum of its slices'
// capacities times their element sizes, plus the Index header.
func (ix *Index) MemoryBytes() int {
	return int(unsafe.Sizeof(*ix)) +
		cap(ix.pts)*int(unsafe.Sizeof(orb.Point{})) +
		cap(ix.leaves)*int(unsafe.Sizeof(leaf{})) +
		4*(cap(ix.ringStart)+cap(ix.slotRing)+cap(ix.slabOf)+cap(ix.slabCells)+cap(ix.slabEdges)+cap(ix.refs)+cap(ix.boxes)) +
		8*cap(ix.exterior) +
		cap(ix.slabs)*int(unsafe.Sizeof(slab{})) +
		ix.rasterBytes() + ix.dirBytes()
}

// Geometry returns entry id's polygons as stored: every ring closed, with
// consecutive duplicate points removed, in the input orientation. It
// allocates a fresh copy and panics if id is out of range. It is meant for
// tests and diagnostics: it searches the leaves for id (the index keeps no
// ID-to-slot table, 4 bytes a grid that lookups never use).
func (ix *Index) Geometry(id int) orb.MultiPolygon {
	var mp orb.MultiPolygon
	s := ix.slotOfID(int32(id))
	r0, r1 := ix.ringsOf(s)
	for r := r0; r < r1; r++ {
		lo, hi := ix.ringRange(r)
		ring := append(orb.Ring(nil), ix.pts[lo:hi]...)
		if ix.exterior[r/64]&(1<<(r%64)) != 0 {
			mp = append(mp, orb.Polygon{ring})
		} else {
			mp[len(mp)-1] = append(mp[len(mp)-1], ring)
		}
	}
	return mp
}

// slotOfID returns the slot of entry id by a linear search of the leaves;
// it panics if id is out of range.
func (ix *Index) slotOfID(id int32) int32 {
	if id >= 0 && int(id) < ix.n {
		for s := range ix.n {
			if l := ix.leaves[s].id; l == id || l == ^id {
				return int32(s)
			}
		}
	}
	panic(fmt.Sprintf("gridindex: entry %d out of range [0, %d)", id, ix.n))
}
