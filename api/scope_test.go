package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"wangge/api"
	"wangge/geo"
)

// Roles scoped to a town: a town's token sees and acts on its town, a
// county's (unscoped) token on every town.

// The towns of the scope tests: dispatchTown and its neighbour to the east,
// sharing the border x = 112.03.
const (
	townA = "431321101"
	townB = "431321102"
)

// Tokens of the scope tests, kept in dispatchEnv.secrets under these keys.
const (
	dispatcherA geo.AccessRole = "dispatcher@" + townA
	dispatcherB geo.AccessRole = "dispatcher@" + townB
	viewerA     geo.AccessRole = "viewer@" + townA
	plannerA    geo.AccessRole = "planner@" + townA
	adminA      geo.AccessRole = "admin@" + townA
)

// neighbourTown is a second town east of dispatchTown: one village of two
// grids, each with a leader, and its own duty desk.
func neighbourTown() *geo.TownData {
	vcode := townB + "201"
	td := &geo.TownData{Town: geo.Town{Code: townB, Name: "邻镇", Outline: square(112.03, 27, 112.05, 27.02),
		Districts: []geo.District{{Code: "01", Name: "一片"}}, DutyDesk: &geo.Contact{Name: "邻镇值班室", Phone: "0738-6819999"}}}
	td.Villages = []geo.Village{{Code: vcode, Name: "邻村", DistrictCode: "01", Outline: square(112.03, 27, 112.05, 27.02)}}
	for g := 0; g < 2; g++ {
		td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{Code: fmt.Sprintf("%s%03d", vcode, g+1), Name: fmt.Sprintf("邻网格%d", g+1),
			VillageCode: vcode, Households: 50, Population: 150,
			Geometry: square(112.03+0.01*float64(g), 27, 112.04+0.01*float64(g), 27.02)},
			Leader: &geo.Contact{Name: fmt.Sprintf("邻网格长%d", g+1), Phone: fmt.Sprintf("1370000%04d", g+1)}})
	}
	return td
}

// inB is a point inside the neighbour town's first grid.
var inB = orb.Point{112.035, 27.01}

// newScopeEnv is a dispatch environment over both towns, with tokens
// made by the token store: town A's and town B's dispatchers and town A's
// viewer, beside the env's unscoped (county) token of every role.
func newScopeEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	e := newDispatchEnv(t, dispatchTown())
	ctx := context.Background()
	e.setNow(importedAt)
	if _, err := e.db.ImportTown(ctx, neighbourTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	e.setNow(t0)
	if err := e.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.snap.Towns) != 2 {
		t.Fatalf("%d towns loaded, want 2", len(e.snap.Towns))
	}
	for _, tok := range []struct {
		key  geo.AccessRole
		role geo.AccessRole
		town string
	}{{dispatcherA, geo.AccessDispatcher, townA}, {dispatcherB, geo.AccessDispatcher, townB}, {viewerA, geo.AccessViewer, townA},
		{plannerA, geo.AccessPlanner, townA}, {adminA, geo.AccessAdmin, townA}} {
		secret, err := e.db.CreateScopedToken(ctx, string(tok.key), tok.role, tok.town, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.secrets[tok.key] = secret
	}
	active, err := e.db.ActiveTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for role, secret := range e.secrets {
		if h := geo.HashToken(secret); active[h].Name == "" {
			active[h] = geo.Token{Name: string(role) + "-1", Role: role, Hash: h}
		}
	}
	e.tokens.Store(active)
	e.serve(api.Config{Photos: e.db, Plans: e.db})
	return e
}

// scopeProblem is a problem answer, decoded.
type scopeProblem struct {
	Type, Detail string
	Errors       []geo.Problem
}

