package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/rosterfile"
)

// This file imports the work-team rosters (工作组名单: 联村 / 驻村 work teams,
// their leader, members and villages) from .xlsx or .csv files, with a dry
// run by default like the people roster (rosters.go), and serves the
// templates of every roster filled in by hand: people, duty and work
// teams, as .xlsx and .csv.

// rosterFileRoutes registers the work-team roster import and the roster
// templates. The templates hold no personal data: open to everyone.
func (s *Server) rosterFileRoutes(v1 router) {
	v1.GET("/rosters/template.csv", endpoint{}, s.rosterTemplateCSV)
	v1.GET("/duty-rosters/template.xlsx", endpoint{}, s.dutyRosterTemplate(false))
	v1.GET("/duty-rosters/template.csv", endpoint{}, s.dutyRosterTemplate(true))
	v1.GET("/team-rosters/template.xlsx", endpoint{}, s.teamRosterTemplate(false))
	v1.GET("/team-rosters/template.csv", endpoint{}, s.teamRosterTemplate(true))
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.POST("/team-rosters", endpoint{needs: needPeople, query: []param{pDryRun}}, s.importTeamRoster)
}

// sendTemplate answers with a template file to save as name (ASCII) or
// nameZh (its Chinese name, for browsers that read filename*).
func sendTemplate(c *gin.Context, b []byte, contentType, name, nameZh string) error {
	c.Header("Content-Disposition", `attachment; filename="`+name+`"; filename*=UTF-8''`+url.PathEscape(nameZh))
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, contentType, b)
	return nil
}

// templateTown is the town a template is made for: the caller's, when the
// token is limited to one town; otherwise the deployment's first.
func templateTown(c *gin.Context) string {
	if t := string(callerTown(c)); len(t) == 9 {
		return t
	}
	return ""
}

// rosterTemplateCSV answers GET /v1/rosters/template.csv: the people
// roster's header and example row as UTF-8 .csv.
func (s *Server) rosterTemplateCSV(c *gin.Context) error {
	return sendTemplate(c, rosterfile.TemplateCSV(s.registry.Load()), rosterfile.CSVContentType,
		"wangge-roster-template.csv", "网格人员花名册模板.csv")
}

// dutyRosterTemplate answers GET /v1/duty-rosters/template.xlsx and
// template.csv: the layout POST /v1/duty-rosters expects.
func (s *Server) dutyRosterTemplate(asCSV bool) handlerFunc {
	return func(c *gin.Context) error {
		snap, now := s.registry.Load(), s.cfg.Now()
		if asCSV {
			return sendTemplate(c, rosterfile.DutyTemplateCSV(snap, templateTown(c), now), rosterfile.CSVContentType,
				"wangge-duty-roster-template.csv", "值班表模板.csv")
		}
		b, err := rosterfile.DutyTemplate(snap, templateTown(c), now)
		if err != nil {
			return err
		}
		return sendTemplate(c, b, rosterfile.ContentType, "wangge-duty-roster-template.xlsx", "值班表模板.xlsx")
	}
}

// teamRosterTemplate answers GET /v1/team-rosters/template.xlsx and
// template.csv: the layout POST /v1/team-rosters expects.
func (s *Server) teamRosterTemplate(asCSV bool) handlerFunc {
	return func(c *gin.Context) error {
		snap := s.registry.Load()
		if asCSV {
			return sendTemplate(c, rosterfile.TeamTemplateCSV(snap, templateTown(c)), rosterfile.CSVContentType,
				"wangge-team-roster-template.csv", "工作组名单模板.csv")
		}
		b, err := rosterfile.TeamTemplate(snap, templateTown(c))
		if err != nil {
			return err
		}
		return sendTemplate(c, b, rosterfile.ContentType, "wangge-team-roster-template.xlsx", "工作组名单模板.xlsx")
	}
}

// teamRosterErrorOut locates a problem of a work-team roster as the
// spreadsheet shows it: sheet, row, column letter and header.
type teamRosterErrorOut struct {
	Sheet  string              `json:"sheet,omitempty"`
	Row    int                 `json:"row"`
	Column string              `json:"column,omitempty"`
	Header string              `json:"header,omitempty"`
	Field  geo.TeamRosterField `json:"field,omitempty"`
	Reason string              `json:"reason"`
}

