package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"wangge/geo/chinacrs"
	"wangge/geo/workcal"
)

// This file is the service points (issue 13): the places residents get
// things done — 便民服务中心 (the town's centre), 便民服务站 (a village's
// station), 党代表工作室, 群工站 — with where they are, when they are open,
// which service items they handle and who staffs them. A point belongs to a
// town and optionally a village of it; it is kept in versions, so what it
// was on a past date can be shown. Whether it is open at a time follows its
// weekly hours and the holiday calendar (package workcal): closed on a
// public holiday unless marked open on holidays, open on a 调休 working
// weekend day with Monday's hours; and someone rostered on duty there
// (servicepoint_duty.go) makes it open for the length of the shift.

// ServicePointKind is what a service point is.
type ServicePointKind string

// The kinds of service points.
const (
	ServiceCenter   ServicePointKind = "service_center"    // 便民服务中心 (town)
	ServiceStation  ServicePointKind = "service_station"   // 便民服务站 (village)
	PartyRepStudio  ServicePointKind = "party_rep_studio"  // 党代表工作室
	MassWorkStation ServicePointKind = "mass_work_station" // 群工站
)

// ServicePointKinds lists the kinds in display order.
var ServicePointKinds = []ServicePointKind{ServiceCenter, ServiceStation, PartyRepStudio, MassWorkStation}

// NameZh is the kind's Chinese name.
func (k ServicePointKind) NameZh() string {
	switch k {
	case ServiceCenter:
		return "便民服务中心"
	case ServiceStation:
		return "便民服务站"
	case PartyRepStudio:
		return "党代表工作室"
	case MassWorkStation:
		return "群工站"
	}
	return string(k)
}

// Limits of service point requests.
const (
	MaxServicePointName    = 60
	MaxServicePointAddress = 200
	MaxServicePointStaff   = 50
	MaxServicePointRanges  = 6 // opening ranges per weekday
)

// ServicePoint is one version of a service point.
type ServicePoint struct {
	ID int64
	// TownCode is the 9-digit code of its town; VillageCode the 12-digit
	// code of its village, or "" for a town-level point.
	TownCode    string
	VillageCode string
	Kind        ServicePointKind
	Name        string
	// Location is in WGS-84, lon/lat.
	Location       orb.Point
	Address        string
	Hours          OpeningHours
	OpenOnHolidays bool
	// Services are the codes of the service items handled there, sorted.
	Services []Category
	// Staff are personal data: their phones go only to roles that see
	// personal data.
	Staff []StaffMember
	// ValidFrom and ValidTo bound this version; ValidTo is zero for the
	// current version of a point not ended.
	ValidFrom, ValidTo time.Time
}

// StaffMember is a person working at a service point.
type StaffMember struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Role  string `json:"role,omitempty"`
}

// Handles reports whether p handles service item code.
func (p *ServicePoint) Handles(code Category) bool { return slices.Contains(p.Services, code) }

// ClockRange is a part of a day, in minutes since 00:00 Beijing time,
// [From, To); To may be 1440 (24:00).
type ClockRange struct{ From, To int }

func (r ClockRange) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", r.From/60, r.From%60, r.To/60, r.To%60)
}

// OpeningHours is a weekly schedule: the opening ranges of each weekday,
// indexed by time.Weekday (Sunday 0). A day without ranges is closed.
type OpeningHours [7][]ClockRange

