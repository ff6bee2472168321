package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/figures"
	"wangge/geo/townfile"
)

// figuresEnv is the demo town with its demo year, at 2026-12-03 09:00 in
// China.
func figuresEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	e := newDispatchEnv(t, td)
	e.setNow(time.Date(2026, 12, 3, 9, 0, 0, 0, figures.China))
	n, err := e.db.LoadDemoYear(context.Background(), td.Town.Code, fixtures.OpenDemoYear)
	if err != nil || n == 0 {
		t.Fatalf("loading the demo year: %d, %v", n, err)
	}
	return e
}

type figuresRowAnswer struct {
	Rank         int
	Key          string
	Name, Parent string
	Figures      map[string]*float64
}

type figuresAnswer struct {
	Level  string
	Period struct{ Kind, Spec, From, To, Label string }
	Sort   string
	Rows   []figuresRowAnswer
	Total  figuresRowAnswer
}

func (e *dispatchEnv) raw(role geo.AccessRole, target string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	return rec
}

// TestFigures_ranked: the JSON table is ranked best first by the sort
// figure, ties share a rank, its rows add up to the total, and a time
// level lists its buckets in order.
func TestFigures_ranked(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	for _, sort := range []string{"on_time_rate", "overdue_now", "median_hours"} {
		var a figuresAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/figures?level=grid&period=2026-Q3&sort="+sort, nil, &a); code != 200 {
			t.Fatalf("sort %s: %d", sort, code)
		}
		f, _ := figures.FigureByName(sort)
		if len(a.Rows) < 150 || a.Period.From != "2026-07-01" || a.Period.To != "2026-09-30" || a.Level != "grid" {
			t.Fatalf("sort %s: %d rows over %+v", sort, len(a.Rows), a.Period)
		}
		accepted := 0.0
		for i, r := range a.Rows {
			accepted += *r.Figures["accepted"]
			if i == 0 {
				continue
			}
			prev, cur := a.Rows[i-1], r
			pv, cv := prev.Figures[sort], cur.Figures[sort]
			switch {
			case cv == nil:
				if cur.Rank != 0 {
					t.Errorf("%s: row %s has no value but rank %d", sort, cur.Key, cur.Rank)
				}
			case pv == nil:
				t.Errorf("%s: row %s with a value follows one without", sort, cur.Key)
			case *pv == *cv && prev.Rank != cur.Rank, *pv != *cv && cur.Rank != i+1:
				t.Errorf("%s: ranks %d (%v), %d (%v) at place %d", sort, prev.Rank, *pv, cur.Rank, *cv, i+1)
			case f.HigherBetter && *pv < *cv, !f.HigherBetter && *pv > *cv:
				t.Errorf("%s: %s (%v) ranked above %s (%v)", sort, prev.Key, *pv, cur.Key, *cv)
			}
		}
		if total := *a.Total.Figures["accepted"]; total != accepted || total < 1000 {
			t.Errorf("%s: total accepted %v, rows add up to %v", sort, total, accepted)
		}
	}
	var months figuresAnswer
	e.do(geo.AccessAdmin, "GET", "/v1/figures?level=month&from=2025-12-01&to=2026-11-30&sort=on_time_rate", nil, &months)
	var keys []string
	for _, r := range months.Rows {
		keys = append(keys, r.Key)
	}
	if len(keys) != 12 || keys[0] != "2025-12-01" || keys[11] != "2026-11-01" || !slices.IsSorted(keys) || months.Rows[0].Name != "2025年12月" {
		t.Errorf("months: got %v", keys)
	}
}

