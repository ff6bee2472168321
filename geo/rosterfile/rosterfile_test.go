package rosterfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

// xlsx writes rows to the first sheet of a new workbook from row 1;
// numeric marks cells written as numbers, as a clerk typing a phone gets.
func xlsx(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(b)
}

const grid1 = "431321101201001"

// csvText is a roster as Excel saves it as CSV: CRLF, one person-row.
const csvText = "姓名,联系电话,网格编码,职务\r\n王五,13900008888," + grid1 + ",网格长\r\n"

// rowsOf renders the rows as "line:field=value ..." in field order.
func rowsOf(rf *File) string {
	fields := []geo.RosterField{geo.RosterName, geo.RosterPhone, geo.RosterVillage, geo.RosterGridCode,
		geo.RosterGridName, geo.RosterRole, geo.RosterOrganization}
	var out []string
	for _, r := range rf.Rows {
		s := fmt.Sprint(r.Line, ":")
		for _, f := range fields {
			if v, ok := r.Values[f]; ok {
				s += fmt.Sprintf(" %s=%s", f, v)
			}
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestRead(t *testing.T) {
	wang := "2: name=王五 phone=13900008888 grid_code=" + grid1 + " role=网格长"
	for _, tt := range []struct {
		name      string
		file      []byte
		format    string
		headerRow int
		columns   string // field=letter, in field order
		rows      string
	}{
		{name: "csv utf-8", file: []byte(csvText), format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_code=C role=D", rows: wang},
		{name: "csv utf-8 with a byte order mark", file: append([]byte("\xef\xbb\xbf"), csvText...), format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_code=C role=D", rows: wang},
		{name: "csv gb18030", file: gb18030(t, csvText), format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_code=C role=D", rows: wang},
		{name: "csv gbk, lf line ends", file: gb18030(t, strings.ReplaceAll(csvText, "\r\n", "\n")), format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_code=C role=D", rows: wang},
		{name: "tab-separated", file: []byte(strings.ReplaceAll(csvText, ",", "\t")), format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_code=C role=D", rows: wang},
		{
			// A title row, full-width brackets and digits, required-field
			// marks, spaces inside headers, an ignored 序号 column, an
			// English header, an empty row and a second 电话 column (the
			// first wins).
			name: "csv below a title, headers as typed",
			file: []byte("荷叶镇网格人员花名册,,,,,,\n" +
				"序号,* 姓 名,手机号,村（社区）,所在网格,Role,电话\n" +
				"1,王 五,１３９００００８８８８,１村,网格1,网格长,0738-6812345\n" +
				",,,,,,\n" +
				"2,\"赵六\",13600000010,1村,网格1,网格员,\n"),
			format: "csv", headerRow: 2,
			columns: "name=B phone=C village=D grid_name=E role=F",
			rows: "3: name=王 五 phone=13900008888 village=1村 grid_name=网格1 role=网格长\n" +
				"5: name=赵六 phone=13600000010 village=1村 grid_name=网格1 role=网格员",
		},
		{
			// Excel row numbers count the title and the empty row; the
			// phone and the code typed as numbers read as their digits.
			name: "xlsx below a title, numbers as typed",
			file: xlsx(t, [][]any{
				{"荷叶镇网格人员花名册（2026年11月）"},
				{"序号", "姓名", "联系电话", "网格编码", "职务", "组织"},
				{1, "王五", 13900008888, 431321101201001, "网格长", ""},
				{},
				{2, "赵六", "13600000010", grid1, "网格员", "1村red_white_council"},
			}),
			format: "xlsx", headerRow: 2,
			columns: "name=B phone=C grid_code=D role=E organization=F",
			rows: "3: name=王五 phone=13900008888 grid_code=" + grid1 + " role=网格长\n" +
				"5: name=赵六 phone=13600000010 grid_code=" + grid1 + " role=网格员 organization=1村red_white_council",
		},
		{
			name:   "header only",
			file:   []byte("姓名,联系电话,网格名称,职务\n"),
			format: "csv", headerRow: 1,
			columns: "name=A phone=B grid_name=C role=D",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rf, err := Read(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if rf.Format != tt.format || rf.HeaderRow != tt.headerRow {
				t.Errorf("format %s, header row %d; want %s, %d", rf.Format, rf.HeaderRow, tt.format, tt.headerRow)
			}
			if tt.format == "xlsx" && rf.Sheet != "Sheet1" {
				t.Errorf("sheet %q, want Sheet1", rf.Sheet)
			}
			var cols []string
			for _, f := range []geo.RosterField{geo.RosterName, geo.RosterPhone, geo.RosterVillage, geo.RosterGridCode,
				geo.RosterGridName, geo.RosterRole, geo.RosterOrganization} {
				if c, ok := rf.Columns[f]; ok {
					cols = append(cols, fmt.Sprintf("%s=%s", f, c.Letter))
				}
			}
			if got := strings.Join(cols, " "); got != tt.columns {
				t.Errorf("columns %s, want %s", got, tt.columns)
			}
			if got := rowsOf(rf); got != tt.rows {
				t.Errorf("rows\n%s\nwant\n%s", got, tt.rows)
			}
		})
	}
}

func TestRead_errors(t *testing.T) {
	titles := strings.Repeat("荷叶镇花名册\n", HeaderScanRows)
	for _, tt := range []struct {
		name string
		file []byte
		kind error  // ErrTooManyRows, ErrXLS or nil
		msg  string // part of the message
	}{
		{"empty", nil, nil, "the upload is empty"},
		{"blank", []byte(" \r\n\t\n"), nil, "the upload is empty"},
		{"no header", []byte("a,b,c\n1,2,3\n"), nil, "no header row with 姓名"},
		{"header below row 10", []byte(titles + csvText), nil, "no header row with 姓名 in the first 10 rows"},
		{"no phone column", []byte("姓名,网格编码,职务\n王五," + grid1 + ",网格长\n"), nil, "(row 1) has no column 联系电话"},
		{"no role column", []byte("姓名,电话,网格编码\n"), nil, "has no column 职务"},
		{"no grid or village column", []byte("姓名,电话,职务\n"), nil, "has no column 网格编码 or 网格名称"},
		{"everything missing", []byte("姓名,备注\n"), nil, "has no column 联系电话, 职务, 网格编码 or 网格名称"},
		{"old excel", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), ErrXLS, "Excel 97–2003 (.xls)"},
		{"broken xlsx", []byte("PK\x03\x04garbage"), nil, "not a readable .xlsx file"},
		{"too many rows", []byte("姓名,联系电话,网格编码,职务\n" + strings.Repeat("王五,13900008888,"+grid1+",网格长\n", MaxRows+1)),
			ErrTooManyRows, "more than 20000 rows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rf, err := Read(tt.file)
			if err == nil {
				t.Fatalf("read %d rows, want an error", len(rf.Rows))
			}
			if geo.ErrorCode(err) != geo.EINVALID || !strings.Contains(geo.ErrorMessage(err), tt.msg) {
				t.Errorf("%s %q, want EINVALID with %q", geo.ErrorCode(err), geo.ErrorMessage(err), tt.msg)
			}
			for _, kind := range []error{ErrTooManyRows, ErrXLS} {
				if errors.Is(err, kind) != (kind == tt.kind) {
					t.Errorf("errors.Is(%v, %v) = %v", err, kind, !(kind == tt.kind))
				}
			}
		})
	}
}

// TestRead_limits: MaxRows person-rows are read (empty rows do not
// count), and a long cell is cut at a character boundary.
func TestRead_limits(t *testing.T) {
	body := "姓名,联系电话,网格编码,职务\n" + strings.Repeat("王五,13900008888,"+grid1+",网格长\n,,,\n", MaxRows)
	rf, err := Read([]byte(body))
	if err != nil || len(rf.Rows) != MaxRows || rf.Rows[MaxRows-1].Line != 2*MaxRows {
		t.Fatalf("%d rows: %v", len(rf.Rows), err)
	}
	long := strings.Repeat("长", MaxCellBytes) // 3 bytes each
	rf, err = Read([]byte("姓名,联系电话,网格编码,职务\n" + long + ",1,2,3\n"))
	if err != nil {
		t.Fatal(err)
	}
	name := rf.Rows[0].Values[geo.RosterName]
	if len(name) != MaxCellBytes-MaxCellBytes%3 || name != long[:len(name)] {
		t.Errorf("a %d-byte cell was cut to %d bytes (valid: %v)", len(long), len(name), strings.ToValidUTF8(name, "") == name)
	}
}

// TestTemplate: the template of the demo town has its sheets, and read
// back as a roster it is one row, the example, naming the first grid.
func TestTemplate(t *testing.T) {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := geo.NewSnapshot(1, td.Area(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Template(snap)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "花名册,填写说明,网格列表" {
		t.Errorf("sheets %s", got)
	}
	if grids, _ := f.GetRows("网格列表"); len(grids) != len(snap.Grids)+1 {
		t.Errorf("网格列表 has %d rows, want %d grids and a header", len(grids), len(snap.Grids))
	}
	rf, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	g := snap.Grids[0]
	v, _ := snap.Village(g.VillageCode)
	want := fmt.Sprintf("2: name=张三 phone=138 0000 0000 village=%s grid_code=%s grid_name=%s role=网格长", v.Name, g.Code, g.Name)
	if rf.Format != "xlsx" || rf.Sheet != "花名册" || rf.HeaderRow != 1 || rowsOf(rf) != want {
		t.Errorf("template read as %s %q header row %d:\n%s\nwant\n%s", rf.Format, rf.Sheet, rf.HeaderRow, rowsOf(rf), want)
	}
}

// TestRead_fullRoster: a full roster (MaxRows rows of nine columns) is
// under 1 MiB as .xlsx, well within the server's default 4 MiB body limit,
// and reads.
func TestRead_fullRoster(t *testing.T) {
	rows := [][]any{{"序号", "姓名", "联系电话", "村（社区）", "网格编码", "网格名称", "职务", "组织", "备注"}}
	for i := range MaxRows {
		rows = append(rows, []any{i + 1, fmt.Sprintf("网格员%05d", i), fmt.Sprintf("139%08d", i), "荷叶村",
			fmt.Sprintf("431321101%03d%03d", i/100, i%100), fmt.Sprintf("荷叶村第%d网格", i%100), "网格员", "红白喜事理事会", ""})
	}
	b := xlsx(t, rows)
	if len(b) > 1<<20 {
		t.Errorf("a %d-row roster is %d bytes, more than 1 MiB", MaxRows, len(b))
	}
	rf, err := Read(b)
	if err != nil || len(rf.Rows) != MaxRows {
		t.Fatalf("%v", err)
	}
	t.Logf("a %d-row .xlsx roster is %d KiB", MaxRows, len(b)>>10)
}
