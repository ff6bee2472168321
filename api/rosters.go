package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/width"

	"wangge/geo"
)

// Roster limits. The upload itself is bounded by the server's body limit
// (Config.MaxBodyBytes, 4 MiB by default: a 20,000-row .xlsx is well under
// 1 MiB); an .xlsx is a zip, so what it may inflate to is bounded too.
const (
	maxRosterRows     = 20_000
	rosterUnzipLimit  = 64 << 20
	rosterHeaderScan  = 10 // rows searched for the header, below any title rows
	xlsxContentType   = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	rosterMaxCellSize = 1000
)

// rosterHeaders maps the headers township rosters use (normalised by
// rosterHeaderKey) to fields. English names are accepted too.
var rosterHeaders = map[string]geo.RosterField{
	"姓名": geo.RosterName, "名字": geo.RosterName, "name": geo.RosterName,
	"电话": geo.RosterPhone, "联系电话": geo.RosterPhone, "手机": geo.RosterPhone, "手机号": geo.RosterPhone,
	"手机号码": geo.RosterPhone, "电话号码": geo.RosterPhone, "联系方式": geo.RosterPhone, "phone": geo.RosterPhone,
	"网格编码": geo.RosterGridCode, "网格代码": geo.RosterGridCode, "网格编号": geo.RosterGridCode, "grid_code": geo.RosterGridCode,
	"网格名称": geo.RosterGridName, "网格": geo.RosterGridName, "所在网格": geo.RosterGridName, "网格名": geo.RosterGridName, "grid_name": geo.RosterGridName,
	"村(社区)": geo.RosterVillage, "村": geo.RosterVillage, "社区": geo.RosterVillage, "村社区": geo.RosterVillage,
	"村/社区": geo.RosterVillage, "所属村": geo.RosterVillage, "所属村(社区)": geo.RosterVillage, "村名": geo.RosterVillage, "village": geo.RosterVillage,
	"角色": geo.RosterRole, "职务": geo.RosterRole, "岗位": geo.RosterRole, "身份": geo.RosterRole, "role": geo.RosterRole,
	"组织": geo.RosterOrganization, "所属组织": geo.RosterOrganization, "社会组织": geo.RosterOrganization, "organization": geo.RosterOrganization,
}

// rosterCell normalises a cell: full-width digits, letters and brackets
// (typed with a Chinese input method) become ASCII, and the ends are
// trimmed.
func rosterCell(s string) string {
	return strings.TrimSpace(width.Narrow.String(s))
}

// rosterHeaderKey normalises a header: no spaces and no required-field
// marks ("*姓名"), lower case.
func rosterHeaderKey(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '*', '\n', '\r':
			return -1
		}
		return r
	}, rosterCell(s))
	return strings.ToLower(s)
}

// rosterColumn locates a field in the file.
type rosterColumn struct {
	Letter string
	Header string
}

// rosterFile is a roster as read: its rows and where each field is.
type rosterFile struct {
	Format    string
	Sheet     string
	HeaderRow int
	Columns   map[geo.RosterField]rosterColumn
	Rows      []geo.RosterRow
}

