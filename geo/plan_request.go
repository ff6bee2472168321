package geo

import (
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"wangge/geo/chinacrs"
)

// This file checks the requests that open a plan and repair one. The
// edits of a draft check themselves (PlanGridEdit, SplitRequest,
// MergeRequest, MoveRequest, CheckLeader in plan.go): each returns one
// EINVALID error that locates every wrong member of the request.

// NewPlan is a draft to open on the current generation: a note, the town
// it redraws, and the plan (if any) whose changes it replays (a draft left
// behind by another apply).
type NewPlan struct {
	Note string `json:"note"`
	// Town is the 9-digit code of the town the plan redraws. Empty: the
	// town of the plan rebased, else the deployment's only town, else
	// every town at once (a plan of the whole deployment, as before
	// deployments held many towns).
	Town   string `json:"town"`
	Rebase int64  `json:"rebase"`
}

// Check trims the note and checks it is within MaxPlanNote characters,
// that town is a town code or empty, and that rebase names a plan or none
// (0). Whether the town is one of the deployment's is the store's to say.
func (p *NewPlan) Check() error {
	var ps problemList
	p.Note = strings.TrimSpace(p.Note)
	if n := utf8.RuneCountInString(p.Note); n > MaxPlanNote {
		ps.add("note", "%d characters, want at most %d", n, MaxPlanNote)
	}
	if p.Town != "" {
		if err := ValidateTownCode(p.Town); err != nil {
			ps.add("town", "%s", ErrorMessage(err))
		}
	}
	if p.Rebase < 0 {
		ps.add("rebase", "got %d, want a plan number", p.Rebase)
	}
	return ps.err()
}

// RepairRequest is a repair as a request gives it; At is [lon, lat] in
// the CRS the caller works in.
type RepairRequest struct {
	Kind       RepairKind `json:"kind"`
	Codes      []string   `json:"codes"`
	At         []float64  `json:"at"`
	ToleranceM float64    `json:"tolerance_m"`
}

// Check returns the repair r asks for, At converted from crs to WGS-84
// (see Repair.Validate).
func (r RepairRequest) Check(crs chinacrs.CRS) (Repair, error) {
	var ps problemList
	out := Repair{Kind: r.Kind, Codes: r.Codes, ToleranceM: r.ToleranceM}
	if r.At != nil {
		if len(r.At) != 2 {
			ps.add("at", "got %d numbers, want [lon, lat]", len(r.At))
		} else if p := CheckLonLat(r.At[0], r.At[1]); p != nil {
			ps.add("at", "%s", p)
		} else {
			wgs := chinacrs.ToWGS84(crs, orb.Point{r.At[0], r.At[1]})
			out.At = &wgs
		}
	}
	out.check(&ps)
	return out, ps.err()
}
