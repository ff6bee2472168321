package geo_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
)

var dispatchNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func square(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// staff is who is present for one case of the fallback chain: absent,
// on leave at dispatchNow, or present.
type staff int

const (
	absent staff = iota
	onLeave
	present
)

func (s staff) String() string { return [...]string{"absent", "on leave", "present"}[s] }

func contact(s staff, name string) *geo.Contact {
	switch s {
	case onLeave:
		return &geo.Contact{Name: name, Phone: "13900000000", Leave: []geo.Period{{From: dispatchNow.Add(-time.Hour), To: dispatchNow.Add(time.Hour)}}}
	case present:
		return &geo.Contact{Name: name, Phone: "13900000000"}
	}
	return nil
}

// oneGridTown is a town of one village with one grid, a 1 km square at
// (112, 27), staffed as given.
func oneGridTown(t *testing.T, leader, deputy, liaison staff, desk bool) *geo.Snapshot {
	t.Helper()
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.01, 27.01)},
		Villages: []geo.Village{{Code: "431321101201", Name: "一村", Outline: square(112, 27, 112.01, 27.01),
			LiaisonLeader: contact(liaison, "联村组长")}},
		Grids: []geo.GridRecord{{Grid: geo.Grid{Code: "431321101201001", Name: "网格1", VillageCode: "431321101201",
			Households: 60, Population: 180, Geometry: square(112, 27, 112.01, 27.01)},
			Leader: contact(leader, "网格长"), Deputy: contact(deputy, "副网格长"),
			Organizations: []geo.OrganizationRef{{Kind: geo.OrgHealthCommittee, Name: "一村爱卫会"}, {Kind: geo.OrgMediation, Name: "一村调解会"}}}}}
	if desk {
		td.Town.DutyDesk = &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}
	}
	snap, err := geo.NewSnapshot(1, td.Area(), dispatchNow)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// expectedRole is the fallback chain written out on its own: from level
// up, the first of leader, deputy (grid level), liaison leader (village
// level), duty desk (town) who is neither absent nor on leave; outside
// coverage only the duty desk.
func expectedRole(inGrid bool, level geo.Level, leader, deputy, liaison staff, desk bool) (geo.Role, bool) {
	if inGrid && level == geo.LevelGrid {
		if leader == present {
			return geo.RoleLeader, true
		}
		if deputy == present {
			return geo.RoleDeputy, true
		}
	}
	if inGrid && level <= geo.LevelVillage && liaison == present {
		return geo.RoleLiaisonLeader, true
	}
	if desk {
		return geo.RoleDutyDesk, true
	}
	return "", false
}

// TestAssign_fallbackChain runs every combination of who is there (leader,
// deputy, liaison leader: absent, on leave, present; duty desk or not), at
// every level, inside and outside coverage.
func TestAssign_fallbackChain(t *testing.T) {
	states := []staff{absent, onLeave, present}
	n := 0
	for _, leader := range states {
		for _, deputy := range states {
			for _, liaison := range states {
				for _, desk := range []bool{false, true} {
					snap := oneGridTown(t, leader, deputy, liaison, desk)
					g, _ := snap.Grid("431321101201001")
					for _, level := range []geo.Level{geo.LevelGrid, geo.LevelVillage, geo.LevelTown} {
						for _, inGrid := range []bool{true, false} {
							n++
							grid := g
							if !inGrid {
								grid = nil
							}
							name := fmt.Sprintf("leader %v, deputy %v, liaison %v, desk %v, level %d, in grid %v", leader, deputy, liaison, desk, level, inGrid)
							a, ok := snap.Assign("", grid, level, dispatchNow)
							wantRole, wantOK := expectedRole(inGrid, level, leader, deputy, liaison, desk)
							if ok != wantOK || a.Role != wantRole {
								t.Errorf("%s: got %q ok=%v, want %q ok=%v", name, a.Role, ok, wantRole, wantOK)
							}
							if ok && a.Reason == "" {
								t.Errorf("%s: no reason given", name)
							}
						}
					}
				}
			}
		}
	}
	if n != 3*3*3*2*3*2 {
		t.Fatalf("ran %d cases", n)
	}
}