// readRoster reads the header row and the person-rows of a roster from
// records (row number, cells), which an .xlsx or .csv reader yields.
func readRoster(next func() (int, []string, bool, error)) (*rosterFile, error) {
	rf := &rosterFile{}
	var index map[int]geo.RosterField
	for {
		line, cells, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if index == nil {
			if line > rosterHeaderScan {
				return nil, problemf(TypeInvalidBody, http.StatusBadRequest,
					"no header row with 姓名 in the first %d rows: the roster needs columns 姓名, 联系电话, 职务 and 网格编码 or 网格名称 (see GET /v1/rosters/template.xlsx)", rosterHeaderScan)
			}
			index = rosterHeaderRow(cells)
			if index == nil {
				continue
			}
			rf.HeaderRow = line
			rf.Columns = map[geo.RosterField]rosterColumn{}
			for i, f := range index {
				name, _ := excelize.ColumnNumberToName(i + 1)
				rf.Columns[f] = rosterColumn{Letter: name, Header: rosterCell(cells[i])}
			}
			if err := rf.checkColumns(); err != nil {
				return nil, err
			}
			continue
		}
		row := geo.RosterRow{Line: line, Values: map[geo.RosterField]string{}}
		empty := true
		for i, cell := range cells {
			f, ok := index[i]
			if !ok {
				continue
			}
			v := rosterCell(cell)
			if len(v) > rosterMaxCellSize {
				v = v[:rosterMaxCellSize]
			}
			if v != "" {
				empty = false
				row.Values[f] = v
			}
		}
		if empty {
			continue
		}
		if len(rf.Rows) == maxRosterRows {
			return nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge,
				"the roster has more than %d rows: split it by village", maxRosterRows)
		}
		rf.Rows = append(rf.Rows, row)
	}
	if index == nil {
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest,
			"no header row with 姓名: the roster needs columns 姓名, 联系电话, 职务 and 网格编码 or 网格名称 (see GET /v1/rosters/template.xlsx)")
	}
	return rf, nil
}

// rosterHeaderRow maps column positions to fields when cells are a header
// row (one holding 姓名), or returns nil. The first column of a field wins.
func rosterHeaderRow(cells []string) map[int]geo.RosterField {
	index := map[int]geo.RosterField{}
	seen := map[geo.RosterField]bool{}
	for i, cell := range cells {
		if f, ok := rosterHeaders[rosterHeaderKey(cell)]; ok && !seen[f] {
			index[i], seen[f] = f, true
		}
	}
	if !seen[geo.RosterName] {
		return nil
	}
	return index
}

// checkColumns refuses a header row without the columns every row needs.
func (rf *rosterFile) checkColumns() error {
	var missing []string
	if _, ok := rf.Columns[geo.RosterPhone]; !ok {
		missing = append(missing, "联系电话")
	}
	if _, ok := rf.Columns[geo.RosterRole]; !ok {
		missing = append(missing, "职务")
	}
	_, code := rf.Columns[geo.RosterGridCode]
	_, name := rf.Columns[geo.RosterGridName]
	_, village := rf.Columns[geo.RosterVillage]
	if !code && !name && !village {
		missing = append(missing, "网格编码 or 网格名称")
	}
	if len(missing) > 0 {
		return problemf(TypeInvalidBody, http.StatusBadRequest, "the header row (row %d) has no column %s (see GET /v1/rosters/template.xlsx)",
			rf.HeaderRow, strings.Join(missing, ", "))
	}
	return nil
}

// parseXLSX reads the first sheet of an .xlsx roster.
func parseXLSX(body []byte) (*rosterFile, error) {
	f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{RawCellValue: true,
		UnzipSizeLimit: rosterUnzipLimit, UnzipXMLSizeLimit: rosterUnzipLimit})
	if err != nil {
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "not a readable .xlsx file: %s", truncate(err.Error()))
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "the .xlsx file has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "reading sheet %q: %s", sheets[0], truncate(err.Error()))
	}
	defer rows.Close()
	// Next counts every row, empty ones included, so line is the row
	// number Excel shows.
	line := 0
	rf, err := readRoster(func() (int, []string, bool, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return 0, nil, false, problemf(TypeInvalidBody, http.StatusBadRequest, "reading sheet %q: %s", sheets[0], truncate(err.Error()))
			}
			return 0, nil, false, nil
		}
		line++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return 0, nil, false, problemf(TypeInvalidBody, http.StatusBadRequest, "reading row %d of sheet %q: %s", line, sheets[0], truncate(err.Error()))
		}
		return line, cells, true, nil
	})
	if err != nil {
		return nil, err
	}
	rf.Format, rf.Sheet = "xlsx", sheets[0]
	return rf, nil
}

