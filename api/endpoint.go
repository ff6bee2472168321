package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"wangge/geo/jsonerr"
	"wangge/geo/workcal"
)

// This file is the one opening every /v1 handler shares. Before a handler
// runs, the adapter checks every path parameter, every query parameter
// (unknown ones are refused, as /ogc does) and the text of the headers
// handlers read, and then that the store the route needs is configured;
// JSON bodies are decoded strictly by withBody. A handler therefore starts
// with valid input and only decides, calls the store and renders: a write
// that fails validation changes nothing, by construction.

// need names the store an endpoint cannot work without; the adapter
// answers 503 when this server has none.
type need int

const (
	needNothing need = iota
	needIncidents
	needPeople
	needOrganizations
	needPlans
	needHistory
	needChannels
	needRatings
	needLogins
	needPhotos
	needBaseMaps
	needServiceItems
	needFigures
)

// endpoint declares what one route accepts.
type endpoint struct {
	needs need
	// query lists the query parameters the route takes; any other is a
	// 400 naming it.
	query []param
	// plain, when set, answers the requests whose query it recognises
	// (GET /v1/locate's lon, lat and crs, unescaped) with the same checks
	// in the same order as the opening and the handler, without building
	// the query's url.Values; it reports false for any other request,
	// which takes the general opening.
	plain func(c *gin.Context) (bool, error)
}

// param is one accepted query parameter and its check. Routes that write
// must give every parameter a check (the adapter refuses to register one
// without): the check is what runs before anything is written.
type param struct {
	name  string
	check func(c *gin.Context) error
}

// read declares a parameter that a read-only handler checks itself.
func read(names ...string) []param {
	out := make([]param, len(names))
	for i, n := range names {
		out[i] = param{name: n}
	}
	return out
}

// Query parameters shared by several routes.
var (
	// pCRS also names the answer's system in Content-Crs (tiles.go): a
	// GCJ-02 or BD-09 answer says so.
	pCRS = param{"crs", func(c *gin.Context) error {
		crs, err := queryCRS(c)
		if err == nil {
			setCRSHeader(c, crs)
		}
		return err
	}}
	pPrecision = param{"precision", func(c *gin.Context) error { _, err := queryPrecision(c); return err }}
	pBBox      = param{"bbox", func(c *gin.Context) error { _, _, err := queryBBox(c); return err }}
	pAt        = param{"at", func(c *gin.Context) error { _, _, err := queryAt(c); return err }}
	pCursor    = param{"cursor", func(c *gin.Context) error { _, err := queryCursor(c); return err }}
	pF         = param{"f", func(c *gin.Context) error { _, err := wantsGeoJSON(c); return err }}
)

// headersChecked are the request headers handlers read as text; the
// adapter refuses invalid UTF-8 and control characters in them.
var headersChecked = []string{"Idempotency-Key", "If-Match"}

// op wraps h with the opening declared by e. Route registration calls it,
// so a write route with an unchecked parameter fails at start-up, not at
// the first request.
func (s *Server) op(method string, e endpoint, h handlerFunc) gin.HandlerFunc {
	byName := make(map[string]param, len(e.query))
	names := make([]string, 0, len(e.query))
	for _, p := range e.query {
		if p.check == nil && method != http.MethodGet {
			panic("api: " + method + " route takes query parameter " + p.name + " without a check")
		}
		byName[p.name] = p
		names = append(names, p.name)
	}
	slices.Sort(names)
	accepted := "no query parameters"
	if len(names) > 0 {
		accepted = strings.Join(names, ", ")
	}
	return s.handle(func(c *gin.Context) error {
		for _, p := range c.Params {
			if err := checkPathParam(p.Key, p.Value); err != nil {
				return err
			}
		}
		if e.plain != nil {
			if done, err := e.plain(c); done {
				return err
			}
		}
		if c.Request.URL.RawQuery != "" {
			// The names come from the raw query and the values from Gin's
			// query cache, which the handlers read too: the query is
			// parsed once per request (queryNames).
			var buf [8]string
			for _, name := range queryNames(c, buf[:0]) {
				values := c.QueryArray(name)
				p, ok := byName[name]
				if !ok {
					return badParam(truncate(name), "unknown parameter: this endpoint takes %s", accepted)
				}
				for _, v := range values {
					if err := checkText(v); err != "" {
						return badParam(name, "%s", err)
					}
				}
				if p.check != nil {
					if err := p.check(c); err != nil {
						return err
					}
				}
			}
		}
		if err := checkHeaders(c); err != nil {
			return err
		}
		if err := s.storeReady(e.needs); err != nil {
			return err
		}
		return h(c)
	})
}

