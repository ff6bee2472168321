package geo

import (
	"context"
	"fmt"
	"time"
)

// This file ties an organization's members to the grids they serve (issue
// 13, item 6): a member of 2村红白喜事理事会 serves grids 1 and 2 of the
// village, with history, so that "who served grid X on a past date" has
// an answer. A member serves grids only while a member, and only grids of
// the organization's town; ending the membership or the organization ends
// them the same instant.

// MemberGrid is one period of a member serving a grid (by code, stable
// across redraws), over [From, To).
type MemberGrid struct {
	ID       int64
	MemberID int64
	GridCode string
	From     time.Time
	// To is zero while the member serves the grid.
	To time.Time
}

// GridMember is a member serving a grid at some time: the organization,
// the membership with its person, and the period of serving.
type GridMember struct {
	Organization Organization
	Member       OrganizationMember
	Serving      MemberGrid
}

// MemberGridStore keeps which grids organization members serve. Errors as
// OrganizationStore's.
type MemberGridStore interface {
	// SetMemberGrids makes membership memberID of organization orgID serve
	// exactly the grids of codes from time from: periods of other grids
	// end at from, grids not yet served start at from, grids served stay.
	// ENOTFOUND if there is no such membership; EINVALID when a grid is
	// not current ("grids[i]"), is of another town than the organization
	// ("grids[i]"), or from is before the membership's start ("from");
	// ECONFLICT when the membership has ended by from, or a period of a
	// grid to end starts after from.
	SetMemberGrids(ctx context.Context, orgID, memberID int64, codes []string, from time.Time, actor string, now time.Time) ([]MemberGrid, error)
	// MemberGrids lists every period of membership memberID serving a
	// grid, past ones included, by grid code and start. ENOTFOUND if there
	// is no such membership.
	MemberGrids(ctx context.Context, orgID, memberID int64) ([]MemberGrid, error)
	// GridMembers lists the members serving grid code at time at, by
	// organization kind and name, chairs first, then by name.
	GridMembers(ctx context.Context, code string, at time.Time) ([]GridMember, error)
}

// MemberGridsRequest sets the grids a member serves (PUT
// /v1/organizations/{id}/members/{member}/grids): every grid of grids,
// and no other, from from (default now). An empty list ends them all.
type MemberGridsRequest struct {
	Grids []string `json:"grids"`
	From  string   `json:"from"`
}

// NewMemberGrids is a checked MemberGridsRequest.
type NewMemberGrids struct {
	Codes []string
	From  time.Time
}

// Check returns the grids r sets at now, each a grid of snap named once.
// A wrong code is located as "grids[i]".
func (r MemberGridsRequest) Check(snap *Snapshot, now time.Time) (NewMemberGrids, error) {
	var ps problemList
	out := NewMemberGrids{Codes: r.Grids}
	if r.Grids == nil {
		ps.add("grids", "required: the codes of the grids the member serves ([] for none)")
	}
	if len(r.Grids) > MaxOrgGrids {
		ps.add("grids", "%d codes, at most %d", len(r.Grids), MaxOrgGrids)
	}
	seen := make(map[string]bool, len(r.Grids))
	for i, code := range r.Grids {
		where := fmt.Sprintf("grids[%d]", i)
		switch _, ok := snap.Grid(code); {
		case ValidateGridCode(code, "") != nil:
			ps.add(where, "got %q, want a 15-digit grid code", Clip(code))
		case !ok:
			ps.add(where, "no grid %s in generation %d", code, snap.Generation)
		case seen[code]:
			ps.add(where, "grid %s is named twice", code)
		}
		seen[code] = true
	}
	out.From = ps.time("from", r.From, now)
	return out, ps.err()
}