// teamRosterChangeOut is one change of a team.
type teamRosterChangeOut struct {
	Row           *int   `json:"row"`
	Change        string `json:"change"`
	Seat          string `json:"seat,omitempty"`
	PersonID      *int64 `json:"person_id,omitempty"`
	Name          string `json:"name,omitempty"`
	PersonCreated bool   `json:"person_created,omitempty"`
	Village       string `json:"village,omitempty"`
	VillageName   string `json:"village_name,omitempty"`
	FromTeam      string `json:"from_team,omitempty"`
}

// teamRosterTeamOut is what the import does to one team.
type teamRosterTeamOut struct {
	Row     int                   `json:"row"`
	ID      *int64                `json:"id"`
	Town    string                `json:"town"`
	Name    string                `json:"name"`
	Kind    geo.TeamKind          `json:"kind"`
	Created bool                  `json:"created"`
	Changes []teamRosterChangeOut `json:"changes"`
}

type teamRosterSummary struct {
	Rows            int `json:"rows"`
	Teams           int `json:"teams"`
	NewTeams        int `json:"new_teams"`
	NewPeople       int `json:"new_people"`
	Appointed       int `json:"appointed"`
	SeatsEnded      int `json:"seats_ended"`
	VillagesCovered int `json:"villages_covered"`
	VillagesEnded   int `json:"villages_ended"`
	Unchanged       int `json:"unchanged"`
	Errors          int `json:"errors"`
}

// teamRosterReportOut is the answer of POST /v1/team-rosters.
type teamRosterReportOut struct {
	DryRun    bool                 `json:"dry_run"`
	Applied   bool                 `json:"applied"`
	At        time.Time            `json:"at"`
	Format    string               `json:"format"`
	Sheet     string               `json:"sheet,omitempty"`
	HeaderRow int                  `json:"header_row"`
	Summary   teamRosterSummary    `json:"summary"`
	Teams     []teamRosterTeamOut  `json:"teams"`
	Errors    []teamRosterErrorOut `json:"errors"`
}

// teamRosterProblem is the 422 answer: errors[] name every cell at fault,
// and the report says what the roster would otherwise do.
type teamRosterProblem struct {
	Problem
	Report *teamRosterReportOut `json:"report"`
}

// importTeamRoster answers POST /v1/team-rosters[?dry_run=] (admin) with
// an .xlsx or .csv work-team roster. By default it is a dry run: it
// reports per team what would change and writes nothing; dry_run=false
// applies it in one transaction. Any cell in error: 422 with every
// problem located (sheet, row, column), nothing written. A token limited
// to a town imports its town's teams only (403 otherwise).
func (s *Server) importTeamRoster(c *gin.Context) error {
	store, ok := s.cfg.People.(geo.TeamRosterStore)
	if !ok {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "work teams are not available on this server")
	}
	dryRun := true
	if raw, ok := c.GetQuery("dry_run"); ok {
		dryRun, _ = strconv.ParseBool(raw) // checked by pDryRun
	}
	body, _, err := readRosterUpload(c)
	if err != nil {
		return err
	}
	tf, err := rosterfile.ReadTeams(body)
	switch {
	case errors.Is(err, rosterfile.ErrTooManyRows), rosterfile.IsTooLarge(err):
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "%s", geo.ErrorMessage(err))
	case errors.Is(err, rosterfile.ErrXLS):
		return problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "%s", geo.ErrorMessage(err))
	case err != nil:
		return err
	}
	if len(tf.Rows) == 0 {
		return geo.Errorf(geo.EINVALID, "the roster has no row below its header (row %d)", tf.HeaderRow)
	}
	snap, now := s.registry.Load(), s.cfg.Now().UTC()
	scope := callerTown(c)
	teams, problems := geo.CheckTeamRoster(tf.Rows, snap, templateTown(c))
	for _, t := range teams {
		if t.Town != "" && !scope.Covers(t.Town) {
			return s.outsideTown(c, "team "+t.Name, t.Town)
		}
	}
	report := &geo.TeamRosterReport{At: now}
	if len(problems) == 0 {
		if report, err = store.ImportTeamRoster(c.Request.Context(), teams, !dryRun, callerName(c), now); err != nil {
			return err
		}
		problems = report.Errors
	}
	if report.Applied {
		s.peopleReload(c) // the villages' teams ride on the snapshot
	}
	out := teamRosterJSON(tf, report, problems, dryRun)
	if len(problems) == 0 {
		c.JSON(http.StatusOK, out)
		return nil
	}
	p := teamRosterProblem{Problem: *problemf(TypeInvalidBody, http.StatusUnprocessableEntity,
		"%d problems in the roster: nothing was written; fix the cells named in errors and upload again", len(problems)), Report: out}
	p.Instance, p.RequestID = c.Request.URL.Path, c.GetString(requestIDKey)
	for _, e := range out.Errors {
		where := fmt.Sprintf("row %d", e.Row)
		if e.Sheet != "" {
			where = fmt.Sprintf("sheet %s, %s", e.Sheet, where)
		}
		if e.Column != "" {
			where += fmt.Sprintf(", column %s (%s)", e.Column, e.Header)
		}
		p.Errors = append(p.Errors, geo.Problem{Where: where, Reason: e.Reason})
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return err
	}
	c.Data(http.StatusUnprocessableEntity, ProblemContentType, b)
	return nil
}

