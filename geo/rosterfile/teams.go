package rosterfile

import (
	"strings"

	"wangge/geo"
)

// This file reads the work-team rosters (工作组名单) of package geo
// (geo.CheckTeamRoster): one row per person and team, in an .xlsx or .csv
// file read like a people roster (by content, GB18030 .csv decoded, within
// Limits, a title above the header skipped).

// teamHeaders maps the headers of a work-team roster (normalised by
// headerKey) to its fields.
var teamHeaders = map[string]geo.TeamRosterField{
	"工作组": geo.TeamRosterTeamName, "工作组名称": geo.TeamRosterTeamName, "组名": geo.TeamRosterTeamName, "工作队": geo.TeamRosterTeamName,
	"联村工作组": geo.TeamRosterTeamName, "驻村工作组": geo.TeamRosterTeamName, "team": geo.TeamRosterTeamName,
	"类型": geo.TeamRosterKind, "工作组类型": geo.TeamRosterKind, "kind": geo.TeamRosterKind,
	"职务": geo.TeamRosterRole, "角色": geo.TeamRosterRole, "组内职务": geo.TeamRosterRole, "岗位": geo.TeamRosterRole, "role": geo.TeamRosterRole,
	"姓名": geo.TeamRosterName, "名字": geo.TeamRosterName, "name": geo.TeamRosterName,
	"电话": geo.TeamRosterPhone, "联系电话": geo.TeamRosterPhone, "手机": geo.TeamRosterPhone, "手机号": geo.TeamRosterPhone,
	"手机号码": geo.TeamRosterPhone, "电话号码": geo.TeamRosterPhone, "联系方式": geo.TeamRosterPhone, "phone": geo.TeamRosterPhone,
	"联系村": geo.TeamRosterVillages, "所联村": geo.TeamRosterVillages, "联系村(社区)": geo.TeamRosterVillages, "所联村(社区)": geo.TeamRosterVillages,
	"驻村": geo.TeamRosterVillages, "村(社区)": geo.TeamRosterVillages, "村": geo.TeamRosterVillages, "村/社区": geo.TeamRosterVillages,
	"villages": geo.TeamRosterVillages, "village": geo.TeamRosterVillages,
	"乡镇编码": geo.TeamRosterTown, "镇编码": geo.TeamRosterTown, "town": geo.TeamRosterTown,
}

// teamRequired are the columns every work-team roster has, with the
// header the template gives them.
var teamRequired = []struct {
	field  geo.TeamRosterField
	header string
}{
	{geo.TeamRosterTeamName, "工作组"}, {geo.TeamRosterRole, "职务"}, {geo.TeamRosterName, "姓名"},
	{geo.TeamRosterPhone, "联系电话"}, {geo.TeamRosterVillages, "联系村"},
}

// TeamFile is a work-team roster as read.
type TeamFile struct {
	Format    string // "xlsx" or "csv"
	Sheet     string // the sheet read, for an .xlsx
	HeaderRow int
	Columns   map[geo.TeamRosterField]Column
	// Rows are the non-empty rows below the header, numbered as the
	// spreadsheet shows them.
	Rows []geo.TeamRosterRow
}

// ReadTeams reads a work-team roster within DefaultLimits: its header is
// the first row, among the first HeaderScanRows, with a name (姓名) and a
// team (工作组) column, and it must have the columns 工作组, 职务, 姓名,
// 联系电话 and 联系村 (类型 and 乡镇编码 are optional). Errors are as Read's.
func ReadTeams(b []byte) (*TeamFile, error) {
	lim := Limits{}.resolved()
	recs, err := openRecords(b, lim)
	if err != nil {
		return nil, err
	}
	defer recs.close()
	tf := &TeamFile{Format: recs.format, Sheet: recs.sheet}
	var index map[int]geo.TeamRosterField
	for {
		line, cells, ok, err := recs.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if index == nil {
			if line > HeaderScanRows {
				break
			}
			index = teamHeaderRow(cells)
			if index == nil {
				continue
			}
			tf.HeaderRow, tf.Columns = line, columnsOf(index, cells)
			var missing []string
			for _, r := range teamRequired {
				if _, ok := tf.Columns[r.field]; !ok {
					missing = append(missing, r.header)
				}
			}
			if len(missing) > 0 {
				return nil, invalidf("the header row (row %d) has no column %s (see GET /v1/team-rosters/template.xlsx)",
					line, strings.Join(missing, ", "))
			}
			continue
		}
		row := geo.TeamRosterRow{Line: line, Values: valuesOf(index, cells)}
		if len(row.Values) == 0 {
			continue
		}
		if len(tf.Rows) == lim.MaxRows {
			e := tooLarge("MaxRows", "the roster has more than %d rows", lim.MaxRows)
			e.kind = ErrTooManyRows
			return nil, e
		}
		tf.Rows = append(tf.Rows, row)
	}
	if index == nil {
		return nil, invalidf("no header row with 工作组 and 姓名 in the first %d rows: the roster needs columns 工作组, 职务, 姓名, 联系电话 and 联系村 (see GET /v1/team-rosters/template.xlsx)", HeaderScanRows)
	}
	return tf, nil
}

// teamHeaderRow maps column positions to fields when cells are the header
// of a work-team roster (with a name and a team column), or returns nil.
// The first column of a field wins.
func teamHeaderRow(cells []string) map[int]geo.TeamRosterField {
	index, seen := fieldsOf(cells, teamHeaders)
	if !seen[geo.TeamRosterName] || !seen[geo.TeamRosterTeamName] {
		return nil
	}
	return index
}

// Row is a row of a file as Rows reads it: its number as the spreadsheet
// shows it (for a .csv, the line it starts on) and its cells.
type Row struct {
	Line  int
	Cells []string
}

// Rows reads the rows of an .xlsx (its first sheet) or .csv file as Read
// does, by content and within DefaultLimits, for the importers whose
// columns are their own (the duty rosters). Blank rows are left out; more
// than HeaderScanRows+MaxRows rows is a *TooLargeError matching
// ErrTooManyRows. It returns the format ("xlsx" or "csv") and the sheet
// read.
func Rows(b []byte) (format, sheet string, rows []Row, err error) {
	lim := Limits{}.resolved()
	recs, err := openRecords(b, lim)
	if err != nil {
		return "", "", nil, err
	}
	defer recs.close()
	for {
		line, cells, ok, err := recs.next()
		if err != nil {
			return "", "", nil, err
		}
		if !ok {
			return recs.format, recs.sheet, rows, nil
		}
		blank := true
		for _, c := range cells {
			blank = blank && strings.TrimSpace(c) == ""
		}
		if blank {
			continue
		}
		if len(rows) == HeaderScanRows+lim.MaxRows {
			e := tooLarge("MaxRows", "the file has more than %d rows", lim.MaxRows)
			e.kind = ErrTooManyRows
			return "", "", nil, e
		}
		rows = append(rows, Row{Line: line, Cells: cells})
	}
}
