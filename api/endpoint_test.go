package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/notify"
)

// dbFingerprint hashes every row of every table of the public schema, so
// that a test can tell that a refused request wrote nothing at all.
func dbFingerprint(t *testing.T, e *dispatchEnv) string {
	t.Helper()
	return tablesFingerprint(t, e, "")
}

// postgisTable is PostGIS's table of coordinate systems, in the public
// schema with ours: some 8,500 rows, 97% of the time of a fingerprint.
const postgisTable = "spatial_ref_sys"

// appFingerprint is dbFingerprint without postgisTable, for a check after
// each of many requests; such a test fingerprints the whole database
// before and after them all as well.
func appFingerprint(t *testing.T, e *dispatchEnv) string {
	t.Helper()
	return tablesFingerprint(t, e, postgisTable)
}

// tablesFingerprint hashes every row of every table of the public schema
// but skip ("" for none).
func tablesFingerprint(t *testing.T, e *dispatchEnv, skip string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.db.Pool.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> $1 ORDER BY table_name`, skip)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) == 0 {
		return ""
	}
	// One statement with a hash per table: the test fingerprints after each
	// of several hundred requests, and a round trip per table was most of
	// its time.
	sums := make([]string, len(tables))
	for i, table := range tables {
		sums[i] = "'" + table + "=' || (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM " + table + " t) || ';'"
	}
	var fp string
	if err := e.db.Pool.QueryRow(ctx, "SELECT "+strings.Join(sums, " || ")).Scan(&fp); err != nil {
		t.Fatal(err)
	}
	return fp
}

// openAPIOperation is what the test needs of a documented operation.
type openAPIOperation struct {
	Parameters []struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"requestBody"`
}

