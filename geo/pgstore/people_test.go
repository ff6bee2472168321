package pgstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestPeopleStore_notifies: every write of the people store announces the
// current generation on the registry's channel, so that other replicas
// reload; a refused write announces nothing.
func TestPeopleStore_notifies(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	gen, err := db.ImportTown(ctx, smallTown(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{pgstore.NotifyChannel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		n, err := conn.Conn().WaitForNotification(wctx)
		if err != nil {
			return ""
		}
		return n.Payload
	}
	now := time.Now().UTC().Add(time.Minute)
	want := strconv.FormatInt(gen, 10)
	p, err := db.CreatePerson(ctx, geo.NewPerson{Name: "王五", Phone: "13900008888"}, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	if got := next(); got != want {
		t.Errorf("after CreatePerson: notification %q, want %q", got, want)
	}
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleDeputy, GridCode: "431321101201001", PersonID: p.ID, From: now}, "test", now); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != want {
		t.Errorf("after Appoint: notification %q, want %q", got, want)
	}
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleDeputy, GridCode: "431321101201009", PersonID: p.ID, From: now}, "test", now); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown grid: %v, want ENOTFOUND", err)
	}
	if got := next(); got != "" {
		t.Errorf("a refused appointment notified %q", got)
	}
	if _, err := db.AddLeave(ctx, p.ID, geo.Leave{Period: geo.Period{From: now, To: now.Add(time.Hour)}}, "test", now); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != want {
		t.Errorf("after AddLeave: notification %q, want %q", got, want)
	}
}

// TestPeopleStore_leavingEndsEverything: a person who leaves is ended, not
// deleted, and every assignment and organization membership they hold ends
// the same instant.
func TestPeopleStore_leavingEndsEverything(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second).Add(time.Minute)
	res, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleLiaisonLeader, VillageCode: "431321101201", Name: "联村组长", Phone: "13900000100", From: t0}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Assignment.Person.ID
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleMember, GridCode: "431321101201001", PersonID: id, From: t0}, "test", t0); err != nil {
		t.Fatal(err)
	}
	orgs, err := db.Organizations(ctx, geo.OrganizationFilter{VillageCode: "431321101201", At: t0})
	if err != nil || len(orgs) == 0 {
		t.Fatalf("organizations: %v %v", orgs, err)
	}
	if _, err := db.AddMember(ctx, orgs[0].ID, geo.NewMember{PersonID: id, Role: geo.MemberMember, From: t0}, "test", t0); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(time.Hour)
	p, err := db.UpdatePerson(ctx, id, geo.PersonUpdate{End: end}, "test", end)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status() != geo.PersonLeft || len(p.Roles) != 0 || len(p.History) != 2 {
		t.Errorf("after leaving: %+v", p)
	}
	for _, a := range p.History {
		if !a.To.Equal(end) {
			t.Errorf("assignment %+v ends at %v, want %v", a, a.To, end)
		}
	}
	members, err := db.Members(ctx, orgs[0].ID, end)
	if err != nil || len(members) != 0 {
		t.Errorf("members after leaving: %+v %v", members, err)
	}
	if members, _ := db.Members(ctx, orgs[0].ID, end.Add(-time.Second)); len(members) != 1 {
		t.Errorf("members just before leaving: %+v", members)
	}
	for _, u := range []geo.PersonUpdate{{End: end.Add(time.Hour)}, {StayActive: true}} {
		if _, err := db.UpdatePerson(ctx, id, u, "test", end); geo.ErrorCode(err) != geo.ECONFLICT {
			t.Errorf("%+v on a person who left: %v, want ECONFLICT", u, err)
		}
	}
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleDeputy, GridCode: "431321101201001", PersonID: id, From: end.Add(time.Minute)}, "test", end); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("appointing a person who left: %v, want ECONFLICT", err)
	}
	if _, err := db.AddLeave(ctx, id, geo.Leave{Period: geo.Period{From: end, To: end.Add(time.Hour)}}, "test", end); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("leave after leaving: %v, want ECONFLICT", err)
	}
}

// TestImportRoster_gridNames: grid names repeat across villages (each
// village has a 第1网格), so a name alone is ambiguous and the village
// column settles it, by name or by code.
func TestImportRoster_gridNames(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	td := smallTown()
	for i := range td.Grids {
		td.Grids[i].Name = "第" + td.Grids[i].Code[14:] + "网格"
	}
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Add(time.Minute)
	row := func(line int, village, grid, role string) geo.RosterRow {
		return geo.RosterRow{Line: line, Values: map[geo.RosterField]string{geo.RosterName: "王五", geo.RosterPhone: "13900008888",
			geo.RosterVillage: village, geo.RosterGridName: grid, geo.RosterRole: role}}
	}
	r, err := db.ImportRoster(ctx, []geo.RosterRow{
		row(2, "", "第1网格", "网格员"),
		row(3, "村2", "第1网格", "网格员"),
		row(4, "431321101201", "第1网格", "网格员"),
		row(5, "村9", "第1网格", "网格员"),
		row(6, "村1", "", "联村工作组组长"),
	}, false, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"grid_name", "", "", "village", ""}
	for i, w := range want {
		got := ""
		if len(r.Rows[i].Errors) > 0 {
			got = string(r.Rows[i].Errors[0].Field)
		}
		if got != w {
			t.Errorf("row %d: errors %+v, want field %q", r.Rows[i].Line, r.Rows[i].Errors, w)
		}
	}
	if r.Rows[1].GridCode != "431321101202001" || r.Rows[2].GridCode != "431321101201001" || r.Rows[4].VillageCode != "431321101201" {
		t.Errorf("resolved %+v", r.Rows)
	}
	if r.Applied {
		t.Error("a roster with errors was applied")
	}
}
