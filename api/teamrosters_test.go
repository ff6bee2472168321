package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/geo"
)

// teamHeader is the header of the work-team rosters of these tests, in
// the template's order.
var teamHeader = []string{"序号", "工作组", "类型", "职务", "姓名", "联系电话", "联系村（社区）", "备注"}

// teamXLSX is a work-team roster as a town office saves it: a title in
// row 1, the header in row 2, rows from row 3, on a sheet of its own name.
func teamXLSX(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "工作组"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellStr(sheet, "A1", "测试镇联村工作组名单（2026年）"); err != nil {
		t.Fatal(err)
	}
	for i, row := range append([][]string{teamHeader}, rows...) {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			var err error
			if n, ok := numeric(v); ok && i > 0 {
				err = f.SetCellInt(sheet, cell, n) // a phone typed as a number
			} else {
				err = f.SetCellStr(sheet, cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type teamRosterAnswer struct {
	DryRun    bool `json:"dry_run"`
	Applied   bool
	At        time.Time
	Format    string
	Sheet     string
	HeaderRow int `json:"header_row"`
	Summary   struct {
		Rows, Teams, Errors, Appointed, Unchanged int
		NewTeams                                  int `json:"new_teams"`
		NewPeople                                 int `json:"new_people"`
		SeatsEnded                                int `json:"seats_ended"`
		VillagesCovered                           int `json:"villages_covered"`
		VillagesEnded                             int `json:"villages_ended"`
	}
	Teams []struct {
		Row     int
		ID      *int64
		Name    string
		Kind    string
		Created bool
		Changes []struct {
			Row      *int
			Change   string
			Seat     string
			Name     string
			Village  string
			FromTeam string `json:"from_team"`
		}
	}
	Errors []struct {
		Sheet, Column, Header, Field, Reason string
		Row                                  int
	}
	// A 422 problem carries the report and errors[] as where/reason.
	Report *json.RawMessage
}

func (e *peopleEnv) postTeams(body []byte, ct string, dryRun bool) (int, teamRosterAnswer, []byte) {
	e.t.Helper()
	rec := e.raw(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/team-rosters?dry_run=%t", dryRun), body, "Content-Type", ct)
	var a teamRosterAnswer
	b := rec.Body.Bytes()
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatalf("POST /v1/team-rosters: %d %v: %.300s", rec.Code, err, b)
	}
	if a.Report != nil {
		var r teamRosterAnswer
		if err := json.Unmarshal(*a.Report, &r); err != nil {
			e.t.Fatal(err)
		}
		a = r
	}
	return rec.Code, a, b
}

func (e *peopleEnv) structureCounts() map[string]int {
	out := map[string]int{}
	for _, table := range []string{"work_teams", "work_team_members", "work_team_villages", "people", "audit_log"} {
		out[table] = e.count(table)
	}
	return out
}

// TestTeamRoster_importKeepsHistory: a town office imports its work teams
// from Excel. The dry run writes nothing and says what would change; the
// import creates the teams, seats their people and covers the villages. A
// year later a new roster promotes a member, drops the old leader, moves a
// village to a new 驻村 team: what ended ends at the import's instant, and
// who was on the team last year is still answered. The same roster again
// changes nothing.
func TestTeamRoster_importKeepsHistory(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	t1 := t0.Add(time.Hour)
	e.setNow(t1)
	first := teamXLSX(t, [][]string{
		{"1", "测试联村工作组", "联村", "组长", "组长甲", "13700001001", "1村、431321101202", ""},
		{"2", "测试联村工作组", "", "成员", "成员乙", "137 0000 1002", "", ""},
	})
	before := e.structureCounts()
	code, dry, _ := e.postTeams(first, xlsxType, true)
	if code != 200 || dry.Applied || !dry.DryRun || dry.Sheet != "工作组" || dry.HeaderRow != 2 || dry.Summary.Rows != 2 ||
		dry.Summary.NewTeams != 1 || dry.Summary.Appointed != 2 || dry.Summary.NewPeople != 2 || dry.Summary.VillagesCovered != 2 ||
		len(dry.Teams) != 1 || dry.Teams[0].ID != nil {
		t.Fatalf("dry run: %d %+v", code, dry)
	}
	if after := e.structureCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the dry run wrote: %v → %v", before, after)
	}
	code, applied, _ := e.postTeams(first, xlsxType, false)
	if code != 200 || !applied.Applied || applied.Summary != dry.Summary || applied.Teams[0].ID == nil {
		t.Fatalf("applying: %d %+v (dry run %+v)", code, applied.Summary, dry.Summary)
	}
	x := *applied.Teams[0].ID
	var team teamAnswer
	if e.do("", "GET", fmt.Sprintf("/v1/teams/%d", x), nil, &team); team.Kind != "liaison" || team.Leader == nil ||
		team.Leader.Person.Name != "组长甲" || len(team.Members) != 1 || team.Members[0].Person.Name != "成员乙" || len(team.Villages) != 2 {
		t.Fatalf("the imported team: %+v", team)
	}
	if v, _ := e.snap.Village("431321101202"); v.WorkTeam == nil || v.WorkTeam.Leader == nil || v.WorkTeam.Leader.Name != "组长甲" {
		t.Errorf("the snapshot does not route 2村 to the team's leader: %+v", v.WorkTeam)
	}

	// A year later.
	t2 := t1.AddDate(1, 0, 0)
	e.setNow(t2)
	second := teamXLSX(t, [][]string{
		{"1", "测试联村工作组", "", "组长", "成员乙", "13700001002", "1村", ""},
		{"2", "测试联村工作组", "", "成员", "成员丙", "13700001003", "", ""},
		{"3", "二村驻村工作队", "驻村", "组长", "驻村丁", "13700001004", "2村", ""},
	})
	code, res, _ := e.postTeams(second, xlsxType, false)
	if code != 200 || res.Summary.NewTeams != 1 || res.Summary.SeatsEnded != 2 || res.Summary.Appointed != 3 ||
		res.Summary.VillagesEnded != 1 || res.Summary.VillagesCovered != 1 || res.Summary.Unchanged != 1 {
		t.Fatalf("the second roster: %d %+v", code, res)
	}
	if e.do("", "GET", fmt.Sprintf("/v1/teams/%d", x), nil, &team); team.Leader == nil || team.Leader.Person.Name != "成员乙" ||
		len(team.Members) != 1 || team.Members[0].Person.Name != "成员丙" || len(team.Villages) != 1 || team.Villages[0].Village.Code != "431321101201" {
		t.Errorf("the team now: %+v", team)
	}
	ended := 0
	for _, s := range team.History {
		if s.To != nil {
			if !s.To.Equal(t2) {
				t.Errorf("seat %+v ended at %v, want the import's instant %v", s, s.To, t2)
			}
			ended++
		}
	}
	if ended != 2 { // 组长甲's leader seat, 成员乙's member seat
		t.Errorf("%d seats ended: %+v", ended, team.History)
	}
	lastYear := url.QueryEscape(t1.Add(24 * time.Hour).Format(time.RFC3339))
	if e.do("", "GET", fmt.Sprintf("/v1/teams/%d?at=%s", x, lastYear), nil, &team); team.Leader == nil || team.Leader.Person.Name != "组长甲" ||
		len(team.Villages) != 2 {
		t.Errorf("the team last year: %+v", team)
	}
	var vt struct {
		Team    *teamCoverageAnswer
		History []teamCoverageAnswer
	}
	if e.do("", "GET", "/v1/villages/431321101202/teams", nil, &vt); vt.Team == nil || vt.Team.Team.Name != "二村驻村工作队" ||
		len(vt.History) != 2 || vt.History[1].To == nil || !vt.History[1].To.Equal(t2) {
		t.Errorf("2村's teams: %+v", vt)
	}
	if e.do("", "GET", "/v1/villages/431321101202/teams?at="+lastYear, nil, &vt); vt.Team == nil || vt.Team.Team.ID != x {
		t.Errorf("2村's team last year: %+v", vt.Team)
	}

	// The same roster again: nothing changes, nothing is written but the
	// import's own audit line.
	e.setNow(t2.Add(time.Hour))
	before = e.structureCounts()
	code, again, _ := e.postTeams(second, xlsxType, false)
	after := e.structureCounts()
	if code != 200 || again.Summary.Unchanged != 5 || again.Summary.Appointed+again.Summary.SeatsEnded+again.Summary.VillagesCovered+again.Summary.VillagesEnded != 0 ||
		after["work_team_members"] != before["work_team_members"] || after["work_team_villages"] != before["work_team_villages"] ||
		after["audit_log"] != before["audit_log"]+1 {
		t.Errorf("the same roster again: %d %+v; %v → %v", code, again.Summary, before, after)
	}
}

// TestTeamRoster_problemsLocated: every bad cell is named by sheet, row,
// column letter and header before anything is written, and so is what the
// store refuses (a team's kind changed); a GB18030 .csv
// (as Excel saves it on Chinese Windows) reads like UTF-8; an old .xls is
// 415; a token limited to another town is 403; a viewer is 403.
func TestTeamRoster_problemsLocated(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	e.setNow(t0.Add(time.Hour))
	bad := teamXLSX(t, [][]string{
		{"1", "甲组", "联村", "组长", "张三", "13700002001", "1村", ""},         // row 3: fine
		{"2", "甲组", "", "队伍长", "李四", "12345", "", ""},                  // row 4: role D, phone F
		{"3", "乙组", "联乡", "组长", "王五", "13700002003", "九村", ""},         // row 5: kind C, villages G
		{"4", "乙组", "", "成员", "", "13700002004", "", ""},               // row 6: name E
		{"5", "丙组", "", "成员", "赵六", "13700002005", "1村", ""},           // row 7: 1村 in 甲组; 丙组 no leader (D7), no village (G7)
		{"6", "", "", "组长", "钱七", "13700002006", "", ""},               // row 8: team B
		{"7", "甲组", "", "组长", "孙八", "13700002007", "431321102201", ""}, // row 9: a second leader (D9), a village of another town (G9)
	})
	before := e.structureCounts()
	code, rep, raw := e.postTeams(bad, xlsxType, false)
	if code != 422 {
		t.Fatalf("a bad roster: %d %s", code, raw)
	}
	got := map[string]bool{}
	for _, er := range rep.Errors {
		if er.Sheet != "工作组" || er.Column == "" || er.Header == "" {
			t.Errorf("a problem not located: %+v", er)
		}
		got[fmt.Sprintf("%s%d", er.Column, er.Row)] = true
	}
	for _, cell := range []string{"D4", "F4", "C5", "G5", "E6", "G7", "D7", "B8", "D9", "G9"} {
		if !got[cell] {
			t.Errorf("no problem at %s: %+v", cell, rep.Errors)
		}
	}
	var prob struct {
		Errors []struct{ Where, Reason string }
	}
	if err := json.Unmarshal(raw, &prob); err != nil || len(prob.Errors) != len(rep.Errors) ||
		!strings.HasPrefix(prob.Errors[0].Where, "sheet 工作组, row 4, column D (职务)") {
		t.Errorf("the problem's errors: %+v %v", prob.Errors, err)
	}
	if after := e.structureCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused roster wrote: %v → %v", before, after)
	}

	// The store's refusals are located too: a team's kind does not change.
	if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"name": "丁组", "kind": "liaison"}, nil); code != 201 {
		t.Fatalf("creating 丁组: %d", code)
	}
	before = e.structureCounts()
	kind := teamXLSX(t, [][]string{{"1", "丁组", "驻村", "组长", "张三", "13700002001", "2村", ""}})
	if code, rep, _ := e.postTeams(kind, xlsxType, false); code != 422 || len(rep.Errors) != 1 || rep.Errors[0].Column != "C" || rep.Errors[0].Row != 3 {
		t.Errorf("a team of another kind: %d %+v", code, rep.Errors)
	}
	if after := e.structureCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a roster the store refused wrote: %v → %v", before, after)
	}

	// So are the seat and coverage rules the JSON API keeps: 丁组 has had
	// a leader and 2村 since this very instant, so a roster of the same
	// instant can seat nobody else as 组长 nor move 2村 to 戊组 (either
	// would end a term the moment it starts).
	var teams struct {
		Teams []struct {
			ID   int64
			Name string
		}
	}
	e.do("", "GET", "/v1/teams", nil, &teams)
	var d struct{ ID int64 }
	for _, tm := range teams.Teams {
		if tm.Name == "丁组" {
			d.ID = tm.ID
		}
	}
	if code := e.do(geo.AccessAdmin, "PUT", fmt.Sprintf("/v1/teams/%d/leader", d.ID), map[string]any{"name": "组长丁", "phone": "13700002009"}, nil); code != 200 {
		t.Fatalf("appointing 丁组's leader: %d", code)
	}
	if code := e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/teams/%d/villages", d.ID), map[string]any{"village": "431321101202"}, nil); code != 201 {
		t.Fatalf("丁组 covering 2村: %d", code)
	}
	before = e.structureCounts()
	for _, c := range []struct {
		row  []string
		cell string
		says string
	}{
		{[]string{"1", "丁组", "", "组长", "张三", "13700002001", "2村", ""}, "D3", "组长丁"},
		{[]string{"1", "戊组", "联村", "组长", "李四", "13700002002", "2村", ""}, "G3", "丁组"},
	} {
		code, rep, _ := e.postTeams(teamXLSX(t, [][]string{c.row}), xlsxType, false)
		found := false
		for _, er := range rep.Errors {
			found = found || fmt.Sprintf("%s%d", er.Column, er.Row) == c.cell && strings.Contains(er.Reason, c.says)
		}
		if code != 422 || !found {
			t.Errorf("%v: %d %+v, want a problem at %s naming %s", c.row, code, rep.Errors, c.cell, c.says)
		}
	}
	if after := e.structureCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a roster the store refused wrote: %v → %v", before, after)
	}

	text := "工作组,职务,姓名,联系电话,联系村\r\n甲组,组长,张三,13700002001,1村\r\n甲组,成员,李四,13700002002,\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	if code, rep, raw := e.postTeams([]byte(gb), "text/csv", true); code != 200 || rep.Format != "csv" || rep.Summary.Rows != 2 ||
		len(rep.Teams) != 1 || rep.Teams[0].Name != "甲组" || rep.Teams[0].Changes[1].Name != "张三" {
		t.Errorf("a GB18030 .csv: %d %+v %s", code, rep, raw)
	}
	noVillages := "工作组,职务,姓名,联系电话\r\n甲组,组长,张三,13700002001\r\n"
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/team-rosters", []byte(noVillages), "Content-Type", "text/csv"); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "联系村") {
		t.Errorf("a roster without 联系村: %d %s", rec.Code, rec.Body)
	}
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/team-rosters", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "Content-Type", "application/vnd.ms-excel"); rec.Code != 415 {
		t.Errorf("an .xls: %d", rec.Code)
	}
	if rec := e.raw(geo.AccessViewer, "POST", "/v1/team-rosters", []byte(text), "Content-Type", "text/csv"); rec.Code != 403 {
		t.Errorf("a viewer: %d", rec.Code)
	}
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/team-rosters?dry_run=maybe", []byte(text), "Content-Type", "text/csv"); rec.Code != 400 {
		t.Errorf("dry_run=maybe: %d", rec.Code)
	}
	other := "工作组,职务,姓名,联系电话,联系村,乡镇编码\r\n甲组,组长,张三,13700002001,1村,431321102\r\n"
	if code, rep, _ := e.postTeams([]byte(other), "text/csv", true); code != 422 || len(rep.Errors) == 0 || rep.Errors[0].Field != "town" {
		t.Errorf("a town this deployment does not hold: %d %+v", code, rep.Errors)
	}
}

