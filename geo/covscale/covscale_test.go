package covscale_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"wangge/geo"
	"wangge/geo/coverage"
	"wangge/geo/covscale"
	"wangge/geo/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func keyOf(f geo.Finding) string {
	return fmt.Sprintf("%s %s %s", f.Kind, f.Layer, strings.Join(f.Codes, ","))
}

// TestCheckLayer_agreesWithPostGIS: on a generated layer of 3,000 grids
// with injected overlaps, gaps, parts outside villages and the outline and
// invalid grids, CheckLayer finds what PostGIS's checks (the queries of
// geo/pgstore/sql/town.sql, run on the same layer) find, pair for pair,
// with the same areas.
func TestCheckLayer_agreesWithPostGIS(t *testing.T) {
	td := covscale.Generated(60, 50)
	got := coverage.CheckLayer(covscale.LayerOf(td), coverage.LayerOptions{OverlapM2: 0.01, TilingM2: 1})
	want := postgisFindings(t, td, true)
	t.Logf("%d findings in Go, %d in PostGIS", len(got), len(want))
	kinds := map[geo.FindingKind]int{}
	for _, f := range want {
		kinds[f.Kind]++
	}
	t.Log(kinds)
	for _, k := range []geo.FindingKind{geo.FindOverlap, geo.FindVillageCrossing, geo.FindGap, geo.FindOutsideTown} {
		if kinds[k] == 0 {
			t.Errorf("PostGIS found no %s: the layer does not exercise it", k)
		}
	}
	compare(t, got, want)
}

