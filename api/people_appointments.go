package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// appointmentOut is the answer to an appointment.
type appointmentOut struct {
	Appointment   assignmentOut   `json:"appointment"`
	PersonCreated bool            `json:"person_created"`
	Unchanged     bool            `json:"unchanged"`
	Ended         []assignmentOut `json:"ended"`
}

// appointmentScope reads the scope of role from the path: a grid code for
// grid roles, a village code for the liaison leader, nothing for the duty
// desk.
func appointmentScope(c *gin.Context, role geo.Role) (geo.Appointment, error) {
	a := geo.Appointment{Role: role}
	switch role {
	case geo.RoleLeader, geo.RoleDeputy, geo.RoleMember:
		a.GridCode = c.Param("code")
		if geo.ValidateGridCode(a.GridCode, "") != nil {
			return a, badParam("code", "got %q, want a 15-digit grid code", truncate(a.GridCode))
		}
	case geo.RoleLiaisonLeader:
		a.VillageCode = c.Param("code")
		if geo.ValidateVillageCode(a.VillageCode) != nil {
			return a, badParam("code", "got %q, want a 12-digit village code", truncate(a.VillageCode))
		}
	case geo.RoleDutyDesk:
		// /v1/towns/{town}/duty-desk; /v1/town/duty-desk is the only
		// town's (the store refuses it when there are several).
		a.TownCode = c.Param("town")
	}
	return a, nil
}

// appoint answers the appointment endpoints (admin): the previous holder's
// assignment ends the same instant, in one transaction; of two concurrent
// appointments one is 409 (the database decides). Appointing the holder
// again is 200 with "unchanged": true.
func (s *Server) appoint(role geo.Role) handlerFunc {
	return withBody(func(c *gin.Context, req *geo.AppointmentRequest) error {
		scope, err := appointmentScope(c, role)
		if err != nil {
			return err
		}
		if err := s.townMayAppoint(c, scope); err != nil { // auth.go: a town's admin appoints in its town
			return err
		}
		now := s.cfg.Now().UTC()
		a, err := req.Check(scope, now)
		if err != nil {
			return err
		}
		res, err := s.cfg.People.Appoint(c.Request.Context(), a, callerName(c), now)
		if err != nil {
			return err
		}
		if !res.Unchanged {
			s.peopleReload(c)
		}
		personal := callerRole(c).SeesPersonalData()
		out := appointmentOut{Appointment: s.assignmentJSON(res.Assignment, true, personal), PersonCreated: res.PersonCreated,
			Unchanged: res.Unchanged, Ended: []assignmentOut{}}
		for _, e := range res.Ended {
			out.Ended = append(out.Ended, s.assignmentJSON(e, true, personal))
		}
		status := http.StatusOK
		if role == geo.RoleMember && !res.Unchanged {
			status = http.StatusCreated
		}
		c.JSON(status, out)
		return nil
	})
}

// vacate answers DELETE on the appointment endpoints (admin): the holder's
// assignment (for members, that of the person in the path) ends at ?at=
// (default now), leaving the role vacant.
func (s *Server) vacate(role geo.Role) handlerFunc {
	return func(c *gin.Context) error {
		store := s.cfg.People
		a, err := appointmentScope(c, role)
		if err != nil {
			return err
		}
		if err := s.townMayAppoint(c, a); err != nil { // auth.go: a town's admin vacates in its town
			return err
		}
		if role == geo.RoleMember {
			a.PersonID = pathInt(c, "person")
		}
		var now time.Time
		if a.From, now, err = s.vacancyTime(c); err != nil {
			return err
		}
		ended, err := store.Vacate(c.Request.Context(), a, callerName(c), now)
		if err != nil {
			return err
		}
		s.peopleReload(c)
		c.JSON(http.StatusOK, gin.H{"ended": s.assignmentJSON(*ended, true, callerRole(c).SeesPersonalData())})
		return nil
	}
}

// gridStaffOut is the answer of GET /v1/grids/{code}/people.
type gridStaffOut struct {
	Grid          gridStaffRef     `json:"grid"`
	At            time.Time        `json:"at"`
	Leader        *assignmentOut   `json:"leader"`
	Deputy        *assignmentOut   `json:"deputy"`
	Members       []*assignmentOut `json:"members"`
	LiaisonLeader *assignmentOut   `json:"liaison_leader"`
	// CoveredBy is who took the grid's new matters at At while its leader
	// or deputy was on leave (geo.Snapshot.CoverThen); CoverUnknown says
	// someone was away but the seats beyond the grid have changed since.
	CoveredBy    *assigneeJSON `json:"covered_by,omitempty"`
	CoverUnknown bool          `json:"covered_by_unknown,omitempty"`
}

type gridStaffRef struct {
	Code    string       `json:"code"`
	Name    string       `json:"name"`
	Village codeNameJSON `json:"village"`
}

// gridPeople answers GET /v1/grids/{code}/people[?at=]: who held each role
// of the grid at that moment (default now), from the database, with the
// leave in force then. Open to viewers like the grid itself, but phones
// and leave notes only for roles that see personal data.
func (s *Server) gridPeople(c *gin.Context) error {
	code, at, err := s.gridAt(c)
	if err != nil {
		return err
	}
	st, err := s.cfg.People.GridStaffAt(c.Request.Context(), code, at)
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	render := func(a *geo.Assignment) *assignmentOut {
		if a == nil {
			return nil
		}
		out := s.assignmentJSON(*a, true, personal)
		if l, ok := st.OnLeave[a.Person.ID]; ok {
			lo := leaveJSON(l)
			if !personal {
				// Why someone is away (sick, maternity) is personal.
				lo.ID, lo.Note = 0, ""
			}
			out.OnLeave = &lo
		}
		return &out
	}
	out := gridStaffOut{Grid: gridStaffRef{Code: st.GridCode, Name: st.GridName, Village: codeNameJSON{Code: st.VillageCode}},
		At: st.At, Leader: render(st.Leader), Deputy: render(st.Deputy), Members: []*assignmentOut{}, LiaisonLeader: render(st.LiaisonLeader)}
	snap := s.registry.Load()
	if v, ok := snap.Village(st.VillageCode); ok {
		out.Grid.Village.Name = v.Name
	}
	if g, ok := snap.Grid(code); ok {
		cover, known := snap.CoverThen(g, *st, at)
		out.CoverUnknown = !known
		if cover != nil {
			out.CoveredBy = &assigneeJSON{Role: cover.Role, Level: cover.Level, Name: cover.Name, Reason: cover.Reason}
			if personal {
				out.CoveredBy.Phone = cover.Phone
			}
		}
	}
	for i := range st.Members {
		out.Members = append(out.Members, render(&st.Members[i]))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// gridAt reads the {code} of a grid and ?at= (default now) of a question
// about who served the grid at a moment.
func (s *Server) gridAt(c *gin.Context) (code string, at time.Time, err error) {
	code = c.Param("code")
	if geo.ValidateGridCode(code, "") != nil {
		return "", at, badParam("code", "got %q, want a 15-digit grid code", truncate(code))
	}
	at, err = queryTime(c, "at", s.cfg.Now().UTC())
	return code, at, err
}

// vacancyTime reads ?at= of a vacancy: when the holder's seat ends
// (default now, never in the future), and now.
func (s *Server) vacancyTime(c *gin.Context) (at, now time.Time, err error) {
	now = s.cfg.Now().UTC()
	if at, err = queryTime(c, "at", now); err != nil {
		return at, now, err
	}
	if why := geo.FutureChange(at, now); why != "" {
		return at, now, badParam("at", "%s", why)
	}
	return at, now, nil
}
