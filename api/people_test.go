package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/geo"
)

// peopleEnv is a dispatchEnv with helpers for the people endpoints.
type peopleEnv struct {
	*dispatchEnv
}

func newPeopleEnv(t *testing.T, td *geo.TownData) *peopleEnv {
	t.Helper()
	return &peopleEnv{newDispatchEnv(t, td)}
}

// raw sends a request and returns the recorder, for bodies that are not
// JSON; responses are still checked against openapi.json.
func (e *peopleEnv) raw(role geo.AccessRole, method, target string, body []byte, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	return rec
}

// count returns the number of rows of a table (or a WHERE'd query).
func (e *peopleEnv) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// tableCounts counts the rows of every table people writes touch.
func (e *peopleEnv) tableCounts() map[string]int {
	out := map[string]int{}
	for _, table := range []string{"people", "assignments", "leaves", "audit_log", "organization_members",
		"assignments WHERE ends_at IS NULL", "people WHERE ended_at IS NULL"} {
		out[table] = e.count(table)
	}
	return out
}

type personAnswer struct {
	ID      int64
	Name    string
	Phone   string
	Status  string
	EndedAt *time.Time `json:"ended_at"`
	Roles   []assignmentAnswer
	OnLeave bool `json:"on_leave"`
	Leave   []struct {
		ID       int64
		From, To time.Time
		Note     string
	}
	History []assignmentAnswer
}

type assignmentAnswer struct {
	ID     int64
	Role   string
	Person *struct {
		ID          int64
		Name, Phone string
		Left        bool
	}
	Grid, Village *struct{ Code, Name string }
	From          time.Time
	To            *time.Time
	OnLeave       *struct{ From, To time.Time } `json:"on_leave"`
}

type staffAnswer struct {
	Grid          struct{ Code, Name string }
	At            time.Time
	Leader        *assignmentAnswer
	Deputy        *assignmentAnswer
	Members       []assignmentAnswer
	LiaisonLeader *assignmentAnswer `json:"liaison_leader"`
	CoveredBy     *struct {
		Role  geo.Role
		Name  string
		Phone string
	} `json:"covered_by"`
	CoverUnknown bool `json:"covered_by_unknown"`
}

type appointmentAnswer struct {
	Appointment   assignmentAnswer
	PersonCreated bool `json:"person_created"`
	Unchanged     bool
	Ended         []assignmentAnswer
}

// personID finds the one person whose name is name.
func (e *peopleEnv) personID(name string) int64 {
	e.t.Helper()
	var list struct{ People []personAnswer }
	if code := e.do(geo.AccessAdmin, "GET", "/v1/people?status=all&name="+name, nil, &list); code != 200 {
		e.t.Fatalf("listing %s: %d", name, code)
	}
	for _, p := range list.People {
		if p.Name == name {
			return p.ID
		}
	}
	e.t.Fatalf("no person %s", name)
	return 0
}

// staff asks who held the roles of grid code at at.
func (e *peopleEnv) staff(code string, at time.Time) staffAnswer {
	e.t.Helper()
	var st staffAnswer
	if c := e.do(geo.AccessDispatcher, "GET", "/v1/grids/"+code+"/people?at="+at.Format(time.RFC3339), nil, &st); c != 200 {
		e.t.Fatalf("grid people of %s at %s: %d", code, at, c)
	}
	return st
}

func holderName(a *assignmentAnswer) string {
	if a == nil || a.Person == nil {
		return ""
	}
	return a.Person.Name
}

const grid1, grid2, grid5 = "431321101201001", "431321101201002", "431321101202002"

