package api

import (
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/open311"
)

// This file is the Open311 GeoReport v2 interface under /open311/v2
// (http://wiki.open311.org/GeoReport_v2; the rules are in geo/open311):
// services.{json,xml}, services/{code}.{fmt}, requests.{fmt} (GET and
// POST), requests/{id}.{fmt} and tokens/{token}.{fmt}, plus the service
// discovery document at /open311/discovery.{fmt}.
//
// It is the one part of the API that does not answer errors as RFC 9457
// problem+json: the spec mandates its own error format, a list of
// {"code","description"} (<errors><error>…</error></errors> in XML), with
// HTTP 403 for a missing or wrong api_key, 404 for what does not exist and
// 400 for any other refusal (the body's code then says more: 409, 413,
// 422). A server failure stays 5xx, so that clients retry. So this file
// opens its routes itself (open311Op) rather than through op: the same
// checks — unknown parameters refused, text that is not UTF-8 or holds a
// NUL refused, the store required — answered in the spec's format.
//
// Who may do what (api_key is one of the API tokens of `wangge token`,
// the same as a Bearer token):
//
//   - POST requests needs an api_key whose role may create incidents on
//     /v1 (dispatcher or admin); the token's name is the actor of the
//     incident, and Idempotency-Key, when sent, makes a retry safe exactly
//     as on POST /v1/incidents.
//   - Searching requests (GET requests without service_request_id) needs
//     a dispatcher's or admin's key, as the incidents of /v1, /ogc and
//     /tiles do: the town's complaints are not public. A request is
//     followed by its id without a key (the spec's GET methods need none),
//     showing its status, service, dates and the grid responsible but
//     nothing a resident wrote and not its point: description, address,
//     media_url, lat and long are null and status_notes is the status
//     alone. A dispatcher's or admin's key (api_key, or a Bearer token)
//     shows them. No answer holds the reporter's name, phone or e-mail.

// open311Format is the format a resource was asked in: the extension.
type open311Format string

const (
	o311JSON open311Format = "json"
	o311XML  open311Format = "xml"
)

// open311Handler handles one Open311 method with its checked arguments.
type open311Handler func(c *gin.Context, f open311Format, args url.Values) error

// open311Routes registers the Open311 methods.
func (s *Server) open311Routes(r *gin.Engine) {
	for _, f := range []open311Format{o311JSON, o311XML} {
		ext := "." + string(f)
		r.GET("/open311/discovery"+ext, s.open311Op(f, nil, false, false, s.open311Discovery))
		r.GET("/open311/v2/services"+ext, s.open311Op(f, open311.ReadParams, false, false, s.open311Services))
		r.GET("/open311/v2/requests"+ext, s.open311Op(f, open311.QueryParams, false, true, s.open311Requests))
		r.POST("/open311/v2/requests"+ext, s.open311Op(f, open311.PostParams, true, true, s.open311Submit))
	}
	r.GET("/open311/v2/services/:file", s.open311Op("", open311.ReadParams, false, false, s.open311Definition))
	r.GET("/open311/v2/requests/:file", s.open311Op("", open311.ReadParams, false, true, s.open311Request))
	r.GET("/open311/v2/tokens/:file", s.open311Op("", open311.ReadParams, false, true, s.open311Token))
}

// open311Op opens an Open311 route: the format (f, or the extension of the
// path's file), the arguments (the query, and for a POST the form body:
// only accepted, one value each except the lists of GET requests, in
// UTF-8 without NUL), jurisdiction_id, the snapshot and, if needsStore,
// the incident store. Every refusal is in the spec's error format.
func (s *Server) open311Op(f open311Format, accepted []string, post, needsStore bool, h open311Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		format := f
		if format == "" {
			file := c.Param("file")
			stem, ext, _ := cutLast(file, ".")
			format = open311Format(ext)
			if format != o311JSON && format != o311XML {
				s.open311Error(c, o311JSON, problemf(TypeNotFound, http.StatusNotFound,
					"%q: want a name ending in .json or .xml", truncate(file)))
				return
			}
			c.Params = append(c.Params, gin.Param{Key: "stem", Value: stem})
		}
		args, err := open311Args(c, accepted, post)
		if err == nil {
			err = s.open311Ready(args, needsStore)
		}
		if err == nil {
			err = h(c, format, args)
		}
		if err != nil {
			s.open311Error(c, format, err)
		}
	}
}

