package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// TestLocateBatch_alsoOnSharedEdge: POST /v1/locate lists the other grids
// of a point on a shared edge or vertex in also, as GET /v1/locate does, so
// a boundary set needs no GET per point.
func TestLocateBatch_alsoOnSharedEdge(t *testing.T) {
	c := newClient(t)
	// Points on the border of the first grid that another grid shares: the
	// midpoints of its edges (kept when they are exactly on the border of
	// two grids) and its vertices.
	var pts []orb.Point
	ring := demo.Grids[0].Geometry[0][0]
	for i := 1; i < len(ring); i++ {
		m := orb.Point{(ring[i-1][0] + ring[i][0]) / 2, (ring[i-1][1] + ring[i][1]) / 2}
		for _, p := range []orb.Point{m, ring[i]} {
			if len(demo.Index().Covering(p)) >= 2 {
				pts = append(pts, p)
			}
		}
	}
	if len(pts) == 0 {
		t.Fatal("the first grid shares no border with another grid")
	}
	body, _ := json.Marshal(map[string]any{"points": append(pts, orb.Point{116.4, 39.9})})
	res := c.do(http.MethodPost, "/v1/locate", body)
	if res.StatusCode != 200 {
		t.Fatalf("got %d %s", res.StatusCode, res.body)
	}
	var got struct {
		Results []struct {
			Grid  *string
			Match string
			Also  []string
		}
	}
	res.json(t, &got)
	if len(got.Results) != len(pts)+1 {
		t.Fatalf("%d results for %d points", len(got.Results), len(pts)+1)
	}
	for i, p := range pts {
		var one struct {
			Grid  struct{ Code string }
			Match string
			Also  []string
		}
		c.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", p[0], p[1])).json(t, &one)
		r := got.Results[i]
		if r.Grid == nil || *r.Grid != one.Grid.Code || r.Match != "boundary" || len(r.Also) == 0 || !slices.Equal(r.Also, one.Also) {
			t.Errorf("point %d %v: batch gives %v %s also %q, GET gives %s %s also %q",
				i, p, r.Grid, r.Match, r.Also, one.Grid.Code, one.Match, one.Also)
		}
	}
	if out := got.Results[len(pts)]; out.Also == nil || len(out.Also) != 0 {
		t.Errorf("a point outside coverage: also %q, want []", out.Also)
	}
}
