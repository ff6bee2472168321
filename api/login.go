package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file is how people sign in as themselves (geo/login.go decides):
// a one-time code by SMS, or a single-use link an admin makes, gives a
// session token sent as "Authorization: Bearer wgs_…". The token is signed
// with a key derived from Config.SecretKey and checked from memory; the
// sessions revoked before their expiry are kept in memory too, reloaded
// when another replica announces a revocation (ReloadSessions).

// loginState is the server's part of sign-in.
type loginState struct {
	keys geo.LoginKeys
	// revoked maps the revoked sessions that have not expired to their
	// expiry; nil until ReloadSessions first succeeds, and meanwhile the
	// database is asked.
	revoked atomic.Pointer[map[int64]time.Time]
	mu      sync.Mutex // serialises writers of revoked
}

const (
	sessionKey = "session"
	scopeKey   = "person_scope"
)

func (s *Server) loginRoutes(v1 router) {
	s.logins.keys = geo.NewLoginKeys(s.cfg.SecretKey)
	v1.POST("/login/code", endpoint{needs: needLogins}, withBody(s.requestLoginCode))
	v1.POST("/login", endpoint{needs: needLogins}, withBody(s.login))
	v1.POST("/login/link", endpoint{needs: needLogins}, withBody(s.useLoginLink))
	v1.with(s.require(geo.AccessAdmin)).POST("/login/links", endpoint{needs: needLogins}, withBody(s.createLoginLink))
	v1.POST("/logout", endpoint{needs: needLogins}, s.logout)
	me := v1.with(s.requireSession, s.requirePerson)
	me.GET("/me", endpoint{needs: needLogins}, s.me)
	me.GET("/me/incidents", endpoint{needs: needIncidents, query: []param{pView, pLimit(500)}}, s.myIncidents)
}

// ReloadSessions loads the revoked sessions into memory. The server calls
// it at start and whenever a replica announces a revocation; until it
// first succeeds, each person's request asks the database.
func (s *Server) ReloadSessions(ctx context.Context) error {
	if s.cfg.Logins == nil {
		return nil
	}
	revoked, err := s.cfg.Logins.RevokedSessions(ctx, s.cfg.Now())
	if err != nil {
		return err
	}
	s.logins.mu.Lock()
	defer s.logins.mu.Unlock()
	s.logins.revoked.Store(&revoked)
	return nil
}

// forgetSession marks a session revoked in memory at once, before the
// announcement comes back.
func (s *Server) forgetSession(cl geo.SessionClaims) {
	s.logins.mu.Lock()
	defer s.logins.mu.Unlock()
	cur := s.logins.revoked.Load()
	if cur == nil {
		return
	}
	next := maps.Clone(*cur)
	next[cl.SessionID] = cl.ExpiresAt
	s.logins.revoked.Store(&next)
}

// sessionRevoked reports whether the session of cl was ended.
func (s *Server) sessionRevoked(ctx context.Context, cl geo.SessionClaims) (bool, error) {
	if m := s.logins.revoked.Load(); m != nil {
		_, revoked := (*m)[cl.SessionID]
		return revoked, nil
	}
	active, err := s.cfg.Logins.SessionActive(ctx, cl.SessionID, s.cfg.Now())
	return !active, err
}

// authenticateSession is authenticate for a session token: signature and
// expiry from the token, revocation from memory.
func (s *Server) authenticateSession(c *gin.Context, token string) {
	if s.cfg.Logins == nil || !s.logins.keys.Usable() {
		s.unauthorized(c, "people cannot sign in on this server: the bearer token is not valid here")
		return
	}
	cl, err := s.logins.keys.VerifySession(token, s.cfg.Now())
	if err != nil {
		s.unauthorized(c, geo.ErrorMessage(err))
		return
	}
	revoked, err := s.sessionRevoked(c.Request.Context(), cl)
	if err != nil {
		s.writeProblem(c, err)
		return
	}
	if revoked {
		s.unauthorized(c, "the session was ended (signed out or revoked): sign in again")
		return
	}
	c.Set(roleKey, geo.AccessPerson)
	c.Set(actorKey, fmt.Sprintf("person:%d", cl.PersonID))
	c.Set(sessionKey, cl)
	c.Next()
}

// sessionClaims are the caller's session, if they are a person signed in.
func sessionClaims(c *gin.Context) (geo.SessionClaims, bool) {
	v, ok := c.Get(sessionKey)
	if !ok {
		return geo.SessionClaims{}, false
	}
	return v.(geo.SessionClaims), true
}

// personScope is what the caller holds, when a person signed in and a
// route loaded it (requirePerson, requireCaseWork).
func personScope(c *gin.Context) *geo.PersonScope {
	v, ok := c.Get(scopeKey)
	if !ok {
		return nil
	}
	return v.(*geo.PersonScope)
}

