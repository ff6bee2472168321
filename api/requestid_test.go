package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTTP_requestIDs: made ids are unique, printable and at most 64
// characters, and echoed; a sane caller id is kept, any other replaced.
func TestHTTP_requestIDs(t *testing.T) {
	c := newClient(t)
	seen := map[string]bool{}
	for range 1000 {
		id := c.get("/healthz").Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) || seen[id] {
			t.Fatalf("made id %q: empty, too long, unprintable or repeated", id)
		}
		seen[id] = true
	}
	for given, kept := range map[string]bool{
		"abc-123":               true,
		strings.Repeat("x", 64): true,
		strings.Repeat("x", 65): false,
		"has space":             false,
		"tab\there":             false,
		"非ascii":                false,
		"\x7f":                  false,
	} {
		req := httptest.NewRequest(http.MethodGet, "http://wangge.test/healthz", nil)
		req.Header.Set("X-Request-Id", given)
		rec := httptest.NewRecorder()
		c.srv.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if (got == given) != kept || got == "" {
			t.Errorf("given %q: echoed %q, want kept %v", given, got, kept)
		}
	}
}

// TestHTTP_metricsCounted: the cached metric children count every request
// under the same names and labels.
func TestHTTP_metricsCounted(t *testing.T) {
	c := newClient(t)
	for range 7 {
		c.get("/healthz")
	}
	for range 3 {
		c.get("/v1/locate?lon=0&lat=0")
	}
	body := string(c.get("/metrics").body)
	for _, want := range []string{
		`wangge_http_requests_total{method="GET",route="/healthz",status="200"} 7`,
		`wangge_http_requests_total{method="GET",route="/v1/locate",status="404"} 3`,
		`wangge_http_request_duration_seconds_count{route="/healthz"} 7`,
		`wangge_located_points_total{match="outside"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
