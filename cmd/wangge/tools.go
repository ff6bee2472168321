package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
	"wangge/geo/ogr"
	"wangge/geo/townfile"
)

// runMigrate applies the migrations and says which.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	if err := cfg.parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cliLogger(stderr)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	fmt.Fprintln(stdout, "the database schema is up to date")
	return nil
}

// runImport replaces the town with the files in a folder, or refuses with
// every problem listed and nothing written.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	note := fs.String("note", "", "why this import (kept with the generation)")
	pos, err := cfg.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("import: want one folder holding town.geojson, villages.geojson and grids.geojson")
	}
	dir := pos[0]
	start := time.Now()
	prog := newProgress(stderr, "import")
	var td *geo.TownData
	err = prog.during(fmt.Sprintf("reading %s (%s)", dir, megabytes(townFolderBytes(dir))), func() (err error) {
		td, err = townfile.ReadDir(dir)
		return err
	})
	if err != nil {
		return reportProblems(stderr, err)
	}
	prog.printf("read %s: %d villages, %d grids", td.Town.Name, len(td.Villages), len(td.Grids))
	log := cliLogger(stderr)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	var gen int64
	err = prog.during("checking the coverage (validity, overlaps, gaps) and writing, in one transaction", func() (err error) {
		gen, err = db.ImportTown(ctx, td, "cli", *note)
		return err
	})
	if err != nil {
		return reportProblems(stderr, err)
	}
	fmt.Fprintf(stdout, "imported %s: %d villages, %d grids as generation %d in %s\n",
		td.Town.Name, len(td.Villages), len(td.Grids), gen, time.Since(start).Round(time.Millisecond))
	return nil
}

// reportProblems prints a domain error's problems one per line.
func reportProblems(stderr io.Writer, err error) error {
	var ge *geo.Error
	if !errors.As(err, &ge) || len(ge.Problems) == 0 {
		return err
	}
	fmt.Fprintf(stderr, "wangge: %s\n", ge.Message)
	for _, p := range ge.Problems {
		if len(p.Location) == 2 {
			fmt.Fprintf(stderr, "  %s: %s (at %v, %v)\n", p.Where, p.Reason, p.Location[0], p.Location[1])
		} else {
			fmt.Fprintf(stderr, "  %s: %s\n", p.Where, p.Reason)
		}
	}
	return exitError(1)
}

// runExport writes the current (or a given) generation as town files.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	out := fs.String("out", "town-export", "town format: the folder to write town.geojson, villages.geojson and grids.geojson to; other formats: the file")
	gen := fs.Int64("generation", 0, "generation to export (0: the current one)")
	format := fs.String("format", "town", "town (the import format), or the grids alone as geojson, kml, kmz, shp (a zipped Shapefile), gpkg (GeoPackage: needs GDAL's ogr2ogr), csv (geometry as WKT) or xlsx (attribute table)")
	if err := cfg.parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cliLogger(stderr)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	td, g, err := db.LoadTown(ctx, *gen, db.Now())
	if err != nil {
		return err
	}
	if *format != "town" {
		f, err := layerfile.ParseExportFormat(*format)
		if err != nil {
			return fmt.Errorf("export: -format %q: want town, geojson, kml, kmz, shp, gpkg, csv or xlsx", *format)
		}
		b, err := ogr.Write(ctx, f, td, layerfile.WriteOptions{Name: fmt.Sprintf("%s-g%d", td.Town.Code, g)})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exported %s generation %d: %d grids as %s to %s\n", td.Town.Name, g, len(td.Grids), f, *out)
		return nil
	}
	if err := townfile.WriteDir(*out, td); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s generation %d: %d villages, %d grids to %s\n", td.Town.Name, g, len(td.Villages), len(td.Grids), *out)
	return nil
}

// runLocate prints the grid and leader of a point, for a dispatcher's
// terminal.
func runLocate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge locate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	crsName := fs.String("crs", "wgs84", "coordinate system of LON LAT: wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu)")
	fs.Float64Var(&cfg.ToleranceM, "tolerance-m", cfg.ToleranceM, "route points this close (m) to a grid to the nearest one")
	pos, err := cfg.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("locate: got %d arguments %q, want LON LAT, e.g. wangge locate 112.12 27.26 --crs gcj02", len(pos), pos)
	}
	var p orb.Point
	for i, name := range []string{"lon", "lat"} {
		v, err := strconv.ParseFloat(pos[i], 64)
		if err != nil {
			return fmt.Errorf("locate: %s: got %q, want a number", name, pos[i])
		}
		p[i] = v
	}
	if msg := geo.CheckLonLat(p[0], p[1]); msg != nil {
		return errors.New("locate: " + msg.String())
	}
	crs, err := chinacrs.Parse(*crsName)
	if err != nil {
		return fmt.Errorf("locate: %w", err)
	}
	log := cliLogger(io.Discard)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	snap, err := db.snapshot(ctx)
	if err != nil {
		return err
	}
	loc, ok := snap.Locate(chinacrs.ToWGS84(crs, p), cfg.ToleranceM)
	if !ok {
		fmt.Fprintf(stdout, "(%v, %v) is outside coverage: no grid within %v m\n", p[0], p[1], cfg.ToleranceM)
		return exitError(2)
	}
	printLocation(stdout, snap, loc, snap.LoadedAt)
	return nil
}

// printLocation prints where loc routes and who leads the grid; a leader
// or deputy on leave at at is shown with until when and who covers, as
// GET /v1/locate shows them.
func printLocation(w io.Writer, snap *geo.Snapshot, loc geo.Location, at time.Time) {
	g := loc.Grid
	village := g.VillageCode
	if v, ok := snap.Village(g.VillageCode); ok {
		village = v.Name + " " + v.Code
	}
	fmt.Fprintf(w, "grid      %s %s (%s", g.Code, g.Name, loc.Match)
	if loc.Match.String() == "nearest" {
		fmt.Fprintf(w, ", %.1f m away", loc.DistanceM)
	}
	fmt.Fprintf(w, ")\nvillage   %s\n", village)
	for _, r := range []struct {
		role string
		c    *geo.Contact
	}{{"leader", g.Leader}, {"deputy", g.Deputy}} {
		switch a := snap.Absence(g, r.c, at); {
		case r.c == nil:
			fmt.Fprintf(w, "%-9s (vacant)\n", r.role)
		case a == nil:
			fmt.Fprintf(w, "%-9s %s %s\n", r.role, r.c.Name, r.c.Phone)
		case a.CoveredBy == nil:
			fmt.Fprintf(w, "%-9s %s %s (on leave until %s; nobody covers)\n", r.role, r.c.Name, r.c.Phone, a.Until.UTC().Format(time.RFC3339))
		default:
			fmt.Fprintf(w, "%-9s %s %s (on leave until %s; covered by %s %s %s)\n", r.role, r.c.Name, r.c.Phone,
				a.Until.UTC().Format(time.RFC3339), a.CoveredBy.Role, a.CoveredBy.Name, a.CoveredBy.Phone)
		}
	}
	for _, code := range loc.Also {
		fmt.Fprintf(w, "also      %s (on the shared border)\n", code)
	}
	fmt.Fprintf(w, "generation %d\n", snap.Generation)
}
