package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
	"wangge/geo/workcal"
)

// ServicePoints lists the versions of service points valid at at (zero:
// the current ones) of town ("" for every town), by id.
func (db *DB) ServicePoints(ctx context.Context, town string, at time.Time) ([]geo.ServicePoint, error) {
	rows, _ := db.Pool.Query(ctx, q("service_points_at"), town, atArg(at))
	out, err := appendRows([]geo.ServicePoint{}, rows, scanServicePoint)
	return out, unavailable(err)
}

// ServicePoint returns the version of point id valid at at (zero: the
// current one); ENOTFOUND if there is none.
func (db *DB) ServicePoint(ctx context.Context, id int64, at time.Time) (geo.ServicePoint, error) {
	p, err := scanServicePoint(db.Pool.QueryRow(ctx, q("service_point_at"), id, atArg(at)))
	if err == pgx.ErrNoRows {
		when := "now"
		if !at.IsZero() {
			when = "at " + at.UTC().Format(time.RFC3339)
		}
		return p, geo.Errorf(geo.ENOTFOUND, "no service point %d %s", id, when)
	}
	return p, unavailable(err)
}

// ServicePointHistory lists every version of point id, oldest first;
// ENOTFOUND if it never existed.
func (db *DB) ServicePointHistory(ctx context.Context, id int64) ([]geo.ServicePoint, error) {
	rows, _ := db.Pool.Query(ctx, q("service_point_history"), id)
	out, err := appendRows([]geo.ServicePoint{}, rows, scanServicePoint)
	if err == nil && len(out) == 0 {
		return nil, geo.Errorf(geo.ENOTFOUND, "no service point %d", id)
	}
	return out, unavailable(err)
}

func atArg(at time.Time) *time.Time {
	if at.IsZero() {
		return nil
	}
	return &at
}

func scanServicePoint(r pgx.Row) (geo.ServicePoint, error) {
	var p geo.ServicePoint
	var hours, staff []byte
	var services []string
	var validTo *time.Time
	if err := r.Scan(&p.ID, &p.TownCode, &p.VillageCode, &p.Kind, &p.Name, &p.Location[0], &p.Location[1], &p.Address,
		&hours, &p.OpenOnHolidays, &services, &staff, &p.ValidFrom, &validTo); err != nil {
		return p, err
	}
	return p, finishServicePoint(&p, hours, staff, services, validTo)
}

func finishServicePoint(p *geo.ServicePoint, hours, staff []byte, services []string, validTo *time.Time) error {
	if validTo != nil {
		p.ValidTo = *validTo
	}
	for _, s := range services {
		p.Services = append(p.Services, geo.Category(s))
	}
	if err := json.Unmarshal(hours, &p.Hours); err != nil {
		return fmt.Errorf("service point %d: hours: %w", p.ID, err)
	}
	if err := json.Unmarshal(staff, &p.Staff); err != nil {
		return fmt.Errorf("service point %d: staff: %w", p.ID, err)
	}
	return nil
}

// CreateServicePoint stores a new point valid from at with its audit
// entry and returns it with its id.
func (db *DB) CreateServicePoint(ctx context.Context, p geo.ServicePoint, actor string, at time.Time) (geo.ServicePoint, error) {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, q("service_point_next_id")).Scan(&p.ID); err != nil {
			return err
		}
		if err := insertServicePoint(ctx, tx, &p, nil, actor, at); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("people_notify"))
		return err
	})
	if err != nil {
		return geo.ServicePoint{}, unavailable(err)
	}
	return p, nil
}

// ReplaceServicePoint ends the current version of point id at at and
// stores p as the next one; ENOTFOUND if the point is not current.
func (db *DB) ReplaceServicePoint(ctx context.Context, id int64, p geo.ServicePoint, actor string, at time.Time) (geo.ServicePoint, error) {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := endServicePoint(ctx, tx, id, at)
		if err != nil {
			return err
		}
		p.ID = id
		if err := insertServicePoint(ctx, tx, &p, before, actor, at); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("people_notify"))
		return err
	})
	if err != nil {
		return geo.ServicePoint{}, unavailable(err)
	}
	return p, nil
}

// EndServicePoint ends point id at at; ENOTFOUND if it is not current.
func (db *DB) EndServicePoint(ctx context.Context, id int64, actor string, at time.Time) error {
	return unavailable(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := endServicePoint(ctx, tx, id, at)
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "service_point.end", fmt.Sprintf("service_point:%d", id), before, nil, ""); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("people_notify"))
		return err
	}))
}

