package geo

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// This file is the work-team roster (工作组名单): the 联村 / 驻村 work teams of
// a town as a town office keeps them in a spreadsheet, one row per person
// and team — the team's name, its kind, the person's role (组长 or 成员),
// name and phone, and the villages the team covers — imported with a dry
// run like the people roster (package rosterfile reads the file). For
// every team the file names, the file is the truth: the leader, the
// members and the villages it lists are appointed or covered from the
// import's instant, and the seats and villages of that team the file does
// not list end then, so that history keeps who was on the team until the
// import. Teams the file does not name are left as they are. A team the
// file names that does not work in the town is created.

// TeamRosterField is a column of a work-team roster.
type TeamRosterField string

// Columns of a work-team roster.
const (
	TeamRosterTeamName TeamRosterField = "team"     // 工作组: the team's name
	TeamRosterKind     TeamRosterField = "kind"     // 类型: 联村 or 驻村 (optional)
	TeamRosterRole     TeamRosterField = "role"     // 职务: 组长 or 成员
	TeamRosterName     TeamRosterField = "name"     // 姓名
	TeamRosterPhone    TeamRosterField = "phone"    // 联系电话
	TeamRosterVillages TeamRosterField = "villages" // 联系村: names or codes
	TeamRosterTown     TeamRosterField = "town"     // 乡镇编码 (optional)
)

// TeamRosterRow is one row of a work-team roster as read: its row number
// as the spreadsheet shows it and its non-empty cells, normalised.
type TeamRosterRow struct {
	Line   int
	Values map[TeamRosterField]string
}

// TeamRosterProblem is what is wrong with a cell of a work-team roster:
// the row (Line) and the column (Field; "" for the row as a whole).
type TeamRosterProblem struct {
	Line   int
	Field  TeamRosterField
	Reason string
}

// TeamRosterPerson is a person a team's rows name: row, seat (leader or
// member), name and phone, checked.
type TeamRosterPerson struct {
	Line  int
	Seat  string
	Name  string
	Phone string
}

// TeamRosterVillage is a village a team's rows name: the row and the
// village's code and name.
type TeamRosterVillage struct {
	Line int
	Code string
	Name string
}

// TeamRosterTeam is a team as a roster gives it, checked: its town, name
// and kind, its leader, members and villages.
type TeamRosterTeam struct {
	// Line is the first row of the team; KindLine the row its kind was
	// given on (0: not given, the team's kind is liaison when created and
	// unchanged otherwise).
	Line     int
	KindLine int
	Town     string
	Name     string
	Kind     TeamKind
	Leader   TeamRosterPerson
	Members  []TeamRosterPerson
	Villages []TeamRosterVillage
}

// teamSeatWords are the roles a roster writes, by seat.
var teamSeatWords = map[string]string{
	"组长": SeatLeader, "队长": SeatLeader, "工作组组长": SeatLeader, "联村工作组组长": SeatLeader, "驻村工作组组长": SeatLeader,
	"第一书记": SeatLeader, "leader": SeatLeader,
	"成员": SeatMember, "组员": SeatMember, "队员": SeatMember, "副组长": SeatMember, "工作组成员": SeatMember, "member": SeatMember,
}

// teamKindWords are the kinds a roster writes.
var teamKindWords = map[string]TeamKind{
	"联村": TeamLiaison, "联村工作组": TeamLiaison, "liaison": TeamLiaison,
	"驻村": TeamResident, "驻村工作组": TeamResident, "驻村工作队": TeamResident, "resident": TeamResident,
}

// splitVillages splits a cell of villages: 荷叶村、天子村 / 荷叶村,天子村 /
// codes separated by spaces. The reader narrows a cell's full-width
// characters (rosterfile.Cell), so 、 arrives as the half-width ､ and ，
// as a comma; both forms are split on.
func splitVillages(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case '、', '､', ',', '，', ';', '；', '/', ' ', '\n', '\t', '　':
			return true
		}
		return false
	})
}

