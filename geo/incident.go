package geo

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Category is what an incident is about.
type Category string

// Incident categories.
const (
	CatDispute            Category = "dispute"              // 矛盾纠纷
	CatEnvironment        Category = "environment"          // 环境卫生
	CatSafety             Category = "safety"               // 安全隐患
	CatLivelihood         Category = "livelihood"           // 民生诉求
	CatCustoms            Category = "customs"              // 移风易俗 / 红白喜事
	CatLeftBehindChildren Category = "left_behind_children" // 留守儿童
	CatOther              Category = "other"
)

// Categories lists the categories in a stable order.
var Categories = []Category{CatDispute, CatEnvironment, CatSafety, CatLivelihood, CatCustoms, CatLeftBehindChildren, CatOther}

// Severity sets an incident's time limit.
type Severity string

// Severities.
const (
	SevMinor  Severity = "minor"
	SevMajor  Severity = "major"
	SevUrgent Severity = "urgent"
)

// Severities lists the severities in order.
var Severities = []Severity{SevMinor, SevMajor, SevUrgent}

// Source is how a complaint arrived.
type Source string

// SourceOpen311 is the source of the incidents submitted through Open311
// GeoReport v2 (an app or site of a third party): only that endpoint sets
// it, so an incident that has it has its Open311 request too.
const SourceOpen311 Source = "open311"

// Sources lists the sources an incident can have.
var Sources = []Source{"hotline_12345", "wechat", "walk_in", "patrol", "other", SourceOpen311}

// Status is where an incident is in the closed loop.
type Status string

// Statuses of the closed loop: received → dispatched → accepted →
// in_progress → resolved → verified → closed, plus rejected and reopened.
// Suspended (挂起) stops the clock until resumed; cancelled and merged end
// an incident without completing it.
const (
	StReceived   Status = "received"
	StDispatched Status = "dispatched"
	StAccepted   Status = "accepted"
	StInProgress Status = "in_progress"
	StResolved   Status = "resolved"
	StVerified   Status = "verified"
	StClosed     Status = "closed"
	StRejected   Status = "rejected"
	StReopened   Status = "reopened"
	StSuspended  Status = "suspended"
	StCancelled  Status = "cancelled"
	StMerged     Status = "merged"
)

// Statuses lists every status.
var Statuses = []Status{StReceived, StDispatched, StAccepted, StInProgress, StResolved, StVerified, StClosed, StRejected, StReopened,
	StSuspended, StCancelled, StMerged}

// Ended reports whether nothing more happens to an incident of status s
// but a reopen (closed) or nothing at all (cancelled, merged).
func (s Status) Ended() bool { return s == StClosed || s == StCancelled || s == StMerged }

// Open reports whether the incident is still to be handled: it stays with
// its grid and assignee, and (unless suspended, when the clock stands)
// counts as overdue past its due time. Resolved incidents wait only for
// verification and are not overdue.
func (s Status) Open() bool {
	switch s {
	case StReceived, StDispatched, StAccepted, StInProgress, StRejected, StReopened, StSuspended:
		return true
	}
	return false
}

// Running reports whether an incident of status s is open with its clock
// running: not suspended.
func (s Status) Running() bool { return s.Open() && s != StSuspended }

// Action is what an event does to an incident.
type Action string

// Actions of POST /v1/incidents/{number}/events, and the system's own
// (receive, dispatch).
const (
	ActReceive  Action = "receive"
	ActDispatch Action = "dispatch"
	ActAccept   Action = "accept"
	ActStart    Action = "start"
	ActResolve  Action = "resolve"
	ActVerify   Action = "verify"
	ActClose    Action = "close"
	ActReject   Action = "reject"
	ActReopen   Action = "reopen"
	ActReassign Action = "reassign"
	ActEscalate Action = "escalate"
	ActComment  Action = "comment"
	// ActRequestReassign and ActRequestEscalate ask the dispatcher to
	// reassign or escalate an open incident, with the reason in the note:
	// like a comment, they change neither the status nor the assignee.
	ActRequestReassign Action = "request_reassign"
	ActRequestEscalate Action = "request_escalate"
	// ActCorrect corrects the category or the location given at intake,
	// with the reason in the note; routing is decided again.
	ActCorrect Action = "correct"
	// ActSuspend (挂起) stops the clock, with the reason in the note;
	// ActResume starts it again where it stopped.
	ActSuspend Action = "suspend"
	ActResume  Action = "resume"
	// ActCancel ends an incident that needs no handling (withdrawn, not a
	// matter for the town), with the reason in the note.
	ActCancel Action = "cancel"
	// ActMerge folds a duplicate into the incident it repeats.
	ActMerge Action = "merge"
	// ActReroute and ActHandover, the system's, are in reroute.go.
)

