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
	snap := s.registry.Load()
	// A town's token sees its town's gaps.
	scope := callerTown(c)
	kinds, townKinds, err := s.staffingKinds(c, snap, scope)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	personal := callerRole(c).SeesPersonalData()
	totals := staffingTotals{MissingOrgsCount: map[geo.OrgKind]int{}}
	for _, k := range kinds {
		totals.MissingOrgsCount[k] = 0
	}
	byVillage := map[string][]staffingGrid{}
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
		for _, k := range townKinds(g.Code) {
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

// staffingKinds reads ?kinds= against the catalogues of the towns the
// caller sees: a comma-separated list of kinds, "all" (each town's whole
// catalogue), or by default the kinds whose organizations dispatch
// co-notifies in each town (the catalogue's co_notify where set, else
// --co-notify): a grid without one has nobody to co-notify. kinds is what
// the answer lists; townKinds gives the kinds a grid is checked for.
func (s *Server) staffingKinds(c *gin.Context, snap *geo.Snapshot, scope geo.TownScope) (kinds []geo.OrgKind, townKinds func(grid string) []geo.OrgKind, err error) {
	raw := strings.TrimSpace(c.Query("kinds"))
	catalogues := map[string][]geo.OrgKindEntry{}
	var known []geo.OrgKind // every town's catalogue, in order of first appearance
	for _, t := range snap.Towns {
		if !scope.Covers(t.Code) {
			continue
		}
		entries, err := s.orgKindCatalogue(c, t.Code)
		if err != nil {
			return nil, nil, err
		}
		catalogues[t.Code] = entries
		for _, e := range entries {
			if !slices.Contains(known, e.Code) {
				known = append(known, e.Code)
			}
		}
	}
	conotified := func(e geo.OrgKindEntry) bool {
		if e.CoNotify != nil {
			return len(e.CoNotify) > 0
		}
		for _, k := range s.cfg.Dispatch.CoNotify {
			if k == e.Code {
				return true
			}
		}
		return false
	}
	perTown := map[string][]geo.OrgKind{}
	var listed []geo.OrgKind
	switch raw {
	case "", "all":
		for town, entries := range catalogues {
			for _, e := range entries {
				if raw == "all" || conotified(e) {
					perTown[town] = append(perTown[town], e.Code)
				}
			}
		}
	default:
		for _, part := range strings.Split(raw, ",") {
			k := geo.OrgKind(strings.TrimSpace(part))
			if !slices.Contains(known, k) {
				return nil, nil, badParam("kinds", "got %q, want a comma-separated list of kinds of the catalogue (GET /v1/organization-kinds: %v), or all",
					truncate(part), known)
			}
			if !slices.Contains(listed, k) {
				listed = append(listed, k)
			}
		}
	}
	kinds = []geo.OrgKind{}
	for _, k := range known {
		if slices.Contains(listed, k) || slices.ContainsFunc(snap.Towns, func(t geo.Town) bool { return slices.Contains(perTown[t.Code], k) }) {
			kinds = append(kinds, k)
		}
	}
	if listed != nil {
		return kinds, func(string) []geo.OrgKind { return kinds }, nil
	}
	return kinds, func(grid string) []geo.OrgKind { return perTown[geo.TownCodeOf(grid)] }, nil
}

// orgKindCatalogue is town's catalogue of organization kinds; a server
// without the catalogue has the seeded kinds, co-notified as --co-notify
// says.
func (s *Server) orgKindCatalogue(c *gin.Context, town string) ([]geo.OrgKindEntry, error) {
	st, err := s.orgKindStore()
	if err != nil {
		out := make([]geo.OrgKindEntry, len(geo.SeededOrgKinds))
		for i, k := range geo.SeededOrgKinds {
			out[i] = geo.OrgKindEntry{TownCode: town, Code: k}
		}
		return out, nil
	}
	return st.OrgKinds(c.Request.Context(), town)
}
