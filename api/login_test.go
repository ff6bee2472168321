package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
)

// loginEnv is a notifyEnv (an outbox, an SMS gateway receiver, a worker)
// whose server lets people sign in. The proxy 192.0.2.1 (httptest's peer
// address) is trusted, so a test picks a client address with
// X-Forwarded-For.
type loginEnv struct {
	*notifyEnv
}

func newLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	e := &loginEnv{newNotifyEnv(t)}
	e.serve(api.Config{Outbox: e.db, Channels: e.db, SecretKey: e.key, PublicURL: "https://wangge.example.cn",
		Logins: e.db, TrustedProxies: []string{"192.0.2.1"}})
	return e
}

// post sends a JSON body anonymously and returns the status, the headers
// and the problem (if any); responses are checked against openapi.json.
func (e *loginEnv) post(target string, body any, header ...string) (int, http.Header, problemAnswer) {
	e.t.Helper()
	j, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", target, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	var p problemAnswer
	if rec.Code >= 400 {
		json.Unmarshal(rec.Body.Bytes(), &p)
	}
	return rec.Code, rec.Header(), p
}

// bearer is the header of a session token, for e.do's header arguments.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

type sessionAnswer struct {
	Token     string
	ExpiresAt time.Time `json:"expires_at"`
	Person    struct {
		ID   int64
		Name string
	}
}

var smsCode = regexp.MustCompile(`验证码为 (\d{6})`)

// codeFor asks for a code for phone (from the client address addr) and
// returns the code the SMS gateway received for it.
func (e *loginEnv) codeFor(t *testing.T, phone, addr string) string {
	t.Helper()
	before := len(e.sms.Received())
	var acc struct {
		ExpiresIn int `json:"expires_in"`
	}
	if code := e.do("", "POST", "/v1/login/code", map[string]string{"phone": phone}, &acc, "X-Forwarded-For", addr); code != 202 || acc.ExpiresIn != 600 {
		t.Fatalf("asking for a code: %d, expires_in %d", code, acc.ExpiresIn)
	}
	e.deliver(t)
	for _, m := range e.sms.Received()[before:] {
		if m.Phone != phone {
			continue
		}
		if got := smsCode.FindStringSubmatch(m.Text); got != nil {
			return got[1]
		}
		t.Fatalf("the SMS %q carries no code", m.Text)
	}
	t.Fatalf("no SMS reached %s; refusals %v", phone, e.sms.Refusals())
	return ""
}

// signIn signs phone in with a code sent by SMS and returns the session.
func (e *loginEnv) signIn(t *testing.T, phone string) sessionAnswer {
	t.Helper()
	code := e.codeFor(t, phone, "198.51.100."+phone[len(phone)-2:])
	var s sessionAnswer
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": phone, "code": code}, &s); status != 200 || s.Token == "" {
		t.Fatalf("signing in %s: %d", phone, status)
	}
	return s
}

// personID finds a person by name through the admin API.
func (e *loginEnv) personID(t *testing.T, name string) int64 {
	t.Helper()
	var out struct {
		People []struct {
			ID   int64
			Name string
		}
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/people?name="+name, nil, &out); code != 200 {
		t.Fatalf("people: %d", code)
	}
	for _, p := range out.People {
		if p.Name == name {
			return p.ID
		}
	}
	t.Fatalf("no person %s", name)
	return 0
}

// linkFor makes a login link for the person called name and signs in with it.
func (e *loginEnv) linkFor(t *testing.T, name string) sessionAnswer {
	t.Helper()
	var link struct{ Token, URL string }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": e.personID(t, name)}, &link); code != 201 {
		t.Fatalf("link for %s: %d", name, code)
	}
	var s sessionAnswer
	if code := e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &s); code != 200 {
		t.Fatalf("signing in %s by link: %d", name, code)
	}
	return s
}

