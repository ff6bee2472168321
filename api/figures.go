package api

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/figures"
)

// This file serves the 考核 figures (package geo/figures defines them):
// GET /v1/figures (JSON), /v1/figures.csv and the .xlsx 通报
// /v1/figures.xlsx, one sheet per level. Dispatchers and admins only: the
// tables name people.

func (s *Server) figureRoutes(v1 router) {
	dispatch := v1.with(s.require(geo.AccessDispatcher))
	table := endpoint{needs: needFigures, query: read("level", "period", "from", "to", "sort", "town")}
	dispatch.GET("/figures", table, s.figuresJSON)
	dispatch.GET("/figures.csv", table, s.figuresCSV)
	dispatch.GET("/figures.xlsx", endpoint{needs: needFigures, query: read("period", "from", "to", "sort", "town")}, s.figuresXLSX)
}

// figuresStore is the store that computes the tables: the incident store,
// when it can (pgstore's does).
func (s *Server) figuresStore() figures.Store {
	fs, _ := s.cfg.Incidents.(figures.Store)
	return fs
}

// figuresRequest is a checked request for tables.
type figuresRequest struct {
	// town is the town the tables are limited to (?town=, or the
	// caller's own when its token is limited to one); "" for all.
	town   string
	level  figures.Level
	period figures.Period
	sort   figures.Figure
	now    time.Time
}

// readFigures reads the parameters, every problem at once.
func (s *Server) readFigures(c *gin.Context) (figuresRequest, error) {
	r := figuresRequest{now: s.cfg.Now()}
	var probs []geo.Problem
	collect := func(err error) {
		if e, ok := err.(*geo.Error); ok {
			probs = append(probs, e.Problems...)
		}
	}
	var err error
	if r.level, err = figures.ParseLevel(c.Query("level")); err != nil {
		collect(err)
	}
	if r.period, err = figures.ParsePeriod(c.Query("period"), c.Query("from"), c.Query("to"), r.now); err != nil {
		collect(err)
	}
	if r.sort, err = figures.ParseSort(c.Query("sort")); err != nil {
		collect(err)
	}
	if r.town, err = s.queryTown(c); err != nil {
		p, ok := err.(*Problem)
		if !ok || p.Status != http.StatusBadRequest {
			return r, err // 403: another town than the token's
		}
		probs = append(probs, p.Errors...)
	}
	if len(probs) > 0 {
		return r, geo.Invalid(probs...)
	}
	return r, nil
}

// table computes level's table of r and ranks it: places best first by the
// sort figure; time buckets in time order, each with its rank.
func (s *Server) table(c *gin.Context, r figuresRequest, level figures.Level) (*figures.Table, []figures.Ranked, error) {
	scope := r.town
	if scope != "" && !townLevel(level) {
		if callerTown(c) == "" {
			return nil, nil, badParam("town", "figures by %s are the whole deployment's: ask by town, district, village or grid for town %s, or leave town out",
				level, s.townName(scope))
		}
		return nil, nil, problemf(TypeOutsideTown, http.StatusForbidden,
			"this token is limited to town %s: figures by %s are the whole deployment's; ask by town, district, village or grid",
			s.townName(scope), level)
	}
	t, err := s.figuresStore().Figures(c.Request.Context(), figures.Query{Level: level, Period: r.period, Now: r.now})
	if err != nil {
		return nil, nil, err
	}
	if scope != "" {
		if t, err = s.townTable(c, r, t, scope); err != nil {
			return nil, nil, err
		}
	}
	ranked := figures.Rank(t.Rows, r.sort)
	if level.IsTime() {
		slices.SortFunc(ranked, func(a, b figures.Ranked) int { return cmp.Compare(a.Key, b.Key) })
	}
	return t, ranked, nil
}

// figureJSON describes one column.
type figureJSON struct {
	Name         string `json:"name"`
	Title        string `json:"title"`
	Definition   string `json:"definition"`
	Kind         string `json:"kind"` // count, rate (0–1) or hours
	HigherBetter bool   `json:"higher_is_better"`
}

// figureRowJSON is a row: its group and every figure by name (null where
// it has no value: a rate over nothing, a median of nothing).
type figureRowJSON struct {
	Rank   int                 `json:"rank,omitempty"`
	Key    string              `json:"key"`
	Name   string              `json:"name"`
	Parent string              `json:"parent,omitempty"`
	Values map[string]*float64 `json:"figures"`
}

func rowJSON(rank int, r figures.Row) figureRowJSON {
	out := figureRowJSON{Rank: rank, Key: r.Key, Name: r.Name, Parent: r.Parent, Values: map[string]*float64{}}
	for _, f := range figures.Figures {
		if v, ok := f.Value(r); ok {
			out.Values[f.Name] = &v
		} else {
			out.Values[f.Name] = nil
		}
	}
	return out
}

