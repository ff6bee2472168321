package pgstore_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"wangge/geo/gridindex"
	"wangge/geo/pgstore/pgtest"
)

// TestIndex_largeLayerAgreesWithSTCovers holds the index on a layer of
// 19,200 small grids, the size at which it answers point-in-grid through
// its cell directory instead of the tree (gridindex's
// TestDirectoryOnLargeLayer builds the same layer and checks it has one),
// to PostGIS ST_Covers: 60,000 random points of the layer's box plus
// every grid's first vertex and the midpoint of its first edge (on a
// border shared with a neighbour) get the same covering grids.
func TestIndex_largeLayerAgreesWithSTCovers(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	bound := orb.Bound{Min: orb.Point{116.30, 39.90}, Max: orb.Point{116.42, 39.99}}
	polys := gridindex.JitteredCoverage(160, 120, bound, 49)
	if len(polys) < 1<<14 {
		t.Fatalf("%d grids: below the directory's 16,384", len(polys))
	}
	ix, err := gridindex.New(polys)
	if err != nil {
		t.Fatal(err)
	}
	geoms := make([][]byte, len(polys))
	for i, mp := range polys {
		if geoms[i], err = wkb.Marshal(mp); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE layer AS
		SELECT (i - 1)::int AS id, ST_SetSRID(ST_GeomFromWKB(g), 4326) AS geom
		FROM unnest($1::bytea[]) WITH ORDINALITY AS u(g, i)`, geoms); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON layer USING gist (geom); ANALYZE layer`); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(19200, 1))
	var pts []orb.Point
	for range 60_000 {
		pts = append(pts, orb.Point{bound.Min[0] + r.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1] + r.Float64()*(bound.Max[1]-bound.Min[1])})
	}
	for _, mp := range polys {
		ring := mp[0][0]
		pts = append(pts, ring[0], orb.Point{(ring[0][0] + ring[1][0]) / 2, (ring[0][1] + ring[1][1]) / 2})
	}
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = p[0], p[1]
	}
	rows, err := tx.Query(ctx, `
		SELECT p.i, coalesce(array_agg(l.id ORDER BY l.id) FILTER (WHERE l.id IS NOT NULL), '{}')
		FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
		LEFT JOIN layer l ON ST_Covers(l.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
		GROUP BY p.i ORDER BY p.i`, xs, ys)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked, shared, mismatches := 0, 0, 0
	for rows.Next() {
		var i int
		var want []int32
		if err := rows.Scan(&i, &want); err != nil {
			t.Fatal(err)
		}
		checked++
		got := ix.Covering(pts[i-1])
		slices.Sort(got)
		if !slices.Equal(got, want) {
			if mismatches++; mismatches <= 10 {
				t.Errorf("point %d %v: index covers %v, PostGIS %v", i-1, pts[i-1], got, want)
			}
		}
		if len(want) > 1 {
			shared++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != len(pts) || mismatches > 0 {
		t.Fatalf("checked %d of %d points, %d mismatches", checked, len(pts), mismatches)
	}
	if shared < len(polys)/2 {
		t.Errorf("only %d points on borders shared by several grids", shared)
	}
}
