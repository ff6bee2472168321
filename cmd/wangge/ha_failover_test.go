//go:build ha

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore"
)

// TestHA_failover is `make ha-test` (build tag ha; it takes about two
// minutes and starts three PostgreSQL servers): pg_auto_failover with a
// monitor, a primary and a synchronous secondary on this machine, and the
// built `wangge serve` on the formation's multi-host URL
// (target_session_attrs=read-write). Dispatchers create incidents at a
// steady pace and viewers locate points while the primary — its
// pg_autoctl keeper and PostgreSQL, the whole process group — is killed
// with SIGKILL, as when its machine dies. It then shows: every incident
// answered 201 is on the new primary (acknowledged writes lost must be 0),
// how long the monitor took to promote the secondary, how long until
// writes answered 201 again (503 meanwhile), and that no lookup failed.
//
// The monitor's health checks are tightened for the test (checks every
// second, a node unhealthy after 4 s, the demote timeout 5 s); with
// pg_auto_failover's defaults (5 s checks, 20 s unhealthy, 30 s demote
// timeout) writes resume after about 50 s, as measured by hand and noted in
// the README.
func TestHA_failover(t *testing.T) {
	start := time.Now()
	f := haStartFormation(t)
	bin := obBuildBinary(t)
	dbURL := f.uri()
	desk := obToken(t, []string{"-database-url", dbURL}, "dispatcher", "ha-desk")
	srv := obStartBinary(t, bin, dbURL)
	api := obNewAPI(t, srv.addr)
	api.client.Timeout = 10 * time.Second
	primary := f.primary(t)
	f.checkSynchronous(t, primary)
	t.Logf("formation up in %v: monitor :%d, primary node :%d, synchronous secondary; wangge on %s",
		time.Since(start).Round(time.Millisecond), f.ports[0], primary, dbURL)

	points := obPoints(t, 400)
	var (
		mu          sync.Mutex
		acked       = map[string][2]time.Time{} // when sent, when answered 201
		statuses    = map[int]int{}
		transport   atomic.Int64
		lookups     atomic.Int64
		lookupFails atomic.Int64
		lastFailure atomic.Value
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 2 { // two dispatchers, one incident every 20 ms each at most
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i += 2 {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				sent := time.Now()
				r, err := api.do("POST", "/v1/incidents", desk, obIncidentBody(points[i%len(points)]))
				at := time.Now()
				var inc struct{ Number string }
				mu.Lock()
				switch {
				case err != nil:
					transport.Add(1)
				case r.status == 201 && json.Unmarshal(r.body, &inc) == nil && inc.Number != "":
					acked[inc.Number] = [2]time.Time{sent, at}
					statuses[201]++
				default:
					statuses[r.status]++
				}
				mu.Unlock()
			}
		}()
	}
	for c := range 2 { // two viewers locating
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i += 2 {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				p := points[i%len(points)]
				lookups.Add(1)
				r, err := api.do("GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1]), "", nil)
				if err != nil || r.status != 200 {
					lookupFails.Add(1)
					lastFailure.Store(fmt.Sprintf("%v %d %.200s", err, r.status, r.body))
				}
			}
		}()
	}
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	time.Sleep(5 * time.Second)
	before := ackedNow()
	if before == 0 {
		t.Fatalf("no incident created in 5 s of steady writes; statuses %v\n%s", statuses, srv.log)
	}

	killed := time.Now()
	f.kill(t, primary)
	t.Logf("killed the primary (node :%d: keeper and PostgreSQL, SIGKILL) after %d incidents acknowledged", primary, before)
	newPrimary, promoted := f.waitPromoted(t, primary, killed, 3*time.Minute)
	var resumed time.Time
	for deadline := time.Now().Add(2 * time.Minute); resumed.IsZero(); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		// A write sent after the kill can only succeed on a new primary;
		// one sent before may still have committed on the old one.
		for _, at := range acked {
			if at[0].After(killed) && (resumed.IsZero() || at[1].Before(resumed)) {
				resumed = at[1]
			}
		}
		mu.Unlock()
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("no write answered 201 within 2 min of the kill; statuses %v\n%s", statuses, srv.log)
		}
	}
	time.Sleep(5 * time.Second) // steady again
	close(stop)
	wg.Wait()

	// The oracle: the new primary itself.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.nodeURL(newPrimary))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	numbers := make([]string, 0, len(acked))
	for n := range acked {
		numbers = append(numbers, n)
	}
	sort.Strings(numbers)
	var found, total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE number = ANY($1)), count(*) FROM incidents`, numbers).Scan(&found, &total); err != nil {
		t.Fatal(err)
	}
	lost := len(numbers) - found
	var lookupErr string
	if v := lastFailure.Load(); v != nil {
		lookupErr = v.(string)
	}
	summary := []string{
		"ha-test: pg_auto_failover (monitor + primary + synchronous secondary), wangge serve on the multi-host URL",
		fmt.Sprintf("  writes: %d POST /v1/incidents answered 201 (%d before the kill), statuses %v, %d transport errors", len(numbers), before, statuses, transport.Load()),
		fmt.Sprintf("  acknowledged (201) writes lost: %d (checked on the new primary :%d; it holds %d incidents, %d more than acknowledged: answered 503 after their commit)", lost, newPrimary, total, total-found),
		fmt.Sprintf("  failover time (kill → secondary promoted, read-write): %v", promoted.Sub(killed).Round(time.Millisecond)),
		fmt.Sprintf("  time until writes resume (kill → first 201 of a write sent after it): %v", resumed.Sub(killed).Round(time.Millisecond)),
		fmt.Sprintf("  lookups: %d GET /v1/locate, %d errors %s", lookups.Load(), lookupFails.Load(), lookupErr),
		fmt.Sprintf("  whole run: %v", time.Since(start).Round(time.Second)),
	}
	var serverErrors []string
	for _, line := range strings.Split(srv.log.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			serverErrors = append(serverErrors, line)
		}
	}
	if len(serverErrors) > 0 {
		summary = append(summary, fmt.Sprintf("  wangge logged %d errors; first: %s", len(serverErrors), serverErrors[0]))
	}
	fmt.Println(strings.Join(summary, "\n"))
	if lost != 0 {
		t.Errorf("%d incidents answered 201 are not on the new primary", lost)
	}
	if n := lookupFails.Load(); n != 0 {
		t.Errorf("%d lookups failed during the failover; last: %s", n, lookupErr)
	}
	for status := range statuses {
		if status != 201 && status != 503 {
			t.Errorf("writes answered %d during the failover (%v): want only 201 and 503", status, statuses)
		}
	}
}

// haFormation is a pg_auto_failover formation of this test: ports[0] is
// the monitor, ports[1] and ports[2] the two nodes.
type haFormation struct {
	dir   string
	ports [3]int
	env   []string
	cred  *syscall.Credential
	runs  map[int]*haProc // by port
	mu    sync.Mutex
}

// haProc is one `pg_autoctl run` in its own process group.
type haProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func haStartFormation(t *testing.T) *haFormation {
	t.Helper()
	if _, err := exec.LookPath("pg_autoctl"); err != nil {
		t.Fatal("pg_autoctl is missing: install pg-auto-failover-cli and postgresql-NN-auto-failover (make deps does)")
	}
	dir, err := os.MkdirTemp("", "wangge-ha-")
	if err != nil {
		t.Fatal(err)
	}
	f := &haFormation{dir: dir, runs: map[int]*haProc{}}
	t.Cleanup(func() { f.stopAll(); os.RemoveAll(dir) })
	pgBin, err := pgstore.FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	f.env = append(os.Environ(), "PATH="+pgBin+":"+os.Getenv("PATH"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "share"), "PGCONNECT_TIMEOUT=2")
	if os.Geteuid() == 0 {
		// PostgreSQL, and pg_autoctl with it, refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root, and there is no postgres user to run pg_auto_failover as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		f.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chown(dir, uid, gid)
	}
	for i := range f.ports {
		f.ports[i] = haFreePort(t)
	}
	common := []string{"--auth", "trust", "--no-ssl", "--hostname", "127.0.0.1"}
	f.run(t, append([]string{"create", "monitor", "--pgdata", f.pgdata(f.ports[0]), "--pgport", strconv.Itoa(f.ports[0])}, common...)...)
	f.start(t, f.ports[0])
	f.tuneMonitor(t)
	// The first node is single until the second joins as its secondary.
	for i, port := range f.ports[1:] {
		f.run(t, append([]string{"create", "postgres", "--pgdata", f.pgdata(port), "--pgport", strconv.Itoa(port),
			"--dbname", "wangge", "--monitor", f.monitorURL("autoctl_node", "pg_auto_failover")}, common...)...)
		f.start(t, port)
		f.waitState(t, port, 2*time.Minute, []string{"single", "secondary"}[i])
	}
	f.waitState(t, f.ports[1], 2*time.Minute, "primary")
	return f
}

func (f *haFormation) pgdata(port int) string { return filepath.Join(f.dir, "node"+strconv.Itoa(port)) }

func (f *haFormation) monitorURL(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, f.ports[0], db)
}

// uri is the formation's URL for wangge: both nodes, the one that takes
// writes chosen at each connection.
func (f *haFormation) uri() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/wangge?target_session_attrs=read-write&sslmode=disable&connect_timeout=2",
		f.ports[1], f.ports[2])
}

func (f *haFormation) nodeURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/wangge?sslmode=disable", port)
}

func (f *haFormation) command(args ...string) *exec.Cmd {
	cmd := exec.Command("pg_autoctl", args...)
	cmd.Env, cmd.Dir = f.env, f.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: f.cred}
	return cmd
}

// run runs a pg_autoctl command to its end.
func (f *haFormation) run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := f.command(args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_autoctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start runs `pg_autoctl run` for the node on port, in its own process
// group, logging to a file.
func (f *haFormation) start(t *testing.T, port int) {
	t.Helper()
	cmd := f.command("run", "--pgdata", f.pgdata(port))
	logf, err := os.Create(filepath.Join(f.dir, fmt.Sprintf("run-%d.log", port)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &haProc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.exited) }()
	f.mu.Lock()
	f.runs[port] = p
	f.mu.Unlock()
}

// kill sends SIGKILL to the whole process group of the node on port: its
// keeper, its PostgreSQL and every backend.
func (f *haFormation) kill(t *testing.T, port int) {
	t.Helper()
	f.mu.Lock()
	p := f.runs[port]
	f.mu.Unlock()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// stopAll stops every node and the monitor: SIGTERM to each group (a fast
// shutdown), SIGKILL after 20 s.
func (f *haFormation) stopAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.runs {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range f.runs {
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
}

// tuneMonitor tightens the monitor's health checks so that the test's
// failover takes seconds, not a minute.
func (f *haFormation) tuneMonitor(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	conn := f.connectMonitor(t, 30*time.Second)
	defer conn.Close(ctx)
	for _, set := range []string{
		"pgautofailover.health_check_period = 1000",
		"pgautofailover.health_check_timeout = 1000",
		"pgautofailover.health_check_max_retries = 1",
		"pgautofailover.health_check_retry_delay = 500",
		"pgautofailover.node_considered_unhealthy_timeout = 4000",
		"pgautofailover.primary_demote_timeout = 5000",
	} {
		if _, err := conn.Exec(ctx, "ALTER SYSTEM SET "+set); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
}

func (f *haFormation) connectMonitor(t *testing.T, wait time.Duration) *pgx.Conn {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		conn, err := pgx.Connect(context.Background(), f.monitorURL("postgres", "pg_auto_failover"))
		if err == nil {
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor does not answer: %v\n%s", err, f.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// states returns each node's reported and assigned state, by port.
func (f *haFormation) states(t *testing.T) map[int][2]string {
	t.Helper()
	ctx := context.Background()
	conn := f.connectMonitor(t, 30*time.Second)
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT nodeport, reportedstate::text, goalstate::text FROM pgautofailover.node`)
	out := map[int][2]string{}
	var port int
	var reported, goal string
	_, err := pgx.ForEachRow(rows, []any{&port, &reported, &goal}, func() error {
		out[port] = [2]string{reported, goal}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitState waits until the node on port reports one of want as both its
// reported and its assigned state.
func (f *haFormation) waitState(t *testing.T, port int, wait time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		s, ok := f.states(t)[port]
		for _, w := range want {
			if ok && s[0] == w && s[1] == w {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node :%d is %v after %v, want one of %v\n%s", port, s, wait, want, f.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// primary returns the port of the node in state primary.
func (f *haFormation) primary(t *testing.T) int {
	t.Helper()
	for port, s := range f.states(t) {
		if s[0] == "primary" {
			return port
		}
	}
	t.Fatalf("no primary: %v", f.states(t))
	return 0
}

// checkSynchronous fails the test unless the primary waits for its
// secondary at every commit.
func (f *haFormation) checkSynchronous(t *testing.T, port int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.nodeURL(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var names, commit, state string
	err = conn.QueryRow(ctx, `SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit'),
		coalesce((SELECT string_agg(sync_state, ',') FROM pg_stat_replication), '')`).Scan(&names, &commit, &state)
	if err != nil {
		t.Fatal(err)
	}
	if names == "" || commit != "on" || (state != "sync" && state != "quorum") {
		t.Fatalf("replication is not synchronous: synchronous_standby_names %q, synchronous_commit %s, standby %q", names, commit, state)
	}
	t.Logf("synchronous replication: synchronous_standby_names = %s, standby %s", names, state)
}

// waitPromoted waits until a node other than old takes writes, and returns
// it with the moment it was first seen doing so.
func (f *haFormation) waitPromoted(t *testing.T, old int, since time.Time, wait time.Duration) (int, time.Time) {
	t.Helper()
	other := f.ports[1]
	if other == old {
		other = f.ports[2]
	}
	ctx := context.Background()
	for deadline := since.Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err := pgx.Connect(ctx, f.nodeURL(other)+"&target_session_attrs=read-write&connect_timeout=1")
		if err == nil {
			conn.Close(ctx)
			return other, time.Now()
		}
	}
	t.Fatalf("node :%d was not promoted within %v: %v\n%s", other, wait, f.states(t), f.logs())
	return 0, time.Time{}
}

// logs returns the last lines of every pg_autoctl run log.
func (f *haFormation) logs() string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(f.dir, "run-*.log"))
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(p), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

func haFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