func (e *loginEnv) auditActions(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_log WHERE action = $1", action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLogin_codeDeliveredBySMS: a leader asks for a code, the SMS gateway
// receives it, and the code read from the SMS's text signs them in; the
// session tells who they are and what they hold. A number that belongs to
// nobody gets the same answer and no SMS.
func TestLogin_codeDeliveredBySMS(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	s := e.signIn(t, "13900000001")
	if s.Person.Name != "网格长1" || !s.ExpiresAt.Equal(t0.Add(geo.SessionTTL)) || !strings.HasPrefix(s.Token, "wgs_") {
		t.Errorf("session %+v", s)
	}
	var me struct {
		Person struct{ Name string }
		Roles  []struct {
			Role    string
			Grid    *struct{ Code, Name string }
			Village *struct{ Code, Name string }
		}
	}
	if code := e.do("", "GET", "/v1/me", nil, &me, bearer(s.Token)...); code != 200 {
		t.Fatalf("GET /v1/me: %d", code)
	}
	if me.Person.Name != "网格长1" || len(me.Roles) != 1 || me.Roles[0].Role != "leader" || me.Roles[0].Grid == nil ||
		me.Roles[0].Grid.Code != "431321101201001" || me.Roles[0].Grid.Name != "网格1" || me.Roles[0].Village == nil || me.Roles[0].Village.Name != "1村" {
		t.Errorf("me %+v", me)
	}

	// Nobody's number: the same answer, no SMS.
	before := len(e.sms.Received())
	var acc map[string]any
	if code := e.do("", "POST", "/v1/login/code", map[string]string{"phone": "13912340000"}, &acc); code != 202 || acc["expires_in"] != float64(600) {
		t.Errorf("nobody's number: %d %v, want 202 as for a leader", code, acc)
	}
	e.deliver(t)
	if got := e.sms.Received()[before:]; len(got) != 0 {
		t.Errorf("nobody's number was sent %d SMS", len(got))
	}
	// A landline cannot take an SMS.
	var p problemAnswer
	if code := e.do("", "POST", "/v1/login/code", map[string]string{"phone": "0738-6812345"}, &p); code != 400 {
		t.Errorf("a landline: %d, want 400", code)
	}
	if n := e.auditActions(t, "login.code"); n != 1 {
		t.Errorf("%d login.code entries in the audit log, want 1 (the leader's)", n)
	}
	if n := e.auditActions(t, "login"); n != 1 {
		t.Errorf("%d login entries in the audit log, want 1", n)
	}
	// The session is not an API token: the dispatcher's list stays shut.
	if code := e.do("", "GET", "/v1/incidents", nil, &p, bearer(s.Token)...); code != 403 {
		t.Errorf("a person listing every incident: %d, want 403", code)
	}
}

// TestLogin_wrongCodeAndTooManyTries: a wrong code says how many tries
// remain; the fifth wrong one kills the code, so that even the right code
// no longer opens it; a new code does. A number that belongs to nobody
// answers exactly as a leader's does.
func TestLogin_wrongCodeAndTooManyTries(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	code := e.codeFor(t, "13900000001", "198.51.100.1")
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	e.do("", "POST", "/v1/login/code", map[string]string{"phone": "13912340000"}, nil, "X-Forwarded-For", "198.51.100.2")
	for try := 1; try <= 5; try++ {
		var p, q problemAnswer
		status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13900000001", "code": wrong}, &p)
		nobody := e.do("", "POST", "/v1/login", map[string]string{"phone": "13912340000", "code": wrong}, &q)
		if status != 401 || nobody != 401 || p.Detail != q.Detail || p.Type != q.Type {
			t.Errorf("try %d: leader %d %+v, nobody %d %+v: want the same 401", try, status, p, nobody, q)
		}
		switch {
		case try < 5 && (p.Type != "/problems/login-failed" || !strings.Contains(p.Detail, fmt.Sprintf("%d tr", 5-try))):
			t.Errorf("try %d: %+v, want login-failed with %d tries left", try, p, 5-try)
		case try == 5 && p.Type != "/problems/login-locked":
			t.Errorf("try 5: %+v, want login-locked", p)
		}
	}
	var p problemAnswer
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13900000001", "code": code}, &p); status != 401 || p.Type != "/problems/login-locked" {
		t.Errorf("the right code after 5 wrong ones: %d %+v, want login-locked", status, p)
	}
	if n := e.auditActions(t, "login.fail"); n != 11 {
		t.Errorf("%d login.fail entries, want 11", n)
	}
	e.setNow(t0.Add(61 * time.Second))
	fresh := e.codeFor(t, "13900000001", "198.51.100.1")
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13900000001", "code": fresh}, nil); status != 200 {
		t.Errorf("a new code: %d, want 200", status)
	}
	// A spent code does not sign in twice.
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13900000001", "code": fresh}, &p); status != 401 || p.Type != "/problems/login-expired" {
		t.Errorf("a spent code: %d %+v, want login-expired", status, p)
	}
	// Not six digits: a bad request that costs no try.
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13900000001", "code": "12345"}, &p); status != 400 {
		t.Errorf("five digits: %d, want 400", status)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestLogin_expiredCode: a code is valid for 10 minutes.
