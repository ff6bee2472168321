package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
)

// locate answers GET /v1/locate?lon=&lat=[&crs=][&at=]: the grid of one
// point with its leader, deputy and organizations, from the snapshot in
// memory; a leader or deputy on leave (now, or at at=) says until when and
// who covers. A plain query (lon, lat, crs) is answered by locatePlain
// before the opening; locate reads every other.
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
	at, atSet, _ := queryAt(c) // checked by the opening
	return s.answerLocate(c, p, crs, snap, r, at, atSet)
}

// answerLocate writes the answer for point p (in crs) on snap: leave is
// shown as of at when atSet, else now.
func (s *Server) answerLocate(c *gin.Context, p orb.Point, crs chinacrs.CRS, snap *geo.Snapshot, r *rendering, at time.Time, atSet bool) error {
	wgs := chinacrs.ToWGS84(crs, p)
	loc, ok := snap.Locate(wgs, s.cfg.ToleranceM)
	if !ok {
		s.metrics.locatedCounter("outside").Inc()
		return outsideCoverage(p, crs, s.cfg.ToleranceM)
	}
	s.metrics.locatedCounter(loc.Match.String()).Inc()
	bp := getBody()
	b := append((*bp)[:0], `{"point":`...)
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
	if !atSet {
		at = s.cfg.Now().UTC()
	}
	// Bytes rendered once per snapshot serve grids whose people are
	// present; a grid with its leader or deputy away is rendered now, with
	// who covers.
	if loc.Grid.AnyAbsent(at) {
		b = append(b, routingJSONAt(snap, loc.Grid, audience == 1, at)...)
	} else {
		b = append(b, r.routingOf(audience, loc.Entry)...)
	}
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
	setDate(c.Writer.Header())
	writeBytes(c, http.StatusOK, jsonContentType, b)
	putBody(bp, b)
	return nil
}

// outsideCoverage is the 404 of a point outside every grid and farther
// than tol from the nearest. Its detail formats the numbers as %v does,
// without fmt.
func outsideCoverage(p orb.Point, crs chinacrs.CRS, tol float64) *Problem {
	var buf [192]byte
	b := append(buf[:0], "the point ("...)
	b = strconv.AppendFloat(b, p[0], 'g', -1, 64)
	b = append(b, ", "...)
	b = strconv.AppendFloat(b, p[1], 'g', -1, 64)
	b = append(b, ") in "...)
	b = append(b, crs...)
	b = append(b, " is outside every grid and more than "...)
	b = strconv.AppendFloat(b, tol, 'g', -1, 64)
	b = append(b, " m from the nearest"...)
	return &Problem{Type: TypeOutsideCoverage, Title: problemTitles[TypeOutsideCoverage], Status: http.StatusNotFound, Detail: string(b)}
}

// plainValue is one parameter of a plain query: its value, and whether
// the query holds it.
type plainValue struct {
	v   string
	set bool
}

// locateQuery is the query of GET /v1/locate as locatePlain reads it.
type locateQuery struct{ lon, lat, crs plainValue }

// plainLocateQuery reads a query of lon, lat and crs, each at most once,
// with no escapes: every byte printable ASCII but %, + and ; (which
// url.ParseQuery would unescape or drop). The values are then exactly
// what Gin's query cache would hold. It reports false for any other query
// (at=, a repeated or unknown name, an escape), which takes the general
// path.
func plainLocateQuery(raw string) (q locateQuery, ok bool) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '%' || c == '+' || c == ';' {
			return q, false
		}
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var v *plainValue
		switch name {
		case "lon":
			v = &q.lon
		case "lat":
			v = &q.lat
		case "crs":
			v = &q.crs
		default:
			return q, false
		}
		if v.set {
			return q, false
		}
		*v = plainValue{value, true}
	}
	return q, true
}