// UserActions are the actions a caller may post.
var UserActions = []Action{ActAccept, ActStart, ActResolve, ActVerify, ActClose, ActReject, ActReopen, ActReassign, ActEscalate, ActComment,
	ActRequestReassign, ActRequestEscalate, ActCorrect, ActSuspend, ActResume, ActCancel, ActMerge}

// ReasonRequired are the actions whose note is their reason and may not
// be empty: the record says why a case was rejected, cancelled,
// suspended or corrected, and why someone asked for it to move.
var ReasonRequired = []Action{ActReject, ActCancel, ActSuspend, ActCorrect, ActRequestReassign, ActRequestEscalate}

// openStatuses are the statuses in which an incident waits for someone to
// act, its clock running (see Status.Running).
var openStatuses = []Status{StReceived, StDispatched, StAccepted, StInProgress, StRejected, StReopened}

// transitions maps an action to the statuses it may be taken from and the
// status it leads to. Reassign and escalate hand the incident to someone
// else, who must accept it again. Resume goes back to the status the
// incident was suspended from (see Dispatcher.Decide); merge is taken
// from any status that is not ended.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActAccept:   {[]Status{StDispatched, StReopened}, StAccepted},
	ActStart:    {[]Status{StAccepted}, StInProgress},
	ActResolve:  {[]Status{StAccepted, StInProgress}, StResolved},
	ActVerify:   {[]Status{StResolved}, StVerified},
	ActClose:    {[]Status{StVerified, StRejected}, StClosed},
	ActReject:   {[]Status{StDispatched, StAccepted}, StRejected},
	ActReopen:   {[]Status{StResolved, StVerified, StClosed}, StReopened},
	ActReassign: {[]Status{StReceived, StDispatched, StAccepted, StInProgress, StRejected, StReopened}, StDispatched},
	ActEscalate: {[]Status{StReceived, StDispatched, StAccepted, StInProgress, StRejected, StReopened}, StDispatched},
	ActSuspend:  {openStatuses, StSuspended},
	ActResume:   {[]Status{StSuspended}, StSuspended},
	ActCancel:   {append(slices.Clip(openStatuses), StSuspended), StCancelled},
	ActMerge:    {append(slices.Clip(openStatuses), StSuspended, StResolved), StMerged},
}

// Transition returns the status an action leads to from status from, or an
// ECONFLICT error naming the statuses it is allowed from. A comment keeps
// the status; so does a request to reassign or escalate, which is only
// for an open incident. Unknown actions are EINVALID.
func Transition(from Status, a Action) (Status, error) {
	switch {
	case a == ActComment:
		return from, nil
	case a == ActRequestReassign || a == ActRequestEscalate:
		if !from.Open() {
			return "", Errorf(ECONFLICT, "cannot %s an incident that is %s: only while it is open", a, from)
		}
		return from, nil
	case a == ActCorrect:
		// A correction re-routes; the status changes only with the
		// assignee (see Dispatcher.Correct).
		if from.Ended() {
			return "", Errorf(ECONFLICT, "cannot correct an incident that is %s", from)
		}
		return from, nil
	}
	t, ok := transitions[a]
	if !ok {
		return "", Errorf(EINVALID, "action %q: want one of %v", a, UserActions)
	}
	for _, s := range t.from {
		if s == from {
			return t.to, nil
		}
	}
	return "", Errorf(ECONFLICT, "cannot %s an incident that is %s (only when %v)", a, from, t.from)
}

