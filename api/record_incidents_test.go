package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
)

// recordAnswer is an incident's record as the API shows it.
type recordAnswer struct {
	Number          string
	Status          string
	Category        string
	Grid            *struct{ Code, Match string }
	Assignee        *struct{ Role, Name string }
	DueAt           time.Time  `json:"due_at"`
	FirstDueAt      time.Time  `json:"first_due_at"`
	EscalationCount int        `json:"escalation_count"`
	MaxLevel        int        `json:"max_level"`
	CompletedAt     *time.Time `json:"completed_at"`
	OnTime          *bool      `json:"on_time"`
	OverdueSeconds  int64      `json:"overdue_seconds"`
	MissedDeadlines int        `json:"missed_deadlines"`
	OutcomeReason   string     `json:"outcome_reason"`
	SuspendedAt     *time.Time `json:"suspended_at"`
	SuspendedSecs   int64      `json:"suspended_seconds"`
	Overdue         bool
	PossibleDup     *struct{ Number, Href string } `json:"possible_duplicate_of"`
	MergedInto      *struct{ Number, Href string } `json:"merged_into"`
	Deadlines       []struct {
		Seq      int
		Level    int
		DueAt    time.Time  `json:"due_at"`
		SetBy    string     `json:"set_by"`
		Missed   bool       `json:"missed"`
		MissedAt *time.Time `json:"missed_at"`
		EndedAt  *time.Time `json:"ended_at"`
	}
	Contacts []struct {
		From     string
		Reporter struct{ Name, Phone string }
	}
	Events []struct {
		Action, Actor, Note string
		ActorRole           string `json:"actor_role"`
		Level               int
		Assignee            *struct {
			Role  string
			Level int
		}
	}
}

// step posts one action (with extra members) as role and returns the
// status code; the answer goes into out when given.
func (e *dispatchEnv) step(role geo.AccessRole, number, action string, extra map[string]any, out any) int {
	e.t.Helper()
	body := map[string]any{"action": action}
	for k, v := range extra {
		body[k] = v
	}
	return e.do(role, "POST", "/v1/incidents/"+number+"/events", body, out)
}

