package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestMain sets gin's process-wide mode once, before any server is built
// (api.New leaves it to the program), and runs the tests against a
// throwaway PostgreSQL cluster.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	pgtest.Main(m)
}

func square(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// dispatchTown is a town of two villages, three grids each, 1 km squares,
// staffed to exercise every routing rule at t0:
//
//	grid 001: leader, deputy                      → leader
//	grid 002: leader on leave, deputy             → deputy
//	grid 003: leader and deputy on leave          → village liaison leader
//	grid 004: nobody (village 2 has no liaison)   → town duty desk
//	grid 005: leader, deputy
//	grid 006: leader, deputy
//
// Every grid has the four organizations of its village.
var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func dispatchTown() *geo.TownData {
	onLeave := []geo.Period{{From: t0.Add(-24 * time.Hour), To: t0.Add(30 * 24 * time.Hour)}}
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.03, 27.02),
		Districts: []geo.District{{Code: "01", Name: "一片"}}, DutyDesk: &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}}}
	for v := 0; v < 2; v++ {
		vcode := fmt.Sprintf("43132110120%d", v+1)
		vil := geo.Village{Code: vcode, Name: fmt.Sprintf("%d村", v+1), DistrictCode: "01", Outline: square(112, 27+0.01*float64(v), 112.03, 27.01+0.01*float64(v))}
		if v == 0 {
			vil.LiaisonLeader = &geo.Contact{Name: "联村组长甲", Phone: "13900000100"}
		}
		td.Villages = append(td.Villages, vil)
		for g := 0; g < 3; g++ {
			n := v*3 + g + 1
			rec := geo.GridRecord{Grid: geo.Grid{Code: fmt.Sprintf("%s%03d", vcode, g+1), Name: fmt.Sprintf("网格%d", n), VillageCode: vcode,
				Households: 60, Population: 180, Geometry: square(112+0.01*float64(g), 27+0.01*float64(v), 112.01+0.01*float64(g), 27.01+0.01*float64(v))},
				Leader: &geo.Contact{Name: fmt.Sprintf("网格长%d", n), Phone: fmt.Sprintf("1390000%04d", n)},
				Deputy: &geo.Contact{Name: fmt.Sprintf("副网格长%d", n), Phone: fmt.Sprintf("1380000%04d", n)}}
			for _, k := range []geo.OrgKind{geo.OrgRedWhiteCouncil, geo.OrgHealthCommittee, geo.OrgLeftBehindChildren, geo.OrgMediation} {
				rec.Organizations = append(rec.Organizations, geo.OrganizationRef{Kind: k, Name: vil.Name + string(k)})
			}
			switch n {
			case 2:
				rec.Leader.Leave = onLeave
			case 3:
				rec.Leader.Leave, rec.Deputy.Leave = onLeave, onLeave
			case 4:
				rec.Leader, rec.Deputy = nil, nil
			}
			td.Grids = append(td.Grids, rec)
		}
	}
	return td
}

// centre returns the centre of grid n (1-based) of dispatchTown.
func centre(n int) orb.Point {
	v, g := (n-1)/3, (n-1)%3
	return orb.Point{112.005 + 0.01*float64(g), 27.005 + 0.01*float64(v)}
}

// dispatchEnv is a server over a town in a fresh database, with every
// store, a clock the test moves (the database's too) and one token per
// role. The town is imported, and its people take office, at importedAt, a
// week before t0; the clock then stands at t0, when dispatchTown's leave
// periods are in force. What the tests see does not depend on the day
// they run.
type dispatchEnv struct {
	t       testing.TB
	db      *pgstore.DB
	srv     *api.Server
	reg     *geo.Registry
	snap    *geo.Snapshot
	now     atomic.Pointer[time.Time]
	tokens  *geo.TokenSet
	secrets map[geo.AccessRole]string
	router  routers.Router
}

var importedAt = t0.Add(-7 * 24 * time.Hour)

