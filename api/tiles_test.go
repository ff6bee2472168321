package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"wangge/api"
	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
	"wangge/geo/vectortile"
	"wangge/geo/vectortile/vttest"
)

func init() {
	// Tiles are bytes: the OpenAPI check reads them as a binary string.
	openapi3filter.RegisterBodyDecoder(api.MVTContentType, openapi3filter.FileBodyDecoder)
}

// tileURL is the path of a tile of layer.
func tileURL(layer string, t maptile.Tile) string {
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layer, t.Z, t.X, t.Y)
}

// getTile fetches a tile (gzipped or not) and decodes it; an empty tile
// (204) decodes to no layers.
func (c *client) getTile(layer string, t maptile.Tile, gz bool) mvt.Layers {
	c.t.Helper()
	var res response
	if gz {
		res = c.get(tileURL(layer, t), "Accept-Encoding", "gzip")
	} else {
		res = c.get(tileURL(layer, t))
	}
	switch res.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusOK:
	default:
		c.t.Fatalf("%s: %d %s", tileURL(layer, t), res.StatusCode, res.body)
	}
	if ct := res.Header.Get("Content-Type"); ct != api.MVTContentType {
		c.t.Fatalf("%s: Content-Type %q", tileURL(layer, t), ct)
	}
	body := res.body
	if gz != (res.Header.Get("Content-Encoding") == "gzip") {
		c.t.Fatalf("%s: gzip asked %v, Content-Encoding %q", tileURL(layer, t), gz, res.Header.Get("Content-Encoding"))
	}
	if gz {
		body = gunzip(c.t, body)
	}
	layers, err := mvt.Unmarshal(body)
	if err != nil {
		c.t.Fatalf("%s: %v", tileURL(layer, t), err)
	}
	if len(layers) != 1 || layers[0].Name != layer || layers[0].Extent != vectortile.DefaultExtent || layers[0].Version != 2 {
		c.t.Fatalf("%s: %d layers, the first %+v", tileURL(layer, t), len(layers), layers[0])
	}
	return layers
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// interiorPoint returns a point inside grid g (not on its border).
func interiorPoint(t testing.TB, g *geo.GridRecord) orb.Point {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(g.Code)), 1))
	b := g.Geometry.Bound()
	for range 1000 {
		p := orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
		if loc, ok := demo.Locate(p, 0); ok && loc.Grid.Code == g.Code && loc.Match.String() == "inside" {
			return p
		}
	}
	t.Fatalf("no interior point found in grid %s", g.Code)
	return orb.Point{}
}

