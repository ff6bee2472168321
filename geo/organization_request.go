package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// This file checks the requests that write organizations: creating and
// changing one, adding and ending memberships, attaching it to grids and
// detaching it. What a check needs of the town (is the village there, is
// the grid current) it reads from the snapshot passed in. Each check
// returns what the store takes, or one EINVALID error that locates every
// wrong member of the request.

// Limits of organization requests.
const (
	// MaxOrgName bounds an organization's name, in characters.
	MaxOrgName = 100
	// MaxContactName bounds the name of an organization's contact, in
	// characters.
	MaxContactName = 50
	// MaxOrgGrids bounds the grids one request attaches.
	MaxOrgGrids = 1000
)

// OrganizationRequest is an organization to create: its kind, its name
// (unique with the kind in its village), its village, and whom to call.
type OrganizationRequest struct {
	Kind    string       `json:"kind"`
	Name    string       `json:"name"`
	Village string       `json:"village"`
	Contact *ContactJSON `json:"contact"`
}

// Check returns the organization r asks for, its village one of snap's.
func (r OrganizationRequest) Check(snap *Snapshot) (*Organization, error) {
	var ps problemList
	o := &Organization{Kind: ps.orgKind(r.Kind), Name: ps.orgName(r.Name), VillageCode: ps.village(snap, r.Village),
		Contact: ps.contact(r.Contact)}
	return o, ps.err()
}

// OrganizationPatch is a change to an organization as a request gives it:
// members present change, absent ones stay; "contact": null removes the
// contact. Status "ended" (with ended_at, default now) ends the
// organization with its memberships and attachments; "active" reopens an
// ended one.
type OrganizationPatch struct {
	Kind    *string `json:"kind"`
	Name    *string `json:"name"`
	Village *string `json:"village"`
	// Contact is kept raw to tell null (remove the contact) from absent
	// (keep it).
	Contact json.RawMessage `json:"contact"`
	Status  *string         `json:"status"`
	EndedAt *string         `json:"ended_at"`
}

// Check returns the update r asks for at now, a new village one of snap's.
// A patch that changes nothing is a problem of "body".
func (r OrganizationPatch) Check(snap *Snapshot, now time.Time) (OrganizationUpdate, error) {
	var u OrganizationUpdate
	var ps problemList
	if r.Kind == nil && r.Name == nil && r.Village == nil && r.Contact == nil && r.Status == nil && r.EndedAt == nil {
		ps.add("body", "nothing to change: give kind, name, village, contact, status or ended_at")
	}
	u.Kind = patched(r.Kind, ps.orgKind)
	u.Name = patched(r.Name, ps.orgName)
	u.VillageCode = patched(r.Village, func(code string) string { return ps.village(snap, code) })
	if r.Contact != nil {
		u.SetContact = true
		if !bytes.Equal(bytes.TrimSpace(r.Contact), []byte("null")) {
			var c ContactJSON
			dec := json.NewDecoder(bytes.NewReader(r.Contact))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				ps.add("contact", `want {"name": …, "phone": …} or null`)
			} else {
				u.Contact = ps.contact(&c)
			}
		}
	}
	status := ""
	if r.Status != nil {
		status = *r.Status
	}
	switch {
	case r.Status != nil && status != "active" && status != "ended":
		ps.add("status", "got %q, want active or ended", Clip(status))
	case r.EndedAt != nil && status == "active":
		ps.add("ended_at", "only when ending: status ended")
	case r.EndedAt != nil || status == "ended":
		raw := ""
		if r.EndedAt != nil {
			raw = *r.EndedAt
		}
		u.End = ps.time("ended_at", raw, now)
	case status == "active":
		u.Reopen = true
	}
	return u, ps.err()
}

// MemberRequest is a membership to add: who (by person_id, or by name and
// phone), as what (chair or member, the default) and from when (default
// now).
type MemberRequest struct {
	PersonRef
	Role string `json:"role"`
	From string `json:"from"`
}