// Level is how far up an incident has gone: 小事不出村、大事不出镇.
type Level int

// Escalation levels.
const (
	LevelGrid    Level = 0 // the grid's leader (or deputy)
	LevelVillage Level = 1 // the village liaison work group leader
	LevelTown    Level = 2 // the town duty desk
)

// DispatchConfig is the routing configuration: time limits by severity and
// the organization kind co-notified for each category.
type DispatchConfig struct {
	DueIn    map[Severity]time.Duration
	CoNotify map[Category]OrgKind
	// Duplicates says when intake flags a possible duplicate.
	Duplicates DuplicateRule
	// ViaDistrict sends escalations from the village to the secretary of
	// the village's 片区 before the town duty desk (structure.go).
	ViaDistrict bool
}

// DefaultDispatchConfig returns the town's practice: urgent 2 h, major
// 24 h, minor 72 h; customs → 红白喜事理事会, environment → 爱卫会, left-behind
// children → 关心留守儿童工作委员会, disputes → the mediation committee.
func DefaultDispatchConfig() DispatchConfig {
	return DispatchConfig{
		DueIn: map[Severity]time.Duration{SevUrgent: 2 * time.Hour, SevMajor: 24 * time.Hour, SevMinor: 72 * time.Hour},
		CoNotify: map[Category]OrgKind{CatCustoms: OrgRedWhiteCouncil, CatEnvironment: OrgHealthCommittee,
			CatLeftBehindChildren: OrgLeftBehindChildren, CatDispute: OrgMediation},
		Duplicates: DefaultDuplicateRule,
	}
}

// RoleDesignee is the role of an assignee a dispatcher named who holds
// none of the routing roles for the incident.
const RoleDesignee Role = "designee"

// Assignee is who an incident is routed to.
type Assignee struct {
	// Role is leader, deputy, liaison_leader, team_leader (village level),
	// district_secretary (town level), duty_desk or designee.
	Role  Role
	Level Level
	Name  string
	Phone string
	// Reason says why this person: "leader", "leader on leave → deputy", …
	Reason string
}

// Assign picks who takes an incident at level for grid g (nil when outside
// coverage) in town (the town code of an incident outside coverage; g's
// town otherwise) at time at: the grid's leader unless on leave, then the
// deputy unless on leave, then the village liaison leader, then the leader
// of the work team covering the village, then the town duty desk;
// escalation starts the search at a higher level (and may go through the
// district: see Dispatcher.Escalate). ok is false
// when nobody at all is on duty (not even the duty desk).
func (s *Snapshot) Assign(town string, g *GridRecord, level Level, at time.Time) (a Assignee, ok bool) {
	var skipped []string
	if g != nil && level <= LevelGrid {
		for _, c := range []struct {
			role Role
			p    *Contact
		}{{RoleLeader, g.Leader}, {RoleDeputy, g.Deputy}} {
			switch {
			case c.p == nil:
				skipped = append(skipped, fmt.Sprintf("no %s", c.role))
			case c.p.OnLeave(at):
				skipped = append(skipped, fmt.Sprintf("%s on leave", c.role))
			default:
				return Assignee{Role: c.role, Level: LevelGrid, Name: c.p.Name, Phone: c.p.Phone, Reason: reason(skipped, string(c.role))}, true
			}
		}
	}
	if g != nil && level <= LevelVillage {
		// The village's liaison leader, then its work team's leader
		// (structure.go).
		if a, ok := s.villageStep(g, at, &skipped); ok {
			return a, true
		}
	}
	if g == nil {
		skipped = append(skipped, "outside coverage")
	}
	if p, why := s.dutyDeskAt(town, g, at); p != nil {
		return Assignee{Role: RoleDutyDesk, Level: LevelTown, Name: p.Name, Phone: p.Phone, Reason: reason(skipped, why)}, true
	}
	return Assignee{}, false
}

