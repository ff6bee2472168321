package coverage

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/robust"
)

// Feature is one polygon of a layer to check: a grid (with its village) or
// a village.
type Feature struct {
	Code    string
	Village string
	// Geometry may be invalid: the checks overlay it made valid as
	// PostGIS's wangge_polygonal makes it (see fixedRegion).
	Geometry orb.MultiPolygon
	// Valid says Geometry is known to be valid (PostGIS's ST_IsValid, or a
	// registry that refuses invalid geometries): it is overlaid as given,
	// without looking for self-intersections first, which takes a
	// quarter of the checks' time on a large layer.
	Valid bool
}

// Layer is a town's layer as the coverage checks see it: the town outline,
// the villages and the grids.
type Layer struct {
	Outline  orb.MultiPolygon
	Villages []Feature
	Grids    []Feature
}

// LayerOptions are the tolerances of CheckLayer, in m² on the spheroid.
type LayerOptions struct {
	// OverlapM2: overlaps of two grids (villages) and parts of a grid
	// outside its village count from this area (pgstore's
	// OverlapToleranceM2, 0.01).
	OverlapM2 float64
	// TilingM2: gaps in the grids (villages) inside the outline and parts
	// of them outside it count from this area (TilingToleranceM2, 1).
	TilingM2 float64
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each step with its name.
	Progress func(step string)

	// The checks of a draft and of the coverage report, run by Check
	// only: Slivers, when set, finds the slivers of the grids;
	// VillageTiling the villages their own grids do not tile (with
	// TilingM2 as the tolerance); Points a point on the surface of each
	// grid.
	Slivers       *SliverOptions
	VillageTiling bool
	Points        bool
}

// SliverOptions: a polygon part of a grid made valid smaller than M2 m²,
// or whose mean width (2·area/perimeter, both on the spheroid) is under
// WidthM m, is a sliver (geo.ValidationOptions' SliverM2, SliverWidthM).
type SliverOptions struct {
	M2, WidthM float64
}

// Report is what Check finds.
type Report struct {
	// Findings and Doubts are CheckLayerDoubts'.
	Findings []geo.Finding
	Doubts   []Doubt
	// Slivers are the polygon parts of the grids made valid that are
	// slivers (PostGIS's check_slivers): by grid code, then area; each
	// located by a point on it and with the part as its Area.
	Slivers []geo.Finding
	// VillagesNotTiled are the villages whose own grids do not tile them
	// (check_village_tiling), by code: the parts of the village that none
	// of its grids covers and the parts of its grids outside it, when
	// they add up to more than TilingM2 m²; Area is their union.
	VillagesNotTiled []geo.Finding
	// VillageDoubts are the villages (indexes into Layer.Villages) whose
	// tiling the overlay could not tell, its pieces not closing into
	// rings (as a Doubt's): left out of VillagesNotTiled, for the caller
	// to decide elsewhere (geo/pgstore: in PostGIS).
	VillageDoubts []int
	// Points is a point on the surface of each grid made valid, as
	// ST_PointOnSurface(wangge_polygonal(geom)) chooses it (see
	// PointOnSurface); the zero point for a grid with no area.
	Points []orb.Point
}

// CheckLayer runs the coverage checks of an import on l, in memory, and
// returns the findings that PostGIS's checks find (geo/pgstore/sql/town.sql:
// check_overlaps, check_outside_village, check_tiling), worded and ordered
// the same way: overlapping pairs of grids then of villages by code; grids
// with a part outside their village by code; gaps in the grids, parts of
// grids outside the outline, then the same for villages, largest first.
// Validity is not reported (PostGIS's ST_IsValidDetail gives the reasons):
// like PostGIS's checks, these overlay every geometry made valid
// (fixedRegion), so that an invalid grid does not hide other problems.
//
// Areas are those of ST_Area(geography) to within a few parts in a
// million; a finding's Location is a point inside the part concerned
// (chosen as GEOS's ST_PointOnSurface chooses it: the middle of the widest
// stretch of a horizontal line near the middle of the part), and Area the
// part itself.
//
// Candidate pairs come from a grid of boxes, and every overlay splits only
// the edges near the other polygon, so the work grows with the number of
// neighbours, not with the square of the layer; it is spread over Workers.
//
// Pairs whose overlap the overlay could not chain into rings are left out
// (see Doubt): CheckLayerDoubts returns them, for a caller that must not
// miss an overlap to decide in PostGIS.
func CheckLayer(l *Layer, o LayerOptions) []geo.Finding {
	out, _ := CheckLayerDoubts(l, o)
	return out
}

// Doubt is an overlap of two features, or a part of a grid outside its
// village, that the overlay found pieces of but could not chain into
// closed rings, and so left out of CheckLayer's findings. Rounding along a
// boundary two polygons share a hair apart leaves such pieces where there
// is nothing (the reason they are not counted), but so do real overlaps
// of a county layer whose crossing points round apart: on the China county
// layer, two overlaps of cities of 902 and 2,019 m². A doubt is decided by
// an exact overlay of its two geometries elsewhere (PostGIS: see
// geo/pgstore's checkInGo).
type Doubt struct {
	// Kind is geo.FindOverlap (Layer "grid" or "village"; A and B index
	// two features of that layer) or geo.FindVillageCrossing (A indexes
	// the grid, B its village).
	Kind  geo.FindingKind
	Layer string
	A, B  int
}