func TestPeople_createReadUpdate(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	var p personAnswer
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "王 五", "phone": "+86 139 0000 9999"}, &p); code != 201 {
		t.Fatalf("create: %d %+v", code, p)
	}
	if p.Name != "王五" || p.Phone != "13900009999" || p.Status != "active" || len(p.Roles) != 0 {
		t.Errorf("created %+v, want 王五 13900009999 active without roles", p)
	}
	bad := []struct {
		name string
		body any
		want int
	}{
		{"same name and phone", map[string]any{"name": "王五", "phone": "13900009999"}, 409},
		{"bad phone", map[string]any{"name": "赵六", "phone": "12345"}, 400},
		{"no phone", map[string]any{"name": "赵六"}, 400},
		{"no name", map[string]any{"phone": "13900009998"}, 400},
		{"unknown member", map[string]any{"name": "赵六", "phone": "13900009998", "id_card": "430000199001011234"}, 400},
		{"not JSON", "{", 400},
	}
	for _, tt := range bad {
		if code := e.do(geo.AccessAdmin, "POST", "/v1/people", tt.body, nil); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	// A landline is a phone too.
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "村委会", "phone": "0738-6812345"}, nil); code != 201 {
		t.Errorf("landline: %d", code)
	}

	// Lists: by name, role and grid, with paging.
	var list struct {
		People     []personAnswer
		NextCursor string `json:"next_cursor"`
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/people?role=leader", nil, &list)
	if len(list.People) != 5 { // grids 1, 2, 3, 5 and 6
		t.Errorf("%d leaders, want 5", len(list.People))
	}
	for _, lp := range list.People {
		if len(lp.Roles) != 1 || lp.Roles[0].Role != "leader" || lp.Phone == "" {
			t.Errorf("leader %+v: want one leader role and a phone (dispatcher)", lp)
		}
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/people?grid="+grid1, nil, &list)
	if len(list.People) != 2 {
		t.Errorf("grid %s: %d people, want leader and deputy", grid1, len(list.People))
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/people?name=副网格长", nil, &list)
	if len(list.People) != 5 {
		t.Errorf("name contains 副网格长: %d, want 5", len(list.People))
	}
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; pages < 20; pages++ {
		list.NextCursor = ""
		e.do(geo.AccessAdmin, "GET", "/v1/people?limit=3&cursor="+cursor, nil, &list)
		for _, lp := range list.People {
			if seen[lp.ID] {
				t.Fatalf("person %d on two pages", lp.ID)
			}
			seen[lp.ID] = true
		}
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	if want := e.count("people WHERE ended_at IS NULL"); len(seen) != want {
		t.Errorf("paged through %d people, want %d", len(seen), want)
	}
	for _, q := range []string{"role=boss", "grid=12", "status=gone", "limit=0", "cursor=xyz", "at=yesterday"} {
		if code := e.do(geo.AccessAdmin, "GET", "/v1/people?"+q, nil, nil); code != 400 {
			t.Errorf("?%s: %d, want 400", q, code)
		}
	}

	// PATCH: rename, new phone; then the person leaves and their roles end
	// the same instant.
	leader := e.personID("网格长1")
	if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/people/%d", leader), map[string]any{"phone": "0738-6811111"}, &p); code != 200 || p.Phone != "0738-6811111" {
		t.Errorf("new phone: %d %+v", code, p)
	}
	if e.snap.Grids[0].Leader.Phone != "0738-6811111" {
		t.Errorf("the snapshot still has the old phone %s", e.snap.Grids[0].Leader.Phone)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/people/%d", leader), map[string]any{"phone": "not a phone"}, nil); code != 400 {
		t.Errorf("bad phone: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/people/%d", leader), map[string]any{"status": "left", "ended_at": t0.Add(time.Hour).Format(time.RFC3339)}, nil); code != 400 {
		t.Errorf("leaving in the future: %d, want 400", code)
	}
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/people/%d", leader), map[string]any{"status": "left"}, &p); code != 200 {
		t.Fatalf("leaving: %d", code)
	}
	if p.Status != "left" || p.EndedAt == nil || !p.EndedAt.Equal(t0.Add(time.Hour)) || len(p.Roles) != 0 ||
		len(p.History) != 1 || p.History[0].To == nil || !p.History[0].To.Equal(*p.EndedAt) {
		t.Errorf("after leaving: %+v, want left at t0+1h with the leader assignment ended then", p)
	}
	if e.snap.Grids[0].Leader != nil {
		t.Errorf("grid %s still has leader %s in the snapshot", grid1, e.snap.Grids[0].Leader.Name)
	}
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "minor"), &inc)
	if inc.Assignee == nil || inc.Assignee.Name != "副网格长1" {
		t.Errorf("incident after the leader left went to %+v, want the deputy", inc.Assignee)
	}
	for body, want := range map[string]int{`{"status":"active"}`: 409, `{"status":"left"}`: 409, `{"status":"retired"}`: 400, `{"ended_at":"2026-11-22"}`: 400} {
		if code := e.do(geo.AccessAdmin, "PATCH", fmt.Sprintf("/v1/people/%d", leader), body, nil); code != want {
			t.Errorf("PATCH %s on a person who left: %d, want %d", body, code, want)
		}
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/people/999999", nil, nil); code != 404 {
		t.Errorf("unknown person: %d", code)
	}
	if e.count("audit_log WHERE action LIKE 'person.%' AND actor = 'admin-1'") < 3 {
		t.Errorf("the writes are not all audited with their actor")
	}
}

