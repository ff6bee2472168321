package geo_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

func TestNewPlan_Check(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.NewPlan
		note  string
		where []string
	}{
		{"a note, trimmed", geo.NewPlan{Note: "  二村重划 "}, "二村重划", nil},
		{"a rebase", geo.NewPlan{Rebase: 4}, "", nil},
		{"500 characters", geo.NewPlan{Note: strings.Repeat("划", 500)}, strings.Repeat("划", 500), nil},
		{"501 characters", geo.NewPlan{Note: strings.Repeat("划", 501)}, "", []string{"note"}},
		{"negative rebase", geo.NewPlan{Rebase: -1}, "", []string{"rebase"}},
		{"both wrong", geo.NewPlan{Note: strings.Repeat("x", 501), Rebase: -1}, "", []string{"note", "rebase"}},
		{"a town", geo.NewPlan{Town: "431321101"}, "", nil},
		{"a village code as the town", geo.NewPlan{Town: "431321101201"}, "", []string{"town"}},
		{"a town of letters", geo.NewPlan{Town: "43132110x"}, "", []string{"town"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.in
			err := p.Check()
			checkWheres(t, err, tt.where...)
			if err == nil && p.Note != tt.note {
				t.Errorf("note %q, want %q", p.Note, tt.note)
			}
		})
	}
}

// TestPlan_InTown: a plan of a town changes that town's grids and
// villages only; a plan of every town, any.
func TestPlan_InTown(t *testing.T) {
	town := geo.Plan{ID: 7, Town: "431321101"}
	every := geo.Plan{ID: 8}
	for _, tt := range []struct {
		code      string
		inTown    bool
		inEvery   bool
		whereTown string
	}{
		{"431321101201001", true, true, ""},
		{"431321101201", true, true, ""},
		{"431321102201001", false, true, "code"},
		{"431321102201", false, true, "code"},
	} {
		if got := town.InTown(tt.code); got != tt.inTown {
			t.Errorf("plan of %s, %s: InTown %v, want %v", town.Town, tt.code, got, tt.inTown)
		}
		if got := every.InTown(tt.code); got != tt.inEvery {
			t.Errorf("plan of every town, %s: InTown %v, want %v", tt.code, got, tt.inEvery)
		}
		err := town.CheckInTown("code", tt.code)
		if tt.whereTown == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.code, err)
			}
			continue
		}
		checkWheres(t, err, tt.whereTown)
		if msg := geo.ErrorMessage(err); !strings.Contains(msg, "431321102") || !strings.Contains(msg, "plan 7") {
			t.Errorf("%s: message %q should name the grid's town and the plan", tt.code, msg)
		}
	}
}

func TestPlanGridEdit_Validate(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.PlanGridEdit
		where []string
	}{
		{"a geometry", geo.PlanGridEdit{Geometry: square(112, 27, 112.01, 27.01)}, nil},
		{"counts", geo.PlanGridEdit{Households: ref(0), Population: ref(geo.MaxCount)}, nil},
		{"nothing", geo.PlanGridEdit{}, []string{"body"}},
		{"blank name", geo.PlanGridEdit{Name: ref(" ")}, []string{"name"}},
		{"long name", geo.PlanGridEdit{Name: ref(strings.Repeat("格", 101))}, []string{"name"}},
		{"negative households, too many people", geo.PlanGridEdit{Households: ref(-1), Population: ref(geo.MaxCount + 1)}, []string{"households", "population"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWheres(t, tt.in.Validate(), tt.where...)
		})
	}
}

