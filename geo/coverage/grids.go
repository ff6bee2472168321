package coverage

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/spheroid"
)

// This file keeps the checks of a draft and of the coverage report that go
// beyond an import's (geo/pgstore/sql/town.sql: check_slivers,
// check_leaders and check_households' locations, check_village_tiling),
// on the geometries CheckLayer has made valid.

// gridParts returns the polygons of geometry mp made valid (as region
// r), as ST_Dump(wangge_polygonal(mp)) gives them: mp itself when it was
// valid; else r's boundary chained (the rings may start at another vertex
// and run the other way: areas, perimeters and points on the surface do
// not depend on it).
func gridParts(mp orb.MultiPolygon, r *region) orb.MultiPolygon {
	if r.n() == 0 {
		return nil
	}
	if r.asGiven {
		return mp
	}
	parts, _ := chain(r.segs())
	return parts
}

// slivers finds the polygon parts of grid code smaller than m2 m², or
// whose mean width 2·area/perimeter is under widthM m (check_slivers), by
// area.
func slivers(code string, mp orb.MultiPolygon, m2, widthM float64) []geo.Finding {
	var out []geo.Finding
	for _, p := range mp {
		part := orb.MultiPolygon{p}
		area := AreaM2(part)
		if !(area < m2) && 2*area >= widthM*perimeterBoundM(part) {
			// Wide enough even at the longest its perimeter can be: the
			// geodesics need not be measured (most parts are whole grids).
			continue
		}
		perimeter := PerimeterM(part)
		if !(area < m2 || 2*area < widthM*perimeter) {
			continue
		}
		f := geo.Finding{Kind: geo.FindSliver, Layer: "grid", Codes: []string{code}, AreaM2: area,
			Location: PointOnSurface(part), Area: part}
		if perimeter > 0 {
			f.WidthM = 2 * area / perimeter
		}
		f.Reason = fmt.Sprintf("grid %s has a sliver of %.2f m², %.2f m wide on average (thresholds: %v m², %v m)",
			code, area, f.WidthM, m2, widthM)
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(x, y geo.Finding) int {
		switch {
		case x.AreaM2 < y.AreaM2:
			return -1
		case x.AreaM2 > y.AreaM2:
			return 1
		}
		return 0
	})
	return out
}

// villageTiling finds the villages whose own grids do not tile them
// (check_village_tiling): the parts of the village's outline that none of
// its grids covers and the parts of its grids outside it, when they add up
// to more than tol m²; by village code; and the villages left in doubt
// (Report.VillageDoubts). Grids of a village the layer does not hold are
// not looked at.
func villageTiling(l *Layer, grids, villages []*region, tol float64, workers int) ([]geo.Finding, []int) {
	byCode := make(map[string]int, len(l.Villages))
	for i, v := range l.Villages {
		byCode[v.Code] = i
	}
	own := make([][]*region, len(l.Villages))
	for i, g := range l.Grids {
		if vi, ok := byCode[g.Village]; ok && grids[i].n() > 0 {
			own[vi] = append(own[vi], grids[i])
		}
	}
	// The largest first: one province-sized village started last would
	// keep one worker busy after the others are done.
	work := make([]int, len(l.Villages))
	order := make([]int, len(l.Villages))
	for i := range order {
		order[i] = i
		work[i] = villages[i].n()
		for _, g := range own[i] {
			work[i] += g.n()
		}
	}
	slices.SortStableFunc(order, func(i, j int) int { return work[j] - work[i] })
	found := make([]*geo.Finding, len(l.Villages))
	doubt := make([]bool, len(l.Villages))
	parallel(len(order), workers, func(k int) {
		i := order[k]
		v := villages[i]
		u := &region{}
		if len(own[i]) == 1 {
			u = own[i][0]
		} else if len(own[i]) > 1 {
			edges, _ := unionEdgesOf(own[i], 1, false)
			u = &region{edges: edges}
			u.finish()
		}
		var uncovered, outside []seg
		switch {
		case v.n() == 0:
			outside = u.segs()
		case u.n() == 0:
			uncovered = v.segs()
		default:
			uncovered, outside = differencesEdges(v, u)
		}
		mpU, areaU, unplacedU := solidParts(uncovered, tol)
		mpO, areaO, unplacedO := solidParts(outside, tol)
		if unplacedU+unplacedO > 0 {
			// Rounding kept pieces from closing into rings (a grid made
			// valid elsewhere, its vertices at rounded crossing points on
			// its neighbours' edges): the area cannot be told here.
			doubt[i] = true
			return
		}
		if !(areaU+areaO > tol) {
			return
		}
		all := append(slices.Clip(mpU), mpO...)
		if len(mpU) > 0 && len(mpO) > 0 {
			// Both are valid (chained): merged along the village's
			// outline where they meet, as ST_Union merges them.
			edges, _ := unionEdgesOf([]*region{newRegion(mpU), newRegion(mpO)}, 1, false)
			all, _ = chain(edges)
		}
		code := l.Villages[i].Code
		found[i] = &geo.Finding{Kind: geo.FindVillageNotTiled, Layer: "village", Codes: []string{code}, AreaM2: areaU + areaO,
			Reason: fmt.Sprintf("the grids of village %s do not tile it: %.2f m² of it no grid of the village covers, %.2f m² of its grids lie outside it",
				code, areaU, areaO), Location: PointOnSurface(all), Area: all}
	})
	out := compact(found)
	sortByCode(out)
	var doubts []int
	for i, d := range doubt {
		if d {
			doubts = append(doubts, i)
		}
	}
	return out, doubts
}

