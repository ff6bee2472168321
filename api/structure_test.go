package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
)

type seatAnswer struct {
	ID     int64
	Role   string
	Person struct {
		ID          int64
		Name, Phone string
	}
	From time.Time
	To   *time.Time
}

type districtAnswer struct {
	Code      string
	Name      string
	Villages  []struct{ Code, Name string }
	Secretary *seatAnswer
	Members   []seatAnswer
	History   []seatAnswer
}

type teamCoverageAnswer struct {
	Team struct {
		ID   int64
		Name string
	}
	Village struct{ Code string }
	From    time.Time
	To      *time.Time
}

type teamAnswer struct {
	ID             int64
	Name, Kind     string
	Status         string
	Leader         *seatAnswer
	Members        []seatAnswer
	Villages       []teamCoverageAnswer
	History        []seatAnswer
	VillageHistory []teamCoverageAnswer `json:"village_history"`
}

const districtPath = "/v1/towns/431321101/districts/01"

// TestDistricts_secretaryHistory: a 片区's secretary is appointed and
// replaced like a grid's leader; who held the seat on a past date is
// answered from the record; phones only for roles that see personal
// data; writes are the admins'.
func TestDistricts_secretaryHistory(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	var res struct {
		Seat      seatAnswer
		Unchanged bool
		Ended     []seatAnswer
	}
	e.setNow(t1)
	if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", map[string]any{"name": "片区书记甲", "phone": "13700000201"}, &res); code != 200 {
		t.Fatalf("appointing: %d", code)
	}
	if res.Seat.Role != "secretary" || res.Seat.Person.Name != "片区书记甲" || len(res.Ended) != 0 {
		t.Errorf("first secretary: %+v", res)
	}
	if d, _ := e.snap.TownOf("431321101"); d.Districts[0].Secretary == nil || d.Districts[0].Secretary.Name != "片区书记甲" {
		t.Errorf("the snapshot does not know the secretary: %+v", d.Districts)
	}
	e.setNow(t2)
	if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", map[string]any{"name": "片区书记乙", "phone": "13700000202"}, &res); code != 200 {
		t.Fatalf("replacing: %d", code)
	}
	if len(res.Ended) != 1 || res.Ended[0].Person.Name != "片区书记甲" || res.Ended[0].To == nil || !res.Ended[0].To.Equal(t2) {
		t.Errorf("replacing ended %+v, want 片区书记甲 at t2", res.Ended)
	}
	if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", map[string]any{"name": "片区书记乙", "phone": "13700000202"}, &res); code != 200 || !res.Unchanged {
		t.Errorf("appointing the holder again: %d unchanged=%v", code, res.Unchanged)
	}
	if code := e.do(geo.AccessAdmin, "POST", districtPath+"/members", map[string]any{"name": "片区委员", "phone": "13700000203"}, &res); code != 201 {
		t.Errorf("adding a member: %d", code)
	}
	for _, tc := range []struct {
		at        time.Time
		secretary string
		members   int
	}{
		{t0, "", 0},
		{t1.Add(30 * time.Minute), "片区书记甲", 0},
		{t2, "片区书记乙", 1},
	} {
		var d districtAnswer
		if code := e.do(geo.AccessDispatcher, "GET", districtPath+"?at="+url.QueryEscape(tc.at.Format(time.RFC3339)), nil, &d); code != 200 {
			t.Fatalf("at %s: %d", tc.at, code)
		}
		got := ""
		if d.Secretary != nil {
			got = d.Secretary.Person.Name
			if d.Secretary.Person.Phone == "" {
				t.Errorf("a dispatcher does not see the secretary's phone")
			}
		}
		if got != tc.secretary || len(d.Members) != tc.members || len(d.History) != 3 || len(d.Villages) != 2 {
			t.Errorf("at %s: secretary %q, %d members, %d seats in history, %d villages; want %q, %d, 3, 2",
				tc.at, got, len(d.Members), len(d.History), len(d.Villages), tc.secretary, tc.members)
		}
	}
	var list struct{ Districts []districtAnswer }
	if code := e.do("", "GET", "/v1/towns/431321101/districts", nil, &list); code != 200 || len(list.Districts) != 1 ||
		list.Districts[0].Secretary == nil || list.Districts[0].Secretary.Person.Phone != "" {
		t.Errorf("anonymous list: %d %+v, want the district without phones", code, list)
	}
	// Vacating, then history again.
	e.setNow(t2.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "DELETE", districtPath+"/secretary", nil, nil); code != 200 {
		t.Errorf("vacating: %d", code)
	}
	var d districtAnswer
	e.do(geo.AccessViewer, "GET", districtPath, nil, &d)
	if d.Secretary != nil {
		t.Errorf("after vacating: secretary %+v", d.Secretary)
	}

	// Refusals: 401, 403, 404, 400 naming the field.
	var p problemAnswer
	if code := e.do("", "PUT", districtPath+"/secretary", map[string]any{"name": "甲", "phone": "13700000209"}, &p); code != 401 {
		t.Errorf("anonymous appointment: %d, want 401", code)
	}
	if code := e.do(geo.AccessDispatcher, "POST", districtPath+"/members", map[string]any{"name": "甲", "phone": "13700000209"}, &p); code != 403 {
		t.Errorf("a dispatcher's appointment: %d, want 403", code)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/towns/431321101/districts/09/secretary", map[string]any{"name": "甲", "phone": "13700000209"}, &p); code != 404 {
		t.Errorf("unknown district: %d, want 404", code)
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/towns/431321101/districts/a%21b", nil, &p); code != 400 || !hasProblemAt(p, "district") {
		t.Errorf("bad district code: %d %+v, want 400 at district", code, p)
	}
	if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", map[string]any{"name": "甲", "phone": "123"}, &p); code != 400 || !hasProblemAt(p, "phone") {
		t.Errorf("bad phone: %d %+v, want 400 at phone", code, p)
	}
	if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", `{"name": "甲", "phone": "13700000209", "title": "书记"}`, &p); code != 400 ||
		!strings.Contains(p.Detail, "title") {
		t.Errorf("unknown member: %d %+v, want 400 naming title", code, p)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", districtPath+"/members/999999", nil, &p); code != 404 {
		t.Errorf("vacating a seat nobody holds: %d, want 404", code)
	}
}

