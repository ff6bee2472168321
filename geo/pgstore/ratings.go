package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// RateIncident records a resident's rating for the request of token and
// applies decide's change to the incident, in one transaction: ENOTFOUND
// for an unknown or expired token, ECONFLICT when it was answered already.
func (db *DB) RateIncident(ctx context.Context, token string, r geo.Rating, comment string, at time.Time,
	decide func(*geo.Incident) (geo.IncidentChange, error)) (*geo.Incident, error) {
	var out *geo.Incident
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		hash := geo.HashRatingToken(token)
		var id int64
		var number string
		var rated bool
		var expires time.Time
		err := tx.QueryRow(ctx, q("rating_request_for_update"), hash[:]).Scan(&id, &number, &rated, &expires)
		switch {
		case err == pgx.ErrNoRows || err == nil && at.After(expires):
			return geo.Errorf(geo.ENOTFOUND, "this rating link is unknown or has expired")
		case err != nil:
			return err
		case rated:
			return geo.Errorf(geo.ECONFLICT, "this incident has been rated already: thank you")
		}
		if _, err := tx.Exec(ctx, q("rating_record"), id, r, comment, at); err != nil {
			return err
		}
		inc, err := getIncident(ctx, tx, number, true)
		if err != nil {
			return err
		}
		ch, err := decide(inc)
		if err != nil {
			return err
		}
		if err := applyChange(ctx, tx, inc, ch, "resident", at); err != nil {
			return err
		}
		out, err = getIncident(ctx, tx, number, false)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}
