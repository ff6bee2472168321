package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
)

// planAPI is the dispatch tests' env (dispatchTown: two villages of three
// 1 km grids, every store, a clock at t0) with plans:
//
//	27.02 +------+------+------+
//	      | 202001 202002 202003   village 202
//	27.01 +------+------+------+
//	      | 201001 201002 201003   village 201
//	27.00 +------+------+------+
//	   112.00  112.01  112.02  112.03
type planAPI struct {
	*dispatchEnv
}

func newPlanAPI(t *testing.T) *planAPI {
	t.Helper()
	e := &planAPI{newDispatchEnv(t, dispatchTown())}
	e.serve(api.Config{Plans: e.db})
	return e
}

// tick moves the clock a second on.
func (e *planAPI) tick() time.Time {
	t := e.clock().Add(time.Second)
	e.setNow(t)
	return t
}

// call sends a request as role ("" for anonymous), checks the answer
// against openapi.json, and decodes a JSON answer into out.
func (e *planAPI) call(role geo.AccessRole, method, target string, body any, out any, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, target, err, rec.Body)
		}
	}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != api.ProblemContentType {
		e.t.Errorf("%s %s: %d is not problem+json", method, target, rec.Code)
	}
	return rec
}

// openPlan opens a draft as the planner and returns its id and ETag.
func (e *planAPI) openPlan() (int64, string) {
	e.t.Helper()
	var p struct {
		ID             int64
		BaseGeneration int64 `json:"base_generation"`
	}
	rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"note": "重划"}, &p)
	if rec.Code != 201 || rec.Header().Get("ETag") != fmt.Sprintf(`"%d.0"`, p.BaseGeneration) {
		e.t.Fatalf("POST /v1/plans: %d %s (ETag %q)", rec.Code, rec.Body, rec.Header().Get("ETag"))
	}
	return p.ID, rec.Header().Get("ETag")
}

// polygon is a GeoJSON Polygon of the rectangle.
func polygon(x0, y0, x1, y1 float64) map[string]any {
	return map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

type planCollection struct {
	Type string
	Plan struct {
		ID             int64
		Status         string
		BaseGeneration int64 `json:"base_generation"`
		Summary        map[string]int
	}
	Features []struct {
		ID         string
		Geometry   json.RawMessage
		Properties struct {
			Code       string
			Change     string
			Households int
			Leader     *struct{ Name, Phone string }
		}
	}
}

type reportAnswer struct {
	Clean    bool
	Blocking int
	Warnings int
	Findings []struct {
		Kind, Severity, Reason string
		Codes                  []string
		AreaM2                 float64 `json:"area_m2"`
		Location               []float64
	}
}

func (r reportAnswer) kinds() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Kind)
	}
	return out
}

