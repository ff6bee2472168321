package geo

import (
	"context"
	"slices"
	"time"
)

// This file is party members (issue 13, item 5): whether a person is a
// party member (党员) and since when; their 党员小组, which are
// organizations of kind party_group (membership and the grids a group
// serves keep their history there); and 联系户 links, a member linked to a
// number of households of a grid (the reports' "1+10"), kept as counts
// with history, never as household details. Whether a person is a party
// member is personal data: only dispatchers and admins read it; the counts
// per grid and village are open.

// PartyMember is a person's party attribute.
type PartyMember struct {
	PersonID int64
	Member   bool
	// JoinedOn is the date of joining (zero: not given).
	JoinedOn  time.Time
	UpdatedAt time.Time
	// Groups are the 党员小组 the person is a member of at the time asked
	// for; Links the person's 联系户 links then.
	Groups []OrganizationRef
	Links  []PartyLink
}

// PartyMemberRequest sets a person's party attribute (PUT
// /v1/people/{id}/party).
type PartyMemberRequest struct {
	Member   *bool  `json:"member"`
	JoinedOn string `json:"joined_on"`
}

// Check returns the attribute r sets for person at now.
func (r PartyMemberRequest) Check(person int64, now time.Time) (PartyMember, error) {
	var ps problemList
	m := PartyMember{PersonID: person}
	if r.Member == nil {
		ps.add("member", "required: true or false")
	} else {
		m.Member = *r.Member
	}
	if r.JoinedOn != "" {
		m.JoinedOn = ps.time("joined_on", r.JoinedOn, time.Time{})
		ps.notLater("joined_on", m.JoinedOn, now)
		if !m.Member && r.Member != nil {
			ps.add("joined_on", "only for a party member")
		}
	}
	return m, ps.err()
}

// PartyLink is a 联系户 link: a party member linked to Households
// households of a grid from From to To (zero: open).
type PartyLink struct {
	ID         int64
	PersonID   int64
	GridCode   string
	Households int
	From, To   time.Time
}

// MaxPartyLinkHouseholds bounds one link.
const MaxPartyLinkHouseholds = 500

// PartyLinkRequest links a party member to households of a grid (POST
// /v1/party-links).
type PartyLinkRequest struct {
	Person     int64  `json:"person"`
	Grid       string `json:"grid"`
	Households int    `json:"households"`
	From       string `json:"from"`
}

// Check returns the link r makes, the grid checked against snap.
func (r PartyLinkRequest) Check(snap *Snapshot, now time.Time) (PartyLink, error) {
	var ps problemList
	l := PartyLink{PersonID: r.Person, GridCode: r.Grid, Households: r.Households}
	if r.Person <= 0 {
		ps.add("person", "required: the id of a party member")
	}
	if ValidateGridCode(r.Grid, "") != nil {
		ps.add("grid", "got %q, want a 15-digit grid code", Clip(r.Grid))
	} else if _, ok := snap.Grid(r.Grid); !ok {
		ps.add("grid", "no grid %s in the current generation", r.Grid)
	}
	if r.Households < 1 || r.Households > MaxPartyLinkHouseholds {
		ps.add("households", "got %d, want 1..%d", r.Households, MaxPartyLinkHouseholds)
	}
	l.From = ps.time("from", r.From, now)
	ps.notLater("from", l.From, now)
	return l, ps.err()
}

// PartyGroupings are what /v1/party/stats counts by.
var PartyGroupings = []string{"grid", "village"}

// PartyCount is the party figures of one grid or village at a moment.
type PartyCount struct {
	Code string
	// Members: distinct party members in the 党员小组 serving the grid
	// (of the village); Groups: those 党员小组.
	Members int
	Groups  int
	// LinkedMembers: distinct members with 联系户 links there;
	// LinkedHouseholds: the households they are linked to.
	LinkedMembers    int
	LinkedHouseholds int
}

// ValidPartyGrouping reports whether by is one of PartyGroupings.
func ValidPartyGrouping(by string) bool { return slices.Contains(PartyGroupings, by) }

// PartyStore keeps party members and their links.
type PartyStore interface {
	// PutPartyMember sets a person's attribute: EINVALID naming person
	// when there is no such person.
	PutPartyMember(ctx context.Context, m PartyMember, actor string, now time.Time) (PartyMember, error)
	// PartyMember returns a person's attribute with groups and links at
	// at: ENOTFOUND when none was ever set.
	PartyMember(ctx context.Context, person int64, at time.Time) (PartyMember, error)
	// AddPartyLink stores l: EINVALID naming person unless the person is
	// a party member; ECONFLICT when the member is linked to that grid
	// then already.
	AddPartyLink(ctx context.Context, l PartyLink, actor string, now time.Time) (PartyLink, error)
	// EndPartyLink ends link id at to: ENOTFOUND, or EINVALID naming to.
	EndPartyLink(ctx context.Context, id int64, to time.Time, actor string, now time.Time) (PartyLink, error)
	// PartyCounts counts by grid or village in town ("" every town) at at.
	PartyCounts(ctx context.Context, town, by string, at time.Time) ([]PartyCount, error)
}
