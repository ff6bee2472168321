package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// TestStructure_historyAndSnapshot: the district secretary and the team
// covering a village at a past date come from the record, in the store's
// answers and in the snapshot loaded for that date; a person who left
// holds no seat after; overlapping seats are refused.
func TestStructure_historyAndSnapshot(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	lastYear, t1, t2 := now.AddDate(-1, 0, 0), now.Add(-2*time.Hour), now.Add(-time.Hour)
	seat := func(a geo.SeatAppointment) *geo.SeatResult {
		t.Helper()
		res, err := db.AppointSeat(ctx, a, "test", now)
		if err != nil {
			t.Fatalf("seating %+v: %v", a, err)
		}
		return res
	}
	a := seat(geo.SeatAppointment{Role: geo.SeatSecretary, TownCode: "431321101", District: "01", Name: "书记甲", Phone: "13700000001", From: lastYear})
	b := seat(geo.SeatAppointment{Role: geo.SeatSecretary, TownCode: "431321101", District: "01", Name: "书记乙", Phone: "13700000002", From: t1})
	if len(b.Ended) != 1 || b.Ended[0].Person.ID != a.Seat.Person.ID || !b.Ended[0].To.Equal(t1) {
		t.Errorf("the second secretary ended %+v", b.Ended)
	}
	if _, err := db.AppointSeat(ctx, geo.SeatAppointment{Role: geo.SeatSecretary, TownCode: "431321101", District: "01", Name: "书记丙", Phone: "13700000003",
		From: lastYear.Add(time.Hour)}, "test", now); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("a back-dated secretary inside the record: %v, want ECONFLICT", err)
	}
	if _, err := db.AppointSeat(ctx, geo.SeatAppointment{Role: geo.SeatSecretary, TownCode: "431321101", District: "09", Name: "书记丙", Phone: "13700000003",
		From: now}, "test", now); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("an unknown district: %v, want ENOTFOUND", err)
	}
	if _, err := db.AppointSeat(ctx, geo.SeatAppointment{Role: geo.SeatMember, TownCode: "431321101", District: "01", PersonID: 987654, From: now},
		"test", now); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("an unknown person: %v, want EINVALID", err)
	}
	d, err := db.District(ctx, "431321101", "01", lastYear.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	if d.Secretary == nil || d.Secretary.Person.Name != "书记甲" || len(d.History) != 2 || len(d.Villages) != 2 {
		t.Errorf("the district half a year ago: %+v", d)
	}

	team, err := db.CreateTeam(ctx, geo.NewTeam{Town: "431321101", Kind: "liaison", Name: "联村一组"}, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateTeam(ctx, geo.NewTeam{Town: "431321101", Kind: "resident", Name: "驻村二组"}, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CoverVillage(ctx, team.ID, "431321101201", lastYear, "test", now); err != nil {
		t.Fatal(err)
	}
	if _, ended, err := db.CoverVillage(ctx, other.ID, "431321101201", t2, "test", now); err != nil || len(ended) != 1 || ended[0].TeamID != team.ID {
		t.Fatalf("moving the village: %+v, %v", ended, err)
	}
	if _, _, err := db.CoverVillage(ctx, other.ID, "431321101201", now, "test", now); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("covering again: %v, want ECONFLICT", err)
	}
	seat(geo.SeatAppointment{Role: geo.SeatLeader, TeamID: team.ID, Name: "组长甲", Phone: "13700000011", From: lastYear})
	member := seat(geo.SeatAppointment{Role: geo.SeatMember, TeamID: other.ID, Name: "组员乙", Phone: "13700000012", From: t2})
	if _, err := db.AppointSeat(ctx, geo.SeatAppointment{Role: geo.SeatSecretary, TeamID: other.ID, PersonID: member.Seat.Person.ID, From: now}, "test", now); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("a secretary of a team: %v, want EINVALID", err)
	}
	cov, err := db.VillageTeams(ctx, "431321101201")
	if err != nil {
		t.Fatal(err)
	}
	if c := geo.TeamAt(cov, lastYear.AddDate(0, 6, 0)); c == nil || c.TeamID != team.ID {
		t.Errorf("the team half a year ago: %+v", c)
	}
	if c := geo.TeamAt(cov, now); c == nil || c.TeamID != other.ID {
		t.Errorf("the team now: %+v", c)
	}

	// The snapshot of half a year ago, and of now.
	old, _, err := db.LoadArea(ctx, 0, lastYear.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s := old.Towns[0].Districts[0].Secretary; s == nil || s.Name != "书记甲" {
		t.Errorf("the secretary half a year ago: %+v", s)
	}
	if w := old.Villages[0].WorkTeam; w == nil || w.ID != team.ID || w.Leader == nil || w.Leader.Name != "组长甲" {
		t.Errorf("the team half a year ago: %+v", w)
	}
	cur, _, err := db.LoadArea(ctx, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if s := cur.Towns[0].Districts[0].Secretary; s == nil || s.Name != "书记乙" {
		t.Errorf("the secretary now: %+v", s)
	}
	if w := cur.Villages[0].WorkTeam; w == nil || w.ID != other.ID || w.Leader != nil || cur.Villages[1].WorkTeam != nil {
		t.Errorf("the teams now: %+v, %+v", w, cur.Villages[1].WorkTeam)
	}

	// A team member signed in answers for the team's village.
	scope, err := db.PersonScope(ctx, member.Seat.Person.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if !scope.HoldsRole() || len(scope.VillageCodes()) != 1 || scope.VillageCodes()[0] != "431321101201" {
		t.Errorf("the member's scope: %+v", scope.Roles)
	}
	// The district secretary answers for the district's villages.
	scope, err = db.PersonScope(ctx, b.Seat.Person.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(scope.VillageCodes()) != 2 || scope.Roles[0].Role != geo.RoleDistrictSecretary {
		t.Errorf("the secretary's scope: %+v", scope.Roles)
	}
	// Disbanding the team ends the member's seat and scope.
	if _, err := db.UpdateTeam(ctx, other.ID, geo.TeamUpdate{End: now}, "test", now); err != nil {
		t.Fatal(err)
	}
	scope, err = db.PersonScope(ctx, member.Seat.Person.ID, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if scope.HoldsRole() {
		t.Errorf("after disbanding, the member still holds %+v", scope.Roles)
	}
}

// TestStructure_seedDemoTown: the demo town's structure (make fixtures)
// loads into the demo town once: every 片区 has its secretary and every
// village its team's leader, and a village without its liaison leader
// falls to that leader.
func TestStructure_seedDemoTown(t *testing.T) {
	db, _ := loadDemo(t)
	ctx := context.Background()
	s, err := fixtures.HeyeStructure()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if ok, err := db.SeedStructure(ctx, s, now, "demo"); err != nil || !ok {
		t.Fatalf("seeding: %v, %v", ok, err)
	}
	if ok, err := db.SeedStructure(ctx, s, now, "demo"); err != nil || ok {
		t.Fatalf("seeding again: %v, %v; want nothing loaded", ok, err)
	}
	area, gen, err := db.LoadArea(ctx, 0, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range area.Towns[0].Districts {
		if d.Secretary == nil {
			t.Errorf("district %s has no secretary", d.Code)
		}
	}
	for _, v := range area.Villages {
		if v.WorkTeam == nil || v.WorkTeam.Leader == nil {
			t.Errorf("village %s has no team leader", v.Code)
		}
	}
	area.Villages[0].LiaisonLeader = nil
	snap, err := geo.NewSnapshot(gen, area, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range snap.Grids {
		if g.VillageCode != area.Villages[0].Code {
			continue
		}
		if a, ok := snap.Assign("", &g, geo.LevelVillage, now); !ok || a.Role != geo.RoleTeamLeader {
			t.Errorf("grid %s at the village level: %+v, want the team leader", g.Code, a)
		}
		break
	}
}