// TestPlansAPI_redrawAndApply: a planner moves the border between grids
// 201001 and 201002 east by 200 m, reviews validation and impact, and
// applies with If-Match; a point in the strip is then located in 201001,
// and with at= before the apply still in 201002.
func TestPlansAPI_redrawAndApply(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, etag := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)

	var list struct{ Plans []struct{ ID int64 } }
	if rec := e.call(geo.AccessPlanner, "GET", "/v1/plans", nil, &list); rec.Code != 200 || len(list.Plans) != 1 || list.Plans[0].ID != id {
		t.Fatalf("GET /v1/plans: %d %s", rec.Code, rec.Body)
	}
	var fc planCollection
	if rec := e.call(geo.AccessPlanner, "GET", base, nil, &fc); rec.Code != 200 || len(fc.Features) != 6 || fc.Plan.Summary["unchanged"] != 6 ||
		rec.Header().Get("Content-Type") != api.GeoJSONContentType || rec.Header().Get("ETag") != etag {
		t.Fatalf("GET %s: %d %s", base, rec.Code, rec.Body)
	}
	if l := fc.Features[0].Properties.Leader; l == nil || l.Name != "网格长1" || l.Phone != "" {
		t.Errorf("a planner sees the leader's name, not the phone: %+v", l)
	}

	strip := "lon=112.011&lat=27.005"
	var before location
	e.call("", "GET", "/v1/locate?"+strip, nil, &before)
	if before.Grid.Code != "431321101201002" {
		t.Fatalf("before the redraw: %+v", before)
	}
	beforeApply := e.tick()
	e.tick()

	rec := e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", map[string]any{"type": "Feature", "geometry": polygon(112, 27, 112.012, 27.01)}, &fc)
	if rec.Code != 200 || len(fc.Features) != 1 || fc.Features[0].Properties.Change != "modified" {
		t.Fatalf("PUT grid: %d %s", rec.Code, rec.Body)
	}
	e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201002", map[string]any{"geometry": polygon(112.012, 27, 112.02, 27.01),
		"properties": map[string]any{"households": 48}}, nil)

	var report reportAnswer
	if rec := e.call(geo.AccessPlanner, "GET", base+"/validation", nil, &report); rec.Code != 200 || report.Blocking != 0 {
		t.Fatalf("validation: %d %s", rec.Code, rec.Body)
	}
	var impact struct {
		Moves []struct {
			From, To   *string
			AreaM2     float64 `json:"area_m2"`
			Households float64
		}
		Totals map[string]float64
	}
	if rec := e.call(geo.AccessPlanner, "GET", base+"/impact", nil, &impact); rec.Code != 200 || len(impact.Moves) != 1 ||
		*impact.Moves[0].From != "431321101201002" || *impact.Moves[0].To != "431321101201001" || impact.Moves[0].Households != 12 {
		t.Fatalf("impact: %d %s", rec.Code, rec.Body)
	}

	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil); rec.Code != 428 {
		t.Errorf("apply without If-Match: %d, want 428", rec.Code)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", `"9.2"`); rec.Code != 412 {
		t.Errorf("apply with If-Match on another generation: %d, want 412", rec.Code)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", etag); rec.Code != 412 {
		t.Errorf("apply with the ETag of the draft as opened, before the edits: %d, want 412", rec.Code)
	}
	etag = e.etag(id)
	var applied struct{ Generation int64 }
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, &applied, "If-Match", etag); rec.Code != 200 || applied.Generation != 2 {
		t.Fatalf("apply: %d %s", rec.Code, rec.Body)
	}
	var after location
	e.call("", "GET", "/v1/locate?"+strip, nil, &after)
	if after.Grid.Code != "431321101201001" || after.Generation != 2 {
		t.Errorf("after the apply the point is in %s (generation %d), want 431321101201001 in 2", after.Grid.Code, after.Generation)
	}
	var past location
	e.call("", "GET", "/v1/locate?"+strip+"&at="+beforeApply.Format(time.RFC3339), nil, &past)
	if past.Grid.Code != "431321101201002" || past.Generation != 1 {
		t.Errorf("at= before the apply: %s (generation %d), want 431321101201002 in 1", past.Grid.Code, past.Generation)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", etag); rec.Code != 409 {
		t.Errorf("applying twice: %d, want 409", rec.Code)
	}
	if rec := e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001/leader", map[string]any{"name": "x", "phone": "13900000000"}, nil); rec.Code != 409 {
		t.Errorf("editing an applied plan: %d, want 409", rec.Code)
	}
}

// TestPlansAPI_blockingProblemsAndRepairs: a gap is reported (JSON and a
// GeoJSON layer), blocks apply with 422 and the report, and the fill_gap
// repair clears it.
func TestPlansAPI_blockingProblemsAndRepairs(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", map[string]any{"geometry": polygon(112, 27, 112.0095, 27.01)}, nil)

	var report reportAnswer
	e.call(geo.AccessPlanner, "GET", base+"/validation", nil, &report)
	if report.Blocking != 1 || report.Findings[0].Kind != "gap" || report.Findings[0].Severity != "blocking" || len(report.Findings[0].Location) != 2 {
		t.Fatalf("validation: %+v", report)
	}
	if loc := report.Findings[0].Location; loc[0] < 112.0095 || loc[0] > 112.01 {
		t.Errorf("the gap is located at %v, not in it", loc)
	}
	var layer struct {
		Type     string
		Features []struct {
			Geometry   struct{ Type string }
			Properties struct{ Kind string }
		}
	}
	rec := e.call(geo.AccessPlanner, "GET", base+"/validation", nil, &layer, "Accept", "application/geo+json")
	if rec.Header().Get("Content-Type") != api.GeoJSONContentType || len(layer.Features) != 2 ||
		layer.Features[0].Geometry.Type != "MultiPolygon" || layer.Features[0].Properties.Kind != "gap" {
		t.Errorf("GeoJSON layer: %s", rec.Body)
	}
	var blocked struct {
		Type       string
		Errors     []geo.Problem
		Validation reportAnswer
	}
	etag := e.etag(id)
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, &blocked, "If-Match", etag); rec.Code != 422 ||
		blocked.Type != api.TypePlanBlocked || len(blocked.Errors) != 1 || blocked.Validation.Blocking != 1 {
		t.Fatalf("apply with a gap: %d %s", rec.Code, rec.Body)
	}
	var repaired struct{ Changed []string }
	if rec := e.call(geo.AccessPlanner, "POST", base+"/repairs", map[string]any{"kind": "fill_gap"}, &repaired); rec.Code != 200 || len(repaired.Changed) != 1 {
		t.Fatalf("fill_gap: %d %s", rec.Code, rec.Body)
	}
	e.call(geo.AccessPlanner, "GET", base+"/validation?households_max=50", nil, &report)
	if report.Blocking != 0 || len(report.Findings) != 7 { // grid 202001 has no leader; every grid has 60 households
		t.Errorf("after the repair: %+v", report.kinds())
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", etag); rec.Code != 412 {
		t.Errorf("apply after the repair with the ETag from before it: %d, want 412", rec.Code)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", e.etag(id)); rec.Code != 200 {
		t.Errorf("apply after the repair: %d %s", rec.Code, rec.Body)
	}
}