// parseCSV reads a .csv roster: UTF-8 with or without a byte order mark,
// or GB18030 (what Excel and WPS save on Chinese Windows); comma- or
// tab-separated.
func parseCSV(body []byte) (*rosterFile, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(body) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
		if err != nil {
			return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "the .csv file is neither UTF-8 nor GB18030 text")
		}
		body = dec
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord, r.LazyQuotes, r.ReuseRecord = -1, true, false
	firstLine, _, _ := bytes.Cut(body, []byte("\n"))
	if bytes.Count(firstLine, []byte("\t")) > bytes.Count(firstLine, []byte(",")) {
		r.Comma = '\t'
	}
	rf, err := readRoster(func() (int, []string, bool, error) {
		rec, err := r.Read()
		if err == io.EOF {
			return 0, nil, false, nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			return 0, nil, false, problemf(TypeInvalidBody, http.StatusBadRequest, "the .csv file is malformed at line %d: %v", perr.Line, perr.Err)
		} else if err != nil {
			return 0, nil, false, err
		}
		line, _ := r.FieldPos(0)
		return line, rec, true, nil
	})
	if err != nil {
		return nil, err
	}
	rf.Format = "csv"
	return rf, nil
}

// readRosterUpload reads the uploaded file: the raw body, or the first file
// part of a multipart/form-data form (a browser's upload), within the
// server's body limit.
func readRosterUpload(c *gin.Context) ([]byte, string, error) {
	tooBig := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the upload exceeds %d bytes", mbe.Limit)
		}
		return problemf(TypeInvalidBody, http.StatusBadRequest, "reading the upload: %v", err)
	}
	ct := c.GetHeader("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, "", tooBig(err)
		}
		return body, mt, nil
	}
	if params["boundary"] == "" {
		return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "multipart/form-data without a boundary")
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "reading the form: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "the form has no file: send the roster as the part named file")
		} else if err != nil {
			return nil, "", tooBig(err)
		}
		if part.FileName() == "" && part.FormName() != "file" {
			continue
		}
		body, err := io.ReadAll(part)
		if err != nil {
			return nil, "", tooBig(err)
		}
		kind := part.Header.Get("Content-Type")
		if strings.HasSuffix(strings.ToLower(part.FileName()), ".csv") {
			kind = "text/csv"
		}
		return body, kind, nil
	}
}

// parseRoster tells the format by content (an .xlsx is a zip), not by
// name or Content-Type, which browsers and WPS get wrong.
func parseRoster(body []byte) (*rosterFile, error) {
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "the upload is empty: send an .xlsx or .csv roster")
	case bytes.HasPrefix(body, []byte("PK\x03\x04")):
		return parseXLSX(body)
	case bytes.HasPrefix(body, []byte("\xd0\xcf\x11\xe0")):
		return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType,
			"an old Excel 97–2003 (.xls) file: save it as .xlsx (Excel 工作簿) or .csv and upload again")
	}
	return parseCSV(body)
}

// rosterRowOut is one row of a roster report.
type rosterRowOut struct {
	Row          int              `json:"row"`
	Name         string           `json:"name"`
	Role         geo.Role         `json:"role,omitempty"`
	Grid         *codeNameJSON    `json:"grid"`
	Village      *codeNameJSON    `json:"village"`
	PersonID     *int64           `json:"person_id"`
	Changes      []string         `json:"changes"`
	Ended        []assignmentOut  `json:"ended"`
	Organization *rosterOrgOut    `json:"organization"`
	Notes        []string         `json:"notes"`
	Errors       []rosterErrorOut `json:"errors"`
}

type rosterOrgOut struct {
	ID   int64       `json:"id"`
	Kind geo.OrgKind `json:"kind"`
	Name string      `json:"name"`
}

// rosterErrorOut locates an error as Excel shows it: row, column letter
// and header.
type rosterErrorOut struct {
	Column string          `json:"column,omitempty"`
	Header string          `json:"header,omitempty"`
	Field  geo.RosterField `json:"field,omitempty"`
	Reason string          `json:"reason"`
}

type rosterSummary struct {
	Rows              int `json:"rows"`
	Errors            int `json:"errors"`
	NewPeople         int `json:"new_people"`
	NewAppointments   int `json:"new_appointments"`
	EndedAppointments int `json:"ended_appointments"`
	Unchanged         int `json:"unchanged"`
}

