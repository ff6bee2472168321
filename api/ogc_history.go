package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file answers datetime on the grids collection from the grid
// history: an instant before the current generation took effect is
// answered from the generation in force then (with the people in office
// then), as GET /v1/grids?at= is.

// ogcLayerFor returns the layer an items request on col reads and the
// version its ETag names: the current snapshot's, or for grids and a
// datetime reaching before the current generation, the history's. An
// instant is answered from the generation in force then; an interval
// from every generation in force during it (ogcGridsAcross).
func (s *Server) ogcLayerFor(c *gin.Context, col *ogcCollection, q ogcQuery) (*ogcLayer, string, error) {
	cur := s.registry.Load()
	l := s.renderingFor(cur).ogcLayer(col)
	tr := q.datetime
	if tr == nil || !col.temporal || l.since.IsZero() || !tr.start.IsZero() && !tr.start.Before(l.since) {
		return l, cur.Version(), nil
	}
	if s.cfg.History == nil {
		return nil, "", problemf(TypeUnavailable, http.StatusServiceUnavailable,
			"history is not available on this server: datetime before %s needs it", l.since.UTC().Format(time.RFC3339))
	}
	if tr.instant() {
		snap, r, err := s.pastSnapshotAt(c, tr.start)
		if err != nil {
			return nil, "", err
		}
		return r.ogcLayer(col), snap.Version(), nil
	}
	l, err := s.ogcGridsAcross(c, col, *tr)
	// Past generations do not change; any change to the current one
	// (even back-dated) changes its version.
	return l, "h" + cur.Version(), err
}

// ogcGridsAcross returns the grid versions valid at some moment of tr,
// from the snapshots of every generation in force during it, each version
// once, ordered by code and then by time. A code with one version in the
// answer keeps the code as its id; when a redraw in tr changed it, its
// newest version keeps the code and the older ones are
// <code>@<generation that introduced them>, as in
// /v1/grids/{code}/history.
func (s *Server) ogcGridsAcross(c *gin.Context, col *ogcCollection, tr ogcTimeRange) (*ogcLayer, error) {
	cur := s.registry.Load()
	gens, err := s.cfg.History.Generations(c.Request.Context()) // newest first
	if err != nil {
		return nil, err
	}
	type version struct {
		it  ogcItem
		gen int64
	}
	seen := map[string]map[int64]bool{}
	var versions []version
	for i, g := range gens {
		var end time.Time // when the next generation took over; zero for the current one
		if i > 0 {
			end = gens[i-1].CreatedAt
		}
		if !tr.end.IsZero() && g.CreatedAt.After(tr.end) || !tr.start.IsZero() && !end.IsZero() && !end.After(tr.start) {
			continue
		}
		snap, r := cur, s.renderingFor(cur)
		if g.ID != cur.Generation {
			at := g.CreatedAt
			if tr.start.After(at) {
				at = tr.start
			}
			if snap, r, err = s.pastSnapshotAt(c, at); err != nil {
				return nil, err
			}
		}
		l := r.ogcLayer(col)
		for k := range l.items { // in the order of snap.Grids (ogcGridLayer)
			grid := &snap.Grids[k]
			if seen[grid.Code] == nil {
				seen[grid.Code] = map[int64]bool{}
			}
			if !seen[grid.Code][grid.Generation] {
				seen[grid.Code][grid.Generation] = true
				versions = append(versions, version{l.items[k], grid.Generation})
			}
		}
	}
	slices.SortFunc(versions, func(a, b version) int {
		return cmp.Or(cmp.Compare(a.it.id, b.it.id), a.it.validFrom.Compare(b.it.validFrom))
	})
	out := &ogcLayer{at: make(map[string]int, len(versions))}
	for k, v := range versions {
		it := v.it
		if k+1 < len(versions) && versions[k+1].it.id == it.id { // an older version of a redrawn grid
			it.id = fmt.Sprintf("%s@%d", it.id, v.gen)
			it.feature = ogcFeature(it.id, it.geom, it.props, crsCRS84)
		}
		out.add(it)
	}
	return out, nil
}

// pastSnapshotAt returns the snapshot of the generation in force at t
// (snapshotAt, through the cache GET /v1/grids?at= fills). Before the
// first generation there were no grids: an empty snapshot.
func (s *Server) pastSnapshotAt(c *gin.Context, t time.Time) (*geo.Snapshot, *rendering, error) {
	snap, r, err := s.snapshotAt(c.Request.Context(), t)
	if geo.ErrorCode(err) != geo.ENOTFOUND {
		return snap, r, err
	}
	empty, err := geo.NewSnapshot(0, &geo.Area{Towns: s.registry.Load().Towns}, t)
	if err != nil {
		return nil, nil, err
	}
	return empty, newRendering(empty), nil
}
