package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"wangge/fixtures"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// TestExportCommand_tables: `wangge export -format gpkg|csv|xlsx -out F`
// writes the imported town's 230 grids in each format, as GDAL (the
// GeoPackage, the CSV's WKT) and excelize (the .xlsx) read them; an unknown
// format names the accepted ones.
func TestExportCommand_tables(t *testing.T) {
	url := pgtest.ConnString(t)
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if _, err := db.ImportTown(context.Background(), td, "test", ""); err != nil {
		t.Fatal(err)
	}
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		t.Fatalf("ogrinfo is not installed (Debian: apt-get install gdal-bin): %v", err)
	}
	dir := t.TempDir()
	for _, format := range []string{"gpkg", "csv", "xlsx"} {
		out := filepath.Join(dir, "grids."+format)
		var stdout, stderr bytes.Buffer
		if err := Run(context.Background(), []string{"export", "-database-url", url, "-format", format, "-out", out}, &stdout, &stderr); err != nil {
			t.Fatalf("export -format %s: %v\n%s", format, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "230 grids as "+format) {
			t.Errorf("export -format %s printed %q", format, stdout.String())
		}
		switch format {
		case "xlsx":
			f, err := excelize.OpenFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := f.GetRows("网格")
			f.Close()
			if err != nil || len(rows) != 231 || rows[1][0] != td.Grids[0].Code {
				t.Errorf("xlsx: %d rows (%v), want a header and 230 grids from %s", len(rows), err, td.Grids[0].Code)
			}
		default:
			info, err := exec.Command(ogrinfo, "-ro", "-al", "-so", out).CombinedOutput()
			if err != nil || !strings.Contains(string(info), "Feature Count: 230\n") {
				t.Errorf("ogrinfo %s: %v\n%s", out, err, info)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	err = Run(context.Background(), []string{"export", "-database-url", url, "-format", "dwg", "-out", filepath.Join(dir, "x")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "gpkg, csv or xlsx") {
		t.Errorf("export -format dwg: %v, want the formats listed", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "x")); serr == nil {
		t.Error("export -format dwg wrote a file")
	}
}
