package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

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
func (s *Server) organizationRoutes(v1 *gin.RouterGroup) {
	v1.GET("/organizations", s.handle(s.listOrganizations))
	v1.GET("/organizations/:id", s.handle(s.getOrganization))
	v1.GET("/organizations/:id/members", s.handle(s.listOrganizationMembers))
	v1.GET("/organizations/:id/grids", s.handle(s.listOrganizationGrids))

	admin := v1.Group("", s.require(geo.AccessAdmin))
	admin.POST("/organizations", s.handle(s.createOrganization))
	admin.PATCH("/organizations/:id", s.handle(s.updateOrganization))
	admin.POST("/organizations/:id/members", s.handle(s.addOrganizationMember))
	admin.DELETE("/organizations/:id/members/:member", s.handle(s.endOrganizationMember))
	admin.POST("/organizations/:id/members/:member/end", s.handle(s.endOrganizationMember))
	admin.POST("/organizations/:id/grids", s.handle(s.attachOrganizationGrids))
	admin.DELETE("/organizations/:id/grids/:code", s.handle(s.detachOrganizationGrid))
	admin.POST("/organizations/:id/grids/:code/detach", s.handle(s.detachOrganizationGrid))
}

// Limits of organization fields, in characters.
const (
	maxOrgName     = 100
	maxContactName = 50
	maxOrgGrids    = 1000
)

// chinaTime is China Standard Time, in which a bare date such as
// 2026-11-01 is read: the township's midnight.
var chinaTime = time.FixedZone("CST", 8*3600)

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

