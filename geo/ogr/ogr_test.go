package ogr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/layerfile"
	"wangge/geo/ogr"
)

// The GeoPackage is compared feature by feature with the GeoJSON export
// in geo/layerfile (TestExportTables_readBackByGDAL); here, what happens
// around GDAL.

// TestToGeoPackage_withoutGDAL: without ogr2ogr on the PATH the GeoPackage
// is EUNAVAILABLE, naming what to install; the other formats of Write do
// not need GDAL.
func TestToGeoPackage_withoutGDAL(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := ogr.ToGeoPackage(context.Background(), []byte(`{"type":"FeatureCollection","features":[]}`), "x", time.Time{})
	if geo.ErrorCode(err) != geo.EUNAVAILABLE || !strings.Contains(geo.ErrorMessage(err), "apt-get install gdal-bin") {
		t.Errorf("got %v, want EUNAVAILABLE naming gdal-bin", err)
	}
	td := &geo.TownData{}
	if _, err := ogr.Write(context.Background(), layerfile.CSV, td, layerfile.WriteOptions{}); err != nil {
		t.Errorf("csv without GDAL: %v", err)
	}
	if _, err := ogr.Write(context.Background(), layerfile.GeoPackage, td, layerfile.WriteOptions{}); geo.ErrorCode(err) != geo.EUNAVAILABLE {
		t.Errorf("gpkg through Write without GDAL: %v, want EUNAVAILABLE", err)
	}
}

// TestToGeoPackage_brokenInput: what GDAL cannot read is an error (an
// internal one: the input is ours), not an empty file.
func TestToGeoPackage_brokenInput(t *testing.T) {
	b, err := ogr.ToGeoPackage(context.Background(), []byte(`{"type":"FeatureCollection","features":[`), "x", time.Time{})
	if err == nil || geo.ErrorCode(err) != geo.EINTERNAL || len(b) != 0 {
		t.Errorf("got %d bytes, %v; want an internal error", len(b), err)
	}
}

// TestToGeoPackage_cancelled: a request that ends stops the conversion.
func TestToGeoPackage_cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ogr.ToGeoPackage(ctx, []byte(`{"type":"FeatureCollection","features":[]}`), "x", time.Time{}); err == nil {
		t.Error("a cancelled conversion succeeded")
	}
}
