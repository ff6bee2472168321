package geo

import (
	"fmt"
	"slices"
	"strings"
	"time"
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

// Sources.
var Sources = []Source{"hotline_12345", "wechat", "walk_in", "patrol", "other"}

// Status is where an incident is in the closed loop.
type Status string

// Statuses of the closed loop: received → dispatched → accepted →
// in_progress → resolved → verified → closed, plus rejected and reopened.
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
)

// Statuses lists every status.
var Statuses = []Status{StReceived, StDispatched, StAccepted, StInProgress, StResolved, StVerified, StClosed, StRejected, StReopened}

// Open reports whether the incident still waits for someone to act: it
// counts as overdue past its due time. Resolved incidents wait only for
// verification and are not overdue.
func (s Status) Open() bool {
	switch s {
	case StReceived, StDispatched, StAccepted, StInProgress, StRejected, StReopened:
		return true
	}
	return false
}

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
)

// UserActions are the actions a caller may post.
var UserActions = []Action{ActAccept, ActStart, ActResolve, ActVerify, ActClose, ActReject, ActReopen, ActReassign, ActEscalate, ActComment,
	ActRequestReassign, ActRequestEscalate}

// transitions maps an action to the statuses it may be taken from and the
// status it leads to. Reassign and escalate hand the incident to someone
// else, who must accept it again.
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
}

// DefaultDispatchConfig returns the town's practice: urgent 2 h, major
// 24 h, minor 72 h; customs → 红白喜事理事会, environment → 爱卫会, left-behind
// children → 关心留守儿童工作委员会, disputes → the mediation committee.
func DefaultDispatchConfig() DispatchConfig {
	return DispatchConfig{
		DueIn: map[Severity]time.Duration{SevUrgent: 2 * time.Hour, SevMajor: 24 * time.Hour, SevMinor: 72 * time.Hour},
		CoNotify: map[Category]OrgKind{CatCustoms: OrgRedWhiteCouncil, CatEnvironment: OrgHealthCommittee,
			CatLeftBehindChildren: OrgLeftBehindChildren, CatDispute: OrgMediation},
	}
}

// Assignee is who an incident is routed to.
type Assignee struct {
	// Role is leader, deputy, liaison_leader or duty_desk.
	Role  Role
	Level Level
	Name  string
	Phone string
	// Reason says why this person: "leader", "leader on leave → deputy", …
	Reason string
}

// Assign picks who takes an incident at level for grid g (nil when outside
// coverage) at time at: the grid's leader unless on leave, then the deputy
// unless on leave, then the village liaison leader, then the town duty
// desk; escalation starts the search at a higher level. ok is false when
// nobody at all is on duty (not even the duty desk).
func (s *Snapshot) Assign(g *GridRecord, level Level, at time.Time) (a Assignee, ok bool) {
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
		if v, found := s.Village(g.VillageCode); found {
			switch p := v.LiaisonLeader; {
			case p == nil:
				skipped = append(skipped, "no village liaison leader")
			case p.OnLeave(at):
				skipped = append(skipped, "village liaison leader on leave")
			default:
				return Assignee{Role: RoleLiaisonLeader, Level: LevelVillage, Name: p.Name, Phone: p.Phone, Reason: reason(skipped, "village liaison leader")}, true
			}
		}
	}
	if g == nil {
		skipped = append(skipped, "outside coverage")
	}
	if p := s.Town.DutyDesk; p != nil {
		return Assignee{Role: RoleDutyDesk, Level: LevelTown, Name: p.Name, Phone: p.Phone, Reason: reason(skipped, "town duty desk")}, true
	}
	return Assignee{}, false
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
// category to.
func (cfg DispatchConfig) CoNotified(g *GridRecord, c Category) []OrganizationRef {
	kind, ok := cfg.CoNotify[c]
	if !ok || g == nil {
		return nil
	}
	var out []OrganizationRef
	for _, o := range g.Organizations {
		if o.Kind == kind {
			out = append(out, o)
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
	Match       string
	DistanceM   float64
	Generation  int64
	Assignee    Assignee
	CoNotified  []OrganizationRef
	ReportedAt  time.Time
	ReceivedAt  time.Time
	DueAt       time.Time
	ResolvedAt  time.Time
	ClosedAt    time.Time
	CreatedBy   string
	Events      []IncidentEvent
}

// Overdue reports whether the incident is open past its due time at now.
func (inc *Incident) Overdue(now time.Time) bool { return inc.Status.Open() && now.After(inc.DueAt) }

// IncidentEvent is one entry of an incident's history.
type IncidentEvent struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   Action
	From     Status // empty for the first event
	To       Status
	Note     string
	Assignee *Assignee // set when the event handed the incident to someone
}

// IncidentChange is what an event does to an incident: decided by the
// caller (api) from the incident as locked in the store's transaction.
type IncidentChange struct {
	Action   Action
	Note     string
	To       Status
	Assignee *Assignee // new assignee (reassign, escalate)
	DueAt    time.Time // new due time; zero keeps it
	// Messages are written to the outbox with the change, in its
	// transaction (see Dispatcher.Messages).
	Messages []OutboxMessage
	// RatingToken, when set, opens a rating request (回访) for the
	// reporter with the change; the store keeps only its hash.
	RatingToken string
}

// IncidentFilter selects incidents for lists and statistics. Zero fields do
// not filter.
type IncidentFilter struct {
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
	Received           int
	Closed             int
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

// CategoryStats are received and closed counts of one category.
type CategoryStats struct {
	Received int `json:"received"`
	Closed   int `json:"closed"`
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
