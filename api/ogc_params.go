package api

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
)

// This file reads the requests of /ogc: the representation asked for, the
// absolute base URL of links, and the items parameters, each checked at the
// edge with a message that names the parameter.

// Items paging: limit defaults to 10 (the value the OGC specification's
// OpenAPI fragments use) and may be 1..10000.
const (
	ogcDefaultLimit = 10
	ogcMaxLimit     = 10_000
)

// ogcFormat is the representation of an /ogc response.
type ogcFormat int

const (
	ogcJSON ogcFormat = iota // application/json, or application/geo+json for features
	ogcHTML                  // text/html
)

func (f ogcFormat) String() string {
	if f == ogcHTML {
		return "html"
	}
	return "json"
}

// ogcNegotiate picks the representation: f=json|html when given, otherwise
// HTML when the Accept header prefers text/html to JSON (as browsers' Accept
// does), and JSON for everything else, a missing or unsatisfiable Accept
// included (GDAL and QGIS ask for application/json or application/geo+json).
func ogcNegotiate(c *gin.Context) (ogcFormat, error) {
	if f, ok := c.GetQuery("f"); ok {
		switch strings.ToLower(f) {
		case "json", "geojson":
			return ogcJSON, nil
		case "html":
			return ogcHTML, nil
		}
		return 0, badParam("f", "got %q, want json or html", truncate(f))
	}
	accept := c.GetHeader("Accept")
	html := acceptQuality(accept, "text/html")
	js := max(acceptQuality(accept, "application/json"), acceptQuality(accept, GeoJSONContentType))
	if html > js {
		return ogcHTML, nil
	}
	return ogcJSON, nil
}

// acceptQuality is the quality that an Accept header gives mediaType: that
// of the most specific media range matching it (RFC 9110 §12.5.1), or 0.
func acceptQuality(accept, mediaType string) float64 {
	major, _, _ := strings.Cut(mediaType, "/")
	best, specificity := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		rng, params, _ := strings.Cut(part, ";")
		rng = strings.ToLower(strings.TrimSpace(rng))
		var s int
		switch rng {
		case mediaType:
			s = 2
		case major + "/*":
			s = 1
		case "*/*":
			s = 0
		default:
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if s > specificity {
			best, specificity = q, s
		}
	}
	return best
}

// ogcBaseURL is the absolute URL of the landing page as the client reached
// it, for links that GDAL and QGIS follow: the scheme from
// X-Forwarded-Proto (http or https) or TLS, the host from X-Forwarded-Host
// or Host. A forwarded host with characters a host cannot have is ignored.
func ogcBaseURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(firstValue(c.GetHeader("X-Forwarded-Proto"))); p == "http" || p == "https" {
		scheme = p
	}
	host := c.Request.Host
	if h := firstValue(c.GetHeader("X-Forwarded-Host")); h != "" && validHost(h) {
		host = h
	}
	if host == "" || !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host + "/ogc"
}

// firstValue is the first of a comma-separated header's values (proxies
// append theirs).
func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(v)
}

// validHost reports whether h looks like host[:port]: letters, digits, and
// . - : [ ] (IPv6 literals) only.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return false
		}
	}
	return true
}

// ogcCheckParams rejects query parameters that are not in allowed, and any
// given more than once, as the specification recommends: a misspelt filter
// must not silently return everything.
func ogcCheckParams(c *gin.Context, allowed []string, hint string) error {
	q := c.Request.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return badParam(truncate(name), "unknown parameter%s; want one of %s", hint, strings.Join(allowed, ", "))
		}
		if n := len(q[name]); n > 1 {
			return badParam(name, "given %d times, want it once", n)
		}
	}
	return nil
}

// ogcPaging reads limit (1..10000, default 10) and offset (0 or more).
func ogcPaging(c *gin.Context) (limit, offset int, err error) {
	limit, offset = ogcDefaultLimit, 0
	if raw, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > ogcMaxLimit {
			return 0, 0, badParam("limit", "got %q, want an integer 1..%d", truncate(raw), ogcMaxLimit)
		}
		limit = n
	}
	if raw, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return 0, 0, badParam("offset", "got %q, want an integer 0 or more", truncate(raw))
		}
		offset = n
	}
	return limit, offset, nil
}

// ogcItemsParams are the parameters of every items request, besides the
// collection's properties and datetime.
var ogcItemsParams = []string{"f", "bbox", "bbox-crs", "crs", "limit", "offset", "filter", "filter-lang", "filter-crs", "sortby"}

// ogcAllowed lists the parameters of col's items.
func ogcAllowed(col *ogcCollection) []string {
	allowed := slices.Clone(ogcItemsParams)
	if col.temporal || col.instant != "" {
		allowed = append(allowed, "datetime")
	}
	for _, fl := range col.fields {
		allowed = append(allowed, fl.name)
	}
	return allowed
}

// ogcCRSOf reads crs (default CRS84). Features without geometry accept
// only CRS84.
func ogcCRSOf(c *gin.Context, col *ogcCollection) (ogcCRS, error) {
	raw, ok := c.GetQuery("crs")
	if !ok {
		return crsCRS84, nil
	}
	crs, err := parseOGCCRS("crs", raw)
	if err == nil && col.geometry == "" && crs != crsCRS84 {
		return 0, badParam("crs", "collection %s has no geometry; its only CRS is %s", col.id, ogcCRS84)
	}
	return crs, err
}

