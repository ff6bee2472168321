package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// Tokens looks up API tokens by the hash of their secret. The server keeps
// them in memory, so authentication works while the database is down.
type Tokens interface {
	Lookup(hash [32]byte) (geo.Token, bool)
}

const (
	roleKey  = "role"
	actorKey = "actor"
	townKey  = "town_scope"
)

// authenticate reads "Authorization: Bearer <token>": an API token, or a
// person's session (wgs_…). No header makes the caller an anonymous
// viewer; a malformed, unknown, expired or revoked token is 401, never
// silently downgraded (a dispatcher whose token expired must know).
func (s *Server) authenticate(c *gin.Context) {
	h := requestHeader(c.Request, "Authorization")
	if h == "" {
		c.Set(roleKey, geo.AccessViewer)
		c.Set(actorKey, "anonymous")
		c.Next()
		return
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		s.unauthorized(c, "Authorization: want \"Bearer <token>\"")
		return
	}
	if strings.HasPrefix(strings.TrimSpace(secret), geo.SessionTokenPrefix) {
		s.authenticateSession(c, secret) // login.go: a person signed in
		return
	}
	var tok geo.Token
	if s.tokens != nil {
		tok, ok = s.tokens.Lookup(geo.HashToken(secret))
	}
	if !ok || s.tokens == nil {
		s.unauthorized(c, "the bearer token is unknown or revoked")
		return
	}
	c.Set(roleKey, tok.Role)
	c.Set(actorKey, tok.Name)
	if tok.TownCode != "" {
		c.Set(townKey, geo.TownScope(tok.TownCode))
	}
	c.Next()
}

