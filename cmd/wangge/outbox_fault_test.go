package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/notify/notifytest"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// The fault tests of the outbox (issue 15, "What must be shown"): the real
// `wangge serve` delivering a burst of messages to local receivers while
// it is killed, while PostgreSQL is stopped, and while a receiver fails or
// hangs. Each compares what the receivers got with the outbox itself:
// every message in the outbox arrives at least once, every message that
// arrives is one of the outbox's, and a message that arrives twice arrives
// under its one id with the same content.

const (
	obWebhookSecret = "webhook-hmac-secret-0123456789"
	obSMSToken      = "sms-gateway-token-0123"
	obSecretKey     = "outbox-fault-test-secret-key"
)

// TestOutbox_sigkillDuringBurst runs the built binary with a webhook and an
// SMS channel whose receivers are slowed down: each receiver accepts a
// message and a proxy in front of it holds the answer back, so that at any
// moment some messages have arrived that wangge has not yet recorded as
// sent. 200 incidents are created, the binary is killed with SIGKILL while
// messages are in flight, and restarted on the same database. Then every
// message of the outbox must have arrived, every message that arrived must
// be in the outbox, and each one sent again must carry its one id and the
// same body.
func TestOutbox_sigkillDuringBurst(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dbURL := pgtest.ConnString(t)
	bin := obBuildBinary(t)
	admin := obToken(t, []string{"-database-url", dbURL}, "admin", "outbox-admin")
	desk := obToken(t, []string{"-database-url", dbURL}, "dispatcher", "outbox-desk")
	db, err := pgstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	webhook := notifytest.NewWebhook(t, obWebhookSecret)
	sms := notifytest.NewSMSGateway(t, notifytest.SMSGateway{Token: obSMSToken})
	webhook.Delay(30 * time.Millisecond)
	sms.Delay(30 * time.Millisecond)
	webhookProxy := obNewSlowProxy(t, webhook.WebhookURL(), 120*time.Millisecond)
	smsProxy := obNewSlowProxy(t, sms.WebhookURL(), 120*time.Millisecond)

	// A short lease (and channel timeouts that allow it): the messages
	// leased when the binary dies are taken up seconds after the restart,
	// not a minute.
	srv := obStartBinary(t, bin, dbURL, obShortLease...)
	api := obNewAPI(t, srv.addr)
	obChannel(t, api, admin, map[string]any{"name": "12345平台", "kind": "webhook", "url": webhookProxy.url, "secret": obWebhookSecret, "timeout_seconds": obShortTimeout})
	obChannel(t, api, admin, obShortTimeoutChannel(obSMSChannel("短信", smsProxy.url)))

	points := obPoints(t, 200)
	created, _, elapsed := obBurst(t, api, desk, points, 4)
	t.Logf("created %d incidents in %v (%.0f/s)", len(created), elapsed.Round(time.Millisecond), float64(len(created))/elapsed.Seconds())

	// Kill while messages are in flight: some accepted, some on the wire.
	deadline := time.Now().Add(60 * time.Second)
	for len(webhook.Received())+len(sms.Received()) < 40 || webhookProxy.inflight.Load()+smsProxy.inflight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery in flight within 60 s: received %d + %d\n%s", len(webhook.Received()), len(sms.Received()), srv.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	inflight := webhookProxy.inflight.Load() + smsProxy.inflight.Load()
	srv.kill()
	killedAt := time.Now()
	before := len(webhook.Received()) + len(sms.Received())
	states := obStatusCounts(t, db)
	t.Logf("SIGKILL with %d requests in flight, %d messages received; outbox: %v", inflight, before, states)
	if states[geo.OutboxSending] == 0 || states[geo.OutboxPending]+states[geo.OutboxSending] == 0 {
		t.Fatalf("the kill left no message unsent (%v): the test did not kill during deliveries", states)
	}

	obStartBinary(t, bin, dbURL, obShortLease...) // the restart: it delivers what the killed one left
	ids := obWaitDelivered(t, db, 150*time.Second, webhook, sms)
	t.Logf("every message delivered %v after the restart", time.Since(killedAt).Round(time.Millisecond))

	var incidents int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM incidents`).Scan(&incidents); err != nil {
		t.Fatal(err)
	}
	if incidents != len(created) {
		t.Errorf("%d incidents in the database, %d acknowledged", incidents, len(created))
	}
	var perIncident, resent int
	err = db.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT incident_id) FILTER (WHERE c.kind = 'webhook'), count(*) FILTER (WHERE m.attempts > 1)
		FROM outbox m JOIN channels c ON c.id = m.channel_id`).Scan(&perIncident, &resent)
	if err != nil {
		t.Fatal(err)
	}
	if perIncident != len(created) {
		t.Errorf("%d incidents have a webhook message, want all %d", perIncident, len(created))
	}
	after := 0
	for _, rx := range []*notifytest.Receiver{webhook, sms} {
		for _, m := range rx.Received() {
			if m.At.After(killedAt) {
				after++
			}
		}
	}
	if after == 0 {
		t.Error("nothing arrived after the restart, though the kill left messages unsent")
	}
	dups := obCheckReceived(t, ids, map[string]*notifytest.Receiver{"webhook": webhook, "sms": sms})
	t.Logf("outbox: %d messages, all sent; %d arrived before the kill, %d after the restart; %d leased when it died and taken up again after the lease (attempts > 1); %d received twice, each under its one id with the same body; in %v",
		len(ids), before, after, resent, dups, time.Since(start).Round(time.Millisecond))
}