// requireSession lets only a person signed in through: 401 when
// anonymous, 403 for API tokens.
func (s *Server) requireSession(c *gin.Context) {
	if _, ok := sessionClaims(c); ok {
		c.Next()
		return
	}
	s.writeProblem(c, s.notASession(c))
}

// notASession is the problem of a caller who is not a person signed in.
func (s *Server) notASession(c *gin.Context) error {
	if c.GetString(actorKey) == "anonymous" {
		c.Header("WWW-Authenticate", `Bearer realm="wangge"`)
		return problemf(TypeUnauthorized, http.StatusUnauthorized, "this endpoint is for a person signed in (POST /v1/login)")
	}
	return problemf(TypeForbidden, http.StatusForbidden, "this endpoint is for a person signed in, not for API tokens (role %s)", callerRole(c))
}

// requirePerson loads what the signed-in person holds now; a person who
// has left or holds no role any more is refused (403).
func (s *Server) requirePerson(c *gin.Context) {
	if err := s.loadScope(c); err != nil {
		s.writeProblem(c, err)
		return
	}
	c.Next()
}

func (s *Server) loadScope(c *gin.Context) error {
	cl, _ := sessionClaims(c)
	scope, err := s.cfg.Logins.PersonScope(c.Request.Context(), cl.PersonID, s.cfg.Now())
	if geo.ErrorCode(err) == geo.ENOTFOUND {
		return problemf(TypeUnauthorized, http.StatusUnauthorized, "the person of this session is not known: sign in again")
	} else if err != nil {
		return err
	}
	if !scope.HoldsRole() {
		return problemf(TypeForbidden, http.StatusForbidden, "%s holds no role in the town now", scope.Person.Name)
	}
	c.Set(scopeKey, scope)
	c.Set(actorKey, fmt.Sprintf("%s (person %d)", scope.Person.Name, scope.Person.ID))
	return nil
}

// requireCaseWork guards the routes of one incident: dispatchers (and
// admins) as before; a person signed in, with what they hold loaded, for
// the handlers to check each incident against (personMay).
func (s *Server) requireCaseWork() gin.HandlerFunc {
	dispatcher := s.require(geo.AccessDispatcher)
	return func(c *gin.Context) {
		if _, ok := sessionClaims(c); !ok {
			dispatcher(c)
			return
		}
		s.requirePerson(c)
	}
}

// personMay returns nil unless the caller is a person signed in who may
// not take action on inc (or, with an empty action, read it): then an
// EFORBIDDEN error saying why. It fails closed: a person on a route that
// did not load what they hold (not behind requireCaseWork) is refused.
func (s *Server) personMay(c *gin.Context, inc *geo.Incident, action geo.Action) error {
	if err := s.townMay(c, inc); err != nil { // auth.go: a town's token, another town's incident
		return err
	}
	if _, ok := sessionClaims(c); !ok {
		return nil
	}
	if scope := personScope(c); scope != nil {
		return scope.MayAct(inc, action)
	}
	return problemf(TypeForbidden, http.StatusForbidden, "this endpoint is not open to people signed in")
}

// personSees reports whether the caller is a person signed in who sees
// inc.
func (s *Server) personSees(c *gin.Context, inc *geo.Incident) bool {
	scope := personScope(c)
	return scope != nil && scope.Sees(inc)
}

// clientAddress is the caller's address, for per-address limits: the
// peer's, or what a trusted proxy says (Config.TrustedProxies).
func clientAddress(c *gin.Context) string { return c.ClientIP() }

type loginCodeRequest struct {
	Phone string `json:"phone"`
}

// mobile reads the phone of a sign-in request: a mainland mobile, the only
// kind an SMS reaches.
func mobile(raw string) (string, error) {
	phone, err := geo.NormalizePhone(raw)
	if err != nil || !geo.IsMobile(phone) {
		return "", geo.Invalidf("phone", "got %q, want a mainland mobile number (11 digits, 13x–19x)", geo.Clip(raw))
	}
	return phone, nil
}

