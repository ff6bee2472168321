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
	t.Parallel()
	url := pgtest.ConnString(t)
	query := func(sql string) int {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	count := func() int { return query("SELECT count(*) FROM incidents") }
	// The visit log comes with the year; the work teams' visits are by the
	// cadres the demo's structure appointed, not by namesakes of them.
	visits := func() int { return query("SELECT count(*) FROM visits") }
	const teamVisits = `SELECT count(*) FROM visits v WHERE EXISTS (SELECT 1 FROM work_team_members m WHERE m.person_id = v.person_id)`
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
	firstVisits := visits()
	if firstVisits < 3000 || query(teamVisits) < 500 {
		t.Errorf("after a first start: %d visits, %d by work-team cadres; want the demo year's log (thousands, the teams' some hundreds)",
			firstVisits, query(teamVisits))
	}
	s.stop()

	s = startServer(t, cfg)
	if n, v := count(), visits(); n != first || v != firstVisits {
		t.Errorf("a second start changed the incidents or visits: %d, %d, then %d, %d", first, firstVisits, n, v)
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
