// Package vttest checks decoded vector tiles of a polygon coverage (grids
// that tile a town without gaps or overlaps) for cracks. It is for tests,
// as net/http/httptest is: the checks are exact, on the integer tile
// coordinates an MVT decoder returns, and independent of the encoder.
package vttest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/paulmach/orb"
)

// Report is what CheckCoverage found.
type Report struct {
	// Shared counts edge pieces matched by the reversed piece of exactly
	// one other feature: the edges neighbours share.
	Shared int
	// Outline counts edge pieces that lie on the coverage's outline, in the
	// outline's direction, and belong to exactly one feature.
	Outline int
	// Buffer counts pieces on the buffered tile boundary, which are not
	// checked: they are where clipping cut the polygons.
	Buffer int
	// Cuts counts pairs of opposite pieces within one feature (zero-width
	// slits left where a thin part collapsed on the grid), which cancel.
	Cuts int
	// Problems describe each piece that breaks the rules, sorted.
	Problems []string
}

// Err returns nil when there are no problems, or an error quoting the
// first few.
func (r Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	n := min(len(r.Problems), 8)
	return fmt.Errorf("%d problems, e.g.:\n  %s", len(r.Problems), strings.Join(r.Problems[:n], "\n  "))
}

type pt struct{ x, y int64 }

type piece struct{ a, b pt }

// CheckCoverage checks that features, the polygons of one tile layer as
// decoded (tile coordinates, Polygon or MultiPolygon, one per feature),
// meet without cracks, given outline, the coverage's own outline cut from
// the same tile the same way (nil when the tile lies inside the coverage).
// lo and hi are the buffered tile rectangle's bounds on both axes
// (-buffer and extent+buffer).
//
// The rule is exact. Every ring edge of the features and the outline is
// split at every vertex of any of them that lies on it (integer test), and
// the resulting pieces are directed as their rings run. Pieces on one side
// of the buffered rectangle are skipped, and opposite pieces within one
// feature cancel. Then every piece of a feature must be matched either by
// the reversed piece of exactly one other feature (a shared edge, with
// identical vertices on both sides) or by the same piece of the outline,
// and by nothing else; and every piece of the outline must belong to
// exactly one feature, in the same direction. A crack (neighbours' edges
// that do not coincide), an overlap along an edge, or a gap along the
// outline each leave a piece unmatched.
func CheckCoverage(features []orb.Geometry, outline orb.Geometry, lo, hi int64) Report {
	var rep Report
	const outlineOwner = -1
	owners := make([]int, 0, len(features)+1)
	rings := make([][][]pt, 0, len(features)+1)
	for i, f := range features {
		owners = append(owners, i)
		rings = append(rings, ringsOf(f))
	}
	if outline != nil {
		owners = append(owners, outlineOwner)
		rings = append(rings, ringsOf(outline))
	}
	vertices := newBuckets()
	for _, rs := range rings {
		for _, r := range rs {
			for _, p := range r {
				vertices.add(p)
			}
		}
	}
	onSide := func(p piece) bool {
		return p.a.x == p.b.x && (p.a.x == lo || p.a.x == hi) || p.a.y == p.b.y && (p.a.y == lo || p.a.y == hi)
	}
	// pieces[p] lists the owners of directed piece p, once per occurrence.
	pieces := map[piece][]int{}
	for k, rs := range rings {
		for _, r := range rs {
			for i := range r {
				a, b := r[i], r[(i+1)%len(r)]
				if a == b {
					continue
				}
				for _, p := range vertices.split(a, b) {
					if onSide(p) {
						rep.Buffer++
						continue
					}
					pieces[p] = append(pieces[p], owners[k])
				}
			}
		}
	}
	// Cancel opposite pieces of one owner.
	for p, os := range pieces {
		rev := piece{p.b, p.a}
		if !p.a.less(p.b) {
			continue
		}
		ro, ok := pieces[rev]
		if !ok {
			continue
		}
		for i := 0; i < len(os); i++ {
			if j := indexOf(ro, os[i]); j >= 0 {
				os = append(os[:i], os[i+1:]...)
				ro = append(ro[:j], ro[j+1:]...)
				rep.Cuts++
				i--
			}
		}
		pieces[p], pieces[rev] = os, ro
	}
	for p, os := range pieces {
		rev := pieces[piece{p.b, p.a}]
		for _, o := range os {
			if o == outlineOwner {
				if len(os) != 2 || len(rev) != 0 {
					rep.Problems = append(rep.Problems, fmt.Sprintf("outline piece %v→%v: owners %v, reversed %v; want exactly one feature, same direction", p.a, p.b, os, rev))
				}
				continue
			}
			switch {
			case len(os) == 1 && len(rev) == 1 && rev[0] != outlineOwner:
				rep.Shared++
			case len(os) == 2 && len(rev) == 0 && indexOf(os, outlineOwner) >= 0:
				rep.Outline++
			default:
				rep.Problems = append(rep.Problems, fmt.Sprintf("feature %d piece %v→%v: owners %v, reversed %v; want one neighbour reversed or the outline", o, p.a, p.b, os, rev))
			}
		}
	}
	sort.Strings(rep.Problems)
	return rep
}

