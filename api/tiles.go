package api

import "github.com/gin-gonic/gin"

// tileRoutes registers this file's endpoints.
func (s *Server) tileRoutes(r *gin.Engine) {}
