package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
)

// orgEnv is a dispatchEnv whose server also keeps organizations and
// rebuilds its snapshot after a change, as `wangge serve` does. Its clock
// starts just after the town's import, so that the imported organizations
// hold office over every moment the tests use.
type orgEnv struct {
	*dispatchEnv
	start   time.Time
	reloads atomic.Int32
}

func newOrgEnv(t *testing.T, td *geo.TownData) *orgEnv {
	t.Helper()
	e := &orgEnv{dispatchEnv: newDispatchEnv(t, td)}
	e.start = time.Now().UTC().Truncate(time.Second).Add(time.Second)
	e.setNow(e.start)
	e.serve(api.Config{Reload: func(ctx context.Context) error {
		e.reloads.Add(1)
		return e.reload(ctx)
	}})
	return e
}

// Codes of dispatchTown: village 2 (2村) and its grids 4–6.
const (
	orgVillage2 = "431321101202"
	orgGrid4    = "431321101202001"
	orgGrid5    = "431321101202002"
	orgGrid6    = "431321101202003"
)

type orgAnswer struct {
	ID      int64
	Kind    string
	Name    string
	Village struct{ Code, Name string }
	Contact *struct{ Name, Phone string }
	Status  string
	EndedAt *time.Time `json:"ended_at"`
	Grids   []orgGridAnswer
}

type orgGridAnswer struct {
	Code, Name string
	From       time.Time
	To         *time.Time
}

type orgMemberAnswer struct {
	ID     int64
	Person struct {
		ID          int64
		Name, Phone string
	}
	Role string
	From time.Time
	To   *time.Time
}

type problemAnswer struct {
	Type, Detail string
	Errors       []struct{ Where, Reason string }
}

// mustCreate registers an organization as admin.
func (e *orgEnv) mustCreate(kind geo.OrgKind, name string, contact map[string]string) orgAnswer {
	e.t.Helper()
	body := map[string]any{"kind": kind, "name": name, "village": orgVillage2}
	if contact != nil {
		body["contact"] = contact
	}
	var o orgAnswer
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", body, &o); code != 201 {
		e.t.Fatalf("creating %s: %d", name, code)
	}
	return o
}

// gridOrgs lists the organization names GET /v1/grids/{code}[?at=] gives.
func (e *orgEnv) gridOrgs(code, at string) []string {
	e.t.Helper()
	target := "/v1/grids/" + code
	if at != "" {
		target += "?at=" + at
	}
	var f struct {
		Properties struct{ Organizations []struct{ Kind, Name string } }
	}
	if status := e.do(geo.AccessViewer, "GET", target, nil, &f); status != 200 {
		e.t.Fatalf("GET %s: %d", target, status)
	}
	var names []string
	for _, o := range f.Properties.Organizations {
		names = append(names, o.Name)
	}
	return names
}

