package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/workcal"
)

// TestServe_limitsReloadOnNotify: another replica (here, another process
// writing through the store) adds a service item; this server learns of
// it by LISTEN/NOTIFY, without a restart, and its intake takes the new
// category with the new item's time limit.
func TestServe_limitsReloadOnNotify(t *testing.T) {
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = url, ""
	s := startServer(t, cfg)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-database-url", url, "-role", "dispatcher", "-name", "调度员"}, &out, &errb); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	lon, lat, _ := demoPoint(t)
	intake := func() (int, []byte) {
		body, _ := json.Marshal(map[string]any{"lon": lon, "lat": lat, "category": "noise", "severity": "minor",
			"description": "夜里施工", "source": "hotline_12345"})
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.main.Addr+"/v1/incidents", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	// The token reaches the server by NOTIFY too: wait until it is known.
	deadline := time.Now().Add(10 * time.Second)
	code, body := intake()
	for code == http.StatusUnauthorized && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code, body = intake()
	}
	if code != http.StatusBadRequest || !strings.Contains(string(body), "category") {
		t.Fatalf("before the item exists: %d %s, want 400 naming the category", code, body)
	}

	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	item := geo.ServiceItem{Code: "noise", NameZh: "噪声扰民", LimitWorkdays: 2, Active: true}
	if _, _, err := db.CreateServiceItem(context.Background(), item, "another-replica", "", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for code, body = intake(); code != http.StatusCreated; code, body = intake() {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not take the new item: %d %s\n%s", code, body, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var inc struct {
		ReceivedAt time.Time `json:"received_at"`
		DueAt      time.Time `json:"due_at"`
	}
	if err := json.Unmarshal(body, &inc); err != nil {
		t.Fatal(err)
	}
	cat, err := geo.LoadCatalogue(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if want := item.Due(cat.Calendar, inc.ReceivedAt); !inc.DueAt.Equal(want) {
		t.Errorf("due %v, want %v: 2 working days from %v", inc.DueAt, want, inc.ReceivedAt)
	}
	if got := inc.DueAt.In(workcal.Zone).Format("15:04:05"); got != "00:00:00" {
		t.Errorf("due at %s China time, want 24:00 of a working day", got)
	}
}
