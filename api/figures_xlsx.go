package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"wangge/geo/figures"
)

// The .xlsx 通报: one sheet per level of figures.ReportLevels, each a title,
// a line saying the period and the ranking, the header (styled, frozen),
// the ranked rows and the total; rates as percentages, hours with one
// decimal. A last sheet, 说明, defines every figure.

// xlsxStyles are the cell styles of a 通报.
type xlsxStyles struct {
	title, note, header, text, count, rate, hours int
	totalText, totalCount, totalRate, totalHours  int
}

func newXLSXStyles(f *excelize.File) (xlsxStyles, error) {
	var st xlsxStyles
	border := []excelize.Border{{Type: "left", Color: "A6A6A6", Style: 1}, {Type: "right", Color: "A6A6A6", Style: 1},
		{Type: "top", Color: "A6A6A6", Style: 1}, {Type: "bottom", Color: "A6A6A6", Style: 1}}
	total := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F2F2F2"}}
	defs := []struct {
		dst   *int
		style excelize.Style
	}{
		{&st.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}}},
		{&st.note, excelize.Style{Font: &excelize.Font{Color: "595959"}}},
		{&st.header, excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Border: border,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&st.text, excelize.Style{Border: border, NumFmt: 49}},
		{&st.count, excelize.Style{Border: border, NumFmt: 3}}, // #,##0
		{&st.rate, excelize.Style{Border: border, NumFmt: 10}}, // 0.00%
		{&st.hours, excelize.Style{Border: border, NumFmt: 4}}, // #,##0.00
		{&st.totalText, excelize.Style{Border: border, NumFmt: 49, Fill: total, Font: &excelize.Font{Bold: true}}},
		{&st.totalCount, excelize.Style{Border: border, NumFmt: 3, Fill: total, Font: &excelize.Font{Bold: true}}},
		{&st.totalRate, excelize.Style{Border: border, NumFmt: 10, Fill: total, Font: &excelize.Font{Bold: true}}},
		{&st.totalHours, excelize.Style{Border: border, NumFmt: 4, Fill: total, Font: &excelize.Font{Bold: true}}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(&d.style)
		if err != nil {
			return st, err
		}
		*d.dst = id
	}
	return st, nil
}

// xlsxHeaderRow is the row of the header; data follows it.
const xlsxHeaderRow = 3

func (s *Server) figuresXLSX(c *gin.Context) error {
	r, err := s.readFigures(c)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	st, err := newXLSXStyles(f)
	if err != nil {
		return err
	}
	town := ""
	if snap := s.registry.Load(); snap != nil {
		town = snap.Whole().Name
	}
	if r.town != "" {
		if snap := s.registry.Load(); snap != nil {
			if t, ok := snap.TownOf(r.town); ok {
				town = t.Name
			}
		}
	}
	sheets := 0
	for _, level := range figures.ReportLevels {
		if r.town != "" && !townLevel(level) {
			continue // a town's 通报 has its own sheets only
		}
		t, ranked, err := s.table(c, r, level)
		if err != nil {
			return err
		}
		sheet := level.Chinese()
		sheets++
		if sheets == 1 {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
		if err := writeFiguresSheet(f, sheet, st, town, r, level, t, ranked); err != nil {
			return err
		}
	}
	if err := writeDefinitionsSheet(f, st); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	buf, err := f.WriteToBuffer()
	if err != nil {
		return err
	}
	attachment(c, fmt.Sprintf("figures-%s.xlsx", r.period.Spec), fmt.Sprintf("%s考核通报-%s.xlsx", town, r.period.Label))
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
	return nil
}

func cellName(col, row int) string {
	n, _ := excelize.CoordinatesToCellName(col, row)
	return n
}

func writeFiguresSheet(f *excelize.File, sheet string, st xlsxStyles, town string, r figuresRequest,
	level figures.Level, t *figures.Table, ranked []figures.Ranked) error {
	header := figuresHeader(level)
	last := len(header)
	set := func(col, row int, v any, style int) error {
		cell := cellName(col, row)
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			return err
		}
		return f.SetCellStyle(sheet, cell, cell, style)
	}
	if err := f.MergeCell(sheet, "A1", cellName(last, 1)); err != nil {
		return err
	}
	if err := set(1, 1, fmt.Sprintf("%s网格化服务管理考核通报（%s · %s）", town, r.period.Label, level.Chinese()), st.title); err != nil {
		return err
	}
	f.SetRowHeight(sheet, 1, 30)
	p := periodOf(r.period)
	order := "按" + r.sort.Chinese + "排名"
	if level.IsTime() {
		order = "按时间排列，名次按" + r.sort.Chinese
	}
	if err := f.MergeCell(sheet, "A2", cellName(last, 2)); err != nil {
		return err
	}
	if err := set(1, 2, fmt.Sprintf("统计时段：%s 至 %s（北京时间）；%s；当前超期截至 %s；各项定义见“说明”表。",
		p.From, p.To, order, r.now.In(figures.China).Format("2006-01-02 15:04")), st.note); err != nil {
		return err
	}
	for i, h := range header {
		if err := set(i+1, xlsxHeaderRow, h, st.header); err != nil {
			return err
		}
	}
	f.SetRowHeight(sheet, xlsxHeaderRow, 36)
	row := xlsxHeaderRow
	line := func(rank int, rw figures.Row, isTotal bool) error {
		row++
		text, count, rate, hours := st.text, st.count, st.rate, st.hours
		if isTotal {
			text, count, rate, hours = st.totalText, st.totalCount, st.totalRate, st.totalHours
		}
		var rk any = ""
		if rank > 0 {
			rk = rank
		}
		for i, v := range []any{rk, rowCode(level, rw.Key), rw.Name, rw.Parent} {
			style := text
			if i == 0 {
				style = count
			}
			if err := set(i+1, row, v, style); err != nil {
				return err
			}
		}
		for i, fig := range figures.Figures {
			style := count
			switch {
			case fig.Rate:
				style = rate
			case fig.Hours:
				style = hours
			}
			var v any = ""
			if x, ok := fig.Value(rw); ok {
				v = x
			}
			if err := set(5+i, row, v, style); err != nil {
				return err
			}
		}
		return nil
	}
	for _, rr := range ranked {
		if err := line(rr.Rank, rr.Row, false); err != nil {
			return err
		}
	}
	if err := line(0, t.Total, true); err != nil {
		return err
	}
	widths := []float64{6, 17, 16, 12}
	for i := range header {
		w := 11.0
		if i < len(widths) {
			w = widths[i]
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, w); err != nil {
			return err
		}
	}
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, XSplit: 3, YSplit: xlsxHeaderRow,
		TopLeftCell: cellName(4, xlsxHeaderRow+1), ActivePane: "bottomRight"})
}

func writeDefinitionsSheet(f *excelize.File, st xlsxStyles) error {
	const sheet = "说明"
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	for i, h := range []string{"指标", "字段名", "定义"} {
		cell := cellName(i+1, 1)
		f.SetCellValue(sheet, cell, h)
		f.SetCellStyle(sheet, cell, cell, st.header)
	}
	for i, fig := range figures.Figures {
		for j, v := range []string{fig.Chinese, fig.Name, fig.Definition} {
			cell := cellName(j+1, i+2)
			f.SetCellValue(sheet, cell, v)
			f.SetCellStyle(sheet, cell, cell, st.text)
		}
	}
	f.SetColWidth(sheet, "A", "A", 22)
	f.SetColWidth(sheet, "B", "B", 18)
	f.SetColWidth(sheet, "C", "C", 80)
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}
