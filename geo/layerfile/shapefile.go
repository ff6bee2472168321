package layerfile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"sort"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// Shapefile shape types (ESRI Shapefile Technical Description, 1998).
const (
	shpNull     = 0
	shpPolygon  = 5
	shpPolygonZ = 15
	shpPolygonM = 25
)

var shapeTypeNames = map[int32]string{
	0: "Null", 1: "Point", 3: "PolyLine", 5: "Polygon", 8: "MultiPoint",
	11: "PointZ", 13: "PolyLineZ", 15: "PolygonZ", 18: "MultiPointZ",
	21: "PointM", 23: "PolyLineM", 25: "PolygonM", 28: "MultiPointM", 31: "MultiPatch",
}

func shapeTypeName(t int32) string {
	if n, ok := shapeTypeNames[t]; ok {
		return fmt.Sprintf("%s (type %d)", n, t)
	}
	return fmt.Sprintf("unknown (type %d)", t)
}

// readShapefileZip reads the members of one Shapefile out of a zip: the
// .shp and .dbf are required; the .prj and .cpg are read when present; the
// .shx is not needed, since the .shp is read from start to end. The .dbf
// header's claims are checked against the limits and the member's size
// before the rest of it is inflated, and the .shp is read as it inflates.
func readShapefileZip(p *problems, m *zipMembers, shpName string) raw {
	r := raw{format: Shapefile, where: p.file}
	dbfName := m.sibling(shpName, ".dbf")
	if dbfName == "" {
		stem := path.Base(shpName)
		stem = stem[:len(stem)-len(path.Ext(stem))]
		p.add(p.file+": "+shpName, "has no %s.dbf beside it: a Shapefile's attributes (the grid codes) are in the .dbf; zip the .shp, .shx, .dbf, .prj and .cpg together", stem)
		return r
	}
	files := map[string][]byte{}
	for _, ext := range []string{".prj", ".cpg"} {
		if name := m.sibling(shpName, ext); name != "" {
			b, ok := m.get(p, name)
			if !ok {
				return r
			}
			files[ext] = b
		}
	}
	shpWhere, dbfWhere := p.file+": "+shpName, p.file+": "+dbfName
	dbf, ok := readDBFMember(p, m, dbfName, dbfWhere)
	if !ok {
		return r
	}
	shp, size, ok := m.open(p, shpName)
	if !ok {
		return r
	}
	defer shp.Close()
	r.features = readShapefile(p, shpWhere, dbfWhere, shp, size, dbf, files[".prj"], files[".cpg"])
	return r
}

// readDBFMember inflates a .dbf member: its header first, whose record
// count and length are checked against the member's size and the limits,
// then the rest.
func readDBFMember(p *problems, m *zipMembers, name, where string) ([]byte, bool) {
	rc, size, ok := m.open(p, name)
	if !ok {
		return nil, false
	}
	defer rc.Close()
	hdr := make([]byte, 32)
	if n, err := io.ReadFull(rc, hdr); err != nil {
		if n == int(size) {
			p.add(where, "is %d bytes, shorter than a dBase header (truncated?)", n)
		} else {
			p.add(where, "cannot be read (truncated or damaged zip?): %v", err)
		}
		return nil, false
	}
	if !dbfClaims(p, where, hdr, size) {
		return nil, false
	}
	rest, err := io.ReadAll(io.LimitReader(rc, size-32+1))
	if err != nil {
		p.add(where, "cannot be read (truncated or damaged zip?): %v", err)
		return nil, false
	}
	return append(hdr, rest...), true
}

// readShapefile reads polygons from shp, a .shp of size bytes, and their
// attributes from dbf. shpWhere and dbfWhere name the two files in
// problems.
func readShapefile(p *problems, shpWhere, dbfWhere string, shp io.Reader, size int64, dbf, prj, cpg []byte) []rawFeature {
	if prj != nil {
		if reason := checkPRJ(prj); reason != "" {
			p.add(shpWhere[:len(shpWhere)-len(path.Ext(shpWhere))]+".prj", "%s", reason)
			return nil
		}
	}
	if len(dbf) >= 32 && !dbfClaims(p, dbfWhere, dbf, int64(len(dbf))) {
		return nil
	}
	records, ok := readSHP(p, shpWhere, shp, size)
	if !ok {
		return nil
	}

	table, ok := readDBF(p, dbfWhere, dbf, cpg)
	if !ok {
		return nil
	}
	if len(table.records) != len(records) {
		p.add(dbfWhere, "has %d records but the .shp has %d shapes: the files do not belong together (or one is truncated)", len(table.records), len(records))
		return nil
	}
	var out []rawFeature
	for i, rec := range records {
		if table.deleted[i] {
			continue
		}
		f := rawFeature{index: i, attrs: table.records[i], geom: rec.geom, reasons: rec.reasons}
		out = append(out, f)
	}
	if len(out) == 0 && len(records) > 0 {
		p.add(dbfWhere, "every record is marked deleted")
	}
	return out
}

