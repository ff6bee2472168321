package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// TestReadyz_behind: a replica whose snapshot stays older than the
// database's generation for longer than ReadyMaxLag answers /readyz 503
// naming both generations, so that a load balancer sends lookups elsewhere;
// within the lag it stays ready (NOTIFY brings the change in a second), and
// once it loads the new generation it is ready again.
func TestReadyz_behind(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := dispatchTown()
	if _, err := db.ImportTown(ctx, td, "test", "first"); err != nil {
		t.Fatal(err)
	}
	snapshot := func() *geo.Snapshot {
		loaded, gen, err := db.LoadArea(ctx, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		s, err := geo.NewSnapshot(gen, loaded, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var reg geo.Registry
	reg.Store(snapshot())
	const lag = 300 * time.Millisecond
	c := &client{t: t, srv: api.New(&reg, db, api.Config{ReadyMaxLag: lag}, nil), router: openAPIRouter(t)}
	type ready struct {
		Generation         int64  `json:"generation"`
		DatabaseGeneration int64  `json:"database_generation"`
		Database           string `json:"database"`
	}
	var r ready
	if res := c.get("/readyz"); res.StatusCode != 200 {
		t.Fatalf("readyz, up to date: %d %s", res.StatusCode, res.body)
	} else if res.json(t, &r); r.Generation != 1 || r.DatabaseGeneration != 1 || r.Database != "ok" {
		t.Errorf("readyz, up to date: %+v, want generation 1 in both and database ok", r)
	}

	// A redraw this replica does not hear of.
	if _, err := db.ImportTown(ctx, td, "test", "redraw"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if res := c.get("/readyz"); res.StatusCode != 200 {
		t.Errorf("readyz, just behind: %d %s; want 200 until the lag passes", res.StatusCode, res.body)
	} else if res.json(t, &r); r.Generation != 1 || r.DatabaseGeneration != 2 {
		t.Errorf("readyz, just behind: %+v, want snapshot 1 and database 2", r)
	}
	time.Sleep(lag + 100*time.Millisecond - time.Since(start))
	res := c.get("/readyz")
	if res.StatusCode != 503 || !strings.Contains(string(res.body), "behind") ||
		!strings.Contains(string(res.body), "generation 1") || !strings.Contains(string(res.body), "generation 2") {
		t.Errorf("readyz, behind for longer than %v: %d %s; want 503 naming generations 1 and 2", lag, res.StatusCode, res.body)
	}
	// Lookups still answer from the snapshot in memory: only the load
	// balancer is told.
	if res := c.get("/v1/villages"); res.StatusCode != 200 {
		t.Errorf("villages while behind: %d", res.StatusCode)
	}

	reg.Store(snapshot())
	if res := c.get("/readyz"); res.StatusCode != 200 {
		t.Errorf("readyz after loading generation 2: %d %s", res.StatusCode, res.body)
	} else if res.json(t, &r); r.Generation != 2 || r.DatabaseGeneration != 2 {
		t.Errorf("readyz after loading: %+v", r)
	}
}
