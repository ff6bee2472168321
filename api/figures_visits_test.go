package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"wangge/geo"
	"wangge/geo/figures"
)

// visitFigures are the visit log's columns, in order, with their headers.
var visitFigures = []struct{ name, chinese string }{{"visits", "走访次数"}, {"households_visited", "走访户数"}, {"meetings", "会议次数"}}

// TestFigures_visits: the 考核 tables carry the demo year's visit log —
// visits, households visited and meetings — at every place level, equal to
// a plain count of the log in SQL for the period; rows add up to the
// total; people who only visited (the work teams) have rows of their own;
// service items have no visit figures. The CSV and the .xlsx 通报 carry
// the same columns under their Chinese headers, read back.
func TestFigures_visits(t *testing.T) {
	t.Parallel()
	e := figuresEnv(t)
	ctx := context.Background()
	const q = "period=2026-Q1"
	var want [3]float64
	err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'visit'), coalesce(sum(households) FILTER (WHERE kind = 'visit'), 0),
		count(*) FILTER (WHERE kind <> 'visit')
		FROM visits WHERE held_at >= timestamptz '2026-01-01 00:00+08' AND held_at < timestamptz '2026-04-01 00:00+08'`).
		Scan(&want[0], &want[1], &want[2])
	if err != nil {
		t.Fatal(err)
	}
	if want[0] < 500 || want[1] <= want[0] || want[2] < 39*4 {
		t.Fatalf("the demo year's first quarter logs %v visits, households, meetings: want a quarter's worth", want)
	}
	values := func(r figuresRowAnswer) (out [3]float64, ok bool) {
		for i, f := range visitFigures {
			v := r.Figures[f.name]
			if v == nil {
				return out, false
			}
			out[i] = *v
		}
		return out, true
	}
	for _, level := range []string{"county", "town", "district", "village", "grid", "person", "month"} {
		var a figuresAnswer
		if code := e.do(geo.AccessDispatcher, "GET", "/v1/figures?level="+level+"&"+q+"&sort=households_visited", nil, &a); code != 200 {
			t.Fatalf("%s: %d", level, code)
		}
		total, ok := values(a.Total)
		if !ok || total != want {
			t.Errorf("%s: total visits, households, meetings %v, want %v (SQL)", level, total, want)
		}
		var sum [3]float64
		visitOnly := 0
		for i, r := range a.Rows {
			v, ok := values(r)
			if !ok {
				t.Fatalf("%s: row %s has no visit figures", level, r.Key)
			}
			for j := range sum {
				sum[j] += v[j]
			}
			if *r.Figures["accepted"] == 0 && *r.Figures["completed"] == 0 && v[0]+v[2] > 0 {
				visitOnly++
			}
			if level != "month" && i > 0 && *a.Rows[i-1].Figures["households_visited"] < v[1] {
				t.Errorf("%s: ranked by households visited, %s (%v) above %s (%v)", level, a.Rows[i-1].Key,
					*a.Rows[i-1].Figures["households_visited"], r.Key, v[1])
			}
		}
		if sum != want {
			t.Errorf("%s: rows add up to %v, want %v", level, sum, want)
		}
		if level == "person" && visitOnly < 39 {
			t.Errorf("person: %d rows of people who only visited, want the work teams' (some per village)", visitOnly)
		}
	}
	var items figuresAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/figures?level=item&"+q, nil, &items)
	for _, r := range append(items.Rows, items.Total) {
		if _, ok := values(r); ok || r.Figures["visits"] != nil {
			t.Errorf("item %s has visit figures %v", r.Key, r.Figures["visits"])
		}
	}
	var village figuresAnswer
	e.do(geo.AccessDispatcher, "GET", "/v1/figures?level=village&"+q, nil, &village)
	// One village against the log: its row is its visits.
	v0 := village.Rows[0]
	var one [3]float64
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'visit'), coalesce(sum(households) FILTER (WHERE kind = 'visit'), 0),
		count(*) FILTER (WHERE kind <> 'visit') FROM visits
		WHERE village_code = $1 AND held_at >= timestamptz '2026-01-01 00:00+08' AND held_at < timestamptz '2026-04-01 00:00+08'`, v0.Key).
		Scan(&one[0], &one[1], &one[2]); err != nil {
		t.Fatal(err)
	}
	if got, _ := values(v0); got != one || one[2] == 0 {
		t.Errorf("village %s: %v, want %v (SQL)", v0.Key, got, one)
	}

	// CSV: the three columns last, under their Chinese headers.
	rec := e.raw(geo.AccessDispatcher, "/v1/figures.csv?level=village&"+q)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rec.Body.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, last := recs[0], recs[len(recs)-1]
	n := len(header)
	for i, f := range visitFigures {
		col := n - len(visitFigures) + i
		if header[col] != f.chinese || last[col] != strconv.Itoa(int(want[i])) {
			t.Errorf("CSV column %d: %q, total %q; want %s, %v", col, header[col], last[col], f.chinese, want[i])
		}
	}

	// The 通报: each sheet's header ends with the visit columns; the
	// village sheet's total reads back as the log's counts; the service
	// items' cells are empty; 说明 defines them.
	rec = e.raw(geo.AccessAdmin, "/v1/figures.xlsx?"+q)
	f, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, level := range figures.ReportLevels {
		rows, err := f.GetRows(level.Chinese(), excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		header := rows[2]
		if got := header[len(header)-3:]; !slices.Equal(got, []string{"走访次数", "走访户数", "会议次数"}) {
			t.Errorf("%s: header ends %v", level, got)
		}
		total := append(rows[len(rows)-1], make([]string, len(header))...)[:len(header)]
		if total[2] != "合计" && level != figures.LevelCounty && level != figures.LevelTown {
			t.Errorf("%s: last row %v, want the total", level, total[:4])
		}
		for i := range visitFigures {
			cell := total[len(header)-3+i]
			switch {
			case level == figures.LevelItem:
				if cell != "" {
					t.Errorf("%s: total %s = %q, want empty", level, visitFigures[i].name, cell)
				}
			default:
				if x, err := strconv.ParseFloat(cell, 64); err != nil || x != want[i] {
					t.Errorf("%s: total %s = %q, want %v", level, visitFigures[i].name, cell, want[i])
				}
			}
		}
	}
	defs, _ := f.GetRows("说明")
	found := 0
	for _, d := range defs {
		for _, vf := range visitFigures {
			if len(d) == 3 && d[0] == vf.chinese && d[1] == vf.name && strings.Contains(d[2], "本期") {
				found++
			}
		}
	}
	if found != 3 {
		t.Errorf("说明 defines %d of the visit columns, want 3", found)
	}
}

