package gridindex

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// The R-tree is a static packed Hilbert R-tree in the style of flatbush:
// entry bounding boxes sorted along a Hilbert curve fill the leaf level in
// groups of nodeSize; each group's union is one slot of the level above, and
// so on up to a single root group. Leaves are an array of structs that also
// carry the entry's ID and vertex offset (one cache-line neighbourhood per
// candidate); internal slots live in two flat arrays (boxes and refs). Every
// level is padded to a multiple of nodeSize with empty boxes (min = +Inf,
// max = -Inf, which contain and intersect nothing), so a group always spans
// exactly nodeSize slots and a search needs no level bounds.

// nodeSize is the fan-out: 16 keeps the tree shallow (five levels for a
// million entries) while a group of internal boxes is four cache lines and
// a group of leaves six.
const nodeSize = 16

// maxStack bounds a search's explicit stack: expanding a group pushes at
// most nodeSize children, the stack holds at most one such batch per
// level, and fewer than 2^31 entries make at most 8 levels.
const maxStack = 9 * nodeSize

// emptyBox contains and intersects nothing.
var emptyBox = orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}

// down and up round v to a float32 no greater, respectively no smaller,
// than v, so a float32 box always contains its float64 original.
func down(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func up(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

func (l *leaf) bound() orb.Bound {
	return orb.Bound{Min: orb.Point{float64(l.minX), float64(l.minY)}, Max: orb.Point{float64(l.maxX), float64(l.maxY)}}
}

func (l *leaf) setBound(b orb.Bound) {
	l.minX, l.minY, l.maxX, l.maxY = down(b.Min[0]), down(b.Min[1]), up(b.Max[0]), up(b.Max[1])
}

// buildTree builds the R-tree over the entries' bounding boxes and returns
// the slot order: order[s] is the entry in slot s. It sets ix.bound and,
// in every leaf, the box and ID (vstart is filled in by New).
func (ix *Index) buildTree(bounds []orb.Bound) []int32 {
	n := len(bounds)
	leafSlots := roundUp(max(n, 1))
	ix.leaves = make([]leaf, leafSlots+1)
	for i := range ix.leaves {
		ix.leaves[i].setBound(emptyBox)
		ix.leaves[i].id = -1
	}
	ix.rootLeaf = true
	if n == 0 {
		return nil
	}

	ix.bound = bounds[0]
	for _, b := range bounds[1:] {
		ix.bound = ix.bound.Union(b)
	}

	// Hilbert order of box centres on a 2^16 grid over the bound. The key
	// packs the curve position above the entry ID so a plain integer sort
	// orders them (ties by ID, deterministically).
	keys := make([]uint64, n)
	w := ix.bound.Max[0] - ix.bound.Min[0]
	h := ix.bound.Max[1] - ix.bound.Min[1]
	for e, b := range bounds {
		var hx, hy uint32
		if w > 0 {
			hx = uint32(0xffff * ((b.Min[0]+b.Max[0])/2 - ix.bound.Min[0]) / w)
		}
		if h > 0 {
			hy = uint32(0xffff * ((b.Min[1]+b.Max[1])/2 - ix.bound.Min[1]) / h)
		}
		keys[e] = uint64(hilbert(min(hx, 0xffff), min(hy, 0xffff)))<<32 | uint64(e)
	}
	slices.Sort(keys)
	order := make([]int32, n)
	for s, k := range keys {
		e := int32(uint32(k))
		order[s] = e
		ix.leaves[s].setBound(bounds[e])
		ix.leaves[s].id = e
	}
	if n <= nodeSize {
		return order // the single leaf group is the root
	}

	// Internal levels, level 1 (parents of leaf groups) first. Each holds
	// one slot per group of the level below, padded to whole groups.
	var sizes []int
	for c := (n + nodeSize - 1) / nodeSize; ; c = (c + nodeSize - 1) / nodeSize {
		sizes = append(sizes, roundUp(c))
		if c <= nodeSize {
			break
		}
	}
	total := 0
	for _, l := range sizes {
		total += l
	}
	ix.boxes = make([]float32, 4*total)
	ix.refs = make([]int32, total)
	for i := 0; i < total; i++ {
		ix.setBox(i, emptyBox)
		ix.refs[i] = -1
	}
	ix.l1Slots = int32(sizes[0])

	// Level 1: slot j is the union of leaf group j.
	for j := 0; j < leafSlots/nodeSize; j++ {
		b := emptyBox
		for i := j * nodeSize; i < (j+1)*nodeSize; i++ {
			b = extend(b, ix.leaves[i].bound())
		}
		ix.setBox(j, b)
		ix.refs[j] = int32(j * nodeSize)
	}
	// Higher levels: slot j is the union of group j of the level below.
	below, start := 0, sizes[0]
	for li := 1; li < len(sizes); li++ {
		for j := 0; j < sizes[li-1]/nodeSize; j++ {
			child := below + j*nodeSize
			b := emptyBox
			for s := child; s < child+nodeSize; s++ {
				b = extend(b, ix.box(s))
			}
			ix.setBox(start+j, b)
			ix.refs[start+j] = int32(child)
		}
		below, start = start, start+sizes[li]
	}
	ix.root = int32(below)
	ix.rootLeaf = false
	return order
}

// extend is a.Union(b) for boxes that may be empty (orb's Union treats an
// inverted box as a point).
func extend(a, b orb.Bound) orb.Bound {
	return orb.Bound{
		Min: orb.Point{min(a.Min[0], b.Min[0]), min(a.Min[1], b.Min[1])},
		Max: orb.Point{max(a.Max[0], b.Max[0]), max(a.Max[1], b.Max[1])},
	}
}

func roundUp(c int) int { return (c + nodeSize - 1) / nodeSize * nodeSize }

// setBox stores internal slot i's box, rounded outwards. Unions of
// float32 values are float32 values, so only leaves actually round.
func (ix *Index) setBox(i int, b orb.Bound) {
	ix.boxes[4*i] = down(b.Min[0])
	ix.boxes[4*i+1] = down(b.Min[1])
	ix.boxes[4*i+2] = up(b.Max[0])
	ix.boxes[4*i+3] = up(b.Max[1])
}

func (ix *Index) box(i int) orb.Bound {
	return orb.Bound{Min: orb.Point{float64(ix.boxes[4*i]), float64(ix.boxes[4*i+1])}, Max: orb.Point{float64(ix.boxes[4*i+2]), float64(ix.boxes[4*i+3])}}
}

// hilbert returns the position of (x, y), both < 2^16, along a Hilbert
// curve filling the 2^16 x 2^16 grid (the branch-free construction used by
// flatbush, after http://threadlocalmutex.com/?p=126).
func hilbert(x, y uint32) uint32 {
	a := x ^ y
	b := 0xffff ^ a
	c := 0xffff ^ (x | y)
	d := x & (y ^ 0xffff)

	A := a | (b >> 1)
	B := (a >> 1) ^ a
	C := ((c >> 1) ^ (b & (d >> 1))) ^ c
	D := ((a & (c >> 1)) ^ (d >> 1)) ^ d

	a, b, c, d = A, B, C, D
	A = (a & (a >> 2)) ^ (b & (b >> 2))
	B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2))
	C ^= (a & (c >> 2)) ^ (b & (d >> 2))
	D ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2))

	a, b, c, d = A, B, C, D
	A = (a & (a >> 4)) ^ (b & (b >> 4))
	B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4))
	C ^= (a & (c >> 4)) ^ (b & (d >> 4))
	D ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4))

	a, b, c, d = A, B, C, D
	C ^= (a & (c >> 8)) ^ (b & (d >> 8))
	D ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8))

	a = C ^ (C >> 1)
	b = D ^ (D >> 1)

	i0 := x ^ y
	i1 := b | (0xffff ^ (i0 | a))

	i0 = (i0 | (i0 << 8)) & 0x00ff00ff
	i0 = (i0 | (i0 << 4)) & 0x0f0f0f0f
	i0 = (i0 | (i0 << 2)) & 0x33333333
	i0 = (i0 | (i0 << 1)) & 0x55555555

	i1 = (i1 | (i1 << 8)) & 0x00ff00ff
	i1 = (i1 | (i1 << 4)) & 0x0f0f0f0f
	i1 = (i1 | (i1 << 2)) & 0x33333333
	i1 = (i1 | (i1 << 1)) & 0x55555555

	return (i1 << 1) | i0
}