func TestOrganizations_createReadUpdate(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgPartyGroup, "2村第一党员小组", map[string]string{"name": "王书记", "phone": "+86 139 0000 7777"})
	if o.ID == 0 || o.Kind != "party_group" || o.Village.Name != "2村" || o.Status != "active" || o.Contact == nil ||
		o.Contact.Phone != "13900007777" || len(o.Grids) != 0 {
		t.Fatalf("created %+v", o)
	}
	target := fmt.Sprintf("/v1/organizations/%d", o.ID)
	var got orgAnswer
	e.do(geo.AccessViewer, "GET", target, nil, &got)
	if got.Name != o.Name || got.Contact == nil || got.Contact.Name != "王书记" || got.Contact.Phone != "" {
		t.Errorf("viewer sees %+v, want the contact's name without a phone", got)
	}
	e.do(geo.AccessDispatcher, "GET", target, nil, &got)
	if got.Contact == nil || got.Contact.Phone != "13900007777" {
		t.Errorf("dispatcher sees contact %+v, want the phone", got.Contact)
	}

	var patched orgAnswer
	if code := e.do(geo.AccessAdmin, "PATCH", target, map[string]any{"name": "2村党员小组", "contact": nil}, &patched); code != 200 {
		t.Fatalf("PATCH: %d", code)
	}
	if patched.Name != "2村党员小组" || patched.Contact != nil || patched.Kind != "party_group" {
		t.Errorf("patched %+v", patched)
	}

	var list struct{ Organizations []orgAnswer }
	e.do("", "GET", "/v1/organizations?village="+orgVillage2+"&kind=party_group", nil, &list)
	if len(list.Organizations) != 1 || list.Organizations[0].ID != o.ID {
		t.Errorf("party groups of village 2: %+v", list.Organizations)
	}
	e.do("", "GET", "/v1/organizations?grid="+orgGrid4, nil, &list)
	if len(list.Organizations) != 4 {
		t.Errorf("grid 4 is served by %d organizations, want the 4 imported", len(list.Organizations))
	}
	for i, o := range list.Organizations {
		if want := geo.OrgKinds[i]; o.Kind != string(want) || len(o.Grids) != 3 {
			t.Errorf("organization %d: %s serving %d grids, want %s serving 3 (kinds in order)", i, o.Kind, len(o.Grids), want)
		}
	}

	rows := e.auditRows("organization:" + fmt.Sprint(o.ID))
	if len(rows) != 2 || rows[0] != "organization.create by admin-1" || rows[1] != "organization.update by admin-1" {
		t.Errorf("audit log %q", rows)
	}
}

