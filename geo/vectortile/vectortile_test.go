package vectortile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	pb "github.com/paulmach/orb/encoding/mvt/vectortile"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"wangge/geo/gridindex"
	"wangge/geo/vectortile"
	"wangge/geo/vectortile/vttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenTile is the z14 tile that testdata/squares.geojson is drawn in.
var goldenTile = maptile.New(13294, 6901, 14)

// TestGolden encodes testdata/squares.geojson into goldenTile and compares
// the bytes with squares.mvt and the decoded features (tile coordinates)
// with squares_out.geojson. go test -update rewrites both.
func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/squares.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		t.Fatal(err)
	}
	var features []vectortile.Feature
	for _, f := range fc.Features {
		mp, ok := f.Geometry.(orb.MultiPolygon)
		if p, isPoly := f.Geometry.(orb.Polygon); isPoly {
			mp, ok = orb.MultiPolygon{p}, true
		}
		if !ok {
			t.Fatalf("feature %v: %T", f.ID, f.Geometry)
		}
		var props []vectortile.Property
		for _, k := range []string{"code", "n", "neg", "f", "ok"} {
			v, ok := f.Properties[k]
			if !ok {
				continue
			}
			if x, isNum := v.(float64); isNum && x == math.Trunc(x) {
				v = int64(x)
			}
			props = append(props, vectortile.Property{Key: k, Value: v})
		}
		features = append(features, vectortile.Feature{ID: uint64(f.ID.(float64)), Geometry: mp, Properties: props})
	}
	layer, err := vectortile.NewLayer("squares", features)
	if err != nil {
		t.Fatal(err)
	}
	tile, err := vectortile.Encode(goldenTile, vectortile.DefaultOptions(), layer)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := mvt.Unmarshal(tile)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString("{\"type\":\"FeatureCollection\",\"features\":[\n")
	for i, f := range layers[0].Features {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			out.WriteString(",\n")
		}
		out.Write(b)
	}
	out.WriteString("\n]}\n")
	if *update {
		if err := os.WriteFile("testdata/squares.mvt", tile, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/squares_out.geojson", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantTile, err := os.ReadFile("testdata/squares.mvt")
	if err != nil {
		t.Fatal(err)
	}
	wantOut, err := os.ReadFile("testdata/squares_out.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), wantOut) {
		t.Errorf("decoded tile differs from testdata/squares_out.geojson (go test -update rewrites it):\n%s", out.Bytes())
	}
	if !bytes.Equal(tile, wantTile) {
		t.Errorf("tile bytes differ from testdata/squares.mvt")
	}

	// What the golden file must show, checked here so that -update cannot
	// bless a wrong answer silently.
	codes := map[string]orb.Geometry{}
	for _, f := range layers[0].Features {
		codes[f.Properties["code"].(string)] = f.Geometry
	}
	if _, ok := codes["E"]; ok {
		t.Error("E, far away, is in the tile")
	}
	if _, ok := codes["F"]; ok {
		t.Error("F, thinner than a unit, is in the tile")
	}
	if p, ok := codes["A"].(orb.Polygon); !ok || len(p) != 2 {
		t.Errorf("A: %v, want a polygon with a hole", codes["A"])
	}
	if p, ok := codes["B"].(orb.Polygon); !ok || len(p[0]) != 5 {
		t.Errorf("B: %v, want a square of 4 corners (points along its edges dropped)", codes["B"])
	}
	if b := codes["C"].Bound(); b.Max[0] != vectortile.DefaultExtent+vectortile.DefaultBuffer {
		t.Errorf("C: bound %v, want clipped at x = %d", b, vectortile.DefaultExtent+vectortile.DefaultBuffer)
	}
	if _, ok := codes["D"].(orb.Polygon); !ok {
		t.Errorf("D: %v, want one polygon (the far part dropped)", codes["D"])
	}
}

// TestEncode_protobuf decodes a tile with the generated protobuf code of
// vector_tile.proto (not the decoder the other tests use) and checks the
// layer's fields, ids, types, attribute values and the winding of every
// ring from the raw commands.
func TestEncode_protobuf(t *testing.T) {
	b := goldenTile.Bound()
	c := b.Center()
	d := (b.Max[0] - b.Min[0]) / 8
	square := func(x, y, s float64, ccw bool) orb.Ring {
		r := orb.Ring{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}, {x, y}}
		if !ccw {
			r.Reverse()
		}
		return r
	}
	features := []vectortile.Feature{
		{ID: 431321101001001, Geometry: orb.MultiPolygon{{square(c[0], c[1], d, true), square(c[0]+d/4, c[1]+d/4, d/2, false)}},
			Properties: []vectortile.Property{{"code", "431321101001001"}, {"name", "第一网格"}, {"n", 7}, {"neg", -2}, {"f", 0.5}, {"ok", true}, {"leader", nil}}},
		{ID: 0, Geometry: orb.MultiPolygon{{square(c[0]-2*d, c[1], d, false), square(c[0]-2*d+d/4, c[1]+d/4, d/2, true)}, {square(c[0]-4*d, c[1], d, false)}},
			Properties: []vectortile.Property{{"code", "431321101001002"}, {"name", "第一网格"}, {"n", uint64(7)}}},
	}
	layer, err := vectortile.NewLayer("grids", features)
	if err != nil {
		t.Fatal(err)
	}
	data, err := vectortile.Encode(goldenTile, vectortile.Options{Extent: 512, Buffer: 8}, layer)
	if err != nil {
		t.Fatal(err)
	}
	var tile pb.Tile
	if err := tile.XXX_Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	if len(tile.Layers) != 1 {
		t.Fatalf("%d layers", len(tile.Layers))
	}
	l := tile.Layers[0]
	if l.GetName() != "grids" || l.GetVersion() != 2 || l.GetExtent() != 512 || len(l.Features) != 2 {
		t.Fatalf("layer %s version %d extent %d with %d features", l.GetName(), l.GetVersion(), l.GetExtent(), len(l.Features))
	}
	if strings.Join(l.Keys, ",") != "code,name,n,neg,f,ok" || len(l.Values) != 7 {
		t.Errorf("keys %v, %d values: want keys in order of first use, values shared", l.Keys, len(l.Values))
	}
	f0, f1 := l.Features[0], l.Features[1]
	if f0.GetId() != 431321101001001 || f0.Id == nil || f1.Id != nil {
		t.Errorf("ids %v, %v: want 431321101001001 and none", f0.Id, f1.Id)
	}
	attrs := map[string]any{}
	for i := 0; i < len(f0.Tags); i += 2 {
		v := l.Values[f0.Tags[i+1]]
		var x any
		switch {
		case v.StringValue != nil:
			x = v.GetStringValue()
		case v.UintValue != nil:
			x = v.GetUintValue()
		case v.SintValue != nil:
			x = v.GetSintValue()
		case v.DoubleValue != nil:
			x = v.GetDoubleValue()
		case v.BoolValue != nil:
			x = v.GetBoolValue()
		}
		attrs[l.Keys[f0.Tags[i]]] = x
	}
	want := map[string]any{"code": "431321101001001", "name": "第一网格", "n": uint64(7), "neg": int64(-2), "f": 0.5, "ok": true}
	if fmt.Sprint(attrs) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want %v (nil left out)", attrs, want)
	}
	if f1.Tags[5] != f0.Tags[5] {
		t.Errorf("the same value 7 is stored twice")
	}
	for i, f := range l.Features {
		if f.GetType() != pb.Tile_POLYGON {
			t.Errorf("feature %d: type %v", i, f.GetType())
		}
		areas := ringAreas(t, f.Geometry)
		wantSigns := [][]int{{1, -1}, {1, -1, 1}}[i]
		if len(areas) != len(wantSigns) {
			t.Fatalf("feature %d: rings with twice the areas %v, want signs %v", i, areas, wantSigns)
		}
		for k, a := range areas {
			if a*int64(wantSigns[k]) <= 0 {
				t.Errorf("feature %d ring %d: twice the area %d, want sign %d (exterior positive, holes negative)", i, k, a, wantSigns[k])
			}
		}
	}
}

