package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// TestOpen311_nodeClient: the Open311 client library of Code for America
// (npm: open311 0.0.12, in testdata/open311client, installed by .ci/deps)
// lists the services, reads a definition, submits a request with its
// api_key and jurisdiction, and reads it back by id, among the open
// requests, and by a list of ids — against a real server on a port. What
// the library returns is the request as submitted and routed.
func TestOpen311_nodeClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (Debian: apt-get install nodejs): %v", err)
	}
	dir, _ := filepath.Abs("testdata/open311client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "open311", "open311.js")); err != nil {
		t.Fatalf("the client library is not installed: run .ci/deps (npm ci --prefix api/testdata/open311client): %v", err)
	}
	e := newDispatchEnv(t, dispatchTown())
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	p := off311(centre(5))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js", srv.URL+"/open311/v2/", e.secrets[geo.AccessDispatcher], "431321101",
		fmt.Sprint(p[1]), fmt.Sprint(p[0]))
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.js: %v\n%s", err, stderr.String())
	}
	type request struct {
		ID          string   `json:"service_request_id"`
		Status      string   `json:"status"`
		ServiceCode string   `json:"service_code"`
		Description string   `json:"description"`
		Address     string   `json:"address"`
		MediaURL    string   `json:"media_url"`
		Lat         *float64 `json:"lat"`
		Long        *float64 `json:"long"`
		Agency      string   `json:"agency_responsible"`
	}
	var got struct {
		Services []struct {
			Code string `json:"service_code"`
			Name string `json:"service_name"`
		}
		Definition struct {
			Code       string `json:"service_code"`
			Attributes []any
		}
		Submitted []struct {
			ID        string `json:"service_request_id"`
			AccountID string `json:"account_id"`
		}
		ByID  []request
		Open  []request
		ByIDs []request
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Services) != len(geo.Categories) || got.Definition.Code != got.Services[0].Code || len(got.Definition.Attributes) != 0 {
		t.Errorf("services %+v, definition %+v", got.Services, got.Definition)
	}
	if len(got.Submitted) != 1 || got.Submitted[0].ID == "" || got.Submitted[0].AccountID != "acct-9" {
		t.Fatalf("submitted %+v", got.Submitted)
	}
	id := got.Submitted[0].ID
	for name, list := range map[string][]request{"byId": got.ByID, "open": got.Open, "byIds": got.ByIDs} {
		if len(list) != 1 {
			t.Errorf("%s: %d requests, want 1: %+v", name, len(list), list)
			continue
		}
		// Read by id without a key (as the library's GETs go), the request
		// shows neither what the resident wrote nor its point; searched
		// with the key, it shows both.
		r, personal := list[0], name == "open"
		if r.ID != id || r.Status != "open" || r.ServiceCode != got.Services[0].Code || !strings.Contains(r.Agency, "431321101202002") ||
			(r.Description != "") != personal || (r.Address != "") != personal || (r.Lat != nil) != personal {
			t.Errorf("%s: %+v, want the request as submitted, routed to grid 431321101202002, with what the resident wrote: %v", name, r, personal)
		}
		if personal && (r.Description != "村口路灯不亮，晚上看不见路" || *r.Lat != p[1] || *r.Long != p[0] || r.MediaURL != "https://example.cn/p/1.jpg") {
			t.Errorf("%s: %+v, want the description, point and photo link submitted", name, r)
		}
	}
	// Read with the dispatcher's key, the request is all there.
	var back []struct {
		Description, Address string
		MediaURL             string  `json:"media_url"`
		Lat                  float64 `json:"lat"`
		Long                 float64 `json:"long"`
	}
	rec := e.o311("GET", "/open311/v2/requests/"+id+".json?api_key="+url.QueryEscape(e.secrets[geo.AccessDispatcher]), nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || len(back) != 1 || back[0].Description != "村口路灯不亮，晚上看不见路" ||
		back[0].Address != "荷叶镇 村口" || back[0].MediaURL != "https://example.cn/p/1.jpg" || back[0].Lat != p[1] || back[0].Long != p[0] {
		t.Errorf("read with the dispatcher's key: %+v (%v)", back, err)
	}
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+id, nil, &inc)
	if inc.Reporter == nil || inc.Reporter.Name != "李秀英" || inc.Assignee == nil || inc.Assignee.Name != "网格长5" {
		t.Errorf("on /v1: reporter %+v, assignee %+v; want 李秀英, 网格长5", inc.Reporter, inc.Assignee)
	}
}
