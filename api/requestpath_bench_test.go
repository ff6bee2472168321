package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// benchServer is a server over the demo town, as the handler tests use.
func benchServer(b *testing.B) *api.Server {
	b.Helper()
	var reg geo.Registry
	reg.Store(demo)
	return api.New(&reg, nil, api.Config{}, nil)
}

// BenchmarkLocateGET is one GET /v1/locate through the whole Gin engine
// (every middleware, no network), as a browser sends it (Origin and
// Accept-Encoding set, CORS off: the default config).
func BenchmarkLocateGET(b *testing.B) {
	srv := benchServer(b)
	var pts [][2]float64
	for _, p := range randomPoints(4096) {
		if _, ok := demo.Locate(p, geo.DefaultToleranceM); ok {
			pts = append(pts, [2]float64{p[0], p[1]})
		}
	}
	reqs := make([]*http.Request, len(pts))
	for i, p := range pts {
		r := httptest.NewRequest(http.MethodGet, "http://wangge.test/v1/locate?lon="+ftoa(p[0])+"&lat="+ftoa(p[1]), nil)
		r.Header.Set("Accept-Encoding", "gzip, deflate, br")
		r.Header.Set("Origin", "https://map.example.cn")
		reqs[i] = r
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		srv.ServeHTTP(w, reqs[i%len(reqs)])
	}
}

// BenchmarkLocateGETOutside is GET /v1/locate of points outside coverage
// (a third of uniform points in the town's box): the 404 problem+json.
func BenchmarkLocateGETOutside(b *testing.B) {
	srv := benchServer(b)
	var reqs []*http.Request
	for _, p := range randomPoints(4096) {
		if _, ok := demo.Locate(p, geo.DefaultToleranceM); !ok {
			reqs = append(reqs, httptest.NewRequest(http.MethodGet, "http://wangge.test/v1/locate?lon="+ftoa(p[0])+"&lat="+ftoa(p[1]), nil))
		}
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		srv.ServeHTTP(w, reqs[i%len(reqs)])
		if w.status != http.StatusNotFound {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkLocateBatchPOST is one POST /v1/locate of 10,000 points through
// the engine; it reports points/s. "17digits" writes the coordinates as
// json.Marshal does (up to 17 significant digits: the decoder's slow path),
// "6decimals" as devices and the wrk script send them.
func BenchmarkLocateBatchPOST(b *testing.B) {
	srv := benchServer(b)
	pts := randomPoints(10_000)
	full, _ := json.Marshal(map[string]any{"points": pts, "crs": "wgs84"})
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("[%.6f,%.6f]", p[0], p[1])
	}
	short := []byte(`{"points":[` + strings.Join(parts, ",") + `],"crs":"wgs84"}`)
	for _, bm := range []struct {
		name string
		body []byte
	}{{"17digits", full}, {"6decimals", short}} {
		b.Run(bm.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.SetBytes(int64(len(bm.body)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				clear(w.h)
				r := httptest.NewRequest(http.MethodPost, "http://wangge.test/v1/locate", bytes.NewReader(bm.body))
				r.Header.Set("Content-Type", "application/json")
				srv.ServeHTTP(w, r)
				if w.status != 200 {
					b.Fatalf("status %d", w.status)
				}
			}
			b.ReportMetric(float64(b.N)*float64(len(pts))/b.Elapsed().Seconds(), "points/s")
		})
	}
}

func ftoa(f float64) string { b, _ := json.Marshal(f); return string(b) }

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkLocateGETLoopback is GET /v1/locate over loopback TCP through
// net/http's server, with Go's client in the same process (for profiles of
// the server's side: -cpuprofile, then focus on net/http.(*conn).serve).
func BenchmarkLocateGETLoopback(b *testing.B) {
	ts := httptest.NewServer(benchServer(b))
	defer ts.Close()
	var urls []string
	for _, p := range randomPoints(4096) {
		urls = append(urls, ts.URL+"/v1/locate?lon="+ftoa(p[0])+"&lat="+ftoa(p[1]))
	}
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			res, err := client.Get(urls[i%len(urls)])
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			i++
		}
	})
}
