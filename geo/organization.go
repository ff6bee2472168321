package geo

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// OrgKind is the kind of a social organization serving grids.
type OrgKind string

// Organization kinds of the town's practice.
const (
	OrgRedWhiteCouncil    OrgKind = "red_white_council"    // 红白喜事理事会
	OrgHealthCommittee    OrgKind = "health_committee"     // 爱卫会
	OrgLeftBehindChildren OrgKind = "left_behind_children" // 关心留守儿童工作委员会
	OrgMediation          OrgKind = "mediation"            // 纠纷调解会
	OrgPartyGroup         OrgKind = "party_group"          // 党员小组
	OrgOther              OrgKind = "other"
)

// OrgKinds lists every organization kind in a stable order.
var OrgKinds = []OrgKind{OrgRedWhiteCouncil, OrgHealthCommittee, OrgLeftBehindChildren, OrgMediation, OrgPartyGroup, OrgOther}

// Valid reports whether k is a kind every town's catalogue is seeded with
// (SeededOrgKinds, orgkind.go): what town files and --co-notify, read
// without the database, accept. Kinds an admin adds to a town's catalogue
// are taken by the organization endpoints, which the database checks.
func (k OrgKind) Valid() bool { return k.Rank() < len(OrgKinds) || slices.Contains(SeededOrgKinds, k) }

// Organization is a social organization of a village, attached to the grids
// it serves. Within a village it is identified by its kind and name. An
// organization that stops working is ended, never deleted: its members and
// attachments end the same instant.
type Organization struct {
	ID          int64
	Kind        OrgKind
	Name        string
	VillageCode string
	// Contact is whom to call about the organization (nil: nobody named).
	// Its phone is personal data.
	Contact   *Contact
	CreatedAt time.Time
	// EndedAt is zero while the organization works.
	EndedAt time.Time
	// Grids are the attachments in force at the time the organization was
	// read for, by grid code.
	Grids []OrganizationGrid
}

// Rank is the position of k in OrgKinds, the order in which organizations
// are listed; unknown kinds come last.
func (k OrgKind) Rank() int {
	for i, v := range OrgKinds {
		if k == v {
			return i
		}
	}
	return len(OrgKinds)
}

// SortOrganizationRefs orders refs by kind (in OrgKinds order), then name.
func SortOrganizationRefs(refs []OrganizationRef) {
	slices.SortFunc(refs, func(a, b OrganizationRef) int {
		if c := cmp.Compare(a.Kind.Rank(), b.Kind.Rank()); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
