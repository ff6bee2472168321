package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/geo"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// rosterXLSX writes rows (the first being the header) to the first sheet of
// a new workbook, below a title row as township offices make them, so
// that data row i is row i+2 in Excel. Phones and codes are written as
// numbers when they look like numbers, as happens when a clerk types them.
func rosterXLSX(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetCellStr("Sheet1", "A1", "荷叶镇网格人员花名册（2026年11月）"); err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			var err error
			if n, ok := numeric(v); ok && i > 0 {
				err = f.SetCellInt("Sheet1", cell, n)
			} else {
				err = f.SetCellStr("Sheet1", cell, v)
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

func numeric(s string) (int64, bool) {
	if s == "" || len(s) > 15 || strings.Trim(s, "0123456789") != "" || s[0] == '0' {
		return 0, false
	}
	var n int64
	fmt.Sscan(s, &n)
	return n, true
}

var rosterHeader = []string{"序号", "姓名", "联系电话", "村（社区）", "网格编码", "网格名称", "职务", "组织"}

type rosterAnswer struct {
	DryRun    bool `json:"dry_run"`
	Applied   bool
	Format    string
	HeaderRow int `json:"header_row"`
	Summary   struct {
		Rows, Errors      int
		NewPeople         int `json:"new_people"`
		NewAppointments   int `json:"new_appointments"`
		EndedAppointments int `json:"ended_appointments"`
		Unchanged         int
	}
	Rows []struct {
		Row          int
		Name         string
		Role         string
		Grid         *struct{ Code, Name string }
		Village      *struct{ Code, Name string }
		PersonID     *int64 `json:"person_id"`
		Changes      []string
		Ended        []assignmentAnswer
		Organization *struct{ Name string }
		Notes        []string
		Errors       []struct{ Column, Header, Field, Reason string }
	}
	Ended []assignmentAnswer
}

type rosterProblemAnswer struct {
	Status int
	Detail string
	Errors []struct{ Where, Reason string }
	Report rosterAnswer
}

func (e *peopleEnv) postRoster(target string, body []byte, ct string, out any) int {
	e.t.Helper()
	rec := e.raw(geo.AccessAdmin, "POST", target, body, "Content-Type", ct)
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		e.t.Fatalf("POST %s: %d %v: %.300s", target, rec.Code, err, rec.Body)
	}
	return rec.Code
}

// TestRoster_cleanApplies: a clean roster is checked (dry run, the
// default: nothing changes), then applied: new people and appointments
// appear, old holders are ended, members not listed are ended; applying
// it again changes nothing.
func TestRoster_cleanApplies(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "POST", "/v1/grids/"+grid1+"/members", map[string]any{"name": "老网格员", "phone": "13600000009"}, nil); code != 201 {
		t.Fatalf("member: %d", code)
	}
	e.setNow(t0.Add(2 * time.Hour))
	roster := rosterXLSX(t, [][]string{
		rosterHeader,
		{"1", "王 五", "139 0000 8888", "", grid1, "", "网格长", ""},                 // row 3: new person, new leader, ends 网格长1
		{"2", "副网格长1", "13800000001", "", grid1, "网格1", "副网格长", ""},             // row 4: unchanged
		{"3", "赵六", "13600000010", "", grid1, "", "网格员", "1村red_white_council"}, // row 5: new member; 老网格员 ended
		{"4", "网格长2", "13900000002", "1村", "", "网格2", "网格长", ""},                // row 6: by name in a village: unchanged
		{"", "", "", "", "", "", "", ""},                                        // row 7: empty, skipped
		{"5", "联村组长乙", "0738-6813333", "2村", "", "", "联村工作组组长", ""},             // row 8: new liaison leader of village 2
		{"6", "网格长1", "13900000001", "", grid5, "", "副网格长", ""},                 // row 9: 网格长1 becomes deputy of grid 5
	})
	before := e.tableCounts()
	var dry rosterAnswer
	if code := e.postRoster("/v1/rosters", roster, xlsxType, &dry); code != 200 {
		t.Fatalf("dry run: %d %+v", code, dry)
	}
	if !dry.DryRun || dry.Applied || dry.Format != "xlsx" || dry.HeaderRow != 2 || len(dry.Rows) != 6 {
		t.Errorf("dry run: %+v", dry)
	}
	if after := e.tableCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the dry run wrote: %v → %v", before, after)
	}
	want := []struct {
		row     int
		changes string
		ended   string
	}{
		{3, "new_person new_appointment ended_appointment", "网格长1"},
		{4, "unchanged", ""},
		{5, "new_person new_appointment", ""},
		{6, "unchanged", ""},
		{8, "new_person new_appointment", ""},
		{9, "new_appointment ended_appointment", "副网格长5"},
	}
	check := func(name string, got rosterAnswer) {
		for i, w := range want {
			r := got.Rows[i]
			var ended []string
			for _, a := range r.Ended {
				ended = append(ended, holderName(&a))
			}
			if r.Row != w.row || strings.Join(r.Changes, " ") != w.changes || strings.Join(ended, ",") != w.ended || len(r.Errors) > 0 {
				t.Errorf("%s: row %d: %+v, want row %d %q ending %q", name, r.Row, r, w.row, w.changes, w.ended)
			}
		}
		if len(got.Ended) != 1 || holderName(&got.Ended[0]) != "老网格员" {
			t.Errorf("%s: unlisted ended %+v, want 老网格员", name, got.Ended)
		}
		if got.Summary.NewPeople != 3 || got.Summary.NewAppointments != 4 || got.Summary.Unchanged != 2 || got.Summary.EndedAppointments != 3 {
			t.Errorf("%s: summary %+v", name, got.Summary)
		}
	}
	check("dry run", dry)
	if dry.Rows[0].PersonID != nil {
		t.Errorf("a dry run gave the new person id %d", *dry.Rows[0].PersonID)
	}
	if dry.Rows[2].Organization == nil {
		t.Errorf("the organization of row 5 is not resolved: %+v", dry.Rows[2])
	}

	var applied rosterAnswer
	if code := e.postRoster("/v1/rosters?dry_run=false", roster, xlsxType, &applied); code != 200 {
		t.Fatalf("apply: %d %+v", code, applied)
	}
	if !applied.Applied || applied.DryRun {
		t.Errorf("apply: %+v", applied)
	}
	check("apply", applied)
	now := t0.Add(2 * time.Hour)
	st := e.staff(grid1, now)
	if holderName(st.Leader) != "王五" || holderName(st.Deputy) != "副网格长1" || len(st.Members) != 1 || holderName(&st.Members[0]) != "赵六" {
		t.Errorf("grid 1 after the roster: %+v", st)
	}
	if st := e.staff(grid5, now); holderName(st.Deputy) != "网格长1" {
		t.Errorf("grid 5 deputy %q, want 网格长1", holderName(st.Deputy))
	}
	if st := e.staff(grid1, now.Add(-time.Minute)); holderName(st.Leader) != "网格长1" || len(st.Members) != 1 || holderName(&st.Members[0]) != "老网格员" {
		t.Errorf("grid 1 just before the roster: %+v", st)
	}
	if g := e.snap.Grids[0]; g.Leader == nil || g.Leader.Name != "王五" || g.Leader.Phone != "13900008888" {
		t.Errorf("the snapshot's grid 1 leader is %+v", g.Leader)
	}
	if v, _ := e.snap.Village("431321101202"); v.LiaisonLeader == nil || v.LiaisonLeader.Name != "联村组长乙" {
		t.Errorf("village 2 liaison leader %+v", v.LiaisonLeader)
	}
	if n := e.count("audit_log WHERE action = 'roster.apply' AND actor = 'admin-1'"); n != 1 {
		t.Errorf("%d roster.apply audit entries, want 1", n)
	}

	e.setNow(t0.Add(3 * time.Hour))
	var again rosterAnswer
	e.postRoster("/v1/rosters?dry_run=false", roster, xlsxType, &again)
	if again.Summary.Unchanged != 6 || again.Summary.NewAppointments != 0 || again.Summary.EndedAppointments != 0 {
		t.Errorf("applying the same roster again: %+v", again.Summary)
	}
}

