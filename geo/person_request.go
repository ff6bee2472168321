package geo

import (
	"strings"
	"time"
)

// This file checks the requests that write people: registering a person,
// changing or ending one, appointing one to a role, and leave. Each check
// returns what the store takes, or one EINVALID error that locates every
// wrong member of the request.

// MaxLeaveNote bounds the note of a leave period, in bytes.
const MaxLeaveNote = 1000

// Check validates and normalises p: the name cleaned and non-empty, the
// phone a mainland mobile or landline (required: a person on duty must be
// reachable). The error locates each wrong member, "name" and "phone".
func (p *NewPerson) Check() error {
	var ps problemList
	p.check(&ps)
	return ps.err()
}

func (p *NewPerson) check(ps *problemList) {
	p.Name = ps.personName(p.Name)
	p.Phone = ps.personPhone(p.Phone)
}

// personName cleans a person's name (CleanName) and records at "name" one
// that is empty or too long.
func (ps *problemList) personName(raw string) string {
	name := CleanName(raw)
	if name == "" || len(name) > MaxNameLen {
		ps.add("name", "required, at most %d bytes", MaxNameLen)
	}
	return name
}

// personPhone normalises a person's phone and records at "phone" one that
// is missing or not a mainland number.
func (ps *problemList) personPhone(raw string) string {
	if strings.TrimSpace(raw) == "" {
		ps.add("phone", "required, a mainland mobile or landline")
		return raw
	}
	phone, _ := ps.phone("phone", raw)
	return phone
}

// PersonRef names the person of a request: an existing one by person_id,
// or one by name and phone (the person of that name and phone who has not
// left, registered if there is none).
type PersonRef struct {
	PersonID *int64 `json:"person_id"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

// check returns the person's id, or (id 0) the person by name and phone,
// normalised.
func (r PersonRef) check(ps *problemList) (id int64, np NewPerson) {
	switch {
	case r.PersonID != nil && (r.Name != "" || r.Phone != ""):
		ps.add("person_id", "give person_id, or name and phone, not both")
	case r.PersonID != nil && *r.PersonID <= 0:
		ps.add("person_id", "got %d, want a positive integer", *r.PersonID)
	case r.PersonID != nil:
		id = *r.PersonID
	default:
		np = NewPerson{Name: r.Name, Phone: r.Phone}
		np.check(ps)
	}
	return id, np
}

// PersonPatch is a change to a person as a request gives it: members
// present change. Status "left" ends the person at ended_at (default now)
// with every assignment they hold; a person who left does not come back
// (a returning cadre is registered again, so the history stays true), and
// "active" only asks that they have not left.
type PersonPatch struct {
	Name    *string `json:"name"`
	Phone   *string `json:"phone"`
	Status  *string `json:"status"`
	EndedAt *string `json:"ended_at"`
}

// Check returns the update r asks for at now. An end may not lie in the
// future (see FutureChange).
func (r PersonPatch) Check(now time.Time) (PersonUpdate, error) {
	var u PersonUpdate
	var ps problemList
	u.Name = patched(r.Name, ps.personName)
	u.Phone = patched(r.Phone, ps.personPhone)
	switch {
	case r.EndedAt != nil && (r.Status == nil || *r.Status == PersonActive):
		ps.add("ended_at", `only with "status": "left"`)
	case r.Status == nil:
	case *r.Status == PersonLeft:
		raw := ""
		if r.EndedAt != nil {
			raw = *r.EndedAt
		}
		u.End = ps.time("ended_at", raw, now)
		ps.notLater("ended_at", u.End, now)
	case *r.Status == PersonActive:
		u.StayActive = true
	default:
		ps.add("status", "got %q, want left (or active, which changes nothing)", Clip(*r.Status))
	}
	return u, ps.err()
}

// AppointmentRequest is who takes a role and from when (default now): an
// existing person by person_id, or a person by name and phone.
type AppointmentRequest struct {
	PersonRef
	From string `json:"from"`
}

// Check returns the appointment of r to scope (the role in its grid,
// village or the town) at now. The start may not lie in the future (see
// FutureChange).
func (r AppointmentRequest) Check(scope Appointment, now time.Time) (Appointment, error) {
	var ps problemList
	a := scope
	id, np := r.PersonRef.check(&ps)
	a.PersonID, a.Name, a.Phone = id, np.Name, np.Phone
	a.From = ps.time("from", r.From, now)
	ps.notLater("from", a.From, now)
	return a, ps.err()
}

// LeaveRequest is a leave period as a request gives it: from and to
// (required), and a note.
type LeaveRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Note string `json:"note"`
}

// Check returns the leave [from, to): to after from, at most MaxLeave
// later (a longer absence is a vacancy), the note trimmed and within
// MaxLeaveNote.
func (r LeaveRequest) Check() (Leave, error) {
	var ps problemList
	var l Leave
	l.From = ps.requiredTime("from", r.From)
	l.To = ps.requiredTime("to", r.To)
	switch {
	case l.From.IsZero() || l.To.IsZero():
	case !l.To.After(l.From):
		ps.add("to", "%s is not after from (%s)", l.To.Format(time.RFC3339), l.From.Format(time.RFC3339))
	case l.To.Sub(l.From) > MaxLeave:
		ps.add("to", "a leave lasts at most two years: a longer absence is a vacancy (appoint someone else)")
	}
	if l.Note = strings.TrimSpace(r.Note); len(l.Note) > MaxLeaveNote {
		ps.add("note", "at most %d bytes", MaxLeaveNote)
	}
	return l, ps.err()
}
