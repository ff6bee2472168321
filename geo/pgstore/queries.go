package pgstore

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The SQL lives in sql/*.sql, one file per aggregate, as SQL: each query
// starts with a line "-- name: some_name" and runs to the next such line.
// Queries take bind parameters only; no SQL is built from strings.
//
//go:embed sql/*.sql
var sqlFS embed.FS

var queries = loadQueries()

func loadQueries() map[string]string {
	m := map[string]string{}
	files, _ := fs.Glob(sqlFS, "sql/*.sql")
	for _, f := range files {
		b, _ := fs.ReadFile(sqlFS, f)
		name := ""
		var body strings.Builder
		flush := func() {
			if name != "" {
				if _, dup := m[name]; dup {
					panic(fmt.Sprintf("pgstore: query %s defined twice", name))
				}
				m[name] = strings.TrimSpace(body.String())
			}
			body.Reset()
		}
		for _, line := range strings.Split(string(b), "\n") {
			if n, ok := strings.CutPrefix(line, "-- name: "); ok {
				flush()
				name = strings.TrimSpace(n)
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
		}
		flush()
	}
	return m
}

// q returns the query called name. A missing name is a programming error:
// queries_test.go checks that every name the package's Go code gives q (or
// a step) is defined, that every query is used, and that every query
// prepares (parses, and names real tables, columns and functions) against
// a migrated database.
func q(name string) string {
	s, ok := queries[name]
	if !ok {
		panic("pgstore: no query named " + name)
	}
	return s
}

// appendRows appends to out every row of rows read by scan, one of the
// scan* functions that also read a QueryRow (scanOrg, scanPlan, ...), and
// closes rows. On an error it returns nil and the error.
func appendRows[T any](out []T, rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	return pgx.AppendRows(out, rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// byValue turns a scan function that returns a pointer into one that
// returns the value, for a list of values.
func byValue[T any](scan func(pgx.Row) (*T, error)) func(pgx.Row) (T, error) {
	return func(r pgx.Row) (T, error) {
		p, err := scan(r)
		if err != nil {
			var zero T
			return zero, err
		}
		return *p, nil
	}
}
