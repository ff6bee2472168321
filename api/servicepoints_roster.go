package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"wangge/geo"
	"wangge/geo/rosterfile"
	"wangge/geo/workcal"
)

// This file imports duty rosters (值班表/坐班表) from the spreadsheets town
// offices keep, .xlsx or .csv as the people rosters (rosters.go), with a
// dry run by default: one row per person and shift, with the columns
// 日期, 开始时间, 结束时间, 姓名, 电话 and optionally 班次, 服务点编号 (the id of
// a service point; empty for the town's duty desk) and 乡镇编码 (the town
// of a duty desk row; optional in a one-town deployment). An import
// replaces the stored shifts of every day and place it covers; with any
// row in error it is 422 and nothing is written, every problem located as
// the spreadsheet shows it ("sheet 值班表, row 3, column B (开始时间)").

// dutyColumns maps the normalised headers a duty roster may use to the
// field they fill.
var dutyColumns = map[string]string{
	"日期": "date", "值班日期": "date", "date": "date",
	"开始": "start", "开始时间": "start", "上班时间": "start", "start": "start",
	"结束": "end", "结束时间": "end", "下班时间": "end", "end": "end",
	"班次": "shift", "shift": "shift",
	"姓名": "name", "值班人员": "name", "值班人": "name", "name": "name",
	"电话": "phone", "联系电话": "phone", "手机": "phone", "手机号": "phone", "手机号码": "phone", "phone": "phone",
	"服务点编号": "service_point", "服务点id": "service_point", "服务点": "service_point", "service_point": "service_point",
	"乡镇编码": "town", "镇编码": "town", "乡镇": "town", "town": "town",
}

// dutyRequired are the columns every duty roster has.
var dutyRequired = []string{"date", "start", "end", "name", "phone"}

// readDutyRoster reads the rows of a duty roster, .xlsx or .csv as
// package rosterfile reads files (by content, GB18030 .csv decoded, within
// its Limits; too large 413, an old .xls 415): the header is the first of
// the first ten non-blank rows with a name column.
func readDutyRoster(body []byte) ([]geo.DutyRosterRow, *dutyLayout, error) {
	_, sheet, records, err := rosterfile.Rows(body)
	switch {
	case errors.Is(err, rosterfile.ErrTooManyRows), rosterfile.IsTooLarge(err):
		return nil, nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "%s", geo.ErrorMessage(err))
	case errors.Is(err, rosterfile.ErrXLS):
		return nil, nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "%s", geo.ErrorMessage(err))
	case err != nil:
		return nil, nil, err
	}
	header, cols := -1, map[string]int{}
	for i := 0; i < len(records) && i < rosterfile.HeaderScanRows && header < 0; i++ {
		found := map[string]int{}
		for j, cell := range records[i].Cells {
			if f, ok := dutyColumns[headerKey(cell)]; ok {
				if _, dup := found[f]; !dup {
					found[f] = j
				}
			}
		}
		if _, ok := found["name"]; ok {
			header, cols = i, found
		}
	}
	if header < 0 {
		return nil, nil, geo.Errorf(geo.EINVALID, "no header row with a 姓名 (name) column in the first %d rows", rosterfile.HeaderScanRows)
	}
	var missing []string
	for _, f := range dutyRequired {
		if _, ok := cols[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, nil, geo.Errorf(geo.EINVALID, "the header row (row %d) lacks the columns %s: want 日期, 开始时间, 结束时间, 姓名, 电话 (and 班次, 服务点编号, 乡镇编码 if used; see GET /v1/duty-rosters/template.xlsx)",
			records[header].Line, strings.Join(missing, ", "))
	}
	cell := func(rec []string, f string) string {
		j, ok := cols[f]
		if !ok || j >= len(rec) {
			return ""
		}
		return rosterfile.Cell(rec[j])
	}
	var rows []geo.DutyRosterRow
	for i := header + 1; i < len(records); i++ {
		rec := records[i].Cells
		if len(rows) == geo.MaxDutyRosterRows {
			return nil, nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the roster has more than %d rows", geo.MaxDutyRosterRows)
		}
		rows = append(rows, geo.DutyRosterRow{Line: records[i].Line, Date: cell(rec, "date"), Start: cell(rec, "start"), End: cell(rec, "end"),
			Shift: cell(rec, "shift"), Name: cell(rec, "name"), Phone: cell(rec, "phone"), Point: cell(rec, "service_point"), Town: cell(rec, "town")})
	}
	if len(rows) == 0 {
		return nil, nil, geo.Errorf(geo.EINVALID, "the roster has no row below its header")
	}
	layout := &dutyLayout{sheet: sheet, columns: map[string]string{}}
	for f, j := range cols {
		letter, _ := excelize.ColumnNumberToName(j + 1)
		layout.columns[f] = fmt.Sprintf("column %s (%s)", letter, rosterfile.Cell(records[header].Cells[j]))
	}
	return rows, layout, nil
}