// teamRosterJSON renders a report. Ids of teams and people created in a
// dry run are not sent: they were rolled back.
func teamRosterJSON(tf *rosterfile.TeamFile, r *geo.TeamRosterReport, problems []geo.TeamRosterProblem, dryRun bool) *teamRosterReportOut {
	out := &teamRosterReportOut{DryRun: dryRun, Applied: r.Applied, At: r.At, Format: tf.Format, Sheet: tf.Sheet, HeaderRow: tf.HeaderRow,
		Teams: []teamRosterTeamOut{}, Errors: []teamRosterErrorOut{}}
	out.Summary.Rows = len(tf.Rows)
	for _, t := range r.Teams {
		to := teamRosterTeamOut{Row: t.Line, Town: t.Town, Name: t.Name, Kind: t.Kind, Created: t.Created, Changes: []teamRosterChangeOut{}}
		if !t.Created || r.Applied {
			id := t.TeamID
			to.ID = &id
		}
		out.Summary.Teams++
		if t.Created {
			out.Summary.NewTeams++
		}
		for _, ch := range t.Changes {
			co := teamRosterChangeOut{Change: ch.Change, Seat: ch.Seat, Name: ch.Name, PersonCreated: ch.PersonCreated,
				Village: ch.Village, VillageName: ch.VillageName, FromTeam: ch.FromTeam}
			if ch.Line > 0 {
				line := ch.Line
				co.Row = &line
			}
			if ch.PersonID > 0 && (!ch.PersonCreated || r.Applied) {
				id := ch.PersonID
				co.PersonID = &id
			}
			switch ch.Change {
			case geo.TeamChangeAppointed:
				out.Summary.Appointed++
				if ch.PersonCreated {
					out.Summary.NewPeople++
				}
			case geo.TeamChangeEnded:
				out.Summary.SeatsEnded++
			case geo.TeamChangeCovered:
				out.Summary.VillagesCovered++
			case geo.TeamChangeUncovered:
				out.Summary.VillagesEnded++
			case geo.TeamChangeUnchanged:
				out.Summary.Unchanged++
			}
			to.Changes = append(to.Changes, co)
		}
		out.Teams = append(out.Teams, to)
	}
	for _, p := range problems {
		e := teamRosterErrorOut{Sheet: tf.Sheet, Row: p.Line, Field: p.Field, Reason: p.Reason}
		if col, ok := tf.Columns[p.Field]; ok {
			e.Column, e.Header = col.Letter, col.Header
		}
		out.Errors = append(out.Errors, e)
	}
	out.Summary.Errors = len(out.Errors)
	return out
}
