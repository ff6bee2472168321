package main

import (
	"context"
	"runtime"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/gridindex"
)

// bigBound is about 1.5° x 1.5° around Beijing, as in the gridindex
// benchmarks: 1000 x 1000 grids there are some 130 m x 170 m each.
var bigBound = orb.Bound{Min: orb.Point{116.0, 39.5}, Max: orb.Point{117.5, 41.0}}

// nsPerLookup calls locate on pts in turn, on this goroutine, for about d
// (bounded by count too), and returns the mean time per call.
func nsPerLookup(ctx context.Context, pts []orb.Point, d time.Duration, locate func(orb.Point) int) float64 {
	if len(pts) == 0 {
		return 0
	}
	start := time.Now()
	n, sum := 0, 0
	for range 1 << 24 { // rounds of len(pts) lookups
		for _, p := range pts {
			sum += locate(p)
		}
		n += len(pts)
		if time.Since(start) >= d || ctx.Err() != nil {
			break
		}
	}
	runtime.KeepAlive(sum) // the lookups are not optimised away
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// townIndexResult is the in-memory lookup on the demo town: over all the
// benchmark points, and over each kind of them.
type townIndexResult struct {
	AllNs     float64 // every point of the bounding box
	InsideNs  float64 // points strictly inside a grid
	NearestNs float64 // points outside every grid but within the tolerance
	OutsideNs float64 // points farther than the tolerance from every grid (404)
}

// benchTownIndex measures snapshot.LocateCode over the benchmark points,
// then over the points of each kind, for a quarter of d each.
func benchTownIndex(ctx context.Context, snap *geo.Snapshot, pts []orb.Point, d time.Duration) townIndexResult {
	locate := func(p orb.Point) int {
		r, _ := snap.LocateCode(p, geo.DefaultToleranceM)
		return int(r.ID)
	}
	var inside, nearest, outside []orb.Point
	for _, p := range pts {
		r, ok := snap.LocateCode(p, geo.DefaultToleranceM)
		switch {
		case !ok:
			outside = append(outside, p)
		case r.Match == gridindex.Inside:
			inside = append(inside, p)
		case r.Match == gridindex.Nearest:
			nearest = append(nearest, p)
		}
	}
	return townIndexResult{
		AllNs:     nsPerLookup(ctx, pts, d/4, locate),
		InsideNs:  nsPerLookup(ctx, inside, d/4, locate),
		NearestNs: nsPerLookup(ctx, nearest, d/4, locate),
		OutsideNs: nsPerLookup(ctx, outside, d/4, locate),
	}
}

// millionResult is the in-memory index over a synthetic million grids.
type millionResult struct {
	Grids         int
	Generate      time.Duration // JitteredCoverage
	Build         time.Duration // gridindex.New
	NsPerLookup   float64
	MemoryBytes   int   // Index.MemoryBytes
	HeapGrowth    int64 // live heap added by gridindex.New, after GC
	VerticesTotal int
}

// benchMillion builds the index over a 1000 x 1000 JitteredCoverage and
// looks up uniform random points in it.
func benchMillion(ctx context.Context, d time.Duration) (*millionResult, error) {
	res := &millionResult{}
	start := time.Now()
	polys := gridindex.JitteredCoverage(1000, 1000, bigBound, 1)
	res.Generate = time.Since(start)
	res.Grids = len(polys)
	for _, mp := range polys {
		res.VerticesTotal += len(mp[0][0]) - 1
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	ix, err := gridindex.New(polys)
	res.Build = time.Since(start)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(polys) // measure the index alone, not the freed input
	res.HeapGrowth = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	res.MemoryBytes = ix.MemoryBytes()

	pts := randomPoints(bigBound, 1<<20, 2)
	res.NsPerLookup = nsPerLookup(ctx, pts, d, func(p orb.Point) int {
		r, _ := ix.Locate(p, geo.DefaultToleranceM)
		return int(r.ID)
	})
	return res, ctx.Err()
}
