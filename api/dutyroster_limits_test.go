package api_test

import (
	"strings"
	"testing"

	"wangge/geo"
)

// TestDutyRoster_fileLimits: a duty roster is read within the limits of
// package rosterfile, like the people and team rosters: a cell right of
// the last column allowed is 413 naming the limit, an old .xls 415, every
// problem is located by row and column, and a GB18030 .csv (Excel on
// Chinese Windows) reads.
func TestDutyRoster_fileLimits(t *testing.T) {
	t.Parallel()
	e := &peopleEnv{newLimitsEnv(t)}
	wide := "日期,开始时间,结束时间,姓名,电话" + strings.Repeat(",", 70) + "x\r\n2026-10-01,08:00,20:00,张三,13700004001\r\n"
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/duty-rosters", []byte(wide), "Content-Type", "text/csv"); rec.Code != 413 ||
		!strings.Contains(rec.Body.String(), "MaxColumns") {
		t.Errorf("a cell in column 76: %d %s", rec.Code, rec.Body)
	}
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/duty-rosters", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "Content-Type", "application/vnd.ms-excel"); rec.Code != 415 {
		t.Errorf("an .xls: %d", rec.Code)
	}
	// Problems are located by row, column letter and header, the store's
	// (no service point 999) too.
	for body, want := range map[string]string{
		"日期,开始时间,结束时间,姓名,电话\r\n2026-10-01,8点,20:00,张三,13700004001\r\n":                   "row 2, column B (开始时间)",
		"序号,日期,开始时间,结束时间,姓名,电话,服务点编号\r\n1,2026-10-01,08:00,20:00,张三,13700004001,999\r\n": "row 2, column G (服务点编号)",
	} {
		var prob struct{ Errors []struct{ Where string } }
		if code := e.do(geo.AccessAdmin, "POST", "/v1/duty-rosters", body, &prob, "Content-Type", "text/csv"); code != 422 ||
			len(prob.Errors) != 1 || prob.Errors[0].Where != want {
			t.Errorf("%q: %d %+v, want %s", body, code, prob, want)
		}
	}
	// 日期,开始时间,结束时间,姓名,电话 / a row, in GB18030.
	gb := "\xc8\xd5\xc6\xda,\xbf\xaa\xca\xbc\xca\xb1\xbc\xe4,\xbd\xe1\xca\xf8\xca\xb1\xbc\xe4,\xd0\xd5\xc3\xfb,\xb5\xe7\xbb\xb0\r\n2026-10-01,08:00,20:00,\xd5\xc5\xc8\xfd,13700004001\r\n"
	if rec := e.raw(geo.AccessAdmin, "POST", "/v1/duty-rosters", []byte(gb), "Content-Type", "text/csv"); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"rows":1`) {
		t.Errorf("a GB18030 .csv: %d %s", rec.Code, rec.Body)
	}
}
