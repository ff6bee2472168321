package geo

import (
	"fmt"
	"strings"
	"time"
)

// This file holds what the checks of write requests share: a list of
// located problems built up field by field, so that a caller learns every
// mistake of a request at once, and the one way a request's time is read.

// problemList collects the problems of one request, one per wrong field.
type problemList []Problem

// add records that the member at where is wrong, and why.
func (ps *problemList) add(where, format string, args ...any) {
	*ps = append(*ps, Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
}

// err is nil when nothing is wrong, otherwise one EINVALID error of every
// problem.
func (ps problemList) err() error {
	if len(ps) == 0 {
		return nil
	}
	return Invalid(ps...)
}

// patched checks the member of a patch at raw, if given: nil stays nil
// (the member was absent, the value stays), otherwise the checked value.
func patched[T any](raw *string, check func(string) T) *T {
	if raw == nil {
		return nil
	}
	v := check(*raw)
	return &v
}

// chinaZone is China Standard Time (UTC+8, no daylight saving), in which a
// bare date is read: the township's midnight.
var chinaZone = time.FixedZone("CST", 8*3600)

// ParseTime reads a time as requests give it: RFC 3339, or a bare date
// (YYYY-MM-DD) meaning midnight China time. Surrounding spaces are
// ignored; the time is returned in UTC. ok is false for anything else,
// blank included.
func ParseTime(raw string) (t time.Time, ok bool) {
	raw = strings.TrimSpace(raw)
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), true
	}
	if t, err := time.ParseInLocation(time.DateOnly, raw, chinaZone); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// time reads the member at where as ParseTime does; blank gives def.
func (ps *problemList) time(where, raw string, def time.Time) time.Time {
	if strings.TrimSpace(raw) == "" {
		return def
	}
	t, ok := ParseTime(raw)
	if !ok {
		ps.add(where, "got %q, want an RFC 3339 time such as 2026-11-01T08:00:00+08:00, or a date such as 2026-11-01 (midnight, China time)", Clip(raw))
	}
	return t
}

// requiredTime is time for a member that must be given: blank is a
// problem, and gives the zero time.
func (ps *problemList) requiredTime(where, raw string) time.Time {
	if strings.TrimSpace(raw) == "" {
		ps.add(where, "required")
		return time.Time{}
	}
	return ps.time(where, raw, time.Time{})
}

// FutureChange says why a change recorded at now cannot take effect at t,
// or "" when it can: the snapshot dispatch routes from holds who is in
// office when it is built, so a change that takes effect later would not
// reach routing in time. A minute of clock skew is allowed. (Leave is
// different: the snapshot carries every leave period.)
func FutureChange(t, now time.Time) string {
	if t.After(now.Add(time.Minute)) {
		return t.Format(time.RFC3339) + " is in the future: record the change when it takes effect"
	}
	return ""
}

// notLater records at where a time of a change that lies in the future
// (see FutureChange).
func (ps *problemList) notLater(where string, t, now time.Time) {
	if why := FutureChange(t, now); why != "" {
		ps.add(where, "%s", why)
	}
}

// phone normalises the phone at where (see NormalizePhone); ok is false,
// and the problem recorded, when it is not a mainland number. A blank
// phone is fine here: callers that need one say so.
func (ps *problemList) phone(where, raw string) (phone string, ok bool) {
	phone, err := NormalizePhone(raw)
	if err != nil {
		ps.add(where, "%s", ErrorMessage(err))
		return raw, false
	}
	return phone, true
}