type shpRecord struct {
	geom    orb.MultiPolygon
	reasons []string
}

// readSHP reads the main file, size bytes, as it streams from r: a
// 100-byte header, then records of a big-endian number and length and a
// little-endian shape. Only polygons (types 5, 15 and 25; Z and M are
// dropped) are accepted. Each record's length is checked against the
// bytes left before it is read, and records are counted against
// MaxFeatures as they come.
func readSHP(p *problems, where string, r io.Reader, size int64) ([]shpRecord, bool) {
	if size < 100 {
		p.add(where, "is %d bytes, shorter than the 100-byte Shapefile header (truncated?)", size)
		return nil, false
	}
	br := bufio.NewReaderSize(r, 64<<10)
	readErr := func(err error) ([]shpRecord, bool) {
		p.add(where, "cannot be read (truncated or damaged zip?): %v", err)
		return nil, false
	}
	b := make([]byte, 100)
	if _, err := io.ReadFull(br, b); err != nil {
		return readErr(err)
	}
	if code := binary.BigEndian.Uint32(b[0:]); code != 9994 {
		p.add(where, "is not a Shapefile main file (file code %d, want 9994)", code)
		return nil, false
	}
	fileLen := int64(binary.BigEndian.Uint32(b[24:])) * 2
	if fileLen > size {
		p.add(where, "its header says %d bytes but it has %d (truncated?)", fileLen, size)
		return nil, false
	}
	if fileLen >= 100 {
		size = fileLen
	}
	switch t := int32(binary.LittleEndian.Uint32(b[32:])); t {
	case shpPolygon, shpPolygonZ, shpPolygonM, shpNull:
	default:
		p.add(where, "holds %s shapes: want polygons (Polygon, type 5, or PolygonZ, type 15)", shapeTypeName(t))
		return nil, false
	}
	for _, off := range []int{36, 44, 52, 60} { // the bounding box
		if v := math.Float64frombits(binary.LittleEndian.Uint64(b[off:])); math.Abs(v) > 1000 {
			p.add(where, "its bounding box reaches %g, which is no longitude or latitude: the layer looks projected (metres); wangge reads WGS 84 or CGCS2000 degrees (EPSG:4326, EPSG:4490) and does not reproject", v)
			return nil, false
		}
	}
	var recs []shpRecord
	var head [8]byte
	var content []byte
	for off := int64(100); off < size; {
		i := len(recs)
		if i == p.lim.MaxFeatures {
			p.tooLarge(where, "MaxFeatures", "holds more than %d records (%s, %d records read so far)", p.lim.MaxFeatures, sizeText(size), i)
			return nil, false
		}
		if size-off < 8 {
			p.add(where, "record %d: the record header is cut off after %d bytes (truncated?)", i, size-off)
			return nil, false
		}
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return readErr(err)
		}
		n := int64(binary.BigEndian.Uint32(head[4:])) * 2
		if n > size-off-8 {
			p.add(where, "record %d: says %d bytes but %d are left (truncated?)", i, n, size-off-8)
			return nil, false
		}
		content = slices.Grow(content[:0], int(n))[:n]
		if _, err := io.ReadFull(br, content); err != nil {
			return readErr(err)
		}
		off += 8 + n
		geom, reasons := shpPolygonOf(content)
		recs = append(recs, shpRecord{geom: geom, reasons: reasons})
	}
	return recs, true
}

