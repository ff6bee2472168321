package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

// leaveEnv is the demo town with leave on three grids, and a server whose
// clock the test sets:
//
//   - away: the leader is on leave over two periods back to back (one
//     absence, until the end of the second); the deputy covers;
//   - both: leader and deputy away; the fallback chain goes past them;
//   - present: nobody away.
type leaveEnv struct {
	snap                *geo.Snapshot
	away, both, present *geo.GridRecord
	now                 time.Time
	c                   *client
	secrets             map[geo.AccessRole]string
}

func newLeaveEnv(t *testing.T) *leaveEnv {
	t.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e := &leaveEnv{now: loaded.Add(10 * 24 * time.Hour)}
	var picked []int
	for i, g := range td.Grids {
		if g.Leader != nil && g.Deputy != nil && len(picked) < 3 {
			picked = append(picked, i)
		}
	}
	// The leave starts after the snapshot was loaded: what views show
	// follows the clock, not the last reload.
	start := loaded.Add(9 * 24 * time.Hour)
	day := 24 * time.Hour
	td.Grids[picked[0]].Leader.Leave = []geo.Period{{From: start, To: start.Add(2 * day)}, {From: start.Add(2 * day), To: start.Add(5 * day)}}
	td.Grids[picked[1]].Leader.Leave = []geo.Period{{From: start, To: start.Add(day + time.Hour)}}
	td.Grids[picked[1]].Deputy.Leave = []geo.Period{{From: start, To: start.Add(3 * day)}}
	codes := []string{td.Grids[picked[0]].Code, td.Grids[picked[1]].Code, td.Grids[picked[2]].Code}
	if e.snap, err = geo.NewSnapshot(1, td.Area(), loaded); err != nil {
		t.Fatal(err)
	}
	e.away, _ = e.snap.Grid(codes[0])
	e.both, _ = e.snap.Grid(codes[1])
	e.present, _ = e.snap.Grid(codes[2])

	var reg geo.Registry
	reg.Store(e.snap)
	var set geo.TokenSet
	tokens := map[[32]byte]geo.Token{}
	e.secrets = map[geo.AccessRole]string{}
	for _, role := range geo.AccessRoles {
		secret, hash := geo.NewTokenSecret()
		tokens[hash] = geo.Token{Name: string(role) + "-test", Role: role, Hash: hash}
		e.secrets[role] = secret
	}
	set.Store(tokens)
	e.c = newClientFor(t, &reg)
	e.c.srv = api.New(&reg, nil, api.Config{Tokens: &set, Now: func() time.Time { return e.now }}, nil)
	return e
}

// staff is a leader or deputy as the views show them.
type staff struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	OnLeave *struct {
		From      time.Time `json:"from"`
		Until     time.Time `json:"until"`
		CoveredBy *struct {
			Role   geo.Role  `json:"role"`
			Level  geo.Level `json:"level"`
			Name   string    `json:"name"`
			Phone  string    `json:"phone"`
			Reason string    `json:"reason"`
		} `json:"covered_by"`
	} `json:"on_leave"`
}

// inside is a point inside g (not on a border shared with another grid).
func (e *leaveEnv) inside(t *testing.T, g *geo.GridRecord) orb.Point {
	t.Helper()
	b := g.Geometry.Bound()
	for i := 1; i < 20; i++ {
		for j := 1; j < 20; j++ {
			p := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i)/20, b.Min[1] + (b.Max[1]-b.Min[1])*float64(j)/20}
			if loc, ok := e.snap.Locate(p, 0); ok && loc.Grid.Code == g.Code && loc.Match.String() == "inside" {
				return p
			}
		}
	}
	t.Fatalf("no point inside %s", g.Code)
	return orb.Point{}
}

// views returns the leader and deputy of g as locate, grid detail and
// coverage show them to role.
func (e *leaveEnv) views(t *testing.T, g *geo.GridRecord, role geo.AccessRole) map[string][2]staff {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + e.secrets[role]}
	p := e.inside(t, g)
	out := map[string][2]staff{}

	var loc struct{ Leader, Deputy staff }
	if r := e.c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1]), auth...); r.StatusCode != 200 {
		t.Fatalf("locate: %d %s", r.StatusCode, r.body)
	} else {
		r.json(t, &loc)
	}
	out["locate"] = [2]staff{loc.Leader, loc.Deputy}

	var detail struct {
		Properties struct{ Leader, Deputy staff } `json:"properties"`
	}
	if r := e.c.get("/v1/grids/"+g.Code, auth...); r.StatusCode != 200 {
		t.Fatalf("grid detail: %d %s", r.StatusCode, r.body)
	} else {
		r.json(t, &detail)
	}
	out["grid detail"] = [2]staff{detail.Properties.Leader, detail.Properties.Deputy}

	if role == geo.AccessDispatcher || role == geo.AccessAdmin {
		var cov struct {
			Grids []struct {
				Code           string `json:"code"`
				Leader, Deputy staff
			} `json:"grids"`
		}
		body := fmt.Sprintf(`{"geometry":{"type":"Point","coordinates":[%v,%v]},"radius_m":1}`, p[0], p[1])
		if r := e.c.do(http.MethodPost, "/v1/coverage", []byte(body), auth...); r.StatusCode != 200 {
			t.Fatalf("coverage: %d %s", r.StatusCode, r.body)
		} else {
			r.json(t, &cov)
		}
		for _, cg := range cov.Grids {
			if cg.Code == g.Code {
				out["coverage"] = [2]staff{cg.Leader, cg.Deputy}
			}
		}
		if _, ok := out["coverage"]; !ok {
			t.Fatalf("coverage around a point of %s does not list it: %+v", g.Code, cov.Grids)
		}
	}
	return out
}

