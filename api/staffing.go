package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// Staffing gaps of a grid, as GET /v1/staffing names them.
const (
	gapNoLeader        = "no_leader"
	gapNoDeputy        = "no_deputy"
	gapLeaderUncovered = "leader_on_leave_uncovered" // on leave, and no deputy or the deputy on leave too
	gapNoLiaison       = "no_liaison_leader"         // of a village
)

// staffingGrid is a grid with gaps.
type staffingGrid struct {
	Code   string      `json:"code"`
	Name   string      `json:"name"`
	Gaps   []string    `json:"gaps"`
	Leader *personJSON `json:"leader"`
	// LeaderOnLeaveUntil is when the leader's current leave ends, and
	// LeaderCoveredBy who takes the grid's new matters meanwhile (as
	// routing decides it: the deputy, else the fallback chain; null when
	// nobody is on duty).
	LeaderOnLeaveUntil *time.Time    `json:"leader_on_leave_until"`
	LeaderCoveredBy    *assigneeJSON `json:"leader_covered_by,omitempty"`
	Deputy             *personJSON   `json:"deputy"`
	MissingOrgs        []geo.OrgKind `json:"missing_organizations"`
}

// staffingVillage is a village with gaps, its own or its grids'.
type staffingVillage struct {
	Code          string         `json:"code"`
	Name          string         `json:"name"`
	District      *codeNameJSON  `json:"district"`
	Gaps          []string       `json:"gaps"`
	LiaisonLeader *personJSON    `json:"liaison_leader"`
	Grids         []staffingGrid `json:"grids"`
}

// staffingTotals counts the gaps of the town.
type staffingTotals struct {
	Grids            int                 `json:"grids"`
	GridsWithGaps    int                 `json:"grids_with_gaps"`
	NoLeader         int                 `json:"no_leader"`
	NoDeputy         int                 `json:"no_deputy"`
	LeaderUncovered  int                 `json:"leader_on_leave_uncovered"`
	NoLiaisonLeader  int                 `json:"no_liaison_leader"`
	MissingOrgsCount map[geo.OrgKind]int `json:"missing_organizations"`
}

