package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/rosterfile"
)

// readRosterUpload reads the uploaded file: the raw body, or the first part
// of a multipart/form-data form (a browser's upload) that is a file or is
// named "file", within the server's body limit (Config.MaxBodyBytes, 4 MiB
// by default; a roster of rosterfile.MaxRows rows is under 1 MiB as .xlsx).
// It also returns the media type the client declared, which nothing relies
// on: rosterfile.Read tells the format by content.
func readRosterUpload(c *gin.Context) ([]byte, string, error) {
	tooBig := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the upload exceeds %d bytes", mbe.Limit)
		}
		return problemf(TypeInvalidBody, http.StatusBadRequest, "reading the upload: %v", err)
	}
	ct := c.GetHeader("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, "", tooBig(err)
		}
		return body, mt, nil
	}
	if params["boundary"] == "" {
		return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "multipart/form-data without a boundary")
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "reading the form: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "the form has no file: send the roster as the part named file")
		} else if err != nil {
			return nil, "", tooBig(err)
		}
		if part.FileName() == "" && part.FormName() != "file" {
			continue
		}
		body, err := io.ReadAll(part)
		if err != nil {
			return nil, "", tooBig(err)
		}
		kind := part.Header.Get("Content-Type")
		if strings.HasSuffix(strings.ToLower(part.FileName()), ".csv") {
			kind = "text/csv"
		}
		return body, kind, nil
	}
}

// readRoster reads an uploaded roster with package rosterfile. A roster
// over rosterfile.MaxRows is 413, an old .xls workbook 415; any other
// defect of the file is a 400 (EINVALID) that says what is wrong.
func readRoster(body []byte) (*rosterfile.File, error) {
	rf, err := rosterfile.Read(body)
	switch {
	case errors.Is(err, rosterfile.ErrTooManyRows), rosterfile.IsTooLarge(err):
		return nil, problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "%s", geo.ErrorMessage(err))
	case errors.Is(err, rosterfile.ErrXLS):
		return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "%s", geo.ErrorMessage(err))
	}
	return rf, err
}

// rosterRowOut is one row of a roster report.
type rosterRowOut struct {
	Row          int              `json:"row"`
	Name         string           `json:"name"`
	Role         geo.Role         `json:"role,omitempty"`
	Grid         *codeNameJSON    `json:"grid"`
	Village      *codeNameJSON    `json:"village"`
	PersonID     *int64           `json:"person_id"`
	Changes      []string         `json:"changes"`
	Ended        []assignmentOut  `json:"ended"`
	Organization *rosterOrgOut    `json:"organization"`
	Notes        []string         `json:"notes"`
	Errors       []rosterErrorOut `json:"errors"`
}

type rosterOrgOut struct {
	ID   int64       `json:"id"`
	Kind geo.OrgKind `json:"kind"`
	Name string      `json:"name"`
}

// rosterErrorOut locates an error as Excel shows it: row, column letter
// and header.
type rosterErrorOut struct {
	Column string          `json:"column,omitempty"`
	Header string          `json:"header,omitempty"`
	Field  geo.RosterField `json:"field,omitempty"`
	Reason string          `json:"reason"`
}

type rosterSummary struct {
	Rows              int `json:"rows"`
	Errors            int `json:"errors"`
	NewPeople         int `json:"new_people"`
	NewAppointments   int `json:"new_appointments"`
	EndedAppointments int `json:"ended_appointments"`
	Unchanged         int `json:"unchanged"`
}

// rosterReportOut is the report of POST /v1/rosters.
type rosterReportOut struct {
	DryRun    bool            `json:"dry_run"`
	Applied   bool            `json:"applied"`
	Format    string          `json:"format"`
	Sheet     string          `json:"sheet,omitempty"`
	HeaderRow int             `json:"header_row"`
	Summary   rosterSummary   `json:"summary"`
	Rows      []rosterRowOut  `json:"rows"`
	Ended     []assignmentOut `json:"ended"`
}

// rosterProblem is the 422 answer: a problem whose errors[] name every
// row and column at fault, with the whole report.
type rosterProblem struct {
	Problem
	Report *rosterReportOut `json:"report"`
}

