package pgstore_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/coverage"
	"wangge/geo/featurejson"
)

// coverageCase is one shape of the PostGIS oracle test.
type coverageCase struct {
	name string
	req  coverage.Request
}

func covMetres(v float64) *float64 { return &v }

// coverageCases returns the shapes checked against PostGIS: polygons
// (random triangles and quadrilaterals across the town, one with a hole,
// a village outline whose edges coincide with its grids', one grid
// itself, buffered polygons), circles (one centred on a vertex that
// several grids share), buffered lines (straight, bent, self-crossing,
// retracing, a multi-line, random walks) and a shape outside the town.
func coverageCases(snap *geo.Snapshot) []coverageCase {
	r := rand.New(rand.NewPCG(20261122, 7))
	b := snap.Whole().Outline.Bound()
	at := func(u, v float64) orb.Point {
		return orb.Point{b.Min[0] + u*(b.Max[0]-b.Min[0]), b.Min[1] + v*(b.Max[1]-b.Min[1])}
	}
	random := func() orb.Point { return at(0.05+0.9*r.Float64(), 0.05+0.9*r.Float64()) }
	// starPolygon is a simple polygon: n random points sorted by angle
	// around a centre.
	starPolygon := func(n int, size float64) orb.Polygon {
		c := random()
		type pa struct {
			p orb.Point
			a float64
		}
		var ps []pa
		for range n {
			a := r.Float64() * 2 * math.Pi
			d := size * (0.3 + 0.7*r.Float64())
			ps = append(ps, pa{orb.Point{c[0] + d*math.Cos(a), c[1] + d*math.Sin(a)}, a})
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].a < ps[j].a })
		ring := orb.Ring{}
		for _, p := range ps {
			ring = append(ring, p.p)
		}
		return orb.Polygon{append(ring, ring[0])}
	}
	var cs []coverageCase
	for i := range 4 {
		cs = append(cs, coverageCase{fmt.Sprintf("random triangle %d", i), coverage.Request{Geometry: starPolygon(3, 0.01+0.03*r.Float64())}})
	}
	for i := range 4 {
		cs = append(cs, coverageCase{fmt.Sprintf("random quadrilateral %d", i), coverage.Request{Geometry: starPolygon(4, 0.01+0.03*r.Float64())}})
	}
	cs = append(cs, coverageCase{"random 12-gon", coverage.Request{Geometry: starPolygon(12, 0.03)}})

	holed := starPolygon(6, 0.03)
	c := holed[0].Bound().Center()
	hole := orb.Ring{{c[0] - 0.004, c[1] - 0.004}, {c[0] - 0.004, c[1] + 0.004}, {c[0] + 0.004, c[1] + 0.004}, {c[0] + 0.004, c[1] - 0.004}, {c[0] - 0.004, c[1] - 0.004}}
	holed = append(holed, hole)
	cs = append(cs, coverageCase{"polygon with a hole", coverage.Request{Geometry: holed}})
	cs = append(cs, coverageCase{"village outline", coverage.Request{Geometry: snap.Villages[3].Outline}})
	cs = append(cs, coverageCase{"a grid itself", coverage.Request{Geometry: snap.Grids[100].Geometry}})
	cs = append(cs, coverageCase{"buffered triangle", coverage.Request{Geometry: starPolygon(3, 0.015), BufferM: covMetres(120)}})

	for i, radius := range []float64{40, 300, 1200, 3500} {
		cs = append(cs, coverageCase{fmt.Sprintf("circle %d of %v m", i, radius), coverage.Request{Geometry: random(), RadiusM: covMetres(radius)}})
	}
	// A vertex that several grids share.
	for _, v := range snap.Grids[50].Geometry[0][0] {
		if len(snap.Index().Covering(v)) >= 3 {
			cs = append(cs, coverageCase{"circle on a shared vertex", coverage.Request{Geometry: v, RadiusM: covMetres(250)}})
			break
		}
	}

	cs = append(cs,
		coverageCase{"straight road", coverage.Request{Geometry: orb.LineString{at(0.1, 0.2), at(0.9, 0.7)}, BufferM: covMetres(30)}},
		coverageCase{"bent road", coverage.Request{Geometry: orb.LineString{at(0.2, 0.1), at(0.4, 0.5), at(0.35, 0.9), at(0.8, 0.85)}, BufferM: covMetres(75)}},
		coverageCase{"self-crossing route", coverage.Request{Geometry: orb.LineString{at(0.1, 0.3), at(0.8, 0.6), at(0.7, 0.2), at(0.3, 0.7), at(0.5, 0.9)}, BufferM: covMetres(150)}},
		coverageCase{"route that retraces itself", coverage.Request{Geometry: orb.LineString{at(0.3, 0.3), at(0.6, 0.4), at(0.3, 0.3), at(0.4, 0.6)}, BufferM: covMetres(60)}},
		coverageCase{"two streams", coverage.Request{Geometry: orb.MultiLineString{{at(0.1, 0.5), at(0.5, 0.55), at(0.9, 0.45)}, {at(0.5, 0.1), at(0.52, 0.5), at(0.48, 0.9)}}, BufferM: covMetres(200)}},
		coverageCase{"random walk", coverage.Request{Geometry: covRandomWalk(r, random(), 40), BufferM: covMetres(25)}},
		coverageCase{"long walk, wide buffer", coverage.Request{Geometry: covRandomWalk(r, random(), 150), BufferM: covMetres(400)}},
		coverageCase{"village grown by 800 m", coverage.Request{Geometry: snap.Villages[20].Outline, BufferM: covMetres(800)}},
		coverageCase{"outside the town", coverage.Request{Geometry: orb.Point{b.Max[0] + 0.2, b.Max[1] + 0.2}, RadiusM: covMetres(500)}},
	)
	return cs
}

