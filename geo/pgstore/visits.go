package pgstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps the log of visits and meetings (geo.VisitStore). A visit
// is written once, with its audit entry; it changes nothing routing reads,
// so no NOTIFY.

var _ geo.VisitStore = (*DB)(nil)

// CreateVisit stores v. EINVALID naming person or incident when either is
// unknown.
func (db *DB) CreateVisit(ctx context.Context, v *geo.Visit, actor string, now time.Time) (*geo.Visit, error) {
	now = pgTime(now)
	out := *v
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, q("visit_person"), v.PersonID).Scan(&out.PersonName)
		if errors.Is(err, pgx.ErrNoRows) {
			return orgInvalid("person", "no person %d", v.PersonID)
		} else if err != nil {
			return err
		}
		var incident *int64
		if v.IncidentNumber != "" {
			var id int64
			err := tx.QueryRow(ctx, q("visit_incident"), v.IncidentNumber).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				return orgInvalid("incident", "no incident %s", v.IncidentNumber)
			} else if err != nil {
				return err
			}
			incident = &id
		}
		out.HeldAt, out.CreatedAt, out.CreatedBy = pgTime(v.HeldAt), now, actor
		err = tx.QueryRow(ctx, q("visit_insert"), v.TownCode, string(v.Kind), v.PersonID, out.HeldAt, v.Location[0], v.Location[1],
			v.GridCode, v.VillageCode, v.DistrictCode, v.Generation, v.Raised, incident, v.Households, v.Attendees, now, actor).Scan(&out.ID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "visit.create", "visit:"+strconv.FormatInt(out.ID, 10), nil,
			map[string]any{"kind": v.Kind, "person": v.PersonID, "held_at": out.HeldAt, "grid": v.GridCode,
				"incident": v.IncidentNumber, "households": v.Households}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return &out, nil
}

// visitArgs are the filter arguments of visits_list and visits_count.
func visitArgs(f geo.VisitFilter) []any {
	var person *int64
	if f.PersonID > 0 {
		person = &f.PersonID
	}
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		to = &f.To
	}
	return []any{nullIfEmpty(f.Town), nullIfEmpty(string(f.Kind)), person, nullIfEmpty(f.Grid), nullIfEmpty(f.Village),
		nullIfEmpty(f.District), from, to}
}

// Visits lists the visits f selects, newest first.
func (db *DB) Visits(ctx context.Context, f geo.VisitFilter) ([]geo.Visit, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, _ := db.Pool.Query(ctx, q("visits_list"), append(visitArgs(f), f.AfterID, limit)...)
	out, err := appendRows([]geo.Visit{}, rows, scanVisit)
	return out, unavailable(err)
}

func scanVisit(r pgx.Row) (geo.Visit, error) {
	var v geo.Visit
	var kind string
	err := r.Scan(&v.ID, &v.TownCode, &kind, &v.PersonID, &v.PersonName, &v.HeldAt, &v.Location[0], &v.Location[1],
		&v.GridCode, &v.VillageCode, &v.DistrictCode, &v.Generation, &v.Raised, &v.IncidentNumber,
		&v.Households, &v.Attendees, &v.CreatedAt, &v.CreatedBy)
	v.Kind = geo.VisitKind(kind)
	return v, err
}

// Visit returns one visit: ENOTFOUND if unknown.
func (db *DB) Visit(ctx context.Context, id int64) (*geo.Visit, error) {
	v, err := scanVisit(db.Pool.QueryRow(ctx, q("visit_get"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "no visit %d", id)
	} else if err != nil {
		return nil, unavailable(err)
	}
	return &v, nil
}

// AddVisitPhoto stores p for visit id, with its audit entry; the same
// bytes again return the photo stored (fresh=false).
func (db *DB) AddVisitPhoto(ctx context.Context, id int64, p *geo.Photo) (*geo.Photo, bool, error) {
	out := *p
	out.UploadedAt = pgTime(p.UploadedAt)
	fresh := false
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var vid int64
		if err := tx.QueryRow(ctx, q("visit_lock"), id).Scan(&vid); errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no visit %d", id)
		} else if err != nil {
			return err
		}
		err := tx.QueryRow(ctx, q("visit_photo_find"), id, p.SHA256[:]).Scan(&out.ID, &out.UploadedBy, &out.UploadedAt)
		if err == nil {
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, q("visit_photo_count"), id).Scan(&n); err != nil {
			return err
		} else if n >= geo.MaxVisitPhotos {
			return geo.Errorf(geo.ECONFLICT, "visit %d has %d photos already, the most a visit keeps", id, n)
		}
		err = tx.QueryRow(ctx, q("visit_photo_insert"), id, p.SHA256[:], p.ContentType, p.Width, p.Height, string(p.Check),
			p.Data, p.UploadedBy, out.UploadedAt).Scan(&out.ID)
		if err != nil {
			return err
		}
		fresh = true
		return audit(ctx, tx, out.UploadedAt, p.UploadedBy, "visit.photo", "visit:"+strconv.FormatInt(id, 10), nil,
			map[string]any{"photo": out.ID, "bytes": p.Bytes, "check": p.Check}, "")
	})
	if err != nil {
		return nil, false, unavailable(err)
	}
	out.Data = nil
	return &out, fresh, nil
}

// VisitPhoto returns photo photoID of visit id with its bytes.
func (db *DB) VisitPhoto(ctx context.Context, id, photoID int64) (*geo.Photo, error) {
	var p geo.Photo
	var sum []byte
	var check string
	err := db.Pool.QueryRow(ctx, q("visit_photo_get"), id, photoID).Scan(&p.ID, &sum, &p.ContentType, &p.Width, &p.Height,
		&check, &p.Data, &p.UploadedBy, &p.UploadedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "visit %d has no photo %d", id, photoID)
	} else if err != nil {
		return nil, unavailable(err)
	}
	copy(p.SHA256[:], sum)
	p.Check, p.Bytes = geo.PhotoCheck(check), len(p.Data)
	return &p, nil
}

// VisitCounts counts the visits f selects by person, grid, village or
// district, by key.
func (db *DB) VisitCounts(ctx context.Context, f geo.VisitFilter, by string) ([]geo.VisitCount, error) {
	rows, _ := db.Pool.Query(ctx, q("visits_count"), append(visitArgs(f), by)...)
	var out []geo.VisitCount
	var key, name, kind string
	var n, households int
	_, err := pgx.ForEachRow(rows, []any{&key, &name, &kind, &n, &households}, func() error {
		if len(out) == 0 || out[len(out)-1].Key != key {
			out = append(out, geo.VisitCount{Key: key, Name: name, ByKind: map[geo.VisitKind]int{}})
		}
		c := &out[len(out)-1]
		c.ByKind[geo.VisitKind(kind)] += n
		c.Total += n
		c.Households += households
		return nil
	})
	return out, unavailable(err)
}
