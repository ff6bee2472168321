package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/xuri/excelize/v2"

	"wangge/geo"
	"wangge/geo/spheroid"
	"wangge/geo/workcal"
)

// spFeature is a service point feature as the API sends it.
type spFeature struct {
	ID         int64
	Geometry   struct{ Coordinates []float64 }
	Properties struct {
		ID       int64
		Name     string
		Village  *string
		Services []string
		Staff    []struct{ Name, Phone, Role string }
		ValidTo  *time.Time `json:"valid_to"`
	}
}

type spCollection struct{ Features []spFeature }

// weekdayHours is open Monday to Friday 08:30-12:00 and 14:30-17:30.
var weekdayHours = map[string][]string{"mon": {"08:30-12:00", "14:30-17:30"}, "tue": {"08:30-12:00", "14:30-17:30"},
	"wed": {"08:30-12:00", "14:30-17:30"}, "thu": {"08:30-12:00", "14:30-17:30"}, "fri": {"08:30-12:00", "14:30-17:30"}}

func servicePointBody(name string, lon, lat float64, services ...string) map[string]any {
	return map[string]any{"town": "431321101", "village": "431321101201", "kind": "service_station", "name": name,
		"location": []float64{lon, lat}, "address": "村部一楼", "hours": weekdayHours, "services": services,
		"staff": []map[string]string{{"name": "坐班员甲", "phone": "13700000001", "role": "代办员"}}}
}

func (e *dispatchEnv) createServicePoint(body map[string]any) spFeature {
	e.t.Helper()
	var f spFeature
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-points", body, &f); code != 201 {
		e.t.Fatalf("creating %v: %d", body["name"], code)
	}
	return f
}

// TestServicePoints_crudHistoryPrivacy: an admin creates, replaces and
// ends a point; the map shows it as it was at any time; staff phones go
// only to roles that see personal data; a request is checked whole.
func TestServicePoints_crudHistoryPrivacy(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	created := t0
	p := e.createServicePoint(servicePointBody("一村便民服务站", 112.005, 27.005, "livelihood", "dispute"))
	if p.ID == 0 || p.Properties.Staff[0].Phone != "13700000001" || strings.Join(p.Properties.Services, ",") != "dispute,livelihood" {
		t.Fatalf("created: %+v", p)
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer} {
		var list spCollection
		if code := e.do(role, "GET", "/v1/service-points", nil, &list); code != 200 || len(list.Features) != 1 || list.Features[0].Properties.Staff[0].Phone != "" {
			t.Errorf("as %q: %d %+v", role, code, list)
		}
	}
	var full spFeature
	if e.do(geo.AccessDispatcher, "GET", fmt.Sprintf("/v1/service-points/%d", p.ID), nil, &full); full.Properties.Staff[0].Phone != "13700000001" {
		t.Errorf("a dispatcher sees no phone: %+v", full)
	}
	// GCJ-02 in and out: the stored point is WGS-84.
	body := servicePointBody("一村党群服务站", 112.005, 27.005, "livelihood")
	body["crs"] = "gcj02"
	e.setNow(created.Add(time.Hour))
	var replaced spFeature
	if code := e.do(geo.AccessAdmin, "PUT", fmt.Sprintf("/v1/service-points/%d", p.ID), body, &replaced); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	if math.Abs(replaced.Geometry.Coordinates[0]-112.005) < 1e-4 {
		t.Errorf("gcj02 input not converted: %v", replaced.Geometry.Coordinates)
	}
	var back spFeature
	e.do("", "GET", fmt.Sprintf("/v1/service-points/%d?crs=gcj02", p.ID), nil, &back)
	if math.Abs(back.Geometry.Coordinates[0]-112.005) > 1e-6 || math.Abs(back.Geometry.Coordinates[1]-27.005) > 1e-6 {
		t.Errorf("gcj02 out: %v", back.Geometry.Coordinates)
	}
	var then spFeature
	e.do("", "GET", fmt.Sprintf("/v1/service-points/%d?at=%s", p.ID, created.Add(time.Minute).Format(time.RFC3339)), nil, &then)
	if then.Properties.Name != "一村便民服务站" {
		t.Errorf("at the first version's time: %q", then.Properties.Name)
	}
	e.setNow(created.Add(2 * time.Hour))
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("/v1/service-points/%d", p.ID), nil, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code := e.do("", "GET", fmt.Sprintf("/v1/service-points/%d", p.ID), nil, nil); code != 404 {
		t.Errorf("an ended point: %d", code)
	}
	var hist spCollection
	if e.do("", "GET", fmt.Sprintf("/v1/service-points/%d/history", p.ID), nil, &hist); len(hist.Features) != 2 ||
		hist.Features[0].Properties.Name != "一村便民服务站" || hist.Features[1].Properties.ValidTo == nil {
		t.Errorf("history: %+v", hist)
	}
	if code := e.do(geo.AccessViewer, "POST", "/v1/service-points", servicePointBody("x", 112, 27), nil); code != 403 {
		t.Errorf("a viewer creates: %d", code)
	}
	// Checked whole: every wrong member named; unknown members refused.
	bad := servicePointBody("", 200, 27, "no_such_item")
	bad["kind"], bad["village"] = "shop", "431321102201"
	bad["hours"] = map[string][]string{"mon": {"17:00-08:00"}, "someday": {"08:00-09:00"}}
	bad["staff"] = []map[string]string{{"name": "甲", "phone": "12345"}}
	var prob struct{ Errors []struct{ Where string } }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-points", bad, &prob); code != 400 {
		t.Fatalf("bad body: %d", code)
	}
	named := map[string]bool{}
	for _, p := range prob.Errors {
		named[p.Where] = true
	}
	for _, w := range []string{"village", "kind", "name", "location[0]", "hours.mon[0]", "hours.someday", "services[0]", "staff[0].phone"} {
		if !named[w] {
			t.Errorf("no problem names %s: %+v", w, prob.Errors)
		}
	}
	unknown := servicePointBody("二村站", 112.005, 27.015)
	unknown["opening"] = "always"
	if code := e.do(geo.AccessAdmin, "POST", "/v1/service-points", unknown, nil); code != 400 {
		t.Errorf("unknown member: %d", code)
	}
}