// TestRoster_errorsRefused: a roster with a bad phone, an unknown grid, a
// duplicate row and two leaders for one grid is refused, in the dry run
// and on apply, with each row and column named; nothing changes.
func TestRoster_errorsRefused(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	roster := rosterXLSX(t, [][]string{
		rosterHeader,
		{"1", "王五", "13900008888", "", grid1, "", "网格长", ""},             // row 3: fine
		{"2", "赵六", "1234567", "", grid1, "", "网格员", ""},                 // row 4: bad phone (C)
		{"3", "钱七", "13600000011", "", "431321101209009", "", "网格员", ""}, // row 5: unknown grid (E)
		{"4", "王五", "13900008888", "", grid1, "", "网格长", ""},             // row 6: duplicate of row 3
		{"5", "孙八", "13600000012", "", grid1, "", "网格长", ""},             // row 7: a second leader of grid 1
		{"6", "周九", "13600000013", "", "", "网格9", "网格员", ""},             // row 8: unknown grid name (F)
		{"7", "吴十", "13600000014", "", grid2, "", "组长", ""},              // row 9: unknown role (G)
		{"8", "郑一", "13600000015", "", grid2, "", "网格员", ""},             // row 10: fine
	})
	wantErrors := map[int]string{4: "C 联系电话", 5: "E 网格编码", 6: " duplicate of row 3", 7: " row 3", 8: "F 网格名称", 9: "G 职务"}
	before := e.tableCounts()
	for _, target := range []string{"/v1/rosters", "/v1/rosters?dry_run=true", "/v1/rosters?dry_run=false"} {
		var p rosterProblemAnswer
		if code := e.postRoster(target, roster, xlsxType, &p); code != 422 {
			t.Fatalf("%s: %d, want 422: %+v", target, code, p)
		}
		if p.Report.Applied || p.Report.Summary.Errors != len(wantErrors) || len(p.Errors) != len(wantErrors) {
			t.Errorf("%s: %d rows in error (%d problems), want %d", target, p.Report.Summary.Errors, len(p.Errors), len(wantErrors))
		}
		for _, r := range p.Report.Rows {
			want, bad := wantErrors[r.Row]
			if !bad {
				if len(r.Errors) > 0 {
					t.Errorf("%s: row %d: unexpected errors %+v", target, r.Row, r.Errors)
				}
				continue
			}
			if len(r.Errors) != 1 {
				t.Errorf("%s: row %d: errors %+v, want one", target, r.Row, r.Errors)
				continue
			}
			got := r.Errors[0].Column + " " + r.Errors[0].Header
			if r.Errors[0].Column == "" {
				got = " " + r.Errors[0].Reason
			}
			if !strings.HasPrefix(got, want) {
				t.Errorf("%s: row %d: error %+v, want %q", target, r.Row, r.Errors[0], want)
			}
		}
		named := strings.Builder{}
		for _, pe := range p.Errors {
			named.WriteString(pe.Where + "; ")
		}
		for row := range wantErrors {
			if !strings.Contains(named.String(), fmt.Sprintf("row %d", row)) {
				t.Errorf("%s: problem errors do not name row %d: %s", target, row, named.String())
			}
		}
	}
	if after := e.tableCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused roster wrote: %v → %v", before, after)
	}
	if st := e.staff(grid1, t0); holderName(st.Leader) != "网格长1" {
		t.Errorf("grid 1 leader %q after a refused roster", holderName(st.Leader))
	}
}