// TestAppointments_history: the same grid asked at three moments gives
// three answers, and each appointment ended its predecessor the same
// instant.
func TestAppointments_history(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)

	e.setNow(t1)
	var ap appointmentAnswer
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid1+"/leader", map[string]any{"name": "新网格长", "phone": "13700000001"}, &ap); code != 200 {
		t.Fatalf("appointing: %d", code)
	}
	if !ap.PersonCreated || ap.Unchanged || len(ap.Ended) != 1 || holderName(&ap.Ended[0]) != "网格长1" || !ap.Ended[0].To.Equal(t1) || !ap.Appointment.From.Equal(t1) {
		t.Errorf("appointment %+v: want a new person from t1 ending 网格长1 at t1", ap)
	}
	if got := e.snap.Grids[0].Leader; got == nil || got.Name != "新网格长" {
		t.Errorf("snapshot leader %+v after the appointment", got)
	}

	e.setNow(t2)
	deputy := e.personID("副网格长1")
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid1+"/leader", map[string]any{"person_id": deputy}, &ap); code != 200 {
		t.Fatalf("promoting the deputy: %d", code)
	}
	if len(ap.Ended) != 2 {
		t.Errorf("promotion ended %d assignments, want the leader's and the deputy's own", len(ap.Ended))
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid1+"/leader", map[string]any{"person_id": deputy}, &ap); code != 200 || !ap.Unchanged {
		t.Errorf("appointing the holder again: %d unchanged=%v, want 200 unchanged", code, ap.Unchanged)
	}

	tests := []struct {
		at             time.Time
		leader, deputy string
	}{
		{importedAt.Add(-time.Hour), "", ""},
		{t0.Add(30 * time.Minute), "网格长1", "副网格长1"},
		{t1, "新网格长", "副网格长1"},
		{t1.Add(30 * time.Minute), "新网格长", "副网格长1"},
		{t2.Add(30 * time.Minute), "副网格长1", ""},
	}
	for _, tt := range tests {
		st := e.staff(grid1, tt.at)
		if holderName(st.Leader) != tt.leader || holderName(st.Deputy) != tt.deputy {
			t.Errorf("at %s: leader %q deputy %q, want %q %q", tt.at.Format(time.RFC3339), holderName(st.Leader), holderName(st.Deputy), tt.leader, tt.deputy)
		}
	}
	if st := e.staff(grid1, t1); st.LiaisonLeader == nil || st.LiaisonLeader.Person.Name != "联村组长甲" {
		t.Errorf("the village liaison leader is missing: %+v", st.LiaisonLeader)
	}

	bad := []struct {
		name, method, target string
		body                 any
		want                 int
	}{
		{"before the holder's start", "PUT", "/v1/grids/" + grid1 + "/leader", map[string]any{"name": "甲", "phone": "13700000002", "from": t1.Format(time.RFC3339)}, 409},
		{"in the future", "PUT", "/v1/grids/" + grid1 + "/leader", map[string]any{"name": "甲", "phone": "13700000002", "from": t2.Add(24 * time.Hour).Format(time.RFC3339)}, 400},
		{"unknown grid", "PUT", "/v1/grids/431321101201099/leader", map[string]any{"name": "甲", "phone": "13700000002"}, 404},
		{"malformed grid", "PUT", "/v1/grids/12/leader", map[string]any{"name": "甲", "phone": "13700000002"}, 400},
		{"unknown person", "PUT", "/v1/grids/" + grid1 + "/deputy", map[string]any{"person_id": 999999}, 400},
		{"both id and name", "PUT", "/v1/grids/" + grid1 + "/deputy", map[string]any{"person_id": deputy, "name": "甲"}, 400},
		{"bad phone", "PUT", "/v1/grids/" + grid1 + "/deputy", map[string]any{"name": "甲", "phone": "110"}, 400},
		{"unknown village", "PUT", "/v1/villages/431321101299/liaison-leader", map[string]any{"name": "甲", "phone": "13700000002"}, 404},
		{"vacate nobody", "DELETE", "/v1/grids/" + grid1 + "/deputy", nil, 404},
	}
	before := e.tableCounts()
	for _, tt := range bad {
		if code := e.do(geo.AccessAdmin, tt.method, tt.target, tt.body, nil); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	if after := e.tableCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused requests wrote: %v → %v", before, after)
	}

	// Village liaison leader, town duty desk, members: assignments too.
	e.setNow(t2.Add(time.Hour))
	for target, body := range map[string]any{
		"/v1/villages/431321101202/liaison-leader": map[string]any{"name": "联村组长乙", "phone": "13900000200"},
		"/v1/town/duty-desk":                       map[string]any{"name": "镇综治中心", "phone": "0738-6819999"},
	} {
		if code := e.do(geo.AccessAdmin, "PUT", target, body, &ap); code != 200 {
			t.Errorf("PUT %s: %d", target, code)
		}
	}
	if e.snap.Whole().DutyDesk == nil || e.snap.Whole().DutyDesk.Name != "镇综治中心" {
		t.Errorf("duty desk %+v", e.snap.Whole().DutyDesk)
	}
	if v, _ := e.snap.Village("431321101202"); v.LiaisonLeader == nil || v.LiaisonLeader.Name != "联村组长乙" {
		t.Errorf("village 2 liaison leader %+v", v.LiaisonLeader)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/grids/"+grid1+"/members", map[string]any{"name": "网格员甲", "phone": "13600000001"}, &ap); code != 201 {
		t.Errorf("adding a member: %d", code)
	}
	member := ap.Appointment.Person.ID
	if code := e.do(geo.AccessAdmin, "POST", "/v1/grids/"+grid1+"/members", map[string]any{"person_id": member}, &ap); code != 200 || !ap.Unchanged {
		t.Errorf("adding the member again: %d %+v", code, ap)
	}
	e.setNow(t2.Add(2 * time.Hour))
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("/v1/grids/%s/members/%d", grid1, member), nil, nil); code != 200 {
		t.Errorf("ending the membership: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", "/v1/grids/"+grid1+"/leader", nil, nil); code != 200 {
		t.Errorf("vacating the leader: %d", code)
	}
	if st := e.staff(grid1, t2.Add(90*time.Minute)); len(st.Members) != 1 || holderName(st.Leader) != "副网格长1" {
		t.Errorf("at t2+90m: %+v, want the member and the leader", st)
	}
	if st := e.staff(grid1, t2.Add(2*time.Hour)); len(st.Members) != 0 || st.Leader != nil {
		t.Errorf("at t2+2h: %+v, want nobody", st)
	}
	if n := e.count("audit_log WHERE action IN ('assignment.appoint', 'assignment.vacate') AND actor = 'admin-1'"); n != 7 {
		t.Errorf("%d appointment audit entries, want 7", n)
	}
}