// open311Fallback makes h (the answer to a path or method no route has)
// answer in the spec's error format under /open311/, in the format the
// path ends with (JSON otherwise); elsewhere h is unchanged.
func (s *Server) open311Fallback(h handlerFunc) handlerFunc {
	return func(c *gin.Context) error {
		path := c.Request.URL.Path
		if !strings.HasPrefix(path, "/open311/") {
			return h(c)
		}
		f := o311JSON
		if strings.HasSuffix(path, ".xml") {
			f = o311XML
		}
		if err := h(c); err != nil {
			s.open311Error(c, f, err)
		}
		return nil
	}
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// open311Args reads and checks a method's arguments.
func open311Args(c *gin.Context, accepted []string, post bool) (url.Values, error) {
	for _, p := range c.Params {
		if msg := checkText(p.Value); msg != "" {
			return nil, badParam(p.Key, "%s", msg)
		}
	}
	query, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, badParam("query", "the query string is not URL-encoded: %v", err)
	}
	args := url.Values{}
	for k, vs := range query {
		args[k] = append(args[k], vs...)
	}
	if post {
		form, err := open311Form(c)
		if err != nil {
			return nil, err
		}
		for k, vs := range form {
			args[k] = append(args[k], vs...)
		}
	}
	names := make([]string, 0, len(args))
	for k, vs := range args {
		if msg := checkText(k); msg != "" {
			return nil, badParam(truncate(k), "the parameter's name %s", msg)
		}
		for _, v := range vs {
			if msg := checkText(v); msg != "" {
				return nil, badParam(k, "%s", msg)
			}
		}
		names = append(names, k)
	}
	if bad := open311.Unknown(names, accepted, post); bad != "" {
		list := slices.Clone(accepted)
		slices.Sort(list)
		takes := "no parameters"
		if len(list) > 0 {
			takes = strings.Join(list, ", ")
		}
		return nil, badParam(truncate(bad), "unknown parameter: this method takes %s", takes)
	}
	lists := []string{"service_request_id", "service_code", "status"}
	for k, vs := range args {
		if len(vs) > 1 && (post || !slices.Contains(lists, k)) && slices.ContainsFunc(vs[1:], func(v string) bool { return v != vs[0] }) {
			return nil, badParam(k, "given %d times with different values: give it once", len(vs))
		}
	}
	return args, nil
}

// open311Form reads the body of a POST: application/x-www-form-urlencoded,
// as the spec says (multipart/form-data too, without files).
func open311Form(c *gin.Context) (url.Values, error) {
	ct := c.GetHeader("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType,
			"Content-Type %q: want application/x-www-form-urlencoded; charset=utf-8", truncate(ct))
	}
	if mt == "multipart/form-data" {
		err = c.Request.ParseMultipartForm(1 << 20)
	} else {
		err = c.Request.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", tooBig.Limit)
	case err != nil:
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "the body is not a form: %v", err)
	}
	if mf := c.Request.MultipartForm; mf != nil && len(mf.File) > 0 {
		for name := range mf.File {
			return nil, badParam(truncate(name), "files are not taken: send media_url, a link to the picture")
		}
	}
	if mf := c.Request.MultipartForm; mf != nil {
		return url.Values(mf.Value), nil
	}
	return c.Request.PostForm, nil
}

