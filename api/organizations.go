package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file serves organizations (红白喜事理事会, 爱卫会, …), their members
// and the grids they serve. Anyone reads the public fields; phones (the
// contact's, the members') only reach roles that see personal data; only
// admins write. Writes that change what grids list (attachments, a kind or
// name, an end) rebuild this replica's snapshot; the store's NOTIFY tells
// the others.

// organizationRoutes registers the organization endpoints under /v1.
func (s *Server) organizationRoutes(v1 router) {
	orgs := endpoint{needs: needOrganizations}
	v1.GET("/organizations", endpoint{needs: needOrganizations, query: read("kind", "village", "grid", "status", "at")}, s.listOrganizations)
	v1.GET("/organizations/:id", endpoint{needs: needOrganizations, query: read("at")}, s.getOrganization)
	v1.GET("/organizations/:id/members", endpoint{needs: needOrganizations, query: read("at")}, s.listOrganizationMembers)
	v1.GET("/organizations/:id/grids", orgs, s.listOrganizationGrids)
	v1.GET("/organizations/:id/members/:member/grids", orgs, s.listMemberGrids)
	v1.GET("/grids/:code/organization-members", endpoint{needs: needOrganizations, query: read("at")}, s.listGridMembers)

	admin := v1.with(s.require(geo.AccessAdmin))
	ending := endpoint{needs: needOrganizations, query: []param{pTo}}
	admin.POST("/organizations", orgs, withBody(s.createOrganization))
	admin.PATCH("/organizations/:id", orgs, withBody(s.updateOrganization))
	admin.POST("/organizations/:id/members", orgs, withBody(s.addOrganizationMember))
	admin.DELETE("/organizations/:id/members/:member", ending, withOptionalBody(s.endOrganizationMember))
	admin.POST("/organizations/:id/members/:member/end", orgs, withOptionalBody(s.endOrganizationMember))
	admin.POST("/organizations/:id/grids", orgs, withBody(s.attachOrganizationGrids))
	admin.PUT("/organizations/:id/members/:member/grids", orgs, withBody(s.setMemberGrids)) // organization_member_grids.go
	admin.DELETE("/organizations/:id/grids/:code", ending, withOptionalBody(s.detachOrganizationGrid))
	admin.POST("/organizations/:id/grids/:code/detach", orgs, withOptionalBody(s.detachOrganizationGrid))
}

// pTo is ?to= of the DELETE endpoints that end a membership or attachment.
var pTo = param{"to", func(c *gin.Context) error { _, err := queryTime(c, "to", time.Time{}); return err }}

// organizationOut is an organization as sent.
type organizationOut struct {
	ID        int64        `json:"id"`
	Kind      geo.OrgKind  `json:"kind"`
	Name      string       `json:"name"`
	Village   codeNameJSON `json:"village"`
	Contact   *personJSON  `json:"contact"`
	Status    string       `json:"status"`
	CreatedAt time.Time    `json:"created_at"`
	EndedAt   *time.Time   `json:"ended_at"`
	// Grids are those served at the time asked (now by default).
	Grids []orgGridOut `json:"grids"`
}

// orgGridOut is one attachment of an organization to a grid.
type orgGridOut struct {
	OrganizationID int64      `json:"organization_id"`
	Code           string     `json:"code"`
	Name           string     `json:"name,omitempty"`
	From           time.Time  `json:"from"`
	To             *time.Time `json:"to"`
}

// orgMemberOut is one membership as sent.
type orgMemberOut struct {
	ID             int64          `json:"id"`
	OrganizationID int64          `json:"organization_id"`
	Person         orgPersonOut   `json:"person"`
	Role           geo.MemberRole `json:"role"`
	From           time.Time      `json:"from"`
	To             *time.Time     `json:"to"`
}

// orgPersonOut is a member: the phone only for roles that see personal
// data.
type orgPersonOut struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// organizationJSON renders o as seen at time at by the caller.
func (s *Server) organizationJSON(c *gin.Context, o *geo.Organization, at time.Time) organizationOut {
	snap := s.registry.Load()
	personal := callerRole(c).SeesPersonalData()
	out := organizationOut{ID: o.ID, Kind: o.Kind, Name: o.Name, Village: codeNameJSON{Code: o.VillageCode},
		Contact: contactJSON(o.Contact, personal), Status: "active", CreatedAt: o.CreatedAt, Grids: []orgGridOut{}}
	if v, ok := snap.Village(o.VillageCode); ok {
		out.Village.Name = v.Name
	}
	if !o.EndedAt.IsZero() {
		out.EndedAt = &o.EndedAt
		if !o.EndedAt.After(at) {
			out.Status = "ended"
		}
	}
	for _, a := range o.Grids {
		out.Grids = append(out.Grids, orgGridJSON(snap, a))
	}
	return out
}

