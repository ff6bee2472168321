// Package rosterfile reads the staff rosters (花名册) that township offices
// keep in Excel or WPS, one row per person and role, and writes the
// template they are filled in from. It does no I/O: Read takes the bytes
// of a file, Template returns them. What a row means (which grid, which
// role, whether the phone is valid) is decided by the people store
// (geo.PeopleStore.ImportRoster), not here: this package only finds the
// columns and hands over the normalised cells.
//
// A roster is an .xlsx workbook or a .csv file, told apart by content,
// not by name or media type, which browsers and WPS get wrong. Its header
// row is the first row, among the first ten, with a name column (姓名,
// 名字 or name); rows above it (a title such as "荷叶镇网格人员花名册") are
// skipped. Headers are matched after normalisation (full-width characters
// made ASCII, spaces and required-field marks "*" removed, lower case)
// against the names rosters use (联系电话, 手机号, 网格编码, 所在网格,
// 职务...) and their English equivalents. The header row must have columns
// for the name, the phone, the role and at least one of grid code, grid
// name or village.
//
// Every error is a *geo.Error with code EINVALID whose message says what is
// wrong and what is expected; an error of too many rows also matches
// ErrTooManyRows, and one of an old .xls workbook ErrXLS (errors.Is), so
// that a caller can answer them differently. A roster over one of its
// Limits (rows, columns, bytes, expansion, shared strings) gives a
// *TooLargeError, told apart by IsTooLarge.
package rosterfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"

	"wangge/geo"
	"wangge/geo/gbtext"
)

// Limits of a roster.
const (
	// MaxRows is the most person-rows a roster may have; empty rows and
	// the rows above the header do not count. A roster this long is
	// under 1 MiB as .xlsx (TestRead_fullRoster).
	MaxRows = 20_000
	// MaxCellBytes is the length a cell is cut to (at a character
	// boundary); no name, phone or code comes near it.
	MaxCellBytes = 1000
	// HeaderScanRows is how many rows from the top are searched for the
	// header row.
	HeaderScanRows = 10
)

// ContentType is the media type of an .xlsx workbook.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Errors that Read's error matches (errors.Is) besides being an EINVALID
// *geo.Error.
var (
	// ErrTooManyRows: the roster has more than MaxRows person-rows.
	ErrTooManyRows = errors.New("rosterfile: too many rows")
	// ErrXLS: the file is an Excel 97–2003 (.xls) workbook, which is not
	// read; saved as .xlsx or .csv it is.
	ErrXLS = errors.New("rosterfile: an Excel 97-2003 workbook")
)