// dutyDesk is the duty desk of g's town, or of town when g is nil; a
// one-town deployment's desk when the incident names no town (an incident
// read from a database written before towns were recorded).
func (s *Snapshot) dutyDesk(town string, g *GridRecord) *Contact {
	if g != nil {
		town = g.Code
	}
	if t, ok := s.TownOf(town); ok {
		return t.DutyDesk
	}
	if town == "" && len(s.Towns) == 1 {
		return s.Towns[0].DutyDesk
	}
	return nil
}

// TownCodeAt is the town of an incident routed to grid g (nil outside
// coverage) from location loc (nil when given by code): g's town, else the
// town loc is in or nearest to, else fallback.
func (s *Snapshot) TownCodeAt(g *GridRecord, loc *[2]float64, fallback string) string {
	if g != nil {
		return TownCodeOf(g.Code)
	}
	if loc != nil {
		if t, ok := s.TownAt(orb.Point(*loc)); ok {
			return t.Code
		}
	}
	return fallback
}

func reason(skipped []string, chosen string) string {
	if len(skipped) == 0 {
		return chosen
	}
	out := ""
	for _, s := range skipped {
		out += s + " → "
	}
	return out + chosen
}

// CoNotified returns the organizations of grid g of the kind cfg maps the
// category to, or, for a kind whose town's catalogue sets its categories
// (OrganizationRef.CoNotify), those that list c.
func (cfg DispatchConfig) CoNotified(g *GridRecord, c Category) []OrganizationRef {
	if g == nil {
		return nil
	}
	kind, ok := cfg.CoNotify[c]
	var out []OrganizationRef
	for _, o := range g.Organizations {
		if o.CoNotify == nil && ok && o.Kind == kind || o.CoNotify != nil && slices.Contains(*o.CoNotify, c) {
			out = append(out, OrganizationRef{Kind: o.Kind, Name: o.Name})
		}
	}
	return out
}

// EMISMATCH is the code of a retried request whose Idempotency-Key was
// first used with another body (HTTP 422).
const EMISMATCH = "idempotency_mismatch"

// Incident is a complaint routed to a grid and followed to closure.
type Incident struct {
	ID            int64
	Number        string
	Category      Category
	Severity      Severity
	Source        Source
	Status        Status
	Description   string
	ReporterName  string
	ReporterPhone string
	// Location is WGS-84; nil when the complaint came with a grid code only.
	Location *[2]float64
	// InputCRS and InputPoint are the location as the caller gave it.
	InputCRS   string
	InputPoint *[2]float64
	// GridCode is empty outside coverage. Match is inside, boundary,
	// nearest (then DistanceM), code (given by grid code) or outside.
	GridCode    string
	VillageCode string
	// TownCode is the town the incident belongs to: its grid's, or
	// (outside coverage) the town the point is in or nearest to.
	TownCode   string
	Match      string
	DistanceM  float64
	Generation int64
	Assignee   Assignee
	CoNotified []OrganizationRef
	ReportedAt time.Time
	ReceivedAt time.Time
	DueAt      time.Time
	ResolvedAt time.Time
	ClosedAt   time.Time
	CreatedBy  string
	// CreatedByRole is the role the creator acted in (the receive event's).
	CreatedByRole string
	Events        []IncidentEvent

	// The honest record (see migrations/0013_honest_record.sql).

	// FirstDueAt is the time limit given at intake; escalations and
	// reassignments never move it.
	FirstDueAt      time.Time
	EscalationCount int
	// MaxLevel is the highest level the incident ever reached.
	MaxLevel Level
	// CompletedAt is when it counted as completed (办结: verified); zero
	// otherwise. OnTime is set with it.
	CompletedAt time.Time
	OnTime      *bool
	// OutcomeReason is the reason given with a reject or a cancel.
	OutcomeReason string
	// MergedInto is the number of the incident this one was merged into;
	// PossibleDuplicateOf that of the open incident intake found it may
	// repeat.
	MergedInto          string
	PossibleDuplicateOf string
	// SuspendedAt is set while suspended; SuspendedSeconds sums the
	// suspensions that ended.
	SuspendedAt      time.Time
	SuspendedSeconds int64
	// OverdueSeconds sums the time spent past the deadlines that ended;
	// see OverdueFor for the total at a time.
	OverdueSeconds int64
	// Deadlines are every time limit the incident was given, in order.
	Deadlines []Deadline
	// Contacts are the reporters of the incidents merged into this one.
	Contacts []MergedContact
	// DuplicateRule is how intake looks for the incident this one may
	// repeat (set by Route, not stored).
	DuplicateRule DuplicateRule
}

