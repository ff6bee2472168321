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
	// limits holds the catalogue of service items and the holiday
	// calendar (serviceitem.go; nil or empty: the built-in categories and
	// the severity limits).
	limits *Limits
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
	if cats := d.intakeCategories(); !slices.Contains(cats, inc.Category) {
		bad("category", "got %q, want one of %v", Clip(req.Category), cats)
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
	probs = append(probs, checkPlace(req.Lon, req.Lat, req.CRS, req.Grid, true)...)
	if len(probs) > 0 {
		return nil, Invalid(probs...)
	}
	pl, err := d.place(snap, req.Lon, req.Lat, req.CRS, req.Grid)
	if err != nil {
		return nil, err
	}
	inc.InputCRS, inc.InputPoint, inc.Location, inc.Match, inc.DistanceM = pl.crs, pl.input, pl.location, pl.match, pl.distanceM
	inc.Generation = snap.Generation
	if pl.grid != nil {
		inc.GridCode, inc.VillageCode = pl.grid.Code, pl.grid.VillageCode
	}
	inc.TownCode = snap.TownCodeAt(pl.grid, pl.location, "")
	inc.Status = StReceived
	if a, ok := snap.Assign(inc.TownCode, pl.grid, LevelGrid, now); ok {
		inc.Assignee, inc.Status = a, StDispatched
	}
	inc.CoNotified = d.cfg.CoNotified(pl.grid, inc.Category)
	inc.DueAt = d.due(inc, now)
	inc.FirstDueAt, inc.MaxLevel = inc.DueAt, inc.Assignee.Level
	inc.DuplicateRule = d.cfg.Duplicates
	return inc, nil
}

// due is the time limit an incident gets when it is given one at now: at
// intake, and again when an escalation, reassignment, correction or
// reopening hands it on. Every time limit is decided here.
func (d Dispatcher) due(inc *Incident, now time.Time) time.Time {
	return d.limitDue(inc.Category, inc.Severity, now)
}

// checkPlace checks a location (lon, lat in crs) or a grid code as a
// request gives them: together where they go together, not both, and (if
// required) one of them.
func checkPlace(lon, lat *float64, crs, grid string, required bool) []Problem {
	var probs []Problem
	if _, err := chinacrs.Parse(crs); err != nil {
		probs = append(probs, Problem{Where: "crs", Reason: fmt.Sprintf("got %q, want wgs84, gcj02 or bd09", Clip(crs))})
	}
	switch {
	case (lon == nil) != (lat == nil):
		probs = append(probs, Problem{Where: "lon", Reason: "lon and lat go together"})
	case lon != nil && grid != "":
		probs = append(probs, Problem{Where: "grid", Reason: "give a location (lon, lat) or a grid code, not both"})
	case lon != nil:
		if p := CheckLonLat(*lon, *lat); p != nil {
			probs = append(probs, *p)
		}
	case grid != "" || !required:
	default:
		probs = append(probs, Problem{Where: "lon", Reason: "required: a location (lon, lat) or a grid code"})
	}
	return probs
}

// placement is where an incident is and the grid that answers for it.
type placement struct {
	crs             string
	input, location *[2]float64
	grid            *GridRecord // nil outside coverage
	match           string
	distanceM       float64
}

// place locates a checked location or grid code on snap: by the boundary
// and nearest rules, or by code (EINVALID when snap has no such grid).
func (d Dispatcher) place(snap *Snapshot, lon, lat *float64, crsName, grid string) (placement, error) {
	crs, _ := chinacrs.Parse(crsName)
	pl := placement{crs: string(crs)}
	if lon == nil {
		g, ok := snap.Grid(grid)
		if !ok {
			return pl, Invalidf("grid", "no grid %q in generation %d", Clip(grid), snap.Generation)
		}
		pl.grid, pl.match = g, "code"
		return pl, nil
	}
	in := orb.Point{*lon, *lat}
	wgs := chinacrs.ToWGS84(crs, in)
	pl.input, pl.location = (*[2]float64)(&in), (*[2]float64)(&wgs)
	pl.match = "outside"
	if loc, ok := snap.Locate(wgs, d.toleranceM); ok {
		pl.grid, pl.match, pl.distanceM = loc.Grid, loc.Match.String(), loc.DistanceM
	}
	return pl, nil
}

