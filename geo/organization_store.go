package geo

import (
	"context"
	"time"
)

// OrganizationStore keeps organizations, their members and the grids they
// serve. Every method returns EUNAVAILABLE when the database cannot be
// reached. Writes take the actor, recorded in the audit log in the same
// transaction, and now, the time of the write. Writes that change what a
// snapshot holds (attachments, and the kind or name of an organization,
// which grids list) announce themselves on the registry's NOTIFY channel so
// that every replica reloads.
type OrganizationStore interface {
	// CreateOrganization stores o (its ID, CreatedAt, EndedAt and Grids are
	// ignored) and returns it as stored. EINVALID when the village is not
	// in the town; ECONFLICT when the village already has an organization
	// of that kind and name, ended ones included.
	CreateOrganization(ctx context.Context, o *Organization, actor string, now time.Time) (*Organization, error)
	// Organization returns the organization with the grids it serves at
	// time at. ENOTFOUND if unknown.
	Organization(ctx context.Context, id int64, at time.Time) (*Organization, error)
	// Organizations lists the organizations f selects, by village, kind and
	// name, each with the grids it serves at f.At.
	Organizations(ctx context.Context, f OrganizationFilter) ([]*Organization, error)
	// UpdateOrganization applies u. Ending ends every membership (with
	// the grids its members serve) and attachment in force at that instant; reopening clears the end but
	// restores neither. ENOTFOUND if unknown; EINVALID for an unknown
	// village; ECONFLICT when the new kind and name are taken, when ending
	// an ended organization or reopening a working one, or when a
	// membership or attachment starts at or after the end.
	UpdateOrganization(ctx context.Context, id int64, u OrganizationUpdate, actor string, now time.Time) (*Organization, error)

	// AddMember adds a membership. A member named by Name and Phone is the
	// person of that name and phone who has not left, created if there is
	// none. ENOTFOUND if the organization is unknown; EINVALID for an
	// unknown person; ECONFLICT when the organization or the person has
	// ended, when the person is already a member in an overlapping period,
	// or when a chair is added while another chair holds office.
	AddMember(ctx context.Context, orgID int64, m NewMember, actor string, now time.Time) (*OrganizationMember, error)
	// EndMember ends membership memberID of organization orgID at to, and
	// the grids it serves (MemberGridStore) with it. ENOTFOUND if there is
	// no such membership; EINVALID when to is not after its start;
	// ECONFLICT when it has already ended, or serves a grid from to or
	// later.
	EndMember(ctx context.Context, orgID, memberID int64, to time.Time, actor string, now time.Time) (*OrganizationMember, error)
	// Members lists the memberships in force at time at, chairs first, then
	// by name. ENOTFOUND if the organization is unknown.
	Members(ctx context.Context, orgID int64, at time.Time) ([]OrganizationMember, error)

	// AttachGrids attaches the organization to every grid of codes from
	// time from, all or none. ENOTFOUND if the organization is unknown;
	// EINVALID when a grid is not current; ECONFLICT when the organization
	// has ended or already serves one of the grids in an overlapping period
	// (the database's exclusion constraint decides).
	AttachGrids(ctx context.Context, orgID int64, codes []string, from time.Time, actor string, now time.Time) ([]OrganizationGrid, error)
	// DetachGrid ends the open attachment of the organization to the grid
	// at to. ENOTFOUND when there is no open attachment; EINVALID when to
	// is not after its start.
	DetachGrid(ctx context.Context, orgID int64, code string, to time.Time, actor string, now time.Time) (*OrganizationGrid, error)
	// Attachments lists every attachment of the organization, past ones
	// included, by grid code and start. ENOTFOUND if unknown.
	Attachments(ctx context.Context, orgID int64) ([]OrganizationGrid, error)
}

// OrganizationFilter selects organizations. Zero fields select everything.
type OrganizationFilter struct {
	Kind        OrgKind
	VillageCode string
	// GridCode selects the organizations serving that grid at At.
	GridCode string
	// Status is "active" (working at At), "ended" (ended by At), or ""
	// for both.
	Status string
	At     time.Time
}

// OrganizationUpdate is a change to an organization; nil fields stay.
type OrganizationUpdate struct {
	Kind        *OrgKind
	Name        *string
	VillageCode *string
	// SetContact replaces the contact with Contact (nil: nobody).
	SetContact bool
	Contact    *Contact
	// End, when not zero, ends the organization at that instant.
	End time.Time
	// Reopen makes an ended organization work again.
	Reopen bool
}

// ChangesSnapshot reports whether u alters what snapshots hold: grids list
// their organizations by kind and name, and ending one detaches it.
func (u OrganizationUpdate) ChangesSnapshot() bool {
	return u.Kind != nil || u.Name != nil || !u.End.IsZero() || u.Reopen
}

// MemberRole is what a member does in an organization.
type MemberRole string

// Member roles. An organization has at most one chair at any moment.
const (
	MemberChair  MemberRole = "chair"  // 会长, 主任
	MemberMember MemberRole = "member" // 成员
)

// MemberRoles lists the member roles, chairs first.
var MemberRoles = []MemberRole{MemberChair, MemberMember}

// Valid reports whether r is a known member role.
func (r MemberRole) Valid() bool { return r == MemberChair || r == MemberMember }

// NewMember is a membership to add: an existing person by PersonID, or a
// person by Name and Phone.
type NewMember struct {
	PersonID int64
	Name     string
	Phone    string
	Role     MemberRole
	From     time.Time
}

// OrganizationMember is one membership of a person in an organization,
// in force over [From, To).
type OrganizationMember struct {
	ID             int64
	OrganizationID int64
	Person         Person
	Role           MemberRole
	From           time.Time
	// To is zero while the membership is open.
	To time.Time
}

// OrganizationGrid is one attachment of an organization to a grid (by
// code, stable across redraws), in force over [From, To).
type OrganizationGrid struct {
	ID             int64
	OrganizationID int64
	GridCode       string
	From           time.Time
	// To is zero while the attachment is open.
	To time.Time
}
