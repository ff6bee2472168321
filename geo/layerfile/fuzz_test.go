package layerfile

import (
	"archive/zip"
	"bytes"
	"io"
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
// and an accepted layer is valid and survives GeoJSON and KML unchanged.
func checkRead(t *testing.T, l *Layer, err error) {
	if err != nil {
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
	f.Fuzz(func(t *testing.T, shp, dbf, cpg []byte) {
		p := &problems{file: "g.zip"}
		features := readShapefile(p, "g.zip: g.shp", "g.zip: g.dbf", shp, dbf, nil, cpg)
		var l *Layer
		err := p.err()
		if err == nil {
			l, err = build(p, raw{format: Shapefile, where: "g.zip", features: features}, ReadOptions{})
		}
		checkRead(t, l, err)
	})
}
