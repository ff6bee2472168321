package layerfile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
	"wangge/geo/ogr"
)

// geojsonFeature is a feature as the tests compare it: the id, every
// property as text (null and absent as ""), and the coordinates as
// written.
type geojsonFeature struct {
	props map[string]string
	coord string
}

// readFeatures parses a GeoJSON FeatureCollection into features keyed by
// the code property, in file order.
func readFeatures(t *testing.T, b []byte) (map[string]geojsonFeature, []string) {
	t.Helper()
	var fc struct {
		Features []struct {
			Geometry struct {
				Type        string
				Coordinates json.RawMessage
			}
			Properties map[string]json.RawMessage
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&fc); err != nil {
		t.Fatalf("%v: %.300s", err, b)
	}
	out := map[string]geojsonFeature{}
	var order []string
	for i, f := range fc.Features {
		if f.Geometry.Type != "MultiPolygon" {
			t.Fatalf("feature %d is a %s, want MultiPolygon", i, f.Geometry.Type)
		}
		props := map[string]string{}
		for k, raw := range f.Properties {
			var v any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if v != nil {
				props[k] = fmt.Sprint(v)
			} else {
				props[k] = ""
			}
		}
		var coords any
		if err := json.Unmarshal(f.Geometry.Coordinates, &coords); err != nil {
			t.Fatal(err)
		}
		c, _ := json.Marshal(coords) // float64 text: equal iff the same float64s
		out[props["code"]] = geojsonFeature{props, string(c)}
		order = append(order, props["code"])
	}
	return out, order
}

// compareWithGeoJSON checks that got (what GDAL read from another format,
// as GeoJSON) holds the features of want (our GeoJSON export) one for
// one: every attribute of the export with the same value, the geometry
// the very same float64s. Attributes GDAL adds (fid, WKT) are ignored.
func compareWithGeoJSON(t *testing.T, format string, want, got []byte) {
	t.Helper()
	wf, worder := readFeatures(t, want)
	gf, gorder := readFeatures(t, got)
	if len(gf) != len(wf) || len(gorder) != len(worder) {
		t.Fatalf("%s: %d features, want %d", format, len(gorder), len(worder))
	}
	for i, code := range worder {
		w, g := wf[code], gf[code]
		if gorder[i] != code {
			t.Errorf("%s: feature %d is %s, want %s (sorted by code)", format, i, gorder[i], code)
		}
		for k, v := range w.props {
			if g.props[k] != v {
				t.Errorf("%s: grid %s: %s = %q, want %q", format, code, k, g.props[k], v)
			}
		}
		if g.coord != w.coord {
			t.Errorf("%s: grid %s: geometry differs from the GeoJSON export:\n got %.200s\nwant %.200s", format, code, g.coord, w.coord)
		}
	}
}

// gdalToGeoJSON has ogr2ogr copy src to GeoJSON at 17 significant digits
// (the float64s exactly), rings as they are.
func gdalToGeoJSON(t *testing.T, src string, extra ...string) []byte {
	t.Helper()
	ogr2ogr := gdalTool(t, "ogr2ogr")
	out := filepath.Join(t.TempDir(), "back.geojson")
	args := append([]string{"-f", "GeoJSON", "-lco", "RFC7946=NO", "-lco", "SIGNIFICANT_FIGURES=17"}, extra...)
	runGDAL(t, ogr2ogr, append(args, out, src)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExportTables_readBackByGDAL: the CSV (WKT) and the GeoPackage
// exports, opened by GDAL (QGIS's engine), hold the features of the
// GeoJSON export one for one — attributes and vertices — for grids with
// holes and islands, in WGS-84 and in GCJ-02.
func TestExportTables_readBackByGDAL(t *testing.T) {
	ogrinfo := gdalTool(t, "ogrinfo")
	td := withIslandsAndHoles(t)
	for _, crs := range []string{"wgs84", "gcj02"} {
		opts := layerfile.WriteOptions{Name: "431321101-g1", CRS: chinacrs.CRS(crs), Modified: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
		want, err := layerfile.WriteGeoJSON(td, opts)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		t.Run("csv/"+crs, func(t *testing.T) {
			b, err := layerfile.Write(layerfile.CSV, td, opts)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "grids.csv")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			// A CSV declares no geometry type: GDAL finds one per row.
			summary := runGDAL(t, ogrinfo, "-ro", "-al", "-geom=SUMMARY", p)
			if n := strings.Count(summary, "\n  MULTIPOLYGON : "); n != 230 {
				t.Errorf("ogrinfo sees %d multipolygons in the WKT column, want 230:\n%.1500s", n, summary)
			}
			compareWithGeoJSON(t, "csv", want, gdalToGeoJSON(t, p, "-oo", "KEEP_GEOM_COLUMNS=NO"))
		})
		t.Run("gpkg/"+crs, func(t *testing.T) {
			b, err := ogr.ToGeoPackage(context.Background(), want, opts.Name, opts.Modified)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ogr.ToGeoPackage(context.Background(), want, opts.Name, opts.Modified)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("a second conversion gives other bytes (%v): replicas would disagree on the ETag", err)
			}
			p := filepath.Join(dir, "grids.gpkg")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			info := runGDAL(t, ogrinfo, "-ro", "-so", p, opts.Name)
			for _, s := range []string{"Feature Count: 230\n", "Geometry: Multi Polygon", `ID["EPSG",4326]`, "households: Integer", "leader: String"} {
				if !strings.Contains(info, s) {
					t.Errorf("ogrinfo does not show %q:\n%s", s, info)
				}
			}
			compareWithGeoJSON(t, "gpkg", want, gdalToGeoJSON(t, p))
		})
	}
}

// TestExportXLSX_readBack: the .xlsx attribute table, opened with
// excelize, has the Chinese header and one row per feature of the
// GeoJSON export, in its order, with its attributes (codes as text,
// households and population as numbers); the same grids give the same
// bytes.
func TestExportXLSX_readBack(t *testing.T) {
	td := demoTown(t)
	opts := layerfile.WriteOptions{Name: "431321101-g1", Modified: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	gj, err := layerfile.WriteGeoJSON(td, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, order := readFeatures(t, gj)
	b, err := layerfile.Write(layerfile.XLSX, td, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := layerfile.Write(layerfile.XLSX, td, opts); !bytes.Equal(again, b) {
		t.Error("a second export gives other bytes: replicas would disagree on the ETag")
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); len(sheets) != 1 || sheets[0] != "网格" {
		t.Fatalf("sheets %v, want [网格]", sheets)
	}
	rows, err := f.GetRows("网格")
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"网格编码", "网格名称", "村（社区）编码", "村（社区）名称", "户数", "人口", "网格长"}
	if fmt.Sprint(rows[0]) != fmt.Sprint(header) {
		t.Errorf("header %v, want %v", rows[0], header)
	}
	keys := []string{"code", "name", "village_code", "village_name", "households", "population", "leader"}
	if len(rows)-1 != len(order) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(order))
	}
	for i, code := range order {
		row := append(rows[i+1], make([]string, len(keys))...)[:len(keys)]
		for j, k := range keys {
			if row[j] != want[code].props[k] {
				t.Errorf("row %d (grid %s): %s = %q, want %q", i+2, code, header[j], row[j], want[code].props[k])
			}
		}
	}
	for _, c := range []struct {
		cell string
		typ  excelize.CellType
	}{{"A2", excelize.CellTypeSharedString}, {"E2", excelize.CellTypeUnset}, {"F2", excelize.CellTypeUnset}} {
		// excelize reports a plain number cell as unset (no t attribute).
		typ, err := f.GetCellType("网格", c.cell)
		if err != nil || typ != c.typ {
			t.Errorf("cell %s: type %v (%v), want %v", c.cell, typ, err, c.typ)
		}
	}
	if v, _ := f.GetCellValue("网格", "A2"); len(v) != 15 {
		t.Errorf("A2 = %q: the grid code must keep its 15 digits as text", v)
	}
}