func (s *Server) unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer realm="wangge"`)
	s.writeProblem(c, problemf(TypeUnauthorized, http.StatusUnauthorized, "%s", detail))
}

// require lets only callers whose role allows need through; others get 403
// (or 401 when anonymous, so that a client knows to send a token).
func (s *Server) require(need geo.AccessRole) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := callerRole(c)
		if role.Allows(need) {
			c.Next()
			return
		}
		if c.GetString(actorKey) == "anonymous" {
			s.unauthorized(c, "this endpoint needs a "+string(need)+" token")
			return
		}
		s.writeProblem(c, problemf(TypeForbidden, http.StatusForbidden, "role %s may not do this: it needs %s", role, need))
	}
}

// callerRole is the authenticated role of the request (viewer if none).
func callerRole(c *gin.Context) geo.AccessRole {
	if r, ok := c.Get(roleKey); ok {
		return r.(geo.AccessRole)
	}
	return geo.AccessViewer
}

// callerName names the caller for the audit log.
func callerName(c *gin.Context) string {
	if a := c.GetString(actorKey); a != "" {
		return a
	}
	return "anonymous"
}

// TypeOutsideTown is the 403 of a caller limited to one town (a town's
// token) on what belongs to another.
const TypeOutsideTown = "/problems/outside-town-scope"

// callerTown is the town the caller is limited to: a town-scoped token's
// town, "" for every town (unscoped tokens, anonymous callers, people
// signed in, whom their appointments scope).
func callerTown(c *gin.Context) geo.TownScope {
	if t, ok := c.Get(townKey); ok {
		return t.(geo.TownScope)
	}
	return ""
}

// townName is "431321101 (甘棠镇)", or the code alone when the snapshot
// does not hold the town.
func (s *Server) townName(code string) string {
	if code == "" {
		return "(no town)"
	}
	if snap := s.registry.Load(); snap != nil {
		if t, ok := snap.TownOf(code); ok && t.Name != "" {
			return code + " (" + t.Name + ")"
		}
	}
	return code
}

// outsideTown is the 403 of a town-scoped caller on what, which belongs
// to town.
func (s *Server) outsideTown(c *gin.Context, what, town string) *Problem {
	return problemf(TypeOutsideTown, http.StatusForbidden, "this token is limited to town %s: %s is in town %s",
		s.townName(string(callerTown(c))), what, s.townName(town))
}

// townMay returns nil unless the caller is limited to a town and inc
// belongs to another: then the 403 saying so.
func (s *Server) townMay(c *gin.Context, inc *geo.Incident) error {
	if callerTown(c).Covers(inc.TownCode) {
		return nil
	}
	return s.outsideTown(c, "incident "+inc.Number, inc.TownCode)
}

// queryTown reads ?town= (a town of the deployment) and returns the town
// a list is limited to: the one asked for, or the caller's own when it is
// limited to one. A town-scoped caller asking for another town is 403.
func (s *Server) queryTown(c *gin.Context) (string, error) {
	raw, ok := c.GetQuery("town")
	if !ok {
		return string(callerTown(c)), nil
	}
	snap := s.registry.Load()
	if geo.ValidateTownCode(raw) != nil || snap == nil {
		return "", badParam("town", "got %q, want the 9-digit code of a town of the deployment", truncate(raw))
	}
	if _, found := snap.TownOf(raw); !found {
		codes := make([]string, len(snap.Towns))
		for i, t := range snap.Towns {
			codes[i] = t.Code
		}
		if len(codes) > 20 {
			codes = append(codes[:20], "…")
		}
		return "", badParam("town", "got %q, not a town of the deployment; want one of %v", raw, codes)
	}
	return s.scopedTown(c, raw)
}

// scopedTown returns the town a list is limited to, given the town asked
// for ("" for every town): that town, or the caller's own when it is
// limited to one; 403 when a town-scoped caller asks for another.
func (s *Server) scopedTown(c *gin.Context, town string) (string, error) {
	scope := callerTown(c)
	switch {
	case town == "":
		return string(scope), nil
	case !scope.Covers(town):
		return "", problemf(TypeOutsideTown, http.StatusForbidden, "this token is limited to town %s: it may not see town %s",
			s.townName(string(scope)), s.townName(town))
	}
	return town, nil
}

// townMayAppoint returns nil unless the caller is limited to a town and
// a (an appointment or a vacancy) is in another: a grid's or village's
// town is its code's; the duty desk's is the town a names
// (/v1/towns/{town}/duty-desk), else the deployment's only town.
func (s *Server) townMayAppoint(c *gin.Context, a geo.Appointment) error {
	scope := callerTown(c)
	if scope == "" {
		return nil
	}
	town := geo.TownCodeOf(a.GridCode)
	if town == "" {
		town = geo.TownCodeOf(a.VillageCode)
	}
	if town == "" {
		town = a.TownCode // the duty desk of /v1/towns/{town}/duty-desk
	}
	if town == "" {
		snap := s.registry.Load()
		if snap == nil || len(snap.Towns) != 1 {
			return nil // the store refuses a duty desk of no town named
		}
		town = snap.Towns[0].Code
	}
	if scope.Covers(town) {
		return nil
	}
	what := a.Target()
	if a.Role == geo.RoleDutyDesk {
		what = "the duty desk"
	}
	return s.outsideTown(c, what, town)
}

// planTownScope keeps a town's planner (or admin) to the plans of its
// town on the /plans/{id} routes: a plan of another town, or of every
// town (the county's), is 403. Unscoped callers pass; so does a path
// whose plan does not exist or whose id is malformed (the handler answers
// 404 or 400).
func (s *Server) planTownScope(c *gin.Context) {
	scope, raw := callerTown(c), c.Param("id")
	if scope == "" || raw == "" || s.cfg.Plans == nil {
		c.Next()
		return
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		c.Next()
		return
	}
	p, err := s.cfg.Plans.PlanHeader(c.Request.Context(), id)
	switch {
	case geo.ErrorCode(err) == geo.ENOTFOUND:
		// The handler answers 404.
	case err != nil:
		s.writeProblem(c, err)
		return
	case p.Town == "":
		s.writeProblem(c, problemf(TypeOutsideTown, http.StatusForbidden,
			"this token is limited to town %s: plan %d redraws every town", s.townName(string(scope)), id))
		return
	case !scope.Covers(p.Town):
		s.writeProblem(c, s.outsideTown(c, fmt.Sprintf("plan %d", id), p.Town))
		return
	}
	c.Next()
}

// townMayPlan keeps a town's planner to plans of its town: a new plan
// names its town or none (then it is the caller's); another town is 403.
func (s *Server) townMayPlan(c *gin.Context, np *geo.NewPlan) error {
	scope := callerTown(c)
	switch {
	case scope == "":
		return nil
	case np.Town == "":
		np.Town = string(scope)
		return nil
	case !scope.Covers(np.Town):
		return problemf(TypeOutsideTown, http.StatusForbidden, "this token is limited to town %s: it may not open a plan of town %s",
			s.townName(string(scope)), s.townName(np.Town))
	}
	return nil
}

// townMayChange returns nil unless the caller is limited to a town and
// ch, a change to one of its town's incidents, reaches into another: a
// correction that moves the incident to a place in another town (which
// hands it to that town), a merge into another town's incident (which
// writes to it).
func (s *Server) townMayChange(c *gin.Context, snap *geo.Snapshot, ch geo.IncidentChange) error {
	scope := callerTown(c)
	if scope == "" {
		return nil
	}
	if cr := ch.Correction; cr != nil {
		g, _ := snap.Grid(cr.GridCode)
		if town := snap.TownCodeAt(g, cr.Location, ""); town != "" && !scope.Covers(town) {
			return s.outsideTown(c, "the corrected place", town)
		}
	}
	if ch.MergeInto != "" {
		target, err := s.cfg.Incidents.Incident(c.Request.Context(), ch.MergeInto)
		if err == nil {
			return s.townMay(c, target)
		} else if geo.ErrorCode(err) != geo.ENOTFOUND {
			return err
		}
	}
	return nil
}

// townMayRoster returns nil unless the caller is limited to a town and a
// roster's rows reach into another: it resolves the rows as a dry run
// would (names to grids and villages), and a row appointing in, or ending
// an assignment of, another town is 403, every such row named.
func (s *Server) townMayRoster(c *gin.Context, rows []geo.RosterRow, now time.Time) error {
	scope := callerTown(c)
	if scope == "" {
		return nil
	}
	report, err := s.cfg.People.ImportRoster(c.Request.Context(), rows, false, callerName(c), now)
	if err != nil {
		return err
	}
	var outside []geo.Problem
	check := func(line int, what, code string) {
		if code != "" && !scope.Covers(code) {
			where := "roster"
			if line > 0 {
				where = fmt.Sprintf("row %d", line)
			}
			outside = append(outside, geo.Problem{Where: where,
				Reason: fmt.Sprintf("%s %s is in town %s", what, code, s.townName(geo.TownCodeOf(code)))})
		}
	}
	for _, row := range report.Rows {
		check(row.Line, "grid", row.GridCode)
		check(row.Line, "village", row.VillageCode)
		for _, a := range row.Ended {
			check(row.Line, "ends an assignment in grid", a.GridCode)
			check(row.Line, "ends an assignment in village", a.VillageCode)
		}
	}
	for _, a := range report.Ended {
		check(0, "ends an assignment in grid", a.GridCode)
		check(0, "ends an assignment in village", a.VillageCode)
	}
	if len(outside) == 0 {
		return nil
	}
	p := problemf(TypeOutsideTown, http.StatusForbidden, "this token is limited to town %s: %d rows of the roster are in other towns; nothing was written",
		s.townName(string(scope)), len(outside))
	p.Errors = outside
	return p
}
