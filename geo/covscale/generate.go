package covscale

import (
	"fmt"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/coverage"
	"wangge/geo/gridindex"
)

// Generated is a county-sized layer: an nx×ny lattice of jittered grids
// (gridindex.JitteredCoverage, neighbours sharing their vertices exactly)
// in villages of 6×5 grids, with known defects injected:
//   - every 97th grid grown by 5% about its middle: overlaps with its
//     neighbours (and, at a village's or the outline's edge, a part
//     outside the village or the outline);
//   - every 89th grid shrunk by 10%: a gap all round it;
//   - every 101st grid with two vertices swapped: a self-intersection
//     (invalid);
//   - every 211th grid doubled into a multipolygon of two overlapping
//     copies, one shifted diagonally (invalid: ST_MakeValid merges them;
//     a shift along x alone makes the near-level edges of the copies cross
//     at grazing angles, where GEOS's and our crossing points differ by
//     enough to change an overlap by a few m² in 20,000);
//   - grid 5 left out: a gap of a whole grid.
func Generated(nx, ny int) *geo.TownData {
	return GeneratedWith(nx, ny, 3)
}

// GeneratedWith is Generated with up to maxEdgeVertices extra vertices
// on each lattice edge (gridindex.CoverageOptions): 800 gives grids of
// about 1,600 vertices, and 60×55 of them a layer the size of China's
// counties (3,300 polygons, 5.3 M vertices).
func GeneratedWith(nx, ny, maxEdgeVertices int) *geo.TownData {
	b := orb.Bound{Min: orb.Point{112.0, 27.0}, Max: orb.Point{112.0 + 0.01*float64(nx), 27.0 + 0.009*float64(ny)}}
	cells := gridindex.JitteredCoverageWith(nx, ny, b, 7, gridindex.CoverageOptions{Jitter: 0.2, MaxEdgeVertices: maxEdgeVertices})
	td := &geo.TownData{Town: geo.Town{Code: "430000001", Name: "generated", Outline: orb.MultiPolygon{b.ToPolygon()}}}
	vx, vy := 6, 5
	for bj := 0; bj*vy < ny; bj++ {
		for bi := 0; bi*vx < nx; bi++ {
			vcode := fmt.Sprintf("%s%03d", td.Town.Code, bj*((nx+vx-1)/vx)+bi)
			var block []orb.MultiPolygon
			for j := bj * vy; j < min((bj+1)*vy, ny); j++ {
				for i := bi * vx; i < min((bi+1)*vx, nx); i++ {
					k := j*nx + i
					block = append(block, cells[k])
					if k == 5 {
						continue
					}
					g := cells[k]
					switch {
					case k%97 == 0:
						g = scaled(g, 1.05)
					case k%89 == 0:
						g = scaled(g, 0.9)
					case k%101 == 0:
						g = swapped(g)
					case k%211 == 0:
						g = orb.MultiPolygon{g[0], shifted(g[0], 0.002, 0.0015)}
					}
					td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{
						Code: fmt.Sprintf("%s%03d", vcode, len(td.Grids)%1000), VillageCode: vcode, Geometry: g}})
				}
			}
			td.Villages = append(td.Villages, geo.Village{Code: vcode, Outline: coverage.Union(block)})
		}
	}
	return td
}

func scaled(mp orb.MultiPolygon, f float64) orb.MultiPolygon {
	c := mp.Bound().Center()
	out := orb.MultiPolygon{}
	for _, p := range mp {
		var np orb.Polygon
		for _, r := range p {
			nr := make(orb.Ring, len(r))
			for k, v := range r {
				nr[k] = orb.Point{c[0] + (v[0]-c[0])*f, c[1] + (v[1]-c[1])*f}
			}
			np = append(np, nr)
		}
		out = append(out, np)
	}
	return out
}

func swapped(mp orb.MultiPolygon) orb.MultiPolygon {
	r := append(orb.Ring(nil), mp[0][0]...)
	r[1], r[2] = r[2], r[1]
	return orb.MultiPolygon{{r}}
}

func shifted(p orb.Polygon, dx, dy float64) orb.Polygon {
	var np orb.Polygon
	for _, r := range p {
		nr := make(orb.Ring, len(r))
		for k, v := range r {
			nr[k] = orb.Point{v[0] + dx, v[1] + dy}
		}
		np = append(np, nr)
	}
	return np
}