// Decide returns what ev does to inc (as locked in the store's
// transaction) on snap at now: ECONFLICT for a step the closed loop does
// not allow from inc's status, or an escalation or reassignment with
// nobody to take it. A reassignment keeps the level and starts a fresh
// time limit; an escalation goes one level up (see Escalate); a
// correction routes again (see Correct). Verification completes the
// incident (办结), on time when by its first due time plus the time it
// spent suspended; a reopening takes that back and gives a fresh limit.
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
		g, _ := snap.Grid(inc.GridCode)
		if a == nil {
			routed, ok := snap.Assign(inc.TownCode, g, inc.Assignee.Level, now)
			if !ok {
				return ch, Errorf(ECONFLICT, "nobody to reassign incident %s to", inc.Number)
			}
			a = &routed
		} else {
			named := *a
			named.Role, named.Level = snap.roleOf(inc.TownCode, g, named.Phone, inc.Assignee.Level, now)
			a = &named
		}
		ch.Assignee, ch.DueAt = a, d.due(inc, now)
	case ActCorrect:
		return d.Correct(snap, inc, *ev.Correct, ev.Note, now)
	case ActVerify:
		ch.Complete, ch.OnTime = true, OnTime(inc, now)
	case ActReopen:
		ch.DueAt = d.due(inc, now)
	case ActReject, ActCancel:
		ch.OutcomeReason = strings.TrimSpace(ev.Note)
	case ActResume:
		ch.To = suspendedFrom(inc)
		ch.Resumed = max(0, now.Sub(inc.SuspendedAt))
	case ActMerge:
		ch.MergeInto = ev.Into
		if ch.MergeInto == "" {
			ch.MergeInto = inc.PossibleDuplicateOf
		}
		if ch.MergeInto == "" {
			return ch, Invalidf("into", "incident %s was not flagged as a possible duplicate: say which incident to merge it into", inc.Number)
		}
	}
	return ch, nil
}

// OnTime reports whether inc, completed at t, met its first time limit
// once the time it spent suspended is added to it (escalations and
// reassignments do not move it).
func OnTime(inc *Incident, t time.Time) bool {
	limit := inc.FirstDueAt.Add(time.Duration(inc.SuspendedSeconds) * time.Second)
	return !t.After(limit)
}

// suspendedFrom is the status inc was suspended from: that of its latest
// suspension (dispatched if the history does not say).
func suspendedFrom(inc *Incident) Status {
	for i := len(inc.Events) - 1; i >= 0; i-- {
		if e := inc.Events[i]; e.Action == ActSuspend && e.From != "" {
			return e.From
		}
	}
	return StDispatched
}

// roleOf is the role and level of the person with phone for grid g (nil
// outside coverage): the grid's leader or deputy, the village's liaison
// leader or work team leader, its 片区's secretary, the town duty desk (whoever its roster has on duty at at, or
// its fixed desk); anyone else a dispatcher names is a designee at level
// (the incident's current one).
func (s *Snapshot) roleOf(town string, g *GridRecord, phone string, level Level, at time.Time) (Role, Level) {
	is := func(c *Contact) bool { return c != nil && c.Phone != "" && c.Phone == phone }
	if g != nil {
		switch {
		case is(g.Leader):
			return RoleLeader, LevelGrid
		case is(g.Deputy):
			return RoleDeputy, LevelGrid
		}
		if v, ok := s.Village(g.VillageCode); ok {
			switch d, _ := s.VillageDistrict(v); {
			case is(v.LiaisonLeader):
				return RoleLiaisonLeader, LevelVillage
			case v.WorkTeam != nil && is(v.WorkTeam.Leader):
				return RoleTeamLeader, LevelVillage
			case is(d.Secretary):
				return RoleDistrictSecretary, LevelTown
			}
		}
	}
	if desk, _ := s.dutyDeskAt(town, g, at); is(desk) || is(s.dutyDesk(town, g)) {
		return RoleDutyDesk, LevelTown
	}
	return RoleDesignee, level
}

