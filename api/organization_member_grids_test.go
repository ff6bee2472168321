package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

type memberGridAnswer struct {
	MemberID int64 `json:"member_id"`
	Code     string
	From     time.Time
	To       *time.Time
}

type gridMemberAnswer struct {
	Organization struct {
		ID         int64
		Kind, Name string
	}
	Member  orgMemberAnswer
	Serving memberGridAnswer
}

// gridMembers lists the names of the members GET
// /v1/grids/{code}/organization-members?at= gives role, with their phones.
func (e *orgEnv) gridMembers(role geo.AccessRole, code string, at time.Time) []string {
	e.t.Helper()
	var out struct{ Members []gridMemberAnswer }
	if status := e.do(role, "GET", "/v1/grids/"+code+"/organization-members?at="+at.Format(time.RFC3339Nano), nil, &out); status != 200 {
		e.t.Fatalf("members of grid %s at %s as %q: %d", code, at, role, status)
	}
	var names []string
	for _, m := range out.Members {
		names = append(names, m.Member.Person.Name+"/"+m.Member.Person.Phone)
	}
	return names
}

// TestOrganizations_memberGridsWithHistory: an admin ties members to the
// grids they serve; changing them later keeps the past, so who served a
// grid at a past moment is answered; ending the membership, then the
// organization, ends them; bad requests are refused naming the field and
// change nothing; phones reach dispatchers only.
//
//	start        +1h                 +2h                +3h
//	甲: grid 4 ───┤
//	甲: grid 5 ──────────────────────┤ (membership ends)
//	甲:           grid 6 ────────────┤
//	乙:                               grid 4 ────────────┤ (organization ends)
func TestOrganizations_memberGridsWithHistory(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgMediation, "2村调解会", nil)
	base := fmt.Sprintf("/v1/organizations/%d", o.ID)
	var jia, yi orgMemberAnswer
	if e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "调解员甲", "phone": "13900009101", "role": "chair"}, &jia) != 201 ||
		e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "调解员乙", "phone": "13900009102"}, &yi) != 201 {
		t.Fatal("adding members")
	}
	jiaGrids := fmt.Sprintf("%s/members/%d/grids", base, jia.ID)
	set := func(path string, grids []string, want int) []memberGridAnswer {
		t.Helper()
		var out struct{ Grids []memberGridAnswer }
		if code := e.do(geo.AccessAdmin, "PUT", path, map[string]any{"grids": grids}, &out); code != want {
			t.Fatalf("PUT %s %v: %d, want %d", path, grids, code, want)
		}
		return out.Grids
	}
	got := set(jiaGrids, []string{orgGrid4, orgGrid5}, 200)
	if len(got) != 2 || got[0].Code != orgGrid4 || got[1].Code != orgGrid5 || got[0].To != nil || !got[0].From.Equal(e.start) {
		t.Fatalf("甲's grids %+v", got)
	}

	// Refusals name the field and change nothing.
	for _, c := range []struct {
		name   string
		role   geo.AccessRole
		path   string
		body   any
		status int
		where  string
	}{
		{"no grids", geo.AccessAdmin, jiaGrids, map[string]any{}, 400, "grids"},
		{"malformed code", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{orgGrid4, "42"}}, 400, "grids[1]"},
		{"unknown grid", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{"431321101202009"}}, 400, "grids[0]"},
		{"named twice", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{orgGrid6, orgGrid6}}, 400, "grids[1]"},
		{"unknown member", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{}, "colour": "red"}, 400, "colour"},
		{"before the membership", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{orgGrid6}, "from": e.start.Add(-time.Hour).Format(time.RFC3339)}, 400, "from"},
		{"bad from", geo.AccessAdmin, jiaGrids, map[string]any{"grids": []string{orgGrid6}, "from": "soon"}, 400, "from"},
		{"no such membership", geo.AccessAdmin, base + "/members/999999/grids", map[string]any{"grids": []string{orgGrid6}}, 404, ""},
		{"another organization's membership", geo.AccessAdmin, fmt.Sprintf("/v1/organizations/%d/members/%d/grids", o.ID+1000, jia.ID), map[string]any{"grids": []string{orgGrid6}}, 404, ""},
		{"anonymous", "", jiaGrids, map[string]any{"grids": []string{orgGrid6}}, 401, ""},
		{"viewer", geo.AccessViewer, jiaGrids, map[string]any{"grids": []string{orgGrid6}}, 403, ""},
		{"dispatcher", geo.AccessDispatcher, jiaGrids, map[string]any{"grids": []string{orgGrid6}}, 403, ""},
	} {
		var p problemAnswer
		code := e.do(c.role, "PUT", c.path, c.body, &p)
		named := len(p.Errors) > 0 && p.Errors[0].Where == c.where || len(p.Errors) == 0 && strings.Contains(p.Detail, `"`+c.where+`"`)
		if code != c.status || c.where != "" && !named {
			t.Errorf("%s: %d %+v, want %d naming %q", c.name, code, p, c.status, c.where)
		}
	}
	var list struct{ Grids []memberGridAnswer }
	if e.do(geo.AccessViewer, "GET", jiaGrids, nil, &list); len(list.Grids) != 2 {
		t.Fatalf("after the refusals 甲 has %+v, want the 2 grids of before", list.Grids)
	}

	// An hour on, 甲 serves grids 5 and 6: grid 4's period ends, grid 5's
	// goes on unbroken, grid 6's starts.
	t1 := e.start.Add(time.Hour)
	e.setNow(t1)
	got = set(jiaGrids, []string{orgGrid5, orgGrid6}, 200)
	if len(got) != 3 || got[0].Code != orgGrid4 || got[0].To == nil || !got[0].To.Equal(t1) ||
		got[1].Code != orgGrid5 || got[1].To != nil || !got[1].From.Equal(e.start) || got[2].Code != orgGrid6 || !got[2].From.Equal(t1) {
		t.Fatalf("甲's grids after the change %+v", got)
	}
	if again := set(jiaGrids, []string{orgGrid5, orgGrid6}, 200); len(again) != 3 {
		t.Errorf("setting the same grids again: %+v, want no new period", again)
	}

	// Who served grid 4: 甲 half an hour in, nobody now. Phones reach the
	// dispatcher, not the viewer nor an anonymous caller.
	half := e.start.Add(30 * time.Minute)
	if got := e.gridMembers(geo.AccessDispatcher, orgGrid4, half); len(got) != 1 || got[0] != "调解员甲/13900009101" {
		t.Errorf("grid 4 half an hour in, as a dispatcher: %v", got)
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer} {
		if got := e.gridMembers(role, orgGrid4, half); len(got) != 1 || got[0] != "调解员甲/" {
			t.Errorf("grid 4 half an hour in, as %q: %v, want the name without the phone", role, got)
		}
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t1); len(got) != 0 {
		t.Errorf("grid 4 now: %v, want nobody", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid6, t1); len(got) != 1 || !strings.HasPrefix(got[0], "调解员甲") {
		t.Errorf("grid 6 now: %v", got)
	}

	// Two hours on 乙 takes grid 4 and 甲's membership ends: 甲's grids
	// end with it, and 甲 can be given none after.
	t2 := e.start.Add(2 * time.Hour)
	e.setNow(t2)
	set(fmt.Sprintf("%s/members/%d/grids", base, yi.ID), []string{orgGrid4}, 200)
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("%s/members/%d/end", base, jia.ID), map[string]any{}, nil); code != 200 {
		t.Fatalf("ending 甲's membership: %d", code)
	}
	e.do(geo.AccessViewer, "GET", jiaGrids, nil, &list)
	for _, g := range list.Grids {
		if g.To == nil || g.To.After(t2) {
			t.Errorf("甲's period %+v outlasts the membership ended at %s", g, t2)
		}
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid5, t2); len(got) != 0 {
		t.Errorf("grid 5 after 甲 left: %v, want nobody", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid5, t1); len(got) != 1 {
		t.Errorf("grid 5 an hour in: %v, want 甲 (history kept)", got)
	}
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "PUT", jiaGrids, map[string]any{"grids": []string{orgGrid4}}, &p); code != 409 {
		t.Errorf("grids for an ended membership: %d %+v, want 409", code, p)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t2); len(got) != 1 || !strings.HasPrefix(got[0], "调解员乙") {
		t.Errorf("grid 4 two hours in: %v, want 乙", got)
	}

	// The organization ends: 乙's grid ends with it.
	t3 := e.start.Add(3 * time.Hour)
	e.setNow(t3)
	if code := e.do(geo.AccessAdmin, "PATCH", base, map[string]any{"status": "ended"}, nil); code != 200 {
		t.Fatalf("ending the organization: %d", code)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t3); len(got) != 0 {
		t.Errorf("grid 4 after the organization ended: %v, want nobody", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t3.Add(-time.Minute)); len(got) != 1 {
		t.Errorf("grid 4 just before the organization ended: %v, want 乙", got)
	}
	if rows := e.auditRows("organization:" + fmt.Sprint(o.ID)); !containsString(rows, "organization.member.grids by admin-1") {
		t.Errorf("audit log %q lacks the grids set", rows)
	}
}

