package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore/pgtest"
)

// TestServe_demoYear is make run's first start: with --demo-year the demo
// town comes with its synthetic year of incidents, so the figures have
// something to show; a second start loads it no second time; without the
// setting a fresh demo has no incidents.
func TestServe_demoYear(t *testing.T) {
	url := pgtest.ConnString(t)
	count := func() int {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM incidents").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir, cfg.DemoYear = url, "", true
	s := startServer(t, cfg)
	first := count()
	if first < 1000 {
		t.Fatalf("after a first start with --demo-year: %d incidents, want the demo year (thousands)\n%s", first, s.log)
	}
	if !strings.Contains(s.log.String(), "loaded the demo year") {
		t.Errorf("the log does not say the demo year was loaded:\n%s", s.log)
	}
	s.stop()

	s = startServer(t, cfg)
	if n := count(); n != first {
		t.Errorf("a second start changed the incidents: %d, then %d", first, n)
	}
	s.stop()

	fresh := pgtest.ConnString(t)
	cfg.DatabaseURL, cfg.DemoYear = fresh, false
	startServer(t, cfg).stop()
	url = fresh
	if n := count(); n != 0 {
		t.Errorf("without --demo-year the demo town has %d incidents, want 0", n)
	}
}
