package geo

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// This file is the log of visits and meetings (issue 13, item 4): cadres
// visiting households (走访) and the village meetings (两委会, 党员大会,
// 群众大会), each with who, when, where, what was raised and the case that
// came of it.
//
// The location rule: the point (lon/lat, WGS-84) is located in the current
// snapshot exactly as an incident's is (Snapshot.Locate: inside a grid; on
// a border the smallest code; outside every grid but within the tolerance,
// the nearest grid). A point outside coverage is refused (400 naming
// "location"). When the request names the grid too, the point must fall in
// it (or on its border): a visit cannot be logged in one grid from another.
// The grid, its village and the village's 片区 are recorded as they were at
// that moment, with the generation that said so: a later redraw does not
// move past visits.

// VisitKind is what was logged: a household visit or a meeting.
type VisitKind string

// Visit kinds.
const (
	VisitHousehold        VisitKind = "visit"             // 走访
	VisitCommitteeMeeting VisitKind = "committee_meeting" // 两委会
	VisitPartyMeeting     VisitKind = "party_meeting"     // 党员大会
	VisitVillagersMeeting VisitKind = "villager_meeting"  // 群众大会
)

// VisitKinds lists the kinds in a stable order.
var VisitKinds = []VisitKind{VisitHousehold, VisitCommitteeMeeting, VisitPartyMeeting, VisitVillagersMeeting}

// Limits of visit requests.
const (
	MaxVisitRaised     = 2000
	MaxVisitHouseholds = 10000
	MaxVisitAttendees  = 100000
)

// Visit is one logged visit or meeting.
type Visit struct {
	ID       int64
	TownCode string
	Kind     VisitKind
	PersonID int64
	// PersonName is filled on reads.
	PersonName   string
	HeldAt       time.Time
	Location     [2]float64
	GridCode     string
	VillageCode  string
	DistrictCode string
	Generation   int64
	Raised       string
	// IncidentNumber is the case that came of it ("" for none).
	IncidentNumber string
	Households     int
	Attendees      int
	CreatedAt      time.Time
	CreatedBy      string
}

// VisitRequest logs a visit (POST /v1/visits).
type VisitRequest struct {
	Kind       string  `json:"kind"`
	Person     int64   `json:"person"`
	HeldAt     string  `json:"held_at"`
	Location   *LonLat `json:"location"`
	Grid       string  `json:"grid"`
	Raised     string  `json:"raised"`
	Incident   string  `json:"incident"`
	Households *int    `json:"households"`
	Attendees  *int    `json:"attendees"`
}

// LonLat is a point as requests give it.
type LonLat struct {
	Lon *float64 `json:"lon"`
	Lat *float64 `json:"lat"`
}

