package layerfile

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
)

// WriteOptions says how to write a layer.
type WriteOptions struct {
	// Name names the layer: the GeoJSON "name" member, the KML Document,
	// the files inside a Shapefile zip. Empty: "grids".
	Name string
	// CRS converts coordinates from WGS-84 on the way out, for tools that
	// draw on GCJ-02 or BD-09 maps (奥维地图, AMap). Empty: WGS-84. A
	// Shapefile's .prj says WGS 84 whatever CRS is, since GCJ-02 and BD-09
	// have no EPSG code.
	CRS chinacrs.CRS
	// Modified stamps the DBF header and the entries of KMZ and Shapefile
	// zips. Zero: 2000-01-01, so that the same grids give the same bytes.
	Modified time.Time
}

func (o WriteOptions) name() string {
	if o.Name == "" {
		return "grids"
	}
	return o.Name
}

func (o WriteOptions) modified() time.Time {
	if o.Modified.IsZero() {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return o.Modified.UTC().Truncate(time.Second)
}

// Write renders td's grids in format f: WriteGeoJSON, WriteKML, WriteKMZ,
// WriteShapefileZip, WriteCSV or WriteXLSX. A GeoPackage is not written
// here (see GeoPackage): EINVALID.
func Write(f Format, td *geo.TownData, opts WriteOptions) ([]byte, error) {
	switch f {
	case CSV:
		return WriteCSV(td, opts)
	case XLSX:
		return WriteXLSX(td, opts)
	case GeoPackage:
		return nil, geo.Errorf(geo.EINVALID, "format gpkg: convert the GeoJSON export with package ogr (GDAL)")
	case GeoJSON:
		return WriteGeoJSON(td, opts)
	case KML:
		return WriteKML(td, opts)
	case KMZ:
		return WriteKMZ(td, opts)
	case Shapefile:
		return WriteShapefileZip(td, opts)
	}
	return nil, geo.Errorf(geo.EINVALID, "format %q: want geojson, kml, kmz or shp", string(f))
}

// row is one grid as exported: the attributes every format carries, in
// this order, and the geometry in the output CRS.
type row struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	VillageCode string `json:"village_code"`
	VillageName string `json:"village_name"`
	Households  int    `json:"households"`
	Population  int    `json:"population"`
	Leader      string `json:"leader"`
	geom        orb.MultiPolygon
}

// rows returns td's grids sorted by code, with village names, leaders'
// names (never phones) and geometries converted to crs and oriented the
// RFC 7946 way (outer rings counter-clockwise, holes clockwise). td is not
// modified.
func rows(td *geo.TownData, crs chinacrs.CRS) ([]row, error) {
	villages := map[string]string{}
	for _, v := range td.Villages {
		villages[v.Code] = v.Name
	}
	out := make([]row, len(td.Grids))
	for i, g := range td.Grids {
		if len(g.Geometry) == 0 {
			return nil, fmt.Errorf("grid %s has no geometry", g.Code)
		}
		r := row{Code: g.Code, Name: g.Name, VillageCode: g.VillageCode, VillageName: villages[g.VillageCode],
			Households: g.Households, Population: g.Population, geom: orient(g.Geometry, crs, true)}
		if g.Leader != nil {
			r.Leader = g.Leader.Name
		}
		out[i] = r
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// orient returns a copy of mp in crs with outer rings counter-clockwise
// (ccw true) or clockwise (ccw false) and holes the other way.
func orient(mp orb.MultiPolygon, crs chinacrs.CRS, ccw bool) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(mp))
	for i, poly := range mp {
		out[i] = make(orb.Polygon, len(poly))
		for j, ring := range poly {
			r := make(orb.Ring, len(ring))
			for k, p := range ring {
				r[k] = chinacrs.FromWGS84(crs, p)
			}
			if a, wantCCW := signedArea(r), ccw == (j == 0); a != 0 && (a > 0) != wantCCW {
				reverse(r)
			}
			out[i][j] = r
		}
	}
	return out
}

// signedArea returns twice the signed area of r (positive when
// counter-clockwise), computed relative to its first vertex so that
// coordinates near 112°E, 27°N lose no precision.
func signedArea(r orb.Ring) float64 {
	if len(r) < 3 {
		return 0
	}
	x0, y0 := r[0][0], r[0][1]
	var a float64
	for i := 1; i+1 < len(r); i++ {
		a += (r[i][0]-x0)*(r[i+1][1]-y0) - (r[i+1][0]-x0)*(r[i][1]-y0)
	}
	return a
}

func reverse(r orb.Ring) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}

// WriteGeoJSON renders td's grids as an RFC 7946 FeatureCollection, one
// feature per line, sorted by code, with id = code and the properties code,
// name, village_code, village_name, households, population and leader (the
// leader's name, null when the grid has none).
func WriteGeoJSON(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	rs, err := rows(td, opts.CRS)
	if err != nil {
		return nil, err
	}
	name, _ := json.Marshal(opts.name())
	b := append([]byte(`{"type":"FeatureCollection","name":`), name...)
	b = append(b, `,"features":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		props := struct {
			row
			Leader *string `json:"leader"`
		}{row: r}
		if r.Leader != "" {
			props.Leader = &r.Leader
		}
		pj, err := json.Marshal(props)
		if err != nil {
			return nil, fmt.Errorf("grid %s: %w", r.Code, err)
		}
		id, _ := json.Marshal(r.Code)
		b = append(b, "\n"+`{"type":"Feature","id":`...)
		b = append(b, id...)
		b = append(b, `,"geometry":`...)
		b = featurejson.AppendMultiPolygon(b, r.geom, featurejson.Exact)
		b = append(b, `,"properties":`...)
		b = append(b, pj...)
		b = append(b, '}')
	}
	return append(b, "\n]}\n"...), nil
}
