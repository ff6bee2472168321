package api

import "github.com/gin-gonic/gin"

// consoleRoutes registers this file's endpoints.
func (s *Server) consoleRoutes(r *gin.Engine) {}