func hasProblemAt(p problemAnswer, where string) bool {
	for _, e := range p.Errors {
		if e.Where == where {
			return true
		}
	}
	return false
}

// createTeam creates a team as admin and returns it.
func (e *peopleEnv) createTeam(name string) teamAnswer {
	e.t.Helper()
	var tm teamAnswer
	if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"name": name, "kind": "liaison"}, &tm); code != 201 {
		e.t.Fatalf("creating team %s: %d", name, code)
	}
	return tm
}

// TestTeams_coverageHistory: which team covered a village last year is
// answered from the record: a village moved to another team keeps the old
// coverage, ended when the new one starts.
func TestTeams_coverageHistory(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	lastYear := importedAt.AddDate(-1, 0, 0)
	a := e.createTeam("二村联村工作组")
	if a.Status != "active" || a.Kind != "liaison" {
		t.Errorf("new team: %+v", a)
	}
	var cov struct {
		Coverage teamCoverageAnswer
		Ended    []teamCoverageAnswer
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", a.ID), map[string]any{"village": "431321101202", "from": lastYear.Format(time.RFC3339)}, &cov); code != 201 {
		t.Fatalf("covering: %d", code)
	}
	b := e.createTeam("二村驻村工作组")
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", b.ID), map[string]any{"village": "431321101202"}, &cov); code != 201 {
		t.Fatalf("moving the village: %d", code)
	}
	if len(cov.Ended) != 1 || cov.Ended[0].Team.ID != a.ID || cov.Ended[0].To == nil || !cov.Ended[0].To.Equal(t0) {
		t.Errorf("moving ended %+v, want team %d's coverage at t0", cov.Ended, a.ID)
	}
	var vt struct {
		Team    *teamCoverageAnswer
		History []teamCoverageAnswer
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{{lastYear.AddDate(0, 6, 0), a.ID}, {t0, b.ID}, {lastYear.Add(-time.Hour), 0}} {
		if code := e.do("", "GET", "/v1/villages/431321101202/teams?at="+url.QueryEscape(tc.at.Format(time.RFC3339)), nil, &vt); code != 200 {
			t.Fatalf("village teams: %d", code)
		}
		var got int64
		if vt.Team != nil {
			got = vt.Team.Team.ID
		}
		if got != tc.want || len(vt.History) != 2 {
			t.Errorf("at %s: team %d (%d in history), want %d (2)", tc.at, got, len(vt.History), tc.want)
		}
	}
	var tm teamAnswer
	e.do(geo.AccessViewer, "GET", fmt.Sprintf("/v1/teams/%d?at=%s", a.ID, lastYear.AddDate(0, 6, 0).Format("2006-01-02")), nil, &tm)
	if len(tm.Villages) != 1 || len(tm.VillageHistory) != 1 || tm.VillageHistory[0].To == nil {
		t.Errorf("team %d last year: %+v", a.ID, tm)
	}
	var list struct{ Teams []teamAnswer }
	if code := e.do("", "GET", "/v1/teams?village=431321101202", nil, &list); code != 200 || len(list.Teams) != 1 || list.Teams[0].ID != b.ID {
		t.Errorf("teams covering the village now: %d %+v", code, list.Teams)
	}

	// Disbanding ends the seats and the coverage; the team stays.
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "PUT", fmt.Sprintf("/v1/teams/%d/leader", b.ID), map[string]any{"name": "组长乙", "phone": "13700000301"}, nil); code != 200 {
		t.Fatalf("leader: %d", code)
	}
	e.setNow(t0.Add(2 * time.Hour))
	if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/teams/%d", b.ID), map[string]any{"status": "ended"}, &tm); code != 200 ||
		tm.Status != "ended" || tm.Leader != nil || len(tm.Villages) != 0 || len(tm.History) != 1 {
		t.Errorf("disbanding: %d %+v", code, tm)
	}
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/members", b.ID), map[string]any{"name": "组员", "phone": "13700000302"}, &p); code != 409 {
		t.Errorf("seating on a disbanded team: %d, want 409", code)
	}

	// Refusals.
	if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"name": "x", "kind": "village"}, &p); code != 400 || !hasProblemAt(p, "kind") {
		t.Errorf("bad kind: %d %+v", code, p)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"name": "二村联村工作组"}, &p); code != 409 {
		t.Errorf("a second team of the same name: %d, want 409", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", `{"name": "三组", "leader": "甲"}`, &p); code != 400 || !strings.Contains(p.Detail, "leader") {
		t.Errorf("unknown member: %d %+v", code, p)
	}
	if code := e.do(geo.AccessPlanner, "POST", "/v1/teams", map[string]any{"name": "三组"}, &p); code != 403 {
		t.Errorf("a planner creating a team: %d, want 403", code)
	}
	if code := e.do("", "PATCH", fmt.Sprintf("/v1/teams/%d", a.ID), map[string]any{"name": "y"}, &p); code != 401 {
		t.Errorf("anonymous rename: %d, want 401", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", a.ID), map[string]any{"village": "431321102201"}, &p); code != 400 || !hasProblemAt(p, "village") {
		t.Errorf("a village of another town: %d %+v", code, p)
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/teams/424242", nil, &p); code != 404 {
		t.Errorf("unknown team: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/teams?status=gone", nil, &p); code != 400 || !hasProblemAt(p, "status") {
		t.Errorf("bad status: %d %+v", code, p)
	}
}

// TestTeams_leaderTakesTheVillagesCase: grid 004 has nobody and its
// village no liaison leader; once a team covers the village, its leader
// takes the case at the village level instead of the town duty desk.
func TestTeams_leaderTakesTheVillagesCase(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	var got incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(4), "environment", "minor"), &got)
	if got.Assignee == nil || got.Assignee.Role != "duty_desk" {
		t.Fatalf("before the team: %+v, want the duty desk", got.Assignee)
	}
	tm := e.createTeam("二村联村工作组")
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", tm.ID), map[string]any{"village": "431321101202"}, nil); code != 201 {
		t.Fatalf("covering: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PUT", fmt.Sprintf("/v1/teams/%d/leader", tm.ID), map[string]any{"name": "工作组组长", "phone": "13700000401"}, nil); code != 200 {
		t.Fatalf("leader: %d", code)
	}
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(4), "environment", "minor"), &got)
	if got.Assignee == nil || got.Assignee.Role != "team_leader" || got.Assignee.Level != 1 || got.Assignee.Name != "工作组组长" ||
		!strings.Contains(got.Assignee.Reason, "二村联村工作组") {
		t.Errorf("with the team: %+v, want its leader at the village level", got.Assignee)
	}
	// Vacating the leader hands the open case over (to the desk).
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("/v1/teams/%d/leader", tm.ID), nil, nil); code != 200 {
		t.Fatalf("vacating: %d", code)
	}
	var after incidentAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+got.Number, nil, &after)
	if after.Assignee == nil || after.Assignee.Role != "duty_desk" {
		t.Errorf("after the leader left: %+v, want the duty desk", after.Assignee)
	}
}

