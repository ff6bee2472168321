package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// eastTown is a town east of dispatchTown (which ends at x = 112.03): one
// village of two grids, 112.03–112.05, with its own duty desk.
func eastTown() *geo.TownData {
	const code = "431321105"
	vcode := code + "201"
	td := &geo.TownData{Town: geo.Town{Code: code, Name: "东镇", County: "双峰县", Outline: square(112.03, 27, 112.05, 27.02),
		Districts: []geo.District{{Code: "01", Name: "一片"}}, DutyDesk: &geo.Contact{Name: "东镇值班室", Phone: "0738-6815555"}}}
	td.Villages = []geo.Village{{Code: vcode, Name: "东村", DistrictCode: "01", Outline: square(112.03, 27, 112.05, 27.02)}}
	for g := 0; g < 2; g++ {
		td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{Code: fmt.Sprintf("%s%03d", vcode, g+1), Name: fmt.Sprintf("东网格%d", g+1),
			VillageCode: vcode, Households: 40, Population: 120,
			Geometry: square(112.03+0.01*float64(g), 27, 112.04+0.01*float64(g), 27.02)},
			Leader: &geo.Contact{Name: fmt.Sprintf("东网格长%d", g+1), Phone: fmt.Sprintf("1360000%04d", g+1)}})
	}
	return td
}