// importRoster answers POST /v1/rosters[?dry_run=] (admin) with an .xlsx
// or .csv roster, one row per person. By default it is a dry run: it
// reports per row what would change and writes nothing; dry_run=false
// applies it, all in one transaction. A roster with any row in error is
// 422 with the report, and nothing is written either way.
func (s *Server) importRoster(c *gin.Context) error {
	var err error
	store := s.cfg.People
	dryRun := true
	if raw, ok := c.GetQuery("dry_run"); ok {
		if dryRun, err = strconv.ParseBool(raw); err != nil {
			return badParam("dry_run", "got %q, want true or false", truncate(raw))
		}
	}
	body, _, err := readRosterUpload(c)
	if err != nil {
		return err
	}
	rf, err := readRoster(body)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	if err := s.townMayRoster(c, rf.Rows, now); err != nil { // auth.go: a town's admin imports its town's roster
		return err
	}
	report, err := store.ImportRoster(c.Request.Context(), rf.Rows, !dryRun, callerName(c), now)
	if err != nil {
		return err
	}
	if report.Applied {
		s.peopleReload(c)
	}
	out := s.rosterReportJSON(c, rf, report, dryRun)
	if out.Summary.Errors == 0 {
		c.JSON(http.StatusOK, out)
		return nil
	}
	p := rosterProblem{Problem: *problemf(TypeInvalidBody, http.StatusUnprocessableEntity,
		"%d of %d rows have errors: nothing was written; fix the rows named in errors and upload again", out.Summary.Errors, out.Summary.Rows),
		Report: out}
	p.Instance, p.RequestID = c.Request.URL.Path, c.GetString(requestIDKey)
	for _, row := range out.Rows {
		for _, e := range row.Errors {
			where := fmt.Sprintf("row %d", row.Row)
			if e.Column != "" {
				where += fmt.Sprintf(", column %s (%s)", e.Column, e.Header)
			}
			p.Errors = append(p.Errors, geo.Problem{Where: where, Reason: e.Reason})
		}
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return err
	}
	c.Data(http.StatusUnprocessableEntity, ProblemContentType, b)
	return nil
}

// rosterReportJSON renders the report, locating errors by column.
func (s *Server) rosterReportJSON(c *gin.Context, rf *rosterfile.File, r *geo.RosterReport, dryRun bool) *rosterReportOut {
	personal := callerRole(c).SeesPersonalData()
	snap := s.registry.Load()
	out := &rosterReportOut{DryRun: dryRun, Applied: r.Applied, Format: rf.Format, Sheet: rf.Sheet, HeaderRow: rf.HeaderRow,
		Rows: []rosterRowOut{}, Ended: []assignmentOut{}}
	for _, row := range r.Rows {
		ro := rosterRowOut{Row: row.Line, Name: row.Name, Role: row.Role, Changes: row.Changes, Ended: []assignmentOut{},
			Notes: row.Notes, Errors: []rosterErrorOut{}}
		if ro.Changes == nil {
			ro.Changes = []string{}
		}
		if ro.Notes == nil {
			ro.Notes = []string{}
		}
		if row.PersonID > 0 {
			id := row.PersonID
			ro.PersonID = &id
		}
		if row.GridCode != "" {
			ro.Grid = &codeNameJSON{Code: row.GridCode}
			if g, ok := snap.Grid(row.GridCode); ok {
				ro.Grid.Name = g.Name
			}
		}
		if row.VillageCode != "" {
			ro.Village = &codeNameJSON{Code: row.VillageCode}
			if v, ok := snap.Village(row.VillageCode); ok {
				ro.Village.Name = v.Name
			}
		}
		if o := row.Organization; o != nil {
			ro.Organization = &rosterOrgOut{ID: o.ID, Kind: o.Kind, Name: o.Name}
		}
		for _, e := range row.Ended {
			ro.Ended = append(ro.Ended, s.assignmentJSON(e, true, personal))
		}
		for _, e := range row.Errors {
			eo := rosterErrorOut{Field: e.Field, Reason: e.Reason}
			if col, ok := rf.Columns[e.Field]; ok {
				eo.Column, eo.Header = col.Letter, col.Header
			}
			ro.Errors = append(ro.Errors, eo)
		}
		out.Rows = append(out.Rows, ro)
		out.Summary.Rows++
		if len(row.Errors) > 0 {
			out.Summary.Errors++
		}
		for _, ch := range row.Changes {
			switch ch {
			case geo.ChangeNewPerson:
				out.Summary.NewPeople++
			case geo.ChangeNewAppointment:
				out.Summary.NewAppointments++
			case geo.ChangeUnchanged:
				out.Summary.Unchanged++
			}
		}
		out.Summary.EndedAppointments += len(row.Ended)
	}
	for _, e := range r.Ended {
		out.Ended = append(out.Ended, s.assignmentJSON(e, true, personal))
	}
	out.Summary.EndedAppointments += len(r.Ended)
	return out
}

// rosterTemplate answers GET /v1/rosters/template.xlsx: the layout POST
// /v1/rosters expects, with Chinese headers, an example row, a sheet that
// explains the columns and one that lists the current grids. Open to
// everyone: it holds no personal data.
func (s *Server) rosterTemplate(c *gin.Context) error {
	b, err := rosterfile.Template(s.registry.Load())
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `attachment; filename="wangge-roster-template.xlsx"; filename*=UTF-8''`+url.PathEscape("网格人员花名册模板.xlsx"))
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, rosterfile.ContentType, b)
	return nil
}