// Escalate decides the escalation of inc at now: one level up (grid →
// village liaison leader or work team leader → town duty desk, with the
// 片区's secretary before the town when the configuration says ViaDistrict),
// skipping people on leave, with a fresh time limit; the one it replaces
// stays on the record (missed if past). ok is false when there is no
// higher level or nobody to take it. An empty note says why: overdue since
// the due time when it has passed, or that it went up before.
func (d Dispatcher) Escalate(s *Snapshot, inc *Incident, now time.Time, note string) (IncidentChange, bool) {
	if s == nil || inc.Assignee.Level >= LevelTown && inc.Assignee.Role != RoleDistrictSecretary {
		return IncidentChange{}, false
	}
	g, _ := s.Grid(inc.GridCode)
	a, ok := s.escalation(inc.TownCode, g, inc.Assignee, now, d.cfg.ViaDistrict)
	if !ok {
		return IncidentChange{}, false
	}
	if note == "" {
		due := inc.DueAt.UTC().Format(time.RFC3339)
		if now.After(inc.DueAt) {
			note = "overdue since " + due + ": 小事不出村、大事不出镇"
		} else {
			note = "escalated before its due time " + due
		}
	}
	return IncidentChange{Action: ActEscalate, Note: note, To: StDispatched, Assignee: &a, DueAt: d.due(inc, now), Escalated: true}, true
}

// Correct decides a correction of inc's category and/or place at now,
// with the reason in note: the incident is routed again as intake would
// route it, at its current level. When that gives another assignee, an
// open incident is handed over as by a reassignment (dispatched, with a
// fresh time limit), a suspended one stays suspended with the new
// assignee; otherwise (and once resolved) status, assignee and time limit
// stay.
func (d Dispatcher) Correct(snap *Snapshot, inc *Incident, req CorrectionRequest, note string, now time.Time) (IncidentChange, error) {
	c := &Correction{Category: inc.Category, Location: inc.Location, InputCRS: inc.InputCRS, InputPoint: inc.InputPoint,
		GridCode: inc.GridCode, VillageCode: inc.VillageCode, Match: inc.Match, DistanceM: inc.DistanceM, Generation: inc.Generation}
	if req.Category != "" {
		if cats := d.intakeCategories(); !slices.Contains(cats, req.Category) {
			return IncidentChange{}, Invalidf("category", "got %q, want one of %v", Clip(string(req.Category)), cats)
		}
		c.Category = req.Category
	}
	g, _ := snap.Grid(inc.GridCode)
	if req.moves() {
		pl, err := d.place(snap, req.Lon, req.Lat, req.CRS, req.Grid)
		if err != nil {
			return IncidentChange{}, err
		}
		g = pl.grid
		c.Location, c.InputCRS, c.InputPoint, c.Match, c.DistanceM = pl.location, pl.crs, pl.input, pl.match, pl.distanceM
		c.GridCode, c.VillageCode, c.Generation = "", "", snap.Generation
		if g != nil {
			c.GridCode, c.VillageCode = g.Code, g.VillageCode
		}
		c.TownCode = snap.TownCodeAt(g, c.Location, inc.TownCode)
	}
	c.CoNotified = d.cfg.CoNotified(g, c.Category)
	var what []string
	if c.Category != inc.Category {
		what = append(what, fmt.Sprintf("category %s → %s", inc.Category, c.Category))
	}
	if req.moves() {
		from, to := inc.GridCode, c.GridCode
		if from == "" {
			from = "outside coverage"
		}
		if to == "" {
			to = "outside coverage"
		}
		what = append(what, fmt.Sprintf("grid %s → %s", from, to))
	}
	ch := IncidentChange{Action: ActCorrect, Note: strings.TrimSpace(note), To: inc.Status, Correction: c}
	if len(what) > 0 {
		ch.Note += " (" + strings.Join(what, ", ") + ")"
	}
	town := c.TownCode
	if town == "" {
		town = inc.TownCode
	}
	a, ok := snap.Assign(town, g, inc.Assignee.Level, now)
	switch {
	case !ok || a.Name == inc.Assignee.Name && a.Phone == inc.Assignee.Phone || !inc.Status.Open():
	case inc.Status == StSuspended:
		// The new assignee takes it suspended; its clock starts again
		// on resume, from where it stood.
		a.Reason = "corrected: " + a.Reason
		ch.Assignee = &a
	default:
		a.Reason = "corrected: " + a.Reason
		after := *inc
		after.Category = c.Category
		ch.Assignee, ch.To, ch.DueAt = &a, StDispatched, d.due(&after, now)
	}
	return ch, nil
}