// locatePlain answers GET /v1/locate when its query is plain
// (plainLocateQuery): the opening's checks in its order (the parameters
// present by name: crs, lat, lon; then the headers), then the handler's
// (lon and lat required and in range), with the same problems, without
// url.Values or re-reading the query.
func (s *Server) locatePlain(c *gin.Context) (bool, error) {
	q, ok := plainLocateQuery(c.Request.URL.RawQuery)
	if !ok {
		return false, nil
	}
	crs, err := parseCRS(q.crs.v)
	if err != nil {
		return true, err
	}
	if q.crs.set {
		setCRSHeader(c, crs)
	}
	// The opening checks the numbers present (lat, then lon) and the
	// handler reads them after the headers' check, asking for a missing
	// one (lon, then lat): each is parsed once, the problems keep that
	// order.
	var lon, lat float64
	if q.lat.set {
		if lat, err = parseRequiredNumber("lat", q.lat.v, true); err != nil {
			return true, err
		}
	}
	if q.lon.set {
		if lon, err = parseRequiredNumber("lon", q.lon.v, true); err != nil {
			return true, err
		}
	}
	if err := checkHeaders(c); err != nil {
		return true, err
	}
	if !q.lon.set {
		_, err := parseRequiredNumber("lon", "", false)
		return true, err
	}
	if !q.lat.set {
		_, err := parseRequiredNumber("lat", "", false)
		return true, err
	}
	p, err := pointInRange(lon, lat)
	if err != nil {
		return true, err
	}
	snap := s.registry.Load()
	return true, s.answerLocate(c, p, crs, snap, s.renderingFor(snap), time.Time{}, false)
}

// batchRequest is the body of POST /v1/locate as encoding/json decodes it:
// the slow path (decodeBatch), which words every refusal.
type batchRequest struct {
	Points []json.RawMessage `json:"points"`
	CRS    string            `json:"crs"`
}

// locateBatch answers POST /v1/locate {"points":[[lon,lat],...],"crs":...}
// with one result per point, in order: the grid code (null outside
// coverage), the match, the distance and, as GET /v1/locate gives them, the
// other grids of a point on a shared border (also). Up to MaxBatchPoints
// points.
func (s *Server) locateBatch(c *gin.Context) error {
	body, err := readJSONBody(c)
	if err != nil {
		return err
	}
	pts, crs, err := s.decodeBatch(body)
	if err != nil {
		return err
	}
	s.writeBatch(c, s.registry.Load(), pts, crs) // locate_batch.go
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

// decodeBatch decodes and checks the body of POST /v1/locate. A body the
// one-pass batchDecoder accepts is answered from it; any other goes through
// encoding/json and checkBatch, as every body did before, so that each
// refusal keeps its words (and its precedence). The one-pass decoder is
// stricter in four ways, which then answer 400: a member given twice, a
// member name that is not exactly "points" or "crs" (encoding/json would
// match "Points" too), a null coordinate (encoding/json would read it as
// 0), and a "}" or "]" after the body (which Decoder.More lets through).
func (s *Server) decodeBatch(body []byte) ([]orb.Point, chinacrs.CRS, error) {
	if err := checkJSONText(body); err != nil {
		return nil, "", err
	}
	d := batchDecoder{data: body, max: s.cfg.MaxBatchPoints}
	if d.decode() {
		return d.pts, d.crs, nil
	}
	var req batchRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, "", err
	}
	pts, crs, err := s.checkBatch(&req)
	if err != nil {
		return nil, "", err
	}
	if p := batchStrict(body); p != nil {
		return nil, "", p
	}
	return pts, crs, nil // not reached while the decoders agree (FuzzBatchDecoder)
}

