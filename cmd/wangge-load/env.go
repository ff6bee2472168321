package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"wangge/api"
	"wangge/api/busypoll"
	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/townfile"
)

// env is what every benchmark runs against: a private PostgreSQL with the
// demo town, the snapshot built from it, and the real API handler serving
// HTTP on a loopback port in this process.
type env struct {
	dir      string
	cluster  *pgstore.Cluster
	db       *pgstore.DB
	registry geo.Registry
	snap     *geo.Snapshot
	srv      *http.Server
	addr     string        // host:port of the API
	busyPoll time.Duration // api/busypoll's budget, as `wangge serve --busy-poll`
	logf     func(format string, args ...any)
}

// setupTimeout bounds the start of PostgreSQL and the demo import.
const setupTimeout = 3 * time.Minute

// setUp starts everything. It returns the env even on error, so that the
// caller's deferred close stops what was started. Set-up does not stop
// half-way on Ctrl-C (a half-started server could be left running);
// ctx is checked once it is done.
func setUp(ctx context.Context, data string, busyPoll time.Duration, logf func(string, ...any)) (*env, error) {
	e := &env{logf: logf, busyPoll: busyPoll}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	defer cancel()
	if err := e.startDatabase(sctx); err != nil {
		return e, err
	}
	if err := e.loadDemo(sctx, data); err != nil {
		return e, err
	}
	if err := e.serve(); err != nil {
		return e, err
	}
	return e, ctx.Err()
}

// startDatabase starts a throwaway cluster in a temporary folder and opens
// a migrated, empty database in it.
func (e *env) startDatabase(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "wangge-load-")
	if err != nil {
		return err
	}
	e.dir = dir
	// As root, PostgreSQL runs as the postgres user, which must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	e.logf("starting PostgreSQL in %s", dir)
	e.cluster, err = pgstore.StartCluster(ctx, dir, pgstore.ClusterOptions{Ephemeral: true})
	if err != nil {
		return err
	}
	e.db, err = openMigrated(ctx, e.cluster, "wangge")
	return err
}

// openMigrated creates database name in c and migrates it.
func openMigrated(ctx context.Context, c *pgstore.Cluster, name string) (*pgstore.DB, error) {
	if err := c.EnsureDatabase(ctx, name); err != nil {
		return nil, err
	}
	db, err := pgstore.Open(ctx, c.ConnString(name))
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// loadDemo imports the demo town (data "town") or the demo county
// ("county") and builds its snapshot the way `wangge serve` does.
func (e *env) loadDemo(ctx context.Context, data string) error {
	var towns []*geo.TownData
	switch data {
	case "town":
		td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
		if err != nil {
			return fmt.Errorf("reading the demo town: %w", err)
		}
		towns = []*geo.TownData{td}
	case "county":
		var err error
		if towns, err = fixtures.County(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-data %q: want town or county", data)
	}
	grids := 0
	for _, td := range towns {
		grids += len(td.Grids)
	}
	e.logf("importing the demo %s (%d towns, %d grids)", data, len(towns), grids)
	if _, err := e.db.ImportTowns(ctx, towns, "wangge-load", "benchmark"); err != nil {
		return fmt.Errorf("importing the demo %s: %w", data, err)
	}
	now := e.db.Now()
	loaded, gen, err := e.db.LoadArea(ctx, 0, now)
	if err != nil {
		return err
	}
	e.snap, err = geo.NewSnapshot(gen, loaded, now)
	if err != nil {
		return err
	}
	e.registry.Store(e.snap)
	return nil
}

// serve starts the API on 127.0.0.1 on a free port.
func (e *env) serve() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return e.startHTTP(api.New(&e.registry, e.db, api.Config{}, log))
}

// startHTTP serves h on 127.0.0.1 on a free port, reading connections as
// `wangge serve` does (api/busypoll, for e.busyPoll).
func (e *env) startHTTP(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.addr = ln.Addr().String()
	poller := busypoll.New(e.busyPoll)
	e.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	poller.Configure(e.srv)
	go func() {
		if err := e.srv.Serve(poller.Listen(ln)); !errors.Is(err, http.ErrServerClosed) {
			e.logf("HTTP server: %v", err)
		}
	}()
	e.logf("API listening on %s (busy polling %v)", e.addr, poller.Budget())
	return nil
}

// close stops the HTTP server and PostgreSQL and removes the folder.
func (e *env) close() {
	if e.srv != nil {
		e.srv.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			e.logf("stopping PostgreSQL: %v", err)
		}
	}
	if e.dir != "" {
		if err := os.RemoveAll(e.dir); err != nil {
			e.logf("removing %s: %v", e.dir, err)
		}
	}
}