// TestScopedDispatcher_figuresVisits: a town's dispatcher sees its own
// town's visits in the tables and in its total, not the other town's; the
// county's dispatcher sees both.
func TestScopedDispatcher_figuresVisits(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t)
	var person struct{ ID int64 }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/people", map[string]any{"name": "走访干部", "phone": "13900001111"}, &person); code != 201 {
		t.Fatalf("POST /v1/people: %d", code)
	}
	for _, v := range []struct {
		role     geo.AccessRole
		lon, lat float64
		kind     string
		n        int
	}{{dispatcherA, centre(1)[0], centre(1)[1], "visit", 3}, {dispatcherA, centre(2)[0], centre(2)[1], "committee_meeting", 0},
		{dispatcherB, inB[0], inB[1], "visit", 5}} {
		body := map[string]any{"person": person.ID, "held_at": "2026-11-20", "kind": v.kind,
			"location": map[string]any{"lon": v.lon, "lat": v.lat}}
		if v.n > 0 {
			body["households"] = v.n
		}
		if code := e.do(v.role, http.MethodPost, "/v1/visits", body, nil); code != 201 {
			t.Fatalf("logging a %s: %d", v.kind, code)
		}
	}
	get := func(r figuresRowAnswer, name string) float64 {
		if v := r.Figures[name]; v != nil {
			return *v
		}
		return -1
	}
	var county figuresAnswer
	if code := e.do(geo.AccessDispatcher, http.MethodGet, "/v1/figures?level=town&period=2026", nil, &county); code != 200 || len(county.Rows) != 2 {
		t.Fatalf("the county's town table: %d %+v", code, county.Rows)
	}
	for _, r := range county.Rows {
		want := map[string][3]float64{townA: {1, 3, 1}, townB: {1, 5, 0}}[r.Key]
		if got := [3]float64{get(r, "visits"), get(r, "households_visited"), get(r, "meetings")}; got != want {
			t.Errorf("town %s: visits, households, meetings %v, want %v", r.Key, got, want)
		}
	}
	for _, level := range []string{"village", "grid", "district"} {
		var town figuresAnswer
		if code := e.do(dispatcherA, http.MethodGet, "/v1/figures?level="+level+"&period=2026", nil, &town); code != 200 {
			t.Fatalf("town A's %s table: %d", level, code)
		}
		visits, households := 0.0, 0.0
		for _, r := range town.Rows {
			if !strings.HasPrefix(r.Key, townA) {
				t.Errorf("town A's dispatcher sees %s %s", level, r.Key)
			}
			visits += get(r, "visits")
			households += get(r, "households_visited")
		}
		if visits != 1 || households != 3 || get(town.Total, "households_visited") != 3 || get(town.Total, "meetings") != 1 {
			t.Errorf("town A's %s table: %v visits, %v households in rows, total %v; want town A's alone", level, visits, households, town.Total.Figures)
		}
	}
}
