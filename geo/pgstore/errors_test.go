package pgstore

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// TestUnavailable_classes: the SQLSTATE classes a client must never see
// as a 500. A full disk (53100) or too many connections (53300) is 503
// with Retry-After; text PostgreSQL cannot store (22021) is the client's
// input; a lost connection is 503; anything else passes through as an
// internal error.
func TestUnavailable_classes(t *testing.T) {
	for _, c := range []struct {
		code string
		want string
	}{
		{"53100", geo.EUNAVAILABLE}, // disk_full
		{"53200", geo.EUNAVAILABLE}, // out_of_memory
		{"53300", geo.EUNAVAILABLE}, // too_many_connections
		{"08006", geo.EUNAVAILABLE}, // connection_failure
		{"57P01", geo.EUNAVAILABLE}, // admin_shutdown
		{"22021", geo.EINVALID},     // character_not_in_repertoire
		{"42P01", geo.EINTERNAL},    // undefined_table: a bug
	} {
		err := unavailable(fmt.Errorf("exec: %w", &pgconn.PgError{Code: c.code, Message: "x"}))
		if got := geo.ErrorCode(err); got != c.want {
			t.Errorf("SQLSTATE %s: code %q, want %q", c.code, got, c.want)
		}
	}
}

// TestUnavailable_connClosed: pgx answers a query on a connection the
// server dropped (a primary killed during failover) with ErrConnClosed,
// not a PgError; that is 503 too, never a 500.
func TestUnavailable_connClosed(t *testing.T) {
	err := unavailable(fmt.Errorf("query: %w", pgconn.ErrConnClosed))
	if got := geo.ErrorCode(err); got != geo.EUNAVAILABLE {
		t.Errorf("ErrConnClosed: code %q, want %q", got, geo.EUNAVAILABLE)
	}
}
