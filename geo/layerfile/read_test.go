package layerfile_test

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/fixtures"
	"wangge/geo/layerfile"
	"wangge/geo/townfile"
)

// shpOf builds a .shp of one record per entry, each a list of rings, of
// the given shape type (5 Polygon, 15 PolygonZ with Z and M arrays).
func shpOf(shapeType uint32, records ...[]orb.Ring) []byte {
	le := binary.LittleEndian
	b := make([]byte, 100)
	for i, rings := range records {
		var c []byte
		c = le.AppendUint32(c, shapeType)
		c = append(c, make([]byte, 32)...) // box: readers need not trust it
		n := 0
		for _, r := range rings {
			n += len(r)
		}
		c = le.AppendUint32(c, uint32(len(rings)))
		c = le.AppendUint32(c, uint32(n))
		start := 0
		for _, r := range rings {
			c = le.AppendUint32(c, uint32(start))
			start += len(r)
		}
		for _, r := range rings {
			for _, p := range r {
				c = le.AppendUint64(c, math.Float64bits(p[0]))
				c = le.AppendUint64(c, math.Float64bits(p[1]))
			}
		}
		if shapeType == 15 { // Z range and values, then M range and values
			c = append(c, make([]byte, 16+8*n)...)
			c = append(c, make([]byte, 16+8*n)...)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(i+1))
		b = binary.BigEndian.AppendUint32(b, uint32(len(c)/2))
		b = append(b, c...)
	}
	binary.BigEndian.PutUint32(b[0:], 9994)
	binary.BigEndian.PutUint32(b[24:], uint32(len(b)/2))
	le.PutUint32(b[28:], 1000)
	le.PutUint32(b[32:], shapeType)
	return b
}

// dbfOf builds a dBase table of character fields 40 bytes wide, the text
// already encoded, with the given language driver id.
func dbfOf(ldid byte, fields []string, rows ...[]string) []byte {
	const width = 40
	le := binary.LittleEndian
	hdr := 32 + 32*len(fields) + 1
	rec := 1 + width*len(fields)
	b := make([]byte, 32)
	b[0] = 3
	le.PutUint32(b[4:], uint32(len(rows)))
	le.PutUint16(b[8:], uint16(hdr))
	le.PutUint16(b[10:], uint16(rec))
	b[29] = ldid
	for _, f := range fields {
		d := make([]byte, 32)
		copy(d, f)
		d[11], d[16] = 'C', width
		b = append(b, d...)
	}
	b = append(b, 0x0D)
	for _, r := range rows {
		b = append(b, ' ')
		for _, v := range r {
			b = append(b, (v + strings.Repeat(" ", width-len(v)))...)
		}
	}
	return append(b, 0x1A)
}