func TestLogin_expiredCode(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	code := e.codeFor(t, "13800000001", "198.51.100.1")
	e.setNow(t0.Add(geo.LoginCodeTTL))
	var p problemAnswer
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13800000001", "code": code}, &p); status != 401 || p.Type != "/problems/login-expired" {
		t.Errorf("a code 10 minutes old: %d %+v, want login-expired", status, p)
	}
	e.setNow(t0.Add(20 * time.Minute))
	code = e.codeFor(t, "13800000001", "198.51.100.1")
	e.setNow(t0.Add(29*time.Minute + 59*time.Second))
	var s sessionAnswer
	if status := e.do("", "POST", "/v1/login", map[string]string{"phone": "13800000001", "code": code}, &s); status != 200 || s.Person.Name != "副网格长1" {
		t.Errorf("a code 9:59 old: %d %+v, want the deputy signed in", status, s)
	}
}

// TestLogin_rateLimits: one code a minute and five an hour per number,
// twenty an hour per client address; a refusal names the limit and says
// when to retry.
func TestLogin_rateLimits(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	t.Run("per number", func(t *testing.T) {
		steps := []struct {
			at         time.Duration
			want       int
			limit      string
			retryAfter string
		}{
			{0, 202, "", ""},
			{10 * time.Second, 429, "1 a minute per number", "50"},
			{60 * time.Second, 202, "", ""},
			{2 * time.Minute, 202, "", ""},
			{3 * time.Minute, 202, "", ""},
			{4 * time.Minute, 202, "", ""},
			{5 * time.Minute, 429, "5 an hour per number", "3300"},
			{60 * time.Minute, 202, "", ""},
		}
		for _, st := range steps {
			e.setNow(t0.Add(st.at))
			status, header, p := e.post("/v1/login/code", map[string]string{"phone": "13900000005"}, "X-Forwarded-For", "198.51.100.5")
			if status != st.want {
				t.Errorf("at +%s: %d, want %d (%+v)", st.at, status, st.want, p)
				continue
			}
			if st.want == 429 && (p.Type != "/problems/rate-limited" || !strings.Contains(p.Detail, st.limit) || header.Get("Retry-After") != st.retryAfter) {
				t.Errorf("at +%s: %+v Retry-After %q, want the limit %q and %s s", st.at, p, header.Get("Retry-After"), st.limit, st.retryAfter)
			}
		}
	})
	t.Run("per address", func(t *testing.T) {
		e.setNow(t0.Add(2 * time.Hour))
		for i := range 20 {
			if status, _, p := e.post("/v1/login/code", map[string]string{"phone": fmt.Sprintf("1371234%04d", i)}, "X-Forwarded-For", "203.0.113.7"); status != 202 {
				t.Fatalf("number %d from one address: %d %+v", i, status, p)
			}
		}
		status, header, p := e.post("/v1/login/code", map[string]string{"phone": "13712349999"}, "X-Forwarded-For", "203.0.113.7")
		if status != 429 || !strings.Contains(p.Detail, "20 an hour per address") || header.Get("Retry-After") != "3600" {
			t.Errorf("the 21st number from one address: %d %+v Retry-After %q", status, p, header.Get("Retry-After"))
		}
		if status, _, _ := e.post("/v1/login/code", map[string]string{"phone": "13712349999"}, "X-Forwarded-For", "203.0.113.8"); status != 202 {
			t.Errorf("the same number from another address: %d, want 202", status)
		}
	})
}

