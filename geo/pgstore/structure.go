package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// The structure store (geo.StructureStore): district bodies (片区党工委),
// work teams (工作组), their seats and the villages teams cover. Every
// write runs in one transaction that also appends to the audit log and
// announces the change like an appointment (people_notify), so that every
// replica reloads the snapshot the chain routes by.

var _ geo.StructureStore = (*DB)(nil)

// structureTx runs fn in a transaction that announces the change before
// it commits, and maps the database's refusals to ECONFLICT.
func (db *DB) structureTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("people_notify"))
		return err
	})
	return unavailable(structureConflict(err))
}

// structureConflict classifies the refusals of the structure's
// constraints; other errors pass through.
func structureConflict(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	msg := ""
	switch pgErr.ConstraintName {
	case "one_secretary_per_district":
		msg = "the district already has a secretary in that period: another appointment was recorded meanwhile; reload and retry"
	case "district_seat_once":
		msg = "the person already sits on the district's body in that period"
	case "one_leader_per_team":
		msg = "the team already has a leader in that period: another appointment was recorded meanwhile; reload and retry"
	case "team_seat_once":
		msg = "the person is already on the team in that period"
	case "one_team_per_village":
		msg = "another team covers the village in that period: another change was recorded meanwhile; reload and retry"
	case "work_teams_active_name":
		msg = "a team of that name works in the town"
	case "district_appointment_period", "work_team_member_period", "work_team_village_period", "work_team_period":
		msg = "a period would end at or before its start: it was recorded at the same instant; retry later"
	case "people_active_identity":
		msg = "a person of that name and phone has not left: use them (GET /v1/people?name=…) instead of registering them again"
	default:
		return err
	}
	switch pgErr.Code {
	case "23P01", "23505", "23514":
		return geo.Errorf(geo.ECONFLICT, "%s", msg)
	}
	return err
}

// seatCols are the destinations of a seat row (see sql/structure.sql).
func seatCols(s *geo.Seat, personEnded, to **time.Time) []any {
	return []any{&s.ID, &s.Person.ID, &s.Person.Name, &s.Person.Phone, personEnded, &s.Role, &s.From, to}
}

func fixSeat(s *geo.Seat, ended, to *time.Time) {
	s.Person.EndedAt, s.To, s.From = timeOrZero(ended), timeOrZero(to), s.From.UTC()
}

func collectSeats(rows pgx.Rows) ([]geo.Seat, error) {
	var out []geo.Seat
	var s geo.Seat
	var ended, to *time.Time
	_, err := pgx.ForEachRow(rows, seatCols(&s, &ended, &to), func() error {
		fixSeat(&s, ended, to)
		out = append(out, s)
		return nil
	})
	return out, err
}

func collectCoverage(rows pgx.Rows) ([]geo.TeamVillage, error) {
	var out []geo.TeamVillage
	var c geo.TeamVillage
	var to *time.Time
	_, err := pgx.ForEachRow(rows, []any{&c.ID, &c.TeamID, &c.TeamName, &c.TeamKind, &c.VillageCode, &c.VillageName, &c.From, &to}, func() error {
		c.From, c.To = c.From.UTC(), timeOrZero(to)
		out = append(out, c)
		return nil
	})
	return out, err
}

