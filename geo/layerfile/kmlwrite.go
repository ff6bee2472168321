package layerfile

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/featurejson"
)

// kmlFields are the SimpleFields of the exported Schema, in row order.
// The grid's name is the Placemark's name, which GIS tools show as the
// label and GDAL as the attribute Name, so it is not repeated here.
var kmlFields = []struct{ name, typ string }{
	{"code", "string"}, {"village_code", "string"}, {"village_name", "string"},
	{"households", "int"}, {"population", "int"}, {"leader", "string"},
}

// WriteKML renders td's grids as a KML 2.2 document named opts.Name with a
// Placemark per grid, sorted by code, directly in the Document (in a
// Folder, GDAL's LIBKML driver loses the Schema of a KMZ). The Placemark's name
// is the grid's name; the other attributes are SchemaData/SimpleData typed by a
// Schema (read by Google Earth, 奥维地图 and GDAL); the geometry is a
// Polygon, or a MultiGeometry of Polygons, with outer rings
// counter-clockwise by convention. A thin red outline style is included.
// Read back, the Placemark's name is the attribute "name".
func WriteKML(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	rs, err := rows(td, opts.CRS)
	if err != nil {
		return nil, err
	}
	name := opts.name()
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<kml xmlns="http://www.opengis.net/kml/2.2">` + "\n<Document>\n")
	element(&b, "name", name)
	desc := td.Town.Name
	if td.Town.Code != "" {
		desc += " (" + td.Town.Code + ")"
	}
	desc += fmt.Sprintf(": %d grids.", len(rs))
	if td.Town.Note != "" {
		desc += " " + td.Town.Note
	}
	element(&b, "description", desc)
	b.WriteString(`<Style id="grid"><LineStyle><color>ff1c1ce3</color><width>2</width></LineStyle>` +
		`<PolyStyle><color>331c1ce3</color></PolyStyle></Style>` + "\n")
	b.WriteString(`<Schema name="` + escape(name) + `" id="wangge_grid">` + "\n")
	for _, f := range kmlFields {
		b.WriteString(`<SimpleField name="` + f.name + `" type="` + f.typ + `"></SimpleField>` + "\n")
	}
	b.WriteString("</Schema>\n")
	for _, r := range rs {
		b.WriteString(`<Placemark id="g` + escape(r.Code) + `">`)
		element(&b, "name", r.Name)
		b.WriteString(`<styleUrl>#grid</styleUrl><ExtendedData><SchemaData schemaUrl="#wangge_grid">`)
		values := []string{r.Code, r.VillageCode, r.VillageName,
			strconv.Itoa(r.Households), strconv.Itoa(r.Population), r.Leader}
		for i, v := range values {
			if v != "" {
				b.WriteString(`<SimpleData name="` + kmlFields[i].name + `">` + escape(v) + `</SimpleData>`)
			}
		}
		b.WriteString(`</SchemaData></ExtendedData>`)
		if len(r.geom) > 1 {
			b.WriteString("<MultiGeometry>")
		}
		for _, poly := range r.geom {
			writeKMLPolygon(&b, poly)
		}
		if len(r.geom) > 1 {
			b.WriteString("</MultiGeometry>")
		}
		b.WriteString("</Placemark>\n")
	}
	b.WriteString("</Document>\n</kml>\n")
	return b.Bytes(), nil
}

func writeKMLPolygon(b *bytes.Buffer, poly orb.Polygon) {
	b.WriteString("<Polygon>")
	for j, ring := range poly {
		if j == 0 {
			b.WriteString("<outerBoundaryIs><LinearRing><coordinates>")
		} else {
			b.WriteString("<innerBoundaryIs><LinearRing><coordinates>")
		}
		buf := b.AvailableBuffer()
		for k, p := range ring {
			if k > 0 {
				buf = append(buf, ' ')
			}
			buf = featurejson.AppendFloat(buf, p[0], featurejson.Exact)
			buf = append(buf, ',')
			buf = featurejson.AppendFloat(buf, p[1], featurejson.Exact)
		}
		b.Write(buf)
		if j == 0 {
			b.WriteString("</coordinates></LinearRing></outerBoundaryIs>")
		} else {
			b.WriteString("</coordinates></LinearRing></innerBoundaryIs>")
		}
	}
	b.WriteString("</Polygon>")
}

func element(b *bytes.Buffer, tag, text string) {
	b.WriteString("<" + tag + ">" + escape(text) + "</" + tag + ">\n")
}

func escape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// WriteKMZ renders WriteKML's document zipped as doc.kml, the KMZ layout
// Google Earth and 奥维地图 open.
func WriteKMZ(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	doc, err := WriteKML(td, opts)
	if err != nil {
		return nil, err
	}
	return zipFiles(opts, []zipEntry{{"doc.kml", doc}})
}

type zipEntry struct {
	name string
	data []byte
}

// zipFiles zips the entries in order, deflated, stamped opts.Modified.
func zipFiles(opts WriteOptions, entries []zipEntry) ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: opts.modified()})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
