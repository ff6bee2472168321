package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// peopleRoutes registers the people, appointment, leave, roster and
// staffing endpoints under /v1. Dispatchers and admins read people; only
// admins write. Who held a grid's roles is public like the grid itself,
// without phones.
func (s *Server) peopleRoutes(v1 *gin.RouterGroup) {
	v1.GET("/grids/:code/people", s.handle(s.gridPeople))
	v1.GET("/rosters/template.xlsx", s.handle(s.rosterTemplate))

	read := v1.Group("", s.require(geo.AccessDispatcher))
	read.GET("/people", s.handle(s.listPeople))
	read.GET("/people/:id", s.handle(s.getPerson))
	read.GET("/staffing", s.handle(s.staffing))

	admin := v1.Group("", s.require(geo.AccessAdmin))
	admin.POST("/people", s.handle(s.createPerson))
	admin.PATCH("/people/:id", s.handle(s.updatePerson))
	admin.POST("/people/:id/leave", s.handle(s.addLeave))
	admin.DELETE("/people/:id/leave/:leave", s.handle(s.deleteLeave))
	for _, r := range []struct {
		path string
		role geo.Role
	}{
		{"/grids/:code/leader", geo.RoleLeader},
		{"/grids/:code/deputy", geo.RoleDeputy},
		{"/villages/:code/liaison-leader", geo.RoleLiaisonLeader},
		{"/town/duty-desk", geo.RoleDutyDesk},
	} {
		admin.PUT(r.path, s.handle(s.appoint(r.role)))
		admin.DELETE(r.path, s.handle(s.vacate(r.role)))
	}
	admin.POST("/grids/:code/members", s.handle(s.appoint(geo.RoleMember)))
	admin.DELETE("/grids/:code/members/:person", s.handle(s.vacate(geo.RoleMember)))
	admin.POST("/rosters", s.handle(s.importRoster))
}

// peopleStore returns the store, or 503 when this server has none.
func (s *Server) peopleStore() (geo.PeopleStore, error) {
	if s.cfg.People == nil {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "people are not available on this server")
	}
	return s.cfg.People, nil
}

// peopleReload rebuilds this replica's snapshot after a write, so that the
// next incident routes by it. The write is committed either way: a failed
// reload is logged, and the store's NOTIFY makes the watcher retry.
func (s *Server) peopleReload(c *gin.Context) {
	if s.cfg.Reload == nil {
		return
	}
	if err := s.cfg.Reload(context.WithoutCancel(c.Request.Context())); err != nil {
		s.log.Warn("reloading the snapshot after a change of people", "request_id", c.GetString(requestIDKey), "err", err)
	}
}

// peopleZone is China Standard Time, in which a bare date is read.
var peopleZone = time.FixedZone("CST", 8*3600)

// peopleTime reads a time given in a body member: RFC 3339, or a bare date
// (YYYY-MM-DD) meaning midnight China time; empty gives def.
func peopleTime(field, raw string, def time.Time) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, raw, peopleZone); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, invalidField(field, "got %q, want an RFC 3339 time such as 2026-11-01T08:00:00+08:00, or a date such as 2026-11-01 (midnight, China time)", truncate(raw))
}

// peopleQueryTime reads a time query parameter (default def).
func peopleQueryTime(c *gin.Context, name string, def time.Time) (time.Time, error) {
	t, err := peopleTime(name, c.Query(name), def)
	if err != nil {
		return t, badParam(name, "got %q, want an RFC 3339 time or a date (YYYY-MM-DD)", truncate(c.Query(name)))
	}
	return t, nil
}

// notLater refuses a time of a change that lies in the future: the
// snapshot dispatch routes from holds who is in office when it is built, so
// a change that takes effect later would not reach routing in time. (Leave
// is different: the snapshot carries every leave period.)
func notLater(field string, t, now time.Time) error {
	if t.After(now.Add(time.Minute)) {
		return invalidField(field, "%s is in the future: record the change when it takes effect", t.Format(time.RFC3339))
	}
	return nil
}

// personOut is a person as sent: the phone only to roles that see personal
// data.
type personOut struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Phone     string     `json:"phone,omitempty"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	EndedAt   *time.Time `json:"ended_at"`
	// Roles are held at the time asked for (now by default).
	Roles   []assignmentOut `json:"roles"`
	OnLeave bool            `json:"on_leave"`
	Leave   []leaveOut      `json:"leave"`
	History []assignmentOut `json:"history,omitempty"`
}

// personRefOut names a person in an assignment.
type personRefOut struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	// Left is set when the person has left since.
	Left bool `json:"left,omitempty"`
}

// assignmentOut is an assignment as sent.
type assignmentOut struct {
	ID      int64         `json:"id"`
	Role    geo.Role      `json:"role"`
	Person  *personRefOut `json:"person,omitempty"`
	Grid    *codeNameJSON `json:"grid,omitempty"`
	Village *codeNameJSON `json:"village,omitempty"`
	From    time.Time     `json:"from"`
	To      *time.Time    `json:"to"`
	// OnLeave is set in answers about a moment when the holder was on
	// leave then.
	OnLeave *leaveOut `json:"on_leave,omitempty"`
}

// leaveOut is a leave period; id and note are left out for callers who
// may not see personal data (why someone is away is personal).
type leaveOut struct {
	ID   int64     `json:"id,omitempty"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Note string    `json:"note,omitempty"`
}