// endServicePoint locks the current version of point id and ends it at
// at, returning it as audited.
func endServicePoint(ctx context.Context, tx pgx.Tx, id int64, at time.Time) (map[string]any, error) {
	var version int64
	err := tx.QueryRow(ctx, q("service_point_lock"), id).Scan(&version)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "no current service point %d", id)
	} else if err != nil {
		return nil, err
	}
	cur, err := scanServicePoint(tx.QueryRow(ctx, q("service_point_at"), id, nil))
	if err != nil {
		return nil, err
	}
	if !at.After(cur.ValidFrom) {
		return nil, geo.Errorf(geo.ECONFLICT, "service point %d changed at %s, not before %s: try again", id,
			cur.ValidFrom.UTC().Format(time.RFC3339Nano), at.UTC().Format(time.RFC3339Nano))
	}
	if _, err := tx.Exec(ctx, q("service_point_end"), version, at); err != nil {
		return nil, err
	}
	return servicePointAudit(cur), nil
}

func insertServicePoint(ctx context.Context, tx pgx.Tx, p *geo.ServicePoint, before map[string]any, actor string, at time.Time) error {
	hours, err := json.Marshal(p.Hours)
	if err != nil {
		return err
	}
	staff := p.Staff
	if staff == nil {
		staff = []geo.StaffMember{}
	}
	staffJSON, err := json.Marshal(staff)
	if err != nil {
		return err
	}
	services := make([]string, len(p.Services))
	for i, s := range p.Services {
		services[i] = string(s)
	}
	p.ValidFrom, p.ValidTo = at, time.Time{}
	if _, err := tx.Exec(ctx, q("service_point_insert"), p.ID, p.TownCode, p.VillageCode, string(p.Kind), p.Name,
		p.Location[0], p.Location[1], p.Address, hours, p.OpenOnHolidays, services, staffJSON, at, actor); err != nil {
		return err
	}
	action := "service_point.create"
	if before != nil {
		action = "service_point.replace"
	}
	return audit(ctx, tx, at, actor, action, fmt.Sprintf("service_point:%d", p.ID), before, servicePointAudit(*p), "")
}

// servicePointAudit is what the audit log keeps of a point: not the
// staff's phones.
func servicePointAudit(p geo.ServicePoint) map[string]any {
	staff := make([]string, len(p.Staff))
	for i, m := range p.Staff {
		staff[i] = m.Name
	}
	return map[string]any{"town": p.TownCode, "village": p.VillageCode, "kind": p.Kind, "name": p.Name,
		"location": []float64{p.Location[0], p.Location[1]}, "address": p.Address, "hours": p.Hours,
		"open_on_holidays": p.OpenOnHolidays, "services": p.Services, "staff": staff}
}

// NearestServicePoints lists the current points handling service (any
// when ""), nearest to p on the spheroid first, at most limit, each with
// whether a shift of its roster covers at.
func (db *DB) NearestServicePoints(ctx context.Context, p [2]float64, service geo.Category, at time.Time, limit int) ([]geo.NearServicePoint, error) {
	rows, _ := db.Pool.Query(ctx, q("service_points_nearest"), p[0], p[1], string(service), at, limit)
	out, err := appendRows([]geo.NearServicePoint{}, rows, func(r pgx.Row) (geo.NearServicePoint, error) {
		var n geo.NearServicePoint
		var hours, staff []byte
		var services []string
		var validTo *time.Time
		if err := r.Scan(&n.ID, &n.TownCode, &n.VillageCode, &n.Kind, &n.Name, &n.Location[0], &n.Location[1], &n.Address,
			&hours, &n.OpenOnHolidays, &services, &staff, &n.ValidFrom, &validTo, &n.DistanceM, &n.Rostered); err != nil {
			return n, err
		}
		return n, finishServicePoint(&n.ServicePoint, hours, staff, services, validTo)
	})
	return out, unavailable(err)
}

// DutyShifts lists the shifts at point (0: the duty desk of town) that
// overlap [from, to), by start.
func (db *DB) DutyShifts(ctx context.Context, town string, point int64, from, to time.Time) ([]geo.DutyShift, error) {
	var pointArg *int64
	if point != 0 {
		pointArg = &point
	}
	rows, _ := db.Pool.Query(ctx, q("duty_shifts_between"), town, pointArg, from, to)
	out, err := appendRows([]geo.DutyShift{}, rows, scanDutyShift)
	return out, unavailable(err)
}

