package api_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wangge/geo"
)

// The planning details of issue 10, item 9: each test fails on the code
// before the fix.

// etag reads a plan's ETag from GET /v1/plans/{id}.
func (e *planAPI) etag(id int64) string {
	e.t.Helper()
	rec := e.call(geo.AccessPlanner, "GET", fmt.Sprintf("/v1/plans/%d", id), nil, nil)
	if rec.Code != 200 {
		e.t.Fatalf("GET plan %d: %d %s", id, rec.Code, rec.Body)
	}
	return rec.Header().Get("ETag")
}

// exteriorsCounterClockwise reports whether every polygon of a GeoJSON
// MultiPolygon has a counter-clockwise exterior ring and clockwise holes
// (RFC 7946 §3.1.6), by the sign of the shoelace area.
func exteriorsCounterClockwise(t *testing.T, raw json.RawMessage) bool {
	t.Helper()
	var g struct {
		Type        string
		Coordinates [][][][2]float64
	}
	if err := json.Unmarshal(raw, &g); err != nil || g.Type != "MultiPolygon" {
		t.Fatalf("not a MultiPolygon: %v %s", err, raw)
	}
	for _, poly := range g.Coordinates {
		for i, ring := range poly {
			var a float64
			for j := 0; j+1 < len(ring); j++ {
				a += ring[j][0]*ring[j+1][1] - ring[j+1][0]*ring[j][1]
			}
			if (i == 0) != (a > 0) {
				return false
			}
		}
	}
	return true
}

// TestPlansAPI_splitStoresCounterClockwise: both parts of a split are
// counter-clockwise, and an export of the generation it made, imported
// into a new draft, is unchanged in every grid.
func TestPlansAPI_splitStoresCounterClockwise(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	var fc planCollection
	line := map[string]any{"type": "LineString", "coordinates": [][]float64{{112.019, 27.016}, {112.031, 27.016}}}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/split", map[string]any{"code": "431321101202003", "line": line, "new_code": "431321101202004"}, &fc); rec.Code != 200 || len(fc.Features) != 2 {
		t.Fatalf("split: %d %s", rec.Code, rec.Body)
	}
	for _, f := range fc.Features {
		if !exteriorsCounterClockwise(t, f.Geometry) {
			t.Errorf("grid %s after the split is stored clockwise: %s", f.ID, f.Geometry)
		}
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", e.etag(id)); rec.Code != 200 {
		t.Fatalf("apply: %d %s", rec.Code, rec.Body)
	}
	exported := e.call(geo.AccessViewer, "GET", "/v1/export?format=geojson", nil, nil)
	next, _ := e.openPlan()
	var out struct {
		Plan struct{ Summary map[string]int }
	}
	rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson", next), exported.Body.Bytes(), &out, "Content-Type", "application/geo+json")
	if rec.Code != 200 || out.Plan.Summary["unchanged"] != 7 || out.Plan.Summary["modified"] != 0 {
		t.Errorf("re-importing the unchanged export: %d %s", rec.Code, rec.Body)
	}
}

// gcj02Export is the current generation exported as GeoJSON in GCJ-02.
func (e *planAPI) gcj02Export() map[string]any {
	e.t.Helper()
	rec := e.call(geo.AccessViewer, "GET", "/v1/export?format=geojson&crs=gcj02", nil, nil)
	var fc map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
		e.t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	return fc
}

// TestPlansAPI_importBelowTolerance: a GCJ-02 export with one vertex moved
// 1 m, imported with crs=gcj02, modifies that grid alone: the others come
// back from GCJ-02 within geo.GeometryToleranceDeg and stay unchanged.
func TestPlansAPI_importBelowTolerance(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	fc := e.gcj02Export()
	ring := fc["features"].([]any)[0].(map[string]any)["geometry"].(map[string]any)["coordinates"].([]any)[0].([]any)[0].([]any)
	v := ring[2].([]any)
	v[0] = v[0].(float64) + 1e-5
	body, _ := json.Marshal(fc)
	id, _ := e.openPlan()
	var out struct {
		Plan struct{ Summary map[string]int }
	}
	rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson&crs=gcj02", id), body, &out, "Content-Type", "application/geo+json")
	if rec.Code != 200 || out.Plan.Summary["modified"] != 1 || out.Plan.Summary["unchanged"] != 5 {
		t.Errorf("one vertex edited: %d %s, want 1 modified and 5 unchanged", rec.Code, rec.Body)
	}
}

// TestPlansAPI_importHintsAtTheCRS: a GCJ-02 file imported without crs=
// is read as WGS-84, and the answer says that it looks like GCJ-02.
func TestPlansAPI_importHintsAtTheCRS(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	body, _ := json.Marshal(e.gcj02Export())
	id, _ := e.openPlan()
	var out struct {
		Hints []string
		Plan  struct{ Summary map[string]int }
	}
	rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson", id), body, &out, "Content-Type", "application/geo+json")
	if rec.Code != 200 || len(out.Hints) != 1 || !strings.Contains(out.Hints[0], "crs=gcj02") {
		t.Errorf("a GCJ-02 file without crs=: %d %s, want a hint naming crs=gcj02", rec.Code, rec.Body)
	}
	var plain struct{ Hints []string }
	wgs := e.call(geo.AccessViewer, "GET", "/v1/export?format=geojson", nil, nil)
	next, _ := e.openPlan()
	if rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson", next), wgs.Body.Bytes(), &plain, "Content-Type", "application/geo+json"); rec.Code != 200 || len(plain.Hints) != 0 {
		t.Errorf("a WGS-84 file: %d %s, want no hint", rec.Code, rec.Body)
	}
}

