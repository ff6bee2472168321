package rosterfile

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// Limits bound what reading one roster may cost, so that a small hostile
// upload (an .xlsx whose shared strings inflate to 60 MiB, a cell in
// column XFD that makes every row 16,384 cells wide) fails fast with a
// clear error. An .xlsx is a zip: every part's declared size and ratio are
// checked, the shared strings counted and the first sheet's cells scanned
// for their columns, all before excelize parses it. A zero field takes its
// default from DefaultLimits; a negative field is no limit.
type Limits struct {
	// MaxRows is the most person-rows a roster may have; empty rows and
	// the rows above the header do not count. Default MaxRows (20,000).
	MaxRows int
	// MaxColumns is the rightmost column a cell may be in: default 64
	// (column BL). A roster has about ten.
	MaxColumns int
	// MaxBytes bounds the upload and, for an .xlsx, each part
	// decompressed and all parts together. Default 64 MiB.
	MaxBytes int64
	// MaxRatio bounds how much a part of an .xlsx may expand: its
	// uncompressed size over its compressed size, for parts over 1 MiB.
	// Default 200 (sheets expand 5 to 30 times).
	MaxRatio int64
	// MaxSharedStrings bounds the distinct texts of an .xlsx (its
	// sharedStrings part), which excelize holds in memory at about 400
	// bytes each. Default 200,000.
	MaxSharedStrings int
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxRows:          MaxRows,
	MaxColumns:       64,
	MaxBytes:         64 << 20,
	MaxRatio:         200,
	MaxSharedStrings: 200_000,
}

// ratioFloor is the uncompressed size below which a part's ratio is not
// checked.
const ratioFloor = 1 << 20

func (l Limits) resolved() Limits {
	d := DefaultLimits
	i := func(v *int, def int) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = int(^uint(0) >> 1)
		}
	}
	i64 := func(v *int64, def int64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 1<<63 - 1
		}
	}
	i(&l.MaxRows, d.MaxRows)
	i(&l.MaxColumns, d.MaxColumns)
	i64(&l.MaxBytes, d.MaxBytes)
	i64(&l.MaxRatio, d.MaxRatio)
	i(&l.MaxSharedStrings, d.MaxSharedStrings)
	return l
}

// TooLargeError is the error of a roster over one of its Limits. It wraps
// an EINVALID *geo.Error (so geo.ErrorCode and geo.ErrorMessage work on
// it) whose message names the limit and the value the file has or
// claims; api answers it 413. A roster of too many rows is one too, and
// also matches ErrTooManyRows.
type TooLargeError struct {
	// Limit is the Limits field that was exceeded: "MaxColumns".
	Limit string
	Err   *geo.Error
	kind  error
}

func (e *TooLargeError) Error() string { return e.Err.Error() }

func (e *TooLargeError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.Err, e.kind}
	}
	return []error{e.Err}
}

// TooLarge marks the error for IsTooLarge.
func (e *TooLargeError) TooLarge() bool { return true }

// IsTooLarge reports whether err is (or wraps) an error of a file over a
// limit: a *TooLargeError of this package, or any error with a method
// TooLarge() bool that returns true (layerfile's TooLargeError has one).
func IsTooLarge(err error) bool {
	var t interface{ TooLarge() bool }
	return errors.As(err, &t) && t.TooLarge()
}

// tooLarge returns a *TooLargeError whose message ends naming the limit.
func tooLarge(limit, format string, args ...any) *TooLargeError {
	return &TooLargeError{Limit: limit, Err: invalidf("%s (limit %s)", fmt.Sprintf(format, args...), limit)}
}

