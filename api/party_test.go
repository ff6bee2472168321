package api_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

type partyAnswer struct {
	Person   int64
	Member   bool
	JoinedOn *string `json:"joined_on"`
	Groups   []struct{ Kind, Name string }
	Links    []struct {
		ID         int64
		Grid       string
		Households int
		To         *time.Time
	}
}

type partyCountAnswer struct {
	Code             string
	Name             string
	PartyMembers     int `json:"party_members"`
	PartyGroups      int `json:"party_groups"`
	LinkedMembers    int `json:"linked_members"`
	LinkedHouseholds int `json:"linked_households"`
}

// TestParty_membersGroupsLinksAndHistory: admins mark people party
// members and link them to households of a grid (联系户); 党员小组 are
// party_group organizations whose membership keeps its history, so who
// was in a group on a past date is answered; the counts per grid and
// village follow the date asked for; the attribute is hidden from viewers
// and anonymous callers.
func TestParty_membersGroupsLinksAndHistory(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	person := func(name, phone string) string {
		t.Helper()
		var p struct{ ID int64 }
		if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": name, "phone": phone}, &p); code != 201 {
			t.Fatalf("POST /v1/people %s: %d", name, code)
		}
		return strconv.FormatInt(p.ID, 10)
	}
	a, b, c := person("党员甲", "13900002001"), person("党员乙", "13900002002"), person("群众丙", "13900002003")
	var pa partyAnswer
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/people/"+a+"/party", map[string]any{"member": true, "joined_on": "2001-07-01"}, &pa); code != 200 ||
		!pa.Member || pa.JoinedOn == nil || *pa.JoinedOn != "2001-07-01" {
		t.Fatalf("PUT party of 甲: %d %+v", code, pa)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/people/"+b+"/party", map[string]any{"member": true}, nil); code != 200 {
		t.Fatalf("PUT party of 乙: %d", code)
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessDispatcher} {
		if code := e.do(role, "PUT", "/v1/people/"+c+"/party", map[string]any{"member": true}, nil); code != 401 && code != 403 {
			t.Errorf("PUT party as %q: %d, want 401/403", role, code)
		}
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer} {
		if code := e.do(role, "GET", "/v1/people/"+a+"/party", nil, nil); code != 401 && code != 403 {
			t.Errorf("GET party as %q: %d, want 401/403 (personal data)", role, code)
		}
	}
	var p problemAnswer
	for _, tc := range []struct {
		target string
		body   map[string]any
		code   int
		where  string
	}{
		{"/v1/people/" + c + "/party", map[string]any{}, 400, "member"},
		{"/v1/people/" + c + "/party", map[string]any{"member": true, "since": "2001"}, 400, "since"},
		{"/v1/people/" + c + "/party", map[string]any{"member": true, "joined_on": "2001-13-01"}, 400, "joined_on"},
		{"/v1/people/999999/party", map[string]any{"member": true}, 404, ""},
	} {
		p = problemAnswer{}
		if code := e.do(geo.AccessAdmin, "PUT", tc.target, tc.body, &p); code != tc.code || (tc.where != "" && !problemNames(p, tc.where)) {
			t.Errorf("PUT %s %v: %d %+v, want %d naming %q", tc.target, tc.body, code, p, tc.code, tc.where)
		}
	}

	// A 党员小组 serving grid 4 with 甲 and 乙; 乙 leaves an hour later.
	g := e.mustCreate(geo.OrgPartyGroup, "2村第一党员小组", nil)
	orgPath := "/v1/organizations/" + strconv.FormatInt(g.ID, 10)
	if code := e.do(geo.AccessAdmin, "POST", orgPath+"/grids", map[string]any{"grid": orgGrid4}, nil); code != 201 && code != 200 {
		t.Fatalf("attaching the group to grid 4: %d", code)
	}
	var mb orgMemberAnswer
	for _, id := range []string{a, b} {
		n, _ := strconv.ParseInt(id, 10, 64)
		if code := e.do(geo.AccessAdmin, "POST", orgPath+"/members", map[string]any{"person_id": n}, &mb); code != 201 {
			t.Fatalf("adding member %s: %d", id, code)
		}
	}
	before := e.start.Add(30 * time.Minute)
	e.setNow(e.start.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "POST", orgPath+"/members/"+strconv.FormatInt(mb.ID, 10)+"/end", map[string]any{}, nil); code != 200 {
		t.Fatalf("ending 乙's membership: %d", code)
	}
	e.setNow(e.start.Add(2 * time.Hour))
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var members []orgMemberAnswer
	var list struct{ Members []orgMemberAnswer }
	e.do(geo.AccessAdmin, "GET", orgPath+"/members?at="+at(before), nil, &list)
	members = list.Members
	if len(members) != 2 {
		t.Errorf("the group's members half an hour in: %+v, want 甲 and 乙", members)
	}
	e.do(geo.AccessAdmin, "GET", orgPath+"/members", nil, &list)
	if len(list.Members) != 1 || list.Members[0].Person.Name != "党员甲" {
		t.Errorf("the group's members now: %+v, want 甲 alone", list.Members)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/people/"+b+"/party?at="+at(before), nil, &pa); code != 200 || len(pa.Groups) != 1 || pa.Groups[0].Name != "2村第一党员小组" {
		t.Errorf("乙's groups half an hour in: %d %+v", code, pa)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/people/"+b+"/party", nil, &pa); code != 200 || len(pa.Groups) != 0 {
		t.Errorf("乙's groups now: %d %+v, want none", code, pa)
	}

	// 联系户: 甲 linked to 10 households of grid 4.
	aID, _ := strconv.ParseInt(a, 10, 64)
	cID, _ := strconv.ParseInt(c, 10, 64)
	var link struct {
		ID         int64
		Households int
		To         *time.Time
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/party-links", map[string]any{"person": aID, "grid": orgGrid4, "households": 10}, &link); code != 201 || link.Households != 10 {
		t.Fatalf("linking 甲: %d %+v", code, link)
	}
	for _, tc := range []struct {
		body  map[string]any
		code  int
		where string
	}{
		{map[string]any{"person": cID, "grid": orgGrid4, "households": 10}, 400, "person"},
		{map[string]any{"person": aID, "grid": "431321101202009", "households": 10}, 400, "grid"},
		{map[string]any{"person": aID, "grid": orgGrid5, "households": 0}, 400, "households"},
		{map[string]any{"person": aID, "grid": orgGrid5, "households": 5, "note": "x"}, 400, "note"},
		{map[string]any{"person": aID, "grid": orgGrid4, "households": 5}, 409, ""},
	} {
		p = problemAnswer{}
		if code := e.do(geo.AccessAdmin, "POST", "/v1/party-links", tc.body, &p); code != tc.code || (tc.where != "" && !problemNames(p, tc.where)) {
			t.Errorf("POST /v1/party-links %v: %d %+v, want %d naming %q", tc.body, code, p, tc.code, tc.where)
		}
	}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/party-links", map[string]any{"person": aID, "grid": orgGrid5, "households": 5}, nil); code != 403 {
		t.Errorf("POST /v1/party-links as dispatcher: %d, want 403", code)
	}

	// The counts, now and in the past, per grid and village.
	stats := func(query string) map[string]partyCountAnswer {
		t.Helper()
		var s struct{ Counts []partyCountAnswer }
		if code := e.do("", "GET", "/v1/party/stats"+query, nil, &s); code != 200 {
			t.Fatalf("GET /v1/party/stats%s: %d", query, code)
		}
		out := map[string]partyCountAnswer{}
		for _, n := range s.Counts {
			out[n.Code] = n
		}
		return out
	}
	if got := stats("")[orgGrid4]; got.PartyMembers != 1 || got.PartyGroups != 1 || got.LinkedMembers != 1 || got.LinkedHouseholds != 10 {
		t.Errorf("grid 4 now: %+v", got)
	}
	if got := stats("?at=" + at(before))[orgGrid4]; got.PartyMembers != 2 || got.LinkedHouseholds != 0 {
		t.Errorf("grid 4 half an hour in: %+v, want 2 members and no link yet", got)
	}
	if got := stats("?by=village")[orgVillage2]; got.PartyMembers != 1 || got.PartyGroups != 1 || got.LinkedHouseholds != 10 || got.Name != "2村" {
		t.Errorf("village 2 now: %+v", got)
	}
	if code := e.do("", "GET", "/v1/party/stats?by=household", nil, &p); code != 400 || !problemNames(p, "by") {
		t.Errorf("by=household: %d %+v", code, p)
	}

	// Ending the link: the counts follow.
	e.setNow(e.start.Add(3 * time.Hour))
	if code := e.do(geo.AccessAdmin, "POST", "/v1/party-links/"+strconv.FormatInt(link.ID, 10)+"/end", map[string]any{}, &link); code != 200 || link.To == nil {
		t.Fatalf("ending the link: %d %+v", code, link)
	}
	if got := stats("")[orgGrid4]; got.LinkedHouseholds != 0 {
		t.Errorf("grid 4 after the link ended: %+v", got)
	}
	if got := stats("?at=" + at(e.start.Add(150*time.Minute)))[orgGrid4]; got.LinkedHouseholds != 10 {
		t.Errorf("grid 4 while the link held: %+v", got)
	}
}

// problemNames reports whether p names where (in errors[], or its detail).
func problemNames(p problemAnswer, where string) bool {
	for _, e := range p.Errors {
		if e.Where == where {
			return true
		}
	}
	return strings.Contains(p.Detail, where)
}
