package pgstore

import (
	"context"
	"fmt"
)

// Listen holds one connection in LISTEN on NotifyChannel and calls onNotify
// with each payload (the generation) until ctx ends or the connection
// breaks; it then returns the error, and the caller reconnects. onNotify is
// also called once right after LISTEN starts, with payload "", so that a
// change made while the caller was disconnected is not missed.
func (db *DB) Listen(ctx context.Context, onNotify func(payload string)) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	// The connection leaves the pool: a LISTENing session must not be
	// handed to another caller.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, q("listen")); err != nil {
		return unavailable(err)
	}
	onNotify("")
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return unavailable(err)
		}
		onNotify(n.Payload)
	}
}

// Notify announces that the registry changed outside an import (people,
// organizations), so that every replica reloads its snapshot.
func (db *DB) Notify(ctx context.Context, generation int64) error {
	_, err := db.Pool.Exec(ctx, q("notify"), fmt.Sprint(generation))
	return unavailable(err)
}