// checkXLSX checks an .xlsx before excelize reads it: every part's
// declared size against MaxBytes (and all of them together) and its
// expansion against MaxRatio, the shared strings against
// MaxSharedStrings, and the first sheet's cells against MaxColumns and
// MaxRows×MaxColumns. Parts are streamed, never held whole. A zip it
// cannot read is left for excelize to describe.
func checkXLSX(b []byte, lim Limits) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil
	}
	parts := map[string]*zip.File{}
	var total uint64
	for _, f := range zr.File {
		size, packed := f.UncompressedSize64, max(f.CompressedSize64, 1)
		if size > uint64(lim.MaxBytes) {
			return tooLarge("MaxBytes", "the .xlsx part %s decompresses to %s, over %s", f.Name, sizeText(size), sizeText(uint64(lim.MaxBytes)))
		}
		if total += size; total > uint64(lim.MaxBytes) {
			return tooLarge("MaxBytes", "the .xlsx parts decompress to more than %s together", sizeText(uint64(lim.MaxBytes)))
		}
		if size > ratioFloor && size/packed > uint64(lim.MaxRatio) {
			return tooLarge("MaxRatio", "the .xlsx part %s expands %d times, from %s to %s (a zip bomb?), over %d times",
				f.Name, size/packed, sizeText(packed), sizeText(size), lim.MaxRatio)
		}
		parts[strings.TrimPrefix(f.Name, "/")] = f
	}
	if f := parts["xl/sharedStrings.xml"]; f != nil {
		n := 0
		err := scanXML(f, func(dec *xml.Decoder, t xml.StartElement) error {
			if t.Name.Local == "si" {
				if n++; n > lim.MaxSharedStrings {
					return tooLarge("MaxSharedStrings", "the .xlsx holds more than %d distinct texts (xl/sharedStrings.xml)", lim.MaxSharedStrings)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if sheet := firstSheet(parts); sheet != nil {
		return checkSheet(sheet, lim)
	}
	return nil
}

// checkSheet scans a worksheet's cells: none may be right of MaxColumns,
// and there may be no more than MaxRows×MaxColumns of them (excelize pads
// every row to its rightmost cell, so one cell in column XFD would make
// each row 16,384 cells).
func checkSheet(f *zip.File, lim Limits) error {
	maxCells := int64(lim.MaxRows) * int64(lim.MaxColumns)
	var cells int64
	col, row := 0, 0
	return scanXML(f, func(dec *xml.Decoder, t xml.StartElement) error {
		switch t.Name.Local {
		case "row":
			col = 0
			row++
			if r := attrValue(t, "r"); r != "" {
				row, _ = strconv.Atoi(r)
			}
		case "c":
			col++
			if r := attrValue(t, "r"); r != "" {
				if c, rr, err := excelize.CellNameToCoordinates(r); err == nil {
					col, row = c, rr
				}
			}
			if col > lim.MaxColumns {
				name, _ := excelize.ColumnNumberToName(min(col, excelize.MaxColumns))
				return tooLarge("MaxColumns", "cell %s%d is in column %d, right of column %d: delete the columns right of the roster's last one",
					name, row, col, lim.MaxColumns)
			}
			if cells++; cells > maxCells {
				return tooLarge("MaxColumns", "the sheet has more than %d cells (%d rows of %d columns)", maxCells, lim.MaxRows, lim.MaxColumns)
			}
		}
		return nil
	})
}

// scanXML streams a part's start elements to visit. A part that is not
// well-formed XML is left for excelize to describe.
func scanXML(f *zip.File, visit func(*xml.Decoder, xml.StartElement) error) error {
	rc, err := f.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return nil
		}
		if t, ok := tok.(xml.StartElement); ok {
			if err := visit(dec, t); err != nil {
				return err
			}
		}
	}
}

func attrValue(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// firstSheet finds the part of the workbook's first sheet, the one
// excelize's GetSheetList puts first: the first <sheet> of
// xl/workbook.xml, through its relationship in
// xl/_rels/workbook.xml.rels.
func firstSheet(parts map[string]*zip.File) *zip.File {
	wb, rels := parts["xl/workbook.xml"], parts["xl/_rels/workbook.xml.rels"]
	if wb == nil || rels == nil {
		return nil
	}
	var id string
	scanXML(wb, func(_ *xml.Decoder, t xml.StartElement) error {
		if t.Name.Local == "sheet" && id == "" {
			id = attrValue(t, "id")
			return io.EOF // stop
		}
		return nil
	})
	var target string
	scanXML(rels, func(_ *xml.Decoder, t xml.StartElement) error {
		if t.Name.Local == "Relationship" && attrValue(t, "Id") == id {
			target = attrValue(t, "Target")
			return io.EOF
		}
		return nil
	})
	if id == "" || target == "" {
		return nil
	}
	if strings.HasPrefix(target, "/") {
		return parts[strings.TrimPrefix(target, "/")]
	}
	return parts[path.Join("xl", target)]
}

// sizeText renders a byte count for messages: "60 MiB", "168 KB".
func sizeText(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%d KB", n/1000)
	}
	return fmt.Sprintf("%d bytes", n)
}
