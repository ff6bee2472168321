package pgstore

import (
	"context"
	"encoding/hex"
	"math"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// AddPhoto stores p for the incident p.IncidentNumber in one transaction,
// with an audit entry. The same bytes (same SHA-256) already attached to
// that incident are not stored again: the first photo comes back with
// fresh=false. ENOTFOUND if the incident does not exist; EUNAVAILABLE when
// the database cannot be reached.
func (db *DB) AddPhoto(ctx context.Context, p *geo.Photo) (out *geo.Photo, fresh bool, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var incidentID int64
		if err := tx.QueryRow(ctx, q("photo_incident"), p.IncidentNumber).Scan(&incidentID); err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no incident %s", p.IncidentNumber)
		} else if err != nil {
			return err
		}
		var lon, lat *float64
		if p.Location != nil {
			lon, lat = &p.Location[0], &p.Location[1]
		}
		var dist *float64
		if p.Location != nil && !math.IsNaN(p.DistanceM) && !math.IsInf(p.DistanceM, 0) {
			dist = &p.DistanceM
		}
		var id int64
		err := tx.QueryRow(ctx, q("photo_insert"), incidentID, p.SHA256[:], p.ContentType, len(p.Data), p.Width, p.Height,
			lon, lat, p.Check, dist, p.Data, p.UploadedBy, p.UploadedAt).Scan(&id)
		if err == pgx.ErrNoRows {
			if err := tx.QueryRow(ctx, q("photo_by_sha"), incidentID, p.SHA256[:]).Scan(&id); err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else {
			fresh = true
			if err := audit(ctx, tx, p.UploadedAt, p.UploadedBy, "incident.photo", "incident:"+p.IncidentNumber, nil,
				map[string]any{"photo": id, "sha256": hex.EncodeToString(p.SHA256[:]), "bytes": len(p.Data),
					"location_check": p.Check}, ""); err != nil {
				return err
			}
		}
		list, err := listPhotos(ctx, tx, p.IncidentNumber, &id)
		if err == nil {
			out = &list[0]
		}
		return err
	})
	if err != nil {
		return nil, false, unavailable(err)
	}
	return out, fresh, nil
}

// Photo returns photo id of incident number with its bytes. ENOTFOUND if
// the incident has no such photo.
func (db *DB) Photo(ctx context.Context, number string, id int64) (*geo.Photo, error) {
	var out *geo.Photo
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		list, err := listPhotos(ctx, tx, number, &id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return geo.Errorf(geo.ENOTFOUND, "incident %s has no photo %d", number, id)
		}
		out = &list[0]
		return tx.QueryRow(ctx, q("photo_data"), number, id).Scan(&out.Data)
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Photos lists the photos of incident number, oldest first, without their
// bytes. ENOTFOUND if the incident does not exist.
func (db *DB) Photos(ctx context.Context, number string) ([]geo.Photo, error) {
	var out []geo.Photo
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var incidentID int64
		if err := tx.QueryRow(ctx, q("photo_incident"), number).Scan(&incidentID); err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no incident %s", number)
		} else if err != nil {
			return err
		}
		var err error
		out, err = listPhotos(ctx, tx, number, nil)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// listPhotos reads the photos of incident number (only photo *id when id
// is not nil), without their bytes.
func listPhotos(ctx context.Context, tx pgx.Tx, number string, id *int64) ([]geo.Photo, error) {
	rows, _ := tx.Query(ctx, q("photos_list"), number, id)
	out := []geo.Photo{}
	var p geo.Photo
	var sha []byte
	var lon, lat, dist *float64
	_, err := pgx.ForEachRow(rows, []any{&p.ID, &p.IncidentNumber, &sha, &p.ContentType, &p.Bytes, &p.Width, &p.Height,
		&lon, &lat, &p.Check, &dist, &p.UploadedBy, &p.UploadedAt}, func() error {
		ph := p
		copy(ph.SHA256[:], sha)
		ph.DistanceM = math.NaN()
		if lon != nil && lat != nil {
			ph.Location = &[2]float64{*lon, *lat}
		}
		if dist != nil {
			ph.DistanceM = *dist
		}
		out = append(out, ph)
		return nil
	})
	return out, err
}