// ogcQueryOf reads what an items request for col selects: bbox (in
// bbox-crs), datetime, the property filters, filter, sortby and crs.
func (s *Server) ogcQueryOf(c *gin.Context, col *ogcCollection) (ogcQuery, error) {
	q := ogcQuery{col: col}
	var err error
	if q.crs, err = ogcCRSOf(c, col); err != nil {
		return q, err
	}
	bboxCRS := crsCRS84
	if raw, ok := c.GetQuery("bbox-crs"); ok {
		if bboxCRS, err = parseOGCCRS("bbox-crs", raw); err != nil {
			return q, err
		}
		if _, has := c.GetQuery("bbox"); !has {
			return q, badParam("bbox-crs", "given without bbox")
		}
	}
	if raw, ok := c.GetQuery("bbox"); ok {
		var b orb.Bound
		if bboxCRS == crsCRS84 {
			if n := strings.Count(raw, ",") + 1; n == 6 {
				return q, badParam("bbox", "got 6 numbers; heights are not supported, want minLon,minLat,maxLon,maxLat")
			}
			if b, _, err = queryBBox(c); err != nil {
				return q, err
			}
		} else if b, err = ogcBBoxIn(raw, bboxCRS); err != nil {
			return q, err
		}
		q.bbox = &b
	}
	if raw, ok := c.GetQuery("datetime"); ok {
		tr, err := ogcDatetime(raw)
		if err != nil {
			return q, err
		}
		q.datetime = &tr
	}
	for i, f := range col.fields {
		raw, ok := c.GetQuery(f.name)
		if !ok {
			continue
		}
		flt := ogcFilter{field: i, kind: f.kind, s: raw}
		switch f.kind {
		case ogcInteger:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return q, badParam(f.name, "got %q, want an integer", truncate(raw))
			}
			flt.n = n
		case ogcBoolean:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return q, badParam(f.name, "got %q, want true or false", truncate(raw))
			}
			flt.b = b
		case ogcTimestamp:
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return q, badParam(f.name, "got %q, want an RFC 3339 time (or use datetime or filter for ranges)", truncate(raw))
			}
			flt.t = t
		case ogcString:
			if vals := col.enum(s, f.name); vals != nil && !slices.Contains(vals, raw) {
				return q, badParam(f.name, "got %q, want one of %s", truncate(raw), strings.Join(vals, ", "))
			}
		}
		q.filters = append(q.filters, flt)
	}
	if q.filter, err = ogcFilterOf(c, col); err != nil {
		return q, err
	}
	if q.sort, err = ogcSortOf(c, col); err != nil {
		return q, err
	}
	return q, nil
}

// ogcDatetime reads datetime: an RFC 3339 date-time, or an interval
// "start/end" whose ends may be open (".." or empty). An instant is the
// range [t, t].
func ogcDatetime(raw string) (ogcTimeRange, error) {
	var tr ogcTimeRange
	parse := func(s string, open bool) (time.Time, error) {
		if open && (s == "" || s == "..") {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, badParam("datetime", "got %q, want an RFC 3339 date-time (2026-11-01T00:00:00Z) "+
				"or an interval start/end with .. for an open end", truncate(raw))
		}
		return t, nil
	}
	var err error
	if start, end, ok := strings.Cut(raw, "/"); ok {
		if tr.start, err = parse(start, true); err != nil {
			return tr, err
		}
		if tr.end, err = parse(end, true); err != nil {
			return tr, err
		}
		if tr.start.IsZero() && tr.end.IsZero() {
			return tr, badParam("datetime", "got %q: both ends open, leave datetime out instead", truncate(raw))
		}
		if !tr.start.IsZero() && !tr.end.IsZero() && tr.end.Before(tr.start) {
			return tr, badParam("datetime", "got %q: the interval ends before it starts", truncate(raw))
		}
	} else {
		if tr.start, err = parse(raw, false); err != nil {
			return tr, err
		}
		tr.end = tr.start
	}
	return tr, nil
}

// instant reports whether the range is one instant.
func (tr ogcTimeRange) instant() bool { return !tr.start.IsZero() && tr.start.Equal(tr.end) }

// ogcPageLink is the href of an items page: the request's own filters with
// the given paging and format.
func ogcPageLink(base, path string, query url.Values, limit, offset int, f ogcFormat) string {
	v := url.Values{}
	for k, vs := range query {
		if k != "f" && k != "limit" && k != "offset" {
			v[k] = vs
		}
	}
	v.Set("limit", strconv.Itoa(limit))
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	v.Set("f", f.String())
	return base + path + "?" + v.Encode()
}

// ogcHref is base+path with f set.
func ogcHref(base, path string, f ogcFormat) string {
	return base + path + "?f=" + f.String()
}

// ogcBBoxOf is a bound as the 4 numbers of a GeoJSON or OGC bbox.
func ogcBBoxOf(b orb.Bound) [4]float64 { return [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} }