// EventMessages returns the messages a change sends (see ChangeMessages);
// a correction that hands the incident to someone else tells them and
// the one it leaves as a reassignment does.
func (d Dispatcher) EventMessages(channels []Channel, snap *Snapshot, inc *Incident, ch IncidentChange) []OutboxMessage {
	if ch.Action != ActCorrect {
		return d.ChangeMessages(channels, snap, inc, ch)
	}
	if ch.Assignee == nil {
		return nil
	}
	after := afterChange(inc, ch)
	c := ch.Correction
	after.Category, after.Location, after.InputCRS, after.InputPoint = c.Category, c.Location, c.InputCRS, c.InputPoint
	after.GridCode, after.VillageCode, after.Match, after.DistanceM = c.GridCode, c.VillageCode, c.Match, c.DistanceM
	after.Generation, after.CoNotified = c.Generation, c.CoNotified
	return d.Messages(channels, snap, after, MsgReassigned, &inc.Assignee, ch.Note)
}

// ActorRole is the role a caller acts in on inc: an API token's access
// role, or for a person signed in (scope) what they hold for inc at the
// time — its assignee's role when it is with them, the role they hold
// on its grid or village, or chair.
func ActorRole(access AccessRole, scope *PersonScope, inc *Incident) string {
	if scope == nil {
		return string(access)
	}
	if inc.Assignee.Phone != "" && inc.Assignee.Phone == scope.Person.Phone {
		return string(inc.Assignee.Role)
	}
	for _, a := range scope.Roles {
		if a.GridCode != "" && a.GridCode == inc.GridCode || a.VillageCode != "" && a.VillageCode == inc.VillageCode {
			return string(a.Role)
		}
	}
	if len(scope.Chairs) > 0 {
		return "chair"
	}
	return string(AccessPerson)
}

// SystemRole is the role of the service's own actors (router, escalator).
const SystemRole = "system"

// DuplicateRule says when intake flags a new incident as a possible
// duplicate: an open incident of the same category within Meters and
// received within Within before it. Zero Meters: never.
type DuplicateRule struct {
	Meters float64
	Within time.Duration
}

// DefaultDuplicateRule is 100 m and 72 h: a second call about the same
// dispute usually comes from a neighbour within days.
var DefaultDuplicateRule = DuplicateRule{Meters: 100, Within: 72 * time.Hour}

// CheckMerge returns nil when dup may be merged into target, and
// otherwise ECONFLICT (target ended or merged itself) or EINVALID (the
// same incident).
func CheckMerge(dup, target *Incident) error {
	switch {
	case dup.ID == target.ID:
		return Invalidf("into", "an incident cannot be merged into itself")
	case target.Status.Ended():
		return Errorf(ECONFLICT, "cannot merge %s into %s, which is %s", dup.Number, target.Number, target.Status)
	}
	return nil
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
