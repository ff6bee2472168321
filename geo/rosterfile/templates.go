package rosterfile

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
	"wangge/geo/workcal"
)

// This file writes the templates of the rosters a town office fills in by
// hand, besides the people roster's (template.go): the duty roster
// (值班表, POST /v1/duty-rosters) and the work-team roster (工作组名单, POST
// /v1/team-rosters), each as an .xlsx workbook (the sheet to fill in with
// its headers and one example row, and a sheet 填写说明 that explains the
// columns) and as a .csv file (UTF-8 with a byte order mark, which Excel
// and WPS open as Chinese text: the header and the example row). The
// headers are those the importers accept, and a test reads every template
// back through its importer's dry run.

// CSVContentType is the media type of the .csv templates.
const CSVContentType = "text/csv; charset=utf-8"

// templateColumn is a column of a template: header, width, whether Excel
// must keep it as text, and its line of 填写说明.
type templateColumn struct {
	header string
	width  float64
	text   bool
	help   string
}

// sheetTemplate is a template: the sheet to fill in, its columns, the
// example row, drop-down lists by column index, and the rules that end
// its 填写说明.
type sheetTemplate struct {
	sheet   string
	columns []templateColumn
	example []any
	choices map[int][]string
	rules   [][]any
	maxRows int
	// extra, when set, adds sheets after 填写说明 (the people roster's
	// 网格列表), with the header and text styles.
	extra func(f *excelize.File, bold, text int) error
}

