package geo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo/gridindex"
)

// DefaultToleranceM is how far outside every grid (in metres on the
// spheroid) a point is still routed to the nearest grid.
const DefaultToleranceM = 200

// Snapshot is an immutable view of one generation of the deployment: its
// towns, their grids with the people and organizations on them, and one
// lookup index over the grids of every town. Readers share it without
// locks; a change builds a new snapshot and swaps it in (see Registry).
type Snapshot struct {
	Generation int64
	// LoadedAt is when the snapshot was built; People and organizations are
	// those in office at that moment.
	LoadedAt time.Time
	// Towns are sorted by code; a one-town deployment has one.
	Towns []Town
	// Villages and Grids are sorted by code. Grids[i] is entry i of the index,
	// so a smaller index is a smaller code: the boundary rule needs no lookup.
	Villages []Village
	Grids    []GridRecord

	index     *gridindex.Index
	gridAt    map[string]int
	villageAt map[string]int
	townAt    map[string]int
	townBound []orb.Bound         // townBound[i] is Towns[i]'s outline's
	district  map[string]District // by town code + district code
	whole     Town
}

// NewSnapshot builds the snapshot of generation gen from td. It sorts td's
// towns, villages and grids by code in place.
func NewSnapshot(gen int64, td *Area, loadedAt time.Time) (*Snapshot, error) {
	sort.Slice(td.Towns, func(i, j int) bool { return td.Towns[i].Code < td.Towns[j].Code })
	sort.Slice(td.Villages, func(i, j int) bool { return td.Villages[i].Code < td.Villages[j].Code })
	sort.Slice(td.Grids, func(i, j int) bool { return td.Grids[i].Code < td.Grids[j].Code })
	s := &Snapshot{Generation: gen, LoadedAt: loadedAt, Towns: td.Towns, Villages: td.Villages, Grids: td.Grids,
		gridAt: make(map[string]int, len(td.Grids)), villageAt: make(map[string]int, len(td.Villages)),
		townAt: make(map[string]int, len(td.Towns)), district: map[string]District{}}
	polys := make([]orb.MultiPolygon, len(td.Grids))
	for i, g := range td.Grids {
		polys[i] = g.Geometry
		s.gridAt[g.Code] = i
	}
	for i, v := range td.Villages {
		s.villageAt[v.Code] = i
	}
	s.townBound = make([]orb.Bound, len(td.Towns))
	for i, t := range td.Towns {
		s.townAt[t.Code] = i
		s.townBound[i] = t.Outline.Bound()
		for _, d := range t.Districts {
			s.district[t.Code+d.Code] = d
		}
	}
	s.whole = wholeTown(td.Towns)
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

// VillageDistrict returns the liaison district of village v. District
// codes are numbered within a town.
func (s *Snapshot) VillageDistrict(v *Village) (District, bool) {
	d, ok := s.district[TownCodeOf(v.Code)+v.DistrictCode]
	return d, ok
}

// TownOf returns the town of a town, village or grid code (its first nine
// digits).
func (s *Snapshot) TownOf(code string) (*Town, bool) {
	i, ok := s.townAt[TownCodeOf(code)]
	if !ok {
		return nil, false
	}
	return &s.Towns[i], true
}

// TownAt returns the town whose outline covers p or, outside every town,
// the one whose outline is nearest (in degrees, as PostGIS's <-> orders
// them for the incidents' town); false when there is no town.
func (s *Snapshot) TownAt(p orb.Point) (*Town, bool) {
	best, bestD := -1, math.Inf(1)
	for i := range s.Towns {
		// The distance to a town's box bounds the distance to its
		// outline from below: a county's far towns cost one comparison.
		if boundDistance(s.townBound[i], p) > bestD {
			continue
		}
		d := outlineDistance(s.Towns[i].Outline, p)
		if d < bestD || d == bestD && best >= 0 && s.Towns[i].Code < s.Towns[best].Code {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return nil, false
	}
	return &s.Towns[best], true
}

// Whole is what the snapshot covers, as one Town for the titles of maps,
// feeds and files: the town itself in a one-town deployment; for several,
// the county (or city, or province) they share, by name and code, with
// every town's outline, and neither districts nor a duty desk.
func (s *Snapshot) Whole() *Town { return &s.whole }

// TownData returns the data of town code as a town file holds it, or
// with code "" the whole deployment as one layer (Area.TownData).
func (s *Snapshot) TownData(code string) (*TownData, bool) {
	return (&Area{Towns: s.Towns, Villages: s.Villages, Grids: s.Grids}).TownData(code)
}

// wholeTown is Whole of towns: see there.
func wholeTown(towns []Town) Town {
	switch len(towns) {
	case 0:
		return Town{}
	case 1:
		return towns[0]
	}
	w := Town{Code: towns[0].Code, County: towns[0].County, Province: towns[0].Province}
	var notes []string
	for _, t := range towns {
		for !strings.HasPrefix(t.Code, w.Code) {
			w.Code = w.Code[:len(w.Code)-1]
		}
		if t.County != w.County {
			w.County = ""
		}
		if t.Province != w.Province {
			w.Province = ""
		}
		if t.Note != "" && !slices.Contains(notes, t.Note) {
			notes = append(notes, t.Note)
		}
		w.Outline = append(w.Outline, t.Outline...)
	}
	// A division code is 2 (province), 4 (city) or 6 (county) digits.
	switch {
	case len(w.Code) >= 6:
		w.Code = w.Code[:6]
	case len(w.Code) >= 4:
		w.Code = w.Code[:4]
	case len(w.Code) >= 2:
		w.Code = w.Code[:2]
	default:
		w.Code = ""
	}
	w.Name = fmt.Sprintf("%d towns", len(towns))
	switch {
	case w.County != "":
		w.Name = fmt.Sprintf("%s (%d towns)", w.County, len(towns))
	case w.Province != "":
		w.Name = fmt.Sprintf("%s (%d towns)", w.Province, len(towns))
	}
	w.Note = strings.Join(notes, " ")
	return w
}

// boundDistance is the planar distance in degrees from p to b: 0 inside.
func boundDistance(b orb.Bound, p orb.Point) float64 {
	dx := max(b.Min[0]-p[0], 0, p[0]-b.Max[0])
	dy := max(b.Min[1]-p[1], 0, p[1]-b.Max[1])
	return math.Hypot(dx, dy)
}

// outlineDistance is the planar distance in degrees from p to m: 0 inside.
func outlineDistance(m orb.MultiPolygon, p orb.Point) float64 {
	if planar.MultiPolygonContains(m, p) {
		return 0
	}
	best := math.Inf(1)
	for _, poly := range m {
		for _, ring := range poly {
			best = min(best, planar.DistanceFrom(orb.LineString(ring), p))
		}
	}
	return best
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
	loads atomic.Uint64
}

// Loads is how many snapshots the reloader has built.
func (r *Reloader) Loads() uint64 { return r.loads.Load() }

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
	r.loads.Add(1)
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