// TestTiles_featuresAndAttributes: at zooms 10 to 18, the tile under a
// point of each of a few grids holds that grid, with the documented
// attributes and nothing else (no phone), and the village tile holds its
// village with its grid count.
func TestTiles_featuresAndAttributes(t *testing.T) {
	c := newClient(t)
	gridCount := map[string]int{}
	for _, g := range demo.Grids {
		gridCount[g.VillageCode]++
	}
	wantKeys := []string{"code", "district_code", "leader", "name", "village_code", "village_name"}
	for _, i := range []int{0, 17, len(demo.Grids) / 2, len(demo.Grids) - 1} {
		g := &demo.Grids[i]
		v, _ := demo.Village(g.VillageCode)
		p := interiorPoint(t, g)
		for z := maptile.Zoom(10); z <= 18; z++ {
			tile := maptile.At(p, z)
			layers := c.getTile("grids", tile, z%2 == 0)
			var found bool
			for _, f := range layers[0].Features {
				keys := make([]string, 0, len(f.Properties))
				for k := range f.Properties {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if !slices.Equal(keys, wantKeys) {
					t.Fatalf("z%d grid %v: attributes %v, want %v", z, f.Properties["code"], keys, wantKeys)
				}
				if f.Properties["code"] != g.Code {
					continue
				}
				found = true
				want := map[string]any{"code": g.Code, "name": g.Name, "village_code": g.VillageCode, "village_name": v.Name,
					"district_code": v.DistrictCode, "leader": g.Leader.Name}
				for k, w := range want {
					if f.Properties[k] != w {
						t.Errorf("z%d grid %s: %s = %v, want %v", z, g.Code, k, f.Properties[k], w)
					}
				}
				if f.ID != float64(codeNumber(g.Code)) {
					t.Errorf("z%d grid %s: feature id %v, want the code as a number", z, g.Code, f.ID)
				}
				if f.Geometry.GeoJSONType() != "Polygon" && f.Geometry.GeoJSONType() != "MultiPolygon" {
					t.Errorf("z%d grid %s: %s", z, g.Code, f.Geometry.GeoJSONType())
				}
			}
			if !found {
				t.Errorf("z%d: tile %v under %v holds no grid %s", z, tile, p, g.Code)
			}

			vl := c.getTile("villages", tile, z%2 == 1)
			found = false
			for _, f := range vl[0].Features {
				if f.Properties["code"] == v.Code {
					found = true
					if f.Properties["name"] != v.Name || f.Properties["district_code"] != v.DistrictCode ||
						f.Properties["grids"] != float64(gridCount[v.Code]) || len(f.Properties) != 4 {
						t.Errorf("z%d village %s: %v, want %d grids", z, v.Code, f.Properties, gridCount[v.Code])
					}
				}
			}
			if !found {
				t.Errorf("z%d: tile %v holds no village %s", z, tile, v.Code)
			}
		}
	}
}

func codeNumber(code string) uint64 {
	var n uint64
	fmt.Sscan(code, &n)
	return n
}

// townOutline is the demo town's outline as a tile layer: the reference
// the crack test compares the grids' outer edges with.
var townOutline = func() *vectortile.Layer {
	l, err := vectortile.NewLayer("town", []vectortile.Feature{{Geometry: demo.Whole().Outline}})
	if err != nil {
		panic(err)
	}
	return l
}()

// TestTiles_noCracks is the crack test, over HTTP and a real MVT decoder.
// At every zoom from 10 to 18 it takes the tiles covering the town (all of
// them up to z14, 40 random ones above plus those under a few shared
// vertices) and checks, with vttest.CheckCoverage, that every edge piece
// of a grid in the tile, away from the buffered tile boundary, is matched
// by the reversed piece of exactly one neighbouring grid (identical
// vertices on both sides, in tile coordinates) or lies on the town
// outline cut from the same tile; and the same for villages.
func TestTiles_noCracks(t *testing.T) {
	c := newClient(t)
	r := rand.New(rand.NewPCG(10, 14))
	outlineBound := demo.Whole().Outline.Bound()
	// Vertices that several grids share: where a sampled tile must look.
	var shared []orb.Point
	for _, g := range demo.Grids[:40] {
		for _, p := range g.Geometry[0][0] {
			if len(demo.Index().Covering(p)) >= 3 {
				shared = append(shared, p)
				break
			}
		}
	}
	lo, hi := int64(-vectortile.DefaultBuffer), int64(vectortile.DefaultExtent+vectortile.DefaultBuffer)
	for _, layer := range []string{"grids", "villages"} {
		var total vttest.Report
		tiles := 0
		for z := maptile.Zoom(10); z <= 18; z++ {
			cover := coverTiles(outlineBound, z)
			if len(cover) > 40 {
				r.Shuffle(len(cover), func(i, j int) { cover[i], cover[j] = cover[j], cover[i] })
				cover = cover[:40]
				for _, p := range shared[:8] {
					cover = append(cover, maptile.At(p, z))
				}
			}
			for _, tile := range cover {
				layers := c.getTile(layer, tile, tile.X%2 == 0)
				if layers == nil {
					continue
				}
				feats := make([]orb.Geometry, len(layers[0].Features))
				for i, f := range layers[0].Features {
					feats[i] = f.Geometry
				}
				rep := vttest.CheckCoverage(feats, outlineIn(t, tile), lo, hi)
				if err := rep.Err(); err != nil {
					t.Fatalf("%s: %v", tileURL(layer, tile), err)
				}
				total.Shared += rep.Shared
				total.Outline += rep.Outline
				total.Cuts += rep.Cuts
				tiles++
			}
		}
		t.Logf("%s: %d tiles at z10..18; edge pieces shared by neighbours %d, on the town outline %d, zero-width cuts %d",
			layer, tiles, total.Shared, total.Outline, total.Cuts)
		if total.Shared < 1000 || total.Outline < 100 {
			t.Errorf("%s: too little checked: %+v", layer, total)
		}
	}
}

// outlineIn returns the town outline cut from tile as the tiles cut the
// grids, or nil when the tile holds none of it.
func outlineIn(t *testing.T, tile maptile.Tile) orb.Geometry {
	t.Helper()
	data, err := vectortile.Encode(tile, vectortile.DefaultOptions(), townOutline)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) == 0 {
		return nil
	}
	return layers[0].Features[0].Geometry
}