// TestRoster_template: the template downloads, parses, has the Chinese
// headers, an example row and a sheet explaining the columns; uploaded as
// it is, its example row checks clean.
func TestRoster_template(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	rec := e.raw("", "GET", "/v1/rosters/template.xlsx", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != xlsxType || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("template: %d %v", rec.Code, rec.Header())
	}
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) < 2 || sheets[0] != "花名册" || sheets[1] != "填写说明" {
		t.Errorf("sheets %v", sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil || len(rows) != 2 {
		t.Fatalf("template rows %v: %v", rows, err)
	}
	for _, h := range []string{"姓名", "联系电话", "网格编码", "网格名称", "职务", "组织"} {
		if !strings.Contains(strings.Join(rows[0], ","), h) {
			t.Errorf("template header %v lacks %s", rows[0], h)
		}
	}
	if !strings.Contains(strings.Join(rows[1], ","), grid1) {
		t.Errorf("example row %v does not name a grid of the town", rows[1])
	}
	help, _ := f.GetRows(sheets[1])
	if len(help) < len(rosterHeader) {
		t.Errorf("the explanation sheet has %d rows", len(help))
	}
	var dry rosterAnswer
	if code := e.postRoster("/v1/rosters", rec.Body.Bytes(), xlsxType, &dry); code != 200 || len(dry.Rows) != 1 ||
		strings.Join(dry.Rows[0].Changes, " ") != "new_person new_appointment ended_appointment" || dry.Applied {
		t.Errorf("the template's example row: %d %+v", code, dry)
	}
}

// TestRoster_csv: .csv rosters in UTF-8 with a byte order mark, in
// GB18030 (as Excel saves them on Chinese Windows), and sent as a browser
// form upload, read the same.
func TestRoster_csv(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t, dispatchTown())
	text := "姓名,联系电话,网格编码,职务\r\n王五,13900008888," + grid1 + ",网格长\r\n副网格长1,13800000001," + grid1 + ",副网格长\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "花名册.csv")
	fw.Write([]byte(text))
	mw.Close()
	for name, up := range map[string]struct {
		body []byte
		ct   string
	}{
		"utf-8 with BOM": {append([]byte("\xef\xbb\xbf"), text...), "text/csv"},
		"gb18030":        {[]byte(gb), "text/csv"},
		"form":           {form.Bytes(), mw.FormDataContentType()},
	} {
		var dry rosterAnswer
		if code := e.postRoster("/v1/rosters", up.body, up.ct, &dry); code != 200 {
			t.Errorf("%s: %d %+v", name, code, dry)
			continue
		}
		if dry.Format != "csv" || len(dry.Rows) != 2 || dry.Rows[0].Row != 2 || dry.Rows[0].Name != "王五" ||
			strings.Join(dry.Rows[1].Changes, " ") != "unchanged" {
			t.Errorf("%s: %+v", name, dry)
		}
	}
	for name, tt := range map[string]struct {
		body string
		want int
	}{
		"no header":     {"a,b,c\n1,2,3\n", 400},
		"no phone":      {"姓名,网格编码,职务\n王五," + grid1 + ",网格长\n", 400},
		"empty":         {"", 400},
		"old excel":     {"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 415},
		"broken xlsx":   {"PK\x03\x04garbage", 400},
		"too many rows": {"姓名,联系电话,网格编码,职务\n" + strings.Repeat("王五,13900008888,"+grid1+",网格长\n", 20_001), 413},
	} {
		var p rosterProblemAnswer
		if code := e.postRoster("/v1/rosters", []byte(tt.body), "text/csv", &p); code != tt.want {
			t.Errorf("%s: %d, want %d: %s", name, code, tt.want, p.Detail)
		}
	}
}