// CheckLayerDoubts is CheckLayer, with the doubts it left out.
func CheckLayerDoubts(l *Layer, o LayerOptions) ([]geo.Finding, []Doubt) {
	o.Slivers, o.VillageTiling, o.Points = nil, false, false
	r := Check(l, o)
	return r.Findings, r.Doubts
}

// Check is CheckLayerDoubts, with the checks of a draft and of the
// coverage report that o asks for on the same geometries made valid.
func Check(l *Layer, o LayerOptions) *Report {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	step := func(name string) {
		if o.Progress != nil {
			o.Progress(name)
		}
	}
	// The outline is one geometry, made valid by one goroutine: beside
	// the layers' regions rather than after them, with a core idle.
	var outline *region
	outlineDone := make(chan struct{})
	go func() {
		defer close(outlineDone)
		outline = fixedRegion(l.Outline)
	}()
	grids := regionsOf(l.Grids, workers)
	villages := regionsOf(l.Villages, workers)
	<-outlineDone
	step("made valid")
	rep := &Report{}
	if o.Slivers != nil || o.Points {
		sl := make([][]geo.Finding, len(l.Grids))
		if o.Points {
			rep.Points = make([]orb.Point, len(l.Grids))
		}
		parallel(len(l.Grids), workers, func(i int) {
			mp := gridParts(l.Grids[i].Geometry, grids[i])
			if o.Points {
				rep.Points[i] = PointOnSurface(mp)
			}
			if o.Slivers != nil {
				sl[i] = slivers(l.Grids[i].Code, mp, o.Slivers.M2, o.Slivers.WidthM)
			}
		})
		for _, s := range sl {
			rep.Slivers = append(rep.Slivers, s...)
		}
		sortByCode(rep.Slivers)
		step("slivers")
	}

	// One pass over each layer gives the boundary of its union and, on
	// the way, the pieces of each boundary inside a neighbour: the
	// boundaries of the overlaps. The two passes run side by side: the
	// tail of one (a few large regions last) overlaps the other.
	var villagesU []seg
	var villagesIn map[[2]int32][]seg
	unionDone := make(chan struct{})
	go func() {
		defer close(unionDone)
		villagesU, villagesIn = unionEdgesOf(villages, workers, true)
	}()
	gridsU, gridsIn := unionEdgesOf(grids, workers, true)
	<-unionDone
	step("union")
	var out []geo.Finding
	var doubts []Doubt
	add := func(fs []geo.Finding, ds []Doubt) {
		out, doubts = append(out, fs...), append(doubts, ds...)
	}
	add(overlaps("grid", l.Grids, gridsIn, o.OverlapM2, workers))
	add(overlaps("village", l.Villages, villagesIn, o.OverlapM2, workers))
	step("overlaps")
	// Each tiling of the outline overlays the whole union on one
	// goroutine (seconds on the China layer, a core idle): they run
	// beside the checks spread over the workers. The findings keep
	// their order.
	var tiled [2][]geo.Finding
	tilingDone := make(chan struct{})
	go func() {
		defer close(tilingDone)
		tiled[0] = tiling("grid", gridsU, outline, l.Villages, villages, o.TilingM2)
		tiled[1] = tiling("village", villagesU, outline, nil, nil, o.TilingM2)
	}()
	add(outsideVillage(l, grids, villages, o.OverlapM2, workers))
	step("outside villages")
	if o.VillageTiling {
		rep.VillagesNotTiled, rep.VillageDoubts = villageTiling(l, grids, villages, o.TilingM2, workers)
		step("village tiling")
	}
	<-tilingDone
	out = append(append(out, tiled[0]...), tiled[1]...)
	step("tiling of the grids and villages")
	rep.Findings, rep.Doubts = out, doubts
	return rep
}

// regionsOf prepares the features' geometries for overlay.
func regionsOf(fs []Feature, workers int) []*region {
	out := make([]*region, len(fs))
	parallel(len(fs), workers, func(i int) {
		if fs[i].Valid {
			out[i] = newRegion(fs[i].Geometry)
			out[i].asGiven = true
			return
		}
		out[i] = fixedRegion(fs[i].Geometry)
	})
	return out
}

// parallel calls fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 1 || n < 2 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next sync.Mutex
	k := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := k
				k++
				next.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// overlaps finds the pairs of features whose interiors overlap by more