// ringAreas decodes polygon commands and returns twice the signed area of
// each ring by the surveyor's formula in tile coordinates.
func ringAreas(t *testing.T, geom []uint32) []int64 {
	t.Helper()
	var areas []int64
	var x, y int64
	var ring [][2]int64
	unzig := func(v uint32) int64 { return int64(int32(v>>1) ^ -int32(v&1)) }
	for i := 0; i < len(geom); {
		id, n := geom[i]&7, int(geom[i]>>3)
		i++
		switch id {
		case 1, 2:
			if id == 1 && (n != 1 || len(ring) != 0) {
				t.Fatalf("MoveTo with %d points after %d unclosed points", n, len(ring))
			}
			for range n {
				x, y = x+unzig(geom[i]), y+unzig(geom[i+1])
				i += 2
				ring = append(ring, [2]int64{x, y})
			}
		case 7:
			var a int64
			for k := range ring {
				p, q := ring[k], ring[(k+1)%len(ring)]
				a += p[0]*q[1] - q[0]*p[1]
			}
			areas = append(areas, a)
			ring = ring[:0]
		default:
			t.Fatalf("command %d", id)
		}
	}
	return areas
}

func TestEncode_empty(t *testing.T) {
	layer, err := vectortile.NewLayer("grids", nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := vectortile.Encode(goldenTile, vectortile.DefaultOptions(), layer)
	if err != nil || len(data) != 0 {
		t.Errorf("no features: got %d bytes, %v; want an empty tile", len(data), err)
	}
}

func TestEncode_errors(t *testing.T) {
	layer, _ := vectortile.NewLayer("grids", nil)
	for _, tt := range []struct {
		tile maptile.Tile
		opt  vectortile.Options
		want string
	}{
		{maptile.New(0, 0, 31), vectortile.DefaultOptions(), "zoom 31"},
		{maptile.New(4, 0, 2), vectortile.DefaultOptions(), "x and y want 0..3"},
		{maptile.New(0, 4, 2), vectortile.DefaultOptions(), "x and y want 0..3"},
		{maptile.New(0, 0, 2), vectortile.Options{Extent: 4096, Buffer: 5000}, "buffer 5000"},
		{maptile.New(0, 0, 2), vectortile.Options{Extent: 1 << 17}, "extent 131072"},
	} {
		if _, err := vectortile.Encode(tt.tile, tt.opt, layer); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %+v: got %v, want %q", tt.tile, tt.opt, err, tt.want)
		}
	}
	if _, err := vectortile.NewLayer("x", []vectortile.Feature{{Properties: []vectortile.Property{{"k", []int{1}}}}}); err == nil {
		t.Error("a slice property was accepted")
	}
	if _, err := vectortile.NewLayer("x", []vectortile.Feature{{Geometry: orb.MultiPolygon{{{{0, 0}, {1, math.NaN()}, {1, 1}}}}}}); err == nil {
		t.Error("a NaN coordinate was accepted")
	}
	if _, err := vectortile.NewLayer("", nil); err == nil {
		t.Error("an empty layer name was accepted")
	}
}