// rosterReportOut is the report of POST /v1/rosters.
type rosterReportOut struct {
	DryRun    bool            `json:"dry_run"`
	Applied   bool            `json:"applied"`
	Format    string          `json:"format"`
	Sheet     string          `json:"sheet,omitempty"`
	HeaderRow int             `json:"header_row"`
	Summary   rosterSummary   `json:"summary"`
	Rows      []rosterRowOut  `json:"rows"`
	Ended     []assignmentOut `json:"ended"`
}

// rosterProblem is the 422 answer: a problem whose errors[] name every
// row and column at fault, with the whole report.
type rosterProblem struct {
	Problem
	Report *rosterReportOut `json:"report"`
}

// importRoster answers POST /v1/rosters[?dry_run=] (admin) with an .xlsx
// or .csv roster, one row per person. By default it is a dry run: it
// reports per row what would change and writes nothing; dry_run=false
// applies it, all in one transaction. A roster with any row in error is
// 422 with the report, and nothing is written either way.
func (s *Server) importRoster(c *gin.Context) error {
	store, err := s.peopleStore()
	if err != nil {
		return err
	}
	dryRun := true
	if raw, ok := c.GetQuery("dry_run"); ok {
		if dryRun, err = strconv.ParseBool(raw); err != nil {
			return badParam("dry_run", "got %q, want true or false", truncate(raw))
		}
	}
	body, _, err := readRosterUpload(c)
	if err != nil {
		return err
	}
	rf, err := parseRoster(body)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	report, err := store.ImportRoster(c.Request.Context(), rf.Rows, !dryRun, callerName(c), now)
	if err != nil {
		return err
	}
	if report.Applied {
		s.peopleReload(c)
	}
	out := s.rosterReportJSON(c, rf, report, dryRun)
	if out.Summary.Errors == 0 {
		c.JSON(http.StatusOK, out)
		return nil
	}
	p := rosterProblem{Problem: *problemf(TypeInvalidBody, http.StatusUnprocessableEntity,
		"%d of %d rows have errors: nothing was written; fix the rows named in errors and upload again", out.Summary.Errors, out.Summary.Rows),
		Report: out}
	p.Instance, p.RequestID = c.Request.URL.Path, c.GetString(requestIDKey)
	for _, row := range out.Rows {
		for _, e := range row.Errors {
			where := fmt.Sprintf("row %d", row.Row)
			if e.Column != "" {
				where += fmt.Sprintf(", column %s (%s)", e.Column, e.Header)
			}
			p.Errors = append(p.Errors, geo.Problem{Where: where, Reason: e.Reason})
		}
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return err
	}
	c.Data(http.StatusUnprocessableEntity, ProblemContentType, b)
	return nil
}