// TestLogin_linkUsedTwice: an admin's login link signs in once, for 24
// hours, and only a person who holds a role gets one.
func TestLogin_linkUsedTwice(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	id := e.personID(t, "网格长5")
	var link struct {
		Token, URL string
		ExpiresAt  time.Time `json:"expires_at"`
		Person     struct{ Name string }
	}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/login/links", map[string]any{"person_id": id}, nil); code != 403 {
		t.Errorf("a dispatcher making a link: %d, want 403", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": id}, &link); code != 201 {
		t.Fatalf("link: %d", code)
	}
	if link.URL != "https://wangge.example.cn/m/#/login/"+link.Token || !link.ExpiresAt.Equal(t0.Add(24*time.Hour)) || link.Person.Name != "网格长5" {
		t.Errorf("link %+v", link)
	}
	var s sessionAnswer
	if code := e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &s); code != 200 || s.Person.Name != "网格长5" {
		t.Fatalf("first use: %d %+v", code, s)
	}
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(s.Token)...); code != 200 {
		t.Errorf("the link's session: %d", code)
	}
	var p problemAnswer
	if code := e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &p); code != 401 || p.Type != "/problems/login-link-used" {
		t.Errorf("second use: %d %+v, want login-link-used", code, p)
	}
	if code := e.do("", "POST", "/v1/login/link", map[string]string{"token": "wgl_nothing"}, &p); code != 401 || p.Type != "/problems/login-failed" {
		t.Errorf("an unknown link: %d %+v, want login-failed", code, p)
	}
	e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": id}, &link)
	e.setNow(t0.Add(24 * time.Hour))
	if code := e.do("", "POST", "/v1/login/link", map[string]string{"token": link.Token}, &p); code != 401 || p.Type != "/problems/login-expired" {
		t.Errorf("a link 24 h old: %d %+v, want login-expired", code, p)
	}
	var nobody struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "王五", "phone": "13900009999"}, &nobody); code != 201 {
		t.Fatalf("new person: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": nobody.ID}, &p); code != 409 {
		t.Errorf("a link for a person with no role: %d %+v, want 409", code, p)
	}
	if code := e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": 99999}, nil); code != 404 {
		t.Errorf("a link for nobody: %d, want 404", code)
	}
	if n := e.auditActions(t, "login_link.create"); n != 2 {
		t.Errorf("%d login_link.create entries, want 2", n)
	}
	if n := e.auditActions(t, "login_link.use"); n != 1 {
		t.Errorf("%d login_link.use entries, want 1", n)
	}
}

