// Package open311 holds the rules of wangge's Open311 GeoReport v2
// interface (http://wiki.open311.org/GeoReport_v2, served under
// /open311/v2): which parameters each method takes, how a submitted
// service request becomes the same geo.IncidentRequest that POST
// /v1/incidents takes (so it goes through the same intake and routing),
// how the closed loop's statuses read as Open311's open and closed, and
// how a query for requests is bounded. It is pure: package api decodes and
// renders, geo/pgstore keeps what an incident has no column for.
//
// Decisions the spec leaves to a server:
//
//   - jurisdiction_id is optional (a deployment serves one town); when
//     given it must be the town's 9-digit statistical code, e.g.
//     431321101, else 404.
//   - Every service is "realtime" with metadata false: the service items
//     carry no attributes, so attribute[…] is refused.
//   - A request needs lat and long (WGS-84): routing goes by the point and
//     wangge has no geocoder. address_string (and address_id) are kept
//     and shown as the address, but do not locate the request alone.
//   - first_name and last_name make the reporter's name (family name first
//     and unspaced when both are Chinese); phone must be a mainland number,
//     as at intake. email, media_url, device_id and account_id are kept.
package open311

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wangge/geo"
)

// Spec is the address of the specification, for discovery documents.
const Spec = "http://wiki.open311.org/GeoReport_v2"

// Limits of the free text a request carries. Description is the spec's
// 4,000 characters.
const (
	MaxDescriptionChars = 4000
	MaxNameChars        = 100
	MaxAddressChars     = 500
	MaxEmailBytes       = 254
	MaxURLBytes         = 2048
	MaxIDBytes          = 200
	// MaxSpan is the longest start_date..end_date a query may cover, and
	// the default range: the most recent 90 days.
	MaxSpan = 90 * 24 * time.Hour
	// MaxRequests is the most requests one query answers.
	MaxRequests = 1000
	// MaxIDs is the most service_request_id values one query takes.
	MaxIDs = 200
)

// Parameters of every method.
const (
	ParamJurisdiction = "jurisdiction_id"
	ParamAPIKey       = "api_key"
)

// PostParams are the arguments of POST requests (besides attribute[…],
// which no service takes). The caller's Idempotency-Key header, if any,
// makes a retry safe.
var PostParams = []string{ParamAPIKey, ParamJurisdiction, "service_code", "lat", "long", "address_string", "address_id",
	"email", "device_id", "account_id", "first_name", "last_name", "phone", "description", "media_url"}

// QueryParams are the arguments of GET requests.
var QueryParams = []string{ParamAPIKey, ParamJurisdiction, "service_request_id", "service_code", "start_date", "end_date", "status"}

// ReadParams are the arguments of the other GET methods: services, a
// service definition, a request, a token.
var ReadParams = []string{ParamAPIKey, ParamJurisdiction}

// Service is one service type offered: a service item of the catalogue.
type Service struct {
	Code        string
	Name        string
	Description string
	// Group groups services in a client's menu; Keywords are synonyms
	// (the code and the Chinese name).
	Group    string
	Keywords string
}

// Find returns the service with code.
func Find(services []Service, code string) (Service, bool) {
	i := slices.IndexFunc(services, func(s Service) bool { return s.Code == code })
	if i < 0 {
		return Service{}, false
	}
	return services[i], true
}

// CheckJurisdiction returns ENOTFOUND when a jurisdiction_id is given and
// is neither the code of one of the towns nor that of the whole they make
// (the county's): the spec's 404 "jurisdiction_id provided was not found".
func CheckJurisdiction(given string, whole geo.Town, towns []geo.Town) error {
	if given == "" || given == whole.Code {
		return nil
	}
	for _, t := range towns {
		if given == t.Code {
			return nil
		}
	}
	return geo.Errorf(geo.ENOTFOUND, "jurisdiction_id %q not found: this endpoint serves %s (%s)", geo.Clip(given), whole.Code, whole.Name)
}

