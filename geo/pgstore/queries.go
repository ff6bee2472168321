package pgstore

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
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

// q returns the query called name. A missing name is a programming error,
// caught by the package's tests, which run every query.
func q(name string) string {
	s, ok := queries[name]
	if !ok {
		panic("pgstore: no query named " + name)
	}
	return s
}
