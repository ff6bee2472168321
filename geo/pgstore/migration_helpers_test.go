package pgstore_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore/pgtest"
	"wangge/migrations"
)

// migrationDB creates an empty database named after prefix in the test
// cluster, dropped when the test ends, and returns a connection to it (closed
// then too) and its connection string: a database that the migration tests
// bring to an old schema by hand.
func migrationDB(t *testing.T, prefix string) (*pgx.Conn, string) {
	t.Helper()
	ctx := context.Background()
	c := pgtest.Cluster(t)
	admin, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s_%d", prefix, os.Getpid())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.ConnString(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close(context.Background())
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	return conn, c.ConnString(name)
}

// applyMigrations applies, in order, the migration files want accepts.
func applyMigrations(t *testing.T, conn *pgx.Conn, want func(file string) bool) {
	t.Helper()
	files, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(files)
	for _, f := range files {
		if !want(f) {
			continue
		}
		sql, _ := fs.ReadFile(migrations.FS, f)
		if _, err := conn.Exec(context.Background(), string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