// coverageBound holds a synthetic coverage the size of the demo town.
var coverageBound = orb.Bound{Min: orb.Point{112.05, 27.20}, Max: orb.Point{112.19, 27.33}}

// TestCoverage_noCracks encodes a jittered coverage (shared edges at every
// angle, extra vertices along them, grids with holes filled by other
// grids, half the rings wound the wrong way) at zooms 3 to 18 (cells collapse below 6) and checks
// with vttest.CheckCoverage that neighbours share their edges exactly in
// every tile: all the tiles at zooms up to 14, a sample above.
func TestCoverage_noCracks(t *testing.T) {
	cells := gridindex.JitteredCoverageWith(14, 12, coverageBound, 7,
		gridindex.CoverageOptions{Jitter: 0.2, MaxEdgeVertices: 3, HoleBlocks: true})
	features := make([]vectortile.Feature, len(cells))
	for i, mp := range cells {
		if i%2 == 1 {
			mp = mp.Clone()
			for _, poly := range mp {
				for _, r := range poly {
					r.Reverse()
				}
			}
		}
		features[i] = vectortile.Feature{ID: uint64(i + 1), Geometry: mp}
	}
	grids, err := vectortile.NewLayer("grids", features)
	if err != nil {
		t.Fatal(err)
	}
	outline, err := vectortile.NewLayer("outline", []vectortile.Feature{{Geometry: orb.MultiPolygon{coverageBound.ToPolygon()}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 9))
	total := vttest.Report{}
	for z := maptile.Zoom(3); z <= 18; z++ {
		tiles := coverTiles(coverageBound, z)
		if len(tiles) > 80 {
			r.Shuffle(len(tiles), func(i, j int) { tiles[i], tiles[j] = tiles[j], tiles[i] })
			tiles = tiles[:80]
		}
		for _, tile := range tiles {
			rep := checkTile(t, tile, grids, outline)
			if err := rep.Err(); err != nil {
				t.Fatalf("tile %d/%d/%d: %v", tile.Z, tile.X, tile.Y, err)
			}
			total.Shared += rep.Shared
			total.Outline += rep.Outline
			total.Cuts += rep.Cuts
		}
	}
	t.Logf("pieces shared by neighbours: %d, on the outline: %d, zero-width cuts: %d", total.Shared, total.Outline, total.Cuts)
	if total.Shared < 10_000 || total.Outline < 300 {
		t.Errorf("too little checked: %+v", total)
	}
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

// checkTile encodes one tile of the coverage and its outline, decodes it
// and checks it.
func checkTile(t *testing.T, tile maptile.Tile, grids, outline *vectortile.Layer) vttest.Report {
	t.Helper()
	data, err := vectortile.Encode(tile, vectortile.DefaultOptions(), grids, outline)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatalf("tile %v: %v", tile, err)
	}
	var feats []orb.Geometry
	var out orb.Geometry
	for _, l := range layers {
		for _, f := range l.Features {
			if l.Name == "outline" {
				out = f.Geometry
			} else {
				feats = append(feats, f.Geometry)
			}
		}
	}
	return vttest.CheckCoverage(feats, out, -vectortile.DefaultBuffer, vectortile.DefaultExtent+vectortile.DefaultBuffer)
}

// TestCheckCoverage_findsCracks makes sure the checker is not blind: a
// vertex of one grid moved by one unit, or a grid left out, is reported.
func TestCheckCoverage_findsCracks(t *testing.T) {
	cells := gridindex.JitteredCoverage(4, 4, coverageBound, 1)
	var feats []orb.Geometry
	tile := maptile.At(coverageBound.Center(), 10)
	for i, mp := range cells {
		f := []vectortile.Feature{{ID: uint64(i + 1), Geometry: mp}}
		l, _ := vectortile.NewLayer("grids", f)
		data, err := vectortile.Encode(tile, vectortile.DefaultOptions(), l)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := mvt.Unmarshal(data)
		if err != nil || len(layers) == 0 {
			continue
		}
		feats = append(feats, layers[0].Features[0].Geometry)
	}
	ol, _ := vectortile.NewLayer("outline", []vectortile.Feature{{Geometry: orb.MultiPolygon{coverageBound.ToPolygon()}}})
	data, _ := vectortile.Encode(tile, vectortile.DefaultOptions(), ol)
	layers, _ := mvt.Unmarshal(data)
	outline := layers[0].Features[0].Geometry
	lo, hi := int64(-vectortile.DefaultBuffer), int64(vectortile.DefaultExtent+vectortile.DefaultBuffer)
	if rep := vttest.CheckCoverage(feats, outline, lo, hi); rep.Err() != nil || rep.Shared == 0 {
		t.Fatalf("the intact coverage: %v, %+v", rep.Err(), rep)
	}
	moved := clonePolys(feats)
	p := moved[5].(orb.Polygon)
	p[0][2][0]++
	if rep := vttest.CheckCoverage(moved, outline, lo, hi); len(rep.Problems) == 0 {
		t.Error("a vertex moved by one unit went unnoticed")
	}
	if rep := vttest.CheckCoverage(feats[1:], outline, lo, hi); len(rep.Problems) == 0 {
		t.Error("a missing grid went unnoticed")
	}
	if rep := vttest.CheckCoverage(append(clonePolys(feats), feats[3]), outline, lo, hi); len(rep.Problems) == 0 {
		t.Error("a grid drawn twice went unnoticed")
	}
}

func clonePolys(gs []orb.Geometry) []orb.Geometry {
	out := make([]orb.Geometry, len(gs))
	for i, g := range gs {
		out[i] = orb.Clone(g)
	}
	return out
}