func TestSplitRequest_Validate(t *testing.T) {
	//	    ┌──────┐
	//	  ──┼──────┼──   the line across grid 431321101201001
	//	    └──────┘
	across := orb.LineString{{111.99, 27.005}, {112.02, 27.005}}
	ok := geo.SplitRequest{Code: reqGrid, Line: across, NewCode: "431321101201002", NewName: " 一村南 "}
	tests := []struct {
		name  string
		in    geo.SplitRequest
		where []string
	}{
		{"fine", ok, nil},
		{"no new name", changed(ok, func(r *geo.SplitRequest) { r.NewName = "  " }), nil},
		{"malformed code", changed(ok, func(r *geo.SplitRequest) { r.Code = "4313" }), []string{"code"}},
		{"malformed code and new code", changed(ok, func(r *geo.SplitRequest) { r.Code, r.NewCode = "4313", "x" }), []string{"code", "new_code"}},
		{"new code of another village", changed(ok, func(r *geo.SplitRequest) { r.NewCode = "431321101202001" }), []string{"new_code"}},
		{"new code is the code", changed(ok, func(r *geo.SplitRequest) { r.NewCode = reqGrid }), []string{"new_code"}},
		{"a line of one position", changed(ok, func(r *geo.SplitRequest) { r.Line = across[:1] }), []string{"line"}},
		{"a line that is a point", changed(ok, func(r *geo.SplitRequest) { r.Line = orb.LineString{across[0], across[0], across[0]} }), []string{"line"}},
		{"long new name", changed(ok, func(r *geo.SplitRequest) { r.NewName = strings.Repeat("南", 101) }), []string{"new_name"}},
		{"everything after the code wrong", changed(ok, func(r *geo.SplitRequest) {
			r.NewCode, r.Line, r.NewName = reqGrid, nil, strings.Repeat("南", 101)
		}), []string{"new_code", "line", "new_name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			err := r.Validate()
			checkWheres(t, err, tt.where...)
			if err == nil && r.NewName != strings.TrimSpace(tt.in.NewName) {
				t.Errorf("new name %q, want it trimmed", r.NewName)
			}
		})
	}
}

func TestMergeRequest_Validate(t *testing.T) {
	a, b, c := "431321101201001", "431321101201002", "431321101201003"
	many := make([]string, geo.MaxMergeCodes+1)
	for i := range many {
		many[i] = fmt.Sprintf("431321101201%03d", i)
	}
	tests := []struct {
		name  string
		in    geo.MergeRequest
		where []string
	}{
		{"two", geo.MergeRequest{Codes: []string{a, b}, Into: b}, nil},
		{"three", geo.MergeRequest{Codes: []string{a, b, c}, Into: a}, nil},
		{"one", geo.MergeRequest{Codes: []string{a}, Into: a}, []string{"codes"}},
		{"none", geo.MergeRequest{}, []string{"codes", "into"}},
		{"too many", geo.MergeRequest{Codes: many, Into: many[0]}, []string{"codes"}},
		{"malformed", geo.MergeRequest{Codes: []string{a, "42"}, Into: a}, []string{"codes[1]"}},
		{"twice", geo.MergeRequest{Codes: []string{a, b, a}, Into: a}, []string{"codes[2]"}},
		{"another village", geo.MergeRequest{Codes: []string{a, "431321101202001"}, Into: a}, []string{"codes[1]"}},
		{"into not among them", geo.MergeRequest{Codes: []string{a, b}, Into: c}, []string{"into"}},
		{"everything wrong", geo.MergeRequest{Codes: []string{a, "42", a, "431321101202001"}, Into: c},
			[]string{"codes[1]", "codes[2]", "codes[3]", "into"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWheres(t, tt.in.Validate(), tt.where...)
		})
	}
}

func TestMoveRequest_Validate(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.MoveRequest
		where []string
	}{
		{"fine", geo.MoveRequest{Code: reqGrid, Village: "431321101202", NewCode: "431321101202009"}, nil},
		{"malformed code", geo.MoveRequest{Code: "1", Village: "431321101202", NewCode: "431321101202009"}, []string{"code"}},
		{"malformed village", geo.MoveRequest{Code: reqGrid, Village: "4313", NewCode: "431321101202009"}, []string{"village"}},
		{"the grid's own village", geo.MoveRequest{Code: reqGrid, Village: reqVillage, NewCode: "431321101201009"}, []string{"village"}},
		{"new code of another village", geo.MoveRequest{Code: reqGrid, Village: "431321101202", NewCode: "431321101203009"}, []string{"new_code"}},
		{"everything wrong", geo.MoveRequest{Code: "1", Village: "2", NewCode: "3"}, []string{"code", "village", "new_code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWheres(t, tt.in.Validate(), tt.where...)
		})
	}
}

func TestCheckLeader(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.Contact
		want  geo.Contact
		where []string
	}{
		{"normalised", geo.Contact{Name: " 新网格长 ", Phone: "139 0000 1234"}, geo.Contact{Name: "新网格长", Phone: "13900001234"}, nil},
		{"no phone", geo.Contact{Name: "新网格长"}, geo.Contact{Name: "新网格长"}, nil},
		{"no name", geo.Contact{Name: " ", Phone: "13900001234"}, geo.Contact{}, []string{"name"}},
		{"long name", geo.Contact{Name: strings.Repeat("长", 51)}, geo.Contact{}, []string{"name"}},
		{"bad phone", geo.Contact{Name: "甲", Phone: "110"}, geo.Contact{}, []string{"phone"}},
		{"both wrong", geo.Contact{Phone: "110"}, geo.Contact{}, []string{"name", "phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := geo.CheckLeader(tt.in)
			checkWheres(t, err, tt.where...)
			if err == nil && (c.Name != tt.want.Name || c.Phone != tt.want.Phone) {
				t.Errorf("got %+v, want %+v", c, tt.want)
			}
		})
	}
}

