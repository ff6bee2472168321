package pgstore_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore"
)

// routingEnv takes incidents in through the path intake takes (the
// dispatcher routes on a snapshot, the store writes), so that the tests of
// rerouting compare what the store decides with what intake decides.
type routingEnv struct {
	t   *testing.T
	db  *pgstore.DB
	ctx context.Context
	d   geo.Dispatcher
	sms geo.Channel
}

func newRoutingEnv(t *testing.T, db *pgstore.DB, at time.Time) *routingEnv {
	t.Helper()
	e := &routingEnv{t: t, db: db, ctx: context.Background(), d: geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)}
	ch, err := db.CreateChannel(e.ctx, geo.ChannelRecord{Channel: geo.Channel{Name: "短信", Kind: geo.ChanSMS, Enabled: true},
		Settings: json.RawMessage(`{}`)}, "admin", at)
	if err != nil {
		t.Fatal(err)
	}
	e.sms = ch.Channel
	return e
}

// snapshot is the current generation with the people in office at at, as
// a server would hold it after reloading.
func (e *routingEnv) snapshot(at time.Time) *geo.Snapshot {
	e.t.Helper()
	td, gen, err := e.db.LoadArea(e.ctx, 0, at)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := geo.NewSnapshot(gen, td, at)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// intake routes a complaint at (lon, lat) as POST /v1/incidents does.
func (e *routingEnv) intake(lon, lat float64, at time.Time) *geo.Incident {
	e.t.Helper()
	snap := e.snapshot(at)
	inc, err := e.d.Route(snap, geo.IncidentRequest{Lon: &lon, Lat: &lat, Category: string(geo.CatSafety), Severity: string(geo.SevMajor),
		Source: "patrol", Description: "电线裸露"}, at)
	if err != nil {
		e.t.Fatal(err)
	}
	inc.CreatedBy = "调度员"
	out, _, err := e.db.CreateIncident(e.ctx, inc, "", nil, func(inc *geo.Incident) []geo.OutboxMessage {
		return e.d.Messages([]geo.Channel{e.sms}, snap, inc, geo.MsgRouted, nil, "")
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// act takes a step of the closed loop on incident number as
// POST /v1/incidents/{number}/events does.
func (e *routingEnv) act(number string, action geo.Action, at time.Time) *geo.Incident {
	e.t.Helper()
	ev, err := geo.CheckEvent(geo.EventRequest{Action: string(action), Note: "处理中"}, "调度员")
	if err != nil {
		e.t.Fatal(err)
	}
	snap := e.snapshot(at)
	inc, err := e.db.AddIncidentEvent(e.ctx, number, "调度员", "", nil, at, func(inc *geo.Incident) (geo.IncidentChange, error) {
		return e.d.Decide(snap, inc, ev, at)
	})
	if err != nil {
		e.t.Fatalf("%s %s: %v", action, number, err)
	}
	return inc
}

func (e *routingEnv) incident(number string) *geo.Incident {
	e.t.Helper()
	inc, err := e.db.Incident(e.ctx, number)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// personID is the id of the person of that name who has not left.
func (e *routingEnv) personID(name string) int64 {
	e.t.Helper()
	var id int64
	if err := e.db.Pool.QueryRow(e.ctx, `SELECT id FROM people WHERE name = $1 AND ended_at IS NULL`, name).Scan(&id); err != nil {
		e.t.Fatalf("person %s: %v", name, err)
	}
	return id
}

func (e *routingEnv) appoint(a geo.Appointment, at time.Time) *geo.AppointmentResult {
	e.t.Helper()
	res, err := e.db.Appoint(e.ctx, a, "管理员", at)
	if err != nil {
		e.t.Fatalf("appointing %+v: %v", a, err)
	}
	return res
}

// events returns the events of inc with action a.
func events(inc *geo.Incident, a geo.Action) []geo.IncidentEvent {
	var out []geo.IncidentEvent
	for _, ev := range inc.Events {
		if ev.Action == a {
			out = append(out, ev)
		}
	}
	return out
}

// reassignedTo returns the phones the reassigned messages of incident
// number are addressed to, sorted.
func (e *routingEnv) reassignedTo(number string) []string {
	e.t.Helper()
	msgs, err := e.db.IncidentMessages(e.ctx, number)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Kind == geo.MsgReassigned {
			out = append(out, m.To.Phone)
		}
	}
	slices.Sort(out)
	return out
}

func sameAssignee(a, b geo.Assignee) bool {
	return a.Role == b.Role && a.Level == b.Level && a.Name == b.Name && a.Phone == b.Phone && a.Reason == b.Reason
}