// completionRate is the rate a 考核 table computes from the incidents
// table: completed (办结) over accepted (受理), a merged duplicate not
// counted apart from the incident it was merged into.
func completionRate(t *testing.T, e *dispatchEnv) (accepted, completed int, rate float64) {
	t.Helper()
	err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status <> 'merged'),
		count(*) FILTER (WHERE completed_at IS NOT NULL) FROM incidents`).Scan(&accepted, &completed)
	if err != nil {
		t.Fatal(err)
	}
	return accepted, completed, float64(completed) / float64(accepted)
}

// TestRecord_gamingCannotRaiseCompletion replays the sequence:
// reject with no reason, then close. The reject is refused without a
// reason; with one, the close that follows is no completion, and neither
// is a cancel: the completion rate a 考核 table computes stays where it was,
// and /v1/stats says the same.
func TestRecord_gamingCannotRaiseCompletion(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	var numbers []string
	for i := range 10 {
		var inc incidentAnswer
		// 150 m apart or more, so that none is a possible duplicate of
		// another (not that a flag would change the figures).
		p := orb.Point{112.002 + 0.0015*float64(i%5), 27.003 + 0.004*float64(i/5)}
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(p, "safety", "minor"), &inc); code != 201 {
			t.Fatalf("intake: %d", code)
		}
		numbers = append(numbers, inc.Number)
	}
	for _, a := range []string{"accept", "resolve", "verify", "close"} {
		if code := e.step(geo.AccessDispatcher, numbers[0], a, nil, nil); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	_, _, before := completionRate(t, e)
	if before != 0.1 {
		t.Fatalf("rate before %v, want 0.1", before)
	}

	var p api.Problem
	if code := e.step(geo.AccessDispatcher, numbers[1], "reject", nil, &p); code != 400 || !strings.Contains(p.Detail, "note") {
		t.Errorf("reject without a reason: %d %q, want 400 naming note", code, p.Detail)
	}
	if code := e.step(geo.AccessDispatcher, numbers[1], "cancel", map[string]any{"note": "  "}, &p); code != 400 || !strings.Contains(p.Detail, "note") {
		t.Errorf("cancel without a reason: %d %q, want 400 naming note", code, p.Detail)
	}
	var rec recordAnswer
	if code := e.step(geo.AccessDispatcher, numbers[1], "reject", map[string]any{"note": "不属于本镇"}, &rec); code != 200 || rec.OutcomeReason != "不属于本镇" {
		t.Errorf("reject with a reason: %d %+v", code, rec)
	}
	if code := e.step(geo.AccessDispatcher, numbers[1], "close", nil, &rec); code != 200 || rec.Status != "closed" || rec.CompletedAt != nil || rec.OnTime != nil {
		t.Errorf("close after reject: %d %s completed %v on time %v, want closed, not completed", code, rec.Status, rec.CompletedAt, rec.OnTime)
	}
	if code := e.step(geo.AccessDispatcher, numbers[2], "cancel", map[string]any{"note": "来电人撤回"}, &rec); code != 200 || rec.Status != "cancelled" || rec.CompletedAt != nil {
		t.Errorf("cancel: %d %+v", code, rec)
	}

	accepted, completed, after := completionRate(t, e)
	if after != before || accepted != 10 || completed != 1 {
		t.Errorf("after reject+close and cancel: %d/%d = %v, want 1/10 = %v", completed, accepted, after, before)
	}
	var st struct {
		Received, Closed, Completed int
		Rate                        float64 `json:"completion_rate"`
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &st)
	if st.Received != accepted || st.Completed != completed || st.Rate != after || st.Closed != 2 {
		t.Errorf("stats %+v, want received %d, completed %d, rate %v, closed 2", st, accepted, completed, after)
	}
}

// TestRecord_escalatedTwiceKeepsBothMissedDeadlines: an urgent incident
// (2 h) the escalator takes up twice, a minute late each time, shows both
// missed deadlines with their levels, its escalation count and the time
// past them; verified later it is not on time, though the third deadline
// was met.
func TestRecord_escalatedTwiceKeepsBothMissedDeadlines(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	ctx := context.Background()
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	var inc recordAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "urgent"), &inc)
	first := t0.Add(2 * time.Hour)
	escalate := func(now time.Time) {
		t.Helper()
		e.setNow(now)
		n, err := e.db.EscalateOverdue(ctx, now, 10, func(i *geo.Incident) (geo.IncidentChange, bool) {
			return d.Escalate(e.snap, i, now, "")
		})
		if err != nil || n != 1 {
			t.Fatalf("escalating at %v: %d, %v", now, n, err)
		}
	}
	at1 := first.Add(time.Minute)             // level 1, due at1+2h
	at2 := at1.Add(2*time.Hour + time.Minute) // level 2, due at2+2h
	escalate(at1)
	escalate(at2)
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &inc)
	if inc.EscalationCount != 2 || inc.MaxLevel != 2 || !inc.FirstDueAt.Equal(first) || inc.MissedDeadlines != 2 ||
		inc.OverdueSeconds != 120 || inc.Overdue {
		t.Errorf("escalations %d, max level %d, first due %v, missed %d, overdue %d s (now %v): want 2, 2, %v, 2, 120 s, not overdue now",
			inc.EscalationCount, inc.MaxLevel, inc.FirstDueAt, inc.MissedDeadlines, inc.OverdueSeconds, inc.Overdue, first)
	}
	want := []struct {
		level    int
		due      time.Time
		setBy    string
		missedAt time.Time
	}{{0, first, "receive", at1}, {1, at1.Add(2 * time.Hour), "escalate", at2}, {2, at2.Add(2 * time.Hour), "escalate", time.Time{}}}
	if len(inc.Deadlines) != len(want) {
		t.Fatalf("deadlines %+v, want %d", inc.Deadlines, len(want))
	}
	for i, w := range want {
		got := inc.Deadlines[i]
		missed := got.MissedAt != nil && got.MissedAt.Equal(w.missedAt)
		if got.Seq != i+1 || got.Level != w.level || !got.DueAt.Equal(w.due) || got.SetBy != w.setBy || got.Missed != !w.missedAt.IsZero() ||
			(!w.missedAt.IsZero() && !missed) || (w.missedAt.IsZero() && got.MissedAt != nil) {
			t.Errorf("deadline %d: %+v, want level %d due %v set by %s missed at %v", i+1, got, w.level, w.due, w.setBy, w.missedAt)
		}
	}
	// The events of the escalations say the level they took it to.
	var levels []int
	for _, ev := range inc.Events {
		if ev.Action == "escalate" {
			levels = append(levels, ev.Level)
			if ev.ActorRole != geo.SystemRole || ev.Assignee == nil || ev.Assignee.Level != ev.Level {
				t.Errorf("escalation event %+v", ev)
			}
		}
	}
	if len(levels) != 2 || levels[0] != 1 || levels[1] != 2 {
		t.Errorf("escalation events at levels %v, want [1 2]", levels)
	}

	// Done within the third deadline: the record still says late, and
	// the time past deadlines stays what it was.
	e.setNow(at2.Add(time.Hour))
	for _, a := range []string{"accept", "resolve", "verify"} {
		if code := e.step(geo.AccessDispatcher, inc.Number, a, nil, &inc); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if inc.CompletedAt == nil || inc.OnTime == nil || *inc.OnTime || inc.OverdueSeconds != 120 || inc.MissedDeadlines != 2 {
		t.Errorf("verified: completed %v on time %v overdue %d s missed %d, want completed late, 120 s, 2", inc.CompletedAt, inc.OnTime, inc.OverdueSeconds, inc.MissedDeadlines)
	}
	// As the incidents table says it, for the figures.
	var count, maxLevel int
	var overdue int64
	var onTime bool
	e.db.Pool.QueryRow(ctx, `SELECT escalation_count, max_level, overdue_seconds, on_time FROM incidents WHERE number = $1`, inc.Number).
		Scan(&count, &maxLevel, &overdue, &onTime)
	var missed int
	e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_deadlines d JOIN incidents i ON i.id = d.incident_id
		WHERE i.number = $1 AND d.missed_at IS NOT NULL`, inc.Number).Scan(&missed)
	if count != 2 || maxLevel != 2 || overdue != 120 || onTime || missed != 2 {
		t.Errorf("table: %d escalations, level %d, %d s overdue, on time %v, %d missed", count, maxLevel, overdue, onTime, missed)
	}
}

