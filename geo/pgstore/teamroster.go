package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// The import of work-team rosters (geo.TeamRosterStore): every team of the
// file is made as the file gives it in one transaction, each seat and
// coverage written and audited as the JSON API writes it (seat.appoint,
// seat.vacate, team.create, team.cover, team.uncover). A dry run does the
// same work and rolls it back, so that its report is what the import
// would do.

var _ geo.TeamRosterStore = (*DB)(nil)

// errRollBack ends the transaction of a dry run.
var errRollBack = errors.New("pgstore: roll back")

// ImportTeamRoster imports a checked work-team roster (see
// geo.TeamRosterStore).
func (db *DB) ImportTeamRoster(ctx context.Context, teams []geo.TeamRosterTeam, apply bool, actor string, now time.Time) (*geo.TeamRosterReport, error) {
	now = usec(now)
	report := &geo.TeamRosterReport{At: now}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		imp := &teamImport{db: db, tx: tx, actor: actor, now: now, report: report}
		for i := range teams {
			if err := imp.team(ctx, &teams[i]); err != nil {
				return err
			}
		}
		if !apply || len(report.Errors) > 0 {
			return errRollBack
		}
		if err := audit(ctx, tx, now, actor, "team_roster.import", "teams", nil,
			map[string]any{"teams": len(report.Teams)}, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("people_notify"))
		return err
	})
	if errors.Is(err, errRollBack) {
		return report, nil
	}
	if err != nil {
		return nil, unavailable(structureConflict(err))
	}
	report.Applied = true
	return report, nil
}

// teamImport is one import in its transaction.
type teamImport struct {
	db     *DB
	tx     pgx.Tx
	actor  string
	now    time.Time
	report *geo.TeamRosterReport
}

// refuse records a problem of a row: the import writes nothing.
func (imp *teamImport) refuse(line int, f geo.TeamRosterField, format string, args ...any) {
	imp.report.Errors = append(imp.report.Errors, geo.TeamRosterProblem{Line: line, Field: f, Reason: fmt.Sprintf(format, args...)})
}