// Check returns the membership r asks for at now. A person named by name
// and phone is spelt as the people endpoints and rosters spell them
// (NewPerson.Check).
func (r MemberRequest) Check(now time.Time) (NewMember, error) {
	var ps problemList
	m := NewMember{Role: MemberRole(r.Role)}
	if r.Role == "" {
		m.Role = MemberMember
	}
	if !m.Role.Valid() {
		ps.add("role", "got %q, want chair or member", Clip(r.Role))
	}
	id, np := r.PersonRef.check(&ps)
	m.PersonID, m.Name, m.Phone = id, np.Name, np.Phone
	m.From = ps.time("from", r.From, now)
	return m, ps.err()
}

// AttachRequest attaches an organization to one grid (grid) or several
// (grids) from from (default now).
type AttachRequest struct {
	Grid  string   `json:"grid"`
	Grids []string `json:"grids"`
	From  string   `json:"from"`
}

// NewAttachment is a checked AttachRequest: the grids, each current and
// named once, and when the attachments start.
type NewAttachment struct {
	Codes []string
	From  time.Time
}

// Check returns the attachments r asks for at now, every grid one of
// snap's. A wrong code is located as "grid", or "grids[i]".
func (r AttachRequest) Check(snap *Snapshot, now time.Time) (NewAttachment, error) {
	var ps problemList
	a := NewAttachment{Codes: r.Grids}
	field := "grids"
	switch {
	case r.Grid != "" && r.Grids != nil:
		ps.add("grid", "give grid or grids, not both")
		a.Codes = nil
	case r.Grid != "":
		field, a.Codes = "grid", []string{r.Grid}
	case len(r.Grids) == 0:
		ps.add("grids", "required: the codes of the grids to attach")
	}
	seen := make(map[string]bool, len(a.Codes))
	for i, code := range a.Codes {
		where := field
		if field == "grids" {
			where = fmt.Sprintf("grids[%d]", i)
		}
		switch _, ok := snap.Grid(code); {
		case ValidateGridCode(code, "") != nil:
			ps.add(where, "got %q, want a 15-digit grid code", Clip(code))
		case !ok:
			ps.add(where, "no grid %s in generation %d", code, snap.Generation)
		case seen[code]:
			ps.add(where, "grid %s is named twice", code)
		}
		seen[code] = true
	}
	a.From = ps.time("from", r.From, now)
	return a, ps.err()
}

// EndRequest is when a membership or an attachment ends (default now).
type EndRequest struct {
	To string `json:"to"`
}

// Check returns the end r asks for at now.
func (r EndRequest) Check(now time.Time) (time.Time, error) {
	var ps problemList
	to := ps.time("to", r.To, now)
	return to, ps.err()
}

// orgKind records at "kind" an unknown organization kind.
func (ps *problemList) orgKind(raw string) OrgKind {
	if k := OrgKind(raw); !k.WellFormed() {
		ps.add("kind", "got %q, want a kind of the town's catalogue (GET /v1/organization-kinds), e.g. %v", Clip(raw), OrgKinds)
	}
	return OrgKind(raw)
}

// orgName trims an organization's name and records at "name" one that is
// empty or too long.
func (ps *problemList) orgName(raw string) string {
	name := strings.TrimSpace(raw)
	if name == "" || utf8.RuneCountInString(name) > MaxOrgName {
		ps.add("name", "required, at most %d characters", MaxOrgName)
	}
	return name
}

// village records at "village" a code that is not a village of snap.
func (ps *problemList) village(snap *Snapshot, code string) string {
	if ValidateVillageCode(code) != nil {
		ps.add("village", "got %q, want a 12-digit village code", Clip(code))
	} else if _, ok := snap.Village(code); !ok {
		ps.add("village", "no village %s in the town", code)
	}
	return code
}

// contact checks an organization's contact (nil: nobody): a name, and a
// phone if any.
func (ps *problemList) contact(c *ContactJSON) *Contact {
	if c == nil {
		return nil
	}
	name := strings.TrimSpace(c.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxContactName {
		ps.add("contact.name", "required with a contact, at most %d characters", MaxContactName)
	}
	phone, _ := ps.phone("contact.phone", c.Phone)
	return &Contact{Name: name, Phone: phone}
}