func gbk(s string) string {
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

// square returns a closed ring around (x, y), clockwise when cw.
func square(x, y, d float64, cw bool) orb.Ring {
	r := orb.Ring{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}
	if cw {
		r.Reverse()
	}
	return r
}

// TestRead_shapefileRings: rings are grouped by orientation: clockwise
// outer rings, counter-clockwise holes put into the ring containing them
// (even when listed first, and even when they touch it), a
// counter-clockwise ring inside nothing kept as an outer ring (GDAL's
// rule); PolygonZ drops Z; the output is oriented the RFC 7946 way.
//
//	record 0: [ hole ]  in  [ outer ]      [ island ] (counter-clockwise, alone)
//	record 1: PolygonZ square
func TestRead_shapefileRings(t *testing.T) {
	outer := square(112, 27, 0.01, true)
	hole := orb.Ring{{112, 27.002}, {112.003, 27.002}, {112.003, 27.005}, {112, 27.005}, {112, 27.002}} // touches outer's west edge
	island := square(112.02, 27, 0.005, false)
	code1, code2 := "431321101001001", "431321101001002"
	files := map[string][]byte{
		"g.shp": append([]byte(nil), shpOf(5, []orb.Ring{hole, outer, island})...),
		"g.dbf": dbfOf(0, []string{"code"}, []string{code1}),
	}
	l, err := layerfile.Read("g.zip", rezip(t, files, []string{"g.shp", "g.dbf"}), layerfile.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := l.Features[0].Geometry
	if len(g) != 2 || len(g[0]) != 2 || len(g[1]) != 1 {
		t.Fatalf("got %d polygons (%v), want the outer ring with its hole, and the island", len(g), g)
	}
	if !orb.Equal(g[0][1], reversed(hole)) || !orb.Equal(g[0][0], reversed(outer)) || !orb.Equal(g[1][0], island) {
		t.Errorf("rings are not where (or how) they belong: %v", g)
	}

	z := map[string][]byte{
		"g.shp": shpOf(15, []orb.Ring{square(112, 27, 0.01, true)}),
		"g.dbf": dbfOf(0, []string{"code"}, []string{code2}),
	}
	l, err = layerfile.Read("g.zip", rezip(t, z, []string{"g.shp", "g.dbf"}), layerfile.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !orb.Equal(l.Features[0].Geometry, orb.MultiPolygon{{square(112, 27, 0.01, false)}}) {
		t.Errorf("PolygonZ: %v", l.Features[0].Geometry)
	}
}

func reversed(r orb.Ring) orb.Ring {
	out := append(orb.Ring(nil), r...)
	out.Reverse()
	return out
}

// TestRead_dbfEncodings: Chinese attribute names and values in GBK are
// decoded whether the .cpg says so, the header's language driver says so
// (ArcGIS: 0x4D, code page 936), or nothing says so, or a .cpg wrongly
// says UTF-8; UTF-8 likewise.
func TestRead_dbfEncodings(t *testing.T) {
	code, name := "431321101001001", "贺家坳社区第一网格"
	shp := shpOf(5, []orb.Ring{square(112, 27, 0.01, true)})
	for _, tt := range []struct {
		name string
		dbf  []byte
		cpg  string
	}{
		{"GBK with .cpg", dbfOf(0, []string{gbk("网格编码"), gbk("网格名称")}, []string{code, gbk(name)}), "GBK"},
		{"GBK by language driver", dbfOf(0x4D, []string{gbk("网格编码"), gbk("网格名称")}, []string{code, gbk(name)}), ""},
		{"GBK guessed", dbfOf(0, []string{gbk("网格编码"), gbk("网格名称")}, []string{code, gbk(name)}), ""},
		{"UTF-8 with .cpg", dbfOf(0, []string{"编码", "名称"}, []string{code, name}), "UTF-8"},
		// The case: a .cpg that says UTF-8 over GBK bytes used to
		// give U+FFFD names.
		{"GBK under a .cpg that says UTF-8", dbfOf(0, []string{gbk("网格编码"), gbk("网格名称")}, []string{code, gbk(name)}), "UTF-8"},
		{"UTF-8 guessed", dbfOf(0, []string{"编码", "名称"}, []string{code, name}), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"图层/网格.shp": shp, "图层/网格.dbf": tt.dbf}
			order := []string{"图层/网格.shp", "图层/网格.dbf"}
			if tt.cpg != "" {
				files["图层/网格.cpg"] = []byte(tt.cpg)
				order = append(order, "图层/网格.cpg")
			}
			l, err := layerfile.Read("网格.zip", rezip(t, files, order), layerfile.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f := l.Features[0]
			if f.Code != code || f.Name != name || f.VillageCode != code[:12] {
				t.Errorf("got code %q name %q village %q (fields %v)", f.Code, f.Name, f.VillageCode, l.Fields)
			}
		})
	}
}

// TestRead_kmlVariants: KML as Google Earth and 奥维地图 write it: Data
// elements, the code as the Placemark's name, nested Folders, a
// MultiGeometry, an innerBoundaryIs holding two rings, altitudes, spaces
// after commas, a GBK declaration; and a KML inside a .zip.
func TestRead_kmlVariants(t *testing.T) {
	ring := func(r orb.Ring) string {
		var parts []string
		for _, p := range r {
			parts = append(parts, strings.Join([]string{ftoa(p[0]), ftoa(p[1]), "0"}, ", "))
		}
		return "<LinearRing><coordinates>\n" + strings.Join(parts, "\n") + "\n</coordinates></LinearRing>"
	}
	outer, h1, h2 := square(112, 27, 0.01, false), square(112.001, 27.001, 0.002, true), square(112.005, 27.005, 0.002, true)
	doc := `<?xml version="1.0" encoding="GBK"?>
<kml xmlns="http://earth.google.com/kml/2.1" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Folder><name>` + gbk("网格") + `</name><Folder>
<Placemark><name>431321101001001</name><description><![CDATA[<b>` + gbk("第一网格") + `</b>]]></description>
<ExtendedData><Data name="` + gbk("网格名称") + `"><value>` + gbk("第一网格") + `</value></Data></ExtendedData>
<MultiGeometry><Polygon><outerBoundaryIs>` + ring(outer) + `</outerBoundaryIs><innerBoundaryIs>` + ring(h1) + ring(h2) + `</innerBoundaryIs></Polygon>
<Polygon><outerBoundaryIs>` + ring(square(112.02, 27, 0.01, false)) + `</outerBoundaryIs></Polygon></MultiGeometry></Placemark>
</Folder></Folder></Document></kml>`
	for _, tt := range []struct{ file, format string }{{"网格.kml", "kml"}, {"网格.zip", "kmz"}} {
		data := []byte(doc)
		if tt.format == "kmz" {
			data = rezip(t, map[string][]byte{"files/网格.kml": data}, []string{"files/网格.kml"})
		}
		l, err := layerfile.Read(tt.file, data, layerfile.ReadOptions{CodeField: "name"})
		if err != nil {
			t.Fatal(err)
		}
		f := l.Features[0]
		if string(l.Format) != tt.format || f.Code != "431321101001001" || f.Properties["网格名称"] != "第一网格" || f.Properties["description"] != "<b>第一网格</b>" {
			t.Errorf("%s: format %s, code %q, properties %v", tt.file, l.Format, f.Code, f.Properties)
		}
		want := orb.MultiPolygon{{outer, h1, h2}, {square(112.02, 27, 0.01, false)}}
		if !orb.Equal(f.Geometry, want) {
			t.Errorf("%s: geometry %v, want %v", tt.file, f.Geometry, want)
		}
		if l.NameField != "网格名称" || f.Name != "第一网格" {
			t.Errorf("%s: name %q from %q, want 第一网格 from 网格名称", tt.file, f.Name, l.NameField)
		}
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestRead_townfile: the townfile's grids.geojson (leaders as objects,
// organizations as arrays) reads as a layer; nested values keep their JSON.
func TestRead_townfile(t *testing.T) {
	b, err := fixtures.Heye.ReadFile(fixtures.HeyeDir + "/" + townfile.GridsFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layerfile.Read(townfile.GridsFile, b, layerfile.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	td := demoTown(t)
	checkSameGrids(t, td, l, 0)
	if got := l.Features[0].Properties["leader"]; !strings.HasPrefix(got, `{"name":"`+td.Grids[0].Leader.Name) {
		t.Errorf("leader property %q: want the JSON object", got)
	}
}

// TestRead_options: named fields, numeric codes, and the CRS option.
func TestRead_options(t *testing.T) {
	gj := `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[112,27],[112.01,27],[112.01,27.01],[112,27]]]},
"properties":{"GRID_ID":431321101001001,"TITLE":"x","VIL":"431321101001"}}]}`
	l, err := layerfile.Read("", []byte(gj), layerfile.ReadOptions{CodeField: "grid_id", NameField: "TITLE", VillageField: "VIL"})
	if err != nil {
		t.Fatal(err)
	}
	f := l.Features[0]
	if f.Code != "431321101001001" || f.Name != "x" || f.VillageCode != "431321101001" || l.CodeField != "GRID_ID" {
		t.Errorf("got %+v from fields %q %q %q", f, l.CodeField, l.NameField, l.VillageField)
	}
	if _, err := layerfile.Read("", []byte(gj), layerfile.ReadOptions{CodeField: "GRID_ID", VillageField: "village"}); err == nil {
		t.Error("a missing village field was accepted")
	}
	for _, s := range []string{"GeoJSON", "kml", "KMZ", "shp", "shapefile"} {
		if _, err := layerfile.ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := layerfile.ParseFormat("gpkg"); err == nil {
		t.Error("ParseFormat(gpkg) succeeded")
	}
}