// TestOrganizations_memberGridsOfAnotherTown: a member of an organization
// of town A cannot be given a grid of town B.
func TestOrganizations_memberGridsOfAnotherTown(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	var o struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "mediation", "name": "一村调解会", "village": "431321101201"}, &o); code != 201 {
		t.Fatalf("creating: %d", code)
	}
	var m struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/members", o.ID), map[string]any{"name": "调解员", "phone": "13900009111"}, &m); code != 201 {
		t.Fatalf("adding a member: %d", code)
	}
	path := fmt.Sprintf("/v1/organizations/%d/members/%d/grids", o.ID, m.ID)
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "PUT", path, map[string]any{"grids": []string{"431321101201001", townB + "201001"}}, &p); code != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Where != "grids[1]" || !strings.Contains(p.Errors[0].Reason, townB) {
		t.Errorf("a grid of town B: %d %+v, want 400 naming grids[1] and the town", code, p)
	}
	var list struct{ Grids []memberGridAnswer }
	if e.do(geo.AccessAdmin, "GET", path, nil, &list); len(list.Grids) != 0 {
		t.Errorf("after the refusal: %+v, want no grid (all or none)", list.Grids)
	}
	if code := e.do(geo.AccessAdmin, "PUT", path, map[string]any{"grids": []string{"431321101201001"}}, nil); code != 200 {
		t.Errorf("a grid of town A: %d, want 200", code)
	}
}