// than tol m² (check_overlaps), from the boundaries of the overlaps that
// unionEdgesOf collected, and the pairs in doubt.
func overlaps(layer string, fs []Feature, inner map[[2]int32][]seg, tol float64, workers int) ([]geo.Finding, []Doubt) {
	pairs := make([][2]int32, 0, len(inner))
	for k := range inner {
		pairs = append(pairs, k)
	}
	found := make([]*geo.Finding, len(pairs))
	doubt := make([]bool, len(pairs))
	parallel(len(pairs), workers, func(k int) {
		mp, area, unplaced := closed(inner[pairs[k]])
		if area <= tol || sliver(mp, tol) {
			doubt[k] = unplaced > 0
			return
		}
		a, b := fs[pairs[k][0]].Code, fs[pairs[k][1]].Code
		if b < a {
			a, b = b, a
		}
		found[k] = &geo.Finding{Kind: geo.FindOverlap, Layer: layer, Codes: []string{a, b}, AreaM2: area,
			Reason:   fmt.Sprintf("%ss %s and %s overlap by %.2f m²", layer, a, b, area),
			Location: PointOnSurface(mp), Area: mp}
	})
	var doubts []Doubt
	for k, d := range doubt {
		if d {
			doubts = append(doubts, Doubt{Kind: geo.FindOverlap, Layer: layer, A: int(pairs[k][0]), B: int(pairs[k][1])})
		}
	}
	out := compact(found)
	slices.SortFunc(out, func(x, y geo.Finding) int {
		if c := strings.Compare(x.Codes[0], y.Codes[0]); c != 0 {
			return c
		}
		return strings.Compare(x.Codes[1], y.Codes[1])
	})
	return out, doubts
}

// outsideVillage finds grids with more than tol m² outside their village's
// outline (check_outside_village), and the grids in doubt. Grids whose
// village is not in the layer are not checked (the import refuses them
// earlier).
func outsideVillage(l *Layer, grids, villages []*region, tol float64, workers int) ([]geo.Finding, []Doubt) {
	byCode := make(map[string]int, len(l.Villages))
	for i, v := range l.Villages {
		byCode[v.Code] = i
	}
	// The largest grids first, so that no large one keeps a worker busy
	// alone at the end.
	order := make([]int, len(l.Grids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return grids[j].n() - grids[i].n() })
	found := make([]*geo.Finding, len(l.Grids))
	doubt := make([]int, len(l.Grids)) // the village's index + 1
	parallel(len(order), workers, func(k int) {
		i := order[k]
		g := l.Grids[i]
		vi, ok := byCode[g.Village]
		if !ok || grids[i].n() == 0 {
			return
		}
		edges := differenceEdges(grids[i], villages[vi])
		if len(edges) == 0 {
			return
		}
		mp, area, unplaced := closed(edges)
		if area <= tol || sliver(mp, tol) {
			if unplaced > 0 {
				doubt[i] = vi + 1
			}
			return
		}
		found[i] = &geo.Finding{Kind: geo.FindVillageCrossing, Layer: "grid", Codes: []string{g.Code}, Villages: []string{g.Village},
			AreaM2: area, Reason: fmt.Sprintf("grid %s has %.2f m² outside its village %s", g.Code, area, g.Village),
			Location: PointOnSurface(mp), Area: mp}
	})
	var doubts []Doubt
	for i, v := range doubt {
		if v > 0 {
			doubts = append(doubts, Doubt{Kind: geo.FindVillageCrossing, Layer: "grid", A: i, B: v - 1})
		}
	}
	out := compact(found)
	slices.SortFunc(out, func(x, y geo.Finding) int { return strings.Compare(x.Codes[0], y.Codes[0]) })
	return out, doubts
}

// tiling finds where the regions whose union has the boundary union fail
// to tile the outline (check_tiling):
// the parts of the outline that none covers, with the villages each lies
// in when villages are given, and the parts of the regions outside the
// outline, each larger than tol m², largest first.
func tiling(layer string, union []seg, outline *region, vfs []Feature, villages []*region, tol float64) []geo.Finding {
	u := &region{edges: union}
	u.finish()
	var out []geo.Finding
	gapEdges, outsideEdges := differencesEdges(outline, u)
	gaps := parts(gapEdges, tol)
	for _, g := range gaps {
		f := geo.Finding{Kind: geo.FindGap, Layer: layer, AreaM2: g.area, Location: PointOnSurface(orb.MultiPolygon{g.poly}),
			Area:   orb.MultiPolygon{g.poly},
			Reason: fmt.Sprintf("a gap of %.2f m² inside the town outline that no %s covers", g.area, layer)}
		if villages != nil {
			f.Villages = villagesOf(orb.MultiPolygon{g.poly}, vfs, villages)
			if len(f.Villages) > 0 {
				f.Reason += " (in village " + strings.Join(f.Villages, ", ") + ")"
			}
		}
		out = append(out, f)
	}
	for _, g := range parts(outsideEdges, tol) {
		out = append(out, geo.Finding{Kind: geo.FindOutsideTown, Layer: layer, AreaM2: g.area,
			Location: PointOnSurface(orb.MultiPolygon{g.poly}), Area: orb.MultiPolygon{g.poly},
			Reason: fmt.Sprintf("%.2f m² of %ss lie outside the town outline", g.area, layer)})
	}
	return out
}

// villagesOf returns the codes of the villages whose interiors meet the
// part, sorted.
func villagesOf(part orb.MultiPolygon, vfs []Feature, villages []*region) []string {
	pr := newRegion(part)
	var out []string
	for i, v := range villages {
		if v.n() == 0 || !v.box.Intersects(pr.box) {
			continue
		}
		if piecesArea(intersectionEdges(pr, v)) > 0 {
			out = append(out, vfs[i].Code)
		}
	}
	slices.Sort(out)
	return out
}

