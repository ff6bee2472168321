// Package layerfile reads and writes a layer of grids in the files that
// planners exchange with GIS tools: GeoJSON (RFC 7946, and the townfile
// grids format), KML and KMZ (Google Earth, 奥维地图) and zipped Shapefiles
// (QGIS, ArcGIS). It does no I/O: readers take bytes, writers return them.
//
// Reading is strict about what a redraw relies on and tolerant of what GIS
// tools add. Every feature must be a Polygon or MultiPolygon with closed
// rings of at least four positions and coordinates within lon -180..180,
// lat -90..90, and must carry a 15-digit grid code. Any problem is reported
// in a *geo.Error with code EINVALID whose Problems name the file, the
// feature (its index and code or name) and what is wrong; nothing is
// returned then, so nothing is half-imported. Coordinates given in GCJ-02 or
// BD-09 (ReadOptions.CRS) are converted to WGS-84 with package chinacrs.
//
// Writing is deterministic (the same grids give the same bytes) and
// lossless: GeoJSON and KML coordinates are the shortest decimal text that
// parses back to the same float64, Shapefile coordinates are float64
// binary. Exports carry the grid's code, name, village code and name,
// households, population and the leader's name, never a phone.
package layerfile

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

// Format is a file format of a layer.
type Format string

// The formats read and written.
const (
	GeoJSON   Format = "geojson" // RFC 7946 FeatureCollection, .geojson
	KML       Format = "kml"     // KML 2.2 document, .kml
	KMZ       Format = "kmz"     // zipped KML (doc.kml), .kmz
	Shapefile Format = "shp"     // zipped ESRI Shapefile: .shp, .shx, .dbf, .prj, .cpg
)

// zipped is what sniff says of a zip, before its members tell whether it
// is a KMZ or a Shapefile.
const zipped Format = "zip"

// Formats lists the formats read and written, in the order they are
// documented.
var Formats = []Format{GeoJSON, KML, KMZ, Shapefile}

// Formats only written (exports): tables and the GeoPackage.
const (
	// GeoPackage is an OGC GeoPackage (SQLite) file, .gpkg. It is not
	// written here (this package does no I/O and there is no Go SQLite in
	// the build): package ogr converts the GeoJSON export with GDAL.
	GeoPackage Format = "gpkg"
	CSV        Format = "csv"  // CSV with the geometry as WKT (WriteCSV)
	XLSX       Format = "xlsx" // Excel attribute table (WriteXLSX)
)

// ExportFormats lists the formats grids are exported in.
var ExportFormats = []Format{GeoJSON, KML, KMZ, Shapefile, GeoPackage, CSV, XLSX}

// ParseExportFormat returns the export format named by s, ignoring case:
// those of ParseFormat, and gpkg (or geopackage), csv, xlsx (or excel).
// Any other value is an EINVALID error that lists the accepted ones.
func ParseExportFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "gpkg", "geopackage":
		return GeoPackage, nil
	case "csv":
		return CSV, nil
	case "xlsx", "excel":
		return XLSX, nil
	}
	if f, err := ParseFormat(s); err == nil {
		return f, nil
	}
	return "", geo.Errorf(geo.EINVALID, "format %q: want geojson, kml, kmz, shp, gpkg, csv or xlsx", s)
}

// ParseFormat returns the format named by s, ignoring case: geojson (or
// json), kml, kmz, shp (or shapefile, zip). Any other value is an EINVALID
// error that lists the accepted ones.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "geojson", "json":
		return GeoJSON, nil
	case "kml":
		return KML, nil
	case "kmz":
		return KMZ, nil
	case "shp", "shapefile", "zip":
		return Shapefile, nil
	}
	return "", geo.Errorf(geo.EINVALID, "format %q: want geojson, kml, kmz or shp", s)
}

