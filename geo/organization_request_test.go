package geo_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// The town of these tests is oneGridTown: village 431321101201 with grid
// 431321101201001, generation 1.
const (
	reqVillage = "431321101201"
	reqGrid    = "431321101201001"
)

func TestOrganizationRequest_Check(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	ok := geo.OrganizationRequest{Kind: "mediation", Name: " 一村调解会 ", Village: reqVillage}
	tests := []struct {
		name  string
		in    geo.OrganizationRequest
		where []string
	}{
		{"fine", ok, nil},
		{"with a contact", changed(ok, func(r *geo.OrganizationRequest) {
			r.Contact = &geo.ContactJSON{Name: "李会长", Phone: "139 0000 1234"}
		}), nil},
		{"a contact without a phone", changed(ok, func(r *geo.OrganizationRequest) { r.Contact = &geo.ContactJSON{Name: "李会长"} }), nil},
		{"unknown kind", changed(ok, func(r *geo.OrganizationRequest) { r.Kind = "Choir!" }), []string{"kind"}},
		{"no name", changed(ok, func(r *geo.OrganizationRequest) { r.Name = "  " }), []string{"name"}},
		{"name too long", changed(ok, func(r *geo.OrganizationRequest) { r.Name = strings.Repeat("会", 101) }), []string{"name"}},
		{"malformed village", changed(ok, func(r *geo.OrganizationRequest) { r.Village = "4313" }), []string{"village"}},
		{"village not in the town", changed(ok, func(r *geo.OrganizationRequest) { r.Village = "431321101299" }), []string{"village"}},
		{"contact without name", changed(ok, func(r *geo.OrganizationRequest) { r.Contact = &geo.ContactJSON{Phone: "13900001111"} }), []string{"contact.name"}},
		{"contact with a bad phone", changed(ok, func(r *geo.OrganizationRequest) { r.Contact = &geo.ContactJSON{Name: "李", Phone: "12345"} }), []string{"contact.phone"}},
		{"everything wrong", geo.OrganizationRequest{Kind: "Choir!", Village: "4313", Contact: &geo.ContactJSON{Phone: "1"}},
			[]string{"kind", "name", "village", "contact.name", "contact.phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.in.Check(snap)
			checkWheres(t, err, tt.where...)
			if err != nil {
				return
			}
			if o.Kind != geo.OrgKind(tt.in.Kind) || o.Name != strings.TrimSpace(tt.in.Name) || o.VillageCode != tt.in.Village {
				t.Errorf("got %+v from %+v", o, tt.in)
			}
			if (o.Contact == nil) != (tt.in.Contact == nil) || o.Contact != nil && (o.Contact.Name != "李会长" || strings.Contains(o.Contact.Phone, " ")) {
				t.Errorf("contact %+v from %+v", o.Contact, tt.in.Contact)
			}
		})
	}
}

func TestOrganizationPatch_Check(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	tests := []struct {
		name  string
		body  string
		want  geo.OrganizationUpdate
		where []string
	}{
		{"kind and name", `{"kind":"other","name":" 新名 "}`, geo.OrganizationUpdate{Kind: ref(geo.OrgOther), Name: ref("新名")}, nil},
		{"village", `{"village":"` + reqVillage + `"}`, geo.OrganizationUpdate{VillageCode: ref(reqVillage)}, nil},
		{"remove the contact", `{"contact":null}`, geo.OrganizationUpdate{SetContact: true}, nil},
		{"set the contact", `{"contact":{"name":"王","phone":"13900001111"}}`, geo.OrganizationUpdate{SetContact: true, Contact: &geo.Contact{Name: "王", Phone: "13900001111"}}, nil},
		{"end now", `{"status":"ended"}`, geo.OrganizationUpdate{End: requestNow}, nil},
		{"end on a date", `{"ended_at":"2026-11-01"}`, geo.OrganizationUpdate{End: time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)}, nil},
		{"end on a date, saying so", `{"status":"ended","ended_at":"2026-11-01"}`, geo.OrganizationUpdate{End: time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)}, nil},
		{"reopen", `{"status":"active"}`, geo.OrganizationUpdate{Reopen: true}, nil},
		{"nothing", `{}`, geo.OrganizationUpdate{}, []string{"body"}},
		{"unknown kind", `{"kind":"Choir!"}`, geo.OrganizationUpdate{}, []string{"kind"}},
		{"blank name", `{"name":""}`, geo.OrganizationUpdate{}, []string{"name"}},
		{"village not in the town", `{"village":"431321101299"}`, geo.OrganizationUpdate{}, []string{"village"}},
		{"contact not an object", `{"contact":"王"}`, geo.OrganizationUpdate{}, []string{"contact"}},
		{"contact with an unknown member", `{"contact":{"name":"王","email":"w@example.com"}}`, geo.OrganizationUpdate{}, []string{"contact"}},
		{"contact with a bad phone", `{"contact":{"name":"王","phone":"0738"}}`, geo.OrganizationUpdate{}, []string{"contact.phone"}},
		{"unknown status", `{"status":"paused"}`, geo.OrganizationUpdate{}, []string{"status"}},
		{"empty status", `{"status":""}`, geo.OrganizationUpdate{}, []string{"status"}},
		{"active with ended_at", `{"status":"active","ended_at":"2026-01-01"}`, geo.OrganizationUpdate{}, []string{"ended_at"}},
		{"ended at no time", `{"ended_at":"yesterday"}`, geo.OrganizationUpdate{}, []string{"ended_at"}},
		{"everything wrong", `{"kind":"Choir!","name":" ","village":"1","contact":{"phone":"x"},"status":"paused"}`, geo.OrganizationUpdate{},
			[]string{"kind", "name", "village", "contact.name", "contact.phone", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r geo.OrganizationPatch
			if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			u, err := r.Check(snap, requestNow)
			checkWheres(t, err, tt.where...)
			if err == nil && fmt.Sprint(updateText(u)) != fmt.Sprint(updateText(tt.want)) {
				t.Errorf("got %s, want %s", updateText(u), updateText(tt.want))
			}
		})
	}
}