// weekdayKeys are the JSON names of the weekdays, by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// MarshalJSON writes {"mon": ["08:30-12:00", ...], ...} with every day
// that has ranges.
func (h OpeningHours) MarshalJSON() ([]byte, error) {
	m := map[string][]string{}
	for d, rs := range h {
		for _, r := range rs {
			m[weekdayKeys[d]] = append(m[weekdayKeys[d]], r.String())
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes (stored hours, already
// checked); requests go through ParseOpeningHours.
func (h *OpeningHours) UnmarshalJSON(b []byte) error {
	var m map[string][]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	out, err := ParseOpeningHours(m)
	if err != nil {
		return err
	}
	*h = out
	return nil
}

// ParseOpeningHours checks a weekly schedule as requests give it: weekday
// keys mon..sun, each a list of "HH:MM-HH:MM" ranges in order, not
// overlapping. One EINVALID error names every wrong member.
func ParseOpeningHours(m map[string][]string) (OpeningHours, error) {
	var ps problemList
	h := ps.openingHours("hours", m)
	return h, ps.err()
}

func (ps *problemList) openingHours(where string, m map[string][]string) OpeningHours {
	var h OpeningHours
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d := slices.Index(weekdayKeys[:], k)
		if d < 0 {
			ps.add(where+"."+Clip(k), "unknown day: want mon, tue, wed, thu, fri, sat or sun")
			continue
		}
		if len(m[k]) > MaxServicePointRanges {
			ps.add(where+"."+k, "at most %d ranges a day", MaxServicePointRanges)
			continue
		}
		last := -1
		for i, raw := range m[k] {
			r, ok := parseClockRange(raw)
			switch {
			case !ok:
				ps.add(fmt.Sprintf("%s.%s[%d]", where, k, i), "got %q, want HH:MM-HH:MM with the end after the start (24:00 for midnight)", Clip(raw))
			case r.From < last:
				ps.add(fmt.Sprintf("%s.%s[%d]", where, k, i), "%s overlaps or precedes the range before it: give the ranges of a day in order", r)
			default:
				h[d] = append(h[d], r)
				last = r.To
			}
		}
	}
	return h
}

func parseClockRange(s string) (ClockRange, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return ClockRange{}, false
	}
	from, ok1 := ParseClock(a)
	to, ok2 := ParseClock(b)
	if !ok1 || !ok2 || to <= from {
		return ClockRange{}, false
	}
	return ClockRange{from, to}, true
}

// ParseClock reads "HH:MM" (00:00 to 24:00) as minutes since midnight.
func ParseClock(s string) (int, bool) {
	s = strings.TrimSpace(s)
	var hh, mm int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &hh, &mm); err != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// OpenAt reports whether p's hours have it open at t on calendar cal
// (nil: the weekday rule alone). A public holiday closes it unless
// OpenOnHolidays, in which case the weekday's hours apply; a 调休 working
// day on a weekend has Monday's hours. Rostered duty is not counted here:
// see OpenOrOnDuty.
func (p *ServicePoint) OpenAt(t time.Time, cal *workcal.Calendar) bool {
	t = t.In(workcal.Zone)
	d := workcal.DateOf(t)
	wd := d.Weekday()
	if day, listed := cal.Day(d); listed {
		switch {
		case day.Kind == workcal.Holiday && !p.OpenOnHolidays:
			return false
		case day.Kind == workcal.Workday && (wd == time.Saturday || wd == time.Sunday):
			wd = time.Monday
		}
	}
	m := t.Hour()*60 + t.Minute()
	for _, r := range p.Hours[wd] {
		if m >= r.From && m < r.To {
			return true
		}
	}
	return false
}

// ServicePointRequest creates a service point or replaces the current
// version of one (PUT): every member is given, the request is checked
// whole. Location is [lon, lat] in crs (wgs84, gcj02 or bd09; default
// wgs84) and stored in WGS-84.
type ServicePointRequest struct {
	Town           string              `json:"town"`
	Village        string              `json:"village"`
	Kind           string              `json:"kind"`
	Name           string              `json:"name"`
	Location       []float64           `json:"location"`
	CRS            string              `json:"crs"`
	Address        string              `json:"address"`
	Hours          map[string][]string `json:"hours"`
	OpenOnHolidays bool                `json:"open_on_holidays"`
	Services       []string            `json:"services"`
	Staff          []StaffMember       `json:"staff"`
}

// Check returns the service point r asks for, or one EINVALID error
// naming every wrong member: the town and village must be on snap, the
// services must be among known (the catalogue's codes), the location
// within the town's outline's reach is not required (a centre may stand
// just outside), but it must be a valid point in China.
func (r ServicePointRequest) Check(snap *Snapshot, known []Category) (ServicePoint, error) {
	var ps problemList
	p := ServicePoint{TownCode: r.Town, VillageCode: r.Village, Kind: ServicePointKind(r.Kind), OpenOnHolidays: r.OpenOnHolidays}
	if _, ok := snap.TownOf(r.Town); !ok || len(r.Town) != 9 {
		ps.add("town", "got %q, want the 9-digit code of a town of this deployment", Clip(r.Town))
	}
	if r.Village != "" {
		if _, ok := snap.Village(r.Village); !ok || TownCodeOf(r.Village) != r.Town {
			ps.add("village", "got %q, want the 12-digit code of a village of town %s (or omit it for a town-level point)", Clip(r.Village), Clip(r.Town))
		}
	}
	if !slices.Contains(ServicePointKinds, p.Kind) {
		ps.add("kind", "got %q, want one of service_center, service_station, party_rep_studio, mass_work_station", Clip(r.Kind))
	}
	p.Name = strings.TrimSpace(r.Name)
	if p.Name == "" || utf8.RuneCountInString(p.Name) > MaxServicePointName {
		ps.add("name", "required, at most %d characters", MaxServicePointName)
	}
	p.Address = strings.TrimSpace(r.Address)
	if utf8.RuneCountInString(p.Address) > MaxServicePointAddress {
		ps.add("address", "at most %d characters", MaxServicePointAddress)
	}
	crs, err := chinacrs.Parse(r.CRS)
	if err != nil {
		ps.add("crs", "got %q, want wgs84, gcj02 or bd09", Clip(r.CRS))
	}
	switch l := r.Location; {
	case len(l) != 2:
		ps.add("location", "want [lon, lat]")
	case math.IsNaN(l[0]) || l[0] < 73 || l[0] > 136:
		ps.add("location[0]", "lon: got %v, want 73..136 (China)", l[0])
	case math.IsNaN(l[1]) || l[1] < 3 || l[1] > 54:
		ps.add("location[1]", "lat: got %v, want 3..54 (China)", l[1])
	case err == nil:
		p.Location = chinacrs.ToWGS84(crs, orb.Point{l[0], l[1]})
	}
	p.Hours = ps.openingHours("hours", r.Hours)
	seen := map[string]bool{}
	for i, s := range r.Services {
		switch {
		case !slices.Contains(known, Category(s)):
			ps.add(fmt.Sprintf("services[%d]", i), "got %q, want the code of a service item of the catalogue (GET /v1/service-items)", Clip(s))
		case seen[s]:
			ps.add(fmt.Sprintf("services[%d]", i), "%q is listed twice", s)
		default:
			seen[s] = true
			p.Services = append(p.Services, Category(s))
		}
	}
	slices.Sort(p.Services)
	if len(r.Staff) > MaxServicePointStaff {
		ps.add("staff", "at most %d people", MaxServicePointStaff)
	}
	for i, m := range r.Staff {
		m.Name, m.Role = strings.TrimSpace(m.Name), strings.TrimSpace(m.Role)
		if m.Name == "" || utf8.RuneCountInString(m.Name) > 30 {
			ps.add(fmt.Sprintf("staff[%d].name", i), "required, at most 30 characters")
		}
		if utf8.RuneCountInString(m.Role) > 30 {
			ps.add(fmt.Sprintf("staff[%d].role", i), "at most 30 characters")
		}
		phone, err := NormalizePhone(m.Phone)
		if err != nil {
			ps.add(fmt.Sprintf("staff[%d].phone", i), "%s", ErrorMessage(err))
		}
		m.Phone = phone
		p.Staff = append(p.Staff, m)
	}
	return p, ps.err()
}
