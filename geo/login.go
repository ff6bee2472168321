package geo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is how people sign in as themselves: a grid leader, a deputy,
// a member, a village liaison leader, the duty desk or an organization's
// chair asks for a one-time code sent by SMS to the phone the town has
// for them, or opens a single-use link an admin made; either gives a
// session. A session carries the person, not a role: what they see and
// may do follows what they hold now (PersonScope). Everything here is
// pure: the store keeps codes, links and sessions, the HTTP layer asks.

// Sign-in limits.
const (
	// LoginCodeDigits is the length of a one-time code.
	LoginCodeDigits = 6
	// LoginCodeTTL is how long a code may be used.
	LoginCodeTTL = 10 * time.Minute
	// LoginCodeTries is how many wrong codes kill a code.
	LoginCodeTries = 5
	// LoginLinkTTL is how long a login link may be used (once).
	LoginLinkTTL = 24 * time.Hour
	// SessionTTL is how long a session lasts.
	SessionTTL = 30 * 24 * time.Hour
)

// Prefixes of the secrets sign-in hands out, so that a leaked one is
// recognisable (like API tokens' wg_).
const (
	SessionTokenPrefix = "wgs_"
	LoginLinkPrefix    = "wgl_"
)

// RateLimit is one limit on code requests: at most Max within Window,
// counted per phone number or per client address.
type RateLimit struct {
	// Per is "number" or "address".
	Per    string
	Max    int
	Window time.Duration
}

// What a rate limit counts.
const (
	PerNumber  = "number"
	PerAddress = "address"
)

// String says the limit as a person reads it: "1 a minute per number".
func (l RateLimit) String() string {
	window := l.Window.String()
	switch l.Window {
	case time.Minute:
		window = "a minute"
	case time.Hour:
		window = "an hour"
	case 24 * time.Hour:
		window = "a day"
	}
	return fmt.Sprintf("%d %s per %s", l.Max, window, l.Per)
}

// DefaultLoginLimits are the limits on code requests: one a minute and
// five an hour per number, twenty an hour per client address.
func DefaultLoginLimits() []RateLimit {
	return []RateLimit{{PerNumber, 1, time.Minute}, {PerNumber, 5, time.Hour}, {PerAddress, 20, time.Hour}}
}

// LongestWindow is the longest window of limits: requests older than that
// no longer count.
func LongestWindow(limits []RateLimit) time.Duration {
	var w time.Duration
	for _, l := range limits {
		w = max(w, l.Window)
	}
	return w
}

// RateLimitError says which limit a request reached and when it may be
// made again.
type RateLimitError struct {
	Limit      RateLimit
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many code requests: at most %s; retry in %s", e.Limit, e.RetryAfter.Round(time.Second))
}

// CheckRateLimits decides whether one more request may be made at now,
// given the times of the earlier requests that count (byNumber: for the
// same number; byAddress: from the same client address). It returns nil,
// or the limit reached with the longest wait when several are. A limit
// with Max <= 0 limits nothing.
func CheckRateLimits(limits []RateLimit, byNumber, byAddress []time.Time, now time.Time) *RateLimitError {
	var worst *RateLimitError
	for _, l := range limits {
		times := byNumber
		if l.Per == PerAddress {
			times = byAddress
		}
		var in []time.Time
		for _, t := range times {
			if t.After(now.Add(-l.Window)) && !t.After(now) {
				in = append(in, t)
			}
		}
		if l.Max <= 0 || len(in) < l.Max {
			continue
		}
		// The request that must leave the window before another fits.
		slices.SortFunc(in, func(a, b time.Time) int { return a.Compare(b) })
		wait := max(in[len(in)-l.Max].Add(l.Window).Sub(now), time.Second)
		if worst == nil || wait > worst.RetryAfter {
			worst = &RateLimitError{Limit: l, RetryAfter: wait}
		}
	}
	return worst
}

// LoginFailure says why a sign-in failed.
type LoginFailure string

// Why a sign-in fails. A wrong code and a code for a number that belongs
// to nobody fail alike, so that the answers do not tell who may sign in.
const (
	LoginWrongCode   LoginFailure = "wrong_code"   // the code does not match; TriesLeft say how many remain
	LoginExpired     LoginFailure = "expired"      // the code or link has expired, or no code was requested
	LoginLocked      LoginFailure = "locked"       // too many wrong codes: this code is dead
	LoginLinkUsed    LoginFailure = "link_used"    // the link was used already
	LoginLinkUnknown LoginFailure = "link_unknown" // no such link
	LoginNoRole      LoginFailure = "no_role"      // the person has left or holds no role any more
)

// LoginError is a failed sign-in.
type LoginError struct {
	Failure   LoginFailure
	TriesLeft int
}

