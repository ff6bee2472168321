package layerfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

// fuzzTown is the first grids of the demo town, small enough for seeds;
// its first grid gets a hole so that seeds have inner rings.
func fuzzTown(tb testing.TB) *geo.TownData {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		tb.Fatal(err)
	}
	td.Grids = td.Grids[:3]
	b := td.Grids[0].Geometry.Bound()
	c := b.Center()
	d := (b.Max[0] - b.Min[0]) / 20
	td.Grids[0].Geometry[0] = append(td.Grids[0].Geometry[0], orb.Ring{{c[0], c[1]}, {c[0], c[1] + d}, {c[0] + d, c[1] + d}, {c[0] + d, c[1]}, {c[0], c[1]}})
	return td
}

// checkRead is what every fuzz target asserts: no panic (the fuzzer sees
// that), an error is an EINVALID *geo.Error with problems and no layer,
// (a *TooLargeError naming its limit when a limit is hit), and an accepted
// layer is valid and survives GeoJSON and KML unchanged.
func checkRead(t *testing.T, l *Layer, err error) {
	if err != nil {
		if tl, ok := err.(*TooLargeError); ok {
			if tl.Limit == "" || !strings.Contains(tl.Err.Message, "(limit "+tl.Limit+")") {
				t.Fatalf("a TooLargeError that does not name its limit: %+v", tl)
			}
			err = tl.Err
		}
		ge, ok := err.(*geo.Error)
		if !ok || ge.Code != geo.EINVALID || len(ge.Problems) == 0 || l != nil {
			t.Fatalf("got %T %v and layer %v; want EINVALID with problems, no layer", err, err, l)
		}
		return
	}
	if l == nil || len(l.Features) == 0 {
		t.Fatal("no error and no features")
	}
	td := &geo.TownData{}
	for _, f := range l.Features {
		if geo.ValidateGridCode(f.Code, f.VillageCode) != nil {
			t.Fatalf("accepted code %q of village %q", f.Code, f.VillageCode)
		}
		if _, reasons := geo.Polygonal(f.Geometry); len(reasons) > 0 {
			t.Fatalf("accepted geometry of %s: %v", f.Code, reasons)
		}
		td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{Code: f.Code, Name: f.Name, VillageCode: f.VillageCode, Geometry: f.Geometry}})
	}
	for _, format := range []Format{GeoJSON, KML} {
		b, err := Write(format, td, WriteOptions{})
		if err != nil {
			t.Fatalf("writing what was read as %s: %v", format, err)
		}
		again, err := Read("again"+format.Ext(), b, ReadOptions{})
		if err != nil {
			t.Fatalf("reading back the %s written: %v", format, err)
		}
		if len(again.Features) != len(l.Features) {
			t.Fatalf("%s: %d features became %d", format, len(l.Features), len(again.Features))
		}
		byCode := map[string]orb.MultiPolygon{}
		for _, f := range again.Features {
			byCode[f.Code] = f.Geometry
		}
		for _, f := range l.Features {
			if !orb.Equal(byCode[f.Code], orient(f.Geometry, "", true)) {
				t.Fatalf("%s: grid %s changed: %v became %v", format, f.Code, f.Geometry, byCode[f.Code])
			}
		}
	}
}

// FuzzRead feeds any bytes under any name to Read.
func FuzzRead(f *testing.F) {
	td := fuzzTown(f)
	for _, format := range Formats {
		b, err := Write(format, td, WriteOptions{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add("grids"+format.Ext(), b)
	}
	f.Add("x.geojson", []byte(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[3,2],[1,2]]]},"properties":{"code":"431321101001001"}}`))
	f.Add("x.kml", []byte(`<kml><Placemark><name>431321101001001</name><Polygon><outerBoundaryIs><LinearRing><coordinates>1,2 3,4 3,2 1,2</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`))
	for _, seed := range bombSeeds(f) {
		f.Add(seed.name, seed.data)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		l, err := Read(name, data, ReadOptions{})
		checkRead(t, l, err)
	})
}

// FuzzKML feeds any document to the KML reader, with the Placemark's
// name as the code so that small inputs can be accepted.
func FuzzKML(f *testing.F) {
	b, err := WriteKML(fuzzTown(f), WriteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`<kml><Placemark><name>431321101001001</name><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>1,2 3,4 3,2 1,2</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>1,2,0 3,4,0 3,2,0 1,2,0</coordinates></LinearRing></innerBoundaryIs></Polygon></MultiGeometry></Placemark></kml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read("f.kml", data, ReadOptions{CodeField: "name"})
		checkRead(t, l, err)
	})
}

