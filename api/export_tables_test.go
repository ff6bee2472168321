package api_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/xuri/excelize/v2"

	"wangge/api"
	"wangge/geo/layerfile"
)

func init() {
	for _, ct := range []string{"application/geopackage+sqlite3", "text/csv",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// TestExport_tables: GET /v1/export?format=gpkg|csv|xlsx gives a file
// named by town and generation, without a phone, with a stable ETag; GDAL
// (GeoPackage, CSV) and excelize (xlsx) find the snapshot's grids in it, in
// code order. (geo/layerfile's tables tests compare every feature and
// vertex with the GeoJSON export.)
func TestExport_tables(t *testing.T) {
	c := newClient(t)
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		t.Fatalf("ogrinfo is not installed (Debian: apt-get install gdal-bin): %v", err)
	}
	for _, f := range []layerfile.Format{layerfile.GeoPackage, layerfile.CSV, layerfile.XLSX} {
		t.Run(string(f), func(t *testing.T) {
			res := c.get("/v1/export?format=" + string(f))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, res.body)
			}
			if ct := res.Header.Get("Content-Type"); ct != f.ContentType() {
				t.Errorf("Content-Type %q, want %s", ct, f.ContentType())
			}
			if cd, want := res.Header.Get("Content-Disposition"), `attachment; filename="431321101-g1`+f.Ext()+`"`; cd != want {
				t.Errorf("Content-Disposition %q, want %s", cd, want)
			}
			for _, g := range demo.Grids {
				if g.Leader != nil && g.Leader.Phone != "" && bytes.Contains(res.body, []byte(g.Leader.Phone)) {
					t.Fatalf("the export holds the phone %s", g.Leader.Phone)
				}
			}
			etag := res.Header.Get("ETag")
			if nm := c.get("/v1/export?format="+string(f), "If-None-Match", etag); nm.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status %d, want 304 (the same bytes every time)", etag, nm.StatusCode)
			}
			var codes []string
			if f == layerfile.XLSX {
				x, err := excelize.OpenReader(bytes.NewReader(res.body))
				if err != nil {
					t.Fatal(err)
				}
				defer x.Close()
				rows, err := x.GetRows("网格")
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows[1:] {
					codes = append(codes, r[0])
				}
			} else {
				p := filepath.Join(t.TempDir(), "export"+f.Ext())
				if err := os.WriteFile(p, res.body, 0o644); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(ogrinfo, "-ro", "-al", "-q", "-geom=NO", p).CombinedOutput()
				if err != nil {
					t.Fatalf("ogrinfo: %v\n%s", err, out)
				}
				for _, line := range strings.Split(string(out), "\n") {
					if _, code, ok := strings.Cut(line, "  code (String) = "); ok {
						codes = append(codes, code)
					}
				}
			}
			if len(codes) != len(demo.Grids) {
				t.Fatalf("%d grids read back, want %d", len(codes), len(demo.Grids))
			}
			for i, g := range demo.Grids {
				if codes[i] != g.Code {
					t.Fatalf("row %d is grid %s, want %s", i, codes[i], g.Code)
				}
			}
		})
	}
}

// TestExport_geoPackageWithoutGDAL: on a server without ogr2ogr the
// GeoPackage is 503, a problem that says to install GDAL; the other
// formats still answer.
func TestExport_geoPackageWithoutGDAL(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := newClient(t)
	res := c.get("/v1/export?format=gpkg")
	var p api.Problem
	res.json(t, &p)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "gdal-bin") {
		t.Errorf("status %d, problem %+v; want 503 naming gdal-bin", res.StatusCode, p)
	}
	if res := c.get("/v1/export?format=csv"); res.StatusCode != http.StatusOK {
		t.Errorf("csv without GDAL: status %d", res.StatusCode)
	}
}
