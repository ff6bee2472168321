package pgstore_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// Ending a leader's appointment hands their open incidents over in the
// same transaction: to the successor when there is one, to the fallback
// chain when there is none. Incidents that are not open, that a dispatcher
// gave to a named person, or that are on another grid stay.
func TestRouting_appointmentEndHandsOver(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	r := newRoutingEnv(t, db, time.Now())
	if _, err := db.ImportTown(r.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	// The import appoints the leaders now; the test's clock runs after.
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	tick := func() time.Time { at = at.Add(time.Second); return at }
	r.appoint(geo.Appointment{Role: geo.RoleDutyDesk, Name: "镇值班室", Phone: "13800000099", From: at}, tick())

	// On G1 (leader 曾11): open, accepted, resolved, and one a dispatcher
	// reassigned to a named person; on G2 (leader 曾12) one open.
	open, accepted, resolved, named := r.intake(112.005, 27.005, tick()), r.intake(112.004, 27.004, tick()),
		r.intake(112.003, 27.003, tick()), r.intake(112.002, 27.002, tick())
	other := r.intake(112.015, 27.005, tick())
	r.act(accepted.Number, geo.ActAccept, tick())
	r.act(resolved.Number, geo.ActAccept, tick())
	r.act(resolved.Number, geo.ActResolve, tick())
	snap := r.snapshot(tick())
	ev, err := geo.CheckEvent(geo.EventRequest{Action: string(geo.ActReassign), Assignee: &geo.ContactJSON{Name: "王五", Phone: "13800000055"}}, "调度员")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddIncidentEvent(r.ctx, named.Number, "调度员", "", nil, at, func(inc *geo.Incident) (geo.IncidentChange, error) {
		return r.d.Decide(snap, inc, ev, at)
	}); err != nil {
		t.Fatal(err)
	}
	before := map[string]*geo.Incident{}
	for _, inc := range []*geo.Incident{open, accepted, resolved, named, other} {
		before[inc.Number] = r.incident(inc.Number)
	}

	// A successor on G1: the open cases of 曾11 go to them.
	when := tick()
	res := r.appoint(geo.Appointment{Role: geo.RoleLeader, GridCode: g1, Name: "新网格长", Phone: "13800000012", From: when}, when)
	if len(res.Ended) != 1 || res.Ended[0].Person.Name != "曾11" {
		t.Fatalf("ended: %+v", res.Ended)
	}
	for _, n := range []string{open.Number, accepted.Number} {
		was, inc := before[n], r.incident(n)
		if inc.Assignee.Name != "新网格长" || inc.Assignee.Role != geo.RoleLeader || inc.Status != geo.StDispatched || inc.GridCode != g1 {
			t.Errorf("%s: assignee %+v, status %s, grid %s; want the new leader, dispatched, on %s", n, inc.Assignee, inc.Status, inc.GridCode, g1)
		}
		hs := events(inc, geo.ActHandover)
		if len(hs) != 1 || hs[0].Actor != "管理员" || hs[0].ActorRole != string(geo.AccessAdmin) || hs[0].Level != geo.LevelGrid || !hs[0].At.Equal(when) || !strings.Contains(hs[0].Note, "曾11") ||
			!strings.Contains(hs[0].Note, g1) || hs[0].From != was.Status || hs[0].Assignee == nil || hs[0].Assignee.Name != "新网格长" {
			t.Errorf("%s: handover events %+v", n, hs)
		}
		if got := r.reassignedTo(n); !slices.Equal(got, sorted("13800000012", was.Assignee.Phone)) {
			t.Errorf("%s: reassigned messages to %v, want the successor and 曾11", n, got)
		}
		if !inc.DueAt.Equal(was.DueAt) {
			t.Errorf("%s: due %s → %s, want it kept", n, was.DueAt, inc.DueAt)
		}
	}
	for _, n := range []string{resolved.Number, named.Number, other.Number} {
		was, inc := before[n], r.incident(n)
		if len(events(inc, geo.ActHandover)) != 0 || !sameAssignee(inc.Assignee, was.Assignee) || inc.Status != was.Status {
			t.Errorf("%s (%s, with %s) changed: %+v, %s", n, was.Status, was.Assignee.Name, inc.Assignee, inc.Status)
		}
	}

	// No successor on G2: the fallback chain (no deputy, no liaison
	// leader) names the duty desk, as intake would.
	when = tick()
	if _, err := db.Vacate(r.ctx, geo.Appointment{Role: geo.RoleLeader, GridCode: g2, From: when}, "管理员", when); err != nil {
		t.Fatal(err)
	}
	inc := r.incident(other.Number)
	after := r.snapshot(when)
	g, _ := after.Grid(g2)
	want, _ := after.Assign("", g, geo.LevelGrid, when)
	if !sameAssignee(inc.Assignee, want) || want.Role != geo.RoleDutyDesk || len(events(inc, geo.ActHandover)) != 1 {
		t.Errorf("%s after the vacancy: %+v, want %+v with a handover event", other.Number, inc.Assignee, want)
	}
	if fresh := r.intake(112.016, 27.006, tick()); !sameAssignee(fresh.Assignee, inc.Assignee) {
		t.Errorf("intake now routes to %+v, the handed-over incident is with %+v", fresh.Assignee, inc.Assignee)
	}
}

// The handover is part of the appointment's transaction: when it cannot
// be written, the appointment is not either.
func TestRouting_handoverFailureUndoesTheAppointment(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	r := newRoutingEnv(t, db, time.Now())
	if _, err := db.ImportTown(r.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	inc := r.intake(112.005, 27.005, at.Add(time.Second))
	// A trigger refuses the incident's update, as a failing write would.
	if _, err := db.Pool.Exec(r.ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'refused'; END $$;
		CREATE TRIGGER refuse BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	when := at.Add(2 * time.Second)
	if _, err := db.Appoint(r.ctx, geo.Appointment{Role: geo.RoleLeader, GridCode: g1, Name: "新网格长", Phone: "13800000012", From: when},
		"管理员", when); err == nil {
		t.Fatal("the appointment went through though its handover failed")
	}
	staff, err := db.GridStaffAt(r.ctx, g1, when.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if staff.Leader == nil || staff.Leader.Person.Name != "曾11" || r.incident(inc.Number).Assignee.Name != "曾11" {
		t.Errorf("after the failed appointment: leader %+v, incident with %s", staff.Leader, r.incident(inc.Number).Assignee.Name)
	}
}

// A roster that names another leader hands the leaver's open incidents
// over as an appointment does.
func TestRouting_rosterHandsOver(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	r := newRoutingEnv(t, db, time.Now())
	if _, err := db.ImportTown(r.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	inc := r.intake(112.005, 27.005, at)
	if inc.Assignee.Name != "曾11" {
		t.Fatalf("intake: %+v", inc.Assignee)
	}
	when := at.Add(time.Second)
	report, err := db.ImportRoster(r.ctx, []geo.RosterRow{{Line: 2, Values: map[geo.RosterField]string{geo.RosterName: "新网格长",
		geo.RosterPhone: "13800000012", geo.RosterGridCode: g1, geo.RosterRole: "网格长"}}}, true, "管理员", when)
	if err != nil || !report.Applied {
		t.Fatalf("roster: %+v, %v", report, err)
	}
	got := r.incident(inc.Number)
	if got.Assignee.Name != "新网格长" || len(events(got, geo.ActHandover)) != 1 {
		t.Errorf("after the roster: assignee %+v, events %+v", got.Assignee, got.Events)
	}
}

// A person who leaves hands over the open incidents of every role they
// held, as a vacancy does.
func TestRouting_personLeavingHandsOver(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	r := newRoutingEnv(t, db, time.Now())
	if _, err := db.ImportTown(r.ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	r.appoint(geo.Appointment{Role: geo.RoleDeputy, GridCode: g2, Name: "副网格长", Phone: "13800000022", From: at}, at)
	inc := r.intake(112.015, 27.005, at.Add(time.Second))
	if inc.Assignee.Name != "曾12" {
		t.Fatalf("intake: %+v", inc.Assignee)
	}
	when := at.Add(2 * time.Second)
	if _, err := db.UpdatePerson(r.ctx, r.personID("曾12"), geo.PersonUpdate{End: when}, "管理员", when); err != nil {
		t.Fatal(err)
	}
	got := r.incident(inc.Number)
	if got.Assignee.Name != "副网格长" || got.Assignee.Reason != "no leader → deputy" || len(events(got, geo.ActHandover)) != 1 {
		t.Errorf("after 曾12 left: assignee %+v, events %+v", got.Assignee, got.Events)
	}
}