// auditRows lists "action by actor" of the audit log for target, oldest first.
func (e *orgEnv) auditRows(target string) []string {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT action || ' by ' || actor FROM audit_log WHERE target = $1 ORDER BY id`, target)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestOrganizations_badRequests(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgMediation, "2村调解会", nil)
	ok := map[string]any{"kind": "health_committee", "name": "新爱卫会", "village": orgVillage2}
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
	orgPath := fmt.Sprintf("/v1/organizations/%d", o.ID)
	tests := []struct {
		name, method, target string
		body                 any
		want                 int
		where                string
	}{
		{"unknown kind", "POST", "/v1/organizations", with("kind", "choir"), 400, "kind"},
		{"no name", "POST", "/v1/organizations", with("name", "  "), 400, "name"},
		{"long name", "POST", "/v1/organizations", with("name", strings.Repeat("会", 101)), 400, "name"},
		{"malformed village", "POST", "/v1/organizations", with("village", "4313"), 400, "village"},
		{"unknown village", "POST", "/v1/organizations", with("village", "431321101299"), 400, "village"},
		{"bad contact phone", "POST", "/v1/organizations", with("contact", map[string]string{"name": "李", "phone": "12345"}), 400, "contact.phone"},
		{"contact without name", "POST", "/v1/organizations", with("contact", map[string]string{"phone": "13900001111"}), 400, "contact.name"},
		{"unknown member", "POST", "/v1/organizations", with("colour", "red"), 400, ""},
		{"not JSON", "POST", "/v1/organizations", "kind=x", 400, ""},
		{"taken name", "POST", "/v1/organizations", map[string]any{"kind": "mediation", "name": "2村调解会", "village": orgVillage2}, 409, ""},
		{"empty patch", "PATCH", orgPath, map[string]any{}, 400, "body"},
		{"bad status", "PATCH", orgPath, map[string]any{"status": "paused"}, 400, "status"},
		{"active with ended_at", "PATCH", orgPath, map[string]any{"status": "active", "ended_at": "2026-01-01"}, 400, "ended_at"},
		{"bad ended_at", "PATCH", orgPath, map[string]any{"ended_at": "yesterday"}, 400, "ended_at"},
		{"reopen a working one", "PATCH", orgPath, map[string]any{"status": "active"}, 409, ""},
		{"patch unknown", "PATCH", "/v1/organizations/999999", map[string]any{"name": "x"}, 404, ""},
		{"id not a number", "GET", "/v1/organizations/abc", nil, 400, "id"},
		{"unknown id", "GET", "/v1/organizations/999999", nil, 404, ""},
		{"bad at", "GET", orgPath + "?at=noon", nil, 400, "at"},
		{"bad list kind", "GET", "/v1/organizations?kind=choir", nil, 400, "kind"},
		{"bad list status", "GET", "/v1/organizations?status=sleeping", nil, 400, "status"},
		{"bad list grid", "GET", "/v1/organizations?grid=12", nil, 400, "grid"},
		{"member: bad phone", "POST", orgPath + "/members", map[string]any{"name": "赵六", "phone": "0738"}, 400, "phone"},
		{"member: no name", "POST", orgPath + "/members", map[string]any{"phone": "13900001111"}, 400, "name"},
		{"member: bad role", "POST", orgPath + "/members", map[string]any{"name": "赵六", "phone": "13900001111", "role": "boss"}, 400, "role"},
		{"member: both ways", "POST", orgPath + "/members", map[string]any{"person_id": 1, "name": "赵六"}, 400, "person_id"},
		{"member: unknown person", "POST", orgPath + "/members", map[string]any{"person_id": 999999}, 400, "person_id"},
		{"member: bad from", "POST", orgPath + "/members", map[string]any{"name": "赵六", "phone": "13900001111", "from": "2026-13-01"}, 400, "from"},
		{"member: unknown organization", "POST", "/v1/organizations/999999/members", map[string]any{"name": "赵六", "phone": "13900001111"}, 404, ""},
		{"end unknown membership", "POST", orgPath + "/members/999999/end", nil, 404, ""},
		{"attach: nothing", "POST", orgPath + "/grids", map[string]any{}, 400, "grids"},
		{"attach: malformed code", "POST", orgPath + "/grids", map[string]any{"grids": []string{orgGrid4, "42"}}, 400, "grids[1]"},
		{"attach: unknown grid", "POST", orgPath + "/grids", map[string]any{"grids": []string{orgGrid4, "431321101202009"}}, 400, "grids[1]"},
		{"attach: twice in one request", "POST", orgPath + "/grids", map[string]any{"grids": []string{orgGrid4, orgGrid4}}, 400, "grids[1]"},
		{"attach: grid and grids", "POST", orgPath + "/grids", map[string]any{"grid": orgGrid4, "grids": []string{orgGrid5}}, 400, "grid"},
		{"attach: unknown organization", "POST", "/v1/organizations/999999/grids", map[string]any{"grid": orgGrid4}, 404, ""},
		{"detach: not attached", "DELETE", orgPath + "/grids/" + orgGrid4, nil, 404, ""},
		{"detach: malformed code", "DELETE", orgPath + "/grids/4313", nil, 400, "code"},
		{"detach: bad to", "DELETE", orgPath + "/grids/" + orgGrid4 + "?to=soon", nil, 400, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problemAnswer
			if code := e.do(geo.AccessAdmin, tt.method, tt.target, tt.body, &p); code != tt.want {
				t.Fatalf("status %d, want %d: %+v", code, tt.want, p)
			}
			if tt.where != "" && (len(p.Errors) != 1 || p.Errors[0].Where != tt.where) {
				t.Errorf("errors %+v, want one naming %q", p.Errors, tt.where)
			}
		})
	}
	var list struct{ Organizations []orgAnswer }
	e.do(geo.AccessAdmin, "GET", "/v1/organizations?village="+orgVillage2+"&status=all", nil, &list)
	if len(list.Organizations) != 5 {
		t.Errorf("%d organizations in village 2 after bad requests, want 5 (4 imported + 1)", len(list.Organizations))
	}
	if rows := e.auditRows(fmt.Sprintf("organization:%d", o.ID)); len(rows) != 1 {
		t.Errorf("audit log after bad requests: %q, want the creation only", rows)
	}
}

func TestOrganizations_roles(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgOther, "2村志愿者协会", nil)
	base := fmt.Sprintf("/v1/organizations/%d", o.ID)
	writes := []struct{ method, target string }{
		{"POST", "/v1/organizations"},
		{"PATCH", base},
		{"POST", base + "/members"},
		{"DELETE", base + "/members/1"},
		{"POST", base + "/members/1/end"},
		{"POST", base + "/grids"},
		{"DELETE", base + "/grids/" + orgGrid4},
		{"POST", base + "/grids/" + orgGrid4 + "/detach"},
	}
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessDispatcher: 403, geo.AccessPlanner: 403} {
		for _, w := range writes {
			if code := e.do(role, w.method, w.target, map[string]any{}, nil); code != want {
				t.Errorf("%s %s as %q: %d, want %d", w.method, w.target, role, code, want)
			}
		}
		for _, target := range []string{"/v1/organizations", base, base + "/members", base + "/grids"} {
			if code := e.do(role, "GET", target, nil, nil); code != 200 {
				t.Errorf("GET %s as %q: %d, want 200", target, role, code)
			}
		}
	}
	if rows := e.auditRows("organization:" + fmt.Sprint(o.ID)); len(rows) != 1 {
		t.Errorf("audit log %q, want the creation only", rows)
	}
}

// TestOrganizations_members adds, lists and ends memberships: one chair at
// a time, one membership per person at a time, history by ?at=.
func TestOrganizations_members(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgRedWhiteCouncil, "2村新红白理事会", nil)
	base := fmt.Sprintf("/v1/organizations/%d/members", o.ID)
	t0 := e.start
	day := 24 * time.Hour

	var chair, member orgMemberAnswer
	if code := e.do(geo.AccessAdmin, "POST", base, map[string]any{"name": "张 三", "phone": "139 0000 8001", "role": "chair"}, &chair); code != 201 {
		t.Fatalf("adding the chair: %d", code)
	}
	if chair.Person.Name != "张三" || chair.Person.Phone != "13900008001" || chair.Role != "chair" || !chair.From.Equal(t0) || chair.To != nil {
		t.Errorf("chair %+v", chair)
	}
	if code := e.do(geo.AccessAdmin, "POST", base, map[string]any{"name": "李四", "phone": "13900008002", "from": t0.Add(day).Format(time.RFC3339)}, &member); code != 201 {
		t.Fatalf("adding a member: %d", code)
	}
	if member.Role != "member" {
		t.Errorf("default role %q, want member", member.Role)
	}
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "POST", base, map[string]any{"name": "王五", "phone": "13900008003", "role": "chair"}, &p); code != 409 {
		t.Errorf("a second chair: %d, want 409 (%s)", code, p.Detail)
	}
	if code := e.do(geo.AccessAdmin, "POST", base, map[string]any{"person_id": chair.Person.ID}, &p); code != 409 {
		t.Errorf("the chair again as member: %d, want 409 (%s)", code, p.Detail)
	}
	// The same name and phone is the same person.
	var again orgMemberAnswer
	other := e.mustCreate(geo.OrgLeftBehindChildren, "2村关爱会", nil)
	e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/members", other.ID), map[string]any{"name": "张三", "phone": "13900008001"}, &again)
	if again.Person.ID != chair.Person.ID {
		t.Errorf("张三 with the same phone is person %d, want %d", again.Person.ID, chair.Person.ID)
	}

	// The chair steps down on day 3, 王五 takes over; 李四 leaves on day 5.
	var ended orgMemberAnswer
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("%s/%d/end", base, chair.ID), map[string]string{"to": t0.Add(3 * day).Format(time.RFC3339)}, &ended); code != 200 {
		t.Fatalf("ending the chair: %d", code)
	}
	if ended.To == nil || !ended.To.Equal(t0.Add(3*day)) {
		t.Errorf("ended %+v", ended)
	}
	if code := e.do(geo.AccessAdmin, "POST", base, map[string]any{"name": "王五", "phone": "13900008003", "role": "chair", "from": t0.Add(3 * day).Format(time.RFC3339)}, nil); code != 201 {
		t.Errorf("the next chair: %d", code)
	}
	e.setNow(t0.Add(5 * day))
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("%s/%d", base, member.ID), nil, &ended); code != 200 || ended.To == nil || !ended.To.Equal(t0.Add(5*day)) {
		t.Errorf("DELETE a membership: %d %+v, want it ended now", code, ended)
	}
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("%s/%d", base, member.ID), nil, &p); code != 409 {
		t.Errorf("ending it twice: %d, want 409", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("%s/%d/end", base, chair.ID), map[string]string{"to": t0.Add(-day).Format(time.RFC3339)}, &p); code != 409 {
		t.Errorf("ending an ended membership: %d, want 409", code)
	}

	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Hour), ""},
		{t0.Add(time.Hour), "张三:chair"},
		{t0.Add(2 * day), "张三:chair 李四:member"},
		{t0.Add(4 * day), "王五:chair 李四:member"},
		{t0.Add(6 * day), "王五:chair"},
	} {
		for _, role := range []geo.AccessRole{geo.AccessViewer, geo.AccessAdmin} {
			var got struct{ Members []orgMemberAnswer }
			e.do(role, "GET", base+"?at="+tt.at.Format(time.RFC3339), nil, &got)
			var names []string
			for _, m := range got.Members {
				names = append(names, m.Person.Name+":"+m.Role)
				if (m.Person.Phone != "") != (role == geo.AccessAdmin) {
					t.Errorf("%s sees phone %q of %s", role, m.Person.Phone, m.Person.Name)
				}
			}
			if s := strings.Join(names, " "); s != tt.want {
				t.Errorf("members at %s: %q, want %q", tt.at.Sub(t0), s, tt.want)
			}
		}
	}
}

// TestOrganizations_attachmentHistory attaches and detaches organizations
// over a day: the grid asked at four moments gives four answers, each from
// the database, and the grid without at= answers from the snapshot, rebuilt
// after every change.
func TestOrganizations_attachmentHistory(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	imported := e.gridOrgs(orgGrid5, "")
	x := e.mustCreate(geo.OrgPartyGroup, "2村党员先锋队", nil)
	y := e.mustCreate(geo.OrgOther, "2村巾帼志愿队", nil)
	t1, t2, t3 := e.start.Add(time.Hour), e.start.Add(2*time.Hour), e.start.Add(3*time.Hour)

	e.setNow(t1)
	var attached struct{ Grids []orgGridAnswer }
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids", x.ID), map[string]any{"grid": orgGrid5}, &attached); code != 201 {
		t.Fatalf("attaching x: %d", code)
	}
	if len(attached.Grids) != 1 || attached.Grids[0].Code != orgGrid5 || attached.Grids[0].Name != "网格5" || !attached.Grids[0].From.Equal(t1) {
		t.Errorf("attached %+v", attached.Grids)
	}
	if got := e.gridOrgs(orgGrid5, ""); len(got) != len(imported)+1 {
		t.Errorf("after attaching x the grid lists %q", got)
	}
	e.setNow(t2)
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids", y.ID), map[string]any{"grids": []string{orgGrid5, orgGrid6}}, nil); code != 201 {
		t.Fatalf("attaching y: %d", code)
	}
	e.setNow(t3.Add(time.Hour))
	var detached orgGridAnswer
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids/%s/detach", x.ID, orgGrid5), map[string]string{"to": t3.Format(time.RFC3339)}, &detached); code != 200 {
		t.Fatalf("detaching x: %d", code)
	}
	if detached.To == nil || !detached.To.Equal(t3) || !detached.From.Equal(t1) {
		t.Errorf("detached %+v", detached)
	}

	with := func(extra ...string) string {
		return strings.Join(append(append([]string{}, imported...), extra...), ",")
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{t1.Add(-time.Minute), with()},
		{t1.Add(time.Minute), with("2村党员先锋队")},
		{t2.Add(time.Minute), with("2村党员先锋队", "2村巾帼志愿队")},
		{t3.Add(time.Minute), with("2村巾帼志愿队")},
	} {
		if got := strings.Join(e.gridOrgs(orgGrid5, tt.at.Format(time.RFC3339)), ","); got != tt.want {
			t.Errorf("grid 5 at %s: %s, want %s", tt.at.Sub(e.start), got, tt.want)
		}
	}
	if got := strings.Join(e.gridOrgs(orgGrid5, ""), ","); got != with("2村巾帼志愿队") {
		t.Errorf("grid 5 now: %s", got)
	}
	if n := e.reloads.Load(); n != 3 {
		t.Errorf("%d reloads, want one per attachment change (3)", n)
	}

	var history struct{ Grids []orgGridAnswer }
	e.do(geo.AccessViewer, "GET", fmt.Sprintf("/v1/organizations/%d/grids", x.ID), nil, &history)
	if len(history.Grids) != 1 || history.Grids[0].To == nil {
		t.Errorf("x's attachments %+v, want one, ended", history.Grids)
	}
	var now orgAnswer
	e.do(geo.AccessViewer, "GET", fmt.Sprintf("/v1/organizations/%d?at=%s", y.ID, t1.Format(time.RFC3339)), nil, &now)
	if len(now.Grids) != 0 {
		t.Errorf("y at t1 serves %+v, want nothing yet", now.Grids)
	}
	e.do(geo.AccessViewer, "GET", fmt.Sprintf("/v1/organizations/%d", y.ID), nil, &now)
	if len(now.Grids) != 2 {
		t.Errorf("y now serves %+v, want grids 5 and 6", now.Grids)
	}
	if rows := e.auditRows(fmt.Sprintf("organization:%d", x.ID)); strings.Join(rows, ";") != "organization.create by admin-1;organization.attach by admin-1;organization.detach by admin-1" {
		t.Errorf("audit log of x: %q", rows)
	}
}

// TestOrganizations_doubleAttach: the exclusion constraint refuses a
// second attachment overlapping the first, even from concurrent requests,
// and a refused request attaches none of its grids.
func TestOrganizations_doubleAttach(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgMediation, "2村第二调解会", nil)
	target := fmt.Sprintf("/v1/organizations/%d/grids", o.ID)
	if code := e.do(geo.AccessAdmin, "POST", target, map[string]any{"grid": orgGrid4}, nil); code != 201 {
		t.Fatalf("first attachment: %d", code)
	}
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "POST", target, map[string]any{"grids": []string{orgGrid5, orgGrid4}}, &p); code != 409 {
		t.Fatalf("attaching grid 4 again: %d, want 409", code)
	}
	if !strings.Contains(p.Detail, orgGrid4) {
		t.Errorf("detail %q does not name the grid", p.Detail)
	}
	// Overlapping in the past is a double attachment too.
	if code := e.do(geo.AccessAdmin, "POST", target, map[string]any{"grid": orgGrid4, "from": e.start.Add(-24 * time.Hour).Format(time.RFC3339)}, nil); code != 409 {
		t.Errorf("attaching grid 4 from yesterday: %d, want 409", code)
	}

	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(geo.AccessAdmin, "POST", target, map[string]any{"grid": orgGrid6}, nil)
		}()
	}
	wg.Wait()
	if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
		t.Errorf("two concurrent attachments: %v, want one 201 and one 409", codes)
	}

	var history struct{ Grids []orgGridAnswer }
	e.do(geo.AccessViewer, "GET", target, nil, &history)
	var got []string
	for _, g := range history.Grids {
		got = append(got, g.Code)
	}
	if strings.Join(got, ",") != orgGrid4+","+orgGrid6 {
		t.Errorf("attachments %v, want grids 4 and 6 only (nothing half-written)", got)
	}
	if rows := e.auditRows(fmt.Sprintf("organization:%d", o.ID)); len(rows) != 3 {
		t.Errorf("audit log %q, want creation and two attachments", rows)
	}
}

// TestOrganizations_end ends an organization: its memberships and
// attachments end the same instant, nothing is deleted, it takes no more
// members or grids, and reopening it restores neither.
func TestOrganizations_end(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgHealthCommittee, "2村第二爱卫会", nil)
	base := fmt.Sprintf("/v1/organizations/%d", o.ID)
	e.do(geo.AccessAdmin, "POST", base+"/grids", map[string]any{"grids": []string{orgGrid4, orgGrid5}}, nil)
	e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "陈七", "phone": "13900009001", "role": "chair"}, nil)
	e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "周八", "phone": "13900009002"}, nil)

	end := e.start.Add(2 * time.Hour)
	var p problemAnswer
	if code := e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "吴九", "phone": "13900009003", "from": end.Add(time.Hour).Format(time.RFC3339)}, nil); code != 201 {
		t.Fatalf("a member from later: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", base, map[string]any{"ended_at": end.Format(time.RFC3339)}, &p); code != 409 || !strings.Contains(p.Detail, "membership") {
		t.Errorf("ending before a membership starts: %d %q, want 409 naming it", code, p.Detail)
	}
	end = end.Add(2 * time.Hour)
	e.setNow(end.Add(time.Hour))
	var ended orgAnswer
	if code := e.do(geo.AccessAdmin, "PATCH", base, map[string]any{"status": "ended", "ended_at": end.Format(time.RFC3339)}, &ended); code != 200 {
		t.Fatalf("ending: %d", code)
	}
	if ended.Status != "ended" || ended.EndedAt == nil || !ended.EndedAt.Equal(end) || len(ended.Grids) != 0 {
		t.Errorf("ended %+v", ended)
	}
	var members struct{ Members []orgMemberAnswer }
	e.do(geo.AccessAdmin, "GET", base+"/members?at="+end.Add(-time.Minute).Format(time.RFC3339), nil, &members)
	if len(members.Members) != 3 {
		t.Errorf("%d members just before the end, want 3", len(members.Members))
	}
	e.do(geo.AccessAdmin, "GET", base+"/members?at="+end.Format(time.RFC3339), nil, &members)
	if len(members.Members) != 0 {
		t.Errorf("%d members at the end, want 0", len(members.Members))
	}
	var history struct{ Grids []orgGridAnswer }
	e.do(geo.AccessViewer, "GET", base+"/grids", nil, &history)
	for _, g := range history.Grids {
		if g.To == nil || !g.To.Equal(end) {
			t.Errorf("attachment to %s ends %v, want %v", g.Code, g.To, end)
		}
	}
	if len(history.Grids) != 2 {
		t.Errorf("%d attachments kept, want 2", len(history.Grids))
	}
	for _, name := range e.gridOrgs(orgGrid4, "") {
		if name == o.Name {
			t.Errorf("grid 4 still lists %s", o.Name)
		}
	}
	if code := e.do(geo.AccessAdmin, "POST", base+"/grids", map[string]any{"grid": orgGrid6}, &p); code != 409 {
		t.Errorf("attaching an ended organization: %d, want 409", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "郑十", "phone": "13900009004"}, &p); code != 409 {
		t.Errorf("a member of an ended organization: %d, want 409", code)
	}
	if code := e.do(geo.AccessAdmin, "PATCH", base, map[string]any{"status": "ended"}, &p); code != 409 {
		t.Errorf("ending twice: %d, want 409", code)
	}
	var list struct{ Organizations []orgAnswer }
	e.do(geo.AccessViewer, "GET", "/v1/organizations?status=ended", nil, &list)
	if len(list.Organizations) != 1 || list.Organizations[0].ID != o.ID {
		t.Errorf("ended organizations %+v", list.Organizations)
	}
	var reopened orgAnswer
	if code := e.do(geo.AccessAdmin, "PATCH", base, map[string]any{"status": "active"}, &reopened); code != 200 || reopened.Status != "active" || reopened.EndedAt != nil || len(reopened.Grids) != 0 {
		t.Errorf("reopening: %d %+v", code, reopened)
	}
	if rows := e.auditRows("organization:" + fmt.Sprint(o.ID)); len(rows) != 7 || rows[5] != "organization.end by admin-1" || rows[6] != "organization.reopen by admin-1" {
		t.Errorf("audit log %q", rows)
	}
}

// TestOrganizations_coNotification: dispatch co-notifies the health
// committee of a grid that had none once one is attached, without a
// restart.
func TestOrganizations_coNotification(t *testing.T) {
	t.Parallel()
	td := dispatchTown()
	g6 := &td.Grids[5]
	var kept []geo.OrganizationRef
	for _, o := range g6.Organizations {
		if o.Kind != geo.OrgHealthCommittee {
			kept = append(kept, o)
		}
	}
	g6.Organizations = kept
	e := newOrgEnv(t, td)
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(6), "environment", "minor"), &inc)
	if inc.Grid == nil || inc.Grid.Code != orgGrid6 || len(inc.CoNotified) != 0 {
		t.Fatalf("before: grid %+v co-notified %+v, want grid 6 and nobody", inc.Grid, inc.CoNotified)
	}
	hc := e.mustCreate(geo.OrgHealthCommittee, "2村网格6爱卫会", nil)
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids", hc.ID), map[string]any{"grid": orgGrid6}, nil); code != 201 {
		t.Fatalf("attaching: %d", code)
	}
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(6), "environment", "minor"), &inc)
	if len(inc.CoNotified) != 1 || inc.CoNotified[0].Kind != "health_committee" || inc.CoNotified[0].Name != hc.Name {
		t.Errorf("after attaching: co-notified %+v, want %s", inc.CoNotified, hc.Name)
	}
}

// TestOrganizations_notifies: a change to what grids list is announced on
// the registry's channel with the current generation, for other replicas.
func TestOrganizations_notifies(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgOther, "2村老年协会", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	payloads := make(chan string, 8)
	go e.db.Listen(ctx, func(p string) { payloads <- p })
	if p := <-payloads; p != "" {
		t.Fatalf("first payload %q, want the empty one sent when listening starts", p)
	}
	e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids", o.ID), map[string]any{"grid": orgGrid4}, nil)
	select {
	case p := <-payloads:
		if p != fmt.Sprint(e.snap.Generation) {
			t.Errorf("payload %q, want generation %d", p, e.snap.Generation)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after an attachment")
	}
}

// phonePattern matches the mobiles and landlines of dispatchTown and of
// these tests, standing alone (not inside a grid code).
var phonePattern = regexp.MustCompile(`(?:^|[^0-9])(1[3-9][0-9]{9}|0738-?[0-9]{7})(?:[^0-9]|$)`)

// TestOrganizations_noPhoneForViewers reads every organization endpoint as
// each role: only dispatchers and admins ever see a phone.
func TestOrganizations_noPhoneForViewers(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t, dispatchTown())
	o := e.mustCreate(geo.OrgRedWhiteCouncil, "2村红白理事会二", map[string]string{"name": "刘会长", "phone": "0738-6812999"})
	base := fmt.Sprintf("/v1/organizations/%d", o.ID)
	e.do(geo.AccessAdmin, "POST", base+"/members", map[string]any{"name": "钱一", "phone": "13900006001", "role": "chair"}, nil)
	e.do(geo.AccessAdmin, "POST", base+"/grids", map[string]any{"grid": orgGrid4}, nil)
	targets := []string{"/v1/organizations", "/v1/organizations?status=all&grid=" + orgGrid4, base, base + "/members", base + "/grids",
		"/v1/grids/" + orgGrid4, "/v1/grids/" + orgGrid4 + "?at=" + e.start.Add(time.Minute).Format(time.RFC3339)}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessPlanner, geo.AccessDispatcher, geo.AccessAdmin} {
		personal := role.SeesPersonalData()
		seen := false
		for _, target := range targets {
			rec := e.raw(role, "GET", target)
			if rec.code != 200 {
				t.Fatalf("GET %s as %q: %d", target, role, rec.code)
			}
			if m := phonePattern.FindStringSubmatch(rec.body); m != nil {
				seen = true
				if !personal {
					t.Errorf("GET %s as %q shows phone %s", target, role, m[1])
				}
			}
		}
		if personal && !seen {
			t.Errorf("%s saw no phone at all", role)
		}
	}
}

type rawAnswer struct {
	code int
	body string
}

// raw sends a GET as role and returns the status and body unparsed.
func (e *orgEnv) raw(role geo.AccessRole, method, target string) rawAnswer {
	e.t.Helper()
	var body json.RawMessage
	code := e.do(role, method, target, nil, &body)
	return rawAnswer{code: code, body: string(body)}
}
