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
	if len(r.edges) == 0 {
		return nil
	}
	if r.asGiven {
		return mp
	}
	parts, _ := chain(r.edges)
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
		if vi, ok := byCode[g.Village]; ok && len(grids[i].edges) > 0 {
			own[vi] = append(own[vi], grids[i])
		}
	}
	// The largest first: one province-sized village started last would
	// keep one worker busy after the others are done.
	work := make([]int, len(l.Villages))
	order := make([]int, len(l.Villages))
	for i := range order {
		order[i] = i
		work[i] = len(villages[i].edges)
		for _, g := range own[i] {
			work[i] += len(g.edges)
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
		case len(v.edges) == 0:
			outside = u.edges
		case len(u.edges) == 0:
			uncovered = v.edges
		default:
			uncovered = differenceEdges(v, u)
			outside = differenceEdges(u, v)
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
				s += GeodesicM(ring[k-1], ring[k])
			}
			if n := len(ring); n > 1 && ring[0] != ring[n-1] {
				s += GeodesicM(ring[n-1], ring[0])
			}
		}
	}
	return s
}

// GeodesicM returns the length in metres of the geodesic between p and q
// (lon, lat in degrees) on the WGS-84 ellipsoid: for points less than
// 0.02° apart in both, in the plane of the mid-latitude; else by
// Vincenty's inverse formula (within a tenth of a millimetre of the exact
// geodesic; for the nearly antipodal points where that does not converge,
// the last iterate).
func GeodesicM(p, q orb.Point) float64 {
	if p == q {
		return 0
	}
	if math.Abs(q[0]-p[0]) < 0.02 && math.Abs(q[1]-p[1]) < 0.02 {
		// Up to 2 km: the mid-latitude plane (geo/spheroid's measure)
		// is within 1e-7 of the geodesic, at a tenth of the cost.
		m := (p[1] + q[1]) / 2
		x := (q[0] - p[0]) * spheroid.PrimeVerticalRadius(m) * math.Cos(m*rad) * rad
		y := (q[1] - p[1]) * spheroid.MeridionalRadius(m) * rad
		return math.Hypot(x, y)
	}
	const a, f = spheroid.A, spheroid.F
	const b = a * (1 - f)
	l := (q[0] - p[0]) * rad
	u1 := math.Atan((1 - f) * math.Tan(p[1]*rad))
	u2 := math.Atan((1 - f) * math.Tan(q[1]*rad))
	sinU1, cosU1 := math.Sincos(u1)
	sinU2, cosU2 := math.Sincos(u2)
	lambda := l
	var sinSigma, cosSigma, sigma, cos2Alpha, cos2SigmaM float64
	for range 200 {
		sinL, cosL := math.Sincos(lambda)
		sinSigma = math.Hypot(cosU2*sinL, cosU1*sinU2-sinU1*cosU2*cosL)
		if sinSigma == 0 {
			return 0
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosL
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinL / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		cos2SigmaM = 0
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		c := f / 16 * cos2Alpha * (4 + f*(4-3*cos2Alpha))
		prev := lambda
		lambda = l + (1-c)*f*sinAlpha*(sigma+c*sinSigma*(cos2SigmaM+c*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-13 {
			break
		}
	}
	u := cos2Alpha * (a*a - b*b) / (b * b)
	ka := 1 + u/16384*(4096+u*(-768+u*(320-175*u)))
	kb := u / 1024 * (256 + u*(-128+u*(74-47*u)))
	dSigma := kb * sinSigma * (cos2SigmaM + kb/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-
		kb/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
	return b * ka * (sigma - dSigma)
}

// sortByCode sorts findings of one code each by it, keeping the order of
// each code's own.
func sortByCode(fs []geo.Finding) {
	slices.SortStableFunc(fs, func(x, y geo.Finding) int { return strings.Compare(x.Codes[0], y.Codes[0]) })
}
