package pgstore_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestQueries_prepare prepares every query of sql/*.sql against a freshly
// migrated database, which parses it and resolves every table, column,
// function and parameter type, without running it. Queries read temporary
// tables that other queries create (next_*, import_*, plan_layer, ...), so
// a query that creates a table is also run, with NULL parameters, and a
// query whose table does not exist yet is tried again once the others
// have run. A query of several statements cannot be prepared; the package
// runs those without parameters, over the simple protocol, and so does
// the test. Everything happens in one transaction, rolled back.
func TestQueries_prepare(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)

	queries := pgstore.Queries()
	pending := make([]string, 0, len(queries))
	for name := range queries {
		pending = append(pending, name)
	}
	slices.Sort(pending)
	for len(pending) > 0 {
		var later []string
		missing := map[string]error{}
		for _, name := range pending {
			err := checkQuery(ctx, tx, queries[name])
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
				later = append(later, name)
				missing[name] = err
				continue
			}
			if err != nil {
				t.Errorf("query %s: %v", name, err)
			}
		}
		if len(later) == len(pending) {
			for _, name := range later {
				t.Errorf("query %s: %v (and no other query creates the table)", name, missing[name])
			}
			break
		}
		pending = later
	}
}

// checkQuery prepares sql in a savepoint of tx, which it keeps when the
// query succeeds (with the tables it created) and rolls back otherwise.
func checkQuery(ctx context.Context, tx pgx.Tx, sql string) (err error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			sp.Rollback(ctx)
			return
		}
		err = sp.Commit(ctx)
	}()
	sd, err := sp.Conn().PgConn().Prepare(ctx, "", sql, nil)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42601" { // syntax_error, or several statements
		if err := sp.Rollback(ctx); err != nil {
			return err
		}
		if sp, err = tx.Begin(ctx); err != nil {
			return err
		}
		_, err = sp.Exec(ctx, sql) // no arguments: the simple protocol
		return err
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(strings.ToUpper(withoutComments(sql)), "CREATE ") {
		_, err = sp.Exec(ctx, sql, make([]any, len(sd.ParamOIDs))...)
	}
	return err
}

// withoutComments drops the comment lines at the start of sql.
func withoutComments(sql string) string {
	for strings.HasPrefix(sql, "--") {
		_, sql, _ = strings.Cut(sql, "\n")
		sql = strings.TrimSpace(sql)
	}
	return sql
}

// TestQueries_namesInGo checks the package's Go code against the queries:
// every name it passes to q, or names in a step, is defined, and every
// query is named somewhere (no SQL is left unused).
func TestQueries_namesInGo(t *testing.T) {
	queries := pgstore.Queries()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	literals := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var name ast.Expr
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
					literals[s] = true
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "q" && len(n.Args) == 1 {
					name = n.Args[0]
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "step" && len(n.Elts) > 0 {
					name = n.Elts[0]
				}
			}
			if lit, ok := name.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				if _, ok := queries[s]; !ok {
					t.Errorf("%s: no query named %q in sql/*.sql", fset.Position(lit.Pos()), s)
				}
			}
			return true
		})
	}
	for name := range queries {
		if !literals[name] {
			t.Errorf("query %s is never named in the package's Go code", name)
		}
	}
}