// TestLeave_routesToDeputy: an incident routes to the deputy exactly
// inside the leader's leave, [from, to).
func TestLeave_routesToDeputy(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	leader := e.personID("网格长1")
	from, to := t0.Add(24*time.Hour), t0.Add(72*time.Hour)
	var l struct {
		ID       int64
		From, To time.Time
		Note     string
	}
	target := fmt.Sprintf("/v1/people/%d/leave", leader)
	if code := e.do(geo.AccessAdmin, "POST", target, map[string]any{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "note": "产假"}, &l); code != 201 {
		t.Fatalf("leave: %d", code)
	}
	if !l.From.Equal(from) || !l.To.Equal(to) || l.Note != "产假" {
		t.Errorf("leave %+v", l)
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{from.Add(-time.Second), "网格长1"},
		{from, "副网格长1"},
		{from.Add(36 * time.Hour), "副网格长1"},
		{to.Add(-time.Second), "副网格长1"},
		{to, "网格长1"},
	} {
		e.setNow(tt.at)
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "minor"), &inc); code != 201 {
			t.Fatalf("incident at %s: %d", tt.at, code)
		}
		if inc.Assignee == nil || inc.Assignee.Name != tt.want {
			t.Errorf("at %s: routed to %+v, want %s", tt.at.Format(time.RFC3339), inc.Assignee, tt.want)
		}
	}
	var st staffAnswer
	e.do(geo.AccessViewer, "GET", "/v1/grids/"+grid1+"/people?at="+from.Add(time.Hour).Format(time.RFC3339), nil, &st)
	if st.Leader == nil || st.Leader.OnLeave == nil || !st.Leader.OnLeave.To.Equal(to) {
		t.Errorf("grid people during the leave: leader %+v, want on leave until %s", st.Leader, to)
	}
	// Who covered, as routing decided above; phones for dispatchers only.
	if st.CoveredBy == nil || st.CoveredBy.Name != "副网格长1" || st.CoveredBy.Role != geo.RoleDeputy || st.CoveredBy.Phone != "" || st.CoverUnknown {
		t.Errorf("grid people during the leave, as a viewer: covered by %+v (unknown %v), want 副网格长1 without a phone", st.CoveredBy, st.CoverUnknown)
	}
	// A new deputy later: the leave still reads as covered by the deputy
	// of the time, not today's.
	e.setNow(to.Add(24 * time.Hour))
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid1+"/deputy", map[string]any{"name": "新副网格长", "phone": "13700000009"}, nil); code != 200 {
		t.Fatalf("new deputy: %d", code)
	}
	st = e.staff(grid1, from.Add(time.Hour))
	if st.CoveredBy == nil || st.CoveredBy.Name != "副网格长1" || st.CoveredBy.Phone == "" {
		t.Errorf("grid people during the leave, after the deputy changed: covered by %+v, want 副网格长1 with a phone", st.CoveredBy)
	}
	if st = e.staff(grid1, from.Add(-time.Hour)); st.CoveredBy != nil || st.CoverUnknown {
		t.Errorf("grid people before the leave: covered by %+v (unknown %v), want nobody", st.CoveredBy, st.CoverUnknown)
	}
	e.setNow(t0)
	for _, tt := range []struct {
		name string
		body any
		want int
	}{
		{"overlapping", map[string]any{"from": from.Add(24 * time.Hour).Format(time.RFC3339), "to": to.Add(24 * time.Hour).Format(time.RFC3339)}, 409},
		{"to before from", map[string]any{"from": to.Format(time.RFC3339), "to": from.Format(time.RFC3339)}, 400},
		{"no to", map[string]any{"from": from.Format(time.RFC3339)}, 400},
		{"bad time", map[string]any{"from": "next monday", "to": to.Format(time.RFC3339)}, 400},
		{"too long", map[string]any{"from": "2027-01-01", "to": "2030-01-01"}, 400},
	} {
		if code := e.do(geo.AccessAdmin, "POST", target, tt.body, nil); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people/999999/leave", map[string]any{"from": "2027-01-01", "to": "2027-01-02"}, nil); code != 404 {
		t.Errorf("leave of nobody: %d", code)
	}
	// Adjacent leave is not overlapping; a leave entered by mistake goes.
	var next struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", target, map[string]any{"from": to.Format(time.RFC3339), "to": to.Add(24 * time.Hour).Format(time.RFC3339)}, &next); code != 201 {
		t.Errorf("adjacent leave: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("%s/%d", target, next.ID), nil, nil); code != 204 {
		t.Errorf("deleting a leave: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("%s/%d", target, next.ID), nil, nil); code != 404 {
		t.Errorf("deleting it again: %d", code)
	}
	if n := e.count("audit_log WHERE action LIKE 'leave.%' AND actor = 'admin-1'"); n != 3 {
		t.Errorf("%d leave audit entries, want 3", n)
	}
}