// postRoster uploads a duty roster as CSV.
func (e *dispatchEnv) postRoster(csv string, dryRun bool, out any) int {
	e.t.Helper()
	return e.do(geo.AccessAdmin, "POST", fmt.Sprintf("/v1/duty-rosters?dry_run=%t", dryRun), csv, out, "Content-Type", "text/csv")
}

func (e *dispatchEnv) shiftCount() int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM duty_shifts").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

type dutyAnswer struct {
	Open     bool
	OnDuty   []struct{ Name, Phone, Shift string } `json:"on_duty"`
	Rostered bool
}

// TestDutyRoster_importPastDateAndDeskFallback: a duty roster of the
// town's desk and of a service point, imported after a dry run that
// writes nothing; who was on duty on a past date; an incident nobody in
// the grid or village can take goes to the desk's rostered person, across
// midnight and on a public holiday, and to the fixed desk when the roster
// has nobody.
func TestDutyRoster_importPastDateAndDeskFallback(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	// The point has stood since September; the clock then returns to t0.
	e.setNow(time.Date(2026, 9, 1, 9, 0, 0, 0, workcal.Zone))
	p := e.createServicePoint(servicePointBody("一村便民服务站", 112.005, 27.005, "livelihood"))
	e.setNow(t0)
	roster := "荷叶镇值班表\n日期,班次,开始时间,结束时间,姓名,联系电话,服务点编号\n" +
		"2026-09-30,白班,08:00,20:00,王白班,13800000001,\n" +
		"2026-09-30,夜班,20:00,08:00,李夜班,13800000002,\n" +
		"2026-10-01,国庆值班,08:00,08:00,赵国庆,13800000003,\n" +
		fmt.Sprintf("2026-10-01,坐班,09:00,12:00,孙坐班,13800000004,%d\n", p.ID)
	var report struct {
		DryRun           bool `json:"dry_run"`
		Applied          bool
		Shifts, Replaced int
		Days             []struct{ Date string }
	}
	if code := e.postRoster(roster, true, &report); code != 200 || !report.DryRun || report.Applied || report.Shifts != 4 || len(report.Days) != 3 {
		t.Fatalf("dry run: %d %+v", code, report)
	}
	if n := e.shiftCount(); n != 0 {
		t.Fatalf("the dry run wrote %d shifts", n)
	}
	if code := e.postRoster(roster, false, &report); code != 200 || !report.Applied || report.Replaced != 0 {
		t.Fatalf("apply: %d %+v", code, report)
	}
	if code := e.postRoster(roster, false, &report); code != 200 || report.Replaced != 4 || e.shiftCount() != 4 {
		t.Fatalf("again: %d %+v, %d stored", code, report, e.shiftCount())
	}
	// Rows in error: 422 naming them, nothing written.
	var prob struct{ Errors []struct{ Where string } }
	bad := "日期,开始时间,结束时间,姓名,联系电话,服务点编号\n2026-10-02,08:00,20:00,周某,13800000009,\n2026-10-32,8点,20:00,,123,999\n"
	if code := e.postRoster(bad, false, &prob); code != 422 || len(prob.Errors) < 4 || e.shiftCount() != 4 {
		t.Errorf("bad roster: %d %+v, %d stored", code, prob, e.shiftCount())
	}
	// Who was on duty on a past date (the clock stands at t0, in November).
	var duty dutyAnswer
	e.do("", "GET", "/v1/towns/431321101/duty?at=2026-10-01T03:00:00%2B08:00", nil, &duty)
	if !duty.Rostered || len(duty.OnDuty) != 1 || duty.OnDuty[0].Name != "李夜班" || duty.OnDuty[0].Phone != "" {
		t.Errorf("desk on the night of 30 September, as anyone: %+v", duty)
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/towns/431321101/duty?at=2026-10-01T03:00:00%2B08:00", nil, &duty)
	if len(duty.OnDuty) != 1 || duty.OnDuty[0].Phone != "13800000002" {
		t.Errorf("desk as a dispatcher: %+v", duty)
	}
	e.do("", "GET", fmt.Sprintf("/v1/service-points/%d/duty?at=2026-10-01T10:00:00%%2B08:00", p.ID), nil, &duty)
	if !duty.Open || len(duty.OnDuty) != 1 || duty.OnDuty[0].Name != "孙坐班" {
		t.Errorf("the point on National Day (closed by its hours, open by its roster): %+v", duty)
	}
	e.do("", "GET", fmt.Sprintf("/v1/service-points/%d/duty?at=2026-10-01T15:00:00%%2B08:00", p.ID), nil, &duty)
	if duty.Open || len(duty.OnDuty) != 0 {
		t.Errorf("the point on National Day afternoon: %+v", duty)
	}
	// The desk fallback through intake: grid 4 has no leader or deputy
	// and its village no liaison leader.
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 9, 30, 23, 30, 0, 0, workcal.Zone), "李夜班"},
		{time.Date(2026, 10, 1, 7, 59, 0, 0, workcal.Zone), "李夜班"},
		{time.Date(2026, 10, 1, 22, 0, 0, 0, workcal.Zone), "赵国庆"},
		// Nobody rostered: the fixed duty desk (in office since importedAt).
		{t0, "镇值班室"},
	} {
		e.setNow(c.at)
		if err := e.reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(4), "environment", "minor"), &inc); code != 201 {
			t.Fatalf("intake at %s: %d", c.at, code)
		}
		if inc.Assignee == nil || inc.Assignee.Role != "duty_desk" || inc.Assignee.Name != c.want {
			t.Errorf("intake at %s: assignee %+v, want %s", c.at, inc.Assignee, c.want)
		}
	}
}

