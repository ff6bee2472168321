package geo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// structureTown is oneGridTown with a 片区 "01" (secretary staffed as
// given) holding the village, and a work team covering it (leader staffed
// as given; no team at all when team is false).
func structureTown(t *testing.T, leader, liaison, teamLeader, secretary staff, team, desk bool) *geo.Snapshot {
	t.Helper()
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.01, 27.01),
		Districts: []geo.District{{Code: "01", Name: "第一片区", Secretary: contact(secretary, "片区书记")}}},
		Villages: []geo.Village{{Code: "431321101201", Name: "一村", DistrictCode: "01", Outline: square(112, 27, 112.01, 27.01),
			LiaisonLeader: contact(liaison, "联村组长")}},
		Grids: []geo.GridRecord{{Grid: geo.Grid{Code: "431321101201001", Name: "网格1", VillageCode: "431321101201",
			Geometry: square(112, 27, 112.01, 27.01)}, Leader: contact(leader, "网格长")}}}
	if team {
		td.Villages[0].WorkTeam = &geo.TeamOnDuty{ID: 7, Name: "一村联村工作组", Kind: geo.TeamLiaison, Leader: contact(teamLeader, "工作组组长")}
	}
	if desk {
		td.Town.DutyDesk = &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}
	}
	snap, err := geo.NewSnapshot(1, td.Area(), dispatchNow)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestAssign_teamLeaderTakesTheVillageStep: a village without a liaison
// leader on duty falls to the leader of the team covering it, at the
// village level; without a team (or its leader away) the chain reads as
// before.
func TestAssign_teamLeaderTakesTheVillageStep(t *testing.T) {
	states := []staff{absent, onLeave, present}
	for _, liaison := range states {
		for _, tl := range states {
			for _, team := range []bool{false, true} {
				name := fmt.Sprintf("liaison %v, team %v, team leader %v", liaison, team, tl)
				snap := structureTown(t, absent, liaison, tl, present, team, true)
				g, _ := snap.Grid("431321101201001")
				a, ok := snap.Assign("", g, geo.LevelGrid, dispatchNow)
				want, wantLevel := geo.RoleDutyDesk, geo.LevelTown
				switch {
				case liaison == present:
					want, wantLevel = geo.RoleLiaisonLeader, geo.LevelVillage
				case team && tl == present:
					want, wantLevel = geo.RoleTeamLeader, geo.LevelVillage
				}
				if !ok || a.Role != want || a.Level != wantLevel {
					t.Errorf("%s: got %q at %d (ok %v), want %q at %d", name, a.Role, a.Level, ok, want, wantLevel)
				}
				if want == geo.RoleTeamLeader && !strings.Contains(a.Reason, "work team leader (一村联村工作组)") {
					t.Errorf("%s: reason %q does not name the team", name, a.Reason)
				}
				if !team && strings.Contains(a.Reason, "team") {
					t.Errorf("%s: reason %q speaks of a team the village does not have", name, a.Reason)
				}
				// The district is never a step of the fallback chain
				// itself: only escalation goes through it.
				if a.Role == geo.RoleDistrictSecretary {
					t.Errorf("%s: the fallback chain went to the district secretary", name)
				}
			}
		}
	}
}

// TestEscalate_throughDistrict: with ViaDistrict, an incident at the
// village goes to the 片区's secretary, then to the town; without it,
// straight to the town, as always. A secretary who is away is skipped; a
// secretary's incident escalates to the desk even if the setting is
// turned off meanwhile, and the desk has nowhere higher to go.
func TestEscalate_throughDistrict(t *testing.T) {
	for _, tc := range []struct {
		name      string
		via       bool
		secretary staff
		from      geo.Assignee
		want      geo.Role
		wantLevel geo.Level
		wantOK    bool
	}{
		{"village, via district", true, present, geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage}, geo.RoleDistrictSecretary, geo.LevelTown, true},
		{"team leader, via district", true, present, geo.Assignee{Role: geo.RoleTeamLeader, Level: geo.LevelVillage}, geo.RoleDistrictSecretary, geo.LevelTown, true},
		{"village, not via district", false, present, geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage}, geo.RoleDutyDesk, geo.LevelTown, true},
		{"village, secretary on leave", true, onLeave, geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage}, geo.RoleDutyDesk, geo.LevelTown, true},
		{"village, no secretary", true, absent, geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage}, geo.RoleDutyDesk, geo.LevelTown, true},
		{"secretary, via district", true, present, geo.Assignee{Role: geo.RoleDistrictSecretary, Level: geo.LevelTown}, geo.RoleDutyDesk, geo.LevelTown, true},
		{"secretary, setting turned off", false, present, geo.Assignee{Role: geo.RoleDistrictSecretary, Level: geo.LevelTown}, geo.RoleDutyDesk, geo.LevelTown, true},
		{"desk, via district", true, present, geo.Assignee{Role: geo.RoleDutyDesk, Level: geo.LevelTown}, "", 0, false},
		{"grid, via district", true, present, geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid}, geo.RoleLiaisonLeader, geo.LevelVillage, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := structureTown(t, present, present, present, tc.secretary, true, true)
			d := geo.NewDispatcher(geo.DispatchConfig{}, 0)
			if tc.via {
				cfg := geo.DefaultDispatchConfig()
				cfg.ViaDistrict = true
				d = geo.NewDispatcher(cfg, 0)
			}
			inc := &geo.Incident{Number: "WG1", GridCode: "431321101201001", VillageCode: "431321101201", TownCode: "431321101",
				Status: geo.StDispatched, Assignee: tc.from, DueAt: dispatchNow.Add(-time.Hour)}
			ch, ok := d.Escalate(snap, inc, dispatchNow, "")
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.wantOK, ch.Assignee)
			}
			if !ok {
				return
			}
			if ch.Assignee.Role != tc.want || ch.Assignee.Level != tc.wantLevel {
				t.Errorf("escalated to %q at %d, want %q at %d", ch.Assignee.Role, ch.Assignee.Level, tc.want, tc.wantLevel)
			}
			if tc.want == geo.RoleDistrictSecretary && !strings.Contains(ch.Assignee.Reason, "第一片区") {
				t.Errorf("reason %q does not name the district", ch.Assignee.Reason)
			}
			if tc.secretary == onLeave && tc.want == geo.RoleDutyDesk && !strings.Contains(ch.Assignee.Reason, "district secretary on leave") {
				t.Errorf("reason %q does not say the secretary was skipped", ch.Assignee.Reason)
			}
		})
	}
}