func (p pt) less(q pt) bool { return p.x < q.x || p.x == q.x && p.y < q.y }

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// ringsOf returns the rings of a decoded Polygon or MultiPolygon as open
// integer rings.
func ringsOf(g orb.Geometry) [][]pt {
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	}
	var out [][]pt
	for _, poly := range polys {
		for _, r := range poly {
			n := len(r)
			if n > 1 && r[0] == r[n-1] {
				n--
			}
			ring := make([]pt, n)
			for i, p := range r[:n] {
				ring[i] = pt{int64(p[0]), int64(p[1])}
			}
			out = append(out, ring)
		}
	}
	return out
}

// buckets is a set of points hashed into square cells, to find the points
// on a segment quickly.
type buckets struct {
	cells map[pt][]pt
	seen  map[pt]bool
}

const cellSize = 128

func newBuckets() *buckets { return &buckets{cells: map[pt][]pt{}, seen: map[pt]bool{}} }

func cellOf(p pt) pt { return pt{floorDiv(p.x, cellSize), floorDiv(p.y, cellSize)} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (bk *buckets) add(p pt) {
	if bk.seen[p] {
		return
	}
	bk.seen[p] = true
	c := cellOf(p)
	bk.cells[c] = append(bk.cells[c], p)
}

// split returns segment a→b cut at every point of the set strictly inside
// it, as pieces in order from a to b.
func (bk *buckets) split(a, b pt) []piece {
	ca, cb := cellOf(a), cellOf(b)
	var on []pt
	for cx := min(ca.x, cb.x); cx <= max(ca.x, cb.x); cx++ {
		for cy := min(ca.y, cb.y); cy <= max(ca.y, cb.y); cy++ {
			for _, p := range bk.cells[pt{cx, cy}] {
				if p != a && p != b && onSegment(a, b, p) {
					on = append(on, p)
				}
			}
		}
	}
	d := pt{b.x - a.x, b.y - a.y}
	sort.Slice(on, func(i, j int) bool {
		return (on[i].x-a.x)*d.x+(on[i].y-a.y)*d.y < (on[j].x-a.x)*d.x+(on[j].y-a.y)*d.y
	})
	out := make([]piece, 0, len(on)+1)
	prev := a
	for _, p := range on {
		out = append(out, piece{prev, p})
		prev = p
	}
	return append(out, piece{prev, b})
}

// onSegment reports whether p lies on segment a–b (exactly, in integers).
func onSegment(a, b, p pt) bool {
	if (b.x-a.x)*(p.y-a.y)-(b.y-a.y)*(p.x-a.x) != 0 {
		return false
	}
	return min(a.x, b.x) <= p.x && p.x <= max(a.x, b.x) && min(a.y, b.y) <= p.y && p.y <= max(a.y, b.y)
}
