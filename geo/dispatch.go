package geo

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"wangge/geo/chinacrs"
)

// This file is the dispatcher: every decision about an incident — where it
// goes at intake, who takes it when the grid's people are away, which
// organizations hear of it, when it is due, what each step of the closed
// loop does, and where an escalation goes. It is pure: the store persists
// what it decides, the HTTP layer only decodes and renders.

// Limits of free text in incidents.
const (
	MaxDescriptionBytes = 10_000
	MaxNoteBytes        = 10_000
)

// Dispatcher decides routing, fallbacks, co-notification, due times,
// escalation and the closed loop's transitions. The zero value is not
// usable: build it with NewDispatcher.
type Dispatcher struct {
	cfg        DispatchConfig
	toleranceM float64
	// publicURL is where people reach the service, for links in messages
	// ("": none).
	publicURL string
}

// NewDispatcher returns a dispatcher with cfg (zero: the defaults) that
// routes points up to toleranceM metres outside every grid to the nearest
// one (<= 0: DefaultToleranceM).
func NewDispatcher(cfg DispatchConfig, toleranceM float64) Dispatcher {
	if cfg.DueIn == nil {
		cfg = DefaultDispatchConfig()
	}
	if toleranceM <= 0 {
		toleranceM = DefaultToleranceM
	}
	return Dispatcher{cfg: cfg, toleranceM: toleranceM}
}

// WithPublicURL returns d making links in messages under publicURL (the
// address people reach the service at, e.g. https://wangge.example.cn).
func (d Dispatcher) WithPublicURL(publicURL string) Dispatcher {
	d.publicURL = strings.TrimRight(publicURL, "/")
	return d
}

// Config returns the configuration the dispatcher decides with.
func (d Dispatcher) Config() DispatchConfig { return d.cfg }

// IncidentRequest is a complaint as a dispatcher submits it: a location
// (Lon, Lat in CRS) or a grid code, and what it is about.
type IncidentRequest struct {
	Lon           *float64 `json:"lon"`
	Lat           *float64 `json:"lat"`
	CRS           string   `json:"crs"`
	Grid          string   `json:"grid"`
	Category      string   `json:"category"`
	Severity      string   `json:"severity"`
	Description   string   `json:"description"`
	ReporterName  string   `json:"reporter_name"`
	ReporterPhone string   `json:"reporter_phone"`
	Source        string   `json:"source"`
	ReportedAt    string   `json:"reported_at"`
}