// kindError is an EINVALID *geo.Error that also matches one of the errors
// above.
type kindError struct {
	err  *geo.Error
	kind error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

func invalidf(format string, args ...any) *geo.Error {
	return geo.Errorf(geo.EINVALID, format, args...)
}

// templateHint ends the messages of a roster without the columns needed.
const templateHint = "the roster needs columns 姓名, 联系电话, 职务 and 网格编码 or 网格名称 (see GET /v1/rosters/template.xlsx)"

// headers maps the headers township rosters use (normalised by headerKey)
// to fields. English names are accepted too.
var headers = map[string]geo.RosterField{
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

// Column locates a field in the file as a spreadsheet shows it.
type Column struct {
	Letter string // the column letter: "C"
	Header string // the header cell, normalised: "联系电话"
}

// File is a roster as read: where each field is, and the person-rows.
type File struct {
	Format    string // "xlsx" or "csv"
	Sheet     string // the sheet read, for an .xlsx
	HeaderRow int    // the row number of the header, counting from 1
	Columns   map[geo.RosterField]Column
	// Rows are the non-empty rows below the header, in order. Line is
	// the row number Excel shows (for a .csv, the line the record starts
	// on); Values holds the non-empty cells of known columns.
	Rows []geo.RosterRow
}

// Read reads a roster within DefaultLimits, telling the format by
// content: a zip is an .xlsx (ReadXLSX), an OLE2 compound file is an old
// .xls (refused with ErrXLS), anything else is a .csv (ReadCSV). An empty
// or blank file is an error.
func Read(b []byte) (*File, error) {
	return ReadWith(b, Limits{})
}

// ReadWith is Read within lim.
func ReadWith(b []byte, lim Limits) (*File, error) {
	lim = lim.resolved()
	recs, err := openRecords(b, lim)
	if err != nil {
		return nil, err
	}
	defer recs.close()
	rf, err := read(recs.next, lim)
	if err != nil {
		return nil, err
	}
	rf.Format, rf.Sheet = recs.format, recs.sheet
	return rf, nil
}

// records yields the rows of a file, .xlsx (its first sheet) or .csv, as
// (row number, cells, more).
type records struct {
	format, sheet string
	next          func() (int, []string, bool, error)
	close         func()
}

// openRecords tells the format of b by content, checks it against lim and
// returns its rows.
func openRecords(b []byte, lim Limits) (*records, error) {
	switch {
	case int64(len(b)) > lim.MaxBytes:
		return nil, tooLarge("MaxBytes", "the file is %s, over %s", sizeText(uint64(len(b))), sizeText(uint64(lim.MaxBytes)))
	case len(bytes.TrimSpace(b)) == 0:
		return nil, invalidf("the upload is empty: send an .xlsx or .csv file")
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return xlsxRecords(b, lim)
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0")):
		return nil, &kindError{invalidf("an old Excel 97–2003 (.xls) file: save it as .xlsx (Excel 工作簿) or .csv and upload again"), ErrXLS}
	}
	return csvRecords(b, lim), nil
}

// ReadXLSX reads the first sheet of an .xlsx roster. Cells are read as
// stored, not as displayed, so a phone or grid code typed as a number
// reads as its digits whatever the cell's number format. Row numbers count
// every row, empty ones included, as Excel shows them. The workbook is
// checked against DefaultLimits before excelize parses it.
func ReadXLSX(b []byte) (*File, error) {
	return readXLSX(b, DefaultLimits)
}

func readXLSX(b []byte, lim Limits) (*File, error) {
	recs, err := xlsxRecords(b, lim)
	if err != nil {
		return nil, err
	}
	defer recs.close()
	rf, err := read(recs.next, lim)
	if err != nil {
		return nil, err
	}
	rf.Format, rf.Sheet = "xlsx", recs.sheet
	return rf, nil
}

func xlsxRecords(b []byte, lim Limits) (*records, error) {
	if err := checkXLSX(b, lim); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{RawCellValue: true,
		UnzipSizeLimit: lim.MaxBytes, UnzipXMLSizeLimit: lim.MaxBytes})
	if err != nil {
		return nil, invalidf("not a readable .xlsx file: %s", geo.Clip(err.Error()))
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, invalidf("the .xlsx file has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, invalidf("reading sheet %q: %s", sheets[0], geo.Clip(err.Error()))
	}
	line := 0
	return &records{format: "xlsx", sheet: sheets[0], close: func() { rows.Close(); f.Close() },
		next: func() (int, []string, bool, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return 0, nil, false, invalidf("reading sheet %q: %s", sheets[0], geo.Clip(err.Error()))
				}
				return 0, nil, false, nil
			}
			line++
			cells, err := rows.Columns(excelize.Options{RawCellValue: true})
			if err != nil {
				return 0, nil, false, invalidf("reading row %d of sheet %q: %s", line, sheets[0], geo.Clip(err.Error()))
			}
			return line, cells, true, nil
		}}, nil
}

// ReadCSV reads a .csv roster: UTF-8 with or without a byte order mark,
// or else GB18030 (GBK), what Excel and WPS save on Chinese Windows (see
// gbtext.UTF8OrGB18030). Fields are separated by tabs when the first line
// has more tabs than commas, by commas otherwise. Records may have any
// number of fields, and a quote inside an unquoted field is taken as it
// is; a non-empty field right of DefaultLimits.MaxColumns is refused.
func ReadCSV(b []byte) (*File, error) {
	return readCSV(b, DefaultLimits)
}

func readCSV(b []byte, lim Limits) (*File, error) {
	rf, err := read(csvRecords(b, lim).next, lim)
	if err != nil {
		return nil, err
	}
	rf.Format = "csv"
	return rf, nil
}

