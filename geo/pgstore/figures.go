package pgstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
	"wangge/geo/figures"
)

// Figures computes the 考核 table of query (see package figures for what
// each figure counts): one row per group, in key order, and the total. It
// first brings the rollup up to date (refreshFigures), then reads it in
// one repeatable-read snapshot, so that the figures agree.
func (db *DB) Figures(ctx context.Context, query figures.Query) (*figures.Table, error) {
	if err := db.refreshFigures(ctx); err != nil {
		return nil, err
	}
	t := &figures.Table{Query: query}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("figures_work_mem")); err != nil {
			return err
		}
		names := map[string][2]string{}
		if query.Level == figures.LevelDistrict || query.Level == figures.LevelVillage || query.Level == figures.LevelGrid {
			rows, err := tx.Query(ctx, q("figures_names"))
			if err != nil {
				return err
			}
			var kind, code, name, parent string
			_, err = pgx.ForEachRow(rows, []any{&kind, &code, &name, &parent}, func() error {
				if kind == string(query.Level) {
					names[code] = [2]string{name, parent}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		// Every query's rows go to the group of their key; a NULL key is
		// the total.
		byKey := map[string]*figures.Row{}
		total := &figures.Row{Key: "total", Name: "合计"}
		var key *string
		get := func() *figures.Row {
			if key == nil {
				return total
			}
			r, ok := byKey[*key]
			if !ok {
				r = &figures.Row{Key: *key}
				byKey[*key] = r
			}
			return r
		}
		level := string(query.Level)
		from, to := query.Period.From.In(figures.China).Format(time.DateOnly), query.Period.To.In(figures.China).Format(time.DateOnly)
		var n [7]int
		var hours, all []float64
		byKeyHours := map[string][]float64{}
		for _, part := range []struct {
			name string
			args []any
			dst  []any
			set  func(r *figures.Row)
		}{
			{"figures_accepted", []any{level, from, to}, []any{&key, &n[0], &n[1]},
				func(r *figures.Row) { r.Accepted, r.Escalations = n[0], n[1] }},
			{"figures_overdue", []any{level, query.Period.From, query.Period.To, query.Now}, []any{&key, &n[0]},
				func(r *figures.Row) { r.OverdueNow = n[0] }},
			{"figures_completed", []any{level, from, to}, []any{&key, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6]},
				func(r *figures.Row) {
					r.Completed, r.OnTime, r.InVillage, r.InTown, r.Rated, r.Satisfied, r.Unsatisfied = n[0], n[1], n[2], n[3], n[4], n[5], n[6]
				}},
			{"figures_hours", []any{level, from, to}, []any{&key, &hours},
				func(r *figures.Row) {
					byKeyHours[r.Key] = append(byKeyHours[r.Key], hours...)
					all = append(all, hours...)
				}},
		} {
			rows, err := tx.Query(ctx, q(part.name), part.args...)
			if err != nil {
				return err
			}
			if _, err := pgx.ForEachRow(rows, part.dst, func() error { part.set(get()); return nil }); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			r := byKey[k]
			r.Name, r.Parent = rowName(query.Level, k, names)
			r.MedianHours, r.P90Hours = medianP90(byKeyHours[k])
			t.Rows = append(t.Rows, *r)
		}
		total.MedianHours, total.P90Hours = medianP90(all)
		t.Total = *total
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return t, nil
}

// medianP90 sorts hours and returns their median and 90th percentile, nil
// for none.
func medianP90(hours []float64) (median, p90 *float64) {
	if len(hours) == 0 {
		return nil, nil
	}
	slices.Sort(hours)
	m, p := figures.Percentile(hours, 0.5), figures.Percentile(hours, 0.9)
	return &m, &p
}

// refreshFigures recomputes the rollup's rows of the days that writes
// marked dirty since the last refresh, in one transaction. Concurrent
// refreshers queue on a lock; a write that commits meanwhile marks its days
// again, for the next.
func (db *DB) refreshFigures(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("figures_refresh_lock")); err != nil {
			return err
		}
		var days []string
		if err := tx.QueryRow(ctx, q("figures_refresh_take")).Scan(&days); err != nil {
			return err
		}
		if len(days) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, q("figures_work_mem")); err != nil {
			return err
		}
		for _, name := range []string{"figures_refresh_clear", "figures_refresh_accepted", "figures_refresh_completed"} {
			if _, err := tx.Exec(ctx, q(name), days); err != nil {
				return err
			}
		}
		return nil
	})
	return unavailable(err)
}

// rowName is how a reader knows the group key of level, and the group it
// lies in.
func rowName(level figures.Level, key string, names map[string][2]string) (name, parent string) {
	switch level {
	case figures.LevelDistrict, figures.LevelVillage, figures.LevelGrid:
		if n, ok := names[key]; ok {
			return n[0], n[1]
		}
		if key == "" {
			return "（未落入网格）", ""
		}
		return key, ""
	case figures.LevelItem:
		return geo.CategoryName(geo.Category(key)), ""
	case figures.LevelPerson:
		if key == "" {
			return "（未指派）", ""
		}
		return key, ""
	}
	day, err := time.ParseInLocation("2006-01-02", key, figures.China)
	if err != nil {
		return key, ""
	}
	switch level {
	case figures.LevelWeek:
		y, w := day.ISOWeek()
		return fmt.Sprintf("%d年第%d周", y, w), ""
	case figures.LevelMonth:
		return fmt.Sprintf("%d年%d月", day.Year(), day.Month()), ""
	case figures.LevelQuarter:
		return fmt.Sprintf("%d年第%d季度", day.Year(), (int(day.Month())+2)/3), ""
	}
	return fmt.Sprintf("%d年%d月%d日", day.Year(), day.Month(), day.Day()), ""
}