// TestScopedTokens_store: a token may be limited to a town of the
// deployment, named by its 9-digit code; listing shows the scope.
func TestScopedTokens_store(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	ctx := context.Background()
	for _, town := range []string{"43132110", "4313211011", "43132110x", "431321199"} {
		if _, err := e.db.CreateScopedToken(ctx, "bad-"+town, geo.AccessDispatcher, town, "test"); geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("town %q: %v, want EINVALID", town, err)
		} else if !strings.Contains(err.Error(), town) {
			t.Errorf("town %q: %v does not name it", town, err)
		}
	}
	tokens, err := e.db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tok := range tokens {
		got[tok.Name] = tok.TownCode
	}
	if len(got) != 5 || got[string(dispatcherA)] != townA || got[string(dispatcherB)] != townB || got[string(viewerA)] != townA {
		t.Errorf("tokens listed with their towns: %v", got)
	}
	county, err := e.db.CreateToken(ctx, "county", geo.AccessDispatcher, "test")
	if err != nil || county == "" {
		t.Fatal(err)
	}
	active, _ := e.db.ActiveTokens(ctx)
	if tok := active[geo.HashToken(county)]; tok.Name != "county" || tok.TownCode != "" {
		t.Errorf("an unscoped token: %+v", tok)
	}
	var n int
	e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE target = $1 AND after->>'town' = $2`, "token:"+string(dispatcherA), townA).Scan(&n)
	if n != 1 {
		t.Errorf("%d audit entries name the token's town, want 1", n)
	}
}

// TestScopedDispatcher_refusedOnOtherTown: a town's dispatcher reads and
// acts on its town's incidents and is refused (403, the scope's problem
// type, naming both towns) on the other town's, and on creating one
// located there; locating stays open across towns; a county dispatcher
// reaches both.
func TestScopedDispatcher_refusedOnOtherTown(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	var a, b incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "minor"), &a); code != 201 {
		t.Fatalf("county dispatcher, town A: %d", code)
	}
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(inB, "safety", "minor"), &b); code != 201 {
		t.Fatalf("county dispatcher, town B: %d", code)
	}
	if b.Grid == nil || !strings.HasPrefix(b.Grid.Code, townB) || b.Assignee == nil || b.Assignee.Name != "邻网格长1" {
		t.Fatalf("town B's incident routed to %+v, %+v", b.Grid, b.Assignee)
	}
	var town struct{ Town string }
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+b.Number, nil, &town)
	if town.Town != townB {
		t.Errorf("incident %s: town %q, want %s", b.Number, town.Town, townB)
	}

	refused := func(what string, code int, p scopeProblem) {
		t.Helper()
		if code != 403 || p.Type != api.TypeOutsideTown || !strings.Contains(p.Detail, townA) || !strings.Contains(p.Detail, townB) {
			t.Errorf("%s: %d %+v, want 403 %s naming both towns", what, code, p, api.TypeOutsideTown)
		}
	}
	var p scopeProblem
	refused("GET", e.do(dispatcherA, "GET", "/v1/incidents/"+b.Number, nil, &p), p)
	p = scopeProblem{}
	refused("events", e.do(dispatcherA, "POST", "/v1/incidents/"+b.Number+"/events", map[string]any{"action": "accept"}, &p), p)
	p = scopeProblem{}
	refused("photos", e.do(dispatcherA, "GET", "/v1/incidents/"+b.Number+"/photos", nil, &p), p)
	p = scopeProblem{}
	refused("OGC item", e.do(dispatcherA, "GET", "/ogc/collections/incidents/items/"+b.Number, nil, &p), p)
	p = scopeProblem{}
	refused("correcting its incident to a place in town B", e.do(dispatcherA, "POST", "/v1/incidents/"+a.Number+"/events",
		map[string]any{"action": "correct", "lon": inB[0], "lat": inB[1], "note": "位置填错了"}, &p), p)
	p = scopeProblem{}
	refused("merging its incident into town B's", e.do(dispatcherA, "POST", "/v1/incidents/"+a.Number+"/events",
		map[string]any{"action": "merge", "into": b.Number, "note": "同一件事"}, &p), p)
	before := e.incidentCount()
	p = scopeProblem{}
	refused("create in town B", e.do(dispatcherA, "POST", "/v1/incidents", newIncident(inB, "safety", "minor"), &p), p)
	p = scopeProblem{}
	refused("create by grid code in town B", e.do(dispatcherA, "POST", "/v1/incidents",
		map[string]any{"grid": townB + "201002", "category": "safety", "severity": "minor", "description": "x", "source": "walk_in"}, &p), p)
	if n := e.incidentCount(); n != before {
		t.Errorf("refused creations wrote %d incidents", n-before)
	}
	var ev incidentAnswer
	if code := e.do(dispatcherB, "POST", "/v1/incidents/"+b.Number+"/events", map[string]any{"action": "accept"}, &ev); code != 200 || ev.Status != "accepted" {
		t.Errorf("town B's dispatcher on town B's incident: %d %s", code, ev.Status)
	}
	var mine incidentAnswer
	if code := e.do(dispatcherA, "GET", "/v1/incidents/"+a.Number, nil, &mine); code != 200 || mine.Number != a.Number {
		t.Errorf("town A's dispatcher on town A's incident: %d", code)
	}
	// Privacy unchanged: the town's dispatcher sees the reporter's phone
	// and the assignee's of its own town's incidents, as any dispatcher.
	if mine.Reporter == nil || mine.Reporter.Phone != "13912345678" || mine.Assignee == nil || mine.Assignee.Phone == "" {
		t.Errorf("town A's dispatcher sees no phones: %+v %+v", mine.Reporter, mine.Assignee)
	}
	if code := e.do(dispatcherA, "POST", "/v1/incidents", newIncident(centre(5), "safety", "minor"), nil); code != 201 {
		t.Errorf("town A's dispatcher creating in town A: %d", code)
	}
	// Locating is dispatch across towns: open to every caller.
	var loc struct{ Grid struct{ Code string } }
	if code := e.do(dispatcherA, "GET", fmt.Sprintf("/v1/locate?lon=%v&lat=%v", inB[0], inB[1]), nil, &loc); code != 200 || !strings.HasPrefix(loc.Grid.Code, townB) {
		t.Errorf("town A's dispatcher locating in town B: %d %+v", code, loc)
	}
	// A town-scoped viewer is still a viewer.
	if code := e.do(viewerA, "GET", "/v1/incidents/"+a.Number, nil, nil); code != 403 {
		t.Errorf("town A's viewer on an incident: %d, want 403", code)
	}
	// The county dispatcher reaches both towns.
	for _, n := range []string{a.Number, b.Number} {
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+n, nil, nil); code != 200 {
			t.Errorf("county dispatcher on %s: %d", n, code)
		}
	}
}

// TestScopedDispatcher_lists: lists, stats and the OGC collection keep a
// town's dispatcher to its town; a county dispatcher sees every town, or
// the one ?town= names (validated: 400 naming town).
func TestScopedDispatcher_lists(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	numbers := map[string][]string{}
	for i, p := range []orb.Point{centre(1), inB, centre(2), {112.045, 27.005}, centre(6)} {
		var out incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(p, "safety", "minor"), &out); code != 201 {
			t.Fatalf("incident %d: %d", i, code)
		}
		numbers[out.Grid.Code[:9]] = append(numbers[out.Grid.Code[:9]], out.Number)
	}
	if len(numbers[townA]) != 3 || len(numbers[townB]) != 2 {
		t.Fatalf("incidents by town: %v", numbers)
	}
	list := func(role geo.AccessRole, query string) (int, []string) {
		t.Helper()
		var out struct {
			Incidents []struct{ Number, Town string }
		}
		code := e.do(role, "GET", "/v1/incidents"+query, nil, &out)
		var got []string
		for _, inc := range out.Incidents {
			if inc.Town == "" {
				t.Errorf("incident %s listed without its town", inc.Number)
			}
			got = append(got, inc.Town)
		}
		return code, got
	}
	count := func(towns []string, town string) int {
		n := 0
		for _, t := range towns {
			if t == town {
				n++
			}
		}
		return n
	}
	if code, got := list(dispatcherA, ""); code != 200 || len(got) != 3 || count(got, townA) != 3 {
		t.Errorf("town A's dispatcher lists %d: %v, want town A's 3", code, got)
	}
	if code, got := list(dispatcherB, ""); code != 200 || len(got) != 2 || count(got, townB) != 2 {
		t.Errorf("town B's dispatcher lists %d: %v, want town B's 2", code, got)
	}
	if code, got := list(dispatcherA, "?town="+townA); code != 200 || len(got) != 3 {
		t.Errorf("town A's dispatcher asking for town A: %d %v", code, got)
	}
	var p scopeProblem
	if code := e.do(dispatcherA, "GET", "/v1/incidents?town="+townB, nil, &p); code != 403 || p.Type != api.TypeOutsideTown {
		t.Errorf("town A's dispatcher asking for town B: %d %+v", code, p)
	}
	if code, got := list(geo.AccessDispatcher, ""); code != 200 || len(got) != 5 {
		t.Errorf("county dispatcher lists %d: %v, want all 5", code, got)
	}
	if code, got := list(geo.AccessDispatcher, "?town="+townB); code != 200 || len(got) != 2 || count(got, townB) != 2 {
		t.Errorf("county dispatcher asking for town B: %d %v", code, got)
	}
	for _, bad := range []string{"43132110", "abc", "431321199", ""} {
		p = scopeProblem{}
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents?town="+bad, nil, &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Where != "town" {
			t.Errorf("?town=%s: %d %+v, want 400 naming town", bad, code, p)
		}
	}
	// A grid of the other town filters to nothing, never to its incidents.
	if code, got := list(dispatcherA, "?grid="+townB+"201001"); code != 200 || len(got) != 0 {
		t.Errorf("town A's dispatcher filtering on a grid of town B: %d %v", code, got)
	}

	stats := func(role geo.AccessRole, query string) (int, int, string) {
		t.Helper()
		var out struct {
			Received int
			Scope    struct{ Town string }
		}
		code := e.do(role, "GET", "/v1/stats"+query, nil, &out)
		return code, out.Received, out.Scope.Town
	}
	if code, n, town := stats(dispatcherA, ""); code != 200 || n != 3 || town != townA {
		t.Errorf("town A's stats: %d received %d (scope %q), want 3 of town A", code, n, town)
	}
	if code, n, _ := stats(geo.AccessDispatcher, ""); code != 200 || n != 5 {
		t.Errorf("county stats: %d received %d, want 5", code, n)
	}
	if code, n, _ := stats(geo.AccessDispatcher, "?town="+townB); code != 200 || n != 2 {
		t.Errorf("county stats of town B: %d received %d, want 2", code, n)
	}
	if code, _, _ := stats(dispatcherB, "?town="+townA); code != 403 {
		t.Errorf("town B's dispatcher on town A's stats: %d, want 403", code)
	}

	ogc := func(role geo.AccessRole) []string {
		t.Helper()
		code, raw := e.ogcGet(role, "/ogc/collections/incidents/items?limit=100")
		var fc struct{ Features []struct{ ID string } }
		if err := json.Unmarshal(raw, &fc); code != 200 || err != nil {
			t.Fatalf("OGC items as %s: %d %v", role, code, err)
		}
		var ids []string
		for _, f := range fc.Features {
			ids = append(ids, f.ID)
		}
		return ids
	}
	if ids := ogc(dispatcherB); len(ids) != 2 || !slices.Contains(numbers[townB], ids[0]) || !slices.Contains(numbers[townB], ids[1]) {
		t.Errorf("town B's dispatcher, OGC items: %v, want %v", ids, numbers[townB])
	}
	if ids := ogc(geo.AccessDispatcher); len(ids) != 5 {
		t.Errorf("county dispatcher, OGC items: %v, want 5", ids)
	}

	// The incidents layer of the vector tiles: one tile over both towns.
	tile := maptile.At(orb.Point{112.03, 27.01}, 11)
	tileNumbers := func(role geo.AccessRole) []string {
		t.Helper()
		req := httptest.NewRequest("GET", tileURL("incidents", tile), nil)
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code == 204 {
			return nil
		}
		layers, err := mvt.Unmarshal(rec.Body.Bytes())
		if rec.Code != 200 || err != nil {
			t.Fatalf("incidents tile as %s: %d %v", role, rec.Code, err)
		}
		var out []string
		for _, l := range layers {
			for _, f := range l.Features {
				out = append(out, fmt.Sprint(f.Properties["number"]))
			}
		}
		return out
	}
	if got := tileNumbers(dispatcherA); len(got) != 3 || slices.ContainsFunc(got, func(n string) bool { return !slices.Contains(numbers[townA], n) }) {
		t.Errorf("town A's dispatcher, incidents tile: %v, want %v", got, numbers[townA])
	}
	if got := tileNumbers(geo.AccessDispatcher); len(got) != 5 {
		t.Errorf("county dispatcher, incidents tile: %v, want 5", got)
	}
}

// TestScopedPlannerAndAdmin: a town's planner opens, reads, edits and
// applies its town's plans only (another town's, or one of every town, is
// 403), and lists its town's; a town's admin appoints and vacates in its
// town's grids and villages only.
func TestScopedPlannerAndAdmin(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	type planAnswer struct {
		ID   int64
		Town *string
	}
	var b planAnswer
	if code := e.do(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"town": townB, "note": "邻镇"}, &b); code != 201 || b.Town == nil || *b.Town != townB {
		t.Fatalf("county planner opening town B's plan: %d %+v", code, b)
	}
	var a planAnswer
	if code := e.do(plannerA, "POST", "/v1/plans", map[string]any{"note": "本镇"}, &a); code != 201 || a.Town == nil || *a.Town != townA {
		t.Fatalf("town A's planner opening a plan without a town: %d %+v, want one of town A", code, a)
	}
	var p scopeProblem
	if code := e.do(plannerA, "POST", "/v1/plans", map[string]any{"town": townB}, &p); code != 403 || p.Type != api.TypeOutsideTown {
		t.Errorf("town A's planner opening town B's plan: %d %+v", code, p)
	}
	idB := fmt.Sprint(b.ID)
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/plans/" + idB},
		{"GET", "/v1/plans/" + idB + "/validation"},
		{"DELETE", "/v1/plans/" + idB + "/grids/" + townB + "201001"},
		{"POST", "/v1/plans/" + idB + "/apply"},
	} {
		p = scopeProblem{}
		if code := e.do(plannerA, r.method, r.path, nil, &p, "If-Match", `"x"`); code != 403 || p.Type != api.TypeOutsideTown ||
			!strings.Contains(p.Detail, townA) || !strings.Contains(p.Detail, townB) {
			t.Errorf("town A's planner: %s %s: %d %+v, want 403 naming both towns", r.method, r.path, code, p)
		}
	}
	if code := e.do(plannerA, "GET", fmt.Sprintf("/v1/plans/%d", a.ID), nil, nil); code != 200 {
		t.Errorf("town A's planner reading its plan: %d", code)
	}
	if code := e.do(plannerA, "GET", "/v1/plans/999999", nil, nil); code != 404 {
		t.Errorf("town A's planner, no such plan: %d, want 404", code)
	}
	var list struct{ Plans []planAnswer }
	if code := e.do(plannerA, "GET", "/v1/plans", nil, &list); code != 200 || len(list.Plans) != 1 || list.Plans[0].ID != a.ID {
		t.Errorf("town A's planner lists %d %+v, want its plan only", code, list.Plans)
	}
	if code := e.do(plannerA, "GET", "/v1/plans?town="+townB, nil, nil); code != 403 {
		t.Errorf("town A's planner listing town B's plans: %d, want 403", code)
	}
	if code := e.do(geo.AccessPlanner, "GET", "/v1/plans", nil, &list); code != 200 || len(list.Plans) != 2 {
		t.Errorf("county planner lists %d %+v, want both", code, list.Plans)
	}

	leader := map[string]any{"name": "新网格长", "phone": "13700000009"}
	p = scopeProblem{}
	if code := e.do(adminA, "PUT", "/v1/grids/"+townB+"201001/leader", leader, &p); code != 403 || p.Type != api.TypeOutsideTown {
		t.Errorf("town A's admin appointing in town B: %d %+v", code, p)
	}
	if code := e.do(adminA, "DELETE", "/v1/grids/"+townB+"201002/leader", nil, nil); code != 403 {
		t.Errorf("town A's admin vacating in town B: %d, want 403", code)
	}
	if code := e.do(adminA, "PUT", "/v1/villages/"+townB+"201/liaison-leader", leader, nil); code != 403 {
		t.Errorf("town A's admin appointing a liaison leader in town B: %d, want 403", code)
	}
	desk := map[string]any{"name": "值班员", "phone": "0738-6810000"}
	if code := e.do(adminA, "PUT", "/v1/towns/"+townB+"/duty-desk", desk, &p); code != 403 || p.Type != api.TypeOutsideTown {
		t.Errorf("town A's admin appointing town B's duty desk: %d %+v", code, p)
	}
	if code := e.do(adminA, "PUT", "/v1/towns/"+townA+"/duty-desk", desk, nil); code != 200 {
		t.Errorf("town A's admin appointing its duty desk: %d", code)
	}
	if code := e.do(adminA, "PUT", "/v1/grids/431321101201001/leader", leader, nil); code != 200 {
		t.Errorf("town A's admin appointing in town A: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "PUT", "/v1/grids/"+townB+"201001/leader", leader, nil); code != 200 {
		t.Errorf("county admin appointing in town B: %d", code)
	}

	// A roster names its grids by code or by name: a town's admin may
	// import the rows of its town only, and nothing is written otherwise.
	pe := &peopleEnv{e}
	roster := func(role geo.AccessRole, rows string) (int, scopeProblem) {
		t.Helper()
		rec := pe.raw(role, "POST", "/v1/rosters?dry_run=false", []byte("姓名,联系电话,网格编码,网格名称,职务\r\n"+rows), "Content-Type", "text/csv")
		var p scopeProblem
		json.Unmarshal(rec.Body.Bytes(), &p)
		return rec.Code, p
	}
	e.setNow(t0.Add(time.Hour))
	before := pe.count("assignments")
	code, p2 := roster(adminA, "王五,13900008888,431321101201001,,网格长\r\n赵六,13900008889,,邻网格2,副网格长\r\n")
	if code != 403 || p2.Type != api.TypeOutsideTown || len(p2.Errors) != 1 || p2.Errors[0].Where != "row 3" {
		t.Errorf("town A's admin importing a roster with a row of town B: %d %+v", code, p2)
	}
	if n := pe.count("assignments"); n != before {
		t.Errorf("the refused roster wrote %d assignments", n-before)
	}
	if code, p2 := roster(adminA, "王五,13900008888,431321101201001,,网格长\r\n"); code != 200 {
		t.Errorf("town A's admin importing its town's roster: %d %+v", code, p2)
	}
}

// TestScopedDispatcher_open311: a town's token sent as Open311's api_key
// is the same town's token: it submits requests located in its town only,
// searches its town's requests, and sees of another town's request it
// follows by id only what anyone sees (no description, no exact place).
func TestScopedDispatcher_open311(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	submit := func(key geo.AccessRole, p orb.Point) *httptest.ResponseRecorder {
		t.Helper()
		form := url.Values{"api_key": {e.secrets[key]}, "service_code": {"environment"}, "description": {"门口垃圾三天没人清"},
			"lat": {fmt.Sprint(p[1])}, "long": {fmt.Sprint(p[0])}, "first_name": {"秀英"}, "last_name": {"李"}, "phone": {"13912345678"}}
		return e.o311("POST", "/open311/v2/requests.json", form)
	}
	id := func(rec *httptest.ResponseRecorder) string {
		t.Helper()
		var out []struct {
			ID string `json:"service_request_id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 200 || err != nil || len(out) != 1 {
			t.Fatalf("POST: %d %s", rec.Code, rec.Body)
		}
		return out[0].ID
	}
	before := e.incidentCount()
	if rec := submit(dispatcherA, inB); rec.Code != 403 || !strings.Contains(rec.Body.String(), townB) {
		t.Errorf("town A's key submitting in town B: %d %s, want 403 naming town B", rec.Code, rec.Body)
	}
	if n := e.incidentCount(); n != before {
		t.Errorf("a refused request wrote %d incidents", n-before)
	}
	idA := id(submit(dispatcherA, centre(1)))
	idB := id(submit(dispatcherB, inB))
	rec := e.o311("GET", "/open311/v2/requests.json?api_key="+url.QueryEscape(e.secrets[dispatcherA]), nil)
	var found []struct {
		ID string `json:"service_request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &found); rec.Code != 200 || err != nil || len(found) != 1 || found[0].ID != idA {
		t.Errorf("town A's key searching: %d %s, want %s only", rec.Code, rec.Body, idA)
	}
	follow := func(key geo.AccessRole) map[string]any {
		t.Helper()
		rec := e.o311("GET", "/open311/v2/requests/"+idB+".json?api_key="+url.QueryEscape(e.secrets[key]), nil)
		var out []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 200 || err != nil || len(out) != 1 {
			t.Fatalf("following %s with %s's key: %d %s", idB, key, rec.Code, rec.Body)
		}
		return out[0]
	}
	// What a dispatcher's key shows beyond the public status: the
	// resident's words and the exact place.
	if r := follow(dispatcherA); r["description"] != nil || r["lat"] != nil {
		t.Errorf("town A's key following town B's request: %v, want no description or point", r)
	}
	if r := follow(dispatcherB); r["description"] == nil || r["lat"] == nil {
		t.Errorf("town B's key following its request: %v, want the description and point", r)
	}
}
