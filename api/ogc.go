package api

import "github.com/gin-gonic/gin"

// ogcRoutes registers this file's endpoints.
func (s *Server) ogcRoutes(r *gin.Engine) {}
