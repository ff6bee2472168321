package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// The people store: people, appointments, leave. Every write runs in one
// transaction that also appends to the audit log and announces the change
// (people_notify), so that every replica reloads the snapshot dispatch
// routes from.

// usec rounds t to the microsecond, PostgreSQL's resolution: a time kept
// finer in Go would compare as later than the same time read back, and an
// assignment ended "at its start" would slip past the checks below.
func usec(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// peopleTx runs fn in a transaction that announces the change before it
// commits, and maps the database's refusals (exclusion, uniqueness and
// period constraints) to ECONFLICT.
func (db *DB) peopleTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("people_notify"))
		return err
	})
	return unavailable(peopleConflict(err))
}

// peopleConflict classifies a PostgreSQL refusal by SQLSTATE and
// constraint name; other errors pass through.
func peopleConflict(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	msg := ""
	switch pgErr.ConstraintName {
	case "one_leader_per_grid":
		msg = "the grid already has a leader in that period: another appointment was recorded meanwhile; reload and retry"
	case "one_deputy_per_grid":
		msg = "the grid already has a deputy in that period: another appointment was recorded meanwhile; reload and retry"
	case "one_liaison_leader_per_village":
		msg = "the village already has a liaison leader in that period: another appointment was recorded meanwhile; reload and retry"
	case "one_duty_desk_per_town":
		msg = "the town already has a duty desk in that period: another appointment was recorded meanwhile; reload and retry"
	case "one_membership_per_grid":
		msg = "the person is already a member of the grid in that period"
	case "people_active_identity":
		msg = "a person of that name and phone has not left: use them (GET /v1/people?name=…) instead of registering them again"
	case "assignment_period":
		msg = "an assignment would end at or before its start: it was recorded at the same instant; retry later"
	default:
		return err
	}
	switch pgErr.Code {
	case "23P01", "23505", "23514": // exclusion, unique, check violation
		return geo.Errorf(geo.ECONFLICT, "%s", msg)
	}
	return err
}

// assignmentCols are the destinations of an assignment row (see
// sql/people.sql), filled into a.
func assignmentCols(a *geo.Assignment, personEnded **time.Time, to **time.Time) []any {
	return []any{&a.ID, &a.Person.ID, &a.Person.Name, &a.Person.Phone, personEnded, &a.Role, &a.GridCode, &a.VillageCode, &a.From, to}
}

