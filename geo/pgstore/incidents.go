package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// rowQuerier is what both a pool and a transaction offer.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Incident returns the incident with its history. ENOTFOUND if unknown.
func (db *DB) Incident(ctx context.Context, number string) (*geo.Incident, error) {
	inc, err := getIncident(ctx, db.Pool, number, false)
	return inc, unavailable(err)
}

// AddIncidentEvent appends an event to an incident in one transaction: the
// incident is locked, decide (the state machine, in the caller) sees it as
// it is and returns the change, or an error (e.g. ECONFLICT for an illegal
// transition), in which case nothing is written. With an idempotency key,
// a retry by the same actor with the same body hash returns the incident
// as it is now without deciding again (the lock orders it after the
// first); the same key with another body is EMISMATCH.
func (db *DB) AddIncidentEvent(ctx context.Context, number, actor, key string, bodyHash []byte, at time.Time,
	decide func(*geo.Incident) (geo.IncidentChange, error)) (*geo.Incident, error) {
	var out *geo.Incident
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		inc, err := getIncident(ctx, tx, number, true)
		if err != nil {
			return err
		}
		if key != "" {
			if replay, err := eventKeySeen(ctx, tx, inc, actor, key, bodyHash); replay || err != nil {
				out = inc
				return err
			}
		}
		ch, err := decide(inc)
		if err != nil {
			return err
		}
		if err := applyChange(ctx, tx, inc, ch, actor, at); err != nil {
			return err
		}
		if key != "" {
			if _, err := tx.Exec(ctx, q("incident_event_key_insert"), inc.ID, actor, key, bodyHash); err != nil {
				return err
			}
		}
		out, err = getIncident(ctx, tx, number, false)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// eventKeySeen reports whether actor already posted an event to the locked
// incident inc with key: true for the same body hash, EMISMATCH for
// another.
func eventKeySeen(ctx context.Context, tx pgx.Tx, inc *geo.Incident, actor, key string, bodyHash []byte) (bool, error) {
	var hash []byte
	err := tx.QueryRow(ctx, q("incident_event_by_key"), inc.ID, actor, key).Scan(&hash)
	switch {
	case err == pgx.ErrNoRows:
		return false, nil
	case err != nil:
		return false, err
	case !bytes.Equal(hash, bodyHash):
		return false, geo.Errorf(geo.EMISMATCH, "Idempotency-Key %q was already used on incident %s with a different request body", key, inc.Number)
	}
	return true, nil
}

// applyChange writes ch to the locked incident and appends its event:
// the status and assignee, and the record — the deadline in force ends
// (missed if past) when ch sets a new one or the incident stops waiting,
// completion, escalations, suspension, a correction, a merge.
func applyChange(ctx context.Context, tx pgx.Tx, inc *geo.Incident, ch geo.IncidentChange, actor string, at time.Time) error {
	from := inc.Status
	a := inc.Assignee
	if ch.Assignee != nil {
		a = *ch.Assignee
	}
	var target *geo.Incident
	if ch.MergeInto != "" {
		var err error
		if target, err = mergeTarget(ctx, tx, inc, ch.MergeInto); err != nil {
			return err
		}
	}
	r := recordOf(inc)
	due := inc.DueAt
	resolved, closed := timeOrNil(inc.ResolvedAt), timeOrNil(inc.ClosedAt)
	switch ch.To {
	case geo.StResolved:
		resolved = &at
	case geo.StClosed:
		closed = &at
	case geo.StReopened:
		resolved, closed = nil, nil
	}
	switch {
	case ch.Complete:
		r.completed, r.onTime = &at, &ch.OnTime
	case ch.To == geo.StReopened:
		// Not done after all (a dispatcher or an unsatisfied resident
		// reopened it): it counts again when verified again.
		r.completed, r.onTime = nil, nil
	}
	if ch.OutcomeReason != "" {
		r.outcome = ch.OutcomeReason
	}
	if ch.Escalated {
		r.escalations++
	}
	r.maxLevel = max(r.maxLevel, a.Level)
	open := len(inc.Deadlines) > 0 && inc.Deadlines[len(inc.Deadlines)-1].EndedAt.IsZero()
	var current geo.Deadline
	if open {
		current = inc.Deadlines[len(inc.Deadlines)-1]
	}
	switch {
	case ch.To == geo.StSuspended && from != geo.StSuspended:
		r.suspendedAt = &at
	case from == geo.StSuspended && ch.To != geo.StSuspended:
		// Resumed, or ended (cancelled, merged) while suspended.
		r.suspendedAt = nil
		r.suspendedSeconds += int64(at.Sub(inc.SuspendedAt) / time.Second)
	}
	if ch.Resumed > 0 {
		due = due.Add(ch.Resumed)
		if open {
			if _, err := tx.Exec(ctx, q("incident_deadline_shift"), inc.ID, current.Seq, ch.Resumed); err != nil {
				return err
			}
			current.DueAt = current.DueAt.Add(ch.Resumed)
		}
	}
	if open && (!ch.DueAt.IsZero() || from.Open() && !ch.To.Open()) {
		// The deadline in force ends; time past it counts until now, or
		// until the suspension it ends in began.
		end := at
		if !inc.SuspendedAt.IsZero() {
			end = inc.SuspendedAt
		}
		var missed *time.Time
		if end.After(current.DueAt) {
			missed = &at
			r.overdueSeconds += int64(end.Sub(current.DueAt) / time.Second)
		}
		if _, err := tx.Exec(ctx, q("incident_deadline_end"), inc.ID, current.Seq, at, missed); err != nil {
			return err
		}
	}
	if !ch.DueAt.IsZero() {
		due = ch.DueAt
		if _, err := tx.Exec(ctx, q("incident_deadline_insert"), inc.ID, len(inc.Deadlines)+1, int(a.Level), due, at, ch.Action); err != nil {
			return err
		}
	}
	var role *string
	if a.Role != "" {
		r := string(a.Role)
		role = &r
	}
	mergedInto := inc.MergedInto
	if ch.MergeInto != "" {
		mergedInto = ch.MergeInto
	}
	if _, err := tx.Exec(ctx, q("incident_update"), inc.ID, ch.To, role, a.Name, a.Phone, a.Reason, int(a.Level), due, resolved, closed,
		r.escalations, int(r.maxLevel), r.completed, r.onTime, r.outcome, r.suspendedAt, r.suspendedSeconds, r.overdueSeconds,
		nullIfEmpty(mergedInto)); err != nil {
		return err
	}
	if c := ch.Correction; c != nil {
		if err := correct(ctx, tx, inc.ID, c); err != nil {
			return err
		}
	}
	eventID, err := insertEvent(ctx, tx, inc.ID, geo.IncidentEvent{At: at, Actor: actor, ActorRole: ch.ActorRole, Action: ch.Action,
		From: from, To: ch.To, Note: ch.Note, Level: a.Level, Assignee: ch.Assignee})
	if err != nil {
		return err
	}
	if target != nil {
		if err := recordMerge(ctx, tx, inc, target, ch, actor, at); err != nil {
			return err
		}
	}
	if err := insertMessages(ctx, tx, inc, eventID, ch.Messages, at); err != nil {
		return err
	}
	if ch.RatingToken != "" {
		hash := geo.HashRatingToken(ch.RatingToken)
		if _, err := tx.Exec(ctx, q("rating_request_insert"), inc.ID, hash[:], at, at.Add(geo.RatingValidity)); err != nil {
			return err
		}
	}
	return audit(ctx, tx, at, actor, "incident."+string(ch.Action), "incident:"+inc.Number,
		map[string]any{"status": from, "assignee": inc.Assignee.Name}, map[string]any{"status": ch.To, "assignee": a.Name}, "")
}

// record is the part of an incident's row that keeps its history honest,
// as applyChange rewrites it.
type record struct {
	escalations                      int
	maxLevel                         geo.Level
	completed                        *time.Time
	onTime                           *bool
	outcome                          string
	suspendedAt                      *time.Time
	suspendedSeconds, overdueSeconds int64
}

func recordOf(inc *geo.Incident) record {
	return record{escalations: inc.EscalationCount, maxLevel: inc.MaxLevel, completed: timeOrNil(inc.CompletedAt), onTime: inc.OnTime,
		outcome: inc.OutcomeReason, suspendedAt: timeOrNil(inc.SuspendedAt), suspendedSeconds: inc.SuspendedSeconds,
		overdueSeconds: inc.OverdueSeconds}
}

// correct writes a correction's category, place and routing.
func correct(ctx context.Context, tx pgx.Tx, id int64, c *geo.Correction) error {
	co, _ := json.Marshal(orgRefsJSON(c.CoNotified))
	var lon, lat, inLon, inLat *float64
	if c.Location != nil {
		lon, lat = &c.Location[0], &c.Location[1]
		inLon, inLat = &c.InputPoint[0], &c.InputPoint[1]
	}
	_, err := tx.Exec(ctx, q("incident_correct"), id, c.Category, lon, lat, c.InputCRS, inLon, inLat,
		nullIfEmpty(c.GridCode), nullIfEmpty(c.VillageCode), c.Match, nullIfZero(c.DistanceM, c.Match != "nearest"), nullIfZeroInt(c.Generation), co, nullIfEmpty(c.TownCode))
	return err
}

// mergeTarget locks (after dup) and returns the incident number dup is to
// be merged into: EINVALID when there is no such incident; see
// geo.CheckMerge for the others.
func mergeTarget(ctx context.Context, tx pgx.Tx, dup *geo.Incident, number string) (*geo.Incident, error) {
	target, err := getIncident(ctx, tx, number, true)
	if geo.ErrorCode(err) == geo.ENOTFOUND {
		return nil, geo.Invalidf("into", "no incident %s", geo.Clip(number))
	} else if err != nil {
		return nil, err
	}
	return target, geo.CheckMerge(dup, target)
}

// recordMerge records, on the incident dup was merged into, dup's
// reporter as a contact and a merge event.
func recordMerge(ctx context.Context, tx pgx.Tx, dup, target *geo.Incident, ch geo.IncidentChange, actor string, at time.Time) error {
	if _, err := tx.Exec(ctx, q("incident_contact_insert"), target.ID, dup.ID, dup.ReporterName, dup.ReporterPhone, at); err != nil {
		return err
	}
	_, err := insertEvent(ctx, tx, target.ID, geo.IncidentEvent{At: at, Actor: actor, ActorRole: ch.ActorRole, Action: geo.ActMerge,
		From: target.Status, To: target.Status, Level: target.Assignee.Level,
		Note: "merged " + dup.Number + " into this incident: its reporter is kept as a contact. " + ch.Note})
	return err
}

// EscalateOverdue escalates, one level each, the open incidents past their
// due time at now (up to limit per call). Only one replica acts at a time:
// the others find the advisory lock taken and return 0 at once. next
// decides the change (the new assignee and due time) for each incident.
func (db *DB) EscalateOverdue(ctx context.Context, now time.Time, limit int,
	next func(*geo.Incident) (geo.IncidentChange, bool)) (escalated int, err error) {
	err = eachLockedIncident(ctx, db, q("incidents_overdue"), []any{now, limit}, func(tx pgx.Tx, inc *geo.Incident) error {
		ch, ok := next(inc)
		if !ok {
			return nil
		}
		escalated++
		if ch.ActorRole == "" {
			ch.ActorRole = geo.SystemRole
		}
		return applyChange(ctx, tx, inc, ch, "escalator", now)
	}, func(tx pgx.Tx) error {
		// Deadlines past that no escalation replaced (the town's, or
		// with nobody higher) are on the record as missed too.
		_, err := tx.Exec(ctx, q("incident_deadlines_missed"), now)
		return err
	})
	return escalated, unavailable(err)
}

// eachLockedIncident runs fn, in one transaction, on each incident that
// query (with args) selects FOR UPDATE SKIP LOCKED, numbers in its first
// column — if this replica holds the escalator's lock; otherwise another
// replica is at it and nothing runs.
func eachLockedIncident(ctx context.Context, db *DB, query string, args []any, fn func(pgx.Tx, *geo.Incident) error,
	after ...func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, q("escalation_lock")).Scan(&mine); err != nil || !mine {
			return err
		}
		rows, _ := tx.Query(ctx, query, args...)
		numbers, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range numbers {
			inc, err := getIncident(ctx, tx, n, false)
			if err != nil {
				return err
			}
			if err := fn(tx, inc); err != nil {
				return err
			}
		}
		for _, f := range after {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertEvent appends ev to the incident's history and returns its id. An
// event that hands the incident to someone is at their level.
func insertEvent(ctx context.Context, tx pgx.Tx, incidentID int64, ev geo.IncidentEvent) (int64, error) {
	var role, name, phone *string
	if ev.Assignee != nil {
		r := string(ev.Assignee.Role)
		role, name, phone = &r, &ev.Assignee.Name, &ev.Assignee.Phone
		ev.Level = ev.Assignee.Level
	}
	var id int64
	err := tx.QueryRow(ctx, q("incident_event_insert"), incidentID, ev.At, ev.Actor, ev.Action,
		nullIfEmpty(string(ev.From)), ev.To, ev.Note, role, name, phone, nullIfEmpty(ev.ActorRole), int(ev.Level)).Scan(&id)
	return id, err
}

// incidentScan holds one row of incident_rows while it is scanned.
type incidentScan struct {
	inc                  geo.Incident
	lon, lat, iLon, iLat *float64
	role                 string
	level, maxLevel      int16
	co                   []byte
	resolved, closed     *time.Time
	completed, suspended *time.Time
}

func (s *incidentScan) dest() []any {
	i := &s.inc
	return []any{&i.ID, &i.Number, &i.Category, &i.Severity, &i.Source, &i.Status, &i.Description, &i.ReporterName, &i.ReporterPhone,
		&s.lon, &s.lat, &i.InputCRS, &s.iLon, &s.iLat,
		&i.GridCode, &i.VillageCode, &i.Match, &i.DistanceM, &i.Generation,
		&s.role, &i.Assignee.Name, &i.Assignee.Phone, &i.Assignee.Reason, &s.level, &s.co,
		&i.ReportedAt, &i.ReceivedAt, &i.DueAt, &s.resolved, &s.closed, &i.CreatedBy,
		&i.FirstDueAt, &i.EscalationCount, &s.maxLevel, &s.completed, &i.OnTime, &i.OutcomeReason,
		&i.MergedInto, &i.PossibleDuplicateOf, &s.suspended, &i.SuspendedSeconds, &i.OverdueSeconds, &i.TownCode}
}

func (s *incidentScan) incident() *geo.Incident {
	inc := s.inc
	if s.lon != nil && s.lat != nil {
		inc.Location = &[2]float64{*s.lon, *s.lat}
	}
	if s.iLon != nil && s.iLat != nil {
		inc.InputPoint = &[2]float64{*s.iLon, *s.iLat}
	}
	inc.Assignee.Role, inc.Assignee.Level = geo.Role(s.role), geo.Level(s.level)
	var refs []orgRefJSON
	json.Unmarshal(s.co, &refs)
	for _, r := range refs {
		inc.CoNotified = append(inc.CoNotified, geo.OrganizationRef{Kind: geo.OrgKind(r.Kind), Name: r.Name})
	}
	if s.resolved != nil {
		inc.ResolvedAt = *s.resolved
	}
	if s.closed != nil {
		inc.ClosedAt = *s.closed
	}
	inc.MaxLevel = geo.Level(s.maxLevel)
	if s.completed != nil {
		inc.CompletedAt = *s.completed
	}
	if s.suspended != nil {
		inc.SuspendedAt = *s.suspended
	}
	if inc.OnTime != nil {
		// Scanning reuses s: the row's flag must not be shared.
		v := *inc.OnTime
		inc.OnTime = &v
	}
	return &inc
}

// getIncident reads an incident and its events, locking it when forUpdate.
func getIncident(ctx context.Context, db rowQuerier, number string, forUpdate bool) (*geo.Incident, error) {
	query := q("incident_get")
	if forUpdate {
		query = q("incident_get_for_update")
	}
	var s incidentScan
	if err := db.QueryRow(ctx, query, number).Scan(s.dest()...); err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "no incident %s", number)
	} else if err != nil {
		return nil, err
	}
	inc := s.incident()
	rows, _ := db.Query(ctx, q("incident_events"), inc.ID)
	var ev geo.IncidentEvent
	var role, name, phone *string
	var level int16
	_, err := pgx.ForEachRow(rows, []any{&ev.ID, &ev.At, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note, &role, &name, &phone,
		&ev.ActorRole, &level}, func() error {
		e := ev
		e.Level = geo.Level(level)
		if role != nil {
			e.Assignee = &geo.Assignee{Role: geo.Role(*role), Level: e.Level, Name: deref(name), Phone: deref(phone)}
		}
		inc.Events = append(inc.Events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(inc.Events) > 0 {
		inc.CreatedByRole = inc.Events[0].ActorRole
	}
	rows, _ = db.Query(ctx, q("incident_deadlines"), inc.ID)
	var d geo.Deadline
	var missed, ended *time.Time
	_, err = pgx.ForEachRow(rows, []any{&d.Seq, &level, &d.DueAt, &d.SetAt, &d.SetBy, &missed, &ended}, func() error {
		dl := d
		dl.Level = geo.Level(level)
		if missed != nil {
			dl.MissedAt = *missed
		}
		if ended != nil {
			dl.EndedAt = *ended
		}
		inc.Deadlines = append(inc.Deadlines, dl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, _ = db.Query(ctx, q("incident_contacts"), inc.ID)
	var c geo.MergedContact
	_, err = pgx.ForEachRow(rows, []any{&c.From, &c.ReporterName, &c.ReporterPhone, &c.At}, func() error {
		inc.Contacts = append(inc.Contacts, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// ListIncidents returns a page of incidents matching f, newest first, and
// the cursor of the next page (0 when this is the last).
func (db *DB) ListIncidents(ctx context.Context, f geo.IncidentFilter) ([]*geo.Incident, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var statuses []string
	for _, s := range f.Statuses {
		statuses = append(statuses, string(s))
	}
	var bbox []float64
	if f.BBox != nil {
		bbox = f.BBox[:]
	}
	var after *int64
	if f.After > 0 {
		after = &f.After
	}
	rows, _ := db.Pool.Query(ctx, q("incidents_list"), nullIfEmpty(f.GridCode), nullIfEmpty(f.VillageCode), nilIfEmpty(statuses),
		nullIfEmpty(string(f.Category)), f.Overdue, f.Now, timeOrNil(f.From), timeOrNil(f.To), nilIfEmpty(bbox), after, limit+1,
		nullIfEmpty(f.TownCode))
	var out []*geo.Incident
	var s incidentScan
	_, err := pgx.ForEachRow(rows, s.dest(), func() error {
		out = append(out, s.incident())
		return nil
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// IncidentStats computes the figures of f's scope (grid, village,
// category, received time range) at now.
func (db *DB) IncidentStats(ctx context.Context, f geo.IncidentFilter) (*geo.IncidentStats, error) {
	rows, _ := db.Pool.Query(ctx, q("incidents_stats"), nullIfEmpty(f.GridCode), nullIfEmpty(f.VillageCode),
		nullIfEmpty(string(f.Category)), timeOrNil(f.From), timeOrNil(f.To), f.Now, nullIfEmpty(f.TownCode))
	st := &geo.IncidentStats{ByCategory: map[geo.Category]geo.CategoryStats{}}
	var cat *string
	var received, closed, completed, overdue int
	var median, p90 *float64
	_, err := pgx.ForEachRow(rows, []any{&cat, &received, &closed, &completed, &median, &p90, &overdue}, func() error {
		if cat != nil {
			st.ByCategory[geo.Category(*cat)] = geo.CategoryStats{Received: received, Closed: closed, Completed: completed}
			return nil
		}
		st.Received, st.Closed, st.Completed, st.OverdueNow = received, closed, completed, overdue
		st.MedianHoursToClose, st.P90HoursToClose = median, p90
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if st.Received > 0 {
		st.CompletionRate = float64(st.Completed) / float64(st.Received)
	}
	sat := &st.Satisfaction
	if err := db.Pool.QueryRow(ctx, q("ratings_stats"), nullIfEmpty(f.GridCode), nullIfEmpty(f.VillageCode),
		nullIfEmpty(string(f.Category)), timeOrNil(f.From), timeOrNil(f.To), nullIfEmpty(f.TownCode)).Scan(
		&sat.Requested, &sat.Rated, &sat.Satisfied, &sat.Basic, &sat.Unsatisfied); err != nil {
		return nil, unavailable(err)
	}
	if sat.Rated > 0 {
		rate := float64(sat.Satisfied+sat.Basic) / float64(sat.Rated)
		sat.Rate = &rate
	}
	return st, nil
}

type orgRefJSON struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func orgRefsJSON(refs []geo.OrganizationRef) []orgRefJSON {
	out := make([]orgRefJSON, len(refs))
	for i, r := range refs {
		out[i] = orgRefJSON{Kind: string(r.Kind), Name: r.Name}
	}
	return out
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nilIfEmpty makes an empty slice NULL for "no filter" parameters.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nullIfZero(v float64, null bool) *float64 {
	if null {
		return nil
	}
	return &v
}

func nullIfZeroInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
