package api

import "github.com/gin-gonic/gin"

// organizationRoutes registers the organization endpoints under /v1.
func (s *Server) organizationRoutes(v1 *gin.RouterGroup) {}
