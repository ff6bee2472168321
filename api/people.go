package api

import "github.com/gin-gonic/gin"

// peopleRoutes registers the people, appointment, leave, roster and
// staffing endpoints under /v1.
func (s *Server) peopleRoutes(v1 *gin.RouterGroup) {}
