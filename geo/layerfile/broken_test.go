package layerfile_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"

	"wangge/geo"
	"wangge/geo/layerfile"
)

// unzip returns the members of a zip by name, and their order.
func unzip(t testing.TB, data []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files, order := map[string][]byte{}, []string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		order = append(order, f.Name)
	}
	return files, order
}

// rezip zips the members in order; a member set to nil is left out.
func rezip(t testing.TB, files map[string][]byte, order []string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range order {
		if files[name] == nil {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// shpEdit changes the members of the demo town's Shapefile zip ("g.shp",
// "g.dbf", …) and returns the new zip.
func shpEdit(t testing.TB, edit func(files map[string][]byte)) []byte {
	t.Helper()
	b, err := layerfile.WriteShapefileZip(demoTown(t), layerfile.WriteOptions{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	files, order := unzip(t, b)
	edit(files)
	return rezip(t, files, order)
}

// firstShape returns the offset of record 0's point array in a .shp, and
// its number of points.
func firstShape(shp []byte) (points, n int) {
	const content = 108
	parts := int(binary.LittleEndian.Uint32(shp[content+36:]))
	n = int(binary.LittleEndian.Uint32(shp[content+40:]))
	return content + 44 + 4*parts, n
}

func setFloat(b []byte, off int, v float64) {
	binary.LittleEndian.PutUint64(b[off:], math.Float64bits(v))
}

// dbfValue overwrites the text of a DBF column in record i.
func dbfValue(dbf []byte, i int, column string, value string) {
	hdrLen := int(binary.LittleEndian.Uint16(dbf[8:]))
	recLen := int(binary.LittleEndian.Uint16(dbf[10:]))
	off := 1
	for pos := 32; dbf[pos] != 0x0D; pos += 32 {
		name := string(bytes.TrimRight(dbf[pos:pos+11], "\x00"))
		width := int(dbf[pos+16])
		if name == column {
			field := dbf[hdrLen+i*recLen+off : hdrLen+i*recLen+off+width]
			copy(field, value+strings.Repeat(" ", width-len(value)))
			return
		}
		off += width
	}
	panic("no column " + column)
}

// TestRead_broken: each broken file gives EINVALID, no layer, and a
// problem naming the feature (or the file) and what is wrong.
func TestRead_broken(t *testing.T) {
	td := demoTown(t)
	code := td.Grids[0].Code // 431321101001001
	first := "feature 0 (" + code + ")"
	gj, err := layerfile.WriteGeoJSON(td, layerfile.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kml, err := layerfile.WriteKML(td, layerfile.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kmz, err := layerfile.WriteKMZ(td, layerfile.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	firstLon := "112.085693359375,27.245361328125"
	if !bytes.Contains(gj, []byte(firstLon)) {
		t.Fatalf("the demo town's first vertex is no longer %s: update the test", firstLon)
	}
	replace := func(b []byte, old, new string, n int) []byte {
		t.Helper()
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%q not in the file", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), n)
	}
	tests := []struct {
		name, file  string
		data        []byte
		opts        layerfile.ReadOptions
		where, want string
	}{
		// GeoJSON
		{"geojson: truncated", "g.geojson", gj[:len(gj)/2], layerfile.ReadOptions{}, "g.geojson", "truncated"},
		{"geojson: unclosed ring", "g.geojson", replace(gj, "[["+firstLon, "[[112.0856,27.245361328125", 1), layerfile.ReadOptions{}, first, "not closed"},
		{"geojson: longitude out of range", "g.geojson", replace(gj, firstLon, "212.085693359375,27.245361328125", 2), layerfile.ReadOptions{}, first, "lon: got 212"},
		{"geojson: one number in a position", "g.geojson", replace(gj, "[["+firstLon+"],[", "[["+firstLon+"],[1],[", 1), layerfile.ReadOptions{}, first, "position 1: got 1 numbers"},
		{"geojson: point", "g.geojson", replace(gj, `{"type":"MultiPolygon","coordinates":[[[[`+firstLon+`]`, `{"type":"Point","coordinates":[1,2],"x":[[[[0,0]`, 1), layerfile.ReadOptions{}, first, `"Point": want Polygon or MultiPolygon`},
		{"geojson: no code field", "g.geojson", replace(gj, `"code":`, `"kode":`, -1), layerfile.ReadOptions{}, "g.geojson", "no grid code attribute"},
		{"geojson: named code field missing", "g.geojson", gj, layerfile.ReadOptions{CodeField: "网格编码"}, "g.geojson", `code field "网格编码": no such attribute`},
		{"geojson: bad code", "g.geojson", replace(gj, `"code":"`+code, `"code":"43132110100100X`, 1), layerfile.ReadOptions{}, "feature 0 (43132110100100X)", "want 15 digits"},
		{"geojson: code of another village", "g.geojson", replace(gj, `"code":"`+code, `"code":"431321101002001`, 1), layerfile.ReadOptions{}, "feature 0 (431321101002001)", "must start with its village code"},
		{"geojson: empty code", "g.geojson", replace(gj, `"code":"`+code+`"`, `"code":""`, 1), layerfile.ReadOptions{}, `feature 0 (name "`, "grid code (attribute code) is empty"},
		{"geojson: duplicate code", "g.geojson", replace(gj, `"code":"`+td.Grids[1].Code+`"`, `"code":"`+code+`"`, 1), layerfile.ReadOptions{}, "feature 1 (" + code + ")", "used twice (also feature 0)"},
		{"geojson: projected crs", "g.geojson", replace(gj, `{"type":"FeatureCollection",`, `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4547"}},`, 1), layerfile.ReadOptions{}, "g.geojson", "does not reproject"},
		{"geojson: empty", "g.geojson", []byte(`{"type":"FeatureCollection","features":[]}`), layerfile.ReadOptions{}, "g.geojson", "has no features"},
		{"unknown crs option", "g.geojson", gj, layerfile.ReadOptions{CRS: "epsg:3857"}, "crs", "want wgs84, gcj02 or bd09"},

		// KML
		{"kml: truncated", "g.kml", kml[:len(kml)/2], layerfile.ReadOptions{}, "g.kml", "malformed XML"},
		{"kml: unclosed ring", "g.kml", replace(kml, "<coordinates>"+firstLon, "<coordinates>112.0856,27.245361328125", 1), layerfile.ReadOptions{}, first, "not closed"},
		{"kml: bad coordinate", "g.kml", replace(kml, "<coordinates>"+firstLon+" ", "<coordinates>"+firstLon+" 112.08,abc ", 1), layerfile.ReadOptions{}, first, `position 1: got "112.08,abc"`},
		{"kml: latitude out of range", "g.kml", replace(kml, firstLon, "112.085693359375,97.245361328125", 2), layerfile.ReadOptions{}, first, "lat: got 97"},
		{"kml: point", "g.kml", replace(kml, "<Polygon>", "<Point><coordinates>112,27</coordinates></Point><Polygon>", 1), layerfile.ReadOptions{}, first, "geometry type Point"},
		{"kml: no polygon", "g.kml", replace(replace(kml, "<Polygon><outerBoundaryIs>", "<Polygon><innerBoundaryIs>", 1), "</outerBoundaryIs>", "</innerBoundaryIs>", 1), layerfile.ReadOptions{}, first, "no outerBoundaryIs"},
		{"kml: no code field", "g.kml", replace(kml, `name="code"`, `name="kode"`, -1), layerfile.ReadOptions{}, "g.kml", "no grid code attribute"},
		{"kml: not kml", "g.kml", []byte(`<html><body>hello</body></html>`), layerfile.ReadOptions{}, "g.kml", "want a <kml> root"},

		// KMZ
		{"kmz: truncated", "g.kmz", kmz[:len(kmz)-40], layerfile.ReadOptions{}, "g.kmz", "not a valid zip"},
		{"kmz: no kml inside", "g.kmz", rezip(t, map[string][]byte{"readme.txt": []byte("hi")}, []string{"readme.txt"}), layerfile.ReadOptions{}, "g.kmz", "must hold a .kml"},
		{"kmz: unclosed ring", "g.kmz", rezip(t, map[string][]byte{"doc.kml": replace(kml, "<coordinates>"+firstLon, "<coordinates>112.0856,27.245361328125", 1)}, []string{"doc.kml"}), layerfile.ReadOptions{}, "g.kmz: doc.kml: " + first, "not closed"},

		// Shapefile
		{"shp: truncated zip", "g.zip", shpEdit(t, func(map[string][]byte) {})[:3000], layerfile.ReadOptions{}, "g.zip", "not a valid zip"},
		{"shp: no dbf", "g.zip", shpEdit(t, func(f map[string][]byte) { f["g.dbf"] = nil }), layerfile.ReadOptions{}, "g.zip: g.shp", "has no g.dbf"},
		{"shp: truncated shp", "g.zip", shpEdit(t, func(f map[string][]byte) { f["g.shp"] = f["g.shp"][:len(f["g.shp"])-100] }), layerfile.ReadOptions{}, "g.zip: g.shp", "truncated"},
		{"shp: dbf of another layer", "g.zip", shpEdit(t, func(f map[string][]byte) {
			binary.LittleEndian.PutUint32(f["g.dbf"][4:], 229)
		}), layerfile.ReadOptions{}, "g.zip: g.dbf", "has 229 records but the .shp has 230"},
		{"shp: projected prj", "g.zip", shpEdit(t, func(f map[string][]byte) {
			f["g.prj"] = []byte(`PROJCS["CGCS2000_3_Degree_GK_CM_111E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["Central_Meridian",111.0],UNIT["Meter",1.0]]`)
		}), layerfile.ReadOptions{}, "g.zip: g.prj", `projected coordinate system "CGCS2000_3_Degree_GK_CM_111E"`},
		{"shp: Beijing 1954", "g.zip", shpEdit(t, func(f map[string][]byte) {
			f["g.prj"] = []byte(`GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`)
		}), layerfile.ReadOptions{}, "g.zip: g.prj", "neither WGS 84 nor CGCS2000"},
		{"shp: projected, no .prj", "g.zip", shpEdit(t, func(f map[string][]byte) {
			f["g.prj"] = nil
			setFloat(f["g.shp"], 36, 38e6) // a Gauss-Krüger easting with zone number
		}), layerfile.ReadOptions{}, "g.zip: g.shp", "looks projected"},
		{"shp: unclosed ring", "g.zip", shpEdit(t, func(f map[string][]byte) {
			pts, n := firstShape(f["g.shp"])
			setFloat(f["g.shp"], pts+16*(n-1), 112.0856)
		}), layerfile.ReadOptions{}, first, "part 0: is not closed"},
		{"shp: coordinate out of range", "g.zip", shpEdit(t, func(f map[string][]byte) {
			pts, _ := firstShape(f["g.shp"])
			setFloat(f["g.shp"], pts+16*2+8, 127.2)
		}), layerfile.ReadOptions{}, first, "position 2: lat: got 127.2"},
		{"shp: NaN", "g.zip", shpEdit(t, func(f map[string][]byte) {
			pts, _ := firstShape(f["g.shp"])
			setFloat(f["g.shp"], pts+16*2, math.NaN())
		}), layerfile.ReadOptions{}, first, "lon: got NaN"},
		{"shp: null shape", "g.zip", shpEdit(t, func(f map[string][]byte) {
			binary.LittleEndian.PutUint32(f["g.shp"][108:], 0)
		}), layerfile.ReadOptions{}, first, "null shape"},
		{"shp: polyline record", "g.zip", shpEdit(t, func(f map[string][]byte) {
			binary.LittleEndian.PutUint32(f["g.shp"][108:], 3)
		}), layerfile.ReadOptions{}, first, "geometry type PolyLine (type 3): want Polygon"},
		{"shp: polyline layer", "g.zip", shpEdit(t, func(f map[string][]byte) {
			binary.LittleEndian.PutUint32(f["g.shp"][32:], 3)
		}), layerfile.ReadOptions{}, "g.zip: g.shp", "holds PolyLine (type 3) shapes"},
		{"shp: parts past the end", "g.zip", shpEdit(t, func(f map[string][]byte) {
			binary.LittleEndian.PutUint32(f["g.shp"][108+40:], 1<<20)
		}), layerfile.ReadOptions{}, first, "need"},
		{"shp: no code field", "g.zip", shpEdit(t, func(f map[string][]byte) { copy(f["g.dbf"][32:], "kode") }), layerfile.ReadOptions{}, "g.zip", "no grid code attribute"},
		{"shp: empty code", "g.zip", shpEdit(t, func(f map[string][]byte) { dbfValue(f["g.dbf"], 0, "code", "") }), layerfile.ReadOptions{}, `feature 0 (name "`, "is empty"},
		{"shp: duplicate code", "g.zip", shpEdit(t, func(f map[string][]byte) { dbfValue(f["g.dbf"], 1, "code", code) }), layerfile.ReadOptions{}, "feature 1 (" + code + ")", "used twice"},
		{"shp: bare .shp", "g.shp", shpEdit(t, func(map[string][]byte) {})[:0:0], layerfile.ReadOptions{}, "g.shp", "zip the .shp"},
		{"unknown format", "g.txt", []byte("hello"), layerfile.ReadOptions{}, "g.txt", "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.name == "shp: bare .shp" {
				files, _ := unzip(t, shpEdit(t, func(map[string][]byte) {}))
				data = files["g.shp"]
			}
			l, err := layerfile.Read(tt.file, data, tt.opts)
			ge, ok := err.(*geo.Error)
			if !ok || ge.Code != geo.EINVALID || l != nil {
				t.Fatalf("got %v, %v; want EINVALID and no layer", l, err)
			}
			for _, p := range ge.Problems {
				if strings.Contains(p.Where, tt.where) && strings.Contains(p.Reason, tt.want) {
					t.Logf("%s: %s", p.Where, p.Reason)
					return
				}
			}
			t.Errorf("no problem at %q saying %q in %+v", tt.where, tt.want, ge.Problems)
		})
	}
}