type part struct {
	poly orb.Polygon
	area float64
}

// parts chains boundary pieces into polygons and returns those larger than
// tol m², largest first (ST_Dump of an overlay, filtered).
func parts(edges []seg, tol float64) []part {
	if len(edges) == 0 {
		return nil
	}
	mp, _ := chain(edges)
	var out []part
	for _, p := range mp {
		if a := AreaM2(orb.MultiPolygon{p}); a > tol && !sliver(orb.MultiPolygon{p}, tol) {
			out = append(out, part{p, a})
		}
	}
	slices.SortStableFunc(out, func(x, y part) int { return cmp.Compare(y.area, x.area) })
	return out
}

func compact(fs []*geo.Finding) []geo.Finding {
	var out []geo.Finding
	for _, f := range fs {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// closed chains boundary pieces into polygons and returns them with their
// area in m², and how many pieces closed no ring. Those are left out:
// along a boundary that two polygons share with vertices a hair off each
// other's edges, rounding classifies short pieces one way on one side and
// the other way on the other, and their sum would count a sliver that is
// not there (but see Doubt).
func closed(edges []seg) (orb.MultiPolygon, float64, int) {
	if len(edges) == 0 {
		return nil, 0, 0
	}
	mp, unplaced := chain(edges)
	if len(mp) == 0 {
		return nil, 0, unplaced
	}
	return mp, AreaM2(mp), unplaced
}

// piecesArea is the area in m² on the spheroid enclosed by closed boundary
// pieces (interior on their left).
func piecesArea(edges []seg) float64 {
	if len(edges) == 0 {
		return 0
	}
	b := orb.Bound{Min: edges[0].a, Max: edges[0].a}
	for _, e := range edges {
		b = b.Extend(e.a).Extend(e.b)
	}
	f := newFrame(b)
	s := 0.0
	for _, e := range edges {
		s += f.term(e.a, e.b)
	}
	return s
}

// Relations of a boundary piece to another region.
const (
	relOutside  = 0
	relInside   = 1
	relSame     = 2 // along the other's boundary, both interiors on the same side
	relOpposite = 3 // along it, the interiors on opposite sides
)

// classify splits the edges of r where the boundaries of others meet them
// and calls fn for each piece p–q (of edge e) with its relation to each
// of others (rel[k], one of the rel constants). Only the edges of r inside
// the box of some other region are split; the others are outside all.
func classify(r *region, others []*region, fn func(p, q orb.Point, e seg, rel []int8)) {
	classifyNear(r, others, true, fn)
}

// classifyNear is classify; without all, fn is not called for the edges
// of r outside every other's box (outside all, which a caller that keeps
// only pieces inside another has no use for), and r's edges near the
// others are found from its bands instead of by looking at each.
func classifyNear(r *region, others []*region, all bool, fn func(p, q orb.Point, e seg, rel []int8)) {
	var box orb.Bound
	for k, o := range others {
		if k == 0 {
			box = o.box
		} else {
			box = box.Union(o.box)
		}
	}
	rel := make([]int8, len(others))
	// Edges 0..len(mine)-1 are r's near the others; then the others'
	// edges near r, tagged by region (0 is r, k+1 is others[k]). The
	// lists are reused from call to call (scratchPool).
	sc := scratchPool.Get().(*classifyScratch)
	mine, edges, tags := sc.mine[:0], sc.edges[:0], sc.tags[:0]
	defer func() {
		// The lists of a region as large as a province's outline are
		// not kept: they would stay in memory until the next collection.
		if cap(edges) <= maxScratch {
			sc.mine, sc.edges, sc.tags = mine, edges, tags
			scratchPool.Put(sc)
		}
	}()
	ring := 0
	if all {
		for i := range r.n() {
			e := r.edgeHint(i, &ring)
			if len(others) > 0 && boxesMeet(e, box) {
				mine = append(mine, int32(i))
				edges = append(edges, e)
				tags = append(tags, 0)
			} else {
				clear(rel)
				fn(e.a, e.b, e, rel)
			}
		}
	} else if len(others) > 0 {
		mine = r.near(box, mine, &sc.marks)
		for _, i := range mine {
			edges = append(edges, r.edgeHint(int(i), &ring))
			tags = append(tags, 0)
		}
	}
	if len(mine) == 0 {
		return
	}
	// The others' edges near r, in a grid: each of r's edges meets those
	// in its cells (pairs among the others' edges are never looked at).
	// They are found from the others' bands: a small region next to a
	// province-sized one meets few of its edges.
	nMine := len(edges)
	ids := sc.ids[:0]
	for k, o := range others {
		ids = o.near(r.box, ids[:0], &sc.marks)
		ring := 0
		for _, i := range ids {
			edges = append(edges, o.edgeHint(int(i), &ring))
			tags = append(tags, int32(k+1))
		}
	}
	sc.ids = ids[:0]
	sp := &sc.sp
	sp.reset(len(edges))
	theirs := edges[nMine:]
	if len(theirs) > 0 {
		grid := sc.grid.reuse(theirs)
		stamp := sc.stamp[:0]
		stamp = append(stamp, make([]int32, len(theirs))...)
		sc.stamp = stamp
		for i := 0; i < nMine; i++ {
			e := edges[i]
			eb := segBound(e.a, e.b)
			x0, y0, x1, y1 := grid.cells(eb)
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					c := y*grid.nx + x
					for _, id := range grid.ids[grid.start[c]:grid.start[c+1]] {
						if stamp[id] == int32(i)+1 || !closedMeet(grid.boxes[id], eb) {
							continue
						}
						stamp[id] = int32(i) + 1
						j := nMine + int(id)
						sp.meetEdges(i, e, 0, j, edges[j], tags[j])
					}
				}
			}
		}
	}
	type side struct {
		known, in bool
		meets     bool // others[k]'s box meets the edge's
	}
	sides := make([]side, len(others))
	st := sc.st[:0]
	defer func() { sc.st = st }()
	for i := range mine {
		e := edges[i]
		eb := segBound(e.a, e.b)
		for k, o := range others {
			sides[k] = side{meets: boxesIntersect(o.box, eb)}
		}
		st = stretchesOf(st[:0], sp, i, e)
		sp.pieces(i, e, func(p, q orb.Point, at []cut) {
			tm := (dot(e.sa, e.sb, p) + dot(e.sa, e.sb, q)) / 2
			m := mid(p, q)
			for k, o := range others {
				rel[k] = relOutside
				if !sides[k].meets {
					continue
				}
				if pt, ok := findStretch(st, int32(k+1), tm); ok {
					if pt.same {
						rel[k] = relSame
					} else {
						rel[k] = relOpposite
					}
					sides[k].known = false
					continue
				}
				if !sides[k].known {
					l := o.locate(m)
					if l == boundary {
						// Rounding put the middle on the other's boundary
						// without a shared stretch: count it outside.
						rel[k] = relOutside
						continue
					}
					sides[k].known, sides[k].in = true, l == inside
				}
				if sides[k].in {
					rel[k] = relInside
				}
			}
			fn(p, q, e, rel)
			for _, c := range at {
				k := tags[c.other] - 1
				if k < 0 {
					continue
				}
				if !c.crossing {
					sides[k].known = false
				}
				sides[k].in = sides[k].in != c.crossing
			}
		})
	}
}

