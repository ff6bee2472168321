package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file serves which grids organization members serve (issue 13,
// item 6), with history: an admin sets a member's grids; anyone lists a
// member's periods and the members serving a grid at a time. Members'
// phones only reach roles that see personal data.

// memberGridStore is the store of members' grids (the organizations'
// store keeps them), or the 503 of a server without one.
func (s *Server) memberGridStore() (geo.MemberGridStore, error) {
	if st, ok := s.cfg.Organizations.(geo.MemberGridStore); ok {
		return st, nil
	}
	return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "members' grids are not available on this server")
}

// memberGridOut is one period of a member serving a grid.
type memberGridOut struct {
	MemberID int64      `json:"member_id"`
	Code     string     `json:"code"`
	Name     string     `json:"name,omitempty"`
	From     time.Time  `json:"from"`
	To       *time.Time `json:"to"`
}

func memberGridJSON(snap *geo.Snapshot, g geo.MemberGrid) memberGridOut {
	out := memberGridOut{MemberID: g.MemberID, Code: g.GridCode, From: g.From, To: timePtr(g.To)}
	if r, ok := snap.Grid(g.GridCode); ok {
		out.Name = r.Name
	}
	return out
}

// renderMemberGrids answers with every period of membership member.
func (s *Server) renderMemberGrids(c *gin.Context, status int, member int64, list []geo.MemberGrid) {
	snap := s.registry.Load()
	out := make([]memberGridOut, len(list))
	for i, g := range list {
		out[i] = memberGridJSON(snap, g)
	}
	c.JSON(status, gin.H{"organization_id": pathInt(c, "id"), "member_id": member, "grids": out})
}

// listMemberGrids answers GET /v1/organizations/{id}/members/{member}/grids
// with every period of the member serving a grid, past ones included.
func (s *Server) listMemberGrids(c *gin.Context) error {
	st, err := s.memberGridStore()
	if err != nil {
		return err
	}
	member := pathInt(c, "member")
	list, err := st.MemberGrids(c.Request.Context(), pathInt(c, "id"), member)
	if err != nil {
		return err
	}
	s.renderMemberGrids(c, http.StatusOK, member, list)
	return nil
}

// setMemberGrids answers PUT /v1/organizations/{id}/members/{member}/grids
// (admin): see geo.MemberGridsRequest.
func (s *Server) setMemberGrids(c *gin.Context, req *geo.MemberGridsRequest) error {
	st, err := s.memberGridStore()
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	r, err := req.Check(s.registry.Load(), now)
	if err != nil {
		return err
	}
	member := pathInt(c, "member")
	list, err := st.SetMemberGrids(c.Request.Context(), pathInt(c, "id"), member, r.Codes, r.From, callerName(c), now)
	if err != nil {
		return err
	}
	s.renderMemberGrids(c, http.StatusOK, member, list)
	return nil
}

// gridMemberOut is a member serving a grid.
type gridMemberOut struct {
	Organization struct {
		ID   int64       `json:"id"`
		Kind geo.OrgKind `json:"kind"`
		Name string      `json:"name"`
	} `json:"organization"`
	Member  orgMemberOut  `json:"member"`
	Serving memberGridOut `json:"serving"`
}

// listGridMembers answers GET /v1/grids/{code}/organization-members[?at=]
// with the organizations' members serving the grid at at (default now).
func (s *Server) listGridMembers(c *gin.Context) error {
	st, err := s.memberGridStore()
	if err != nil {
		return err
	}
	code, at, err := s.gridAt(c)
	if err != nil {
		return err
	}
	list, err := st.GridMembers(c.Request.Context(), code, at)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	out := make([]gridMemberOut, len(list))
	for i := range list {
		g := &list[i]
		out[i].Organization.ID, out[i].Organization.Kind, out[i].Organization.Name = g.Organization.ID, g.Organization.Kind, g.Organization.Name
		out[i].Member = orgMemberJSON(c, &g.Member)
		out[i].Serving = memberGridJSON(snap, g.Serving)
	}
	c.Header("Vary", "Authorization")
	c.JSON(http.StatusOK, gin.H{"grid": code, "at": at, "members": out})
	return nil
}
