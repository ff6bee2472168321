package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/photofile/photofiletest"
)

// photoEnv is a login env (people sign in; an outbox, an SMS receiver)
// whose server keeps photos.
func newPhotoEnv(t *testing.T) *loginEnv {
	t.Helper()
	e := newLoginEnv(t)
	e.serve(photoConfig(e))
	return e
}

// photoConfig is the configuration of newLoginEnv's server plus photos.
func photoConfig(e *loginEnv) api.Config {
	return api.Config{Outbox: e.db, Channels: e.db, SecretKey: e.key, PublicURL: "https://wangge.example.cn",
		Logins: e.db, TrustedProxies: []string{"192.0.2.1"}, Photos: e.db}
}

type photoAnswer struct {
	ID            int64
	Incident      string
	SHA256        string
	Bytes         int
	ContentType   string `json:"content_type"`
	Width, Height int
	Location      *[2]float64
	LocationCheck string   `json:"location_check"`
	DistanceM     *float64 `json:"distance_m"`
	URL           string
}

// upload posts body with contentType to the incident's photos, with the
// given headers (a role's token by default: a dispatcher's).
func upload(e *loginEnv, number string, body []byte, contentType string, header ...string) (int, photoAnswer, problemAnswer, []byte) {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/v1/incidents/"+number+"/photos", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessDispatcher])
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	var p photoAnswer
	var prob problemAnswer
	if rec.Code < 300 {
		decodeInto(e.t, rec.Body.Bytes(), &p)
	} else {
		decodeInto(e.t, rec.Body.Bytes(), &prob)
		if ct := rec.Header().Get("Content-Type"); ct != api.ProblemContentType {
			e.t.Errorf("%d with Content-Type %q, want problem+json", rec.Code, ct)
		}
	}
	return rec.Code, p, prob, rec.Body.Bytes()
}

func decodeInto(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %.300s: %v", b, err)
	}
}

// form wraps a file as the multipart part name.
func form(name, filename string, file []byte) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "现场照片")
	fw, _ := w.CreateFormFile(name, filename)
	fw.Write(file)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// metresEast is p moved m metres east (at 27° N).
func metresEast(p orb.Point, m float64) *[2]float64 { return &[2]float64{p[0] + m/99_200, p[1]} }

func (e *loginEnv) photoCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM incident_photos").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPhotos_uploadCheckedAndStripped: a dispatcher attaches photos as a
// multipart part or as the body; each is stored without its metadata,
// under the checksum of what is stored, its EXIF position checked against
// the incident's grid (grid 1, a 1 km square: its centre, the east
// edge 150 m off, 2 km off, no position). The same bytes again are the
// same photo.
func TestPhotos_uploadCheckedAndStripped(t *testing.T) {
	t.Parallel()
	e := newPhotoEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "major"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	eastEdge := orb.Point{112.01, 27.005}
	for _, c := range []struct {
		name      string
		file      []byte
		multipart bool
		want      string
		location  bool
	}{
		{"JPEG taken in the grid, as a form", photofiletest.JPEG(photofiletest.Options{Width: 120, Height: 90, GPS: (*[2]float64)(metresEast(centre(1), 50)), LittleEndian: true}), true, "inside", true},
		{"PNG taken 150 m outside, as the body", photofiletest.PNG(photofiletest.Options{Width: 40, Height: 30, GPS: metresEast(eastEdge, 150)}), false, "near", true},
		{"JPEG taken 2 km away", photofiletest.JPEG(photofiletest.Options{Width: 50, Height: 50, GPS: metresEast(eastEdge, 2000), Orientation: 6}), true, "outside", true},
		{"JPEG without a position", photofiletest.JPEG(photofiletest.Options{Width: 30, Height: 20}), false, "none", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, ct := c.file, "image/jpeg"
			if bytes.HasPrefix(c.file, []byte("\x89PNG")) {
				ct = "image/png"
			}
			if c.multipart {
				body, ct = form("photo", "现场.jpg", c.file)
			}
			code, p, prob, _ := upload(e, inc.Number, body, ct)
			if code != 201 {
				t.Fatalf("upload: %d %s", code, prob.Detail)
			}
			if p.LocationCheck != c.want || (p.Location != nil) != c.location || (p.DistanceM != nil) != (c.want == "near" || c.want == "outside" || c.want == "inside") {
				t.Errorf("location %v check %s distance %v, want %s", p.Location, p.LocationCheck, p.DistanceM, c.want)
			}
			if c.want == "near" && (*p.DistanceM < 140 || *p.DistanceM > 160) {
				t.Errorf("150 m east of the edge: distance %v", *p.DistanceM)
			}
			img, _, err := image.DecodeConfig(bytes.NewReader(c.file))
			if err != nil || p.Width != img.Width || p.Height != img.Height {
				t.Errorf("%d×%d, want %d×%d", p.Width, p.Height, img.Width, img.Height)
			}
			stored := e.get(t, p.URL)
			sum := sha256.Sum256(stored)
			if hex.EncodeToString(sum[:]) != p.SHA256 || len(stored) != p.Bytes {
				t.Errorf("the stored photo's checksum %x is not the answer's %s", sum, p.SHA256)
			}
			if bytes.Contains(stored, []byte(photofiletest.Secret)) || bytes.Contains(stored, []byte("TestPhone")) {
				t.Errorf("the stored photo keeps the camera's metadata")
			}
			if _, _, err := image.Decode(bytes.NewReader(stored)); err != nil {
				t.Errorf("the stored photo does not decode: %v", err)
			}
			// Sent again (a retried upload): the same photo, not a second.
			raw, rawCT := c.file, ct
			if c.multipart {
				rawCT = "image/jpeg"
			}
			again, p2, _, _ := upload(e, inc.Number, raw, rawCT, "Idempotency-Key", "retry-1")
			if again != 200 || p2.ID != p.ID {
				t.Errorf("the same photo again: %d id %d, want 200 id %d", again, p2.ID, p.ID)
			}
		})
	}
	var list struct{ Photos []photoAnswer }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number+"/photos", nil, &list); code != 200 || len(list.Photos) != 4 {
		t.Fatalf("list: %d, %d photos", code, len(list.Photos))
	}
	if n := e.photoCount(t); n != 4 {
		t.Errorf("%d photos stored, want 4", n)
	}
	// A photo of another incident is not found under this one.
	var other incidentAnswer
	e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(5), "safety", "minor"), &other)
	if code := e.do(geo.AccessDispatcher, "GET", strings.Replace(list.Photos[0].URL, inc.Number, other.Number, 1), nil, nil); code != 404 {
		t.Errorf("photo %d under incident %s: %d, want 404", list.Photos[0].ID, other.Number, code)
	}
}