// classifyScratch holds classify's lists, for the next call to reuse: a
// province's checks call it hundreds of thousands of times, and allocating
// them afresh each time was most of the checks' allocation (tens of GB on
// the China layer), which the collector then had to keep up with.
type classifyScratch struct {
	mine, tags, stamp []int32
	ids               []int32
	edges             []seg
	sp                splitter
	grid              cellGrid
	st                []stretch
	marks             []uint64 // region.near's, all zero between calls
}

var scratchPool = sync.Pool{New: func() any { return new(classifyScratch) }}

// maxScratch is the most edges a classifyScratch kept for reuse holds.
const maxScratch = 1 << 17

// stretch is a stretch of edge i that another region's boundary runs
// along: from t0 to t1 along i's support.
type stretch struct {
	of     int32
	t0, t1 float64
	same   bool
}

// stretchesOf returns the partners of edge i as stretches sorted by region
// and start, appended to dst. Looking a piece up is then a binary search:
// an edge of a long outline may run along tens of thousands of grid edges.
func stretchesOf(dst []stretch, sp *splitter, i int, e seg) []stretch {
	for _, pt := range sp.partners[i] {
		t0, t1 := dot(e.sa, e.sb, pt.a), dot(e.sa, e.sb, pt.b)
		dst = append(dst, stretch{pt.of, min(t0, t1), max(t0, t1), pt.same})
	}
	slices.SortFunc(dst, func(a, b stretch) int {
		if c := cmp.Compare(a.of, b.of); c != 0 {
			return c
		}
		return compareFloats(a.t0, b.t0)
	})
	return dst
}

// findStretch returns the stretch of region of that contains tm. One
// region's stretches along an edge do not overlap (its boundary is valid),
// so only the last one starting before tm can; a few more are looked at in
// case the same pair of edges was met twice.
func findStretch(st []stretch, of int32, tm float64) (stretch, bool) {
	j, _ := slices.BinarySearchFunc(st, stretch{of: of, t0: tm}, func(a, b stretch) int {
		if c := cmp.Compare(a.of, b.of); c != 0 {
			return c
		}
		if a.t0 < b.t0 {
			return -1
		}
		return 1
	})
	for x := j - 1; x >= 0 && x >= j-4 && st[x].of == of; x-- {
		if st[x].t1 > tm {
			return st[x], true
		}
	}
	return stretch{}, false
}

