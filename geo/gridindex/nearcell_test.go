package gridindex

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// listLayers are coverages whose rasters carry candidate lists: gaps,
// holes and multi-polygons, slab-indexed grids, exact squares with exact
// ties, at Beijing's latitude, in the Arctic and across the equator.
func listLayers() []struct {
	name  string
	polys []orb.MultiPolygon
	gaps  []orb.Point // points at exactly equal distances from two grids
} {
	type layer = struct {
		name  string
		polys []orb.MultiPolygon
		gaps  []orb.Point
	}
	drop := func(all []orb.MultiPolygon, keep func(i int) bool) []orb.MultiPolygon {
		var out []orb.MultiPolygon
		for i, m := range all {
			if keep(i) {
				out = append(out, m)
			}
		}
		return out
	}
	squares := func(b orb.Bound, nx, ny int) layer {
		l := layer{name: "squares"}
		const w = 1.0 / 256
		x0, y0 := math.Floor(b.Min[0]*256)/256, math.Floor(b.Min[1]*256)/256
		for j := range ny {
			for i := range nx {
				x, y := x0+float64(i)*w, y0+float64(j)*w
				if (i+j)%3 == 1 {
					l.gaps = append(l.gaps, orb.Point{x + w/2, y + w/2})
					continue
				}
				l.polys = append(l.polys, mp(orb.Polygon{sq(x, y, x+w, y+w)}))
			}
		}
		return l
	}
	var out []layer
	for _, b := range []orb.Bound{townBound, {Min: orb.Point{25.0, 69.5}, Max: orb.Point{25.1, 69.56}}, {Min: orb.Point{-60.05, -0.03}, Max: orb.Point{-59.95, 0.03}}} {
		out = append(out,
			layer{name: "gappy", polys: drop(JitteredCoverageWith(30, 20, b, 47, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true}), func(i int) bool { return i%5 != 3 && (i%30 < 10 || i/30 > 6) })},
			layer{name: "slabs+multi", polys: mergeSome(drop(JitteredCoverageWith(23, 10, b, 3, CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 18}), func(i int) bool { return i%4 != 1 }))},
			squares(b, 24, 12),
		)
	}
	return out
}

// cellPoints returns points of the raster's cells: random ones, points on
// cell border lines and one ulp either side, and on the raster's edges.
func cellPoints(rng *rand.Rand, r *raster, n int) []orb.Point {
	var pts []orb.Point
	w, h := r.x1-r.x0, r.y1-r.y0
	for k := 0; k < n; k++ {
		p := orb.Point{r.x0 + rng.Float64()*w, r.y0 + rng.Float64()*h}
		switch k % 4 {
		case 1:
			p[0] = r.x0 + float64(rng.IntN(int(r.nx)+1))/r.sx
		case 2:
			p[1] = r.y0 + float64(rng.IntN(int(r.ny)+1))/r.sy
		case 3:
			p = orb.Point{[]float64{r.x0, r.x1}[rng.IntN(2)], []float64{r.y0, r.y1}[rng.IntN(2)]}
		}
		for _, dx := range []float64{-1, 0, 1} {
			q := p
			if dx != 0 {
				q[k%2] = math.Nextafter(q[k%2], dx*math.Inf(1))
			}
			if q[0] >= r.x0 && q[0] <= r.x1 && q[1] >= r.y0 && q[1] <= r.y1 {
				pts = append(pts, q)
			}
		}
	}
	return pts
}