// xlsx writes t as a workbook.
func (t sheetTemplate) xlsx() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const help = "填写说明"
	if err := f.SetSheetName("Sheet1", t.sheet); err != nil {
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
	for i, col := range t.columns {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(t.sheet, name+"1", col.header); err != nil {
			return nil, err
		}
		if err := f.SetColWidth(t.sheet, name, name, col.width); err != nil {
			return nil, err
		}
		if col.text {
			if err := f.SetColStyle(t.sheet, name, text); err != nil {
				return nil, err
			}
		}
		if err := f.SetCellValue(t.sheet, name+"2", t.example[i]); err != nil {
			return nil, err
		}
		if list, ok := t.choices[i]; ok {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = fmt.Sprintf("%s2:%s%d", name, name, t.maxRows+1)
			if err := dv.SetDropList(list); err != nil {
				return nil, err
			}
			if err := f.AddDataValidation(t.sheet, dv); err != nil {
				return nil, err
			}
		}
	}
	last, _ := excelize.ColumnNumberToName(len(t.columns))
	if err := f.SetCellStyle(t.sheet, "A1", last+"1", bold); err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(t.sheet, "A2", last+"2", example); err != nil {
		return nil, err
	}
	if err := f.SetPanes(t.sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(help); err != nil {
		return nil, err
	}
	lines := [][]any{{"列", "说明"}}
	for _, col := range t.columns {
		lines = append(lines, []any{col.header, col.help})
	}
	lines = append(lines, []any{}, []any{"规则", ""})
	lines = append(lines, t.rules...)
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
	if t.extra != nil {
		if err := t.extra(f, bold, text); err != nil {
			return nil, err
		}
	}
	f.SetActiveSheet(0)
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// csv writes t's header and example row as UTF-8 with a byte order mark.
func (t sheetTemplate) csv() []byte {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	header := make([]string, len(t.columns))
	example := make([]string, len(t.columns))
	for i, col := range t.columns {
		header[i], example[i] = col.header, fmt.Sprint(t.example[i])
	}
	w.Write(header)
	w.Write(example)
	w.Flush()
	return buf.Bytes()
}

// TemplateCSV is the people roster's template (Template) as a .csv file:
// the header row and the example row.
func TemplateCSV(snap *geo.Snapshot) []byte {
	return sheetTemplate{columns: templateColumns, example: exampleRow(snap)}.csv()
}

// templateTown is the town a template's example names: town when snap
// holds it, else snap's first town ("" when it has none).
func templateTown(snap *geo.Snapshot, town string) *geo.Town {
	if t, ok := snap.TownOf(town); ok && t.Code == town {
		return t
	}
	if len(snap.Towns) > 0 {
		return &snap.Towns[0]
	}
	return nil
}

// dutyTemplate is the duty roster's template for town, its example a day
// shift at the town's duty desk on the day after now.
func dutyTemplate(snap *geo.Snapshot, town string, now time.Time) sheetTemplate {
	code := ""
	if t := templateTown(snap, town); t != nil {
		code = t.Code
	}
	day := workcal.DateOf(now).AddDays(1)
	return sheetTemplate{
		sheet: "值班表",
		columns: []templateColumn{
			{"日期", 12, true, "必填。如 2026-10-01、2026/10/1 或 2026年10月1日。"},
			{"开始时间", 10, true, "必填。如 08:00。"},
			{"结束时间", 10, true, "必填。如 20:00；早于或等于开始时间表示次日（夜班 20:00–08:00、24小时值班 08:00–08:00）。"},
			{"班次", 10, false, "可选。白班、夜班、坐班、节假日值班等，至多20字。"},
			{"姓名", 10, false, "必填。值班人员姓名。"},
			{"联系电话", 16, true, "必填。手机号（11位）或带区号的固定电话。"},
			{"服务点编号", 12, true, "可选。服务点的编号（GET /v1/service-points 的 id）；空白表示乡镇值班室（总值班）。"},
			{"乡镇编码", 14, true, "乡镇值班室的行必填（仅一个乡镇的部署可空）：9位乡镇代码。"},
			{"备注", 24, false, "可选，不导入。"},
		},
		example: []any{day.String(), "08:00", "20:00", "白班", "张三", "138 0000 0000", "", code, "示例行：上传前请删除"},
		choices: map[int][]string{3: {"白班", "夜班", "坐班", "节假日值班"}},
		rules: [][]any{
			{"一班一行", "每人每个班次一行；同一地点同一天可有多个班次。"},
			{"按天替换", "导入后，名单涉及的每个地点（服务点或值班室）的每一天，以名单为准：原有的该日排班全部替换；未涉及的日期不变。"},
			{"先预检后导入", "上传默认只预检（dry_run=true），报告涉及的日期与将替换的班次及错误（行号、列）；确认无误后以 dry_run=false 导入，全部成功或全部不变。"},
			{"限制", fmt.Sprintf("最多 %d 行；也可上传 UTF-8 或 GB18030 编码的 .csv 文件，表头相同。", geo.MaxDutyRosterRows)},
		},
		maxRows: geo.MaxDutyRosterRows,
	}
}

// DutyTemplate returns the .xlsx template of a duty roster (POST
// /v1/duty-rosters) for town (snap's first town when snap does not hold
// it). Uploaded unchanged, it reads as one shift at the town's duty desk.
func DutyTemplate(snap *geo.Snapshot, town string, now time.Time) ([]byte, error) {
	return dutyTemplate(snap, town, now).xlsx()
}

// DutyTemplateCSV is DutyTemplate as a .csv file.
func DutyTemplateCSV(snap *geo.Snapshot, town string, now time.Time) []byte {
	return dutyTemplate(snap, town, now).csv()
}

// teamTemplate is the work-team roster's template for town, its example
// the leader of a team covering the town's first village.
func teamTemplate(snap *geo.Snapshot, town string) sheetTemplate {
	code, village := "", ""
	if t := templateTown(snap, town); t != nil {
		code = t.Code
		for i := range snap.Villages {
			if geo.TownCodeOf(snap.Villages[i].Code) == code {
				village = snap.Villages[i].Name
				break
			}
		}
	}
	return sheetTemplate{
		sheet: "工作组名单",
		columns: []templateColumn{
			{"序号", 6, false, "可选，不导入。"},
			{"工作组", 20, false, "必填。工作组名称，如“荷叶村联村工作组”；同一工作组的各行名称相同。镇内尚无此名称的工作组时新建。"},
			{"类型", 10, false, "可选：联村 或 驻村（默认联村）。已有工作组的类型不能更改。"},
			{"职务", 10, false, "必填：组长 或 成员（副组长按成员导入）。每个工作组有且只有一名组长。"},
			{"姓名", 10, false, "必填。"},
			{"联系电话", 16, true, "必填。手机号（11位）或带区号的固定电话。按姓名+电话识别在职人员，电话不同视为新人员。"},
			{"联系村", 24, false, "工作组所联系（驻）的村（社区）：名称或12位代码，多个用顿号“、”或逗号分隔；可只写在组长一行。每个工作组至少一个村，每个村只属于一个工作组。"},
			{"乡镇编码", 14, true, "多乡镇部署必填（村代码可代替）：9位乡镇代码。"},
			{"备注", 24, false, "可选，不导入。"},
		},
		example: []any{1, "示例联村工作组", "联村", "组长", "张三", "138 0000 0000", village, code, "示例行：上传前请删除"},
		choices: map[int][]string{2: {"联村", "驻村"}, 3: {"组长", "成员"}},
		rules: [][]any{
			{"一人一行", "每人每个工作组一行；同一人可在多个工作组。"},
			{"以名单为准", "名单中出现的每个工作组，其组长、成员和所联系的村以名单为准：名单未列出的原成员自导入时起离开该组，未列出的村自导入时起不再由该组联系（历史记录保留）；村原属其他工作组的，转入本组。名单未出现的工作组不变。"},
			{"先预检后导入", "上传默认只预检（dry_run=true），逐组报告将发生的变化与错误（工作表、行号、列）；确认无误后以 dry_run=false 导入，全部成功或全部不变。"},
			{"限制", fmt.Sprintf("最多 %d 行；也可上传 UTF-8 或 GB18030 编码的 .csv 文件，表头相同。", MaxRows)},
		},
		maxRows: MaxRows,
	}
}

// TeamTemplate returns the .xlsx template of a work-team roster (POST
// /v1/team-rosters) for town (snap's first town when snap does not hold
// it). Uploaded unchanged, it reads as one row: the leader of a new team
// covering the town's first village.
func TeamTemplate(snap *geo.Snapshot, town string) ([]byte, error) {
	return teamTemplate(snap, town).xlsx()
}

// TeamTemplateCSV is TeamTemplate as a .csv file.
func TeamTemplateCSV(snap *geo.Snapshot, town string) []byte {
	return teamTemplate(snap, town).csv()
}