func TestPlansAPI_edits(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	var fc planCollection
	line := map[string]any{"type": "LineString", "coordinates": [][]float64{{112.019, 27.016}, {112.031, 27.016}}}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/split", map[string]any{"code": "431321101202003", "line": line, "new_code": "431321101202004"}, &fc); rec.Code != 200 ||
		len(fc.Features) != 2 || fc.Features[0].Properties.Households != 36 || fc.Features[1].Properties.Change != "added" {
		t.Fatalf("split: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/merge", map[string]any{"codes": []string{"431321101202001", "431321101202004"}, "into": "431321101202001"}, &fc); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "share no border") {
		t.Errorf("merging grids apart: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/merge", map[string]any{"codes": []string{"431321101202003", "431321101202004"}, "into": "431321101202003"}, &fc); rec.Code != 200 {
		t.Errorf("merge: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/move", map[string]any{"code": "431321101201003", "village": "431321101202", "new_code": "431321101202009"}, &fc); rec.Code != 200 ||
		len(fc.Features) != 2 {
		t.Errorf("move: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/grids", map[string]any{"type": "Feature", "geometry": polygon(112, 27, 112.001, 27.001),
		"properties": map[string]any{"code": "431321101201001", "name": "重复"}}, nil); rec.Code != 409 {
		t.Errorf("adding a taken code: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "DELETE", base+"/grids/431321101202001", nil, &fc); rec.Code != 200 || fc.Features[0].Properties.Change != "retired" {
		t.Errorf("retire: %d %s", rec.Code, rec.Body)
	}
	var leader planCollection
	if rec := e.call(geo.AccessAdmin, "PUT", base+"/grids/431321101201001/leader", map[string]any{"name": "新网格长", "phone": "139 0000 1234"}, &leader); rec.Code != 200 ||
		leader.Features[0].Properties.Leader.Phone != "13900001234" {
		t.Errorf("leader (an admin sees the phone): %d %s", rec.Code, rec.Body)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		want               string
	}{
		{"not a polygon", "PUT", base + "/grids/431321101201001", map[string]any{"geometry": map[string]any{"type": "Point", "coordinates": []float64{112, 27}}}, 400, "Polygon"},
		{"open ring", "PUT", base + "/grids/431321101201001", map[string]any{"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{112, 27}, {112.01, 27}, {112.01, 27.01}, {112, 27.01}}}}}, 400, "not closed"},
		{"unknown member", "PUT", base + "/grids/431321101201001", map[string]any{"geom": polygon(112, 27, 112.01, 27.01)}, 400, "geom"},
		{"nothing to change", "PUT", base + "/grids/431321101201001", map[string]any{}, 400, "nothing to change"},
		{"grid not in draft", "PUT", base + "/grids/431321101201008", map[string]any{"properties": map[string]any{"name": "x"}}, 404, "no grid"},
		{"split missing the grid", "POST", base + "/split", map[string]any{"code": "431321101201001", "line": map[string]any{"type": "LineString", "coordinates": [][]float64{{112.5, 27.5}, {112.6, 27.6}}}, "new_code": "431321101201007"}, 400, "does not cut"},
		{"split by a polygon", "POST", base + "/split", map[string]any{"code": "431321101201001", "line": polygon(112, 27, 112.01, 27.01), "new_code": "431321101201007"}, 400, "LineString"},
		{"bad plan id", "GET", "/v1/plans/abc", nil, 400, "id"},
		{"unknown plan", "GET", "/v1/plans/99", nil, 404, "no such plan"},
		{"bad repair", "POST", base + "/repairs", map[string]any{"kind": "magic"}, 400, "kind"},
		{"snap without codes", "POST", base + "/repairs", map[string]any{"kind": "snap"}, 400, "codes"},
		{"bad threshold", "GET", base + "/validation?households_min=x", nil, 400, "households_min"},
		{"bad If-Match", "POST", base + "/apply", nil, 400, "If-Match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.name == "bad If-Match" {
				hdr = []string{"If-Match", "soon"}
			}
			rec := e.call(geo.AccessPlanner, tt.method, tt.path, tt.body, nil, hdr...)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("%d %s, want %d mentioning %q", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}
}

func TestPlansAPI_roles(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	if rec := e.call("", "POST", "/v1/plans", nil, nil); rec.Code != 401 {
		t.Errorf("anonymous: %d", rec.Code)
	}
	if rec := e.call(geo.AccessDispatcher, "POST", "/v1/plans", nil, nil); rec.Code != 403 {
		t.Errorf("dispatcher: %d", rec.Code)
	}
	if rec := e.call(geo.AccessAdmin, "POST", "/v1/plans", nil, nil); rec.Code != 201 {
		t.Errorf("admin: %d", rec.Code)
	}
	var report struct {
		Generation           int64
		Findings             []struct{ Kind string }
		MissingOrganizations []struct {
			Kind  string
			Codes []string
		} `json:"missing_organizations"`
	}
	for _, role := range []geo.AccessRole{geo.AccessDispatcher, geo.AccessPlanner, geo.AccessAdmin} {
		if rec := e.call(role, "GET", "/v1/coverage/report", nil, &report); rec.Code != 200 {
			t.Errorf("coverage report as %s: %d %s", role, rec.Code, rec.Body)
		}
	}
	if len(report.Findings) != 1 || report.Findings[0].Kind != "no_leader" || len(report.MissingOrganizations) != len(geo.OrgKinds) {
		t.Errorf("coverage report: %+v", report)
	}
	if rec := e.call(geo.AccessViewer, "GET", "/v1/coverage/report", nil, nil); rec.Code != 403 {
		t.Errorf("coverage report as viewer: %d", rec.Code)
	}
}

// TestPlansAPI_twoPlannersApplyAtOnce: two drafts on one base applied at
// the same moment: one 200, one 412, and the loser rebases by opening a
// new plan from its draft, which keeps its change.
func TestPlansAPI_twoPlannersApplyAtOnce(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	a, _ := e.openPlan()
	b, _ := e.openPlan()
	e.call(geo.AccessPlanner, "PUT", fmt.Sprintf("/v1/plans/%d/grids/431321101201001", a), map[string]any{"properties": map[string]any{"name": "甲"}}, nil)
	e.call(geo.AccessPlanner, "PUT", fmt.Sprintf("/v1/plans/%d/grids/431321101202003", b), map[string]any{"properties": map[string]any{"name": "乙"}}, nil)
	etags := []string{e.etag(a), e.etag(b)}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, id := range []int64{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", fmt.Sprintf("/v1/plans/%d/apply", id), nil)
			req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessPlanner])
			req.Header.Set("If-Match", etags[i])
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	if codes[0]+codes[1] != 200+412 {
		t.Fatalf("statuses %v, want one 200 and one 412", codes)
	}
	loser := a
	if codes[0] == 200 {
		loser = b
	}
	var p struct {
		ID             int64
		BaseGeneration int64 `json:"base_generation"`
		RebasedFrom    int64 `json:"rebased_from"`
		Summary        map[string]int
	}
	rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"rebase": loser}, &p)
	if rec.Code != 201 || p.BaseGeneration != 2 || p.RebasedFrom != loser || p.Summary["modified"] != 1 {
		t.Fatalf("rebase: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/apply", p.ID), nil, nil, "If-Match", rec.Header().Get("ETag")); rec.Code != 200 {
		t.Fatalf("apply the rebased plan: %d %s", rec.Code, rec.Body)
	}
	snap := e.reg.Load()
	g1, _ := snap.Grid("431321101201001")
	g6, _ := snap.Grid("431321101202003")
	if snap.Generation != 3 || g1.Name != "甲" || g6.Name != "乙" {
		t.Errorf("generation %d: %s, %s; want both changes", snap.Generation, g1.Name, g6.Name)
	}
}

// TestPlansAPI_import replaces a draft's layer from a GeoJSON file (raw
// and multipart); a broken file names the feature and changes nothing.
func TestPlansAPI_import(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	var features []map[string]any
	for v := 0; v < 2; v++ {
		for g := 0; g < 3; g++ {
			// As dispatchTown computes them, so that unchanged grids are
			// bit for bit the same; 201001 grows east by 100 m into 201002.
			x0, y0, x1, y1 := 112+0.01*float64(g), 27+0.01*float64(v), 112.01+0.01*float64(g), 27.01+0.01*float64(v)
			switch {
			case v == 0 && g == 0:
				x1 = 112.011
			case v == 0 && g == 1:
				x0 = 112.011
			}
			features = append(features, map[string]any{"type": "Feature", "geometry": polygon(x0, y0, x1, y1),
				"properties": map[string]any{"网格编码": fmt.Sprintf("43132110120%d%03d", v+1, g+1)}})
		}
	}
	file, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	var out struct {
		Grids int
		Plan  struct{ Summary map[string]int }
	}
	rec := e.call(geo.AccessPlanner, "POST", base+"/import?format=geojson", file, &out, "Content-Type", "application/geo+json")
	if rec.Code != 200 || out.Grids != 6 || out.Plan.Summary["modified"] != 2 || out.Plan.Summary["unchanged"] != 4 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}

	features[3]["properties"] = map[string]any{"网格编码": "431321101209001"}
	broken, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "grids.geojson")
	fw.Write(broken)
	mw.Close()
	var pr struct{ Errors []geo.Problem }
	rec = e.call(geo.AccessPlanner, "POST", base+"/import", buf.Bytes(), &pr, "Content-Type", mw.FormDataContentType())
	if rec.Code != 400 || len(pr.Errors) != 1 || !strings.Contains(pr.Errors[0].Where, "grids.geojson: feature 3") || !strings.Contains(pr.Errors[0].Reason, "not in the town") {
		t.Errorf("a layer with an unknown village: %d %s", rec.Code, rec.Body)
	}
	var fc planCollection
	e.call(geo.AccessPlanner, "GET", base+"?change=modified", nil, &fc)
	if len(fc.Features) != 2 {
		t.Errorf("after a refused import the draft should be as before, got %d modified grids", len(fc.Features))
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/import?format=kml", []byte("<kml>"), nil, "Content-Type", "application/vnd.google-earth.kml+xml"); rec.Code != 400 {
		t.Errorf("a broken KML: %d %s", rec.Code, rec.Body)
	}
}

// TestPlansAPI_exportImportRoundTrip: the grid layer exported as GeoJSON,
// KML, KMZ and a zipped Shapefile, imported into a draft, gives the same
// grids (every one unchanged: bit for bit the same geometry, so the area
// difference is 0 m²) and a clean validation.
func TestPlansAPI_exportImportRoundTrip(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	for _, format := range []string{"geojson", "kml", "kmz", "shp"} {
		t.Run(format, func(t *testing.T) {
			exported := e.call(geo.AccessViewer, "GET", "/v1/export?format="+format, nil, nil)
			if exported.Code != 200 {
				t.Fatalf("export: %d %s", exported.Code, exported.Body)
			}
			id, _ := e.openPlan()
			base := fmt.Sprintf("/v1/plans/%d", id)
			var out struct {
				Grids int
				Plan  struct{ Summary map[string]int }
			}
			rec := e.call(geo.AccessPlanner, "POST", base+"/import?format="+format, exported.Body.Bytes(), &out,
				"Content-Type", exported.Header().Get("Content-Type"))
			if rec.Code != 200 || out.Grids != 6 || out.Plan.Summary["unchanged"] != 6 {
				t.Fatalf("import of the %s export: %d %s", format, rec.Code, rec.Body)
			}
			var report struct{ Blocking int }
			if rec := e.call(geo.AccessPlanner, "GET", base+"/validation", nil, &report); rec.Code != 200 || report.Blocking != 0 {
				t.Errorf("validation after the round trip: %d %s", rec.Code, rec.Body)
			}
		})
	}
}
