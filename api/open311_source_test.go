package api_test

import (
	"encoding/json"
	"testing"

	"wangge/geo"
)

// TestOpen311_source: an incident submitted through Open311 has the source
// open311 (stored: migration 0022 lets the column take it), found by the
// OGC source filter; POST /v1/incidents may not claim it.
func TestOpen311_source(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	id, rec := e.post311(1, "safety", "桥栏杆断了")
	if rec.Code != 200 {
		t.Fatalf("POST requests.json: %d %s", rec.Code, rec.Body)
	}
	var byHand incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(2), "safety", "minor"), &byHand); code != 201 {
		t.Fatalf("POST /v1/incidents: %d", code)
	}
	var inc struct{ Number, Source string }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+id, nil, &inc); code != 200 || inc.Source != "open311" {
		t.Errorf("GET /v1/incidents/%s: %d source %q, want open311", id, code, inc.Source)
	}
	var fc ogcIncidentFC
	code, body := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items?source=open311")
	if json.Unmarshal(body, &fc); code != 200 || fc.NumberMatched != 1 || len(fc.Features) != 1 || fc.Features[0].ID != id {
		t.Errorf("OGC items?source=open311: %d %s, want only %s (not %s)", code, body, id, byHand.Number)
	}

	claim := newIncident(centre(1), "safety", "minor")
	claim["source"] = "open311"
	var p problemAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", claim, &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Where != "source" {
		t.Errorf("POST /v1/incidents with source open311: %d %+v, want 400 at source", code, p)
	}
}
