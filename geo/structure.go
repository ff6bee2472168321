package geo

import (
	"context"
	"strings"
	"time"
)

// This file is the working structure of a township above its grids and
// villages (issue #13): the 片区 (districts) as working bodies — a 片区党工委
// with a secretary and members — and the 联村 / 驻村 work teams (工作组) of
// town cadres that cover villages. Both keep their people with history,
// like the grids' appointments: a seat is held over [From, To), and "who
// held it on that date" is answered from the record.
//
// In routing, a village whose liaison leader is missing or away falls to
// the leader of the team covering it (at the village level); and, when
// the server is set to (DispatchConfig.ViaDistrict), an escalation from
// the village goes to the district's secretary before the town duty desk.

// Roles of the structure, as recorded on incidents (district_secretary,
// team_leader) and as held by people signed in.
const (
	// RoleDistrictSecretary is the secretary of a 片区党工委: the step
	// between the village and the town when escalation goes through
	// districts. An incident with them is at LevelTown (出村).
	RoleDistrictSecretary Role = "district_secretary"
	// RoleDistrictMember sits on a 片区党工委.
	RoleDistrictMember Role = "district_member"
	// RoleTeamLeader leads a work team: the village step of the chain
	// when the village has no liaison leader on duty (LevelVillage).
	RoleTeamLeader Role = "team_leader"
	// RoleTeamMember is a member of a work team.
	RoleTeamMember Role = "team_member"
)

// Seat roles within a district body or a team, as stored.
const (
	SeatSecretary = "secretary"
	SeatLeader    = "leader"
	SeatMember    = "member"
)

// TeamKind is the kind of a work team.
type TeamKind string

// Kinds of work teams.
const (
	TeamLiaison  TeamKind = "liaison"  // 联村工作组: town cadres following villages
	TeamResident TeamKind = "resident" // 驻村工作组: cadres stationed in villages
)

// TeamKinds lists the kinds of work teams.
var TeamKinds = []TeamKind{TeamLiaison, TeamResident}

// Limits of the structure's text.
const (
	MaxTeamNameBytes   = 200
	MaxDistrictCodeLen = 20
)

// ValidDistrictCode reports whether code can be a district code: 1 to 20
// ASCII letters, digits, '-' or '_' (the demo town numbers its 片区 "01",
// "02", "03"). Codes are numbered within a town.
func ValidDistrictCode(code string) bool {
	if code == "" || len(code) > MaxDistrictCodeLen {
		return false
	}
	return !strings.ContainsFunc(code, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_')
	})
}

// TeamOnDuty is the work team covering a village at a snapshot's time,
// with its leader then (nil when the team has none).
type TeamOnDuty struct {
	ID     int64
	Name   string
	Kind   TeamKind
	Leader *Contact
}

// Seat is a person's place on a district body or a work team, held over
// [From, To) (To zero while held).
type Seat struct {
	ID     int64
	Person Person
	// Role is secretary or member (district), leader or member (team).
	Role string
	From time.Time
	To   time.Time
}

// Active reports whether s is held at t.
func (s *Seat) Active(t time.Time) bool {
	return !t.Before(s.From) && (s.To.IsZero() || t.Before(s.To))
}

// CodeName is a village (or other coded thing) by code and name.
type CodeName struct {
	Code string
	Name string
}

// DistrictBody is a 片区 as a working body at a moment: its villages then
// (villages that have not left the town), its secretary and members then,
// and (from DistrictStore.District) every seat it ever had.
type DistrictBody struct {
	TownCode string
	Code     string
	Name     string
	Retired  bool
	At       time.Time
	Villages []CodeName
	// Secretary is nil when the seat is vacant at At.
	Secretary *Seat
	Members   []Seat
	// History is every seat, newest first (District only).
	History []Seat
}

// WorkTeam is a 联村 / 驻村 work team at a moment: its leader, members and
// villages then and, from Team, its whole history.
type WorkTeam struct {
	ID        int64
	TownCode  string
	Kind      TeamKind
	Name      string
	CreatedAt time.Time
	// EndedAt is set once the team is disbanded; teams are ended, not
	// deleted.
	EndedAt  time.Time
	At       time.Time
	Leader   *Seat
	Members  []Seat
	Villages []TeamVillage
	// History and VillageHistory are every seat and every coverage, newest
	// first (Team only).
	History        []Seat
	VillageHistory []TeamVillage
}

// TeamVillage is a team's coverage of a village over [From, To).
type TeamVillage struct {
	ID          int64
	TeamID      int64
	TeamName    string
	TeamKind    TeamKind
	VillageCode string
	VillageName string
	From        time.Time
	To          time.Time
}

