package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps people's sign-in: code requests and their rate limits,
// codes, login links and sessions. A failed sign-in that must leave a
// trace (a wrong code counts against its tries; the audit log records it)
// commits that trace and then returns the *geo.LoginError.

// SessionsChanged is the NotifyChannel payload announcing that a session
// was revoked, so that every replica reloads its list of revoked sessions.
const SessionsChanged = "sessions"

// Keys of the advisory locks of code requests (see login_lock).
const (
	lockPhone   = 1
	lockAddress = 2
)

// RequestLoginCode records a request for a code and stores the code (see
// geo.LoginStore).
func (db *DB) RequestLoginCode(ctx context.Context, req geo.LoginCodeRequest,
	messages func(codeID int64, to geo.Person) []geo.OutboxMessage) (*geo.Person, error) {
	var person *geo.Person
	var limited *geo.RateLimitError
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// Phone before address, in every request: no two requests wait
		// for each other's locks in the opposite order.
		if _, err := tx.Exec(ctx, q("login_lock"), lockPhone, req.Phone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("login_lock"), lockAddress, req.Address); err != nil {
			return err
		}
		since := req.At.Add(-geo.LongestWindow(req.Limits))
		byPhone, err := collectTimes(tx.Query(ctx, q("login_requests_by_phone"), req.Phone, since))
		if err != nil {
			return err
		}
		byAddress, err := collectTimes(tx.Query(ctx, q("login_requests_by_address"), req.Address, since))
		if err != nil {
			return err
		}
		if limited = geo.CheckRateLimits(req.Limits, byPhone, byAddress, req.At); limited != nil {
			return nil
		}
		for _, step := range []struct {
			query string
			args  []any
		}{
			{"login_requests_purge", []any{since}},
			{"login_codes_purge", []any{req.At.Add(-24 * time.Hour)}},
			{"login_request_insert", []any{req.Phone, req.Address, req.At}},
			{"login_codes_spend", []any{req.Phone, req.At}},
		} {
			if _, err := tx.Exec(ctx, q(step.query), step.args...); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, q("login_person_by_phone"), req.Phone, req.At)
		people, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (geo.Person, error) {
			var p geo.Person
			return p, row.Scan(&p.ID, &p.Name, &p.Phone)
		})
		if err != nil {
			return err
		}
		// Two people who hold roles may share a number (a couple, a
		// cadre registered twice): the code signs in the first registered.
		var personID *int64
		if len(people) > 0 {
			person = &people[0]
			personID = &person.ID
		}
		var codeID int64
		if err := tx.QueryRow(ctx, q("login_code_insert"), req.Phone, personID, req.Salt, req.Hash, req.At,
			req.At.Add(geo.LoginCodeTTL)).Scan(&codeID); err != nil {
			return err
		}
		if person == nil {
			return nil
		}
		msgs := messages(codeID, *person)
		if len(msgs) > 0 {
			if err := writeMessages(ctx, tx, nil, msgs, req.At); err != nil {
				return err
			}
		}
		return audit(ctx, tx, req.At, "anonymous", "login.code", personTarget(person.ID), nil,
			map[string]any{"code": codeID, "address": req.Address, "messages": len(msgs)}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if limited != nil {
		return nil, limited
	}
	return person, nil
}

func collectTimes(rows pgx.Rows, err error) ([]time.Time, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[time.Time])
}

// Login checks a code and opens a session (see geo.LoginStore).
func (db *DB) Login(ctx context.Context, phone, address string, at time.Time,
	matches func(salt, hash []byte) bool, issue func(*geo.Session) string) (*geo.Session, error) {
	var sess *geo.Session
	var failed *geo.LoginError
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var id int64
		var personID *int64
		var salt, hash []byte
		var expires time.Time
		var attempts int
		err := tx.QueryRow(ctx, q("login_code_latest"), phone).Scan(&id, &personID, &salt, &hash, &expires, &attempts)
		if err == pgx.ErrNoRows {
			failed = &geo.LoginError{Failure: geo.LoginExpired}
			return auditLoginFailure(ctx, tx, at, nil, phone, address, failed)
		} else if err != nil {
			return err
		}
		switch {
		case !at.Before(expires):
			failed = &geo.LoginError{Failure: geo.LoginExpired}
		case attempts >= geo.LoginCodeTries:
			failed = &geo.LoginError{Failure: geo.LoginLocked}
		case !matches(salt, hash) || personID == nil:
			// A decoy fails as a wrong code does, tries and all.
			if err := tx.QueryRow(ctx, q("login_code_attempt"), id).Scan(&attempts); err != nil {
				return err
			}
			failed = &geo.LoginError{Failure: geo.LoginWrongCode, TriesLeft: geo.LoginCodeTries - attempts}
			if failed.TriesLeft <= 0 {
				failed = &geo.LoginError{Failure: geo.LoginLocked}
			}
		}
		if failed != nil {
			return auditLoginFailure(ctx, tx, at, personID, phone, address, failed)
		}
		if _, err := tx.Exec(ctx, q("login_code_use"), id, at); err != nil {
			return err
		}
		if sess, failed, err = openSession(ctx, tx, *personID, geo.ViaCode, address, at, issue); err != nil || failed != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if failed != nil {
		return nil, failed
	}
	return sess, nil
}

