// Package ogr writes the layer formats wangge has no Go writer for by
// running GDAL's ogr2ogr on a GeoJSON export: today the GeoPackage. It is
// the one part of the export path that runs a program and writes temporary
// files; without GDAL on the machine it answers EUNAVAILABLE, saying what
// to install, and every other format still works.
package ogr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"wangge/geo"
	"wangge/geo/layerfile"
)

// Program is the converter run, looked up in PATH at each call (so that
// installing GDAL needs no restart).
const Program = "ogr2ogr"

// Timeout bounds one conversion: a town's grids take well under a second.
const Timeout = time.Minute

// MaxRunning bounds the conversions running at once in this process: each
// is a program with its own memory, and the machine's cores are the API's.
const MaxRunning = 2

// running holds a place for each conversion running (see MaxRunning). It
// is the process's, as the cores it protects are.
var running = make(chan struct{}, MaxRunning)

// ToGeoPackage converts geojson (an RFC 7946 FeatureCollection, as
// layerfile.WriteGeoJSON writes it) to a GeoPackage with one layer named
// layer, in EPSG:4326, its attributes typed as GDAL reads them from the
// GeoJSON. modified stamps the file's last_change, so that the same
// export gives the same bytes on every replica (GDAL's OGR_CURRENT_DATE).
//
// It returns EUNAVAILABLE when ogr2ogr is not installed, and a plain
// error (internal: GDAL's message is logged, not sent) when it fails.
func ToGeoPackage(ctx context.Context, geojson []byte, layer string, modified time.Time) ([]byte, error) {
	path, err := exec.LookPath(Program)
	if err != nil {
		return nil, geo.Errorf(geo.EUNAVAILABLE, "the GeoPackage export needs GDAL's %s, which this server lacks: "+
			"install GDAL (Debian, Ubuntu: apt-get install gdal-bin), or export as geojson, shp or csv", Program)
	}
	// Anyone may ask for an export: at most MaxRunning conversions run
	// at once, the others wait their turn (or their request's end).
	select {
	case running <- struct{}{}:
		defer func() { <-running }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	dir, err := os.MkdirTemp("", "wangge-gpkg-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.geojson"), filepath.Join(dir, "out.gpkg")
	if err := os.WriteFile(in, geojson, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-f", "GPKG", "-nln", layer, "-nlt", "MULTIPOLYGON", out, in)
	cmd.Env = append(os.Environ(),
		"OGR_CURRENT_DATE="+modified.UTC().Format("2006-01-02T15:04:05.000Z"),
		// No .aux.xml files beside the output.
		"GDAL_PAM_ENABLED=NO")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", Program, errors.Join(err, ctx.Err()))
		}
		return nil, fmt.Errorf("%s: %w: %s", Program, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return os.ReadFile(out)
}

// Write renders td's grids in any export format (layerfile.ExportFormats):
// the GeoPackage through ToGeoPackage, stamped with opts.Modified, every
// other format with layerfile.Write. It is the one export function the
// HTTP API and the command line share.
func Write(ctx context.Context, f layerfile.Format, td *geo.TownData, opts layerfile.WriteOptions) ([]byte, error) {
	if f != layerfile.GeoPackage {
		return layerfile.Write(f, td, opts)
	}
	b, err := layerfile.WriteGeoJSON(td, opts)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = "grids"
	}
	return ToGeoPackage(ctx, b, name, opts.Modified)
}