// orgGridJSON renders an attachment, naming the grid when it is current.
func orgGridJSON(snap *geo.Snapshot, a geo.OrganizationGrid) orgGridOut {
	out := orgGridOut{OrganizationID: a.OrganizationID, Code: a.GridCode, From: a.From, To: timePtr(a.To)}
	if g, ok := snap.Grid(a.GridCode); ok {
		out.Name = g.Name
	}
	return out
}

// orgMemberJSON renders a membership for the caller.
func orgMemberJSON(c *gin.Context, m *geo.OrganizationMember) orgMemberOut {
	out := orgMemberOut{ID: m.ID, OrganizationID: m.OrganizationID, Role: m.Role, From: m.From, To: timePtr(m.To),
		Person: orgPersonOut{ID: m.Person.ID, Name: m.Person.Name}}
	if callerRole(c).SeesPersonalData() {
		out.Person.Phone = m.Person.Phone
	}
	return out
}

// listOrganizations answers GET /v1/organizations[?kind=&village=&grid=
// &status=&at=]: the organizations working at at (status=ended: those
// ended by then; status=all: both), each with the grids it serves then.
func (s *Server) listOrganizations(c *gin.Context) error {
	store := s.cfg.Organizations
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	f := geo.OrganizationFilter{At: at, Status: "active"}
	if raw, ok := c.GetQuery("kind"); ok {
		if err := s.knownOrgKind(c, "kind", raw); err != nil {
			return err
		}
		f.Kind = geo.OrgKind(raw)
	}
	if raw, ok := c.GetQuery("village"); ok {
		if geo.ValidateVillageCode(raw) != nil {
			return badParam("village", "got %q, want a 12-digit village code", truncate(raw))
		}
		f.VillageCode = raw
	}
	if raw, ok := c.GetQuery("grid"); ok {
		if geo.ValidateGridCode(raw, "") != nil {
			return badParam("grid", "got %q, want a 15-digit grid code", truncate(raw))
		}
		f.GridCode = raw
	}
	switch raw := c.DefaultQuery("status", "active"); raw {
	case "active", "ended":
		f.Status = raw
	case "all":
		f.Status = ""
	default:
		return badParam("status", "got %q, want active, ended or all", truncate(raw))
	}
	list, err := store.Organizations(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]organizationOut, len(list))
	for i, o := range list {
		out[i] = s.organizationJSON(c, o, at)
	}
	c.Header("Vary", "Authorization")
	c.JSON(http.StatusOK, gin.H{"at": at, "organizations": out})
	return nil
}

