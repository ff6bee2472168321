package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

type staffingAnswer struct {
	Kinds  []string
	Totals struct {
		Grids           int
		GridsWithGaps   int            `json:"grids_with_gaps"`
		NoLeader        int            `json:"no_leader"`
		NoDeputy        int            `json:"no_deputy"`
		LeaderUncovered int            `json:"leader_on_leave_uncovered"`
		NoLiaisonLeader int            `json:"no_liaison_leader"`
		Missing         map[string]int `json:"missing_organizations"`
	}
	Villages []struct {
		Code  string
		Gaps  []string
		Grids []struct {
			Code      string
			Gaps      []string
			Missing   []string `json:"missing_organizations"`
			CoveredBy *struct {
				Role, Name, Phone string
			} `json:"leader_covered_by"`
		}
	}
}

// gaps renders the answer as "village[gaps]: grid[gaps|missing] …", one
// village per line, for comparison with the town's picture.
func (a staffingAnswer) gaps() string {
	var b strings.Builder
	for _, v := range a.Villages {
		fmt.Fprintf(&b, "%s%v:", v.Code[9:], v.Gaps)
		for _, g := range v.Grids {
			fmt.Fprintf(&b, " %s%v%v", g.Code[12:], g.Gaps, g.Missing)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestStaffing lists the gaps of a town built with them, at t0:
//
//	village 201 (liaison leader 联村组长甲)
//	  001 leader, deputy                 → fine
//	  002 leader on leave, deputy        → fine: the deputy stands in
//	  003 leader and deputy on leave     → leader on leave, uncovered
//	village 202 (no liaison leader)      → no liaison leader
//	  001 nobody                         → no leader, no deputy
//	  002 leader only                    → no deputy
//	  003 no 爱卫会                       → missing health_committee
//
// and follows the changes of appointments and leave.
func TestStaffing(t *testing.T) {
	t.Parallel()
	td := dispatchTown()
	td.Grids[4].Deputy = nil
	td.Grids[5].Organizations = slices.DeleteFunc(td.Grids[5].Organizations, func(o geo.OrganizationRef) bool { return o.Kind == geo.OrgHealthCommittee })
	e := newPeopleEnv(t, td)
	get := func(query string) staffingAnswer {
		t.Helper()
		var a staffingAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/staffing"+query, nil, &a); code != 200 {
			t.Fatalf("staffing%s: %d", query, code)
		}
		return a
	}
	a := get("")
	want := "201[]: 003[leader_on_leave_uncovered][]\n" +
		"202[no_liaison_leader]: 001[no_leader no_deputy][] 002[no_deputy][] 003[][health_committee]\n"
	if got := a.gaps(); got != want {
		t.Errorf("gaps:\n%s\nwant:\n%s", got, want)
	}
	// Who covers a leader on leave is shown as routing decides it: with the
	// deputy on leave too, the village's liaison leader.
	if cb := a.Villages[0].Grids[0].CoveredBy; cb == nil || cb.Role != "liaison_leader" || cb.Name != "联村组长甲" || cb.Phone != "13900000100" {
		t.Errorf("grid 003's leader on leave: covered by %+v, want the liaison leader 联村组长甲 with the phone", cb)
	}
	if strings.Join(a.Kinds, ",") != "red_white_council,health_committee,left_behind_children,mediation" {
		t.Errorf("kinds %v, want those dispatch co-notifies", a.Kinds)
	}
	tt := a.Totals
	if tt.Grids != 6 || tt.GridsWithGaps != 4 || tt.NoLeader != 1 || tt.NoDeputy != 2 || tt.LeaderUncovered != 1 ||
		tt.NoLiaisonLeader != 1 || tt.Missing["health_committee"] != 1 || tt.Missing["mediation"] != 0 {
		t.Errorf("totals %+v", tt)
	}

	// A deputy appointed on 202002, and the deputy of 201002 on leave too.
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid5+"/deputy", map[string]any{"name": "新副网格长", "phone": "13700000005"}, nil); code != 200 {
		t.Fatalf("deputy: %d", code)
	}
	deputy2 := e.personID("副网格长2")
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/people/%d/leave", deputy2),
		map[string]any{"from": t0.Format(time.RFC3339), "to": t0.Add(48 * time.Hour).Format(time.RFC3339)}, nil); code != 201 {
		t.Fatalf("leave: %d", code)
	}
	want = "201[]: 002[leader_on_leave_uncovered][] 003[leader_on_leave_uncovered][]\n" +
		"202[no_liaison_leader]: 001[no_leader no_deputy][] 003[][health_committee]\n"
	if got := get("").gaps(); got != want {
		t.Errorf("after the changes:\n%s\nwant:\n%s", got, want)
	}
	// Once the deputy's leave is over, 201002 is covered again.
	e.setNow(t0.Add(48 * time.Hour))
	want = "201[]: 003[leader_on_leave_uncovered][]\n" +
		"202[no_liaison_leader]: 001[no_leader no_deputy][] 003[][health_committee]\n"
	if got := get("?kinds=health_committee").gaps(); got != want {
		t.Errorf("after the deputy's leave:\n%s\nwant:\n%s", got, want)
	}
	if all := get("?kinds=all"); all.Totals.GridsWithGaps != 6 || all.Totals.Missing["party_group"] != 6 {
		t.Errorf("kinds=all: %+v", all.Totals)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/staffing?kinds=choir", nil, nil); code != 400 {
		t.Errorf("unknown kind: %d", code)
	}
}

