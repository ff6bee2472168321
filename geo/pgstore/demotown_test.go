package pgstore_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// loadDemo imports the embedded demo town into a fresh database and returns
// its snapshot as the server would build it.
func loadDemo(t *testing.T) (*pgstore.DB, *geo.Snapshot) {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatalf("importing the demo town: %v", err)
	}
	now := time.Now()
	loaded, gen, err := db.LoadArea(ctx, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := geo.NewSnapshot(gen, loaded, now)
	if err != nil {
		t.Fatal(err)
	}
	return db, snap
}

// TestDemoTown_isValidCoverage computes in PostGIS, independently of the
// import's own checks, that the demo town's grids tile its outline.
func TestDemoTown_isValidCoverage(t *testing.T) {
	db, snap := loadDemo(t)
	ctx := context.Background()
	if n := len(snap.Grids); n < 200 || n > 260 {
		t.Errorf("%d grids, want 200..260", n)
	}
	if n := len(snap.Villages); n != 39 {
		t.Errorf("%d villages, want 39", n)
	}
	var invalid, outsideVillage int
	var symDiff, villageSymDiff, maxOverlap float64
	err := db.Pool.QueryRow(ctx, `
		SELECT
		  (SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)),
		  (SELECT count(*) FROM grids g JOIN villages v ON v.code = g.village_code
		    WHERE NOT ST_CoveredBy(g.geom, v.outline)),
		  (SELECT ST_Area(ST_SymDifference(ST_Union(g.geom), t.outline)::geography) FROM grids g, towns t GROUP BY t.outline),
		  (SELECT ST_Area(ST_SymDifference(ST_Union(v.outline), t.outline)::geography) FROM villages v, towns t GROUP BY t.outline),
		  (SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
		    FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom)`).
		Scan(&invalid, &outsideVillage, &symDiff, &villageSymDiff, &maxOverlap)
	if err != nil {
		t.Fatal(err)
	}
	if invalid != 0 || outsideVillage != 0 {
		t.Errorf("%d invalid grids, %d grids not inside their village", invalid, outsideVillage)
	}
	if symDiff >= 1 || villageSymDiff >= 1 {
		t.Errorf("symmetric difference with the town outline: grids %.4f m², villages %.4f m²; want < 1", symDiff, villageSymDiff)
	}
	if maxOverlap > 0.01 {
		t.Errorf("two grids overlap by %.4f m², want <= 0.01", maxOverlap)
	}
}

