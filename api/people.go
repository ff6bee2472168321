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
func (s *Server) peopleRoutes(v1 router) {
	people := endpoint{needs: needPeople}
	v1.GET("/grids/:code/people", endpoint{needs: needPeople, query: read("at")}, s.gridPeople)
	v1.GET("/rosters/template.xlsx", endpoint{}, s.rosterTemplate)

	reader := v1.with(s.require(geo.AccessDispatcher))
	reader.GET("/people", endpoint{needs: needPeople, query: append(read("name", "role", "grid", "status", "at", "limit"), pCursor)}, s.listPeople)
	reader.GET("/people/:id", endpoint{needs: needPeople, query: read("at")}, s.getPerson)
	reader.GET("/staffing", endpoint{query: read("kinds")}, s.staffing)

	admin := v1.with(s.require(geo.AccessAdmin))
	admin.POST("/people", people, withBody(s.createPerson))
	admin.PATCH("/people/:id", people, withBody(s.updatePerson))
	admin.POST("/people/:id/leave", people, withBody(s.addLeave))
	admin.DELETE("/people/:id/leave/:leave", people, s.deleteLeave)
	vacating := endpoint{needs: needPeople, query: []param{pVacateAt}}
	for _, r := range []struct {
		path string
		role geo.Role
	}{
		{"/grids/:code/leader", geo.RoleLeader},
		{"/grids/:code/deputy", geo.RoleDeputy},
		{"/villages/:code/liaison-leader", geo.RoleLiaisonLeader},
		{"/town/duty-desk", geo.RoleDutyDesk},
		{"/towns/:town/duty-desk", geo.RoleDutyDesk},
	} {
		admin.PUT(r.path, people, s.appoint(r.role))
		admin.DELETE(r.path, vacating, s.vacate(r.role))
	}
	admin.POST("/grids/:code/members", people, s.appoint(geo.RoleMember))
	admin.DELETE("/grids/:code/members/:person", vacating, s.vacate(geo.RoleMember))
	admin.POST("/rosters", endpoint{needs: needPeople, query: []param{pDryRun}}, s.importRoster)
}

// pVacateAt is ?at= of a vacancy: when the holder's assignment ends.
var pVacateAt = param{"at", func(c *gin.Context) error { _, err := queryTime(c, "at", time.Time{}); return err }}

// pDryRun is ?dry_run= of a roster import.
var pDryRun = param{"dry_run", func(c *gin.Context) error {
	if _, err := strconv.ParseBool(c.Query("dry_run")); err != nil {
		return badParam("dry_run", "got %q, want true or false", truncate(c.Query("dry_run")))
	}
	return nil
}}

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

// queryTime reads a time query parameter as geo.ParseTime does: RFC 3339,
// or a bare date meaning midnight China time; absent or blank gives def.
func queryTime(c *gin.Context, name string, def time.Time) (time.Time, error) {
	raw := c.Query(name)
	if strings.TrimSpace(raw) == "" {
		return def, nil
	}
	t, ok := geo.ParseTime(raw)
	if !ok {
		return t, badParam(name, "got %q, want an RFC 3339 time or a date (YYYY-MM-DD)", truncate(raw))
	}
	return t, nil
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

// createPerson answers POST /v1/people (admin): 201 with the person; 409
// when a person of that name and phone has not left.
func (s *Server) createPerson(c *gin.Context, req *geo.NewPerson) error {
	if err := req.Check(); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	p, err := s.cfg.People.CreatePerson(c.Request.Context(), *req, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.Header("Location", "/v1/people/"+strconv.FormatInt(p.ID, 10))
	c.JSON(http.StatusCreated, s.personJSONOut(c, p, now))
	return nil
}

// getPerson answers GET /v1/people/{id}[?at=]: the person with the roles
// held at at (default now), every assignment ever held, and their leave.
func (s *Server) getPerson(c *gin.Context) error {
	store := s.cfg.People
	id := pathInt(c, "id")
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
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
	var err error
	store := s.cfg.People
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
	if f.At, err = queryTime(c, "at", s.cfg.Now().UTC()); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c, 50, 500); err != nil {
		return err
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

// updatePerson answers PATCH /v1/people/{id} (admin): see
// geo.PersonPatch.
func (s *Server) updatePerson(c *gin.Context, req *geo.PersonPatch) error {
	now := s.cfg.Now().UTC()
	u, err := req.Check(now)
	if err != nil {
		return err
	}
	p, err := s.cfg.People.UpdatePerson(c.Request.Context(), pathInt(c, "id"), u, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.JSON(http.StatusOK, s.personJSONOut(c, p, now))
	return nil
}

// addLeave answers POST /v1/people/{id}/leave (admin): 201 with the leave.
// Dispatch routes past the person for exactly [from, to). Overlapping
// leave of the same person is 409 naming the other period, not merged:
// merging would silently change what the office entered.
func (s *Server) addLeave(c *gin.Context, req *geo.LeaveRequest) error {
	id := pathInt(c, "id")
	l, err := req.Check()
	if err != nil {
		return err
	}
	out, err := s.cfg.People.AddLeave(c.Request.Context(), id, l, callerName(c), s.cfg.Now().UTC())
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
	store := s.cfg.People
	id := pathInt(c, "id")
	leaveID := pathInt(c, "leave")
	if err := store.DeleteLeave(c.Request.Context(), id, leaveID, callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.peopleReload(c)
	c.Status(http.StatusNoContent)
	return nil
}
