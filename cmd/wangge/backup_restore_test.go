package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBackup_restoreDrill runs the shipped deploy/backup.sh and
// deploy/restore-drill.sh as an operator's timer would: `wangge serve` on
// its embedded PostgreSQL with the demo town and 30 incidents, an online
// base backup while it serves, 5 more incidents after the backup, then the
// drill restores the backup into a fresh cluster and starts wangge on it.
// The restored database must hold exactly what the source held when the
// backup was taken (generation, current grids, the 30 incidents by
// number, not the 5 later ones), and wangge on it must be ready with that
// generation.
func TestBackup_restoreDrill(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dir, err := os.MkdirTemp("", "wangge-backup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // PostgreSQL runs as postgres when the tests run as root
	dataDir := filepath.Join(dir, "data")
	t.Cleanup(func() { obStopCluster(dataDir) })
	bin := obBuildBinary(t)
	desk := obToken(t, []string{"-data-dir", dataDir}, "dispatcher", "backup-desk")
	srv := obStartBinary(t, bin, "", "--data-dir", dataDir)
	api := obNewAPI(t, srv.addr)
	points := obPoints(t, 35)
	obBurst(t, api, desk, points[:30], 2)
	cl, db := obAdopt(t, dataDir)

	ctx := context.Background()
	type state struct {
		generation, grids, incidents int
		digest                       string
	}
	read := func() state {
		var s state
		err := db.Pool.QueryRow(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM generations),
			(SELECT count(*) FROM grids WHERE retired_generation IS NULL),
			(SELECT count(*) FROM incidents),
			(SELECT md5(coalesce(string_agg(number, ',' ORDER BY number), '')) FROM incidents)`).Scan(&s.generation, &s.grids, &s.incidents, &s.digest)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := read()
	if want.incidents != 30 || want.grids == 0 {
		t.Fatalf("the source holds %+v, want the demo town and 30 incidents", want)
	}

	backups := filepath.Join(dir, "backups")
	cmd := exec.Command("deploy/backup.sh", backups)
	cmd.Env = append(os.Environ(), "WANGGE_BACKUP_URL="+cl.ConnString("postgres"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("backup.sh: %v\n%s", err, stderr.String())
	}
	backup := strings.TrimSpace(string(out))
	if filepath.Dir(backup) != backups {
		t.Fatalf("backup.sh printed %q, want a folder in %s", backup, backups)
	}
	t.Logf("%s", strings.TrimSpace(stderr.String()))

	// Written after the backup: the restore must not have them.
	obBurst(t, api, desk, points[30:], 1)
	if s := read(); s.incidents != 35 {
		t.Fatalf("the source holds %d incidents after 5 more, want 35", s.incidents)
	}

	cmd = exec.Command("deploy/restore-drill.sh", backup)
	cmd.Env = append(os.Environ(), "WANGGE_BIN="+bin, "WANGGE_DRILL_USER=wangge", "WANGGE_DRILL_DB=wangge")
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("restore-drill.sh: %v\n%s\n%s", err, out, stderr.String())
	}
	report := string(out)
	t.Logf("%s", strings.TrimSpace(report))
	m := drillDatabase.FindStringSubmatch(report)
	if m == nil || !strings.HasPrefix(report, "restore drill: ok") {
		t.Fatalf("restore-drill.sh printed no database line:\n%s", report)
	}
	got := fmt.Sprintf("generation=%s grids=%s incidents=%s incidents_md5=%s", m[1], m[2], m[3], m[4])
	if exp := fmt.Sprintf("generation=%d grids=%d incidents=%d incidents_md5=%s", want.generation, want.grids, want.incidents, want.digest); got != exp {
		t.Errorf("the restored database holds %s, the source held %s when the backup was taken", got, exp)
	}
	if !strings.Contains(report, fmt.Sprintf("/readyz generation %d with %d grids", want.generation, want.grids)) {
		t.Errorf("wangge on the restored database is not ready with generation %d and %d grids:\n%s", want.generation, want.grids, report)
	}
	if s := read(); s.incidents != 35 {
		t.Errorf("the drill changed the source: %d incidents, want 35", s.incidents)
	}
	t.Logf("backup and restore drill in %v", time.Since(start).Round(time.Millisecond))
}

var drillDatabase = regexp.MustCompile(`database: generation=(\d+) grids=(\d+) incidents=(\d+) incidents_md5=([0-9a-f]+)`)