// Every view a dispatcher routes from shows a leader on leave with until
// when and who covers: the person routing sends a new matter of the grid
// to at that moment.
func TestRouting_leaveShownInEveryView(t *testing.T) {
	t.Parallel()
	e := newLeaveEnv(t)
	day := 24 * time.Hour
	start := e.now.Add(-day)
	for _, tt := range []struct {
		name         string
		g            *geo.GridRecord
		leaderUntil  time.Time // zero: present
		deputyUntil  time.Time
		coveringRole geo.Role // who covers, as routing decides (the oracle below)
	}{
		{"leader away, deputy covers", e.away, start.Add(5 * day), time.Time{}, geo.RoleDeputy},
		{"both away, the chain goes on", e.both, start.Add(day + time.Hour), start.Add(3 * day), ""},
		{"nobody away", e.present, time.Time{}, time.Time{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			routed, ok := e.snap.Assign("", tt.g, geo.LevelGrid, e.now)
			if !ok {
				t.Fatal("nobody on duty in the demo town")
			}
			if tt.coveringRole != "" && routed.Role != tt.coveringRole {
				t.Fatalf("routing sends %s's matters to %s, want %s", tt.g.Code, routed.Role, tt.coveringRole)
			}
			for _, role := range []geo.AccessRole{geo.AccessViewer, geo.AccessDispatcher} {
				for view, got := range e.views(t, tt.g, role) {
					for i, want := range []struct {
						c     *geo.Contact
						until time.Time
					}{{tt.g.Leader, tt.leaderUntil}, {tt.g.Deputy, tt.deputyUntil}} {
						s := got[i]
						if s.Name != want.c.Name {
							t.Errorf("%s as %s: person %d is %q, want %q", view, role, i, s.Name, want.c.Name)
						}
						if want.until.IsZero() {
							if s.OnLeave != nil {
								t.Errorf("%s as %s: %s is present, shown on leave %+v", view, role, s.Name, s.OnLeave)
							}
							continue
						}
						if s.OnLeave == nil || !s.OnLeave.Until.Equal(want.until) || !s.OnLeave.From.Equal(start) || s.OnLeave.CoveredBy == nil {
							t.Errorf("%s as %s: %s on leave %+v, want from %s until %s with who covers", view, role, s.Name, s.OnLeave, start, want.until)
							continue
						}
						cb := s.OnLeave.CoveredBy
						if cb.Name != routed.Name || cb.Role != routed.Role || cb.Level != routed.Level || cb.Reason != routed.Reason {
							t.Errorf("%s as %s: %s covered by %+v, routing sends to %+v", view, role, s.Name, *cb, routed)
						}
						if personal := role == geo.AccessDispatcher; (cb.Phone != "") != personal || personal && cb.Phone != routed.Phone {
							t.Errorf("%s as %s: covering phone %q", view, role, cb.Phone)
						}
					}
				}
			}
		})
	}
}

// Leave shows from the moment it starts, without a reload; the grid
// detail's ETag changes with it, so a cached answer is not served.
func TestRouting_leaveFollowsTheClock(t *testing.T) {
	t.Parallel()
	e := newLeaveEnv(t)
	during := e.now
	e.now = during.Add(-2 * 24 * time.Hour) // before the leave
	before := e.c.get("/v1/grids/" + e.away.Code)
	p := e.inside(t, e.away)
	target := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1])
	if r := e.c.get(target); strings.Contains(string(r.body), "on_leave") || strings.Contains(string(before.body), "on_leave") {
		t.Errorf("before the leave: locate %s, grid %s", r.body, before.body)
	}
	e.now = during
	r := e.c.get("/v1/grids/"+e.away.Code, "If-None-Match", before.Header.Get("ETag"))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"on_leave"`) {
		t.Errorf("once the leave started, the grid detail with the old ETag: %d %s", r.StatusCode, r.body)
	}
	if r := e.c.get(target); !strings.Contains(string(r.body), `"on_leave"`) {
		t.Errorf("once the leave started, locate: %s", r.body)
	}
	// Present people render as before leave was shown: the bytes rendered
	// once per snapshot stay valid.
	var raw map[string]json.RawMessage
	e.c.get(target).json(t, &raw)
	if string(raw["deputy"]) != fmt.Sprintf(`{"name":%q}`, e.away.Deputy.Name) {
		t.Errorf("a present deputy: %s", raw["deputy"])
	}
}
