package geo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

var loginNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func ago(d ...time.Duration) []time.Time {
	out := make([]time.Time, len(d))
	for i, x := range d {
		out[i] = loginNow.Add(-x)
	}
	return out
}

func TestCheckRateLimits(t *testing.T) {
	limits := geo.DefaultLoginLimits()
	perMinute, perHour, perAddress := limits[0], limits[1], limits[2]
	twenty := make([]time.Duration, 20)
	for i := range twenty {
		twenty[i] = time.Duration(i+1) * time.Minute
	}
	tests := []struct {
		name      string
		byNumber  []time.Time
		byAddress []time.Time
		want      *geo.RateLimitError
	}{
		{"first request", nil, nil, nil},
		{"one 61 s ago", ago(61 * time.Second), ago(61 * time.Second), nil},
		{"one 20 s ago: wait 40 s", ago(20 * time.Second), ago(20 * time.Second), &geo.RateLimitError{Limit: perMinute, RetryAfter: 40 * time.Second}},
		{"one exactly a minute ago has left the window", ago(time.Minute), nil, nil},
		{"four in the hour", ago(2*time.Minute, 10*time.Minute, 20*time.Minute, 59*time.Minute), nil, nil},
		{"five in the hour: wait for the oldest to leave", ago(2*time.Minute, 10*time.Minute, 20*time.Minute, 30*time.Minute, 50*time.Minute), nil,
			&geo.RateLimitError{Limit: perHour, RetryAfter: 10 * time.Minute}},
		{"five in the hour and one 10 s ago: the longer wait wins", ago(10*time.Second, 10*time.Minute, 20*time.Minute, 30*time.Minute, 50*time.Minute), nil,
			&geo.RateLimitError{Limit: perHour, RetryAfter: 10 * time.Minute}},
		{"nineteen from the address", nil, ago(twenty[:19]...), nil},
		{"twenty from the address", nil, ago(twenty...), &geo.RateLimitError{Limit: perAddress, RetryAfter: 40 * time.Minute}},
		{"a request from the future does not count", ago(-time.Minute), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := geo.CheckRateLimits(limits, tc.byNumber, tc.byAddress, loginNow)
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("limited: %v", got)
			case tc.want != nil && got == nil:
				t.Fatalf("not limited, want %v", tc.want)
			case tc.want != nil && *got != *tc.want:
				t.Fatalf("got %v (%+v), want %+v", got, *got, *tc.want)
			}
		})
	}
	if s := perMinute.String(); s != "1 a minute per number" {
		t.Errorf("limit reads %q", s)
	}
}

func TestLoginCode(t *testing.T) {
	keys := geo.NewLoginKeys([]byte("0123456789abcdef0123456789abcdef"))
	seen := map[string]bool{}
	for range 200 {
		code := geo.NewLoginCode()
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("code %q: want 6 digits", code)
		}
		seen[code] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes, only %d different", len(seen))
	}
	salt := geo.NewSalt()
	hash := keys.CodeHash(salt, "13900000001", "123456")
	if len(hash) != 32 {
		t.Fatalf("hash of %d bytes", len(hash))
	}
	tests := []struct {
		name        string
		salt        []byte
		phone, code string
		want        bool
	}{
		{"right", salt, "13900000001", "123456", true},
		{"wrong code", salt, "13900000001", "123457", false},
		{"another number", salt, "13900000002", "123456", false},
		{"another salt", geo.NewSalt(), "13900000001", "123456", false},
	}
	for _, tc := range tests {
		if got := keys.CodeMatches(tc.salt, hash, tc.phone, tc.code); got != tc.want {
			t.Errorf("%s: matches = %v", tc.name, got)
		}
	}
	other := geo.NewLoginKeys([]byte("another key, another server....."))
	if other.CodeMatches(salt, hash, "13900000001", "123456") {
		t.Error("a code hashed under one key matches under another")
	}
}