// TestOutbox_postgresStoppedDuringBurst serves on an embedded PostgreSQL
// and stops it in the middle of a burst of intake and deliveries. While it
// is down, intake answers 503 problem+json with Retry-After, lookups keep
// answering 200 from memory, and the worker logs and keeps trying. Once
// PostgreSQL is back, every message written before the stop is delivered,
// and every incident acknowledged with 201 exists with its messages.
func TestOutbox_postgresStoppedDuringBurst(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dir, err := os.MkdirTemp("", "wangge-outbox-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // PostgreSQL runs as postgres when the tests run as root
	dataDir := filepath.Join(dir, "data")
	t.Cleanup(func() { obStopCluster(dataDir) })
	// The tokens are made first (this starts and stops the cluster), so
	// that the server reads them at start.
	admin := obToken(t, []string{"-data-dir", dataDir}, "admin", "outbox-admin")
	desk := obToken(t, []string{"-data-dir", dataDir}, "dispatcher", "outbox-desk")

	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir, cfg.SecretKey = "", dataDir, obSecretKey
	// The messages in flight when PostgreSQL stops stay leased: a short
	// lease has them sent again seconds after it is back, not a minute.
	cfg.DeliveryLease = obShortLeaseDuration
	srv := obStartInProcess(t, cfg)
	api := obNewAPI(t, srv.main.Addr)
	webhook := notifytest.NewWebhook(t, obWebhookSecret)
	sms := notifytest.NewSMSGateway(t, notifytest.SMSGateway{Token: obSMSToken})
	webhook.Delay(40 * time.Millisecond)
	sms.Delay(40 * time.Millisecond)
	obChannel(t, api, admin, map[string]any{"name": "12345平台", "kind": "webhook", "url": webhook.WebhookURL(), "secret": obWebhookSecret, "timeout_seconds": obShortTimeout})
	obChannel(t, api, admin, obShortTimeoutChannel(obSMSChannel("短信", sms.WebhookURL())))
	cl, db := obAdopt(t, dataDir)
	points := obPoints(t, 500)

	// Four clients post until told to stop; 503s are checked and counted.
	var (
		mu       sync.Mutex
		acked    = map[string]time.Time{}
		problems []string
		n503     atomic.Int64
		posts    atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := points[(c*1000+i)%len(points)]
				r, err := api.do("POST", "/v1/incidents", desk, obIncidentBody(p))
				posts.Add(1)
				switch {
				case err != nil:
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
				case r.status == 201:
					var inc struct{ Number string }
					json.Unmarshal(r.body, &inc)
					mu.Lock()
					acked[inc.Number] = time.Now()
					mu.Unlock()
				case r.status == 503:
					n503.Add(1)
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || r.header.Get("Retry-After") == "" {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("503 with Content-Type %q, Retry-After %q: %s", ct, r.header.Get("Retry-After"), r.body))
						mu.Unlock()
					}
					time.Sleep(50 * time.Millisecond)
				default:
					mu.Lock()
					problems = append(problems, fmt.Sprintf("POST /v1/incidents: %d %s", r.status, r.body))
					mu.Unlock()
				}
			}
		}()
	}
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopClients()
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitUntil := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited %v for %s\n%s", timeout, what, srv.log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	waitUntil("60 incidents", 60*time.Second, func() bool { return ackedCount() >= 60 })
	beforeStop := obOutboxIDs(t, db)
	deliveredBefore := len(webhook.Received()) + len(sms.Received())
	db.Close()
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	stoppedAt, ackedAtStop := time.Now(), ackedCount()
	t.Logf("PostgreSQL stopped with %d incidents acknowledged, %d messages in the outbox, %d delivered", ackedAtStop, len(beforeStop), deliveredBefore)

	waitUntil("503s while PostgreSQL is down", 30*time.Second, func() bool { return n503.Load() >= 20 })
	lon, lat, code := demoPoint(t)
	for range 3 {
		var got locateAnswer
		if status := srv.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", lon, lat), &got); status != 200 || got.Grid.Code != code {
			t.Errorf("locate with PostgreSQL down: %d %+v, want 200 %s", status, got, code)
		}
	}
	waitUntil("the worker to log that it cannot deliver", 30*time.Second, func() bool {
		return strings.Count(srv.log.String(), "delivering messages; they stay in the outbox") >= 3
	})
	// Down for a few seconds at least: intake goes on answering 503.
	if wait := time.Until(stoppedAt.Add(3 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	down := time.Since(stoppedAt)

	// PostgreSQL accepts connections before StartCluster returns: the
	// outage ends when it is called.
	restarting := time.Now()
	if _, err := pgstore.StartCluster(context.Background(), dataDir, pgstore.ClusterOptions{}); err != nil {
		t.Fatal(err)
	}
	restartedAt := time.Now()
	waitUntil("40 incidents after PostgreSQL is back", 60*time.Second, func() bool { return ackedCount() >= ackedAtStop+40 })
	stopClients()
	// An answer on its way when the stop returned may come a moment
	// later; none can come a second after it until the restart.
	ackedWhileDown := 0
	for _, at := range acked {
		if at.After(stoppedAt.Add(time.Second)) && at.Before(restarting) {
			ackedWhileDown++
		}
	}
	t.Logf("PostgreSQL down for %v: %d answers 503, %d acknowledged meanwhile; back to 201 within %v; %d posts in all",
		down.Round(time.Millisecond), n503.Load(), ackedWhileDown, time.Since(restartedAt).Round(time.Millisecond), posts.Load())
	if len(problems) > 0 {
		t.Errorf("%d bad answers, first: %s", len(problems), problems[0])
	}
	if ackedWhileDown != 0 {
		t.Errorf("%d incidents acknowledged while PostgreSQL was down", ackedWhileDown)
	}
	if lines := strings.Count(srv.log.String(), "delivering messages; they stay in the outbox"); lines > 0 {
		t.Logf("the worker logged %d times that it could not reach the database", lines)
	}

	_, db = obAdopt(t, dataDir)
	ids := obWaitDelivered(t, db, 150*time.Second, webhook, sms)
	for _, id := range beforeStop {
		if !slices.Contains(ids, id) {
			t.Errorf("message %s, written before the stop, is no longer in the outbox", id)
		}
	}
	dups := obCheckReceived(t, ids, map[string]*notifytest.Receiver{"webhook": webhook, "sms": sms})
	// Only the deliveries in flight when the database went away arrive
	// twice: the worker sends no more of its batch once it cannot record
	// an outcome (8 at once, outbox.Worker's default).
	if dups > 8 {
		t.Errorf("%d messages arrived twice; only those in flight at the stop (at most 8) should", dups)
	}

	// Every acknowledged incident exists with its messages, all sent.
	mu.Lock()
	numbers := make([]string, 0, len(acked))
	for n := range acked {
		numbers = append(numbers, n)
	}
	mu.Unlock()
	sort.Strings(numbers)
	inOutbox := map[string]bool{}
	for _, id := range ids {
		inOutbox[id] = true
	}
	for _, n := range numbers {
		var inc struct {
			Number   string
			Messages []struct {
				ID, Status, Channel string
				Kind                string `json:"channel_kind"`
			}
		}
		r, err := api.do("GET", "/v1/incidents/"+n, desk, nil)
		if err != nil || r.status != 200 || json.Unmarshal(r.body, &inc) != nil {
			t.Errorf("GET /v1/incidents/%s: %v %d %s", n, err, r.status, r.body)
			continue
		}
		kinds := map[string]int{}
		for _, m := range inc.Messages {
			kinds[m.Kind]++
			if m.Status != geo.OutboxSent || !inOutbox[m.ID] {
				t.Errorf("incident %s: message %s %s (in the outbox: %v)", n, m.ID, m.Status, inOutbox[m.ID])
			}
		}
		if kinds["webhook"] != 1 || kinds["sms"] < 1 {
			t.Errorf("incident %s has messages %v, want one webhook and SMS", n, kinds)
		}
	}
	var inDB int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM incidents`).Scan(&inDB); err != nil {
		t.Fatal(err)
	}
	if inDB < len(numbers) {
		t.Errorf("%d incidents in the database, %d acknowledged with 201", inDB, len(numbers))
	}
	t.Logf("%d incidents acknowledged, all with their messages sent (%d more committed without an answer); outbox: %d messages, %d written before the stop; %d received twice, each under its one id; in %v",
		len(numbers), inDB-len(numbers), len(ids), len(beforeStop), dups, time.Since(start).Round(time.Millisecond))
}

// TestOutbox_failingAndHangingReceivers runs `wangge serve` with three
// webhook channels: a healthy receiver, one that answers 500 to every
// request, and one that hangs (the channel times out after 1 s) and
// recovers later. Incidents are created in three bursts, first with only
// the healthy channel, then with the failing one added, then with the
// hanging one added; the intake rate of each burst is logged (no timed
// assertion on a shared machine). Every incident is created, the healthy
// channel's messages are all sent, the failing channel's are all
// dead-lettered after exactly the policy's attempts, and the hanging
// channel's end sent (and received) or dead after the last attempt.
func TestOutbox_failingAndHangingReceivers(t *testing.T) {
	t.Parallel()
	const attempts, perBurst = 3, 100
	start := time.Now()
	dbURL := pgtest.ConnString(t)
	admin := obToken(t, []string{"-database-url", dbURL}, "admin", "outbox-admin")
	desk := obToken(t, []string{"-database-url", dbURL}, "dispatcher", "outbox-desk")
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir, cfg.SecretKey, cfg.DeliveryAttempts = dbURL, "", obSecretKey, attempts
	srv := obStartInProcess(t, cfg)
	api := obNewAPI(t, srv.main.Addr)
	db, err := pgstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	healthy := notifytest.NewWebhook(t, obWebhookSecret)
	failing := notifytest.NewWebhook(t, obWebhookSecret)
	hanging := notifytest.NewWebhook(t, obWebhookSecret)
	failing.FailStatus(10*perBurst*attempts, 500)
	points := obPoints(t, 3*perBurst)

	obChannel(t, api, admin, map[string]any{"name": "健康", "kind": "webhook", "url": healthy.WebhookURL(), "secret": obWebhookSecret})
	_, _, healthyTook := obBurst(t, api, desk, points[:perBurst], 8)

	failID := obChannel(t, api, admin, map[string]any{"name": "总是500", "kind": "webhook", "url": failing.WebhookURL(), "secret": obWebhookSecret})
	_, _, failingTook := obBurst(t, api, desk, points[perBurst:2*perBurst], 8)

	hanging.Hang(true)
	hangID := obChannel(t, api, admin, map[string]any{"name": "挂起", "kind": "webhook", "url": hanging.WebhookURL(), "secret": obWebhookSecret, "timeout_seconds": 1})
	_, _, hangingTook := obBurst(t, api, desk, points[2*perBurst:], 8)
	time.Sleep(2 * time.Second)
	hanging.Hang(false)

	rate := func(d time.Duration) float64 { return perBurst / d.Seconds() }
	t.Logf("intake, %d incidents by 8 clients each: healthy receiver %.0f/s; with a receiver answering 500 %.0f/s; with one hanging as well %.0f/s",
		perBurst, rate(healthyTook), rate(failingTook), rate(hangingTook))

	// Wait until no message is left to try.
	deadline := time.Now().Add(120 * time.Second)
	for {
		states := obStatusCounts(t, db)
		if states[geo.OutboxPending]+states[geo.OutboxSending] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 120 s the outbox still has messages to try: %v\n%s", states, srv.log)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var incidents int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM incidents`).Scan(&incidents); err != nil {
		t.Fatal(err)
	}
	if incidents != 3*perBurst {
		t.Errorf("%d incidents, want %d", incidents, 3*perBurst)
	}
	type row struct {
		id, status, lastError string
		channel               int64
		attempts              int
	}
	rows, _ := db.Pool.Query(context.Background(), `SELECT message_id, status, last_error, channel_id, attempts FROM outbox ORDER BY id`)
	var msgs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.status, &r.lastError, &r.channel, &r.attempts); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[*notifytest.Receiver]map[string]bool{}
	for _, rx := range []*notifytest.Receiver{healthy, failing, hanging} {
		got[rx] = map[string]bool{}
		for _, m := range rx.Received() {
			got[rx][m.ID] = true
		}
	}
	count := map[string]int{}
	for _, m := range msgs {
		switch m.channel {
		case failID:
			count["failing "+m.status]++
			if m.status != geo.OutboxDead || m.attempts != attempts || !strings.Contains(m.lastError, "500") {
				t.Errorf("failing channel: %s %s after %d attempts (%s), want dead after %d naming the 500", m.id, m.status, m.attempts, m.lastError, attempts)
			}
		case hangID:
			count["hanging "+m.status]++
			if m.attempts > 1 {
				count["hanging retried"]++
			}
			switch {
			case m.status == geo.OutboxSent && got[hanging][m.id]:
			case m.status == geo.OutboxDead && m.attempts == attempts && m.lastError != "":
			default:
				t.Errorf("hanging channel: %s %s after %d attempts (%s), received %v", m.id, m.status, m.attempts, m.lastError, got[hanging][m.id])
			}
		default:
			count["healthy "+m.status]++
			if m.status != geo.OutboxSent || !got[healthy][m.id] {
				t.Errorf("healthy channel: %s %s (%s), received %v", m.id, m.status, m.lastError, got[healthy][m.id])
			}
		}
	}
	if count["healthy sent"] != 3*perBurst || count["failing dead"] != 2*perBurst || count["hanging sent"]+count["hanging dead"] != perBurst {
		t.Errorf("outcomes %v, want %d healthy sent, %d failing dead, %d hanging sent or dead", count, 3*perBurst, 2*perBurst, perBurst)
	}
	if count["hanging retried"] == 0 {
		t.Error("no message to the hanging receiver was tried again")
	}
	if n := failing.Requests(); n != 2*perBurst*attempts || len(failing.Received()) != 0 {
		t.Errorf("the failing receiver got %d requests (accepted %d), want %d: each message tried %d times", n, len(failing.Received()), 2*perBurst*attempts, attempts)
	}
	var metrics string
	if r, err := api.do("GET", "/metrics", admin, nil); err == nil {
		metrics = string(r.body)
	}
	if !strings.Contains(metrics, `wangge_outbox_messages{channel="webhook",status="dead"} 200`) {
		t.Errorf("/metrics does not count the dead messages:\n%s", obGrep(metrics, "wangge_outbox"))
	}
	t.Logf("outcomes %v; the failing receiver got %d requests, the hanging one %d; %s; in %v",
		count, failing.Requests(), hanging.Requests(), obGrep(metrics, "wangge_outbox_messages{"), time.Since(start).Round(time.Millisecond))
}