// TestStaffing_catalogueKinds: the kinds staffing checks by default follow
// the catalogue at run time: a kind an admin adds with co_notify is
// checked (every grid lacks one), a seeded kind whose co_notify is set
// empty no longer is; ?kinds= takes any kind of the catalogue and refuses
// one it does not hold, naming the parameter.
func TestStaffing_catalogueKinds(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	get := func(query string) staffingAnswer {
		t.Helper()
		var a staffingAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/staffing"+query, nil, &a); code != 200 {
			t.Fatalf("staffing%s: %d", query, code)
		}
		return a
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/elder_association",
		map[string]any{"name_zh": "老年协会", "co_notify": []string{"livelihood"}}, nil); code != 201 {
		t.Fatalf("adding elder_association: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/mediation",
		map[string]any{"name_zh": "调解委员会", "co_notify": []string{}}, nil); code != 200 {
		t.Fatalf("turning mediation's co-notification off: %d", code)
	}
	a := get("")
	if strings.Join(a.Kinds, ",") != "red_white_council,health_committee,left_behind_children,elder_association" {
		t.Errorf("default kinds %v: want --co-notify's less mediation, plus elder_association", a.Kinds)
	}
	if a.Totals.Missing["elder_association"] != a.Totals.Grids || a.Totals.Grids != 6 || a.Totals.GridsWithGaps != 6 {
		t.Errorf("totals %+v: every grid lacks a 老年协会", a.Totals)
	}
	if _, ok := a.Totals.Missing["mediation"]; ok {
		t.Errorf("mediation still checked: %+v", a.Totals.Missing)
	}
	if one := get("?kinds=elder_association"); strings.Join(one.Kinds, ",") != "elder_association" || one.Totals.Missing["elder_association"] != 6 {
		t.Errorf("?kinds=elder_association: %v %+v", one.Kinds, one.Totals)
	}
	if all := get("?kinds=all"); !slices.Contains(all.Kinds, "elder_association") || !slices.Contains(all.Kinds, "mediation") ||
		len(all.Kinds) != len(geo.SeededOrgKinds)+1 {
		t.Errorf("?kinds=all: %v", all.Kinds)
	}
	var p problemAnswer
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/staffing?kinds=choir", nil, &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Where != "kinds" {
		t.Errorf("?kinds=choir: %d %+v", code, p)
	}
}
