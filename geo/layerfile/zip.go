package layerfile

import (
	"archive/zip"
	"bytes"
	"io"
	"path"
	"sort"
	"strings"
)

// zipMembers is what a zip holds, by lower-cased extension, with the
// names as written.
type zipMembers struct {
	files map[string]*zip.File // by name
	byExt map[string][]string  // ".shp" → names, sorted
	read  int64                // bytes decompressed so far
}

// readZip reads a KMZ or a zipped Shapefile. It takes the one .shp (with
// its siblings), else a .kml (doc.kml first), else a .geojson.
func readZip(p *problems, data []byte, kmz bool) raw {
	r := raw{where: p.file}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		p.add(p.file, "not a valid zip file (truncated or damaged?): %v", err)
		return r
	}
	m := &zipMembers{files: map[string]*zip.File{}, byExt: map[string][]string{}}
	for _, f := range zr.File {
		name := f.Name
		base := path.Base(name)
		if strings.HasSuffix(name, "/") || strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(base, "._") {
			continue
		}
		m.files[name] = f
		ext := strings.ToLower(path.Ext(name))
		m.byExt[ext] = append(m.byExt[ext], name)
	}
	for _, names := range m.byExt {
		sort.Strings(names)
	}
	switch shp := m.byExt[".shp"]; {
	case len(shp) > 1:
		p.add(p.file, "holds %d shapefiles (%s): want one layer per zip", len(shp), strings.Join(shp, ", "))
		return r
	case len(shp) == 1:
		return readShapefileZip(p, m, shp[0])
	}
	if kml := m.byExt[".kml"]; len(kml) > 0 {
		name := kml[0]
		for _, n := range kml {
			if strings.EqualFold(n, "doc.kml") {
				name = n
			}
		}
		b, ok := m.get(p, name)
		if !ok {
			return r
		}
		r = readKMLAs(p, p.file+": "+name, b)
		r.format = KMZ // a zipped KML is a KMZ, whatever its name
		return r
	}
	for _, ext := range []string{".geojson", ".json"} {
		if gj := m.byExt[ext]; len(gj) == 1 {
			b, ok := m.get(p, gj[0])
			if !ok {
				return r
			}
			return readGeoJSONAs(p, p.file+": "+gj[0], b)
		}
	}
	if kmz {
		p.add(p.file, "a KMZ must hold a .kml file (doc.kml); this one holds %s", m.list())
	} else {
		p.add(p.file, "holds no .shp, no .kml and not one .geojson: want a zipped Shapefile, a KMZ or one GeoJSON file (it holds %s)", m.list())
	}
	return r
}

func (m *zipMembers) list() string {
	var names []string
	for n := range m.files {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "nothing"
	}
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}

// sibling returns the name of the member with the same path as name but
// the extension ext (any case), or "".
func (m *zipMembers) sibling(name, ext string) string {
	stem := strings.TrimSuffix(name, path.Ext(name))
	for _, n := range m.byExt[ext] {
		if strings.EqualFold(strings.TrimSuffix(n, path.Ext(n)), stem) {
			return n
		}
	}
	return ""
}

// get decompresses one member, within MaxUncompressedBytes for the zip.
func (m *zipMembers) get(p *problems, name string) ([]byte, bool) {
	f := m.files[name]
	rc, err := f.Open()
	if err != nil {
		p.add(p.file+": "+name, "cannot be read (damaged zip?): %v", err)
		return nil, false
	}
	defer rc.Close()
	left := MaxUncompressedBytes - m.read
	b, err := io.ReadAll(io.LimitReader(rc, left+1))
	if err != nil {
		p.add(p.file+": "+name, "cannot be read (truncated or damaged zip?): %v", err)
		return nil, false
	}
	if int64(len(b)) > left {
		p.add(p.file, "decompresses to more than %d MiB", MaxUncompressedBytes>>20)
		return nil, false
	}
	m.read += int64(len(b))
	return b, true
}
