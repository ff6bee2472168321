package geo

import (
	"context"
	"time"

	"wangge/geo/workcal"
)

// ServiceItemStore keeps the catalogue of service items and the holiday
// calendar. Every write is one transaction that also announces the change
// to every replica (NOTIFY), which reload their Limits. Every method
// returns EUNAVAILABLE when the database cannot be reached.
type ServiceItemStore interface {
	// ServiceItems lists every item, inactive ones too, by code.
	ServiceItems(ctx context.Context) ([]ServiceItem, error)
	// CreateServiceItem stores a new item at at. ECONFLICT if the code is
	// taken. With an idempotency key, a retry by the same actor with the
	// same body hash returns the item first created and fresh=false; the
	// same key with another body returns EMISMATCH.
	CreateServiceItem(ctx context.Context, it ServiceItem, actor, key string, bodyHash []byte, at time.Time) (out ServiceItem, fresh bool, err error)
	// UpdateServiceItem locks the item, lets change compute the new one
	// (an error from change writes nothing) and stores it at at.
	// ENOTFOUND if the code is unknown.
	UpdateServiceItem(ctx context.Context, code Category, actor string, at time.Time,
		change func(ServiceItem) (ServiceItem, error)) (ServiceItem, error)
	// CalendarDays lists the days of the holiday calendar in date order.
	CalendarDays(ctx context.Context) ([]workcal.Day, error)
	// PutCalendarDay sets a day of the calendar; created is false when it
	// replaced one.
	PutCalendarDay(ctx context.Context, day workcal.Day, actor string, at time.Time) (created bool, err error)
	// DeleteCalendarDay removes a day (it then follows the weekday rule);
	// ENOTFOUND if the calendar does not list it.
	DeleteCalendarDay(ctx context.Context, date workcal.Date, actor string, at time.Time) error
}

// LoadCatalogue reads the items and the calendar from store into a
// Catalogue.
func LoadCatalogue(ctx context.Context, store ServiceItemStore) (*Catalogue, error) {
	items, err := store.ServiceItems(ctx)
	if err != nil {
		return nil, err
	}
	days, err := store.CalendarDays(ctx)
	if err != nil {
		return nil, err
	}
	cal, err := workcal.New(days)
	if err != nil {
		return nil, Errorf(EINTERNAL, "the holiday calendar: %v", err)
	}
	return NewCatalogue(items, cal), nil
}
