package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// TestHistory_locateAt: a point that moved grids in a redraw is located in
// the old grid with at= before the redraw, and in the new one after it.
func TestHistory_locateAt(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return t1 }
	td := dispatchTown()
	if _, err := db.ImportTown(ctx, td, "test", "first"); err != nil {
		t.Fatal(err)
	}
	// The redraw moves the border between grids 001 and 002 east by 0.002°.
	//
	//	before: |  001  |  002  |      after: |  001   | 002  |
	//	      112.00  112.01  112.02        112.00  112.012 112.02
	db.Now = func() time.Time { return t2 }
	td.Grids[0].Geometry = square(112, 27, 112.012, 27.01)
	td.Grids[1].Geometry = square(112.012, 27, 112.02, 27.01)
	if _, err := db.ImportTown(ctx, td, "test", "redraw"); err != nil {
		t.Fatal(err)
	}
	loaded, gen, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := geo.NewSnapshot(gen, loaded, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var reg geo.Registry
	reg.Store(snap)
	c := &client{t: t, srv: api.New(&reg, db, api.Config{History: db}, nil), router: openAPIRouter(t)}
	p := orb.Point{112.011, 27.005}
	tests := []struct {
		at, want string
		gen      int64
	}{
		{"", "431321101201001", 2},
		{t1.Add(time.Hour).Format(time.RFC3339), "431321101201002", 1},
		{t2.Add(-time.Second).Format(time.RFC3339), "431321101201002", 1},
		{t2.Format(time.RFC3339), "431321101201001", 2},
		{"2026-12-01T08:00:00+08:00", "431321101201001", 2},
	}
	for _, tt := range tests {
		target := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1])
		if tt.at != "" {
			target += "&at=" + tt.at
		}
		var got location
		c.get(target).json(t, &got)
		if got.Grid.Code != tt.want || got.Generation != tt.gen {
			t.Errorf("at %q: %s in generation %d, want %s in %d", tt.at, got.Grid.Code, got.Generation, tt.want, tt.gen)
		}
	}
	if res := c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v&at=2020-01-01T00:00:00Z", p[0], p[1])); res.StatusCode != 404 {
		t.Errorf("before the first generation: %d", res.StatusCode)
	}
	if res := c.get("/v1/locate?lon=112&lat=27&at=yesterday"); res.StatusCode != 400 {
		t.Errorf("bad at: %d", res.StatusCode)
	}

	var fc featureCollection
	c.get("/v1/grids?at="+t1.Add(time.Hour).Format(time.RFC3339)).json(t, &fc)
	if fc.Generation != 1 || len(fc.Features) != 6 {
		t.Errorf("grids at t1: generation %d, %d features", fc.Generation, len(fc.Features))
	}

	var gens struct {
		Generations []struct {
			Generation        int64
			Note              string
			Grids, Introduced int
			Current           bool
		}
	}
	c.get("/v1/generations").json(t, &gens)
	if len(gens.Generations) != 2 || !gens.Generations[0].Current || gens.Generations[0].Introduced != 2 || gens.Generations[1].Grids != 6 {
		t.Errorf("generations: %+v", gens.Generations)
	}
	var hist struct {
		Features []struct {
			Properties struct {
				Generation        int64
				RetiredGeneration *int64     `json:"retired_generation"`
				ValidTo           *time.Time `json:"valid_to"`
			}
		}
	}
	c.get("/v1/grids/431321101201001/history").json(t, &hist)
	if len(hist.Features) != 2 || hist.Features[0].Properties.ValidTo == nil || !hist.Features[0].Properties.ValidTo.Equal(t2) ||
		hist.Features[1].Properties.RetiredGeneration != nil {
		t.Errorf("history: %+v", hist.Features)
	}
	if res := c.get("/v1/grids/431321101201009/history"); res.StatusCode != 404 {
		t.Errorf("history of an unknown grid: %d", res.StatusCode)
	}
	_ = httptest.NewRecorder
}

// TestHistory_exportPastGeneration: a past generation exports with its own
// boundaries.
func TestHistory_exportPastGeneration(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := dispatchTown()
	if _, err := db.ImportTown(ctx, td, "test", "first"); err != nil {
		t.Fatal(err)
	}
	td.Grids[0].Geometry = square(112, 27, 112.012, 27.01)
	td.Grids[1].Geometry = square(112.012, 27, 112.02, 27.01)
	if _, err := db.ImportTown(ctx, td, "test", "redraw"); err != nil {
		t.Fatal(err)
	}
	loaded, gen, _ := db.LoadArea(ctx, 0, time.Now())
	snap, _ := geo.NewSnapshot(gen, loaded, time.Now())
	var reg geo.Registry
	reg.Store(snap)
	c := &client{t: t, srv: api.New(&reg, db, api.Config{History: db}, nil), router: openAPIRouter(t)}
	var past, now featureCollection
	c.get("/v1/generations/1/export?format=geojson").json(t, &past)
	c.get("/v1/generations/2/export?format=geojson").json(t, &now)
	if len(past.Features) != 6 || len(now.Features) != 6 {
		t.Fatalf("%d and %d features", len(past.Features), len(now.Features))
	}
	if res := c.get("/v1/generations/3/export"); res.StatusCode != 404 {
		t.Errorf("generation 3: %d", res.StatusCode)
	}
	a := string(c.get("/v1/generations/1/export?format=geojson").body)
	b := string(c.get("/v1/generations/2/export?format=geojson").body)
	if a == b || !strings.Contains(a, "112.01,") || !strings.Contains(b, "112.012,") {
		t.Errorf("past and current exports do not show their own borders")
	}
}
