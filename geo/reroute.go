package geo

import (
	"time"

	"github.com/paulmach/orb"
)

// Actions the service takes by itself on open incidents when what their
// routing was decided from changes; the store records each as an event.
const (
	// ActReroute moves an incident to the grid an applied plan puts its
	// location in.
	ActReroute Action = "reroute"
	// ActHandover moves an incident from a person whose appointment ended
	// to whoever takes that role's matters now.
	ActHandover Action = "handover"
)

// Reroute is routing decided again for an open incident: its grid (a plan
// moved a border under it) and who takes it. The store writes it, with an
// event of Action carrying Note and with Messages, in the transaction of
// the change that caused it. The due time stays: a resident's wait does
// not start again because the town redrew a line or replaced a cadre.
type Reroute struct {
	Action Action
	Note   string
	// GridCode, VillageCode, Match, DistanceM and Generation are as
	// Incident's: unchanged by a handover.
	GridCode    string
	VillageCode string
	Match       string
	DistanceM   float64
	Generation  int64
	CoNotified  []OrganizationRef
	// Assignee takes the incident now; the zero Assignee when nobody at
	// all is on duty (the incident then waits, received, as at intake).
	Assignee Assignee
	// To is the status after: like a reassignment, a new assignee must
	// accept the incident again (dispatched); otherwise it keeps its status.
	To Status
	// Changed reports whether the assignee changed; Messages (reassigned,
	// to the new assignee and the previous one) are sent only then.
	Changed  bool
	Messages []OutboxMessage
}

// RerouteToGrid decides where inc goes once a plan is applied: snap is the
// new generation, code the grid the plan's impact report puts inc's
// location in ("" for outside every grid). The assignee is chosen as
// intake chooses, through the fallback chain (leader, deputy, liaison
// leader, duty desk, skipping people on leave at now), at the level inc
// has reached, so an escalated incident stays escalated; the organizations
// co-notified are the new grid's. channels are those messages go through.
func (d Dispatcher) RerouteToGrid(snap *Snapshot, channels []Channel, inc *Incident, code string, now time.Time, note string) Reroute {
	r := Reroute{Action: ActReroute, Note: note, Generation: snap.Generation, Match: "outside"}
	var g *GridRecord
	if code != "" {
		g, _ = snap.Grid(code)
	}
	if g != nil {
		r.GridCode, r.VillageCode, r.Match = g.Code, g.VillageCode, "inside"
		if inc.Location != nil {
			// The index applies the boundary rule as the impact report's
			// query does; it only adds the match's name.
			if loc, ok := snap.Locate(orb.Point(*inc.Location), d.toleranceM); ok && loc.Grid.Code == g.Code {
				r.Match, r.DistanceM = loc.Match.String(), loc.DistanceM
			}
		}
	}
	r.CoNotified = d.cfg.CoNotified(g, inc.Category)
	return d.reassignFor(snap, channels, inc, g, r, now)
}

// Handover decides who takes inc when its assignee's appointment has
// ended: on snap (loaded after the change, so the successor holds the
// role), the fallback chain at the level inc has reached names the
// successor, or the deputy, the liaison leader or the duty desk when there
// is none or they are on leave. The grid stays.
func (d Dispatcher) Handover(snap *Snapshot, channels []Channel, inc *Incident, now time.Time, note string) Reroute {
	r := Reroute{Action: ActHandover, Note: note, GridCode: inc.GridCode, VillageCode: inc.VillageCode, Match: inc.Match,
		DistanceM: inc.DistanceM, Generation: inc.Generation, CoNotified: inc.CoNotified}
	g, _ := snap.Grid(inc.GridCode)
	return d.reassignFor(snap, channels, inc, g, r, now)
}

// reassignFor completes r with the assignee the fallback chain names for
// grid g at inc's level, the status after, and the messages.
func (d Dispatcher) reassignFor(snap *Snapshot, channels []Channel, inc *Incident, g *GridRecord, r Reroute, now time.Time) Reroute {
	prev := inc.Assignee
	a, onDuty := snap.Assign(inc.TownCode, g, inc.Assignee.Level, now)
	if onDuty {
		r.Assignee = a
	}
	r.To = inc.Status
	r.Changed = a.Name != prev.Name || a.Phone != prev.Phone || a.Role != prev.Role || a.Level != prev.Level
	if !r.Changed {
		return r
	}
	if to, err := Transition(inc.Status, ActReassign); err == nil {
		r.To = to
		if !onDuty {
			r.To = StReceived
		}
	}
	after := *inc
	after.Status, after.Assignee, after.GridCode, after.VillageCode, after.CoNotified = r.To, r.Assignee, r.GridCode, r.VillageCode, r.CoNotified
	r.Messages = d.Messages(channels, snap, &after, MsgReassigned, &prev, r.Note)
	return r
}
