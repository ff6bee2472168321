package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// TestRosterTemplates_readBackByTheImporters: every roster template users
// fill in by hand (people, duty, work teams; .xlsx and .csv) downloads
// without a token, carries the headers its importer accepts and an
// explanation sheet, and, uploaded unchanged, passes its importer's dry
// run as one row without a problem: the templates and the importers
// cannot drift apart.
func TestRosterTemplates_readBackByTheImporters(t *testing.T) {
	t.Parallel()
	e := &peopleEnv{newLimitsEnv(t)} // with the service points' store, for the duty roster
	e.setNow(t0.Add(time.Hour))
	for _, tc := range []struct {
		template, importer string
		sheet              string
		headers            []string
	}{
		{"/v1/rosters/template.xlsx", "/v1/rosters", "花名册", []string{"姓名", "联系电话", "网格编码", "职务"}},
		{"/v1/rosters/template.csv", "/v1/rosters", "", []string{"姓名", "联系电话", "网格编码", "职务"}},
		{"/v1/duty-rosters/template.xlsx", "/v1/duty-rosters", "值班表", []string{"日期", "开始时间", "结束时间", "班次", "姓名", "联系电话", "服务点编号", "乡镇编码"}},
		{"/v1/duty-rosters/template.csv", "/v1/duty-rosters", "", []string{"日期", "开始时间", "结束时间", "姓名", "联系电话"}},
		{"/v1/team-rosters/template.xlsx", "/v1/team-rosters", "工作组名单", []string{"工作组", "类型", "职务", "姓名", "联系电话", "联系村", "乡镇编码"}},
		{"/v1/team-rosters/template.csv", "/v1/team-rosters", "", []string{"工作组", "职务", "姓名", "联系电话", "联系村"}},
	} {
		rec := e.raw("", "GET", tc.template, nil)
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s: %d %v", tc.template, rec.Code, rec.Header())
		}
		body := rec.Body.Bytes()
		var header []string
		ct := rec.Header().Get("Content-Type")
		if tc.sheet != "" {
			if ct != xlsxType {
				t.Errorf("%s: Content-Type %s", tc.template, ct)
			}
			f, err := excelize.OpenReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			sheets := f.GetSheetList()
			rows, err := f.GetRows(sheets[0])
			help, _ := f.GetRows("填写说明")
			f.Close()
			if err != nil || sheets[0] != tc.sheet || len(rows) != 2 || len(help) < len(rows[0]) {
				t.Fatalf("%s: sheets %v, rows %v, %d lines of help, %v", tc.template, sheets, rows, len(help), err)
			}
			header = rows[0]
		} else {
			if !strings.HasPrefix(ct, "text/csv") || !bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
				t.Errorf("%s: Content-Type %s, starts %q", tc.template, ct, body[:min(3, len(body))])
			}
			lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(body), "\ufeff")), "\n")
			if len(lines) != 2 {
				t.Fatalf("%s: %d lines", tc.template, len(lines))
			}
			header = strings.Split(strings.TrimSpace(lines[0]), ",")
		}
		for _, h := range tc.headers {
			found := false
			for _, got := range header {
				found = found || strings.TrimSpace(got) == h
			}
			if !found {
				t.Errorf("%s: the header %v has no %s", tc.template, header, h)
			}
		}
		up := e.raw(geo.AccessAdmin, "POST", tc.importer+"?dry_run=true", body, "Content-Type", ct)
		var dry struct {
			Applied bool
			Rows    json.RawMessage
			Summary struct{ Rows, Errors int }
			Errors  []json.RawMessage
		}
		if err := json.Unmarshal(up.Body.Bytes(), &dry); err != nil || up.Code != 200 || dry.Applied || len(dry.Errors) != 0 {
			t.Errorf("%s read back by %s: %d %v %s", tc.template, tc.importer, up.Code, err, up.Body)
			continue
		}
		rows := dry.Summary.Rows
		if tc.importer == "/v1/duty-rosters" {
			json.Unmarshal(dry.Rows, &rows)
		}
		if rows != 1 || dry.Summary.Errors != 0 {
			t.Errorf("%s read back by %s: %d rows, %d errors: %s", tc.template, tc.importer, rows, dry.Summary.Errors, up.Body)
		}
	}
}
