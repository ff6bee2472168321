package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestServe_loadsTheSnapshotOnceAtStart: the listener is in LISTEN before
// start-up loads the snapshot, so its first connection does not load it a
// second time (seconds of CPU and a second copy in memory at national
// size), and an announced change still reloads it.
func TestServe_loadsTheSnapshotOnceAtStart(t *testing.T) {
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = url, ""
	s := startServer(t, cfg)
	loads := s.main.reloader.Loads
	if n := loads(); n != 1 {
		t.Fatalf("%d loads when serving starts, want 1", n)
	}

	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Notify(context.Background(), s.main.Registry.Load().Generation); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for loads() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("an announced change was not loaded\n%s", s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A token announced now reaches the server through the same listener,
	// after the announcement above has been handled: had the listener's
	// first connection reloaded too, that would make three loads.
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-database-url", url, "-role", "dispatcher", "-name", "调度员"}, &out, &errb); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	listIncidents := func() int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.main.Addr+"/v1/incidents", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	deadline = time.Now().Add(10 * time.Second)
	for listIncidents() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the token never reached the server\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := loads(); n != 2 {
		t.Fatalf("%d snapshot loads after start-up and one announced change, want 2", n)
	}
}
