package pgstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file keeps the audit log's writer. A write appends its entry
// inside its own transaction, so that the entry and the change commit or
// vanish together.

// audit appends one entry to the audit log inside tx.
func audit(ctx context.Context, tx pgx.Tx, at time.Time, actor, action, target string, before, after any, requestID string) error {
	enc := func(v any) []byte {
		if v == nil {
			return nil
		}
		b, _ := json.Marshal(v)
		return b
	}
	_, err := tx.Exec(ctx, q("audit_write"), at, actor, action, target, enc(before), enc(after), requestID)
	return err
}