// getOrganization answers GET /v1/organizations/{id}[?at=] with the grids
// the organization serves at at (default now).
func (s *Server) getOrganization(c *gin.Context) error {
	store := s.cfg.Organizations
	id := pathInt(c, "id")
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	o, err := store.Organization(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	c.Header("Vary", "Authorization")
	c.JSON(http.StatusOK, s.organizationJSON(c, o, at))
	return nil
}

// createOrganization answers POST /v1/organizations (admin).
func (s *Server) createOrganization(c *gin.Context, req *geo.OrganizationRequest) error {
	o, err := req.Check(s.registry.Load())
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	out, err := s.cfg.Organizations.CreateOrganization(c.Request.Context(), o, callerName(c), now)
	if err != nil {
		return err
	}
	c.Header("Location", fmt.Sprintf("/v1/organizations/%d", out.ID))
	c.JSON(http.StatusCreated, s.organizationJSON(c, out, now))
	return nil
}

// updateOrganization answers PATCH /v1/organizations/{id} (admin): see
// geo.OrganizationPatch.
func (s *Server) updateOrganization(c *gin.Context, req *geo.OrganizationPatch) error {
	now := s.cfg.Now().UTC()
	u, err := req.Check(s.registry.Load(), now)
	if err != nil {
		return err
	}
	out, err := s.cfg.Organizations.UpdateOrganization(c.Request.Context(), pathInt(c, "id"), u, callerName(c), now)
	if err != nil {
		return err
	}
	if u.ChangesSnapshot() {
		s.orgReload(c)
	}
	c.JSON(http.StatusOK, s.organizationJSON(c, out, now))
	return nil
}

// listOrganizationMembers answers GET /v1/organizations/{id}/members[?at=]
// with the memberships in force at at (default now), chairs first.
func (s *Server) listOrganizationMembers(c *gin.Context) error {
	store := s.cfg.Organizations
	id := pathInt(c, "id")
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	list, err := store.Members(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	out := make([]orgMemberOut, len(list))
	for i := range list {
		out[i] = orgMemberJSON(c, &list[i])
	}
	c.Header("Vary", "Authorization")
	c.JSON(http.StatusOK, gin.H{"organization_id": id, "at": at, "members": out})
	return nil
}

// addOrganizationMember answers POST /v1/organizations/{id}/members (admin).
func (s *Server) addOrganizationMember(c *gin.Context, req *geo.MemberRequest) error {
	now := s.cfg.Now().UTC()
	m, err := req.Check(now)
	if err != nil {
		return err
	}
	out, err := s.cfg.Organizations.AddMember(c.Request.Context(), pathInt(c, "id"), m, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, orgMemberJSON(c, out))
	return nil
}

// endOrganizationMember answers DELETE /v1/organizations/{id}/members/
// {member}[?to=] and POST …/{member}/end {"to": …} (admin): the
// membership ends at to (default now); nothing is deleted.
func (s *Server) endOrganizationMember(c *gin.Context, req *geo.EndRequest) error {
	now := s.cfg.Now().UTC()
	to, err := endTime(c, req, now)
	if err != nil {
		return err
	}
	out, err := s.cfg.Organizations.EndMember(c.Request.Context(), pathInt(c, "id"), pathInt(c, "member"), to, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, orgMemberJSON(c, out))
	return nil
}

// listOrganizationGrids answers GET /v1/organizations/{id}/grids with every
// attachment of the organization, past ones included.
func (s *Server) listOrganizationGrids(c *gin.Context) error {
	store := s.cfg.Organizations
	id := pathInt(c, "id")
	list, err := store.Attachments(c.Request.Context(), id)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	out := make([]orgGridOut, len(list))
	for i, a := range list {
		out[i] = orgGridJSON(snap, a)
	}
	c.JSON(http.StatusOK, gin.H{"organization_id": id, "grids": out})
	return nil
}

// attachOrganizationGrids answers POST /v1/organizations/{id}/grids
// (admin). Every grid must be in the current generation; all are attached
// or none.
func (s *Server) attachOrganizationGrids(c *gin.Context, req *geo.AttachRequest) error {
	if len(req.Grids) > geo.MaxOrgGrids {
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "grids: %d codes, at most %d per request", len(req.Grids), geo.MaxOrgGrids)
	}
	id := pathInt(c, "id")
	snap := s.registry.Load()
	now := s.cfg.Now().UTC()
	a, err := req.Check(snap, now)
	if err != nil {
		return err
	}
	list, err := s.cfg.Organizations.AttachGrids(c.Request.Context(), id, a.Codes, a.From, callerName(c), now)
	if err != nil {
		return err
	}
	s.orgReload(c)
	out := make([]orgGridOut, len(list))
	for i, a := range list {
		out[i] = orgGridJSON(snap, a)
	}
	c.JSON(http.StatusCreated, gin.H{"organization_id": id, "grids": out})
	return nil
}

// detachOrganizationGrid answers DELETE /v1/organizations/{id}/grids/
// {code}[?to=] and POST …/{code}/detach {"to": …} (admin): the attachment
// ends at to (default now). The grid need not be current, so that an
// attachment to a retired grid can still be ended.
func (s *Server) detachOrganizationGrid(c *gin.Context, req *geo.EndRequest) error {
	code := c.Param("code")
	if geo.ValidateGridCode(code, "") != nil {
		return badParam("code", "got %q, want a 15-digit grid code", truncate(code))
	}
	now := s.cfg.Now().UTC()
	to, err := endTime(c, req, now)
	if err != nil {
		return err
	}
	a, err := s.cfg.Organizations.DetachGrid(c.Request.Context(), pathInt(c, "id"), code, to, callerName(c), now)
	if err != nil {
		return err
	}
	s.orgReload(c)
	c.JSON(http.StatusOK, orgGridJSON(s.registry.Load(), *a))
	return nil
}

// orgReload rebuilds this replica's snapshot after a write that changed
// what grids list. The write is committed either way: a failed reload is
// logged, and the NOTIFY sent by the store makes the watcher retry.
func (s *Server) orgReload(c *gin.Context) {
	if s.cfg.Reload == nil {
		return
	}
	if err := s.cfg.Reload(context.WithoutCancel(c.Request.Context())); err != nil {
		s.log.Warn("reloading the snapshot after an organization change", "request_id", c.GetString(requestIDKey), "err", err)
	}
}

// endTime reads when a membership or attachment ends: ?to= on DELETE,
// {"to": …} on POST (an empty body is fine), default now.
func endTime(c *gin.Context, req *geo.EndRequest, now time.Time) (time.Time, error) {
	if c.Request.Method == http.MethodDelete {
		return queryTime(c, "to", now)
	}
	return req.Check(now)
}