func (e *LoginError) Error() string {
	switch e.Failure {
	case LoginWrongCode:
		if e.TriesLeft == 1 {
			return "the code is wrong: 1 try left"
		}
		return fmt.Sprintf("the code is wrong: %d tries left", e.TriesLeft)
	case LoginExpired:
		return "the code or link has expired, or no code was requested for this number: request a new one"
	case LoginLocked:
		return fmt.Sprintf("%d wrong codes: this code can no longer be used; request a new one", LoginCodeTries)
	case LoginLinkUsed:
		return "this login link was used already: ask the admin for a new one"
	case LoginLinkUnknown:
		return "this login link is not valid: ask the admin for a new one"
	case LoginNoRole:
		return "this person holds no role in the town now, and cannot sign in"
	}
	return "sign-in failed"
}

// LoginKeys are the keys of sign-in, derived from the server's secret key
// (the same on every replica) and kept apart from its other uses.
type LoginKeys struct {
	code, session []byte
}

// NewLoginKeys derives the keys from secret. An empty secret gives keys
// that are not Usable.
func NewLoginKeys(secret []byte) LoginKeys {
	if len(secret) == 0 {
		return LoginKeys{}
	}
	derive := func(use string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("wangge sign-in: " + use))
		return m.Sum(nil)
	}
	return LoginKeys{code: derive("code"), session: derive("session")}
}

// Usable reports whether the keys were derived from a secret.
func (k LoginKeys) Usable() bool { return len(k.session) > 0 }

// NewLoginCode returns a fresh code of LoginCodeDigits digits, uniform,
// from the system's random source.
func NewLoginCode() string {
	limit := big.NewInt(1_000_000)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic("geo: the system's random source failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// NewSalt returns 16 random bytes.
func NewSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// CodeHash is the stored form of a code for phone: an HMAC under the
// server's key over the row's salt, the number and the code, so that the
// database alone does not give the codes away (six digits are guessed in
// a moment from a plain hash).
func (k LoginKeys) CodeHash(salt []byte, phone, code string) []byte {
	m := hmac.New(sha256.New, k.code)
	m.Write(salt)
	m.Write([]byte{0})
	m.Write([]byte(phone))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// CodeMatches compares code with the stored hash in constant time.
func (k LoginKeys) CodeMatches(salt, hash []byte, phone, code string) bool {
	return hmac.Equal(k.CodeHash(salt, phone, code), hash)
}

// SessionClaims are what a session token carries: verified without the
// database, so that a signed-in person is recognised from memory.
type SessionClaims struct {
	SessionID int64
	PersonID  int64
	ExpiresAt time.Time
}

// sessionPayload is the byte length of the claims in a token: session,
// person, expiry (Unix seconds), each 8 bytes.
const sessionPayload = 24

// IssueSession returns the token for claims: the prefix, then the claims
// and their HMAC, base64url.
func (k LoginKeys) IssueSession(cl SessionClaims) string {
	b := make([]byte, sessionPayload, sessionPayload+sha256.Size)
	binary.BigEndian.PutUint64(b[0:], uint64(cl.SessionID))
	binary.BigEndian.PutUint64(b[8:], uint64(cl.PersonID))
	binary.BigEndian.PutUint64(b[16:], uint64(cl.ExpiresAt.Unix()))
	b = append(b, k.sessionMAC(b)...)
	return SessionTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func (k LoginKeys) sessionMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, k.session)
	m.Write(payload)
	return m.Sum(nil)
}

// Why a session token is refused.
var (
	errSessionBad     = Errorf(EINVALID, "the session token is not valid: sign in again")
	errSessionExpired = Errorf(EINVALID, "the session has expired: sign in again")
)

// VerifySession checks token's signature and expiry at now and returns
// its claims; EINVALID, saying which, when it is forged, damaged or
// expired. (Revocation is the caller's: see the store's revoked sessions.)
func (k LoginKeys) VerifySession(token string, now time.Time) (SessionClaims, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(token), SessionTokenPrefix)
	if !ok || !k.Usable() {
		return SessionClaims{}, errSessionBad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != sessionPayload+sha256.Size || !hmac.Equal(k.sessionMAC(b[:sessionPayload]), b[sessionPayload:]) {
		return SessionClaims{}, errSessionBad
	}
	cl := SessionClaims{SessionID: int64(binary.BigEndian.Uint64(b[0:])), PersonID: int64(binary.BigEndian.Uint64(b[8:])),
		ExpiresAt: time.Unix(int64(binary.BigEndian.Uint64(b[16:])), 0).UTC()}
	if !now.Before(cl.ExpiresAt) {
		return cl, errSessionExpired
	}
	return cl, nil
}

// NewLoginLinkSecret returns a fresh login link token and its hash (the
// form it is stored and looked up in).
func NewLoginLinkSecret() (secret string, hash [32]byte) {
	var b [32]byte
	rand.Read(b[:])
	secret = LoginLinkPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret)
}

// LoginLinkURL is the address of a login link on the work screen:
// publicURL (may be empty: a relative address) + /m/#/login/<token>.
func LoginLinkURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/m/#/login/" + token
}

