package geo_test

import (
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

func ref[T any](v T) *T { return &v }

func TestNewPerson_Check(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.NewPerson
		want  geo.NewPerson
		where []string
	}{
		{"normalised", geo.NewPerson{Name: " 张　三 ", Phone: "+86 139 0000 1234"}, geo.NewPerson{Name: "张三", Phone: "13900001234"}, nil},
		{"a landline", geo.NewPerson{Name: "值班室", Phone: "0738-6812345"}, geo.NewPerson{Name: "值班室", Phone: "0738-6812345"}, nil},
		{"no name", geo.NewPerson{Name: "　", Phone: "13900001234"}, geo.NewPerson{}, []string{"name"}},
		{"name too long", geo.NewPerson{Name: strings.Repeat("名", 34), Phone: "13900001234"}, geo.NewPerson{}, []string{"name"}},
		{"no phone", geo.NewPerson{Name: "张三"}, geo.NewPerson{}, []string{"phone"}},
		{"not a phone", geo.NewPerson{Name: "张三", Phone: "12345"}, geo.NewPerson{}, []string{"phone"}},
		{"both wrong", geo.NewPerson{Phone: "110"}, geo.NewPerson{}, []string{"name", "phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.in
			err := p.Check()
			checkWheres(t, err, tt.where...)
			if err == nil && p != tt.want {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestPersonPatch_Check(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.PersonPatch
		want  geo.PersonUpdate
		where []string
	}{
		{"nothing", geo.PersonPatch{}, geo.PersonUpdate{}, nil},
		{"name and phone", geo.PersonPatch{Name: ref("李 四"), Phone: ref("139 0000 1234")},
			geo.PersonUpdate{Name: ref("李四"), Phone: ref("13900001234")}, nil},
		{"left now", geo.PersonPatch{Status: ref("left")}, geo.PersonUpdate{End: requestNow}, nil},
		{"left on a date", geo.PersonPatch{Status: ref("left"), EndedAt: ref("2026-11-22")},
			geo.PersonUpdate{End: time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC)}, nil},
		{"still active", geo.PersonPatch{Status: ref("active")}, geo.PersonUpdate{StayActive: true}, nil},
		{"blank name", geo.PersonPatch{Name: ref(" ")}, geo.PersonUpdate{}, []string{"name"}},
		{"blank phone", geo.PersonPatch{Phone: ref("")}, geo.PersonUpdate{}, []string{"phone"}},
		{"not a phone", geo.PersonPatch{Phone: ref("not a phone")}, geo.PersonUpdate{}, []string{"phone"}},
		{"leaving in the future", geo.PersonPatch{Status: ref("left"), EndedAt: ref(requestNow.Add(time.Hour).Format(time.RFC3339))}, geo.PersonUpdate{}, []string{"ended_at"}},
		{"leaving at no time", geo.PersonPatch{Status: ref("left"), EndedAt: ref("soon")}, geo.PersonUpdate{}, []string{"ended_at"}},
		{"ended_at without status", geo.PersonPatch{EndedAt: ref("2026-11-22")}, geo.PersonUpdate{}, []string{"ended_at"}},
		{"ended_at while active", geo.PersonPatch{Status: ref("active"), EndedAt: ref("2026-11-22")}, geo.PersonUpdate{}, []string{"ended_at"}},
		{"unknown status", geo.PersonPatch{Status: ref("retired")}, geo.PersonUpdate{}, []string{"status"}},
		{"everything wrong", geo.PersonPatch{Name: ref(""), Phone: ref("110"), Status: ref("retired")}, geo.PersonUpdate{}, []string{"name", "phone", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.in.Check(requestNow)
			checkWheres(t, err, tt.where...)
			if err != nil {
				return
			}
			if deref(u.Name) != deref(tt.want.Name) || deref(u.Phone) != deref(tt.want.Phone) || (u.Name == nil) != (tt.want.Name == nil) ||
				!u.End.Equal(tt.want.End) || u.StayActive != tt.want.StayActive {
				t.Errorf("got %+v, want %+v", u, tt.want)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestAppointmentRequest_Check(t *testing.T) {
	scope := geo.Appointment{Role: geo.RoleLeader, GridCode: "431321101201001"}
	yesterday := requestNow.Add(-24 * time.Hour)
	tests := []struct {
		name  string
		in    geo.AppointmentRequest
		want  geo.Appointment
		where []string
	}{
		{"by id, now", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](7)}},
			geo.Appointment{Role: geo.RoleLeader, GridCode: "431321101201001", PersonID: 7, From: requestNow}, nil},
		{"by name and phone, yesterday", geo.AppointmentRequest{PersonRef: geo.PersonRef{Name: "张 三", Phone: "13900001234"}, From: yesterday.Format(time.RFC3339)},
			geo.Appointment{Role: geo.RoleLeader, GridCode: "431321101201001", Name: "张三", Phone: "13900001234", From: yesterday}, nil},
		{"id and name", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](7), Name: "张三"}}, geo.Appointment{}, []string{"person_id"}},
		{"id zero", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](0)}}, geo.Appointment{}, []string{"person_id"}},
		{"id negative", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](-1)}}, geo.Appointment{}, []string{"person_id"}},
		{"nobody", geo.AppointmentRequest{}, geo.Appointment{}, []string{"name", "phone"}},
		{"bad phone", geo.AppointmentRequest{PersonRef: geo.PersonRef{Name: "甲", Phone: "110"}}, geo.Appointment{}, []string{"phone"}},
		{"from no time", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](7)}, From: "monday"}, geo.Appointment{}, []string{"from"}},
		{"from tomorrow", geo.AppointmentRequest{PersonRef: geo.PersonRef{PersonID: ref[int64](7)}, From: requestNow.Add(24 * time.Hour).Format(time.RFC3339)}, geo.Appointment{}, []string{"from"}},
		{"no phone and a bad from", geo.AppointmentRequest{PersonRef: geo.PersonRef{Name: "甲"}, From: "2026-13-01"}, geo.Appointment{}, []string{"phone", "from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.in.Check(scope, requestNow)
			checkWheres(t, err, tt.where...)
			if err == nil && a != tt.want {
				t.Errorf("got %+v, want %+v", a, tt.want)
			}
		})
	}
}