func leaveJSON(l geo.Leave) leaveOut {
	return leaveOut{ID: l.ID, From: l.From, To: l.To, Note: l.Note}
}

// personRef renders the person of an assignment.
func personRef(p geo.Person, personal bool) *personRefOut {
	out := &personRefOut{ID: p.ID, Name: p.Name, Left: !p.EndedAt.IsZero()}
	if personal {
		out.Phone = p.Phone
	}
	return out
}

// assignmentJSON renders a, naming its grid or village from the snapshot;
// withPerson includes who holds it.
func (s *Server) assignmentJSON(a geo.Assignment, withPerson, personal bool) assignmentOut {
	snap := s.registry.Load()
	out := assignmentOut{ID: a.ID, Role: a.Role, From: a.From, To: timePtr(a.To)}
	if withPerson {
		out.Person = personRef(a.Person, personal)
	}
	if a.GridCode != "" {
		out.Grid = &codeNameJSON{Code: a.GridCode}
		if g, ok := snap.Grid(a.GridCode); ok {
			out.Grid.Name = g.Name
		}
	}
	if a.VillageCode != "" {
		out.Village = &codeNameJSON{Code: a.VillageCode}
		if v, ok := snap.Village(a.VillageCode); ok {
			out.Village.Name = v.Name
		}
	}
	return out
}

// personJSONOut renders a person as of at.
func (s *Server) personJSONOut(c *gin.Context, p *geo.PersonRecord, at time.Time) personOut {
	personal := callerRole(c).SeesPersonalData()
	out := personOut{ID: p.ID, Name: p.Name, Status: p.Status(), CreatedAt: p.CreatedAt, EndedAt: timePtr(p.EndedAt),
		Roles: []assignmentOut{}, Leave: []leaveOut{}}
	if personal {
		out.Phone = p.Phone
	}
	for _, a := range p.Roles {
		out.Roles = append(out.Roles, s.assignmentJSON(a, false, personal))
	}
	for _, l := range p.Leave {
		out.Leave = append(out.Leave, leaveJSON(l))
		if l.Contains(at) {
			out.OnLeave = true
		}
	}
	for _, a := range p.History {
		out.History = append(out.History, s.assignmentJSON(a, false, personal))
	}
	return out
}

// personRequest is the body of POST /v1/people.
type personRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// createPerson answers POST /v1/people (admin): 201 with the person; 409
// when a person of that name and phone has not left.
func (s *Server) createPerson(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	var req personRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	np := geo.NewPerson{Name: req.Name, Phone: req.Phone}
	if err := np.Check(); err != nil {
		return personFieldError(err)
	}
	now := s.cfg.Now().UTC()
	p, err := store.CreatePerson(c.Request.Context(), np, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.Header("Location", "/v1/people/"+strconv.FormatInt(p.ID, 10))
	c.JSON(http.StatusCreated, s.personJSONOut(c, p, now))
	return nil
}

// personFieldError turns NewPerson.Check's error ("name: …", "phone …")
// into a problem that names the member.
func personFieldError(err error) error {
	msg := geo.ErrorMessage(err)
	field := "phone"
	if strings.HasPrefix(msg, "name") {
		field = "name"
	}
	return invalidField(field, "%s", strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(msg, field), ":")))
}

// getPerson answers GET /v1/people/{id}[?at=]: the person with the roles
// held at at (default now), every assignment ever held, and their leave.
func (s *Server) getPerson(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	at, err := peopleQueryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	p, err := store.Person(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.personJSONOut(c, p, at))
	return nil
}

// listPeople answers GET /v1/people[?name=&role=&grid=&status=&at=&limit=
// &cursor=]: people by id, with the roles held at at (default now).
// status is active (the default), left or all.
func (s *Server) listPeople(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	f := geo.PeopleFilter{NameContains: geo.CleanName(c.Query("name")), Role: geo.Role(c.Query("role")),
		GridCode: c.Query("grid"), Status: geo.PersonActive, Limit: 50}
	if len(f.NameContains) > geo.MaxNameLen {
		return badParam("name", "at most %d bytes", geo.MaxNameLen)
	}
	if f.Role != "" && !f.Role.Valid() {
		return badParam("role", "got %q, want leader, deputy, member, liaison_leader or duty_desk", truncate(string(f.Role)))
	}
	if f.GridCode != "" && geo.ValidateGridCode(f.GridCode, "") != nil {
		return badParam("grid", "got %q, want a 15-digit grid code", truncate(f.GridCode))
	}
	switch st := c.DefaultQuery("status", geo.PersonActive); st {
	case geo.PersonActive, geo.PersonLeft:
		f.Status = st
	case "all":
		f.Status = ""
	default:
		return badParam("status", "got %q, want active, left or all", truncate(st))
	}
	if f.At, err = peopleQueryTime(c, "at", s.cfg.Now().UTC()); err != nil {
		return err
	}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 500 {
			return badParam("limit", "got %q, want 1..500", truncate(raw))
		}
		f.Limit = n
	}
	if f.After, err = queryCursor(c); err != nil {
		return err
	}
	list, next, err := store.People(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]personOut, len(list))
	for i, p := range list {
		out[i] = s.personJSONOut(c, p, f.At)
	}
	cursor := encodeCursor(next)
	c.JSON(http.StatusOK, gin.H{"people": out, "next_cursor": cursor})
	return nil
}