// openSession opens a session for person at at, when they still hold a
// role (otherwise the failure, audited, and no session).
func openSession(ctx context.Context, tx pgx.Tx, personID int64, via, address string, at time.Time,
	issue func(*geo.Session) string) (*geo.Session, *geo.LoginError, error) {
	var holds bool
	if err := tx.QueryRow(ctx, q("login_person_holds_role"), personID, at).Scan(&holds); err != nil {
		return nil, nil, err
	}
	if !holds {
		failed := &geo.LoginError{Failure: geo.LoginNoRole}
		return nil, failed, auditLoginFailure(ctx, tx, at, &personID, "", address, failed)
	}
	s := &geo.Session{Via: via, CreatedAt: at, ExpiresAt: at.Add(geo.SessionTTL).Truncate(time.Second)}
	var ended *time.Time
	if err := tx.QueryRow(ctx, q("person_get"), personID).Scan(&s.Person.ID, &s.Person.Name, &s.Person.Phone, new(time.Time), &ended); err != nil {
		return nil, nil, err
	}
	if err := tx.QueryRow(ctx, q("session_next_id")).Scan(&s.ID); err != nil {
		return nil, nil, err
	}
	s.Token = issue(s)
	hash := sha256.Sum256([]byte(s.Token))
	if _, err := tx.Exec(ctx, q("session_insert"), s.ID, personID, hash[:], via, address, at, s.ExpiresAt); err != nil {
		return nil, nil, err
	}
	action := "login"
	if via == geo.ViaLink {
		action = "login_link.use"
	}
	err := audit(ctx, tx, at, personTarget(personID), action, personTarget(personID), nil,
		map[string]any{"session": s.ID, "via": via, "address": address, "expires_at": s.ExpiresAt}, "")
	return s, nil, err
}

// auditLoginFailure records a failed sign-in: against the person when
// known, otherwise against the number, masked (it may be nobody's).
func auditLoginFailure(ctx context.Context, tx pgx.Tx, at time.Time, personID *int64, phone, address string, failed *geo.LoginError) error {
	target := "phone:" + geo.MaskPhone(phone)
	if personID != nil {
		target = personTarget(*personID)
	} else if phone == "" {
		target = "login_link"
	}
	return audit(ctx, tx, at, "anonymous", "login.fail", target, nil,
		map[string]any{"reason": failed.Failure, "tries_left": failed.TriesLeft, "address": address}, "")
}

// CreateLoginLink stores a single-use login link (see geo.LoginStore).
func (db *DB) CreateLoginLink(ctx context.Context, personID int64, hash [32]byte, expires time.Time, actor string, at time.Time) (*geo.Person, error) {
	var p geo.Person
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var ended *time.Time
		err := tx.QueryRow(ctx, q("person_get"), personID).Scan(&p.ID, &p.Name, &p.Phone, new(time.Time), &ended)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no person %d", personID)
		} else if err != nil {
			return err
		}
		if ended != nil {
			return geo.Errorf(geo.ECONFLICT, "%s (person %d) has left: only people who hold a role may sign in", p.Name, personID)
		}
		var holds bool
		if err := tx.QueryRow(ctx, q("login_person_holds_role"), personID, at).Scan(&holds); err != nil {
			return err
		}
		if !holds {
			return geo.Errorf(geo.ECONFLICT, "%s (person %d) holds no role now: appoint them (or make them an organization's chair) first", p.Name, personID)
		}
		var id int64
		if err := tx.QueryRow(ctx, q("login_link_insert"), personID, hash[:], actor, at, expires).Scan(&id); err != nil {
			return err
		}
		return audit(ctx, tx, at, actor, "login_link.create", personTarget(personID), nil,
			map[string]any{"link": id, "expires_at": expires}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return &p, nil
}