// TestTransition_stateMachine checks every status against every action
// with the closed loop written out as a table of allowed steps.
func TestTransition_stateMachine(t *testing.T) {
	open := []geo.Status{geo.StReceived, geo.StDispatched, geo.StAccepted, geo.StInProgress, geo.StRejected, geo.StReopened}
	allowed := map[geo.Action]map[geo.Status]geo.Status{
		geo.ActAccept:   {geo.StDispatched: geo.StAccepted, geo.StReopened: geo.StAccepted},
		geo.ActStart:    {geo.StAccepted: geo.StInProgress},
		geo.ActResolve:  {geo.StAccepted: geo.StResolved, geo.StInProgress: geo.StResolved},
		geo.ActVerify:   {geo.StResolved: geo.StVerified},
		geo.ActClose:    {geo.StVerified: geo.StClosed, geo.StRejected: geo.StClosed},
		geo.ActReject:   {geo.StDispatched: geo.StRejected, geo.StAccepted: geo.StRejected},
		geo.ActReopen:   {geo.StResolved: geo.StReopened, geo.StVerified: geo.StReopened, geo.StClosed: geo.StReopened},
		geo.ActReassign: {},
		geo.ActEscalate: {},
		geo.ActComment:  {},

		geo.ActRequestReassign: {},
		geo.ActRequestEscalate: {},
		geo.ActSuspend:         {},
		// Resume goes back to the status before the suspension, which
		// Decide reads from the history (TestDecide_suspendResume).
		geo.ActResume:  {geo.StSuspended: geo.StSuspended},
		geo.ActCancel:  {geo.StSuspended: geo.StCancelled},
		geo.ActMerge:   {geo.StSuspended: geo.StMerged, geo.StResolved: geo.StMerged},
		geo.ActCorrect: {},
	}
	for _, st := range open {
		allowed[geo.ActReassign][st] = geo.StDispatched
		allowed[geo.ActEscalate][st] = geo.StDispatched
		allowed[geo.ActRequestReassign][st] = st
		allowed[geo.ActRequestEscalate][st] = st
		allowed[geo.ActSuspend][st] = geo.StSuspended
		allowed[geo.ActCancel][st] = geo.StCancelled
		allowed[geo.ActMerge][st] = geo.StMerged
	}
	// A suspended incident is still open: it may be asked about.
	allowed[geo.ActRequestReassign][geo.StSuspended] = geo.StSuspended
	allowed[geo.ActRequestEscalate][geo.StSuspended] = geo.StSuspended
	for _, st := range geo.Statuses {
		allowed[geo.ActComment][st] = st
		if st != geo.StClosed && st != geo.StCancelled && st != geo.StMerged {
			allowed[geo.ActCorrect][st] = st
		}
	}
	for _, action := range geo.UserActions {
		for _, from := range geo.Statuses {
			to, err := geo.Transition(from, action)
			want, ok := allowed[action][from]
			switch {
			case ok && (err != nil || to != want):
				t.Errorf("%s from %s: got %q, %v; want %s", action, from, to, err, want)
			case !ok && geo.ErrorCode(err) != geo.ECONFLICT:
				t.Errorf("%s from %s: got %q, %v; want a conflict", action, from, to, err)
			}
		}
	}
	if _, err := geo.Transition(geo.StDispatched, "teleport"); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("unknown action: got %v, want invalid", err)
	}
}

func ptr(v float64) *float64 { return &v }

// TestRoute checks intake decisions without a database: the grid by
// location or code, the assignee, co-notification and due time; and that
// a wrong request names every wrong field at once and decides nothing.
func TestRoute(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	snap := oneGridTown(t, onLeave, present, present, true)
	good := geo.IncidentRequest{Lon: ptr(112.005), Lat: ptr(27.005), Category: "environment", Severity: "urgent",
		Source: "walk_in", Description: "垃圾堆积", ReporterPhone: "+86 139 0000 1111"}
	inc, err := d.Route(snap, good, dispatchNow)
	if err != nil {
		t.Fatal(err)
	}
	if inc.GridCode != "431321101201001" || inc.Match != "inside" || inc.Assignee.Role != geo.RoleDeputy || inc.Status != geo.StDispatched {
		t.Errorf("routed to %s (%s), %s, %s", inc.GridCode, inc.Match, inc.Assignee.Role, inc.Status)
	}
	if inc.Assignee.Reason != "leader on leave → deputy" {
		t.Errorf("reason %q", inc.Assignee.Reason)
	}
	if !inc.DueAt.Equal(dispatchNow.Add(2*time.Hour)) || inc.ReporterPhone != "13900001111" {
		t.Errorf("due %v, phone %q", inc.DueAt, inc.ReporterPhone)
	}
	if len(inc.CoNotified) != 1 || inc.CoNotified[0].Name != "一村爱卫会" {
		t.Errorf("co-notified %v", inc.CoNotified)
	}

	byCode := good
	byCode.Lon, byCode.Lat, byCode.Grid = nil, nil, "431321101201001"
	if inc, err := d.Route(snap, byCode, dispatchNow); err != nil || inc.Match != "code" || inc.Location != nil {
		t.Errorf("by code: %+v, %v", inc, err)
	}
	far := good
	far.Lon, far.Lat = ptr(113), ptr(28)
	if inc, err := d.Route(snap, far, dispatchNow); err != nil || inc.Match != "outside" || inc.Assignee.Role != geo.RoleDutyDesk {
		t.Errorf("outside: %+v, %v", inc, err)
	}

	for _, c := range []struct {
		name  string
		edit  func(r *geo.IncidentRequest)
		where []string
	}{
		{"every field wrong at once", func(r *geo.IncidentRequest) {
			r.Category, r.Severity, r.Source, r.Description, r.ReporterPhone, r.ReportedAt, r.CRS = "x", "y", "z", " ", "12", "yesterday", "utm"
		}, []string{"category", "severity", "source", "description", "reporter_phone", "reported_at", "crs"}},
		{"lon without lat", func(r *geo.IncidentRequest) { r.Lat = nil }, []string{"lon"}},
		{"location and code", func(r *geo.IncidentRequest) { r.Grid = "431321101201001" }, []string{"grid"}},
		{"neither location nor code", func(r *geo.IncidentRequest) { r.Lon, r.Lat = nil, nil }, []string{"lon"}},
		{"lat out of range", func(r *geo.IncidentRequest) { r.Lat = ptr(91) }, []string{"lat"}},
		{"unknown grid", func(r *geo.IncidentRequest) { r.Lon, r.Lat, r.Grid = nil, nil, "431321101201009" }, []string{"grid"}},
		{"reported in the future", func(r *geo.IncidentRequest) { r.ReportedAt = "2026-11-23T09:00:00Z" }, []string{"reported_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := good
			c.edit(&req)
			inc, err := d.Route(snap, req, dispatchNow)
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EINVALID || inc != nil {
				t.Fatalf("got %v, %v; want an invalid error", inc, err)
			}
			var where []string
			for _, p := range ge.Problems {
				where = append(where, p.Where)
			}
			if !slices.Equal(where, c.where) {
				t.Errorf("problems at %v, want %v", where, c.where)
			}
		})
	}
}

