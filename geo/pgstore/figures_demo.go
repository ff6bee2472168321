package pgstore

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// demoYearTables maps the demo year's files to the temporary tables they
// are copied into (sql/figures_demo.sql), in load order.
var demoYearTables = []struct{ file, table string }{
	{"incidents.csv", "demo_incidents"}, {"events.csv", "demo_events"},
	{"deadlines.csv", "demo_deadlines"}, {"ratings.csv", "demo_ratings"},
}

// LoadDemoYear loads the demo year (fixtures/demoyear: a year of incidents
// with their events, deadlines and ratings, and the visit and meeting log,
// visits.csv) into the demo town, in one transaction. open returns a file
// of the year by name (incidents.csv, …), decompressed. It loads nothing,
// and returns 0, when the year is loaded already (but the visit log, if a
// year loaded before the log was lacks it) or the deployment holds no town
// townCode (someone imported their own town); replicas starting together
// load it once.
func (db *DB) LoadDemoYear(ctx context.Context, townCode string, open func(name string) (io.ReadCloser, error)) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("demo_year_lock")); err != nil {
			return err
		}
		var loaded bool
		var town string
		var gen int64
		if err := tx.QueryRow(ctx, q("demo_year_loaded"), townCode).Scan(&loaded, &town, &gen); err != nil {
			return err
		}
		if town != townCode || gen == 0 {
			return nil
		}
		if loaded {
			// A year loaded before the visit log was: the log alone.
			return loadDemoVisits(ctx, tx, gen, open)
		}
		if _, err := tx.Exec(ctx, q("demo_year_tables")); err != nil {
			return err
		}
		for _, t := range demoYearTables {
			rows, err := copyCSV(ctx, tx, t.table, t.file, open)
			if err != nil {
				return fmt.Errorf("demo year %s: %w", t.file, err)
			}
			if t.table == "demo_incidents" {
				n = rows
			}
		}
		for _, name := range []string{"demo_year_ids", "demo_year_insert_incidents", "demo_year_insert_events",
			"demo_year_insert_deadlines", "demo_year_insert_ratings"} {
			args := []any{}
			if name == "demo_year_insert_incidents" {
				args = append(args, gen)
			}
			if _, err := tx.Exec(ctx, q(name), args...); err != nil {
				return fmt.Errorf("demo year: %s: %w", name, err)
			}
		}
		return loadDemoVisits(ctx, tx, gen, open)
	})
	if err != nil {
		return 0, unavailable(err)
	}
	// Build the figures' rollup of the year now rather than in the first
	// table a dispatcher asks for.
	return n, db.refreshFigures(ctx)
}

// loadDemoVisits loads the demo year's visit log (visits.csv) in tx, once,
// with the points located in generation gen (the file's grids are the demo
// town's, which fixtures/visits_test.go checks point by point).
func loadDemoVisits(ctx context.Context, tx pgx.Tx, gen int64, open func(string) (io.ReadCloser, error)) error {
	var loaded bool
	if err := tx.QueryRow(ctx, q("demo_visits_loaded")).Scan(&loaded); err != nil || loaded {
		return err
	}
	if _, err := tx.Exec(ctx, q("demo_visits_table")); err != nil {
		return err
	}
	if _, err := copyCSV(ctx, tx, "demo_visits", "visits.csv", open); err != nil {
		return fmt.Errorf("demo year visits.csv: %w", err)
	}
	if _, err := tx.Exec(ctx, q("demo_visits_people")); err != nil {
		return fmt.Errorf("demo year: demo_visits_people: %w", err)
	}
	if _, err := tx.Exec(ctx, q("demo_visits_insert"), gen); err != nil {
		return fmt.Errorf("demo year: demo_visits_insert: %w", err)
	}
	return nil
}

// copyCSV copies the CSV file name into table, whose text columns are
// named as the file's header.
func copyCSV(ctx context.Context, tx pgx.Tx, table, name string, open func(string) (io.ReadCloser, error)) (int, error) {
	f, err := open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return 0, err
	}
	var rows [][]any
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		row := make([]any, len(rec))
		for i, v := range rec {
			row[i] = v
		}
		rows = append(rows, row)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, header, pgx.CopyFromRows(rows))
	return int(n), err
}