// TestPlansAPI_importOneVillage: with mode=villages a layer of village
// 201 replaces that village's grids and leaves village 202's alone.
func TestPlansAPI_importOneVillage(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	var features []map[string]any
	for g := 0; g < 3; g++ {
		x0, x1 := 112+0.01*float64(g), 112.01+0.01*float64(g)
		switch g {
		case 0:
			x1 = 112.011
		case 1:
			x0 = 112.011
		}
		features = append(features, map[string]any{"type": "Feature", "geometry": polygon(x0, 27, x1, 27.01),
			"properties": map[string]any{"网格编码": fmt.Sprintf("431321101201%03d", g+1)}})
	}
	file, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	var out struct {
		Plan struct{ Summary map[string]int }
	}
	rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson&mode=villages", id), file, &out, "Content-Type", "application/geo+json")
	if rec.Code != 200 || out.Plan.Summary["modified"] != 2 || out.Plan.Summary["unchanged"] != 4 || out.Plan.Summary["retired"] != 0 {
		t.Errorf("one village's layer: %d %s, want 2 modified, 4 unchanged, none retired", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/import?mode=some", id), file, nil, "Content-Type", "application/geo+json"); rec.Code != 400 {
		t.Errorf("mode=some: %d, want 400", rec.Code)
	}
}

// TestPlansAPI_etagFollowsEdits: every edit changes the draft's ETag, and
// apply takes only the ETag of the draft as it is, compared strongly.
func TestPlansAPI_etagFollowsEdits(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, opened := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	rec := e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", map[string]any{"properties": map[string]any{"name": "甲"}}, nil)
	mine := rec.Header().Get("ETag")
	if rec.Code != 200 || mine == opened || mine == "" {
		t.Fatalf("the ETag after an edit: %q, before %q", mine, opened)
	}
	// A colleague edits the draft after I reviewed it.
	rec = e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201002", map[string]any{"properties": map[string]any{"name": "乙"}}, nil)
	theirs := rec.Header().Get("ETag")
	if theirs == mine || e.etag(id) != theirs {
		t.Fatalf("the ETag after a second edit: %q (mine %q, GET %q)", theirs, mine, e.etag(id))
	}
	for _, tag := range []string{opened, mine, "W/" + theirs} {
		if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", tag); rec.Code != 412 || rec.Header().Get("ETag") != theirs {
			t.Errorf("apply with If-Match %s: %d (ETag %q), want 412 with %s", tag, rec.Code, rec.Header().Get("ETag"), theirs)
		}
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", theirs); rec.Code != 200 {
		t.Errorf("apply with the current ETag: %d %s", rec.Code, rec.Body)
	}
}

// TestPlansAPI_applyRefusesNoChange: a draft that changes nothing is not
// applied, and no generation is written.
func TestPlansAPI_applyRefusesNoChange(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, etag := e.openPlan()
	if rec := e.call(geo.AccessPlanner, "POST", fmt.Sprintf("/v1/plans/%d/apply", id), nil, nil, "If-Match", etag); rec.Code != 409 || !strings.Contains(rec.Body.String(), "changes nothing") {
		t.Errorf("apply an unchanged draft: %d %s, want 409", rec.Code, rec.Body)
	}
	if gen, _ := e.db.CurrentGeneration(t.Context()); gen != 1 {
		t.Errorf("generation %d after a refused apply, want 1", gen)
	}
}

// TestPlansAPI_gridsTakeGeoJSONMediaType: PUT and POST …/grids take a
// Feature sent as application/geo+json.
func TestPlansAPI_gridsTakeGeoJSONMediaType(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	if rec := e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", map[string]any{"type": "Feature", "geometry": polygon(112, 27, 112.012, 27.01)}, nil,
		"Content-Type", "application/geo+json"); rec.Code != 200 {
		t.Errorf("PUT as application/geo+json: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", base+"/grids", map[string]any{"type": "Feature", "geometry": polygon(112.03, 27, 112.031, 27.001),
		"properties": map[string]any{"code": "431321101201009", "name": "新"}}, nil, "Content-Type", "application/geo+json; charset=utf-8"); rec.Code != 201 {
		t.Errorf("POST as application/geo+json: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", "x", nil, "Content-Type", "text/plain"); rec.Code != 415 {
		t.Errorf("PUT as text/plain: %d, want 415", rec.Code)
	}
}

// TestExport_shapefileIsShpZip: the Shapefile export is named .shp.zip,
// which GDAL opens without /vsizip/.
func TestExport_shapefileIsShpZip(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	rec := e.call(geo.AccessViewer, "GET", "/v1/export?format=shp", nil, nil)
	_, params, err := mime.ParseMediaType(rec.Header().Get("Content-Disposition"))
	name := params["filename"]
	if rec.Code != 200 || err != nil || !strings.HasSuffix(name, ".shp.zip") {
		t.Fatalf("export: %d, Content-Disposition %q, want a file name ending .shp.zip", rec.Code, rec.Header().Get("Content-Disposition"))
	}
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		t.Fatal("GDAL's ogrinfo is not installed: make deps installs gdal-bin")
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ogrinfo, "-ro", "-so", "-al", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Feature Count: 6") {
		t.Errorf("ogrinfo -ro -so -al %s: %v\n%s", name, err, out)
	}
}
