package layerfile

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// This file writes the grids as tables: CSV with the geometry as WKT (for
// GDAL, QGIS's "delimited text" layers, PostGIS COPY) and an .xlsx
// attribute table for people who work in Excel or WPS. Both carry the
// attributes of the GeoJSON export, in its order.

// tableColumns are the attribute columns of the tables: the GeoJSON
// property names (the CSV header, readable by GDAL and scripts) and the
// Chinese headers of the .xlsx sheet (read by people).
var tableColumns = []struct{ name, zh string }{
	{"code", "网格编码"},
	{"name", "网格名称"},
	{"village_code", "村（社区）编码"},
	{"village_name", "村（社区）名称"},
	{"households", "户数"},
	{"population", "人口"},
	{"leader", "网格长"},
}

// cells returns r's attributes in tableColumns order, as text.
func (r row) cells() []string {
	return []string{r.Code, r.Name, r.VillageCode, r.VillageName, strconv.Itoa(r.Households), strconv.Itoa(r.Population), r.Leader}
}

// WriteCSV renders td's grids as CSV (RFC 4180, UTF-8 with a byte order
// mark so that Excel reads the Chinese right), one row per grid sorted by
// code: the geometry as WKT in the first column, named "WKT" (the column
// GDAL's CSV driver reads geometry from), then the attributes of the
// GeoJSON export. Coordinates are the shortest text that parses back to
// the same float64, so nothing is lost. An empty leader is an empty cell.
func WriteCSV(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	rs, err := rows(td, opts.CRS)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	header := []string{"WKT"}
	for _, c := range tableColumns {
		header = append(header, c.name)
	}
	if err := w.Write(header); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := w.Write(append([]string{string(AppendWKT(nil, r.geom))}, r.cells()...)); err != nil {
			return nil, fmt.Errorf("grid %s: %w", r.Code, err)
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// AppendWKT appends mp as a WKT MULTIPOLYGON with coordinates in shortest
// round-trip form: MULTIPOLYGON (((x y, x y, …)), …).
func AppendWKT(b []byte, mp orb.MultiPolygon) []byte {
	b = append(b, "MULTIPOLYGON ("...)
	for i, poly := range mp {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for j, ring := range poly {
			if j > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '(')
			for k, p := range ring {
				if k > 0 {
					b = append(b, ", "...)
				}
				b = strconv.AppendFloat(b, p[0], 'f', -1, 64)
				b = append(b, ' ')
				b = strconv.AppendFloat(b, p[1], 'f', -1, 64)
			}
			b = append(b, ')')
		}
		b = append(b, ')')
	}
	return append(b, ')')
}

// xlsxSheet names the sheet of the attribute table.
const xlsxSheet = "网格"

// WriteXLSX renders td's grids as an .xlsx workbook with one sheet, 网格:
// a header row in Chinese (frozen, with a filter), then one row per grid
// sorted by code, households and population as numbers, codes as text (so
// Excel keeps all 15 digits). There is no geometry: a cell holds at most
// 32,767 characters, fewer than a grid's outline takes; the CSV export
// carries it. The workbook is stamped with opts' modification time, so the
// same grids give the same bytes.
func WriteXLSX(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	rs, err := rows(td, opts.CRS)
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", xlsxSheet); err != nil {
		return nil, err
	}
	stamp := opts.modified().Format("2006-01-02T15:04:05Z")
	if err := f.SetDocProps(&excelize.DocProperties{Title: opts.name(), Creator: "wangge", Created: stamp, Modified: stamp}); err != nil {
		return nil, err
	}
	header := make([]any, len(tableColumns))
	for i, c := range tableColumns {
		header[i] = c.zh
	}
	if err := f.SetSheetRow(xlsxSheet, "A1", &header); err != nil {
		return nil, err
	}
	for i, r := range rs {
		cells := []any{r.Code, r.Name, r.VillageCode, r.VillageName, r.Households, r.Population, r.Leader}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(xlsxSheet, cell, &cells); err != nil {
			return nil, fmt.Errorf("grid %s: %w", r.Code, err)
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(tableColumns), len(rs)+1)
	if err := f.AutoFilter(xlsxSheet, "A1:"+last, nil); err != nil {
		return nil, err
	}
	if err := f.SetPanes(xlsxSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	for col, width := range map[string]float64{"A": 18, "B": 14, "C": 16, "D": 16, "G": 12} {
		if err := f.SetColWidth(xlsxSheet, col, col, width); err != nil {
			return nil, err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	if err := f.SetRowStyle(xlsxSheet, 1, 1, bold); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
