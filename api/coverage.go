package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/coverage"
	"wangge/geo/featurejson"
)

// coverageRequest is the body of POST /v1/coverage.
type coverageRequest struct {
	Geometry json.RawMessage `json:"geometry"`
	BufferM  *float64        `json:"buffer_m"`
	RadiusM  *float64        `json:"radius_m"`
	CRS      string          `json:"crs"`
}

// coveredGrid is one grid in the answer of POST /v1/coverage.
type coveredGrid struct {
	gridRefJSON
	OverlapM2 float64    `json:"overlap_m2"`
	Share     float64    `json:"share"`
	Leader    *staffJSON `json:"leader"`
	Deputy    *staffJSON `json:"deputy"`
}

// coverageTotals sums up an answer of POST /v1/coverage.
type coverageTotals struct {
	Grids      int     `json:"grids"`
	AreaM2     float64 `json:"area_m2"`
	OverlapM2  float64 `json:"overlap_m2"`
	Generation int64   `json:"generation"`
}

// coverage answers POST /v1/coverage (dispatchers and admins): every grid
// of the current snapshot that an area covers — a polygon, a line with
// buffer_m, or a point with radius_m — with the overlap in m², its share of
// the grid, and the leader and deputy to notify (on leave: until when, and
// who covers), largest overlap first.
// It is computed from memory (geo/coverage), so it answers while
// PostgreSQL is down.
func (s *Server) coverage(c *gin.Context, body *coverageRequest) error {
	req, crs, err := checkCoverage(body)
	if err != nil {
		return err
	}
	sh, err := coverage.NewShape(req)
	var large *coverage.TooLargeError
	var invalid *geo.Error
	switch {
	case errors.As(err, &large):
		p := problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "%s: %s", large.Where, large.Reason)
		p.Errors = []geo.Problem{{Where: large.Where, Reason: large.Reason}}
		return p
	case errors.As(err, &invalid):
		// Where the geometry is wrong, in the caller's CRS, in the location
		// and in the text.
		for i, p := range invalid.Problems {
			if len(p.Location) == 2 && crs != chinacrs.WGS84 {
				q := chinacrs.FromWGS84(crs, orb.Point{p.Location[0], p.Location[1]})
				was, now := fmt.Sprintf("(%v, %v)", p.Location[0], p.Location[1]), fmt.Sprintf("(%v, %v)", q[0], q[1])
				invalid.Problems[i].Reason = strings.ReplaceAll(p.Reason, was, now)
				invalid.Problems[i].Location = []float64{q[0], q[1]}
				if i == 0 {
					invalid.Message = strings.ReplaceAll(invalid.Message, was, now)
				}
			}
		}
		return invalid
	case err != nil:
		return err
	}

	snap := s.registry.Load()
	overlaps := sh.Grids(snap)
	personal := callerRole(c).SeesPersonalData()
	now := s.cfg.Now().UTC()
	out := struct {
		CRS    chinacrs.CRS   `json:"crs"`
		Grids  []coveredGrid  `json:"grids"`
		Totals coverageTotals `json:"totals"`
	}{CRS: crs, Grids: make([]coveredGrid, len(overlaps))}
	total := 0.0
	for i, o := range overlaps {
		g := &snap.Grids[o.Entry]
		out.Grids[i] = coveredGrid{gridRefJSON: gridRef(snap, g), OverlapM2: roundTo(o.OverlapM2, 2), Share: roundTo(o.Share, 6),
			Leader: staffOut(snap, g, g.Leader, personal, now), Deputy: staffOut(snap, g, g.Deputy, personal, now)}
		total += o.OverlapM2
	}
	out.Totals = coverageTotals{Grids: len(overlaps), AreaM2: roundTo(sh.AreaM2, 2), OverlapM2: roundTo(total, 2), Generation: snap.Generation}
	c.JSON(http.StatusOK, out)
	return nil
}

// checkCoverage checks the body of POST /v1/coverage and turns its
// geometry into WGS-84.
func checkCoverage(req *coverageRequest) (coverage.Request, chinacrs.CRS, error) {
	crs, err := chinacrs.Parse(req.CRS)
	if err != nil {
		return coverage.Request{}, "", invalidField("crs", "got %q, want wgs84, gcj02 or bd09", truncate(req.CRS))
	}
	g, reasons := featurejson.DecodeGeometry(req.Geometry)
	if len(reasons) > 0 {
		p := invalidField("geometry", "%s", reasons[0])
		p.Errors = p.Errors[:0]
		for _, r := range reasons {
			p.Errors = append(p.Errors, geo.Problem{Where: "geometry", Reason: r})
		}
		return coverage.Request{}, "", p
	}
	return coverage.Request{Geometry: coverageToWGS84(crs, g), BufferM: req.BufferM, RadiusM: req.RadiusM}, crs, nil
}

// coverageToWGS84 converts every position of g from crs to WGS-84. Equal
// positions stay equal, so closed rings stay closed.
func coverageToWGS84(crs chinacrs.CRS, g orb.Geometry) orb.Geometry {
	if crs == chinacrs.WGS84 {
		return g
	}
	conv := func(p orb.Point) orb.Point { return chinacrs.ToWGS84(crs, p) }
	line := func(ls orb.LineString) orb.LineString {
		out := make(orb.LineString, len(ls))
		for i, p := range ls {
			out[i] = conv(p)
		}
		return out
	}
	switch g := g.(type) {
	case orb.Point:
		return conv(g)
	case orb.LineString:
		return line(g)
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, ls := range g {
			out[i] = line(ls)
		}
		return out
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, poly := range g {
			out[i] = make(orb.Polygon, len(poly))
			for j, r := range poly {
				out[i][j] = orb.Ring(line(orb.LineString(r)))
			}
		}
		return out
	}
	return g
}

// roundTo rounds v to the given number of decimals.
func roundTo(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}
