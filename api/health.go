package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive.
func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

// readyz is 200 once a snapshot of the grids is loaded: lookups need nothing
// else. The database's state is reported but does not make the server
// unready, because lookups keep working from memory while it is down.
func (s *Server) readyz(c *gin.Context) error {
	snap := s.registry.Load()
	if snap == nil {
		return problemf(TypeNotReady, http.StatusServiceUnavailable, "the grids are not loaded yet")
	}
	database := "absent"
	if s.db != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		database = "ok"
		if err := s.db.Ping(ctx); err != nil {
			database = "unavailable"
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "generation": snap.Generation, "grids": len(snap.Grids),
		"loaded_at": snap.LoadedAt.UTC().Format(time.RFC3339), "database": database})
	return nil
}
