package api_test

import (
	"strings"
	"testing"

	"wangge/geo"
)

type orgKindAnswer struct {
	Town          string
	Code          string
	NameZh        string `json:"name_zh"`
	Position      int
	Organizations int
}

// TestOrgKinds_catalogueEditedByAdmin: the seeded catalogue names the
// reports' kinds; an admin adds a kind, organizations take it, it cannot be
// deleted while in use; an unused kind deleted is refused to new
// organizations; non-admins cannot write.
func TestOrgKinds_catalogueEditedByAdmin(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	var list struct {
		Town              string
		OrganizationKinds []orgKindAnswer `json:"organization_kinds"`
	}
	if code := e.do("", "GET", "/v1/organization-kinds", nil, &list); code != 200 {
		t.Fatalf("GET /v1/organization-kinds: %d", code)
	}
	names := map[string]string{}
	for _, k := range list.OrganizationKinds {
		names[k.Code] = k.NameZh
	}
	for code, name := range map[string]string{"red_white_council": "红白喜事理事会", "health_committee": "爱卫会",
		"left_behind_children": "关心留守儿童工作委员会", "mediation": "调解会", "villager_council": "村民议事会",
		"moral_council": "道德评议会", "anti_drug_gambling": "禁毒禁赌会", "sage_council": "村贤议事会",
		"rural_customs_council": "乡风理事会", "party_group": "党员小组", "other": "其他"} {
		if names[code] != name {
			t.Errorf("seeded kind %s: name %q, want %q", code, names[code], name)
		}
	}
	if len(list.OrganizationKinds) != len(geo.SeededOrgKinds) || list.Town != "431321101" {
		t.Errorf("town %s: %d kinds, want %d", list.Town, len(list.OrganizationKinds), len(geo.SeededOrgKinds))
	}

	// Writes: admins only; the body strict and checked field by field.
	choir := map[string]any{"name_zh": "老年合唱团", "description": "文体队伍", "position": 200}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessDispatcher} {
		if code := e.do(role, "PUT", "/v1/organization-kinds/choir", choir, nil); code != 401 && code != 403 {
			t.Errorf("PUT as %q: %d, want 401/403", role, code)
		}
	}
	for _, c := range []struct {
		target string
		body   any
		where  string
	}{
		{"/v1/organization-kinds/choir", map[string]any{"name_zh": ""}, "name_zh"},
		{"/v1/organization-kinds/choir", map[string]any{"name_zh": "合唱团", "colour": "red"}, "colour"},
		{"/v1/organization-kinds/choir", map[string]any{"name_zh": "合唱团", "position": -1}, "position"},
		{"/v1/organization-kinds/Choir", map[string]any{"name_zh": "合唱团"}, "kind"},
		{"/v1/organization-kinds/choir?town=999999999", map[string]any{"name_zh": "合唱团"}, "town"},
	} {
		var p problemAnswer
		if code := e.do(geo.AccessAdmin, "PUT", c.target, c.body, &p); code != 400 || !strings.Contains(p.Detail, c.where) {
			t.Errorf("PUT %s %v: %d %+v, want 400 naming %s", c.target, c.body, code, p, c.where)
		}
	}
	var k orgKindAnswer
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/choir", choir, &k); code != 201 || k.NameZh != "老年合唱团" || k.Position != 200 {
		t.Fatalf("PUT choir: %d %+v, want 201", code, k)
	}
	choir["name_zh"] = "夕阳红合唱团"
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/choir", choir, &k); code != 200 || k.NameZh != "夕阳红合唱团" {
		t.Fatalf("PUT choir again: %d %+v, want 200 renamed", code, k)
	}

	// Organizations take catalogue kinds, new and old; unknown ones are
	// refused naming kind.
	e.mustCreate("choir", "2村合唱团", nil)
	e.mustCreate(geo.OrgVillagerCouncil, "2村村民议事会", nil)
	e.mustCreate(geo.OrgMediation, "2村调解会", nil)
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "brass_band", "name": "铜管乐队", "village": orgVillage2}, &p); code != 400 ||
		len(p.Errors) == 0 || p.Errors[0].Where != "kind" {
		t.Errorf("an organization of a kind not in the catalogue: %d %+v, want 400 naming kind", code, p)
	}
	if code := e.do(geo.AccessViewer, "GET", "/v1/organization-kinds/choir", nil, &k); code != 200 || k.Organizations != 1 {
		t.Errorf("GET choir: %d %+v, want 1 organization", code, k)
	}

	// Deleting: in use is 409, unused 204, then refused to organizations.
	if code := e.do(geo.AccessDispatcher, "DELETE", "/v1/organization-kinds/sage_council", nil, nil); code != 403 {
		t.Errorf("DELETE as dispatcher: %d, want 403", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/organization-kinds/choir", nil, &p); code != 409 {
		t.Errorf("DELETE choir in use: %d %+v, want 409", code, p)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/organization-kinds/sage_council", nil, nil); code != 204 {
		t.Fatalf("DELETE sage_council: %d, want 204", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/organization-kinds/sage_council", nil, nil); code != 404 {
		t.Errorf("DELETE sage_council again: %d, want 404", code)
	}
	p = problemAnswer{}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "sage_council", "name": "2村村贤议事会", "village": orgVillage2}, &p); code != 400 ||
		len(p.Errors) == 0 || p.Errors[0].Where != "kind" {
		t.Errorf("an organization of a deleted kind: %d %+v, want 400 naming kind", code, p)
	}
	if code := e.do("", "GET", "/v1/organization-kinds?colour=red", nil, &p); code != 400 {
		t.Errorf("unknown parameter: %d, want 400", code)
	}
}

// TestOrgKinds_coNotifyTakesCatalogueKinds: --co-notify accepts the
// seeded catalogue's kinds, new ones included, and refuses others.
func TestOrgKinds_coNotifyTakesCatalogueKinds(t *testing.T) {
	cfg, err := geo.ParseDispatchConfig("", "customs=villager_council,dispute=mediation")
	if err != nil || cfg.CoNotify["customs"] != geo.OrgVillagerCouncil || cfg.CoNotify["dispute"] != geo.OrgMediation {
		t.Fatalf("co-notify with catalogue kinds: %v %v", cfg.CoNotify, err)
	}
	if _, err := geo.ParseDispatchConfig("", "customs=choir"); err == nil {
		t.Error("co-notify with a kind no catalogue is seeded with: accepted")
	}
}
