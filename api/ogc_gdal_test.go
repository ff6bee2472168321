package api_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
)

// TestOGC_GDAL reads /ogc with a real client, GDAL's OAPIF driver (Debian's
// gdal-bin), over HTTP on a loopback port: ogrinfo must list the three
// collections and see 230 grids with their attributes, and ogr2ogr must
// copy every grid into a GeoPackage with the snapshot's geometry. It fails,
// not skips, without GDAL: CI installs gdal-bin for it.
func TestOGC_GDAL(t *testing.T) {
	ogrinfo, ogr2ogr := gdalTool(t, "ogrinfo"), gdalTool(t, "ogr2ogr")
	var reg geo.Registry
	reg.Store(demo)
	srv := httptest.NewServer(api.New(&reg, nil, api.Config{}, nil))
	defer srv.Close()
	source := "OAPIF:" + srv.URL + "/ogc"
	t.Log(strings.TrimSpace(runGDAL(t, ogrinfo, "--version")))

	// The layers: one per collection.
	out := runGDAL(t, ogrinfo, "-ro", "-so", source)
	var layers []string
	for _, m := range regexp.MustCompile(`(?m)^\d+: ([\w-]+)`).FindAllStringSubmatch(out, -1) {
		layers = append(layers, m[1])
	}
	if !slices.Equal(layers, []string{"grids", "villages", "organizations", "service-points"}) {
		t.Fatalf("ogrinfo lists the layers %v, want grids, villages, organizations, service-points:\n%s", layers, out)
	}

	// The grids layer: count, geometry type, attributes.
	out = runGDAL(t, ogrinfo, "-ro", "-al", "-so", source, "grids")
	for _, want := range []string{"Feature Count: 230\n", "Geometry: Multi Polygon\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("ogrinfo grids lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	if len(demo.Grids) != 230 {
		t.Errorf("the demo town has %d grids; this test expects 230", len(demo.Grids))
	}
	fields := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+): (\w+) \(`).FindAllStringSubmatch(out, -1) {
		fields[m[1]] = m[2]
	}
	want := map[string]string{"id": "String", "code": "String", "name": "String", "village_code": "String",
		"village_name": "String", "district_code": "String", "district_name": "String",
		"households": "Integer", "population": "Integer", "leader": "String"}
	for name, typ := range want {
		if fields[name] != typ {
			t.Errorf("attribute %s: got %q, want %s", name, fields[name], typ)
		}
	}
	if len(fields) != len(want) {
		t.Errorf("attributes %v, want exactly %v", fields, want)
	}

	// Every grid into a GeoPackage, then out at 17 significant digits.
	dir := t.TempDir()
	gpkg, gj := filepath.Join(dir, "grids.gpkg"), filepath.Join(dir, "grids.geojson")
	runGDAL(t, ogr2ogr, "-f", "GPKG", gpkg, source, "grids")
	runGDAL(t, ogr2ogr, "-f", "GeoJSON", "-lco", "RFC7946=NO", "-lco", "SIGNIFICANT_FIGURES=17", gj, gpkg)
	raw, err := os.ReadFile(gj)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct{ Code, Leader string }
			Geometry   struct {
				Type        string
				Coordinates [][][][2]float64
			}
		}
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatalf("reading the GeoPackage's GeoJSON: %v", err)
	}
	if len(fc.Features) != len(demo.Grids) {
		t.Fatalf("the GeoPackage has %d grids, want %d", len(fc.Features), len(demo.Grids))
	}
	seen := map[string]bool{}
	maxDiff, vertices := 0.0, 0
	for _, f := range fc.Features {
		g, ok := demo.Grid(f.Properties.Code)
		if !ok || seen[g.Code] {
			t.Fatalf("the GeoPackage has grid %q twice or unknown", f.Properties.Code)
		}
		seen[g.Code] = true
		if f.Properties.Leader != g.Leader.Name || f.Geometry.Type != "MultiPolygon" || len(f.Geometry.Coordinates) != len(g.Geometry) {
			t.Fatalf("grid %s: leader %q, %s of %d polygons; want %q and %d polygons",
				g.Code, f.Properties.Leader, f.Geometry.Type, len(f.Geometry.Coordinates), g.Leader.Name, len(g.Geometry))
		}
		for i, poly := range g.Geometry {
			if len(f.Geometry.Coordinates[i]) != len(poly) {
				t.Fatalf("grid %s polygon %d: %d rings, want %d", g.Code, i, len(f.Geometry.Coordinates[i]), len(poly))
			}
			for j, ring := range poly {
				got := f.Geometry.Coordinates[i][j]
				if len(got) != len(ring) {
					t.Fatalf("grid %s ring %d/%d: %d vertices, want %d", g.Code, i, j, len(got), len(ring))
				}
				for k, p := range ring {
					d := max(math.Abs(got[k][0]-p[0]), math.Abs(got[k][1]-p[1]))
					maxDiff = max(maxDiff, d)
					vertices++
					if d > 1e-9 {
						t.Fatalf("grid %s vertex %d/%d/%d: GeoPackage %v, snapshot %v", g.Code, i, j, k, got[k], p)
					}
				}
			}
		}
	}
	t.Logf("GeoPackage: %d grids, %d vertices, largest difference from the snapshot %g°", len(fc.Features), vertices, maxDiff)
}

// gdalTool finds a GDAL program or fails the test saying what to install.
func gdalTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: install gdal-bin (Debian/Ubuntu: apt-get install gdal-bin); "+
			"this test checks /ogc with GDAL's OAPIF driver", name)
	}
	return p
}

// runGDAL runs a GDAL program with a time limit and returns its output,
// failing the test if it fails. Proxies are bypassed for the loopback
// server.
func runGDAL(t *testing.T, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"GDAL_HTTP_TIMEOUT=30", "CPL_DEBUG=OFF")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
	return string(out)
}