// TestIndex_agreesWithSTCovers locates 100,000 random points in and around
// the town with the in-memory index and with PostGIS ST_Covers, plus every
// grid vertex and the midpoint of every axis-parallel edge (exactly on a
// border), and requires the same answers: the index's covering set equals
// PostGIS's, and Locate picks the smallest code of it.
func TestIndex_agreesWithSTCovers(t *testing.T) {
	db, snap := loadDemo(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(20261122, 2))
	b := snap.Whole().Outline.Bound().Pad(0.005)
	var pts []orb.Point
	for range 100_000 {
		pts = append(pts, orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])})
	}
	random := len(pts)
	for _, g := range snap.Grids {
		for _, ring := range g.Geometry[0] {
			for k := 1; k < len(ring); k++ {
				a, c := ring[k-1], ring[k]
				pts = append(pts, a)
				if a[0] == c[0] || a[1] == c[1] { // the midpoint is exactly on the edge
					pts = append(pts, orb.Point{(a[0] + c[0]) / 2, (a[1] + c[1]) / 2})
				}
			}
		}
	}
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = p[0], p[1]
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT p.i, coalesce(array_agg(g.code ORDER BY g.code) FILTER (WHERE g.code IS NOT NULL), '{}')
		FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
		LEFT JOIN grids g ON g.retired_generation IS NULL AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
		GROUP BY p.i ORDER BY p.i`, xs, ys)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var checked, boundary, inside, mismatches int
	for rows.Next() {
		var i int
		var want []string
		if err := rows.Scan(&i, &want); err != nil {
			t.Fatal(err)
		}
		p := pts[i-1]
		var got []string
		for _, id := range snap.Index().Covering(p) {
			got = append(got, snap.Grids[id].Code)
		}
		checked++
		if !slices.Equal(got, want) {
			if mismatches++; mismatches <= 10 {
				t.Errorf("point %d %v: index covers %v, PostGIS %v", i-1, p, got, want)
			}
			continue
		}
		loc, ok := snap.Locate(p, 0)
		switch {
		case len(want) == 0:
			if ok {
				t.Errorf("point %v: located in %s, PostGIS covers it by none", p, loc.Grid.Code)
			}
		case !ok || loc.Grid.Code != want[0]:
			t.Errorf("point %v: located %v %v, want the smallest of %v", p, ok, loc.Grid, want)
		case len(want) > 1 && (loc.Match.String() != "boundary" || !slices.Equal(loc.Also, want[1:])):
			t.Errorf("point %v on %v: match %s also %v", p, want, loc.Match, loc.Also)
		case len(want) > 1:
			boundary++
		default:
			inside++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != len(pts) || mismatches > 0 {
		t.Fatalf("checked %d of %d points, %d mismatches", checked, len(pts), mismatches)
	}
	if inside < random/2 || boundary < len(snap.Grids) {
		t.Errorf("too few interesting points: %d inside, %d on shared borders", inside, boundary)
	}
	t.Logf("%d random + %d border points agree: %d inside, %d on shared borders", random, len(pts)-random, inside, boundary)
}

// TestIndex_nearestAgreesWithPostGIS checks the nearest-grid fallback:
// points outside the town get the grid PostGIS finds nearest (geography
// distance on the spheroid), with the same distance to 0.1%, and are routed
// exactly when within the tolerance.
func TestIndex_nearestAgreesWithPostGIS(t *testing.T) {
	db, snap := loadDemo(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	b := snap.Whole().Outline.Bound().Pad(0.004) // about 400 m
	var xs, ys []float64
	for len(xs) < 2000 {
		p := orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
		if len(snap.Index().Covering(p)) == 0 {
			xs, ys = append(xs, p[0]), append(ys, p[1])
		}
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT p.x, p.y, n.code, n.d
		FROM unnest($1::float8[], $2::float8[]) AS p(x, y)
		CROSS JOIN LATERAL (
			SELECT g.code, ST_Distance(g.geom::geography, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)::geography) AS d
			FROM grids g WHERE g.retired_generation IS NULL
			ORDER BY g.geom <-> ST_SetSRID(ST_MakePoint(p.x, p.y), 4326) LIMIT 8
		) n`, xs, ys)
	if err != nil {
		t.Fatal(err)
	}
	type best struct {
		code string
		d    float64
	}
	nearest := map[orb.Point]best{}
	for rows.Next() {
		var p orb.Point
		var code string
		var d float64
		if err := rows.Scan(&p[0], &p[1], &code, &d); err != nil {
			t.Fatal(err)
		}
		if cur, ok := nearest[p]; !ok || d < cur.d || (d == cur.d && code < cur.code) {
			nearest[p] = best{code, d}
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var routed int
	for p, want := range nearest {
		loc, ok := snap.Locate(p, geo.DefaultToleranceM)
		if math.Abs(want.d-geo.DefaultToleranceM) < 0.5 {
			continue // too close to the tolerance to call
		}
		if ok != (want.d < geo.DefaultToleranceM) {
			t.Errorf("%v at %.2f m from %s: routed %v", p, want.d, want.code, ok)
			continue
		}
		if !ok {
			continue
		}
		routed++
		if loc.Match.String() != "nearest" || math.Abs(loc.DistanceM-want.d) > 0.001*want.d+0.01 {
			t.Errorf("%v: %s at %.3f m, PostGIS %s at %.3f m", p, loc.Match, loc.DistanceM, want.code, want.d)
		}
		if loc.Grid.Code != want.code && math.Abs(loc.DistanceM-want.d) > 0.01 {
			t.Errorf("%v: nearest %s, PostGIS %s (%.3f m)", p, loc.Grid.Code, want.code, want.d)
		}
	}
	if routed < 100 {
		t.Errorf("only %d points within the tolerance: the test says little", routed)
	}
}

// TestDemoTown_roster: the demo town carries what a township office works
// with: organizations with a chair and members, and a few grids without a
// deputy (the staffing gaps).
func TestDemoTown_roster(t *testing.T) {
	db, snap := loadDemo(t)
	var members, chairs, vacant int
	err := db.Pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM organization_members WHERE ends_at IS NULL),
		       (SELECT count(*) FROM organization_members WHERE ends_at IS NULL AND role = 'chair'),
		       (SELECT count(*) FROM grids g WHERE retired_generation IS NULL AND NOT EXISTS (
		            SELECT 1 FROM assignments a WHERE a.grid_code = g.code AND a.role = 'deputy' AND a.ends_at IS NULL))`).
		Scan(&members, &chairs, &vacant)
	if err != nil {
		t.Fatal(err)
	}
	orgs := 0
	for _, v := range snap.Villages {
		orgs += len(v.Organizations)
	}
	if chairs != orgs || members != 3*orgs || orgs != 4*len(snap.Villages) {
		t.Errorf("%d organizations with members, %d chairs, %d members", orgs, chairs, members)
	}
	if vacant < 3 || vacant > 6 {
		t.Errorf("%d grids without a deputy, want a few", vacant)
	}
}