// TestAppointments_concurrent: two appointments of a leader at the same
// moment: one wins, the other is 409, and the database holds exactly one
// active leader and nothing of the loser (its new person included).
func TestAppointments_concurrent(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	for round := 0; round < 5; round++ {
		e.setNow(t0.Add(time.Duration(round+1) * time.Hour))
		before := e.tableCounts()
		codes := make([]int, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i] = e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+grid1+"/leader",
					map[string]any{"name": fmt.Sprintf("候选人%d-%d", round, i), "phone": fmt.Sprintf("1370000%02d%02d", round, i)}, nil)
			}()
		}
		close(start)
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
			t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, codes)
		}
		after := e.tableCounts()
		if n := e.count("assignments WHERE grid_code = $1 AND role = 'leader' AND ends_at IS NULL", grid1); n != 1 {
			t.Errorf("round %d: %d active leaders", round, n)
		}
		// The winner added one person and one assignment, ended one, and
		// wrote one audit entry; the loser nothing.
		for table, d := range map[string]int{"people": 1, "assignments": 1, "audit_log": 1, "assignments WHERE ends_at IS NULL": 0} {
			if after[table]-before[table] != d {
				t.Errorf("round %d: %s grew by %d, want %d", round, table, after[table]-before[table], d)
			}
		}
	}
}