// personPatch is the body of PATCH /v1/people/{id}: members present
// change. status "left" ends the person at ended_at (default now) with
// every assignment they hold; a person who left does not come back (a
// returning cadre is registered again, so the history stays true).
type personPatch struct {
	Name    *string `json:"name"`
	Phone   *string `json:"phone"`
	Status  *string `json:"status"`
	EndedAt *string `json:"ended_at"`
}

// updatePerson answers PATCH /v1/people/{id} (admin).
func (s *Server) updatePerson(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req personPatch
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	u := geo.PersonUpdate{Name: req.Name, Phone: req.Phone}
	if req.Name != nil {
		if n := geo.CleanName(*req.Name); n == "" || len(n) > geo.MaxNameLen {
			return invalidField("name", "required, at most %d bytes", geo.MaxNameLen)
		}
	}
	if req.Phone != nil {
		if strings.TrimSpace(*req.Phone) == "" {
			return invalidField("phone", "required, a mainland mobile or landline")
		}
		if _, err := geo.NormalizePhone(*req.Phone); err != nil {
			return personFieldError(err)
		}
	}
	switch {
	case req.Status == nil && req.EndedAt != nil:
		return invalidField("ended_at", "only with \"status\": \"left\"")
	case req.Status == nil:
	case *req.Status == geo.PersonLeft:
		raw := ""
		if req.EndedAt != nil {
			raw = *req.EndedAt
		}
		if u.End, err = peopleTime("ended_at", raw, now); err != nil {
			return err
		}
		if err := notLater("ended_at", u.End, now); err != nil {
			return err
		}
	case *req.Status == geo.PersonActive:
		if req.EndedAt != nil {
			return invalidField("ended_at", "only with \"status\": \"left\"")
		}
		u.StayActive = true
	default:
		return invalidField("status", "got %q, want left (or active, which changes nothing)", truncate(*req.Status))
	}
	p, err := store.UpdatePerson(c.Request.Context(), id, u, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.JSON(http.StatusOK, s.personJSONOut(c, p, now))
	return nil
}

// leaveRequest is the body of POST /v1/people/{id}/leave.
type leaveRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Note string `json:"note"`
}

// addLeave answers POST /v1/people/{id}/leave (admin): 201 with the leave.
// Dispatch routes past the person for exactly [from, to). Overlapping
// leave of the same person is 409 naming the other period, not merged:
// merging would silently change what the office entered.
func (s *Server) addLeave(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req leaveRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var l geo.Leave
	if strings.TrimSpace(req.From) == "" {
		return invalidField("from", "required")
	}
	if strings.TrimSpace(req.To) == "" {
		return invalidField("to", "required")
	}
	if l.From, err = peopleTime("from", req.From, time.Time{}); err != nil {
		return err
	}
	if l.To, err = peopleTime("to", req.To, time.Time{}); err != nil {
		return err
	}
	if !l.To.After(l.From) {
		return invalidField("to", "%s is not after from (%s)", l.To.Format(time.RFC3339), l.From.Format(time.RFC3339))
	}
	if l.To.Sub(l.From) > geo.MaxLeave {
		return invalidField("to", "a leave lasts at most two years: a longer absence is a vacancy (appoint someone else)")
	}
	if l.Note = strings.TrimSpace(req.Note); len(l.Note) > 1000 {
		return invalidField("note", "at most 1000 bytes")
	}
	out, err := store.AddLeave(c.Request.Context(), id, l, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.Header("Location", "/v1/people/"+strconv.FormatInt(id, 10))
	c.JSON(http.StatusCreated, leaveJSON(*out))
	return nil
}

// deleteLeave answers DELETE /v1/people/{id}/leave/{leave} (admin): a leave
// entered by mistake goes; the audit log keeps what it was.
func (s *Server) deleteLeave(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	leaveID, err := pathID(c, "leave")
	if err != nil {
		return err
	}
	if err := store.DeleteLeave(c.Request.Context(), id, leaveID, callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.peopleReload(c)
	c.Status(http.StatusNoContent)
	return nil
}
