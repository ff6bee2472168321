package geo

import (
	"context"
	"strings"
	"time"
)

// PeopleStore keeps people, their appointments (grid leader, deputy,
// member, village liaison leader, town duty desk), leave, and roster
// imports. Every method returns EUNAVAILABLE when the database cannot be
// reached. Writes take the actor, recorded in the audit log in the same
// transaction, and now, the time of the write; every write announces itself
// on the registry's NOTIFY channel so that every replica reloads its
// snapshot. Times are kept to the microsecond, as PostgreSQL does.
type PeopleStore interface {
	// CreatePerson stores a new person and returns it. EINVALID when the
	// name is empty or the phone is not a mainland number; ECONFLICT when a
	// person of that name and phone has not left (the message names them).
	CreatePerson(ctx context.Context, p NewPerson, actor string, now time.Time) (*PersonRecord, error)
	// Person returns a person with the roles held at time at, every
	// assignment they ever held and their leave. ENOTFOUND if unknown.
	Person(ctx context.Context, id int64, at time.Time) (*PersonRecord, error)
	// People lists the people f selects, by id, with the roles held at f.At,
	// and the cursor of the next page (0 at the end).
	People(ctx context.Context, f PeopleFilter) ([]*PersonRecord, int64, error)
	// UpdatePerson applies u. Ending a person ends every assignment and
	// organization membership in force at that instant. ENOTFOUND if
	// unknown; EINVALID for a bad name or phone; ECONFLICT when the new name
	// and phone belong to another person who has not left, when ending a
	// person who has already left (or u.StayActive and they left), or when
	// the person holds an assignment that starts at or after the end.
	UpdatePerson(ctx context.Context, id int64, u PersonUpdate, actor string, now time.Time) (*PersonRecord, error)

	// Appoint makes a person hold a role from a.From, in one transaction.
	// For the roles held by one person at a time (leader, deputy, liaison
	// leader, duty desk) the previous holder's assignment ends the same
	// instant; a person made leader stops being the grid's deputy, and the
	// other way round. Appointing the holder again changes nothing
	// (Unchanged). ENOTFOUND when the grid or village is not current;
	// EINVALID for an unknown person or a bad new person; ECONFLICT when the
	// person has left, when the holder's assignment starts at or after
	// a.From, or when another appointment overlaps (the database's exclusion
	// constraints decide, so of two concurrent appointments one fails).
	Appoint(ctx context.Context, a Appointment, actor string, now time.Time) (*AppointmentResult, error)
	// Vacate ends, at a.From, the assignment of a.Role in its scope held at
	// that instant (for members, the one of a.PersonID). ENOTFOUND when
	// nobody holds it; ECONFLICT when it starts at or after a.From.
	Vacate(ctx context.Context, a Appointment, actor string, now time.Time) (*Assignment, error)
	// GridStaffAt answers who held each role of a grid at time at, from the
	// database. ENOTFOUND when no version of the grid ever existed.
	GridStaffAt(ctx context.Context, code string, at time.Time) (*GridStaff, error)

	// AddLeave records a leave period. ENOTFOUND if the person is unknown;
	// EINVALID when To is not after From; ECONFLICT when the person has left
	// before the leave ends, or when it overlaps another leave of theirs
	// (the message names it: overlapping leave is refused, not merged).
	AddLeave(ctx context.Context, personID int64, l Leave, actor string, now time.Time) (*Leave, error)
	// DeleteLeave removes a leave period entered by mistake. ENOTFOUND when
	// the person has no such leave.
	DeleteLeave(ctx context.Context, personID, leaveID int64, actor string, now time.Time) error

	// ImportRoster checks rows against the database and works out what
	// they change, in one transaction, as of now: for every (grid, role)
	// and (village, liaison leader) the rows name, the rows become the
	// holders; holders they do not list are ended. The report says per row
	// what changes. The transaction commits only when apply is true and no
	// row has an error; otherwise nothing is written and Applied is false.
	// ECONFLICT when a concurrent write makes the apply clash.
	ImportRoster(ctx context.Context, rows []RosterRow, apply bool, actor string, now time.Time) (*RosterReport, error)
}

// Person statuses: a person who leaves is ended, never deleted.
const (
	PersonActive = "active"
	PersonLeft   = "left"
)

// NewPerson is a person to register, and the body of a request that
// registers one.
type NewPerson struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// CleanName trims a person's name and drops the spaces (ASCII or
// ideographic) that Chinese forms put inside two-character names to align
// them ("张　三"), so that the same person is always spelt the same way.
func CleanName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\u00a0', '\u3000':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// MaxNameLen bounds a person's name, in bytes.
const MaxNameLen = 100

// PersonUpdate is a change to a person; nil fields and a zero End stay.
type PersonUpdate struct {
	Name  *string
	Phone *string
	// End, when not zero, marks the person as left at that instant.
	End time.Time
	// StayActive asks that the person has not left: people who left do not
	// come back (a returning cadre is registered again, so that history
	// stays true), so it is ECONFLICT for them.
	StayActive bool
}

// PersonRecord is a person with the roles they hold at the moment asked
// for and, from Person (not People), their whole history.
type PersonRecord struct {
	Person
	CreatedAt time.Time
	// Roles are the assignments in force at the time asked for.
	Roles []Assignment
	// History is every assignment, newest first; filled by Person only.
	History []Assignment
	// Leave is every leave period, by start; filled by Person, and by
	// People with the periods in force at the time asked for.
	Leave []Leave
}

// Status is PersonActive or PersonLeft.
func (p *PersonRecord) Status() string {
	if p.EndedAt.IsZero() {
		return PersonActive
	}
	return PersonLeft
}

