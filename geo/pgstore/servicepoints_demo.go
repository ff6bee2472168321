package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// LoadDemoServicePoints stores the demo service points of town and their
// duty shifts (as fixtures/towngen makes them: a shift's ServicePointID is
// its point's position in points, from 1; 0 is the town's duty desk) in
// one transaction, when the town has no service point yet: it never loads
// twice. It returns how many points it stored.
func (db *DB) LoadDemoServicePoints(ctx context.Context, town string, points []geo.ServicePoint, shifts []geo.DutyShift, at time.Time) (int, error) {
	stored := 0
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, q("service_points_count_town"), town).Scan(&n); err != nil || n > 0 {
			return err
		}
		ids := make([]int64, len(points)+1)
		for i := range points {
			p := points[i]
			p.TownCode = town
			if err := tx.QueryRow(ctx, q("service_point_next_id")).Scan(&p.ID); err != nil {
				return err
			}
			if err := insertServicePoint(ctx, tx, &p, nil, "demo", at); err != nil {
				return err
			}
			ids[i+1] = p.ID
		}
		rows := make([][]any, 0, len(shifts))
		for _, s := range shifts {
			if s.ServicePointID < 0 || s.ServicePointID > int64(len(points)) {
				return fmt.Errorf("demo shift of point %d: there are %d points", s.ServicePointID, len(points))
			}
			var point *int64
			if s.ServicePointID > 0 {
				point = &ids[s.ServicePointID]
			}
			rows = append(rows, []any{town, point, time.Date(s.Date.Year, s.Date.Month, s.Date.Day, 0, 0, 0, 0, time.UTC), s.Shift, s.From, s.To, s.Name, s.Phone, at, "demo"})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"duty_shifts"},
			[]string{"town_code", "service_point_id", "roster_date", "shift", "starts_at", "ends_at", "name", "phone", "imported_at", "imported_by"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		stored = len(points)
		_, err := tx.Exec(ctx, q("people_notify"))
		return err
	})
	return stored, unavailable(err)
}
