package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file decides routing again, inside the transaction of the change
// that makes it stale, for the open incidents that change concerns: a
// plan applied moves the ones whose location now lies in another grid
// (reroute), an appointment ended moves the ones its holder had
// (handover). The decision is geo.Dispatcher's, made on a snapshot read in
// the same transaction, so it is the one intake would make after the
// change: successors, deputies, fallbacks and leave included.

// dispatcher returns the dispatcher the store decides with: db.Dispatcher,
// or the defaults when it was not set.
func (db *DB) dispatcher() geo.Dispatcher {
	if db.Dispatcher.Config().DueIn == nil {
		return geo.NewDispatcher(geo.DispatchConfig{}, 0)
	}
	return db.Dispatcher
}

// openStatuses lists the statuses of open incidents, as the database
// spells them: the ones a plan's impact report and the reroute consider.
func openStatuses() []string {
	var open []string
	for _, s := range geo.Statuses {
		if s.Open() {
			open = append(open, string(s))
		}
	}
	return open
}

// rerouting is one transaction's re-decisions: who acts, in which role
// (the access role the change needs: planner to apply a plan, admin to end
// an appointment), when, and the snapshot (the generation and the people
// in office at that moment, read in the transaction) and channels, loaded
// once when first needed.
type rerouting struct {
	db        *DB
	tx        pgx.Tx
	actor     string
	actorRole geo.AccessRole
	at        time.Time
	snap      *geo.Snapshot
	channels  []geo.Channel
}

// load reads, once, the snapshot of the newest generation with the people
// in office at r.at, as the transaction sees them, and the channels.
func (r *rerouting) load(ctx context.Context) error {
	if r.snap != nil {
		return nil
	}
	var gen int64
	if err := r.tx.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
		return err
	}
	td := &geo.Area{}
	if err := loadArea(ctx, r.tx, td, gen, r.at); err != nil {
		return err
	}
	snap, err := geo.NewSnapshot(gen, td, r.at)
	if err != nil {
		return err
	}
	rows, _ := r.tx.Query(ctx, q("channels_all"))
	recs, err := pgx.CollectRows(rows, scanChannel)
	if err != nil {
		return err
	}
	for _, c := range recs {
		r.channels = append(r.channels, c.Channel)
	}
	r.snap = snap
	return nil
}

// rerouteMoves moves each incident of moves (the plan's impact report, as
// computed in this transaction) to the grid the report names, with a
// reroute event noting why. It returns the numbers moved, in order.
func (r *rerouting) rerouteMoves(ctx context.Context, moves []geo.IncidentMove, why string) ([]string, error) {
	if len(moves) == 0 {
		return nil, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	d := r.db.dispatcher()
	var done []string
	for _, m := range moves {
		inc, err := getIncident(ctx, r.tx, m.Number, true)
		if err != nil {
			return nil, err
		}
		note := fmt.Sprintf("%s: the location now lies in grid %s, no longer in %s", why, orNone(m.After), orNone(m.Before))
		if err := r.write(ctx, inc, d.RerouteToGrid(r.snap, r.channels, inc, m.After, r.at, note)); err != nil {
			return nil, err
		}
		done = append(done, inc.Number)
	}
	return done, nil
}

func orNone(code string) string {
	if code == "" {
		return "(none: outside every grid)"
	}
	return code
}

// handOver moves the open incidents the holders of the ended assignments
// had, in the role of the assignment on its scope, to whoever takes that
// role's matters now, each with a handover event. Incidents reassigned to
// a named person are theirs, not the role's, and stay. It returns the
// numbers moved.
func (r *rerouting) handOver(ctx context.Context, ended []geo.Assignment) ([]string, error) {
	if len(ended) == 0 {
		return nil, nil
	}
	var names, phones, roles, grids, villages []string
	for _, a := range ended {
		names, phones, roles = append(names, a.Person.Name), append(phones, a.Person.Phone), append(roles, string(a.Role))
		grids, villages = append(grids, a.GridCode), append(villages, a.VillageCode)
	}
	rows, _ := r.tx.Query(ctx, q("incidents_held_by"), openStatuses(), names, phones, roles, grids, villages)
	numbers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(numbers) == 0 {
		return nil, err
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	d := r.db.dispatcher()
	for _, n := range numbers {
		inc, err := getIncident(ctx, r.tx, n, false)
		if err != nil {
			return nil, err
		}
		why := &ended[0]
		for i, a := range ended {
			if a.Person.Name == inc.Assignee.Name && a.Person.Phone == inc.Assignee.Phone && a.Role == inc.Assignee.Role {
				why = &ended[i]
				break
			}
		}
		note := fmt.Sprintf("%s's appointment as %s of %s ended at %s", why.Person.Name, why.Role,
			(&geo.Appointment{GridCode: why.GridCode, VillageCode: why.VillageCode}).Target(), why.To.UTC().Format(time.RFC3339))
		if err := r.write(ctx, inc, d.Handover(r.snap, r.channels, inc, r.at, note)); err != nil {
			return nil, err
		}
	}
	return numbers, nil
}

// write stores the re-decision rr of the locked incident inc: its grid,
// assignee and status, the event, the messages and the audit entry.
func (r *rerouting) write(ctx context.Context, inc *geo.Incident, rr geo.Reroute) error {
	co, err := json.Marshal(orgRefsJSON(rr.CoNotified))
	if err != nil {
		return err
	}
	a := rr.Assignee
	var role *string
	if a.Role != "" {
		s := string(a.Role)
		role = &s
	}
	level := a.Level
	if a.Role == "" {
		level = inc.Assignee.Level
	}
	if _, err := r.tx.Exec(ctx, q("incident_reroute"), inc.ID, nullIfEmpty(rr.GridCode), nullIfEmpty(rr.VillageCode), rr.Match,
		nullIfZero(rr.DistanceM, rr.Match != "nearest"), nullIfZeroInt(rr.Generation), co, rr.To,
		role, a.Name, a.Phone, a.Reason, int(level)); err != nil {
		return err
	}
	ev := geo.IncidentEvent{At: r.at, Actor: r.actor, ActorRole: string(r.actorRole), Action: rr.Action, From: inc.Status, To: rr.To,
		Note: rr.Note, Level: level}
	if a.Role != "" {
		ev.Assignee = &a
	}
	eventID, err := insertEvent(ctx, r.tx, inc.ID, ev)
	if err != nil {
		return err
	}
	if err := insertMessages(ctx, r.tx, inc, eventID, rr.Messages, r.at); err != nil {
		return err
	}
	return audit(ctx, r.tx, r.at, r.actor, "incident."+string(rr.Action), "incident:"+inc.Number,
		map[string]any{"status": inc.Status, "grid": inc.GridCode, "assignee": inc.Assignee.Name},
		map[string]any{"status": rr.To, "grid": rr.GridCode, "assignee": a.Name}, "")
}

// rosterEnded lists every assignment an applied roster ended: the
// previous holders its rows replaced and the holders it did not list.
func rosterEnded(report *geo.RosterReport) []geo.Assignment {
	out := slices.Clone(report.Ended)
	for _, row := range report.Rows {
		out = append(out, row.Ended...)
	}
	return out
}