func TestLeaveRequest_Check(t *testing.T) {
	tests := []struct {
		name     string
		in       geo.LeaveRequest
		from, to time.Time
		where    []string
	}{
		{"dates", geo.LeaveRequest{From: "2026-12-01", To: "2026-12-05", Note: " 病假 "},
			time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), nil},
		{"times", geo.LeaveRequest{From: "2026-12-01T08:00:00+08:00", To: "2026-12-01T12:00:00+08:00"},
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC), nil},
		{"nothing", geo.LeaveRequest{}, time.Time{}, time.Time{}, []string{"from", "to"}},
		{"no to", geo.LeaveRequest{From: "2026-12-01"}, time.Time{}, time.Time{}, []string{"to"}},
		{"bad from", geo.LeaveRequest{From: "next monday", To: "2026-12-05"}, time.Time{}, time.Time{}, []string{"from"}},
		{"to before from", geo.LeaveRequest{From: "2026-12-05", To: "2026-12-01"}, time.Time{}, time.Time{}, []string{"to"}},
		{"empty period", geo.LeaveRequest{From: "2026-12-05", To: "2026-12-05"}, time.Time{}, time.Time{}, []string{"to"}},
		{"three years", geo.LeaveRequest{From: "2027-01-01", To: "2030-01-01"}, time.Time{}, time.Time{}, []string{"to"}},
		{"long note", geo.LeaveRequest{From: "2026-12-01", To: "2026-12-05", Note: strings.Repeat("x", 1001)}, time.Time{}, time.Time{}, []string{"note"}},
		{"everything wrong", geo.LeaveRequest{From: "soon", Note: strings.Repeat("x", 1001)}, time.Time{}, time.Time{}, []string{"from", "to", "note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.in.Check()
			checkWheres(t, err, tt.where...)
			if err == nil && (!l.From.Equal(tt.from) || !l.To.Equal(tt.to) || l.Note != strings.TrimSpace(tt.in.Note)) {
				t.Errorf("got %+v, want [%v, %v) %q", l, tt.from, tt.to, strings.TrimSpace(tt.in.Note))
			}
		})
	}
}
