package api

import (
	"container/list"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// pastCacheSize bounds the historical snapshots kept in memory: at= queries
// cluster on a few moments (a dispute about last month's boundary).
const pastCacheSize = 8

// pastSnapshots caches snapshots of past generations with their renderings,
// least recently used first out.
type pastSnapshots struct {
	mu    sync.Mutex
	order *list.List // of *pastEntry, most recent at the front
	byKey map[pastKey]*list.Element
}

type pastKey struct {
	gen int64
	at  time.Time // people in office at this moment
	// current is the current snapshot's version when the entry was made:
	// any change (even back-dated) reloads the current snapshot, which
	// retires every entry made before it.
	current string
}

type pastEntry struct {
	key  pastKey
	snap *geo.Snapshot
	r    *rendering
}

// queryAt reads the optional at= parameter: RFC 3339, or a bare date
// meaning midnight China time, as everywhere else.
func queryAt(c *gin.Context) (time.Time, bool, error) {
	raw, ok := c.GetQuery("at")
	if !ok {
		return time.Time{}, false, nil
	}
	// A "+" of a time zone offset arrives as a space when the caller did
	// not escape it (…T08:00:00+08:00 typed into a browser).
	t, ok := geo.ParseTime(strings.Replace(raw, " ", "+", 1))
	if !ok {
		return time.Time{}, false, badParam("at", "got %q, want an RFC 3339 time such as 2026-06-01T08:00:00+08:00, or a date (YYYY-MM-DD, midnight China time)", truncate(raw))
	}
	return t, true, nil
}

// snapshotFor returns the snapshot to answer from and its rendering: the
// current one, or with at= the generation in force then (from the
// database: 503 while it is down), with the people in office then.
func (s *Server) snapshotFor(c *gin.Context) (*geo.Snapshot, *rendering, error) {
	cur := s.registry.Load()
	at, ok, err := queryAt(c)
	if err != nil || !ok {
		return cur, s.renderingFor(cur), err
	}
	if s.cfg.History == nil {
		return nil, nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "history is not available on this server")
	}
	return s.snapshotAt(c.Request.Context(), at)
}

// snapshotAt returns the snapshot of the generation in force at t, with
// the people in office then, from a cache keyed by the generation, the
// instant and the current snapshot (a reload invalidates it). A t before
// the first generation is ENOTFOUND.
func (s *Server) snapshotAt(ctx context.Context, at time.Time) (*geo.Snapshot, *rendering, error) {
	cur := s.registry.Load()
	gen, err := s.cfg.History.GenerationAt(ctx, at)
	if err != nil {
		return nil, nil, err
	}
	key := pastKey{gen: gen, at: at.UTC(), current: cur.Version()}
	if e := s.past.get(key); e != nil {
		return e.snap, e.r, nil
	}
	td, _, err := s.cfg.History.LoadArea(ctx, gen, key.at)
	if err != nil {
		return nil, nil, err
	}
	snap, err := geo.NewSnapshot(gen, td, key.at)
	if err != nil {
		return nil, nil, err
	}
	e := &pastEntry{key: key, snap: snap, r: newRendering(snap)}
	s.past.put(e)
	return e.snap, e.r, nil
}

// generationSnapshot returns the snapshot of generation gen, with the
// people in office when it ended (or now, for the current one); ENOTFOUND
// for a generation that never was.
func (s *Server) generationSnapshot(ctx context.Context, gen int64) (*geo.Snapshot, error) {
	cur := s.registry.Load()
	if gen == cur.Generation {
		return cur, nil
	}
	if gen > cur.Generation {
		return nil, geo.Errorf(geo.ENOTFOUND, "there is no generation %d yet (the current one is %d)", gen, cur.Generation)
	}
	if s.cfg.History == nil {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "history is not available on this server")
	}
	gens, err := s.cfg.History.Generations(ctx)
	if err != nil {
		return nil, err
	}
	at := time.Time{}
	for i, g := range gens { // newest first: gens[i-1] followed g
		if g.ID == gen && i > 0 {
			at = gens[i-1].CreatedAt.Add(-time.Microsecond)
		}
	}
	if at.IsZero() {
		return nil, geo.Errorf(geo.ENOTFOUND, "there is no past generation %d (the current one is %d)", gen, cur.Generation)
	}
	key := pastKey{gen: gen, at: at.UTC(), current: cur.Version()}
	if e := s.past.get(key); e != nil {
		return e.snap, nil
	}
	td, _, err := s.cfg.History.LoadArea(ctx, gen, at)
	if err != nil {
		return nil, err
	}
	snap, err := geo.NewSnapshot(gen, td, at)
	if err != nil {
		return nil, err
	}
	s.past.put(&pastEntry{key: key, snap: snap, r: newRendering(snap)})
	return snap, nil
}

