package pgstore_test

import (
	"context"
	"fmt"
	"reflect"
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
	db := pgtest.MustOpenDB(t)
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
