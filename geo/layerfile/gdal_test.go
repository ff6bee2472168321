package layerfile_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wangge/geo/layerfile"
)

// gdalTool finds a GDAL program. It fails, not skips, when GDAL is
// missing: CI installs gdal-bin, and these tests are the proof that real
// GIS tools read what wangge writes and write what wangge reads.
func gdalTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (Debian: apt-get install gdal-bin): %v", name, err)
	}
	return p
}

func runGDAL(t *testing.T, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = append(os.Environ(), "CPL_DEBUG=OFF")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ogrFields returns the attribute names and types ogrinfo -so lists.
func ogrFields(out string) map[string]string {
	fields := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+): (\w+) \(`).FindAllStringSubmatch(out, -1) {
		fields[m[1]] = m[2]
	}
	return fields
}

// TestGDAL_readsExports: ogrinfo (GDAL's Shapefile, LIBKML and GeoJSON
// drivers, as in QGIS) opens each export, finds 230 polygons, the
// attributes wangge writes, WGS 84 for the Shapefile, and the Chinese
// names decoded; ogr2ogr copies the Shapefile to GeoJSON at 17 significant
// digits and the vertices are the very float64s written.
func TestGDAL_readsExports(t *testing.T) {
	ogrinfo, ogr2ogr := gdalTool(t, "ogrinfo"), gdalTool(t, "ogr2ogr")
	t.Log(strings.TrimSpace(runGDAL(t, ogrinfo, "--version")))
	td := demoTown(t)
	dir := t.TempDir()
	name := "431321101-g1"
	paths := map[layerfile.Format]string{}
	for _, f := range layerfile.Formats {
		b, err := layerfile.Write(f, td, layerfile.WriteOptions{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+f.Ext())
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[f] = p
	}
	sources := map[layerfile.Format]string{
		layerfile.GeoJSON:   paths[layerfile.GeoJSON],
		layerfile.KML:       paths[layerfile.KML],
		layerfile.KMZ:       paths[layerfile.KMZ],
		layerfile.Shapefile: "/vsizip/" + paths[layerfile.Shapefile] + "/" + name + ".shp",
	}
	wantFields := map[layerfile.Format]map[string]string{
		layerfile.GeoJSON: {"code": "String", "name": "String", "village_code": "String", "village_name": "String",
			"households": "Integer", "population": "Integer", "leader": "String"},
		layerfile.Shapefile: {"code": "String", "name": "String", "vill_code": "String", "vill_name": "String",
			"households": "Integer", "population": "Integer", "leader": "String"},
	}
	// GDAL's KML drivers show the Placemark's name, the grid's name, as Name.
	wantFields[layerfile.KML] = map[string]string{"Name": "String", "code": "String", "village_code": "String",
		"village_name": "String", "households": "Integer", "population": "Integer", "leader": "String"}
	wantFields[layerfile.KMZ] = wantFields[layerfile.KML]
	for _, f := range layerfile.Formats {
		out := runGDAL(t, ogrinfo, "-ro", "-al", "-so", sources[f])
		if !strings.Contains(out, "Feature Count: 230\n") {
			t.Errorf("%s: ogrinfo does not count 230 features:\n%s", f, out)
		}
		// Every feature is a polygon (LIBKML says "Unknown (any)" for the layer).
		summary := runGDAL(t, ogrinfo, "-ro", "-al", "-geom=SUMMARY", sources[f])
		if n := len(regexp.MustCompile(`(?m)^  (MULTI)?POLYGON : `).FindAllString(summary, -1)); n != 230 {
			t.Errorf("%s: ogrinfo sees %d polygons, want 230:\n%.2000s", f, n, summary)
		}
		got := ogrFields(out)
		for field, typ := range wantFields[f] {
			if got[field] != typ {
				t.Errorf("%s: attribute %s: ogrinfo says %q, want %s", f, field, got[field], typ)
			}
		}
		if f == layerfile.Shapefile && !strings.Contains(out, `GEOGCRS["WGS 84"`) {
			t.Errorf("shp: ogrinfo does not see WGS 84:\n%s", out)
		}
		t.Logf("%s: ogrinfo sees 230 features with %d attributes", f, len(got))
	}

	// The Chinese names come out decoded (the .cpg says UTF-8).
	out := runGDAL(t, ogrinfo, "-ro", "-al", "-fid", "0", sources[layerfile.Shapefile])
	if !strings.Contains(out, "name (String) = "+td.Grids[0].Name) || !strings.Contains(out, "leader (String) = "+td.Grids[0].Leader.Name) {
		t.Errorf("ogrinfo does not show grid 0's name %s and leader %s:\n%s", td.Grids[0].Name, td.Grids[0].Leader.Name, out)
	}

	// GDAL's view of the Shapefile's geometry is the snapshot's, exactly.
	gj := filepath.Join(dir, "from-shp.geojson")
	runGDAL(t, ogr2ogr, "-f", "GeoJSON", "-lco", "RFC7946=NO", "-lco", "SIGNIFICANT_FIGURES=17", gj, sources[layerfile.Shapefile])
	b, err := os.ReadFile(gj)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layerfile.Read(gj, b, layerfile.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSameGrids(t, td, l, 0)
}

// TestGDAL_writesImports: files written by GDAL (the engine of QGIS's
// "Save Features As") read back as the grids they were made from: a
// Shapefile with UTF-8 attributes, one in GBK with its .cpg, the same
// without the .cpg (wangge must guess GBK), and KML from both GDAL
// drivers.
func TestGDAL_writesImports(t *testing.T) {
	ogr2ogr := gdalTool(t, "ogr2ogr")
	td := demoTown(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "grids.geojson")
	b, err := layerfile.WriteGeoJSON(td, layerfile.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		args      []string
		dropCPG   bool
		tolerance float64
	}{
		{"shapefile UTF-8", []string{"-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8"}, false, 0},
		{"shapefile GBK", []string{"-f", "ESRI Shapefile", "-lco", "ENCODING=CP936"}, false, 0},
		{"shapefile GBK without .cpg", []string{"-f", "ESRI Shapefile", "-lco", "ENCODING=CP936"}, true, 0},
		{"KML (LIBKML driver)", []string{"-f", "LIBKML"}, false, 1e-9},
		{"KML (KML driver)", []string{"-f", "KML"}, false, 1e-9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "grids")
			if strings.Contains(tt.name, "KML") {
				out += ".kml"
			}
			runGDAL(t, ogr2ogr, append(tt.args, out, src)...)
			var data []byte
			name := filepath.Base(out)
			if strings.HasSuffix(out, ".kml") {
				if data, err = os.ReadFile(out); err != nil {
					t.Fatal(err)
				}
			} else {
				files := map[string][]byte{}
				var order []string
				entries, err := os.ReadDir(out)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if tt.dropCPG && strings.HasSuffix(e.Name(), ".cpg") {
						continue
					}
					b, err := os.ReadFile(filepath.Join(out, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					utf8Name := bytes.Contains(b, []byte(td.Grids[0].Leader.Name))
					if strings.HasSuffix(e.Name(), ".dbf") && strings.Contains(tt.name, "GBK") == utf8Name {
						t.Fatalf("GDAL's .dbf holds the leader's name in UTF-8: %v; the test wants GBK: %v", utf8Name, strings.Contains(tt.name, "GBK"))
					}
					files["grids/"+e.Name()] = b
					order = append(order, "grids/"+e.Name())
				}
				t.Logf("GDAL wrote %v", order)
				data, name = rezip(t, files, order), "grids.zip"
			}
			l, err := layerfile.Read(name, data, layerfile.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkSameGrids(t, td, l, tt.tolerance)
			if got, want := l.Features[0].Properties["leader"], td.Grids[0].Leader.Name; got != want {
				t.Errorf("leader of grid 0: %q, want %q (fields %v)", got, want, l.Fields)
			}
		})
	}
}