// TestRecord_eventsKeepRoleAndLevelAtTheTime: each event says who acted in
// which role and at which level the incident was then — intake by a
// dispatcher, acceptance by the grid leader signed in, a reassignment to
// the grid's deputy and one to someone who holds no role (a designee, not
// a "leader"), a manual escalation before the due time (which says so, not
// "overdue since" a time to come), a correction by an admin — and later
// steps do not rewrite earlier ones.
func TestRecord_eventsKeepRoleAndLevelAtTheTime(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	var inc recordAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "major"), &inc)
	leader := e.linkFor(t, "网格长1")
	if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "accept"}, nil, bearer(leader.Token)...); code != 200 {
		t.Fatalf("the leader accepting: %d", code)
	}
	steps := []struct {
		role   geo.AccessRole
		action string
		extra  map[string]any
	}{
		{geo.AccessDispatcher, "reassign", map[string]any{"assignee": map[string]string{"name": "副网格长1", "phone": "13800000001"}}},
		{geo.AccessDispatcher, "reassign", map[string]any{"assignee": map[string]string{"name": "驻村干部王五", "phone": "13711112222"}}},
		{geo.AccessDispatcher, "escalate", nil},
		{geo.AccessAdmin, "correct", map[string]any{"category": "dispute", "note": "实为邻里纠纷"}},
	}
	for _, s := range steps {
		if code := e.step(s.role, inc.Number, s.action, s.extra, &inc); code != 200 {
			t.Fatalf("%s: %d", s.action, code)
		}
	}
	type want struct {
		action, actorRole string
		level             int
		assigneeRole      string // "" when the event hands it to nobody
	}
	wants := []want{
		{"receive", "dispatcher", 0, ""},
		{"dispatch", geo.SystemRole, 0, "leader"},
		{"accept", "leader", 0, ""},
		{"reassign", "dispatcher", 0, "deputy"},
		{"reassign", "dispatcher", 0, "designee"},
		{"escalate", "dispatcher", 1, "liaison_leader"},
		{"correct", "admin", 1, ""},
	}
	if len(inc.Events) != len(wants) {
		t.Fatalf("%d events, want %d: %+v", len(inc.Events), len(wants), inc.Events)
	}
	for i, w := range wants {
		ev := inc.Events[i]
		role := ""
		if ev.Assignee != nil {
			role = ev.Assignee.Role
			if ev.Assignee.Level != ev.Level {
				t.Errorf("%s: assignee at level %d, event at %d", ev.Action, ev.Assignee.Level, ev.Level)
			}
		}
		if ev.Action != w.action || ev.ActorRole != w.actorRole || ev.Level != w.level || role != w.assigneeRole {
			t.Errorf("event %d: %s by %s (%s) at level %d to %q; want %s by %s at %d to %q",
				i, ev.Action, ev.Actor, ev.ActorRole, ev.Level, role, w.action, w.actorRole, w.level, w.assigneeRole)
		}
	}
	if esc := inc.Events[5]; strings.Contains(esc.Note, "overdue") || !strings.Contains(esc.Note, "before its due time") {
		t.Errorf("a manual escalation before the due time notes %q", esc.Note)
	}
	if c := inc.Events[6]; !strings.Contains(c.Note, "实为邻里纠纷") || !strings.Contains(c.Note, "safety → dispute") || inc.Category != "dispute" {
		t.Errorf("correction %+v, category %s", c, inc.Category)
	}
	// The roles as the table keeps them, for whoever reads it directly.
	rows, err := e.db.Pool.Query(context.Background(), `SELECT e.action, e.actor_role, e.level FROM incident_events e JOIN incidents i ON i.id = e.incident_id
		WHERE i.number = $1 ORDER BY e.id`, inc.Number)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var action, role string
		var level int
		if err := rows.Scan(&action, &role, &level); err != nil {
			t.Fatal(err)
		}
		if w := wants[i]; action != w.action || role != w.actorRole || level != w.level {
			t.Errorf("row %d: %s %s %d, want %+v", i, action, role, level, w)
		}
		i++
	}
}