// ContentType returns the media type of files of the format.
func (f Format) ContentType() string {
	switch f {
	case KML:
		return "application/vnd.google-earth.kml+xml"
	case KMZ:
		return "application/vnd.google-earth.kmz"
	case Shapefile:
		return "application/zip"
	case GeoPackage:
		return "application/geopackage+sqlite3"
	case CSV:
		return "text/csv; charset=utf-8"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/geo+json"
}

// Ext returns the usual file name extension of the format, with its dot. A
// zipped Shapefile is ".zip".
func (f Format) Ext() string {
	switch f {
	case KML:
		return ".kml"
	case KMZ:
		return ".kmz"
	case Shapefile:
		return ".zip"
	case GeoPackage:
		return ".gpkg"
	case CSV:
		return ".csv"
	case XLSX:
		return ".xlsx"
	}
	return ".geojson"
}

// maxProblems caps the problems reported for one file: past it a broken
// file is broken everywhere and more lines do not help.
const maxProblems = 100

// Layer is a layer of grid polygons read from a file.
type Layer struct {
	// Format is the format the file was read as.
	Format Format
	// Fields are the attribute names found in the file, in the order they
	// first appear.
	Fields []string
	// CodeField, NameField and VillageField are the attributes the codes,
	// names and village codes were read from; NameField and VillageField
	// are empty when the file has no such attribute.
	CodeField, NameField, VillageField string
	Features                           []Feature
}

// Feature is one grid of a layer.
type Feature struct {
	// Index is the position of the feature in the file, from 0: the
	// GeoJSON feature, the KML Placemark, the Shapefile record.
	Index int
	// Code is the 15-digit grid code.
	Code string
	// Name is the grid's name; empty when the file has none.
	Name string
	// VillageCode is the 12-digit village code: from the village
	// attribute when the file has one, else the first 12 digits of Code.
	VillageCode string
	// Properties holds every attribute as text: GeoJSON strings as they
	// are, other JSON values as their JSON text, KML Data and SimpleData
	// values (and the Placemark's name and description, unless an
	// attribute has that name), DBF values trimmed of padding.
	Properties map[string]string
	// Geometry is in WGS-84. Rings are as in the file, except that
	// Shapefile rings, which have no polygon structure of their own, come
	// out as RFC 7946 wants them: outer rings counter-clockwise, holes
	// clockwise.
	Geometry orb.MultiPolygon
}

// ReadOptions says how to read a layer.
type ReadOptions struct {
	// CRS is the coordinate system of the file's coordinates: wgs84 (the
	// default, also right for CGCS2000), gcj02 (AMap, Tencent, 奥维地图's
	// "火星坐标") or bd09 (Baidu). Coordinates are converted to WGS-84.
	CRS chinacrs.CRS
	// CodeField is the attribute holding the 15-digit grid code. Empty:
	// "code", else "网格编码", "编码", "网格代码" or "grid_code", matched
	// ignoring case. In KML the Placemark's name is the attribute "name",
	// so CodeField "name" reads codes written as Placemark names.
	CodeField string
	// NameField is the attribute holding the grid's name. Empty: "name",
	// else "网格名称", "网格名", "名称".
	NameField string
	// VillageField is the attribute holding the 12-digit village code.
	// Empty: "village_code", else "vill_code", "village_co", "村编码",
	// "村代码"; when none exists the village code is the first 12 digits
	// of the grid code.
	VillageField string
	// Limits bound what reading the file may cost; a zero Limits is
	// DefaultLimits. A file over a limit gives a *TooLargeError.
	Limits Limits
}

// The attribute names tried, in order, when a ReadOptions field is empty.
var (
	codeFields    = []string{"code", "网格编码", "编码", "网格代码", "grid_code"}
	nameFields    = []string{"name", "网格名称", "网格名", "名称"}
	villageFields = []string{"village_code", "vill_code", "village_co", "村编码", "村代码"}
)

// Read reads a layer from the bytes of a file called name. The format is
// told by the content (a zip, JSON, or XML) and then by the name's
// extension: .geojson or .json; .kml; .kmz; .zip holding one .shp with its
// .dbf (and .prj, .cpg), or a .kml or .geojson. A broken file yields a
// *geo.Error with code EINVALID listing up to 100 problems, each naming
// the feature, and no layer; a file over one of opts.Limits yields a
// *TooLargeError (IsTooLarge) naming the limit and what the file claims.
func Read(name string, data []byte, opts ReadOptions) (*Layer, error) {
	label := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if label == "." || label == "/" || label == "" {
		label = "layer"
	}
	p := &problems{file: label, lim: opts.Limits.resolved()}
	if int64(len(data)) > p.lim.MaxBytes {
		p.tooLarge(label, "MaxBytes", "the file is %s, over %s", sizeText(int64(len(data))), sizeText(p.lim.MaxBytes))
		return nil, p.err()
	}
	switch opts.CRS {
	case "", chinacrs.WGS84, chinacrs.GCJ02, chinacrs.BD09:
	default:
		p.add("crs", "got %q, want wgs84, gcj02 or bd09", string(opts.CRS))
		return nil, p.err()
	}
	var r raw
	switch format := sniff(name, data); format {
	case zipped:
		r = readZip(p, data, strings.EqualFold(path.Ext(name), ".kmz"))
	case KML:
		r = readKML(p, data)
	case GeoJSON:
		r = readGeoJSON(p, data)
	default:
		if strings.EqualFold(path.Ext(name), ".shp") {
			p.add(label, "a Shapefile is several files: zip the .shp with its .dbf, .shx, .prj and .cpg and send the .zip")
		} else if len(bytes.TrimSpace(data)) == 0 {
			p.add(label, "the file is empty")
		} else {
			p.add(label, "unknown format: want GeoJSON (.geojson), KML (.kml), KMZ (.kmz) or a zipped Shapefile (.zip)")
		}
	}
	if p.count > 0 {
		return nil, p.err()
	}
	return build(p, r, opts)
}

// sniff tells the format by the first bytes, then by the name.
func sniff(name string, data []byte) Format {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")) {
		return zipped
	}
	text := bytes.TrimLeft(stripBOM(data), " \t\r\n")
	switch {
	case bytes.HasPrefix(text, []byte("{")):
		return GeoJSON
	case bytes.HasPrefix(text, []byte("<")):
		return KML
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".zip", ".kmz":
		return zipped // not a zip by its bytes: readZip says why
	case ".kml":
		return KML
	case ".geojson", ".json":
		return GeoJSON
	}
	return ""
}

func stripBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// raw is what a format reader hands to build: features with ordered
// attributes and geometry in the file's CRS, not yet checked.
type raw struct {
	format   Format
	where    string // prefix of feature problems: the file, or zip: member
	features []rawFeature
}

type rawFeature struct {
	index int
	attrs []attr
	geom  orb.MultiPolygon
	// reasons are the geometry problems the format reader found; when
	// there are any, geom is not checked further.
	reasons []string
}

type attr struct{ key, value string }

// problems collects what is wrong with a file, at most maxProblems, and
// carries the limits the readers check.
type problems struct {
	file  string
	list  []geo.Problem
	count int
	lim   Limits // resolved
	limit string // the Limits field exceeded, if any
	over  string // what exceeded it, "where: reason"
}

func (p *problems) add(where, format string, args ...any) {
	p.count++
	if len(p.list) < maxProblems {
		p.list = append(p.list, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) err() error {
	if p.count == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s has %d problems", p.file, p.count)
	if p.count == 1 {
		msg = p.file + " has a problem"
	}
	if p.count > len(p.list) {
		msg += fmt.Sprintf(" (the first %d are listed)", len(p.list))
	}
	ge := &geo.Error{Code: geo.EINVALID, Message: msg, Problems: p.list}
	if p.limit != "" {
		ge.Message = p.over
		return &TooLargeError{Limit: p.limit, Err: ge}
	}
	return ge
}

// build maps the attributes, checks codes and geometries, converts
// coordinates to WGS-84 and returns the layer, or every problem found.
func build(p *problems, r raw, opts ReadOptions) (*Layer, error) {
	if len(r.features) == 0 {
		p.add(r.where, "has no features")
		return nil, p.err()
	}
	l := &Layer{Format: r.format}
	seenField := map[string]bool{}
	for _, f := range r.features {
		for _, a := range f.attrs {
			if !seenField[a.key] {
				seenField[a.key] = true
				l.Fields = append(l.Fields, a.key)
			}
		}
	}
	var ok bool
	if l.CodeField, ok = pickField(l.Fields, opts.CodeField, codeFields, ""); !ok {
		if opts.CodeField != "" {
			p.add(r.where, "code field %q: no such attribute; the attributes are %s", opts.CodeField, listFields(l.Fields))
		} else {
			p.add(r.where, "no grid code attribute: none of %s among the attributes %s; name the one holding the 15-digit code (code field)",
				strings.Join(codeFields, ", "), listFields(l.Fields))
		}
	}
	if l.NameField, ok = pickField(l.Fields, opts.NameField, nameFields, l.CodeField); !ok && opts.NameField != "" {
		p.add(r.where, "name field %q: no such attribute; the attributes are %s", opts.NameField, listFields(l.Fields))
	}
	if l.VillageField, ok = pickField(l.Fields, opts.VillageField, villageFields, l.CodeField); !ok && opts.VillageField != "" {
		p.add(r.where, "village field %q: no such attribute; the attributes are %s", opts.VillageField, listFields(l.Fields))
	}
	if p.count > 0 {
		return nil, p.err()
	}
	seen := map[string]int{}
	for _, rf := range r.features {
		props := make(map[string]string, len(rf.attrs))
		for _, a := range rf.attrs {
			if _, dup := props[a.key]; !dup {
				props[a.key] = a.value
			}
		}
		f := Feature{Index: rf.index, Code: normalizeCode(props[l.CodeField]), Properties: props}
		if l.NameField != "" {
			f.Name = strings.TrimSpace(props[l.NameField])
		}
		where := featureWhere(r.where, rf.index, f.Code, f.Name)
		if l.VillageField != "" {
			f.VillageCode = normalizeCode(props[l.VillageField])
		}
		switch {
		case f.Code == "":
			p.add(where, "the grid code (attribute %s) is empty", l.CodeField)
		case f.VillageCode != "" && geo.ValidateVillageCode(f.VillageCode) != nil:
			p.add(where, "village code %q (attribute %s): want 12 digits", f.VillageCode, l.VillageField)
		default:
			if err := geo.ValidateGridCode(f.Code, f.VillageCode); err != nil {
				p.add(where, "%s", geo.ErrorMessage(err))
			} else if j, dup := seen[f.Code]; dup {
				p.add(where, "grid code %s is used twice (also feature %d)", f.Code, j)
			} else {
				seen[f.Code] = rf.index
				if f.VillageCode == "" {
					f.VillageCode = f.Code[:12]
				}
			}
		}
		reasons := rf.reasons
		if len(reasons) == 0 {
			f.Geometry, reasons = geo.Polygonal(rf.geom)
		}
		for _, reason := range reasons {
			p.add(where, "geometry: %s", reason)
		}
		if len(reasons) == 0 {
			f.Geometry = toWGS84(opts.CRS, f.Geometry)
		}
		l.Features = append(l.Features, f)
	}
	if p.count > 0 {
		return nil, p.err()
	}
	return l, nil
}

// pickField returns the attribute named want (exactly, else ignoring
// case), or when want is empty the first of the candidates present other
// than taken (the code field: KML's name may hold the code).
func pickField(fields []string, want string, candidates []string, taken string) (string, bool) {
	if want != "" {
		candidates, taken = []string{want}, ""
	}
	for _, c := range candidates {
		for _, f := range fields {
			if f == c && f != taken {
				return f, true
			}
		}
		for _, f := range fields {
			if strings.EqualFold(f, c) && f != taken {
				return f, true
			}
		}
	}
	return "", false
}

func listFields(fields []string) string {
	if len(fields) == 0 {
		return "(none)"
	}
	s := append([]string(nil), fields...)
	sort.Strings(s)
	return "[" + strings.Join(s, ", ") + "]"
}

// featureWhere names a feature for a problem: its index and its code, or
// its name when the code is missing.
func featureWhere(file string, index int, code, name string) string {
	switch {
	case code != "":
		return fmt.Sprintf("%s: feature %d (%s)", file, index, truncate(code))
	case name != "":
		return fmt.Sprintf("%s: feature %d (name %q)", file, index, truncate(name))
	}
	return fmt.Sprintf("%s: feature %d", file, index)
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 64; i > 0; i-- {
		if (s[i] & 0xc0) != 0x80 {
			return s[:i] + "…"
		}
	}
	return s[:64]
}

// normalizeCode trims a code and drops a numeric field's ".000" decimals,
// so that a code stored as a DBF number or a JSON number reads as digits.
func normalizeCode(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i > 0 && strings.Trim(s[i+1:], "0") == "" && isDigits(s[:i]) {
		return s[:i]
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// toWGS84 converts every position of mp from crs to WGS-84, in place.
func toWGS84(crs chinacrs.CRS, mp orb.MultiPolygon) orb.MultiPolygon {
	if crs == "" || crs == chinacrs.WGS84 {
		return mp
	}
	for _, poly := range mp {
		for _, ring := range poly {
			for k := range ring {
				ring[k] = chinacrs.ToWGS84(crs, ring[k])
			}
		}
	}
	return mp
}