// CheckTeamRoster checks the rows of a work-team roster against snap and
// groups them by team (its town and name), in the order the teams first
// appear. town is the town of a row without a 乡镇编码 cell when the
// deployment holds several towns (the caller's town; "" for none). Every
// problem names its row and column: a missing or unknown team name, kind,
// role, name, phone, town or village (a village is a 12-digit code or the
// name of a current village of the town, unique there); a team with no
// 组长 or two, no village, a person twice, a kind given two ways; a
// village in two teams of the file.
func CheckTeamRoster(rows []TeamRosterRow, snap *Snapshot, town string) ([]TeamRosterTeam, []TeamRosterProblem) {
	var problems []TeamRosterProblem
	add := func(line int, f TeamRosterField, format string, args ...any) {
		problems = append(problems, TeamRosterProblem{Line: line, Field: f, Reason: fmt.Sprintf(format, args...)})
	}
	var teams []*TeamRosterTeam
	byKey := map[string]*TeamRosterTeam{}
	people := map[string]map[string]int{} // team key → name+phone → row
	villageRow := map[string]int{}        // village → the row that named it
	villageTeam := map[string]string{}    // village → team key
	for _, row := range rows {
		v := row.Values
		// The town.
		tw := strings.TrimSpace(v[TeamRosterTown])
		switch {
		case tw != "":
			if t, ok := snap.TownOf(tw); !ok || t.Code != tw {
				add(row.Line, TeamRosterTown, "got %q, want the 9-digit code of a town of this deployment", Clip(tw))
				tw = ""
			}
		case town != "":
			tw = town
		case len(snap.Towns) == 1:
			tw = snap.Towns[0].Code
		default:
			// The town of the villages' codes, if they agree.
			for _, name := range splitVillages(v[TeamRosterVillages]) {
				if ValidateVillageCode(name) == nil && (tw == "" || TownCodeOf(name) == tw) {
					tw = TownCodeOf(name)
				} else {
					tw = ""
					break
				}
			}
			if tw == "" {
				add(row.Line, TeamRosterTown, "required: the 9-digit code of the team's town (this deployment holds %d towns)", len(snap.Towns))
			}
		}
		// The team.
		name := strings.TrimSpace(v[TeamRosterTeamName])
		if name == "" || len(name) > MaxTeamNameBytes {
			add(row.Line, TeamRosterTeamName, "required: the team's name, at most %d bytes", MaxTeamNameBytes)
			continue
		}
		key := tw + "\x00" + name
		t := byKey[key]
		if t == nil {
			t = &TeamRosterTeam{Line: row.Line, Town: tw, Name: name, Kind: TeamLiaison}
			byKey[key], people[key] = t, map[string]int{}
			teams = append(teams, t)
		}
		if k := strings.TrimSpace(v[TeamRosterKind]); k != "" {
			kind, ok := teamKindWords[strings.ToLower(k)]
			switch {
			case !ok:
				add(row.Line, TeamRosterKind, "got %q, want 联村 or 驻村", Clip(k))
			case t.KindLine != 0 && kind != t.Kind:
				add(row.Line, TeamRosterKind, "got %q, but row %d gives the team %s the kind %s", Clip(k), t.KindLine, name, t.Kind.NameZh())
			case t.KindLine == 0:
				t.Kind, t.KindLine = kind, row.Line
			}
		}
		// The person.
		p := TeamRosterPerson{Line: row.Line}
		role := strings.TrimSpace(v[TeamRosterRole])
		switch seat, ok := teamSeatWords[strings.ToLower(role)]; {
		case role == "":
			add(row.Line, TeamRosterRole, "required: 组长 or 成员")
		case !ok:
			add(row.Line, TeamRosterRole, "got %q, want 组长 or 成员", Clip(role))
		default:
			p.Seat = seat
		}
		var ps problemList
		np := NewPerson{Name: v[TeamRosterName], Phone: v[TeamRosterPhone]}
		np.check(&ps)
		for _, pr := range ps {
			add(row.Line, TeamRosterField(pr.Where), "%s", pr.Reason)
		}
		p.Name, p.Phone = np.Name, np.Phone
		if len(ps) == 0 {
			id := p.Name + "\x00" + p.Phone
			if first, dup := people[key][id]; dup {
				add(row.Line, TeamRosterName, "%s is on team %s already (row %d): one row per person and team", p.Name, name, first)
			} else if p.Seat != "" {
				people[key][id] = row.Line
				switch {
				case p.Seat == SeatLeader && t.Leader.Line != 0:
					add(row.Line, TeamRosterRole, "team %s has a 组长 already (row %d): a team has one", name, t.Leader.Line)
				case p.Seat == SeatLeader:
					t.Leader = p
				default:
					t.Members = append(t.Members, p)
				}
			}
		}
		// The villages.
		for _, vn := range splitVillages(v[TeamRosterVillages]) {
			code, reason := villageOfTown(snap, tw, vn)
			switch {
			case reason != "":
				add(row.Line, TeamRosterVillages, "%s", reason)
			case villageTeam[code] == key:
				// named again on another row of the team: once is enough
			case villageTeam[code] != "":
				add(row.Line, TeamRosterVillages, "%s is covered by team %s (row %d): a village has one team",
					vn, byKey[villageTeam[code]].Name, villageRow[code])
			default:
				villageTeam[code], villageRow[code] = key, row.Line
				vname := ""
				if vv, ok := snap.Village(code); ok {
					vname = vv.Name
				}
				t.Villages = append(t.Villages, TeamRosterVillage{Line: row.Line, Code: code, Name: vname})
			}
		}
	}
	out := make([]TeamRosterTeam, 0, len(teams))
	for _, t := range teams {
		if t.Leader.Line == 0 {
			add(t.Line, TeamRosterRole, "team %s has no 组长: give one row the role 组长", t.Name)
		}
		if len(t.Villages) == 0 {
			add(t.Line, TeamRosterVillages, "team %s covers no village: name its villages in 联系村", t.Name)
		}
		out = append(out, *t)
	}
	return out, problems
}

