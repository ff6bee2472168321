package coverage

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// TestCheck_planChecks: what plan validation adds, on named boxes (in
// 0.001° units):
//
//	+---+---+  village v1 is 0..4 × 0..2; a covers its left half, b its
//	| a | b |  right half but for a 1×1 gap; c (of v1 too) sticks out
//	+---+ +-+  below it by 1×1. Village v2 (4..5 × 0..2) is tiled by d
//	| a | |b|  exactly.
//	+---+-+-+
//	      |c|   Grid a also has a strip 0.001 × 0.00001 (about 123 m²,
//	      +-+   1.1 m wide) left of v1: a sliver, and outside v1.
func TestCheck_planChecks(t *testing.T) {
	u := 0.001
	strip := orb.Polygon{{{-2 * u, 0}, {-u, 0}, {-u, 0.01 * u}, {-2 * u, 0.01 * u}, {-2 * u, 0}}}
	a := append(box(0, 0, 2*u, 2*u), strip)
	bGeom := orb.MultiPolygon{{{{2 * u, 0}, {3 * u, 0}, {3 * u, u}, {4 * u, u}, {4 * u, 2 * u}, {2 * u, 2 * u}, {2 * u, 0}}}}
	l := &Layer{
		Outline:  box(-2*u, -u, 5*u, 2*u),
		Villages: []Feature{{Code: "v1", Geometry: box(0, 0, 4*u, 2*u)}, {Code: "v2", Geometry: box(4*u, 0, 5*u, 2*u)}},
		Grids: []Feature{
			{Code: "a", Village: "v1", Geometry: a},
			{Code: "b", Village: "v1", Geometry: bGeom},
			{Code: "c", Village: "v1", Geometry: box(3*u, -u, 4*u, 0)},
			{Code: "d", Village: "v2", Geometry: box(4*u, 0, 5*u, 2*u)},
		},
	}
	r := Check(l, LayerOptions{OverlapM2: 0.01, TilingM2: 1, Slivers: &SliverOptions{M2: 50, WidthM: 2}, VillageTiling: true, Points: true})
	cell := AreaM2(box(3*u, 0, 4*u, u))
	sm := orb.MultiPolygon{strip}
	if len(r.Slivers) != 1 || r.Slivers[0].Codes[0] != "a" || math.Abs(r.Slivers[0].AreaM2-AreaM2(sm)) > 1e-6 ||
		math.Abs(r.Slivers[0].WidthM-2*r.Slivers[0].AreaM2/PerimeterM(sm)) > 1e-9 ||
		!sm.Bound().Contains(r.Slivers[0].Location) {
		t.Errorf("slivers: %+v, want a's strip of %.2f m²", r.Slivers, AreaM2(sm))
	}
	if len(r.VillagesNotTiled) != 1 {
		t.Fatalf("villages not tiled: %+v, want v1", r.VillagesNotTiled)
	}
	v := r.VillagesNotTiled[0]
	// v1 misses the 1×1 gap in b; c (below the gap: one polygon with it)
	// and a's strip lie outside v1.
	if want := 2*cell + AreaM2(sm); v.Kind != geo.FindVillageNotTiled || v.Codes[0] != "v1" || math.Abs(v.AreaM2-want) > 1e-6*want || len(v.Area) != 2 {
		t.Errorf("v1: %s %v %.2f m² in %d parts, want %.2f m² in 2 (the gap with c, the strip)", v.Kind, v.Codes, v.AreaM2, len(v.Area), want)
	}
	if !box(3*u, -u, 4*u, u).Bound().Contains(v.Location) {
		t.Errorf("v1 located at %v, outside the gap and c", v.Location)
	}
	for i, g := range l.Grids {
		if p := r.Points[i]; !box(-2*u, -u, 5*u, 2*u).Bound().Contains(p) || !g.Geometry.Bound().Contains(p) {
			t.Errorf("grid %s: point %v not on it", g.Code, p)
		}
	}
}

// TestPerimeterBound: perimeterBoundM is never below PerimeterM (the
// geodesics measured), on polygons anywhere from the equator to the poles,
// small and large, and is not far above it on a small one.
func TestPerimeterBound(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 7))
	for range 2000 {
		lon, lat := 360*rnd.Float64()-180, 178*rnd.Float64()-89
		size := math.Pow(10, -6+6*rnd.Float64())
		var ring orb.Ring
		for k := range 3 + rnd.IntN(8) {
			a := 2 * math.Pi * float64(k) / 10
			r := size * (0.5 + rnd.Float64())
			ring = append(ring, orb.Point{lon + r*math.Cos(a), max(-90, min(90, lat+r*math.Sin(a)))})
		}
		ring = append(ring, ring[0])
		mp := orb.MultiPolygon{{ring}}
		bound, exact := perimeterBoundM(mp), PerimeterM(mp)
		if bound < exact {
			t.Fatalf("ring %v: bound %v below the perimeter %v", ring, bound, exact)
		}
	}
	// Near the equator a degree of latitude is 110.6 km and of longitude
	// 111.3 km: the bound of a small square is within 2 % of it.
	sq := box(0, 0, 0.001, 0.001)
	if b, p := perimeterBoundM(sq), PerimeterM(sq); b > 1.02*p {
		t.Errorf("square: bound %v, perimeter %v", b, p)
	}
}