func csvRecords(b []byte, lim Limits) *records {
	b = gbtext.UTF8OrGB18030(b)
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord, r.LazyQuotes, r.ReuseRecord = -1, true, false
	firstLine, _, _ := bytes.Cut(b, []byte("\n"))
	if bytes.Count(firstLine, []byte("\t")) > bytes.Count(firstLine, []byte(",")) {
		r.Comma = '\t'
	}
	return &records{format: "csv", close: func() {}, next: func() (int, []string, bool, error) {
		rec, err := r.Read()
		if err == io.EOF {
			return 0, nil, false, nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			return 0, nil, false, invalidf("the .csv file is malformed at line %d: %v", perr.Line, perr.Err)
		} else if err != nil {
			return 0, nil, false, invalidf("reading the .csv file: %v", err)
		}
		line, _ := r.FieldPos(0)
		for i := lim.MaxColumns; i < len(rec); i++ {
			if strings.TrimSpace(rec[i]) != "" {
				name, _ := excelize.ColumnNumberToName(min(i+1, excelize.MaxColumns))
				return 0, nil, false, tooLarge("MaxColumns", "line %d: field %d (column %s) is right of column %d: delete the columns right of the roster's last one",
					line, i+1, name, lim.MaxColumns)
			}
		}
		return line, rec, true, nil
	}}
}

// read finds the header row and reads the person-rows below it from
// records (row number, cells, more), which an .xlsx or .csv reader yields.
func read(next func() (int, []string, bool, error), lim Limits) (*File, error) {
	rf := &File{}
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
			if line > HeaderScanRows {
				return nil, invalidf("no header row with 姓名 in the first %d rows: %s", HeaderScanRows, templateHint)
			}
			index = headerRow(cells)
			if index == nil {
				continue
			}
			rf.HeaderRow, rf.Columns = line, columnsOf(index, cells)
			if err := rf.checkColumns(); err != nil {
				return nil, err
			}
			continue
		}
		row := geo.RosterRow{Line: line, Values: valuesOf(index, cells)}
		if len(row.Values) == 0 {
			continue
		}
		if len(rf.Rows) == lim.MaxRows {
			e := tooLarge("MaxRows", "the roster has more than %d rows: split it by village", lim.MaxRows)
			e.kind = ErrTooManyRows
			return nil, e
		}
		rf.Rows = append(rf.Rows, row)
	}
	if index == nil {
		return nil, invalidf("no header row with 姓名: %s", templateHint)
	}
	return rf, nil
}

// headerRow maps column positions to fields when cells are a header row
// (one with a name column), or returns nil. The first column of a field
// wins; columns with other headers (序号, 备注) are ignored.
func headerRow(cells []string) map[int]geo.RosterField {
	index, seen := fieldsOf(cells, headers)
	if !seen[geo.RosterName] {
		return nil
	}
	return index
}

// fieldsOf maps the positions of cells whose header names a field (by
// headerKey) to that field, the first column of a field winning, and says
// which fields were seen. Both kinds of roster read their header rows so.
func fieldsOf[F comparable](cells []string, headers map[string]F) (map[int]F, map[F]bool) {
	index := map[int]F{}
	seen := map[F]bool{}
	for i, cell := range cells {
		if f, ok := headers[headerKey(cell)]; ok && !seen[f] {
			index[i], seen[f] = f, true
		}
	}
	return index, seen
}

// columnsOf says where each field of a header row is, for problems that
// name the column.
func columnsOf[F comparable](index map[int]F, header []string) map[F]Column {
	out := make(map[F]Column, len(index))
	for i, f := range index {
		name, _ := excelize.ColumnNumberToName(i + 1)
		out[f] = Column{Letter: name, Header: Cell(header[i])}
	}
	return out
}

// valuesOf is a row's non-empty cells in the header's known columns
// (however wide the row), by field, each clipped to MaxCellBytes.
func valuesOf[F comparable](index map[int]F, cells []string) map[F]string {
	out := map[F]string{}
	for i, f := range index {
		if i >= len(cells) {
			continue
		}
		if v := clip(Cell(cells[i]), MaxCellBytes); v != "" {
			out[f] = v
		}
	}
	return out
}

// checkColumns refuses a header row without the columns every row needs.
func (rf *File) checkColumns() error {
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
		return invalidf("the header row (row %d) has no column %s (see GET /v1/rosters/template.xlsx)",
			rf.HeaderRow, strings.Join(missing, ", "))
	}
	return nil
}

// Cell normalises a cell: full-width digits, letters and brackets (typed
// with a Chinese input method) become ASCII, and the ends are trimmed.
func Cell(s string) string {
	return strings.TrimSpace(width.Narrow.String(s))
}

// headerKey normalises a header: a Cell without spaces, line breaks or
// required-field marks ("*姓名"), in lower case.
func headerKey(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '*', '\n', '\r':
			return -1
		}
		return r
	}, Cell(s))
	return strings.ToLower(s)
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
