package pgstore

import (
	"bytes"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"time"
	"wangge/geo"
	"wangge/geo/workcal"
)

// LimitsChanged is the NotifyChannel payload announcing that the catalogue
// of service items or the holiday calendar changed: every replica reloads
// its geo.Limits.
const LimitsChanged = "limits"

// ServiceItems lists every service item, inactive ones too, by code.
func (db *DB) ServiceItems(ctx context.Context) ([]geo.ServiceItem, error) {
	rows, _ := db.Pool.Query(ctx, q("service_items_list"))
	out, err := appendRows([]geo.ServiceItem{}, rows, scanServiceItem)
	return out, unavailable(err)
}

func scanServiceItem(r pgx.Row) (geo.ServiceItem, error) {
	var it geo.ServiceItem
	err := r.Scan(&it.Code, &it.NameZh, &it.Description, &it.LimitWorkdays, &it.LimitHours, &it.Active, &it.CreatedAt, &it.UpdatedAt)
	return it, err
}

// CreateServiceItem stores a new item in one transaction with its audit
// entry and the announcement. ECONFLICT if the code is taken; a retry with
// the same Idempotency-Key and body returns the item first created
// (fresh=false), another body with the key is EMISMATCH.
func (db *DB) CreateServiceItem(ctx context.Context, it geo.ServiceItem, actor, key string, bodyHash []byte, at time.Time) (geo.ServiceItem, bool, error) {
	var out geo.ServiceItem
	fresh := false
	var keyArg *string
	if key != "" {
		keyArg = &key
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if key != "" {
			found, ok, err := serviceItemByKey(ctx, tx, actor, key, bodyHash)
			if ok || err != nil {
				out = found
				return err
			}
		}
		var code string
		err := tx.QueryRow(ctx, q("service_item_insert"), it.Code, it.NameZh, it.Description, it.LimitWorkdays, it.LimitHours,
			it.Active, at, actor, keyArg, bodyHash).Scan(&code)
		if err == pgx.ErrNoRows {
			// A concurrent request with the same key won the insert.
			found, _, err := serviceItemByKey(ctx, tx, actor, key, bodyHash)
			out = found
			return err
		} else if err != nil {
			return err
		}
		if out, err = lockServiceItem(ctx, tx, it.Code); err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "service_item.create", "service_item:"+string(it.Code), nil, serviceItemAudit(out), ""); err != nil {
			return err
		}
		fresh = true
		_, err = tx.Exec(ctx, q("notify"), LimitsChanged)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "service_items_pkey" {
		return geo.ServiceItem{}, false, geo.Errorf(geo.ECONFLICT, "a service item with code %q already exists: change it with PATCH /v1/service-items/%s", it.Code, it.Code)
	}
	if err != nil {
		return geo.ServiceItem{}, false, unavailable(err)
	}
	return out, fresh, nil
}

// serviceItemByKey returns the item actor created earlier with key (ok
// false if none); the same key with another body is EMISMATCH.
func serviceItemByKey(ctx context.Context, tx pgx.Tx, actor, key string, bodyHash []byte) (geo.ServiceItem, bool, error) {
	var code string
	var hash []byte
	err := tx.QueryRow(ctx, q("service_item_by_key"), actor, key).Scan(&code, &hash)
	if err == pgx.ErrNoRows {
		return geo.ServiceItem{}, false, nil
	} else if err != nil {
		return geo.ServiceItem{}, false, err
	}
	if !bytes.Equal(hash, bodyHash) {
		return geo.ServiceItem{}, false, geo.Errorf(geo.EMISMATCH, "Idempotency-Key %q was already used for service item %s with a different request body", key, code)
	}
	it, err := lockServiceItem(ctx, tx, geo.Category(code))
	return it, err == nil, err
}

