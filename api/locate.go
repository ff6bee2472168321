package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
	"wangge/geo/gridindex"
)

// locate answers GET /v1/locate?lon=&lat=[&crs=]: the grid of one point
// with its leader, deputy and organizations, from the snapshot in memory.
func (s *Server) locate(c *gin.Context) error {
	p, err := queryPoint(c)
	if err != nil {
		return err
	}
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	snap, r, err := s.snapshotFor(c)
	if err != nil {
		return err
	}
	wgs := chinacrs.ToWGS84(crs, p)
	loc, ok := snap.Locate(wgs, s.cfg.ToleranceM)
	if !ok {
		s.metrics.located.WithLabelValues("outside").Inc()
		return problemf(TypeOutsideCoverage, http.StatusNotFound,
			"the point (%v, %v) in %s is outside every grid and more than %v m from the nearest", p[0], p[1], crs, s.cfg.ToleranceM)
	}
	s.metrics.located.WithLabelValues(loc.Match.String()).Inc()
	b := make([]byte, 0, 1024)
	b = append(b, `{"point":`...)
	b = featurejson.AppendPoint(b, p, featurejson.Exact)
	b = append(b, `,"crs":"`...)
	b = append(b, crs...)
	b = append(b, `","match":"`...)
	b = append(b, loc.Match.String()...)
	b = append(b, `","distance_m":`...)
	b = featurejson.AppendFloat(b, loc.DistanceM, 2)
	b = append(b, ',')
	audience := 0
	if callerRole(c).SeesPersonalData() {
		audience = 1
	}
	b = append(b, r.routing[audience][loc.Entry]...)
	b = append(b, `,"also":[`...)
	for i, code := range loc.Also {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, code)
	}
	b = append(b, `],"generation":`...)
	b = strconv.AppendInt(b, snap.Generation, 10)
	b = append(b, '}')
	c.Data(http.StatusOK, "application/json", b)
	return nil
}

// batchRequest is the body of POST /v1/locate.
type batchRequest struct {
	Points []json.RawMessage `json:"points"`
	CRS    string            `json:"crs"`
}

// locateBatch answers POST /v1/locate {"points":[[lon,lat],...],"crs":...}
// with one result per point, in order: the grid code (null outside
// coverage), the match, the distance and, as GET /v1/locate gives them, the
// other grids of a point on a shared border (also). Up to MaxBatchPoints
// points.
func (s *Server) locateBatch(c *gin.Context, req *batchRequest) error {
	pts, crs, err := s.checkBatch(req)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	results := make([]gridindex.Result, len(pts))
	found := make([]bool, len(pts))
	s.locateAll(snap, pts, crs, results, found)

	b := make([]byte, 0, 64+len(pts)*64)
	b = append(b, `{"generation":`...)
	b = strconv.AppendInt(b, snap.Generation, 10)
	b = append(b, `,"results":[`...)
	var counts [4]int
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if !found[i] {
			b = append(b, `{"grid":null,"match":"outside","distance_m":null,"also":[]}`...)
			counts[0]++
			continue
		}
		counts[r.Match]++
		b = append(b, `{"grid":"`...)
		b = append(b, snap.Grids[r.ID].Code...)
		b = append(b, `","match":"`...)
		b = append(b, r.Match.String()...)
		b = append(b, `","distance_m":`...)
		b = featurejson.AppendFloat(b, r.DistanceM, 2)
		b = appendAlso(b, snap, r.Also)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	for m, n := range counts {
		if n > 0 {
			label := "outside"
			if m > 0 {
				label = gridindex.Match(m).String()
			}
			s.metrics.located.WithLabelValues(label).Add(float64(n))
		}
	}
	c.Data(http.StatusOK, "application/json", b)
	return nil
}

// appendAlso appends `,"also":[codes]`: the other grids covering a point
// on a shared border, ascending, empty for every other point.
func appendAlso(b []byte, snap *geo.Snapshot, also []int32) []byte {
	b = append(b, `,"also":[`...)
	for i, id := range also {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, snap.Grids[id].Code)
	}
	return append(b, ']')
}

// checkBatch checks the batch body, naming the first wrong point by its
// index.
func (s *Server) checkBatch(req *batchRequest) ([]orb.Point, chinacrs.CRS, error) {
	crs, err := chinacrs.Parse(req.CRS)
	if err != nil {
		return nil, "", invalidField("crs", "got %q, want wgs84, gcj02 or bd09", truncate(req.CRS))
	}
	if req.Points == nil {
		return nil, "", invalidField("points", "required: an array of [lon,lat] positions")
	}
	if len(req.Points) > s.cfg.MaxBatchPoints {
		return nil, "", problemf(TypeTooLarge, http.StatusRequestEntityTooLarge,
			"points: got %d, at most %d per request", len(req.Points), s.cfg.MaxBatchPoints)
	}
	pts := make([]orb.Point, len(req.Points))
	for i, raw := range req.Points {
		var xy []float64
		if err := json.Unmarshal(raw, &xy); err != nil || len(xy) != 2 {
			return nil, "", invalidField(fmt.Sprintf("points[%d]", i), "got %s, want [lon,lat]", truncate(string(raw)))
		}
		if msg := geo.CheckLonLat(xy[0], xy[1]); msg != nil {
			return nil, "", invalidField(fmt.Sprintf("points[%d]", i), "%s", msg)
		}
		pts[i] = orb.Point{xy[0], xy[1]}
	}
	return pts, crs, nil
}

// batchChunk is the number of points one goroutine locates: large batches
// are spread over the cores, small ones stay on the request's goroutine.
const batchChunk = 2048

func (s *Server) locateAll(snap *geo.Snapshot, pts []orb.Point, crs chinacrs.CRS, results []gridindex.Result, found []bool) {
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			results[i], found[i] = snap.LocateCode(chinacrs.ToWGS84(crs, pts[i]), s.cfg.ToleranceM)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (len(pts)+batchChunk-1)/batchChunk)
	if workers <= 1 {
		work(0, len(pts))
		return
	}
	var wg sync.WaitGroup
	per := (len(pts) + workers - 1) / workers
	for lo := 0; lo < len(pts); lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			work(lo, hi)
		}(lo, min(lo+per, len(pts)))
	}
	wg.Wait()
}

// invalidField is the problem for one wrong member of a JSON body.
func invalidField(where, format string, args ...any) *Problem {
	reason := fmt.Sprintf(format, args...)
	p := problemf(TypeInvalidBody, http.StatusBadRequest, "%s: %s", where, reason)
	p.Errors = []geo.Problem{{Where: where, Reason: reason}}
	return p
}
