package geo_test

import (
	"testing"
	"time"

	"wangge/geo"
)

func TestContact_LeaveAt(t *testing.T) {
	h := func(n int) time.Time { return dispatchNow.Add(time.Duration(n) * time.Hour) }
	tests := []struct {
		name     string
		c        *geo.Contact
		at       time.Time
		ok       bool
		from, to time.Time
	}{
		{"nil contact", nil, h(0), false, time.Time{}, time.Time{}},
		{"no leave", &geo.Contact{Name: "甲"}, h(0), false, time.Time{}, time.Time{}},
		{"inside one period", &geo.Contact{Leave: []geo.Period{{From: h(-1), To: h(2)}}}, h(0), true, h(-1), h(2)},
		{"at its start", &geo.Contact{Leave: []geo.Period{{From: h(0), To: h(2)}}}, h(0), true, h(0), h(2)},
		{"at its end: back", &geo.Contact{Leave: []geo.Period{{From: h(-2), To: h(0)}}}, h(0), false, time.Time{}, time.Time{}},
		{"back to back: one absence", &geo.Contact{Leave: []geo.Period{{From: h(5), To: h(9)}, {From: h(-1), To: h(2)}, {From: h(2), To: h(5)}}},
			h(0), true, h(-1), h(9)},
		{"a gap ends it", &geo.Contact{Leave: []geo.Period{{From: h(-1), To: h(2)}, {From: h(3), To: h(5)}}}, h(0), true, h(-1), h(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := tt.c.LeaveAt(tt.at)
			if ok != tt.ok || ok && (!p.From.Equal(tt.from) || !p.To.Equal(tt.to)) {
				t.Errorf("got %v %v, want %v [%s, %s)", p, ok, tt.ok, tt.from, tt.to)
			}
			if ok != tt.c.OnLeave(tt.at) {
				t.Errorf("LeaveAt says %v, OnLeave %v", ok, tt.c.OnLeave(tt.at))
			}
		})
	}
}

// Who covers an absent leader is who routing sends the grid's matters to.
func TestSnapshot_Absence(t *testing.T) {
	tests := []struct {
		leader, deputy, liaison staff
		desk                    bool
		cover                   geo.Role // "" when nobody covers
	}{
		{onLeave, present, present, true, geo.RoleDeputy},
		{onLeave, onLeave, present, true, geo.RoleLiaisonLeader},
		{onLeave, absent, onLeave, true, geo.RoleDutyDesk},
		{onLeave, onLeave, onLeave, false, ""},
		{present, onLeave, present, true, geo.RoleLeader},
	}
	for _, tt := range tests {
		t.Run(tt.leader.String()+"/"+tt.deputy.String()+"/"+tt.liaison.String(), func(t *testing.T) {
			snap := oneGridTown(t, tt.leader, tt.deputy, tt.liaison, tt.desk)
			g := &snap.Grids[0]
			for _, c := range []*geo.Contact{g.Leader, g.Deputy} {
				a := snap.Absence(g, c, dispatchNow)
				if a == nil != !c.OnLeave(dispatchNow) {
					t.Fatalf("%+v: absence %+v", c, a)
				}
				if a == nil {
					continue
				}
				if got := a.CoveredBy; tt.cover == "" && got != nil || tt.cover != "" && (got == nil || got.Role != tt.cover) {
					t.Errorf("%s covered by %+v, want %q", c.Name, got, tt.cover)
				}
				routed, _ := snap.Assign("", g, geo.LevelGrid, dispatchNow)
				if a.CoveredBy != nil && *a.CoveredBy != routed {
					t.Errorf("covered by %+v, routing sends to %+v", *a.CoveredBy, routed)
				}
			}
		})
	}
}