// MaskPhone keeps the first three and last four digits of a phone, for
// logs about numbers that may belong to nobody: 139****0001.
func MaskPhone(phone string) string {
	if len(phone) < 8 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}

// Session is a person's session as stored.
type Session struct {
	ID        int64
	Person    Person
	Via       string // "code" or "link"
	CreatedAt time.Time
	ExpiresAt time.Time
	// Token is set when the session is made, never stored: the store keeps
	// its hash only.
	Token string
}

// Ways a session is opened.
const (
	ViaCode = "code"
	ViaLink = "link"
)

// ChairOf is an organization a person chairs.
type ChairOf struct {
	OrganizationID int64
	Kind           OrgKind
	Name           string
	VillageCode    string
}

// PersonScope is what a signed-in person holds now: it decides which
// incidents they see and what they may do to them.
type PersonScope struct {
	Person Person
	// Roles are the assignments in force now.
	Roles []Assignment
	// Chairs are the organizations they chair now.
	Chairs []ChairOf
}

// HoldsRole reports whether the person has not left and holds a role now
// (an assignment or an organization's chair): only they may sign in.
func (p *PersonScope) HoldsRole() bool {
	return p.Person.EndedAt.IsZero() && (len(p.Roles) > 0 || len(p.Chairs) > 0)
}

// GridCodes and VillageCodes are the grids (leader, deputy, member) and
// villages (liaison leader) the person holds now.
func (p *PersonScope) GridCodes() []string {
	var out []string
	for _, a := range p.Roles {
		if a.GridCode != "" && !slices.Contains(out, a.GridCode) {
			out = append(out, a.GridCode)
		}
	}
	return out
}

// VillageCodes: see GridCodes.
func (p *PersonScope) VillageCodes() []string {
	var out []string
	for _, a := range p.Roles {
		if a.VillageCode != "" && !slices.Contains(out, a.VillageCode) {
			out = append(out, a.VillageCode)
		}
	}
	return out
}

// Holds reports whether inc is the person's to work on: assigned to them
// (the assignee's phone is theirs), or in a grid or village they hold now.
func (p *PersonScope) Holds(inc *Incident) bool {
	if inc.Assignee.Phone != "" && inc.Assignee.Phone == p.Person.Phone {
		return true
	}
	return inc.GridCode != "" && slices.Contains(p.GridCodes(), inc.GridCode) ||
		inc.VillageCode != "" && slices.Contains(p.VillageCodes(), inc.VillageCode)
}

// Sees reports whether the person may read inc: what they Hold, and the
// incidents an organization they chair was told of.
func (p *PersonScope) Sees(inc *Incident) bool {
	if p.Holds(inc) {
		return true
	}
	for _, c := range p.Chairs {
		if c.VillageCode != inc.VillageCode {
			continue
		}
		for _, o := range inc.CoNotified {
			if o.Kind == c.Kind && o.Name == c.Name {
				return true
			}
		}
	}
	return false
}

// PersonActions are the steps a signed-in person may take: the assignee's
// part of the closed loop, a comment, and asking the dispatcher to
// reassign or escalate. Verifying, closing, rejecting, reassigning and
// escalating stay with the dispatchers.
var PersonActions = []Action{ActAccept, ActStart, ActResolve, ActComment, ActRequestReassign, ActRequestEscalate}

// MayAct returns nil when the person may take action on inc, and an
// EFORBIDDEN error saying why not otherwise: an action that is not theirs,
// an incident they do not see, or (for a chair who was only told of it)
// anything but a comment. An empty action asks whether they may read it.
func (p *PersonScope) MayAct(inc *Incident, action Action) error {
	if action != "" && !slices.Contains(PersonActions, action) {
		return Errorf(EFORBIDDEN, "a person signed in may %v, not %s: ask the dispatcher", PersonActions, action)
	}
	if !p.Sees(inc) {
		return Errorf(EFORBIDDEN, "incident %s is not yours: it is neither assigned to you nor in a grid or village you hold", inc.Number)
	}
	if action != "" && action != ActComment && !p.Holds(inc) {
		return Errorf(EFORBIDDEN, "incident %s is not assigned to you: an organization you chair was told of it, so you may comment on it only", inc.Number)
	}
	return nil
}

// IncidentView says which incidents a person's list shows.
type IncidentView string