// lockServiceItem reads the item with code and locks it; ENOTFOUND if
// there is none.
func lockServiceItem(ctx context.Context, tx pgx.Tx, code geo.Category) (geo.ServiceItem, error) {
	it, err := scanServiceItem(tx.QueryRow(ctx, q("service_item_lock"), code))
	if err == pgx.ErrNoRows {
		return it, geo.Errorf(geo.ENOTFOUND, "no service item %q", code)
	}
	return it, err
}

// UpdateServiceItem locks the item, lets change decide the new one and
// stores it with its audit entry and the announcement. ENOTFOUND if the
// code is unknown; an error of change writes nothing.
func (db *DB) UpdateServiceItem(ctx context.Context, code geo.Category, actor string, at time.Time,
	change func(geo.ServiceItem) (geo.ServiceItem, error)) (geo.ServiceItem, error) {
	var out geo.ServiceItem
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := lockServiceItem(ctx, tx, code)
		if err != nil {
			return err
		}
		it, err := change(before)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("service_item_update"), code, it.NameZh, it.Description, it.LimitWorkdays, it.LimitHours,
			it.Active, at); err != nil {
			return err
		}
		if out, err = lockServiceItem(ctx, tx, code); err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "service_item.update", "service_item:"+string(code), serviceItemAudit(before), serviceItemAudit(out), ""); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("notify"), LimitsChanged)
		return err
	})
	if err != nil {
		return geo.ServiceItem{}, unavailable(err)
	}
	return out, nil
}

// serviceItemAudit is what the audit log keeps of an item.
func serviceItemAudit(it geo.ServiceItem) map[string]any {
	return map[string]any{"name_zh": it.NameZh, "description": it.Description, "limit_workdays": it.LimitWorkdays,
		"limit_hours": it.LimitHours, "active": it.Active}
}

// CalendarDays lists the days of the holiday calendar in date order.
func (db *DB) CalendarDays(ctx context.Context) ([]workcal.Day, error) {
	rows, _ := db.Pool.Query(ctx, q("calendar_days"))
	out, err := appendRows([]workcal.Day{}, rows, func(r pgx.Row) (workcal.Day, error) {
		var d workcal.Day
		var date string
		if err := r.Scan(&date, &d.Kind, &d.Name); err != nil {
			return d, err
		}
		var err error
		d.Date, err = workcal.ParseDate(date)
		return d, err
	})
	return out, unavailable(err)
}

// PutCalendarDay sets a day of the calendar with its audit entry and the
// announcement; created is false when it replaced one.
func (db *DB) PutCalendarDay(ctx context.Context, day workcal.Day, actor string, at time.Time) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var before map[string]any
		var kind, name string
		switch err := tx.QueryRow(ctx, q("calendar_day_lock"), day.Date.String()).Scan(&kind, &name); {
		case err == pgx.ErrNoRows:
			created = true
		case err != nil:
			return err
		default:
			before = map[string]any{"kind": kind, "name": name}
		}
		if _, err := tx.Exec(ctx, q("calendar_day_put"), day.Date.String(), string(day.Kind), day.Name, at, actor); err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "calendar.put", "calendar:"+day.Date.String(), before,
			map[string]any{"kind": day.Kind, "name": day.Name}, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("notify"), LimitsChanged)
		return err
	})
	return created, unavailable(err)
}

// DeleteCalendarDay removes a day from the calendar with its audit entry
// and the announcement; ENOTFOUND if the calendar does not list it.
func (db *DB) DeleteCalendarDay(ctx context.Context, date workcal.Date, actor string, at time.Time) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var kind, name string
		err := tx.QueryRow(ctx, q("calendar_day_delete"), date.String()).Scan(&kind, &name)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "the calendar does not list %s: it follows the weekday rule", date)
		} else if err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "calendar.delete", "calendar:"+date.String(),
			map[string]any{"kind": kind, "name": name}, nil, ""); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("notify"), LimitsChanged)
		return err
	})
	return unavailable(err)
}