// staffing answers GET /v1/staffing[?kinds=] (dispatchers, admins): the
// list a township office works through every Monday, from the snapshot —
// grids without a leader, without a deputy, whose leader is on leave now
// with nobody to stand in, and grids lacking an organization of each kind,
// grouped by village. kinds defaults to the kinds dispatch co-notifies
// (a grid without one has nobody to co-notify); "all" checks every kind.
func (s *Server) staffing(c *gin.Context) error {
	kinds, err := s.staffingKinds(c.Query("kinds"))
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	now := s.cfg.Now().UTC()
	personal := callerRole(c).SeesPersonalData()
	totals := staffingTotals{MissingOrgsCount: map[geo.OrgKind]int{}}
	for _, k := range kinds {
		totals.MissingOrgsCount[k] = 0
	}
	byVillage := map[string][]staffingGrid{}
	// A town's token sees its town's gaps.
	scope := callerTown(c)
	for i := range snap.Grids {
		g := &snap.Grids[i]
		if !scope.Covers(g.Code) {
			continue
		}
		totals.Grids++
		sg := staffingGrid{Code: g.Code, Name: g.Name, Gaps: []string{}, MissingOrgs: []geo.OrgKind{},
			Leader: contactJSON(g.Leader, personal), Deputy: contactJSON(g.Deputy, personal)}
		if g.Leader == nil {
			sg.Gaps = append(sg.Gaps, gapNoLeader)
			totals.NoLeader++
		}
		if g.Deputy == nil {
			sg.Gaps = append(sg.Gaps, gapNoDeputy)
			totals.NoDeputy++
		}
		if until, on := leaveUntil(g.Leader, now); on {
			sg.LeaderOnLeaveUntil = &until
			if a := snap.Absence(g, g.Leader, now); a != nil && a.CoveredBy != nil {
				cb := a.CoveredBy
				sg.LeaderCoveredBy = &assigneeJSON{Role: cb.Role, Level: cb.Level, Name: cb.Name, Reason: cb.Reason}
				if personal {
					sg.LeaderCoveredBy.Phone = cb.Phone
				}
			}
			if g.Deputy == nil || g.Deputy.OnLeave(now) {
				sg.Gaps = append(sg.Gaps, gapLeaderUncovered)
				totals.LeaderUncovered++
			}
		}
		for _, k := range kinds {
			if !slices.ContainsFunc(g.Organizations, func(o geo.OrganizationRef) bool { return o.Kind == k }) {
				sg.MissingOrgs = append(sg.MissingOrgs, k)
				totals.MissingOrgsCount[k]++
			}
		}
		if len(sg.Gaps) > 0 || len(sg.MissingOrgs) > 0 {
			totals.GridsWithGaps++
			byVillage[g.VillageCode] = append(byVillage[g.VillageCode], sg)
		}
	}
	villages := []staffingVillage{}
	for _, v := range snap.Villages {
		if !scope.Covers(v.Code) {
			continue
		}
		sv := staffingVillage{Code: v.Code, Name: v.Name, Gaps: []string{}, LiaisonLeader: contactJSON(v.LiaisonLeader, personal),
			Grids: byVillage[v.Code]}
		if d, ok := snap.VillageDistrict(&v); ok {
			sv.District = &codeNameJSON{Code: d.Code, Name: d.Name}
		}
		if v.LiaisonLeader == nil {
			sv.Gaps = append(sv.Gaps, gapNoLiaison)
			totals.NoLiaisonLeader++
		}
		if len(sv.Gaps) == 0 && len(sv.Grids) == 0 {
			continue
		}
		if sv.Grids == nil {
			sv.Grids = []staffingGrid{}
		}
		villages = append(villages, sv)
	}
	// Each town has its duty desk; duty_desk is the one of a one-town
	// deployment, as before towns were many.
	desks := make([]gin.H, 0, len(snap.Towns))
	var desk any
	for _, t := range snap.Towns {
		if !scope.Covers(t.Code) {
			continue
		}
		desks = append(desks, gin.H{"town": codeNameJSON{Code: t.Code, Name: t.Name}, "duty_desk": contactJSON(t.DutyDesk, personal)})
		if len(snap.Towns) == 1 || scope != "" {
			desk = contactJSON(t.DutyDesk, personal)
		}
	}
	c.JSON(http.StatusOK, gin.H{"at": now, "generation": snap.Generation, "kinds": kinds, "totals": totals,
		"duty_desk": desk, "duty_desks": desks, "villages": villages})
	return nil
}

// leaveUntil reports whether c is on leave at t, and until when (periods
// back to back count as one, as every other view shows them).
func leaveUntil(c *geo.Contact, t time.Time) (time.Time, bool) {
	p, ok := c.LeaveAt(t)
	return p.To, ok
}

// staffingKinds reads ?kinds= (comma-separated organization kinds, or
// "all"); the default is the kinds dispatch co-notifies.
func (s *Server) staffingKinds(raw string) ([]geo.OrgKind, error) {
	var kinds []geo.OrgKind
	switch raw = strings.TrimSpace(raw); raw {
	case "":
		for _, k := range s.cfg.Dispatch.CoNotify {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	case "all":
		kinds = append(kinds, geo.OrgKinds...)
	default:
		for _, part := range strings.Split(raw, ",") {
			k := geo.OrgKind(strings.TrimSpace(part))
			if !k.Valid() {
				return nil, badParam("kinds", "got %q, want a comma-separated list of %v, or all", truncate(part), geo.OrgKinds)
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.SortFunc(kinds, func(a, b geo.OrgKind) int { return a.Rank() - b.Rank() })
	if kinds == nil {
		kinds = []geo.OrgKind{}
	}
	return kinds, nil
}