// updateText spells u out, pointers followed.
func updateText(u geo.OrganizationUpdate) string {
	s := fmt.Sprintf("end %v reopen %v set contact %v", u.End.UTC(), u.Reopen, u.SetContact)
	if u.Kind != nil {
		s += " kind " + string(*u.Kind)
	}
	if u.Name != nil {
		s += " name " + *u.Name
	}
	if u.VillageCode != nil {
		s += " village " + *u.VillageCode
	}
	if u.Contact != nil {
		s += fmt.Sprintf(" contact %+v", *u.Contact)
	}
	return s
}

func TestMemberRequest_Check(t *testing.T) {
	tomorrow := requestNow.Add(24 * time.Hour)
	tests := []struct {
		name  string
		in    geo.MemberRequest
		want  geo.NewMember
		where []string
	}{
		{"by id, a member from now", geo.MemberRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](3)}},
			geo.NewMember{PersonID: 3, Role: geo.MemberMember, From: requestNow}, nil},
		{"by name, the chair from tomorrow", geo.MemberRequest{PersonRef: geo.PersonRef{Name: "张 三", Phone: "139 0000 8001"}, Role: "chair", From: tomorrow.Format(time.RFC3339)},
			geo.NewMember{Name: "张三", Phone: "13900008001", Role: geo.MemberChair, From: tomorrow}, nil},
		{"bad role", geo.MemberRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](3)}, Role: "boss"}, geo.NewMember{}, []string{"role"}},
		{"both ways", geo.MemberRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](1), Name: "赵六"}}, geo.NewMember{}, []string{"person_id"}},
		{"id zero", geo.MemberRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](0)}}, geo.NewMember{}, []string{"person_id"}},
		{"no name", geo.MemberRequest{PersonRef: geo.PersonRef{Phone: "13900001111"}}, geo.NewMember{}, []string{"name"}},
		{"bad phone", geo.MemberRequest{PersonRef: geo.PersonRef{Name: "赵六", Phone: "0738"}}, geo.NewMember{}, []string{"phone"}},
		{"bad from", geo.MemberRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](3)}, From: "2026-13-01"}, geo.NewMember{}, []string{"from"}},
		{"everything wrong", geo.MemberRequest{PersonRef: geo.PersonRef{Name: "赵六"}, Role: "boss", From: "soon"}, geo.NewMember{}, []string{"role", "phone", "from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.in.Check(requestNow)
			checkWheres(t, err, tt.where...)
			if err == nil && m != tt.want {
				t.Errorf("got %+v, want %+v", m, tt.want)
			}
		})
	}
}

func TestAttachRequest_Check(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	tests := []struct {
		name  string
		in    geo.AttachRequest
		want  geo.NewAttachment
		where []string
	}{
		{"one grid", geo.AttachRequest{Grid: reqGrid}, geo.NewAttachment{Codes: []string{reqGrid}, From: requestNow}, nil},
		{"a list, from a date", geo.AttachRequest{Grids: []string{reqGrid}, From: "2026-11-01"},
			geo.NewAttachment{Codes: []string{reqGrid}, From: time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)}, nil},
		{"grid and grids", geo.AttachRequest{Grid: reqGrid, Grids: []string{reqGrid}}, geo.NewAttachment{}, []string{"grid"}},
		{"nothing", geo.AttachRequest{}, geo.NewAttachment{}, []string{"grids"}},
		{"an empty list", geo.AttachRequest{Grids: []string{}}, geo.NewAttachment{}, []string{"grids"}},
		{"one unknown grid", geo.AttachRequest{Grid: "431321101201009"}, geo.NewAttachment{}, []string{"grid"}},
		{"a malformed, an unknown and a repeated code", geo.AttachRequest{Grids: []string{reqGrid, "42", "431321101202009", reqGrid}},
			geo.NewAttachment{}, []string{"grids[1]", "grids[2]", "grids[3]"}},
		{"a bad code and a bad from", geo.AttachRequest{Grids: []string{"x"}, From: "soon"}, geo.NewAttachment{}, []string{"grids[0]", "from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.in.Check(snap, requestNow)
			checkWheres(t, err, tt.where...)
			if err == nil && (!slices.Equal(a.Codes, tt.want.Codes) || !a.From.Equal(tt.want.From)) {
				t.Errorf("got %+v, want %+v", a, tt.want)
			}
		})
	}
}

func TestEndRequest_Check(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.EndRequest
		want  time.Time
		where []string
	}{
		{"now", geo.EndRequest{}, requestNow, nil},
		{"a date", geo.EndRequest{To: "2026-11-01"}, time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), nil},
		{"a time", geo.EndRequest{To: "2026-11-01T10:00:00+08:00"}, time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), nil},
		{"no time", geo.EndRequest{To: "soon"}, time.Time{}, []string{"to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, err := tt.in.Check(requestNow)
			checkWheres(t, err, tt.where...)
			if err == nil && !to.Equal(tt.want) {
				t.Errorf("got %v, want %v", to, tt.want)
			}
		})
	}
}
