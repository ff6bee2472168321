package townfile_test

import (
	"slices"
	"strings"
	"testing"

	"wangge/geo/townfile"
)

// TestMemberGrids_roundTrip: a member's "grids" in villages.geojson is
// read into RosterMember.Grids and written back; a member without it has
// none (nil: the import leaves their grids as they are).
func TestMemberGrids_roundTrip(t *testing.T) {
	town, villages, grids := demoFiles(t)
	td, err := townfile.Decode(town, villages, grids)
	if err != nil {
		t.Fatal(err)
	}
	v := -1
	for i := range td.Villages {
		if len(td.Villages[i].Organizations) > 0 && len(td.Villages[i].Organizations[0].Members) > 0 {
			v = i
			break
		}
	}
	if v < 0 {
		t.Fatal("the demo town has no organization with members")
	}
	m := &td.Villages[v].Organizations[0].Members[0]
	if m.Grids != nil {
		t.Fatalf("a member without grids in the file: %v, want nil", m.Grids)
	}
	code := td.Grids[0].Code
	m.Grids = []string{code}
	_, v2, _, err := townfile.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v2), `"grids":["`+code+`"]`) {
		t.Fatalf("villages.geojson lacks the member's grids")
	}
	back, err := townfile.Decode(town, v2, grids)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Villages[v].Organizations[0].Members[0].Grids; !slices.Equal(got, []string{code}) {
		t.Errorf("read back %v, want [%s]", got, code)
	}
}