// team makes one team as the roster gives it.
func (imp *teamImport) team(ctx context.Context, rt *geo.TeamRosterTeam) error {
	tx, now := imp.tx, imp.now
	out := geo.TeamRosterOutcome{Line: rt.Line, Town: rt.Town, Name: rt.Name, Kind: rt.Kind}
	var id int64
	switch err := tx.QueryRow(ctx, q("team_by_name"), rt.Town, rt.Name, int64(0)).Scan(&id); {
	case err == pgx.ErrNoRows:
		if err := tx.QueryRow(ctx, q("team_insert"), rt.Town, rt.Kind, rt.Name, now).Scan(&id); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, imp.actor, "team.create", fmt.Sprintf("team:%d", id), nil,
			map[string]any{"town": rt.Town, "kind": rt.Kind, "name": rt.Name, "roster": true}, ""); err != nil {
			return err
		}
		out.Created = true
		out.Changes = append(out.Changes, geo.TeamRosterChange{Line: rt.Line, Change: geo.TeamChangeCreated})
	case err != nil:
		return err
	}
	t, err := scanTeam(tx.QueryRow(ctx, q("team_lock"), id))
	if err != nil {
		return err
	}
	out.TeamID = id
	if rt.KindLine != 0 && t.Kind != rt.Kind {
		imp.refuse(rt.KindLine, geo.TeamRosterKind, "team %s is a %s: a team's kind does not change (disband it with PATCH /v1/teams/%d and import it again)",
			rt.Name, t.Kind.NameZh(), id)
	}
	out.Kind = t.Kind
	if err := fillTeams(ctx, tx, []*geo.WorkTeam{t}, now); err != nil {
		return err
	}

	// The people: those the file names, found or created by name and
	// phone; those it does not name leave the team.
	wanted := append([]geo.TeamRosterPerson{rt.Leader}, rt.Members...)
	persons := make([]geo.Person, len(wanted))
	created := make([]bool, len(wanted))
	named := map[int64]bool{}
	for i, p := range wanted {
		var res geo.AppointmentResult
		person, err := appointee(ctx, tx, &geo.Appointment{Name: p.Name, Phone: p.Phone}, now, &res)
		if err != nil {
			if geo.ErrorCode(err) == geo.EINVALID {
				imp.refuse(p.Line, geo.TeamRosterName, "%s", geo.ErrorMessage(err))
				continue
			}
			return err
		}
		if !person.EndedAt.IsZero() {
			imp.refuse(p.Line, geo.TeamRosterName, "%s (person %d) left at %s and cannot be appointed", person.Name, person.ID, person.EndedAt.Format(time.RFC3339))
			continue
		}
		if res.PersonCreated {
			if err := tx.QueryRow(ctx, q("person_insert"), person.Name, person.Phone, now).Scan(&person.ID); err != nil {
				return err
			}
		}
		persons[i], created[i], named[person.ID] = person, res.PersonCreated, true
	}
	body := seatBody{a: &geo.SeatAppointment{TeamID: id, TownCode: rt.Town}, single: geo.SeatLeader}
	current := append([]geo.Seat{}, t.Members...)
	if t.Leader != nil {
		current = append(current, *t.Leader)
	}
	var handed []geo.Assignment
	for _, s := range current {
		if named[s.Person.ID] {
			continue
		}
		if err := imp.endSeat(ctx, body, s, &out, &handed); err != nil {
			return err
		}
	}
	for i, p := range wanted {
		if persons[i].ID == 0 {
			continue // refused above
		}
		if err := imp.seat(ctx, body, p, persons[i], created[i], &out, &handed); err != nil {
			return err
		}
	}
	if _, err := handOverEnded(ctx, imp.db, tx, handed, imp.actor, now, now); err != nil {
		return err
	}

	// The villages.
	listed := map[string]bool{}
	for _, v := range rt.Villages {
		listed[v.Code] = true
	}
	for _, c := range t.Villages {
		if listed[c.VillageCode] {
			continue
		}
		if !c.From.Before(now) {
			imp.refuse(rt.Line, geo.TeamRosterVillages, "team %s covers %s from %s, not before this import: it cannot end now", rt.Name, c.VillageName, c.From.Format(time.RFC3339))
			continue
		}
		if _, err := tx.Exec(ctx, q("village_cover_end"), c.ID, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, imp.actor, "team.uncover", fmt.Sprintf("team:%d", id), map[string]any{"village": c.VillageCode, "from": c.From},
			map[string]any{"ends_at": now, "roster": true}, ""); err != nil {
			return err
		}
		out.Changes = append(out.Changes, geo.TeamRosterChange{Change: geo.TeamChangeUncovered, Village: c.VillageCode, VillageName: c.VillageName})
	}
	for _, v := range rt.Villages {
		if err := imp.cover(ctx, t, rt, v, &out); err != nil {
			return err
		}
	}
	imp.report.Teams = append(imp.report.Teams, out)
	return nil
}

// endSeat ends at the import's instant a seat the file no longer lists.
func (imp *teamImport) endSeat(ctx context.Context, body seatBody, s geo.Seat, out *geo.TeamRosterOutcome, handed *[]geo.Assignment) error {
	s, leaving, err := body.vacate(ctx, imp.tx, s, imp.now, "team "+out.Name)
	if geo.ErrorCode(err) == geo.ECONFLICT {
		imp.refuse(out.Line, geo.TeamRosterName, "%s", geo.ErrorMessage(err))
		return nil
	} else if err != nil {
		return err
	}
	*handed = append(*handed, leaving...)
	out.Changes = append(out.Changes, geo.TeamRosterChange{Change: geo.TeamChangeEnded, Seat: s.Role, PersonID: s.Person.ID, Name: s.Person.Name})
	return audit(ctx, imp.tx, imp.now, imp.actor, "seat.vacate", body.a.Target(),
		map[string]any{"seat": s.ID, "role": s.Role, "person": s.Person.ID, "name": s.Person.Name},
		map[string]any{"ends_at": imp.now, "roster": true}, "")
}