// solidParts chains boundary pieces into polygons and returns those that
// enclose some area with straight edges in lon/lat (see sliver: a ring of
// no width between two boundaries a rounding error apart is not a part),
// their area in m², and how many pieces closed no ring.
func solidParts(edges []seg, tol float64) (orb.MultiPolygon, float64, int) {
	mp, _, unplaced := closed(edges)
	var out orb.MultiPolygon
	area := 0.0
	for _, p := range mp {
		if sliver(orb.MultiPolygon{p}, min(tol, 1e-3)) {
			continue
		}
		out = append(out, p)
		area += AreaM2(orb.MultiPolygon{p})
	}
	return out, area, unplaced
}

// PerimeterM returns the length of every ring of mp (holes too) in metres,
// each edge measured along the geodesic on the WGS-84 ellipsoid, as
// PostGIS's ST_Perimeter(geography) measures it.
func PerimeterM(mp orb.MultiPolygon) float64 {
	s := 0.0
	for _, poly := range mp {
		for _, ring := range poly {
			for k := 1; k < len(ring); k++ {
				s += spheroid.GeodesicM(ring[k-1], ring[k])
			}
			if n := len(ring); n > 1 && ring[0] != ring[n-1] {
				s += spheroid.GeodesicM(ring[n-1], ring[0])
			}
		}
	}
	return s
}

// perimeterBoundM is at least PerimeterM(mp): each edge no longer than
// the path along the meridian then along the parallel, which is at most
// 6,400 km (above the largest meridional radius of curvature, the polar
// 6,399,594 m, and the equatorial radius a parallel never exceeds) per
// radian of latitude and of longitude.
func perimeterBoundM(mp orb.MultiPolygon) float64 {
	const mPerDeg = 6.4e6 * math.Pi / 180
	s := 0.0
	for _, poly := range mp {
		for _, ring := range poly {
			for k := 1; k < len(ring); k++ {
				s += math.Abs(ring[k][0]-ring[k-1][0]) + math.Abs(ring[k][1]-ring[k-1][1])
			}
			if n := len(ring); n > 1 && ring[0] != ring[n-1] {
				s += math.Abs(ring[0][0]-ring[n-1][0]) + math.Abs(ring[0][1]-ring[n-1][1])
			}
		}
	}
	return s * mPerDeg * (1 + 1e-9)
}

// sortByCode sorts findings of one code each by it, keeping the order of
// each code's own.
func sortByCode(fs []geo.Finding) {
	slices.SortStableFunc(fs, func(x, y geo.Finding) int { return strings.Compare(x.Codes[0], y.Codes[0]) })
}