// Districts lists the districts of town ("" for every town) at at.
func (db *DB) Districts(ctx context.Context, town string, at time.Time) ([]*geo.DistrictBody, error) {
	var out []*geo.DistrictBody
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = readDistricts(ctx, tx, town, "", usec(at))
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// District returns one district at at with its whole history.
func (db *DB) District(ctx context.Context, town, code string, at time.Time) (*geo.DistrictBody, error) {
	var out *geo.DistrictBody
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		ds, err := readDistricts(ctx, tx, town, code, usec(at))
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return geo.Errorf(geo.ENOTFOUND, "no district %s in town %s", code, town)
		}
		out = ds[0]
		rows, _ := tx.Query(ctx, q("district_seats_all"), town, code)
		out.History, err = collectSeats(rows)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// readDistricts reads the districts of town (code only, when not "") with
// their villages and seats at at.
func readDistricts(ctx context.Context, tx pgx.Tx, town, code string, at time.Time) ([]*geo.DistrictBody, error) {
	var out []*geo.DistrictBody
	byKey := map[string]*geo.DistrictBody{}
	var d geo.DistrictBody
	rows, _ := tx.Query(ctx, q("structure_districts"), town, code)
	if _, err := pgx.ForEachRow(rows, []any{&d.TownCode, &d.Code, &d.Name, &d.Retired}, func() error {
		if code != "" && d.Code != code {
			return nil
		}
		b := d
		b.At, b.Villages, b.Members = at, []geo.CodeName{}, []geo.Seat{}
		out = append(out, &b)
		byKey[b.TownCode+"/"+b.Code] = &b
		return nil
	}); err != nil {
		return nil, err
	}
	var t, dc string
	var v geo.CodeName
	rows, _ = tx.Query(ctx, q("structure_district_villages"), town, code, at)
	if _, err := pgx.ForEachRow(rows, []any{&t, &dc, &v.Code, &v.Name}, func() error {
		if b := byKey[t+"/"+dc]; b != nil {
			b.Villages = append(b.Villages, v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var s geo.Seat
	var ended, to *time.Time
	rows, _ = tx.Query(ctx, q("district_seats_at"), town, code, at)
	_, err := pgx.ForEachRow(rows, append(seatCols(&s, &ended, &to), &t, &dc), func() error {
		fixSeat(&s, ended, to)
		b := byKey[t+"/"+dc]
		switch {
		case b == nil:
		case s.Role == geo.SeatSecretary:
			seat := s
			b.Secretary = &seat
		default:
			b.Members = append(b.Members, s)
		}
		return nil
	})
	return out, err
}

// seatBody is a body seats are held on: a district or a team, with the
// role that one person holds at a time.
type seatBody struct {
	a      *geo.SeatAppointment
	single string
}

func (b seatBody) lock(ctx context.Context, tx pgx.Tx, role string, at time.Time, person int64) ([]geo.Seat, error) {
	if b.a.TeamID != 0 {
		rows, _ := tx.Query(ctx, q("team_seats_lock"), b.a.TeamID, role, at, person)
		return collectSeats(rows)
	}
	rows, _ := tx.Query(ctx, q("district_seats_lock"), b.a.TownCode, b.a.District, role, at, person)
	return collectSeats(rows)
}

// later returns a seat of role that starts after at, if any.
func (b seatBody) later(ctx context.Context, tx pgx.Tx, role string, at time.Time) (name string, starts time.Time, found bool, err error) {
	var row pgx.Row
	if b.a.TeamID != 0 {
		row = tx.QueryRow(ctx, q("team_seat_later"), b.a.TeamID, role, at)
	} else {
		row = tx.QueryRow(ctx, q("district_seat_later"), b.a.TownCode, b.a.District, role, at)
	}
	err = row.Scan(&name, &starts)
	if err == pgx.ErrNoRows {
		return "", starts, false, nil
	}
	return name, starts.UTC(), err == nil, err
}

func (b seatBody) end(ctx context.Context, tx pgx.Tx, id int64, at time.Time) error {
	var err error
	if b.a.TeamID != 0 {
		_, err = tx.Exec(ctx, q("team_seat_end"), id, at)
	} else {
		_, err = tx.Exec(ctx, q("district_seat_end"), id, at)
	}
	return err
}

func (b seatBody) insert(ctx context.Context, tx pgx.Tx, person int64) (int64, error) {
	var id int64
	var err error
	if b.a.TeamID != 0 {
		err = tx.QueryRow(ctx, q("team_seat_insert"), b.a.TeamID, person, b.a.Role, b.a.From).Scan(&id)
	} else {
		err = tx.QueryRow(ctx, q("district_seat_insert"), b.a.TownCode, b.a.District, person, b.a.Role, b.a.From).Scan(&id)
	}
	return id, err
}

// routingRole is the role an incident records for the holder of the
// single seat (secretary, leader): whose open incidents are handed over
// when they leave it.
func (b seatBody) routingRole() geo.Role {
	if b.a.TeamID != 0 {
		return geo.RoleTeamLeader
	}
	return geo.RoleDistrictSecretary
}

// open checks and locks the body of a: a district that is not retired (or
// for a vacancy, any), a team that has not ended.
func openBody(ctx context.Context, tx pgx.Tx, a *geo.SeatAppointment, vacating bool) (seatBody, error) {
	if a.TeamID != 0 {
		if a.Role != geo.SeatLeader && a.Role != geo.SeatMember {
			return seatBody{}, geo.Errorf(geo.EINVALID, "seat %q: a team has a leader and members", a.Role)
		}
		t, err := scanTeam(tx.QueryRow(ctx, q("team_lock"), a.TeamID))
		if err != nil {
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				return seatBody{}, geo.Errorf(geo.ENOTFOUND, "no team %d", a.TeamID)
			}
			return seatBody{}, err
		}
		if !t.EndedAt.IsZero() && !vacating {
			return seatBody{}, geo.Errorf(geo.ECONFLICT, "team %d (%s) was disbanded at %s", t.ID, t.Name, t.EndedAt.Format(time.RFC3339))
		}
		return seatBody{a: a, single: geo.SeatLeader}, nil
	}
	if a.Role != geo.SeatSecretary && a.Role != geo.SeatMember {
		return seatBody{}, geo.Errorf(geo.EINVALID, "seat %q: a district has a secretary and members", a.Role)
	}
	var name string
	var retired bool
	err := tx.QueryRow(ctx, q("district_lock"), a.TownCode, a.District).Scan(&name, &retired)
	switch {
	case err == pgx.ErrNoRows:
		return seatBody{}, geo.Errorf(geo.ENOTFOUND, "no district %s in town %s", a.District, a.TownCode)
	case err != nil:
		return seatBody{}, err
	case retired && !vacating:
		return seatBody{}, geo.Errorf(geo.ENOTFOUND, "district %s of town %s is retired", a.District, a.TownCode)
	}
	return seatBody{a: a, single: geo.SeatSecretary}, nil
}

// seating is what seating a person in a role on a body does: nothing,
// when they hold that seat already (held), or end toEnd, their other seat
// on the body and, for the single seat, its holder.
type seating struct {
	held  *geo.Seat
	toEnd []geo.Seat
}

// planSeat decides seating person (0: one not stored yet) in role at from,
// for AppointSeat and the team roster import alike. It refuses (ECONFLICT)
// to end a seat that starts at or after from, and to seat anyone in the
// single seat before its next holder's term. target names the body in
// the refusal.
func (b seatBody) planSeat(ctx context.Context, tx pgx.Tx, role string, person int64, from time.Time, target string) (seating, error) {
	var out seating
	if person != 0 {
		mine, err := b.lock(ctx, tx, "", from, person)
		if err != nil {
			return out, err
		}
		for _, m := range mine {
			if m.Role == role {
				out.held = &m
				return out, nil
			}
		}
		out.toEnd = mine // their other seat on the body
	}
	if role == b.single {
		holders, err := b.lock(ctx, tx, role, from, 0)
		if err != nil {
			return out, err
		}
		out.toEnd = append(out.toEnd, holders...)
		if name, starts, found, err := b.later(ctx, tx, role, from); err != nil {
			return out, err
		} else if found {
			return out, geo.Errorf(geo.ECONFLICT, "from %s is before %s's seat as %s of %s, which starts at %s: an appointment can start at or after then",
				from.Format(time.RFC3339), name, role, target, starts.Format(time.RFC3339))
		}
	}
	for _, h := range out.toEnd {
		if !h.From.Before(from) {
			return out, geo.Errorf(geo.ECONFLICT, "%s holds the %s seat of %s from %s: an appointment must start after that (from %s)",
				h.Person.Name, h.Role, target, h.From.Format(time.RFC3339), from.Format(time.RFC3339))
		}
	}
	return out, nil
}

// takeSeat carries out plan: it ends plan's seats at from and seats person
// in role. handed are the single seat's holders who leave it, whose open
// incidents go to the new holder (handOverEnded).
func (b seatBody) takeSeat(ctx context.Context, tx pgx.Tx, plan seating, person geo.Person, role string, from time.Time) (seat geo.Seat, ended []geo.Seat, handed []geo.Assignment, err error) {
	for _, h := range plan.toEnd {
		if err := b.end(ctx, tx, h.ID, from); err != nil {
			return seat, nil, nil, err
		}
		h.To = from
		ended = append(ended, h)
		if h.Role == b.single && h.Person.ID != person.ID {
			handed = append(handed, geo.Assignment{Person: h.Person, Role: b.routingRole(), From: h.From, To: h.To})
		}
	}
	b.a.Role, b.a.From = role, from
	id, err := b.insert(ctx, tx, person.ID)
	if err != nil {
		return seat, nil, nil, err
	}
	return geo.Seat{ID: id, Person: person, Role: role, From: from}, ended, handed, nil
}

// vacate ends seat h at at, for VacateSeat and the import alike; it
// refuses (ECONFLICT) a seat that starts at or after at. handed is the
// single seat's holder, whose open incidents go on to whoever covers it.
func (b seatBody) vacate(ctx context.Context, tx pgx.Tx, h geo.Seat, at time.Time, target string) (ended geo.Seat, handed []geo.Assignment, err error) {
	if !h.From.Before(at) {
		return h, nil, geo.Errorf(geo.ECONFLICT, "%s holds the %s seat of %s from %s: it can only end after that (at %s)",
			h.Person.Name, h.Role, target, h.From.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	if err := b.end(ctx, tx, h.ID, at); err != nil {
		return h, nil, err
	}
	h.To = at
	if h.Role == b.single {
		handed = []geo.Assignment{{Person: h.Person, Role: b.routingRole(), From: h.From, To: h.To}}
	}
	return h, handed, nil
}

// endedSeats is how the audit log names the seats an appointment ended.
func endedSeats(ended []geo.Seat) []map[string]any {
	out := make([]map[string]any, len(ended))
	for i, e := range ended {
		out[i] = map[string]any{"seat": e.ID, "person": e.Person.ID, "name": e.Person.Name, "role": e.Role}
	}
	return out
}

// AppointSeat seats a person on a district's body or a team (see
// geo.StructureStore).
func (db *DB) AppointSeat(ctx context.Context, a geo.SeatAppointment, actor string, now time.Time) (*geo.SeatResult, error) {
	a.From, now = usec(a.From), usec(now)
	var out *geo.SeatResult
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		body, err := openBody(ctx, tx, &a, false)
		if err != nil {
			return err
		}
		res := &geo.SeatResult{}
		var pr geo.AppointmentResult
		person, err := appointee(ctx, tx, &geo.Appointment{PersonID: a.PersonID, Name: a.Name, Phone: a.Phone}, now, &pr)
		if err != nil {
			return err
		}
		res.PersonCreated = pr.PersonCreated
		if !person.EndedAt.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "person %d (%s) left at %s and cannot be appointed", person.ID, person.Name, person.EndedAt.Format(time.RFC3339))
		}
		var pid int64
		if !res.PersonCreated {
			pid = person.ID
		}
		plan, err := body.planSeat(ctx, tx, a.Role, pid, a.From, a.Target())
		if err != nil {
			return err
		}
		if plan.held != nil {
			res.Seat, res.Unchanged = *plan.held, true
			out = res
			return nil
		}
		if res.PersonCreated {
			if err := tx.QueryRow(ctx, q("person_insert"), person.Name, person.Phone, now).Scan(&person.ID); err != nil {
				return err
			}
		}
		seat, ended, handed, err := body.takeSeat(ctx, tx, plan, person, a.Role, a.From)
		if err != nil {
			return err
		}
		res.Seat, res.Ended = seat, ended
		out = res
		if err := audit(ctx, tx, now, actor, "seat.appoint", a.Target(), map[string]any{"ended": endedSeats(ended)},
			map[string]any{"seat": seat.ID, "role": a.Role, "person": person.ID, "name": person.Name, "from": a.From,
				"person_created": res.PersonCreated}, ""); err != nil {
			return err
		}
		_, err = handOverEnded(ctx, db, tx, handed, actor, now, a.From)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// VacateSeat ends the seat of a.Role held at a.From (see
// geo.StructureStore).
func (db *DB) VacateSeat(ctx context.Context, a geo.SeatAppointment, actor string, now time.Time) (*geo.Seat, error) {
	a.From, now = usec(a.From), usec(now)
	var out *geo.Seat
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		body, err := openBody(ctx, tx, &a, true)
		if err != nil {
			return err
		}
		person := a.PersonID
		if a.Role == body.single {
			person = 0
		}
		held, err := body.lock(ctx, tx, a.Role, a.From, person)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			return geo.Errorf(geo.ENOTFOUND, "nobody holds the %s seat of %s at %s", a.Role, a.Target(), a.From.Format(time.RFC3339))
		}
		h, leaving, err := body.vacate(ctx, tx, held[0], a.From, a.Target())
		if err != nil {
			return err
		}
		out = &h
		var handed []string
		if len(leaving) > 0 {
			if handed, err = handOverEnded(ctx, db, tx, leaving, actor, now, a.From); err != nil {
				return err
			}
		}
		return audit(ctx, tx, now, actor, "seat.vacate", a.Target(),
			map[string]any{"seat": h.ID, "role": h.Role, "person": h.Person.ID, "name": h.Person.Name},
			map[string]any{"ends_at": h.To, "incidents_handed_over": handed}, "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanTeam(row pgx.Row) (*geo.WorkTeam, error) {
	t := &geo.WorkTeam{}
	var ended *time.Time
	err := row.Scan(&t.ID, &t.TownCode, &t.Kind, &t.Name, &t.CreatedAt, &ended)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "no such team")
	}
	t.CreatedAt, t.EndedAt = t.CreatedAt.UTC(), timeOrZero(ended)
	return t, err
}

// CreateTeam stores a new work team.
func (db *DB) CreateTeam(ctx context.Context, nt geo.NewTeam, actor string, now time.Time) (*geo.WorkTeam, error) {
	if err := nt.Check(nil); err != nil {
		return nil, err
	}
	now = usec(now)
	var out *geo.WorkTeam
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q("town_codes"))
		towns, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		found := false
		for _, t := range towns {
			found = found || t == nt.Town
		}
		if !found {
			return &geo.Error{Code: geo.EINVALID, Message: "town: no town " + nt.Town, Problems: []geo.Problem{{Where: "town", Reason: "no town " + nt.Town}}}
		}
		var other int64
		if err := tx.QueryRow(ctx, q("team_by_name"), nt.Town, nt.Name, int64(0)).Scan(&other); err == nil {
			return geo.Errorf(geo.ECONFLICT, "team %d of town %s is already named %s", other, nt.Town, nt.Name)
		} else if err != pgx.ErrNoRows {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, q("team_insert"), nt.Town, nt.Kind, nt.Name, now).Scan(&id); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, "team.create", fmt.Sprintf("team:%d", id), nil,
			map[string]any{"town": nt.Town, "kind": nt.Kind, "name": nt.Name}, ""); err != nil {
			return err
		}
		out, err = readTeam(ctx, tx, id, now, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Teams lists the teams f selects at f.At.
func (db *DB) Teams(ctx context.Context, f geo.TeamFilter) ([]*geo.WorkTeam, error) {
	at := usec(f.At)
	var out []*geo.WorkTeam
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q("teams_list"), f.TownCode, f.VillageCode, f.Status, at)
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*geo.WorkTeam, error) { return scanTeam(row) })
		if err != nil {
			return err
		}
		return fillTeams(ctx, tx, out, at)
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// fillTeams sets the seats and villages of teams at at.
func fillTeams(ctx context.Context, tx pgx.Tx, teams []*geo.WorkTeam, at time.Time) error {
	byID := map[int64]*geo.WorkTeam{}
	ids := []int64{}
	for _, t := range teams {
		t.At, t.Members, t.Villages = at, []geo.Seat{}, []geo.TeamVillage{}
		byID[t.ID] = t
		ids = append(ids, t.ID)
	}
	var s geo.Seat
	var ended, to *time.Time
	var team int64
	rows, _ := tx.Query(ctx, q("team_seats_at"), ids, at)
	if _, err := pgx.ForEachRow(rows, append(seatCols(&s, &ended, &to), &team), func() error {
		fixSeat(&s, ended, to)
		t := byID[team]
		if s.Role == geo.SeatLeader {
			seat := s
			t.Leader = &seat
		} else {
			t.Members = append(t.Members, s)
		}
		return nil
	}); err != nil {
		return err
	}
	rows, _ = tx.Query(ctx, q("team_villages_at"), ids, at)
	cov, err := collectCoverage(rows)
	for _, c := range cov {
		byID[c.TeamID].Villages = append(byID[c.TeamID].Villages, c)
	}
	return err
}

// Team returns a team at at with its whole history.
func (db *DB) Team(ctx context.Context, id int64, at time.Time) (*geo.WorkTeam, error) {
	var out *geo.WorkTeam
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = readTeam(ctx, tx, id, usec(at), true)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

func readTeam(ctx context.Context, tx pgx.Tx, id int64, at time.Time, history bool) (*geo.WorkTeam, error) {
	t, err := scanTeam(tx.QueryRow(ctx, q("team_get"), id))
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return nil, geo.Errorf(geo.ENOTFOUND, "no team %d", id)
		}
		return nil, err
	}
	if err := fillTeams(ctx, tx, []*geo.WorkTeam{t}, at); err != nil {
		return nil, err
	}
	if !history {
		return t, nil
	}
	rows, _ := tx.Query(ctx, q("team_seats_all"), id)
	if t.History, err = collectSeats(rows); err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, q("team_villages_all"), id)
	t.VillageHistory, err = collectCoverage(rows)
	return t, err
}

