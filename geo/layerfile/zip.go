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
	read  int64                // bytes declared by the members opened so far
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
		rc, _, ok := m.open(p, name)
		if !ok {
			return r
		}
		r = readKMLAs(p, p.file+": "+name, zipReader{rc})
		rc.Close()
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

// open opens one member for reading after checking the sizes its zip
// headers declare against the limits: MaxBytes for the member and for
// all members read together, MaxRatio for its expansion. The reader
// yields at most the declared size (archive/zip refuses a member that
// inflates past it), so a bomb is refused before it is inflated.
func (m *zipMembers) open(p *problems, name string) (io.ReadCloser, int64, bool) {
	f := m.files[name]
	where := p.file + ": " + name
	lim := p.lim
	if f.UncompressedSize64 > uint64(lim.MaxBytes) {
		p.tooLarge(where, "MaxBytes", "decompresses to %s, over %s", sizeText(int64(min(f.UncompressedSize64, 1<<62))), sizeText(lim.MaxBytes))
		return nil, 0, false
	}
	size := int64(f.UncompressedSize64)
	if m.read+size > lim.MaxBytes {
		p.tooLarge(p.file, "MaxBytes", "its members decompress to more than %s together", sizeText(lim.MaxBytes))
		return nil, 0, false
	}
	if packed := max(int64(f.CompressedSize64), 1); size > ratioFloor && size/packed > lim.MaxRatio {
		p.tooLarge(where, "MaxRatio", "expands %d times, from %s to %s (a zip bomb?), over %d times",
			size/packed, sizeText(packed), sizeText(size), lim.MaxRatio)
		return nil, 0, false
	}
	rc, err := f.Open()
	if err != nil {
		p.add(where, "cannot be read (damaged zip?): %v", err)
		return nil, 0, false
	}
	m.read += size
	return rc, size, true
}

// get decompresses one member, within the limits open checks.
func (m *zipMembers) get(p *problems, name string) ([]byte, bool) {
	rc, size, ok := m.open(p, name)
	if !ok {
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, size+1)) // to EOF: the CRC is checked there
	if err != nil {
		p.add(p.file+": "+name, "cannot be read (truncated or damaged zip?): %v", err)
		return nil, false
	}
	return b, true
}