func newDispatchEnv(t testing.TB, td *geo.TownData) *dispatchEnv {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	e := &dispatchEnv{t: t, db: db, reg: &geo.Registry{}, tokens: &geo.TokenSet{},
		secrets: map[geo.AccessRole]string{}, router: openAPIRouter(t)}
	db.Now = e.clock
	e.setNow(importedAt)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	e.setNow(t0)
	if err := e.reload(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := map[[32]byte]geo.Token{}
	for _, role := range geo.AccessRoles {
		secret, hash := geo.NewTokenSecret()
		tokens[hash] = geo.Token{Name: string(role) + "-1", Role: role, Hash: hash}
		e.secrets[role] = secret
	}
	e.tokens.Store(tokens)
	e.serve(api.Config{})
	return e
}

// serve (re)builds the server from cfg plus what every env gives it: the
// tokens, the clock, every store, and (unless cfg has one) e.reload.
func (e *dispatchEnv) serve(cfg api.Config) {
	cfg.Tokens, cfg.Now = e.tokens, e.clock
	cfg.Incidents, cfg.People, cfg.Organizations, cfg.History = e.db, e.db, e.db, e.db
	if cfg.Reload == nil {
		cfg.Reload = e.reload
	}
	e.srv = api.New(e.reg, e.db, cfg, nil)
}

// reload builds the snapshot with the people in office at the env's clock,
// as the server's own reload does at the wall clock.
func (e *dispatchEnv) reload(ctx context.Context) error {
	now := e.clock()
	td, gen, err := e.db.LoadArea(ctx, 0, now)
	if err != nil {
		return err
	}
	snap, err := geo.NewSnapshot(gen, td, now)
	if err != nil {
		return err
	}
	e.snap = snap
	e.reg.Store(snap)
	return nil
}

func (e *dispatchEnv) setNow(t time.Time) { e.now.Store(&t) }

func (e *dispatchEnv) clock() time.Time { return *e.now.Load() }

// do sends a request as role ("" for anonymous) and decodes a JSON answer.
func (e *dispatchEnv) do(role geo.AccessRole, method, target string, body any, out any, header ...string) int {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Content-Type", "application/json")
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, target, err, rec.Body)
		}
	}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != api.ProblemContentType {
		e.t.Errorf("%s %s: %d is not problem+json", method, target, rec.Code)
	}
	return rec.Code
}

type incidentAnswer struct {
	Number   string
	Status   string
	Grid     *struct{ Code, Match string }
	Assignee *struct {
		Role, Name, Phone, Reason string
		Level                     int
	}
	CoNotified []struct{ Kind, Name string } `json:"co_notified"`
	Reporter   *struct{ Name, Phone string }
	DueAt      time.Time `json:"due_at"`
	Overdue    bool
	Events     []struct{ Action, From, To, Actor string }
}

func newIncident(p orb.Point, category, severity string) map[string]any {
	return map[string]any{"lon": p[0], "lat": p[1], "category": category, "severity": severity,
		"description": "门口垃圾堆放", "reporter_name": "李女士", "reporter_phone": "13912345678", "source": "hotline_12345"}
}

func TestIncidents_routingRules(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	gcj := chinacrs.FromWGS84(chinacrs.GCJ02, centre(1))
	tests := []struct {
		name                string
		body                map[string]any
		wantGrid, wantMatch string
		wantRole            geo.Role
		wantName            string
		wantReason          string
	}{
		{"leader", newIncident(centre(1), "safety", "minor"), "431321101201001", "inside", geo.RoleLeader, "网格长1", "leader"},
		{"leader on leave → deputy", newIncident(centre(2), "safety", "minor"), "431321101201002", "inside", geo.RoleDeputy, "副网格长2", "leader on leave"},
		{"both on leave → village liaison leader", newIncident(centre(3), "safety", "minor"), "431321101201003", "inside", geo.RoleLiaisonLeader, "联村组长甲", "deputy on leave"},
		{"nobody, no liaison → duty desk", newIncident(centre(4), "safety", "minor"), "431321101202001", "inside", geo.RoleDutyDesk, "镇值班室", "no village liaison leader"},
		{"outside coverage → duty desk", newIncident(orb.Point{112.2, 27.2}, "safety", "minor"), "", "outside", geo.RoleDutyDesk, "镇值班室", "outside coverage"},
		{"within 200 m → nearest grid", newIncident(orb.Point{112.005, 26.999}, "safety", "minor"), "431321101201001", "nearest", geo.RoleLeader, "网格长1", ""},
		{"by grid code", map[string]any{"grid": "431321101202002", "category": "other", "severity": "minor", "description": "x", "source": "walk_in"}, "431321101202002", "code", geo.RoleLeader, "网格长5", ""},
		{"picked on AMap (GCJ-02)", map[string]any{"lon": gcj[0], "lat": gcj[1], "crs": "gcj02", "category": "other", "severity": "minor", "description": "x", "source": "wechat"}, "431321101201001", "inside", geo.RoleLeader, "网格长1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got incidentAnswer
			if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", tt.body, &got); code != 201 {
				t.Fatalf("status %d: %+v", code, got)
			}
			gridCode := ""
			if got.Grid != nil {
				gridCode = got.Grid.Code
			}
			if gridCode != tt.wantGrid || got.Grid.Match != tt.wantMatch || got.Status != "dispatched" {
				t.Errorf("grid %q match %q status %s, want %q %q dispatched", gridCode, got.Grid.Match, got.Status, tt.wantGrid, tt.wantMatch)
			}
			if got.Assignee == nil || geo.Role(got.Assignee.Role) != tt.wantRole || got.Assignee.Name != tt.wantName ||
				!strings.Contains(got.Assignee.Reason, tt.wantReason) || got.Assignee.Phone == "" {
				t.Errorf("assignee %+v, want %s %s (%s)", got.Assignee, tt.wantRole, tt.wantName, tt.wantReason)
			}
		})
	}
}

