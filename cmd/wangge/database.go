package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"wangge/geo"
	"wangge/geo/pgstore"
)

// database is an open, migrated database, and the embedded cluster behind
// it when wangge started one.
type database struct {
	*pgstore.DB
	cluster *pgstore.Cluster
}

// openDatabase connects to cfg.DatabaseURL, or starts the embedded cluster
// in cfg.DataDir and creates its "wangge" database, then migrates.
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*database, error) {
	d := &database{}
	url := cfg.DatabaseURL
	if url == "" {
		c, err := pgstore.StartCluster(ctx, cfg.DataDir, pgstore.ClusterOptions{
			Logf: func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) },
		})
		if err != nil {
			return nil, err
		}
		d.cluster = c
		if err := c.EnsureDatabase(ctx, "wangge"); err != nil {
			d.stop(log, true)
			return nil, err
		}
		url = c.ConnString("wangge")
	}
	db, err := pgstore.Open(ctx, url)
	if err != nil {
		d.stop(log, true)
		return nil, err
	}
	d.DB = db
	// The store decides routing again in its own writes (a plan applied,
	// an appointment ended) as intake decides it.
	db.Dispatcher = geo.NewDispatcher(cfg.dispatch, cfg.ToleranceM).WithPublicURL(cfg.PublicURL)
	applied, err := db.Migrate(ctx)
	if err != nil {
		d.close(log, true)
		return nil, err
	}
	for _, m := range applied {
		log.Info("applied migration", "file", m)
	}
	return d, nil
}

// close closes the pool and stops the embedded cluster: always when owner
// (serve), and otherwise only if this process started it.
func (d *database) close(log *slog.Logger, owner bool) {
	if d.DB != nil {
		d.DB.Close()
	}
	d.stop(log, owner)
}

func (d *database) stop(log *slog.Logger, owner bool) {
	if d.cluster == nil || (d.cluster.Adopted && !owner) {
		return
	}
	if err := d.cluster.Stop(); err != nil {
		log.Error("stopping PostgreSQL", "err", err)
	} else {
		log.Info("stopped PostgreSQL")
	}
}

// cliLogger logs progress of command-line tools to stderr as text.
func cliLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// snapshot builds the lookup snapshot of the current generation, with the
// people and organizations in office now.
func (d *database) snapshot(ctx context.Context) (*geo.Snapshot, error) {
	now := d.Now()
	td, gen, err := d.LoadArea(ctx, 0, now)
	if err != nil {
		return nil, err
	}
	return geo.NewSnapshot(gen, td, now)
}