// orgStore returns the organization store, or 503 when the server has none.
func (s *Server) orgStore() (geo.OrganizationStore, error) {
	if s.cfg.Organizations == nil {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "organizations are not available on this server")
	}
	return s.cfg.Organizations, nil
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
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	at, err := s.orgQueryAt(c)
	if err != nil {
		return err
	}
	f := geo.OrganizationFilter{At: at, Status: "active"}
	if raw, ok := c.GetQuery("kind"); ok {
		if !geo.OrgKind(raw).Valid() {
			return badParam("kind", "got %q, want one of %v", truncate(raw), geo.OrgKinds)
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
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	at, err := s.orgQueryAt(c)
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

// orgRequest is the body of POST /v1/organizations.
type orgRequest struct {
	Kind    string      `json:"kind"`
	Name    string      `json:"name"`
	Village string      `json:"village"`
	Contact *personJSON `json:"contact"`
}

// createOrganization answers POST /v1/organizations (admin).
func (s *Server) createOrganization(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	var req orgRequest
	if err := orgDecode(c, &req, false); err != nil {
		return err
	}
	o := &geo.Organization{Kind: geo.OrgKind(req.Kind)}
	if !o.Kind.Valid() {
		return invalidField("kind", "got %q, want one of %v", truncate(req.Kind), geo.OrgKinds)
	}
	if o.Name, err = orgName(req.Name); err != nil {
		return err
	}
	if o.VillageCode, err = s.orgVillage(req.Village); err != nil {
		return err
	}
	if o.Contact, err = orgContact(req.Contact); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	out, err := store.CreateOrganization(c.Request.Context(), o, callerName(c), now)
	if err != nil {
		return err
	}
	c.Header("Location", fmt.Sprintf("/v1/organizations/%d", out.ID))
	c.JSON(http.StatusCreated, s.organizationJSON(c, out, now))
	return nil
}

// orgPatch is the body of PATCH /v1/organizations/{id}: members present
// change, absent ones stay; "contact": null removes the contact.
type orgPatch struct {
	Kind    *string         `json:"kind"`
	Name    *string         `json:"name"`
	Village *string         `json:"village"`
	Contact json.RawMessage `json:"contact"`
	Status  *string         `json:"status"`
	EndedAt *string         `json:"ended_at"`
}

// updateOrganization answers PATCH /v1/organizations/{id} (admin). Status
// "ended" (with ended_at, default now) ends the organization with its
// memberships and attachments; "active" reopens an ended one.
func (s *Server) updateOrganization(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req orgPatch
	if err := orgDecode(c, &req, false); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	var u geo.OrganizationUpdate
	if req.Kind != nil {
		k := geo.OrgKind(*req.Kind)
		if !k.Valid() {
			return invalidField("kind", "got %q, want one of %v", truncate(*req.Kind), geo.OrgKinds)
		}
		u.Kind = &k
	}
	if req.Name != nil {
		name, err := orgName(*req.Name)
		if err != nil {
			return err
		}
		u.Name = &name
	}
	if req.Village != nil {
		v, err := s.orgVillage(*req.Village)
		if err != nil {
			return err
		}
		u.VillageCode = &v
	}
	if req.Contact != nil {
		u.SetContact = true
		if !bytes.Equal(bytes.TrimSpace(req.Contact), []byte("null")) {
			var pj personJSON
			dec := json.NewDecoder(bytes.NewReader(req.Contact))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&pj); err != nil {
				return invalidField("contact", "want {\"name\": …, \"phone\": …} or null")
			}
			if u.Contact, err = orgContact(&pj); err != nil {
				return err
			}
		}
	}
	status := ""
	if req.Status != nil {
		status = *req.Status
		if status != "active" && status != "ended" {
			return invalidField("status", "got %q, want active or ended", truncate(status))
		}
	}
	if req.EndedAt != nil {
		if status == "active" {
			return invalidField("ended_at", "only when ending: status ended")
		}
		status = "ended"
	}
	switch status {
	case "ended":
		u.End = now
		if req.EndedAt != nil {
			if u.End, err = orgTime("ended_at", *req.EndedAt); err != nil {
				return err
			}
		}
	case "active":
		u.Reopen = true
	}
	if u.Kind == nil && u.Name == nil && u.VillageCode == nil && !u.SetContact && status == "" {
		return invalidField("body", "nothing to change: give kind, name, village, contact, status or ended_at")
	}
	out, err := store.UpdateOrganization(c.Request.Context(), id, u, callerName(c), now)
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
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	at, err := s.orgQueryAt(c)
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

// orgMemberRequest is the body of POST /v1/organizations/{id}/members: an
// existing person by person_id, or a person by name and phone (found among
// those who have not left, or created).
type orgMemberRequest struct {
	PersonID *int64 `json:"person_id"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Role     string `json:"role"`
	From     string `json:"from"`
}

// addOrganizationMember answers POST /v1/organizations/{id}/members (admin).
func (s *Server) addOrganizationMember(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req orgMemberRequest
	if err := orgDecode(c, &req, false); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	m := geo.NewMember{Role: geo.MemberRole(req.Role), From: now}
	if req.Role == "" {
		m.Role = geo.MemberMember
	}
	if !m.Role.Valid() {
		return invalidField("role", "got %q, want chair or member", truncate(req.Role))
	}
	switch {
	case req.PersonID != nil && (req.Name != "" || req.Phone != ""):
		return invalidField("person_id", "give person_id, or name and phone, not both")
	case req.PersonID != nil:
		if *req.PersonID <= 0 {
			return invalidField("person_id", "got %d, want a positive integer", *req.PersonID)
		}
		m.PersonID = *req.PersonID
	default:
		// A person is known by name and phone, spelt as the people
		// endpoints and rosters spell them (geo.NewPerson.Check).
		m.Name = geo.CleanName(req.Name)
		if m.Name == "" || len(m.Name) > geo.MaxNameLen {
			return invalidField("name", "required (or person_id), at most %d bytes", geo.MaxNameLen)
		}
		if strings.TrimSpace(req.Phone) == "" {
			return invalidField("phone", "required with name: a mainland mobile or landline")
		}
		if m.Phone, err = geo.NormalizePhone(req.Phone); err != nil {
			return invalidField("phone", "%s", geo.ErrorMessage(err))
		}
	}
	if req.From != "" {
		if m.From, err = orgTime("from", req.From); err != nil {
			return err
		}
	}
	out, err := store.AddMember(c.Request.Context(), id, m, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, orgMemberJSON(c, out))
	return nil
}

// orgEndRequest is the body of POST …/end and …/detach: when it ends
// (default now).
type orgEndRequest struct {
	To string `json:"to"`
}

// endOrganizationMember answers DELETE /v1/organizations/{id}/members/
// {member}[?to=] and POST …/{member}/end {"to": …} (admin): the
// membership ends at to (default now); nothing is deleted.
func (s *Server) endOrganizationMember(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	member, err := pathID(c, "member")
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	to, err := orgEndTime(c, now)
	if err != nil {
		return err
	}
	out, err := store.EndMember(c.Request.Context(), id, member, to, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, orgMemberJSON(c, out))
	return nil
}

// listOrganizationGrids answers GET /v1/organizations/{id}/grids with every
// attachment of the organization, past ones included.
func (s *Server) listOrganizationGrids(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
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

// orgAttachRequest is the body of POST /v1/organizations/{id}/grids: one
// grid or several, attached from from (default now).
type orgAttachRequest struct {
	Grid  string   `json:"grid"`
	Grids []string `json:"grids"`
	From  string   `json:"from"`
}

// attachOrganizationGrids answers POST /v1/organizations/{id}/grids
// (admin). Every grid must be in the current generation; all are attached
// or none.
func (s *Server) attachOrganizationGrids(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req orgAttachRequest
	if err := orgDecode(c, &req, false); err != nil {
		return err
	}
	field, codes := "grids", req.Grids
	switch {
	case req.Grid != "" && req.Grids != nil:
		return invalidField("grid", "give grid or grids, not both")
	case req.Grid != "":
		field, codes = "grid", []string{req.Grid}
	case len(codes) == 0:
		return invalidField("grids", "required: the codes of the grids to attach")
	case len(codes) > maxOrgGrids:
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "grids: %d codes, at most %d per request", len(codes), maxOrgGrids)
	}
	snap := s.registry.Load()
	seen := map[string]bool{}
	for i, code := range codes {
		where := field
		if field == "grids" {
			where = fmt.Sprintf("grids[%d]", i)
		}
		if geo.ValidateGridCode(code, "") != nil {
			return invalidField(where, "got %q, want a 15-digit grid code", truncate(code))
		}
		if _, ok := snap.Grid(code); !ok {
			return invalidField(where, "no grid %s in generation %d", code, snap.Generation)
		}
		if seen[code] {
			return invalidField(where, "grid %s is named twice", code)
		}
		seen[code] = true
	}
	now := s.cfg.Now().UTC()
	from := now
	if req.From != "" {
		if from, err = orgTime("from", req.From); err != nil {
			return err
		}
	}
	list, err := store.AttachGrids(c.Request.Context(), id, codes, from, callerName(c), now)
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
func (s *Server) detachOrganizationGrid(c *gin.Context) error {
	store, err := s.orgStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	code := c.Param("code")
	if geo.ValidateGridCode(code, "") != nil {
		return badParam("code", "got %q, want a 15-digit grid code", truncate(code))
	}
	now := s.cfg.Now().UTC()
	to, err := orgEndTime(c, now)
	if err != nil {
		return err
	}
	a, err := store.DetachGrid(c.Request.Context(), id, code, to, callerName(c), now)
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

// orgDecode reads a JSON body into v, refusing unknown members. An empty
// body is accepted (as {}) when allowEmpty is set.
func orgDecode(c *gin.Context, v any, allowEmpty bool) error {
	body, err := readJSONBody(c)
	if err != nil {
		return err
	}
	if allowEmpty && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeJSON(body, v)
}

// orgTime reads a time of a request: RFC 3339, or a bare date (YYYY-MM-DD)
// meaning midnight in China Standard Time. Errors name field, as a body
// member; orgQueryAt turns them into parameter errors.
func orgTime(field, raw string) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, raw, chinaTime); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, invalidField(field, "got %q, want an RFC 3339 time such as 2026-11-01T08:00:00+08:00, or a date such as 2026-11-01 (midnight, China time)", truncate(raw))
}

// orgQueryAt reads ?at= (default now).
func (s *Server) orgQueryAt(c *gin.Context) (time.Time, error) {
	raw, ok := c.GetQuery("at")
	if !ok {
		return s.cfg.Now().UTC(), nil
	}
	at, err := orgTime("at", raw)
	if err != nil {
		return at, badParam("at", "got %q, want an RFC 3339 time or a date (YYYY-MM-DD)", truncate(raw))
	}
	return at, nil
}

// orgEndTime reads when a membership or attachment ends: ?to= on DELETE,
// {"to": …} on POST (an empty body is fine), default now.
func orgEndTime(c *gin.Context, now time.Time) (time.Time, error) {
	if c.Request.Method == http.MethodDelete {
		raw, ok := c.GetQuery("to")
		if !ok {
			return now, nil
		}
		t, err := orgTime("to", raw)
		if err != nil {
			return t, badParam("to", "got %q, want an RFC 3339 time or a date (YYYY-MM-DD)", truncate(raw))
		}
		return t, nil
	}
	var req orgEndRequest
	if err := orgDecode(c, &req, true); err != nil {
		return now, err
	}
	if req.To == "" {
		return now, nil
	}
	return orgTime("to", req.To)
}

// orgName checks an organization's name.
func orgName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	if name == "" || utf8.RuneCountInString(name) > maxOrgName {
		return "", invalidField("name", "required, at most %d characters", maxOrgName)
	}
	return name, nil
}

// orgVillage checks that code is a village of the current snapshot.
func (s *Server) orgVillage(code string) (string, error) {
	if geo.ValidateVillageCode(code) != nil {
		return "", invalidField("village", "got %q, want a 12-digit village code", truncate(code))
	}
	if _, ok := s.registry.Load().Village(code); !ok {
		return "", invalidField("village", "no village %s in the town", code)
	}
	return code, nil
}

// orgContact checks a contact: a name, and a phone if any.
func orgContact(p *personJSON) (*geo.Contact, error) {
	if p == nil {
		return nil, nil
	}
	name := strings.TrimSpace(p.Name)
	if name == "" || utf8.RuneCountInString(name) > maxContactName {
		return nil, invalidField("contact.name", "required with a contact, at most %d characters", maxContactName)
	}
	phone, err := geo.NormalizePhone(p.Phone)
	if err != nil {
		return nil, invalidField("contact.phone", "%s", geo.ErrorMessage(err))
	}
	return &geo.Contact{Name: name, Phone: phone}, nil
}
