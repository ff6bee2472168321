package geo

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo/gridindex"
)

// DefaultToleranceM is how far outside every grid (in metres on the
// spheroid) a point is still routed to the nearest grid.
const DefaultToleranceM = 200

// Snapshot is an immutable view of one generation of the town: its grids
// with the people and organizations on them, and the lookup index over the
// grids. Readers share it without locks; a change builds a new snapshot and
// swaps it in (see Registry).
type Snapshot struct {
	Generation int64
	// LoadedAt is when the snapshot was built; People and organizations are
	// those in office at that moment.
	LoadedAt time.Time
	Town     Town
	// Villages and Grids are sorted by code. Grids[i] is entry i of the index,
	// so a smaller index is a smaller code: the boundary rule needs no lookup.
	Villages []Village
	Grids    []GridRecord

	index     *gridindex.Index
	gridAt    map[string]int
	villageAt map[string]int
	district  map[string]District
}

// NewSnapshot builds the snapshot of generation gen from td. It sorts td's
// villages and grids by code in place.
func NewSnapshot(gen int64, td *TownData, loadedAt time.Time) (*Snapshot, error) {
	sort.Slice(td.Villages, func(i, j int) bool { return td.Villages[i].Code < td.Villages[j].Code })
	sort.Slice(td.Grids, func(i, j int) bool { return td.Grids[i].Code < td.Grids[j].Code })
	s := &Snapshot{Generation: gen, LoadedAt: loadedAt, Town: td.Town, Villages: td.Villages, Grids: td.Grids,
		gridAt: make(map[string]int, len(td.Grids)), villageAt: make(map[string]int, len(td.Villages)),
		district: map[string]District{}}
	polys := make([]orb.MultiPolygon, len(td.Grids))
	for i, g := range td.Grids {
		polys[i] = g.Geometry
		s.gridAt[g.Code] = i
	}
	for i, v := range td.Villages {
		s.villageAt[v.Code] = i
	}
	for _, d := range td.Town.Districts {
		s.district[d.Code] = d
	}
	ix, err := gridindex.New(polys)
	if err != nil {
		return nil, fmt.Errorf("building the lookup index of generation %d: %w", gen, err)
	}
	s.index = ix
	return s, nil
}

// Index returns the lookup index; entry i is Grids[i].
func (s *Snapshot) Index() *gridindex.Index { return s.index }

// Grid returns the grid with the given code.
func (s *Snapshot) Grid(code string) (*GridRecord, bool) {
	i, ok := s.gridAt[code]
	if !ok {
		return nil, false
	}
	return &s.Grids[i], true
}

// Village returns the village with the given code.
func (s *Snapshot) Village(code string) (*Village, bool) {
	i, ok := s.villageAt[code]
	if !ok {
		return nil, false
	}
	return &s.Villages[i], true
}

// District returns the liaison district with the given code.
func (s *Snapshot) District(code string) (District, bool) {
	d, ok := s.district[code]
	return d, ok
}

// Location is where a point is routed.
type Location struct {
	Point orb.Point
	// Match is "inside", "boundary" (on the border of several grids: the
	// smallest code wins, the others are in Also) or "nearest" (outside every
	// grid but within the tolerance; DistanceM says how far).
	Match     gridindex.Match
	DistanceM float64
	Grid      *GridRecord
	// Entry is the position of Grid in Snapshot.Grids.
	Entry int
	Also  []string
}

// Locate routes p (lon/lat, WGS-84) to a grid by the rules in README.md. It
// returns false when p is farther than toleranceM metres from every grid.
func (s *Snapshot) Locate(p orb.Point, toleranceM float64) (Location, bool) {
	r, ok := s.index.Locate(p, toleranceM)
	if !ok {
		return Location{Point: p}, false
	}
	loc := Location{Point: p, Match: r.Match, DistanceM: r.DistanceM, Grid: &s.Grids[r.ID], Entry: int(r.ID)}
	for _, id := range r.Also {
		loc.Also = append(loc.Also, s.Grids[id].Code)
	}
	return loc, true
}

// LocateCode is Locate for batch work: it returns only the index entry (the
// position in Grids), the match and the distance, and allocates nothing for
// points inside a grid.
func (s *Snapshot) LocateCode(p orb.Point, toleranceM float64) (gridindex.Result, bool) {
	return s.index.Locate(p, toleranceM)
}

// Registry holds the current snapshot. Load is wait-free; Replace swaps a
// newer snapshot in atomically, so a reader sees the old generation or the
// new one, never a mix, and never an older one after a newer.
type Registry struct {
	cur atomic.Pointer[Snapshot]
}

// Load returns the current snapshot, or nil before the first one.
func (r *Registry) Load() *Snapshot { return r.cur.Load() }

// Store makes s current unconditionally. Servers use Replace (through a
// Reloader); Store is for tools and benchmarks that swap snapshots on
// purpose.
func (r *Registry) Store(s *Snapshot) { r.cur.Store(s) }

// Replace makes s current unless the current snapshot is newer: of a later
// generation, or of the same generation loaded later (with people and
// organizations read after s's). It reports whether s was taken.
func (r *Registry) Replace(s *Snapshot) bool {
	for {
		cur := r.cur.Load()
		if cur != nil && (s.Generation < cur.Generation || s.Generation == cur.Generation && s.LoadedAt.Before(cur.LoadedAt)) {
			return false
		}
		if r.cur.CompareAndSwap(cur, s) {
			return true
		}
	}
}

// Reloader is the one way a server rebuilds its snapshot, whatever asks
// for it (start-up, a write on this replica, a NOTIFY from another, the
// periodic reload): loads run one at a time, a request that arrives while
// a load runs is served by the next load rather than by a second one in
// parallel, and a snapshot only ever replaces an older one.
type Reloader struct {
	reg  *Registry
	load func(ctx context.Context) (*Snapshot, error)

	asked atomic.Uint64 // tickets handed to callers of Reload
	mu    sync.Mutex
	done  uint64 // every ticket up to done is served by a finished load
}

// NewReloader returns a reloader that builds snapshots with load and keeps
// them in reg.
func NewReloader(reg *Registry, load func(ctx context.Context) (*Snapshot, error)) *Reloader {
	return &Reloader{reg: reg, load: load}
}

// Reload rebuilds the snapshot from what is committed now, unless a load
// that started after this call was made has already done so. A failed
// load leaves the current snapshot in place and returns its error.
func (r *Reloader) Reload(ctx context.Context) error {
	ticket := r.asked.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done >= ticket {
		return nil
	}
	covers := r.asked.Load()
	snap, err := r.load(ctx)
	if err != nil {
		return err
	}
	r.reg.Replace(snap)
	r.done = covers
	return nil
}

// Version names the snapshot's content for ETags: the generation and the
// moment it was loaded, since a reload within a generation (a new leader,
// an attachment) changes what responses show.
func (s *Snapshot) Version() string {
	return fmt.Sprintf("%d.%x", s.Generation, s.LoadedAt.UnixNano())
}