// rosterReportJSON renders the report, locating errors by column.
func (s *Server) rosterReportJSON(c *gin.Context, rf *rosterFile, r *geo.RosterReport, dryRun bool) *rosterReportOut {
	personal := callerRole(c).SeesPersonalData()
	snap := s.registry.Load()
	out := &rosterReportOut{DryRun: dryRun, Applied: r.Applied, Format: rf.Format, Sheet: rf.Sheet, HeaderRow: rf.HeaderRow,
		Rows: []rosterRowOut{}, Ended: []assignmentOut{}}
	for _, row := range r.Rows {
		ro := rosterRowOut{Row: row.Line, Name: row.Name, Role: row.Role, Changes: row.Changes, Ended: []assignmentOut{},
			Notes: row.Notes, Errors: []rosterErrorOut{}}
		if ro.Changes == nil {
			ro.Changes = []string{}
		}
		if ro.Notes == nil {
			ro.Notes = []string{}
		}
		if row.PersonID > 0 {
			id := row.PersonID
			ro.PersonID = &id
		}
		if row.GridCode != "" {
			ro.Grid = &codeNameJSON{Code: row.GridCode}
			if g, ok := snap.Grid(row.GridCode); ok {
				ro.Grid.Name = g.Name
			}
		}
		if row.VillageCode != "" {
			ro.Village = &codeNameJSON{Code: row.VillageCode}
			if v, ok := snap.Village(row.VillageCode); ok {
				ro.Village.Name = v.Name
			}
		}
		if o := row.Organization; o != nil {
			ro.Organization = &rosterOrgOut{ID: o.ID, Kind: o.Kind, Name: o.Name}
		}
		for _, e := range row.Ended {
			ro.Ended = append(ro.Ended, s.assignmentJSON(e, true, personal))
		}
		for _, e := range row.Errors {
			eo := rosterErrorOut{Field: e.Field, Reason: e.Reason}
			if col, ok := rf.Columns[e.Field]; ok {
				eo.Column, eo.Header = col.Letter, col.Header
			}
			ro.Errors = append(ro.Errors, eo)
		}
		out.Rows = append(out.Rows, ro)
		out.Summary.Rows++
		if len(row.Errors) > 0 {
			out.Summary.Errors++
		}
		for _, ch := range row.Changes {
			switch ch {
			case geo.ChangeNewPerson:
				out.Summary.NewPeople++
			case geo.ChangeNewAppointment:
				out.Summary.NewAppointments++
			case geo.ChangeUnchanged:
				out.Summary.Unchanged++
			}
		}
		out.Summary.EndedAppointments += len(row.Ended)
	}
	for _, e := range r.Ended {
		out.Ended = append(out.Ended, s.assignmentJSON(e, true, personal))
	}
	out.Summary.EndedAppointments += len(r.Ended)
	return out
}

// rosterTemplate answers GET /v1/rosters/template.xlsx: the layout POST
// /v1/rosters expects, with Chinese headers, an example row, a sheet that
// explains the columns and one that lists the current grids. Open to
// everyone: it holds no personal data.
func (s *Server) rosterTemplate(c *gin.Context) error {
	b, err := rosterTemplateXLSX(s.registry.Load())
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `attachment; filename="wangge-roster-template.xlsx"; filename*=UTF-8''`+url.PathEscape("网格人员花名册模板.xlsx"))
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, xlsxContentType, b)
	return nil
}

// rosterTemplateColumns are the template's columns: header, width, and
// whether Excel must keep the cell as text (phones and 15-digit codes
// would otherwise turn into numbers like 4.31321E+14).
var rosterTemplateColumns = []struct {
	header string
	width  float64
	text   bool
	help   string
}{
	{"序号", 6, false, "可选，不导入。"},
	{"姓名", 10, false, "必填。两字姓名中间的空格会被去掉。"},
	{"联系电话", 16, true, "必填。手机号（11位，13x–19x）或带区号的固定电话（如 0738-6812345）。"},
	{"村（社区）", 14, false, "可选。村或社区的名称或12位统计代码；网格名称在全镇重名时必填；联村工作组组长可只填此列。"},
	{"网格编码", 18, true, "网格编码与网格名称至少填一项。15位编码（村代码+3位序号），以编码为准。"},
	{"网格名称", 14, false, "网格编码与网格名称至少填一项。"},
	{"职务", 16, false, "必填：网格长、副网格长、网格员或联村工作组组长。"},
	{"组织", 22, false, "可选。所属社会组织（如红白喜事理事会）的名称，仅核对是否存在，不改变组织成员。"},
	{"备注", 24, false, "可选，不导入。"},
}