// obGrep returns the lines of s that contain sub, joined by "; ".
func obGrep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// obWaitDelivered waits until every message of the outbox is sent and has
// arrived at one of the receivers (by id), and returns the outbox's ids.
func obWaitDelivered(t *testing.T, db *pgstore.DB, timeout time.Duration, rxs ...*notifytest.Receiver) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ids := obOutboxIDs(t, db)
		got := map[string]bool{}
		for _, rx := range rxs {
			for _, m := range rx.Received() {
				got[m.ID] = true
			}
		}
		var missing []string
		for _, id := range ids {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		states := obStatusCounts(t, db)
		if len(missing) == 0 && states[geo.OutboxSent] == len(ids) {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d messages have not arrived (e.g. %v); outbox: %v", timeout, len(missing), len(ids), missing[:min(5, len(missing))], states)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// obCheckReceived checks what the receivers got against the outbox's ids:
// every message that arrived is in the outbox, a message that arrived
// twice came under its one id with the same body both times, and no
// message (same channel, recipient and content) came under two ids. It
// returns how many arrivals were duplicates.
func obCheckReceived(t *testing.T, ids []string, rxs map[string]*notifytest.Receiver) int {
	t.Helper()
	inOutbox := map[string]bool{}
	for _, id := range ids {
		inOutbox[id] = true
	}
	dups := 0
	for name, rx := range rxs {
		first := map[string][]byte{}
		idOf := map[string]string{}
		for _, m := range rx.Received() {
			if !inOutbox[m.ID] {
				t.Errorf("%s received %q, which is not in the outbox", name, m.ID)
				continue
			}
			if m.Duplicate {
				dups++
				if !bytes.Equal(first[m.ID], m.Body) {
					t.Errorf("%s received %s twice with different bodies:\n%s\n%s", name, m.ID, first[m.ID], m.Body)
				}
				continue
			}
			first[m.ID] = m.Body
			// The content without the id: a message sent again under a new
			// id would repeat it.
			var body map[string]any
			if err := json.Unmarshal(m.Body, &body); err != nil {
				t.Fatalf("%s: %v: %s", name, err, m.Body)
			}
			delete(body, "id")
			key, _ := json.Marshal(body)
			if other, ok := idOf[string(key)]; ok {
				t.Errorf("%s received the same message under two ids: %s and %s", name, other, m.ID)
			}
			idOf[string(key)] = m.ID
		}
	}
	return dups
}

// obOutboxIDs lists the outbox's message ids.
func obOutboxIDs(t *testing.T, db *pgstore.DB) []string {
	t.Helper()
	rows, _ := db.Pool.Query(context.Background(), `SELECT message_id FROM outbox ORDER BY id`)
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// obStatusCounts counts the outbox's messages by status.
func obStatusCounts(t testing.TB, db *pgstore.DB) map[string]int {
	t.Helper()
	rows, _ := db.Pool.Query(context.Background(), `SELECT status, count(*) FROM outbox GROUP BY status`)
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// obSMSChannel is an SMS gateway channel to url without rate limits (the
// tests send many messages to few leaders).
func obSMSChannel(name, url string) map[string]any {
	return map[string]any{"name": name, "kind": "sms", "url": url, "headers": map[string]string{"Authorization": "Bearer {secret}"},
		"secret": obSMSToken, "per_number_seconds": -1, "per_second": -1}
}

// The lease of the fault tests that kill a worker mid-send: the killed
// worker's messages are sent again once it ends, so the tests wait it out.
// A worker's lease is at least its longest channel timeout plus 4 s
// (outbox.Worker), hence channels with obShortTimeout seconds (the
// receivers answer within a fraction of a second).
const (
	obShortLeaseDuration = 5 * time.Second
	obShortTimeout       = 2
)

var obShortLease = []string{"--delivery-lease", obShortLeaseDuration.String()}

// obShortTimeoutChannel gives a channel body obShortTimeout.
func obShortTimeoutChannel(body map[string]any) map[string]any {
	body["timeout_seconds"] = obShortTimeout
	return body
}

// obChannel adds a channel as the admin and returns its id.
func obChannel(tb testing.TB, api *obAPI, admin string, body map[string]any) int64 {
	tb.Helper()
	r, err := api.do("POST", "/v1/channels", admin, body)
	var out struct{ ID int64 }
	if err != nil || r.status != 201 || json.Unmarshal(r.body, &out) != nil {
		tb.Fatalf("POST /v1/channels %s: %v %d %s", body["name"], err, r.status, r.body)
	}
	return out.ID
}

// obToken creates a token with the command line; where names the database
// (-database-url URL or -data-dir DIR).
func obToken(tb testing.TB, where []string, role, name string) string {
	tb.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"token", "create", "-role", role, "-name", name}, where...)
	if err := Run(context.Background(), args, &out, &errb); err != nil {
		tb.Fatalf("token create: %v\n%s", err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// obPoints returns n points inside the demo town's grids, taking the grids
// in turn, so that incidents go to many leaders.
func obPoints(tb testing.TB, n int) [][2]float64 {
	tb.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := geo.NewSnapshot(1, td.Area(), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	b := snap.Whole().Outline.Bound()
	byGrid := map[string][][2]float64{}
	var codes []string
	const steps = 80
	for i := range steps {
		for j := range steps {
			p := orb.Point{b.Min[0] + (float64(i)+0.5)*(b.Max[0]-b.Min[0])/steps, b.Min[1] + (float64(j)+0.5)*(b.Max[1]-b.Min[1])/steps}
			if loc, ok := snap.Locate(p, 0); ok && loc.Match.String() == "inside" {
				if byGrid[loc.Grid.Code] == nil {
					codes = append(codes, loc.Grid.Code)
				}
				byGrid[loc.Grid.Code] = append(byGrid[loc.Grid.Code], [2]float64{p[0], p[1]})
			}
		}
	}
	if len(codes) == 0 {
		tb.Fatal("no point of the demo town is inside a grid")
	}
	out := make([][2]float64, 0, n)
	for k := 0; len(out) < n; k++ {
		pts := byGrid[codes[k%len(codes)]]
		out = append(out, pts[(k/len(codes))%len(pts)])
	}
	return out
}

// obIncidentBody is an intake request at p: a minor safety hazard (no
// co-notified organization, due in 72 h, so that no reminder or escalation
// adds messages during a test).
func obIncidentBody(p [2]float64) map[string]any {
	return map[string]any{"lon": p[0], "lat": p[1], "category": "safety", "severity": "minor",
		"description": "路边护栏松动", "source": "patrol"}
}

// obCreated is an incident acknowledged with 201, and when the answer came.
type obCreated struct {
	number string
	at     time.Time
	took   time.Duration
	// received is the incident's received_at: the server's clock before
	// its transaction began.
	received time.Time
}

// obBurst creates one incident at each point with clients concurrent
// clients; every answer must be 201. It returns the incidents, the
// answers' latencies and the wall time of the burst.
func obBurst(tb testing.TB, api *obAPI, token string, points [][2]float64, clients int) ([]obCreated, []time.Duration, time.Duration) {
	tb.Helper()
	out := make([]obCreated, len(points))
	errs := make([]string, len(points))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(points) {
					return
				}
				t0 := time.Now()
				r, err := api.do("POST", "/v1/incidents", token, obIncidentBody(points[i]))
				at := time.Now()
				var inc struct {
					Number     string
					ReceivedAt time.Time `json:"received_at"`
				}
				if err != nil || r.status != 201 || json.Unmarshal(r.body, &inc) != nil || inc.Number == "" {
					errs[i] = fmt.Sprintf("POST /v1/incidents: %v %d %s", err, r.status, r.body)
					continue
				}
				out[i] = obCreated{number: inc.Number, at: at, took: at.Sub(t0), received: inc.ReceivedAt}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lat := make([]time.Duration, 0, len(out))
	for i, e := range errs {
		if e != "" {
			tb.Fatalf("incident %d of %d: %s", i+1, len(points), e)
		}
		lat = append(lat, out[i].took)
	}
	return out, lat, elapsed
}

// obPercentile returns the p-th percentile (0..100) of ds, nearest rank.
func obPercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// obAPI calls a running server.
type obAPI struct {
	base   string
	client *http.Client
}

// obReply is an answer, read whole.
type obReply struct {
	status int
	header http.Header
	body   []byte
}

func obNewAPI(tb testing.TB, addr string) *obAPI {
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	tb.Cleanup(tr.CloseIdleConnections)
	return &obAPI{base: "http://" + addr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (a *obAPI) do(method, path, token string, body any) (obReply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return obReply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return obReply{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.client.Do(req)
	if err != nil {
		return obReply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return obReply{status: res.StatusCode, header: res.Header, body: b}, err
}

// syncLog is a log the server writes while the test reads it.
// obInProcess is `wangge serve` running in this process (Main.Run).
type obInProcess struct {
	t      testing.TB
	main   *Main
	log    *syncLog
	cancel context.CancelFunc
	done   chan error
}

// obStartInProcess runs Main with cfg on a free loopback port until the
// test ends.
func obStartInProcess(tb testing.TB, cfg Config) *obInProcess {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &obInProcess{t: tb, log: &syncLog{}, cancel: cancel, done: make(chan error, 1)}
	s.main = NewMain(io.Discard, s.log)
	s.main.Config = cfg
	s.main.Config.Addr = "127.0.0.1:0"
	go func() { s.done <- s.main.Run(ctx) }()
	select {
	case <-s.main.Ready:
	case err := <-s.done:
		tb.Fatalf("serve stopped before serving: %v\n%s", err, s.log)
	case <-time.After(90 * time.Second):
		tb.Fatalf("serve did not start in 90 s\n%s", s.log)
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				tb.Errorf("serve returned %v", err)
			}
		case <-time.After(60 * time.Second):
			tb.Errorf("serve did not stop in 60 s")
		}
	})
	return s
}

func (s *obInProcess) get(path string, v any) int {
	s.t.Helper()
	res, err := http.Get("http://" + s.main.Addr + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return res.StatusCode
}

// obAdopt connects to the running embedded cluster in dataDir.
func obAdopt(tb testing.TB, dataDir string) (*pgstore.Cluster, *pgstore.DB) {
	tb.Helper()
	cl, err := pgstore.StartCluster(context.Background(), dataDir, pgstore.ClusterOptions{})
	if err != nil || !cl.Adopted {
		tb.Fatalf("adopting the server's PostgreSQL: %v", err)
	}
	db, err := pgstore.Open(context.Background(), cl.ConnString("wangge"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return cl, db
}

// obStopCluster stops the embedded cluster in dataDir if one still runs
// (after a failed test).
func obStopCluster(dataDir string) {
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "postmaster.pid")); err != nil {
		return
	}
	if cl, err := pgstore.StartCluster(context.Background(), dataDir, pgstore.ClusterOptions{}); err == nil && cl.Adopted {
		cl.Stop()
	}
}

// obBuildBinary builds wangge once per test binary (every test runs the
// same source; each starts its own processes of it) into the folder of
// pgtest's throwaway cluster, which pgtest.Main removes when the tests end.
func obBuildBinary(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(pgtest.Cluster(tb).DataDir, "bin")
	obBuilt.once.Do(func() {
		start := time.Now()
		bin := filepath.Join(dir, "wangge")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			obBuilt.err = err
			return
		}
		if out, err := exec.Command("go", "build", "-o", bin, "wangge/cmd/wangge").CombinedOutput(); err != nil {
			obBuilt.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		obBuilt.path = bin
		tb.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))
	})
	if obBuilt.err != nil {
		tb.Fatal(obBuilt.err)
	}
	return obBuilt.path
}

var obBuilt struct {
	once sync.Once
	path string
	err  error
}

// obBinary is the built `wangge serve` running as a child process.
type obBinary struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string
	log    *syncLog
	exited chan struct{}
}

var obServingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// obStartBinary runs the binary's serve with args on dbURL ("": its own
// embedded cluster, --data-dir in args) and waits until it serves; it is
// stopped (SIGTERM) when the test ends, unless killed before.
func obStartBinary(tb testing.TB, bin, dbURL string, args ...string) *obBinary {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "WANGGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "WANGGE_SECRET_KEY="+obSecretKey)
	if dbURL != "" {
		cmd.Env = append(cmd.Env, "DATABASE_URL="+dbURL)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s := &obBinary{t: tb, cmd: cmd, log: &syncLog{}, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.log.Write([]byte(line + "\n"))
			if m := obServingAddr.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(s.stop)
	select {
	case s.addr = <-addr:
	case <-s.exited:
		tb.Fatalf("wangge serve exited before serving:\n%s", s.log)
	case <-time.After(90 * time.Second):
		tb.Fatalf("wangge serve did not start in 90 s:\n%s", s.log)
	}
	return s
}

// kill sends SIGKILL and waits for the process to end.
func (s *obBinary) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop ends the process gracefully, or kills it after 30 s.
func (s *obBinary) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// obSlowProxy stands in front of a receiver: it forwards each request and
// holds the receiver's answer back for after before passing it on. A
// message the receiver has accepted thus stays unacknowledged for that
// long, and a kill then leaves it sent but not recorded as sent.
type obSlowProxy struct {
	url      string // the receiver's URL with the proxy's host
	target   string // scheme://host of the receiver
	after    time.Duration
	inflight atomic.Int64
	client   *http.Client
}

func obNewSlowProxy(tb testing.TB, receiverURL string, after time.Duration) *obSlowProxy {
	tb.Helper()
	u, err := url.Parse(receiverURL)
	if err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	p := &obSlowProxy{target: u.Scheme + "://" + u.Host, after: after, client: &http.Client{Transport: tr}}
	srv := httptest.NewServer(p)
	tb.Cleanup(func() { srv.Close(); tr.CloseIdleConnections() })
	pu, _ := url.Parse(srv.URL)
	u.Host = pu.Host
	p.url = u.String()
	return p
}

func (p *obSlowProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	select {
	case <-time.After(p.after):
	case <-r.Context().Done():
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(answer)
}
