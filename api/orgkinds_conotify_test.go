package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"wangge/geo"
)

// TestOrgKinds_coNotifyAddedAtRunTime: a kind an admin adds at run time,
// marked to be co-notified about livelihood incidents, is co-notified
// without a restart: the incident names the organization and its chair
// gets the message (a local SMS gateway). Setting a seeded kind's
// categories overrides --co-notify for it; null gives it back.
func TestOrgKinds_coNotifyAddedAtRunTime(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	route := func(grid int, category string) incidentAnswer {
		t.Helper()
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(grid), category, "minor"), &inc); code != 201 {
			t.Fatalf("intake: %d", code)
		}
		return inc
	}
	if inc := route(6, "livelihood"); len(inc.CoNotified) != 0 {
		t.Fatalf("before: co-notified %+v, want nobody (--co-notify maps no livelihood)", inc.CoNotified)
	}

	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/elder_association",
		map[string]any{"name_zh": "老年协会", "co_notify": []string{"livelihood", "weather"}}, &p); code != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Where != "co_notify[1]" {
		t.Errorf("an unknown category: %d %+v, want 400 naming co_notify[1]", code, p)
	}
	var k struct {
		CoNotify        []string `json:"co_notify"`
		CoNotifyDefault []string `json:"co_notify_default"`
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/elder_association",
		map[string]any{"name_zh": "老年协会", "co_notify": []string{"livelihood"}}, &k); code != 201 ||
		len(k.CoNotify) != 1 || k.CoNotify[0] != "livelihood" || len(k.CoNotifyDefault) != 0 {
		t.Fatalf("adding elder_association: %d %+v", code, k)
	}
	var o orgAnswer
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "elder_association", "name": "2村老年协会", "village": orgVillage2}, &o); code != 201 {
		t.Fatalf("creating the organization: %d", code)
	}
	base := fmt.Sprintf("/v1/organizations/%d", o.ID)
	if e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "协会会长", "phone": "13900009201", "role": "chair"}, nil) != 201 ||
		e.do(geo.AccessAdmin, "POST", base+"/grids", map[string]any{"grid": orgGrid6}, nil) != 201 {
		t.Fatal("seating the chair and attaching grid 6")
	}
	inc := route(6, "livelihood")
	if len(inc.CoNotified) != 1 || inc.CoNotified[0].Kind != "elder_association" || inc.CoNotified[0].Name != "2村老年协会" {
		t.Fatalf("after: co-notified %+v, want 2村老年协会", inc.CoNotified)
	}
	if other := route(6, "dispute"); len(other.CoNotified) != 1 || other.CoNotified[0].Kind != "mediation" {
		t.Errorf("a dispute: co-notified %+v, want the mediation committee only", other.CoNotified)
	}
	e.deliver(t)
	chair := false
	for _, m := range e.sms.Received() {
		chair = chair || m.Phone == "13900009201" && strings.Contains(m.Text, inc.Number)
	}
	if !chair {
		t.Errorf("the chair's SMS about %s did not go out: %+v", inc.Number, e.sms.Received())
	}

	// A seeded kind: [] silences it; null gives --co-notify back.
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/health_committee", map[string]any{"name_zh": "爱卫会", "co_notify": []string{}}, &k); code != 200 ||
		k.CoNotify == nil || len(k.CoNotify) != 0 || len(k.CoNotifyDefault) != 1 || k.CoNotifyDefault[0] != "environment" {
		t.Fatalf("silencing health_committee: %d %+v", code, k)
	}
	if inc := route(1, "environment"); len(inc.CoNotified) != 0 {
		t.Errorf("environment with health_committee silenced: co-notified %+v", inc.CoNotified)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/health_committee", map[string]any{"name_zh": "爱卫会", "co_notify": nil}, &k); code != 200 || k.CoNotify != nil {
		t.Fatalf("restoring health_committee: %d %+v", code, k)
	}
	if inc := route(1, "environment"); len(inc.CoNotified) != 1 || inc.CoNotified[0].Kind != "health_committee" {
		t.Errorf("environment with health_committee restored: co-notified %+v", inc.CoNotified)
	}
}

// TestOrgKinds_importNamingADeletedKind: a town file whose organizations
// name a kind an admin deleted from the town's catalogue is refused
// before anything is written, each organization located in its file; a
// kind added at run time is imported; a town not held yet takes the
// seeded kinds only.
func TestOrgKinds_importNamingADeletedKind(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	ctx := context.Background()
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/organization-kinds/moral_council", nil, nil); code != 204 {
		t.Fatalf("deleting moral_council: %d", code)
	}
	td := dispatchTown()
	td.Grids[5].Organizations = append(td.Grids[5].Organizations, geo.OrganizationRef{Kind: geo.OrgMoralCouncil, Name: "2村道德评议会"})
	td.Villages[1].Organizations = []geo.OrganizationRoster{{Kind: geo.OrgMoralCouncil, Name: "2村道德评议会",
		Members: []geo.RosterMember{{Contact: geo.Contact{Name: "评议员", Phone: "13900009301"}, Role: geo.MemberChair}}}}
	genBefore, _ := e.db.CurrentGeneration(ctx)
	var before struct{ Organizations []orgAnswer }
	e.do(geo.AccessAdmin, "GET", "/v1/organizations?status=all", nil, &before)

	_, err := e.db.ImportTown(ctx, td, "test", "")
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) != 2 {
		t.Fatalf("importing a deleted kind: %v, want EINVALID with 2 problems", err)
	}
	for i, want := range []string{"villages.geojson: feature 1 (431321101202): organizations[0]: kind",
		"grids.geojson: feature 5 (431321101202003): organizations[4]: kind"} {
		if ge.Problems[i].Where != want || !strings.Contains(ge.Problems[i].Reason, `"moral_council"`) {
			t.Errorf("problem %d: %+v, want at %q naming moral_council", i, ge.Problems[i], want)
		}
	}
	var after struct{ Organizations []orgAnswer }
	e.do(geo.AccessAdmin, "GET", "/v1/organizations?status=all", nil, &after)
	if gen, _ := e.db.CurrentGeneration(ctx); gen != genBefore || len(after.Organizations) != len(before.Organizations) {
		t.Errorf("after the refusal: generation %d (was %d), %d organizations (were %d): something was written",
			gen, genBefore, len(after.Organizations), len(before.Organizations))
	}

	// Put back, and a kind added at run time, the import goes through.
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/moral_council", map[string]any{"name_zh": "道德评议会"}, nil); code != 201 {
		t.Fatalf("adding moral_council back: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/organization-kinds/choir", map[string]any{"name_zh": "合唱团"}, nil); code != 201 {
		t.Fatalf("adding choir: %d", code)
	}
	td.Grids[4].Organizations = append(td.Grids[4].Organizations, geo.OrganizationRef{Kind: "choir", Name: "2村合唱团"})
	if _, err := e.db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatalf("importing with the kinds in the catalogue: %v", err)
	}

	// Town B is not held yet: its catalogue will be the seeded one, so
	// choir (town A's) is refused there.
	nb := neighbourTown()
	nb.Grids[0].Organizations = append(nb.Grids[0].Organizations, geo.OrganizationRef{Kind: "choir", Name: "邻村合唱团"})
	if _, err := e.db.ImportTown(ctx, nb, "test", ""); !errors.As(err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) != 1 ||
		!strings.HasPrefix(ge.Problems[0].Where, "grids.geojson: feature 0 ("+townB) {
		t.Errorf("a new town naming choir: %v, want EINVALID at its grid", err)
	}
}
