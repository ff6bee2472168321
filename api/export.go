package api

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
	"wangge/geo/ogr"
)

// exportGeneration answers GET /v1/export and GET
// /v1/generations/{gen}/export with
// ?format=geojson|kml|kmz|shp|gpkg|csv|xlsx (default geojson) and
// ?crs=wgs84|gcj02|bd09: the grids of the current generation as a file to
// download, for QGIS, ArcGIS, Google Earth, 奥维地图 or Excel. Each grid
// carries its code, name, village, households, population and leader's
// name; never a phone. The bytes are deterministic, so the ETag is a hash
// of them and replicas agree on it.
//
// The GeoPackage is the GeoJSON converted by GDAL's ogr2ogr (package
// ogr): without GDAL on the server it is 503, saying what to install.
//
// A past generation is read from the database (503 while it is down), with
// the leaders in office when it ended.
func (s *Server) exportGeneration(c *gin.Context) error {
	format, err := layerfile.ParseExportFormat(c.DefaultQuery("format", string(layerfile.GeoJSON)))
	if err != nil {
		return badParam("format", "got %q, want geojson, kml, kmz, shp, gpkg, csv or xlsx", truncate(c.Query("format")))
	}
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	if raw := c.Param("gen"); raw != "" {
		gen, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || gen < 1 {
			return badParam("gen", "got %q, want a generation number: 1, 2, …", truncate(raw))
		}
		if snap, err = s.generationSnapshot(c.Request.Context(), gen); err != nil {
			return err
		}
	}
	// ?town= exports one town of a county; without it, the whole
	// deployment (in a one-town deployment, that town).
	town := c.Query("town")
	td, ok := snap.TownData(town)
	if !ok {
		return badParam("town", "got %q, want the code of one of the %d towns, e.g. %s", truncate(town), len(snap.Towns), snap.Towns[0].Code)
	}
	name := exportName(td.Town.Code, snap.Generation, crs)
	opts := layerfile.WriteOptions{Name: name, CRS: crs, Modified: inForceSince(snap)}
	body, err := ogr.Write(c.Request.Context(), format, td, opts)
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write(body)
	etag := fmt.Sprintf(`"g%d-%s-%x"`, snap.Generation, format, h.Sum64())
	if notModified(c, etag) {
		return nil
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	c.Header("Content-Disposition", `attachment; filename="`+name+downloadExt(format)+`"`)
	c.Data(http.StatusOK, format.ContentType(), body)
	return nil
}

// exportName names an export by town code and generation, and by the CRS
// when it is not WGS-84: 431321101-g3, 431321101-g3-gcj02.
func exportName(town string, gen int64, crs chinacrs.CRS) string {
	if town == "" {
		town = "grids"
	}
	name := fmt.Sprintf("%s-g%d", town, gen)
	if crs != chinacrs.WGS84 && crs != "" {
		name += "-" + string(crs)
	}
	return name
}

// downloadExt is the extension of an export's file name: the format's,
// except that a zipped Shapefile is ".shp.zip", which GDAL (3.1 and later,
// so QGIS) opens as a Shapefile directly, without /vsizip/.
func downloadExt(f layerfile.Format) string {
	if f == layerfile.Shapefile {
		return ".shp.zip"
	}
	return f.Ext()
}

// inForceSince is when the snapshot's generation took effect, as far as
// its grids tell (the latest valid_from): the date stamped in the files,
// the same on every replica.
func inForceSince(snap *geo.Snapshot) time.Time {
	var t time.Time
	for _, g := range snap.Grids {
		if g.ValidFrom.After(t) {
			t = g.ValidFrom
		}
	}
	return t
}
