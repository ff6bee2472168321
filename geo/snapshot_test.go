package geo_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

func demoSnapshot(tb testing.TB, gen int64) *geo.Snapshot {
	tb.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := geo.NewSnapshot(gen, td.Area(), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestSnapshot_sortedAndLookups(t *testing.T) {
	s := demoSnapshot(t, 1)
	for i := 1; i < len(s.Grids); i++ {
		if s.Grids[i-1].Code >= s.Grids[i].Code {
			t.Fatalf("grids not sorted by code at %d", i)
		}
	}
	g, ok := s.Grid(s.Grids[7].Code)
	if !ok || g != &s.Grids[7] {
		t.Errorf("Grid(%s) = %v, %v", s.Grids[7].Code, g, ok)
	}
	if _, ok := s.Grid("431321101999999"); ok {
		t.Error("found a grid that does not exist")
	}
	v, ok := s.Village(g.VillageCode)
	if !ok {
		t.Fatalf("village %s of grid %s missing", g.VillageCode, g.Code)
	}
	if _, ok := s.VillageDistrict(v); !ok {
		t.Errorf("district %q of village %s missing", v.DistrictCode, v.Code)
	}
	loc, ok := s.Locate(orb.Point{116.4, 39.9}, geo.DefaultToleranceM)
	if ok {
		t.Errorf("Beijing located in %s", loc.Grid.Code)
	}
}

// TestRegistry_swapIsAtomic: readers racing with swaps always see one
// whole generation (the grid count that belongs to it), never a mix.
func TestRegistry_swapIsAtomic(t *testing.T) {
	full := demoSnapshot(t, 1)
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	td.Grids = td.Grids[:100]
	part, err := geo.NewSnapshot(2, td.Area(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{1: len(full.Grids), 2: 100}
	var reg geo.Registry
	reg.Store(full)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(3, 4))
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := reg.Load()
				if len(s.Grids) != want[s.Generation] {
					t.Errorf("generation %d with %d grids", s.Generation, len(s.Grids))
					return
				}
				b := s.Whole().Outline.Bound()
				s.Locate(orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}, 200)
			}
		}()
	}
	for i := range 2000 {
		if i%2 == 0 {
			reg.Store(part)
		} else {
			reg.Store(full)
		}
	}
	close(stop)
	wg.Wait()
}

// BenchmarkLocate_demoTown is the lookup figure of BENCHMARKS.md: random
// points in the demo town's bounding box (some outside, most inside).
func BenchmarkLocate_demoTown(b *testing.B) {
	s := demoSnapshot(b, 1)
	r := rand.New(rand.NewPCG(5, 6))
	bd := s.Whole().Outline.Bound()
	pts := make([]orb.Point, 4096)
	for i := range pts {
		pts[i] = orb.Point{bd.Min[0] + r.Float64()*(bd.Max[0]-bd.Min[0]), bd.Min[1] + r.Float64()*(bd.Max[1]-bd.Min[1])}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.LocateCode(pts[i%len(pts)], 0)
	}
}
