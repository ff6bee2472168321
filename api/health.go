package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultReadyMaxLag is how long a replica may hold an older generation
// than the database before /readyz sends load balancers elsewhere. A
// replica learns of a new generation by NOTIFY within a second; one that
// is still behind after this has missed it (a broken listener) and would
// route complaints with superseded grids until its periodic reload.
const DefaultReadyMaxLag = 10 * time.Second

// healthz says the process is alive.
func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

// generationReader is the store's side of readiness: the generation the
// database holds now.
type generationReader interface {
	CurrentGeneration(ctx context.Context) (int64, error)
}

// readyz is 200 once a snapshot of the grids is loaded: lookups need nothing
// else. The database's state is reported but does not make the server
// unready, because lookups keep working from memory while it is down. It is
// 503 when the database has held a newer generation than the snapshot for
// longer than ReadyMaxLag: this replica missed a change, and a load
// balancer should send lookups to one that did not.
func (s *Server) readyz(c *gin.Context) error {
	snap := s.registry.Load()
	if snap == nil {
		return problemf(TypeNotReady, http.StatusServiceUnavailable, "the grids are not loaded yet")
	}
	body := gin.H{"status": "ready", "generation": snap.Generation, "grids": len(snap.Grids),
		"loaded_at": snap.LoadedAt.UTC().Format(time.RFC3339), "database": "absent"}
	if s.db != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		body["database"] = "ok"
		if gr, ok := s.db.(generationReader); ok {
			gen, err := gr.CurrentGeneration(ctx)
			if err != nil {
				body["database"] = "unavailable"
			} else {
				body["database_generation"] = gen
				behind := s.lag.observe(snap.Generation, gen, time.Now())
				if behind > s.cfg.ReadyMaxLag {
					return problemf(TypeNotReady, http.StatusServiceUnavailable,
						"behind: the snapshot holds generation %d but the database has held generation %d for %s (more than %s); this replica missed the change and has not reloaded",
						snap.Generation, gen, behind.Round(time.Millisecond), s.cfg.ReadyMaxLag)
				}
			}
		} else if err := s.db.Ping(ctx); err != nil {
			body["database"] = "unavailable"
		}
	}
	c.JSON(http.StatusOK, body)
	return nil
}

// lagWatch remembers since when the database has been seen holding a
// newer generation than the snapshot. The time is this process's own
// observation, so the clocks of the database and of the writing replica
// play no part; it is as fine as the load balancer's polling.
type lagWatch struct {
	mu    sync.Mutex
	since time.Time
}

// observe records that the snapshot holds generation snapGen and the
// database dbGen at now, and returns for how long the snapshot has been
// behind (0 when it is not).
func (w *lagWatch) observe(snapGen, dbGen int64, now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if dbGen <= snapGen {
		w.since = time.Time{}
		return 0
	}
	if w.since.IsZero() {
		w.since = now
	}
	return now.Sub(w.since)
}
