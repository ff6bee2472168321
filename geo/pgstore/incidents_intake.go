package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// CreateIncident stores a routed incident with its first deadline, its
// first events (receive, and dispatch when it has an assignee), the
// messages messages gives (when not nil) and the audit entry, in one
// transaction. With an idempotency key, a retry of the same request (same
// key, same body hash) returns the incident first created and
// fresh=false; the same key with another body is EMISMATCH, also when the
// two requests run at the same time. Returns EUNAVAILABLE when the
// database cannot be reached.
//
// It takes two round trips: one reads the key's incident or takes the new
// incident's id (its number goes into its messages), one writes
// everything in a single statement and returns the incident as written,
// which is what the caller gets (no second read). Incidents created at
// the same time share these round trips and one commit (intake_batch.go).
func (db *DB) CreateIncident(ctx context.Context, inc *geo.Incident, key string, bodyHash []byte,
	messages func(*geo.Incident) []geo.OutboxMessage) (*geo.Incident, bool, error) {
	var out *geo.Incident
	var fresh bool
	var err error
	if IntakeBatchMax > 1 {
		out, fresh, err = db.createBatched(ctx, inc, key, bodyHash, messages)
	} else {
		out, fresh, err = db.createIncident(ctx, inc, key, bodyHash, messages)
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return out, fresh, nil
}

func (db *DB) createIncident(ctx context.Context, inc *geo.Incident, key string, bodyHash []byte,
	messages func(*geo.Incident) []geo.OutboxMessage) (*geo.Incident, bool, error) {
	keyArg := nullIfEmpty(key)
	var earlier *string
	var earlierHash []byte
	var id *int64
	var number *string
	if err := db.Pool.QueryRow(ctx, q("incident_intake_prepare"), inc.CreatedBy, keyArg).Scan(&earlier, &earlierHash, &id, &number); err != nil {
		return nil, false, err
	}
	if earlier != nil {
		out, err := sameRequest(ctx, db.Pool, *earlier, earlierHash, key, bodyHash)
		return out, false, err
	}
	if id == nil || number == nil {
		return nil, false, errors.New("pgstore: incident_intake_prepare gave no id")
	}
	inc.ID, inc.Number = *id, *number
	var msgs []geo.OutboxMessage
	if messages != nil {
		msgs = messages(inc)
	}
	args, err := createArgs(inc, keyArg, bodyHash, msgs)
	if err != nil {
		return nil, false, err
	}
	rows, _ := db.Pool.Query(ctx, q("incident_create"), args...)
	out, err := scanCreated(rows)
	if err != nil {
		return nil, false, err
	}
	if out == nil {
		// A concurrent request with the same key wrote first (the
		// statement waited for it to commit, then wrote nothing).
		out, err := incidentByKey(ctx, db.Pool, inc.CreatedBy, key, bodyHash)
		if err == nil && out == nil {
			err = fmt.Errorf("pgstore: incident %s was not written and no incident has key %q", inc.Number, key)
		}
		return out, false, err
	}
	return out, true, nil
}

// intakeRow is one incident's values as incident_create and
// incident_create_batch write them.
type intakeRow struct {
	inc                     *geo.Incident
	key                     *string
	hash                    []byte
	lon, lat, inLon, inLat  *float64
	role, town              *string
	dupMeters               float64
	dupSince                time.Time
	co, after               string
	evs                     []geo.IncidentEvent
	evRole, evName, evPhone []*string
	msgs                    []geo.OutboxMessage
	mention, fields         []string
}

// newIntakeRow gives the values of inc, whose ID and Number are taken, and
// its messages.
func newIntakeRow(inc *geo.Incident, key *string, bodyHash []byte, msgs []geo.OutboxMessage) (*intakeRow, error) {
	r := &intakeRow{inc: inc, key: key, hash: bodyHash, msgs: msgs}
	co, _ := json.Marshal(orgRefsJSON(inc.CoNotified))
	r.co = string(co)
	if inc.Location != nil {
		r.lon, r.lat = &inc.Location[0], &inc.Location[1]
		r.inLon, r.inLat = &inc.InputPoint[0], &inc.InputPoint[1]
	}
	if inc.Assignee.Role != "" {
		role := string(inc.Assignee.Role)
		r.role = &role
	}
	// Routed to a grid, the incident is in its grid's town, as the
	// trigger of migration 0018 would find; written with it, the trigger
	// is not called (migration 0035). Outside every grid the trigger
	// finds the town, nearest outline first, as before.
	if inc.GridCode != "" && inc.TownCode != "" {
		r.town = &inc.TownCode
	}
	// The duplicate check runs inside the insert, on the incidents
	// written before it (off without a location or a rule).
	r.dupMeters, r.dupSince = 0.0, inc.ReceivedAt
	if d := inc.DuplicateRule; inc.Location != nil && d.Meters > 0 {
		r.dupMeters, r.dupSince = d.Meters, inc.ReceivedAt.Add(-d.Within)
	}

	r.evs = []geo.IncidentEvent{{At: inc.ReceivedAt, Actor: inc.CreatedBy, ActorRole: inc.CreatedByRole,
		Action: geo.ActReceive, To: geo.StReceived, Note: "via " + string(inc.Source), Level: inc.Assignee.Level}}
	if inc.Status == geo.StDispatched {
		a := inc.Assignee
		r.evs = append(r.evs, geo.IncidentEvent{At: inc.ReceivedAt, Actor: "router", ActorRole: geo.SystemRole,
			Action: geo.ActDispatch, From: geo.StReceived, To: geo.StDispatched, Note: a.Reason, Level: a.Level, Assignee: &a})
	}
	for i := range r.evs {
		// As insertEvent writes an event.
		ev := &r.evs[i]
		var role, name, phone *string
		if ev.Assignee != nil {
			rl := string(ev.Assignee.Role)
			role, name, phone = &rl, &ev.Assignee.Name, &ev.Assignee.Phone
			ev.Level = ev.Assignee.Level
		}
		r.evRole, r.evName, r.evPhone = append(r.evRole, role), append(r.evName, name), append(r.evPhone, phone)
	}

	after, _ := json.Marshal(map[string]any{"grid": inc.GridCode, "category": inc.Category, "assignee": inc.Assignee.Name})
	r.after = string(after)

	// The messages, as insertMessages writes them; their ids are made in
	// the statement, which knows the event that caused them.
	for i := range msgs {
		msg := &msgs[i]
		msg.Incident = inc.Number
		if msg.Fields == nil {
			msg.Fields = map[string]string{}
		}
		msg.Fields["number"] = inc.Number
		fields, err := json.Marshal(msg.Fields)
		if err != nil {
			return nil, err
		}
		mention := msg.Mention
		if mention == nil {
			mention = []string{}
		}
		mentionJSON, _ := json.Marshal(mention)
		r.mention, r.fields = append(r.mention, string(mentionJSON)), append(r.fields, string(fields))
	}
	return r, nil
}

// createArgs are incident_create's parameters for inc, whose ID and Number
// are taken, and its messages.
func createArgs(inc *geo.Incident, key *string, bodyHash []byte, msgs []geo.OutboxMessage) ([]any, error) {
	r, err := newIntakeRow(inc, key, bodyHash, msgs)
	if err != nil {
		return nil, err
	}
	var e struct {
		actor, action, from, to, note, actorRole []*string
		level                                    []int16
	}
	for i := range r.evs {
		ev := &r.evs[i]
		e.actor = append(e.actor, &ev.Actor)
		e.action = append(e.action, nullIfEmpty(string(ev.Action)))
		e.from = append(e.from, nullIfEmpty(string(ev.From)))
		e.to = append(e.to, nullIfEmpty(string(ev.To)))
		e.note = append(e.note, &ev.Note)
		e.actorRole = append(e.actorRole, nullIfEmpty(ev.ActorRole))
		e.level = append(e.level, int16(ev.Level))
	}
	m := struct {
		channel                        []int64
		kind, name, phone, title, body []string
	}{}
	for i := range msgs {
		msg := &msgs[i]
		m.channel = append(m.channel, msg.ChannelID)
		m.kind = append(m.kind, string(msg.Kind))
		m.name, m.phone = append(m.name, msg.To.Name), append(m.phone, msg.To.Phone)
		m.title, m.body = append(m.title, msg.Title), append(m.body, msg.Text)
	}
	var notify *string
	if len(msgs) > 0 {
		n := OutboxChanged
		notify = &n
	}

	return []any{inc.ID,
		inc.Category, inc.Severity, inc.Source, inc.Status, inc.Description, inc.ReporterName, inc.ReporterPhone,
		r.lon, r.lat, inc.InputCRS, r.inLon, r.inLat,
		nullIfEmpty(inc.GridCode), nullIfEmpty(inc.VillageCode), inc.Match, nullIfZero(inc.DistanceM, inc.Match != "nearest"), nullIfZeroInt(inc.Generation),
		r.role, inc.Assignee.Name, inc.Assignee.Phone, inc.Assignee.Reason, int16(inc.Assignee.Level), []byte(r.co),
		inc.ReportedAt, inc.ReceivedAt, inc.DueAt, inc.CreatedBy, key, bodyHash,
		r.dupMeters, r.dupSince,
		e.actor, e.action, e.from, e.to, e.note, r.evRole, r.evName, r.evPhone, e.actorRole, e.level,
		string(geo.ActReceive), []byte(r.after), "incident.create",
		m.channel, m.kind, m.name, m.phone, r.mention, m.title, m.body, r.fields,
		notify, inc.Number, r.town}, nil
}

// scanCreated reads incident_create's rows into the incident they wrote,
// as getIncident would read it; nil when the statement wrote nothing.
func scanCreated(rows pgx.Rows) (*geo.Incident, error) {
	all, err := scanCreatedAll(rows)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return all[0], nil
}

// scanCreatedAll reads the rows of incident_create or
// incident_create_batch (ordered by incident, then event) into the
// incidents they wrote, in order.
func scanCreatedAll(rows pgx.Rows) ([]*geo.Incident, error) {
	var s incidentScan
	var ev geo.IncidentEvent
	var role, name, phone *string
	var level, dLevel int16
	var d geo.Deadline
	var missed, ended *time.Time
	var written int64
	var all []*geo.Incident
	var inc *geo.Incident
	dest := append(s.dest(), &ev.ID, &ev.At, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note, &role, &name, &phone,
		&ev.ActorRole, &level, &d.Seq, &dLevel, &d.DueAt, &d.SetAt, &d.SetBy, &missed, &ended, &written)
	_, err := pgx.ForEachRow(rows, dest, func() error {
		if inc == nil || inc.ID != s.inc.ID {
			inc = s.incident()
			dl := d
			dl.Level = geo.Level(dLevel)
			if missed != nil {
				dl.MissedAt = *missed
			}
			if ended != nil {
				dl.EndedAt = *ended
			}
			inc.Deadlines = []geo.Deadline{dl}
			all = append(all, inc)
		}
		// As getIncident reads an event.
		e := ev
		e.Level = geo.Level(level)
		if role != nil {
			e.Assignee = &geo.Assignee{Role: geo.Role(*role), Level: e.Level, Name: deref(name), Phone: deref(phone)}
		} else {
			e.Assignee = nil
		}
		inc.Events = append(inc.Events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, inc := range all {
		inc.CreatedByRole = inc.Events[0].ActorRole
	}
	return all, nil
}

// incidentByKey returns the incident created earlier with key, or nil; the
// same key with another body is EMISMATCH.
func incidentByKey(ctx context.Context, db rowQuerier, actor, key string, bodyHash []byte) (*geo.Incident, error) {
	var number string
	var hash []byte
	err := db.QueryRow(ctx, q("incident_by_key"), actor, key).Scan(&number, &hash)
	if err == pgx.ErrNoRows {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return sameRequest(ctx, db, number, hash, key, bodyHash)
}

// sameRequest returns incident number, created earlier under key from a
// request whose body hashed to hash, when bodyHash is that hash; else
// EMISMATCH.
func sameRequest(ctx context.Context, db rowQuerier, number string, hash []byte, key string, bodyHash []byte) (*geo.Incident, error) {
	if !bytes.Equal(hash, bodyHash) {
		return nil, geo.Errorf(geo.EMISMATCH, "Idempotency-Key %q was already used for incident %s with a different request body", key, number)
	}
	return getIncident(ctx, db, number, false)
}