// shpPolygonOf decodes one record's shape and assembles its rings into
// polygons.
func shpPolygonOf(c []byte) (orb.MultiPolygon, []string) {
	if len(c) < 4 {
		return nil, []string{fmt.Sprintf("the shape is %d bytes, too short for its type", len(c))}
	}
	switch t := int32(binary.LittleEndian.Uint32(c)); t {
	case shpPolygon, shpPolygonZ, shpPolygonM:
	case shpNull:
		return nil, []string{"geometry is missing (a null shape)"}
	default:
		return nil, []string{fmt.Sprintf("geometry type %s: want Polygon", shapeTypeName(t))}
	}
	if len(c) < 44 {
		return nil, []string{fmt.Sprintf("the polygon record is %d bytes, shorter than its 44-byte header", len(c))}
	}
	numParts := int64(int32(binary.LittleEndian.Uint32(c[36:])))
	numPoints := int64(int32(binary.LittleEndian.Uint32(c[40:])))
	switch {
	case numParts < 1 || numPoints < 1:
		return nil, []string{fmt.Sprintf("geometry is empty (%d parts, %d points)", numParts, numPoints)}
	case numParts > numPoints:
		return nil, []string{fmt.Sprintf("%d parts but only %d points", numParts, numPoints)}
	case 44+4*numParts+16*numPoints > int64(len(c)):
		return nil, []string{fmt.Sprintf("%d parts and %d points need %d bytes, the record has %d (damaged?)",
			numParts, numPoints, 44+4*numParts+16*numPoints, len(c))}
	}
	starts := make([]int, numParts+1)
	for i := range numParts {
		starts[i] = int(int32(binary.LittleEndian.Uint32(c[44+4*i:])))
	}
	starts[numParts] = int(numPoints)
	if starts[0] != 0 {
		return nil, []string{fmt.Sprintf("part 0 starts at point %d, want 0", starts[0])}
	}
	pts := c[44+4*numParts:]
	var rings []orb.Ring
	var reasons reasonList
	for i := range int(numParts) {
		from, to := starts[i], starts[i+1]
		if to <= from || to > int(numPoints) {
			return nil, []string{fmt.Sprintf("part %d: starts at point %d, after the next part or the end (%d)", i, from, to)}
		}
		ring := make(orb.Ring, to-from)
		for k := range ring {
			o := 16 * (from + k)
			ring[k] = orb.Point{math.Float64frombits(binary.LittleEndian.Uint64(pts[o:])),
				math.Float64frombits(binary.LittleEndian.Uint64(pts[o+8:]))}
		}
		if r := checkPart(ring); r != "" {
			reasons.add(fmt.Sprintf("part %d: %s", i, r))
		} else if signedArea(ring) == 0 {
			reasons.add(fmt.Sprintf("part %d: ring has no area (its points are on a line)", i))
		}
		rings = append(rings, ring)
	}
	if len(reasons.list) > 0 {
		return nil, reasons.done()
	}
	return assemble(rings), nil
}

// checkPart checks what geo.Polygonal checks, with the Shapefile's part
// numbers, before rings are regrouped into polygons.
func checkPart(ring orb.Ring) string {
	for k, pt := range ring {
		if msg := geo.CheckLonLat(pt[0], pt[1]); msg != nil {
			return fmt.Sprintf("position %d: %s", k, msg)
		}
	}
	if len(ring) < 4 {
		return fmt.Sprintf("has %d positions: want at least 4 (a closed ring of 3 distinct points)", len(ring))
	}
	if ring[0] != ring[len(ring)-1] {
		return fmt.Sprintf("is not closed: first position %v differs from last %v", ring[0], ring[len(ring)-1])
	}
	return ""
}

// assemble groups rings into polygons the Shapefile way: clockwise rings
// are outer rings, counter-clockwise rings are holes of the smallest outer
// ring that contains them. A counter-clockwise ring inside no outer ring is
// taken as an outer ring, as GDAL does (some writers get the orientation
// wrong). The result is oriented the RFC 7946 way: outer rings
// counter-clockwise, holes clockwise.
func assemble(rings []orb.Ring) orb.MultiPolygon {
	var outers, holes []orb.Ring
	for _, r := range rings {
		if signedArea(r) < 0 {
			outers = append(outers, r)
		} else {
			holes = append(holes, r)
		}
	}
	mp := make(orb.MultiPolygon, len(outers))
	area := make([]float64, len(outers))
	for i, r := range outers {
		reverse(r)
		mp[i] = orb.Polygon{r}
		area[i] = signedArea(r)
	}
	// Smallest outer ring first, so the first container found is the
	// innermost one (an island in a lake in an island).
	order := make([]int, len(outers))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return area[order[a]] < area[order[b]] })
	for _, h := range holes {
		into := -1
		for _, i := range order {
			if ringInRing(h, outers[i]) {
				into = i
				break
			}
		}
		if into < 0 { // an outer ring written counter-clockwise: keep it so
			mp = append(mp, orb.Polygon{h})
			continue
		}
		reverse(h)
		mp[into] = append(mp[into], h)
	}
	return mp
}

// ringInRing reports whether inner lies inside outer, judged by the first
// vertex of inner that is not on outer's boundary (a hole may touch its
// shell at a vertex), or by the midpoint of an edge when every vertex is on
// the boundary.
func ringInRing(inner, outer orb.Ring) bool {
	if !inner.Bound().Intersects(outer.Bound()) {
		return false
	}
	for _, pt := range inner {
		if in, on := pointInRing(pt, outer); !on {
			return in
		}
	}
	for k := 0; k+1 < len(inner); k++ {
		mid := orb.Point{(inner[k][0] + inner[k+1][0]) / 2, (inner[k][1] + inner[k+1][1]) / 2}
		if in, on := pointInRing(mid, outer); !on {
			return in
		}
	}
	return false
}

// pointInRing is the crossing-number test; on reports a point on an edge.
func pointInRing(pt orb.Point, r orb.Ring) (in, on bool) {
	x, y := pt[0], pt[1]
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[j], r[i]
		if (b[0]-a[0])*(y-a[1])-(x-a[0])*(b[1]-a[1]) == 0 &&
			min(a[0], b[0]) <= x && x <= max(a[0], b[0]) && min(a[1], b[1]) <= y && y <= max(a[1], b[1]) {
			return false, true
		}
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in, false
}
