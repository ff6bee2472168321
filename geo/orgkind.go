package geo

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the catalogue of organization kinds (issue 13, item 6):
// each town keeps its own list of the kinds of social organization it
// recognises, a stable ASCII code and a Chinese name each, edited by an
// admin at run time. Migration 0027 seeds every town with the kinds the
// township reports name (SeededOrgKinds). An organization's kind must be
// in its town's catalogue, which the database enforces (a foreign key); a
// kind in use cannot be deleted.
//
// A kind may also say which categories of incident co-notify its
// organizations (CoNotify, migration 0028). Unset, the server's
// --co-notify decides, as it always did; set, it replaces --co-notify for
// that kind in that town, so a kind added at run time can be co-notified
// without a restart. Snapshots carry it on each grid's organizations
// (OrganizationRef.CoNotify), and a change reloads them.

// Organization kinds added by the catalogue (migration 0027), beside the
// six of old (OrgKinds).
const (
	OrgVillagerCouncil     OrgKind = "villager_council"      // 村民议事会 (四会)
	OrgMoralCouncil        OrgKind = "moral_council"         // 道德评议会 (四会)
	OrgAntiDrugGambling    OrgKind = "anti_drug_gambling"    // 禁毒禁赌会 (四会)
	OrgSageCouncil         OrgKind = "sage_council"          // 村贤议事会
	OrgRuralCustomsCouncil OrgKind = "rural_customs_council" // 乡风理事会
)

// SeededOrgKinds lists the kinds migration 0027 puts in every town's
// catalogue, in the catalogue's order. Co-notification (--co-notify) takes
// these at start-up, before any database is read.
var SeededOrgKinds = []OrgKind{OrgRedWhiteCouncil, OrgHealthCommittee, OrgLeftBehindChildren, OrgMediation, OrgPartyGroup,
	OrgVillagerCouncil, OrgMoralCouncil, OrgAntiDrugGambling, OrgSageCouncil, OrgRuralCustomsCouncil, OrgOther}

// orgKindCode is the form of a kind's code.
var orgKindCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// WellFormed reports whether k has the form of a kind code: 1 to 40
// lowercase letters, digits or _, starting with a letter. Whether a town
// has the kind is the catalogue's to say.
func (k OrgKind) WellFormed() bool { return orgKindCode.MatchString(string(k)) }

// Limits of organization kind requests, in characters.
const (
	MaxOrgKindName        = 50
	MaxOrgKindDescription = 500
)

// OrgKindEntry is one kind of one town's catalogue.
type OrgKindEntry struct {
	TownCode    string
	Code        OrgKind
	NameZh      string
	Description string
	// Position orders the catalogue (then the code).
	Position int
	// InUse counts the organizations of the town of this kind, ended ones
	// too (they keep it).
	InUse int
	// CoNotify lists the categories co-notifying organizations of this
	// kind; nil leaves it to --co-notify.
	CoNotify  []Category
	UpdatedAt time.Time
	UpdatedBy string
}

// OrgKindRequest sets a kind of a town's catalogue (PUT
// /v1/organization-kinds/{kind}): its Chinese name, a description, its
// place in the list (default 500), and the categories of incident that
// co-notify its organizations (absent or null: as --co-notify says).
type OrgKindRequest struct {
	NameZh      string     `json:"name_zh"`
	Description string     `json:"description"`
	Position    *int       `json:"position"`
	CoNotify    []Category `json:"co_notify"`
}

// Check returns the entry r sets for code in town, or one EINVALID error
// naming every wrong member. Co-notifying categories must be among cats.
func (r OrgKindRequest) Check(town string, code OrgKind, cats []Category) (OrgKindEntry, error) {
	var ps problemList
	e := OrgKindEntry{TownCode: town, Code: code, NameZh: strings.TrimSpace(r.NameZh),
		Description: strings.TrimSpace(r.Description), Position: 500, CoNotify: r.CoNotify}
	for i, c := range r.CoNotify {
		switch {
		case !slices.Contains(cats, c):
			ps.add(fmt.Sprintf("co_notify[%d]", i), "got %q, want one of %v", Clip(string(c)), cats)
		case slices.Index(r.CoNotify, c) < i:
			ps.add(fmt.Sprintf("co_notify[%d]", i), "category %s is named twice", c)
		}
	}
	if !code.WellFormed() {
		ps.add("kind", "got %q, want 1 to 40 lowercase letters, digits or _, starting with a letter", Clip(string(code)))
	}
	if e.NameZh == "" || utf8.RuneCountInString(e.NameZh) > MaxOrgKindName {
		ps.add("name_zh", "required, at most %d characters", MaxOrgKindName)
	}
	if utf8.RuneCountInString(e.Description) > MaxOrgKindDescription {
		ps.add("description", "at most %d characters", MaxOrgKindDescription)
	}
	if r.Position != nil {
		if *r.Position < 0 || *r.Position > 100000 {
			ps.add("position", "got %d, want 0..100000", *r.Position)
		}
		e.Position = *r.Position
	}
	return e, ps.err()
}

// OrgKindStore keeps the catalogues of organization kinds.
type OrgKindStore interface {
	// OrgKinds lists town's catalogue by position, then code.
	OrgKinds(ctx context.Context, town string) ([]OrgKindEntry, error)
	// PutOrgKind creates or changes a kind; created reports which.
	PutOrgKind(ctx context.Context, e OrgKindEntry, actor string, now time.Time) (out OrgKindEntry, created bool, err error)
	// DeleteOrgKind removes a kind: ENOTFOUND if the town has none of
	// that code, ECONFLICT while an organization of the town has it.
	DeleteOrgKind(ctx context.Context, town string, code OrgKind, actor string, now time.Time) error
	// OrgKindKnown reports whether some town's catalogue (town's, when
	// not "") holds code.
	OrgKindKnown(ctx context.Context, town string, code OrgKind) (bool, error)
}