// checkHeaders refuses invalid UTF-8 and control characters in the
// headers handlers read (headersChecked).
func checkHeaders(c *gin.Context) error {
	for _, h := range headersChecked {
		if v := requestHeader(c.Request, h); v != "" {
			if err := checkText(v); err != "" || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return badParam(h, "got %q: want printable UTF-8 text", truncate(v))
			}
		}
	}
	return nil
}

// queryNames appends to names the distinct names of the request's query
// parameters, in ascending order (so that of several wrong parameters the
// same one is named every time): exactly the keys of Gin's query cache
// (url.ParseQuery of the raw query, which drops pairs with a semicolon or
// a bad escape), found without building a second url.Values. Escaped
// names are unescaped as ParseQuery does; only they allocate.
func queryNames(c *gin.Context, names []string) []string {
	rest := c.Request.URL.RawQuery
	for rest != "" {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		name, _, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(name, "%+") {
			var err error
			if name, err = url.QueryUnescape(name); err != nil {
				continue
			}
		}
		if slices.Contains(names, name) {
			continue
		}
		if len(names) == 32 {
			// Many names: a map, not a quadratic search.
			return slices.Sorted(maps.Keys(c.Request.URL.Query()))
		}
		if _, ok := c.GetQueryArray(name); !ok {
			continue // the pair was dropped (a bad escape in its value)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// checkText returns why s cannot be stored as text, or "".
func checkText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not valid UTF-8 (send text in UTF-8; GBK and GB18030 must be converted)"
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL byte"
	}
	return ""
}

// checkPathParam checks a path parameter by its name: numeric ids, grid
// and village codes, incident numbers.
func checkPathParam(name, v string) error {
	if msg := checkText(v); msg != "" {
		return badParam(name, "%s", msg)
	}
	switch name {
	case "id", "member", "leave", "person", "gen":
		_, err := parseID(name, v)
		return err
	case "code":
		// A grid code (15 digits) or, on village routes, a village code
		// (12 digits): the handler tells which.
		if (len(v) != 15 && len(v) != 12) || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
			return badParam(name, "got %q, want a 15-digit grid code (or a 12-digit village code)", truncate(v))
		}
	case "town":
		// A town's 9-digit statistical code.
		if len(v) != 9 || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
			return badParam(name, "got %q, want a 9-digit town code", truncate(v))
		}
	case "district":
		// A district (片区) code, numbered within its town (structure.go).
		if v == "" || len(v) > 20 || strings.ContainsFunc(v, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_')
		}) {
			return badParam(name, "got %q, want a district code of 1 to 20 letters, digits, - or _ (e.g. 01)", truncate(v))
		}
	case "item":
		// A service item's code (serviceitems.go).
		if v == "" || len(v) > 40 || strings.ContainsFunc(v, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
			return badParam(name, "got %q, want a service item code such as dispute", truncate(v))
		}
	case "date":
		// A day of the holiday calendar (calendar.go).
		if _, err := workcal.ParseDate(v); err != nil {
			return badParam(name, "got %q, want a date YYYY-MM-DD", truncate(v))
		}
	case "token":
		if !isRatingToken(v) {
			return badParam(name, "got %q, want the 22-character token of a rating link", truncate(v))
		}
	case "number":
		if v == "" || len(v) > 40 || strings.ContainsFunc(v, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-')
		}) {
			return badParam(name, "got %q, want an incident number such as HY20261203-0001", truncate(v))
		}
	}
	return nil
}

// storeReady answers 503 when this server has no store for n.
func (s *Server) storeReady(n need) error {
	var ok bool
	var what string
	switch n {
	case needNothing:
		return nil
	case needIncidents:
		ok, what = s.cfg.Incidents != nil, "incidents are"
	case needPeople:
		ok, what = s.cfg.People != nil, "people are"
	case needOrganizations:
		ok, what = s.cfg.Organizations != nil, "organizations are"
	case needPlans:
		ok, what = s.cfg.Plans != nil, "plans are"
	case needHistory:
		ok, what = s.cfg.History != nil, "history is"
	case needRatings:
		ok, what = s.cfg.Ratings != nil, "ratings are"
	case needChannels:
		ok, what = s.cfg.Channels != nil, "notification channels are"
	case needLogins:
		ok, what = s.cfg.Logins != nil && s.logins.keys.Usable(), "sign-in for people is"
	case needServiceItems:
		ok, what = s.cfg.ServiceItems != nil, "service items and the holiday calendar are"
	case needPhotos:
		ok, what = s.cfg.Photos != nil && s.cfg.Incidents != nil, "photos are"
	case needBaseMaps:
		ok, what = s.cfg.BaseMaps != nil, "base-map settings are"
	case needFigures:
		ok, what = s.figuresStore() != nil, "the 考核 figures are"
	}
	if !ok {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "%s not available on this server", what)
	}
	return nil
}