// UseLoginLink opens a session with a login link, once (see
// geo.LoginStore).
func (db *DB) UseLoginLink(ctx context.Context, hash [32]byte, address string, at time.Time, issue func(*geo.Session) string) (*geo.Session, error) {
	var sess *geo.Session
	var failed *geo.LoginError
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var id, personID int64
		var expires time.Time
		var used *time.Time
		err := tx.QueryRow(ctx, q("login_link_get"), hash[:]).Scan(&id, &personID, &expires, &used)
		if err == pgx.ErrNoRows {
			failed = &geo.LoginError{Failure: geo.LoginLinkUnknown}
			return auditLoginFailure(ctx, tx, at, nil, "", address, failed)
		} else if err != nil {
			return err
		}
		switch {
		case used != nil:
			failed = &geo.LoginError{Failure: geo.LoginLinkUsed}
		case !at.Before(expires):
			failed = &geo.LoginError{Failure: geo.LoginExpired}
		}
		if failed != nil {
			return auditLoginFailure(ctx, tx, at, &personID, "", address, failed)
		}
		if sess, failed, err = openSession(ctx, tx, personID, geo.ViaLink, address, at, issue); err != nil || failed != nil {
			return err
		}
		_, err = tx.Exec(ctx, q("login_link_use"), id, at, sess.ID)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if failed != nil {
		return nil, failed
	}
	return sess, nil
}

// RevokeSession ends a session (see geo.LoginStore).
func (db *DB) RevokeSession(ctx context.Context, id int64, actor string, at time.Time) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var personID int64
		if err := tx.QueryRow(ctx, q("session_revoke"), id, at, actor).Scan(&personID); err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no session %d in force", id)
		} else if err != nil {
			return err
		}
		if err := audit(ctx, tx, at, actor, "session.revoke", personTarget(personID), nil, map[string]any{"session": id}, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("notify"), SessionsChanged)
		return err
	})
	return unavailable(err)
}

// RevokedSessions lists the revoked sessions that have not expired (see
// geo.LoginStore).
func (db *DB) RevokedSessions(ctx context.Context, at time.Time) (map[int64]time.Time, error) {
	rows, _ := db.Pool.Query(ctx, q("sessions_revoked"), at)
	out := map[int64]time.Time{}
	var id int64
	var expires time.Time
	_, err := pgx.ForEachRow(rows, []any{&id, &expires}, func() error {
		out[id] = expires
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// SessionActive reports whether a session is in force.
func (db *DB) SessionActive(ctx context.Context, id int64, at time.Time) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, q("session_active"), id, at).Scan(&ok)
	return ok, unavailable(err)
}

// PersonScope returns what a person holds at at (see geo.LoginStore).
func (db *DB) PersonScope(ctx context.Context, personID int64, at time.Time) (*geo.PersonScope, error) {
	var scope *geo.PersonScope
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		p, err := personRecord(ctx, tx, personID, at, false)
		if err != nil {
			return err
		}
		scope = &geo.PersonScope{Person: p.Person, Roles: p.Roles}
		// The villages of their district body or work team (structure.go).
		if err := structureScope(ctx, tx, scope, at); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, q("person_chairs_at"), personID, at)
		scope.Chairs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (geo.ChairOf, error) {
			var c geo.ChairOf
			return c, row.Scan(&c.OrganizationID, &c.Kind, &c.Name, &c.VillageCode)
		})
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return scope, nil
}

// PersonIncidents lists the incidents of a person's scope (see
// geo.LoginStore).
func (db *DB) PersonIncidents(ctx context.Context, scope *geo.PersonScope, view geo.IncidentView, limit int) ([]*geo.Incident, error) {
	type chair struct {
		VillageCode string `json:"village_code"`
		Kind        string `json:"kind"`
		Name        string `json:"name"`
	}
	chairs := []chair{}
	for _, c := range scope.Chairs {
		chairs = append(chairs, chair{c.VillageCode, string(c.Kind), c.Name})
	}
	chairsJSON, err := json.Marshal(chairs)
	if err != nil {
		return nil, err
	}
	var statuses []string
	for _, s := range view.Statuses() {
		statuses = append(statuses, string(s))
	}
	grids, villages := scope.GridCodes(), scope.VillageCodes()
	if grids == nil {
		grids = []string{}
	}
	if villages == nil {
		villages = []string{}
	}
	rows, _ := db.Pool.Query(ctx, q("person_incidents"), scope.Person.Phone, grids, villages, chairsJSON, nilIfEmpty(statuses), limit)
	var out []*geo.Incident
	var s incidentScan
	_, err = pgx.ForEachRow(rows, s.dest(), func() error {
		// The query selects the scope; the domain has the last word.
		if inc := s.incident(); scope.Sees(inc) {
			out = append(out, inc)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}
