package rosterfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// checkRoster is what the roster fuzz targets assert: no panic, an error
// is an EINVALID *geo.Error (a *TooLargeError naming its limit when a
// limit is hit) and no roster, and an accepted roster keeps its limits.
func checkRoster(t *testing.T, rf *File, err error) {
	if err != nil {
		var ge *geo.Error
		if rf != nil || !errors.As(err, &ge) || ge.Code != geo.EINVALID || ge.Message == "" {
			t.Fatalf("got %T %v and roster %v; want EINVALID, no roster", err, err, rf)
		}
		var tl *TooLargeError
		if errors.As(err, &tl) && !strings.Contains(ge.Message, "(limit "+tl.Limit+")") {
			t.Fatalf("a TooLargeError that does not name its limit: %v", err)
		}
		return
	}
	if len(rf.Rows) > DefaultLimits.MaxRows {
		t.Fatalf("accepted %d rows", len(rf.Rows))
	}
	for _, r := range rf.Rows {
		for f, v := range r.Values {
			if v == "" || len(v) > MaxCellBytes {
				t.Fatalf("line %d: %s has %d bytes", r.Line, f, len(v))
			}
		}
	}
}

// xlsxSeeds are a small roster and bombs of a few KB: shared strings
// that inflate past MaxRatio, a cell in column XFD.
func xlsxSeeds(tb testing.TB) [][]byte {
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range [][]any{{"姓名", "联系电话", "网格编码", "职务"}, {"王五", 13900008888, grid1, "网格长"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	base := buf.Bytes()
	swap := func(name, content string) []byte {
		zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
		if err != nil {
			tb.Fatal(err)
		}
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, zf := range zr.File {
			w, _ := zw.Create(zf.Name)
			if zf.Name == name {
				io.WriteString(w, content)
				continue
			}
			rc, _ := zf.Open()
			io.Copy(w, rc)
			rc.Close()
		}
		zw.Close()
		return out.Bytes()
	}
	return [][]byte{
		base,
		swap("xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`+
			strings.Repeat("<si><t>a</t></si>", 4<<20/17)+`</sst>`),
		swap("xl/worksheets/sheet1.xml", sheetHead+`<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>`+
			strings.Repeat(`<row><c t="inlineStr"><is><t>王五</t></is></c><c r="XFD9"><v>1</v></c></row>`, 100)+`</sheetData></worksheet>`),
		swap("xl/worksheets/sheet1.xml", sheetHead+strings.Repeat(`<row><c><v>1</v></c></row>`, 200_000)+`</sheetData></worksheet>`),
	}
}

// FuzzXLSX feeds any bytes to the .xlsx reader.
func FuzzXLSX(f *testing.F) {
	for _, seed := range xlsxSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, err := ReadXLSX(b)
		checkRoster(t, rf, err)
	})
}

// FuzzCSV feeds any bytes to the .csv reader.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(csvText))
	f.Add([]byte("\xef\xbb\xbf姓名\t联系电话\t网格编码\t职务\r\n王五\t13900008888\t" + grid1 + "\t网格长\r\n"))
	f.Add([]byte("姓名,联系电话,网格编码,职务\n王五" + strings.Repeat(",", 100) + "x\n"))
	f.Add([]byte("\"姓名\"\"" + strings.Repeat("\n", 1000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, err := ReadCSV(b)
		checkRoster(t, rf, err)
	})
}
