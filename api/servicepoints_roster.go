package api

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"wangge/geo"
	"wangge/geo/gbtext"
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
// row in error it is 422 and nothing is written.

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

// readDutyRoster reads the rows of a duty roster: the header is the first
// of the first ten rows with a name column.
func readDutyRoster(body []byte) ([]geo.DutyRosterRow, error) {
	var records [][]string
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return nil, geo.Errorf(geo.EINVALID, "the upload is empty: send an .xlsx or .csv duty roster")
	case bytes.HasPrefix(body, []byte("\xd0\xcf\x11\xe0")):
		return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "an old Excel 97–2003 (.xls) file: save it as .xlsx or .csv and upload again")
	case bytes.HasPrefix(body, []byte("PK\x03\x04")):
		f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{RawCellValue: true,
			UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 64 << 20})
		if err != nil {
			return nil, geo.Errorf(geo.EINVALID, "not a readable .xlsx file: %s", geo.Clip(err.Error()))
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, geo.Errorf(geo.EINVALID, "the workbook has no sheet")
		}
		if records, err = f.GetRows(sheets[0], excelize.Options{RawCellValue: true}); err != nil {
			return nil, geo.Errorf(geo.EINVALID, "reading sheet %s: %s", sheets[0], geo.Clip(err.Error()))
		}
	default:
		r := csv.NewReader(bytes.NewReader(gbtext.UTF8OrGB18030(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			} else if err != nil {
				return nil, geo.Errorf(geo.EINVALID, "not a readable .csv file: %s", geo.Clip(err.Error()))
			}
			records = append(records, rec)
			if len(records) > geo.MaxDutyRosterRows+rosterfile.HeaderScanRows {
				break
			}
		}
	}
	header, cols := -1, map[string]int{}
	for i := 0; i < len(records) && i < rosterfile.HeaderScanRows && header < 0; i++ {
		found := map[string]int{}
		for j, cell := range records[i] {
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
		return nil, geo.Errorf(geo.EINVALID, "no header row with a 姓名 (name) column in the first %d rows", rosterfile.HeaderScanRows)
	}
	var missing []string
	for _, f := range dutyRequired {
		if _, ok := cols[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, geo.Errorf(geo.EINVALID, "the header row (row %d) lacks the columns %s: want 日期, 开始时间, 结束时间, 姓名, 电话 (and 班次, 服务点编号, 乡镇编码 if used)",
			header+1, strings.Join(missing, ", "))
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
		rec := records[i]
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		if len(rows) == geo.MaxDutyRosterRows {
			return nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the roster has more than %d rows", geo.MaxDutyRosterRows)
		}
		rows = append(rows, geo.DutyRosterRow{Line: i + 1, Date: cell(rec, "date"), Start: cell(rec, "start"), End: cell(rec, "end"),
			Shift: cell(rec, "shift"), Name: cell(rec, "name"), Phone: cell(rec, "phone"), Point: cell(rec, "service_point"), Town: cell(rec, "town")})
	}
	if len(rows) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "the roster has no row below its header")
	}
	return rows, nil
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
	rows, err := readDutyRoster(body)
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
			problems = append(problems, geo.Problem{Where: "row " + strconv.Itoa(row.Line) + ", " + p.Where, Reason: p.Reason})
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