// seat puts person in p's seat unless they hold it, as AppointSeat does:
// the holder of the leader's seat, or the person's other seat on the
// team, ends now.
func (imp *teamImport) seat(ctx context.Context, body seatBody, p geo.TeamRosterPerson, person geo.Person, created bool,
	out *geo.TeamRosterOutcome, handed *[]geo.Assignment) error {
	tx, now := imp.tx, imp.now
	change := geo.TeamRosterChange{Line: p.Line, Seat: p.Seat, PersonID: person.ID, Name: person.Name, PersonCreated: created}
	plan, err := body.planSeat(ctx, tx, p.Seat, person.ID, now, "team "+out.Name)
	if geo.ErrorCode(err) == geo.ECONFLICT {
		imp.refuse(p.Line, geo.TeamRosterRole, "%s", geo.ErrorMessage(err))
		return nil
	} else if err != nil {
		return err
	}
	if plan.held != nil {
		change.Change = geo.TeamChangeUnchanged
		out.Changes = append(out.Changes, change)
		return nil
	}
	seat, ended, leaving, err := body.takeSeat(ctx, tx, plan, person, p.Seat, now)
	if err != nil {
		return err
	}
	*handed = append(*handed, leaving...)
	for _, s := range ended {
		out.Changes = append(out.Changes, geo.TeamRosterChange{Line: p.Line, Change: geo.TeamChangeEnded, Seat: s.Role, PersonID: s.Person.ID, Name: s.Person.Name})
	}
	change.Change = geo.TeamChangeAppointed
	out.Changes = append(out.Changes, change)
	return audit(ctx, tx, now, imp.actor, "seat.appoint", body.a.Target(), map[string]any{"ended": endedSeats(ended)},
		map[string]any{"seat": seat.ID, "role": p.Seat, "person": person.ID, "name": person.Name, "from": now,
			"person_created": created, "roster": true}, "")
}

// cover puts village v under team t unless it covers it: the team
// covering it until now stops.
func (imp *teamImport) cover(ctx context.Context, t *geo.WorkTeam, rt *geo.TeamRosterTeam, v geo.TeamRosterVillage, out *geo.TeamRosterOutcome) error {
	tx, now := imp.tx, imp.now
	change := geo.TeamRosterChange{Line: v.Line, Village: v.Code, VillageName: v.Name}
	var code, name string
	if err := tx.QueryRow(ctx, q("village_current"), v.Code).Scan(&code, &name); err == pgx.ErrNoRows {
		imp.refuse(v.Line, geo.TeamRosterVillages, "%s: no current village of that code", v.Code)
		return nil
	} else if err != nil {
		return err
	}
	change.VillageName = name
	cov, already, err := planCover(ctx, tx, t.ID, v.Code, now)
	if geo.ErrorCode(err) == geo.ECONFLICT {
		imp.refuse(v.Line, geo.TeamRosterVillages, "%s", geo.ErrorMessage(err))
		return nil
	} else if err != nil {
		return err
	}
	if already != nil {
		change.Change = geo.TeamChangeUnchanged
		out.Changes = append(out.Changes, change)
		return nil
	}
	_, ended, err := takeVillage(ctx, tx, t.ID, v.Code, cov, now)
	if err != nil {
		return err
	}
	for _, c := range ended {
		change.FromTeam = c.TeamName
	}
	change.Change = geo.TeamChangeCovered
	out.Changes = append(out.Changes, change)
	return audit(ctx, tx, now, imp.actor, "team.cover", fmt.Sprintf("team:%d", t.ID), map[string]any{"ended": endedCoverage(ended)},
		map[string]any{"village": v.Code, "from": now, "roster": true}, "")
}