// TestLogin_personScope: a leader reads and works on their grid's
// incidents, not another grid's (403), sees the reporter's phone but no
// other, may not take the dispatcher's steps, and can ask for an
// escalation, which the dispatcher sees.
func TestLogin_personScope(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	var mine, urgent, other incidentAnswer
	for _, c := range []struct {
		out  *incidentAnswer
		grid int
		sev  string
	}{{&mine, 1, "minor"}, {&urgent, 1, "urgent"}, {&other, 5, "minor"}} {
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(c.grid), "safety", c.sev), c.out); code != 201 {
			t.Fatalf("intake: %d", code)
		}
	}
	leader := e.linkFor(t, "网格长1")
	as := bearer(leader.Token)

	var got incidentAnswer
	if code := e.do("", "GET", "/v1/incidents/"+mine.Number, nil, &got, as...); code != 200 {
		t.Fatalf("the leader reading their incident: %d", code)
	}
	if got.Reporter == nil || got.Reporter.Phone != "13912345678" || got.Assignee == nil || got.Assignee.Phone != "" {
		t.Errorf("the leader sees reporter %+v, assignee %+v: want the reporter's phone only", got.Reporter, got.Assignee)
	}
	var p problemAnswer
	if code := e.do("", "GET", "/v1/incidents/"+other.Number, nil, &p, as...); code != 403 || !strings.Contains(p.Detail, "not yours") {
		t.Errorf("the leader reading grid 5's incident: %d %+v, want 403", code, p)
	}
	if code := e.do("", "POST", "/v1/incidents/"+other.Number+"/events", map[string]any{"action": "accept"}, &p, as...); code != 403 {
		t.Errorf("the leader accepting grid 5's incident: %d, want 403", code)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+other.Number, nil, &got); code != 200 || got.Status != "dispatched" || len(got.Events) != 2 {
		t.Errorf("grid 5's incident after the refusal: %s with %d events, want dispatched, unchanged", got.Status, len(got.Events))
	}

	if code := e.do("", "POST", "/v1/incidents/"+mine.Number+"/events", map[string]any{"action": "accept"}, &got, as...); code != 200 || got.Status != "accepted" {
		t.Fatalf("accept: %d %s", code, got.Status)
	}
	if last := got.Events[len(got.Events)-1]; !strings.HasPrefix(last.Actor, "网格长1 (person ") {
		t.Errorf("the event's actor is %q, want the leader", last.Actor)
	}
	for _, action := range []string{"close", "verify", "reassign", "escalate"} {
		if code := e.do("", "POST", "/v1/incidents/"+mine.Number+"/events", map[string]any{"action": action}, &p, as...); code != 403 {
			t.Errorf("the leader's %s: %d, want 403", action, code)
		}
	}
	if code := e.do("", "POST", "/v1/incidents/"+mine.Number+"/events", map[string]any{"action": "request_escalate"}, &p, as...); code != 400 {
		t.Errorf("request_escalate without a reason: %d, want 400", code)
	}
	if code := e.do("", "POST", "/v1/incidents/"+mine.Number+"/events", map[string]any{"action": "request_escalate", "note": "涉及两个村，需镇里协调"}, &got, as...); code != 200 || got.Status != "accepted" {
		t.Errorf("request_escalate: %d %s, want 200 and the status kept", code, got.Status)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+mine.Number, nil, &got); code != 200 || got.Events[len(got.Events)-1].Action != "request_escalate" {
		t.Errorf("the dispatcher does not see the request: %+v", got.Events)
	}

	var list struct {
		Incidents []incidentAnswer
	}
	if code := e.do("", "GET", "/v1/me/incidents", nil, &list, as...); code != 200 {
		t.Fatalf("my incidents: %d", code)
	}
	var numbers []string
	for _, inc := range list.Incidents {
		numbers = append(numbers, inc.Number)
	}
	if !slices.Equal(numbers, []string{urgent.Number, mine.Number}) {
		t.Errorf("my incidents %v, want the urgent one (due first), then %s; never %s", numbers, mine.Number, other.Number)
	}
	if code := e.do("", "GET", "/v1/me/incidents?status=closed", nil, &list, as...); code != 200 || len(list.Incidents) != 0 {
		t.Errorf("my closed incidents: %d, %d", code, len(list.Incidents))
	}
	if code := e.do("", "GET", "/v1/me/incidents?status=mine", nil, &p, as...); code != 400 {
		t.Errorf("?status=mine: %d, want 400", code)
	}

	// The village's liaison leader sees the village's incidents; the
	// deputy of grid 5 sees grid 5's only.
	liaison := e.linkFor(t, "联村组长甲")
	if code := e.do("", "GET", "/v1/me/incidents", nil, &list, bearer(liaison.Token)...); code != 200 || len(list.Incidents) != 2 {
		t.Errorf("the liaison leader's incidents: %d, %d, want 2", code, len(list.Incidents))
	}
	deputy := e.linkFor(t, "副网格长5")
	if code := e.do("", "GET", "/v1/me/incidents", nil, &list, bearer(deputy.Token)...); code != 200 || len(list.Incidents) != 1 || list.Incidents[0].Number != other.Number {
		t.Errorf("grid 5's deputy's incidents: %d %+v", code, list.Incidents)
	}
}

