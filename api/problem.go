package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail. Type is stable and names the kind
// of problem; Detail is for humans; Errors locate what is wrong, one entry
// per parameter or feature.
type Problem struct {
	Type      string        `json:"type"`
	Title     string        `json:"title"`
	Status    int           `json:"status"`
	Detail    string        `json:"detail,omitempty"`
	Instance  string        `json:"instance,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
	Errors    []geo.Problem `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

// Problem types. The type URI is relative to the server; GET on it returns
// the description (see problemDocs).
const (
	TypeInvalidParameter = "/problems/invalid-parameter"
	TypeInvalidBody      = "/problems/invalid-body"
	TypeNotFound         = "/problems/not-found"
	TypeOutsideCoverage  = "/problems/outside-coverage"
	TypeNoRoute          = "/problems/no-route"
	TypeMethodNotAllowed = "/problems/method-not-allowed"
	TypeTooLarge         = "/problems/payload-too-large"
	TypeUnsupportedMedia = "/problems/unsupported-media-type"
	TypeConflict         = "/problems/conflict"
	TypeUnauthorized     = "/problems/unauthorized"
	TypeIdempotency      = "/problems/idempotency-key-reused"
	TypeForbidden        = "/problems/forbidden"
	TypeUnavailable      = "/problems/unavailable"
	TypeNotReady         = "/problems/not-ready"
	TypeInternal         = "/problems/internal"
	// TypeRequestTimeout: the body arrived too slowly (BodyDeadline).
	TypeRequestTimeout = "/problems/request-timeout"

	// Applying a plan (plans_apply.go).
	TypePreconditionRequired = "/problems/precondition-required"
	TypePreconditionFailed   = "/problems/precondition-failed"
	TypePlanBlocked          = "/problems/plan-has-blocking-problems"

	// Signing in (login.go).
	TypeLoginFailed   = "/problems/login-failed"
	TypeLoginExpired  = "/problems/login-expired"
	TypeLoginLocked   = "/problems/login-locked"
	TypeLoginLinkUsed = "/problems/login-link-used"
	TypeRateLimited   = "/problems/rate-limited"
	TypeNoSMSChannel  = "/problems/no-sms-channel"

	// Photos (photos.go).
	TypeInvalidPhoto = "/problems/invalid-photo"
)

var problemTitles = map[string]string{
	TypeInvalidParameter: "Invalid parameter",
	TypeInvalidBody:      "Invalid request body",
	TypeNotFound:         "Not found",
	TypeOutsideCoverage:  "Outside coverage",
	TypeNoRoute:          "No such endpoint",
	TypeMethodNotAllowed: "Method not allowed",
	TypeTooLarge:         "Payload too large",
	TypeUnsupportedMedia: "Unsupported media type",
	TypeConflict:         "Conflict",
	TypeUnauthorized:     "Unauthorized",
	TypeIdempotency:      "Idempotency-Key reused",
	TypeForbidden:        "Forbidden",
	TypeOutsideTown:      "Outside the token's town",
	TypeUnavailable:      "Service unavailable",
	TypeNotReady:         "Not ready",
	TypeInternal:         "Internal error",
	TypeRequestTimeout:   "Request timeout",

	TypePreconditionRequired: "Precondition required",
	TypePreconditionFailed:   "Precondition failed",
	TypePlanBlocked:          "Plan has blocking problems",

	TypeLoginFailed:   "Sign-in failed",
	TypeLoginExpired:  "Code or link expired",
	TypeLoginLocked:   "Code locked",
	TypeLoginLinkUsed: "Login link used",
	TypeRateLimited:   "Too many requests",
	TypeNoSMSChannel:  "No SMS channel",

	TypeInvalidPhoto: "Invalid photo",
}

var problemDocs = map[string]string{
	TypeInvalidParameter: "A query or path parameter is missing or malformed. The detail names the parameter, what was given and what is expected.",
	TypeInvalidBody:      "The request body is not what the endpoint accepts: malformed JSON, a wrong type, or values out of range. errors[] locates each problem.",
	TypeNotFound:         "The grid, village, incident, plan, person or other resource named in the path does not exist; grids and villages are looked up in the current generation, or in the one asked for.",
	TypeOutsideCoverage:  "The point is outside every grid and farther than the tolerance (default 200 m) from the nearest one.",
	TypeNoRoute:          "There is no endpoint at this path. See /openapi.json.",
	TypeMethodNotAllowed: "The endpoint exists but does not accept this HTTP method; the Allow header lists those it does.",
	TypeTooLarge:         "The request body, or the number of items in it, exceeds the endpoint's limit, which the detail states.",
	TypeUnsupportedMedia: "The request body is in a format the endpoint does not take: JSON endpoints take application/json; POST /v1/rosters takes an .xlsx or .csv roster, not an Excel 97–2003 .xls workbook; POST /v1/incidents/{number}/photos takes a JPEG or PNG image (told by its content), as multipart/form-data or as the body.",
	TypeConflict:         "The request is well-formed but clashes with the current state.",
	TypeIdempotency:      "The Idempotency-Key was already used with a different request body. Retry with the original body, or use a new key for a new request.",
	TypeUnauthorized:     "The request needs a valid bearer token (Authorization: Bearer <token>), or the one sent is unknown or revoked. Tokens are made with `wangge token create`; people sign in with POST /v1/login or a login link, and their sessions end with POST /v1/logout or after 30 days.",
	TypeForbidden:        "The token's role may not do this. Roles: viewer, dispatcher, planner, admin; a person signed in sees and acts only on the incidents assigned to them or in the grids and villages they hold now.",
	TypeUnavailable:      "The database cannot be reached. Lookups keep working from memory; writes must be retried later.",
	TypeOutsideTown:      "The token is limited to one town of the deployment (`wangge token create --town CODE`) and this belongs to another: an incident of another town (read, act on, create), a list asked for another town (?town=), a plan of another town, an appointment in another town's grids, villages or duty desk. The detail names both towns. Locating a point stays open across towns; a county's token (no --town) covers every town.",
	TypeNotReady:         "The server has not loaded its first snapshot of the grids yet, or its snapshot has been behind the database's generation for longer than it allows (it missed a change); the load balancer sends requests to another replica meanwhile.",
	TypeInternal:         "An unexpected failure. The request_id identifies it in the server's log.",
	TypeRequestTimeout: "The request body arrived too slowly: after a grace period (default 5 s) it must keep up " +
		"an average rate (default 16 KiB/s), so a body of n bytes has the grace plus n divided by the rate to arrive. " +
		"The server stopped reading and closed the connection; send the request again on a faster link.",

	TypePreconditionRequired: `Applying a plan needs If-Match: "<base generation>" (the plan's ETag), so that a plan reviewed on one generation is never applied on top of another.`,
	TypePreconditionFailed:   "The plan's base generation is no longer current (another plan or an import was applied), or If-Match names another generation. The draft is kept: open a new plan with {\"rebase\": <id>} to replay its changes on the current generation, review it and apply that.",
	TypePlanBlocked:          "The plan has blocking problems (invalid geometries, overlaps, gaps, grids outside the town): nothing was applied. errors[] locates each; validation holds the full report. Repair them (POST /v1/plans/{id}/repairs) or edit the grids, then apply again.",

	TypeLoginFailed:   "The one-time code is wrong (the detail says how many tries remain), or the login link is not valid, or the person no longer holds a role in the town. A number that belongs to nobody fails the same way.",
	TypeLoginExpired:  "The one-time code has expired (codes last 10 minutes) or none was requested for this number, or the login link has expired (links last 24 hours): request a new code, or ask the admin for a new link.",
	TypeLoginLocked:   "Five wrong codes were tried: this code can no longer be used. Request a new code (POST /v1/login/code).",
	TypeLoginLinkUsed: "A login link signs in once; this one was used already. Ask the admin for a new link.",
	TypeRateLimited:   "Too many one-time codes were asked for: per number (1 a minute, 5 an hour) or per client address (20 an hour). The detail names the limit; Retry-After says when to try again.",
	TypeNoSMSChannel:  "No enabled SMS channel takes login codes, so no code can be sent: ask the admin for a login link (POST /v1/login/links), or to configure an SMS channel.",

	TypeInvalidPhoto: "The photo is a JPEG or PNG but cannot be taken: it is truncated or damaged (no end marker, a chunk with a bad checksum, no image data), or its header claims more pixels than the limit (default 40 megapixels), which the detail states. Nothing was stored.",
}

// problemf returns a Problem of the given type and status.
func problemf(typ string, status int, format string, args ...any) *Problem {
	return &Problem{Type: typ, Title: problemTitles[typ], Status: status, Detail: fmt.Sprintf(format, args...)}
}

// badParam is the problem for one wrong query or path parameter.
func badParam(name, format string, args ...any) *Problem {
	reason := fmt.Sprintf(format, args...)
	p := problemf(TypeInvalidParameter, http.StatusBadRequest, "%s: %s", name, reason)
	p.Errors = []geo.Problem{{Where: name, Reason: reason}}
	return p
}

// problemOf maps any error to the problem to send. Domain errors keep their
// message; anything else is internal and its text is logged, never sent.
func problemOf(err error) (p *Problem, internal bool) {
	if pp, ok := err.(*Problem); ok { // the common case, without errors.As's reflection
		return pp, false
	}
	var pp *Problem
	var ge *geo.Error
	switch {
	case errors.As(err, &pp):
		return pp, false
	case errors.As(err, &ge):
		switch ge.Code {
		case geo.EINVALID:
			p = problemf(TypeInvalidBody, http.StatusBadRequest, "%s", ge.Message)
		case geo.ENOTFOUND:
			p = problemf(TypeNotFound, http.StatusNotFound, "%s", ge.Message)
		case geo.ECONFLICT:
			p = problemf(TypeConflict, http.StatusConflict, "%s", ge.Message)
		case geo.EMISMATCH:
			p = problemf(TypeIdempotency, http.StatusUnprocessableEntity, "%s", ge.Message)
		case geo.EUNAVAILABLE:
			p = problemf(TypeUnavailable, http.StatusServiceUnavailable, "%s", ge.Message)
		case geo.EFORBIDDEN:
			p = problemf(TypeForbidden, http.StatusForbidden, "%s", ge.Message)
		default:
			return problemf(TypeInternal, http.StatusInternalServerError, "internal error"), true
		}
		p.Errors = ge.Problems
		return p, false
	}
	return problemf(TypeInternal, http.StatusInternalServerError, "internal error"), true
}

// writeProblem sends err as problem+json, logging internal errors with the
// request id that the response carries.
func (s *Server) writeProblem(c *gin.Context, err error) {
	p, internal := problemOf(err)
	cp := *p
	cp.Instance = c.Request.URL.Path
	cp.RequestID = c.GetString(requestIDKey)
	if internal {
		s.log.Error("internal error", "request_id", cp.RequestID, "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	} else if cp.Status >= 500 {
		s.log.Warn("request failed", "request_id", cp.RequestID, "path", c.Request.URL.Path, "err", err)
	}
	if cp.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	bp := getBody()
	body := appendProblem((*bp)[:0], &cp)
	setDate(c.Writer.Header())
	writeBytes(c, cp.Status, problemContentType, body)
	putBody(bp, body)
	c.Abort()
}

// appendProblem appends p as json.Marshal writes it. A problem without
// errors[] (a 404 of GET /v1/locate outside coverage, most refusals) is
// written member by member; one with errors[] goes through json.Marshal.
func appendProblem(b []byte, p *Problem) []byte {
	if len(p.Errors) > 0 {
		q := *p // only this copy escapes, not every caller's problem
		body, err := json.Marshal(&q)
		if err != nil {
			body = []byte(`{"type":"/problems/internal","title":"Internal error","status":500}`)
		}
		return append(b, body...)
	}
	b = append(b, `{"type":`...)
	b = appendJSONString(b, p.Type)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, p.Title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	for _, m := range [...]struct{ name, v string }{{`,"detail":`, p.Detail}, {`,"instance":`, p.Instance}, {`,"request_id":`, p.RequestID}} {
		if m.v != "" {
			b = append(b, m.name...)
			b = appendJSONString(b, m.v)
		}
	}
	return append(b, '}')
}

// handlerFunc is a Gin handler with a single error exit: every handler
// returns its error and one adapter turns it into problem+json.
type handlerFunc func(c *gin.Context) error

func (s *Server) handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.writeProblem(c, err)
		}
	}
}

// recovery turns a panic into a 500 problem, logged with its request id.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.writeProblem(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}
