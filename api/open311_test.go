package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/paulmach/orb"

	"wangge/geo"
)

// The Open311 GeoReport v2 interface, tested against the spec's published
// examples (testdata/open311, see SOURCE.md there) and its rules; the
// client library test is in open311_client_test.go.

func init() {
	// The XML answers are checked against the spec's examples, not the
	// OpenAPI document, which names them as text.
	openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.FileBodyDecoder)
}

// o311 sends an Open311 request: body is a form (url.Values) or raw text
// sent as a form; header pairs follow.
func (e *dispatchEnv) o311(method, target string, body any, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case url.Values:
		rd = strings.NewReader(b.Encode())
	case string:
		rd = strings.NewReader(b)
	}
	req := httptest.NewRequest(method, target, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	ct := rec.Header().Get("Content-Type")
	switch {
	case strings.HasSuffix(strings.SplitN(target, "?", 2)[0], ".xml") && rec.Code < 500:
		if ct != "text/xml; charset=utf-8" || !bytes.HasPrefix(rec.Body.Bytes(), []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
			e.t.Errorf("%s %s: Content-Type %q, body %.80s: want text/xml; charset=utf-8 behind the XML declaration", method, target, ct, rec.Body)
		}
	case rec.Code < 500 && ct != "application/json; charset=utf-8":
		e.t.Errorf("%s %s: Content-Type %q, want application/json; charset=utf-8", method, target, ct)
	}
	return rec
}

// open311Errors decodes the spec's error list (JSON), failing the test
// when the answer is not one.
func open311Errors(t *testing.T, rec *httptest.ResponseRecorder) []struct {
	Code        int
	Description string
} {
	t.Helper()
	var errs []struct {
		Code        int
		Description string
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&errs); err != nil || len(errs) == 0 {
		t.Fatalf("status %d: not the spec's error list: %v: %s", rec.Code, err, rec.Body)
	}
	for _, e := range errs {
		if e.Code == 0 || e.Description == "" {
			t.Errorf("incomplete error %+v", e)
		}
	}
	return errs
}

// xmlShape is an XML document reduced to what the spec fixes: the root,
// the element of each record, and each record's element names in order.
type xmlShape struct {
	Root, Record string
	Fields       [][]string
}