// UpdateTeam renames or disbands a team.
func (db *DB) UpdateTeam(ctx context.Context, id int64, u geo.TeamUpdate, actor string, now time.Time) (*geo.WorkTeam, error) {
	now = usec(now)
	var out *geo.WorkTeam
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTeam(tx.QueryRow(ctx, q("team_lock"), id))
		if err != nil {
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				return geo.Errorf(geo.ENOTFOUND, "no team %d", id)
			}
			return err
		}
		if !t.EndedAt.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "team %d (%s) was disbanded at %s", id, t.Name, t.EndedAt.Format(time.RFC3339))
		}
		before, after := map[string]any{"name": t.Name}, map[string]any{}
		if u.Name != nil && *u.Name != t.Name {
			var other int64
			if err := tx.QueryRow(ctx, q("team_by_name"), t.TownCode, *u.Name, id).Scan(&other); err == nil {
				return geo.Errorf(geo.ECONFLICT, "team %d of town %s is already named %s", other, t.TownCode, *u.Name)
			} else if err != pgx.ErrNoRows {
				return err
			}
			if _, err := tx.Exec(ctx, q("team_rename"), id, *u.Name); err != nil {
				return err
			}
			after["name"] = *u.Name
		}
		if !u.End.IsZero() {
			end := usec(u.End)
			var what string
			var starts time.Time
			if err := tx.QueryRow(ctx, q("team_later"), id, end).Scan(&what, &starts); err == nil {
				return geo.Errorf(geo.ECONFLICT, "team %d has a %s from %s, not before the end %s: end it first",
					id, what, starts.UTC().Format(time.RFC3339), end.Format(time.RFC3339))
			} else if err != pgx.ErrNoRows {
				return err
			}
			if end.Before(t.CreatedAt) {
				return geo.Errorf(geo.ECONFLICT, "team %d was created at %s, after the end %s", id, t.CreatedAt.Format(time.RFC3339), end.Format(time.RFC3339))
			}
			a := geo.SeatAppointment{TeamID: id}
			body := seatBody{a: &a, single: geo.SeatLeader}
			seats, err := body.lock(ctx, tx, "", end, 0)
			if err != nil {
				return err
			}
			var handed []geo.Assignment
			for _, s := range seats {
				if err := body.end(ctx, tx, s.ID, end); err != nil {
					return err
				}
				if s.Role == geo.SeatLeader {
					handed = append(handed, geo.Assignment{Person: s.Person, Role: geo.RoleTeamLeader, From: s.From, To: end})
				}
			}
			if _, err := tx.Exec(ctx, q("team_villages_end_all"), id, end); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, q("team_end"), id, end); err != nil {
				return err
			}
			moved, err := handOverEnded(ctx, db, tx, handed, actor, now, end)
			if err != nil {
				return err
			}
			after["ended_at"], after["seats_ended"], after["incidents_handed_over"] = end, len(seats), moved
		}
		if len(after) > 0 {
			if err := audit(ctx, tx, now, actor, "team.update", fmt.Sprintf("team:%d", id), before, after, ""); err != nil {
				return err
			}
		}
		out, err = readTeam(ctx, tx, id, now, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// planCover decides putting village under team id from from, for
// CoverVillage and the team roster import alike: cov is the coverage that
// stops then, already the team's own coverage if it covers the village
// already. It refuses (ECONFLICT) a coverage that starts at or after from.
func planCover(ctx context.Context, tx pgx.Tx, id int64, village string, from time.Time) (cov []geo.TeamVillage, already *geo.TeamVillage, err error) {
	rows, _ := tx.Query(ctx, q("village_cover_lock"), village, from)
	cov, err = collectCoverage(rows)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cov {
		switch {
		case c.TeamID == id && !c.From.After(from):
			return nil, &c, nil
		case !c.From.Before(from):
			return nil, nil, geo.Errorf(geo.ECONFLICT, "team %d (%s) covers village %s from %s: a coverage can start after that (from %s)",
				c.TeamID, c.TeamName, village, c.From.Format(time.RFC3339), from.Format(time.RFC3339))
		}
	}
	return cov, nil, nil
}

// takeVillage carries out planCover: cov stops at from and team id covers
// the village from then.
func takeVillage(ctx context.Context, tx pgx.Tx, id int64, village string, cov []geo.TeamVillage, from time.Time) (int64, []geo.TeamVillage, error) {
	var ended []geo.TeamVillage
	for _, c := range cov {
		if _, err := tx.Exec(ctx, q("village_cover_end"), c.ID, from); err != nil {
			return 0, nil, err
		}
		c.To = from
		ended = append(ended, c)
	}
	var cid int64
	err := tx.QueryRow(ctx, q("village_cover_insert"), id, village, from).Scan(&cid)
	return cid, ended, err
}

// endedCoverage is how the audit log names the coverage a team took over.
func endedCoverage(ended []geo.TeamVillage) []map[string]any {
	out := make([]map[string]any, len(ended))
	for i, e := range ended {
		out[i] = map[string]any{"team": e.TeamID, "name": e.TeamName}
	}
	return out
}

// CoverVillage puts a village under a team from from; the team covering
// it before stops then.
func (db *DB) CoverVillage(ctx context.Context, id int64, village string, from time.Time, actor string, now time.Time) (*geo.TeamVillage, []geo.TeamVillage, error) {
	from, now = usec(from), usec(now)
	var out *geo.TeamVillage
	var ended []geo.TeamVillage
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTeam(tx.QueryRow(ctx, q("team_lock"), id))
		if err != nil {
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				return geo.Errorf(geo.ENOTFOUND, "no team %d", id)
			}
			return err
		}
		if !t.EndedAt.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "team %d (%s) was disbanded at %s", id, t.Name, t.EndedAt.Format(time.RFC3339))
		}
		var code, name string
		if err := tx.QueryRow(ctx, q("village_current"), village).Scan(&code, &name); err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no current village %s", village)
		} else if err != nil {
			return err
		}
		if geo.TownCodeOf(village) != t.TownCode {
			return &geo.Error{Code: geo.EINVALID, Message: fmt.Sprintf("village: %s is not in the team's town %s", village, t.TownCode),
				Problems: []geo.Problem{{Where: "village", Reason: fmt.Sprintf("%s is not in the team's town %s", village, t.TownCode)}}}
		}
		cov, already, err := planCover(ctx, tx, id, village, from)
		if err != nil {
			return err
		}
		if already != nil {
			return geo.Errorf(geo.ECONFLICT, "team %d (%s) already covers village %s since %s", id, t.Name, village, already.From.Format(time.RFC3339))
		}
		var cid int64
		cid, ended, err = takeVillage(ctx, tx, id, village, cov, from)
		if err != nil {
			return err
		}
		out = &geo.TeamVillage{ID: cid, TeamID: id, TeamName: t.Name, TeamKind: t.Kind, VillageCode: village, VillageName: name, From: from}
		return audit(ctx, tx, now, actor, "team.cover", fmt.Sprintf("team:%d", id), map[string]any{"ended": endedCoverage(ended)},
			map[string]any{"village": village, "from": from}, "")
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ended, nil
}

