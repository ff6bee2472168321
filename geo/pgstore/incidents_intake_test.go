package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// intakeEnv routes requests on smallTown as POST /v1/incidents does and
// stores them with CreateIncident, with one SMS channel for the messages.
type intakeEnv struct {
	t    *testing.T
	db   *pgstore.DB
	ctx  context.Context
	r    *routingEnv
	snap *geo.Snapshot
	at   time.Time
}

func newIntakeEnv(t *testing.T) *intakeEnv {
	t.Helper()
	return newIntakeEnvOn(t, pgtest.MustOpenDB(t))
}

// newIntakeEnvOn is newIntakeEnv on db, migrated and empty.
func newIntakeEnvOn(t *testing.T, db *pgstore.DB) *intakeEnv {
	t.Helper()
	r := newRoutingEnv(t, db, time.Now())
	if _, err := db.ImportTown(r.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	// Not on a whole second: the store keeps microseconds.
	e := &intakeEnv{t: t, db: db, ctx: r.ctx, r: r, at: time.Now().Add(time.Minute).Add(123456789 * time.Nanosecond)}
	e.snap = r.snapshot(e.at)
	return e
}

// route routes req at the env's clock, advanced by a second.
func (e *intakeEnv) route(req geo.IncidentRequest) *geo.Incident {
	e.t.Helper()
	e.at = e.at.Add(time.Second)
	inc, err := e.r.d.Route(e.snap, req, e.at)
	if err != nil {
		e.t.Fatal(err)
	}
	inc.CreatedBy, inc.CreatedByRole = "调度员", "dispatcher"
	return inc
}

func (e *intakeEnv) create(inc *geo.Incident, key string, hash []byte) (*geo.Incident, bool, error) {
	return e.db.CreateIncident(e.ctx, inc, key, hash, func(inc *geo.Incident) []geo.OutboxMessage {
		return e.r.d.Messages([]geo.Channel{e.r.sms}, e.snap, inc, geo.MsgRouted, nil, "")
	})
}

func intakeRequest(lon, lat float64, category string) geo.IncidentRequest {
	return geo.IncidentRequest{Lon: &lon, Lat: &lat, Category: category, Severity: string(geo.SevMajor),
		Source: "patrol", Description: "电线裸露", ReporterName: "李女士", ReporterPhone: "13912345678"}
}

// TestIntake_returnsWhatIsStored: the incident CreateIncident returns,
// built from what its one statement wrote, is the incident read back,
// field for field; the deadline, the events, the messages (their ids made
// of the number and the last event) and the audit entry are written.
func TestIntake_returnsWhatIsStored(t *testing.T) {
	e := newIntakeEnv(t)
	code := "431321101201001"
	far := intakeRequest(113.5, 28.5, string(geo.CatSafety)) // outside the town: nobody to dispatch to
	cases := map[string]geo.IncidentRequest{
		"inside":           intakeRequest(112.005, 27.005, string(geo.CatSafety)),
		"duplicate":        intakeRequest(112.0051, 27.0051, string(geo.CatSafety)),
		"other category":   intakeRequest(112.0051, 27.0051, string(geo.CatEnvironment)),
		"nearest":          intakeRequest(112.0402, 27.005, string(geo.CatSafety)),
		"by code":          {Grid: code, Category: string(geo.CatDispute), Severity: string(geo.SevMinor), Source: "walk_in", Description: "邻里纠纷"},
		"outside the town": far,
	}
	order := []string{"inside", "duplicate", "other category", "nearest", "by code", "outside the town"}
	created := map[string]*geo.Incident{}
	for _, name := range order {
		inc := e.route(cases[name])
		out, fresh, err := e.create(inc, "", nil)
		if err != nil || !fresh {
			t.Fatalf("%s: fresh %v, %v", name, fresh, err)
		}
		stored, err := e.db.Incident(e.ctx, out.Number)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, stored) {
			t.Errorf("%s: returned\n%+v\nstored\n%+v", name, out, stored)
		}
		created[name] = out
		want := []geo.Action{geo.ActReceive}
		if out.Status == geo.StDispatched {
			want = append(want, geo.ActDispatch)
		}
		var got []geo.Action
		for _, ev := range out.Events {
			got = append(got, ev.Action)
		}
		if !reflect.DeepEqual(got, want) || len(out.Deadlines) != 1 || !out.Deadlines[0].DueAt.Equal(out.DueAt) {
			t.Errorf("%s: events %v (want %v), deadlines %+v", name, got, want, out.Deadlines)
		}
		if out.CreatedByRole != "dispatcher" {
			t.Errorf("%s: created by role %q", name, out.CreatedByRole)
		}

		var audits int
		e.db.Pool.QueryRow(e.ctx, `SELECT count(*) FROM audit_log WHERE action = 'incident.create' AND target = $1 AND actor = '调度员'
			AND after->>'category' = $2`, "incident:"+out.Number, string(out.Category)).Scan(&audits)
		if audits != 1 {
			t.Errorf("%s: %d audit entries", name, audits)
		}
		rows, _ := e.db.Pool.Query(e.ctx, `SELECT message_id, fields->>'number', incident_id, created_at FROM outbox WHERE incident_id = $1 ORDER BY id`, out.ID)
		type msg struct {
			ID, Number string
			Incident   int64
			At         time.Time
		}
		var msgs []msg
		for rows.Next() {
			var m msg
			if err := rows.Scan(&m.ID, &m.Number, &m.Incident, &m.At); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		wantMsgs := e.r.d.Messages([]geo.Channel{e.r.sms}, e.snap, out, geo.MsgRouted, nil, "")
		if len(msgs) != len(wantMsgs) {
			t.Errorf("%s: %d messages written, want %d", name, len(msgs), len(wantMsgs))
		}
		last := out.Events[len(out.Events)-1].ID
		for i, m := range msgs {
			if id := fmt.Sprintf("%s-e%d-c%d-%d", out.Number, last, e.r.sms.ID, i); m.ID != id || m.Number != out.Number || !m.At.Equal(out.ReceivedAt) {
				t.Errorf("%s: message %+v, want id %s", name, m, id)
			}
		}
	}
	if got := created["duplicate"].PossibleDuplicateOf; got != created["inside"].Number {
		t.Errorf("duplicate: flagged as a duplicate of %q, want %s", got, created["inside"].Number)
	}
	for _, name := range []string{"inside", "other category", "nearest", "by code", "outside the town"} {
		if got := created[name].PossibleDuplicateOf; got != "" {
			t.Errorf("%s: flagged as a duplicate of %s", name, got)
		}
	}
	if created["by code"].Location != nil || created["inside"].Status != geo.StDispatched {
		t.Errorf("routing: by code %+v, inside %s", created["by code"].Location, created["inside"].Status)
	}

	// The rule off: no flag.
	inc := e.route(intakeRequest(112.005, 27.005, string(geo.CatSafety)))
	inc.DuplicateRule = geo.DuplicateRule{}
	if out, _, err := e.create(inc, "", nil); err != nil || out.PossibleDuplicateOf != "" {
		t.Errorf("rule off: %v, flagged as a duplicate of %q", err, out.PossibleDuplicateOf)
	}
	// No messages callback: no message, nothing notified.
	inc = e.route(intakeRequest(112.015, 27.005, string(geo.CatOther)))
	out, _, err := e.db.CreateIncident(e.ctx, inc, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	e.db.Pool.QueryRow(e.ctx, `SELECT count(*) FROM outbox WHERE incident_id = $1`, out.ID).Scan(&n)
	if n != 0 {
		t.Errorf("no messages callback: %d messages", n)
	}
}

// TestIntake_idempotency: a retry returns the first incident (fresh
// false) and writes nothing more; another body under the key is
// EMISMATCH; the key is the caller's.
func TestIntake_idempotency(t *testing.T) {
	e := newIntakeEnv(t)
	req := intakeRequest(112.005, 27.005, string(geo.CatSafety))
	first, fresh, err := e.create(e.route(req), "k-1", []byte("body-1"))
	if err != nil || !fresh {
		t.Fatal(fresh, err)
	}
	again, fresh, err := e.create(e.route(req), "k-1", []byte("body-1"))
	if err != nil || fresh || !reflect.DeepEqual(again, first) {
		t.Fatalf("retry: fresh %v, %v\n%+v\nwant\n%+v", fresh, err, again, first)
	}
	if _, _, err := e.create(e.route(req), "k-1", []byte("body-2")); geo.ErrorCode(err) != geo.EMISMATCH {
		t.Errorf("other body: %v, want EMISMATCH", err)
	}
	other := e.route(req)
	other.CreatedBy = "另一个调度员"
	if out, fresh, err := e.create(other, "k-1", []byte("body-2")); err != nil || !fresh || out.Number == first.Number {
		t.Errorf("other caller: fresh %v, %v", fresh, err)
	}
	counts := intakeCounts(t, e)
	if want := [5]int{2, 4, 2, 2, 2}; counts != want {
		t.Errorf("incidents, events, deadlines, audit entries, messages: %v, want %v", counts, want)
	}
}

// TestIntake_concurrentSameKey: requests sent at once under one key make
// one incident. With one body, every request gets it and one is fresh;
// with two bodies, the requests with the body that won get it, the others
// EMISMATCH. Nothing else is written.
func TestIntake_concurrentSameKey(t *testing.T) {
	e := newIntakeEnv(t)
	const n = 16
	type result struct {
		body  int
		inc   *geo.Incident
		fresh bool
		err   error
	}
	run := func(key string, bodies int) []result {
		incs := make([]*geo.Incident, n)
		for i := range incs {
			incs[i] = e.route(intakeRequest(112.005+0.0001*float64(i%bodies), 27.005, string(geo.CatSafety)))
		}
		out := make([]result, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				r := result{body: i % bodies}
				r.inc, r.fresh, r.err = e.create(incs[i], key, []byte(fmt.Sprintf("body-%d", r.body)))
				out[i] = r
			}()
		}
		start.Done()
		done.Wait()
		return out
	}
	for round := range 5 {
		for _, bodies := range []int{1, 2} {
			results := run(fmt.Sprintf("k-%d-%d", round, bodies), bodies)
			fresh, winner := 0, -1
			for _, r := range results {
				if r.fresh {
					fresh++
					winner = r.body
				}
			}
			if fresh != 1 {
				t.Fatalf("round %d, %d bodies: %d fresh", round, bodies, fresh)
			}
			var number string
			for i, r := range results {
				switch {
				case r.body == winner && r.err != nil:
					t.Errorf("round %d, request %d (the winning body): %v", round, i, r.err)
				case r.body == winner && number == "":
					number = r.inc.Number
				case r.body == winner && r.inc.Number != number:
					t.Errorf("round %d: request %d got %s, another %s", round, i, r.inc.Number, number)
				case r.body != winner && geo.ErrorCode(r.err) != geo.EMISMATCH:
					t.Errorf("round %d, request %d (the other body): %v, want EMISMATCH", round, i, r.err)
				}
			}
		}
	}
	counts := intakeCounts(t, e)
	if want := [5]int{10, 20, 10, 10, 10}; counts != want {
		t.Errorf("incidents, events, deadlines, audit entries, messages: %v, want %v", counts, want)
	}
}

// intakeCounts counts incidents, events, deadlines, intake audit entries
// and messages.
func intakeCounts(t *testing.T, e *intakeEnv) [5]int {
	t.Helper()
	var c [5]int
	err := e.db.Pool.QueryRow(e.ctx, `SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_events),
		(SELECT count(*) FROM incident_deadlines), (SELECT count(*) FROM audit_log WHERE action = 'incident.create'),
		(SELECT count(*) FROM outbox)`).Scan(&c[0], &c[1], &c[2], &c[3], &c[4])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// messagesFor is the messages callback intake gives CreateIncident.
func (e *intakeEnv) messagesFor(inc *geo.Incident) []geo.OutboxMessage {
	return e.r.d.Messages([]geo.Channel{e.r.sms}, e.snap, inc, geo.MsgRouted, nil, "")
}

// intakeWritten is what the database holds after intake, in order: each
// incident's number and possible duplicate, each message id, each audit
// target, each event (incident, id, action), each deadline.
func intakeWritten(t *testing.T, e *intakeEnv) []string {
	t.Helper()
	rows, err := e.db.Pool.Query(e.ctx, `
		SELECT 'incident ' || i.number || ' dup ' || coalesce(d.number, '') || ' town ' || i.town_code
		FROM incidents i LEFT JOIN incidents d ON d.id = i.possible_duplicate_of
		UNION ALL SELECT 'message ' || message_id || ' ' || body FROM outbox
		UNION ALL SELECT 'audit ' || target || ' ' || actor || ' ' || after::text FROM audit_log WHERE action = 'incident.create'
		UNION ALL SELECT 'event ' || incident_id || ' ' || id || ' ' || action || ' ' || at FROM incident_events
		UNION ALL SELECT 'deadline ' || incident_id || ' ' || seq || ' ' || due_at FROM incident_deadlines
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

// TestIntake_batchAsOneByOne: requests written as one batch give exactly
// what the same requests give written one after the other, on two
// databases alike: the same incidents (ids, numbers, events, deadline),
// fresh or not, the same errors, and the same rows written. The batch
// holds duplicates of an incident in the database and of earlier
// incidents of the batch (which its statement cannot see), one outside
// its time window, another category, the same key twice with one body
// and once with another, a retry and a mismatch of a key used before,
// another caller's same key, one by grid code and one outside the town.
func TestIntake_batchAsOneByOne(t *testing.T) {
	a, b := newIntakeEnv(t), newIntakeEnv(t)
	p0 := intakeRequest(112.005, 27.005, string(geo.CatSafety))
	old := a.route(p0)
	oldB := *old
	for _, e := range []struct {
		env *intakeEnv
		inc *geo.Incident
	}{{a, old}, {b, &oldB}} {
		if _, fresh, err := e.env.db.CreateIncident(e.env.ctx, e.inc, "k-old", []byte("body-old"), e.env.messagesFor); err != nil || !fresh {
			t.Fatal(fresh, err)
		}
	}
	type item struct {
		req      geo.IncidentRequest
		key      string
		body     string
		caller   string
		within   time.Duration
		wantDup  int // index in the batch of the incident it repeats; -1 none; -2 the old one
		wantCode string
	}
	safety, env := string(geo.CatSafety), string(geo.CatEnvironment)
	items := []item{
		{req: intakeRequest(112.00502, 27.005, safety), wantDup: -2},
		{req: intakeRequest(112.015, 27.005, safety), wantDup: -1},
		{req: intakeRequest(112.01505, 27.005, safety), wantDup: 1},
		{req: intakeRequest(112.01505, 27.005, env), wantDup: -1},
		{req: intakeRequest(112.0151, 27.005, safety), key: "k-x", body: "x", wantDup: 1},
		{req: intakeRequest(112.0151, 27.005, safety), key: "k-x", body: "x", wantDup: 1},
		{req: intakeRequest(112.0152, 27.005, safety), key: "k-x", body: "y", wantCode: geo.EMISMATCH},
		{req: p0, key: "k-old", body: "body-old", wantDup: -1},
		{req: p0, key: "k-old", body: "other", wantCode: geo.EMISMATCH},
		{req: geo.IncidentRequest{Grid: "431321101201001", Category: string(geo.CatDispute), Severity: string(geo.SevMinor), Source: "walk_in", Description: "邻里纠纷"}, wantDup: -1},
		{req: intakeRequest(113.5, 28.5, safety), wantDup: -1},
		{req: intakeRequest(112.0151, 27.0051, safety), key: "k-x", body: "z", caller: "另一个调度员", wantDup: 1},
		{req: intakeRequest(112.01502, 27.005, safety), within: 1500 * time.Millisecond, wantDup: 11},
	}
	var batch []pgstore.IntakeItem
	var one []pgstore.IntakeOut
	for _, it := range items {
		inc := a.route(it.req)
		if it.caller != "" {
			inc.CreatedBy = it.caller
		}
		if it.within > 0 {
			inc.DuplicateRule.Within = it.within
		}
		incB := *inc
		var hash []byte
		if it.body != "" {
			hash = []byte(it.body)
		}
		out, fresh, err := a.db.CreateIncident(a.ctx, inc, it.key, hash, a.messagesFor)
		one = append(one, pgstore.IntakeOut{Inc: out, Fresh: fresh, Err: err})
		batch = append(batch, pgstore.IntakeItem{Inc: &incB, Key: it.key, Hash: hash, Messages: b.messagesFor})
	}
	got := pgstore.CreateIncidentsBatch(b.ctx, b.db, batch)
	for i, it := range items {
		w, g := one[i], got[i]
		if geo.ErrorCode(w.Err) != it.wantCode || geo.ErrorCode(g.Err) != it.wantCode {
			t.Errorf("%d: one by one %v, batched %v, want code %q", i, w.Err, g.Err, it.wantCode)
			continue
		}
		if it.wantCode != "" {
			continue
		}
		if w.Fresh != g.Fresh || !reflect.DeepEqual(w.Inc, g.Inc) {
			t.Errorf("%d: one by one (fresh %v)\n%+v\nbatched (fresh %v)\n%+v", i, w.Fresh, w.Inc, g.Fresh, g.Inc)
		}
		wantDup := ""
		switch {
		case it.wantDup == -2:
			wantDup = old.Number
		case it.wantDup >= 0:
			wantDup = one[it.wantDup].Inc.Number
		}
		if g.Inc.PossibleDuplicateOf != wantDup {
			t.Errorf("%d: batched, a possible duplicate of %q, want %q", i, g.Inc.PossibleDuplicateOf, wantDup)
		}
	}
	if !reflect.DeepEqual(got[5].Inc, got[4].Inc) || got[5].Fresh || !got[4].Fresh || got[7].Inc.Number != old.Number || got[7].Fresh {
		t.Errorf("same key in the batch: %s fresh %v / %s fresh %v; key used before: %s fresh %v (want %s)",
			got[4].Inc.Number, got[4].Fresh, got[5].Inc.Number, got[5].Fresh, got[7].Inc.Number, got[7].Fresh, old.Number)
	}
	wa, wb := intakeWritten(t, a), intakeWritten(t, b)
	if !reflect.DeepEqual(wa, wb) {
		t.Errorf("written one by one:\n%s\nbatched:\n%s", strings.Join(wa, "\n"), strings.Join(wb, "\n"))
	}
	if ca, cb := intakeCounts(t, a), intakeCounts(t, b); ca != cb || ca[0] != 10 {
		t.Errorf("incidents, events, deadlines, audit entries, messages: one by one %v, batched %v (want 10 incidents)", ca, cb)
	}
}

// TestIntake_batchFailingMember: an incident the database refuses (text
// with a NUL) fails alone, with the error it gets alone; the others of
// its batch are written, each once and as stored, and the one near the
// refused incident is not flagged as its duplicate.
func TestIntake_batchFailingMember(t *testing.T) {
	e := newIntakeEnv(t)
	var batch []pgstore.IntakeItem
	for i, lon := range []float64{112.005, 112.015, 112.025, 112.02502, 112.035} {
		req := intakeRequest(lon, 27.005, string(geo.CatSafety))
		if i == 2 {
			req.Description = "坏\x00字"
		}
		batch = append(batch, pgstore.IntakeItem{Inc: e.route(req), Key: fmt.Sprintf("k-%d", i), Hash: []byte("b"), Messages: e.messagesFor})
	}
	got := pgstore.CreateIncidentsBatch(e.ctx, e.db, batch)
	numbers := map[string]bool{}
	for i, g := range got {
		if i == 2 {
			if geo.ErrorCode(g.Err) != geo.EINVALID {
				t.Errorf("the refused incident: %v, want EINVALID", g.Err)
			}
			continue
		}
		if g.Err != nil || !g.Fresh {
			t.Errorf("%d: fresh %v, %v", i, g.Fresh, g.Err)
			continue
		}
		stored, err := e.db.Incident(e.ctx, g.Inc.Number)
		if err != nil || !reflect.DeepEqual(stored, g.Inc) {
			t.Errorf("%d: returned\n%+v\nstored (%v)\n%+v", i, g.Inc, err, stored)
		}
		if numbers[g.Inc.Number] || g.Inc.PossibleDuplicateOf != "" {
			t.Errorf("%d: number %s twice or flagged as a duplicate of %q", i, g.Inc.Number, g.Inc.PossibleDuplicateOf)
		}
		numbers[g.Inc.Number] = true
	}
	if want := [5]int{4, 8, 4, 4, 4}; intakeCounts(t, e) != want {
		t.Errorf("incidents, events, deadlines, audit entries, messages: %v, want %v", intakeCounts(t, e), want)
	}
	// Retried under its key once corrected: written then.
	fixed := batch[2]
	fixed.Inc.Description = "坏字"
	if again := pgstore.CreateIncidentsBatch(e.ctx, e.db, []pgstore.IntakeItem{fixed}); again[0].Err != nil || !again[0].Fresh {
		t.Errorf("corrected retry: fresh %v, %v", again[0].Fresh, again[0].Err)
	}
}

// TestIntake_sameKeyInTwoBatchesAtOnce: a key written by one batch after
// another batch's lookup missed it. Batch A writes its incidents and, before
// committing, waits (the figures' table is locked); batch B, with the same
// caller and key, then writes the key too, and waits for A. Once A commits,
// B's request gets A's incident (fresh=false) or EMISMATCH for another
// body, B's other incident is written, and nothing is written twice.
func TestIntake_sameKeyInTwoBatchesAtOnce(t *testing.T) {
	e := newIntakeEnv(t)
	item := func(lon float64, key, body string) pgstore.IntakeItem {
		return pgstore.IntakeItem{Inc: e.route(intakeRequest(lon, 27.005, string(geo.CatSafety))), Key: key, Hash: []byte(body),
			Messages: e.messagesFor}
	}
	// waiting reports whether n queries of this database wait for a lock.
	waiting := func(n int) {
		t.Helper()
		for range 500 {
			var c int
			if err := e.db.Pool.QueryRow(e.ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("fewer than %d queries wait for a lock", n)
	}
	written := 0
	for round, bBody := range []string{"body", "other body", "body"} {
		key := fmt.Sprintf("k-%d", round)
		a := []pgstore.IntakeItem{item(112.005, fmt.Sprintf("a-%d", round), "a"), item(112.015, key, "body")}
		b := []pgstore.IntakeItem{item(112.025, key, bBody), item(112.035, fmt.Sprintf("b-%d", round), "b")}
		if round == 2 {
			b = b[:1] // a batch of one
		}
		written += len(a) + len(b) - 1

		lock, err := e.db.Pool.Begin(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lock.Exec(e.ctx, "LOCK TABLE figures_dirty_days IN SHARE MODE"); err != nil {
			t.Fatal(err)
		}
		var gotA, gotB []pgstore.IntakeOut
		var done sync.WaitGroup
		done.Add(2)
		go func() { defer done.Done(); gotA = pgstore.CreateIncidentsBatch(e.ctx, e.db, a) }()
		waiting(1) // A has written its rows and waits to mark their days
		go func() { defer done.Done(); gotB = pgstore.CreateIncidentsBatch(e.ctx, e.db, b) }()
		waiting(2) // B waits for A's key
		if err := lock.Rollback(e.ctx); err != nil {
			t.Fatal(err)
		}
		done.Wait()

		for i, g := range gotA {
			if g.Err != nil || !g.Fresh {
				t.Fatalf("round %d, A %d: fresh %v, %v", round, i, g.Fresh, g.Err)
			}
		}
		if len(gotB) > 1 && (gotB[1].Err != nil || !gotB[1].Fresh) {
			t.Errorf("round %d, B's other incident: fresh %v, %v", round, gotB[1].Fresh, gotB[1].Err)
		}
		switch g := gotB[0]; {
		case bBody != "body":
			if geo.ErrorCode(g.Err) != geo.EMISMATCH {
				t.Errorf("round %d, B's key with another body: %v, want EMISMATCH", round, g.Err)
			}
		case g.Err != nil || g.Fresh || !reflect.DeepEqual(g.Inc, gotA[1].Inc):
			t.Errorf("round %d, B's key: fresh %v, %v\n%+v\nwant A's\n%+v", round, g.Fresh, g.Err, g.Inc, gotA[1].Inc)
		}
		if want := [5]int{written, 2 * written, written, written, written}; intakeCounts(t, e) != want {
			t.Errorf("round %d: incidents, events, deadlines, audit entries, messages: %v, want %v", round, intakeCounts(t, e), want)
		}
	}
}

// TestIntake_keyLookupReadsTheKeyIndex: the lookup of Idempotency-Keys
// (incident_intake_prepare_batch) keeps one plan per connection, so that
// plan must read the key index whatever the table's size when it was made:
// here, on a table of three incidents just analyzed, where a sequential
// scan is the cheaper plan and would stay the plan as the table grows.
func TestIntake_keyLookupReadsTheKeyIndex(t *testing.T) {
	e := newIntakeEnv(t)
	for i := range 3 {
		if _, _, err := e.create(e.route(intakeRequest(112.005+0.01*float64(i), 27.005, string(geo.CatSafety))), fmt.Sprintf("k-%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.Pool.Exec(e.ctx, "ANALYZE incidents"); err != nil {
		t.Fatal(err)
	}
	tx, err := e.db.Pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	const lookups = 12 // past the five custom plans after which a generic one may be kept
	for i := range lookups {
		key := fmt.Sprintf("k-%d", i%4)
		rows, err := tx.Query(e.ctx, pgstore.Queries()["incident_intake_prepare_batch"],
			[]string{"调度员", "调度员"}, []*string{&key, nil})
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	var seq, idx int64
	if err := tx.QueryRow(e.ctx, `SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables
		WHERE relid = 'incidents'::regclass`).Scan(&seq, &idx); err != nil {
		t.Fatal(err)
	}
	if seq != 0 || idx < lookups {
		t.Errorf("%d lookups: %d sequential scans of incidents, %d index scans; want 0 and at least %d", lookups, seq, idx, lookups)
	}
}

// TestIntake_concurrentBatches: 4 rounds of 32 requests sent at once,
// gathered into batches (one in flight at a time, so each incident has
// seen exactly those with lower ids). Every request gets its own
// incident, except those sharing a key, which get one between them (or
// EMISMATCH for another body); each possible duplicate is the one a
// brute-force query over the incidents written before it finds; some
// transaction wrote several incidents.
func TestIntake_concurrentBatches(t *testing.T) {
	e := newIntakeEnv(t)
	defer func(n int) { pgstore.IntakeBatches = n }(pgstore.IntakeBatches)
	pgstore.IntakeBatches = 1
	stats0 := e.db.IntakeStats()
	const n = 32
	type result struct {
		inc   *geo.Incident
		fresh bool
		err   error
	}
	wantIncidents := 0
	for round := range 4 {
		incs := make([]*geo.Incident, n)
		keys, bodies := make([]string, n), make([]string, n)
		for i := range incs {
			// 4 places 1 km apart, points within 30 m of each: many
			// duplicates, in and across batches.
			place := i % 4
			lon := 112.005 + 0.01*float64(place) + 0.0001*float64(i%3)
			cat := []geo.Category{geo.CatSafety, geo.CatEnvironment}[i%5%2]
			incs[i] = e.route(intakeRequest(lon, 27.005+0.0001*float64(round), string(cat)))
			keys[i], bodies[i] = fmt.Sprintf("r%d-%d", round, i), "b"
			if i >= 28 { // 28..31 share a key, 31 with another body
				keys[i] = fmt.Sprintf("r%d-shared", round)
				if i == 31 {
					bodies[i] = "other"
				}
			}
		}
		wantIncidents += 29
		out := make([]result, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				r := &out[i]
				r.inc, r.fresh, r.err = e.db.CreateIncident(e.ctx, incs[i], keys[i], []byte(bodies[i]), e.messagesFor)
			}()
		}
		start.Done()
		done.Wait()
		numbers := map[string]int{}
		for i, r := range out[:28] {
			if r.err != nil || !r.fresh {
				t.Errorf("round %d, %d: fresh %v, %v", round, i, r.fresh, r.err)
				continue
			}
			numbers[r.inc.Number]++
		}
		if len(numbers) != 28 {
			t.Errorf("round %d: %d numbers for 28 requests", round, len(numbers))
		}
		// The shared key: one fresh; its body's requests get its incident,
		// the other body's EMISMATCH.
		var winner *result
		for i := 28; i < n; i++ {
			if out[i].fresh {
				if winner != nil {
					t.Errorf("round %d: the shared key made two incidents", round)
				}
				winner = &out[i]
			}
		}
		if winner == nil {
			t.Fatalf("round %d: the shared key made no incident: %+v", round, out[28:])
		}
		for i := 28; i < n; i++ {
			r := out[i]
			if bodies[i] == bodies[28+slices.IndexFunc(out[28:], func(r result) bool { return r.fresh })] {
				if r.err != nil || r.inc.Number != winner.inc.Number {
					t.Errorf("round %d, %d (the shared key, the winning body): %v", round, i, r.err)
				}
			} else if geo.ErrorCode(r.err) != geo.EMISMATCH {
				t.Errorf("round %d, %d (the shared key, the other body): %v, want EMISMATCH", round, i, r.err)
			}
		}
	}
	if got := intakeCounts(t, e); got[0] != wantIncidents || got[2] != wantIncidents || got[3] != wantIncidents {
		t.Errorf("incidents, events, deadlines, audit entries, messages: %v, want %d incidents", got, wantIncidents)
	}
	// IntakeStats counts every request once, in batches of one at a time.
	stats := e.db.IntakeStats()
	if d := stats.Incidents - stats0.Incidents; d != 4*n {
		t.Errorf("IntakeStats: %d requests in batches, want %d", d, 4*n)
	}
	if d := stats.Batches - stats0.Batches; d < 4 || d > 4*n {
		t.Errorf("IntakeStats: %d batches for 4 rounds of %d requests", d, n)
	}
	if stats.Beside != stats0.Beside || stats.Busy <= stats0.Busy {
		t.Errorf("IntakeStats with one batch in flight: %d beside another (want 0), busy %v", stats.Beside-stats0.Beside, stats.Busy-stats0.Busy)
	}
	rows, err := e.db.Pool.Query(e.ctx, `
		SELECT x.number, coalesce(p.number, ''),
		       coalesce((SELECT d.number FROM incidents d
		                 WHERE d.id < x.id AND d.category = x.category AND d.received_at >= x.received_at - interval '72 hours'
		                   AND ST_DWithin(d.location::geography, x.location::geography, 100)
		                 ORDER BY d.received_at, d.id LIMIT 1), '')
		FROM incidents x LEFT JOIN incidents p ON p.id = x.possible_duplicate_of
		ORDER BY x.id`)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for rows.Next() {
		var number, got, want string
		if err := rows.Scan(&number, &got, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: a possible duplicate of %q, brute force says %q", number, got, want)
		}
		if got != "" {
			flagged++
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var txs, most int
	if err := e.db.Pool.QueryRow(e.ctx, `SELECT count(*), max(n) FROM (SELECT count(*) AS n FROM incidents GROUP BY xmin::text) t`).Scan(&txs, &most); err != nil {
		t.Fatal(err)
	}
	if flagged < wantIncidents/2 || most < 2 {
		t.Errorf("%d flagged of %d; %d transactions, at most %d incidents in one: the test did not batch", flagged, wantIncidents, txs, most)
	}
	t.Logf("%d incidents in %d transactions (at most %d in one), %d flagged", wantIncidents, txs, most, flagged)
}

// TestIntake_duplicatesOfOpenIncidents: the possible duplicate intake
// finds through incidents_open_location_category (migration 0034, an index
// of the open incidents only) is, for every incident, the one a
// brute-force query over all the incidents written before it finds, as
// they were then. Between batches some incidents are finished (verified,
// closed, cancelled, merged) or moved on while still open (resolved,
// in_progress); the window is 40 s (an incident every second), so some
// candidates are too old; three categories in 300 m, so most incidents
// have several candidates. Every other round writes its incidents one by
// one (incident_create), the others as one batch (incident_create_batch).
// Both try the spheroid on the candidates in the box in received_at
// order and stop at the first near enough: the test also counts the
// candidates in the box but too far that came first and had to be passed
// over, and fails if there were too few to tell.
func TestIntake_duplicatesOfOpenIncidents(t *testing.T) {
	e := newIntakeEnv(t)
	rnd := rand.New(rand.NewPCG(33, 1))
	cats := []geo.Category{geo.CatSafety, geo.CatEnvironment, geo.CatDispute}
	statuses := []string{"verified", "closed", "cancelled", "merged", "resolved", "in_progress"}
	flagged, written, passedOver := 0, 0, 0
	for round := range 24 {
		var batch []pgstore.IntakeItem
		for range 1 + rnd.IntN(8) {
			lon, lat := 112.010+0.003*rnd.Float64(), 27.004+0.003*rnd.Float64()
			inc := e.route(intakeRequest(lon, lat, string(cats[rnd.IntN(len(cats))])))
			inc.DuplicateRule.Within = 40 * time.Second
			batch = append(batch, pgstore.IntakeItem{Inc: inc, Messages: e.messagesFor})
		}
		var outs []pgstore.IntakeOut
		if round%2 == 0 {
			outs = pgstore.CreateIncidentsBatch(e.ctx, e.db, batch)
		} else {
			for _, it := range batch {
				outs = append(outs, pgstore.CreateIncidentAlone(e.ctx, e.db, it))
			}
		}
		var numbers []string
		answered := map[string]string{} // the possible duplicate each answer named
		for i, g := range outs {
			if g.Err != nil || !g.Fresh {
				t.Fatalf("round %d, %d: fresh %v, %v", round, i, g.Fresh, g.Err)
			}
			numbers = append(numbers, g.Inc.Number)
			answered[g.Inc.Number] = g.Inc.PossibleDuplicateOf
		}
		written += len(numbers)
		// The last column: the candidates in the statements' box (as
		// wide) that the spheroid rejects and that come before the one
		// found, or are all there is.
		rows, err := e.db.Pool.Query(e.ctx, `
			SELECT x.number, coalesce(p.number, ''),
			       coalesce((SELECT d.number FROM incidents d
			                 WHERE d.id < x.id AND d.category = x.category AND d.received_at >= x.received_at - interval '40 s'
			                   AND d.status NOT IN ('verified', 'closed', 'cancelled', 'merged')
			                   AND ST_DWithin(d.location::geography, x.location::geography, 100)
			                 ORDER BY d.received_at, d.id LIMIT 1), ''),
			       (SELECT count(*) FROM incidents d
			        WHERE d.id < x.id AND d.category = x.category AND d.received_at >= x.received_at - interval '40 s'
			          AND d.status NOT IN ('verified', 'closed', 'cancelled', 'merged')
			          AND d.location && ST_Expand(x.location, 100 / (110000 * greatest(cos(radians(ST_Y(x.location))), 0.01)))
			          AND NOT ST_DWithin(d.location::geography, x.location::geography, 100)
			          AND (p.id IS NULL OR (d.received_at, d.id) < (p.received_at, p.id)))
			FROM incidents x LEFT JOIN incidents p ON p.id = x.possible_duplicate_of
			WHERE x.number = ANY($1)
			ORDER BY x.id`, numbers)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var number, got, want string
			var passed int
			if err := rows.Scan(&number, &got, &want, &passed); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("round %d, %s: a possible duplicate of %q, brute force says %q", round, number, got, want)
			}
			// The answer names it by incident_number, the stored row by
			// the generated column: the two must agree.
			if answered[number] != got {
				t.Errorf("round %d, %s: answered a possible duplicate of %q, stored %q", round, number, answered[number], got)
			}
			if got != "" {
				flagged++
			}
			passedOver += passed
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		// Some incidents written so far move on before the next batch.
		for range 3 {
			st := statuses[rnd.IntN(len(statuses))]
			if _, err := e.db.Pool.Exec(e.ctx, `
				UPDATE incidents SET status = $1,
				    merged_into = CASE WHEN $1 = 'merged' THEN (SELECT min(id) FROM incidents) END
				WHERE id = (SELECT id FROM incidents WHERE status IN ('received', 'dispatched')
				            AND id > (SELECT min(id) FROM incidents) ORDER BY id OFFSET $2 LIMIT 1)`, st, rnd.IntN(written)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var finished int
	if err := e.db.Pool.QueryRow(e.ctx, `SELECT count(*) FROM incidents WHERE status IN ('verified', 'closed', 'cancelled', 'merged')`).Scan(&finished); err != nil {
		t.Fatal(err)
	}
	if flagged < written/3 || finished < 20 || passedOver < 10 {
		t.Errorf("%d of %d flagged, %d finished, %d candidates passed over: the test did not test", flagged, written, finished, passedOver)
	}
	t.Logf("%d incidents, %d flagged, %d finished, %d candidates in the box passed over", written, flagged, finished, passedOver)
}

// TestIntake_batchDatabaseDown: with PostgreSQL stopped, every request of
// a batch is EUNAVAILABLE and nothing is written; started again, the same
// requests (same keys) are each written once.
func TestIntake_batchDatabaseDown(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "wangge-intake-down-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the server may run as the postgres user
	cl, err := pgstore.StartCluster(ctx, dir, pgstore.ClusterOptions{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop() })
	if err := cl.EnsureDatabase(ctx, "wangge"); err != nil {
		t.Fatal(err)
	}
	db, err := pgstore.Open(ctx, cl.ConnString("wangge"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newIntakeEnvOn(t, db)
	if _, _, err := e.create(e.route(intakeRequest(112.005, 27.005, string(geo.CatSafety))), "k-before", []byte("b")); err != nil {
		t.Fatal(err)
	}
	before := intakeCounts(t, e)

	const n = 16
	incs := make([]*geo.Incident, n)
	for i := range incs {
		incs[i] = e.route(intakeRequest(112.005+0.001*float64(i%4), 27.005, string(geo.CatSafety)))
	}
	send := func() []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := *incs[i]
				_, _, errs[i] = e.create(&c, fmt.Sprintf("k-%d", i%12), []byte("b"))
			}()
		}
		wg.Wait()
		return errs
	}
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	for i, err := range send() {
		if geo.ErrorCode(err) != geo.EUNAVAILABLE {
			t.Errorf("request %d with PostgreSQL down: %v, want EUNAVAILABLE", i, err)
		}
	}
	// The batch as a whole, also with PostgreSQL down.
	items := make([]pgstore.IntakeItem, n)
	for i := range items {
		c := *incs[i]
		items[i] = pgstore.IntakeItem{Inc: &c, Key: fmt.Sprintf("k-%d", i%12), Hash: []byte("b"), Messages: e.messagesFor}
	}
	for i, g := range pgstore.CreateIncidentsBatch(ctx, db, items) {
		if geo.ErrorCode(g.Err) != geo.EUNAVAILABLE {
			t.Errorf("batched request %d with PostgreSQL down: %v, want EUNAVAILABLE", i, g.Err)
		}
	}
	if cl, err = pgstore.StartCluster(ctx, dir, pgstore.ClusterOptions{Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	if got := intakeCounts(t, e); got != before {
		t.Errorf("after the failed requests: %v, before them %v", got, before)
	}
	for i, err := range send() {
		if err != nil {
			t.Errorf("request %d with PostgreSQL back: %v", i, err)
		}
	}
	after := intakeCounts(t, e)
	if after[0] != before[0]+12 || after[3] != before[3]+12 {
		t.Errorf("with PostgreSQL back: %v, before %v, want 12 more incidents", after, before)
	}
}

// TestIntake_duplicateNearTheEquator: the duplicate check's box holds
// every candidate within the distance at any latitude. At the equator a
// degree of latitude is 110.6 km, and a box of 100 m / 111 km a degree
// left out an incident 99.9 m due north. Both intake statements flag it,
// and not one 100.3 m away.
func TestIntake_duplicateNearTheEquator(t *testing.T) {
	e := newIntakeEnv(t)
	const degree = 110574.4 // metres in a degree of latitude at the equator, WGS-84
	for i, alone := range []bool{true, false} {
		lon := 10.0 + float64(i) // apart from the other statement's incidents
		first := e.route(intakeRequest(lon, 0, string(geo.CatSafety)))
		near := e.route(intakeRequest(lon, 99.9/degree, string(geo.CatSafety)))
		far := e.route(intakeRequest(lon, -100.3/degree, string(geo.CatSafety)))
		if g := pgstore.CreateIncidentAlone(e.ctx, e.db, pgstore.IntakeItem{Inc: first, Messages: e.messagesFor}); g.Err != nil {
			t.Fatal(g.Err)
		}
		items := []pgstore.IntakeItem{{Inc: near, Messages: e.messagesFor}, {Inc: far, Messages: e.messagesFor}}
		var outs []pgstore.IntakeOut
		if alone {
			for _, it := range items {
				outs = append(outs, pgstore.CreateIncidentAlone(e.ctx, e.db, it))
			}
		} else {
			outs = pgstore.CreateIncidentsBatch(e.ctx, e.db, items)
		}
		var meters [2]float64
		for k, g := range outs {
			if g.Err != nil {
				t.Fatal(g.Err)
			}
			if err := e.db.Pool.QueryRow(e.ctx, `SELECT ST_Distance(a.location::geography, b.location::geography)
				FROM incidents a, incidents b WHERE a.number = $1 AND b.number = $2`, first.Number, g.Inc.Number).Scan(&meters[k]); err != nil {
				t.Fatal(err)
			}
		}
		if meters[0] > 100 || meters[1] <= 100 {
			t.Fatalf("the incidents are %.2f and %.2f m from the first: the test does not test", meters[0], meters[1])
		}
		if got := outs[0].Inc.PossibleDuplicateOf; got != first.Number {
			t.Errorf("alone %v: %.2f m due north, a possible duplicate of %q, want %q", alone, meters[0], got, first.Number)
		}
		if got := outs[1].Inc.PossibleDuplicateOf; got != "" {
			t.Errorf("alone %v: %.2f m due south, a possible duplicate of %q, want none", alone, meters[1], got)
		}
	}
}