// open311Ready checks jurisdiction_id against the town, and that the
// grids (and, if needsStore, the incidents) are there.
func (s *Server) open311Ready(args url.Values, needsStore bool) error {
	snap := s.registry.Load()
	if snap == nil {
		return problemf(TypeNotReady, http.StatusServiceUnavailable, "the grids are not loaded yet")
	}
	if err := open311.CheckJurisdiction(strings.TrimSpace(args.Get(open311.ParamJurisdiction)), *snap.Whole(), snap.Towns); err != nil {
		return err
	}
	if needsStore {
		if err := s.storeReady(needIncidents); err != nil {
			return err
		}
		if s.cfg.Open311 == nil {
			return problemf(TypeUnavailable, http.StatusServiceUnavailable, "Open311 requests are not available on this server")
		}
	}
	return nil
}

// open311Error is the single error exit of the Open311 routes: err in the
// spec's format (see the top of this file), internal errors logged with
// the request id and never described.
func (s *Server) open311Error(c *gin.Context, f open311Format, err error) {
	p, internal := problemOf(err)
	id := c.GetString(requestIDKey)
	if internal {
		s.log.Error("internal error", "request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	} else if p.Status >= 500 {
		s.log.Warn("request failed", "request_id", id, "path", c.Request.URL.Path, "err", err)
	}
	status := p.Status
	switch {
	case status == http.StatusUnauthorized:
		status = http.StatusForbidden
	case status >= 500, status == http.StatusForbidden, status == http.StatusNotFound:
	default:
		status = http.StatusBadRequest
	}
	var list []open311ErrorOut
	for _, e := range p.Errors {
		list = append(list, open311ErrorOut{Code: p.Status, Description: open311.Field(e.Where) + ": " + e.Reason})
	}
	if len(list) == 0 {
		d := p.Detail
		if internal {
			d = "internal error (request id " + id + ")"
		}
		list = []open311ErrorOut{{Code: p.Status, Description: d}}
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	s.open311Send(c, f, status, list, struct {
		XMLName xml.Name          `xml:"errors"`
		Errors  []open311ErrorOut `xml:"error"`
	}{Errors: list})
	c.Abort()
}

// open311ErrorOut is one error of the spec's list.
type open311ErrorOut struct {
	Code        int    `json:"code" xml:"code"`
	Description string `json:"description" xml:"description"`
}

// open311Send answers with v as JSON, or x as XML behind the declaration
// the spec requires.
func (s *Server) open311Send(c *gin.Context, f open311Format, status int, v, x any) {
	if f == o311XML {
		b, err := xml.MarshalIndent(x, "", "  ")
		if err != nil {
			s.log.Error("open311: xml", "err", err)
			c.Status(http.StatusInternalServerError)
			return
		}
		c.Data(status, "text/xml; charset=utf-8", append([]byte(xml.Header), append(b, '\n')...))
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("open311: json", "err", err)
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}

// optString is text the spec may return as null: JSON null when empty, an
// empty element in XML.
type optString string

func (o optString) MarshalJSON() ([]byte, error) {
	if o == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(o))
}

// serviceOut is one service of services.{fmt}.
type serviceOut struct {
	Code        string `json:"service_code" xml:"service_code"`
	Name        string `json:"service_name" xml:"service_name"`
	Description string `json:"description" xml:"description"`
	Metadata    bool   `json:"metadata" xml:"metadata"`
	Type        string `json:"type" xml:"type"`
	Keywords    string `json:"keywords" xml:"keywords"`
	Group       string `json:"group" xml:"group"`
}

// open311ServiceList lists the services offered: the active service items
// of the catalogue intake decides with (the built-in categories while no
// catalogue is loaded), so a code listed is a code intake takes. This is
// the one place Open311 reads the catalogue.
func (s *Server) open311ServiceList() []open311.Service {
	var out []open311.Service
	if cat := s.limits.Load(); cat != nil {
		for _, code := range cat.Active() {
			it, _ := cat.Item(code)
			out = append(out, open311.Service{Code: string(code), Name: it.NameZh, Description: it.Description,
				Group: "服务事项", Keywords: string(code) + ", " + it.NameZh})
		}
		return out
	}
	for _, code := range geo.Categories {
		out = append(out, open311.Service{Code: string(code), Name: geo.CategoryName(code), Description: geo.CategoryName(code),
			Group: "服务事项", Keywords: string(code) + ", " + geo.CategoryName(code)})
	}
	return out
}

// open311Services answers GET services.{fmt}.
func (s *Server) open311Services(c *gin.Context, f open311Format, _ url.Values) error {
	list := []serviceOut{}
	for _, svc := range s.open311ServiceList() {
		list = append(list, serviceOut{Code: svc.Code, Name: svc.Name, Description: svc.Description, Metadata: false,
			Type: "realtime", Keywords: svc.Keywords, Group: svc.Group})
	}
	s.open311Send(c, f, http.StatusOK, list, struct {
		XMLName  xml.Name     `xml:"services"`
		Services []serviceOut `xml:"service"`
	}{Services: list})
	return nil
}

// open311Definition answers GET services/{code}.{fmt}: no service takes
// attributes (metadata false), so the definition lists none.
func (s *Server) open311Definition(c *gin.Context, f open311Format, _ url.Values) error {
	code := c.Param("stem")
	if _, ok := open311.Find(s.open311ServiceList(), code); !ok {
		return geo.Errorf(geo.ENOTFOUND, "service_code %q not found: see services.%s", truncate(code), f)
	}
	def := struct {
		XMLName    xml.Name   `json:"-" xml:"service_definition"`
		Code       string     `json:"service_code" xml:"service_code"`
		Attributes []struct{} `json:"attributes" xml:"attributes"`
	}{Code: code, Attributes: []struct{}{}}
	s.open311Send(c, f, http.StatusOK, def, def)
	return nil
}

// open311Caller is who calls: the API token named by api_key if given
// (403 when unknown), else the caller the Authorization header made.
func (s *Server) open311Caller(c *gin.Context, args url.Values) (geo.AccessRole, string, error) {
	key := strings.TrimSpace(args.Get(open311.ParamAPIKey))
	if key == "" {
		return callerRole(c), callerName(c), nil
	}
	if s.tokens != nil && !strings.HasPrefix(key, geo.SessionTokenPrefix) {
		if tok, ok := s.tokens.Lookup(geo.HashToken(key)); ok {
			if tok.TownCode != "" { // auth.go: the token's town scopes intake and what it sees
				c.Set(townKey, geo.TownScope(tok.TownCode))
			}
			return tok.Role, tok.Name, nil
		}
	}
	return "", "", problemf(TypeForbidden, http.StatusForbidden, "invalid api_key: it is not an API token in use")
}

// submittedOut is the answer to POST requests.
type submittedOut struct {
	ID        string    `json:"service_request_id" xml:"service_request_id"`
	Notice    optString `json:"service_notice" xml:"service_notice"`
	AccountID optString `json:"account_id" xml:"account_id"`
}

// open311Submit answers POST requests.{fmt}: the request becomes an
// incident through the intake of POST /v1/incidents.
func (s *Server) open311Submit(c *gin.Context, f open311Format, args url.Values) error {
	role, actor, err := s.open311Caller(c, args)
	if err != nil {
		return err
	}
	switch {
	case args.Get(open311.ParamAPIKey) == "" && actor == "anonymous":
		return problemf(TypeForbidden, http.StatusForbidden, "api_key is required to submit a request")
	case !role.Allows(geo.AccessDispatcher):
		return problemf(TypeForbidden, http.StatusForbidden, "this api_key (role %s) may not submit requests: it needs a %s or %s token",
			role, geo.AccessDispatcher, geo.AccessAdmin)
	}
	sub, err := open311.ParseSubmission(args, s.open311ServiceList())
	if err != nil {
		return err
	}
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	switch {
	case len(key) > maxIdempotencyKey:
		return badParam("Idempotency-Key", "longer than %d characters", maxIdempotencyKey)
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) || checkText(key) != "":
		return badParam("Idempotency-Key", "want printable UTF-8 text")
	}
	token := open311.NewToken()
	if key == "" {
		// Without the caller's key, one of our own: the extras and the
		// incident meet under it (see open311.Store).
		key = "open311:" + token
	}
	// The hash of what was asked, so that a retry differing only in the
	// order of the arguments is the same request.
	canonical, _ := json.Marshal(struct {
		Incident geo.IncidentRequest
		Extras   open311.Extras
	}{sub.Incident, sub.Extras})
	hash := sha256.Sum256(canonical)
	now := s.cfg.Now().UTC()
	inc, fresh, err := s.intake(c, sub.Incident, role, actor, key, hash[:], now, func() (err error) {
		token, err = s.cfg.Open311.SaveOpen311Request(c.Request.Context(), token, actor, key, hash[:], sub.Extras, now)
		return err
	})
	if err != nil {
		var ge *geo.Error
		if errors.As(err, &ge) && ge.Code == geo.EINVALID {
			// Intake names its members; the client knows the spec's.
			for i := range ge.Problems {
				ge.Problems[i].Where = open311.Field(ge.Problems[i].Where)
			}
		}
		return err
	}
	c.Header("Location", "/open311/v2/requests/"+inc.Number+"."+string(f))
	c.Header("X-Open311-Token", token)
	if !fresh {
		c.Header("Idempotent-Replayed", "true")
	}
	out := []submittedOut{{ID: inc.Number, Notice: optString(serviceNotice(inc)), AccountID: optString(sub.Extras.AccountID)}}
	s.open311Send(c, f, http.StatusOK, out, struct {
		XMLName  xml.Name       `xml:"service_requests"`
		Requests []submittedOut `xml:"request"`
	}{Requests: out})
	return nil
}

// serviceNotice tells the resident who took the matter and by when.
func serviceNotice(inc *geo.Incident) string {
	who := agency(inc)
	if who == "" {
		return "受理：" + inc.DueAt.In(chinaTime).Format("2006-01-02 15:04") + " 前办理 (received; due " + w3(inc.DueAt) + ")"
	}
	return "已派 " + who + "，" + inc.DueAt.In(chinaTime).Format("2006-01-02 15:04") + " 前办理 (routed to " + who + "; due " + w3(inc.DueAt) + ")"
}

// chinaTime is the town's clock, in which dates are shown.
var chinaTime = time.FixedZone("CST", 8*3600)

// w3 formats t as the spec's dates: W3C (RFC 3339) with the town's offset.
func w3(t time.Time) string { return t.In(chinaTime).Format(time.RFC3339) }

// agency names who is responsible, as public map data names them: the
// grid (village and grid code) or the town's duty desk — never a person.
func agency(inc *geo.Incident) string {
	switch {
	case inc.Assignee.Role == geo.RoleDutyDesk:
		return "镇值班室 (town duty desk)"
	case inc.Assignee.Role == geo.RoleLiaisonLeader:
		return "村联络组 " + inc.VillageCode + " (village liaison group)"
	case inc.GridCode != "":
		return "网格 " + inc.GridCode + " (grid)"
	}
	return ""
}

// requestOut is one request of GET requests and requests/{id}, in the
// spec's order.
type requestOut struct {
	ID          string    `json:"service_request_id" xml:"service_request_id"`
	Status      string    `json:"status" xml:"status"`
	StatusNotes optString `json:"status_notes" xml:"status_notes"`
	ServiceName string    `json:"service_name" xml:"service_name"`
	ServiceCode string    `json:"service_code" xml:"service_code"`
	Description optString `json:"description" xml:"description"`
	Agency      optString `json:"agency_responsible" xml:"agency_responsible"`
	Notice      optString `json:"service_notice" xml:"service_notice"`
	Requested   string    `json:"requested_datetime" xml:"requested_datetime"`
	Updated     string    `json:"updated_datetime" xml:"updated_datetime"`
	Expected    optString `json:"expected_datetime" xml:"expected_datetime"`
	Address     optString `json:"address" xml:"address"`
	AddressID   optString `json:"address_id" xml:"address_id"`
	Zipcode     optString `json:"zipcode" xml:"zipcode"`
	Lat         *float64  `json:"lat" xml:"lat"`
	Long        *float64  `json:"long" xml:"long"`
	MediaURL    optString `json:"media_url" xml:"media_url"`
}

// open311RequestOut renders inc (with its extras, if it came through
// Open311, and its last update) for a caller that sees personal data or
// not.
func (s *Server) open311RequestOut(inc *geo.Incident, ex open311.Extras, up open311.Update, personal bool) requestOut {
	updated := inc.ReceivedAt
	if up.At.After(updated) {
		updated = up.At
	}
	out := requestOut{ID: inc.Number, Status: open311.Status(inc.Status), ServiceCode: string(inc.Category),
		ServiceName: geo.CategoryName(inc.Category), Agency: optString(agency(inc)), Notice: optString(serviceNotice(inc)),
		Requested: w3(inc.ReportedAt), Updated: w3(updated), Expected: optString(w3(inc.DueAt))}
	if svc, ok := open311.Find(s.open311ServiceList(), string(inc.Category)); ok {
		out.ServiceName = svc.Name
	}
	notes := string(inc.Status)
	if up.Note != "" {
		notes += ": " + up.Note
	}
	if inc.Location != nil && personal {
		lon, lat := inc.Location[0], inc.Location[1]
		out.Long, out.Lat = &lon, &lat
	}
	if personal {
		out.StatusNotes, out.Description = optString(notes), optString(inc.Description)
		out.Address, out.AddressID, out.MediaURL = optString(ex.Address), optString(ex.AddressID), optString(ex.MediaURL)
	} else {
		out.StatusNotes = optString(inc.Status)
	}
	return out
}

// open311SendRequests answers with incidents as the spec's requests, as
// a caller of role sees them.
func (s *Server) open311SendRequests(c *gin.Context, f open311Format, role geo.AccessRole, list []*geo.Incident) error {
	numbers := make([]string, len(list))
	for i, inc := range list {
		numbers[i] = inc.Number
	}
	extras, err := s.cfg.Open311.Open311Extras(c.Request.Context(), numbers)
	if err != nil {
		return err
	}
	updates, err := s.cfg.Open311.Open311Updates(c.Request.Context(), numbers)
	if err != nil {
		return err
	}
	out := make([]requestOut, len(list))
	for i, inc := range list {
		out[i] = s.open311RequestOut(inc, extras[inc.Number], updates[inc.Number], role.SeesPersonalData() && callerTown(c).Covers(inc.TownCode))
	}
	s.open311Send(c, f, http.StatusOK, out, struct {
		XMLName  xml.Name     `xml:"service_requests"`
		Requests []requestOut `xml:"request"`
	}{Requests: out})
	return nil
}

// open311Request answers GET requests/{id}.{fmt}.
func (s *Server) open311Request(c *gin.Context, f open311Format, args url.Values) error {
	id := c.Param("stem")
	if !open311.ValidRequestID(id) {
		return geo.Errorf(geo.ENOTFOUND, "service_request_id %q not found", truncate(id))
	}
	role, _, err := s.open311Caller(c, args)
	if err != nil {
		return err
	}
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), id)
	if err != nil {
		return err
	}
	return s.open311SendRequests(c, f, role, []*geo.Incident{inc})
}

