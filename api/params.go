package api

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
)

// This file validates query parameters at the edge, each with a message
// that names the parameter, what was given and what is expected.

// queryFloat reads a required finite number.
func queryFloat(c *gin.Context, name string) (float64, error) {
	raw, ok := c.GetQuery(name)
	return parseRequiredNumber(name, raw, ok)
}

// parseRequiredNumber reads parameter name's value raw (set: the query holds it)
// as a required finite number.
func parseRequiredNumber(name, raw string, set bool) (float64, error) {
	if !set || strings.TrimSpace(raw) == "" {
		return 0, badParam(name, "required, want a number")
	}
	v, err := parseFloat(strings.TrimSpace(raw))
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, badParam(name, "got %q, want a finite number", truncate(raw))
	}
	return v, nil
}

// parseFloat is strconv.ParseFloat(s, 64). A plain decimal of at most 15
// significant digits (every coordinate a client sends) is converted by
// the batch decoder's exact fast path (parseNumber), which gives the same
// float64 in a fraction of ParseFloat's time; FuzzParseFloat holds the two
// to the same results.
func parseFloat(s string) (float64, error) {
	if hasDigit(s) {
		// parseNumber's fast path reads -?digits[.digits], and gives
		// anything else to ParseFloat; with a digit present, each such
		// text is one ParseFloat reads too.
		if v, ok := parseNumber([]byte(s)); ok {
			return v, nil
		}
	}
	return strconv.ParseFloat(s, 64)
}

// hasDigit reports whether s holds a decimal digit.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			return true
		}
	}
	return false
}

// queryPoint reads lon and lat and checks their ranges.
func queryPoint(c *gin.Context) (orb.Point, error) {
	lon, err := queryFloat(c, "lon")
	if err != nil {
		return orb.Point{}, err
	}
	lat, err := queryFloat(c, "lat")
	if err != nil {
		return orb.Point{}, err
	}
	return pointInRange(lon, lat)
}

// pointInRange is (lon, lat), or the 400 of the one out of range.
func pointInRange(lon, lat float64) (orb.Point, error) {
	if lon < -180 || lon > 180 {
		return orb.Point{}, badParam("lon", "got %v, want -180..180", lon)
	}
	if lat < -90 || lat > 90 {
		return orb.Point{}, badParam("lat", "got %v, want -90..90", lat)
	}
	return orb.Point{lon, lat}, nil
}

// queryCRS reads crs (default wgs84).
func queryCRS(c *gin.Context) (chinacrs.CRS, error) {
	return parseCRS(c.Query("crs"))
}

// parseCRS reads crs's value raw (empty: wgs84).
func parseCRS(raw string) (chinacrs.CRS, error) {
	crs, err := chinacrs.Parse(raw)
	if err != nil {
		return "", badParam("crs", "got %q, want wgs84, gcj02 or bd09", truncate(raw))
	}
	return crs, nil
}

// queryPrecision reads precision (decimals of output coordinates, 0..15;
// default exact).
func queryPrecision(c *gin.Context) (int, error) {
	raw, ok := c.GetQuery("precision")
	if !ok || raw == "" {
		return featurejson.Exact, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > 15 {
		return 0, badParam("precision", "got %q, want an integer 0..15", truncate(raw))
	}
	return n, nil
}

// queryBBox reads bbox=minLon,minLat,maxLon,maxLat (in crs), if present.
func queryBBox(c *gin.Context) (orb.Bound, bool, error) {
	raw, ok := c.GetQuery("bbox")
	if !ok {
		return orb.Bound{}, false, nil
	}
	parts := strings.Split(raw, ",")
	if len(parts) != 4 {
		return orb.Bound{}, false, badParam("bbox", "got %q, want minLon,minLat,maxLon,maxLat", truncate(raw))
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, false, badParam("bbox", "value %d: got %q, want a finite number", i+1, truncate(p))
		}
		v[i] = f
	}
	if msg := geo.CheckLonLat(v[0], v[1]); msg != nil {
		return orb.Bound{}, false, badParam("bbox", "min corner: %s", msg)
	}
	if msg := geo.CheckLonLat(v[2], v[3]); msg != nil {
		return orb.Bound{}, false, badParam("bbox", "max corner: %s", msg)
	}
	if v[0] > v[2] || v[1] > v[3] {
		return orb.Bound{}, false, badParam("bbox", "got %q: min must not exceed max", truncate(raw))
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, true, nil
}

// truncate keeps echoed input short: a 1 MB parameter is not repeated back.
func truncate(s string) string { return geo.Clip(s) }

// parseID reads a positive integer path parameter (a plan, person,
// organization or membership id).
func parseID(name, raw string) (int64, error) {
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v <= 0 {
		return 0, badParam(name, "got %q, want a positive integer", truncate(raw))
	}
	return v, nil
}

// queryCursor reads the cursor= of a paged list: the id after which the
// next page starts (0 for the first page).
func queryCursor(c *gin.Context) (int64, error) {
	raw := c.Query("cursor")
	if raw == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 8 {
		return 0, badParam("cursor", "not a cursor this server gave out")
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// encodeCursor is the cursor of the page after id, "" when there is none.
func encodeCursor(next int64) string {
	if next <= 0 {
		return ""
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(next))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Query parameters of the locate and incident routes.
var (
	pLon = param{"lon", func(c *gin.Context) error { _, err := queryFloat(c, "lon"); return err }}
	pLat = param{"lat", func(c *gin.Context) error { _, err := queryFloat(c, "lat"); return err }}
	// incidentFilterParams are the scope of the incident list and stats,
	// read by incidentFilter.
	incidentFilterParams = append(read("town", "grid", "village", "category", "status", "overdue", "from", "to"), pBBox)
)

// pLimit is ?limit= of a paged list, 1..max.
func pLimit(max int) param {
	return param{"limit", func(c *gin.Context) error { _, err := queryLimit(c, 0, max); return err }}
}

// queryLimit reads ?limit= (def when absent), 1..max.
func queryLimit(c *gin.Context, def, max int) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, badParam("limit", "got %q, want 1..%d", truncate(raw), max)
	}
	return n, nil
}
