package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// structureRoutes registers the working structure (geo/structure.go):
// the 片区 as working bodies (a 党工委 with a secretary and members) and the
// 联村 / 驻村 work teams with their leader, members and villages. Who sits
// where is public like the grids' people, phones only for roles that see
// personal data; only admins (of the town, for a town's token) write.
func (s *Server) structureRoutes(v1 router) {
	v1.GET("/towns/:town/districts", endpoint{needs: needPeople, query: []param{pAt}}, s.listDistricts)
	v1.GET("/towns/:town/districts/:district", endpoint{needs: needPeople, query: []param{pAt}}, s.getDistrict)
	v1.GET("/teams", endpoint{needs: needPeople, query: []param{pAt, pTeamTown, pTeamVillage, pTeamStatus}}, s.listTeams)
	v1.GET("/teams/:id", endpoint{needs: needPeople, query: []param{pAt}}, s.getTeam)
	v1.GET("/villages/:code/teams", endpoint{needs: needPeople, query: []param{pAt}}, s.villageTeams)

	admin := v1.with(s.require(geo.AccessAdmin))
	body := endpoint{needs: needPeople}
	vacating := endpoint{needs: needPeople, query: []param{pVacateAt}}
	admin.PUT("/towns/:town/districts/:district/secretary", body, s.appointSeat(geo.SeatSecretary, false))
	admin.DELETE("/towns/:town/districts/:district/secretary", vacating, s.vacateSeat(geo.SeatSecretary, false))
	admin.POST("/towns/:town/districts/:district/members", body, s.appointSeat(geo.SeatMember, false))
	admin.DELETE("/towns/:town/districts/:district/members/:person", vacating, s.vacateSeat(geo.SeatMember, false))
	admin.POST("/teams", body, withBody(s.createTeam))
	admin.PATCH("/teams/:id", body, withBody(s.updateTeam))
	admin.PUT("/teams/:id/leader", body, s.appointSeat(geo.SeatLeader, true))
	admin.DELETE("/teams/:id/leader", vacating, s.vacateSeat(geo.SeatLeader, true))
	admin.POST("/teams/:id/members", body, s.appointSeat(geo.SeatMember, true))
	admin.DELETE("/teams/:id/members/:person", vacating, s.vacateSeat(geo.SeatMember, true))
	admin.POST("/teams/:id/villages", body, withBody(s.coverVillage))
	admin.DELETE("/teams/:id/villages/:code", vacating, s.uncoverVillage)
}

// Query parameters of GET /v1/teams.
var (
	pTeamTown = param{"town", func(c *gin.Context) error {
		if geo.ValidateTownCode(c.Query("town")) != nil {
			return badParam("town", "got %q, want a 9-digit town code", truncate(c.Query("town")))
		}
		return nil
	}}
	pTeamVillage = param{"village", func(c *gin.Context) error {
		if geo.ValidateVillageCode(c.Query("village")) != nil {
			return badParam("village", "got %q, want a 12-digit village code", truncate(c.Query("village")))
		}
		return nil
	}}
	pTeamStatus = param{"status", func(c *gin.Context) error {
		if v := c.Query("status"); v != "active" && v != "ended" {
			return badParam("status", "got %q, want active or ended", truncate(v))
		}
		return nil
	}}
)

// structure returns the store of the structure: the people store's, when
// it keeps it too.
func (s *Server) structure() (geo.StructureStore, error) {
	st, ok := s.cfg.People.(geo.StructureStore)
	if !ok {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "districts and work teams are not available on this server")
	}
	return st, nil
}

// seatOut is a seat as sent: the phone only to roles that see personal
// data.
type seatOut struct {
	ID     int64         `json:"id"`
	Role   string        `json:"role"`
	Person *personRefOut `json:"person"`
	From   time.Time     `json:"from"`
	To     *time.Time    `json:"to"`
}

func seatJSON(st geo.Seat, personal bool) seatOut {
	return seatOut{ID: st.ID, Role: st.Role, Person: personRef(st.Person, personal), From: st.From, To: timePtr(st.To)}
}

func seatPtr(st *geo.Seat, personal bool) *seatOut {
	if st == nil {
		return nil
	}
	out := seatJSON(*st, personal)
	return &out
}

func seatsJSON(seats []geo.Seat, personal bool) []seatOut {
	out := make([]seatOut, 0, len(seats))
	for _, st := range seats {
		out = append(out, seatJSON(st, personal))
	}
	return out
}

