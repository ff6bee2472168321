// Package pgtest gives tests a real PostgreSQL with PostGIS: one throwaway
// cluster per test binary, a migrated template database, and a fresh
// database cloned from the template for each test (fast: a file copy).
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and call MustOpenDB(t) in a test. There is no skipping: when PostgreSQL or
// PostGIS is missing the tests fail with the message that says what to
// install.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore"
)

const template = "wangge_template"

var (
	cluster  *pgstore.Cluster
	startErr error
	once     sync.Once
	dbSeq    atomic.Int64
	tmpDir   string
)

// Main runs the tests of a package, then stops the cluster if one was
// started, and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stopping the cluster:", err)
		}
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// Cluster returns the test binary's cluster, starting it (and migrating the
// template database) on first use.
func Cluster(tb testing.TB) *pgstore.Cluster {
	tb.Helper()
	once.Do(func() { startErr = start() })
	if startErr != nil {
		tb.Fatalf("pgtest: %v", startErr)
	}
	return cluster
}

func start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "wangge-pgtest-")
	if err != nil {
		return err
	}
	tmpDir = dir
	os.Chmod(dir, 0o755) // the server may run as another user (postgres, when we are root)
	c, err := pgstore.StartCluster(ctx, dir, pgstore.ClusterOptions{Ephemeral: true})
	if err != nil {
		return err
	}
	cluster = c
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return err
	}
	db, err := pgstore.Open(ctx, c.ConnString(template))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// ConnString creates a fresh, migrated, empty database for the test, drops
// it when the test ends, and returns its connection string.
func ConnString(tb testing.TB) string {
	tb.Helper()
	c := Cluster(tb)
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		tb.Fatalf("pgtest: creating %s: %v", name, err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
		if err != nil {
			tb.Errorf("pgtest: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	return c.ConnString(name)
}

// MustOpenDB returns a pool on a fresh, migrated, empty database, closed and
// dropped when the test ends.
func MustOpenDB(tb testing.TB) *pgstore.DB {
	tb.Helper()
	db, err := pgstore.Open(context.Background(), ConnString(tb))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}