// TestEscalate_gridWithEmptyVillageViaDistrict: from the grid, with no one
// at the village, an escalation through districts stops at the secretary
// before the town.
func TestEscalate_gridWithEmptyVillageViaDistrict(t *testing.T) {
	snap := structureTown(t, present, absent, absent, present, false, true)
	cfg := geo.DefaultDispatchConfig()
	cfg.ViaDistrict = true
	inc := &geo.Incident{Number: "WG1", GridCode: "431321101201001", TownCode: "431321101", Status: geo.StAccepted,
		Assignee: geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid}, DueAt: dispatchNow}
	ch, ok := geo.NewDispatcher(cfg, 0).Escalate(snap, inc, dispatchNow, "")
	if !ok || ch.Assignee.Role != geo.RoleDistrictSecretary {
		t.Fatalf("got %+v ok=%v, want the district secretary", ch.Assignee, ok)
	}
	ch, ok = geo.NewDispatcher(geo.DispatchConfig{}, 0).Escalate(snap, inc, dispatchNow, "")
	if !ok || ch.Assignee.Role != geo.RoleDutyDesk {
		t.Fatalf("without the setting: got %+v ok=%v, want the duty desk", ch.Assignee, ok)
	}
}

// TestStructureRequests: the requests of the structure name the member
// that is wrong.
func TestStructureRequests(t *testing.T) {
	snap := structureTown(t, present, present, present, present, true, true)
	for _, tc := range []struct {
		name  string
		err   error
		where string
	}{
		{"team without name", (&geo.NewTeam{Kind: "liaison"}).Check(snap), "name"},
		{"team of bad kind", (&geo.NewTeam{Name: "x", Kind: "village"}).Check(snap), "kind"},
		{"team of unknown town", (&geo.NewTeam{Name: "x", Town: "431321102"}).Check(snap), "town"},
		{"team of bad town", (&geo.NewTeam{Name: "x", Town: "4313"}).Check(snap), "town"},
		{"patch with nothing", func() error { _, err := geo.TeamPatch{}.Check(dispatchNow); return err }(), "name"},
		{"patch of bad status", func() error { s := "gone"; _, err := geo.TeamPatch{Status: &s}.Check(dispatchNow); return err }(), "status"},
		{"cover without village", func() error { _, _, err := geo.CoverRequest{}.Check(snap, "431321101", dispatchNow); return err }(), "village"},
		{"cover of another town", func() error {
			_, _, err := geo.CoverRequest{Village: "431321102201"}.Check(snap, "431321101", dispatchNow)
			return err
		}(), "village"},
		{"cover of unknown village", func() error {
			_, _, err := geo.CoverRequest{Village: "431321101299"}.Check(snap, "431321101", dispatchNow)
			return err
		}(), "village"},
		{"cover from the future", func() error {
			_, _, err := geo.CoverRequest{Village: "431321101201", From: "2030-01-01"}.Check(snap, "431321101", dispatchNow)
			return err
		}(), "from"},
	} {
		var ge *geo.Error
		if tc.err == nil || !asError(tc.err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) == 0 || ge.Problems[0].Where != tc.where {
			t.Errorf("%s: got %v, want EINVALID at %q", tc.name, tc.err, tc.where)
		}
	}
	nt := geo.NewTeam{Name: " 一村联村工作组 "}
	if err := nt.Check(snap); err != nil || nt.Town != "431321101" || nt.Kind != string(geo.TeamLiaison) || nt.Name != "一村联村工作组" {
		t.Errorf("a one-town team: %+v, %v", nt, err)
	}
	for code, ok := range map[string]bool{"01": true, "A-3_b": true, "": false, "０１": false, "a/b": false, strings.Repeat("1", 21): false} {
		if geo.ValidDistrictCode(code) != ok {
			t.Errorf("ValidDistrictCode(%q) = %v", code, !ok)
		}
	}
}