// open311Requests answers GET requests.{fmt}: by service_request_id (which
// overrides the rest), or by service_code, status and requested_datetime
// in [start_date, end_date), newest first, at most 1,000.
func (s *Server) open311Requests(c *gin.Context, f open311Format, args url.Values) error {
	ctx := c.Request.Context()
	now := s.cfg.Now().UTC()
	q, err := open311.ParseQuery(args, s.open311ServiceList(), now)
	if err != nil {
		return err
	}
	role, _, err := s.open311Caller(c, args)
	if err != nil {
		return err
	}
	if len(q.IDs) == 0 && !role.SeesPersonalData() {
		// Like the incidents of /v1, /ogc and /tiles: the town's
		// complaints are not listed for anyone to see.
		return problemf(TypeForbidden, http.StatusForbidden, "api_key: searching requests needs a %s's or %s's key; "+
			"a request is followed without one by its service_request_id", geo.AccessDispatcher, geo.AccessAdmin)
	}
	var list []*geo.Incident
	if len(q.IDs) > 0 {
		for _, id := range q.IDs {
			inc, err := s.cfg.Incidents.Incident(ctx, id)
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			list = append(list, inc)
		}
		return s.open311SendRequests(c, f, role, list)
	}
	filter := geo.IncidentFilter{From: q.From, To: q.To, Now: now, Limit: open311.MaxRequests,
		TownCode: string(callerTown(c))} // auth.go: a town's key searches its town
	for _, st := range q.Statuses {
		filter.Statuses = append(filter.Statuses, open311.Statuses(st, geo.Statuses)...)
	}
	codes := q.Services
	if len(codes) == 0 {
		codes = []string{""}
	}
	for _, code := range codes {
		filter.Category = geo.Category(code)
		page, _, err := s.cfg.Incidents.ListIncidents(ctx, filter)
		if err != nil {
			return err
		}
		list = append(list, page...)
	}
	// Several service codes: one list, newest first, cut at the limit.
	slices.SortStableFunc(list, func(a, b *geo.Incident) int {
		return b.ReceivedAt.Compare(a.ReceivedAt)
	})
	if len(list) > open311.MaxRequests {
		list = list[:open311.MaxRequests]
	}
	return s.open311SendRequests(c, f, role, list)
}