// collectAssignments reads assignment rows.
func collectAssignments(rows pgx.Rows, err error) ([]geo.Assignment, error) {
	if err != nil {
		return nil, err
	}
	var out []geo.Assignment
	var a geo.Assignment
	var ended, to *time.Time
	_, err = pgx.ForEachRow(rows, assignmentCols(&a, &ended, &to), func() error {
		a.Person.EndedAt, a.To = timeOrZero(ended), timeOrZero(to)
		a.From = a.From.UTC()
		out = append(out, a)
		return nil
	})
	return out, err
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// CreatePerson stores a new person. EINVALID for a bad name or phone;
// ECONFLICT when a person of that name and phone has not left.
func (db *DB) CreatePerson(ctx context.Context, p geo.NewPerson, actor string, now time.Time) (*geo.PersonRecord, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	now = usec(now)
	var out *geo.PersonRecord
	err := db.peopleTx(ctx, func(tx pgx.Tx) error {
		if id, err := personByIdentity(ctx, tx, p.Name, p.Phone); err != nil {
			return err
		} else if id != 0 {
			return geo.Errorf(geo.ECONFLICT, "person %d is already %s with phone %s and has not left", id, p.Name, p.Phone)
		}
		var id int64
		if err := tx.QueryRow(ctx, q("person_insert"), p.Name, p.Phone, now).Scan(&id); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, "person.create", personTarget(id), nil, map[string]any{"name": p.Name}, ""); err != nil {
			return err
		}
		var err error
		out, err = personRecord(ctx, tx, id, now, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func personTarget(id int64) string { return fmt.Sprintf("person:%d", id) }

// personByIdentity returns the id of the person of name and phone who has
// not left, or 0.
func personByIdentity(ctx context.Context, tx pgx.Tx, name, phone string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, q("person_by_identity"), name, phone).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// Person returns a person with the roles held at at, every assignment they
// held and their leave. ENOTFOUND if unknown.
func (db *DB) Person(ctx context.Context, id int64, at time.Time) (*geo.PersonRecord, error) {
	var out *geo.PersonRecord
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = personRecord(ctx, tx, id, usec(at), true)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// personRecord reads a person with the roles held at at and, with
// history, every assignment and leave.
func personRecord(ctx context.Context, tx pgx.Tx, id int64, at time.Time, history bool) (*geo.PersonRecord, error) {
	p := &geo.PersonRecord{}
	var ended *time.Time
	err := tx.QueryRow(ctx, q("person_get"), id).Scan(&p.ID, &p.Name, &p.Phone, &p.CreatedAt, &ended)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "no person %d", id)
	} else if err != nil {
		return nil, err
	}
	p.CreatedAt, p.EndedAt = p.CreatedAt.UTC(), timeOrZero(ended)
	if p.Roles, err = collectAssignments(tx.Query(ctx, q("assignments_at"), []int64{id}, at)); err != nil {
		return nil, err
	}
	if !history {
		return p, nil
	}
	if p.History, err = collectAssignments(tx.Query(ctx, q("assignments_of_person"), id)); err != nil {
		return nil, err
	}
	p.Leave, err = collectLeaves(tx.Query(ctx, q("leaves_of_person"), id))
	return p, err
}

func collectLeaves(rows pgx.Rows, err error) ([]geo.Leave, error) {
	if err != nil {
		return nil, err
	}
	var out []geo.Leave
	var l geo.Leave
	_, err = pgx.ForEachRow(rows, []any{&l.ID, &l.PersonID, &l.From, &l.To, &l.Note}, func() error {
		l.From, l.To = l.From.UTC(), l.To.UTC()
		out = append(out, l)
		return nil
	})
	return out, err
}

// People lists the people f selects, by id, with the roles and leave in
// force at f.At, and the cursor of the next page (0 at the end).
func (db *DB) People(ctx context.Context, f geo.PeopleFilter) ([]*geo.PersonRecord, int64, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	at := usec(f.At)
	var out []*geo.PersonRecord
	var next int64
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q("people_list"), f.NameContains, string(f.Role), f.GridCode, at, f.Status, f.After, f.Limit+1)
		var p geo.PersonRecord
		var ended *time.Time
		byID := map[int64]*geo.PersonRecord{}
		var ids []int64
		if _, err := pgx.ForEachRow(rows, []any{&p.ID, &p.Name, &p.Phone, &p.CreatedAt, &ended}, func() error {
			rec := p
			rec.CreatedAt, rec.EndedAt = p.CreatedAt.UTC(), timeOrZero(ended)
			out = append(out, &rec)
			return nil
		}); err != nil {
			return err
		}
		if len(out) > f.Limit {
			out = out[:f.Limit]
			next = out[len(out)-1].ID
		}
		for _, rec := range out {
			byID[rec.ID] = rec
			ids = append(ids, rec.ID)
		}
		roles, err := collectAssignments(tx.Query(ctx, q("assignments_at"), ids, at))
		if err != nil {
			return err
		}
		for _, a := range roles {
			byID[a.Person.ID].Roles = append(byID[a.Person.ID].Roles, a)
		}
		leaves, err := collectLeaves(tx.Query(ctx, q("leaves_covering"), ids, at))
		for _, l := range leaves {
			byID[l.PersonID].Leave = append(byID[l.PersonID].Leave, l)
		}
		return err
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	return out, next, nil
}

// UpdatePerson renames a person, changes their phone, or ends them (and
// every assignment and membership they hold) at u.End.
func (db *DB) UpdatePerson(ctx context.Context, id int64, u geo.PersonUpdate, actor string, now time.Time) (*geo.PersonRecord, error) {
	now = usec(now)
	var out *geo.PersonRecord
	err := db.peopleTx(ctx, func(tx pgx.Tx) error {
		var cur geo.PersonRecord
		var ended *time.Time
		err := tx.QueryRow(ctx, q("person_lock"), id).Scan(&cur.ID, &cur.Name, &cur.Phone, &cur.CreatedAt, &ended)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no person %d", id)
		} else if err != nil {
			return err
		}
		if u.StayActive && ended != nil {
			return geo.Errorf(geo.ECONFLICT, "person %d left at %s and does not come back: register them again (POST /v1/people)",
				id, ended.UTC().Format(time.RFC3339))
		}
		before := map[string]any{"name": cur.Name, "phone_changed": false}
		after := map[string]any{}
		np := geo.NewPerson{Name: cur.Name, Phone: cur.Phone}
		if u.Name != nil {
			np.Name = *u.Name
		}
		if u.Phone != nil {
			np.Phone = *u.Phone
		}
		if u.Name != nil || u.Phone != nil {
			if err := np.Check(); err != nil {
				return err
			}
			if np.Name != cur.Name || np.Phone != cur.Phone {
				if _, err := tx.Exec(ctx, q("person_update"), id, np.Name, np.Phone); err != nil {
					return err
				}
				after["name"], after["phone_changed"] = np.Name, np.Phone != cur.Phone
			}
		}
		if !u.End.IsZero() {
			end := usec(u.End)
			if ended != nil {
				return geo.Errorf(geo.ECONFLICT, "person %d already left at %s", id, ended.UTC().Format(time.RFC3339))
			}
			var aid int64
			var role string
			var starts time.Time
			err := tx.QueryRow(ctx, q("person_assignments_later"), id, end).Scan(&aid, &role, &starts)
			if err == nil {
				return geo.Errorf(geo.ECONFLICT, "person %d holds a %s assignment (%d) from %s, not before the end %s: vacate it first",
					id, role, aid, starts.UTC().Format(time.RFC3339), end.Format(time.RFC3339))
			} else if err != pgx.ErrNoRows {
				return err
			}
			endedRoles, err := collectAssignments(tx.Query(ctx, q("person_assignments_end"), id, end))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, q("person_memberships_end"), id, end); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, q("person_end"), id, end); err != nil {
				return err
			}
			after["ended_at"], after["assignments_ended"] = end, len(endedRoles)
			handedOver, err := handOverEnded(ctx, db, tx, endedRoles, actor, now, end)
			if err != nil {
				return err
			}
			after["incidents_handed_over"] = handedOver
		}
		if len(after) > 0 {
			if err := audit(ctx, tx, now, actor, "person.update", personTarget(id), before, after, ""); err != nil {
				return err
			}
		}
		out, err = personRecord(ctx, tx, id, now, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Appoint makes a person hold a role from a.From, ending the previous
// holder's assignment the same instant, in one transaction.
func (db *DB) Appoint(ctx context.Context, a geo.Appointment, actor string, now time.Time) (*geo.AppointmentResult, error) {
	a.From, now = usec(a.From), usec(now)
	var out *geo.AppointmentResult
	err := db.peopleTx(ctx, func(tx pgx.Tx) error {
		if err := checkScope(ctx, tx, &a); err != nil {
			return err
		}
		res, err := appoint(ctx, tx, a, now)
		if err != nil {
			return err
		}
		out = res
		if res.Unchanged {
			return nil
		}
		if err := auditAppointment(ctx, tx, res, actor, now, "assignment.appoint"); err != nil {
			return err
		}
		_, err = handOverEnded(ctx, db, tx, res.Ended, actor, now, a.From)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func auditAppointment(ctx context.Context, tx pgx.Tx, res *geo.AppointmentResult, actor string, now time.Time, action string) error {
	a := res.Assignment
	ended := make([]map[string]any, len(res.Ended))
	for i, e := range res.Ended {
		ended[i] = map[string]any{"assignment": e.ID, "person": e.Person.ID, "name": e.Person.Name, "role": e.Role}
	}
	target := (&geo.Appointment{GridCode: a.GridCode, VillageCode: a.VillageCode}).Target()
	return audit(ctx, tx, now, actor, action, target, map[string]any{"ended": ended},
		map[string]any{"assignment": a.ID, "role": a.Role, "person": a.Person.ID, "name": a.Person.Name,
			"from": a.From, "person_created": res.PersonCreated}, "")
}

// checkScope checks that the scope of a exists now: a current grid for
// grid roles, a current village for liaison leaders.
func checkScope(ctx context.Context, tx pgx.Tx, a *geo.Appointment) error {
	var code, name, village string
	switch a.Role {
	case geo.RoleLeader, geo.RoleDeputy, geo.RoleMember:
		a.VillageCode = ""
		err := tx.QueryRow(ctx, q("grid_current"), a.GridCode).Scan(&code, &name, &village)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no current grid %s", a.GridCode)
		}
		return err
	case geo.RoleLiaisonLeader:
		a.GridCode = ""
		err := tx.QueryRow(ctx, q("village_current"), a.VillageCode).Scan(&code, &name)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no current village %s", a.VillageCode)
		}
		return err
	case geo.RoleDutyDesk:
		a.GridCode, a.VillageCode = "", ""
		rows, _ := tx.Query(ctx, q("town_codes"))
		towns, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		switch {
		case a.TownCode == "" && len(towns) == 1:
			a.TownCode = towns[0]
		case a.TownCode == "":
			return geo.Errorf(geo.EINVALID, "the deployment holds %d towns: name the duty desk's town (/v1/towns/{code}/duty-desk)", len(towns))
		case !slices.Contains(towns, a.TownCode):
			return geo.Errorf(geo.ENOTFOUND, "no town %s", a.TownCode)
		}
		return nil
	}
	return geo.Errorf(geo.EINVALID, "role %q: want one of leader, deputy, member, liaison_leader, duty_desk", a.Role)
}

// appoint does the work of Appoint inside tx (also for rosters): it finds
// or creates the person, ends the holder (for single-holder roles) and the
// person's other role on the grid (leader ↔ deputy), and inserts the new
// assignment. Checks that can be made before writing return ECONFLICT
// without touching the transaction, so a roster can go on with the next
// row.
func appoint(ctx context.Context, tx pgx.Tx, a geo.Appointment, now time.Time) (*geo.AppointmentResult, error) {
	res := &geo.AppointmentResult{}
	person, err := appointee(ctx, tx, &a, now, res)
	if err != nil {
		return nil, err
	}
	if !person.EndedAt.IsZero() {
		return nil, geo.Errorf(geo.ECONFLICT, "person %d (%s) left at %s and cannot be appointed", person.ID, person.Name, person.EndedAt.Format(time.RFC3339))
	}
	grid, village, town := nullIfEmpty(a.GridCode), nullIfEmpty(a.VillageCode), nullIfEmpty(a.TownCode)
	var toEnd []geo.Assignment
	if !res.PersonCreated {
		mine, err := collectAssignments(tx.Query(ctx, q("holders_lock"), a.Role, grid, village, a.From, person.ID, town))
		if err != nil {
			return nil, err
		}
		if len(mine) > 0 {
			res.Assignment, res.Unchanged = mine[0], true
			return res, nil
		}
		if other := otherGridRole(a.Role); other != "" {
			own, err := collectAssignments(tx.Query(ctx, q("holders_lock"), other, grid, village, a.From, person.ID, town))
			if err != nil {
				return nil, err
			}
			toEnd = append(toEnd, own...)
		}
	}
	if a.Role.SingleHolder() {
		holders, err := collectAssignments(tx.Query(ctx, q("holders_lock"), a.Role, grid, village, a.From, int64(0), town))
		if err != nil {
			return nil, err
		}
		toEnd = append(toEnd, holders...)
	}
	for _, h := range toEnd {
		if !h.From.Before(a.From) {
			return nil, geo.Errorf(geo.ECONFLICT, "%s holds the %s role of %s from %s: an appointment must start after that (from %s)",
				h.Person.Name, h.Role, a.Target(), h.From.Format(time.RFC3339), a.From.Format(time.RFC3339))
		}
	}
	if a.Role.SingleHolder() && a.From.Before(now) {
		// A back-dated appointment would overlap the holder who started
		// after a.From; say so rather than let the exclusion constraint
		// speak of a concurrent appointment.
		current, err := collectAssignments(tx.Query(ctx, q("holders_lock"), a.Role, grid, village, now, int64(0), town))
		if err != nil {
			return nil, err
		}
		for _, h := range current {
			if h.From.After(a.From) {
				return nil, geo.Errorf(geo.ECONFLICT, "from %s is before the current holder's start %s: %s holds the %s role of %s since then; "+
					"an appointment can start at or after %s, or the history can be corrected by ending %s's assignment first",
					a.From.Format(time.RFC3339), h.From.Format(time.RFC3339), h.Person.Name, h.Role, a.Target(), h.From.Format(time.RFC3339), h.Person.Name)
			}
		}
	}
	if res.PersonCreated {
		if err := tx.QueryRow(ctx, q("person_insert"), person.Name, person.Phone, now).Scan(&person.ID); err != nil {
			return nil, err
		}
	}
	for _, h := range toEnd {
		if _, err := tx.Exec(ctx, q("assignment_end"), h.ID, a.From); err != nil {
			return nil, err
		}
		h.To = a.From
		res.Ended = append(res.Ended, h)
	}
	res.Assignment = geo.Assignment{Person: person, Role: a.Role, GridCode: a.GridCode, VillageCode: a.VillageCode, From: a.From}
	err = tx.QueryRow(ctx, q("assignment_insert"), person.ID, a.Role, grid, village, a.From, town).Scan(&res.Assignment.ID)
	return res, err
}

// otherGridRole is the role a person gives up on a grid when taking r: a
// leader is not also the deputy who stands in for them.
func otherGridRole(r geo.Role) geo.Role {
	switch r {
	case geo.RoleLeader:
		return geo.RoleDeputy
	case geo.RoleDeputy:
		return geo.RoleLeader
	}
	return ""
}

// appointee finds the person of a: by id, or by name and phone among those
// who have not left. A person to be created is returned with ID 0 and
// res.PersonCreated set; appoint inserts them once every check passed.
func appointee(ctx context.Context, tx pgx.Tx, a *geo.Appointment, now time.Time, res *geo.AppointmentResult) (geo.Person, error) {
	var p geo.Person
	id := a.PersonID
	if id == 0 {
		np := geo.NewPerson{Name: a.Name, Phone: a.Phone}
		if err := np.Check(); err != nil {
			return p, err
		}
		found, err := personByIdentity(ctx, tx, np.Name, np.Phone)
		if err != nil {
			return p, err
		}
		if found == 0 {
			res.PersonCreated = true
			return geo.Person{Name: np.Name, Phone: np.Phone}, nil
		}
		id = found
	}
	var created time.Time
	var ended *time.Time
	err := tx.QueryRow(ctx, q("person_get"), id).Scan(&p.ID, &p.Name, &p.Phone, &created, &ended)
	if err == pgx.ErrNoRows {
		return p, &geo.Error{Code: geo.EINVALID, Message: fmt.Sprintf("person_id: no person %d", id),
			Problems: []geo.Problem{{Where: "person_id", Reason: fmt.Sprintf("no person %d", id)}}}
	}
	p.EndedAt = timeOrZero(ended)
	return p, err
}

// Vacate ends the assignment of a.Role in its scope held at a.From (for
// members, the one of a.PersonID) at a.From.
func (db *DB) Vacate(ctx context.Context, a geo.Appointment, actor string, now time.Time) (*geo.Assignment, error) {
	a.From, now = usec(a.From), usec(now)
	var out *geo.Assignment
	err := db.peopleTx(ctx, func(tx pgx.Tx) error {
		if err := checkScope(ctx, tx, &a); err != nil {
			return err
		}
		person := a.PersonID
		if a.Role.SingleHolder() {
			person = 0
		}
		held, err := collectAssignments(tx.Query(ctx, q("holders_lock"), a.Role, nullIfEmpty(a.GridCode), nullIfEmpty(a.VillageCode), a.From, person, nullIfEmpty(a.TownCode)))
		if err != nil {
			return err
		}
		if len(held) == 0 {
			return geo.Errorf(geo.ENOTFOUND, "nobody holds the %s role of %s at %s", a.Role, a.Target(), a.From.Format(time.RFC3339))
		}
		h := held[0]
		if !h.From.Before(a.From) {
			return geo.Errorf(geo.ECONFLICT, "%s holds the %s role of %s from %s: it can only end after that",
				h.Person.Name, h.Role, a.Target(), h.From.Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, q("assignment_end"), h.ID, a.From); err != nil {
			return err
		}
		h.To = a.From
		out = &h
		handedOver, err := handOverEnded(ctx, db, tx, []geo.Assignment{h}, actor, now, a.From)
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "assignment.vacate", a.Target(),
			map[string]any{"assignment": h.ID, "role": h.Role, "person": h.Person.ID, "name": h.Person.Name},
			map[string]any{"ends_at": h.To, "incidents_handed_over": handedOver}, "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// handOverEnded hands the open incidents of the holders of ended over to
// whoever takes them once the change is in force: at end (the change's
// time) or now, whichever is later, since the snapshot decided on must
// show the successor.
func handOverEnded(ctx context.Context, db *DB, tx pgx.Tx, ended []geo.Assignment, actor string, now, end time.Time) ([]string, error) {
	at := now
	if end.After(at) {
		at = end
	}
	r := &rerouting{db: db, tx: tx, actor: actor, actorRole: geo.AccessAdmin, at: at}
	return r.handOver(ctx, ended)
}

// GridStaffAt answers who held each role of grid code at time at.
func (db *DB) GridStaffAt(ctx context.Context, code string, at time.Time) (*geo.GridStaff, error) {
	at = usec(at)
	st := &geo.GridStaff{GridCode: code, At: at, OnLeave: map[int64]geo.Leave{}}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var c string
		err := tx.QueryRow(ctx, q("grid_any_version"), code).Scan(&c, &st.GridName, &st.VillageCode)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "grid %s never existed", code)
		} else if err != nil {
			return err
		}
		held, err := collectAssignments(tx.Query(ctx, q("grid_staff_at"), code, st.VillageCode, at))
		if err != nil {
			return err
		}
		var ids []int64
		for i := range held {
			a := held[i]
			ids = append(ids, a.Person.ID)
			switch a.Role {
			case geo.RoleLeader:
				st.Leader = &a
			case geo.RoleDeputy:
				st.Deputy = &a
			case geo.RoleMember:
				st.Members = append(st.Members, a)
			case geo.RoleLiaisonLeader:
				st.LiaisonLeader = &a
			}
		}
		leaves, err := collectLeaves(tx.Query(ctx, q("leaves_covering"), ids, at))
		for _, l := range leaves {
			st.OnLeave[l.PersonID] = l
		}
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return st, nil
}

// AddLeave records a leave period of a person who has not left (before
// the leave ends). Overlapping leave of the same person is refused: the
// person row is locked, so two concurrent requests cannot both pass.
func (db *DB) AddLeave(ctx context.Context, personID int64, l geo.Leave, actor string, now time.Time) (*geo.Leave, error) {
	l.From, l.To, now = usec(l.From), usec(l.To), usec(now)
	if !l.To.After(l.From) {
		return nil, geo.Errorf(geo.EINVALID, "to (%s) must be after from (%s)", l.To.Format(time.RFC3339), l.From.Format(time.RFC3339))
	}
	l.PersonID = personID
	err := db.peopleTx(ctx, func(tx pgx.Tx) error {
		var p geo.PersonRecord
		var ended *time.Time
		err := tx.QueryRow(ctx, q("person_lock"), personID).Scan(&p.ID, &p.Name, &p.Phone, &p.CreatedAt, &ended)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no person %d", personID)
		} else if err != nil {
			return err
		}
		if ended != nil && ended.Before(l.To) {
			return geo.Errorf(geo.ECONFLICT, "person %d (%s) left at %s, before the leave ends", personID, p.Name, ended.UTC().Format(time.RFC3339))
		}
		var other geo.Leave
		err = tx.QueryRow(ctx, q("leave_overlapping"), personID, l.From, l.To).Scan(&other.ID, &other.From, &other.To)
		if err == nil {
			return geo.Errorf(geo.ECONFLICT, "%s is already on leave %d from %s to %s, which overlaps: change that one instead",
				p.Name, other.ID, other.From.UTC().Format(time.RFC3339), other.To.UTC().Format(time.RFC3339))
		} else if err != pgx.ErrNoRows {
			return err
		}
		if err := tx.QueryRow(ctx, q("leave_insert"), personID, l.From, l.To, l.Note).Scan(&l.ID); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "leave.create", personTarget(personID), nil,
			map[string]any{"leave": l.ID, "from": l.From, "to": l.To, "note": l.Note}, "")
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// DeleteLeave removes a leave period of a person.
func (db *DB) DeleteLeave(ctx context.Context, personID, leaveID int64, actor string, now time.Time) error {
	return db.peopleTx(ctx, func(tx pgx.Tx) error {
		var l geo.Leave
		err := tx.QueryRow(ctx, q("leave_delete"), leaveID, personID).Scan(&l.From, &l.To, &l.Note)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "person %d has no leave %d", personID, leaveID)
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, usec(now), actor, "leave.delete", personTarget(personID),
			map[string]any{"leave": leaveID, "from": l.From, "to": l.To, "note": l.Note}, nil, "")
	})
}