// Extras are the members of a submitted request that an incident has no
// column for, kept beside it and shown in the answers.
type Extras struct {
	Jurisdiction string
	Address      string
	AddressID    string
	Email        string
	MediaURL     string
	DeviceID     string
	AccountID    string
	FirstName    string
	LastName     string
}

// Submission is a checked POST requests: the incident request intake
// takes, and the extras.
type Submission struct {
	Service  Service
	Incident geo.IncidentRequest
	Extras   Extras
}

// Source is the source of the incidents Open311 creates.
const Source = geo.SourceOpen311

// Severity is the severity Open311 requests get: the spec has none, and a
// dispatcher raises it when a case is worse.
const Severity = geo.SevMinor

// ParseSubmission checks the arguments of POST requests (one value each;
// the caller has refused unknown parameters and invalid text) against
// services. A service_code not offered is ENOTFOUND (the spec's 404);
// every other wrong argument is a Problem of one EINVALID error, named as
// the spec names it.
func ParseSubmission(form url.Values, services []Service) (Submission, error) {
	var probs []geo.Problem
	bad := func(where, format string, args ...any) {
		probs = append(probs, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	get := func(name string) string { return strings.TrimSpace(form.Get(name)) }
	var sub Submission
	code := get("service_code")
	if code == "" {
		bad("service_code", "required: one of the service_code values of services.json")
	} else if svc, ok := Find(services, code); !ok {
		return sub, geo.Errorf(geo.ENOTFOUND, "service_code %q not found: see services.json", geo.Clip(code))
	} else {
		sub.Service = svc
	}
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if strings.HasPrefix(name, "attribute[") {
			bad(name, "service %q takes no attributes (its metadata is false)", geo.Clip(code))
		}
	}
	text := func(name string, maxChars int) string {
		v := get(name)
		if n := utf8.RuneCountInString(v); n > maxChars {
			bad(name, "%d characters, at most %d", n, maxChars)
		}
		return v
	}
	ex := Extras{Jurisdiction: get(ParamJurisdiction), Address: text("address_string", MaxAddressChars),
		AddressID: text("address_id", MaxIDBytes), FirstName: text("first_name", MaxNameChars), LastName: text("last_name", MaxNameChars)}
	if ex.Email = get("email"); ex.Email != "" {
		if a, err := mail.ParseAddress(ex.Email); err != nil || a.Address != ex.Email || len(ex.Email) > MaxEmailBytes {
			bad("email", "got %q, want an e-mail address such as li@example.cn", geo.Clip(ex.Email))
		}
	}
	if ex.MediaURL = get("media_url"); ex.MediaURL != "" {
		u, err := url.Parse(ex.MediaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(ex.MediaURL) > MaxURLBytes {
			bad("media_url", "got %q, want an http or https URL of at most %d bytes", geo.Clip(ex.MediaURL), MaxURLBytes)
		}
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"device_id", &ex.DeviceID}, {"account_id", &ex.AccountID}} {
		if *p.dst = get(p.name); len(*p.dst) > MaxIDBytes || strings.ContainsFunc(*p.dst, unicode.IsControl) {
			bad(p.name, "at most %d bytes of printable text", MaxIDBytes)
		}
	}
	description := text("description", MaxDescriptionChars)
	req := geo.IncidentRequest{Category: code, Severity: string(Severity), Source: string(Source), Description: description,
		ReporterName: ReporterName(ex.FirstName, ex.LastName), ReporterPhone: get("phone"), CRS: "wgs84"}
	lat, long := get("lat"), get("long")
	switch {
	case lat == "" && long == "" && (ex.Address != "" || ex.AddressID != ""):
		bad("lat", "required with long: requests are routed by their point (WGS-84) and this jurisdiction has no geocoder; "+
			"address_string is kept as the address")
	case lat == "" && long == "":
		bad("lat", "required with long: a location (WGS-84) must be submitted")
	case lat == "" || long == "":
		bad("lat", "lat and long go together")
	default:
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(long, 64)
		if err1 != nil {
			bad("lat", "got %q, want a number of degrees", geo.Clip(lat))
		}
		if err2 != nil {
			bad("long", "got %q, want a number of degrees", geo.Clip(long))
		}
		if err1 == nil && err2 == nil {
			req.Lon, req.Lat = &lo, &la
		}
	}
	if len(probs) > 0 {
		return sub, geo.Invalid(probs...)
	}
	sub.Incident, sub.Extras = req, ex
	return sub, nil
}

// ReporterName joins an Open311 first and last name: 李 + 秀英 → 李秀英
// (family name first, no space, when both are Han characters), John +
// Smith → John Smith.
func ReporterName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	case isHan(first) && isHan(last):
		return last + first
	}
	return first + " " + last
}

