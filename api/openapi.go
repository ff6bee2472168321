package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3 document of the API. The tests validate every
// response they receive against it.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) openapi(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", OpenAPI)
	return nil
}
