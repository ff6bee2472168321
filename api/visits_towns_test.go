package api_test

import (
	"testing"

	"wangge/api"
	"wangge/geo"
)

// TestOrgKinds_perTown: with two towns the catalogue is asked for by
// town; a kind added to one town's catalogue is refused to the other's
// organizations; a town's admin cannot edit another town's catalogue.
func TestOrgKinds_perTown(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	var p scopeProblem
	if code := e.do(geo.AccessViewer, "GET", "/v1/organization-kinds", nil, &p); code != 400 || len(p.Errors) == 0 || p.Errors[0].Where != "town" {
		t.Errorf("two towns and no town: %d %+v, want 400 naming town", code, p)
	}
	var list struct {
		Town              string
		OrganizationKinds []orgKindAnswer `json:"organization_kinds"`
	}
	if code := e.do(geo.AccessViewer, "GET", "/v1/organization-kinds?town="+townB, nil, &list); code != 200 || list.Town != townB ||
		len(list.OrganizationKinds) != len(geo.SeededOrgKinds) {
		t.Errorf("town B's catalogue: %d %s %d kinds, want the seeded ones (a town imported after the migration is seeded too)", code, list.Town, len(list.OrganizationKinds))
	}
	if code := e.do(adminA, "GET", "/v1/organization-kinds", nil, &list); code != 200 || list.Town != townA {
		t.Errorf("town A's admin, no town: %d %s, want town A's catalogue", code, list.Town)
	}
	if code := e.do(adminA, "PUT", "/v1/organization-kinds/choir?town="+townB, map[string]any{"name_zh": "合唱团"}, &p); code != 403 || p.Type != api.TypeOutsideTown {
		t.Errorf("town A's admin on town B's catalogue: %d %+v, want 403", code, p)
	}
	if code := e.do(adminA, "PUT", "/v1/organization-kinds/choir", map[string]any{"name_zh": "合唱团"}, nil); code != 201 {
		t.Fatalf("town A's admin adding choir: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "choir", "name": "一村合唱团", "village": "431321101201"}, nil); code != 201 {
		t.Errorf("a choir in town A: %d, want 201", code)
	}
	p = scopeProblem{}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "choir", "name": "邻村合唱团", "village": townB + "201"}, &p); code != 400 ||
		len(p.Errors) == 0 || p.Errors[0].Where != "kind" {
		t.Errorf("a choir in town B, whose catalogue has none: %d %+v, want 400 naming kind", code, p)
	}
}

// TestVisits_townScope: a town's dispatcher logs visits in its own town
// only, and lists and counts only its own.
func TestVisits_townScope(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	var person struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "走访干部", "phone": "13900001111"}, &person); code != 201 {
		t.Fatalf("POST /v1/people: %d", code)
	}
	visit := func(role geo.AccessRole, lon, lat float64) (int, visitAnswer) {
		var v visitAnswer
		code := e.do(role, "POST", "/v1/visits", map[string]any{"person": person.ID, "held_at": "2026-11-20",
			"location": map[string]any{"lon": lon, "lat": lat}}, &v)
		return code, v
	}
	if code, v := visit(dispatcherB, inB[0], inB[1]); code != 201 || v.Grid != townB+"201001" {
		t.Fatalf("town B's dispatcher in town B: %d %+v", code, v)
	}
	if code, _ := visit(dispatcherA, inB[0], inB[1]); code != 403 {
		t.Errorf("town A's dispatcher in town B: %d, want 403", code)
	}
	if code, v := visit(dispatcherA, centre(1)[0], centre(1)[1]); code != 201 || v.Grid != "431321101201001" {
		t.Fatalf("town A's dispatcher in town A: %d %+v", code, v)
	}
	var list struct{ Visits []visitAnswer }
	if code := e.do(dispatcherA, "GET", "/v1/visits", nil, &list); code != 200 || len(list.Visits) != 1 || list.Visits[0].Grid != "431321101201001" {
		t.Errorf("town A's dispatcher's list: %d %+v, want town A's visit alone", code, list.Visits)
	}
	var s visitStatsAnswer
	if code := e.do(geo.AccessViewer, "GET", "/v1/visits/stats?by=district", nil, &s); code != 200 || len(s.Counts) != 2 ||
		s.Counts[0].Key != townA+"/01" || s.Counts[1].Key != townB+"/01" {
		t.Errorf("by 片区 over both towns: %d %+v, want 片区 01 of each town apart", code, s)
	}
	if code := e.do(geo.AccessViewer, "GET", "/v1/visits/stats?district=01", nil, nil); code != 400 {
		t.Errorf("district without town in a two-town deployment: %d, want 400", code)
	}
}