// batchStrict returns the problem with a body that encoding/json accepts
// but the one-pass decoder refuses: a member given twice, a member name not
// exactly points or crs, a null coordinate, anything but whitespace after
// the body. Nil when there is none. Only refused bodies come here.
func batchStrict(body []byte) *Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		switch {
		case key != "points" && key != "crs":
			return invalidField(truncate(key), "unknown member: want points and crs")
		case seen[key]:
			return invalidField(key, "given twice")
		}
		seen[key] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil
		}
		var raw []json.RawMessage
		if key == "points" && json.Unmarshal(v, &raw) != nil {
			continue
		}
		for i, p := range raw {
			var xy []any
			if json.Unmarshal(p, &xy) == nil && slices.Contains(xy, nil) {
				return invalidField(fmt.Sprintf("points[%d]", i), "got %s, want [lon,lat] (null is not a number)", truncate(string(p)))
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil
	}
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return problemf(TypeInvalidBody, http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// batchDecoder reads {"points":[[lon,lat],...],"crs":"..."} in one pass,
// without a value per point: it accepts only bodies that encoding/json
// plus checkBatch accept with the same points, and refuses everything
// else (decodeBatch then finds the words).
type batchDecoder struct {
	data []byte
	i    int
	max  int
	pts  []orb.Point
	crs  chinacrs.CRS
}

func (d *batchDecoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips whitespace and reports whether the next byte is b, consuming
// it if so.
func (d *batchDecoder) next(b byte) bool {
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == b {
		d.i++
		return true
	}
	return false
}

func (d *batchDecoder) decode() bool {
	if !d.next('{') {
		return false
	}
	var seenPoints, seenCRS bool
	d.crs = chinacrs.WGS84 // absent or null, as chinacrs.Parse("")
	if !d.next('}') {
		for {
			d.ws()
			key, ok := d.str()
			if !ok || !d.next(':') {
				return false
			}
			d.ws()
			switch key {
			case "points":
				if seenPoints {
					return false
				}
				seenPoints = true
				if !d.points() {
					return false
				}
			case "crs":
				if seenCRS {
					return false
				}
				seenCRS = true
				if bytes.HasPrefix(d.data[d.i:], []byte("null")) {
					d.i += 4
					break
				}
				v, ok := d.str()
				if !ok {
					return false
				}
				crs, err := chinacrs.Parse(v)
				if err != nil {
					return false
				}
				d.crs = crs
			default:
				return false
			}
			if d.next(',') {
				continue
			}
			if d.next('}') {
				break
			}
			return false
		}
	}
	d.ws()
	if d.i != len(d.data) {
		return false
	}
	if !seenPoints || d.pts == nil {
		return false
	}
	return true
}

// str reads a JSON string at d.i. Strings without a backslash are taken
// as they are (the body is valid UTF-8: checkJSONText); others go to
// encoding/json.
func (d *batchDecoder) str() (string, bool) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", false
	}
	start := d.i
	escaped := false
	for j := start + 1; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			d.i = j + 1
			if !escaped {
				return string(d.data[start+1 : j]), true
			}
			var v string
			if json.Unmarshal(d.data[start:d.i], &v) != nil {
				return "", false
			}
			return v, true
		case c == '\\':
			escaped = true
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// points reads the array of points, each exactly [number,number] with
// whitespace, and checks each as checkBatch does.
func (d *batchDecoder) points() bool {
	if bytes.HasPrefix(d.data[d.i:], []byte("null")) {
		d.i += 4
		return true // d.pts stays nil: "points: required"
	}
	if !d.next('[') {
		return false
	}
	if pts, end, ok := decodePointsParallel(d.data, d.i, d.max); ok {
		d.pts, d.i = pts, end
		return true
	}
	d.pts = make([]orb.Point, 0, min(d.max, len(d.data)/8+1))
	if d.next(']') {
		return true
	}
	return d.elements(-1)
}

// number reads a JSON number after optional whitespace, as encoding/json
// would into a float64.
func (d *batchDecoder) number() (float64, bool) {
	d.ws()
	b, i := d.data, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	f, ok := parseNumber(b[start:i])
	if !ok {
		return 0, false
	}
	d.i = i
	return f, true
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

// invalidField is the problem for one wrong member of a JSON body.
func invalidField(where, format string, args ...any) *Problem {
	reason := fmt.Sprintf(format, args...)
	p := problemf(TypeInvalidBody, http.StatusBadRequest, "%s: %s", where, reason)
	p.Errors = []geo.Problem{{Where: where, Reason: reason}}
	return p
}