// TestLogin_sessionLogout: logging out ends the session on this server
// and, through the revoked sessions, on another replica; a session also
// ends after 30 days; API tokens are not sessions.
func TestLogin_sessionLogout(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t)
	s := e.linkFor(t, "网格长1")
	other := e.linkFor(t, "网格长5")
	replica := api.New(e.reg, e.db, api.Config{Tokens: e.tokens, Now: e.clock, Incidents: e.db, People: e.db, Logins: e.db, SecretKey: e.key}, nil)
	if err := replica.ReloadSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(s.Token)...); code != 200 {
		t.Fatalf("before logout: %d", code)
	}
	var p problemAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/logout", nil, &p); code != 403 {
		t.Errorf("a dispatcher's token logging out: %d, want 403", code)
	}
	if code := e.do("", "POST", "/v1/logout", nil, nil, bearer(s.Token)...); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code := e.do("", "GET", "/v1/me", nil, &p, bearer(s.Token)...); code != 401 || !strings.Contains(p.Detail, "ended") {
		t.Errorf("after logout: %d %+v, want 401", code, p)
	}
	if code := e.do("", "POST", "/v1/logout", nil, nil, bearer(s.Token)...); code != 401 {
		t.Errorf("logging out twice: %d, want 401", code)
	}
	// The replica learns of it when told (NOTIFY sessions → ReloadSessions).
	e.srv, replica = replica, e.srv
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(s.Token)...); code != 200 {
		t.Errorf("the replica before reloading: %d, want 200 (from memory)", code)
	}
	if err := e.srv.ReloadSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(s.Token)...); code != 401 {
		t.Errorf("the replica after reloading: %d, want 401", code)
	}
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(other.Token)...); code != 200 {
		t.Errorf("another person's session on the replica: %d, want 200", code)
	}
	e.srv = replica
	forged := other.Token[:len(other.Token)-2] + "AA"
	if code := e.do("", "GET", "/v1/me", nil, nil, bearer(forged)...); code != 401 {
		t.Errorf("a forged token: %d, want 401", code)
	}
	e.setNow(t0.Add(geo.SessionTTL))
	if code := e.do("", "GET", "/v1/me", nil, &p, bearer(other.Token)...); code != 401 || !strings.Contains(p.Detail, "expired") {
		t.Errorf("after 30 days: %d %+v, want 401 expired", code, p)
	}
	if code := e.do(geo.AccessAdmin, "GET", "/v1/me", nil, nil); code != 403 {
		t.Errorf("an admin token on /v1/me: %d, want 403", code)
	}
	if code := e.do("", "GET", "/v1/me", nil, nil); code != 401 {
		t.Errorf("anonymous /v1/me: %d, want 401", code)
	}
}

// TestLogin_noSMSChannel: without an SMS channel no code can be sent; the
// answer says to ask for a login link.
func TestLogin_noSMSChannel(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	e.serve(api.Config{Outbox: e.db, Channels: e.db, SecretKey: []byte("0123456789abcdef0123456789abcdef"), Logins: e.db})
	var p problemAnswer
	if code := e.do("", "POST", "/v1/login/code", map[string]string{"phone": "13900000001"}, &p); code != 503 ||
		p.Type != "/problems/no-sms-channel" || !strings.Contains(p.Detail, "login link") {
		t.Errorf("no SMS channel: %d %+v", code, p)
	}
	e.serve(api.Config{})
	if code := e.do("", "POST", "/v1/login/code", map[string]string{"phone": "13900000001"}, &p); code != 503 {
		t.Errorf("no sign-in on this server: %d, want 503", code)
	}
}
