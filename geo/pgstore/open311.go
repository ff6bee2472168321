package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
	"wangge/geo/open311"
)

// The store of Open311 requests' extras (geo/open311.Store); the incidents
// themselves are created by CreateIncident, like any other.

var _ open311.Store = (*DB)(nil)

// SaveOpen311Request implements open311.Store.
func (db *DB) SaveOpen311Request(ctx context.Context, token, actor, key string, bodyHash []byte, ex open311.Extras, at time.Time) (string, error) {
	var out string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("open311_request_save"), token, actor, key, bodyHash, ex.Jurisdiction, ex.Address,
			ex.AddressID, ex.Email, ex.MediaURL, ex.DeviceID, ex.AccountID, ex.FirstName, ex.LastName, at); err != nil {
			return err
		}
		return tx.QueryRow(ctx, q("open311_request_token"), actor, key).Scan(&out)
	})
	if err != nil {
		return "", unavailable(err)
	}
	return out, nil
}

// Open311Extras implements open311.Store.
func (db *DB) Open311Extras(ctx context.Context, numbers []string) (map[string]open311.Extras, error) {
	out := map[string]open311.Extras{}
	if len(numbers) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, q("open311_extras"), numbers)
	if err != nil {
		return nil, unavailable(err)
	}
	var number string
	var ex open311.Extras
	_, err = pgx.ForEachRow(rows, []any{&number, &ex.Jurisdiction, &ex.Address, &ex.AddressID, &ex.Email, &ex.MediaURL,
		&ex.DeviceID, &ex.AccountID, &ex.FirstName, &ex.LastName}, func() error {
		out[number] = ex
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Open311Token implements open311.Store.
func (db *DB) Open311Token(ctx context.Context, token string) (string, error) {
	var number string
	err := db.Pool.QueryRow(ctx, q("open311_token"), token).Scan(&number)
	if err == pgx.ErrNoRows {
		return "", geo.Errorf(geo.ENOTFOUND, "token %q not found", geo.Clip(token))
	} else if err != nil {
		return "", unavailable(err)
	}
	return number, nil
}

// Open311Updates implements open311.Store.
func (db *DB) Open311Updates(ctx context.Context, numbers []string) (map[string]open311.Update, error) {
	out := map[string]open311.Update{}
	if len(numbers) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, q("open311_updates"), numbers)
	if err != nil {
		return nil, unavailable(err)
	}
	var number string
	var at *time.Time
	var note string
	_, err = pgx.ForEachRow(rows, []any{&number, &at, &note}, func() error {
		u := open311.Update{Note: note}
		if at != nil {
			u.At = at.UTC()
		}
		out[number] = u
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}
