package main

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"wangge/geo/pgstore/pgtest"
)

// TestServe_metricsCountIntake: /metrics of `wangge serve` counts the
// incidents its intake wrote and the batches they went in, as many as
// were acknowledged, whatever the batching made of them.
func TestServe_metricsCountIntake(t *testing.T) {
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = url, ""
	s := startServer(t, cfg)
	api := obNewAPI(t, s.main.Addr)
	token := obToken(t, []string{"-database-url", url}, "dispatcher", "调度员")
	// The token reaches the server by NOTIFY: wait until it is known.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := api.do("GET", "/v1/incidents?limit=1", token, nil)
		if err == nil && r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token was not taken: %v %d %s", err, r.status, r.body)
		}
	}
	const clients, each = 8, 6
	points := obPoints(t, clients*each)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r, err := api.do("POST", "/v1/incidents", token, obIncidentBody(points[c*each+i]))
				if err != nil || r.status != 201 {
					t.Errorf("intake: %v %d %s", err, r.status, r.body)
					continue
				}
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	r, err := api.do("GET", "/metrics", "", nil)
	if err != nil || r.status != 200 {
		t.Fatalf("/metrics: %v %d", err, r.status)
	}
	value := func(name string) float64 {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(r.body)
		if m == nil {
			t.Fatalf("/metrics has no %s", name)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	incidents, batches := value("wangge_intake_incidents_total"), value("wangge_intake_batches_total")
	beside, busy := value("wangge_intake_batches_beside_total"), value("wangge_intake_batch_seconds_total")
	if incidents != float64(created) || created != clients*each {
		t.Errorf("wangge_intake_incidents_total %v, want the %d incidents acknowledged (of %d sent)", incidents, created, clients*each)
	}
	if batches < 1 || batches > incidents || beside > batches || busy <= 0 {
		t.Errorf("batches %v, beside %v, busy %v s for %v incidents", batches, beside, busy, incidents)
	}
	t.Logf("%v incidents in %v batches (%v beside another), %.3f s writing", incidents, batches, beside, busy)
	// The polls of answered connections (api/busypoll), by how they ended,
	// the watches, and the connections with a request in hand (this one, and
	// clients' connections just answered, at most).
	if v := value("wangge_http_connections_in_request"); v < 1 || v > clients+1 {
		t.Errorf("%v connections with a request in hand, want 1..%d", v, clients+1)
	}
	value("wangge_http_watches_total")
	for _, outcome := range []string{"data", "expired", "yielded"} {
		if v := value(regexp.QuoteMeta(`wangge_http_read_polls_total{outcome="` + outcome + `"}`)); v < 0 {
			t.Errorf("polls that ended %s: %v", outcome, v)
		}
	}
}