// tokenOut is the answer of tokens/{token}.
type tokenOut struct {
	ID    optString `json:"service_request_id" xml:"service_request_id"`
	Token string    `json:"token" xml:"token"`
}

// open311Token answers GET tokens/{token}.{fmt}: the service_request_id of
// the request submitted with token (the X-Open311-Token header of the
// POST answer); null when its creation failed.
func (s *Server) open311Token(c *gin.Context, f open311Format, _ url.Values) error {
	token := c.Param("stem")
	if !open311.ValidToken(token) {
		return geo.Errorf(geo.ENOTFOUND, "token %q not found", truncate(token))
	}
	number, err := s.cfg.Open311.Open311Token(c.Request.Context(), token)
	if err != nil {
		return err
	}
	out := []tokenOut{{ID: optString(number), Token: token}}
	s.open311Send(c, f, http.StatusOK, out, struct {
		XMLName  xml.Name   `xml:"service_requests"`
		Requests []tokenOut `xml:"request"`
	}{Requests: out})
	return nil
}

// open311Discovery answers /open311/discovery.{fmt}, the Service Discovery
// document: one production endpoint, GeoReport v2, in both formats.
func (s *Server) open311Discovery(c *gin.Context, f open311Format, _ url.Values) error {
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.Request.Host
	}
	type endpointOut struct {
		Specification string   `json:"specification" xml:"specification"`
		URL           string   `json:"url" xml:"url"`
		Changeset     string   `json:"changeset" xml:"changeset"`
		Type          string   `json:"type" xml:"type"`
		Formats       []string `json:"formats" xml:"formats>format"`
	}
	doc := struct {
		XMLName    xml.Name      `json:"-" xml:"discovery"`
		Changeset  string        `json:"changeset" xml:"changeset"`
		Contact    string        `json:"contact" xml:"contact"`
		KeyService string        `json:"key_service" xml:"key_service"`
		Endpoints  []endpointOut `json:"endpoints" xml:"endpoints>endpoint"`
	}{Changeset: "2026-12-03T00:00:00+08:00", Contact: "the town's duty desk (镇值班室)",
		KeyService: "API keys are the API tokens of `wangge token create` (dispatcher or admin role)",
		Endpoints: []endpointOut{{Specification: open311.Spec, URL: base + "/open311/v2", Changeset: "2026-12-03T00:00:00+08:00",
			Type: "production", Formats: []string{"text/xml", "application/json"}}}}
	s.open311Send(c, f, http.StatusOK, doc, doc)
	return nil
}