func TestIncidents_coNotifyAndDue(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	tests := []struct {
		category, severity string
		wantKind           geo.OrgKind
		due                time.Duration
	}{
		{"customs", "minor", geo.OrgRedWhiteCouncil, 72 * time.Hour},
		{"environment", "major", geo.OrgHealthCommittee, 24 * time.Hour},
		{"left_behind_children", "urgent", geo.OrgLeftBehindChildren, 2 * time.Hour},
		{"dispute", "minor", geo.OrgMediation, 72 * time.Hour},
		{"safety", "urgent", "", 2 * time.Hour},
		{"livelihood", "major", "", 24 * time.Hour},
	}
	for _, tt := range tests {
		var got incidentAnswer
		e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), tt.category, tt.severity), &got)
		if tt.wantKind == "" && len(got.CoNotified) != 0 || tt.wantKind != "" && (len(got.CoNotified) != 1 || geo.OrgKind(got.CoNotified[0].Kind) != tt.wantKind) {
			t.Errorf("%s: co-notified %+v, want %q", tt.category, got.CoNotified, tt.wantKind)
		}
		if !got.DueAt.Equal(t0.Add(tt.due)) {
			t.Errorf("%s %s: due %v, want %v", tt.category, tt.severity, got.DueAt, t0.Add(tt.due))
		}
	}
}

func TestIncidents_badRequests(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	ok := newIncident(centre(1), "safety", "minor")
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		body any
		want string
	}{
		{"no location", with("lon", nil), "lon"},
		{"lon out of range", with("lon", 200.0), "lon"},
		{"bad category", with("category", "noise"), "category"},
		{"bad severity", with("severity", "high"), "severity"},
		{"bad source", with("source", "fax"), "source"},
		{"no description", with("description", ""), "description"},
		{"bad phone", with("reporter_phone", "12345"), "reporter_phone"},
		{"future report", with("reported_at", t0.Add(time.Hour).Format(time.RFC3339)), "reported_at"},
		{"unknown grid", map[string]any{"grid": "431321101209009", "category": "other", "severity": "minor", "description": "x", "source": "walk_in"}, "grid"},
		{"location and grid", with("grid", "431321101201001"), "grid"},
		{"unknown member", with("colour", "red"), "colour"},
		{"not JSON", "{", "malformed"},
	}
	for _, tt := range tests {
		var p api.Problem
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", tt.body, &p); code != 400 || !strings.Contains(p.Detail, tt.want) {
			t.Errorf("%s: %d %q, want 400 naming %s", tt.name, code, p.Detail, tt.want)
		}
	}
	var list struct{ Incidents []any }
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents", nil, &list)
	if len(list.Incidents) != 0 {
		t.Errorf("%d incidents after bad requests, want 0", len(list.Incidents))
	}
}

func TestIncidents_roles(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	body := newIncident(centre(1), "safety", "minor")
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessPlanner: 403, geo.AccessDispatcher: 201, geo.AccessAdmin: 201} {
		if code := e.do(role, "POST", "/v1/incidents", body, nil); code != want {
			t.Errorf("POST as %q: %d, want %d", role, code, want)
		}
		for _, target := range []string{"/v1/incidents", "/v1/stats"} {
			wantGet := want
			if want == 201 {
				wantGet = 200
			}
			if code := e.do(role, "GET", target, nil, nil); code != wantGet {
				t.Errorf("GET %s as %q: %d, want %d", target, role, code, wantGet)
			}
		}
	}
}

