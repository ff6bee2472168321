package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore/pgtest"
)

// TestServe_demoCounty starts `wangge serve --demo=county` on an empty
// database: the 16 towns of 双峰县 are imported through the import's
// coverage and border checks, and one index locates across all of them,
// which PostGIS confirms point for point.
func TestServe_demoCounty(t *testing.T) {
	t.Parallel()
	url := pgtest.ConnString(t)
	cfg := DefaultConfig()
	if err := (demoValue{&cfg}).Set("county"); err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.DataDir = url, ""
	s := startServer(t, cfg)
	var towns struct {
		Area  struct{ Code string }
		Towns []struct {
			Code  string
			Name  string
			Grids int
			BBox  [4]float64
		}
	}
	if status := s.get("/v1/towns", &towns); status != 200 {
		t.Fatalf("GET /v1/towns: %d", status)
	}
	grids := 0
	for _, tw := range towns.Towns {
		grids += tw.Grids
	}
	if towns.Area.Code != "431321" || len(towns.Towns) < 14 || len(towns.Towns) > 20 || grids < 3000 || grids > 4000 {
		t.Fatalf("the demo county: area %s, %d towns, %d grids; want 431321, 14-20 towns, 3,000-4,000 grids",
			towns.Area.Code, len(towns.Towns), grids)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var box [4]float64
	if err := conn.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(outline) AS e FROM towns) s`).
		Scan(&box[0], &box[1], &box[2], &box[3]); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(12, 1))
	inTowns := map[string]bool{}
	for i := 0; i < 300; i++ {
		lon, lat := box[0]+r.Float64()*(box[2]-box[0]), box[1]+r.Float64()*(box[3]-box[1])
		var want string
		err := conn.QueryRow(ctx, `SELECT coalesce(min(code), '') FROM grids
			WHERE retired_generation IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))`, lon, lat).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Match string
			Grid  struct {
				Code string
				Town struct{ Code string }
			}
		}
		status := s.get(fmt.Sprintf("/v1/locate?lon=%v&lat=%v", lon, lat), &got)
		switch {
		case want == "" && status == 200 && got.Match != "nearest":
			t.Errorf("(%v, %v): PostGIS finds no grid, wangge %s in %s", lon, lat, got.Match, got.Grid.Code)
		case want != "" && (status != 200 || got.Grid.Code != want || got.Grid.Town.Code != want[:9]):
			t.Errorf("(%v, %v): got %d %s (town %s), PostGIS %s", lon, lat, status, got.Grid.Code, got.Grid.Town.Code, want)
		case want != "":
			inTowns[want[:9]] = true
		}
	}
	if len(inTowns) < 10 {
		t.Errorf("random points fell in %d towns only: the oracle compared too little", len(inTowns))
	}
}