// covRandomWalk returns a line of n vertices from start, in steps of about
// 200 m in random directions.
func covRandomWalk(r *rand.Rand, start orb.Point, n int) orb.LineString {
	ls := orb.LineString{start}
	for range n - 1 {
		p := ls[len(ls)-1]
		a := r.Float64() * 2 * math.Pi
		ls = append(ls, orb.Point{p[0] + 0.002*math.Cos(a), p[1] + 0.002*math.Sin(a)})
	}
	return ls
}

// TestCoverage_agreesWithPostGIS checks geo/coverage against PostGIS on
// every shape of coverageCases: the shape that coverage builds (its buffer
// included) is sent to PostGIS, which must find it valid, and for every
// grid ST_Area(ST_Intersection(grid, shape)::geography) must agree with
// coverage's overlap within 0.1 % (or 1 m² for tiny overlaps), with the
// same set of grids overlapped by more than 1 m². Circles and buffers are
// checked separately against PostGIS's own ST_Buffer(geography) within
// 0.5 %.
func TestCoverage_agreesWithPostGIS(t *testing.T) {
	db, snap := loadDemo(t)
	ctx := context.Background()
	cases := coverageCases(snap)
	if len(cases) < 20 {
		t.Fatalf("%d shapes, want at least 20", len(cases))
	}
	var worstRel, worstAbs, worstShape, worstBuffer float64
	var worstRelWhere string
	compared := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := coverage.NewShape(tc.req)
			if err != nil {
				t.Fatalf("NewShape: %v", err)
			}
			if sh.Dropped != 0 {
				t.Errorf("%d boundary pieces dropped", sh.Dropped)
			}
			gj := string(featurejson.AppendMultiPolygon(nil, sh.Polygon, featurejson.Exact))

			var valid bool
			var reason string
			var area float64
			err = db.Pool.QueryRow(ctx, `
				WITH s AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g)
				SELECT ST_IsValid(g), ST_IsValidReason(g), ST_Area(g::geography) FROM s`, gj).Scan(&valid, &reason, &area)
			if err != nil {
				t.Fatal(err)
			}
			if !valid {
				t.Fatalf("PostGIS finds the shape invalid: %s", reason)
			}
			if e := math.Abs(sh.AreaM2-area) / area; e > 1e-4 {
				t.Errorf("shape area %.3f m², PostGIS %.3f m² (rel err %.2g)", sh.AreaM2, area, e)
			} else {
				worstShape = math.Max(worstShape, e)
			}

			rows, err := db.Pool.Query(ctx, `
				WITH s AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g)
				SELECT code, ST_Area(ST_Intersection(grids.geom, s.g)::geography)
				FROM grids, s
				WHERE retired_generation IS NULL AND ST_Intersects(grids.geom, s.g)`, gj)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{}
			for rows.Next() {
				var code string
				var a float64
				if err := rows.Scan(&code, &a); err != nil {
					t.Fatal(err)
				}
				want[code] = a
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, o := range sh.Grids(snap) {
				got[snap.Grids[o.Entry].Code] = o.OverlapM2
			}
			for _, code := range covUnionKeys(want, got) {
				w, g := want[code], got[code]
				if (w > 1) != (g > 1) {
					t.Errorf("grid %s: coverage %.4f m², PostGIS %.4f m²: not the same grids", code, g, w)
					continue
				}
				diff := math.Abs(g - w)
				if diff > 1 && diff > 1e-3*w {
					t.Errorf("grid %s: coverage %.4f m², PostGIS %.4f m² (rel err %.2g)", code, g, w, diff/w)
				}
				worstAbs = math.Max(worstAbs, diff)
				if w >= 100 && diff/w > worstRel {
					worstRel, worstRelWhere = diff/w, tc.name+" "+code
				}
				compared++
			}
			if tc.name == "outside the town" && (len(got) != 0 || len(want) != 0) {
				t.Errorf("outside the town: coverage %v, PostGIS %v; want none", got, want)
			}

			// The buffer itself against PostGIS's geography buffer (64
			// segments a quarter: the default 8 would make PostGIS's circle
			// 0.64 % smaller than the true one).
			if tc.req.RadiusM != nil || (tc.req.BufferM != nil && covIsLinear(tc.req.Geometry)) {
				dist := tc.req.RadiusM
				if dist == nil {
					dist = tc.req.BufferM
				}
				var pgBuf float64
				in := string(covGeometryJSON(tc.req.Geometry))
				err := db.Pool.QueryRow(ctx, `
					SELECT ST_Area(ST_Buffer(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)::geography, $2, 'quad_segs=64'))`,
					in, *dist).Scan(&pgBuf)
				if err != nil {
					t.Fatal(err)
				}
				e := math.Abs(sh.AreaM2-pgBuf) / pgBuf
				if e > 5e-3 {
					t.Errorf("buffer area %.1f m², PostGIS ST_Buffer %.1f m² (rel err %.2g > 0.5%%)", sh.AreaM2, pgBuf, e)
				}
				worstBuffer = math.Max(worstBuffer, e)
			}
		})
	}
	// The vertices of a 50 km circle are where they should be: at the
	// enlarged radius that gives the polygon the circle's area.
	center := snap.Whole().Outline.Bound().Center()
	ring := coverage.Circle(center, 50_000)[0]
	xs, ys := make([]float64, len(ring)), make([]float64, len(ring))
	for i, p := range ring {
		xs[i], ys[i] = p[0], p[1]
	}
	var dmin, dmax float64
	err := db.Pool.QueryRow(ctx, `
		SELECT min(d), max(d) FROM (
		  SELECT ST_Distance(ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography,
		                     ST_SetSRID(ST_MakePoint(x, y), 4326)::geography) AS d
		  FROM unnest($3::float8[], $4::float8[]) AS v(x, y)) AS ds`, center[0], center[1], xs, ys).Scan(&dmin, &dmax)
	if err != nil {
		t.Fatal(err)
	}
	step := 2 * math.Pi / coverage.CircleSegments
	want := 50_000 * math.Sqrt(step/math.Sin(step))
	if math.Abs(dmin-want) > 0.25 || math.Abs(dmax-want) > 0.25 {
		t.Errorf("50 km circle: vertices %.3f..%.3f m from the centre, want %.3f", dmin, dmax, want)
	}
	t.Logf("50 km circle: vertices %.3f..%.3f m from the centre (want %.3f)", dmin, dmax, want)

	t.Logf("%d shapes, %d grid overlaps compared: worst relative error %.2g (%s, overlaps ≥ 100 m²), worst absolute %.3g m²; shape areas within %.2g; buffers vs ST_Buffer within %.2g",
		len(cases), compared, worstRel, worstRelWhere, worstAbs, worstShape, worstBuffer)
}