func shapeOf(t *testing.T, b []byte) xmlShape {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var s xmlShape
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return s
		} else if err != nil {
			t.Fatalf("not XML: %v: %.200s", err, b)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				s.Root = el.Name.Local
			case 2:
				s.Record = el.Name.Local
				s.Fields = append(s.Fields, nil)
			case 3:
				s.Fields[len(s.Fields)-1] = append(s.Fields[len(s.Fields)-1], el.Name.Local)
			}
		case xml.EndElement:
			depth--
		}
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/open311/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// incidentCount counts the incidents in the database.
func (e *dispatchEnv) incidentCount() int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM incidents").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestOpen311_specExample: the spec's example POST, as published, is
// refused for what this server is not (jurisdiction city.gov, service 001,
// the attributes of a service with none, a phone that is not a mainland
// number), each in the spec's error format; with those four arguments
// made ours it creates a request — routed, since the point is far outside
// the town, to the town duty desk — whose answer and read-back have the
// shape of the spec's example answers, and carry the example's address,
// photo link and account.
func TestOpen311_specExample(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	example := strings.Replace(string(readTestdata(t, "post_request.txt")), "api_key=xyz", "api_key="+url.QueryEscape(e.secrets[geo.AccessDispatcher]), 1)
	steps := []struct {
		name, from, to string
		status         int
		where          string
	}{
		{"verbatim: jurisdiction city.gov", "", "", 404, "jurisdiction_id"},
		{"service 001 is not ours", "jurisdiction_id=city.gov", "jurisdiction_id=431321101", 404, "service_code"},
		{"no service takes attributes", "service_code=001", "service_code=safety", 400, "attribute[WHISDORN]"},
		{"a mainland phone", "&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001", "", 400, "phone"},
	}
	for _, st := range steps {
		example = strings.Replace(example, st.from, st.to, 1)
		rec := e.o311("POST", "/open311/v2/requests.json", example)
		errs := open311Errors(t, rec)
		if rec.Code != st.status || !strings.Contains(errs[0].Description, st.where) {
			t.Errorf("%s: status %d, errors %+v; want %d naming %s", st.name, rec.Code, errs, st.status, st.where)
		}
		xmlRec := e.o311("POST", "/open311/v2/requests.xml", example)
		if got, want := shapeOf(t, xmlRec.Body.Bytes()), shapeOf(t, readTestdata(t, "errors.xml")); got.Root != want.Root ||
			got.Record != want.Record || fmt.Sprint(got.Fields[0]) != fmt.Sprint(want.Fields[0]) || xmlRec.Code != st.status {
			t.Errorf("%s: XML error %d %+v, want the shape of the spec's %+v", st.name, xmlRec.Code, got, want)
		}
	}
	if n := e.incidentCount(); n != 0 {
		t.Fatalf("%d incidents after refused requests, want 0", n)
	}
	example = strings.Replace(example, "phone=111111111", "phone=13912345678", 1)
	rec := e.o311("POST", "/open311/v2/requests.xml", example)
	if rec.Code != http.StatusOK {
		t.Fatalf("the example with our jurisdiction, service and a mainland phone: status %d: %s", rec.Code, rec.Body)
	}
	got, want := shapeOf(t, rec.Body.Bytes()), shapeOf(t, readTestdata(t, "post_response.xml"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("POST answer shaped %+v, want the spec's %+v", got, want)
	}
	var created struct {
		Requests []struct {
			ID        string `xml:"service_request_id"`
			Notice    string `xml:"service_notice"`
			AccountID string `xml:"account_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &created); err != nil || len(created.Requests) != 1 {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	c := created.Requests[0]
	if c.AccountID != "123456" || !strings.Contains(c.Notice, "镇值班室") {
		t.Errorf("answer %+v: want account 123456 and the duty desk in the notice", c)
	}

	// Read back by id, as the dispatcher whose key made it, in both formats.
	key := "?api_key=" + url.QueryEscape(e.secrets[geo.AccessDispatcher])
	rec = e.o311("GET", "/open311/v2/requests/"+c.ID+".xml"+key, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET requests/%s.xml: %d %s", c.ID, rec.Code, rec.Body)
	}
	if got, want := shapeOf(t, rec.Body.Bytes()), shapeOf(t, readTestdata(t, "request.xml")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GET requests/{id}.xml shaped %+v, want the spec's %+v", got, want)
	}
	var back []map[string]any
	rec = e.o311("GET", "/open311/v2/requests/"+c.ID+".json"+key, nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || len(back) != 1 {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	// The Spark convention: the JSON members are the XML elements.
	fields := shapeOf(t, readTestdata(t, "request.xml")).Fields[0]
	if len(back[0]) != len(fields) {
		t.Errorf("JSON members %v, want the spec's %v", back[0], fields)
	}
	for _, f := range fields {
		if _, ok := back[0][f]; !ok {
			t.Errorf("JSON lacks %s", f)
		}
	}
	for k, v := range map[string]any{"service_request_id": c.ID, "status": "open", "service_code": "safety",
		"description": "A large sinkhole is destroying the street", "address": "1234 5th street",
		"media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg", "lat": 37.76524078, "long": -122.4212043} {
		if back[0][k] != v {
			t.Errorf("%s = %v, want %v", k, back[0][k], v)
		}
	}
	// The same incident on /v1: reporter "john smith", the duty desk.
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+c.ID, nil, &inc)
	if inc.Reporter == nil || inc.Reporter.Name != "john smith" || inc.Reporter.Phone != "13912345678" ||
		inc.Assignee == nil || inc.Assignee.Role != string(geo.RoleDutyDesk) || inc.Grid == nil || inc.Grid.Match != "outside" {
		t.Errorf("on /v1 the incident is %+v (reporter %+v, assignee %+v)", inc, inc.Reporter, inc.Assignee)
	}
}

// TestOpen311_services: services.{json,xml} lists the service items intake
// takes, shaped as the spec's example; a service's definition has no
// attributes; an unknown code is 404.
func TestOpen311_services(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	rec := e.o311("GET", "/open311/v2/services.xml?jurisdiction_id=431321101", nil)
	got, want := shapeOf(t, rec.Body.Bytes()), shapeOf(t, readTestdata(t, "services.xml"))
	if rec.Code != 200 || got.Root != want.Root || got.Record != want.Record || len(got.Fields) != len(geo.Categories) {
		t.Fatalf("services.xml: %d %+v, want %d services shaped as %+v", rec.Code, got, len(geo.Categories), want)
	}
	for _, f := range got.Fields {
		a, b := slices.Sorted(slices.Values(f)), slices.Sorted(slices.Values(want.Fields[0]))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("service elements %v, want the spec's %v", f, want.Fields[0])
		}
	}
	var list []struct {
		Code     string `json:"service_code"`
		Name     string `json:"service_name"`
		Metadata bool
		Type     string
	}
	rec = e.o311("GET", "/open311/v2/services.json", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, s := range list {
		codes = append(codes, s.Code)
		if s.Metadata || s.Type != "realtime" || s.Name == "" {
			t.Errorf("service %+v: want a name, metadata false, type realtime", s)
		}
	}
	var want2 []string
	for _, c := range geo.Categories {
		want2 = append(want2, string(c))
	}
	if fmt.Sprint(slices.Sorted(slices.Values(codes))) != fmt.Sprint(slices.Sorted(slices.Values(want2))) {
		t.Errorf("service codes %v, want the categories intake takes %v", codes, want2)
	}
	rec = e.o311("GET", "/open311/v2/services/dispute.xml", nil)
	if got, want := shapeOf(t, rec.Body.Bytes()), shapeOf(t, readTestdata(t, "service_definition.xml")); rec.Code != 200 ||
		got.Root != want.Root || got.Record != "service_code" {
		t.Errorf("services/dispute.xml: %d %+v %s", rec.Code, got, rec.Body)
	}
	rec = e.o311("GET", "/open311/v2/services/dispute.json", nil)
	if rec.Body.String() != `{"service_code":"dispute","attributes":[]}` {
		t.Errorf("services/dispute.json: %s", rec.Body)
	}
	rec = e.o311("GET", "/open311/v2/services/pothole.json", nil)
	if errs := open311Errors(t, rec); rec.Code != 404 || errs[0].Code != 404 || !strings.Contains(errs[0].Description, "pothole") {
		t.Errorf("unknown service: %d %+v", rec.Code, errs)
	}
}

// off311 moves p off the 0.001° lattice, so that rounding shows.
func off311(p orb.Point) orb.Point { return orb.Point{p[0] + 0.00037, p[1] + 0.00041} }

// post311 submits a request for a point near grid n's centre with the
// dispatcher's key.
func (e *dispatchEnv) post311(n int, service, description string, header ...string) (string, *httptest.ResponseRecorder) {
	e.t.Helper()
	p := off311(centre(n))
	form := url.Values{"api_key": {e.secrets[geo.AccessDispatcher]}, "service_code": {service}, "description": {description},
		"lat": {fmt.Sprint(p[1])}, "long": {fmt.Sprint(p[0])}, "first_name": {"秀英"}, "last_name": {"李"}, "phone": {"13912345678"},
		"address_string": {"一村 3 组"}, "email": {"li@example.cn"}}
	rec := e.o311("POST", "/open311/v2/requests.json", form, header...)
	var out []struct {
		ID string `json:"service_request_id"`
	}
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) != 1 {
			e.t.Fatalf("%v: %s", err, rec.Body)
		}
		return out[0].ID, rec
	}
	return "", rec
}

// TestOpen311_closedLoop: a request goes through the intake of /v1 (grid,
// assignee, reporter 李秀英) and its Open311 status follows the closed
// loop: open until verified, then closed with the note as status_notes;
// status=open and status=closed select accordingly.
func TestOpen311_closedLoop(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	id, rec := e.post311(2, "environment", "门口垃圾三天没人清")
	if rec.Code != 200 {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	var inc incidentAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+id, nil, &inc)
	if inc.Grid == nil || inc.Grid.Code != "431321101201002" || inc.Assignee == nil || inc.Assignee.Name != "副网格长2" ||
		inc.Reporter == nil || inc.Reporter.Name != "李秀英" {
		t.Fatalf("routed as %+v: want grid 002's deputy (its leader is on leave), reporter 李秀英", inc)
	}
	key := "&api_key=" + url.QueryEscape(e.secrets[geo.AccessDispatcher])
	status := func() (string, string) {
		var out []struct {
			Status string
			Notes  *string `json:"status_notes"`
		}
		rec := e.o311("GET", "/open311/v2/requests/"+id+".json?jurisdiction_id=431321101"+key, nil)
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) != 1 {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		if out[0].Notes == nil {
			return out[0].Status, ""
		}
		return out[0].Status, *out[0].Notes
	}
	listed := func(st string) bool {
		var out []struct {
			ID string `json:"service_request_id"`
		}
		rec := e.o311("GET", "/open311/v2/requests.json?status="+st+key, nil)
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		return slices.ContainsFunc(out, func(r struct {
			ID string `json:"service_request_id"`
		}) bool {
			return r.ID == id
		})
	}
	for i, step := range []struct{ action, note, want string }{
		{"", "", "open"}, {"accept", "", "open"}, {"resolve", "已清运", "open"}, {"verify", "回访确认已清理干净", "closed"},
	} {
		at := t0.Add(time.Duration(i) * time.Hour)
		e.setNow(at)
		if step.action != "" {
			if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+id+"/events", map[string]any{"action": step.action, "note": step.note}, nil); code != 200 {
				t.Fatalf("%s: status %d", step.action, code)
			}
		}
		st, notes := status()
		if st != step.want || (step.note != "" && !strings.Contains(notes, step.note)) {
			t.Errorf("after %q: status %s (%q), want %s with the note %q", step.action, st, notes, step.want, step.note)
		}
		// The list tells the same as the request alone.
		var all []struct {
			ID      string `json:"service_request_id"`
			Status  string
			Notes   string `json:"status_notes"`
			Updated string `json:"updated_datetime"`
		}
		rec := e.o311("GET", "/open311/v2/requests.json?service_code=environment,safety"+key, nil)
		if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil || len(all) != 1 || all[0].ID != id || all[0].Status != st || all[0].Notes != notes {
			t.Errorf("after %q: the list says %+v (%v), the request %s %q", step.action, all, err, st, notes)
		} else if want := at.In(time.FixedZone("", 8*3600)).Format(time.RFC3339); all[0].Updated != want {
			t.Errorf("after %q: updated_datetime %s, want %s (the step's time, China time)", step.action, all[0].Updated, want)
		}
		other := map[string]string{"open": "closed", "closed": "open"}[step.want]
		if !listed(step.want) || listed(other) || !listed("open,closed") {
			t.Errorf("after %q: status=%s lists it %v, status=%s %v", step.action, step.want, listed(step.want), other, listed(other))
		}
	}
}

// TestOpen311_privacy: without a key (or with a viewer's) a request is
// followed by its id and shows nothing a resident wrote and not its point,
// and requests cannot be searched (403); a dispatcher's key, as api_key or
// Bearer token, shows everything and searches. No answer holds the
// reporter's phone, e-mail or name.
func TestOpen311_privacy(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	id, rec := e.post311(1, "dispute", "王家和李家为宅基地争吵")
	if rec.Code != 200 {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	p := off311(centre(1))
	for _, tt := range []struct {
		name     string
		query    string
		header   []string
		personal bool
	}{
		{"anonymous", "?", nil, false},
		{"viewer's key", "?api_key=" + url.QueryEscape(e.secrets[geo.AccessViewer]) + "&", nil, false},
		{"dispatcher's key", "?api_key=" + url.QueryEscape(e.secrets[geo.AccessDispatcher]) + "&", nil, true},
		{"dispatcher's Bearer token", "?", []string{"Authorization", "Bearer " + e.secrets[geo.AccessDispatcher]}, true},
	} {
		for _, target := range []string{"/open311/v2/requests/" + id + ".json", "/open311/v2/requests.json", "/open311/v2/requests.xml"} {
			search := !strings.Contains(target, id)
			query := tt.query
			if !search {
				query = strings.TrimSuffix(strings.TrimSuffix(query, "&"), "?")
			}
			rec := e.o311("GET", target+query, nil, tt.header...)
			for _, secret := range []string{"13912345678", "li@example.cn", "李秀英", "秀英"} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Errorf("%s %s: the answer holds %s", tt.name, target, secret)
				}
			}
			if search && !tt.personal {
				if errs := open311Errors2(t, rec); rec.Code != 403 || !strings.Contains(errs, "service_request_id") {
					t.Errorf("%s searches %s: %d %s, want 403 saying to follow a request by its id", tt.name, target, rec.Code, rec.Body)
				}
				continue
			}
			if strings.HasSuffix(target, ".xml") {
				continue
			}
			var out []map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) != 1 {
				t.Fatalf("%s %s: %v: %s", tt.name, target, err, rec.Body)
			}
			r := out[0]
			shown := r["description"] != nil && r["address"] != nil && r["lat"] != nil
			if shown != tt.personal || (tt.personal && (r["lat"] != p[1] || r["long"] != p[0])) {
				t.Errorf("%s %s: description %v, address %v, point %v, %v; want them shown: %v", tt.name, target, r["description"], r["address"], r["lat"], r["long"], tt.personal)
			}
			if r["status"] != "open" || r["service_code"] != "dispute" || !strings.Contains(fmt.Sprint(r["agency_responsible"]), "431321101201001") {
				t.Errorf("%s %s: %v: want status, service and the grid responsible for anyone", tt.name, target, r)
			}
		}
	}
}

// open311Errors2 is the text of an error answer in either format.
func open311Errors2(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if strings.HasPrefix(rec.Body.String(), "<?xml") {
		return rec.Body.String()
	}
	return fmt.Sprint(open311Errors(t, rec))
}

// TestOpen311_idempotencyAndTokens: a POST retried with its
// Idempotency-Key gives the same request; the key with another body is
// refused (400, code 422); the X-Open311-Token of an answer leads back to
// the request, an unknown token is 404.
func TestOpen311_idempotencyAndTokens(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	id, rec := e.post311(1, "safety", "桥栏杆断了", "Idempotency-Key", "app-42")
	again, rec2 := e.post311(1, "safety", "桥栏杆断了", "Idempotency-Key", "app-42")
	if rec.Code != 200 || rec2.Code != 200 || again != id || rec2.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s then %d %s (%q)", rec.Code, id, rec2.Code, again, rec2.Header().Get("Idempotent-Replayed"))
	}
	if tok, tok2 := rec.Header().Get("X-Open311-Token"), rec2.Header().Get("X-Open311-Token"); tok == "" || tok != tok2 {
		t.Errorf("tokens %q and %q: want one token for one request", tok, tok2)
	}
	_, rec3 := e.post311(1, "safety", "另一件事", "Idempotency-Key", "app-42")
	if errs := open311Errors(t, rec3); rec3.Code != 400 || errs[0].Code != 422 {
		t.Errorf("same key, other body: %d %+v, want 400 with code 422", rec3.Code, errs)
	}
	if n := e.incidentCount(); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
	// The extras stay those of the request made: another body did not
	// replace them.
	var back []map[string]any
	r := e.o311("GET", "/open311/v2/requests/"+id+".json?api_key="+url.QueryEscape(e.secrets[geo.AccessDispatcher]), nil)
	if err := json.Unmarshal(r.Body.Bytes(), &back); err != nil || len(back) != 1 || back[0]["description"] != "桥栏杆断了" || back[0]["address"] != "一村 3 组" {
		t.Errorf("read back %v (%v)", back, err)
	}
	tok := rec.Header().Get("X-Open311-Token")
	r = e.o311("GET", "/open311/v2/tokens/"+tok+".xml", nil)
	if got, want := shapeOf(t, r.Body.Bytes()), shapeOf(t, readTestdata(t, "token_response.xml")); r.Code != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tokens/{token}.xml: %d %+v, want the spec's %+v", r.Code, got, want)
	}
	r = e.o311("GET", "/open311/v2/tokens/"+tok+".json", nil)
	if r.Body.String() != `[{"service_request_id":"`+id+`","token":"`+tok+`"}]` {
		t.Errorf("tokens/{token}.json: %s", r.Body)
	}
	r = e.o311("GET", "/open311/v2/tokens/AAAAAAAAAAAAAAAAAAAAAA.json", nil)
	if errs := open311Errors(t, r); r.Code != 404 || errs[0].Code != 404 {
		t.Errorf("unknown token: %d %+v", r.Code, errs)
	}
}

// TestOpen311_hostile: what an Open311 client (or anyone) may send wrong
// is refused in the spec's error format with the spec's status, naming
// the argument, and writes nothing.
func TestOpen311_hostile(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	dispatcher, viewer := url.QueryEscape(e.secrets[geo.AccessDispatcher]), url.QueryEscape(e.secrets[geo.AccessViewer])
	good := "service_code=safety&lat=27.005&long=112.005&description=x"
	for _, tt := range []struct {
		name, method, target, body string
		header                     []string
		status, code               int
		where                      string
	}{
		{"no api_key", "POST", "/open311/v2/requests.json", good, nil, 403, 403, "api_key"},
		{"a wrong api_key", "POST", "/open311/v2/requests.json", good + "&api_key=wg_nope", nil, 403, 403, "api_key"},
		{"a viewer's api_key", "POST", "/open311/v2/requests.json", good + "&api_key=" + viewer, nil, 403, 403, "viewer"},
		{"an unknown argument", "POST", "/open311/v2/requests.json", good + "&api_key=" + dispatcher + "&severity=urgent", nil, 400, 400, "severity"},
		{"invalid UTF-8", "POST", "/open311/v2/requests.json", "service_code=safety&lat=27.005&long=112.005&description=%C0%AF&api_key=" + dispatcher, nil, 400, 400, "description"},
		{"a NUL", "POST", "/open311/v2/requests.json", good + "&first_name=a%00b&api_key=" + dispatcher, nil, 400, 400, "first_name"},
		{"raw bytes that are not UTF-8", "POST", "/open311/v2/requests.json", good + "&address_string=\xff\xfe&api_key=" + dispatcher, nil, 400, 400, "address_string"},
		{"two different service codes", "POST", "/open311/v2/requests.json", good + "&service_code=dispute&api_key=" + dispatcher, nil, 400, 400, "service_code"},
		{"JSON instead of a form", "POST", "/open311/v2/requests.json", `{"service_code":"safety"}`, []string{"Content-Type", "application/json"}, 400, 415, "Content-Type"},
		{"no location", "POST", "/open311/v2/requests.json", "service_code=safety&description=x&api_key=" + dispatcher, nil, 400, 400, "lat"},
		{"an address alone", "POST", "/open311/v2/requests.json", "service_code=safety&description=x&address_string=1+Main&api_key=" + dispatcher, nil, 400, 400, "geocoder"},
		{"lat out of range", "POST", "/open311/v2/requests.json", "service_code=safety&lat=97&long=112&description=x&api_key=" + dispatcher, nil, 400, 400, "lat"},
		{"no description", "POST", "/open311/v2/requests.json", "service_code=safety&lat=27.005&long=112.005&api_key=" + dispatcher, nil, 400, 400, "description"},
		{"a description over 4,000 characters", "POST", "/open311/v2/requests.json", good + strings.Repeat("长", 4001) + "&api_key=" + dispatcher, nil, 400, 400, "description"},
		{"a bad e-mail", "POST", "/open311/v2/requests.json", good + "&email=li&api_key=" + dispatcher, nil, 400, 400, "email"},
		{"a media_url that is no web link", "POST", "/open311/v2/requests.json", good + "&media_url=javascript:alert(1)&api_key=" + dispatcher, nil, 400, 400, "media_url"},
		{"another jurisdiction", "GET", "/open311/v2/services.json?jurisdiction_id=sfgov.org", "", nil, 404, 404, "jurisdiction_id"},
		{"an unknown query argument", "GET", "/open311/v2/services.json?format=json", "", nil, 400, 400, "format"},
		{"attributes on a GET", "GET", "/open311/v2/requests.json?attribute[x]=1", "", nil, 400, 400, "attribute[x]"},
		{"invalid UTF-8 in a query", "GET", "/open311/v2/requests.json?service_code=%FF", "", nil, 400, 400, "service_code"},
		{"a status Open311 does not have", "GET", "/open311/v2/requests.json?status=pending", "", nil, 400, 400, "status"},
		{"a date without a time zone", "GET", "/open311/v2/requests.json?start_date=2026-11-01T00:00:00", "", nil, 400, 400, "start_date"},
		{"more than 90 days", "GET", "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "", nil, 400, 400, "end_date"},
		{"an unknown request", "GET", "/open311/v2/requests/WG99999999.json", "", nil, 404, 404, "WG99999999"},
		{"a request id that is no number", "GET", "/open311/v2/requests/%3Cscript%3E.json", "", nil, 404, 404, "not found"},
		{"a format Open311 does not have", "GET", "/open311/v2/requests/WG00000001.html", "", nil, 404, 404, ".json or .xml"},
		{"a resource Open311 does not have", "GET", "/open311/v2/complaints.json", "", nil, 404, 404, "no endpoint"},
		{"a method Open311 does not have", "DELETE", "/open311/v2/requests.json", "", nil, 400, 405, "DELETE is not allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.o311(tt.method, tt.target, tt.body, tt.header...)
			errs := open311Errors(t, rec)
			if rec.Code != tt.status || errs[0].Code != tt.code || !strings.Contains(errs[0].Description, tt.where) {
				t.Errorf("status %d, errors %+v; want %d, code %d, naming %q", rec.Code, errs, tt.status, tt.code, tt.where)
			}
		})
	}
	if n := e.incidentCount(); n != 0 {
		t.Errorf("%d incidents written by refused requests", n)
	}
}
