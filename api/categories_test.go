package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/notify"
)

// TestCategories_addedAtRunTime: a service item an admin adds through the
// API is a category everywhere one is named — the incident filter, the
// stats, a channel's categories, the OGC incidents collection — without a
// restart; made inactive, it is refused at intake but still filters and
// counts the incidents that have it.
func TestCategories_addedAtRunTime(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{ServiceItems: e.db, Channels: e.db, Outbox: e.db, SecretKey: notify.DeriveKey("test key")})
	if err := e.srv.ReloadLimits(context.Background()); err != nil {
		t.Fatal(err)
	}
	const code = "noise"
	channel := map[string]any{"name": "噪声专班", "kind": "webhook", "url": "https://example.cn/hook",
		"secret": "webhook-hmac-secret-0123456789", "categories": []string{code}}
	var p problemAnswer

	// Before the item exists, each place refuses the code, naming it.
	for _, target := range []string{"/v1/incidents?category=" + code, "/v1/stats?category=" + code,
		"/ogc/collections/incidents/items?category=" + code} {
		if got := e.do(geo.AccessDispatcher, "GET", target, nil, &p); got != 400 || len(p.Errors) == 0 || p.Errors[0].Where != "category" {
			t.Errorf("GET %s before the item: %d %+v, want 400 at category", target, got, p)
		}
	}
	if got := e.do(geo.AccessAdmin, "POST", "/v1/channels", channel, &p); got != 400 || len(p.Errors) == 0 || p.Errors[0].Where != "categories[0]" {
		t.Errorf("a channel for %s before the item: %d %+v, want 400 at categories[0]", code, got, p)
	}

	var item serviceItemAnswer
	if got := e.do(geo.AccessAdmin, "POST", "/v1/service-items",
		map[string]any{"code": code, "name_zh": "噪声扰民", "limit_workdays": 3}, &item); got != 201 {
		t.Fatalf("POST /v1/service-items: %d %+v", got, item)
	}
	var noisy, other incidentAnswer
	if got := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), code, "minor"), &noisy); got != 201 {
		t.Fatalf("intake of %s: %d", code, got)
	}
	if got := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(2), "safety", "minor"), &other); got != 201 {
		t.Fatalf("intake of safety: %d", got)
	}

	// check asserts the filter, the stats and the OGC collection see the
	// one incident of code (and the other one not).
	check := func(when string) {
		t.Helper()
		var list struct{ Incidents []incidentAnswer }
		if got := e.do(geo.AccessDispatcher, "GET", "/v1/incidents?category="+code, nil, &list); got != 200 ||
			len(list.Incidents) != 1 || list.Incidents[0].Number != noisy.Number {
			t.Errorf("%s: GET /v1/incidents?category=%s: %d %+v, want only %s", when, code, got, list.Incidents, noisy.Number)
		}
		var stats struct {
			Received   int
			ByCategory map[string]struct{ Received int } `json:"by_category"`
		}
		if got := e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &stats); got != 200 ||
			stats.Received != 2 || stats.ByCategory[code].Received != 1 || stats.ByCategory["safety"].Received != 1 {
			t.Errorf("%s: GET /v1/stats: %d received %d by category %+v, want 2 with 1 %s and 1 safety", when, got, stats.Received, stats.ByCategory, code)
		}
		if _, ok := stats.ByCategory["dispute"]; !ok {
			t.Errorf("%s: GET /v1/stats leaves out dispute, a category without incidents: want it with zeros", when)
		}
		if got := e.do(geo.AccessDispatcher, "GET", "/v1/stats?category="+code, nil, &stats); got != 200 || stats.Received != 1 {
			t.Errorf("%s: GET /v1/stats?category=%s: %d received %d, want 1", when, code, got, stats.Received)
		}
		var fc ogcIncidentFC
		got, body := e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/items?category="+code)
		if json.Unmarshal(body, &fc); got != 200 || fc.NumberMatched != 1 || len(fc.Features) != 1 || fc.Features[0].ID != noisy.Number {
			t.Errorf("%s: OGC items?category=%s: %d %s, want only %s", when, code, got, body, noisy.Number)
		}
		var q struct {
			Properties map[string]struct{ Enum []string }
		}
		got, body = e.ogcGet(geo.AccessDispatcher, "/ogc/collections/incidents/queryables")
		if json.Unmarshal(body, &q); got != 200 || !slices.Contains(q.Properties["category"].Enum, code) {
			t.Errorf("%s: the queryable category lists %v, want %s among them", when, q.Properties["category"].Enum, code)
		}
	}
	check("active")

	var ch struct{ Categories []string }
	if got := e.do(geo.AccessAdmin, "POST", "/v1/channels", channel, &ch); got != 201 || !slices.Equal(ch.Categories, []string{code}) {
		t.Errorf("a channel for %s: %d %+v, want 201 with categories [%s]", code, got, ch, code)
	}

	// Retired: intake refuses it; the incidents that have it stay
	// findable and counted.
	if got := e.do(geo.AccessAdmin, "PATCH", "/v1/service-items/"+code, map[string]any{"active": false}, &item); got != 200 || item.Active {
		t.Fatalf("PATCH %s inactive: %d %+v", code, got, item)
	}
	if got := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), code, "minor"), &p); got != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Where != "category" {
		t.Errorf("intake of the retired %s: %d %+v, want 400 at category", code, got, p)
	}
	check("inactive")
}