// TestRecord_correctionReroutes: a location corrected to another village's
// grid routes the incident there — grid, assignee (told through the
// outbox, as is the one it leaves), co-notified organizations, a fresh
// deadline — with the reason on a correct event. A correction needs a
// reason and something to correct, and is a dispatcher's.
func TestRecord_correctionReroutes(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	var inc recordAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &inc)
	e.setNow(t0.Add(time.Hour))
	var p api.Problem
	if code := e.step(geo.AccessDispatcher, inc.Number, "correct", map[string]any{"lon": centre(5)[0], "lat": centre(5)[1]}, &p); code != 400 || !strings.Contains(p.Detail, "note") {
		t.Errorf("without a reason: %d %q", code, p.Detail)
	}
	if code := e.step(geo.AccessDispatcher, inc.Number, "correct", map[string]any{"note": "地址录错"}, &p); code != 400 || !strings.Contains(p.Detail, "category") {
		t.Errorf("nothing to correct: %d %q", code, p.Detail)
	}
	if code := e.step(geo.AccessViewer, inc.Number, "correct", map[string]any{"note": "x", "category": "other"}, &p); code != 403 {
		t.Errorf("a viewer correcting: %d", code)
	}
	if code := e.step(geo.AccessDispatcher, inc.Number, "correct", map[string]any{"note": "地址录错，应为2村", "lon": centre(5)[0], "lat": centre(5)[1]}, &inc); code != 200 {
		t.Fatalf("correct: %d", code)
	}
	last := inc.Events[len(inc.Events)-1]
	if inc.Grid == nil || inc.Grid.Code != "431321101202002" || inc.Assignee == nil || inc.Assignee.Name != "网格长5" || inc.Status != "dispatched" ||
		last.Action != "correct" || !strings.Contains(last.Note, "431321101201001 → 431321101202002") || !strings.Contains(last.Note, "地址录错") {
		t.Errorf("after the correction: grid %+v assignee %+v status %s, last event %+v", inc.Grid, inc.Assignee, inc.Status, last)
	}
	if n := len(inc.Deadlines); n != 2 || inc.Deadlines[1].SetBy != "correct" || !inc.Deadlines[1].DueAt.Equal(t0.Add(time.Hour+72*time.Hour)) ||
		inc.Deadlines[0].EndedAt == nil || inc.Deadlines[0].Missed {
		t.Errorf("deadlines %+v, want the first ended (met) and a fresh one set by the correction", inc.Deadlines)
	}
	var co struct {
		CoNotified []struct{ Name string } `json:"co_notified"`
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &co)
	if len(co.CoNotified) != 1 || !strings.HasPrefix(co.CoNotified[0].Name, "2村") {
		t.Errorf("co-notified %+v, want village 2's mediation committee", co.CoNotified)
	}
	e.deliver(t)
	var to []string
	for _, m := range e.messages(t, inc.Number) {
		if m.Kind == string(geo.MsgReassigned) && m.Channel == "短信" {
			to = append(to, m.Recipient.Phone)
		}
	}
	if strings.Join(to, ",") != "13900000005,13900000001" && strings.Join(to, ",") != "13900000001,13900000005" {
		t.Errorf("reassignment SMS to %v, want the new leader and the one it left", to)
	}
}

