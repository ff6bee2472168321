package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file answers a person signed in about themselves: who they are,
// what they hold now, and the incidents that are theirs to work on.

// pView is ?status= of GET /v1/me/incidents.
var pView = param{"status", func(c *gin.Context) error { _, err := queryView(c); return err }}

// queryView reads ?status=open|closed|all (open when absent).
func queryView(c *gin.Context) (geo.IncidentView, error) {
	switch v := geo.IncidentView(c.Query("status")); v {
	case "":
		return geo.ViewOpen, nil
	case geo.ViewOpen, geo.ViewClosed, geo.ViewAll:
		return v, nil
	default:
		return "", badParam("status", "got %q, want open, closed or all", truncate(string(v)))
	}
}

// meRole is one role a person holds now.
type meRole struct {
	Role         string        `json:"role"`
	Grid         *codeNameJSON `json:"grid,omitempty"`
	Village      *codeNameJSON `json:"village,omitempty"`
	Organization *meOrg        `json:"organization,omitempty"`
}

type meOrg struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// me answers GET /v1/me: the person, the roles they hold now (grid and
// village names from the snapshot) and when the session ends.
func (s *Server) me(c *gin.Context) error {
	scope := personScope(c)
	cl, _ := sessionClaims(c)
	snap := s.registry.Load()
	village := func(code string) *codeNameJSON {
		if code == "" {
			return nil
		}
		out := &codeNameJSON{Code: code}
		if v, ok := snap.Village(code); ok {
			out.Name = v.Name
		}
		return out
	}
	roles := []meRole{}
	for _, a := range scope.Roles {
		r := meRole{Role: string(a.Role), Village: village(a.VillageCode)}
		if a.GridCode != "" {
			r.Grid = &codeNameJSON{Code: a.GridCode}
			if g, ok := snap.Grid(a.GridCode); ok {
				r.Grid.Name, r.Village = g.Name, village(g.VillageCode)
			}
		}
		roles = append(roles, r)
	}
	for _, ch := range scope.Chairs {
		roles = append(roles, meRole{Role: string(geo.MemberChair), Village: village(ch.VillageCode),
			Organization: &meOrg{ID: ch.OrganizationID, Kind: string(ch.Kind), Name: ch.Name}})
	}
	c.JSON(http.StatusOK, gin.H{"person": personRefJSON{ID: scope.Person.ID, Name: scope.Person.Name}, "roles": roles,
		"session": gin.H{"expires_at": cl.ExpiresAt}})
	return nil
}

// myIncidents answers GET /v1/me/incidents[?status=open|closed|all]: the
// incidents assigned to the person or in the grids and villages they hold
// now (and those told to an organization they chair), in the shape of GET
// /v1/incidents; open ones first, soonest due first.
func (s *Server) myIncidents(c *gin.Context) error {
	view, err := queryView(c)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, 100, 500)
	if err != nil {
		return err
	}
	list, err := s.cfg.Logins.PersonIncidents(c.Request.Context(), personScope(c), view, limit)
	if err != nil {
		return err
	}
	out := make([]incidentOut, len(list))
	for i, inc := range list {
		out[i] = s.incidentJSON(c, inc, false)
	}
	c.JSON(http.StatusOK, gin.H{"incidents": out})
	return nil
}