// TestEscalation_throughDistrict: with the setting on, an escalation from
// the village goes to the 片区's secretary (recorded as its own role, at
// the town level), then to the town duty desk; with it off (the default),
// from the village straight to the desk.
func TestEscalation_throughDistrict(t *testing.T) {
	t.Parallel()
	for _, via := range []bool{true, false} {
		t.Run(fmt.Sprintf("via district %v", via), func(t *testing.T) {
			e := newPeopleEnv(t, dispatchTown())
			if via {
				cfg := geo.DefaultDispatchConfig()
				cfg.ViaDistrict = true
				e.serve(api.Config{Dispatch: cfg})
			}
			if code := e.do(geo.AccessAdmin, "PUT", districtPath+"/secretary", map[string]any{"name": "片区书记", "phone": "13700000501"}, nil); code != 200 {
				t.Fatalf("secretary: %d", code)
			}
			var inc incidentAnswer
			e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &inc)
			want := []string{"liaison_leader", "district_secretary", "duty_desk"}
			if !via {
				want = []string{"liaison_leader", "duty_desk"}
			}
			for _, role := range want {
				var got incidentAnswer
				if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "escalate"}, &got); code != 200 {
					t.Fatalf("escalating to %s: %d", role, code)
				}
				if got.Assignee == nil || got.Assignee.Role != role {
					t.Fatalf("escalated to %+v, want %s", got.Assignee, role)
				}
				if role == "district_secretary" && (got.Assignee.Level != 2 || got.Assignee.Name != "片区书记") {
					t.Errorf("the district step: %+v, want the secretary at level 2", got.Assignee)
				}
			}
			var p problemAnswer
			if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "escalate"}, &p); code != 409 {
				t.Errorf("escalating past the desk: %d, want 409", code)
			}
			if n := e.count("incident_events WHERE action = 'escalate' AND assignee_role = 'district_secretary'"); (n == 1) != via {
				t.Errorf("%d escalation events to the district secretary recorded", n)
			}
		})
	}
}