func covIsLinear(g orb.Geometry) bool {
	switch g.(type) {
	case orb.LineString, orb.MultiLineString:
		return true
	}
	return false
}

// covGeometryJSON renders a point or line as GeoJSON for PostGIS.
func covGeometryJSON(g orb.Geometry) []byte {
	pos := func(b []byte, p orb.Point) []byte {
		return fmt.Appendf(b, "[%v,%v]", p[0], p[1])
	}
	line := func(b []byte, ls orb.LineString) []byte {
		b = append(b, '[')
		for i, p := range ls {
			if i > 0 {
				b = append(b, ',')
			}
			b = pos(b, p)
		}
		return append(b, ']')
	}
	switch g := g.(type) {
	case orb.Point:
		return append(pos([]byte(`{"type":"Point","coordinates":`), g), '}')
	case orb.LineString:
		return append(line([]byte(`{"type":"LineString","coordinates":`), g), '}')
	case orb.MultiLineString:
		b := []byte(`{"type":"MultiLineString","coordinates":[`)
		for i, ls := range g {
			if i > 0 {
				b = append(b, ',')
			}
			b = line(b, ls)
		}
		return append(b, "]}"...)
	}
	panic(fmt.Sprintf("geometryJSON: %T", g))
}

func covUnionKeys(a, b map[string]float64) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
