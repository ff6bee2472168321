package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"wangge/geo/pgstore/pgtest"
)

// TestServe_demoCountyServicePoints starts `wangge serve --demo=county`
// and asks it, town by town, for the town's service points, for the
// nearest point open on a working-day morning from beside the town's
// 便民服务中心 (it is that centre, of that town), and for who is on the
// town's duty desk on a night of the demo year (the rostered cadre).
func TestServe_demoCountyServicePoints(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	if err := (demoValue{&cfg}).Set("county"); err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.DataDir = pgtest.ConnString(t), ""
	start := time.Now()
	s := startServer(t, cfg)
	t.Logf("the demo county served after %v", time.Since(start))
	var towns struct {
		Towns []struct{ Code, Name string }
	}
	if status := s.get("/v1/towns", &towns); status != 200 || len(towns.Towns) < 14 {
		t.Fatalf("GET /v1/towns: %d, %d towns", status, len(towns.Towns))
	}
	morning := url.QueryEscape("2026-06-10T10:00:00+08:00")
	night := url.QueryEscape("2026-06-10T23:00:00+08:00")
	total := 0
	for _, tw := range towns.Towns {
		var points struct {
			Features []struct {
				ID         int64
				Geometry   struct{ Coordinates [2]float64 }
				Properties struct {
					Town, Kind string
					Village    *string
				}
			}
		}
		if status := s.get("/v1/service-points?town="+tw.Code, &points); status != 200 {
			t.Fatalf("%s: GET /v1/service-points: %d", tw.Code, status)
		}
		centre, stations := -1, 0
		for i, f := range points.Features {
			switch {
			case f.Properties.Town != tw.Code:
				t.Errorf("%s: point %d of town %s", tw.Code, f.ID, f.Properties.Town)
			case f.Properties.Kind == "service_center":
				centre = i
			case f.Properties.Kind == "service_station" && f.Properties.Village != nil:
				stations++
			}
		}
		total += len(points.Features)
		if centre < 0 || stations == 0 {
			t.Errorf("%s (%s): %d points, no centre or no station", tw.Code, tw.Name, len(points.Features))
			continue
		}
		c := points.Features[centre]
		var near struct {
			ServicePoint struct {
				ID         int64
				Properties struct{ Town string }
			} `json:"service_point"`
			DistanceM float64 `json:"distance_m"`
			OpenBy    string  `json:"open_by"`
		}
		q := fmt.Sprintf("/v1/service-points/nearest?lon=%v&lat=%v&service=safety&at=%s", c.Geometry.Coordinates[0]+0.00002, c.Geometry.Coordinates[1], morning)
		if status := s.get(q, &near); status != 200 || near.ServicePoint.ID != c.ID || near.ServicePoint.Properties.Town != tw.Code || near.DistanceM > 5 {
			t.Errorf("%s: nearest open: %d, %+v; want the centre %d", tw.Code, status, near, c.ID)
		}
		var duty struct {
			Rostered bool `json:"rostered"`
			OnDuty   []struct {
				Name  string
				Shift string
			} `json:"on_duty"`
		}
		if status := s.get("/v1/towns/"+tw.Code+"/duty?at="+night, &duty); status != 200 || !duty.Rostered || len(duty.OnDuty) == 0 || duty.OnDuty[0].Shift != "夜班" {
			t.Errorf("%s: the duty desk at night: %d, %+v", tw.Code, status, duty)
		}
	}
	if total < 400 {
		t.Errorf("%d service points in the county", total)
	}
}