func isHan(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.Is(unicode.Han, r) && r != '·' })
}

// Fields maps the members intake names in its problems to the Open311
// arguments a client sent, so that a problem names what the client knows.
var Fields = map[string]string{"lon": "long", "lat": "lat", "category": "service_code", "reporter_phone": "phone",
	"reporter_name": "first_name", "description": "description", "crs": "lat", "grid": "lat"}

// Field is the Open311 name of intake's member where ("" and unknown
// names stay).
func Field(where string) string {
	if f, ok := Fields[where]; ok {
		return f
	}
	return where
}

// closed are the statuses Open311 shows as closed ("it has been
// resolved"): completed (verified, closed) or ended without work
// (cancelled, merged into another). Every other status, resolved but not
// yet verified included, is open: the resident's matter is done only when
// the closed loop says so.
var closed = []geo.Status{geo.StVerified, geo.StClosed, "cancelled", "merged"}

// Status is Open311's status of an incident: "open" or "closed".
func Status(st geo.Status) string {
	if slices.Contains(closed, st) {
		return "closed"
	}
	return "open"
}

// Statuses returns the statuses of the closed loop that read as Open311
// status s ("open" or "closed"), from all of them.
func Statuses(s string, all []geo.Status) []geo.Status {
	var out []geo.Status
	for _, st := range all {
		if Status(st) == s {
			out = append(out, st)
		}
	}
	return out
}

// Query is a checked GET requests.
type Query struct {
	// IDs, when given, override every other argument (the spec).
	IDs []string
	// Services, Statuses: empty for all. Statuses are Open311's.
	Services []string
	Statuses []string
	// From, To bound the time received: [From, To), To being a
	// microsecond (PostgreSQL's resolution) after end_date, which the
	// spec includes.
	From, To time.Time
}