func TestSessionToken(t *testing.T) {
	keys := geo.NewLoginKeys([]byte("0123456789abcdef0123456789abcdef"))
	cl := geo.SessionClaims{SessionID: 42, PersonID: 7, ExpiresAt: loginNow.Add(geo.SessionTTL)}
	token := keys.IssueSession(cl)
	if !strings.HasPrefix(token, geo.SessionTokenPrefix) {
		t.Fatalf("token %q lacks the prefix", token)
	}
	got, err := keys.VerifySession(token, loginNow)
	if err != nil || got != cl {
		t.Fatalf("verify: %+v, %v; want %+v", got, err, cl)
	}
	flip := []byte(token)
	flip[len(flip)/2] ^= 1
	tests := []struct {
		name  string
		keys  geo.LoginKeys
		token string
		at    time.Time
		want  string
	}{
		{"expired", keys, token, cl.ExpiresAt, "expired"},
		{"tampered", keys, string(flip), loginNow, "not valid"},
		{"truncated", keys, token[:len(token)-4], loginNow, "not valid"},
		{"another key", geo.NewLoginKeys([]byte("another key, another server.....")), token, loginNow, "not valid"},
		{"no key", geo.NewLoginKeys(nil), token, loginNow, "not valid"},
		{"an API token", keys, "wg_abc", loginNow, "not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.keys.VerifySession(tc.token, tc.at)
			if err == nil || !strings.Contains(geo.ErrorMessage(err), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestPersonScope: who sees and who may act on an incident of grid
// 431321101201001 in village 431321101201, assigned to its leader, told
// to the village's mediation committee.
func TestPersonScope(t *testing.T) {
	inc := &geo.Incident{Number: "WG00000001", GridCode: "431321101201001", VillageCode: "431321101201",
		Assignee:   geo.Assignee{Role: geo.RoleLeader, Name: "网格长1", Phone: "13900000001"},
		CoNotified: []geo.OrganizationRef{{Kind: geo.OrgMediation, Name: "1村调委会"}}}
	person := func(phone string, roles []geo.Assignment, chairs ...geo.ChairOf) *geo.PersonScope {
		return &geo.PersonScope{Person: geo.Person{ID: 1, Name: "某人", Phone: phone}, Roles: roles, Chairs: chairs}
	}
	grid := func(role geo.Role, code string) []geo.Assignment {
		return []geo.Assignment{{Role: role, GridCode: code}}
	}
	tests := []struct {
		name   string
		scope  *geo.PersonScope
		action geo.Action
		want   string // "" allowed, else a part of the refusal
	}{
		{"the assignee accepts", person("13900000001", nil), geo.ActAccept, ""},
		{"the grid's deputy resolves", person("13800000001", grid(geo.RoleDeputy, "431321101201001")), geo.ActResolve, ""},
		{"a member asks to escalate", person("13700000001", grid(geo.RoleMember, "431321101201001")), geo.ActRequestEscalate, ""},
		{"the village's liaison leader comments", person("13900000100", []geo.Assignment{{Role: geo.RoleLiaisonLeader, VillageCode: "431321101201"}}), geo.ActComment, ""},
		{"the leader of another grid reads", person("13900000005", grid(geo.RoleLeader, "431321101202002")), "", "not yours"},
		{"the leader of another grid comments", person("13900000005", grid(geo.RoleLeader, "431321101202002")), geo.ActComment, "not yours"},
		{"the assignee may not close", person("13900000001", nil), geo.ActClose, "not close"},
		{"the assignee may not reassign", person("13900000001", nil), geo.ActReassign, "not reassign"},
		{"the told chair reads", person("13600000001", nil, geo.ChairOf{Kind: geo.OrgMediation, Name: "1村调委会", VillageCode: "431321101201"}), "", ""},
		{"the told chair comments", person("13600000001", nil, geo.ChairOf{Kind: geo.OrgMediation, Name: "1村调委会", VillageCode: "431321101201"}), geo.ActComment, ""},
		{"the told chair may not resolve", person("13600000001", nil, geo.ChairOf{Kind: geo.OrgMediation, Name: "1村调委会", VillageCode: "431321101201"}), geo.ActResolve, "comment on it only"},
		{"a chair of the same name in another village", person("13600000001", nil, geo.ChairOf{Kind: geo.OrgMediation, Name: "1村调委会", VillageCode: "431321101202"}), "", "not yours"},
		{"nobody's phone matches an empty one", person("", nil), "", "not yours"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.scope.MayAct(inc, tc.action)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want a refusal saying %q", err, tc.want)
			case err != nil && geo.ErrorCode(err) != geo.EFORBIDDEN:
				t.Fatalf("code %s, want forbidden", geo.ErrorCode(err))
			}
		})
	}
	if (&geo.PersonScope{Person: geo.Person{ID: 1}}).HoldsRole() {
		t.Error("a person with no role holds one")
	}
	left := person("13900000001", grid(geo.RoleLeader, "431321101201001"))
	left.Person.EndedAt = loginNow
	if left.HoldsRole() {
		t.Error("a person who left holds a role")
	}
}

func TestRequestActionsKeepStatus(t *testing.T) {
	for _, a := range []geo.Action{geo.ActRequestReassign, geo.ActRequestEscalate} {
		for _, from := range []geo.Status{geo.StDispatched, geo.StInProgress, geo.StReopened} {
			if to, err := geo.Transition(from, a); err != nil || to != from {
				t.Errorf("%s from %s: %s, %v; want %s", a, from, to, err, from)
			}
		}
		if _, err := geo.Transition(geo.StResolved, a); geo.ErrorCode(err) != geo.ECONFLICT {
			t.Errorf("%s of a resolved incident: %v, want a conflict", a, err)
		}
	}
	_, err := geo.CheckEvent(geo.EventRequest{Action: "request_escalate", Note: "  "}, "网格长1")
	var ge *geo.Error
	if !errors.As(err, &ge) || len(ge.Problems) != 1 || ge.Problems[0].Where != "note" {
		t.Fatalf("request_escalate without a reason: %v, want a problem at note", err)
	}
	if _, err := geo.CheckEvent(geo.EventRequest{Action: "request_reassign", Note: "我在外地学习，请改派"}, "网格长1"); err != nil {
		t.Fatalf("request_reassign with a reason: %v", err)
	}
}

func TestLoginCodeMessages(t *testing.T) {
	channels := []geo.Channel{
		{ID: 1, Name: "短信", Kind: geo.ChanSMS, Enabled: true},
		{ID: 2, Name: "停用短信", Kind: geo.ChanSMS},
		{ID: 3, Name: "只发派单", Kind: geo.ChanSMS, Enabled: true, Kinds: []geo.MessageKind{geo.MsgRouted}},
		{ID: 4, Name: "群机器人", Kind: geo.ChanWeCom, Enabled: true},
		{ID: 5, Name: "验证码短信", Kind: geo.ChanSMS, Enabled: true, Kinds: []geo.MessageKind{geo.MsgLoginCode}},
	}
	msgs := geo.LoginCodeMessages(channels, 9, geo.Person{ID: 3, Name: "网格长1", Phone: "13900000001"}, "012345")
	if len(msgs) != 2 || msgs[0].ChannelID != 1 || msgs[1].ChannelID != 5 {
		t.Fatalf("messages %+v, want through channels 1 and 5", msgs)
	}
	m := msgs[0]
	if m.ID != "login-9-c1" || m.Kind != geo.MsgLoginCode || m.To.Phone != "13900000001" || m.Fields["code"] != "012345" || m.Fields["minutes"] != "10" {
		t.Errorf("message %+v", m)
	}
	if geo.LoginCodeChannels(channels[1:4]) != nil {
		t.Error("a disabled SMS channel, one without login codes and a group robot carry codes")
	}
}