// TestWriteEndpoints_badInputChangesNothing takes every write endpoint
// that openapi.json documents under /v1 and sends it, with real ids so
// that the write would happen were the checks late: an unknown query
// parameter, each documented query and header parameter with bytes that
// are not UTF-8, an unknown body member, bytes that are not UTF-8 and a
// NUL character in a JSON body, and each path
// parameter malformed. Each must answer 400 and leave every table as it
// was.
func TestWriteEndpoints_badInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	e.serve(api.Config{Plans: e.db, Outbox: e.db, Channels: e.db, Ratings: e.db, SecretKey: notify.DeriveKey("test"), Logins: e.db, ServiceItems: e.db, BaseMaps: e.db})
	var channel struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/channels", map[string]any{"name": "群", "kind": "wecom",
		"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef"}, &channel); code != 201 {
		t.Fatalf("channel: %d", code)
	}
	var plan struct{ ID int64 }
	if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"note": "t"}, &plan); rec.Code != 201 {
		t.Fatalf("plan: %d %s", rec.Code, rec.Body)
	}
	var person struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]string{"name": "王五", "phone": "13912345678"}, &person); code != 201 {
		t.Fatalf("person: %d", code)
	}
	var leave struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/people/%d/leave", person.ID),
		map[string]string{"from": "2026-12-01", "to": "2026-12-05"}, &leave); code != 201 {
		t.Fatalf("leave: %d", code)
	}
	var org struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/organizations", map[string]any{"kind": "mediation", "name": "调解会", "village": "431321101201"}, &org); code != 201 {
		t.Fatalf("organization: %d", code)
	}
	var member struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/members", org.ID), map[string]any{"person_id": person.ID}, &member); code != 201 {
		t.Fatalf("member: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/organizations/%d/grids", org.ID), map[string]any{"grid": "431321101201001"}, nil); code != 201 {
		t.Fatalf("attach: %d", code)
	}
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "urgent"), &inc); code != 201 {
		t.Fatalf("incident: %d", code)
	}
	good := map[string]string{"id": fmt.Sprint(org.ID), "member": fmt.Sprint(member.ID), "leave": fmt.Sprint(leave.ID),
		"person": fmt.Sprint(person.ID), "number": inc.Number, "code": "431321101201001", "token": "AAAAAAAAAAAAAAAAAAAAAA", "item": "dispute", "date": "2026-02-14", "kind": "mediation"}
	bad := map[string]string{"id": "x1", "member": "0", "leave": "-3", "person": "1e3", "number": "%FF%FE", "code": "12345", "token": "short",
		"item": "Dispute!", "date": "2026-02-30", "kind": "Not-a-kind"}

	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]struct{ Name, In string } `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`\{(\w+)\}`)
	before, beforeApp := dbFingerprint(t, e.dispatchEnv), appFingerprint(t, e.dispatchEnv)
	tried := 0
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, path := range paths {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method, rawOp := range doc.Paths[path] {
			method = strings.ToUpper(method)
			if !slices.Contains([]string{"POST", "PUT", "PATCH", "DELETE"}, method) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(rawOp, &op); err != nil {
				t.Fatal(err)
			}
			fill := func(override map[string]string) string {
				return placeholder.ReplaceAllStringFunc(path, func(m string) string {
					name := m[1 : len(m)-1]
					if v, ok := override[name]; ok {
						return v
					}
					if strings.HasPrefix(path, "/v1/plans/") && name == "id" {
						return fmt.Sprint(plan.ID)
					}
					if strings.HasPrefix(path, "/v1/channels/") && name == "id" {
						return fmt.Sprint(channel.ID)
					}
					if strings.HasPrefix(path, "/v1/people/") && name == "id" {
						return fmt.Sprint(person.ID)
					}
					if strings.HasPrefix(path, "/v1/villages/") && name == "code" {
						return "431321101201"
					}
					return good[name]
				})
			}
			target := fill(nil)
			var query, headers []string
			for _, p := range op.Parameters {
				name, in := p.Name, p.In
				if p.Ref != "" {
					c := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
					name, in = c.Name, c.In
				}
				switch in {
				case "query":
					query = append(query, name)
				case "header":
					headers = append(headers, name)
				}
			}
			jsonBody := op.RequestBody != nil && op.RequestBody.Content["application/json"] != nil
			send := func(what, target string, body []byte, header ...string) {
				t.Helper()
				tried++
				req := httptest.NewRequest(method, target, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessAdmin])
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				for i := 0; i+1 < len(header); i += 2 {
					req.Header[header[i]] = []string{header[i+1]}
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != api.ProblemContentType {
					t.Errorf("%s %s (%s): %d %s; want a 400 problem", method, target, what, rec.Code, rec.Body)
				}
				if after := appFingerprint(t, e.dispatchEnv); after != beforeApp {
					t.Fatalf("%s %s (%s) changed the database", method, target, what)
				}
			}
			var body []byte
			if jsonBody {
				body = []byte(`{}`)
			}
			send("unknown query parameter", target+"?bogus=1", body)
			for _, q := range query {
				send("query "+q+" not UTF-8", target+"?"+q+"=%FF", body)
			}
			for _, h := range headers {
				send("header "+h+" not UTF-8", target, body, h, "\xff\xfe")
			}
			if jsonBody {
				send("unknown body member", target, []byte(`{"zz_unknown_member": 1}`))
				send("body not UTF-8", target, []byte("{\"name\": \"\xff\xfe\"}"))
				send("body with a NUL", target, []byte(`{"name": "a\u0000b", "note": "x"}`))
			}
			for _, m := range placeholder.FindAllStringSubmatch(path, -1) {
				name := m[1]
				send("path "+name+" malformed", fill(map[string]string{name: bad[name]}), body)
			}
		}
	}
	if tried < 100 {
		t.Errorf("only %d requests tried: is openapi.json read?", tried)
	}
	if dbFingerprint(t, e.dispatchEnv) != before {
		t.Errorf("the %d refused requests changed %s", tried, postgisTable)
	}
}

// TestPlanWrites_checkParametersFirst is the case: a plan edit
// with a bad crs used to retire the grid and then answer 400.
func TestPlanWrites_checkParametersFirst(t *testing.T) {
	t.Parallel()
	e := newPlanAPI(t)
	var plan struct{ ID int64 }
	if rec := e.call(geo.AccessPlanner, "POST", "/v1/plans", map[string]any{"note": "t"}, &plan); rec.Code != 201 {
		t.Fatalf("plan: %d", rec.Code)
	}
	target := fmt.Sprintf("/v1/plans/%d/grids/431321101201001", plan.ID)
	before := dbFingerprint(t, e.dispatchEnv)
	for _, q := range []string{"?crs=bogus", "?precision=99", "?crs=gcj02&unknown=1"} {
		if rec := e.call(geo.AccessPlanner, "DELETE", target+q, nil, nil); rec.Code != 400 {
			t.Errorf("DELETE %s%s: %d, want 400", target, q, rec.Code)
		}
	}
	if dbFingerprint(t, e.dispatchEnv) != before {
		t.Fatal("a refused DELETE changed the plan")
	}
	if rec := e.call(geo.AccessPlanner, "DELETE", target+"?crs=gcj02", nil, nil); rec.Code != 200 {
		t.Errorf("DELETE with a good crs: %d", rec.Code)
	}
	if dbFingerprint(t, e.dispatchEnv) == before {
		t.Error("the accepted DELETE changed nothing: the test proves nothing")
	}
}

// TestLocateBatch_strictBody: a misspelt member used to be ignored, and
// the points located as WGS-84, 500 m off.
func TestLocateBatch_strictBody(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	var p struct{ Errors []struct{ Where string } }
	if code := e.do("", "POST", "/v1/locate", `{"points":[[112.005,27.005]],"srs":"gcj02"}`, &p); code != 400 {
		t.Errorf("srs instead of crs: %d, want 400", code)
	}
	if code := e.do("", "GET", "/v1/locate?lon=112.005&lat=27.005&srs=gcj02", nil, &p); code != 400 || len(p.Errors) == 0 || p.Errors[0].Where != "srs" {
		t.Errorf("GET with srs: %d %+v, want 400 naming srs", code, p)
	}
}

// TestTimes_plainDatesEverywhere: at=, from= and to= take a bare date
// (midnight China time) on every endpoint, as the people endpoints did.
func TestTimes_plainDatesEverywhere(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	for _, target := range []string{"/v1/incidents?from=2026-11-01&to=2026-12-01", "/v1/stats?from=2026-11-01",
		"/v1/locate?lon=112.005&lat=27.005&at=2026-11-20", "/v1/grids?at=2026-11-20"} {
		if code := e.do(geo.AccessDispatcher, "GET", target, nil, nil); code != 200 {
			t.Errorf("%s: %d, want 200", target, code)
		}
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents?from=yesterday", nil, nil); code != 400 {
		t.Errorf("from=yesterday: %d, want 400", code)
	}
}

// TestText_badBytesAreClientErrors is the list of inputs that used
// to reach PostgreSQL and answer 500 (SQLSTATE 22021): a query value, a
// path id, a header, and roster cells holding a NUL or bytes that are not
// text. Each is a 4xx problem and writes nothing.
func TestText_badBytesAreClientErrors(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	before := e.tableCounts()
	for _, c := range []struct {
		method, target, body string
		header               []string
	}{
		{"GET", "/v1/people?name=%FF%FE", "", nil},
		{"GET", "/v1/people?name=a%00b", "", nil},
		{"GET", "/v1/incidents/%ff%fe", "", nil},
		{"POST", "/v1/incidents", `{"lon":112.005,"lat":27.005,"category":"safety","severity":"minor","source":"walk_in","description":"x"}`,
			[]string{"Idempotency-Key", "\xff"}},
	} {
		rec := e.raw(geo.AccessAdmin, c.method, c.target, []byte(c.body), append([]string{"Content-Type", "application/json"}, c.header...)...)
		if rec.Code < 400 || rec.Code >= 500 || rec.Header().Get("Content-Type") != api.ProblemContentType {
			t.Errorf("%s %s: %d %s, want a 4xx problem", c.method, c.target, rec.Code, rec.Body)
		}
	}
	for name, cell := range map[string]string{"NUL": "王\x00五", "not UTF-8 nor GB18030": "\x81\x30"} {
		text := "姓名,联系电话,网格编码,职务\r\n" + cell + ",13900008888,431321101201001,网格长\r\n"
		rec := e.raw(geo.AccessAdmin, "POST", "/v1/rosters?dry_run=false", []byte(text), "Content-Type", "text/csv")
		if rec.Code >= 500 {
			t.Errorf("roster with a %s cell: %d %s", name, rec.Code, rec.Body)
		}
	}
	if after := e.tableCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows changed: %v → %v", before, after)
	}
}