// TestRecord_suspensionStopsTheClock: suspended 70 hours, a 72-hour case
// is not escalated past its first due time, its due time moves by 70 hours
// when resumed, and done at hour 135 it is on time; suspension needs a
// reason.
func TestRecord_suspensionStopsTheClock(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	ctx := context.Background()
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	escalate := func() int {
		t.Helper()
		now := e.clock()
		n, err := e.db.EscalateOverdue(ctx, now, 10, func(i *geo.Incident) (geo.IncidentChange, bool) { return d.Escalate(e.snap, i, now, "") })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var inc recordAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &inc)
	e.step(geo.AccessDispatcher, inc.Number, "accept", nil, nil)
	e.setNow(t0.Add(10 * time.Hour))
	var p api.Problem
	if code := e.step(geo.AccessDispatcher, inc.Number, "suspend", nil, &p); code != 400 || !strings.Contains(p.Detail, "note") {
		t.Errorf("suspend without a reason: %d %q", code, p.Detail)
	}
	if code := e.step(geo.AccessDispatcher, inc.Number, "suspend", map[string]any{"note": "等待司法鉴定结果"}, &inc); code != 200 || inc.Status != "suspended" || inc.SuspendedAt == nil {
		t.Fatalf("suspend: %d %+v", code, inc)
	}
	// Past the first due time (hour 72) while suspended: nothing happens.
	e.setNow(t0.Add(80 * time.Hour))
	if n := escalate(); n != 0 {
		t.Errorf("escalated %d suspended incidents", n)
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &inc)
	if inc.Overdue || inc.OverdueSeconds != 0 || inc.MissedDeadlines != 0 {
		t.Errorf("suspended at hour 80: overdue %v, %d s, %d missed", inc.Overdue, inc.OverdueSeconds, inc.MissedDeadlines)
	}
	if code := e.step(geo.AccessDispatcher, inc.Number, "resume", nil, &inc); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	if inc.Status != "accepted" || !inc.DueAt.Equal(t0.Add(142*time.Hour)) || inc.SuspendedSecs != 70*3600 || inc.SuspendedAt != nil ||
		!inc.FirstDueAt.Equal(t0.Add(72*time.Hour)) || len(inc.Deadlines) != 1 || !inc.Deadlines[0].DueAt.Equal(t0.Add(142*time.Hour)) {
		t.Errorf("resumed: %s due %v, suspended %d s, first due %v, deadlines %+v; want accepted, due hour 142, 252000 s, first due hour 72",
			inc.Status, inc.DueAt, inc.SuspendedSecs, inc.FirstDueAt, inc.Deadlines)
	}
	e.setNow(t0.Add(130 * time.Hour))
	if n := escalate(); n != 0 {
		t.Errorf("escalated at hour 130, before the moved due time")
	}
	e.setNow(t0.Add(135 * time.Hour))
	for _, a := range []string{"resolve", "verify"} {
		e.step(geo.AccessDispatcher, inc.Number, a, nil, &inc)
	}
	if inc.OnTime == nil || !*inc.OnTime || inc.MissedDeadlines != 0 || inc.OverdueSeconds != 0 {
		t.Errorf("completed at hour 135 after 70 h suspended: on time %v, missed %d, overdue %d s; want on time", inc.OnTime, inc.MissedDeadlines, inc.OverdueSeconds)
	}
	// The same case without the suspension would have been late: the
	// flag is not simply true.
	var late recordAnswer
	e.setNow(t0)
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(5), "dispute", "minor"), &late)
	e.setNow(t0.Add(135 * time.Hour))
	for _, a := range []string{"accept", "resolve", "verify"} {
		e.step(geo.AccessDispatcher, late.Number, a, nil, &late)
	}
	if late.OnTime == nil || *late.OnTime || late.OverdueSeconds != 63*3600 {
		t.Errorf("not suspended: on time %v, overdue %d s; want late by 63 h", late.OnTime, late.OverdueSeconds)
	}
}