// districtOut is a 片区 as a working body at a moment.
type districtOut struct {
	Town      codeNameJSON   `json:"town"`
	Code      string         `json:"code"`
	Name      string         `json:"name"`
	Retired   bool           `json:"retired"`
	At        time.Time      `json:"at"`
	Villages  []codeNameJSON `json:"villages"`
	Secretary *seatOut       `json:"secretary"`
	Members   []seatOut      `json:"members"`
	History   []seatOut      `json:"history,omitempty"`
}

func (s *Server) districtJSON(d *geo.DistrictBody, personal bool) districtOut {
	out := districtOut{Town: codeNameJSON{Code: d.TownCode}, Code: d.Code, Name: d.Name, Retired: d.Retired, At: d.At,
		Villages: []codeNameJSON{}, Secretary: seatPtr(d.Secretary, personal), Members: seatsJSON(d.Members, personal)}
	if t, ok := s.registry.Load().TownOf(d.TownCode); ok {
		out.Town.Name = t.Name
	}
	for _, v := range d.Villages {
		out.Villages = append(out.Villages, codeNameJSON{Code: v.Code, Name: v.Name})
	}
	if d.History != nil {
		out.History = seatsJSON(d.History, personal)
	}
	return out
}

// teamVillageOut is a team's coverage of a village.
type teamVillageOut struct {
	ID      int64        `json:"id"`
	Team    teamRefOut   `json:"team"`
	Village codeNameJSON `json:"village"`
	From    time.Time    `json:"from"`
	To      *time.Time   `json:"to"`
}

type teamRefOut struct {
	ID   int64        `json:"id"`
	Name string       `json:"name"`
	Kind geo.TeamKind `json:"kind"`
}

func coverageJSON(c geo.TeamVillage) teamVillageOut {
	return teamVillageOut{ID: c.ID, Team: teamRefOut{ID: c.TeamID, Name: c.TeamName, Kind: c.TeamKind},
		Village: codeNameJSON{Code: c.VillageCode, Name: c.VillageName}, From: c.From, To: timePtr(c.To)}
}

func coveragesJSON(cs []geo.TeamVillage) []teamVillageOut {
	out := make([]teamVillageOut, 0, len(cs))
	for _, c := range cs {
		out = append(out, coverageJSON(c))
	}
	return out
}

// teamOut is a work team at a moment.
type teamOut struct {
	ID             int64            `json:"id"`
	Town           string           `json:"town"`
	Kind           geo.TeamKind     `json:"kind"`
	Name           string           `json:"name"`
	Status         string           `json:"status"`
	CreatedAt      time.Time        `json:"created_at"`
	EndedAt        *time.Time       `json:"ended_at"`
	At             time.Time        `json:"at"`
	Leader         *seatOut         `json:"leader"`
	Members        []seatOut        `json:"members"`
	Villages       []teamVillageOut `json:"villages"`
	History        []seatOut        `json:"history,omitempty"`
	VillageHistory []teamVillageOut `json:"village_history,omitempty"`
}

func teamJSON(t *geo.WorkTeam, personal bool) teamOut {
	out := teamOut{ID: t.ID, Town: t.TownCode, Kind: t.Kind, Name: t.Name, Status: "active", CreatedAt: t.CreatedAt,
		EndedAt: timePtr(t.EndedAt), At: t.At, Leader: seatPtr(t.Leader, personal), Members: seatsJSON(t.Members, personal),
		Villages: coveragesJSON(t.Villages)}
	if !t.EndedAt.IsZero() && !t.At.Before(t.EndedAt) {
		out.Status = "ended"
	}
	if t.History != nil {
		out.History = seatsJSON(t.History, personal)
	}
	if t.VillageHistory != nil {
		out.VillageHistory = coveragesJSON(t.VillageHistory)
	}
	return out
}

// listDistricts answers GET /v1/towns/{town}/districts[?at=]: the town's
// districts with their villages, secretary and members at that moment.
func (s *Server) listDistricts(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	town, err := s.pathTown(c)
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	ds, err := st.Districts(c.Request.Context(), town, at)
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	out := make([]districtOut, 0, len(ds))
	for _, d := range ds {
		out = append(out, s.districtJSON(d, personal))
	}
	c.JSON(http.StatusOK, gin.H{"town": town, "at": at.UTC(), "districts": out})
	return nil
}

