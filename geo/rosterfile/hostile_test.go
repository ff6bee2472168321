package rosterfile

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"wangge/geo/internal/memtest"

	"wangge/geo"
)

// memBound is what reading one hostile file may hold.
const memBound = memtest.Bound

// measure runs fn and returns the peak heap held, the bytes allocated and
// the time taken.
var measure = memtest.Measure

// replacePart returns the .xlsx b with the part name's content written by
// write instead, streamed so that a bomb is never held whole.
func replacePart(t testing.TB, b []byte, name string, write func(io.Writer)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			write(w)
			found = true
			continue
		}
		rc, _ := f.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	if !found {
		t.Fatalf("no part %s", name)
	}
	zw.Close()
	return out.Bytes()
}

// repeat writes head, n copies of unit and tail to w, a MiB at a time.
func repeat(w io.Writer, head, unit string, n int, tail string) {
	io.WriteString(w, head)
	chunk := strings.Repeat(unit, max(1, (1<<20)/len(unit)))
	per := len(chunk) / len(unit)
	for ; n > 0; n -= per {
		io.WriteString(w, chunk[:min(n, per)*len(unit)])
	}
	io.WriteString(w, tail)
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
	`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`

// TestRead_hostile: each bomb, generated here, is refused with a
// *TooLargeError naming the limit, within memBound of memory; that it
// finishes shows the CPU is bounded. The numbers are logged (and quoted in
// BENCHMARKS.md, "Hostile files").
func TestRead_hostile(t *testing.T) {
	base := xlsx(t, [][]any{{"姓名", "联系电话", "网格编码", "职务"}, {"王五", "13900008888", grid1, "网格长"}})
	tests := []struct {
		name  string
		make  func(t *testing.T) []byte
		lim   Limits
		limit string
		want  string
	}{
		{"xlsx with 60 MiB of shared strings", func(t *testing.T) []byte {
			return replacePart(t, base, "xl/sharedStrings.xml", func(w io.Writer) {
				repeat(w, `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`, "<si><t>a</t></si>", 60<<20/17, "</sst>")
			})
		}, Limits{}, "MaxRatio", "xl/sharedStrings.xml expands"},
		{"xlsx with 60 MiB of shared strings, ratio and size unchecked", func(t *testing.T) []byte {
			return replacePart(t, base, "xl/sharedStrings.xml", func(w io.Writer) {
				repeat(w, `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`, "<si><t>a</t></si>", 60<<20/17, "</sst>")
			})
		}, Limits{MaxRatio: -1, MaxBytes: -1}, "MaxSharedStrings", "more than 200000 distinct texts"},
		{"xlsx with a cell in column XFD on 19,000 rows", func(t *testing.T) []byte {
			return replacePart(t, base, "xl/worksheets/sheet1.xml", func(w io.Writer) {
				io.WriteString(w, sheetHead+`<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>联系电话</t></is></c>`+
					`<c r="C1" t="inlineStr"><is><t>网格编码</t></is></c><c r="D1" t="inlineStr"><is><t>职务</t></is></c></row>`)
				for i := 2; i <= 19_001; i++ {
					fmt.Fprintf(w, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>王五</t></is></c><c r="XFD%d"><v>1</v></c></row>`, i, i, i)
				}
				io.WriteString(w, `</sheetData></worksheet>`)
			})
		}, Limits{}, "MaxColumns", "cell XFD2 is in column 16384, right of column 64"},
		{"csv with a field in column 1000", func(t *testing.T) []byte {
			return []byte("姓名,联系电话,网格编码,职务\n王五,13900008888," + grid1 + ",网格长" + strings.Repeat(",", 996) + "x\n")
		}, Limits{}, "MaxColumns", "field 1000 (column ALL) is right of column 64"},
		{"csv of 30,000 rows", func(t *testing.T) []byte {
			return []byte("姓名,联系电话,网格编码,职务\n" + strings.Repeat("王五,13900008888,"+grid1+",网格长\n", 30_000))
		}, Limits{}, "MaxRows", "more than 20000 rows"},
		{"upload of 65 MiB", func(t *testing.T) []byte {
			return bytes.Repeat([]byte("a,"), 65<<20/2)
		}, Limits{}, "MaxBytes", "the file is 65 MiB, over 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.make(t)
			var rf *File
			var err error
			peak, alloc, took := measure(func() { rf, err = ReadWith(data, tt.lim) })
			t.Logf("%d-byte file: %v; peak heap +%.1f MiB, allocated %.1f MiB, %v",
				len(data), err, float64(peak)/(1<<20), float64(alloc)/(1<<20), took.Round(time.Millisecond))
			if rf != nil || err == nil {
				t.Fatalf("got a roster of %d rows, want an error", len(rf.Rows))
			}
			tl, ok := err.(*TooLargeError)
			if !ok || tl.Limit != tt.limit || !IsTooLarge(err) || geo.ErrorCode(err) != geo.EINVALID {
				t.Errorf("got %T %v, want a *TooLargeError of %s", err, err, tt.limit)
			}
			if msg := geo.ErrorMessage(err); !strings.Contains(msg, tt.want) || !strings.Contains(msg, "(limit "+tt.limit+")") {
				t.Errorf("message %q does not say %q and name the limit", msg, tt.want)
			}
			if peak > memBound {
				t.Errorf("peak heap +%d bytes: want under %d", peak, memBound)
			}
		})
	}
}
