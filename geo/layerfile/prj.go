package layerfile

import (
	"fmt"
	"regexp"
	"strings"
)

// wgs84PRJ is the .prj written with every Shapefile: EPSG:4326 in the ESRI
// WKT that ArcGIS, QGIS and GDAL all recognise.
const wgs84PRJ = `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`

var wktName = regexp.MustCompile(`^[A-Z]+\[\s*"([^"]*)"`)

// checkPRJ accepts a .prj naming a geographic WGS 84 or CGCS2000 system
// (EPSG:4326, EPSG:4490: they agree to centimetres) and returns a reason
// for any other, projected systems first among them: wangge does not
// reproject.
func checkPRJ(prj []byte) string {
	text := strings.TrimSpace(string(stripBOM(prj)))
	if text == "" {
		return ""
	}
	up := strings.ToUpper(text)
	norm := strings.NewReplacer(" ", "_", "-", "_").Replace(up)
	name := text
	if m := wktName.FindStringSubmatch(text); m != nil {
		name = m[1]
	}
	name = truncate(name)
	geographic := strings.HasPrefix(up, "GEOGCS[") || strings.HasPrefix(up, "GEOGCRS[") || strings.HasPrefix(up, "GEODCRS[") ||
		strings.Contains(up, "+PROJ=LONGLAT") || strings.Contains(up, "+PROJ=LATLONG")
	known := strings.Contains(norm, "WGS_1984") || strings.Contains(norm, "WGS_84") || strings.Contains(norm, "WGS84") ||
		strings.Contains(norm, "CGCS2000") || strings.Contains(norm, "CHINA_2000") || strings.Contains(norm, "CHINA_GEODETIC_COORDINATE_SYSTEM_2000")
	switch {
	case up == "EPSG:4326" || up == "EPSG:4490" || up == "CRS84":
		return ""
	case strings.HasPrefix(up, "PROJCS[") || strings.HasPrefix(up, "PROJCRS[") || strings.HasPrefix(up, "PROJECTEDCRS[") ||
		strings.Contains(up, "+PROJ=") && !geographic:
		return fmt.Sprintf("projected coordinate system %q: wangge reads longitude/latitude in WGS 84 or CGCS2000 (EPSG:4326, EPSG:4490) and does not reproject; in QGIS use Export → Save Features As… with CRS EPSG:4326", name)
	case geographic && known:
		return ""
	case geographic:
		return fmt.Sprintf("geographic coordinate system %q is neither WGS 84 nor CGCS2000 (Beijing 1954 and Xian 1980 differ from them by up to 100 m): reproject the layer to EPSG:4326 or EPSG:4490", name)
	}
	return fmt.Sprintf("cannot tell the coordinate system from %q: want a geographic WGS 84 or CGCS2000 system (EPSG:4326, EPSG:4490)", name)
}