// TestTeams_membersSeeTheirVillages: a team member signed in sees the
// incidents of the villages the team covers, and nobody else's.
func TestTeams_membersSeeTheirVillages(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	pe := &peopleEnv{e.dispatchEnv}
	tm := pe.createTeam("二村联村工作组")
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", tm.ID), map[string]any{"village": "431321101202"}, nil); code != 201 {
		t.Fatalf("covering: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/members", tm.ID), map[string]any{"name": "组员丙", "phone": "13700000601"}, nil); code != 201 {
		t.Fatalf("member: %d", code)
	}
	var in2, in1 incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(5), "environment", "minor"), &in2)
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "minor"), &in1)
	s := e.linkFor(t, "组员丙")
	var me struct {
		Roles []struct {
			Role    string
			Village *struct{ Code string }
		}
	}
	if code := e.do("", "GET", "/v1/me", nil, &me, bearer(s.Token)...); code != 200 || len(me.Roles) != 1 || me.Roles[0].Role != "team_member" ||
		me.Roles[0].Village == nil || me.Roles[0].Village.Code != "431321101202" {
		t.Errorf("me: %d %+v, want a team member of village 202", code, me)
	}
	var list struct{ Incidents []incidentAnswer }
	if code := e.do("", "GET", "/v1/me/incidents", nil, &list, bearer(s.Token)...); code != 200 {
		t.Fatalf("me/incidents: %d", code)
	}
	if len(list.Incidents) != 1 || list.Incidents[0].Number != in2.Number {
		t.Errorf("the member sees %+v, want only %s", list.Incidents, in2.Number)
	}
	var p problemAnswer
	if code := e.do("", "GET", "/v1/incidents/"+in1.Number, nil, &p, bearer(s.Token)...); code != 403 {
		t.Errorf("another village's incident: %d, want 403", code)
	}
}
