package api_test

import (
	"fmt"
	"strings"
	"testing"

	"wangge/geo"
)

// The case over HTTP: the impact report says three open incidents
// change grid; after POST …/apply each is in the grid the report named,
// with the person intake would now choose there and a reroute event; the
// incident the report did not list is untouched.
func TestRouting_applyOverHTTP(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	base := fmt.Sprintf("/v1/plans/%d", id)
	type incidentAnswer struct {
		Number   string
		Status   string
		Grid     struct{ Code string }
		Assignee *struct {
			Role geo.Role
			Name string
		}
		Events []struct {
			Actor, Action, Note string
			ActorRole           string `json:"actor_role"`
		}
	}
	var numbers []string
	for _, p := range [][2]float64{{112.0105, 27.003}, {112.011, 27.005}, {112.0115, 27.008}, {112.015, 27.005}} {
		var inc incidentAnswer
		body := map[string]any{"lon": p[0], "lat": p[1], "category": "safety", "severity": "major", "source": "patrol", "description": "井盖缺失"}
		if rec := e.call(geo.AccessDispatcher, "POST", "/v1/incidents", body, &inc); rec.Code != 201 || inc.Grid.Code != "431321101201002" {
			t.Fatalf("intake at %v: %d %s", p, rec.Code, rec.Body)
		}
		numbers = append(numbers, inc.Number)
		e.tick()
	}
	e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201001", map[string]any{"geometry": polygon(112, 27, 112.012, 27.01)}, nil)
	e.call(geo.AccessPlanner, "PUT", base+"/grids/431321101201002", map[string]any{"geometry": polygon(112.012, 27, 112.02, 27.01)}, nil)
	var impact struct {
		Totals    map[string]float64
		Incidents []struct {
			Number     string
			GridBefore string `json:"grid_before"`
			GridAfter  string `json:"grid_after"`
		}
	}
	if rec := e.call(geo.AccessPlanner, "GET", base+"/impact", nil, &impact); rec.Code != 200 || impact.Totals["open_incidents_rerouted"] != 3 {
		t.Fatalf("impact: %d %s", rec.Code, rec.Body)
	}
	e.tick()
	if rec := e.call(geo.AccessPlanner, "POST", base+"/apply", nil, nil, "If-Match", e.etag(id)); rec.Code != 200 {
		t.Fatalf("apply: %d %s", rec.Code, rec.Body)
	}
	said := map[string]string{}
	for _, m := range impact.Incidents {
		said[m.Number] = m.GridAfter
	}
	for _, n := range numbers {
		var inc incidentAnswer
		e.call(geo.AccessDispatcher, "GET", "/v1/incidents/"+n, nil, &inc)
		last := inc.Events[len(inc.Events)-1]
		after, listed := said[n]
		switch {
		case !listed:
			if inc.Grid.Code != "431321101201002" || last.Action == "reroute" {
				t.Errorf("%s, not in the report, is in %s, last event %+v", n, inc.Grid.Code, last)
			}
		case inc.Grid.Code != after || inc.Assignee == nil || inc.Assignee.Name != "网格长1" || inc.Status != "dispatched":
			t.Errorf("%s: the report said %s; the incident is in %s with %+v, %s", n, after, inc.Grid.Code, inc.Assignee, inc.Status)
		case last.Action != "reroute" || last.Actor != "planner-1" || last.ActorRole != "planner" || !strings.Contains(last.Note, fmt.Sprintf("plan %d", id)):
			t.Errorf("%s: last event %+v, want the reroute by planner-1 naming plan %d", n, last, id)
		}
	}
}