// get fetches a photo as a dispatcher and checks how it is served.
func (e *loginEnv) get(t *testing.T, url string) []byte {
	t.Helper()
	req := httptest.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+e.secrets[geo.AccessDispatcher])
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	h := rec.Header()
	if rec.Code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "image/") || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("ETag") == "" {
		t.Fatalf("GET %s: %d %v", url, rec.Code, h)
	}
	return rec.Body.Bytes()
}

// TestPhotos_badInput: what is not a whole JPEG or PNG within the limits
// is refused with a clear 4xx, and nothing is stored.
func TestPhotos_badInput(t *testing.T) {
	t.Parallel()
	e := newPhotoEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "major"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	jpeg := photofiletest.JPEG(photofiletest.Options{Width: 64, Height: 64, GPS: (*[2]float64)(&[2]float64{112.005, 27.005})})
	huge := append(bytes.Clone(jpeg[:len(jpeg)-2]), make([]byte, 5<<20)...)
	bigForm, bigFormCT := form("photo", "big.jpg", huge)
	textForm, textFormCT := form("photo", "note.jpg", []byte("这不是照片"))
	emptyForm, emptyFormCT := form("photo", "empty.jpg", nil)
	noPart, noPartCT := form("picture", "x.jpg", jpeg)
	for _, c := range []struct {
		name   string
		body   []byte
		ct     string
		status int
		typ    string
		detail string
	}{
		{"text as a JPEG", []byte("hello, not a photo"), "image/jpeg", 415, "/problems/unsupported-media-type", "text/plain"},
		{"text in the form", textForm, textFormCT, 415, "/problems/unsupported-media-type", "JPEG or PNG"},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "image/png", 415, "/problems/unsupported-media-type", "image/gif"},
		{"JSON", []byte(`{"photo":"x"}`), "application/json", 415, "/problems/unsupported-media-type", "multipart/form-data"},
		{"no Content-Type", jpeg, "", 415, "/problems/unsupported-media-type", "multipart/form-data"},
		{"zero bytes", nil, "image/jpeg", 400, "/problems/invalid-body", "empty"},
		{"an empty part", emptyForm, emptyFormCT, 400, "/problems/invalid-body", "empty"},
		{"no part named photo", noPart, noPartCT, 400, "/problems/invalid-body", `"photo"`},
		{"over 5 MiB as the body", huge, "image/jpeg", 413, "/problems/payload-too-large", "5 MiB"},
		{"over 5 MiB in a form", bigForm, bigFormCT, 413, "/problems/payload-too-large", "5 MiB"},
		{"a truncated JPEG", jpeg[:len(jpeg)/2], "image/jpeg", 422, "/problems/invalid-photo", "truncated"},
		{"a JPEG without its end", jpeg[:len(jpeg)-2], "image/jpeg", 422, "/problems/invalid-photo", "truncated"},
		{"a PNG claiming 100000×100000", append(photofiletest.PNGHeader(100000, 100000), make([]byte, 100)...), "image/png", 422, "/problems/invalid-photo", "40.0 megapixels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, p, body := upload(e, inc.Number, c.body, c.ct)
			if code != c.status || p.Type != c.typ || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("%d %s %q, want %d %s naming %q (%.200s)", code, p.Type, p.Detail, c.status, c.typ, c.detail, body)
			}
		})
	}
	if n := e.photoCount(t); n != 0 {
		t.Errorf("%d photos stored from bad input", n)
	}
	if code, _, p, _ := upload(e, "WG99999999", jpeg, "image/jpeg"); code != 404 {
		t.Errorf("a photo for no incident: %d %s", code, p.Detail)
	}
}

