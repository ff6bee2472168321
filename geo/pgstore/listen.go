package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Listen holds one connection in LISTEN on NotifyChannel and calls onNotify
// with each payload (the generation) until ctx ends or the connection
// breaks; it then returns the error, and the caller reconnects. onNotify is
// also called once right after LISTEN starts, with payload "", so that a
// change made while the caller was disconnected is not missed.
func (db *DB) Listen(ctx context.Context, onNotify func(payload string)) error {
	l, err := db.StartListening(ctx)
	if err != nil {
		return err
	}
	onNotify("")
	return l.Wait(ctx, onNotify)
}

// Listener is a session in LISTEN on NotifyChannel. Whoever loads state
// after StartListening returns has seen every change announced before, and
// Wait delivers the ones announced after: start-up loads once, in between.
type Listener struct {
	conn *pgx.Conn
}

// StartListening takes a connection out of the pool and puts it in LISTEN.
func (db *DB) StartListening(ctx context.Context) (*Listener, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	// The connection leaves the pool: a LISTENing session must not be
	// handed to another caller.
	pc := conn.Hijack()
	if _, err := pc.Exec(ctx, q("listen")); err != nil {
		pc.Close(context.WithoutCancel(ctx))
		return nil, unavailable(err)
	}
	return &Listener{conn: pc}, nil
}

// Wait calls onNotify with each payload until ctx ends or the connection
// breaks, then closes the connection and returns the error.
func (l *Listener) Wait(ctx context.Context, onNotify func(payload string)) error {
	defer l.Close(ctx)
	for {
		n, err := l.conn.WaitForNotification(ctx)
		if err != nil {
			return unavailable(err)
		}
		onNotify(n.Payload)
	}
}

// Close ends the session; closing twice is harmless.
func (l *Listener) Close(ctx context.Context) {
	l.conn.Close(context.WithoutCancel(ctx))
}

// Notify announces that the registry changed outside an import (people,
// organizations), so that every replica reloads its snapshot.
func (db *DB) Notify(ctx context.Context, generation int64) error {
	_, err := db.Pool.Exec(ctx, q("notify"), fmt.Sprint(generation))
	return unavailable(err)
}
