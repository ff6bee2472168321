package pgstore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// Applying a plan moves every open incident the impact report lists to the
// grid it names, and no other: the report and the result are held to each
// other incident by incident. The plan moves G1's east border 0.002° into
// G2, so the strip x in [112.010, 112.012) changes grid:
//
//	        G1            G2
//	27.01 +-----------+--+--------+
//	      |  A  B  E  |D.| C      |   A, B, E: open, in the strip
//	27.00 +-----------+--+--------+   D: resolved, in the strip; C: stays
//	   112.00      112.010 112.012  112.02
//
// G1's leader is on leave, so the moved incidents go to G1's deputy, as
// intake would send a new one; E was escalated to the village liaison
// leader and stays with them.
func TestRouting_applyMovesWhatImpactSaid(t *testing.T) {
	e := newPlanEnv(t)
	r := newRoutingEnv(t, e.db, e.tick())
	r.appoint(geo.Appointment{Role: geo.RoleDutyDesk, Name: "镇值班室", Phone: "13800000099", From: e.now}, e.tick())
	r.appoint(geo.Appointment{Role: geo.RoleDeputy, GridCode: g1, Name: "副网格长", Phone: "13800000011", From: e.now}, e.tick())
	r.appoint(geo.Appointment{Role: geo.RoleLiaisonLeader, VillageCode: v1, Name: "联村组长", Phone: "13800000021", From: e.now}, e.tick())
	start := e.tick()

	in := func(lon, lat float64) string { return r.intake(lon, lat, e.tick()).Number }
	a, b, c, d, esc := in(112.011, 27.005), in(112.0115, 27.002), in(112.015, 27.005), in(112.0112, 27.008), in(112.0118, 27.003)
	r.act(b, geo.ActAccept, e.tick())
	r.act(d, geo.ActAccept, e.tick())
	r.act(d, geo.ActResolve, e.tick())
	r.act(esc, geo.ActEscalate, e.tick())
	if inc := r.incident(esc); inc.Assignee.Role != geo.RoleLiaisonLeader || inc.GridCode != g2 {
		t.Fatalf("the escalated incident: %+v", inc.Assignee)
	}
	leave := geo.Leave{Period: geo.Period{From: start, To: start.Add(72 * time.Hour)}, Note: "病假"}
	if _, err := e.db.AddLeave(e.ctx, r.personID("曾11"), leave, "管理员", e.tick()); err != nil {
		t.Fatal(err)
	}

	e.edit(g1, rect(112.00, 27.00, 112.012, 27.01))
	e.edit(g2, rect(112.012, 27.00, 112.02, 27.01))
	before := map[string]*geo.Incident{}
	for _, n := range []string{a, b, c, d, esc} {
		before[n] = r.incident(n)
	}
	im, err := e.db.PlanImpact(e.ctx, e.plan, e.tick())
	if err != nil {
		t.Fatal(err)
	}
	said := map[string]geo.IncidentMove{}
	for _, m := range im.Incidents {
		said[m.Number] = m
	}
	if want := []string{a, b, esc}; len(said) != len(want) || !allIn(said, want) {
		t.Fatalf("the impact report lists %v, want %v (open, in the strip)", im.Incidents, want)
	}

	p, err := e.apply(1)
	if err != nil {
		t.Fatal(err)
	}
	applied := p.AppliedAt
	after := r.snapshot(applied)
	for _, n := range []string{a, b, c, d, esc} {
		was, inc := before[n], r.incident(n)
		reroutes := events(inc, geo.ActReroute)
		m, listed := said[n]
		if !listed {
			if len(reroutes) != 0 || inc.GridCode != was.GridCode || !sameAssignee(inc.Assignee, was.Assignee) || inc.Status != was.Status {
				t.Errorf("%s, not in the impact report, changed: grid %s → %s, assignee %+v → %+v, events %v",
					n, was.GridCode, inc.GridCode, was.Assignee, inc.Assignee, reroutes)
			}
			continue
		}
		if inc.GridCode != m.After || inc.VillageCode != v1 || inc.Generation != p.AppliedGeneration || inc.Match != "inside" {
			t.Errorf("%s: the report said grid %s, the incident is in %s (village %s, generation %d, match %s)",
				n, m.After, inc.GridCode, inc.VillageCode, inc.Generation, inc.Match)
		}
		// The oracle: the fallback chain on the generation as committed,
		// at the level the incident had reached.
		g, _ := after.Grid(m.After)
		want, ok := after.Assign(was.TownCode, g, was.Assignee.Level, applied)
		if !ok || !sameAssignee(inc.Assignee, want) {
			t.Errorf("%s: assignee %+v, want %+v", n, inc.Assignee, want)
		}
		if len(reroutes) != 1 {
			t.Fatalf("%s: %d reroute events, want 1: %+v", n, len(reroutes), inc.Events)
		}
		ev := reroutes[0]
		if ev.Actor != "planner-1" || ev.ActorRole != string(geo.AccessPlanner) || ev.Level != inc.Assignee.Level || !ev.At.Equal(applied) || !strings.Contains(ev.Note, fmt.Sprintf("plan %d", e.plan)) ||
			!strings.Contains(ev.Note, m.After) || ev.From != was.Status || ev.To != inc.Status {
			t.Errorf("%s: reroute event %+v", n, ev)
		}
		if !inc.DueAt.Equal(was.DueAt) {
			t.Errorf("%s: due %s → %s, want it kept", n, was.DueAt, inc.DueAt)
		}
		moved := !sameAssignee(was.Assignee, inc.Assignee)
		msgs := r.reassignedTo(n)
		switch {
		case moved && (inc.Status != geo.StDispatched || !slices.Equal(msgs, sorted(want.Phone, was.Assignee.Phone))):
			t.Errorf("%s went to %s: status %s, messages %v; want dispatched, told to both", n, inc.Assignee.Name, inc.Status, msgs)
		case !moved && (inc.Status != was.Status || len(msgs) != 0):
			t.Errorf("%s kept its assignee: status %s → %s, messages %v", n, was.Status, inc.Status, msgs)
		}
	}
	// The leader on leave is skipped as at intake; the escalated incident
	// keeps its level and its liaison leader.
	if got := r.incident(a).Assignee; got.Name != "副网格长" || got.Reason != "leader on leave → deputy" {
		t.Errorf("%s: assignee %+v, want G1's deputy standing in for the leader on leave", a, got)
	}
	if got := r.incident(esc).Assignee; got.Role != geo.RoleLiaisonLeader || got.Level != geo.LevelVillage {
		t.Errorf("%s: assignee %+v, want the liaison leader, still at the village level", esc, got)
	}
	// Intake after the apply routes a complaint at A's place where A went.
	pa := r.incident(a).Location
	if now := r.intake(pa[0], pa[1], e.tick()); now.GridCode != r.incident(a).GridCode || now.Assignee.Name != r.incident(a).Assignee.Name {
		t.Errorf("a new complaint at %v goes to %s (%s), the rerouted one is with %s (%s)",
			orb.Point(*pa), now.GridCode, now.Assignee.Name, r.incident(a).GridCode, r.incident(a).Assignee.Name)
	}
}

func allIn(m map[string]geo.IncidentMove, keys []string) bool {
	return !slices.ContainsFunc(keys, func(k string) bool { _, ok := m[k]; return !ok })
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
