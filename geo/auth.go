package geo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"time"
)

// AccessRole is what an API caller may do. Anonymous callers are viewers.
type AccessRole string

// Access roles, from least to most trusted. Dispatchers and planners each
// see what their job needs; admins see and do everything.
const (
	AccessViewer     AccessRole = "viewer"     // public map data, no personal data
	AccessDispatcher AccessRole = "dispatcher" // incidents, phones of leaders and reporters
	AccessPlanner    AccessRole = "planner"    // drafts and applies grid plans
	AccessAdmin      AccessRole = "admin"      // people, tokens, everything
)

// AccessPerson is a person signed in as themselves (a grid leader, a
// deputy, a village liaison leader, an organization's chair): not a token
// role, a session gives it. Such a caller sees public data as a viewer
// does, and the incidents of their own scope (see PersonScope), no
// others.
const AccessPerson AccessRole = "person"

// AccessRoles lists the roles of API tokens in order (AccessPerson, which
// only a session gives, is not among them).
var AccessRoles = []AccessRole{AccessViewer, AccessDispatcher, AccessPlanner, AccessAdmin}

// Valid reports whether r is a known token role.
func (r AccessRole) Valid() bool {
	for _, v := range AccessRoles {
		if r == v {
			return true
		}
	}
	return false
}

// Allows reports whether a caller with role r may do what needs role need:
// admin may do everything, everyone may do what a viewer may.
func (r AccessRole) Allows(need AccessRole) bool {
	return r == need || r == AccessAdmin || need == AccessViewer
}

// SeesPersonalData reports whether r may see phone numbers and reporters'
// contacts.
func (r AccessRole) SeesPersonalData() bool { return r == AccessDispatcher || r == AccessAdmin }

// Token is an API token as stored: never the secret, only its hash.
type Token struct {
	ID        int64
	Name      string
	Role      AccessRole
	Hash      [32]byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while the token is in use
	// TownCode limits the token to one town of the deployment: its
	// dispatcher sees and acts on that town's incidents only, its planner
	// on that town's plans, its admin appoints in that town. Empty: every
	// town (a county's token).
	TownCode string
}

// TownScope is the town a caller is limited to: "" for every town.
type TownScope string

// Covers reports whether a caller limited to s may see or act on what
// belongs to town (a 9-digit code; a village or grid code is cut to its
// town). An unscoped caller covers every town.
func (s TownScope) Covers(town string) bool {
	return s == "" || TownCodeOf(town) == string(s)
}

// tokenPrefix marks wangge tokens, so that a leaked one is recognisable
// (secret scanners match prefixes).
const tokenPrefix = "wg_"

// NewTokenSecret returns a fresh random token secret and its hash.
func NewTokenSecret() (secret string, hash [32]byte) {
	var b [32]byte
	rand.Read(b[:])
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret)
}

// HashToken returns the SHA-256 of a token secret, the form in which it is
// stored and looked up. A long random secret needs no slow hash.
func HashToken(secret string) [32]byte {
	return sha256.Sum256([]byte(strings.TrimSpace(secret)))
}

// TokenSet holds the tokens in use, swapped in whole when they change, for
// lock-free lookups on every request.
type TokenSet struct {
	m atomic.Pointer[map[[32]byte]Token]
}

// Store replaces the set.
func (s *TokenSet) Store(tokens map[[32]byte]Token) { s.m.Store(&tokens) }

// Lookup returns the token in use with the given hash.
func (s *TokenSet) Lookup(hash [32]byte) (Token, bool) {
	m := s.m.Load()
	if m == nil {
		return Token{}, false
	}
	t, ok := (*m)[hash]
	return t, ok
}