// getDistrict answers GET /v1/towns/{town}/districts/{district}[?at=]:
// who was its secretary and who its members at that moment (default now),
// and every seat it ever had.
func (s *Server) getDistrict(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	town, err := s.pathTown(c)
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	d, err := st.District(c.Request.Context(), town, c.Param("district"), at)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.districtJSON(d, callerRole(c).SeesPersonalData()))
	return nil
}

// pathTown is the {town} of the path: a town of the deployment.
func (s *Server) pathTown(c *gin.Context) (string, error) {
	town := c.Param("town")
	if _, ok := s.registry.Load().TownOf(town); !ok {
		return "", problemf(TypeNotFound, http.StatusNotFound, "no town %s", town)
	}
	return town, nil
}

// seatScope reads the body of a seat from the path and checks that the
// caller may change it: a district of {town}, or team {id} (read, for its
// town).
func (s *Server) seatScope(c *gin.Context, st geo.StructureStore, role string, team bool) (geo.SeatAppointment, error) {
	a := geo.SeatAppointment{Role: role}
	if team {
		a.TeamID = pathInt(c, "id")
		t, err := st.Team(c.Request.Context(), a.TeamID, s.cfg.Now().UTC())
		if err != nil {
			return a, err
		}
		a.TownCode = t.TownCode
	} else {
		town, err := s.pathTown(c)
		if err != nil {
			return a, err
		}
		a.TownCode, a.District = town, c.Param("district")
	}
	if !callerTown(c).Covers(a.TownCode) {
		return a, s.outsideTown(c, a.Target(), a.TownCode)
	}
	return a, nil
}

// seatResultOut is the answer to an appointment to a seat.
type seatResultOut struct {
	Seat          seatOut   `json:"seat"`
	PersonCreated bool      `json:"person_created"`
	Unchanged     bool      `json:"unchanged"`
	Ended         []seatOut `json:"ended"`
}

// appointSeat answers PUT …/secretary, PUT …/leader and POST …/members
// (admin): the previous secretary's (leader's) seat ends the same instant,
// and so does the person's other seat on the same body.
func (s *Server) appointSeat(role string, team bool) handlerFunc {
	return withBody(func(c *gin.Context, req *geo.SeatRequest) error {
		st, err := s.structure()
		if err != nil {
			return err
		}
		scope, err := s.seatScope(c, st, role, team)
		if err != nil {
			return err
		}
		now := s.cfg.Now().UTC()
		a, err := req.CheckSeat(scope, now)
		if err != nil {
			return err
		}
		res, err := st.AppointSeat(c.Request.Context(), a, callerName(c), now)
		if err != nil {
			return err
		}
		if !res.Unchanged {
			s.peopleReload(c)
		}
		personal := callerRole(c).SeesPersonalData()
		status := http.StatusOK
		if role == geo.SeatMember && !res.Unchanged {
			status = http.StatusCreated
		}
		c.JSON(status, seatResultOut{Seat: seatJSON(res.Seat, personal), PersonCreated: res.PersonCreated, Unchanged: res.Unchanged,
			Ended: seatsJSON(res.Ended, personal)})
		return nil
	})
}

// vacateSeat answers DELETE on the seat endpoints (admin): the seat ends
// at ?at= (default now).
func (s *Server) vacateSeat(role string, team bool) handlerFunc {
	return func(c *gin.Context) error {
		st, err := s.structure()
		if err != nil {
			return err
		}
		a, err := s.seatScope(c, st, role, team)
		if err != nil {
			return err
		}
		if role == geo.SeatMember {
			a.PersonID = pathInt(c, "person")
		}
		var now time.Time
		if a.From, now, err = s.vacancyTime(c); err != nil {
			return err
		}
		ended, err := st.VacateSeat(c.Request.Context(), a, callerName(c), now)
		if err != nil {
			return err
		}
		s.peopleReload(c)
		c.JSON(http.StatusOK, gin.H{"ended": seatJSON(*ended, callerRole(c).SeesPersonalData())})
		return nil
	}
}

// listTeams answers GET /v1/teams[?town=&village=&status=&at=]: the teams
// with their leader, members and villages at that moment.
func (s *Server) listTeams(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	town, err := s.scopedTown(c, c.Query("town"))
	if err != nil {
		return err
	}
	teams, err := st.Teams(c.Request.Context(), geo.TeamFilter{TownCode: town, VillageCode: c.Query("village"), Status: c.Query("status"), At: at})
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	out := make([]teamOut, 0, len(teams))
	for _, t := range teams {
		out = append(out, teamJSON(t, personal))
	}
	c.JSON(http.StatusOK, gin.H{"at": at.UTC(), "teams": out})
	return nil
}