// TestIncidents_transitions drives an incident into every state and tries
// every action there: the legal ones move it as the closed loop says, the
// illegal ones are 409 and leave the history as it was.
func TestIncidents_transitions(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	paths := map[string][]string{
		"dispatched":  nil,
		"accepted":    {"accept"},
		"in_progress": {"accept", "start"},
		"resolved":    {"accept", "start", "resolve"},
		"verified":    {"accept", "start", "resolve", "verify"},
		"closed":      {"accept", "start", "resolve", "verify", "close"},
		"rejected":    {"reject"},
		"reopened":    {"accept", "start", "resolve", "reopen"},
		"suspended":   {"suspend"},
		"cancelled":   {"cancel"},
		"merged":      {"merge"},
	}
	// legal[state][action] = the resulting state.
	legal := map[string]map[string]string{
		"dispatched":  {"accept": "accepted", "reject": "rejected", "reassign": "dispatched", "escalate": "dispatched", "comment": "dispatched"},
		"accepted":    {"start": "in_progress", "resolve": "resolved", "reject": "rejected", "reassign": "dispatched", "escalate": "dispatched", "comment": "accepted"},
		"in_progress": {"resolve": "resolved", "reassign": "dispatched", "escalate": "dispatched", "comment": "in_progress"},
		"resolved":    {"verify": "verified", "reopen": "reopened", "comment": "resolved"},
		"verified":    {"close": "closed", "reopen": "reopened", "comment": "verified"},
		"closed":      {"reopen": "reopened", "comment": "closed"},
		"rejected":    {"close": "closed", "reassign": "dispatched", "escalate": "dispatched", "comment": "rejected"},
		"reopened":    {"accept": "accepted", "reassign": "dispatched", "escalate": "dispatched", "comment": "reopened"},
		"suspended": {"resume": "dispatched", "cancel": "cancelled", "merge": "merged", "comment": "suspended",
			"request_reassign": "suspended", "request_escalate": "suspended"},
		"cancelled": {"comment": "cancelled"},
		"merged":    {"comment": "merged"},
	}
	// A request to reassign or escalate keeps an open incident as it is;
	// an open incident may be suspended, cancelled or merged.
	for _, st := range []string{"dispatched", "accepted", "in_progress", "rejected", "reopened"} {
		legal[st]["request_reassign"], legal[st]["request_escalate"] = st, st
		legal[st]["suspend"], legal[st]["cancel"], legal[st]["merge"] = "suspended", "cancelled", "merged"
	}
	legal["resolved"]["merge"] = "merged"
	// A correction keeps the status when the assignee stays (the
	// category changes, the place does not), until the incident ends.
	for st := range legal {
		if st != "closed" && st != "cancelled" && st != "merged" {
			legal[st]["correct"] = st
		}
	}
	// Every step goes with a reason, a correction with a category, a
	// merge with the incident it repeats.
	var first incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "minor"), &first)
	body := func(action string) map[string]string {
		b := map[string]string{"action": action, "note": "test"}
		switch action {
		case "correct":
			b["category"] = "dispute"
		case "merge":
			b["into"] = first.Number
		}
		return b
	}
	for state, path := range paths {
		for _, action := range geo.UserActions {
			var inc incidentAnswer
			e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "minor"), &inc)
			for _, a := range path {
				if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", body(a), &inc); code != 200 {
					t.Fatalf("path to %s: %s answered %d", state, a, code)
				}
			}
			if inc.Status != state {
				t.Fatalf("path to %s ended in %s", state, inc.Status)
			}
			before := len(inc.Events)
			var raw json.RawMessage
			var after incidentAnswer
			code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", body(string(action)), &raw)
			if code == 200 {
				json.Unmarshal(raw, &after)
			}
			want, ok := legal[state][string(action)]
			switch {
			case ok && (code != 200 || after.Status != want || len(after.Events) != before+1):
				t.Errorf("%s in %s: %d → %s with %d events, want 200 → %s with %d", action, state, code, after.Status, len(after.Events), want, before+1)
			case !ok && code != 409:
				t.Errorf("%s in %s: %d, want 409", action, state, code)
			case !ok:
				var again incidentAnswer
				e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &again)
				if again.Status != state || len(again.Events) != before {
					t.Errorf("a refused %s in %s changed the incident: %s, %d events", action, state, again.Status, len(again.Events))
				}
			}
		}
	}
	var p api.Problem
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/WG99999999/events", map[string]string{"action": "accept"}, &p); code != 404 {
		t.Errorf("unknown incident: %d", code)
	}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/WG00000001/events", map[string]string{"action": "fly"}, &p); code != 400 {
		t.Errorf("unknown action: %d", code)
	}
}