// ParseQuery checks the arguments of GET requests at now: comma-separated
// lists (service_request_id, service_code, status), and the dates in W3C
// form with a time zone. Without dates the range is the 90 days before
// now; a range longer than 90 days is refused, as the spec allows. Every
// wrong argument is a Problem of one EINVALID error.
func ParseQuery(v url.Values, services []Service, now time.Time) (Query, error) {
	var probs []geo.Problem
	bad := func(where, format string, args ...any) {
		probs = append(probs, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	list := func(name string) []string {
		var out []string
		for _, raw := range v[name] {
			for _, s := range strings.Split(raw, ",") {
				if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		return out
	}
	var q Query
	q.IDs = list("service_request_id")
	if len(q.IDs) > MaxIDs {
		bad("service_request_id", "%d values, at most %d", len(q.IDs), MaxIDs)
	}
	for _, id := range q.IDs {
		if !ValidRequestID(id) {
			bad("service_request_id", "got %q, want a service_request_id such as WG00000012", geo.Clip(id))
			break
		}
	}
	q.Services = list("service_code")
	for _, code := range q.Services {
		if _, ok := Find(services, code); !ok {
			bad("service_code", "got %q, want service_code values of services.json", geo.Clip(code))
			break
		}
	}
	q.Statuses = list("status")
	for _, s := range q.Statuses {
		if s != "open" && s != "closed" {
			bad("status", "got %q, want open, closed, or both comma-separated", geo.Clip(s))
			break
		}
	}
	date := func(name string) time.Time {
		raw := strings.TrimSpace(v.Get(name))
		if raw == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			bad(name, "got %q, want a W3C date and time with a time zone, e.g. 2026-11-01T00:00:00+08:00 or 2026-10-31T16:00:00Z", geo.Clip(raw))
		}
		return t.UTC()
	}
	q.From, q.To = date("start_date"), date("end_date")
	if len(probs) > 0 {
		return q, geo.Invalid(probs...)
	}
	switch {
	case q.From.IsZero() && q.To.IsZero():
		q.To = now
		q.From = now.Add(-MaxSpan)
	case q.From.IsZero():
		q.From = q.To.Add(-MaxSpan)
	case q.To.IsZero():
		q.To = q.From.Add(MaxSpan)
	}
	if !q.To.After(q.From) {
		return q, geo.Invalidf("end_date", "%s is not after start_date %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	if q.To.Sub(q.From) > MaxSpan {
		return q, geo.Invalidf("end_date", "the range spans %.1f days, at most 90", q.To.Sub(q.From).Hours()/24)
	}
	q.To = q.To.Add(time.Microsecond)
	return q, nil
}

// ValidRequestID reports whether id has the form of an incident number
// (letters, digits and dashes, at most 40), the service_request_id.
func ValidRequestID(id string) bool {
	return id != "" && len(id) <= 40 && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-')
	})
}

// Unknown returns the first parameter of names (in name order) that is not
// among accepted, or "". With attributes, attribute[…] passes: POST
// requests takes it by the spec, and ParseSubmission answers it.
func Unknown(names []string, accepted []string, attributes bool) string {
	slices.Sort(names)
	for _, n := range names {
		if !slices.Contains(accepted, n) && !(attributes && strings.HasPrefix(n, "attribute[")) {
			return n
		}
	}
	return ""
}

// NewToken returns a fresh token for a submitted request: 22 URL-safe
// characters (128 random bits).
func NewToken() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidToken reports whether t has the form NewToken gives.
func ValidToken(t string) bool {
	if len(t) != 22 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// Store keeps the extras of the requests submitted through Open311 beside
// their incidents. Every method returns EUNAVAILABLE when the database
// cannot be reached.
//
// A request's extras are saved before its incident is created, under the
// idempotency key and body hash the incident is then created with (the
// same Idempotency-Key mechanism as POST /v1/incidents); they belong to
// the incident with that actor, key and hash. So an incident never lacks
// its extras, and extras whose incident was not created (the creation
// failed) belong to nothing: their token answers "not created".
type Store interface {
	// SaveOpen311Request keeps ex, for the incident actor will create
	// under key with bodyHash, at at, and returns the request's token:
	// token, or the token saved earlier under the same actor and key. A
	// retry with another body replaces the extras while no incident has
	// the key (once one has, creating it again is EMISMATCH anyway).
	SaveOpen311Request(ctx context.Context, token, actor, key string, bodyHash []byte, ex Extras, at time.Time) (string, error)
	// Open311Extras returns, by incident number, the extras of those of
	// numbers that came through Open311 (others are absent).
	Open311Extras(ctx context.Context, numbers []string) (map[string]Extras, error)
	// Open311Token returns the number of the incident created for token,
	// "" when its creation failed; ENOTFOUND for a token never issued.
	Open311Token(ctx context.Context, token string) (string, error)
	// Open311Updates returns, by incident number, when each of numbers
	// last changed and the note of the step that set its status (unknown
	// numbers are absent).
	Open311Updates(ctx context.Context, numbers []string) (map[string]Update, error)
}

// Update is when an incident last changed (its updated_datetime), and the
// note of the step of the closed loop that set its current status (the
// reason of a rejection, what was done, how it was verified).
type Update struct {
	At   time.Time
	Note string
}
