package rosterfile

import (
	"fmt"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
)

// templateColumns are the template's columns: header, width, whether
// Excel must keep the cell as text (phones and 15-digit codes would
// otherwise turn into numbers like 4.31321E+14), and the line of 填写说明
// that explains it.
var templateColumns = []templateColumn{
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

// exampleRow is the template's example: the leader of snap's first grid.
func exampleRow(snap *geo.Snapshot) []any {
	row := []any{1, "张三", "138 0000 0000", "", "", "", "网格长", "", "示例行：上传前请删除"}
	if len(snap.Grids) > 0 {
		g := &snap.Grids[0]
		if v, ok := snap.Village(g.VillageCode); ok {
			row[3] = v.Name
		}
		row[4], row[5] = g.Code, g.Name
	}
	return row
}

// Template returns the .xlsx workbook a roster is filled in from, for
// snap's town. Its first sheet, 花名册, has the columns Read expects
// (Chinese headers; phone and code columns formatted as text, so Excel
// keeps leading zeros and all 15 digits; a drop-down of the roles) and one
// example row naming the town's first grid, if it has one. A sheet 填写说明
// explains each column and the import rules, and a sheet 网格列表 lists the
// grids of snap. Uploaded unchanged, the template reads as one row: the
// example.
func Template(snap *geo.Snapshot) ([]byte, error) {
	t := sheetTemplate{sheet: "花名册", columns: templateColumns, example: exampleRow(snap), maxRows: MaxRows,
		choices: map[int][]string{6: {"网格长", "副网格长", "网格员", "联村工作组组长"}}, // 职务
		rules: [][]any{
			{"一人一行", "同一人担任多个职务时每个职务一行；同一行重复出现会被拒绝。"},
			{"以名单为准", "名单中出现的每个网格的每种职务（如某网格的网格长、网格员），以名单为准：名单未列出的原任职人员将被免去该职务；名单未出现的网格与职务不变。"},
			{"一岗一人", "每个网格只有一名网格长、一名副网格长，每个村只有一名联村工作组组长；新任命生效时原任职务同时结束。"},
			{"人员识别", "按姓名+电话识别在职人员；电话不同视为新人员（更换电话请先在系统中修改）。"},
			{"先预检后导入", "上传默认只预检（dry_run=true），逐行报告将发生的变化与错误（行号、列）；确认无误后以 dry_run=false 导入，全部成功或全部不变。"},
			{"限制", fmt.Sprintf("最多 %d 行；也可上传 UTF-8 或 GB18030 编码的 .csv 文件，表头相同。", MaxRows)},
			{"网格版本", fmt.Sprintf("第 %d 代（%s）", snap.Generation, snap.Whole().Name)},
		},
		extra: func(f *excelize.File, bold, text int) error { return gridsSheet(f, snap, bold, text) },
	}
	return t.xlsx()
}

// gridsSheet adds the sheet 网格列表: the grids of snap, with their
// villages, for the roster's codes.
func gridsSheet(f *excelize.File, snap *geo.Snapshot, bold, text int) error {
	const grids = "网格列表"
	if _, err := f.NewSheet(grids); err != nil {
		return err
	}
	if err := f.SetSheetRow(grids, "A1", &[]any{"网格编码", "网格名称", "村（社区）", "村代码"}); err != nil {
		return err
	}
	for i := range snap.Grids {
		gr := &snap.Grids[i]
		vname := ""
		if v, ok := snap.Village(gr.VillageCode); ok {
			vname = v.Name
		}
		if err := f.SetSheetRow(grids, fmt.Sprintf("A%d", i+2), &[]any{gr.Code, gr.Name, vname, gr.VillageCode}); err != nil {
			return err
		}
	}
	for _, col := range []string{"A", "D"} {
		if err := f.SetColStyle(grids, col, text); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(grids, "A", "D", 18); err != nil {
		return err
	}
	return f.SetCellStyle(grids, "A1", "D1", bold)
}