// newCountyEnv is a dispatch environment over dispatchTown and eastTown.
func newCountyEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	e := newDispatchEnv(t, dispatchTown())
	ctx := context.Background()
	e.setNow(importedAt)
	if _, err := e.db.ImportTown(ctx, eastTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	e.setNow(t0)
	if err := e.reload(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTowns_listedLocatedAndExportedAcrossTowns(t *testing.T) {
	t.Parallel()
	e := newCountyEnv(t)
	var towns struct {
		Area  struct{ Code, Name string }
		Towns []struct {
			Code                        string
			Villages, Grids, Households int
		}
	}
	if code := e.do("", http.MethodGet, "/v1/towns", nil, &towns); code != http.StatusOK {
		t.Fatalf("GET /v1/towns: %d", code)
	}
	if towns.Area.Code != "431321" || len(towns.Towns) != 2 ||
		towns.Towns[0].Code != "431321101" || towns.Towns[0].Grids != 6 ||
		towns.Towns[1].Code != "431321105" || towns.Towns[1].Villages != 1 || towns.Towns[1].Grids != 2 || towns.Towns[1].Households != 80 {
		t.Errorf("GET /v1/towns: %+v", towns)
	}

	type located struct {
		Match string
		Grid  struct {
			Code string
			Town struct{ Code, Name string }
		}
		Also []string
	}
	var in located
	if code := e.do("", http.MethodGet, "/v1/locate?lon=112.045&lat=27.01", nil, &in); code != http.StatusOK ||
		in.Grid.Code != "431321105201002" || in.Grid.Town.Code != "431321105" || in.Grid.Town.Name != "东镇" {
		t.Errorf("a point in the east town: %d %+v", code, in)
	}
	// On the border of the two towns: the boundary rule across towns.
	var border located
	if code := e.do("", http.MethodGet, "/v1/locate?lon=112.03&lat=27.005", nil, &border); code != http.StatusOK ||
		border.Match != "boundary" || border.Grid.Code != "431321101201003" ||
		len(border.Also) != 1 || border.Also[0] != "431321105201001" {
		t.Errorf("the towns' border: %d %+v", code, border)
	}

	// Exports: one town, or the whole deployment as one layer.
	var fc struct {
		Features []struct{ Properties struct{ Code string } }
	}
	if code := e.do("", http.MethodGet, "/v1/export?town=431321105", nil, &fc); code != http.StatusOK || len(fc.Features) != 2 {
		t.Errorf("export of the east town: %d, %d features", code, len(fc.Features))
	}
	if code := e.do("", http.MethodGet, "/v1/export", nil, &fc); code != http.StatusOK || len(fc.Features) != 8 {
		t.Errorf("export of the deployment: %d, %d features", code, len(fc.Features))
	}
	var prob problemAnswer
	if code := e.do("", http.MethodGet, "/v1/export?town=431321999", nil, &prob); code != http.StatusBadRequest ||
		len(prob.Errors) != 1 || prob.Errors[0].Where != "town" {
		t.Errorf("export of an unknown town: %d %+v", code, prob)
	}
}

func TestTowns_outsideCoverageGoesToTheNearestTownsDutyDesk(t *testing.T) {
	t.Parallel()
	e := newCountyEnv(t)
	for _, tt := range []struct {
		lon  float64
		desk string
	}{{112.07, "东镇值班室"}, {111.98, "镇值班室"}} {
		var inc struct {
			Assignee struct{ Role, Name string }
		}
		body := map[string]any{"lon": tt.lon, "lat": 27.01, "category": "dispute", "severity": "minor",
			"description": "两户因排水沟起纠纷", "source": "hotline_12345"}
		if code := e.do(geo.AccessDispatcher, http.MethodPost, "/v1/incidents", body, &inc); code != http.StatusCreated ||
			inc.Assignee.Role != "duty_desk" || inc.Assignee.Name != tt.desk {
			t.Errorf("an incident at %v, 27.01: %d %+v; want the duty desk %s", tt.lon, code, inc, tt.desk)
		}
	}
	// The database puts each in the same town as routing did.
	rows, err := e.db.Pool.Query(context.Background(), "SELECT town_code FROM incidents ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var towns []string
	for rows.Next() {
		var town string
		if err := rows.Scan(&town); err != nil {
			t.Fatal(err)
		}
		towns = append(towns, town)
	}
	if fmt.Sprint(towns) != "[431321105 431321101]" {
		t.Errorf("the incidents' towns: %v, want [431321105 431321101]", towns)
	}
}

func TestTowns_eachTownHasItsDutyDesk(t *testing.T) {
	t.Parallel()
	e := newCountyEnv(t)
	body := map[string]any{"name": "东镇综治中心", "phone": "0738-6817777"}
	var prob problemAnswer
	// With two towns, the town must be named.
	if code := e.do(geo.AccessAdmin, http.MethodPut, "/v1/town/duty-desk", body, &prob); code != http.StatusBadRequest {
		t.Errorf("PUT /v1/town/duty-desk with two towns: %d %+v, want 400", code, prob)
	}
	if code := e.do(geo.AccessAdmin, http.MethodPut, "/v1/towns/431321999/duty-desk", body, &prob); code != http.StatusNotFound {
		t.Errorf("the duty desk of an unknown town: %d %+v, want 404", code, prob)
	}
	if code := e.do(geo.AccessAdmin, http.MethodPut, "/v1/towns/4313211/duty-desk", body, &prob); code != http.StatusBadRequest ||
		len(prob.Errors) != 1 || prob.Errors[0].Where != "town" {
		t.Errorf("a malformed town code: %d %+v, want 400 naming town", code, prob)
	}
	if code := e.do(geo.AccessAdmin, http.MethodPut, "/v1/towns/431321105/duty-desk", body, &prob); code != http.StatusOK {
		t.Fatalf("PUT /v1/towns/431321105/duty-desk: %d %+v", code, prob)
	}
	if err := e.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	desks := map[string]string{}
	for _, tw := range e.snap.Towns {
		if tw.DutyDesk != nil {
			desks[tw.Code] = tw.DutyDesk.Name
		}
	}
	if desks["431321105"] != "东镇综治中心" || desks["431321101"] != "镇值班室" {
		t.Errorf("duty desks: %v; want the east town's replaced and the other's kept", desks)
	}
}

func TestTowns_coverageReportPerTown(t *testing.T) {
	t.Parallel()
	e := newCountyEnv(t)
	e.serve(api.Config{Plans: e.db})
	var all, east struct{ Grids, Blocking int }
	if code := e.do(geo.AccessPlanner, http.MethodGet, "/v1/coverage/report", nil, &all); code != http.StatusOK {
		t.Fatalf("the deployment's report: %d", code)
	}
	if code := e.do(geo.AccessPlanner, http.MethodGet, "/v1/coverage/report?town=431321105", nil, &east); code != http.StatusOK {
		t.Fatalf("the east town's report: %d", code)
	}
	// Both are clean coverages: the deployment's grids tile the union of
	// the towns, the east town's its own outline.
	if all.Grids != 8 || east.Grids != 2 || all.Blocking != 0 || east.Blocking != 0 {
		t.Errorf("deployment %+v, east town %+v; want 8 and 2 grids, nothing blocking", all, east)
	}
	var prob problemAnswer
	if code := e.do(geo.AccessPlanner, http.MethodGet, "/v1/coverage/report?town=999", nil, &prob); code != http.StatusBadRequest ||
		len(prob.Errors) != 1 || prob.Errors[0].Where != "town" {
		t.Errorf("a bad town: %d %+v", code, prob)
	}
}