// withBody decodes the JSON body strictly (unknown members, trailing
// values and a wrong Content-Type refused) before h runs.
func withBody[T any](h func(c *gin.Context, req *T) error) handlerFunc {
	return func(c *gin.Context) error {
		var req T
		if err := decodeJSONBody(c, &req); err != nil {
			return err
		}
		return h(c, &req)
	}
}

// withOptionalBody is withBody where an empty body means the zero value.
func withOptionalBody[T any](h func(c *gin.Context, req *T) error) handlerFunc {
	return func(c *gin.Context) error {
		var req T
		body, err := readJSONBody(c)
		if err != nil {
			return err
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := decodeJSON(body, &req); err != nil {
				return err
			}
		}
		return h(c, &req)
	}
}

// decodeJSON decodes one JSON value from body into v, refusing unknown
// members and trailing values, with a problem that says where it is wrong.
func decodeJSON(body []byte, v any) error {
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problemf(TypeInvalidBody, http.StatusBadRequest, "%s", jsonerr.Describe(body, err))
	}
	if dec.More() {
		return problemf(TypeInvalidBody, http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// decodeJSONBody reads the request body and decodes it with decodeJSON.
func decodeJSONBody(c *gin.Context, v any) error {
	body, err := readJSONBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// readJSONBody reads a JSON request body within the size limit.
func readJSONBody(c *gin.Context) ([]byte, error) {
	if ct := c.GetHeader("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "Content-Type %q: want application/json", truncate(ct))
	}
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "reading the body: %v", err)
	}
	return body, nil
}

// pathInt returns a numeric path parameter the adapter has checked.
func pathInt(c *gin.Context, name string) int64 {
	v, _ := parseID(name, c.Param(name))
	return v
}

// router registers routes through op, so that no route skips the opening.
type router struct {
	s *Server
	g *gin.RouterGroup
}

// with returns a router whose routes first pass through mw (a role check).
func (r router) with(mw ...gin.HandlerFunc) router { return router{r.s, r.g.Group("", mw...)} }

func (r router) GET(path string, e endpoint, h handlerFunc) {
	r.g.GET(path, r.s.op(http.MethodGet, e, h))
}

func (r router) POST(path string, e endpoint, h handlerFunc) {
	r.g.POST(path, r.s.op(http.MethodPost, e, h))
}

func (r router) PUT(path string, e endpoint, h handlerFunc) {
	r.g.PUT(path, r.s.op(http.MethodPut, e, h))
}

func (r router) PATCH(path string, e endpoint, h handlerFunc) {
	r.g.PATCH(path, r.s.op(http.MethodPatch, e, h))
}

func (r router) DELETE(path string, e endpoint, h handlerFunc) {
	r.g.DELETE(path, r.s.op(http.MethodDelete, e, h))
}

// checkJSONText refuses a JSON body whose text cannot be stored: bytes
// that are not UTF-8 (encoding/json would silently turn them into U+FFFD)
// and NUL characters (PostgreSQL text cannot hold them), naming the member
// that holds one.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line, col := jsonerr.LineCol(body, int64(i))
		return problemf(TypeInvalidBody, http.StatusBadRequest,
			"the body is not valid UTF-8 (line %d, column %d): send text in UTF-8; GBK and GB18030 must be converted", line, col)
	}
	if !bytes.Contains(body, []byte(`\u0000`)) && bytes.IndexByte(body, 0) < 0 {
		return nil
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil // the decoder reports the syntax error
	}
	if where := nulPath(v, ""); where != "" {
		return invalidField(where, "holds a NUL character (\\u0000), which text cannot")
	}
	return nil
}

// nulPath is the JSON path of the first string (or member name) in v that
// holds a NUL, or "".
func nulPath(v any, path string) string {
	name := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			if path == "" {
				return "body"
			}
			return path
		}
	case []any:
		for i, e := range x {
			if p := nulPath(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if strings.IndexByte(k, 0) >= 0 {
				return name(strings.ReplaceAll(k, "\x00", `\u0000`))
			}
			if p := nulPath(x[k], name(k)); p != "" {
				return p
			}
		}
	}
	return ""
}