// SeatAppointment names a seat (a district's secretary or member, a
// team's leader or member), who takes it (PersonID, or the person of Name
// and Phone who has not left, created if there is none) and from when.
type SeatAppointment struct {
	Role        string
	TownCode    string
	District    string
	TeamID      int64
	PersonID    int64
	Name, Phone string
	From        time.Time
}

// Target names the body of a for the audit log: "district:TOWN/CODE" or
// "team:ID".
func (a *SeatAppointment) Target() string {
	if a.TeamID != 0 {
		return "team:" + itoa(a.TeamID)
	}
	return "district:" + a.TownCode + "/" + a.District
}

// SeatResult is what an appointment to a seat did.
type SeatResult struct {
	Seat          Seat
	PersonCreated bool
	Unchanged     bool
	// Ended are the seats that ended at the appointment's start (the
	// previous secretary or leader, or the person's other seat on the
	// same body).
	Ended []Seat
}

// NewTeam is a work team to create, as a request gives it.
type NewTeam struct {
	Town string `json:"town"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Check validates and normalises t against snap's towns (a one-town
// deployment's town when Town is empty).
func (t *NewTeam) Check(snap *Snapshot) error {
	var ps problemList
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > MaxTeamNameBytes {
		ps.add("name", "required, at most %d bytes", MaxTeamNameBytes)
	}
	if t.Kind == "" {
		t.Kind = string(TeamLiaison)
	}
	if !validTeamKind(TeamKind(t.Kind)) {
		ps.add("kind", "got %q, want one of %v", Clip(t.Kind), TeamKinds)
	}
	switch {
	case t.Town == "" && snap != nil && len(snap.Towns) == 1:
		t.Town = snap.Towns[0].Code
	case t.Town == "":
		ps.add("town", "required: the 9-digit code of the team's town")
	case ValidateTownCode(t.Town) != nil:
		ps.add("town", "got %q, want a 9-digit town code", Clip(t.Town))
	case snap != nil:
		if _, ok := snap.TownOf(t.Town); !ok || TownCodeOf(t.Town) != t.Town {
			ps.add("town", "no town %s", t.Town)
		}
	}
	return ps.err()
}

func validTeamKind(k TeamKind) bool { return k == TeamLiaison || k == TeamResident }

// TeamPatch is a change to a team as a request gives it: a new name, or
// "status": "ended" (at ended_at, default now) to disband it, which ends
// its seats and coverage at that instant.
type TeamPatch struct {
	Name    *string `json:"name"`
	Status  *string `json:"status"`
	EndedAt *string `json:"ended_at"`
}

// TeamUpdate is a checked TeamPatch.
type TeamUpdate struct {
	Name *string
	End  time.Time
}

// Check returns the update r asks for at now.
func (r TeamPatch) Check(now time.Time) (TeamUpdate, error) {
	var ps problemList
	var u TeamUpdate
	if r.Name != nil {
		n := strings.TrimSpace(*r.Name)
		if n == "" || len(n) > MaxTeamNameBytes {
			ps.add("name", "required, at most %d bytes", MaxTeamNameBytes)
		}
		u.Name = &n
	}
	switch {
	case r.EndedAt != nil && (r.Status == nil || *r.Status != "ended"):
		ps.add("ended_at", `only with "status": "ended"`)
	case r.Status == nil:
	case *r.Status == "ended":
		raw := ""
		if r.EndedAt != nil {
			raw = *r.EndedAt
		}
		u.End = ps.time("ended_at", raw, now)
		ps.notLater("ended_at", u.End, now)
	default:
		ps.add("status", "got %q, want ended", Clip(*r.Status))
	}
	if r.Name == nil && r.Status == nil {
		ps.add("name", "nothing to change: give name, or status ended")
	}
	return u, ps.err()
}

// SeatRequest is who takes a seat and from when: AppointmentRequest.
type SeatRequest = AppointmentRequest

// CheckSeat returns the appointment r asks for to seat (its role and body
// set) at now.
func (r SeatRequest) CheckSeat(seat SeatAppointment, now time.Time) (SeatAppointment, error) {
	a, err := r.Check(Appointment{}, now)
	seat.PersonID, seat.Name, seat.Phone, seat.From = a.PersonID, a.Name, a.Phone, a.From
	return seat, err
}

// CoverRequest puts a village under a team from a time (default now).
type CoverRequest struct {
	Village string `json:"village"`
	From    string `json:"from"`
}

// Check returns the village and the start, checked against snap (the
// village must be current and in town).
func (r CoverRequest) Check(snap *Snapshot, town string, now time.Time) (string, time.Time, error) {
	var ps problemList
	switch {
	case r.Village == "":
		ps.add("village", "required: a 12-digit village code")
	case ValidateVillageCode(r.Village) != nil:
		ps.add("village", "got %q, want a 12-digit village code", Clip(r.Village))
	case TownCodeOf(r.Village) != town:
		ps.add("village", "village %s is not in the team's town %s", r.Village, town)
	case snap != nil:
		if _, ok := snap.Village(r.Village); !ok {
			ps.add("village", "no current village %s", r.Village)
		}
	}
	from := ps.time("from", r.From, now)
	ps.notLater("from", from, now)
	return r.Village, from, ps.err()
}

// TeamFilter selects teams: of a town, covering a village at At, ended or
// not (Status active, ended, or "" for both).
type TeamFilter struct {
	TownCode    string
	VillageCode string
	Status      string
	At          time.Time
}

// StructureStore keeps the districts' bodies and the work teams. Writes
// take the actor (recorded in the audit log in the same transaction) and
// now, and announce themselves like appointments, so that every replica
// reloads the snapshot dispatch routes from. Every method returns
// EUNAVAILABLE when the database cannot be reached.
type StructureStore interface {
	// Districts lists the districts of town (every town's when "") with
	// their villages, secretary and members at at.
	Districts(ctx context.Context, town string, at time.Time) ([]*DistrictBody, error)
	// District returns one district at at with its whole history.
	// ENOTFOUND when there is no such district.
	District(ctx context.Context, town, code string, at time.Time) (*DistrictBody, error)
	// AppointSeat seats a person on a district's body or a team from
	// a.From: the secretary's (leader's) seat is held by one person at a
	// time, so the holder's seat ends that instant, and so does the
	// person's other seat on the same body. Seating the holder again
	// changes nothing (Unchanged). ENOTFOUND for an unknown or retired
	// district, an unknown or ended team; EINVALID for an unknown person;
	// ECONFLICT when the person has left, or the seats overlap.
	AppointSeat(ctx context.Context, a SeatAppointment, actor string, now time.Time) (*SeatResult, error)
	// VacateSeat ends at a.From the seat of a.Role held then (for members,
	// that of a.PersonID). ENOTFOUND when nobody holds it; ECONFLICT when
	// it starts at or after a.From.
	VacateSeat(ctx context.Context, a SeatAppointment, actor string, now time.Time) (*Seat, error)

	// CreateTeam stores a new team (checked). ECONFLICT when a team of
	// that name works in the town.
	CreateTeam(ctx context.Context, t NewTeam, actor string, now time.Time) (*WorkTeam, error)
	// Teams lists the teams f selects with their leader, members and
	// villages at f.At, by id.
	Teams(ctx context.Context, f TeamFilter) ([]*WorkTeam, error)
	// Team returns a team at at with its whole history. ENOTFOUND if
	// unknown.
	Team(ctx context.Context, id int64, at time.Time) (*WorkTeam, error)
	// UpdateTeam renames or disbands a team. ENOTFOUND if unknown;
	// ECONFLICT when it is already ended or a seat or coverage starts at
	// or after the end.
	UpdateTeam(ctx context.Context, id int64, u TeamUpdate, actor string, now time.Time) (*WorkTeam, error)
	// CoverVillage puts village under team id from from. ENOTFOUND for an
	// unknown or ended team, or a village that is not current;
	// ECONFLICT when this team already covers it, or another's coverage
	// starts at or after from (the message names it).
	// The team covering it before (from before from) stops covering it
	// then, and is returned as ended.
	CoverVillage(ctx context.Context, id int64, village string, from time.Time, actor string, now time.Time) (*TeamVillage, []TeamVillage, error)
	// UncoverVillage ends at at team id's coverage of village.
	// ENOTFOUND when the team does not cover it then.
	UncoverVillage(ctx context.Context, id int64, village string, at time.Time, actor string, now time.Time) (*TeamVillage, error)
	// VillageTeams returns every coverage of a village, newest first: the
	// team covering it at a past date is the one whose period holds it.
	VillageTeams(ctx context.Context, village string) ([]TeamVillage, error)
}

// TeamAt returns the coverage in force at t among cov, or nil.
func TeamAt(cov []TeamVillage, t time.Time) *TeamVillage {
	for i := range cov {
		c := &cov[i]
		if !t.Before(c.From) && (c.To.IsZero() || t.Before(c.To)) {
			return c
		}
	}
	return nil
}

// districtSecretary is the secretary of the district of g's village at
// the snapshot's time, and the district's name; nil when the village has
// no district or the seat is vacant.
func (s *Snapshot) districtSecretary(g *GridRecord) (*Contact, string) {
	if g == nil {
		return nil, ""
	}
	v, ok := s.Village(g.VillageCode)
	if !ok || v.DistrictCode == "" {
		return nil, ""
	}
	d, ok := s.VillageDistrict(v)
	if !ok {
		return nil, ""
	}
	return d.Secretary, d.Name
}

// villageStep is the village step of the fallback chain for g: the
// village's liaison leader unless missing or on leave, then the leader of
// the work team covering the village unless missing or on leave. It adds
// what it skipped to skipped.
func (s *Snapshot) villageStep(g *GridRecord, at time.Time, skipped *[]string) (Assignee, bool) {
	v, found := s.Village(g.VillageCode)
	if !found {
		return Assignee{}, false
	}
	switch p := v.LiaisonLeader; {
	case p == nil:
		*skipped = append(*skipped, "no village liaison leader")
	case p.OnLeave(at):
		*skipped = append(*skipped, "village liaison leader on leave")
	default:
		return Assignee{Role: RoleLiaisonLeader, Level: LevelVillage, Name: p.Name, Phone: p.Phone, Reason: reason(*skipped, "village liaison leader")}, true
	}
	t := v.WorkTeam
	if t == nil {
		// A village without a team says nothing more: the chain reads as
		// it always did.
		return Assignee{}, false
	}
	switch p := t.Leader; {
	case p == nil:
		*skipped = append(*skipped, "no work team leader")
	case p.OnLeave(at):
		*skipped = append(*skipped, "work team leader on leave")
	default:
		return Assignee{Role: RoleTeamLeader, Level: LevelVillage, Name: p.Name, Phone: p.Phone,
			Reason: reason(*skipped, "work team leader ("+t.Name+")")}, true
	}
	return Assignee{}, false
}

// districtStep is the district step: the secretary of g's district unless
// missing or on leave.
func (s *Snapshot) districtStep(g *GridRecord, at time.Time, skipped *[]string) (Assignee, bool) {
	p, name := s.districtSecretary(g)
	switch {
	case g == nil:
		return Assignee{}, false
	case p == nil:
		*skipped = append(*skipped, "no district secretary")
	case p.OnLeave(at):
		*skipped = append(*skipped, "district secretary on leave")
	default:
		what := "district secretary"
		if name != "" {
			what += " (" + name + ")"
		}
		return Assignee{Role: RoleDistrictSecretary, Level: LevelTown, Name: p.Name, Phone: p.Phone, Reason: reason(*skipped, what)}, true
	}
	return Assignee{}, false
}

// escalation is where an escalation of an incident now with from goes:
// one step up the chain grid → village → (片区, when viaDistrict) → town,
// the district secretary's step going to the town. ok is false when
// there is no higher step or nobody to take it.
func (s *Snapshot) escalation(town string, g *GridRecord, from Assignee, at time.Time, viaDistrict bool) (Assignee, bool) {
	switch {
	case from.Role == RoleDistrictSecretary:
		return s.assignDesk(town, g, nil, at)
	case from.Level >= LevelTown:
		return Assignee{}, false
	case from.Level == LevelVillage && viaDistrict:
		var skipped []string
		if a, ok := s.districtStep(g, at, &skipped); ok {
			return a, true
		}
		return s.assignDesk(town, g, skipped, at)
	case from.Level == LevelGrid && viaDistrict:
		// Nobody at the village: the district before the town.
		var skipped []string
		if g != nil {
			if a, ok := s.villageStep(g, at, &skipped); ok {
				return a, true
			}
			if a, ok := s.districtStep(g, at, &skipped); ok {
				return a, true
			}
		}
		return s.assignDesk(town, g, skipped, at)
	}
	return s.Assign(town, g, from.Level+1, at)
}

// assignDesk is the last step of the chain, the town duty desk, as
// Assign decides it, its reason led by what was skipped before.
func (s *Snapshot) assignDesk(town string, g *GridRecord, skipped []string, at time.Time) (Assignee, bool) {
	a, ok := s.Assign(town, g, LevelTown, at)
	if ok && len(skipped) > 0 {
		a.Reason = strings.Join(skipped, " → ") + " → " + a.Reason
	}
	return a, ok
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// StructureSeed is the working structure of a town as the demo town
// carries it (fixtures/heye/structure.json, made by
// fixtures/cmd/genstructure): each 片区's secretary and members, and the
// work teams with their leader, members and villages. SeedStructure loads
// it into a town that has none.
type StructureSeed struct {
	Town      string         `json:"town"`
	Districts []DistrictSeed `json:"districts"`
	Teams     []TeamSeed     `json:"teams"`
}

// DistrictSeed is one district's 党工委.
type DistrictSeed struct {
	Code      string        `json:"code"`
	Secretary ContactJSON   `json:"secretary"`
	Members   []ContactJSON `json:"members"`
}

// TeamSeed is one work team.
type TeamSeed struct {
	Name     string        `json:"name"`
	Kind     TeamKind      `json:"kind"`
	Leader   ContactJSON   `json:"leader"`
	Members  []ContactJSON `json:"members"`
	Villages []string      `json:"villages"`
}