// FuzzShapefile feeds any .shp, .dbf and .cpg to the Shapefile reader,
// past the zip layer whose checksums would stop most mutations.
func FuzzShapefile(f *testing.F) {
	b, err := WriteShapefileZip(fuzzTown(f), WriteOptions{Name: "g"})
	if err != nil {
		f.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		files[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	f.Add(files["g.shp"], files["g.dbf"], []byte("UTF-8"))
	f.Add(files["g.shp"][:200], files["g.dbf"][:300], []byte("GBK"))
	// Headers that claim far more than the bytes: 500 million .dbf
	// records, a .shp of 2^31 bytes, a record of 1 GiB.
	claims := func(b []byte, off int, v uint32, big bool) []byte {
		b = append([]byte(nil), b...)
		if big {
			binary.BigEndian.PutUint32(b[off:], v)
		} else {
			binary.LittleEndian.PutUint32(b[off:], v)
		}
		return b
	}
	f.Add(files["g.shp"], claims(files["g.dbf"], 4, 500_000_000, false), []byte(""))
	f.Add(claims(files["g.shp"], 24, 1<<30, true), files["g.dbf"], []byte(""))
	f.Add(claims(files["g.shp"], 104, 1<<29, true), files["g.dbf"], []byte(""))
	f.Add(nullRecords(2_000), files["g.dbf"][:32], []byte(""))
	f.Fuzz(func(t *testing.T, shp, dbf, cpg []byte) {
		p := &problems{file: "g.zip", lim: Limits{}.resolved()}
		features := readShapefile(p, "g.zip: g.shp", "g.zip: g.dbf", bytes.NewReader(shp), int64(len(shp)), dbf, nil, cpg)
		var l *Layer
		err := p.err()
		if err == nil {
			l, err = build(p, raw{format: Shapefile, where: "g.zip", features: features}, ReadOptions{})
		}
		checkRead(t, l, err)
	})
}

// FuzzKMZ feeds any zip to the KMZ reader.
func FuzzKMZ(f *testing.F) {
	b, err := WriteKMZ(fuzzTown(f), WriteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, seed := range bombSeeds(f) {
		if seed.name == "bomb.kmz" {
			f.Add(seed.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read("f.kmz", data, ReadOptions{CodeField: "name"})
		checkRead(t, l, err)
	})
}

// FuzzDBF feeds any dBase file to the .dbf reader: it must not panic, and
// what it accepts holds no more than its header's claims allow.
func FuzzDBF(f *testing.F) {
	b, err := WriteShapefileZip(fuzzTown(f), WriteOptions{Name: "g"})
	if err != nil {
		f.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	var dbf []byte
	for _, zf := range zr.File {
		if zf.Name == "g.dbf" {
			rc, _ := zf.Open()
			dbf, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	f.Add(dbf, []byte("UTF-8"))
	many := append([]byte(nil), dbf...)
	binary.LittleEndian.PutUint32(many[4:], 500_000_000)
	f.Add(many, []byte(""))
	wide := append([]byte(nil), dbf...)
	binary.LittleEndian.PutUint16(wide[8:], 0xFFFF) // a header of 65535 bytes
	f.Add(wide, []byte("GBK"))
	f.Fuzz(func(t *testing.T, dbf, cpg []byte) {
		p := &problems{file: "g.dbf", lim: Limits{}.resolved()}
		table, ok := readDBF(p, "g.dbf", dbf, cpg)
		if !ok {
			if p.count == 0 {
				t.Fatal("refused without a problem")
			}
			return
		}
		if cells := int64(len(table.records)) * int64(len(table.fields)); len(table.records) > p.lim.MaxFeatures ||
			len(table.fields) > p.lim.MaxFields || cells > p.lim.MaxCells || len(table.records) > len(dbf) {
			t.Fatalf("accepted %d records of %d fields from %d bytes", len(table.records), len(table.fields), len(dbf))
		}
	})
}

type namedSeed struct {
	name string
	data []byte
}

// bombSeeds are small files that claim or inflate to far more: a KMZ and
// a zipped Shapefile of a few KB that inflate to MiBs (refused by
// MaxRatio), a .dbf claiming 500 million records, a deep KML.
func bombSeeds(tb testing.TB) []namedSeed {
	zipOf := func(members ...namedSeed) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, m := range members {
			w, err := zw.Create(m.name)
			if err != nil {
				tb.Fatal(err)
			}
			w.Write(m.data)
		}
		zw.Close()
		return b.Bytes()
	}
	kml := "<kml><Document>" + strings.Repeat("<a/>", 1<<20) + "</Document></kml>"
	dbf := make([]byte, 32+32+1+100)
	binary.LittleEndian.PutUint32(dbf[4:], 500_000_000)
	binary.LittleEndian.PutUint16(dbf[8:], 65)
	binary.LittleEndian.PutUint16(dbf[10:], 11)
	copy(dbf[32:], "code")
	dbf[32+11], dbf[32+16], dbf[64] = 'C', 10, 0x0D
	return []namedSeed{
		{"bomb.kmz", zipOf(namedSeed{"doc.kml", []byte(kml)})},
		{"bomb.zip", zipOf(namedSeed{"g.shp", nullRecords(200_000)}, namedSeed{"g.dbf", dbf})},
		{"claims.zip", zipOf(namedSeed{"g.shp", nullRecords(1)}, namedSeed{"g.dbf", dbf})},
		{"deep.kml", []byte("<kml>" + strings.Repeat("<Folder>", 1000) + "</kml>")},
		{"many.kml", []byte("<kml>" + strings.Repeat("<Placemark/>", 1000) + "</kml>")},
	}
}

// nullRecords is a .shp of n null shapes.
func nullRecords(n int) []byte {
	b := make([]byte, 100, 100+12*n)
	binary.BigEndian.PutUint32(b[0:], 9994)
	binary.BigEndian.PutUint32(b[24:], uint32((100+12*n)/2))
	binary.LittleEndian.PutUint32(b[28:], 1000)
	binary.LittleEndian.PutUint32(b[32:], 5)
	rec := []byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}
	for range n {
		b = append(b, rec...)
	}
	return b
}