func scanDutyShift(r pgx.Row) (geo.DutyShift, error) {
	var s geo.DutyShift
	var date string
	if err := r.Scan(&s.ID, &s.TownCode, &s.ServicePointID, &date, &s.Shift, &s.From, &s.To, &s.Name, &s.Phone); err != nil {
		return s, err
	}
	var err error
	s.Date, err = workcal.ParseDate(date)
	return s, err
}

// loadServicePoints puts on each town of td its service points in
// service at at (geo.Town.ServicePoints) and the shifts of its duty desk
// not ended two days before at (geo.Town.DutyRoster).
func loadServicePoints(ctx context.Context, tx pgx.Tx, td *geo.Area, at time.Time) error {
	rows, _ := tx.Query(ctx, q("service_points_at"), "", at)
	points, err := appendRows([]geo.ServicePoint{}, rows, scanServicePoint)
	if err != nil {
		return err
	}
	for _, p := range points {
		for i := range td.Towns {
			if td.Towns[i].Code == p.TownCode {
				td.Towns[i].ServicePoints = append(td.Towns[i].ServicePoints, p)
				break
			}
		}
	}
	rows, _ = tx.Query(ctx, q("duty_desk_rosters"), at.Add(-48*time.Hour))
	shifts, err := appendRows([]geo.DutyShift{}, rows, scanDutyShift)
	if err != nil {
		return err
	}
	for _, s := range shifts {
		for i := range td.Towns {
			if td.Towns[i].Code == s.TownCode {
				td.Towns[i].DutyRoster = append(td.Towns[i].DutyRoster, s)
				break
			}
		}
	}
	return nil
}

// ImportDutyRoster checks shifts against the stored service points and,
// when apply, replaces the stored shifts of every (place, date) the roster
// covers, with the audit entry and (for desks) the announcement that makes
// every replica reload its snapshot. With any row in error nothing is
// written; in a dry run nothing is either (the transaction is rolled
// back).
func (db *DB) ImportDutyRoster(ctx context.Context, shifts []geo.DutyShift, rows []int, apply bool, actor string, at time.Time) (*geo.DutyRosterReport, error) {
	report := &geo.DutyRosterReport{Rows: len(shifts), Shifts: len(shifts)}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		towns := map[int64]*string{}
		for i := range shifts {
			s := &shifts[i]
			if s.ServicePointID == 0 {
				continue
			}
			town, ok := towns[s.ServicePointID]
			if !ok {
				var code string
				switch err := tx.QueryRow(ctx, q("duty_point_town"), s.ServicePointID, s.From).Scan(&code); {
				case err == pgx.ErrNoRows:
				case err != nil:
					return err
				default:
					town = &code
				}
				towns[s.ServicePointID] = town
			}
			switch {
			case town == nil:
				report.Errors = append(report.Errors, geo.Problem{Where: fmt.Sprintf("row %d, service_point", rows[i]),
					Reason: fmt.Sprintf("no service point %d open on %s", s.ServicePointID, s.Date)})
			case s.TownCode != "" && s.TownCode != *town:
				report.Errors = append(report.Errors, geo.Problem{Where: fmt.Sprintf("row %d, town", rows[i]),
					Reason: fmt.Sprintf("service point %d is in town %s, not %s", s.ServicePointID, *town, s.TownCode)})
			default:
				s.TownCode = *town
			}
		}
		report.Days = geo.RosterDays(shifts)
		desks := false
		for _, d := range report.Days {
			var n int
			if err := tx.QueryRow(ctx, q("duty_shifts_count_day"), d.TownCode, d.ServicePointID, d.Date.String()).Scan(&n); err != nil {
				return err
			}
			report.Replaced += n
			desks = desks || d.ServicePointID == 0
		}
		if !apply || len(report.Errors) > 0 {
			return nil
		}
		for _, d := range report.Days {
			if _, err := tx.Exec(ctx, q("duty_shifts_delete_day"), d.TownCode, d.ServicePointID, d.Date.String()); err != nil {
				return err
			}
		}
		for _, s := range shifts {
			if _, err := tx.Exec(ctx, q("duty_shift_insert"), s.TownCode, s.ServicePointID, s.Date.String(), s.Shift,
				s.From, s.To, s.Name, s.Phone, at, actor); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, at, actor, "duty_roster.import", "duty_roster", nil,
			map[string]any{"shifts": len(shifts), "replaced": report.Replaced, "days": len(report.Days)}, ""); err != nil {
			return err
		}
		report.Applied = true
		if desks {
			_, err := tx.Exec(ctx, q("people_notify"))
			return err
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return report, nil
}

var _ geo.ServicePointStore = (*DB)(nil)