// PeopleFilter selects people. Zero fields select everything.
type PeopleFilter struct {
	// NameContains matches a part of the name.
	NameContains string
	// Role and GridCode select people holding a role, or any role on a
	// grid, at At.
	Role     Role
	GridCode string
	// Status is PersonActive, PersonLeft, or "" for both.
	Status string
	At     time.Time
	Limit  int
	// After is the cursor: people with a larger id.
	After int64
}

// Assignment is one appointment of a person to a role, in force over
// [From, To).
type Assignment struct {
	ID     int64
	Person Person
	Role   Role
	// GridCode is set for leaders, deputies and members, VillageCode for
	// liaison leaders; the duty desk has neither.
	GridCode    string
	VillageCode string
	From        time.Time
	// To is zero while the assignment is open.
	To time.Time
}

// Active reports whether a is in force at t.
func (a *Assignment) Active(t time.Time) bool {
	return !t.Before(a.From) && (a.To.IsZero() || t.Before(a.To))
}

// SingleHolder reports whether one person at a time holds r in its scope.
func (r Role) SingleHolder() bool { return r != RoleMember }

// Appointment names a role in its scope (a grid, a village, or the town
// for the duty desk), who takes it and from when. The person is PersonID,
// or the person of Name and Phone who has not left, created if there is
// none.
type Appointment struct {
	Role        Role
	GridCode    string
	VillageCode string
	// TownCode is the duty desk's town; empty for the only town of a
	// one-town deployment.
	TownCode    string
	PersonID    int64
	Name, Phone string
	From        time.Time
}

// Target names the scope of a for the audit log and messages: "grid:…",
// "village:…" or "town".
func (a *Appointment) Target() string {
	switch {
	case a.GridCode != "":
		return "grid:" + a.GridCode
	case a.VillageCode != "":
		return "village:" + a.VillageCode
	case a.TownCode != "":
		return "town:" + a.TownCode
	}
	return "town"
}

// AppointmentResult is what an appointment did.
type AppointmentResult struct {
	Assignment    Assignment
	PersonCreated bool
	// Unchanged is true when the person already held the role.
	Unchanged bool
	// Ended are the assignments that ended at the appointment's start.
	Ended []Assignment
}

// Leave is a period in which a person is unavailable: dispatch routes to
// the next in line.
type Leave struct {
	ID       int64
	PersonID int64
	Period
	Note string
}

// MaxLeave bounds one leave period; a longer absence is a vacancy, and the
// person should be ended or replaced.
const MaxLeave = 2 * 366 * 24 * time.Hour

// GridStaff is who held each role of a grid at a moment.
type GridStaff struct {
	GridCode    string
	GridName    string
	VillageCode string
	At          time.Time
	Leader      *Assignment
	Deputy      *Assignment
	Members     []Assignment
	// LiaisonLeader is the village's liaison leader, who takes the grid's
	// matters when neither leader nor deputy can.
	LiaisonLeader *Assignment
	// OnLeave holds the ids of the people listed who were on leave at At.
	OnLeave map[int64]Leave
}

// RosterRoles maps the role names township rosters use to roles. English
// names are accepted too.
var RosterRoles = map[string]Role{
	"网格长": RoleLeader, "副网格长": RoleDeputy, "网格员": RoleMember,
	"专职网格员": RoleMember, "兼职网格员": RoleMember,
	"联村工作组组长": RoleLiaisonLeader, "联村组长": RoleLiaisonLeader,
	"leader": RoleLeader, "deputy": RoleDeputy, "member": RoleMember, "liaison_leader": RoleLiaisonLeader,
}

// RosterField names a column of a roster by what it holds.
type RosterField string

// Roster fields.
const (
	RosterName         RosterField = "name"
	RosterPhone        RosterField = "phone"
	RosterGridCode     RosterField = "grid_code"
	RosterGridName     RosterField = "grid_name"
	RosterVillage      RosterField = "village"
	RosterRole         RosterField = "role"
	RosterOrganization RosterField = "organization"
)

// RosterRow is one person-row of a roster, as read from the file.
type RosterRow struct {
	// Line is the row number as the spreadsheet (or a text editor, for
	// CSV) shows it.
	Line   int
	Values map[RosterField]string
}

// RosterError is what is wrong with one cell of a row (or with the row as a
// whole, when Field is empty).
type RosterError struct {
	Field  RosterField
	Reason string
}

// Roster changes, per row.
const (
	ChangeNewPerson      = "new_person"
	ChangeNewAppointment = "new_appointment"
	ChangeEnded          = "ended_appointment"
	ChangeUnchanged      = "unchanged"
)

// RosterRowResult is what one row changes, or why it cannot.
type RosterRowResult struct {
	Line int
	Name string
	Role Role
	// GridCode or VillageCode: the scope the row resolved to.
	GridCode    string
	VillageCode string
	// PersonID is the existing person, or the new one once applied (0 in a
	// dry run).
	PersonID int64
	Changes  []string
	// Ended are the assignments this row ends: the previous holder, or the
	// person's other role on the grid.
	Ended []Assignment
	// Organization is the organization named in the row, resolved in the
	// row's village (informational: memberships are kept by
	// /v1/organizations).
	Organization *Organization
	Notes        []string
	Errors       []RosterError
}

// RosterReport is the outcome of a roster import.
type RosterReport struct {
	Applied bool
	Rows    []RosterRowResult
	// Ended are the assignments ended because the roster, naming the
	// holders of a role in a scope, does not list them.
	Ended []Assignment
}

// Errors counts the rows with errors.
func (r *RosterReport) Errors() int {
	n := 0
	for _, row := range r.Rows {
		if len(row.Errors) > 0 {
			n++
		}
	}
	return n
}
