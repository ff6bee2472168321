package geo_test

import (
	"testing"
	"time"

	"wangge/geo"
)

// TestDecide_reassignToANamedSeatKeepsItsRole: a dispatcher who reassigns
// an incident to the village's work team leader or the 片区's secretary by
// name and phone records them in that role and level, not as a designee.
func TestDecide_reassignToANamedSeatKeepsItsRole(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	for _, tt := range []struct {
		name            string
		teamLeader, sec staff
		wantRole        geo.Role
		wantLevel       geo.Level
	}{
		{"work team leader", present, absent, geo.RoleTeamLeader, geo.LevelVillage},
		{"district secretary", absent, present, geo.RoleDistrictSecretary, geo.LevelTown},
		{"nobody of the structure", absent, absent, geo.RoleDesignee, geo.LevelGrid},
	} {
		snap := structureTown(t, absent, absent, tt.teamLeader, tt.sec, true, false)
		inc := &geo.Incident{Number: "T-1", Status: geo.StAccepted, Severity: geo.SevMajor, GridCode: "431321101201001",
			Assignee: geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: "网格长"}, DueAt: dispatchNow.Add(time.Hour)}
		ev, err := geo.CheckEvent(geo.EventRequest{Action: "reassign", Note: "转交",
			Assignee: &geo.ContactJSON{Name: "某人", Phone: "13900000000"}}, "调度员")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := d.Decide(snap, inc, ev, dispatchNow)
		if err != nil || ch.Assignee == nil || ch.Assignee.Role != tt.wantRole || ch.Assignee.Level != tt.wantLevel {
			t.Errorf("%s: got %+v, %v; want %s at level %d", tt.name, ch.Assignee, err, tt.wantRole, tt.wantLevel)
		}
	}
}
