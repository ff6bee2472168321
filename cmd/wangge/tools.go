package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// runImport replaces a town with the files in a folder, or several towns
// (a county) with the folders of a folder, one per town, in one
// transaction; or refuses with every problem listed and nothing written.
// Towns the files do not name are left as they are.
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
		return errors.New("import: want one folder holding town.geojson, villages.geojson and grids.geojson, or a folder of such folders (one per town)")
	}
	dirs, err := townFolders(pos[0])
	if err != nil {
		return err
	}
	start := time.Now()
	prog := newProgress(stderr, "import")
	tds := make([]*geo.TownData, len(dirs))
	grids, villages := 0, 0
	for i, dir := range dirs {
		err = prog.during(fmt.Sprintf("reading %s (%s)", dir, megabytes(townFolderBytes(dir))), func() (err error) {
			tds[i], err = townfile.ReadDir(dir)
			return err
		})
		if err != nil {
			return reportProblems(stderr, err)
		}
		prog.printf("read %s: %d villages, %d grids", tds[i].Town.Name, len(tds[i].Villages), len(tds[i].Grids))
		grids, villages = grids+len(tds[i].Grids), villages+len(tds[i].Villages)
	}
	log := cliLogger(stderr)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	var gens []int64
	err = prog.during("checking the coverage (validity, overlaps, gaps, town borders) and writing, in one transaction", func() (err error) {
		gens, err = db.ImportTowns(ctx, tds, "cli", *note)
		return err
	})
	if err != nil {
		return reportProblems(stderr, err)
	}
	if len(tds) == 1 {
		fmt.Fprintf(stdout, "imported %s: %d villages, %d grids as generation %d in %s\n",
			tds[0].Town.Name, villages, grids, gens[0], time.Since(start).Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(stdout, "imported %d towns: %d villages, %d grids as generations %d-%d in %s\n",
		len(tds), villages, grids, gens[0], gens[len(gens)-1], time.Since(start).Round(time.Millisecond))
	return nil
}

// townFolders returns dir when it holds a town's files, else its
// subfolders that do, by name; an error when there are none.
func townFolders(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "town.geojson")); err == nil {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var out []string
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, "town.geojson")); e.IsDir() && err == nil {
			out = append(out, sub)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("import: %s holds no town.geojson, and no folder in it does", dir)
	}
	return out, nil
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
	town := fs.String("town", "", "the town to export (9-digit code); without it, every town: a folder per town in the town format, one layer in the others")
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
	area, g, err := db.LoadArea(ctx, *gen, db.Now())
	if err != nil {
		return err
	}
	if *format == "town" && *town == "" && len(area.Towns) > 1 {
		return exportTowns(area, g, *out, stdout)
	}
	td, ok := area.TownData(*town)
	if !ok {
		return fmt.Errorf("export: -town %q: the database holds no such town (%s)", *town, townCodes(area.Towns))
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

// exportTowns writes every town of area as town files, each in a folder
// named by its code under out: what runImport reads back as a county.
func exportTowns(area *geo.Area, gen int64, out string, stdout io.Writer) error {
	for _, t := range area.Towns {
		td, _ := area.TownData(t.Code)
		if err := townfile.WriteDir(filepath.Join(out, t.Code), td); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "exported %d towns generation %d: %d villages, %d grids to %s\n",
		len(area.Towns), gen, len(area.Villages), len(area.Grids), out)
	return nil
}

// townCodes lists the towns' codes and names for a message.
func townCodes(towns []geo.Town) string {
	names := make([]string, len(towns))
	for i, t := range towns {
		names[i] = t.Code + " " + t.Name
	}
	return strings.Join(names, ", ")
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