// coverTiles returns the tiles of zoom z that b touches.
func coverTiles(b orb.Bound, z maptile.Zoom) []maptile.Tile {
	nw := maptile.At(orb.Point{b.Min[0], b.Max[1]}, z)
	se := maptile.At(orb.Point{b.Max[0], b.Min[1]}, z)
	var out []maptile.Tile
	for x := nw.X; x <= se.X; x++ {
		for y := nw.Y; y <= se.Y; y++ {
			out = append(out, maptile.New(x, y, z))
		}
	}
	return out
}

// TestTiles_agreeWithPostGIS compares the tiles with PostGIS's own,
// ST_AsMVT(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y),
// 4096, 64)), over the demo town imported into a throwaway database, on
// 25 tiles per zoom from 10 to 18: both must hold the same grids, and
// inside the tile (away from where the two clip differently) every vertex
// of PostGIS's features must be one of ours and all but 0.1% of ours one
// of PostGIS's. (PostGIS drops a few vertices that are nearly, not
// exactly, collinear; each polygon on its own, which is how simplification
// opens cracks. We keep them.)
func TestTiles_agreeWithPostGIS(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	const sql = `SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'id') FROM (
    SELECT g.code::bigint AS id, ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
    FROM grids g WHERE g.retired_generation IS NULL) t WHERE t.geom IS NOT NULL`
	c := newClient(t)
	r := rand.New(rand.NewPCG(3, 857))
	inside := func(p orb.Point) bool { return p[0] > 0 && p[0] < 4096 && p[1] > 0 && p[1] < 4096 }
	var ours, onlyOurs, onlyTheirs, tiles int
	for z := maptile.Zoom(10); z <= 18; z++ {
		cover := coverTiles(demo.Whole().Outline.Bound(), z)
		r.Shuffle(len(cover), func(i, j int) { cover[i], cover[j] = cover[j], cover[i] })
		for _, tile := range cover[:min(25, len(cover))] {
			var data []byte
			if err := db.Pool.QueryRow(ctx, sql, int(tile.Z), int(tile.X), int(tile.Y)).Scan(&data); err != nil {
				t.Fatal(err)
			}
			theirs := map[float64]orb.Geometry{}
			if pl, err := mvt.Unmarshal(data); err != nil {
				t.Fatal(err)
			} else if len(pl) > 0 {
				for _, f := range pl[0].Features {
					theirs[f.ID.(float64)] = f.Geometry
				}
			}
			var mine []*mvtFeature
			if layers := c.getTile("grids", tile, false); layers != nil {
				for _, f := range layers[0].Features {
					mine = append(mine, &mvtFeature{f.ID.(float64), f.Geometry})
				}
			}
			if len(mine) != len(theirs) {
				t.Errorf("%s: %d grids, PostGIS %d", tileURL("grids", tile), len(mine), len(theirs))
			}
			tiles++
			for _, f := range mine {
				g, ok := theirs[f.id]
				if !ok {
					t.Errorf("%s: grid %.0f is not in PostGIS's tile", tileURL("grids", tile), f.id)
					continue
				}
				a, b := vertexSet(f.geom), vertexSet(g)
				for p := range a {
					if inside(p) {
						ours++
						if !b[p] {
							onlyOurs++
						}
					}
				}
				for p := range b {
					if inside(p) && !a[p] {
						onlyTheirs++
						t.Errorf("%s grid %.0f: PostGIS has vertex %v, we do not", tileURL("grids", tile), f.id, p)
					}
				}
			}
		}
	}
	t.Logf("%d tiles: %d vertices inside the tiles, %d of them not in PostGIS's tiles, %d of PostGIS's not in ours", tiles, ours, onlyOurs, onlyTheirs)
	if ours < 5000 || onlyOurs*1000 > ours {
		t.Errorf("%d of our %d vertices are not PostGIS's: want at most 0.1%%", onlyOurs, ours)
	}
}