// TestIncidents_escalation: with a controllable clock, an overdue incident
// goes grid leader → village liaison leader → town duty desk, each step an
// event with a fresh time limit, and two escalators racing act once.
func TestIncidents_escalation(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	ctx := context.Background()
	cfg := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "urgent"), &inc)
	escalate := func(now time.Time) int {
		var total atomic.Int64
		var wg sync.WaitGroup
		for range 2 { // two replicas at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := e.db.EscalateOverdue(ctx, now, 100, func(i *geo.Incident) (geo.IncidentChange, bool) {
					return cfg.Escalate(e.snap, i, now, "")
				})
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		return int(total.Load())
	}
	if n := escalate(t0.Add(time.Hour)); n != 0 {
		t.Fatalf("escalated %d incidents before the due time", n)
	}
	steps := []struct {
		at   time.Duration
		role geo.Role
		name string
	}{{2*time.Hour + time.Minute, geo.RoleLiaisonLeader, "联村组长甲"}, {4*time.Hour + 2*time.Minute, geo.RoleDutyDesk, "镇值班室"}}
	for i, st := range steps {
		now := t0.Add(st.at)
		e.setNow(now)
		if n := escalate(now); n != 1 {
			t.Fatalf("step %d: %d escalations, want exactly 1", i+1, n)
		}
		e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &inc)
		last := inc.Events[len(inc.Events)-1]
		if geo.Role(inc.Assignee.Role) != st.role || inc.Assignee.Name != st.name || inc.Assignee.Level != i+1 ||
			last.Action != "escalate" || last.Actor != "escalator" || !inc.DueAt.Equal(now.Add(2*time.Hour)) || inc.Overdue {
			t.Errorf("step %d: %+v, last event %+v", i+1, inc.Assignee, last)
		}
	}
	e.setNow(t0.Add(48 * time.Hour))
	if n := escalate(t0.Add(48 * time.Hour)); n != 0 {
		t.Errorf("escalated past the town duty desk")
	}
	var p api.Problem
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", map[string]string{"action": "escalate"}, &p); code != 409 {
		t.Errorf("manual escalation past the town: %d", code)
	}
	var list struct{ Incidents []incidentAnswer }
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents?overdue=true", nil, &list)
	if len(list.Incidents) != 1 || list.Incidents[0].Number != inc.Number {
		t.Errorf("overdue filter: %+v", list.Incidents)
	}
}

func TestIncidents_idempotency(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	body := newIncident(centre(1), "safety", "minor")
	var first, again incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", body, &first, "Idempotency-Key", "k-1"); code != 201 {
		t.Fatal(code)
	}
	reordered := `{"source":"hotline_12345", "severity":"minor","category":"safety","lon":112.005,"lat":27.005,
		"description":"门口垃圾堆放","reporter_name":"李女士","reporter_phone":"13912345678"}`
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", reordered, &again, "Idempotency-Key", "k-1"); code != 200 || again.Number != first.Number {
		t.Errorf("retry: %d %s, want 200 %s", code, again.Number, first.Number)
	}
	var p api.Problem
	other := newIncident(centre(2), "safety", "minor")
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", other, &p, "Idempotency-Key", "k-1"); code != 422 || p.Type != api.TypeIdempotency {
		t.Errorf("same key, other body: %d %+v", code, p)
	}
	// The key belongs to the caller: another token may use the same key.
	if code := e.do(geo.AccessAdmin, "POST", "/v1/incidents", body, &again, "Idempotency-Key", "k-1"); code != 201 || again.Number == first.Number {
		t.Errorf("same key, other caller: %d %s", code, again.Number)
	}
}