// villageOfTown is the code of the current village of town that s names
// (a 12-digit code, or a name unique in the town; a name may leave out a
// final 村 or 社区, and a name matched exactly wins), or the reason it
// names none.
func villageOfTown(snap *Snapshot, town, s string) (string, string) {
	if ValidateVillageCode(s) == nil {
		switch _, ok := snap.Village(s); {
		case !ok:
			return "", fmt.Sprintf("%s: no current village of that code", s)
		case town != "" && TownCodeOf(s) != town:
			return "", fmt.Sprintf("%s is not a village of town %s", s, town)
		}
		return s, ""
	}
	if town == "" {
		return "", fmt.Sprintf("%s: give the village's 12-digit code, or the town", Clip(s))
	}
	short := func(n string) string { return strings.TrimSuffix(strings.TrimSuffix(n, "社区"), "村") }
	var exact, found []string
	for i := range snap.Villages {
		v := &snap.Villages[i]
		if TownCodeOf(v.Code) != town {
			continue
		}
		if v.Name == s {
			exact = append(exact, v.Code)
		}
		if short(v.Name) == short(s) {
			found = append(found, v.Code)
		}
	}
	if len(exact) == 1 {
		return exact[0], ""
	}
	switch len(found) {
	case 0:
		return "", fmt.Sprintf("%s: no current village of that name in town %s", Clip(s), town)
	case 1:
		return found[0], ""
	}
	return "", fmt.Sprintf("%s names %d villages (%s): give the 12-digit code", Clip(s), len(found), strings.Join(found, ", "))
}

// NameZh is the kind's Chinese name: 联村工作组, 驻村工作组.
func (k TeamKind) NameZh() string {
	switch k {
	case TeamLiaison:
		return "联村工作组"
	case TeamResident:
		return "驻村工作组"
	}
	return string(k)
}

// Changes a work-team roster makes, as reported.
const (
	TeamChangeCreated   = "team_created"    // the team is created
	TeamChangeAppointed = "appointed"       // a person takes a seat
	TeamChangeEnded     = "seat_ended"      // a seat ends
	TeamChangeCovered   = "village_covered" // the team covers a village
	TeamChangeUncovered = "village_ended"   // the team stops covering a village
	TeamChangeUnchanged = "unchanged"       // a seat or village stays as it is
)

// TeamRosterChange is one change of a team, or one thing that stays.
type TeamRosterChange struct {
	// Line is the row that asks for it; 0 for what ends because the file
	// no longer lists it.
	Line   int
	Change string // one of the TeamChange constants
	// Seat, PersonID, Name and PersonCreated describe a seat's change;
	// Village, VillageName and FromTeam a village's (FromTeam: the team
	// that covered it until now, if another).
	Seat          string
	PersonID      int64
	Name          string
	PersonCreated bool
	Village       string
	VillageName   string
	FromTeam      string
}

// TeamRosterOutcome is what an import does to one team.
type TeamRosterOutcome struct {
	Line    int
	TeamID  int64
	Town    string
	Name    string
	Kind    TeamKind
	Created bool
	Changes []TeamRosterChange
}

// TeamRosterReport is what an import of a work-team roster did (Applied)
// or would do.
type TeamRosterReport struct {
	Applied bool
	At      time.Time
	Teams   []TeamRosterOutcome
	// Errors are the rows the store refuses (a person who has left, a
	// team of another kind, a seat or coverage recorded after the import's
	// instant); with any, nothing is written.
	Errors []TeamRosterProblem
}

// TeamRosterStore imports work-team rosters. It is implemented by the
// store of the structure (pgstore.DB).
type TeamRosterStore interface {
	// ImportTeamRoster makes teams (as CheckTeamRoster gives them) true at
	// now in one transaction: teams that do not work in their town are
	// created; each named team's leader, members and villages become those
	// given, the others ending at now (their incidents handed over as when
	// a leader is replaced through the API); a village covered by another
	// team moves. With apply false, or any problem in the report, nothing
	// is written. Every write is audited as through the JSON API.
	ImportTeamRoster(ctx context.Context, teams []TeamRosterTeam, apply bool, actor string, now time.Time) (*TeamRosterReport, error)
}