type mvtFeature struct {
	id   float64
	geom orb.Geometry
}

// vertexSet returns the vertices of a decoded Polygon or MultiPolygon.
func vertexSet(g orb.Geometry) map[orb.Point]bool {
	set := map[orb.Point]bool{}
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	}
	for _, poly := range polys {
		for _, r := range poly {
			for _, p := range r {
				set[p] = true
			}
		}
	}
	return set
}

func TestTiles_badRequests(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		path   string
		status int
		want   string // start of the detail
	}{
		{"/tiles/grids/23/0/0.mvt", 400, `z: got "23", want an integer 0..22`},
		{"/tiles/grids/-1/0/0.mvt", 400, "z:"},
		{"/tiles/grids/a/0/0.mvt", 400, "z:"},
		{"/tiles/grids/+1/0/0.mvt", 400, "z:"},
		{"/tiles/grids/2/4/0.mvt", 400, `x: got "4", want an integer 0..3 at z=2`},
		{"/tiles/grids/2/0/4.mvt", 400, `y: got "4", want an integer 0..3 at z=2`},
		{"/tiles/grids/0/0/99999999999999999999.mvt", 400, "y:"},
		{"/tiles/grids/14/13294/.mvt", 400, "y:"},
		{"/tiles/villages/1/2/0.mvt", 400, "x:"},
		{"/tiles/grids/1/0/0.pbf", 404, "no tile at"},
		{"/tiles/incidents/14/13294/6901.mvt", 401, "the incidents layer needs a dispatcher's or admin's token"},
		{"/tiles/incidents.json", 401, "the incidents layer needs a dispatcher's or admin's token"},
		{"/tiles/roads/14/13294/6901.mvt", 404, `no tile layer "roads"; the layers are grids, villages, service-points, incidents`},
		{"/tiles/roads.json", 404, `no tile layer "roads"`},
		{"/tiles/grids", 404, "no endpoint at"},
	}
	for _, tt := range tests {
		res := c.get(tt.path)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != tt.status || !strings.HasPrefix(p.Detail, tt.want) {
			t.Errorf("%s: got %d %q, want %d %q", tt.path, res.StatusCode, p.Detail, tt.status, tt.want)
		}
	}
	if res := c.do(http.MethodPost, "/tiles/grids/1/0/0.mvt", nil); res.StatusCode != 405 {
		t.Errorf("POST a tile: %d, want 405", res.StatusCode)
	}
	var empty geo.Registry
	if res := newClientFor(t, &empty).get("/tiles/grids/14/13294/6901.mvt"); res.StatusCode != 503 {
		t.Errorf("a tile before the first snapshot: %d, want 503", res.StatusCode)
	}
}