// dutyLayout is where a duty roster's fields are: the sheet read (for an
// .xlsx) and each field's column as "column B (开始时间)".
type dutyLayout struct {
	sheet   string
	columns map[string]string
}

// where locates field (date, start, …, as geo.CheckDutyRow and the store
// name them) on row line as the spreadsheet shows it: "sheet 值班表, row
// 3, column B (开始时间)"; a field without a column keeps its name.
func (l *dutyLayout) where(line int, field string) string {
	w := fmt.Sprintf("row %d, ", line)
	if l.sheet != "" {
		w = fmt.Sprintf("sheet %s, %s", l.sheet, w)
	}
	if col, ok := l.columns[field]; ok {
		return w + col
	}
	return w + field
}

// headerKey normalises a header cell: width-folded, without spaces or
// required-field marks, in lower case.
func headerKey(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '*', '\n', '\r':
			return -1
		}
		return r
	}, rosterfile.Cell(s)))
}

// dutyDayOut is a place and date a roster covers.
type dutyDayOut struct {
	Town         string       `json:"town"`
	ServicePoint *int64       `json:"service_point"`
	Date         workcal.Date `json:"date"`
	Shifts       int          `json:"shifts"`
}

// dutyReportOut is the answer of POST /v1/duty-rosters.
type dutyReportOut struct {
	DryRun   bool          `json:"dry_run"`
	Applied  bool          `json:"applied"`
	Rows     int           `json:"rows"`
	Shifts   int           `json:"shifts"`
	Replaced int           `json:"replaced"`
	Days     []dutyDayOut  `json:"days"`
	Errors   []geo.Problem `json:"errors"`
}

// importDutyRoster answers POST /v1/duty-rosters[?dry_run=] (admin) with
// an .xlsx or .csv duty roster. By default it is a dry run: it reports the
// days and places the roster covers and how many stored shifts it would
// replace, and writes nothing; dry_run=false applies it in one
// transaction. Any row in error: 422 with every row's problems, nothing
// written.
func (s *Server) importDutyRoster(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	dryRun := true
	if raw, ok := c.GetQuery("dry_run"); ok {
		dryRun, _ = strconv.ParseBool(raw)
	}
	body, _, err := readRosterUpload(c)
	if err != nil {
		return err
	}
	rows, layout, err := readDutyRoster(body)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	var problems []geo.Problem
	shifts := make([]geo.DutyShift, 0, len(rows))
	lines := make([]int, 0, len(rows))
	for _, row := range rows {
		sh, ps := geo.CheckDutyRow(row, snap)
		for _, p := range ps {
			problems = append(problems, geo.Problem{Where: layout.where(row.Line, p.Where), Reason: p.Reason})
		}
		shifts = append(shifts, sh)
		lines = append(lines, row.Line)
	}
	report := &geo.DutyRosterReport{Rows: len(rows), Shifts: len(shifts)}
	if len(problems) == 0 {
		if report, err = store.ImportDutyRoster(c.Request.Context(), shifts, lines, !dryRun, callerName(c), s.cfg.Now().UTC()); err != nil {
			return err
		}
		problems = report.Errors
		for i, p := range problems { // the store names "row 3, service_point"
			var line int
			var field string
			if n, _ := fmt.Sscanf(p.Where, "row %d, %s", &line, &field); n == 2 {
				problems[i].Where = layout.where(line, field)
			}
		}
	}
	if report.Applied {
		s.peopleReload(c) // the desks' rosters ride on the snapshot
	}
	out := dutyReportOut{DryRun: dryRun, Applied: report.Applied, Rows: report.Rows, Shifts: report.Shifts, Replaced: report.Replaced,
		Days: make([]dutyDayOut, len(report.Days)), Errors: problems}
	if out.Errors == nil {
		out.Errors = []geo.Problem{}
	}
	for i, d := range report.Days {
		out.Days[i] = dutyDayOut{Town: d.TownCode, Date: d.Date, Shifts: d.Shifts}
		if d.ServicePointID != 0 {
			id := d.ServicePointID
			out.Days[i].ServicePoint = &id
		}
	}
	if len(problems) == 0 {
		c.JSON(http.StatusOK, out)
		return nil
	}
	p := problemf(TypeInvalidBody, http.StatusUnprocessableEntity,
		"%d problems in the roster: nothing was written; fix the rows named in errors and upload again", len(problems))
	p.Errors = problems
	return p
}