// Views of GET /v1/me/incidents.
const (
	ViewOpen   IncidentView = "open"   // still waiting for someone to act (Status.Open)
	ViewClosed IncidentView = "closed" // resolved, verified or closed
	ViewAll    IncidentView = "all"
)

// Statuses are the statuses v selects (nil: all).
func (v IncidentView) Statuses() []Status {
	var out []Status
	for _, s := range Statuses {
		if v == ViewOpen && s.Open() || v == ViewClosed && !s.Open() {
			out = append(out, s)
		}
	}
	return out
}

// LoginCodeRequest is a request for a code as the store records it.
type LoginCodeRequest struct {
	Phone   string
	Address string // the client's address, for its rate limit
	// Salt and Hash are the code's stored form (see LoginKeys.CodeHash).
	Salt, Hash []byte
	At         time.Time
	Limits     []RateLimit
}

// LoginStore keeps codes, links and sessions. Every method returns
// EUNAVAILABLE when the database cannot be reached.
type LoginStore interface {
	// RequestLoginCode first checks req's rate limits against the
	// requests recorded before (a *RateLimitError when one is reached:
	// nothing is recorded), then records the request and stores the code,
	// replacing any earlier one for the number. When the number is that of
	// a person who has not left and holds a role now, messages gives the
	// messages that carry the code to them (written to the outbox in the
	// same transaction) and the person is returned; otherwise the code is
	// kept as a decoy that no code can open, so that a number's answers do
	// not tell whether it belongs to someone, and the person is nil.
	RequestLoginCode(ctx context.Context, req LoginCodeRequest, messages func(codeID int64, to Person) []OutboxMessage) (*Person, error)
	// Login checks a code for phone at at against the latest code for the
	// number: matches compares it. A *LoginError says why it failed (a
	// wrong code counts against the code's tries, committed). On success
	// the code is spent and a session opened; issue makes its token from
	// the session (its id assigned), and only the token's hash is kept.
	Login(ctx context.Context, phone, address string, at time.Time, matches func(salt, hash []byte) bool, issue func(*Session) string) (*Session, error)
	// CreateLoginLink stores a single-use link (by its hash) for person id,
	// valid until expires. ENOTFOUND if the person is unknown; ECONFLICT
	// when they have left or hold no role now.
	CreateLoginLink(ctx context.Context, personID int64, hash [32]byte, expires time.Time, actor string, at time.Time) (*Person, error)
	// UseLoginLink opens a session with the link of that hash, once: a
	// *LoginError when it is unknown, used, expired, or its person holds no
	// role any more.
	UseLoginLink(ctx context.Context, hash [32]byte, address string, at time.Time, issue func(*Session) string) (*Session, error)
	// RevokeSession ends session id at at, and announces it so that every
	// replica stops accepting it. ENOTFOUND if there is no such session in
	// force.
	RevokeSession(ctx context.Context, id int64, actor string, at time.Time) error
	// RevokedSessions returns the sessions revoked before they expired
	// that have not expired at at, with their expiry.
	RevokedSessions(ctx context.Context, at time.Time) (map[int64]time.Time, error)
	// SessionActive reports whether session id is in force at at.
	SessionActive(ctx context.Context, id int64, at time.Time) (bool, error)
	// PersonScope returns what person id holds at at. ENOTFOUND if unknown.
	PersonScope(ctx context.Context, personID int64, at time.Time) (*PersonScope, error)
	// PersonIncidents lists up to limit incidents of view that scope
	// Sees: open ones first, by due time, then the others, newest first.
	PersonIncidents(ctx context.Context, scope *PersonScope, view IncidentView, limit int) ([]*Incident, error)
}

// LoginCodeChannels are the channels a login code goes through: the
// enabled SMS channels that take login codes.
func LoginCodeChannels(channels []Channel) []Channel {
	var out []Channel
	for _, c := range channels {
		if c.hears(MsgLoginCode, nil) {
			out = append(out, c)
		}
	}
	return out
}

// LoginCodeMessages are the messages carrying code to person through
// channels (see LoginCodeChannels), under ids made of the code's row and
// the channel, stable across retries.
func LoginCodeMessages(channels []Channel, codeID int64, to Person, code string) []OutboxMessage {
	var out []OutboxMessage
	for _, c := range LoginCodeChannels(channels) {
		out = append(out, OutboxMessage{ID: fmt.Sprintf("login-%d-c%d", codeID, c.ID), ChannelID: c.ID, ChannelName: c.Name,
			ChannelKind: c.Kind, Kind: MsgLoginCode, To: Recipient{Name: to.Name, Phone: to.Phone, Role: "sign_in"},
			Fields: map[string]string{"code": code, "minutes": strconv.Itoa(int(LoginCodeTTL / time.Minute))}})
	}
	return out
}