// rosterTemplateXLSX builds the template for snap's town.
func rosterTemplateXLSX(snap *geo.Snapshot) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet, help, grids = "花名册", "填写说明", "网格列表"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": keep as text
	if err != nil {
		return nil, err
	}
	example, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Italic: true, Color: "808080"}})
	if err != nil {
		return nil, err
	}
	var g *geo.GridRecord
	village := ""
	if len(snap.Grids) > 0 {
		g = &snap.Grids[0]
		if v, ok := snap.Village(g.VillageCode); ok {
			village = v.Name
		}
	}
	exampleRow := []any{1, "张三", "13800000000", village, "", "", "网格长", "", "示例行：上传前请删除"}
	if g != nil {
		exampleRow[4], exampleRow[5] = g.Code, g.Name
	}
	for i, col := range rosterTemplateColumns {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(sheet, name+"1", col.header); err != nil {
			return nil, err
		}
		if err := f.SetColWidth(sheet, name, name, col.width); err != nil {
			return nil, err
		}
		if col.text {
			if err := f.SetColStyle(sheet, name, text); err != nil {
				return nil, err
			}
		}
		if err := f.SetCellValue(sheet, name+"2", exampleRow[i]); err != nil {
			return nil, err
		}
	}
	last, _ := excelize.ColumnNumberToName(len(rosterTemplateColumns))
	if err := f.SetCellStyle(sheet, "A1", last+"1", bold); err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(sheet, "A2", last+"2", example); err != nil {
		return nil, err
	}
	dv := excelize.NewDataValidation(true)
	dv.Sqref = "G2:G20001"
	if err := dv.SetDropList([]string{"网格长", "副网格长", "网格员", "联村工作组组长"}); err != nil {
		return nil, err
	}
	if err := f.AddDataValidation(sheet, dv); err != nil {
		return nil, err
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}

	if _, err := f.NewSheet(help); err != nil {
		return nil, err
	}
	lines := [][]any{{"列", "说明"}}
	for _, col := range rosterTemplateColumns {
		lines = append(lines, []any{col.header, col.help})
	}
	lines = append(lines, []any{}, []any{"规则", ""},
		[]any{"一人一行", "同一人担任多个职务时每个职务一行；同一行重复出现会被拒绝。"},
		[]any{"以名单为准", "名单中出现的每个网格的每种职务（如某网格的网格长、网格员），以名单为准：名单未列出的原任职人员将被免去该职务；名单未出现的网格与职务不变。"},
		[]any{"一岗一人", "每个网格只有一名网格长、一名副网格长，每个村只有一名联村工作组组长；新任命生效时原任职务同时结束。"},
		[]any{"人员识别", "按姓名+电话识别在职人员；电话不同视为新人员（更换电话请先在系统中修改）。"},
		[]any{"先预检后导入", "上传默认只预检（dry_run=true），逐行报告将发生的变化与错误（行号、列）；确认无误后以 dry_run=false 导入，全部成功或全部不变。"},
		[]any{"限制", fmt.Sprintf("最多 %d 行；也可上传 UTF-8 或 GB18030 编码的 .csv 文件，表头相同。", maxRosterRows)},
		[]any{"网格版本", fmt.Sprintf("第 %d 代（%s）", snap.Generation, snap.Town.Name)},
	)
	for i, l := range lines {
		if err := f.SetSheetRow(help, fmt.Sprintf("A%d", i+1), &l); err != nil {
			return nil, err
		}
	}
	if err := f.SetColWidth(help, "A", "A", 14); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(help, "B", "B", 100); err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(help, "A1", "B1", bold); err != nil {
		return nil, err
	}

	if _, err := f.NewSheet(grids); err != nil {
		return nil, err
	}
	if err := f.SetSheetRow(grids, "A1", &[]any{"网格编码", "网格名称", "村（社区）", "村代码"}); err != nil {
		return nil, err
	}
	for i := range snap.Grids {
		gr := &snap.Grids[i]
		vname := ""
		if v, ok := snap.Village(gr.VillageCode); ok {
			vname = v.Name
		}
		if err := f.SetSheetRow(grids, fmt.Sprintf("A%d", i+2), &[]any{gr.Code, gr.Name, vname, gr.VillageCode}); err != nil {
			return nil, err
		}
	}
	if err := f.SetColStyle(grids, "A", text); err != nil {
		return nil, err
	}
	if err := f.SetColStyle(grids, "D", text); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(grids, "A", "D", 18); err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(grids, "A1", "D1", bold); err != nil {
		return nil, err
	}
	f.SetActiveSheet(0)
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
