package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/gridindex"
	"wangge/geo/pgstore"
)

// The synthetic county: countyCols x countyRows villages, each a block of
// villageCells x villageCells grids of a JitteredCoverage lattice, over
// countyBound (1° x 0.5° in Hunan: cells of about 1 km).
const (
	countyCols   = 10
	countyRows   = 5
	villageCells = 10
	countyCode   = "431321900" // a made-up township code in 双峰县
)

var countyBound = orb.Bound{Min: orb.Point{112.0, 27.0}, Max: orb.Point{113.0, 27.5}}

// syntheticCounty returns a town of 50 villages of 100 grids (5,000
// grids) in 5 districts, with a leader and a deputy on every grid and a
// council serving every grid of its village. Village and town outlines are
// traced from the grids, so the three layers tile exactly.
func syntheticCounty() (*geo.TownData, error) {
	nx, ny := countyCols*villageCells, countyRows*villageCells
	cells := gridindex.JitteredCoverage(nx, ny, countyBound, 7)
	td := &geo.TownData{Town: geo.Town{Code: countyCode, Name: "合成县", County: "双峰县", Province: "湖南省",
		Note: "synthetic: a jittered lattice of 5,000 grids made by wangge-load to time imports"}}
	for r := range countyRows {
		td.Town.Districts = append(td.Town.Districts,
			geo.District{Code: fmt.Sprintf("%02d", r+1), Name: fmt.Sprintf("第%d片区", r+1)})
	}
	for vr := range countyRows {
		for vc := range countyCols {
			v, grids := countyVillage(cells, nx, vc, vr)
			var err error
			if v.Outline, err = traceOutline(geometries(grids)); err != nil {
				return nil, fmt.Errorf("village %s: %w", v.Code, err)
			}
			td.Villages = append(td.Villages, v)
			td.Grids = append(td.Grids, grids...)
		}
	}
	var err error
	if td.Town.Outline, err = traceOutline(cells); err != nil {
		return nil, fmt.Errorf("town outline: %w", err)
	}
	return td, nil
}

// countyVillage returns village (vc, vr) and its grids, taken from the
// lattice cells (row-major, nx per row).
func countyVillage(cells []orb.MultiPolygon, nx, vc, vr int) (geo.Village, []geo.GridRecord) {
	k := vr*countyCols + vc
	v := geo.Village{Code: fmt.Sprintf("%s%03d", countyCode, 201+k), Name: fmt.Sprintf("合成%d村", k+1),
		DistrictCode: fmt.Sprintf("%02d", vr+1)}
	council := []geo.OrganizationRef{{Kind: geo.OrgRedWhiteCouncil, Name: v.Name + "红白喜事理事会"}}
	var grids []geo.GridRecord
	for dj := range villageCells {
		for di := range villageCells {
			seq := dj*villageCells + di + 1
			n := k*villageCells*villageCells + seq // 1..5000, unique in the county
			cell := cells[(vr*villageCells+dj)*nx+vc*villageCells+di]
			grids = append(grids, geo.GridRecord{
				Grid: geo.Grid{Code: fmt.Sprintf("%s%03d", v.Code, seq), Name: fmt.Sprintf("第%d网格", seq),
					VillageCode: v.Code, Households: 80 + n%70, Population: 250 + n%230, Geometry: cell},
				Leader:        &geo.Contact{Name: fmt.Sprintf("网格长%04d", n), Phone: fmt.Sprintf("139%08d", n)},
				Deputy:        &geo.Contact{Name: fmt.Sprintf("副网格长%04d", n), Phone: fmt.Sprintf("138%08d", n)},
				Organizations: council,
			})
		}
	}
	return v, grids
}

// geometries returns the grids' geometries.
func geometries(grids []geo.GridRecord) []orb.MultiPolygon {
	out := make([]orb.MultiPolygon, len(grids))
	for i, g := range grids {
		out[i] = g.Geometry
	}
	return out
}

// segment is a directed edge between two vertices.
type segment struct{ a, b orb.Point }

// traceOutline returns the outline of the union of polys, which must be
// hole-free polygons that share bit-identical vertices along their common
// edges and whose union is one simple polygon (a block of JitteredCoverage
// cells). An edge shared by two polygons is walked once in each direction,
// so the edges left after cancelling opposite pairs form the outline; they
// are chained into one ring.
func traceOutline(polys []orb.MultiPolygon) (orb.MultiPolygon, error) {
	open := map[segment]int{}
	for _, mp := range polys {
		for _, poly := range mp {
			if len(poly) != 1 {
				return nil, errors.New("polygons with holes are not supported")
			}
			r := poly[0]
			for k := 0; k+1 < len(r); k++ {
				if rev := (segment{r[k+1], r[k]}); open[rev] > 0 {
					open[rev]--
					continue
				}
				open[segment{r[k], r[k+1]}]++
			}
		}
	}
	next := map[orb.Point]orb.Point{}
	start := orb.Point{}
	for s, n := range open {
		if n == 0 {
			continue
		}
		if _, dup := next[s.a]; dup || n > 1 {
			return nil, fmt.Errorf("the outline touches itself at %v", s.a)
		}
		next[s.a] = s.b
		if len(next) == 1 || s.a[1] < start[1] || s.a[1] == start[1] && s.a[0] < start[0] {
			start = s.a // the lowest vertex: a deterministic start
		}
	}
	ring := orb.Ring{start}
	for p := next[start]; p != start; p = next[p] {
		if len(ring) > len(next) {
			return nil, errors.New("the outline does not close")
		}
		ring = append(ring, p)
	}
	if len(ring) != len(next) {
		return nil, fmt.Errorf("the union has %d outline vertices outside its first ring", len(next)-len(ring))
	}
	return orb.MultiPolygon{{append(ring, start)}}, nil
}

// countyResult is the import of the synthetic county.
type countyResult struct {
	Grids, Villages int
	Generate        time.Duration
	Import          time.Duration
}

// benchCountyImport imports the synthetic county into a fresh database
// called dbName in cluster c and times db.ImportTown.
func benchCountyImport(ctx context.Context, c *pgstore.Cluster, dbName string) (*countyResult, error) {
	start := time.Now()
	td, err := syntheticCounty()
	if err != nil {
		return nil, err
	}
	res := &countyResult{Grids: len(td.Grids), Villages: len(td.Villages), Generate: time.Since(start)}
	db, err := openMigrated(ctx, c, dbName)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	start = time.Now()
	if _, err := db.ImportTown(ctx, td, "wangge-load", "synthetic county"); err != nil {
		return nil, fmt.Errorf("importing the synthetic county: %w", err)
	}
	res.Import = time.Since(start)
	return res, nil
}
