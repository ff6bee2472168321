package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// neighbourOfDispatchTown is dispatchTown moved 0.03° east (sharing its
// east border) under town code 431321102, with people of its own.
func neighbourOfDispatchTown() *geo.TownData {
	td := dispatchTown()
	const from, to = "431321101", "431321102"
	recode := func(code string) string { return to + code[len(from):] }
	shift := func(mp orb.MultiPolygon) orb.MultiPolygon {
		out := mp.Clone()
		for _, poly := range out {
			for _, ring := range poly {
				for i := range ring {
					ring[i][0] += 0.03
				}
			}
		}
		return out
	}
	other := func(c *geo.Contact) *geo.Contact {
		if c == nil {
			return nil
		}
		return &geo.Contact{Name: "邻" + c.Name, Phone: "1370000" + c.Phone[7:]}
	}
	td.Town.Code, td.Town.Name, td.Town.Outline = to, "邻镇", shift(td.Town.Outline)
	td.Town.DutyDesk = &geo.Contact{Name: "邻镇值班室", Phone: "0738-6812346"}
	for i := range td.Villages {
		v := &td.Villages[i]
		v.Code, v.Outline, v.LiaisonLeader = recode(v.Code), shift(v.Outline), other(v.LiaisonLeader)
	}
	for i := range td.Grids {
		g := &td.Grids[i]
		g.Code, g.VillageCode, g.Geometry = recode(g.Code), recode(g.VillageCode), shift(g.Geometry)
		g.Leader, g.Deputy = other(g.Leader), other(g.Deputy)
		for j := range g.Organizations {
			g.Organizations[j].Name = "邻" + g.Organizations[j].Name
		}
	}
	return td
}

type planHeaderAnswer struct {
	ID             int64
	Town           *string
	BaseGeneration int64 `json:"base_generation"`
	Summary        map[string]int
}

func wheres(p problemAnswer) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Where)
	}
	return out
}

// TestPlansAPI_town: POST /v1/plans takes the town the plan redraws
// (by default the only town), refuses a town the deployment does not
// hold naming town, and a plan of one town refuses the other's grids
// naming the member; the list filters by town.
func TestPlansAPI_town(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	var one planHeaderAnswer
	if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"note": "一镇"}, &one); rec.Code != 201 {
		t.Fatalf("a plan without a town: %d %s", rec.Code, rec.Body)
	}
	if one.Town == nil || *one.Town != "431321101" || one.BaseGeneration != 1 {
		t.Errorf("a plan without a town in a deployment of one: town %v, base %d", one.Town, one.BaseGeneration)
	}
	for _, bad := range []string{"431321199", "4313"} {
		var pr problemAnswer
		if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"town": bad}, &pr); rec.Code != 400 || !slices.Contains(wheres(pr), "town") {
			t.Errorf("a plan of town %q: %d %s, want 400 naming town", bad, rec.Code, rec.Body)
		}
	}

	if _, err := e.db.ImportTown(context.Background(), neighbourOfDispatchTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b, all planHeaderAnswer
	if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"town": "431321102"}, &b); rec.Code != 201 {
		t.Fatalf("a plan of the second town: %d %s", rec.Code, rec.Body)
	}
	if b.Town == nil || *b.Town != "431321102" || b.BaseGeneration != 2 || b.Summary["unchanged"] != 6 {
		t.Errorf("plan of the second town: %+v", b)
	}
	if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{}, &all); rec.Code != 201 || all.Town != nil || all.Summary["unchanged"] != 12 {
		t.Errorf("a plan without a town in a deployment of two: %d %s", rec.Code, rec.Body)
	}
	// The first town's plan is still current: the second town's import
	// is not its town's change.
	var first planCollection
	if rec := e.call(geo.AccessPlanner, "GET", fmt.Sprintf("/v1/plans/%d", one.ID), nil, &first); rec.Code != 200 || rec.Header().Get("ETag") != `"1.0"` {
		t.Errorf("first town's plan: %d, ETag %s", rec.Code, rec.Header().Get("ETag"))
	}
	var pr problemAnswer
	rec := e.call(geo.AccessPlanner, "PUT", fmt.Sprintf("/v1/plans/%d/grids/431321102201001", one.ID),
		map[string]any{"type": "Feature", "geometry": nil, "properties": map[string]any{"name": "越界"}}, &pr)
	if rec.Code != 400 || !slices.Contains(wheres(pr), "code") {
		t.Errorf("editing the second town's grid in the first town's plan: %d %s, want 400 naming code", rec.Code, rec.Body)
	}
	pr = problemAnswer{}
	rec = e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/grids", one.ID),
		map[string]any{"type": "Feature", "geometry": polygon(112.03, 27.00, 112.031, 27.001),
			"properties": map[string]any{"code": "431321102201009", "name": "越界", "households": 1, "population": 1}}, &pr)
	if rec.Code != 400 || !slices.Contains(wheres(pr), "properties.code") {
		t.Errorf("adding a grid of the second town to the first town's plan: %d %s, want 400 naming properties.code", rec.Code, rec.Body)
	}
	var list struct{ Plans []planHeaderAnswer }
	if rec := e.call(geo.AccessPlanner, "GET", "/v1/plans?town=431321102", nil, &list); rec.Code != 200 {
		t.Fatalf("plans of the second town: %d %s", rec.Code, rec.Body)
	}
	var ids []int64
	for _, p := range list.Plans {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []int64{all.ID, b.ID}) {
		t.Errorf("plans of the second town: %v, want %v (its own and the plan of every town)", ids, []int64{all.ID, b.ID})
	}
}