// TestTeamRoster_townScope: in a deployment of two towns, a row needs its
// town (乡镇编码, or villages given by code); a token limited to a town
// imports its own town's teams by village name, and is refused another
// town's (403); its templates name its town.
func TestTeamRoster_townScope(t *testing.T) {
	t.Parallel()
	e := &peopleEnv{newScopeEnv(t)}
	post := func(role geo.AccessRole, text string) (int, teamRosterAnswer) {
		t.Helper()
		rec := e.raw(role, "POST", "/v1/team-rosters", []byte(text), "Content-Type", "text/csv")
		var a teamRosterAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%d %v: %s", rec.Code, err, rec.Body)
		}
		if a.Report != nil {
			var r teamRosterAnswer
			json.Unmarshal(*a.Report, &r)
			a = r
		}
		return rec.Code, a
	}
	const header = "工作组,职务,姓名,联系电话,联系村,乡镇编码\r\n"
	if code, a := post(geo.AccessAdmin, header+"甲组,组长,张三,13700003001,1村,\r\n"); code != 422 || len(a.Errors) == 0 || a.Errors[0].Field != "town" || a.Errors[0].Column != "F" {
		t.Errorf("no town in a two-town deployment: %d %+v", code, a.Errors)
	}
	if code, a := post(geo.AccessAdmin, header+"甲组,组长,张三,13700003001,"+townB+"201,\r\n"); code != 200 || len(a.Teams) != 1 || len(a.Teams[0].Changes) != 3 || a.Teams[0].Changes[2].Village != townB+"201" {
		t.Errorf("the town of the village's code: %d %+v", code, a)
	}
	if code, a := post(adminA, header+"甲组,组长,张三,13700003001,1村,\r\n"); code != 200 || len(a.Teams) != 1 || a.Summary.VillagesCovered != 1 {
		t.Errorf("town A's admin, its town by default: %d %+v", code, a)
	}
	var p scopeProblem
	rec := e.raw(adminA, "POST", "/v1/team-rosters", []byte(header+"乙组,组长,李四,13700003002,邻村,"+townB+"\r\n"), "Content-Type", "text/csv")
	if json.Unmarshal(rec.Body.Bytes(), &p); rec.Code != 403 || !strings.Contains(p.Type, "outside-town") {
		t.Errorf("town A's admin importing town B's team: %d %+v", rec.Code, p)
	}
	if rec := e.raw(adminA, "GET", "/v1/team-rosters/template.csv", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), townA) || strings.Contains(rec.Body.String(), townB) {
		t.Errorf("town A's template: %d %s", rec.Code, rec.Body)
	}
}