// Check returns the visit r logs, located in snap with toleranceM, or one
// EINVALID error naming every wrong member. The person and the incident
// are the store's to check.
func (r VisitRequest) Check(snap *Snapshot, toleranceM float64, now time.Time) (*Visit, error) {
	var ps problemList
	v := &Visit{Kind: VisitKind(r.Kind), PersonID: r.Person, Raised: strings.TrimSpace(r.Raised),
		IncidentNumber: strings.TrimSpace(r.Incident)}
	if r.Kind == "" {
		v.Kind = VisitHousehold
	} else if !slices.Contains(VisitKinds, v.Kind) {
		ps.add("kind", "got %q, want one of %v", Clip(r.Kind), VisitKinds)
	}
	if r.Person <= 0 {
		ps.add("person", "required: the id of the person who visited or chaired")
	}
	v.HeldAt = ps.requiredTime("held_at", r.HeldAt)
	if !v.HeldAt.IsZero() {
		ps.notLater("held_at", v.HeldAt, now)
	}
	if utf8.RuneCountInString(v.Raised) > MaxVisitRaised {
		ps.add("raised", "at most %d characters", MaxVisitRaised)
	}
	if v.IncidentNumber != "" && !incidentNumber(v.IncidentNumber) {
		ps.add("incident", "got %q, want an incident number such as WG00000001", Clip(v.IncidentNumber))
	}
	v.Households = ps.visitCount("households", r.Households, MaxVisitHouseholds)
	v.Attendees = ps.visitCount("attendees", r.Attendees, MaxVisitAttendees)
	if v.Kind == VisitHousehold && r.Households == nil {
		v.Households = 1
	}
	switch {
	case r.Location == nil || r.Location.Lon == nil || r.Location.Lat == nil:
		ps.add("location", "required: {\"lon\": …, \"lat\": …} in WGS-84 degrees")
	case *r.Location.Lon < -180 || *r.Location.Lon > 180 || *r.Location.Lat < -90 || *r.Location.Lat > 90:
		ps.add("location", "got (%g, %g), want lon in -180..180 and lat in -90..90", *r.Location.Lon, *r.Location.Lat)
	default:
		v.Location = [2]float64{*r.Location.Lon, *r.Location.Lat}
		loc, ok := snap.Locate(orb.Point(v.Location), toleranceM)
		if !ok {
			ps.add("location", "(%g, %g) is outside every grid (farther than %g m): visits are logged inside the grids", v.Location[0], v.Location[1], toleranceM)
			break
		}
		if r.Grid != "" && r.Grid != loc.Grid.Code && !slices.Contains(loc.Also, r.Grid) {
			ps.add("grid", "the location falls in grid %s, not %s", loc.Grid.Code, Clip(r.Grid))
		}
		v.GridCode, v.VillageCode, v.Generation = loc.Grid.Code, loc.Grid.VillageCode, snap.Generation
		if r.Grid != "" && r.Grid != loc.Grid.Code {
			if g, ok := snap.Grid(r.Grid); ok {
				v.GridCode, v.VillageCode = g.Code, g.VillageCode
			}
		}
		v.TownCode = TownCodeOf(v.GridCode)
		if vil, ok := snap.Village(v.VillageCode); ok {
			v.DistrictCode = vil.DistrictCode
		}
	}
	return v, ps.err()
}

// visitCount reads an optional count at where, 0..max.
func (ps *problemList) visitCount(where string, n *int, max int) int {
	if n == nil {
		return 0
	}
	if *n < 0 || *n > max {
		ps.add(where, "got %d, want 0..%d", *n, max)
	}
	return *n
}

// incidentNumber reports whether s has the form of an incident number.
func incidentNumber(s string) bool {
	rest, ok := strings.CutPrefix(s, "WG")
	if !ok || len(rest) < 8 || len(rest) > 12 {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// VisitFilter selects visits: every set member must match.
type VisitFilter struct {
	Town     string
	Kind     VisitKind
	PersonID int64
	Grid     string
	Village  string
	District string
	// From and To bound HeldAt: From <= held_at < To (zero: unbounded).
	From, To time.Time
	// AfterID pages: only visits with a smaller id (0: from the newest).
	AfterID int64
	Limit   int
}

// VisitGroupings are what /v1/visits/stats counts by.
var VisitGroupings = []string{"person", "grid", "village", "district"}

// VisitCount is the visits of one person, grid, village or 片区.
type VisitCount struct {
	// Key is the person's id, or the grid's, village's or 片区's code.
	Key  string
	Name string
	// ByKind counts each kind; Households sums the households visited.
	ByKind     map[VisitKind]int
	Total      int
	Households int
}

// VisitStore keeps the visit log.
type VisitStore interface {
	// CreateVisit stores v: EINVALID naming person when there is no such
	// person, incident when there is no such incident.
	CreateVisit(ctx context.Context, v *Visit, actor string, now time.Time) (*Visit, error)
	// Visits lists the visits f selects, newest first.
	Visits(ctx context.Context, f VisitFilter) ([]Visit, error)
	// VisitCounts counts the visits f selects by grouping (one of
	// VisitGroupings), by key.
	VisitCounts(ctx context.Context, f VisitFilter, by string) ([]VisitCount, error)
	// Visit returns one visit: ENOTFOUND if unknown.
	Visit(ctx context.Context, id int64) (*Visit, error)
	// AddVisitPhoto stores p for visit id; the same bytes again return
	// the photo stored (fresh=false). ENOTFOUND if there is no such
	// visit, ECONFLICT past MaxVisitPhotos.
	AddVisitPhoto(ctx context.Context, id int64, p *Photo) (out *Photo, fresh bool, err error)
	// VisitPhoto returns photo photoID of visit id with its bytes.
	VisitPhoto(ctx context.Context, id, photoID int64) (*Photo, error)
}

// MaxVisitPhotos bounds the photos of one visit.
const MaxVisitPhotos = 9