// TestCellRectHoldsItsPoints: every point the cell functions put in a cell,
// including points on cell border lines, one ulp either side and on the
// raster's edges, is in the rectangle the lists' bounds are computed for.
func TestCellRectHoldsItsPoints(t *testing.T) {
	for _, l := range listLayers() {
		ix, err := New(l.polys)
		if err != nil {
			t.Fatal(err)
		}
		r := ix.raster
		if r == nil {
			t.Fatalf("%s: no raster", l.name)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for _, p := range cellPoints(rng, r, 20000) {
			i, j := r.cellX(p[0]), r.cellY(p[1])
			if i < 0 || j < 0 || i >= r.nx || j >= r.ny {
				t.Fatalf("%s: %v in cell (%d, %d) of %d×%d", l.name, p, i, j, r.nx, r.ny)
			}
			if rect := r.cellRect(i, j); !rect.Contains(p) {
				t.Fatalf("%s: %v in cell (%d, %d) but not in its rectangle %v", l.name, p, i, j, rect)
			}
		}
	}
}

// TestListInvariants checks what the lists promise, against a brute force
// over every edge, for points of cells with a list: the point's nearest
// edge and every edge tied with it is listed, every listed edge's bound is
// at most its distance, and an uncovered cell's clearance is at most the
// distance to the coverage.
func TestListInvariants(t *testing.T) {
	for _, l := range listLayers() {
		ix, err := New(l.polys)
		if err != nil {
			t.Fatal(err)
		}
		r := ix.raster
		if r == nil || r.near == nil {
			t.Fatalf("%s: no lists", l.name)
		}
		type edge struct {
			a, b orb.Point
			id   int32
			e    int32
		}
		var all []edge
		for s := range ix.n {
			id := ix.leaves[s].id
			if id < 0 {
				id = ^id
			}
			ix.forEdges(s, func(e int32) { all = append(all, edge{ix.pts[e], ix.pts[e+1], id, e}) })
		}
		rng := rand.New(rand.NewPCG(7, uint64(len(l.polys))))
		pts := append(cellPoints(rng, r, 800), l.gaps...)
		checked, ties := 0, 0
		dist := make([]float64, len(ix.pts))
		for _, p := range pts {
			c := int(r.cellY(p[1]))*int(r.nx) + int(r.cellX(p[0]))
			list := r.nearEdges[r.near[c]:r.near[c+1]]
			if len(list) == 0 {
				continue
			}
			checked++
			d := math.Inf(1)
			clear(dist)
			for _, e := range all {
				de := spheroid.PointSegmentDistance(p, e.a, e.b)
				dist[e.e] = de
				d = min(d, de)
			}
			listed := map[int32]bool{}
			for k, e := range list {
				listed[e.edge] = true
				if float64(e.lo) > dist[e.edge] {
					t.Fatalf("%s: %v: edge %d bound %v above its distance %v", l.name, p, e.edge, e.lo, dist[e.edge])
				}
				if k > 0 && list[k-1].lo > e.lo {
					t.Fatalf("%s: cell %d's list is not sorted by bound", l.name, c)
				}
			}
			n := 0
			for _, e := range all {
				if dist[e.e] == d {
					n++
					if !listed[e.e] {
						t.Fatalf("%s: %v: nearest edge %d (%v m) not in its cell's list", l.name, p, e.e, d)
					}
				}
			}
			if n > 1 {
				ties++
			}
			if v := r.cells[c]; v != 0 && v&cellInterior == 0 && float64(math.Float32frombits(v)) > d {
				t.Fatalf("%s: %v: clearance %v above the distance %v", l.name, p, math.Float32frombits(v), d)
			}
		}
		t.Logf("%s: %d×%d cells, %d list entries; %d points checked, %d at ties", l.name, r.nx, r.ny, len(r.nearEdges), checked, ties)
		if checked < 500 || (l.name == "squares" && ties < 10) {
			t.Errorf("%s: weak sample: %d checked, %d ties", l.name, checked, ties)
		}
	}
}

// TestNearestInCellMatchesExhaustive compares the list search with the
// exhaustive nearest-grid search, bit for bit, on uncovered points of the
// raster (random, on and next to cell borders, at exact ties between
// grids) at tolerances from listMinTol up.
func TestNearestInCellMatchesExhaustive(t *testing.T) {
	stats := map[string]int{}
	for _, l := range listLayers() {
		ix, err := New(l.polys)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, uint64(len(l.polys))))
		pts := append(cellPoints(rng, ix.raster, 6000), l.gaps...)
		for _, g := range l.gaps { // along the lines of equal distance
			for k := 0; k < 4; k++ {
				q := g
				q[rng.IntN(2)] += float64(rng.IntN(64)-32) / (256 * 128)
				pts = append(pts, q)
			}
		}
		for k, p := range pts {
			if len(ix.Covering(p)) > 0 {
				continue
			}
			tol := []float64{listMinTol, 0.5, 20, 200, 450, 1e4, 1e7}[k%7]
			got, gok, done := ix.nearestInCell(p, tol)
			if !done {
				stats["no list"]++
				continue
			}
			want, wok := ix.nearestExhaustive(p, tol)
			if gok != wok || got.ID != want.ID || got.Match != want.Match || got.DistanceM != want.DistanceM {
				t.Fatalf("%s: nearestInCell(%v, %v) = %+v, %v; exhaustive %+v, %v", l.name, p, tol, got, gok, want, wok)
			}
			if r, ok := ix.Locate(p, tol); ok != wok || !reflectEqual(r, want) {
				t.Fatalf("%s: Locate(%v, %v) = %+v, %v; exhaustive %+v, %v", l.name, p, tol, r, ok, want, wok)
			}
			if wok {
				stats["nearest"]++
			} else {
				stats["none"]++
			}
		}
	}
	t.Logf("%v", stats)
	if stats["nearest"] < 2000 || stats["none"] < 500 {
		t.Errorf("weak sample: %v", stats)
	}
}

// TestNearestInCellDeclines: below listMinTol, outside the raster and in
// cells without a list the tree search answers.
func TestNearestInCellDeclines(t *testing.T) {
	l := listLayers()[0]
	ix, err := New(l.polys)
	if err != nil {
		t.Fatal(err)
	}
	r := ix.raster
	// The centre of the first cell with a list, and one without.
	var in, without orb.Point
	found := 0
	for c := 0; c < len(r.cells) && found != 3; c++ {
		i, j := int32(c)%r.nx, int32(c)/r.nx
		centre := orb.Point{r.x0 + (float64(i)+0.5)/r.sx, r.y0 + (float64(j)+0.5)/r.sy}
		if r.near[c] < r.near[c+1] && found&1 == 0 && len(ix.Covering(centre)) == 0 {
			in, found = centre, found|1
		} else if r.near[c] == r.near[c+1] && found&2 == 0 && r.cells[c]&cellInterior == 0 {
			without, found = centre, found|2
		}
	}
	if found != 3 {
		t.Fatal("no cell with a list or none without")
	}
	if _, _, done := ix.nearestInCell(in, listMinTol); !done {
		t.Errorf("nearestInCell(%v, %v) declined in a cell with a list", in, listMinTol)
	}
	for _, tc := range []struct {
		p   orb.Point
		tol float64
	}{
		{in, math.Nextafter(listMinTol, 0)},
		{in, math.NaN()},
		{without, 200},
		{orb.Point{math.Nextafter(r.x0, math.Inf(-1)), r.y0}, 200},
		{orb.Point{r.x1, math.Nextafter(r.y1, math.Inf(1))}, 200},
		{orb.Point{math.NaN(), r.y0}, 200},
	} {
		if _, _, done := ix.nearestInCell(tc.p, tc.tol); done {
			t.Errorf("nearestInCell(%v, %v) answered", tc.p, tc.tol)
		}
	}
}