// TestRecord_duplicateFlaggedAndMerged: a second call about the same
// dispute, 50 m away an hour later, is flagged with a link to the first;
// another category, 300 m away or after the window is not. Merged, the
// duplicate ends as merged, its reporter is kept on the first, and the
// figures count one.
func TestRecord_duplicateFlaggedAndMerged(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	// 0.0005° of longitude at 27°N is about 50 m, 0.003° about 300 m.
	at := func(dLon float64) orb.Point { return orb.Point{centre(1)[0] + dLon, centre(1)[1]} }
	var first, dup recordAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "dispute", "minor"), &first)
	if first.PossibleDup != nil {
		t.Errorf("the first call is flagged: %+v", first.PossibleDup)
	}
	e.setNow(t0.Add(time.Hour))
	second := newIncident(at(0.0005), "dispute", "minor")
	second["reporter_name"], second["reporter_phone"] = "王大爷", "13612345678"
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", second, &dup); code != 201 || dup.PossibleDup == nil ||
		dup.PossibleDup.Number != first.Number || dup.PossibleDup.Href != "/v1/incidents/"+first.Number {
		t.Fatalf("the second call: %d, flagged %+v, want a link to %s", code, dup.PossibleDup, first.Number)
	}
	for _, c := range []struct {
		name     string
		at       time.Duration
		p        orb.Point
		category string
	}{
		{"another category", time.Hour, at(0.0005), "environment"},
		{"300 m away", time.Hour, at(0.003), "dispute"},
		{"after 72 h", 73 * time.Hour, at(0.0005), "dispute"},
	} {
		e.setNow(t0.Add(c.at))
		var other recordAnswer
		e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(c.p, c.category, "minor"), &other)
		if other.PossibleDup != nil && other.PossibleDup.Number == first.Number {
			t.Errorf("%s: flagged as a duplicate of %s", c.name, first.Number)
		}
	}
	before, _, _ := completionRate(t, e)

	e.setNow(t0.Add(2 * time.Hour))
	if code := e.step(geo.AccessDispatcher, dup.Number, "merge", map[string]any{"into": dup.Number}, nil); code != 400 {
		t.Errorf("merged into itself: %d, want 400", code)
	}
	if code := e.step(geo.AccessDispatcher, dup.Number, "merge", map[string]any{"note": "同一纠纷"}, &dup); code != 200 ||
		dup.Status != "merged" || dup.MergedInto == nil || dup.MergedInto.Number != first.Number {
		t.Fatalf("merge: %d %s into %+v", code, dup.Status, dup.MergedInto)
	}
	if code := e.step(geo.AccessDispatcher, dup.Number, "accept", nil, nil); code != 409 {
		t.Errorf("accepting a merged incident: %d, want 409", code)
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+first.Number, nil, &first)
	last := first.Events[len(first.Events)-1]
	if len(first.Contacts) != 1 || first.Contacts[0].From != dup.Number || first.Contacts[0].Reporter.Name != "王大爷" ||
		first.Contacts[0].Reporter.Phone != "13612345678" || last.Action != "merge" || !strings.Contains(last.Note, dup.Number) {
		t.Errorf("the first after the merge: contacts %+v, last event %+v", first.Contacts, last)
	}
	after, _, _ := completionRate(t, e)
	var st struct{ Received int }
	e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &st)
	if before != 5 || after != 4 || st.Received != after {
		t.Errorf("accepted %d before the merge, %d after, stats %d: want 5, then 4 in the table and in stats", before, after, st.Received)
	}
}

// TestRecord_missedAtTheTopIsKept: an incident already with the town duty
// desk cannot go higher; when its deadline passes, the escalator still
// puts the miss on the record, and the time past it keeps counting.
func TestRecord_missedAtTheTopIsKept(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	var inc recordAnswer
	// Grid 004 has nobody and village 2 no liaison leader: the duty desk.
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(4), "safety", "urgent"), &inc)
	if inc.Assignee == nil || inc.Assignee.Role != "duty_desk" || inc.MaxLevel != 2 {
		t.Fatalf("routed to %+v at level %d, want the duty desk", inc.Assignee, inc.MaxLevel)
	}
	now := t0.Add(3 * time.Hour)
	e.setNow(now)
	n, err := e.db.EscalateOverdue(context.Background(), now, 10, func(i *geo.Incident) (geo.IncidentChange, bool) { return d.Escalate(e.snap, i, now, "") })
	if err != nil || n != 0 {
		t.Fatalf("escalated %d past the top (%v)", n, err)
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &inc)
	if len(inc.Deadlines) != 1 || inc.Deadlines[0].MissedAt == nil || !inc.Deadlines[0].MissedAt.Equal(now) || !inc.Overdue ||
		inc.MissedDeadlines != 1 || inc.OverdueSeconds != 3600 || inc.EscalationCount != 0 {
		t.Errorf("at hour 3: deadlines %+v, overdue %v %d s, missed %d, escalations %d; want one missed at hour 3, 3600 s",
			inc.Deadlines, inc.Overdue, inc.OverdueSeconds, inc.MissedDeadlines, inc.EscalationCount)
	}
}
