package geo

import (
	"context"
	"time"
)

// ServicePointStore keeps the service points and the duty rosters. Every
// method returns EUNAVAILABLE when the database cannot be reached.
type ServicePointStore interface {
	// ServicePoints lists the versions of service points valid at at (zero:
	// the current ones), in town's (all towns when "") by id.
	ServicePoints(ctx context.Context, town string, at time.Time) ([]ServicePoint, error)
	// ServicePoint returns the version of point id valid at at (zero: the
	// current one); ENOTFOUND if there is none (never created, ended, or
	// not yet created at at).
	ServicePoint(ctx context.Context, id int64, at time.Time) (ServicePoint, error)
	// ServicePointHistory lists every version of point id, oldest first;
	// ENOTFOUND if the point never existed.
	ServicePointHistory(ctx context.Context, id int64) ([]ServicePoint, error)
	// CreateServicePoint stores a new point valid from at and returns it
	// with its id.
	CreateServicePoint(ctx context.Context, p ServicePoint, actor string, at time.Time) (ServicePoint, error)
	// ReplaceServicePoint ends the current version of point id at at and
	// stores p as the next one; ENOTFOUND if the point is not current.
	ReplaceServicePoint(ctx context.Context, id int64, p ServicePoint, actor string, at time.Time) (ServicePoint, error)
	// EndServicePoint ends point id at at; ENOTFOUND if it is not current.
	EndServicePoint(ctx context.Context, id int64, actor string, at time.Time) error
	// NearestServicePoints lists the current points handling service
	// (every point when ""), nearest to p first by distance on the
	// spheroid (metres), at most limit; with each, whether a shift of its
	// duty roster covers at.
	NearestServicePoints(ctx context.Context, p [2]float64, service Category, at time.Time, limit int) ([]NearServicePoint, error)
	// DutyShifts lists the shifts at point (0: the duty desk of town) that
	// overlap [from, to), by start.
	DutyShifts(ctx context.Context, town string, point int64, from, to time.Time) ([]DutyShift, error)
	// ImportDutyRoster checks shifts (a service point must exist at the
	// shift's start and be in the shift's town when one is named) and,
	// when apply, replaces in one transaction the stored shifts of every
	// (place, date) the roster covers. rows are the shifts' row numbers
	// for the report's errors. With any error nothing is written.
	ImportDutyRoster(ctx context.Context, shifts []DutyShift, rows []int, apply bool, actor string, at time.Time) (*DutyRosterReport, error)
}

// NearServicePoint is a service point with its distance from a point.
type NearServicePoint struct {
	ServicePoint
	DistanceM float64
	// Rostered: a shift of its roster covers the time asked about.
	Rostered bool
}