// Handover re-decides through the fallback chain at the incident's level:
// a new assignee must accept again, and hears of it with the previous one;
// nobody on duty leaves the incident received (and tells the one who
// had it); a suspended incident keeps
// its status; the same assignee changes nothing and sends nothing.
func TestDispatcher_Handover(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	sms := []geo.Channel{{ID: 1, Name: "短信", Kind: geo.ChanSMS, Enabled: true}}
	gone := geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: "旧网格长", Phone: "13900000001", Reason: "leader"}
	tests := []struct {
		name                    string
		leader, deputy, liaison staff
		desk                    bool
		status                  geo.Status
		from                    geo.Assignee
		wantRole                geo.Role
		wantStatus              geo.Status
		wantMessages            int
	}{
		{"to the successor", present, present, present, true, geo.StAccepted, gone, geo.RoleLeader, geo.StDispatched, 2},
		{"successor on leave: the deputy", onLeave, present, present, true, geo.StInProgress, gone, geo.RoleDeputy, geo.StDispatched, 2},
		{"no one at the grid: the liaison leader", absent, absent, present, true, geo.StDispatched, gone, geo.RoleLiaisonLeader, geo.StDispatched, 2},
		// The one who had it still hears that it left them.
		{"nobody at all: waits, received", absent, absent, absent, false, geo.StAccepted, gone, "", geo.StReceived, 1},
		{"suspended stays suspended", present, present, present, true, geo.StSuspended, gone, geo.RoleLeader, geo.StSuspended, 2},
		{"escalated keeps its level", present, present, present, true, geo.StAccepted,
			geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage, Name: "旧组长", Phone: "13900000002"}, geo.RoleLiaisonLeader, geo.StDispatched, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := oneGridTown(t, tt.leader, tt.deputy, tt.liaison, tt.desk)
			g := &snap.Grids[0]
			inc := &geo.Incident{Number: "WG00000001", Category: geo.CatSafety, Severity: geo.SevMajor, Status: tt.status,
				GridCode: g.Code, VillageCode: g.VillageCode, Match: "inside", Generation: 1, Assignee: tt.from, DueAt: dispatchNow}
			r := d.Handover(snap, sms, inc, dispatchNow, "旧网格长's appointment ended")
			if r.Action != geo.ActHandover || r.Assignee.Role != tt.wantRole || r.To != tt.wantStatus || len(r.Messages) != tt.wantMessages {
				t.Errorf("got %s to %+v, status %s, %d messages; want %q, %s, %d", r.Action, r.Assignee, r.To, len(r.Messages),
					tt.wantRole, tt.wantStatus, tt.wantMessages)
			}
			if r.GridCode != g.Code || r.Note == "" || !r.Changed {
				t.Errorf("grid %s, note %q, changed %v", r.GridCode, r.Note, r.Changed)
			}
			// The same person again changes nothing.
			inc.Assignee = r.Assignee
			if again := d.Handover(snap, sms, inc, dispatchNow, "again"); tt.wantRole != "" && (again.Changed || again.To != inc.Status || len(again.Messages) != 0) {
				t.Errorf("handing over to the holder: %+v", again)
			}
		})
	}
}

// A reroute puts the incident on the grid named, with that grid's
// organizations, and decides the assignee there; outside every grid it
// goes to the duty desk.
func TestDispatcher_RerouteToGrid(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	snap := oneGridTown(t, onLeave, present, present, true)
	g := &snap.Grids[0]
	loc := [2]float64{112.005, 27.005}
	inc := &geo.Incident{Number: "WG00000002", Category: geo.CatEnvironment, Severity: geo.SevMinor, Status: geo.StDispatched,
		Location: &loc, GridCode: "431321101202001", VillageCode: "431321101202", Match: "inside", Generation: 0,
		Assignee: geo.Assignee{Role: geo.RoleLeader, Name: "别的网格长", Phone: "13900000003"}}
	r := d.RerouteToGrid(snap, nil, inc, g.Code, dispatchNow, "plan 1 applied as generation 1")
	if r.GridCode != g.Code || r.VillageCode != g.VillageCode || r.Match != "inside" || r.Generation != 1 ||
		r.Assignee.Role != geo.RoleDeputy || r.Assignee.Reason != "leader on leave → deputy" || r.To != geo.StDispatched ||
		len(r.CoNotified) != 1 || r.CoNotified[0].Name != "一村爱卫会" {
		t.Errorf("into the grid: %+v", r)
	}
	out := d.RerouteToGrid(snap, nil, inc, "", dispatchNow, "plan 1")
	if out.GridCode != "" || out.Match != "outside" || out.Assignee.Role != geo.RoleDutyDesk || len(out.CoNotified) != 0 {
		t.Errorf("outside every grid: %+v", out)
	}
}