// TestDecide checks the dispatcher's answer to each kind of step.
func TestDecide(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	snap := oneGridTown(t, present, present, present, true)
	atGrid := func(st geo.Status) *geo.Incident {
		return &geo.Incident{Number: "T-1", Status: st, Severity: geo.SevMajor, GridCode: "431321101201001",
			Assignee: geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: "网格长"}, DueAt: dispatchNow.Add(-time.Hour)}
	}
	ev := func(req geo.EventRequest) geo.Event {
		e, err := geo.CheckEvent(req, "调度员")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	ch, err := d.Decide(snap, atGrid(geo.StAccepted), ev(geo.EventRequest{Action: "escalate"}), dispatchNow)
	if err != nil || ch.Assignee.Role != geo.RoleLiaisonLeader || ch.Assignee.Level != geo.LevelVillage || !ch.DueAt.Equal(dispatchNow.Add(24*time.Hour)) {
		t.Errorf("escalate: %+v, %v", ch, err)
	}
	if ch.Note == "" {
		t.Error("escalation without a note says nothing")
	}
	top := atGrid(geo.StDispatched)
	top.Assignee.Level = geo.LevelTown
	if _, err := d.Decide(snap, top, ev(geo.EventRequest{Action: "escalate"}), dispatchNow); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("escalate past the town: %v", err)
	}
	ch, err = d.Decide(snap, atGrid(geo.StInProgress), ev(geo.EventRequest{Action: "reassign", Assignee: &geo.ContactJSON{Name: "张三", Phone: "13911112222"}}), dispatchNow)
	if err != nil || ch.Assignee.Name != "张三" || ch.Assignee.Level != geo.LevelGrid || ch.Assignee.Reason != "reassigned by 调度员" || ch.To != geo.StDispatched {
		t.Errorf("explicit reassign: %+v, %v", ch, err)
	}
	ch, err = d.Decide(snap, atGrid(geo.StInProgress), ev(geo.EventRequest{Action: "reassign"}), dispatchNow)
	if err != nil || ch.Assignee.Role != geo.RoleLeader {
		t.Errorf("reassign by the chain: %+v, %v", ch, err)
	}
	if _, err := d.Decide(snap, atGrid(geo.StClosed), ev(geo.EventRequest{Action: "resolve"}), dispatchNow); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("resolve a closed incident: %v", err)
	}
	ch, err = d.Decide(snap, atGrid(geo.StAccepted), ev(geo.EventRequest{Action: "comment", Note: "已联系"}), dispatchNow)
	if err != nil || ch.To != geo.StAccepted || ch.Assignee != nil || !ch.DueAt.IsZero() {
		t.Errorf("comment: %+v, %v", ch, err)
	}

	for _, c := range []struct {
		name  string
		req   geo.EventRequest
		where string
	}{
		{"unknown action", geo.EventRequest{Action: "teleport"}, "action"},
		{"assignee without reassign", geo.EventRequest{Action: "accept", Assignee: &geo.ContactJSON{Name: "张三", Phone: "13911112222"}}, "assignee"},
		{"assignee with a bad phone", geo.EventRequest{Action: "reassign", Assignee: &geo.ContactJSON{Name: "张三", Phone: "123"}}, "assignee"},
		{"note too long", geo.EventRequest{Action: "comment", Note: string(make([]byte, geo.MaxNoteBytes+1))}, "note"},
	} {
		_, err := geo.CheckEvent(c.req, "调度员")
		var ge *geo.Error
		if !errors.As(err, &ge) || len(ge.Problems) == 0 || ge.Problems[0].Where != c.where {
			t.Errorf("%s: got %v, want a problem at %s", c.name, err, c.where)
		}
	}
}