// TestServicePoints_nearestOpenByService: 40 points scattered over the
// town, each handling some services, open on weekdays, every day or
// weekends only; for many places, services and times, the answer is the
// point a brute force over every point finds (open then, handling the
// service, smallest distance on the ellipsoid by Vincenty's formula, spheroid.VincentyM).
func TestServicePoints_nearestOpenByService(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	rng := rand.New(rand.NewPCG(13, 3))
	services := []string{"livelihood", "dispute", "safety", "customs"}
	type point struct {
		id       int64
		loc      [2]float64
		services map[string]bool
		schedule int // 0 weekdays 08:30-17:30, 1 every day 00:00-24:00, 2 weekends 09:00-12:00
	}
	var points []point
	schedules := []map[string][]string{
		{"mon": {"08:30-17:30"}, "tue": {"08:30-17:30"}, "wed": {"08:30-17:30"}, "thu": {"08:30-17:30"}, "fri": {"08:30-17:30"}},
		{"mon": {"00:00-24:00"}, "tue": {"00:00-24:00"}, "wed": {"00:00-24:00"}, "thu": {"00:00-24:00"}, "fri": {"00:00-24:00"}, "sat": {"00:00-24:00"}, "sun": {"00:00-24:00"}},
		{"sat": {"09:00-12:00"}, "sun": {"09:00-12:00"}},
	}
	for i := 0; i < 40; i++ {
		p := point{loc: [2]float64{112 + 0.03*rng.Float64(), 27 + 0.02*rng.Float64()}, services: map[string]bool{}, schedule: rng.IntN(3)}
		var list []string
		for _, s := range services {
			if rng.IntN(2) == 0 {
				p.services[s] = true
				list = append(list, s)
			}
		}
		body := servicePointBody(fmt.Sprintf("服务点%02d", i), p.loc[0], p.loc[1], list...)
		body["hours"], body["open_on_holidays"] = schedules[p.schedule], p.schedule == 1
		p.id = e.createServicePoint(body).ID
		points = append(points, p)
	}
	open := func(p point, at time.Time) bool {
		local := at.In(workcal.Zone)
		wd, m := local.Weekday(), local.Hour()*60+local.Minute()
		weekend := wd == time.Saturday || wd == time.Sunday
		switch p.schedule {
		case 0:
			return !weekend && m >= 510 && m < 1050
		case 1:
			return true
		}
		return weekend && m >= 540 && m < 720
	}
	times := []time.Time{
		time.Date(2026, 11, 23, 10, 0, 0, 0, workcal.Zone), // Monday
		time.Date(2026, 11, 28, 10, 0, 0, 0, workcal.Zone), // Saturday
		time.Date(2026, 11, 24, 22, 0, 0, 0, workcal.Zone), // Tuesday night
	}
	checked := 0
	for i := 0; i < 60; i++ {
		q := [2]float64{111.99 + 0.05*rng.Float64(), 26.99 + 0.04*rng.Float64()}
		service := services[rng.IntN(len(services))]
		at := times[i%len(times)]
		var best *point
		bestD := math.Inf(1)
		for j := range points {
			if d := spheroid.VincentyM(orb.Point(q), orb.Point(points[j].loc)); points[j].services[service] && open(points[j], at) && d < bestD {
				best, bestD = &points[j], d
			}
		}
		var got struct {
			ServicePoint spFeature `json:"service_point"`
			DistanceM    float64   `json:"distance_m"`
			OpenBy       string    `json:"open_by"`
		}
		target := fmt.Sprintf("/v1/service-points/nearest?lon=%v&lat=%v&service=%s&at=%s", q[0], q[1], service,
			strings.Replace(at.Format(time.RFC3339), "+", "%2B", 1))
		code := e.do("", "GET", target, nil, &got)
		if best == nil {
			if code != 404 {
				t.Errorf("%s: %d, want 404 (none open)", target, code)
			}
			continue
		}
		if code != 200 || got.ServicePoint.ID != best.id || math.Abs(got.DistanceM-bestD) > 0.01 || got.OpenBy != "hours" {
			t.Errorf("%s: %d point %d at %.3f m, want %d at %.3f m", target, code, got.ServicePoint.ID, got.DistanceM, best.id, bestD)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d answers checked", checked)
	}
	if code := e.do("", "GET", "/v1/service-points/nearest?lon=112&lat=27&service=nope", nil, nil); code != 400 {
		t.Errorf("unknown service: %d", code)
	}
}

// TestServicePoints_mapLayers: the OGC collection and the tile layer show
// the points in service, without staff, and follow a point's end.
func TestServicePoints_mapLayers(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	p := e.createServicePoint(servicePointBody("一村便民服务站", 112.005, 27.005, "livelihood"))
	e.createServicePoint(servicePointBody("二村便民服务站", 112.015, 27.015, "dispute"))
	var items struct {
		NumberMatched int `json:"numberMatched"`
		Features      []struct {
			ID         string
			Properties map[string]any
		}
	}
	code, body := e.ogcGet("", "/ogc/collections/service-points/items?services=livelihood")
	if code != 200 {
		t.Fatalf("items: %d %s", code, body)
	}
	if err := json.Unmarshal(body, &items); err != nil || len(items.Features) != 1 || items.Features[0].ID != fmt.Sprint(p.ID) ||
		items.Features[0].Properties["kind_zh"] != "便民服务站" || strings.Contains(string(body), "13700000001") || strings.Contains(string(body), "坐班员甲") {
		t.Errorf("items: %v %s", err, body)
	}
	tile := maptile.At(orb.Point{112.005, 27.005}, 16)
	target := fmt.Sprintf("/tiles/service-points/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 || rec.Body.Len() == 0 || strings.Contains(rec.Body.String(), "13700000001") {
		t.Errorf("tile %s: %d, %d bytes", target, rec.Code, rec.Body.Len())
	}
	e.setNow(t0.Add(time.Hour))
	if code := e.do(geo.AccessAdmin, "DELETE", fmt.Sprintf("/v1/service-points/%d", p.ID), nil, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := e.ogcGet("", fmt.Sprintf("/ogc/collections/service-points/items/%d", p.ID)); code != 404 {
		t.Errorf("an ended point in the collection: %d", code)
	}
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 204 {
		t.Errorf("tile %s after the end: %d, want 204 (empty)", target, rec.Code)
	}
}

// TestDutyRoster_xlsx: a duty roster kept in Excel, with the dates typed
// as dates (stored as day numbers) and the times as times (fractions of a
// day) or text, reads as the CSV does.
func TestDutyRoster_xlsx(t *testing.T) {
	t.Parallel()
	e := newLimitsEnv(t)
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"荷叶镇2026年国庆值班表"},
		{"*日期", "班次", "开始时间", "结束时间", "姓名", "手机号码"},
		{time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC), "夜班", 20.0 / 24, 8.0 / 24, "李夜班", "138 0000 0002"},
		{time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "国庆值班", "8:00", "8:00", "赵国庆", 13800000003},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var report struct {
		Applied bool
		Shifts  int
		Days    []struct{ Date string }
	}
	code := e.do(geo.AccessAdmin, "POST", "/v1/duty-rosters?dry_run=false", buf.String(), &report,
		"Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	if code != 200 || !report.Applied || report.Shifts != 2 || len(report.Days) != 2 || report.Days[0].Date != "2026-09-30" {
		t.Fatalf("xlsx roster: %d %+v", code, report)
	}
	var duty dutyAnswer
	e.do(geo.AccessAdmin, "GET", "/v1/towns/431321101/duty?at=2026-10-01T07:59:00%2B08:00", nil, &duty)
	if len(duty.OnDuty) != 1 || duty.OnDuty[0].Name != "李夜班" || duty.OnDuty[0].Phone != "13800000002" {
		t.Errorf("07:59 on National Day: %+v", duty)
	}
	e.do(geo.AccessAdmin, "GET", "/v1/towns/431321101/duty?at=2026-10-02T07:59:00%2B08:00", nil, &duty)
	if len(duty.OnDuty) != 1 || duty.OnDuty[0].Name != "赵国庆" {
		t.Errorf("07:59 the day after: %+v", duty)
	}
}
