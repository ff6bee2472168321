package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/gridindex"
)

// pointCount is how many random points every benchmark cycles through: a
// power of two, so a worker's position wraps with a mask.
const pointCount = 1 << 16

// randomPoints returns n points uniform in b, rounded to 1e-7 degrees
// (about a centimetre), so that their shortest decimal text parses back to
// the same float64: the HTTP, PostGIS and in-memory figures see exactly the
// same points.
func randomPoints(b orb.Bound, n int, seed uint64) []orb.Point {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	round := func(v float64) float64 { return math.Round(v*1e7) / 1e7 }
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			round(b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0])),
			round(b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])),
		}
	}
	return pts
}

// formatCoord writes a coordinate as the shortest text that round-trips.
func formatCoord(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// locateTarget is the request target of GET /v1/locate for p.
func locateTarget(p orb.Point) string {
	return "/v1/locate?lon=" + formatCoord(p[0]) + "&lat=" + formatCoord(p[1])
}

// locateRequests prebuilds one GET /v1/locate request per point.
func locateRequests(pts []orb.Point) [][]byte {
	reqs := make([][]byte, len(pts))
	for i, p := range pts {
		reqs[i] = getRequest(locateTarget(p))
	}
	return reqs
}

// batchBody is the JSON body of POST /v1/locate for pts.
func batchBody(pts []orb.Point) []byte {
	b := make([]byte, 0, 32*len(pts)+16)
	b = append(b, `{"points":[`...)
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, p[0], 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p[1], 'f', -1, 64)
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// window returns n points of pts starting at start, wrapping around.
func window(pts []orb.Point, start, n int) []orb.Point {
	out := make([]orb.Point, n)
	for i := range out {
		out[i] = pts[(start+i)%len(pts)]
	}
	return out
}

// matchMix counts how the index routes a set of points.
type matchMix struct {
	Inside, Boundary, Nearest, Outside int
}

// mixOf routes every point with the snapshot, as the API does.
func mixOf(snap *geo.Snapshot, pts []orb.Point) matchMix {
	var m matchMix
	for _, p := range pts {
		r, ok := snap.LocateCode(p, geo.DefaultToleranceM)
		switch {
		case !ok:
			m.Outside++
		case r.Match == gridindex.Inside:
			m.Inside++
		case r.Match == gridindex.Boundary:
			m.Boundary++
		default:
			m.Nearest++
		}
	}
	return m
}

// checkAnswers asks the API about the first n points with net/http and
// compares each answer with the snapshot's, so that the benchmark is known
// to measure real answers and not, say, errors of the same status.
func checkAnswers(ctx context.Context, addr string, snap *geo.Snapshot, pts []orb.Point) error {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, p := range pts {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+locateTarget(p), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var body struct {
			Grid struct{ Code string } `json:"grid"`
		}
		raw := new(bytes.Buffer)
		_, err = raw.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		want := ""
		if loc, ok := snap.Locate(p, geo.DefaultToleranceM); ok {
			want = loc.Grid.Code
		}
		switch {
		case resp.StatusCode == http.StatusOK && json.Unmarshal(raw.Bytes(), &body) == nil && body.Grid.Code == want && want != "":
		case resp.StatusCode == http.StatusNotFound && want == "":
		default:
			return fmt.Errorf("GET %s: status %d, body %.200s; the snapshot says %q", locateTarget(p), resp.StatusCode, raw, want)
		}
	}
	return nil
}