// intersectionEdges returns the boundary of a ∩ b as directed pieces
// (interior on the left): a's boundary inside b or along b's in the same
// direction, and b's boundary inside a.
func intersectionEdges(a, b *region) []seg {
	if !a.box.Intersects(b.box) {
		return nil
	}
	var out []seg
	others := []*region{b}
	// Only pieces inside the other or along it count: the edges of either
	// away from the other are not looked at.
	classifyNear(a, others, false, func(p, q orb.Point, e seg, rel []int8) {
		if rel[0] == relInside || rel[0] == relSame {
			out = append(out, seg{p, q, e.sa, e.sb})
		}
	})
	if len(out) == 0 {
		// No part of a's boundary is inside b: the intersection is b if b
		// lies inside a, else nothing (their interiors may still not meet).
		if b.n() == 0 || a.locate(b.edge(0).a) != inside && a.locate(mid(b.edge(0).a, b.edge(0).b)) != inside {
			return nil
		}
	}
	others[0] = a
	classifyNear(b, others, false, func(p, q orb.Point, e seg, rel []int8) {
		if rel[0] == relInside {
			out = append(out, seg{p, q, e.sa, e.sb})
		}
	})
	return out
}

// differenceEdges returns the boundary of a ∖ b as directed pieces: a's
// boundary outside b or along b's with the interiors on opposite sides,
// and b's boundary inside a, reversed.
func differenceEdges(a, b *region) []seg {
	var out []seg
	if !a.box.Intersects(b.box) || b.n() == 0 {
		return a.appendEdges(out)
	}
	others := []*region{b}
	classify(a, others, func(p, q orb.Point, e seg, rel []int8) {
		if rel[0] == relOutside || rel[0] == relOpposite {
			out = append(out, seg{p, q, e.sa, e.sb})
		}
	})
	others[0] = a
	classifyNear(b, others, false, func(p, q orb.Point, e seg, rel []int8) {
		if rel[0] == relInside {
			out = append(out, seg{q, p, e.sb, e.sa})
		}
	})
	return out
}

// differencesEdges returns differenceEdges(a, b) and differenceEdges(b,
// a), the same pieces in the same order, from one split of each boundary
// against the other instead of two: a piece of a's boundary outside b (or
// along b's, the interiors on opposite sides) bounds a ∖ b, and one inside
// b, reversed, bounds b ∖ a; and the other way round.
func differencesEdges(a, b *region) (ab, ba []seg) {
	if !a.box.Intersects(b.box) || a.n() == 0 || b.n() == 0 {
		return differenceEdges(a, b), differenceEdges(b, a)
	}
	var abIn, baIn []seg
	split := func(r, other *region, diff, otherIn *[]seg) {
		classify(r, []*region{other}, func(p, q orb.Point, e seg, rel []int8) {
			switch rel[0] {
			case relOutside, relOpposite:
				*diff = append(*diff, seg{p, q, e.sa, e.sb})
			case relInside:
				*otherIn = append(*otherIn, seg{q, p, e.sb, e.sa})
			}
		})
	}
	split(a, b, &ab, &baIn)
	split(b, a, &ba, &abIn)
	return append(ab, abIn...), append(ba, baIn...)
}

// unionEdgesOf returns the boundary of the union of the regions as
// directed pieces: each region's boundary outside every other, and of a
// stretch two share with their interiors on the same side, one copy (the
// lower index's). Each region is split only against its neighbours, in
// parallel. With collect, it also returns the boundary of each overlap
// of two regions i < j: the pieces of either's boundary inside the other,
// and the stretches they share with the interiors on the same side.
func unionEdgesOf(rs []*region, workers int, collect bool) ([]seg, map[[2]int32][]seg) {
	boxes := make([]orb.Bound, len(rs))
	for i, r := range rs {
		boxes[i] = r.box
	}
	grid := newBoxGrid(boxes)
	kept := make([][]seg, len(rs))
	type innerPiece struct {
		other int32
		s     seg
	}
	inner := make([][]innerPiece, len(rs))
	parallel(len(rs), workers, func(i int) {
		r := rs[i]
		if r.n() == 0 {
			return
		}
		var ids []int32
		var others []*region
		for _, id := range grid.within(r.box) {
			if id != int32(i) && rs[id].n() > 0 {
				ids = append(ids, id)
				others = append(others, rs[id])
			}
		}
		var out []seg
		var in []innerPiece
		classify(r, others, func(p, q orb.Point, e seg, rel []int8) {
			keep := true
			for k, x := range rel {
				switch x {
				case relInside:
					keep = false
					if collect {
						in = append(in, innerPiece{ids[k], seg{p, q, e.sa, e.sb}})
					}
				case relOpposite:
					keep = false
				case relSame:
					if ids[k] < int32(i) {
						keep = false
					} else if collect {
						in = append(in, innerPiece{ids[k], seg{p, q, e.sa, e.sb}})
					}
				}
			}
			if keep {
				out = append(out, seg{p, q, e.sa, e.sb})
			}
		})
		kept[i], inner[i] = out, in
	})
	n := 0
	for _, k := range kept {
		n += len(k)
	}
	out := make([]seg, 0, n)
	for _, k := range kept {
		out = append(out, k...)
	}
	if !collect {
		return out, nil
	}
	pairs := map[[2]int32][]seg{}
	for i, in := range inner {
		for _, p := range in {
			key := [2]int32{min(int32(i), p.other), max(int32(i), p.other)}
			pairs[key] = append(pairs[key], p.s)
		}
	}
	return out, pairs
}

