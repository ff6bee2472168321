package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// Tokens looks up API tokens by the hash of their secret. The server keeps
// them in memory, so authentication works while the database is down.
type Tokens interface {
	Lookup(hash [32]byte) (geo.Token, bool)
}

const (
	roleKey  = "role"
	actorKey = "actor"
)

// authenticate reads "Authorization: Bearer <token>": an API token, or a
// person's session (wgs_…). No header makes the caller an anonymous
// viewer; a malformed, unknown, expired or revoked token is 401, never
// silently downgraded (a dispatcher whose token expired must know).
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	if h == "" {
		c.Set(roleKey, geo.AccessViewer)
		c.Set(actorKey, "anonymous")
		c.Next()
		return
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		s.unauthorized(c, "Authorization: want \"Bearer <token>\"")
		return
	}
	if strings.HasPrefix(strings.TrimSpace(secret), geo.SessionTokenPrefix) {
		s.authenticateSession(c, secret) // login.go: a person signed in
		return
	}
	var tok geo.Token
	if s.tokens != nil {
		tok, ok = s.tokens.Lookup(geo.HashToken(secret))
	}
	if !ok || s.tokens == nil {
		s.unauthorized(c, "the bearer token is unknown or revoked")
		return
	}
	c.Set(roleKey, tok.Role)
	c.Set(actorKey, tok.Name)
	c.Next()
}

func (s *Server) unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer realm="wangge"`)
	s.writeProblem(c, problemf(TypeUnauthorized, http.StatusUnauthorized, "%s", detail))
}

// require lets only callers whose role allows need through; others get 403
// (or 401 when anonymous, so that a client knows to send a token).
func (s *Server) require(need geo.AccessRole) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := callerRole(c)
		if role.Allows(need) {
			c.Next()
			return
		}
		if c.GetString(actorKey) == "anonymous" {
			s.unauthorized(c, "this endpoint needs a "+string(need)+" token")
			return
		}
		s.writeProblem(c, problemf(TypeForbidden, http.StatusForbidden, "role %s may not do this: it needs %s", role, need))
	}
}

// callerRole is the authenticated role of the request (viewer if none).
func callerRole(c *gin.Context) geo.AccessRole {
	if r, ok := c.Get(roleKey); ok {
		return r.(geo.AccessRole)
	}
	return geo.AccessViewer
}

// callerName names the caller for the audit log.
func callerName(c *gin.Context) string {
	if a := c.GetString(actorKey); a != "" {
		return a
	}
	return "anonymous"
}