// TestOrganizations_importEndsMembersGrids: a town file whose roster of an
// organization leaves a member out ends the membership, and the grids the
// member served end with it; members listed with grids serve those, and a
// later file changes them, keeping the past; a grid not in the file is
// refused, located, before anything is written.
func TestOrganizations_importEndsMembersGrids(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgMediation, "2村调解会", nil)
	var m orgMemberAnswer
	if e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/members", o.ID), map[string]any{"name": "调解员丙", "phone": "13900009103"}, &m) != 201 {
		t.Fatal("adding 丙")
	}
	path := fmt.Sprintf("/v1/organizations/%d/members/%d/grids", o.ID, m.ID)
	if code := e.do(geo.AccessAdmin, "PUT", path, map[string]any{"grids": []string{orgGrid4}}, nil); code != 200 {
		t.Fatalf("丙 serving grid 4: %d", code)
	}
	t1 := e.start.Add(time.Hour)
	e.setNow(t1)
	td := dispatchTown()
	td.Villages[1].Organizations = []geo.OrganizationRoster{{Kind: geo.OrgMediation, Name: "2村调解会",
		Members: []geo.RosterMember{{Contact: geo.Contact{Name: "调解员丁", Phone: "13900009104"}, Role: geo.MemberMember,
			Grids: []string{orgGrid5, orgGrid6}}}}}
	if _, err := e.db.ImportTown(context.Background(), td, "test", ""); err != nil {
		t.Fatal(err)
	}
	var list struct{ Grids []memberGridAnswer }
	if e.do(geo.AccessAdmin, "GET", path, nil, &list); len(list.Grids) != 1 || list.Grids[0].To == nil || !list.Grids[0].To.Equal(t1) {
		t.Errorf("丙's grids after the import left 丙 out: %+v, want grid 4 ended at %s", list.Grids, t1)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t1); len(got) != 0 {
		t.Errorf("grid 4 after the import: %v, want nobody", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid4, t1.Add(-time.Minute)); len(got) != 1 {
		t.Errorf("grid 4 before the import: %v, want 丙", got)
	}
	for _, code := range []string{orgGrid5, orgGrid6} {
		if got := e.gridMembers(geo.AccessDispatcher, code, t1); len(got) != 1 || got[0] != "调解员丁/13900009104" {
			t.Errorf("grid %s after the import: %v, want 丁", code, got)
		}
	}

	// A later file: 丁 serves grid 6 only; a grid not in the file is
	// refused first.
	t2 := t1.Add(time.Hour)
	e.setNow(t2)
	td.Villages[1].Organizations[0].Members[0].Grids = []string{orgGrid6, "431321101202009"}
	_, err := e.db.ImportTown(context.Background(), td, "test", "")
	var ge *geo.Error
	if !errors.As(err, &ge) || len(ge.Problems) != 1 || ge.Problems[0].Where != "villages.geojson: feature 1 (431321101202): organizations[0]: members[0]: grids[1]" {
		t.Fatalf("a member's grid not in the file: %v %+v", err, ge)
	}
	td.Villages[1].Organizations[0].Members[0].Grids = []string{orgGrid6}
	if _, err := e.db.ImportTown(context.Background(), td, "test", ""); err != nil {
		t.Fatal(err)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid5, t2); len(got) != 0 {
		t.Errorf("grid 5 after the second file: %v, want nobody", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid5, t2.Add(-time.Minute)); len(got) != 1 {
		t.Errorf("grid 5 before the second file: %v, want 丁", got)
	}
	if got := e.gridMembers(geo.AccessAdmin, orgGrid6, t2); len(got) != 1 {
		t.Errorf("grid 6 after the second file: %v, want 丁", got)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
