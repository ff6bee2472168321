package geo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wangge/geo"
)

func snapshotAt(t *testing.T, gen int64, loaded time.Time) *geo.Snapshot {
	t.Helper()
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇"},
		Villages: []geo.Village{{Code: "431321101201", Name: "一村", Outline: square(112, 27, 112.01, 27.01)}},
		Grids: []geo.GridRecord{{Grid: geo.Grid{Code: "431321101201001", Name: "网格1", VillageCode: "431321101201",
			Geometry: square(112, 27, 112.01, 27.01)}}}}
	s, err := geo.NewSnapshot(gen, td.Area(), loaded)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRegistry_replaceNeverGoesBack: an older generation, or the same
// generation loaded earlier, cannot replace what is current.
func TestRegistry_replaceNeverGoesBack(t *testing.T) {
	var reg geo.Registry
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	newer := snapshotAt(t, 2, t0.Add(time.Minute))
	for _, c := range []struct {
		name string
		snap *geo.Snapshot
		want bool
	}{
		{"first", snapshotAt(t, 1, t0), true},
		{"newer generation", newer, true},
		{"older generation", snapshotAt(t, 1, t0.Add(time.Hour)), false},
		{"same generation loaded earlier", snapshotAt(t, 2, t0), false},
		{"same generation loaded later", snapshotAt(t, 2, t0.Add(2*time.Minute)), true},
	} {
		if got := reg.Replace(c.snap); got != c.want {
			t.Errorf("%s: replaced %v, want %v", c.name, got, c.want)
		}
	}
	if cur := reg.Load(); cur.Generation != 2 || !cur.LoadedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("current is generation %d loaded %v", cur.Generation, cur.LoadedAt)
	}
}

// TestReloader_staleLoadCannotWin: a slow load that read the database
// before a change cannot put its snapshot back over the one loaded after
// the change, and triggers that arrive during a load are served by one
// more load, not one each.
func TestReloader_staleLoadCannotWin(t *testing.T) {
	var reg geo.Registry
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var committed atomic.Int64 // the generation "in the database"
	committed.Store(1)
	var loads atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	r := geo.NewReloader(&reg, func(ctx context.Context) (*geo.Snapshot, error) {
		n := loads.Add(1)
		gen := committed.Load() // what this load reads
		started <- struct{}{}
		if n == 1 {
			<-release // the first load is slow
		}
		return snapshotAt(t, gen, t0.Add(time.Duration(n)*time.Second)), nil
	})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.Reload(context.Background()) }()
	<-started // the slow load has read generation 1
	committed.Store(2)
	for range 5 { // five triggers while it runs
		wg.Add(1)
		go func() { defer wg.Done(); r.Reload(context.Background()) }()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if cur := reg.Load(); cur.Generation != 2 {
		t.Errorf("current generation %d after the change, want 2", cur.Generation)
	}
	if n := loads.Load(); n < 2 || n > 3 {
		t.Errorf("%d loads for 6 triggers, want 2 (at most 3)", n)
	}

	// A load that finishes with an older snapshot than the current one is
	// refused by the registry.
	if reg.Replace(snapshotAt(t, 1, t0.Add(time.Hour))) {
		t.Error("an older generation replaced the current one")
	}
}