// TestIncidents_concurrentIntake: 2,000 creations from 50 goroutines, one
// in ten sent twice with the same key: exactly 2,000 incidents, no
// duplicates, and the statistics equal a count done in SQL.
func TestIncidents_concurrentIntake(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	const n, workers = 2000, 50
	categories := geo.Categories
	var wg sync.WaitGroup
	numbers := make([]string, n)
	var failures atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				body := newIncident(centre(1+i%6), string(categories[i%len(categories)]), "minor")
				key := fmt.Sprintf("intake-%d", i)
				var got incidentAnswer
				if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", body, &got, "Idempotency-Key", key); code != 201 {
					failures.Add(1)
					continue
				}
				numbers[i] = got.Number
				if i%10 == 0 {
					var retry incidentAnswer
					if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", body, &retry, "Idempotency-Key", key); code != 200 || retry.Number != got.Number {
						failures.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	seen := map[string]bool{}
	for _, num := range numbers {
		if seen[num] {
			t.Fatalf("incident %s returned twice", num)
		}
		seen[num] = true
	}
	var count, distinctKeys int
	e.db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT idempotency_key) FROM incidents`).Scan(&count, &distinctKeys)
	if count != n || distinctKeys != n {
		t.Fatalf("%d incidents with %d keys in the database, want %d", count, distinctKeys, n)
	}
	var stats struct {
		Received   int
		ByCategory map[string]struct{ Received int } `json:"by_category"`
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &stats)
	if stats.Received != count {
		t.Errorf("stats: %d received, SQL counts %d", stats.Received, count)
	}
	for _, cat := range categories {
		var sql int
		e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM incidents WHERE category = $1`, cat).Scan(&sql)
		if stats.ByCategory[string(cat)].Received != sql {
			t.Errorf("%s: stats %d, SQL %d", cat, stats.ByCategory[string(cat)].Received, sql)
		}
	}
}

// TestIncidents_statsAndList: the completion figures follow the closed
// loop, and the list pages with a cursor and filters.
func TestIncidents_statsAndList(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	for i := range 7 {
		var inc incidentAnswer
		e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1+i%2), "dispute", "minor"), &inc)
		if i < 4 {
			for j, a := range []string{"accept", "resolve", "verify", "close"} {
				e.setNow(t0.Add(time.Duration(i+1) * time.Duration(j+1) * time.Hour))
				e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", map[string]string{"action": a}, nil)
			}
			e.setNow(t0)
		}
	}
	var st struct {
		Received, Closed int
		CompletionRate   float64  `json:"completion_rate"`
		Median           *float64 `json:"median_hours_to_close"`
		P90              *float64 `json:"p90_hours_to_close"`
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &st)
	if st.Received != 7 || st.Closed != 4 || st.CompletionRate != 4.0/7 || st.Median == nil || *st.Median != 10 || st.P90 == nil {
		t.Errorf("stats: %+v (median %v)", st, st.Median)
	}
	var vs struct{ Received int }
	e.do(geo.AccessDispatcher, "GET", "/v1/stats?grid=431321101201002", nil, &vs)
	if vs.Received != 3 {
		t.Errorf("grid 002: %d received, want 3", vs.Received)
	}
	var page struct {
		Incidents []incidentAnswer
		Next      string `json:"next_cursor"`
	}
	seen := 0
	cursor := ""
	for {
		e.do(geo.AccessDispatcher, "GET", "/v1/incidents?limit=3&cursor="+cursor, nil, &page)
		seen += len(page.Incidents)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if seen != 7 {
		t.Errorf("paged through %d incidents, want 7", seen)
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents?status=closed&grid=431321101201001", nil, &page)
	if len(page.Incidents) != 2 {
		t.Errorf("closed in grid 001: %d, want 2", len(page.Incidents))
	}
	req := httptest.NewRequest("GET", "/v1/incidents", nil)
	req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessDispatcher])
	req.Header.Set("Accept", api.GeoJSONContentType)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	var fc struct {
		Type     string
		Features []struct{ Geometry struct{ Type string } }
	}
	json.Unmarshal(rec.Body.Bytes(), &fc)
	if rec.Header().Get("Content-Type") != api.GeoJSONContentType || fc.Type != "FeatureCollection" || len(fc.Features) != 7 || fc.Features[0].Geometry.Type != "Point" {
		t.Errorf("geo+json list: %s %+v", rec.Header().Get("Content-Type"), fc)
	}
	for _, q := range []string{"status=lost", "category=x", "grid=1", "from=yesterday", "limit=0", "cursor=abc", "overdue=maybe"} {
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents?"+q, nil, nil); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}