// Overdue reports whether the incident is open past its due time at now.
func (inc *Incident) Overdue(now time.Time) bool { return inc.Status.Running() && now.After(inc.DueAt) }

// OverdueFor is the time inc has spent past its deadlines up to now: the
// deadlines that ended, plus the one in force when it is open and past
// due (a suspension stops the count where it began).
func (inc *Incident) OverdueFor(now time.Time) time.Duration {
	total := time.Duration(inc.OverdueSeconds) * time.Second
	end := now
	if !inc.SuspendedAt.IsZero() {
		end = inc.SuspendedAt
	}
	if inc.Status.Open() && end.After(inc.DueAt) {
		total += end.Sub(inc.DueAt)
	}
	return total
}

// MissedDeadlines counts the deadlines inc missed by now (see Missed).
func (inc *Incident) MissedDeadlines(now time.Time) int {
	n := 0
	for _, d := range inc.Deadlines {
		if inc.Missed(d, now) {
			n++
		}
	}
	return n
}

// Missed reports whether deadline d of inc was missed by now: recorded
// missed, or in force while inc is overdue.
func (inc *Incident) Missed(d Deadline, now time.Time) bool {
	return !d.MissedAt.IsZero() || d.EndedAt.IsZero() && inc.Overdue(now)
}

// Deadline is one time limit an incident was given: at intake, or by an
// escalation, reassignment, correction or reopening that set a new one.
type Deadline struct {
	Seq   int
	Level Level
	DueAt time.Time
	SetAt time.Time
	// SetBy is the action that set it (receive for the first).
	SetBy Action
	// MissedAt is when it was found missed: zero when it was met, or is
	// in force and not yet past. EndedAt is when it stopped being in
	// force: zero while it is.
	MissedAt time.Time
	EndedAt  time.Time
}

// MergedContact is the reporter of an incident merged into another: kept
// so that each reporter is called back.
type MergedContact struct {
	From          string // the merged incident's number
	ReporterName  string
	ReporterPhone string
	At            time.Time
}

// IncidentEvent is one entry of an incident's history.
type IncidentEvent struct {
	ID     int64
	At     time.Time
	Actor  string
	Action Action
	// ActorRole is the role the actor acted in at the time (an access
	// role, what a person held, or system); empty for events recorded
	// before roles were.
	ActorRole string
	From      Status // empty for the first event
	To        Status
	Note      string
	// Level is the incident's level once the event happened.
	Level    Level
	Assignee *Assignee // set when the event handed the incident to someone
}

// IncidentChange is what an event does to an incident: decided by the
// caller (api) from the incident as locked in the store's transaction.
type IncidentChange struct {
	Action Action
	// ActorRole is the role the actor acts in (see IncidentEvent).
	ActorRole string
	Note      string
	To        Status
	Assignee  *Assignee // new assignee (reassign, escalate, correct)
	// DueAt is a new time limit: the one in force ends (missed if it is
	// past) and this one starts. Zero keeps the one in force.
	DueAt time.Time
	// Escalated counts the change as an escalation.
	Escalated bool
	// Complete marks the incident completed (办结) with OnTime. Whatever
	// reopens an incident takes its completion back.
	Complete bool
	OnTime   bool
	// OutcomeReason is recorded as the incident's reason (reject,
	// cancel).
	OutcomeReason string
	// Resumed is the time a suspension lasted: the deadline in force
	// moves by it (resume).
	Resumed time.Duration
	// Correction is the re-routed category and location (correct).
	Correction *Correction
	// MergeInto is the number of the incident a duplicate is merged into
	// (merge).
	MergeInto string
	// Messages are written to the outbox with the change, in its
	// transaction (see Dispatcher.Messages).
	Messages []OutboxMessage
	// RatingToken, when set, opens a rating request (回访) for the
	// reporter with the change; the store keeps only its hash.
	RatingToken string
}

