package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/fixtures"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// TestRun_bare: a bare `wangge` prints the usage and exits 2 instead of
// starting a server on every interface with the system data folder.
func TestRun_bare(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), nil, &out, &errb)
	var exit exitError
	if !errors.As(err, &exit) || exit != 2 {
		t.Fatalf("bare wangge: got %v, want exit status 2", err)
	}
	if !strings.Contains(errb.String(), "usage: wangge") || !strings.Contains(errb.String(), "wangge serve") {
		t.Errorf("bare wangge printed on stderr:\n%s", errb.String())
	}
}

// TestLocateCommand_flagsAfterPoint: the README's form, flags after LON LAT,
// and negative coordinates, which are not flags.
func TestLocateCommand_flagsAfterPoint(t *testing.T) {
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
	lon, lat, code := demoPoint(t)
	var out, errb bytes.Buffer
	args := []string{"locate", fmt.Sprint(lon), fmt.Sprint(lat), "-crs", "wgs84", "--database-url", url}
	if err := Run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("wangge %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	if !strings.Contains(out.String(), code) {
		t.Errorf("locate printed:\n%s", out.String())
	}
	out.Reset()
	err = Run(context.Background(), []string{"locate", "-73.9", "-40.5", "-database-url", url}, &out, &errb)
	var exit exitError
	if !errors.As(err, &exit) || exit != 2 || !strings.Contains(out.String(), "(-73.9, -40.5) is outside coverage") {
		t.Errorf("locate -73.9 -40.5: %v, %s", err, out.String())
	}
}

// TestTokenRevoke_flagsAfterName: `wangge token revoke NAME --database-url
// U`, the README's order.
func TestTokenRevoke_flagsAfterName(t *testing.T) {
	url := pgtest.ConnString(t)
	var out, errb bytes.Buffer
	run := func(args ...string) {
		t.Helper()
		if err := Run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("wangge %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
	}
	run("token", "create", "--role", "viewer", "--name", "desk", "--database-url", url)
	run("token", "revoke", "desk", "--database-url", url)
	if !strings.Contains(out.String(), `token "desk" revoked`) {
		t.Errorf("token revoke printed:\n%s", out.String())
	}
}

// TestImport_GB18030: the demo town re-encoded in GB18030 (what Notepad
// saves as "ANSI" on Chinese Windows) imports with its names intact: an
// export afterwards is byte for byte the UTF-8 fixture, and no grid got a
// new version.
func TestImport_GB18030(t *testing.T) {
	url := pgtest.ConnString(t)
	dir := t.TempDir()
	for _, name := range []string{townfile.TownFile, townfile.VillagesFile, townfile.GridsFile} {
		b, err := fixtures.Heye.ReadFile(fixtures.HeyeDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes(b)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(gb, b) {
			t.Fatalf("%s has no Chinese text to re-encode", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), gb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"import", "-database-url", url, dir}, &out, &errb); err != nil {
		t.Fatalf("import of the GB18030 town: %v\n%s", err, errb.String())
	}
	exported := t.TempDir()
	if err := Run(context.Background(), []string{"export", "-database-url", url, "-out", exported}, &out, &errb); err != nil {
		t.Fatalf("export: %v\n%s", err, errb.String())
	}
	for _, name := range []string{townfile.TownFile, townfile.VillagesFile, townfile.GridsFile} {
		got, _ := os.ReadFile(filepath.Join(exported, name))
		want, _ := fixtures.Heye.ReadFile(fixtures.HeyeDir + "/" + name)
		if bytes.ContainsRune(got, '\uFFFD') {
			t.Errorf("%s: exported with U+FFFD in place of Chinese text", name)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s: the export differs from the UTF-8 fixture", name)
		}
	}
}