// TestPhotos_access: only the incident's assignee (signed in) or a
// dispatcher attaches photos; a leader of another grid may neither add
// nor see them; anonymous callers are asked to sign in.
func TestPhotos_access(t *testing.T) {
	t.Parallel()
	e := newPhotoEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "major"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	jpeg := photofiletest.JPEG(photofiletest.Options{Width: 32, Height: 32, GPS: &[2]float64{112.005, 27.006}})
	e.deliver(t)                         // the routing SMS goes first, the code's after it
	leader := e.signIn(t, "13900000001") // 网格长1, grid 1: the assignee
	other := e.signIn(t, "13900000005")  // 网格长5, grid 5
	code, p, prob, _ := upload(e, inc.Number, jpeg, "image/jpeg", bearer(leader.Token)...)
	if code != 201 || p.LocationCheck != "inside" {
		t.Fatalf("the assignee's photo: %d %s %s", code, p.LocationCheck, prob.Detail)
	}
	if code, _, prob, _ := upload(e, inc.Number, photofiletest.PNG(photofiletest.Options{Width: 8, Height: 8}), "image/png", bearer(other.Token)...); code != 403 {
		t.Errorf("another grid's leader adds a photo: %d %s", code, prob.Detail)
	}
	if code := e.do("", "GET", p.URL, nil, nil, bearer(other.Token)...); code != 403 {
		t.Errorf("another grid's leader reads the photo: %d", code)
	}
	if code := e.do("", "GET", p.URL, nil, nil); code != 401 {
		t.Errorf("anonymous: %d", code)
	}
	if code, _, _, _ := upload(e, inc.Number, jpeg, "image/jpeg", "Authorization", "Bearer "+e.secrets[geo.AccessPlanner]); code != 403 {
		t.Errorf("a planner adds a photo: %d", code)
	}
	if n := e.photoCount(t); n != 1 {
		t.Errorf("%d photos stored, want the assignee's only", n)
	}
}

// TestPhotos_eventsIdempotent: an action a phone sends twice with one
// Idempotency-Key (it queued it offline, and the answer to the first try
// was lost) is applied once; the same key with another body is 422, and a
// repeat under a new key is the closed loop's 409.
func TestPhotos_eventsIdempotent(t *testing.T) {
	t.Parallel()
	e := newPhotoEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "major"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	leader := e.signIn(t, "13900000001")
	h := append(bearer(leader.Token), "Idempotency-Key", "wgm-0001")
	for i := range 3 {
		if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "comment", "note": "已联系"}, nil, h...); code != 200 {
			t.Fatalf("comment try %d: %d", i+1, code)
		}
	}
	var p problemAnswer
	if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "comment", "note": "另一句"}, &p, h...); code != 422 || p.Type != "/problems/idempotency-key-reused" {
		t.Errorf("the key with another body: %d %s", code, p.Type)
	}
	acc := append(bearer(leader.Token), "Idempotency-Key", "wgm-0002")
	for range 2 {
		if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "accept"}, nil, acc...); code != 200 {
			t.Fatalf("accept: %d", code)
		}
	}
	if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "accept"}, nil, append(bearer(leader.Token), "Idempotency-Key", "wgm-0003")...); code != 409 {
		t.Errorf("accept again under a new key: %d, want 409", code)
	}
	var got incidentAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &got)
	counts := map[string]int{}
	for _, ev := range got.Events {
		counts[ev.Action]++
	}
	if counts["comment"] != 1 || counts["accept"] != 1 || got.Status != "accepted" {
		t.Errorf("events %v, status %s: want one comment, one accept", counts, got.Status)
	}
}
