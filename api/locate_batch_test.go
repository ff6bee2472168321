package api_test

import (
	"bytes"
	"compress/gzip"
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

// TestLocateBatch_agreesWithGET: every answer of a large POST /v1/locate
// (decoded in parallel, located on every core, streamed in chunks) is the
// answer GET /v1/locate gives for that point, in each CRS: the same grid,
// match, distance and other grids on a border, and outside exactly where
// GET answers 404.
func TestLocateBatch_agreesWithGET(t *testing.T) {
	c := newClient(t)
	pts := randomPoints(10_000)
	// Some points on grid vertices, where other grids share the border.
	for i := 0; i < 200; i++ {
		g := demo.Grids[i%len(demo.Grids)]
		ring := g.Geometry[0][0]
		pts[i*50] = ring[i%len(ring)]
	}
	for _, crs := range []string{"wgs84", "gcj02"} {
		var parts []string
		for _, p := range pts {
			parts = append(parts, fmt.Sprintf("[%.6f,%.6f]", p[0], p[1]))
		}
		body := `{"points":[` + strings.Join(parts, ",") + `],"crs":"` + crs + `"}`
		res := c.do(http.MethodPost, "/v1/locate", []byte(body))
		if res.StatusCode != 200 {
			t.Fatalf("%s: got %d %.300s", crs, res.StatusCode, res.body)
		}
		var got struct {
			Generation int64
			Results    []struct {
				Grid      *string
				Match     string
				DistanceM *float64 `json:"distance_m"`
				Also      []string
			}
		}
		res.json(t, &got)
		if len(got.Results) != len(pts) || got.Generation != demo.Generation {
			t.Fatalf("%s: %d results for %d points, generation %d", crs, len(got.Results), len(pts), got.Generation)
		}
		inside, outside := 0, 0
		for i, part := range parts {
			lon, lat, _ := strings.Cut(strings.Trim(part, "[]"), ",")
			one := c.get("/v1/locate?lon=" + lon + "&lat=" + lat + "&crs=" + crs)
			r := got.Results[i]
			if one.StatusCode == http.StatusNotFound {
				outside++
				if r.Grid != nil || r.Match != "outside" || r.DistanceM != nil || len(r.Also) != 0 {
					t.Errorf("%s point %d %s: GET 404, batch %+v", crs, i, part, r)
				}
				continue
			}
			inside++
			var want location
			one.json(t, &want)
			if r.Grid == nil || *r.Grid != want.Grid.Code || r.Match != want.Match || r.DistanceM == nil ||
				*r.DistanceM != want.DistanceM || fmt.Sprint(r.Also) != fmt.Sprint(want.Also) {
				t.Errorf("%s point %d %s: GET %s %s %v also %v, batch %+v", crs, i, part, want.Grid.Code, want.Match, want.DistanceM, want.Also, r)
			}
		}
		if inside == 0 || outside == 0 {
			t.Errorf("%s: %d inside, %d outside: want both", crs, inside, outside)
		}
	}
}

// TestLocateBatch_streamedGzip: a large batch streamed through the gzip
// middleware decompresses to the bytes sent to a client without gzip.
func TestLocateBatch_streamedGzip(t *testing.T) {
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{}, nil)
	body, _ := json.Marshal(map[string]any{"points": randomPoints(9000)})
	send := func(gz bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/locate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if gz {
			r.Header.Set("Accept-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	plain, zipped := send(false), send(true)
	if plain.Code != 200 || zipped.Code != 200 || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("got %d and %d (%q)", plain.Code, zipped.Code, zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain.Body.Bytes()) || !json.Valid(unzipped) {
		t.Fatalf("gzip answer differs (%v): %d bytes, plain %d", err, len(unzipped), plain.Body.Len())
	}
}

// TestLocateBatch_largeBodyProblems: in a body split for the parallel
// decoder, the bad point is still named by its index.
func TestLocateBatch_largeBodyProblems(t *testing.T) {
	c := newClient(t)
	for _, tt := range []struct {
		at     int
		point  string
		status int
		detail string
	}{
		{7777, "[212.1,27.2]", 400, "points[7777]: lon: got 212.1"},
		{5000, "[1,2,3]", 400, "points[5000]"},
		{9999, "[1,null]", 400, "points[9999]"},
		{0, `["1",2]`, 400, "points[0]"},
	} {
		parts := make([]string, 10_000)
		for i := range parts {
			parts[i] = fmt.Sprintf("[%.6f,%.6f]", 112.05+float64(i%1400)*1e-4, 27.21+float64(i%1259)*1e-4)
		}
		parts[tt.at] = tt.point
		res := c.do(http.MethodPost, "/v1/locate", []byte(`{"points":[`+strings.Join(parts, ",")+`]}`))
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != tt.status || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("%s at %d: got %d %q, want %d with %q", tt.point, tt.at, res.StatusCode, p.Detail, tt.status, tt.detail)
		}
	}
}