// Correction is what a correction changes: the category, and where the
// incident is and how it was routed from there.
type Correction struct {
	Category    Category
	Location    *[2]float64
	InputCRS    string
	InputPoint  *[2]float64
	GridCode    string
	VillageCode string
	// TownCode is the town of the corrected place (empty: unchanged).
	TownCode   string
	Match      string
	DistanceM  float64
	Generation int64
	CoNotified []OrganizationRef
}

// IncidentFilter selects incidents for lists and statistics. Zero fields do
// not filter.
type IncidentFilter struct {
	// TownCode keeps the incidents of one town (a town-scoped caller's,
	// or the town asked for).
	TownCode    string
	GridCode    string
	VillageCode string
	Statuses    []Status
	Category    Category
	Overdue     bool
	From, To    time.Time // received in [From, To)
	BBox        *[4]float64
	Now         time.Time // for Overdue
	Limit       int
	After       int64 // cursor: incidents with a smaller id (newest first)
}

// IncidentStats are the figures of GET /v1/stats.
type IncidentStats struct {
	// Received counts the incidents accepted (受理), a merged duplicate
	// once (as the incident it was merged into).
	Received int
	Closed   int
	// Completed counts the incidents completed (办结: verified); a close
	// after a reject or a cancel is not a completion.
	Completed int
	// CompletionRate is Completed over Received.
	CompletionRate     float64
	MedianHoursToClose *float64
	P90HoursToClose    *float64
	OverdueNow         int
	ByCategory         map[Category]CategoryStats
	Satisfaction       SatisfactionStats
}

// SatisfactionStats are the residents' ratings (回访) of the incidents in
// scope: how many were asked, how many answered, each answer, and the
// satisfaction rate (满意 + 基本满意 over answers; nil without answers).
type SatisfactionStats struct {
	Requested   int      `json:"requested"`
	Rated       int      `json:"rated"`
	Satisfied   int      `json:"satisfied"`
	Basic       int      `json:"basically_satisfied"`
	Unsatisfied int      `json:"unsatisfied"`
	Rate        *float64 `json:"rate"`
}

// CategoryStats are received, closed and completed counts of one
// category.
type CategoryStats struct {
	Received  int `json:"received"`
	Closed    int `json:"closed"`
	Completed int `json:"completed"`
}

// ParseDispatchConfig reads the configuration from its flag form: due as
// "urgent=2h,major=24h,minor=72h" and coNotify as
// "customs=red_white_council,dispute=mediation" (an empty string keeps the
// defaults; "none" clears the co-notification map). Entries not given keep
// their defaults.
func ParseDispatchConfig(due, coNotify string) (DispatchConfig, error) {
	cfg := DefaultDispatchConfig()
	for _, kv := range splitList(due) {
		k, v, _ := strings.Cut(kv, "=")
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if !slices.Contains(Severities, Severity(strings.TrimSpace(k))) || err != nil || d <= 0 {
			return cfg, fmt.Errorf("due %q: want severity=duration with severity one of %v, e.g. urgent=2h", kv, Severities)
		}
		cfg.DueIn[Severity(strings.TrimSpace(k))] = d
	}
	if strings.TrimSpace(coNotify) == "none" {
		cfg.CoNotify = map[Category]OrgKind{}
		return cfg, nil
	}
	for _, kv := range splitList(coNotify) {
		k, v, _ := strings.Cut(kv, "=")
		cat, kind := Category(strings.TrimSpace(k)), OrgKind(strings.TrimSpace(v))
		if !slices.Contains(Categories, cat) || !kind.Valid() {
			return cfg, fmt.Errorf("co-notify %q: want category=organization kind, categories %v, kinds %v", kv, Categories, OrgKinds)
		}
		cfg.CoNotify[cat] = kind
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