// requestLoginCode answers POST /v1/login/code {"phone"}: 202 whether or
// not the number is someone's who may sign in, so that the answer tells
// nobody who is; only such a person is sent a code.
func (s *Server) requestLoginCode(c *gin.Context, req *loginCodeRequest) error {
	phone, err := mobile(req.Phone)
	if err != nil {
		return err
	}
	channels, err := s.notificationChannels(c.Request.Context())
	if err != nil {
		return err
	}
	if len(geo.LoginCodeChannels(channels)) == 0 {
		return problemf(TypeNoSMSChannel, http.StatusServiceUnavailable, "no SMS channel is configured: ask the admin for a login link")
	}
	code, salt := geo.NewLoginCode(), geo.NewSalt()
	_, err = s.cfg.Logins.RequestLoginCode(c.Request.Context(), geo.LoginCodeRequest{Phone: phone, Address: clientAddress(c),
		Salt: salt, Hash: s.logins.keys.CodeHash(salt, phone, code), At: s.cfg.Now().UTC(), Limits: geo.DefaultLoginLimits()},
		func(codeID int64, to geo.Person) []geo.OutboxMessage {
			return geo.LoginCodeMessages(channels, codeID, to, code)
		})
	var limited *geo.RateLimitError
	if errors.As(err, &limited) {
		wait := int((limited.RetryAfter + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.Itoa(wait))
		return problemf(TypeRateLimited, http.StatusTooManyRequests, "too many code requests: at most %s; retry in %d s", limited.Limit, wait)
	} else if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"expires_in": int(geo.LoginCodeTTL / time.Second)})
	return nil
}

type loginRequest struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

// login answers POST /v1/login {"phone", "code"} with a session.
func (s *Server) login(c *gin.Context, req *loginRequest) error {
	phone, err := mobile(req.Phone)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(req.Code)
	if len(code) != geo.LoginCodeDigits || strings.ContainsFunc(code, func(r rune) bool { return r < '0' || r > '9' }) {
		return geo.Invalidf("code", "got %q, want the %d digits of the SMS", geo.Clip(req.Code), geo.LoginCodeDigits)
	}
	sess, err := s.cfg.Logins.Login(c.Request.Context(), phone, clientAddress(c), s.cfg.Now().UTC(),
		func(salt, hash []byte) bool { return s.logins.keys.CodeMatches(salt, hash, phone, code) }, s.issueSession)
	if err != nil {
		return loginProblem(err)
	}
	return sendSession(c, sess)
}

type loginLinkRequest struct {
	PersonID int64 `json:"person_id"`
}

// createLoginLink answers POST /v1/login/links {"person_id"} (admin): a
// single-use link for a person who holds a role, for towns without an SMS
// gateway. The token is shown once.
func (s *Server) createLoginLink(c *gin.Context, req *loginLinkRequest) error {
	if req.PersonID <= 0 {
		return geo.Invalidf("person_id", "required: the id of a person who holds a role")
	}
	secret, hash := geo.NewLoginLinkSecret()
	now := s.cfg.Now().UTC()
	expires := now.Add(geo.LoginLinkTTL).Truncate(time.Second)
	p, err := s.cfg.Logins.CreateLoginLink(c.Request.Context(), req.PersonID, hash, expires, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"token": secret, "url": geo.LoginLinkURL(s.cfg.PublicURL, secret), "expires_at": expires,
		"person": personRefJSON{ID: p.ID, Name: p.Name}})
	return nil
}

type useLoginLinkRequest struct {
	Token string `json:"token"`
}

// useLoginLink answers POST /v1/login/link {"token"} with a session, once.
func (s *Server) useLoginLink(c *gin.Context, req *useLoginLinkRequest) error {
	token := strings.TrimSpace(req.Token)
	if token == "" {
		return geo.Invalidf("token", "required: the token of the login link")
	}
	sess, err := s.cfg.Logins.UseLoginLink(c.Request.Context(), geo.HashToken(token), clientAddress(c), s.cfg.Now().UTC(), s.issueSession)
	if err != nil {
		return loginProblem(err)
	}
	return sendSession(c, sess)
}

// logout answers POST /v1/logout: the session ends on every replica.
func (s *Server) logout(c *gin.Context) error {
	cl, ok := sessionClaims(c)
	if !ok {
		return s.notASession(c)
	}
	if err := s.cfg.Logins.RevokeSession(c.Request.Context(), cl.SessionID, callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.forgetSession(cl)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) issueSession(sess *geo.Session) string {
	return s.logins.keys.IssueSession(geo.SessionClaims{SessionID: sess.ID, PersonID: sess.Person.ID, ExpiresAt: sess.ExpiresAt})
}

// personRefJSON names a person without their phone.
type personRefJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func sendSession(c *gin.Context, sess *geo.Session) error {
	c.JSON(http.StatusOK, gin.H{"token": sess.Token, "expires_at": sess.ExpiresAt,
		"person": personRefJSON{ID: sess.Person.ID, Name: sess.Person.Name}})
	return nil
}

// loginProblem is the problem of a failed sign-in.
func loginProblem(err error) error {
	var failed *geo.LoginError
	if !errors.As(err, &failed) {
		return err
	}
	typ := TypeLoginFailed
	switch failed.Failure {
	case geo.LoginExpired:
		typ = TypeLoginExpired
	case geo.LoginLocked:
		typ = TypeLoginLocked
	case geo.LoginLinkUsed:
		typ = TypeLoginLinkUsed
	}
	return problemf(typ, http.StatusUnauthorized, "%s", failed.Error())
}