// PointOnSurface returns a point inside mp the way GEOS's InteriorPointArea
// (PostGIS's ST_PointOnSurface) finds one: for each polygon, a horizontal
// line halfway between the two vertex latitudes nearest the middle of its
// box, and on it the middle of the widest stretch inside the polygon; the
// widest over all polygons wins. The zero point for an empty mp.
func PointOnSurface(mp orb.MultiPolygon) orb.Point {
	var best orb.Point
	bestW := -1.0
	for _, poly := range mp {
		if len(poly) == 0 || len(poly[0]) == 0 {
			continue
		}
		b := poly.Bound()
		c := (b.Min[1] + b.Max[1]) / 2
		hi, lo := b.Max[1], b.Min[1]
		for _, ring := range poly {
			for _, v := range ring {
				y := v[1]
				if y <= c && y > lo {
					lo = y
				}
				if y > c && y < hi {
					hi = y
				}
			}
		}
		y := (hi + lo) / 2
		var xs []float64
		for _, ring := range poly {
			for k := 0; k+1 < len(ring); k++ {
				a, q := ring[k], ring[k+1]
				if (a[1] <= y) == (q[1] <= y) {
					continue
				}
				xs = append(xs, a[0]+(y-a[1])*(q[0]-a[0])/(q[1]-a[1]))
			}
		}
		slices.Sort(xs)
		for k := 0; k+1 < len(xs); k += 2 {
			if w := xs[k+1] - xs[k]; w > bestW {
				bestW = w
				best = orb.Point{(xs[k] + xs[k+1]) / 2, y}
			}
		}
		if bestW < 0 {
			best, bestW = poly[0][0], 0
		}
	}
	return best
}

// fixedRegion prepares mp for overlay as PostGIS's wangge_polygonal
// (ST_MakeValid with method=structure, GEOS's GeometryFixer) makes it
// valid: each ring stands for the points it winds around (either way:
// a figure eight keeps both loops), holes are cut out of their shell, and
// the polygons are merged. A valid mp comes out as it is. The region
// refers to mp's rings for the edges it keeps whole (piecesRegion), which
// are nearly all of them: mp must not change while it is used.
func fixedRegion(mp orb.MultiPolygon) *region {
	r, asGiven := fixedPieces(mp)
	if asGiven {
		return givenRegion(mp)
	}
	return piecesRegion(mp, r.edges, r)
}

// fixedPieces returns the region of fixedRegion(mp) as a list of pieces,
// or reports that mp is valid as given.
func fixedPieces(mp orb.MultiPolygon) (*region, bool) {
	var polys []*region
	// asGiven: every polygon a simple shell without holes, their boxes
	// apart: mp is valid, and its rings are the region's boundary.
	asGiven := true
	for _, poly := range mp {
		if len(poly) == 0 {
			asGiven = false
			continue
		}
		shell, simple := fixRing(poly[0])
		if len(shell) == 0 {
			asGiven = false
			continue
		}
		asGiven = asGiven && simple && len(poly) == 1
		sr := &region{edges: shell}
		sr.finish()
		var holes []*region
		for _, h := range poly[1:] {
			if hs, _ := fixRing(h); len(hs) > 0 {
				hr := &region{edges: hs}
				hr.finish()
				holes = append(holes, hr)
			}
		}
		if len(holes) > 0 {
			hu := holes[0]
			if len(holes) > 1 {
				edges, _ := unionEdgesOf(holes, 1, false)
				hu = &region{edges: edges}
				hu.finish()
			}
			sr = &region{edges: differenceEdges(sr, hu)}
			sr.finish()
		}
		polys = append(polys, sr)
	}
	switch len(polys) {
	case 0:
		return &region{}, false
	case 1:
		return polys[0], asGiven
	}
	for i := 0; asGiven && i < len(polys); i++ {
		for j := i + 1; asGiven && j < len(polys); j++ {
			asGiven = !polys[i].box.Intersects(polys[j].box)
		}
	}
	if asGiven {
		return nil, true
	}
	u := &region{}
	u.edges, _ = unionEdgesOf(polys, 1, false)
	u.finish()
	return u, false
}

// givenRegion is fixedRegion of a valid mp whose rings are its boundary:
// newRegion(mp), whose edges are then those of the simple shells
// fixRing returns, in the same order, but which refers to mp's rings
// instead of copying them (a layer read without knowing which geometries
// are valid, as an import reads it, then takes a fifth of the memory).
func givenRegion(mp orb.MultiPolygon) *region {
	r := newRegion(mp)
	r.asGiven = true
	return r
}

