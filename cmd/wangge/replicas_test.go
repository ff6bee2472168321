package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo/notify/notifytest"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// The replica tests (issue 12, "What must be shown"): several `wangge
// serve` processes of the built binary on one PostgreSQL. A plan applied
// through one is answered by the others within a second (NOTIFY); the
// escalator and the reminder act once per incident however many replicas
// run them, and the outbox workers send each message once; HAProxy, with
// the shipped deploy/haproxy.cfg, keeps lookups answering when a replica
// dies.

// TestReplicas_planAppliedThroughOneAnsweredByOther applies three plans
// through replica A, each splitting a grid, and asks replica B for a point
// in the new part until B answers with the new grid; then appoints a
// grid's leader through A (a change within a generation) and asks B until
// it names the new leader. B learns of each change by NOTIFY: it must
// answer within one second of the change's announcement, which the test
// hears on the same channel.
func TestReplicas_planAppliedThroughOneAnsweredByOther(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.ConnString(t)
	bin := obBuildBinary(t)
	admin := obToken(t, []string{"-database-url", dbURL}, "admin", "replicas-admin")
	db := rpOpen(t, dbURL)
	// A first: it loads the demo town into the empty database; B then
	// finds it there.
	a := obStartBinary(t, bin, dbURL)
	b := obStartBinary(t, bin, dbURL)
	apiA, apiB := obNewAPI(t, a.addr), obNewAPI(t, b.addr)

	// The test listens too: the moment it hears the new generation
	// announced is the moment the apply committed, give or take the
	// delivery of one notification.
	heard := rpHeard(t, db)
	var worst time.Duration
	for round := range 3 {
		plan, etag, oldCode, newCode, p := rpSplitPlan(t, apiA, db, admin, round)
		if got := rpLocate(t, apiB, p); got != oldCode {
			t.Fatalf("round %d: B locates %v in %s before the apply, want %s", round, p, got, oldCode)
		}
		sent := time.Now()
		r, err := rpApply(apiA, admin, plan, etag)
		answered := time.Now()
		if err != nil || r.status != 200 {
			t.Fatalf("round %d: apply through A: %v %d %s", round, err, r.status, r.body)
		}
		var got string
		for got = rpLocate(t, apiB, p); got != newCode; got = rpLocate(t, apiB, p) {
			if time.Since(answered) > 5*time.Second {
				t.Fatalf("round %d: B still locates %v in %s 5 s after the apply, want %s\nB's log:\n%s", round, p, got, newCode, b.log)
			}
			time.Sleep(time.Millisecond)
		}
		seen := time.Now()
		gen := int64(round + 2) // the demo town is generation 1
		announced, ok := heard(gen, sent)
		if !ok {
			t.Fatalf("round %d: generation %d was never announced on %s", round, gen, pgstore.NotifyChannel)
		}
		lag := seen.Sub(announced)
		worst = max(worst, lag)
		t.Logf("round %d: plan %s applied through A in %v; generation %d announced %v after the apply was sent; B answered the new grid %s %v after the announcement (%v after A's 200)",
			round, plan, answered.Sub(sent).Round(time.Millisecond), gen, announced.Sub(sent).Round(time.Millisecond), newCode,
			lag.Round(time.Millisecond), seen.Sub(answered).Round(time.Millisecond))
		if lag > time.Second {
			t.Errorf("round %d: B answered the applied plan %v after its NOTIFY, want within 1 s", round, lag)
		}
	}
	// A change that is not a new generation: a grid's new leader,
	// appointed through A, announced with the same generation.
	p, code := rpDemoPoint(t, apiB)
	sent := time.Now()
	r, err := apiA.do("PUT", "/v1/grids/"+code+"/leader", admin, map[string]any{"name": "复制测试网格长", "phone": "13900000012"})
	answered := time.Now()
	if err != nil || r.status != 200 && r.status != 201 {
		t.Fatalf("appointing a leader through A: %v %d %s", err, r.status, r.body)
	}
	announced, ok := heard(4, sent)
	if !ok {
		t.Fatal("the appointment was never announced")
	}
	for rpLeader(t, apiB, p) != "复制测试网格长" {
		if time.Since(answered) > 5*time.Second {
			t.Fatalf("B does not name the new leader of %s 5 s after the appointment\nB's log:\n%s", code, b.log)
		}
		time.Sleep(time.Millisecond)
	}
	lag := time.Since(announced)
	if announced.After(answered) {
		t.Errorf("the appointment was announced %v after A answered it", announced.Sub(answered))
	}
	t.Logf("appointment: a new leader of %s appointed through A in %v; B named the new leader %v after the announcement (%v after A's answer)",
		code, answered.Sub(sent).Round(time.Millisecond), lag.Round(time.Millisecond), time.Since(answered).Round(time.Millisecond))
	if lag > time.Second {
		t.Errorf("B named the new leader %v after the announcement, want within 1 s", lag)
	}
	worst = max(worst, lag)

	var gen int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT max(id) FROM generations`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	for name, api := range map[string]*obAPI{"A": apiA, "B": apiB} {
		var ready struct {
			Generation         int64
			DatabaseGeneration int64 `json:"database_generation"`
		}
		r, err := api.do("GET", "/readyz", "", nil)
		if err == nil {
			err = json.Unmarshal(r.body, &ready)
		}
		if err != nil || r.status != 200 || ready.Generation != gen || ready.DatabaseGeneration != gen {
			t.Errorf("%s /readyz: %v %d %s; want 200 with generation %d", name, err, r.status, r.body, gen)
		}
	}
	t.Logf("NOTIFY: the other replica answered every change within %v of its announcement (3 plans, 1 appointment)", worst.Round(time.Millisecond))
}

// TestReplicas_escalateOnce runs two replicas whose escalators both wake
// every second, makes 20 incidents overdue and 20 others due in half an
// hour, and checks that each overdue one is escalated exactly once (one
// escalate event, now at the village level with a new due time) and each
// one due soon is reminded once (its time limit marked reminded), with the
// work counted in the two logs adding up to 20 and 20.
func TestReplicas_escalateOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.ConnString(t)
	bin := obBuildBinary(t)
	desk := obToken(t, []string{"-database-url", dbURL}, "dispatcher", "replicas-desk")
	db := rpOpen(t, dbURL)
	a := obStartBinary(t, bin, dbURL, "--escalate-every", "1s")
	b := obStartBinary(t, bin, dbURL, "--escalate-every", "1s")
	api := obNewAPI(t, a.addr)
	created, _, _ := obBurst(t, api, desk, obPoints(t, 40), 2)
	overdue, dueSoon := make([]string, 20), make([]string, 20)
	for i := range 20 {
		overdue[i], dueSoon[i] = created[i].number, created[20+i].number
	}
	ctx := context.Background()
	// Both escalators see them on their next tick (the default reminder
	// window is 2 h).
	_, err := db.Pool.Exec(ctx, `UPDATE incidents SET due_at = CASE WHEN number = ANY($1) THEN now() - interval '1 minute'
		ELSE now() + interval '30 minutes' END`, overdue)
	if err != nil {
		t.Fatal(err)
	}
	madeDue := time.Now()
	progress := func() (escalatedIncidents, events, reminded int) {
		err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(DISTINCT incident_id) FROM incident_events WHERE action = 'escalate'),
			(SELECT count(*) FROM incident_events WHERE action = 'escalate'),
			(SELECT count(*) FROM incidents WHERE number = ANY($1) AND reminded_due_at = due_at)`, dueSoon).Scan(&escalatedIncidents, &events, &reminded)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	for {
		n, _, r := progress()
		if n == len(overdue) && r == len(dueSoon) {
			break
		}
		if time.Since(madeDue) > 30*time.Second {
			t.Fatalf("after 30 s, %d of %d overdue incidents escalated and %d of %d due soon reminded\nA:\n%s\nB:\n%s",
				n, len(overdue), r, len(dueSoon), a.log, b.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d overdue incidents escalated and %d due soon reminded %v after they were made due", len(overdue), len(dueSoon), time.Since(madeDue).Round(time.Millisecond))
	// Several more rounds of both escalators.
	time.Sleep(3 * time.Second)
	incidents, events, reminded := progress()
	if incidents != len(overdue) || events != len(overdue) {
		t.Errorf("%d escalate events on %d incidents, want exactly one on each of %d", events, incidents, len(overdue))
	}
	var atVillage int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE number = ANY($1) AND level = 1 AND due_at > now()`, overdue).Scan(&atVillage); err != nil {
		t.Fatal(err)
	}
	if atVillage != len(overdue) {
		t.Errorf("%d escalated incidents at the village level with a new due time, want %d", atVillage, len(overdue))
	}
	if reminded != len(dueSoon) {
		t.Errorf("%d incidents due soon reminded, want %d", reminded, len(dueSoon))
	}
	logged := map[string]map[string]int{"escalated": {}, "reminded": {}}
	for name, r := range map[string]*obBinary{"A": a, "B": b} {
		for _, m := range rpJobLog.FindAllStringSubmatch(r.log.String(), -1) {
			n, _ := strconv.Atoi(m[2])
			logged[m[1]][name] += n
		}
	}
	for job, want := range map[string]int{"escalated": len(overdue), "reminded": len(dueSoon)} {
		if got := logged[job]["A"] + logged[job]["B"]; got != want {
			t.Errorf("the replicas' logs count %d incidents %s (%v), want %d", got, job, logged[job], want)
		}
	}
	t.Logf("with two replicas: %d escalate events on %d overdue incidents, %d reminders of %d due soon; by replica %v", events, incidents, reminded, len(dueSoon), logged)
}

var rpJobLog = regexp.MustCompile(`msg="(escalated|reminded) (?:overdue incidents|incidents due soon)" count=(\d+)`)

// TestReplicas_outboxOnce runs two replicas whose outbox workers both
// deliver to one slow webhook receiver, creates 30 incidents through each,
// and checks that every message of the outbox arrives exactly once (the
// receiver never fails, so no message is due again), that both workers
// delivered (their /metrics add up to the outbox), and that no message is
// sent by both.
func TestReplicas_outboxOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.ConnString(t)
	bin := obBuildBinary(t)
	admin := obToken(t, []string{"-database-url", dbURL}, "admin", "replicas-admin")
	desk := obToken(t, []string{"-database-url", dbURL}, "dispatcher", "replicas-desk")
	db := rpOpen(t, dbURL)
	a := obStartBinary(t, bin, dbURL)
	b := obStartBinary(t, bin, dbURL)
	apiA, apiB := obNewAPI(t, a.addr), obNewAPI(t, b.addr)
	webhook := notifytest.NewWebhook(t, obWebhookSecret)
	webhook.Delay(20 * time.Millisecond) // deliveries overlap: both workers find work
	obChannel(t, apiA, admin, map[string]any{"name": "12345平台", "kind": "webhook", "url": webhook.WebhookURL(), "secret": obWebhookSecret})
	points := obPoints(t, 60)
	start := time.Now()
	obBurst(t, apiA, desk, points[:30], 2)
	obBurst(t, apiB, desk, points[30:], 2)
	ids := obWaitDelivered(t, db, 90*time.Second, webhook)
	if dups := obCheckReceived(t, ids, map[string]*notifytest.Receiver{"webhook": webhook}); dups != 0 {
		t.Errorf("%d messages arrived twice with two workers and a receiver that never failed, want each once", dups)
	}
	sentA, sentB := rpSent(t, a), rpSent(t, b)
	if sentA+sentB != int64(len(ids)) {
		t.Errorf("the workers count %d + %d messages sent, the outbox holds %d", sentA, sentB, len(ids))
	}
	if sentA == 0 || sentB == 0 {
		t.Errorf("one worker did all the work (A %d, B %d): the test did not run them together", sentA, sentB)
	}
	t.Logf("%d messages of 60 incidents delivered once each in %v by two replicas' workers: A sent %d, B %d",
		len(ids), time.Since(start).Round(time.Millisecond), sentA, sentB)
}

// rpSent returns how many messages the replica's worker has sent, from its
// /metrics.
func rpSent(tb testing.TB, r *obBinary) int64 {
	tb.Helper()
	res, err := obNewAPI(tb, r.addr).do("GET", "/metrics", "", nil)
	if err != nil || res.status != 200 {
		tb.Fatalf("metrics: %v %d", err, res.status)
	}
	var n int64
	for _, m := range rpSentMetric.FindAllSubmatch(res.body, -1) {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		n += int64(v)
	}
	return n
}

var rpSentMetric = regexp.MustCompile(`wangge_message_deliveries_total\{[^}]*outcome="sent"[^}]*\} (\S+)`)

// TestReplicas_haproxy starts HAProxy with the shipped deploy/haproxy.cfg
// in front of two replicas, sends lookups through it from four clients,
// and kills one replica with SIGKILL in the middle: every lookup must
// answer 200 (HAProxy redispatches a request that cannot connect, and its
// /readyz checks take the dead replica out), before the kill both replicas
// must have answered some, and after it the survivor answers the rest.
func TestReplicas_haproxy(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.ConnString(t)
	bin := obBuildBinary(t)
	a := obStartBinary(t, bin, dbURL)
	b := obStartBinary(t, bin, dbURL)
	front := rpStartHAProxy(t, a.addr, b.addr)
	api := obNewAPI(t, front)
	points := obPoints(t, 200)

	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		failures   []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i += 4 {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond): // a steady stream, not a benchmark
				}
				p := points[i%len(points)]
				r, err := api.do("GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1]), "", nil)
				if err != nil || r.status != 200 {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%v %d %.200s", err, r.status, r.body))
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	beforeA, beforeB := rpLocated(t, a), rpLocated(t, b)
	beforeKill := ok.Load()
	a.kill()
	killedAt := time.Now()
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	after := ok.Load() - beforeKill
	t.Logf("through HAProxy: %d lookups answered 200 (%d after replica A was killed, over %v), %d failed; before the kill A answered %d and B %d",
		ok.Load(), after, time.Since(killedAt).Round(time.Millisecond), failed.Load(), beforeA, beforeB)
	if beforeA == 0 || beforeB == 0 {
		t.Errorf("before the kill A answered %d lookups and B %d: HAProxy should balance over both", beforeA, beforeB)
	}
	if after < 100 {
		t.Errorf("only %d lookups answered after the kill", after)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d lookups through HAProxy failed; first: %s", n, failures[0])
	}
	// Between counting and the kill, each of the 4 clients may have had one
	// lookup in flight that A still answered: those count as "after" here.
	if afterB := rpLocated(t, b); afterB-beforeB < after-4 {
		t.Errorf("B answered %d lookups after the kill, but %d were answered through HAProxy (at most 4 of them by A, in flight at the kill)", afterB-beforeB, after)
	}
}

// rpStartHAProxy runs haproxy in the foreground with the shipped
// configuration, the two replicas and a free loopback port in its
// environment, and returns the address it listens on once both replicas
// pass its health check.
func rpStartHAProxy(tb testing.TB, replica1, replica2 string) string {
	tb.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		path = "/usr/sbin/haproxy"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	cmd := exec.Command(path, "-db", "-f", "deploy/haproxy.cfg")
	cmd.Env = append(os.Environ(), "WANGGE_LISTEN="+front, "WANGGE_REPLICA_1="+replica1, "WANGGE_REPLICA_2="+replica2)
	log := &syncLog{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting haproxy (Debian package haproxy; make deps installs it): %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	api := obNewAPI(tb, front)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Both replicas up: two lookups in a row answer, and HAProxy has
		// logged neither replica down.
		r1, err1 := api.do("GET", "/readyz", "", nil)
		r2, err2 := api.do("GET", "/readyz", "", nil)
		if err1 == nil && err2 == nil && r1.status == 200 && r2.status == 200 {
			break
		}
		select {
		case <-exited:
			tb.Fatalf("haproxy exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("haproxy did not answer /readyz in 20 s:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return front
}

// rpLocated returns how many lookups the replica has answered 200, from
// its /metrics.
func rpLocated(tb testing.TB, r *obBinary) int64 {
	tb.Helper()
	res, err := obNewAPI(tb, r.addr).do("GET", "/metrics", "", nil)
	if err != nil || res.status != 200 {
		tb.Fatalf("metrics: %v %d", err, res.status)
	}
	m := rpLocateMetric.FindSubmatch(res.body)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseFloat(string(m[1]), 64)
	return int64(n)
}

var rpLocateMetric = regexp.MustCompile(`wangge_http_requests_total\{method="GET",route="/v1/locate",status="200"\} (\S+)`)

// rpOpen opens a pool on the test's database, closed when the test ends.
func rpOpen(tb testing.TB, dbURL string) *pgstore.DB {
	tb.Helper()
	db, err := pgstore.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// rpLocate returns the code of the grid the replica routes p to.
func rpLocate(tb testing.TB, api *obAPI, p orb.Point) string {
	tb.Helper()
	r, err := api.do("GET", "/v1/locate?lon="+url.QueryEscape(fmt.Sprint(p[0]))+"&lat="+url.QueryEscape(fmt.Sprint(p[1])), "", nil)
	var loc struct{ Grid struct{ Code string } }
	if err == nil {
		err = json.Unmarshal(r.body, &loc)
	}
	if err != nil || r.status != 200 {
		tb.Fatalf("locate %v: %v %d %s", p, err, r.status, r.body)
	}
	return loc.Grid.Code
}

// rpSplitPlan opens a plan that splits the first grid a north–south line
// through the middle of its bounding box cuts in two, and returns the
// plan, its ETag, the grid's code, the new grid's code (one per round) and
// a point of the new part.
func rpSplitPlan(tb testing.TB, api *obAPI, db *pgstore.DB, token string, round int) (plan, etag, oldCode, newCode string, p orb.Point) {
	tb.Helper()
	r, err := api.do("POST", "/v1/plans", token, map[string]any{"note": fmt.Sprintf("replica test %d", round)})
	var created struct{ ID int64 }
	if err == nil {
		err = json.Unmarshal(r.body, &created)
	}
	if err != nil || r.status != 201 {
		tb.Fatalf("POST /v1/plans: %v %d %s", err, r.status, r.body)
	}
	plan = strconv.FormatInt(created.ID, 10)
	r, err = api.do("GET", "/v1/plans/"+plan, token, nil)
	var fc struct {
		Features []struct {
			Geometry   struct{ Coordinates [][][][2]float64 }
			Properties struct{ Code string }
		}
	}
	if err == nil {
		err = json.Unmarshal(r.body, &fc)
	}
	if err != nil || r.status != 200 {
		tb.Fatalf("GET /v1/plans/%s: %v %d %.300s", plan, err, r.status, r.body)
	}
	for _, f := range fc.Features {
		var b orb.Bound
		for k, pt := range f.Geometry.Coordinates[0][0] {
			if k == 0 {
				b = orb.Bound{Min: orb.Point(pt), Max: orb.Point(pt)}
			}
			b = b.Extend(orb.Point(pt))
		}
		x := b.Center()[0]
		line := map[string]any{"type": "LineString", "coordinates": [][]float64{{x, b.Min[1] - 0.001}, {x, b.Max[1] + 0.001}}}
		oldCode = f.Properties.Code
		newCode = fmt.Sprintf("%s%03d", oldCode[:12], 990-round)
		r, err := api.do("POST", "/v1/plans/"+plan+"/split", token, map[string]any{"code": oldCode, "line": line, "new_code": newCode})
		if err != nil || r.status != 200 {
			continue
		}
		r, err = api.do("GET", "/v1/plans/"+plan, token, nil)
		if err != nil || r.status != 200 || r.header.Get("ETag") == "" {
			tb.Fatalf("GET /v1/plans/%s: %v %d, ETag %q", plan, err, r.status, r.header.Get("ETag"))
		}
		err = db.Pool.QueryRow(context.Background(), `SELECT ST_X(p), ST_Y(p) FROM plan_grids, ST_PointOnSurface(geom) p WHERE plan_id = $1 AND code = $2`,
			created.ID, newCode).Scan(&p[0], &p[1])
		if err != nil {
			tb.Fatal(err)
		}
		return plan, r.header.Get("ETag"), oldCode, newCode, p
	}
	tb.Fatal("no grid of the demo town could be split")
	return
}

// rpApply applies the plan with If-Match on its ETag.
func rpApply(api *obAPI, token, plan, etag string) (obReply, error) {
	req, err := http.NewRequest("POST", api.base+"/v1/plans/"+plan+"/apply", nil)
	if err != nil {
		return obReply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", etag)
	res, err := api.client.Do(req)
	if err != nil {
		return obReply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return obReply{status: res.StatusCode, header: res.Header, body: b}, err
}

// rpHeard listens on the registry's channel until the test ends and
// returns a function that waits (up to 5 s) for an announcement of a
// generation made after a time, and tells when it was heard.
func rpHeard(tb testing.TB, db *pgstore.DB) func(gen int64, after time.Time) (time.Time, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	type announcement struct {
		gen int64
		at  time.Time
	}
	var mu sync.Mutex
	var heard []announcement
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(ctx, func(payload string) {
			now := time.Now()
			if payload == "" {
				close(listening)
				return
			}
			if gen, err := strconv.ParseInt(payload, 10, 64); err == nil {
				mu.Lock()
				heard = append(heard, announcement{gen, now})
				mu.Unlock()
			}
		})
	}()
	tb.Cleanup(func() { cancel(); <-done })
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		tb.Fatal("LISTEN did not start in 10 s")
	}
	return func(gen int64, after time.Time) (time.Time, bool) {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			for _, a := range heard {
				if a.gen == gen && !a.at.Before(after) {
					mu.Unlock()
					return a.at, true
				}
			}
			mu.Unlock()
		}
		return time.Time{}, false
	}
}

// rpDemoPoint returns a point the replica locates inside a grid, and the
// grid's code.
func rpDemoPoint(tb testing.TB, api *obAPI) (orb.Point, string) {
	tb.Helper()
	p := obPoints(tb, 1)[0]
	return orb.Point(p), rpLocate(tb, api, orb.Point(p))
}

// rpLeader returns the name of the leader the replica answers for p.
func rpLeader(tb testing.TB, api *obAPI, p orb.Point) string {
	tb.Helper()
	r, err := api.do("GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1]), "", nil)
	var loc struct{ Leader *struct{ Name string } }
	if err == nil {
		err = json.Unmarshal(r.body, &loc)
	}
	if err != nil || r.status != 200 {
		tb.Fatalf("locate %v: %v %d %s", p, err, r.status, r.body)
	}
	if loc.Leader == nil {
		return ""
	}
	return loc.Leader.Name
}