// Route checks req whole and routes it on snap at now: the grid (by
// location, with the boundary and nearest rules, or by code), the assignee
// through the fallback chain, the organizations to co-notify and the due
// time. Every wrong field is a Problem of one EINVALID error; nothing is
// decided from a request that has one.
func (d Dispatcher) Route(snap *Snapshot, req IncidentRequest, now time.Time) (*Incident, error) {
	inc := &Incident{Category: Category(req.Category), Severity: Severity(req.Severity),
		Source: Source(req.Source), Description: strings.TrimSpace(req.Description),
		ReporterName: strings.TrimSpace(req.ReporterName), ReceivedAt: now, ReportedAt: now}
	var probs []Problem
	bad := func(where, format string, args ...any) {
		probs = append(probs, Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(Categories, inc.Category) {
		bad("category", "got %q, want one of %v", Clip(req.Category), Categories)
	}
	if !slices.Contains(Severities, inc.Severity) {
		bad("severity", "got %q, want one of %v", Clip(req.Severity), Severities)
	}
	if !slices.Contains(Sources, inc.Source) {
		bad("source", "got %q, want one of %v", Clip(req.Source), Sources)
	}
	if inc.Description == "" || len(inc.Description) > MaxDescriptionBytes {
		bad("description", "required, at most %d bytes", MaxDescriptionBytes)
	}
	if phone, err := NormalizePhone(req.ReporterPhone); err != nil {
		bad("reporter_phone", "%s", ErrorMessage(err))
	} else {
		inc.ReporterPhone = phone
	}
	if req.ReportedAt != "" {
		t, err := time.Parse(time.RFC3339, req.ReportedAt)
		switch {
		case err != nil:
			bad("reported_at", "got %q, want an RFC 3339 time such as 2026-11-22T09:30:00+08:00", Clip(req.ReportedAt))
		case t.After(now.Add(5 * time.Minute)):
			bad("reported_at", "%s is in the future", req.ReportedAt)
		default:
			inc.ReportedAt = t.UTC()
		}
	}
	crs, err := chinacrs.Parse(req.CRS)
	if err != nil {
		bad("crs", "got %q, want wgs84, gcj02 or bd09", Clip(req.CRS))
	}
	inc.InputCRS = string(crs)
	switch {
	case (req.Lon == nil) != (req.Lat == nil):
		bad("lon", "lon and lat go together")
	case req.Lon != nil && req.Grid != "":
		bad("grid", "give a location (lon, lat) or a grid code, not both")
	case req.Lon != nil:
		if p := CheckLonLat(*req.Lon, *req.Lat); p != nil {
			probs = append(probs, *p)
		}
	case req.Grid != "":
	default:
		bad("lon", "required: a location (lon, lat) or a grid code")
	}
	if len(probs) > 0 {
		return nil, Invalid(probs...)
	}

	inc.Generation = snap.Generation
	var grid *GridRecord
	if req.Lon != nil {
		in := orb.Point{*req.Lon, *req.Lat}
		wgs := chinacrs.ToWGS84(crs, in)
		inc.InputPoint, inc.Location = (*[2]float64)(&in), (*[2]float64)(&wgs)
		inc.Match = "outside"
		if loc, ok := snap.Locate(wgs, d.toleranceM); ok {
			grid, inc.Match, inc.DistanceM = loc.Grid, loc.Match.String(), loc.DistanceM
		}
	} else {
		g, ok := snap.Grid(req.Grid)
		if !ok {
			return nil, Invalidf("grid", "no grid %q in generation %d", Clip(req.Grid), snap.Generation)
		}
		grid, inc.Match = g, "code"
	}
	if grid != nil {
		inc.GridCode, inc.VillageCode = grid.Code, grid.VillageCode
	}
	inc.Status = StReceived
	if a, ok := snap.Assign(grid, LevelGrid, now); ok {
		inc.Assignee, inc.Status = a, StDispatched
	}
	inc.CoNotified = d.cfg.CoNotified(grid, inc.Category)
	inc.DueAt = now.Add(d.cfg.DueIn[inc.Severity])
	return inc, nil
}

// EventRequest is one step of the closed loop as a caller asks for it.
// Assignee names the person to reassign to (reassign only; absent: the
// fallback chain picks again).
type EventRequest struct {
	Action   string       `json:"action"`
	Note     string       `json:"note"`
	Assignee *ContactJSON `json:"assignee"`
}

// ContactJSON is a person as a request names them.
type ContactJSON struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// Event is a checked EventRequest.
type Event struct {
	Action Action
	Note   string
	// Assignee is the explicit reassignment target, nil otherwise.
	Assignee *Assignee
}

// CheckEvent checks req whole: a user action, a note within limits (and
// given, as the reason, with request_reassign and request_escalate), an
// assignee only with reassign and then with a name and a valid phone.
// actor is who asks (it goes into the reassignment's reason).
func CheckEvent(req EventRequest, actor string) (Event, error) {
	ev := Event{Action: Action(req.Action), Note: req.Note}
	var probs []Problem
	if !slices.Contains(UserActions, ev.Action) {
		probs = append(probs, Problem{Where: "action", Reason: fmt.Sprintf("got %q, want one of %v", Clip(req.Action), UserActions)})
	}
	if len(req.Note) > MaxNoteBytes {
		probs = append(probs, Problem{Where: "note", Reason: "at most 10000 bytes"})
	} else if (ev.Action == ActRequestReassign || ev.Action == ActRequestEscalate) && strings.TrimSpace(req.Note) == "" {
		probs = append(probs, Problem{Where: "note", Reason: "required with " + req.Action + ": the reason"})
	}
	if req.Assignee != nil {
		phone, err := NormalizePhone(req.Assignee.Phone)
		switch {
		case ev.Action != ActReassign:
			probs = append(probs, Problem{Where: "assignee", Reason: "only with action reassign"})
		case err != nil || strings.TrimSpace(req.Assignee.Name) == "":
			probs = append(probs, Problem{Where: "assignee", Reason: `want {"name": …, "phone": a valid phone}`})
		default:
			ev.Assignee = &Assignee{Name: strings.TrimSpace(req.Assignee.Name), Phone: phone, Reason: "reassigned by " + actor}
		}
	}
	if len(probs) > 0 {
		return Event{}, Invalid(probs...)
	}
	return ev, nil
}

// Decide returns what ev does to inc (as locked in the store's
// transaction) on snap at now: ECONFLICT for a step the closed loop does
// not allow from inc's status, or an escalation or reassignment with
// nobody to take it. A reassignment keeps the level and starts a fresh
// time limit; an escalation goes one level up (see Escalate).
func (d Dispatcher) Decide(snap *Snapshot, inc *Incident, ev Event, now time.Time) (IncidentChange, error) {
	to, err := Transition(inc.Status, ev.Action)
	if err != nil {
		return IncidentChange{}, err
	}
	ch := IncidentChange{Action: ev.Action, Note: ev.Note, To: to}
	if to == StClosed && inc.Status != StClosed && IsMobile(inc.ReporterPhone) {
		// 回访: the reporter is asked to rate the handling.
		ch.RatingToken = NewRatingToken()
	}
	switch ev.Action {
	case ActEscalate:
		esc, ok := d.Escalate(snap, inc, now, ev.Note)
		if !ok {
			return ch, Errorf(ECONFLICT, "incident %s is already with the town duty desk: there is no higher level", inc.Number)
		}
		return esc, nil
	case ActReassign:
		a := ev.Assignee
		if a == nil {
			g, _ := snap.Grid(inc.GridCode)
			routed, ok := snap.Assign(g, inc.Assignee.Level, now)
			if !ok {
				return ch, Errorf(ECONFLICT, "nobody to reassign incident %s to", inc.Number)
			}
			a = &routed
		} else {
			explicit := *a
			explicit.Role, explicit.Level = inc.Assignee.Role, inc.Assignee.Level
			a = &explicit
		}
		ch.Assignee, ch.DueAt = a, now.Add(d.cfg.DueIn[inc.Severity])
	}
	return ch, nil
}

// Escalate decides the escalation of inc at now: one level up (grid →
// village liaison leader → town duty desk), skipping people on leave, with
// a fresh time limit. ok is false when there is no higher level or nobody
// to take it. An empty note says why (the escalator's overdue case).
func (d Dispatcher) Escalate(s *Snapshot, inc *Incident, now time.Time, note string) (IncidentChange, bool) {
	if inc.Assignee.Level >= LevelTown || s == nil {
		return IncidentChange{}, false
	}
	g, _ := s.Grid(inc.GridCode)
	a, ok := s.Assign(g, inc.Assignee.Level+1, now)
	if !ok {
		return IncidentChange{}, false
	}
	if note == "" {
		note = "overdue since " + inc.DueAt.UTC().Format(time.RFC3339) + ": 小事不出村、大事不出镇"
	}
	return IncidentChange{Action: ActEscalate, Note: note, To: StDispatched, Assignee: &a, DueAt: now.Add(d.cfg.DueIn[inc.Severity])}, true
}

// Clip keeps echoed input short in messages: a 1 MB value is not repeated
// back.
func Clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