func (f figureJSON) of(fig figures.Figure) figureJSON {
	kind := "count"
	switch {
	case fig.Rate:
		kind = "rate"
	case fig.Hours:
		kind = "hours"
	}
	return figureJSON{Name: fig.Name, Title: fig.Chinese, Definition: fig.Definition, Kind: kind, HigherBetter: fig.HigherBetter}
}

// periodJSON is the period as the answer states it: from and to are days
// in China time, both included.
type periodJSON struct {
	Kind  string `json:"kind"`
	Spec  string `json:"spec"`
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
}

func periodOf(p figures.Period) periodJSON {
	return periodJSON{Kind: string(p.Kind), Spec: p.Spec, From: p.From.In(figures.China).Format(time.DateOnly),
		To: p.To.In(figures.China).AddDate(0, 0, -1).Format(time.DateOnly), Label: p.Label}
}

func (s *Server) figuresJSON(c *gin.Context) error {
	r, err := s.readFigures(c)
	if err != nil {
		return err
	}
	t, ranked, err := s.table(c, r, r.level)
	if err != nil {
		return err
	}
	cols := make([]figureJSON, len(figures.Figures))
	for i, f := range figures.Figures {
		cols[i] = figureJSON{}.of(f)
	}
	rows := make([]figureRowJSON, len(ranked))
	for i, rr := range ranked {
		rows[i] = rowJSON(rr.Rank, rr.Row)
	}
	c.JSON(http.StatusOK, gin.H{"level": r.level, "level_title": r.level.Chinese(), "period": periodOf(r.period),
		"sort": r.sort.Name, "now": r.now.UTC(), "figures": cols, "rows": rows, "total": rowJSON(0, t.Total)})
	return nil
}

// figuresHeader is the header of a table in CSV and in the 通报.
// rowCode is what a CSV or a 通报 shows in its code column: a person's
// phone (their name is the next column; the JSON keeps the whole key).
func rowCode(level figures.Level, key string) string {
	if level == figures.LevelPerson {
		phone, _ := figures.SplitPersonKey(key)
		return phone
	}
	return key
}

func figuresHeader(level figures.Level) []string {
	code := "编码"
	if level == figures.LevelPerson {
		code = "手机号"
	}
	h := []string{"名次", code, level.Chinese(), "所属"}
	for _, f := range figures.Figures {
		h = append(h, f.Chinese)
	}
	return h
}

func (s *Server) figuresCSV(c *gin.Context) error {
	r, err := s.readFigures(c)
	if err != nil {
		return err
	}
	t, ranked, err := s.table(c, r, r.level)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff") // Excel reads a CSV as UTF-8 only with the BOM
	w := csv.NewWriter(&buf)
	w.Write(figuresHeader(r.level))
	line := func(rank string, row figures.Row) {
		rec := []string{rank, rowCode(r.level, row.Key), row.Name, row.Parent}
		for _, f := range figures.Figures {
			rec = append(rec, f.Format(row))
		}
		w.Write(rec)
	}
	for _, rr := range ranked {
		rank := ""
		if rr.Rank > 0 {
			rank = fmt.Sprint(rr.Rank)
		}
		line(rank, rr.Row)
	}
	line("", t.Total)
	w.Flush()
	attachment(c, fmt.Sprintf("figures-%s-%s.csv", r.level, r.period.Spec), fmt.Sprintf("考核-%s-%s.csv", r.level.Chinese(), r.period.Label))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	return nil
}

// attachment names the download: ASCII for every client, and the Chinese
// name (RFC 6266 filename*) for those that read it.
func attachment(c *gin.Context, ascii, chinese string) {
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(chinese)))
}

// townLevel reports whether level's groups lie within one town (their keys
// start with its code), so that a town's token can be shown its own rows.
// Persons, service items and periods are counted over every town.
func townLevel(level figures.Level) bool {
	switch level {
	case figures.LevelTown, figures.LevelDistrict, figures.LevelVillage, figures.LevelGrid:
		return true
	}
	return false
}

// townTable keeps the rows of t in town and makes its total the town's
// own row (exact: medians do not add up), for a table limited to town.
func (s *Server) townTable(c *gin.Context, r figuresRequest, t *figures.Table, town string) (*figures.Table, error) {
	out := *t
	out.Rows = nil
	for _, row := range t.Rows {
		if strings.HasPrefix(row.Key, town) {
			out.Rows = append(out.Rows, row)
		}
	}
	towns := t
	if t.Level != figures.LevelTown {
		var err error
		if towns, err = s.figuresStore().Figures(c.Request.Context(), figures.Query{Level: figures.LevelTown, Period: r.period, Now: r.now}); err != nil {
			return nil, err
		}
	}
	out.Total = figures.Row{Key: town}
	for _, row := range towns.Rows {
		if row.Key == town {
			out.Total = row
		}
	}
	return &out, nil
}