// townCentre is the z14 tile at the centre of the town's bounding box,
// the tile BENCHMARKS.md measures.
func townCentre() maptile.Tile { return maptile.At(demo.Whole().Outline.Bound().Center(), 14) }

// TestTiles_httpCaching: ETag per generation, tile and encoding;
// If-None-Match → 304; gzip bytes that gunzip to the plain tile;
// Cache-Control and Vary; a new generation changes the ETag.
func TestTiles_httpCaching(t *testing.T) {
	var reg geo.Registry
	reg.Store(demo)
	c := newClientFor(t, &reg)
	path := tileURL("grids", townCentre())
	plain := c.get(path)
	gz := c.get(path, "Accept-Encoding", "gzip, deflate, br")
	if plain.StatusCode != 200 || gz.StatusCode != 200 {
		t.Fatalf("got %d and %d", plain.StatusCode, gz.StatusCode)
	}
	if gz.Header.Get("Content-Encoding") != "gzip" || plain.Header.Get("Content-Encoding") != "" {
		t.Errorf("Content-Encoding %q with gzip, %q without", gz.Header.Get("Content-Encoding"), plain.Header.Get("Content-Encoding"))
	}
	if !bytes.Equal(gunzip(t, gz.body), plain.body) || len(gz.body) >= len(plain.body) {
		t.Errorf("gzip: %d bytes that do not gunzip to the %d plain bytes", len(gz.body), len(plain.body))
	}
	for _, res := range []response{plain, gz} {
		if res.Header.Get("Cache-Control") != "public, max-age=60" || !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("Cache-Control %q, Vary %q", res.Header.Get("Cache-Control"), res.Header.Values("Vary"))
		}
		if res.Header.Get("Content-Length") != fmt.Sprint(len(res.body)) {
			t.Errorf("Content-Length %q for %d bytes", res.Header.Get("Content-Length"), len(res.body))
		}
	}
	etag, gzTag := plain.Header.Get("ETag"), gz.Header.Get("ETag")
	if etag == "" || etag == gzTag || !strings.HasPrefix(etag, `"tv1-g1.`) || !strings.Contains(etag, "-grids-14-") {
		t.Fatalf("ETags %q (plain) and %q (gzip): want distinct, naming generation and tile", etag, gzTag)
	}
	for _, h := range [][]string{{"If-None-Match", etag}, {"If-None-Match", `W/` + etag}, {"If-None-Match", `"x", ` + gzTag, "Accept-Encoding", "gzip"}} {
		res := c.get(path, h...)
		if res.StatusCode != 304 || len(res.body) != 0 || res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") == "" {
			t.Errorf("%v: %d with %d bytes, ETag %q, Cache-Control %q; want 304", h, res.StatusCode, len(res.body), res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
		}
	}
	if res := c.get(path, "If-None-Match", gzTag); res.StatusCode != 200 {
		t.Errorf("the gzip ETag on a plain request: %d, want 200", res.StatusCode)
	}

	// A new generation: the old ETag no longer matches, the bytes are
	// rendered from the new snapshot.
	next := newDemoSnapshot(t, 2)
	reg.Store(next)
	res := c.get(path, "If-None-Match", etag)
	if res.StatusCode != 200 || res.Header.Get("ETag") == etag || !strings.HasPrefix(res.Header.Get("ETag"), `"tv1-g2.`) {
		t.Errorf("generation 2 with the old ETag: %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
	}
	if !bytes.Equal(res.body, plain.body) {
		t.Errorf("the same town in generation 2 renders different bytes")
	}
}