// TestFigures_townAndCounty: the town and county levels of a one-town
// deployment have one row each, the town's, equal to the total, named by
// the town and its county.
func TestFigures_townAndCounty(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	var village figuresAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/figures?level=village&period=2026", nil, &village)
	for level, key := range map[string]string{"town": "431321101", "county": "431321"} {
		var a figuresAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/figures?level="+level+"&period=2026", nil, &a); code != 200 {
			t.Fatalf("%s: %d", level, code)
		}
		if len(a.Rows) != 1 || a.Rows[0].Key != key || a.Rows[0].Name == key || a.Rows[0].Name == "" {
			t.Fatalf("%s: rows %+v, want one, %s, named", level, a.Rows, key)
		}
		for name, v := range village.Total.Figures {
			if got := a.Rows[0].Figures[name]; (got == nil) != (v == nil) || got != nil && *got != *v {
				t.Errorf("%s %s: %v, the villages' total %v", level, name, deref(got), deref(v))
			}
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestFigures_refused: roles, and every bad parameter named at once.
func TestFigures_refused(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessPlanner: 403} {
		for _, path := range []string{"/v1/figures", "/v1/figures.csv", "/v1/figures.xlsx"} {
			if code := e.do(role, "GET", path, nil, nil); code != want {
				t.Errorf("%s as %q: got %d, want %d", path, role, code, want)
			}
		}
	}
	var p struct {
		Errors []struct{ Where string }
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/figures?level=province&period=2026-13&sort=speed", nil, &p); code != 400 {
		t.Fatalf("bad parameters: got %d", code)
	}
	var where []string
	for _, e := range p.Errors {
		where = append(where, e.Where)
	}
	if !slices.Equal(where, []string{"level", "period", "sort"}) {
		t.Errorf("bad parameters named %v, want level, period, sort", where)
	}
	for target, param := range map[string]string{
		"/v1/figures?from=2026-01-01":             "to",
		"/v1/figures?period=2026&from=2026-01-01": "period",
		"/v1/figures.xlsx?level=grid":             "level", // the 通报 has every level
		"/v1/figures?grid=431321101001001":        "grid",
	} {
		var p struct {
			Errors []struct{ Where string }
		}
		if code := e.do(geo.AccessDispatcher, "GET", target, nil, &p); code != 400 || len(p.Errors) == 0 || p.Errors[0].Where != param {
			t.Errorf("%s: got %d %+v, want 400 naming %s", target, code, p.Errors, param)
		}
	}
}

// TestFigures_csv parses the CSV back and compares it with the JSON.
func TestFigures_csv(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	const q = "level=village&period=2026&sort=satisfaction_rate"
	var a figuresAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/figures?"+q, nil, &a)
	rec := e.raw(geo.AccessDispatcher, "/v1/figures.csv?"+q)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="figures-village-2026.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	body, ok := bytes.CutPrefix(rec.Body.Bytes(), []byte("\ufeff"))
	if !ok {
		t.Error("the CSV has no BOM: Excel would read it as GBK")
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	if header[0] != "名次" || header[2] != "村（社区）" || header[4] != "受理数" || len(header) != 4+len(figures.Figures) {
		t.Fatalf("header %v", header)
	}
	if len(recs) != 1+len(a.Rows)+1 {
		t.Fatalf("got %d lines, want header, %d rows and the total", len(recs), len(a.Rows))
	}
	for i, want := range append(a.Rows, a.Total) {
		got := recs[1+i]
		rank := ""
		if want.Rank > 0 {
			rank = strconv.Itoa(want.Rank)
		}
		if got[0] != rank || got[1] != want.Key || got[2] != want.Name || got[3] != want.Parent {
			t.Errorf("line %d: %v, want rank %q %s %s %s", i+1, got[:4], rank, want.Key, want.Name, want.Parent)
		}
		for j, f := range figures.Figures {
			v := want.Figures[f.Name]
			if got[4+j] == "" {
				if v != nil {
					t.Errorf("line %d %s: empty, want %v", i+1, f.Name, *v)
				}
				continue
			}
			x, err := strconv.ParseFloat(got[4+j], 64)
			tol := 0.5e-4
			if f.Hours {
				tol = 0.05 + 1e-9
			}
			if err != nil || v == nil || math.Abs(x-*v) > tol {
				t.Errorf("line %d %s: %q, want %v", i+1, f.Name, got[4+j], v)
			}
		}
	}
}

// TestFigures_xlsx opens the 通报 and reads every sheet back: its title,
// its frozen header, its formats, and each row against the JSON table of
// the same level.
func TestFigures_xlsx(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	const q = "period=2026-Q2&sort=on_time_rate"
	rec := e.raw(geo.AccessAdmin, "/v1/figures.xlsx?"+q)
	f, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wantSheets []string
	for _, l := range figures.ReportLevels {
		wantSheets = append(wantSheets, l.Chinese())
	}
	wantSheets = append(wantSheets, "说明")
	if got := f.GetSheetList(); !slices.Equal(got, wantSheets) {
		t.Fatalf("sheets %v, want %v", got, wantSheets)
	}
	// The p90's column (hours), and the visit log's counts after it.
	p90 := slices.IndexFunc(figures.Figures, func(f figures.Figure) bool { return f.Name == "p90_hours" })
	for _, level := range figures.ReportLevels {
		sheet := level.Chinese()
		t.Run(string(level), func(t *testing.T) {
			var a figuresAnswer
			e.do(geo.AccessAdmin, "GET", fmt.Sprintf("/v1/figures?level=%s&%s", level, q), nil, &a)
			rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(rows[0][0], "2026年第2季度") || !strings.Contains(rows[1][0], "2026-04-01 至 2026-06-30") {
				t.Errorf("title %q, note %q", rows[0][0], rows[1][0])
			}
			header := rows[2]
			if header[2] != level.Chinese() || header[4] != "受理数" || header[4+p90] != "办结用时P90（小时）" || len(header) != 4+len(figures.Figures) {
				t.Errorf("header %v", header)
			}
			data := rows[3:]
			if len(data) != len(a.Rows)+1 {
				t.Fatalf("%d data rows, want %d and the total", len(data), len(a.Rows))
			}
			for i, want := range append(a.Rows, a.Total) {
				got := append(data[i], make([]string, len(header))...)[:len(header)]
				rank := ""
				if want.Rank > 0 {
					rank = strconv.Itoa(want.Rank)
				}
				code := want.Key
				if level == figures.LevelPerson {
					code, _ = figures.SplitPersonKey(want.Key) // the sheet shows the phone, then the name
				}
				if got[0] != rank || got[1] != code || got[2] != want.Name || got[3] != want.Parent {
					t.Errorf("row %d: %v, want %q %s %s %s", i+1, got[:4], rank, want.Key, want.Name, want.Parent)
				}
				for j, fig := range figures.Figures {
					v := want.Figures[fig.Name]
					if got[4+j] == "" {
						if v != nil {
							t.Errorf("row %d %s: empty, want %v", i+1, fig.Name, *v)
						}
						continue
					}
					x, err := strconv.ParseFloat(got[4+j], 64)
					if err != nil || v == nil || math.Abs(x-*v) > 1e-9 {
						t.Errorf("row %d %s: %q, want %v", i+1, fig.Name, got[4+j], v)
					}
				}
			}
			panes, err := f.GetPanes(sheet)
			if err != nil || !panes.Freeze || panes.YSplit != 3 {
				t.Errorf("panes %+v, %v: want the header frozen", panes, err)
			}
			// A rate is shown as a percentage, hours with decimals.
			for col, numFmt := range map[int]int{4 + 5: 10, 4 + p90 + 1: 4, 5: 3, 4 + len(figures.Figures): 3} {
				cell, _ := excelize.CoordinatesToCellName(col, 4)
				id, _ := f.GetCellStyle(sheet, cell)
				st, err := f.GetStyle(id)
				if err != nil || st.NumFmt != numFmt {
					t.Errorf("%s: number format %d, want %d", cell, st.NumFmt, numFmt)
				}
			}
			hid, _ := f.GetCellStyle(sheet, "E3")
			if hs, _ := f.GetStyle(hid); hs == nil || hs.Font == nil || !hs.Font.Bold {
				t.Error("the header is not bold")
			}
			if w, _ := f.GetColWidth(sheet, "C"); w < 12 {
				t.Errorf("column C is %v wide", w)
			}
		})
	}
	defs, _ := f.GetRows("说明")
	if len(defs) != 1+len(figures.Figures) || defs[1][0] != "受理数" || defs[1][2] == "" {
		t.Errorf("说明: %v", defs[:2])
	}
}