func TestValidationOptions_Validate(t *testing.T) {
	tests := []struct {
		name  string
		in    geo.ValidationOptions
		where []string
	}{
		{"defaults", geo.DefaultValidationOptions(), nil},
		{"zero", geo.ValidationOptions{}, nil},
		{"negative sliver", changed(geo.DefaultValidationOptions(), func(o *geo.ValidationOptions) { o.SliverM2 = -1 }), []string{"sliver_m2"}},
		{"NaN width", changed(geo.DefaultValidationOptions(), func(o *geo.ValidationOptions) { o.SliverWidthM = math.NaN() }), []string{"sliver_width_m"}},
		{"negative minimum", changed(geo.DefaultValidationOptions(), func(o *geo.ValidationOptions) { o.HouseholdsMin = -1 }), []string{"households_min"}},
		{"maximum under the minimum", changed(geo.DefaultValidationOptions(), func(o *geo.ValidationOptions) { o.HouseholdsMax = 10 }), []string{"households_max"}},
		{"everything wrong", geo.ValidationOptions{SliverM2: 2e6, SliverWidthM: 1001, HouseholdsMin: -1, HouseholdsMax: -2},
			[]string{"sliver_m2", "sliver_width_m", "households_min", "households_max"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWheres(t, tt.in.Validate(), tt.where...)
		})
	}
}

func TestRepairRequest_Check(t *testing.T) {
	many := make([]string, geo.MaxRepairCodes+1)
	for i := range many {
		many[i] = reqGrid
	}
	tests := []struct {
		name  string
		in    geo.RepairRequest
		crs   chinacrs.CRS
		where []string
	}{
		{"make valid everywhere", geo.RepairRequest{Kind: geo.RepairMakeValid}, chinacrs.WGS84, nil},
		{"snap named grids", geo.RepairRequest{Kind: geo.RepairSnap, Codes: []string{reqGrid}, ToleranceM: 5}, chinacrs.WGS84, nil},
		{"fill the gap at a GCJ-02 point", geo.RepairRequest{Kind: geo.RepairFillGap, At: []float64{112.005, 27.005}}, chinacrs.GCJ02, nil},
		{"unknown kind", geo.RepairRequest{Kind: "magic"}, chinacrs.WGS84, []string{"kind"}},
		{"snap without codes", geo.RepairRequest{Kind: geo.RepairSnap}, chinacrs.WGS84, []string{"codes"}},
		{"malformed code", geo.RepairRequest{Kind: geo.RepairMakeValid, Codes: []string{reqGrid, "1"}}, chinacrs.WGS84, []string{"codes[1]"}},
		{"too many codes", geo.RepairRequest{Kind: geo.RepairMakeValid, Codes: many}, chinacrs.WGS84, []string{"codes"}},
		{"at of three numbers", geo.RepairRequest{Kind: geo.RepairFillGap, At: []float64{112, 27, 0}}, chinacrs.WGS84, []string{"at"}},
		{"at off the earth", geo.RepairRequest{Kind: geo.RepairFillGap, At: []float64{112, 95}}, chinacrs.WGS84, []string{"at"}},
		{"tolerance too far", geo.RepairRequest{Kind: geo.RepairSnap, Codes: []string{reqGrid}, ToleranceM: 20}, chinacrs.WGS84, []string{"tolerance_m"}},
		{"everything wrong", geo.RepairRequest{Kind: "magic", Codes: []string{"1"}, At: []float64{}, ToleranceM: -1}, chinacrs.WGS84,
			[]string{"at", "kind", "codes[0]", "tolerance_m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.in.Check(tt.crs)
			checkWheres(t, err, tt.where...)
			if err != nil {
				return
			}
			if r.ToleranceM <= 0 {
				t.Errorf("tolerance %v, want the default when none is given", r.ToleranceM)
			}
			if tt.in.At != nil {
				want := chinacrs.ToWGS84(tt.crs, orb.Point{tt.in.At[0], tt.in.At[1]})
				if r.At == nil || *r.At != want || *r.At == (orb.Point{tt.in.At[0], tt.in.At[1]}) {
					t.Errorf("at %v, want %v (in WGS-84)", r.At, want)
				}
			}
		})
	}
}