func (p *pastSnapshots) get(k pastKey) *pastEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byKey == nil {
		return nil
	}
	if el, ok := p.byKey[k]; ok {
		p.order.MoveToFront(el)
		return el.Value.(*pastEntry)
	}
	return nil
}

func (p *pastSnapshots) put(e *pastEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byKey == nil {
		p.byKey, p.order = map[pastKey]*list.Element{}, list.New()
	}
	if _, ok := p.byKey[e.key]; ok {
		return
	}
	p.byKey[e.key] = p.order.PushFront(e)
	for p.order.Len() > pastCacheSize {
		last := p.order.Back()
		p.order.Remove(last)
		delete(p.byKey, last.Value.(*pastEntry).key)
	}
}

// listGenerations answers GET /v1/generations: every version of the grid
// layer, newest first.
func (s *Server) listGenerations(c *gin.Context) error {
	if s.cfg.History == nil {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "history is not available on this server")
	}
	gens, err := s.cfg.History.Generations(c.Request.Context())
	if err != nil {
		return err
	}
	type genJSON struct {
		Generation int64     `json:"generation"`
		CreatedAt  time.Time `json:"created_at"`
		CreatedBy  string    `json:"created_by"`
		Note       string    `json:"note"`
		Town       string    `json:"town"`
		Grids      int       `json:"grids"`
		Introduced int       `json:"introduced"`
		Retired    int       `json:"retired"`
		Current    bool      `json:"current"`
	}
	cur := s.registry.Load().Generation
	out := make([]genJSON, len(gens))
	for i, g := range gens {
		out[i] = genJSON{g.ID, g.CreatedAt, g.CreatedBy, g.Note, g.TownCode, g.Grids, g.Introduced, g.Retired, g.ID == cur}
	}
	c.JSON(http.StatusOK, gin.H{"generations": out})
	return nil
}

// gridHistory answers GET /v1/grids/{code}/history: every version of a
// grid as a GeoJSON FeatureCollection, oldest first, with the generations
// and times each was in force.
func (s *Server) gridHistory(c *gin.Context) error {
	code := c.Param("code")
	if err := geo.ValidateGridCode(code, ""); err != nil {
		return badParam("code", "got %q, want a 15-digit grid code", truncate(code))
	}
	if s.cfg.History == nil {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "history is not available on this server")
	}
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	prec, err := queryPrecision(c)
	if err != nil {
		return err
	}
	versions, err := s.cfg.History.GridHistory(c.Request.Context(), code)
	if err != nil {
		return err
	}
	type versionProps struct {
		Code              string     `json:"code"`
		Name              string     `json:"name"`
		VillageCode       string     `json:"village_code"`
		Households        int        `json:"households"`
		Population        int        `json:"population"`
		Generation        int64      `json:"generation"`
		RetiredGeneration *int64     `json:"retired_generation"`
		ValidFrom         time.Time  `json:"valid_from"`
		ValidTo           *time.Time `json:"valid_to"`
	}
	b := []byte(`{"type":"FeatureCollection","features":[`)
	for i, v := range versions {
		if i > 0 {
			b = append(b, ',')
		}
		p := versionProps{Code: v.Code, Name: v.Name, VillageCode: v.VillageCode, Households: v.Households,
			Population: v.Population, Generation: v.Generation, ValidFrom: v.ValidFrom, ValidTo: timePtr(v.ValidTo)}
		if v.RetiredGeneration != 0 {
			p.RetiredGeneration = &v.RetiredGeneration
		}
		g := geo.GridRecord{Grid: v.Grid}
		g.Code = v.Code + "@" + strconv.FormatInt(v.Generation, 10)
		b = appendFeature(b, &g, p, renderKey{crs: crs, precision: prec})
	}
	b = append(b, "]}"...)
	c.Data(http.StatusOK, GeoJSONContentType, b)
	return nil
}