// UncoverVillage ends a team's coverage of a village at at.
func (db *DB) UncoverVillage(ctx context.Context, id int64, village string, at time.Time, actor string, now time.Time) (*geo.TeamVillage, error) {
	at, now = usec(at), usec(now)
	var out *geo.TeamVillage
	err := db.structureTx(ctx, func(tx pgx.Tx) error {
		if _, err := scanTeam(tx.QueryRow(ctx, q("team_lock"), id)); err != nil {
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				return geo.Errorf(geo.ENOTFOUND, "no team %d", id)
			}
			return err
		}
		rows, _ := tx.Query(ctx, q("village_cover_lock"), village, at)
		cov, err := collectCoverage(rows)
		if err != nil {
			return err
		}
		for _, c := range cov {
			if c.TeamID != id {
				continue
			}
			if !c.From.Before(at) {
				return geo.Errorf(geo.ECONFLICT, "team %d covers village %s from %s: the coverage can only end after that", id, village, c.From.Format(time.RFC3339))
			}
			if _, err := tx.Exec(ctx, q("village_cover_end"), c.ID, at); err != nil {
				return err
			}
			c.To = at
			out = &c
			return audit(ctx, tx, now, actor, "team.uncover", fmt.Sprintf("team:%d", id), map[string]any{"village": village, "from": c.From},
				map[string]any{"ends_at": at}, "")
		}
		return geo.Errorf(geo.ENOTFOUND, "team %d does not cover village %s at %s", id, village, at.Format(time.RFC3339))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// VillageTeams returns every coverage of a village, newest first.
func (db *DB) VillageTeams(ctx context.Context, village string) ([]geo.TeamVillage, error) {
	rows, _ := db.Pool.Query(ctx, q("village_teams_all"), village)
	out, err := collectCoverage(rows)
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// loadStructure puts the district secretaries and the teams covering the
// villages at at into td, for the snapshot (see loadArea).
func loadStructure(ctx context.Context, tx pgx.Tx, td *geo.Area, people personContacts, at time.Time) error {
	secretaries := map[string]*geo.Contact{}
	var town, code string
	var id *int64
	var name, phone *string
	rows, _ := tx.Query(ctx, q("structure_secretaries_at"), at)
	if _, err := pgx.ForEachRow(rows, []any{&town, &code, &id, &name, &phone}, func() error {
		secretaries[town+"/"+code] = people.add(id, name, phone)
		return nil
	}); err != nil {
		return err
	}
	for i := range td.Towns {
		t := &td.Towns[i]
		for j := range t.Districts {
			t.Districts[j].Secretary = secretaries[t.Code+"/"+t.Districts[j].Code]
		}
	}
	teams := map[string]*geo.TeamOnDuty{}
	var village string
	var team geo.TeamOnDuty
	rows, _ = tx.Query(ctx, q("structure_village_teams_at"), at)
	if _, err := pgx.ForEachRow(rows, []any{&village, &team.ID, &team.Name, &team.Kind, &id, &name, &phone}, func() error {
		t := team
		t.Leader = people.add(id, name, phone)
		teams[village] = &t
		return nil
	}); err != nil {
		return err
	}
	for i := range td.Villages {
		td.Villages[i].WorkTeam = teams[td.Villages[i].Code]
	}
	return nil
}

// structureScope adds to scope the villages its person answers for at at
// through the structure (a district's body, a work team), as roles held
// on those villages: they see and work their incidents.
func structureScope(ctx context.Context, tx pgx.Tx, scope *geo.PersonScope, at time.Time) error {
	var role, village string
	var from time.Time
	rows, _ := tx.Query(ctx, q("structure_person_villages"), scope.Person.ID, at)
	_, err := pgx.ForEachRow(rows, []any{&role, &village, &from}, func() error {
		scope.Roles = append(scope.Roles, geo.Assignment{Person: scope.Person, Role: geo.Role(role), VillageCode: village, From: from.UTC()})
		return nil
	})
	return err
}

// SeedStructure loads s (the demo town's structure, fixtures.HeyeStructure)
// into its town from from, unless the town already has a district seat or
// a work team; it reports whether it loaded anything. Each appointment is
// its own audited write, as through the API.
func (db *DB) SeedStructure(ctx context.Context, s *geo.StructureSeed, from time.Time, actor string) (bool, error) {
	var seeded bool
	if err := db.Pool.QueryRow(ctx, q("structure_town_seeded"), s.Town).Scan(&seeded); err != nil {
		return false, unavailable(err)
	}
	if seeded {
		return false, nil
	}
	from = usec(from)
	sit := func(a geo.SeatAppointment, c geo.ContactJSON) error {
		a.Name, a.Phone, a.From = c.Name, c.Phone, from
		_, err := db.AppointSeat(ctx, a, actor, from)
		return err
	}
	for _, d := range s.Districts {
		if err := sit(geo.SeatAppointment{Role: geo.SeatSecretary, TownCode: s.Town, District: d.Code}, d.Secretary); err != nil {
			return false, fmt.Errorf("district %s: %w", d.Code, err)
		}
		for _, m := range d.Members {
			if err := sit(geo.SeatAppointment{Role: geo.SeatMember, TownCode: s.Town, District: d.Code}, m); err != nil {
				return false, fmt.Errorf("district %s: %w", d.Code, err)
			}
		}
	}
	for _, ts := range s.Teams {
		t, err := db.CreateTeam(ctx, geo.NewTeam{Town: s.Town, Kind: string(ts.Kind), Name: ts.Name}, actor, from)
		if err != nil {
			return false, fmt.Errorf("team %s: %w", ts.Name, err)
		}
		if err := sit(geo.SeatAppointment{Role: geo.SeatLeader, TeamID: t.ID}, ts.Leader); err != nil {
			return false, fmt.Errorf("team %s: %w", ts.Name, err)
		}
		for _, m := range ts.Members {
			if err := sit(geo.SeatAppointment{Role: geo.SeatMember, TeamID: t.ID}, m); err != nil {
				return false, fmt.Errorf("team %s: %w", ts.Name, err)
			}
		}
		for _, v := range ts.Villages {
			if _, _, err := db.CoverVillage(ctx, t.ID, v, from, actor, from); err != nil {
				return false, fmt.Errorf("team %s: %w", ts.Name, err)
			}
		}
	}
	return true, nil
}