// TestPeople_noPhonesForViewers: every endpoint this file adds that
// returns people shows phones to dispatchers and admins only; viewers and
// anonymous callers cannot read people lists or write at all.
func TestPeople_noPhonesForViewers(t *testing.T) {
	t.Parallel()
	td := dispatchTown()
	e := newPeopleEnv(t, td)
	leader := e.personID("网格长1")
	// Leave with a note, so that the note's absence is checked too.
	e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/people/%d/leave", leader), map[string]any{"from": t0.Format(time.RFC3339), "to": t0.Add(time.Hour).Format(time.RFC3339), "note": "病假"}, nil)
	var phones []string
	for _, g := range td.Grids {
		for _, c := range []*geo.Contact{g.Leader, g.Deputy} {
			if c != nil {
				phones = append(phones, c.Phone)
			}
		}
	}
	for _, v := range td.Villages {
		if v.LiaisonLeader != nil {
			phones = append(phones, v.LiaisonLeader.Phone)
		}
	}
	phones = append(phones, td.Town.DutyDesk.Phone)
	leaks := func(body string) string {
		for _, p := range phones {
			if strings.Contains(body, p) {
				return p
			}
		}
		if strings.Contains(body, `"phone"`) || strings.Contains(body, "病假") {
			return "a phone field or a leave note"
		}
		return ""
	}
	reads := []string{"/v1/grids/" + grid1 + "/people", "/v1/grids/" + grid1 + "/people?at=" + t0.Add(time.Minute).Format(time.RFC3339),
		"/v1/people", fmt.Sprintf("/v1/people/%d", leader), "/v1/staffing", "/v1/rosters/template.xlsx"}
	for _, target := range reads {
		for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessPlanner} {
			rec := e.raw(role, "GET", target, nil)
			if leak := leaks(rec.Body.String()); leak != "" {
				t.Errorf("GET %s as %q (%d) shows %s", target, role, rec.Code, leak)
			}
			if rec.Code != 200 && rec.Code != 401 && rec.Code != 403 {
				t.Errorf("GET %s as %q: %d", target, role, rec.Code)
			}
		}
		if rec := e.raw(geo.AccessDispatcher, "GET", target, nil); rec.Code != 200 ||
			!strings.HasSuffix(target, ".xlsx") && !strings.Contains(rec.Body.String(), "1390000") {
			t.Errorf("GET %s as dispatcher: %d, want 200 with phones", target, rec.Code)
		}
	}
	for _, target := range []string{"/v1/people", "/v1/staffing"} {
		for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessPlanner: 403} {
			if code := e.raw(role, "GET", target, nil).Code; code != want {
				t.Errorf("GET %s as %q: %d, want %d", target, role, code, want)
			}
		}
	}
	writes := []struct{ method, target string }{
		{"POST", "/v1/people"}, {"PATCH", fmt.Sprintf("/v1/people/%d", leader)},
		{"POST", fmt.Sprintf("/v1/people/%d/leave", leader)}, {"DELETE", fmt.Sprintf("/v1/people/%d/leave/1", leader)},
		{"PUT", "/v1/grids/" + grid1 + "/leader"}, {"DELETE", "/v1/grids/" + grid1 + "/leader"},
		{"PUT", "/v1/grids/" + grid1 + "/deputy"}, {"DELETE", "/v1/grids/" + grid1 + "/deputy"},
		{"POST", "/v1/grids/" + grid1 + "/members"}, {"DELETE", fmt.Sprintf("/v1/grids/%s/members/%d", grid1, leader)},
		{"PUT", "/v1/villages/431321101201/liaison-leader"}, {"DELETE", "/v1/villages/431321101201/liaison-leader"},
		{"PUT", "/v1/town/duty-desk"}, {"DELETE", "/v1/town/duty-desk"},
		{"POST", "/v1/rosters"},
	}
	before := e.tableCounts()
	body := []byte(`{"name":"闯入者","phone":"13700009999"}`)
	for _, w := range writes {
		for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessPlanner: 403, geo.AccessDispatcher: 403} {
			rec := e.raw(role, w.method, w.target, body, "Content-Type", "application/json")
			if rec.Code != want {
				t.Errorf("%s %s as %q: %d, want %d", w.method, w.target, role, rec.Code, want)
			}
			if leak := leaks(rec.Body.String()); leak != "" {
				t.Errorf("%s %s as %q shows %s", w.method, w.target, role, leak)
			}
		}
	}
	if after := e.tableCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused writes wrote: %v → %v", before, after)
	}
}
