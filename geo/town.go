package geo

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Town is a township (镇/乡/街道) that wangge serves. A deployment holds one
// town or many (a county, a city): the town of a village or a grid is the
// first nine digits of its code. Its outline is the area its grids must
// tile exactly.
type Town struct {
	// Code is the 9-digit statistical code of the township, e.g. 431321101.
	Code     string
	Name     string
	County   string
	Province string
	// Note tells where the data comes from; the demo town says it is synthetic.
	Note    string
	Outline orb.MultiPolygon
	// Districts are the liaison districts (片区) that group the villages.
	Districts []District
	// DutyDesk is the town's duty desk (值班室): it takes what is outside
	// every grid and what villages escalate.
	DutyDesk *Contact
	// DutyRoster is the desk's duty roster (servicepoint_duty.go): the
	// shifts not ended two days before the data was read, by start. A
	// shift covering a time takes the desk's place then.
	DutyRoster []DutyShift
	// ServicePoints are the town's service points in service when the data
	// was read, by id (servicepoint.go): the map layers are drawn from them.
	ServicePoints []ServicePoint
}

// District is a liaison district (片区联络组): a group of villages followed by
// one liaison group of the town.
type District struct {
	Code string // short, stable, unique in the town, e.g. "01"
	Name string
	// Secretary is the secretary of the district's 片区党工委 at the
	// snapshot's time (structure.go); not part of town files.
	Secretary *Contact
}

// Village is an administrative village (村) or community (社区).
type Village struct {
	// Code is the 12-digit statistical code: the town code plus three digits.
	Code         string
	Name         string
	DistrictCode string
	Outline      orb.MultiPolygon
	// LiaisonLeader leads the village's liaison work group (联村工作组组长):
	// it takes a grid's matters when the grid has nobody, and escalations.
	LiaisonLeader *Contact
	// WorkTeam is the work team covering the village at the snapshot's
	// time (structure.go); not part of town files.
	WorkTeam *TeamOnDuty
	// Organizations are the village's organizations with their members, as
	// exchanged in town files (which grids each serves is on the grids).
	Organizations []OrganizationRoster
}

// OrganizationRoster is an organization with its members.
type OrganizationRoster struct {
	Kind    OrgKind
	Name    string
	Members []RosterMember
}

// RosterMember is a member of an organization: chair or member.
type RosterMember struct {
	Contact
	Role MemberRole
	// Grids, when not nil, are the codes of the grids the member serves
	// from the import on (organization_member_grid.go); nil leaves them.
	Grids []string
}

// SortRosters orders organizations by kind (in OrgKinds order) then name,
// and their members chairs first, then by name: the order of town files.
func SortRosters(rs []OrganizationRoster) {
	slices.SortFunc(rs, func(a, b OrganizationRoster) int {
		if c := cmp.Compare(a.Kind.Rank(), b.Kind.Rank()); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, r := range rs {
		slices.SortFunc(r.Members, func(a, b RosterMember) int {
			if (a.Role == MemberChair) != (b.Role == MemberChair) {
				if a.Role == MemberChair {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
}

// TownData is a whole town: what `wangge import` reads and `wangge export`
// writes, and what the demo town fixture holds.
type TownData struct {
	Town     Town
	Villages []Village
	Grids    []GridRecord
}

// Area returns td as the area of a one-town deployment; it shares td's
// slices.
func (td *TownData) Area() *Area {
	return &Area{Towns: []Town{td.Town}, Villages: td.Villages, Grids: td.Grids}
}

// Area is what a deployment holds at one generation: its towns (one, or a
// county's) with their villages and grids.
type Area struct {
	Towns    []Town
	Villages []Village
	Grids    []GridRecord
}

// TownData returns the data of the town with the given code: what a
// per-town export writes; with code "", that of the only town or, when
// there are several, the whole area as one layer under a Town naming what
// they share (see Snapshot.Whole). False when there is no such town. The
// slices of one town are copies of a's entries (the grids share their
// geometries), except a one-town area's, which are a's.
func (a *Area) TownData(code string) (*TownData, bool) {
	if code == "" && len(a.Towns) == 1 {
		code = a.Towns[0].Code
	}
	if code == "" {
		return &TownData{Town: wholeTown(a.Towns), Villages: a.Villages, Grids: a.Grids}, true
	}
	i := slices.IndexFunc(a.Towns, func(t Town) bool { return t.Code == code })
	if i < 0 {
		return nil, false
	}
	if len(a.Towns) == 1 {
		// Every village and grid is the one town's: no copy (an export
		// of a town of any size answers without one).
		return &TownData{Town: a.Towns[0], Villages: a.Villages, Grids: a.Grids}, true
	}
	td := &TownData{Town: a.Towns[i]}
	for _, v := range a.Villages {
		if TownCodeOf(v.Code) == code {
			td.Villages = append(td.Villages, v)
		}
	}
	for _, g := range a.Grids {
		if TownCodeOf(g.Code) == code {
			td.Grids = append(td.Grids, g)
		}
	}
	return td, true
}

// TownCodeOf returns the town part of a village or grid code (its first
// nine digits), or "" when code is shorter.
func TownCodeOf(code string) string {
	if len(code) < 9 {
		return ""
	}
	return code[:9]
}

// GridRecord is a grid as exchanged in files: the grid itself and the people
// and organizations on it at the time of export.
type GridRecord struct {
	Grid
	Leader        *Contact
	Deputy        *Contact
	Organizations []OrganizationRef
}

// Contact names a person with the phone used to reach them, and the
// periods the person is unavailable (leave), during which dispatch routes
// to the next in line.
type Contact struct {
	Name  string
	Phone string
	Leave []Period
}

// Period is a time interval [From, To).
type Period struct {
	From, To time.Time
}

// Contains reports whether t is in [From, To).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// OnLeave reports whether c is unavailable at t. A nil contact is never on
// leave (it is absent, which callers check first).
func (c *Contact) OnLeave(t time.Time) bool {
	if c == nil {
		return false
	}
	for _, p := range c.Leave {
		if p.Contains(t) {
			return true
		}
	}
	return false
}

// OrganizationRef names an organization attached to a grid. Within a village
// an organization is identified by its kind and name.
type OrganizationRef struct {
	Kind OrgKind
	Name string
	// CoNotify, when not nil, is what the town's catalogue says of the
	// kind: the categories that co-notify the organization, in place of
	// --co-notify (orgkind.go). Only snapshots' grids carry it; a pointer
	// keeps the struct comparable.
	CoNotify *[]Category
}
