package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// TestPrivacy_noPhoneForViewers walks every GET endpoint in openapi.json
// (with each path parameter filled by a real value) as an anonymous caller,
// as a viewer and as a person signed in whose scope holds no incident,
// after the town has incidents, people, leave and organizations: no
// response may carry a phone number. New endpoints are
// covered as soon as they are documented.
func TestPrivacy_noPhoneForViewers(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{Logins: e.db, SecretKey: []byte("0123456789abcdef0123456789abcdef"), ServicePoints: e.db})
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "minor"), &inc); code != 201 {
		t.Fatalf("creating an incident: %d", code)
	}
	// A person signed in (the leader of grid 5, far from the incident of
	// grid 1) sees no phone either: not the reporter's of another grid's
	// incident, not the leaders'.
	var link, session struct{ Token string }
	var found struct {
		People []struct {
			ID   int64
			Name string
		}
	}
	e.do(geo.AccessAdmin, "GET", "/v1/people?name=网格长5", nil, &found)
	var leader5 int64
	for _, p := range found.People {
		if p.Name == "网格长5" {
			leader5 = p.ID
		}
	}
	if e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": leader5}, &link) != 201 ||
		e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &session) != 200 {
		t.Fatalf("signing in the leader of grid 5: %+v", found)
	}
	e.secrets[geo.AccessPerson] = session.Token
	var people struct {
		People []struct{ ID int64 }
	}
	e.do(geo.AccessAdmin, "GET", "/v1/people", nil, &people)
	var orgs struct {
		Organizations []struct{ ID int64 }
	}
	e.do(geo.AccessAdmin, "GET", "/v1/organizations", nil, &orgs)
	personID, orgID := "1", "1"
	if len(people.People) > 0 {
		personID = jsonNumber(people.People[0].ID)
	}
	if len(orgs.Organizations) > 0 {
		orgID = jsonNumber(orgs.Organizations[0].ID)
	}
	// A member of that organization serving grid 1
	// (organization_member_grids.go): the phone hidden there too.
	var member struct{ ID int64 }
	if e.do(geo.AccessAdmin, "POST", "/v1/organizations/"+orgID+"/members", map[string]any{"name": "理事会会长", "phone": "13600000031"}, &member) != 201 ||
		e.do(geo.AccessAdmin, "PUT", "/v1/organizations/"+orgID+"/members/"+jsonNumber(member.ID)+"/grids",
			map[string]any{"grids": []string{"431321101201001"}}, nil) != 200 {
		t.Fatalf("a member of organization %s serving grid 1", orgID)
	}
	// A service point with staff, and duty rosters (of the point and of
	// the town's desk) covering t0: their phones stay hidden too.
	sp := e.createServicePoint(servicePointBody("一村便民服务站", 112.005, 27.005, "livelihood"))
	servicePointID := jsonNumber(sp.ID)
	if e.postRoster("日期,开始时间,结束时间,姓名,电话,服务点编号\n2026-11-22,08:00,20:00,值班甲,13600000001,\n"+
		"2026-11-22,08:00,20:00,坐班乙,13600000002,"+servicePointID+"\n", false, nil) != 200 {
		t.Fatal("importing the duty roster")
	}
	// A 片区 with its secretary and a member, and a work team with its
	// leader, a member and a village (structure.go): phones hidden too.
	var team struct{ ID int64 }
	if e.do(geo.AccessAdmin, "PUT", "/v1/towns/431321101/districts/01/secretary", map[string]any{"name": "片区书记", "phone": "13600000011"}, nil) != 200 ||
		e.do(geo.AccessAdmin, "POST", "/v1/towns/431321101/districts/01/members", map[string]any{"name": "片区委员", "phone": "13600000012"}, nil) != 201 ||
		e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"name": "一村联村工作组"}, &team) != 201 ||
		e.do(geo.AccessAdmin, "PUT", "/v1/teams/"+jsonNumber(team.ID)+"/leader", map[string]any{"name": "工作组组长", "phone": "13600000013"}, nil) != 200 ||
		e.do(geo.AccessAdmin, "POST", "/v1/teams/"+jsonNumber(team.ID)+"/members", map[string]any{"name": "工作组组员", "phone": "13600000014"}, nil) != 201 ||
		e.do(geo.AccessAdmin, "POST", "/v1/teams/"+jsonNumber(team.ID)+"/villages", map[string]any{"village": "431321101201"}, nil) != 201 {
		t.Fatal("seating the district's and the team's people")
	}
	// A visit logged in grid 1 and a party member linked to households of
	// it (visits.go, party.go): counts only, no phone, for these callers.
	if e.do(geo.AccessAdmin, "PUT", "/v1/people/"+personID+"/party", map[string]any{"member": true, "joined_on": "2001-07-01"}, nil) != 200 ||
		e.do(geo.AccessAdmin, "POST", "/v1/party-links", map[string]any{"person": people.People[0].ID, "grid": "431321101201001", "households": 10}, nil) != 201 ||
		e.do(geo.AccessDispatcher, "POST", "/v1/visits", map[string]any{"person": people.People[0].ID, "held_at": "2026-11-20",
			"location": map[string]any{"lon": centre(1)[0], "lat": centre(1)[1]}, "raised": "联系电话13600000021"}, nil) != 201 {
		t.Fatal("logging a visit and a party member")
	}
	values := map[string]string{
		"code": "431321101201001", "number": inc.Number, "id": personID, "gen": "1", "layer": "grids",
		"z": "14", "x": "13300", "y": "6900", "collectionId": "grids", "featureId": "431321101201001",
		"member": jsonNumber(member.ID), "leave": "1", "person": personID, "slug": "outside-coverage",
		"item": "dispute", "date": "2026-02-14",
		"town":     "431321101",
		"district": "01",
		"kind":     "mediation",
		"photo":    "1",
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(doc.Paths))
	for p, ops := range doc.Paths {
		// Prometheus metrics hold byte counts that look like phone numbers,
		// and nothing about people.
		if _, ok := ops["get"]; ok && p != "/metrics" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	param := regexp.MustCompile(`\{(\w+)\}`)
	checked := 0
	for _, p := range paths {
		target := param.ReplaceAllStringFunc(p, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := values[name]; ok {
				if name == "id" && strings.Contains(p, "service-points") {
					return servicePointID
				}
				if name == "id" && strings.Contains(p, "organizations") {
					return orgID
				}
				if name == "id" && strings.HasPrefix(p, "/v1/teams/") {
					return jsonNumber(team.ID)
				}
				if name == "code" && strings.HasPrefix(p, "/v1/villages/") {
					return "431321101201"
				}
				return v
			}
			t.Errorf("%s: no test value for {%s}", p, name)
			return "1"
		})
		for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessPerson} {
			for _, q := range []string{"", "?at=" + t0.Format("2006-01-02T15:04:05Z")} {
				req := httptest.NewRequest("GET", target+q, nil)
				if role != "" {
					req.Header.Set("Authorization", "Bearer "+e.secrets[role])
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if m := phonePattern.FindStringSubmatch(rec.Body.String()); m != nil {
					t.Errorf("GET %s%s as %q (%d) shows the phone %s", target, q, role, rec.Code, m[1])
				}
				checked++
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d requests checked: is openapi.json complete?", checked)
	}
	t.Logf("%d GET requests on %d documented paths, none with a phone", checked, len(paths))
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
