// Package pgstore is the only package of wangge that speaks SQL: it keeps the
// grid registry in PostgreSQL with PostGIS through pgx/v5, one file per
// aggregate, every write in one transaction. It also starts the embedded
// local cluster (cluster.go) and applies the embedded migrations.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"wangge/geo"
	"wangge/migrations"
)

// NotifyChannel is the LISTEN/NOTIFY channel on which a write that changes
// what the lookup snapshot holds announces itself; the payload is the
// current generation. Every replica listens and reloads.
const NotifyChannel = "wangge_registry" // also named in sql/town.sql (listen, notify)

// DB is a connection pool to a wangge database.
type DB struct {
	Pool *pgxpool.Pool
	// Now is the clock, replaceable in tests.
	Now func() time.Time
	// Dispatcher decides routing again inside the store's own writes, as
	// intake decides it: open incidents when a plan is applied or an
	// appointment ends (incidents_reroute.go). The zero value stands for
	// geo.NewDispatcher's defaults; the server sets its own.
	Dispatcher geo.Dispatcher

	intake intakeBatcher // incidents waiting to be written together (intake_batch.go)
}

// DefaultPoolConns is the most connections a server opens to PostgreSQL
// unless its URL says otherwise (pool_max_conns): two replicas stay well
// under PostgreSQL's default max_connections of 100.
const DefaultPoolConns = 16

// Open connects to the database at connString and checks that it answers.
func Open(ctx context.Context, connString string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "wangge"
	// PostGIS functions declare high costs, which trip PostgreSQL's JIT
	// compiler into spending 0.4–0.8 s compiling queries that then run in
	// milliseconds (measured on the coverage checks). wangge's queries are
	// short; JIT never pays off.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	// pgxpool's default is max(4, cores) connections: intake at 32
	// clients then queues for a connection while PostgreSQL waits on
	// fsync, where more sessions would share one flush (group commit).
	// A pool_max_conns in the URL still decides.
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, DefaultPoolConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return &DB{Pool: pool, Now: time.Now}, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.Pool.Close() }

// migrationLock serialises migrations of replicas starting together.
const migrationLock = 7_263_001

// Migrate applies the embedded migrations that are not yet recorded in
// schema_migrations, in order, each in its own transaction. It first checks
// that PostGIS can be installed, so that a server without it fails with one
// clear line.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var hasPostGIS bool
	var version string
	err = conn.QueryRow(ctx, q("migrate_server")).Scan(&hasPostGIS, &version)
	if err != nil {
		return nil, err
	}
	if !hasPostGIS {
		major, _ := strconv.Atoi(version)
		return nil, PostGISMissing(strconv.Itoa(major / 10000))
	}
	if _, err := conn.Exec(ctx, q("migrate_lock"), migrationLock); err != nil {
		return nil, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), q("migrate_unlock"), migrationLock)
	_, err = conn.Exec(ctx, q("migrate_table"))
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, name := range files {
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return applied, fmt.Errorf("migration %s: name must start with a number", name)
		}
		var done bool
		if err := conn.QueryRow(ctx, q("migrate_done"), version).Scan(&done); err != nil {
			return applied, err
		}
		if done {
			continue
		}
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return applied, err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, q("migrate_record"), version, name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		applied = append(applied, name)
	}
	return applied, nil
}

// Ping reports whether the database answers now.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable wraps a failure to reach PostgreSQL, or one for lack of
// resources (a full disk), as EUNAVAILABLE, so that writes answer 503 with
// Retry-After; text PostgreSQL cannot store is EINVALID; other errors pass
// through.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "22021":
			// character_not_in_repertoire: text the API should have
			// refused (a NUL, bytes that are not UTF-8) reached the
			// database; it is the client's input, never a 500.
			return &geo.Error{Code: geo.EINVALID, Message: "the request holds text that is not valid UTF-8 or holds a NUL character"}
		case strings.HasPrefix(pgErr.Code, "53"):
			// Class 53, insufficient resources: disk full (53100), out of
			// memory, too many connections. The write may succeed later.
			return &geo.Error{Code: geo.EUNAVAILABLE, Message: "the database is out of resources (" + pgErr.Code + "); try again later"}
		case !strings.HasPrefix(pgErr.Code, "08") && !strings.HasPrefix(pgErr.Code, "57P"):
			// Class 08: connection exception; 57P: the server is shutting
			// down. Anything else passes through.
			return err
		}
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		// A connection found broken by an earlier read (its server died,
		// e.g. a primary lost in a failover) and closed under the caller.
		errors.Is(err, pgconn.ErrConnClosed):
	default:
		return err
	}
	return &geo.Error{Code: geo.EUNAVAILABLE, Message: "the database is unavailable; try again shortly"}
}