// getTeam answers GET /v1/teams/{id}[?at=]: the team at that moment and
// its whole history (seats and villages).
func (s *Server) getTeam(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	t, err := st.Team(c.Request.Context(), pathInt(c, "id"), at)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, teamJSON(t, callerRole(c).SeesPersonalData()))
	return nil
}

// createTeam answers POST /v1/teams (admin): 201 with the new team.
func (s *Server) createTeam(c *gin.Context, req *geo.NewTeam) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	if req.Town == "" && callerTown(c) != "" {
		req.Town = string(callerTown(c))
	}
	if err := req.Check(s.registry.Load()); err != nil {
		return err
	}
	if !callerTown(c).Covers(req.Town) {
		return s.outsideTown(c, "a team", req.Town)
	}
	t, err := st.CreateTeam(c.Request.Context(), *req, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	c.Header("Location", "/v1/teams/"+strconv.FormatInt(t.ID, 10))
	c.JSON(http.StatusCreated, teamJSON(t, callerRole(c).SeesPersonalData()))
	return nil
}

// updateTeam answers PATCH /v1/teams/{id} (admin): rename, or disband
// ("status": "ended") ending its seats and coverage.
func (s *Server) updateTeam(c *gin.Context, req *geo.TeamPatch) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	u, err := req.Check(now)
	if err != nil {
		return err
	}
	if _, err := s.seatScope(c, st, "", true); err != nil {
		return err
	}
	t, err := st.UpdateTeam(c.Request.Context(), pathInt(c, "id"), u, callerName(c), now)
	if err != nil {
		return err
	}
	if !u.End.IsZero() {
		s.peopleReload(c)
	}
	c.JSON(http.StatusOK, teamJSON(t, callerRole(c).SeesPersonalData()))
	return nil
}

// coverVillage answers POST /v1/teams/{id}/villages (admin): the team
// covers the village from "from" (default now); the team that covered it
// before stops then (listed in "ended").
func (s *Server) coverVillage(c *gin.Context, req *geo.CoverRequest) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	scope, err := s.seatScope(c, st, "", true)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	village, from, err := req.Check(s.registry.Load(), scope.TownCode, now)
	if err != nil {
		return err
	}
	cov, ended, err := st.CoverVillage(c.Request.Context(), scope.TeamID, village, from, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.JSON(http.StatusCreated, gin.H{"coverage": coverageJSON(*cov), "ended": coveragesJSON(ended)})
	return nil
}

// uncoverVillage answers DELETE /v1/teams/{id}/villages/{code} (admin):
// the team stops covering the village at ?at= (default now).
func (s *Server) uncoverVillage(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	scope, err := s.seatScope(c, st, "", true)
	if err != nil {
		return err
	}
	village := c.Param("code")
	if geo.ValidateVillageCode(village) != nil {
		return badParam("code", "got %q, want a 12-digit village code", truncate(village))
	}
	now := s.cfg.Now().UTC()
	at, err := queryTime(c, "at", now)
	if err != nil {
		return err
	}
	if why := geo.FutureChange(at, now); why != "" {
		return badParam("at", "%s", why)
	}
	cov, err := st.UncoverVillage(c.Request.Context(), scope.TeamID, village, at, callerName(c), now)
	if err != nil {
		return err
	}
	s.peopleReload(c)
	c.JSON(http.StatusOK, gin.H{"ended": coverageJSON(*cov)})
	return nil
}

// villageTeams answers GET /v1/villages/{code}/teams[?at=]: every team
// that covered the village, newest first, and the one covering it at
// that moment (default now; null when none).
func (s *Server) villageTeams(c *gin.Context) error {
	st, err := s.structure()
	if err != nil {
		return err
	}
	village := c.Param("code")
	if geo.ValidateVillageCode(village) != nil {
		return badParam("code", "got %q, want a 12-digit village code", truncate(village))
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	cov, err := st.VillageTeams(c.Request.Context(), village)
	if err != nil {
		return err
	}
	var current *teamVillageOut
	if t := geo.TeamAt(cov, at); t != nil {
		o := coverageJSON(*t)
		current = &o
	}
	c.JSON(http.StatusOK, gin.H{"village": village, "at": at.UTC(), "team": current, "history": coveragesJSON(cov)})
	return nil
}