// fixRing returns the boundary of the points that ring winds around
// (winding number not zero), as pieces with that side on their left. A
// simple ring comes back as its edges, counter-clockwise.
func fixRing(ring orb.Ring) (edges []seg, simple bool) {
	edges = appendRing(nil, ring, false)
	if len(edges) < 3 {
		return nil, false
	}
	n := len(edges)
	adjacent := func(i, j int32) bool { return j == i+1 || (i == 0 && int(j) == n-1) }
	// Most rings are simple: find out first, without splitting.
	simple = true
	segPairs(edges, math.MaxInt, func(i, j int32) {
		if !simple {
			return
		}
		m, _ := meet(edges[i].a, edges[i].b, edges[j].a, edges[j].b)
		if m != apart && (!adjacent(i, j) || m == collinear) {
			simple = false
		}
	})
	if simple {
		a := signedArea(ring)
		if a == 0 {
			return nil, false
		}
		if a < 0 {
			for k := range edges {
				e := edges[k]
				edges[k] = seg{e.b, e.a, e.b, e.a}
			}
		}
		return edges, true
	}
	sp := newSplitter(n)
	segPairs(edges, math.MaxInt, func(i, j int32) {
		if adjacent(i, j) {
			// Neighbours meet at their shared vertex; anything more (a
			// fold back) is found by meetEdges too.
			if m, _ := meet(edges[i].a, edges[i].b, edges[j].a, edges[j].b); m != collinear {
				return
			}
		}
		sp.meetEdges(int(i), edges[i], i, int(j), edges[j], j)
	})
	r := &region{edges: edges}
	r.finish()
	var out []seg
	var excluded []int32
	for i, e := range edges {
		sp.pieces(i, e, func(p, q orb.Point, _ []cut) {
			tm := (dot(e.sa, e.sb, p) + dot(e.sa, e.sb, q)) / 2
			excluded = append(excluded[:0], int32(i))
			contrib := 1
			for _, pt := range sp.partners[i] {
				t0, t1 := dot(e.sa, e.sb, pt.a), dot(e.sa, e.sb, pt.b)
				if !(tm > min(t0, t1) && tm < max(t0, t1)) {
					continue
				}
				if pt.of < int32(i) {
					return // the stretch is the lower edge's to emit
				}
				if slices.Contains(excluded, pt.of) {
					continue // the pair was met twice (segPairs may repeat)
				}
				excluded = append(excluded, pt.of)
				if pt.same {
					contrib++
				} else {
					contrib--
				}
			}
			// The winding number leaving out the piece's own edges is that
			// of one side: the east side of a slanted piece (the ray east
			// does not cross it), the north side of a level one (the ray
			// runs along it, counted as if a hair above). Crossing the
			// piece from right to left adds contrib.
			w := r.windingExcluding(mid(p, q), excluded)
			var wl, wr int
			switch dy := q[1] - p[1]; {
			case dy > 0, dy == 0 && q[0] < p[0]:
				wr, wl = w, w+contrib
			default:
				wl, wr = w, w-contrib
			}
			switch {
			case (wl != 0) == (wr != 0):
			case wl != 0:
				out = append(out, seg{p, q, e.sa, e.sb})
			default:
				out = append(out, seg{q, p, e.sb, e.sa})
			}
		})
	}
	return out, false
}

// windingExcluding is the winding number of r's edges, leaving out those
// listed, around p (counter-clockwise positive), by a ray to the east with
// the half-open rule of locate.
func (r *region) windingExcluding(p orb.Point, excluded []int32) int {
	w := 0
	ring := 0
next:
	for _, i := range r.bands.at(p[1]) {
		e := r.edgeHint(int(i), &ring)
		up := e.a[1] <= p[1] && e.b[1] > p[1]
		down := e.b[1] <= p[1] && e.a[1] > p[1]
		if !up && !down {
			continue
		}
		for _, x := range excluded {
			if x == i {
				continue next
			}
		}
		o := robust.Orient(e.a, e.b, p)
		if up && o > 0 {
			w++
		} else if down && o < 0 {
			w--
		}
	}
	return w
}

// Union returns the union of the multipolygons, each made valid first as
// CheckLayer makes it, with outer rings counter-clockwise and holes
// clockwise.
func Union(mps []orb.MultiPolygon) orb.MultiPolygon {
	rs := make([]*region, len(mps))
	for i, mp := range mps {
		rs[i] = fixedRegion(mp)
	}
	edges, _ := unionEdgesOf(rs, 1, false)
	mp, _ := chain(edges)
	return mp
}

// closedMeet says whether the closed boxes a and b meet: boxesMeet(e, b)
// when a is the box of e (segBound).
func closedMeet(a, b orb.Bound) bool {
	return a.Max[0] >= b.Min[0] && a.Min[0] <= b.Max[0] && a.Max[1] >= b.Min[1] && a.Min[1] <= b.Max[1]
}

// boxesIntersect is a.Intersects(b) (orb's: an empty box meets nothing),
// without the call, which classify makes for every piece.
func boxesIntersect(a, b orb.Bound) bool {
	empty := a.Min[0] > a.Max[0] || a.Min[1] > a.Max[1] || b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1]
	return !empty && closedMeet(a, b)
}

// boxesMeet says whether the box of e meets b (closed boxes).
func boxesMeet(e seg, b orb.Bound) bool {
	return (e.a[0] >= b.Min[0] || e.b[0] >= b.Min[0]) && (e.a[0] <= b.Max[0] || e.b[0] <= b.Max[0]) &&
		(e.a[1] >= b.Min[1] || e.b[1] >= b.Min[1]) && (e.a[1] <= b.Max[1] || e.b[1] <= b.Max[1])
}
