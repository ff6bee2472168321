package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// newAuthServer serves the demo town with one token per role; it returns
// the secrets by role.
func newAuthServer(t *testing.T) (*api.Server, map[geo.AccessRole]string) {
	var reg geo.Registry
	reg.Store(demo)
	var set geo.TokenSet
	tokens := map[[32]byte]geo.Token{}
	secrets := map[geo.AccessRole]string{}
	for _, role := range geo.AccessRoles {
		secret, hash := geo.NewTokenSecret()
		tokens[hash] = geo.Token{Name: string(role) + "-test", Role: role, Hash: hash}
		secrets[role] = secret
	}
	set.Store(tokens)
	return api.New(&reg, nil, api.Config{Tokens: &set}, nil), secrets
}

func TestAuth_phonesOnlyForDispatchersAndAdmins(t *testing.T) {
	srv, secrets := newAuthServer(t)
	g := demo.Grids[0]
	v := g.Geometry[0][0][0]
	for _, target := range []string{"/v1/grids/" + g.Code, fmt.Sprintf("/v1/locate?lon=%v&lat=%v", v[0], v[1])} {
		for _, role := range append([]geo.AccessRole{""}, geo.AccessRoles...) {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if role != "" {
				req.Header.Set("Authorization", "Bearer "+secrets[role])
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("%s as %q: %d %s", target, role, rec.Code, rec.Body)
			}
			shows := strings.Contains(rec.Body.String(), g.Leader.Phone)
			if want := role.SeesPersonalData(); shows != want {
				t.Errorf("%s as %q: shows the leader's phone: %v, want %v", target, role, shows, want)
			}
		}
	}
}

func TestAuth_badTokens(t *testing.T) {
	srv, _ := newAuthServer(t)
	for _, h := range []string{"Bearer wg_nope", "Basic dXNlcjpwYXNz", "Bearer ", "token"} {
		req := httptest.NewRequest(http.MethodGet, "/v1/villages", nil)
		req.Header.Set("Authorization", h)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || rec.Header().Get("Content-Type") != api.ProblemContentType {
			t.Errorf("Authorization %q: %d %v", h, rec.Code, rec.Header())
		}
	}
}

func TestAccessRole_allows(t *testing.T) {
	tests := []struct {
		role, need geo.AccessRole
		want       bool
	}{
		{geo.AccessViewer, geo.AccessViewer, true},
		{geo.AccessViewer, geo.AccessDispatcher, false},
		{geo.AccessDispatcher, geo.AccessDispatcher, true},
		{geo.AccessDispatcher, geo.AccessPlanner, false},
		{geo.AccessPlanner, geo.AccessDispatcher, false},
		{geo.AccessAdmin, geo.AccessPlanner, true},
		{geo.AccessAdmin, geo.AccessDispatcher, true},
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.need); got != tt.want {
			t.Errorf("%s allows %s: %v, want %v", tt.role, tt.need, got, tt.want)
		}
	}
}
