package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/fixtures"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// TestImport_reportsEveryProblemAtOnce: a town with an invalid grid, an
// overlap and a gap is refused with one report naming all three, with
// progress lines before it, and nothing is written.
//
// Grid 0 becomes a bow tie (its ring crosses itself); grid 3 takes grid
// 4's geometry, so the two overlap and grid 3's own place is a gap.
func TestImport_reportsEveryProblemAtOnce(t *testing.T) {
	url := pgtest.ConnString(t)
	dir := t.TempDir()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	b := td.Grids[0].Geometry.Bound()
	td.Grids[0].Geometry = orb.MultiPolygon{{{b.Min, b.Max, {b.Max[0], b.Min[1]}, {b.Min[0], b.Max[1]}, b.Min}}}
	td.Grids[3].Geometry = td.Grids[4].Geometry
	if err := townfile.WriteDir(dir, td); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err = Run(context.Background(), []string{"import", "-database-url", url, dir}, &out, &errb)
	report := errb.String()
	if err == nil {
		t.Fatalf("import of a broken town succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"read ", "checking the coverage", // progress
		td.Grids[0].Code + ": invalid geometry",                  // the bow tie
		td.Grids[3].Code + " and " + td.Grids[4].Code, "overlap", // the copy
		"a gap of", // where grid 3 was
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if strings.Count(report, "wangge: the town is not a valid coverage") != 1 {
		t.Errorf("want one report:\n%s", report)
	}
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if gen, _ := db.CurrentGeneration(context.Background()); gen != 0 {
		t.Errorf("generation %d after a refused import, want 0", gen)
	}
}