// newDemoSnapshot builds another snapshot of the demo town.
func newDemoSnapshot(t testing.TB, gen int64) *geo.Snapshot {
	t.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := geo.NewSnapshot(gen, td.Area(), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTiles_empty: a tile away from the town is 204 No Content, with an
// ETag it can be revalidated by.
func TestTiles_empty(t *testing.T) {
	c := newClient(t)
	for _, tile := range []maptile.Tile{maptile.At(orb.Point{116.4, 39.9}, 14), maptile.New(0, 0, 1)} {
		path := tileURL("grids", tile)
		res := c.get(path, "Accept-Encoding", "gzip")
		if res.StatusCode != 204 || len(res.body) != 0 || res.Header.Get("ETag") == "" || res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %d, %d bytes, ETag %q, Content-Encoding %q; want 204 with an ETag", path, res.StatusCode, len(res.body),
				res.Header.Get("ETag"), res.Header.Get("Content-Encoding"))
		}
		if again := c.get(path, "Accept-Encoding", "gzip", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != 304 {
			t.Errorf("%s revalidated: %d, want 304", path, again.StatusCode)
		}
	}
	// Down to z8 the town still shows.
	if layers := c.getTile("grids", maptile.At(demo.Whole().Outline.Bound().Center(), 8), false); len(layers[0].Features) < 100 {
		t.Errorf("z8: %d grids", len(layers[0].Features))
	}
}

func TestTileJSON(t *testing.T) {
	c := newClient(t)
	for _, layer := range []string{"grids", "villages"} {
		res := c.get("/tiles/" + layer + ".json")
		var doc struct {
			TileJSON     string
			Name         string
			Scheme       string
			Tiles        []string
			MinZoom      int
			MaxZoom      int
			Bounds       []float64
			Center       []float64
			VectorLayers []struct {
				ID     string
				Fields map[string]string
			} `json:"vector_layers"`
		}
		res.json(t, &doc)
		b := demo.Whole().Outline.Bound()
		if doc.TileJSON != "3.0.0" || doc.Scheme != "xyz" || doc.MinZoom != 0 || doc.MaxZoom != 18 ||
			!slices.Equal(doc.Bounds, []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}) {
			t.Errorf("%s: %+v", layer, doc)
		}
		if want := "http://wangge.test/tiles/" + layer + "/{z}/{x}/{y}.mvt"; len(doc.Tiles) != 1 || doc.Tiles[0] != want {
			t.Errorf("%s: tiles %v, want %s", layer, doc.Tiles, want)
		}
		if !b.Contains(orb.Point{doc.Center[0], doc.Center[1]}) || doc.Center[2] < 10 || doc.Center[2] > 14 {
			t.Errorf("%s: center %v", layer, doc.Center)
		}
		if len(doc.VectorLayers) != 1 || doc.VectorLayers[0].ID != layer {
			t.Fatalf("%s: vector_layers %+v", layer, doc.VectorLayers)
		}
		// The fields are those the tiles hold.
		tile := c.getTile(layer, townCentre(), false)
		for k := range tile[0].Features[0].Properties {
			if _, ok := doc.VectorLayers[0].Fields[k]; !ok {
				t.Errorf("%s: attribute %s is not in the TileJSON fields %v", layer, k, doc.VectorLayers[0].Fields)
			}
		}
		if len(doc.VectorLayers[0].Fields) != len(tile[0].Features[0].Properties) {
			t.Errorf("%s: fields %v, tile attributes %v", layer, doc.VectorLayers[0].Fields, tile[0].Features[0].Properties)
		}
		if again := c.get("/tiles/"+layer+".json", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != 304 {
			t.Errorf("%s: revalidated %d", layer, again.StatusCode)
		}
		var viaProxy struct{ Tiles []string }
		c.get("/tiles/"+layer+".json", "X-Forwarded-Proto", "https").json(t, &viaProxy)
		if !strings.HasPrefix(viaProxy.Tiles[0], "https://wangge.test/tiles/") {
			t.Errorf("%s behind a TLS proxy: %v", layer, viaProxy.Tiles)
		}
	}
}

// BenchmarkTile measures the z14 tile at the town's centre over the
// handler (no network), as BENCHMARKS.md reports it next to PostGIS's
// ST_AsMVT of the same tile (cmd/wangge-load):
//
//   - cold: every request follows a snapshot swap (two snapshots of the
//     demo town in turn), so it renders and gzips the tile anew;
//   - warm: the cached gzipped tile;
//   - warm-plain: the cached tile without gzip;
//   - 304: revalidated with If-None-Match.
func BenchmarkTile(b *testing.B) {
	var reg geo.Registry
	snaps := []*geo.Snapshot{newDemoSnapshot(b, 1), newDemoSnapshot(b, 1)}
	reg.Store(snaps[0])
	srv := api.New(&reg, nil, api.Config{}, nil)
	path := tileURL("grids", townCentre())
	get := func(h ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	first := get("Accept-Encoding", "gzip")
	if first.Code != 200 {
		b.Fatalf("%s: %d", path, first.Code)
	}
	plainSize := len(get().Body.Bytes())
	b.Logf("%s: %d bytes, %d gzipped", path, plainSize, first.Body.Len())
	etag := first.Header().Get("ETag")
	b.Run("cold", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			reg.Store(snaps[i%2])
			if rec := get("Accept-Encoding", "gzip"); rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	})
	reg.Store(snaps[0])
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if rec := get("Accept-Encoding", "gzip"); rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("warm-plain", func(b *testing.B) {
		for b.Loop() {
			if rec := get(); rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("304", func(b *testing.B) {
		for b.Loop() {
			if rec := get("Accept-Encoding", "gzip", "If-None-Match", etag); rec.Code != 304 {
				b.Fatal(rec.Code)
			}
		}
	})
}

// TestTiles_cors: a tile requested from another origin keeps the CORS
// headers and every Vary the middleware and the handler add.
func TestTiles_cors(t *testing.T) {
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{CORSOrigins: []string{"https://map.example.cn"}}, nil)
	req := httptest.NewRequest(http.MethodGet, tileURL("grids", townCentre()), nil)
	req.Header.Set("Origin", "https://map.example.cn")
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	vary := strings.Join(rec.Header().Values("Vary"), ", ")
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://map.example.cn" ||
		!strings.Contains(vary, "Origin") || strings.Count(vary, "Accept-Encoding") != 1 {
		t.Errorf("got %d, Access-Control-Allow-Origin %q, Vary %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), vary)
	}
}

// TestTiles_concurrent requests tiles from several goroutines while the
// snapshot changes under them (run with -race): every answer is a whole
// tile of one generation or the other.
func TestTiles_concurrent(t *testing.T) {
	var reg geo.Registry
	snaps := []*geo.Snapshot{demo, newDemoSnapshot(t, 2)}
	reg.Store(snaps[0])
	srv := api.New(&reg, nil, api.Config{}, nil)
	tiles := coverTiles(demo.Whole().Outline.Bound(), 13)
	done := make(chan error)
	for w := range 4 {
		go func() {
			for i := range 200 {
				tile := tiles[(w*7+i)%len(tiles)]
				req := httptest.NewRequest(http.MethodGet, tileURL("grids", tile), nil)
				if i%2 == 0 {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				etag := rec.Header().Get("ETag")
				if rec.Code != 200 && rec.Code != 204 || !strings.HasPrefix(etag, `"tv1-g1.`) && !strings.HasPrefix(etag, `"tv1-g2.`) {
					done <- fmt.Errorf("%v: %d, ETag %q", tile, rec.Code, etag)
					return
				}
				if rec.Code == 200 {
					decode := mvt.Unmarshal
					if i%2 == 0 {
						decode = mvt.UnmarshalGzipped
					}
					if _, err := decode(rec.Body.Bytes()); err != nil {
						done <- fmt.Errorf("%v: %v", tile, err)
						return
					}
				}
				if i%50 == 0 {
					reg.Store(snaps[(w+i)%2])
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
