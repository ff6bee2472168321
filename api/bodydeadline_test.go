package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wangge/api"
)

// TestSlowBody_deadline runs api.BodyDeadline (1 s grace, 1 KiB/s) around
// a handler that reads the body and answers 400 when the read fails, as
// the real handlers do. A body trickling at 50 B/s is cut and answered 408
// problem+json, not 400; a body sent faster than the rate goes through
// even when it takes longer than the grace; a handler that keeps working
// after reading its body keeps its context past the body's deadline.
func TestSlowBody_deadline(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":400,"detail":%q}`, err.Error())
			return
		}
		if r.URL.Path == "/work" {
			time.Sleep(2500 * time.Millisecond) // past the body's deadline
		}
		if err := r.Context().Err(); err != nil {
			http.Error(w, "context: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d bytes", len(b))
	})
	srv := httptest.NewServer(api.BodyDeadline(h, time.Second, 1024))
	defer srv.Close()

	send := func(path string, declared int, pieces []string, interval time.Duration) (*http.Response, string) {
		t.Helper()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stop := make(chan struct{})
		defer close(stop)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, declared)
		go func() {
			for _, p := range pieces {
				select {
				case <-stop:
					return
				case <-time.After(interval):
				}
				if _, err := io.WriteString(c, p); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: reading the answer: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	pieces := func(total, size int) []string {
		var out []string
		for ; total > 0; total -= size {
			out = append(out, strings.Repeat("x", min(size, total)))
		}
		return out
	}

	t.Run("trickling at 50 B/s", func(t *testing.T) {
		res, body := send("/", 100_000, pieces(1000, 10), 200*time.Millisecond)
		var p api.Problem
		if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != api.ProblemContentType ||
			json.Unmarshal([]byte(body), &p) != nil || p.Type != api.TypeRequestTimeout || p.Status != 408 || p.Instance != "/" {
			t.Fatalf("%s %s %s, want 408 problem+json of type %s", res.Status, res.Header.Get("Content-Type"), body, api.TypeRequestTimeout)
		}
		if !res.Close {
			t.Error("the connection is kept open after its body was cut")
		}
	})
	t.Run("at 2 KiB/s for 3 s", func(t *testing.T) {
		res, body := send("/", 6144, pieces(6144, 512), 250*time.Millisecond)
		if res.StatusCode != 200 || body != "6144 bytes" {
			t.Fatalf("%s %s, want 200 and the whole body", res.Status, body)
		}
	})
	t.Run("work after the body outlasts its deadline", func(t *testing.T) {
		res, body := send("/work", 10, []string{"0123456789"}, 0)
		if res.StatusCode != 200 || body != "10 bytes" {
			t.Fatalf("%s %s, want 200: the request's context must outlive the body's deadline", res.Status, body)
		}
	})
}