func compare(t *testing.T, got, want []geo.Finding) {
	t.Helper()
	// Findings by key; gaps and parts outside the outline have no codes,
	// so theirs are numbered in order of area.
	index := func(fs []geo.Finding) map[string]float64 {
		slices.SortStableFunc(fs, func(a, b geo.Finding) int { return int(math.Copysign(1, b.AreaM2-a.AreaM2)) })
		out := map[string]float64{}
		n := map[string]int{}
		for _, f := range fs {
			k := keyOf(f)
			if len(f.Codes) == 0 {
				n[k]++
				k = fmt.Sprintf("%s #%d", k, n[k])
			}
			out[k] = f.AreaM2
		}
		return out
	}
	g, w := index(got), index(want)
	if len(g) != len(w) {
		t.Errorf("got %d findings, PostGIS %d", len(g), len(w))
	}
	var keys []string
	for k := range g {
		keys = append(keys, k)
	}
	for k := range w {
		if _, ok := g[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ga, gok := g[k]
		wa, wok := w[k]
		switch {
		case !wok:
			t.Errorf("%s: %.3f m², not found by PostGIS", k, ga)
		case !gok:
			t.Errorf("%s: not found, PostGIS %.3f m²", k, wa)
		case math.Abs(ga-wa) > 0.01+5e-5*wa:
			t.Errorf("%s: %.3f m², PostGIS %.3f m²", k, ga, wa)
		}
	}
	for _, f := range got {
		if coverage.AreaM2(f.Area) <= 0 || f.Location == (orb.Point{}) {
			t.Errorf("%s: no part or location", keyOf(f))
		}
	}
}

// postgisFindings runs town.sql's coverage checks (copied: the oracle)
// on td in a fresh database; the tiling check only when asked (it takes
// minutes on the China layer).
func postgisFindings(t testing.TB, td *geo.TownData, tiling bool) []geo.Finding {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SET jit = off;
CREATE TABLE next_town (code text, outline geometry, ogeom geometry GENERATED ALWAYS AS (wangge_polygonal(outline)) STORED);
CREATE TABLE next_villages (code text, outline geometry, ogeom geometry GENERATED ALWAYS AS (wangge_polygonal(outline)) STORED);
CREATE TABLE next_grids (code text, village_code text, geom geometry, ogeom geometry GENERATED ALWAYS AS (wangge_polygonal(geom)) STORED);
CREATE TABLE raw (layer text, code text, village_code text, w bytea)`)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	add := func(layer, code, village string, mp orb.MultiPolygon) {
		b, err := wkb.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, []any{layer, code, village, b})
	}
	add("town", td.Town.Code, "", td.Town.Outline)
	for _, v := range td.Villages {
		add("village", v.Code, "", v.Outline)
	}
	for _, g := range td.Grids {
		add("grid", g.Code, g.VillageCode, g.Geometry)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"raw"}, []string{"layer", "code", "village_code", "w"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `
INSERT INTO next_town (code, outline) SELECT code, ST_GeomFromWKB(w, 4326) FROM raw WHERE layer = 'town';
INSERT INTO next_villages (code, outline) SELECT code, ST_GeomFromWKB(w, 4326) FROM raw WHERE layer = 'village';
INSERT INTO next_grids (code, village_code, geom) SELECT code, village_code, ST_GeomFromWKB(w, 4326) FROM raw WHERE layer = 'grid';
CREATE INDEX ON next_grids USING gist (ogeom);
CREATE INDEX ON next_villages USING gist (ogeom);
ANALYZE next_grids; ANALYZE next_villages`)
	if err != nil {
		t.Fatal(err)
	}
	var out []geo.Finding
	var layer, a, b, kind string
	var area float64
	r, _ := conn.Query(ctx, `WITH pairs AS (
    SELECT 'grid' AS layer, a.code AS a, b.code AS b, ST_CollectionExtract(ST_Intersection(a.ogeom, b.ogeom), 3) AS i
    FROM next_grids a
    JOIN next_grids b ON a.code < b.code AND a.ogeom && b.ogeom AND ST_Relate(a.ogeom, b.ogeom, '2********')
    UNION ALL
    SELECT 'village', a.code, b.code, ST_CollectionExtract(ST_Intersection(a.ogeom, b.ogeom), 3)
    FROM next_villages a
    JOIN next_villages b ON a.code < b.code AND a.ogeom && b.ogeom AND ST_Relate(a.ogeom, b.ogeom, '2********')
)
SELECT layer, a, b, wangge_area_m2(i) FROM pairs WHERE wangge_area_m2(i) > 0.01`)
	_, err = pgx.ForEachRow(r, []any{&layer, &a, &b, &area}, func() error {
		out = append(out, geo.Finding{Kind: geo.FindOverlap, Layer: layer, Codes: []string{a, b}, AreaM2: area})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = conn.Query(ctx, `SELECT g.code, g.village_code, wangge_area_m2(d)
FROM next_grids g
JOIN next_villages v ON v.code = g.village_code
CROSS JOIN LATERAL ST_CollectionExtract(ST_Difference(g.ogeom, v.ogeom), 3) AS d
WHERE NOT ST_CoveredBy(g.ogeom, v.ogeom) AND wangge_area_m2(d) > 0.01`)
	_, err = pgx.ForEachRow(r, []any{&a, &b, &area}, func() error {
		out = append(out, geo.Finding{Kind: geo.FindVillageCrossing, Layer: "grid", Codes: []string{a}, AreaM2: area})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tiling {
		return out
	}
	r, _ = conn.Query(ctx, `WITH town AS (SELECT ogeom AS outline FROM next_town),
layers AS (
    SELECT 'grid' AS layer, ST_Union(ogeom) AS u FROM next_grids
    UNION ALL
    SELECT 'village', ST_Union(ogeom) FROM next_villages
),
parts AS (
    SELECT l.layer, 'gap' AS kind, (ST_Dump(ST_CollectionExtract(ST_Difference(t.outline, l.u), 3))).geom AS g
    FROM layers l, town t
    UNION ALL
    SELECT l.layer, 'outside', (ST_Dump(ST_CollectionExtract(ST_Difference(l.u, t.outline), 3))).geom
    FROM layers l, town t
)
SELECT layer, kind, wangge_area_m2(g) FROM parts WHERE wangge_area_m2(g) > 1`)
	_, err = pgx.ForEachRow(r, []any{&layer, &kind, &area}, func() error {
		f := geo.Finding{Kind: geo.FindGap, Layer: layer, AreaM2: area}
		if kind == "outside" {
			f.Kind = geo.FindOutsideTown
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
