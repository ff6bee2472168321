package geo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// TestCheckTeamRoster_groupsAndNamesCells: rows group into teams by name;
// villages are found by code, by name (an exact name first), or by name
// without 村 or 社区; every problem names its row and column.
func TestCheckTeamRoster_groupsAndNamesCells(t *testing.T) {
	td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.05, 27.01)}}
	for i, name := range []string{"天子村", "荷叶社区", "石门村", "石门", "荷叶村"} {
		code := fmt.Sprintf("431321101%03d", 201+i)
		x := 112 + 0.01*float64(i)
		td.Villages = append(td.Villages, geo.Village{Code: code, Name: name, Outline: square(x, 27, x+0.01, 27.01)})
		td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{Code: code + "001", Name: name + "网格", VillageCode: code, Geometry: square(x, 27, x+0.01, 27.01)}})
	}
	snap, err := geo.NewSnapshot(1, td.Area(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	row := func(line int, team, kind, role, name, phone, villages string) geo.TeamRosterRow {
		v := map[geo.TeamRosterField]string{geo.TeamRosterTeamName: team, geo.TeamRosterKind: kind, geo.TeamRosterRole: role,
			geo.TeamRosterName: name, geo.TeamRosterPhone: phone, geo.TeamRosterVillages: villages}
		for k, s := range v {
			if s == "" {
				delete(v, k)
			}
		}
		return geo.TeamRosterRow{Line: line, Values: v}
	}
	teams, problems := geo.CheckTeamRoster([]geo.TeamRosterRow{
		row(2, "一组", "驻村", "组长", "甲", "13700005001", "天子､荷叶社区"),
		row(3, "一组", "", "副组长", "乙", "13700005002", "431321101203"),
		row(4, "二组", "", "组长", "丙", "13700005003", "431321101201"), // 天子村 is 一组's
		row(5, "一组", "联村", "成员", "丁", "13700005004", ""),           // a second kind
		row(6, "二组", "", "成员", "丙", "13700005003", "荷叶"),           // 丙 twice; 荷叶 names two villages
		row(7, "三组", "", "组长", "戊", "13700005005", "石门"),           // 石门 exactly, not 石门村
	}, snap, "")
	if len(teams) != 3 || teams[2].Villages[0].Code != "431321101204" || teams[0].Name != "一组" || teams[0].Kind != geo.TeamResident || teams[0].KindLine != 2 ||
		teams[0].Leader.Name != "甲" || len(teams[0].Members) != 2 || teams[0].Members[0].Seat != geo.SeatMember || len(teams[0].Villages) != 3 {
		t.Fatalf("teams: %+v", teams)
	}
	if v := teams[0].Villages; v[0].Code != "431321101201" || v[1].Code != "431321101202" || v[2].Name != "石门村" {
		t.Errorf("villages of 一组: %+v", v)
	}
	var got []string
	for _, p := range problems {
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Field))
	}
	want := "4 villages|5 kind|6 name|6 villages|4 villages" // the last: 二组 covers no village
	if strings.Join(got, "|") != want {
		t.Errorf("problems %v, want %s: %+v", got, want, problems)
	}
}
