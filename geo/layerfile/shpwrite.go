package layerfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo"
)

// dbfColumns are the attribute columns of an exported Shapefile. dBase
// field names hold at most 10 characters, hence vill_code and vill_name
// for village_code and village_name (the reader knows both).
var dbfColumns = []struct {
	name    string
	numeric bool
	value   func(r *row) string
}{
	{"code", false, func(r *row) string { return r.Code }},
	{"name", false, func(r *row) string { return r.Name }},
	{"vill_code", false, func(r *row) string { return r.VillageCode }},
	{"vill_name", false, func(r *row) string { return r.VillageName }},
	{"households", true, func(r *row) string { return strconv.Itoa(r.Households) }},
	{"population", true, func(r *row) string { return strconv.Itoa(r.Population) }},
	{"leader", false, func(r *row) string { return r.Leader }},
}

// dbfNumberWidth is the width of the numeric columns: N(9,0), which GDAL
// and QGIS read as 32-bit integers (10 digits would make them 64-bit).
const dbfNumberWidth = 9

// WriteShapefileZip renders td's grids as a zipped ESRI Shapefile named
// opts.Name: .shp and .shx with one Polygon (type 5) per grid, sorted by
// code, outer rings clockwise and holes counter-clockwise as the format
// requires, coordinates as float64 (exact); .dbf with the columns code,
// name, vill_code, vill_name, households, population, leader in UTF-8, which
// the .cpg declares; .prj WGS 84. Text longer than a dBase field's 254
// bytes is cut at a character boundary.
func WriteShapefileZip(td *geo.TownData, opts WriteOptions) ([]byte, error) {
	rs, err := rows(td, opts.CRS)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		for _, poly := range r.geom {
			for _, ring := range poly {
				reverse(ring) // RFC 7946 orientation → the Shapefile's
			}
		}
	}
	shp, shx, err := encodeSHP(rs)
	if err != nil {
		return nil, err
	}
	dbf, err := encodeDBF(rs, opts)
	if err != nil {
		return nil, err
	}
	name := opts.name()
	return zipFiles(opts, []zipEntry{
		{name + ".shp", shp}, {name + ".shx", shx}, {name + ".dbf", dbf},
		{name + ".prj", []byte(wgs84PRJ)}, {name + ".cpg", []byte("UTF-8")},
	})
}

// encodeSHP writes the main file and its index.
func encodeSHP(rs []row) (shp, shx []byte, err error) {
	var all orb.Bound
	shp = make([]byte, 100)
	shx = make([]byte, 100, 100+8*len(rs))
	for i, r := range rs {
		var parts []int32
		var pts []orb.Point
		for _, poly := range r.geom {
			for _, ring := range poly {
				parts = append(parts, int32(len(pts)))
				pts = append(pts, ring...)
			}
		}
		if len(pts) == 0 {
			return nil, nil, fmt.Errorf("grid %s has no positions", r.Code)
		}
		box := r.geom.Bound()
		if i == 0 {
			all = box
		} else {
			all = all.Union(box)
		}
		n := 44 + 4*len(parts) + 16*len(pts)
		offset := len(shp)
		if int64(offset)+8+int64(n) > math.MaxInt32*2 {
			return nil, nil, fmt.Errorf("the grids need more than the 4 GiB a Shapefile can hold")
		}
		shp = binary.BigEndian.AppendUint32(shp, uint32(i+1))
		shp = binary.BigEndian.AppendUint32(shp, uint32(n/2))
		shp = binary.LittleEndian.AppendUint32(shp, shpPolygon)
		shp = appendBound(shp, box)
		shp = binary.LittleEndian.AppendUint32(shp, uint32(len(parts)))
		shp = binary.LittleEndian.AppendUint32(shp, uint32(len(pts)))
		for _, p := range parts {
			shp = binary.LittleEndian.AppendUint32(shp, uint32(p))
		}
		for _, p := range pts {
			shp = binary.LittleEndian.AppendUint64(shp, math.Float64bits(p[0]))
			shp = binary.LittleEndian.AppendUint64(shp, math.Float64bits(p[1]))
		}
		shx = binary.BigEndian.AppendUint32(shx, uint32(offset/2))
		shx = binary.BigEndian.AppendUint32(shx, uint32(n/2))
	}
	shpHeader(shp, len(shp), all)
	shpHeader(shx, len(shx), all)
	return shp, shx, nil
}

func shpHeader(b []byte, size int, box orb.Bound) {
	binary.BigEndian.PutUint32(b[0:], 9994)
	binary.BigEndian.PutUint32(b[24:], uint32(size/2))
	binary.LittleEndian.PutUint32(b[28:], 1000)
	binary.LittleEndian.PutUint32(b[32:], shpPolygon)
	copy(b[36:68], appendBound(nil, box)) // Z and M ranges stay 0
}

func appendBound(b []byte, box orb.Bound) []byte {
	for _, v := range []float64{box.Min[0], box.Min[1], box.Max[0], box.Max[1]} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// encodeDBF writes a dBase III table: character columns as wide as their
// longest value (at most 254 bytes), numbers N(9,0).
func encodeDBF(rs []row, opts WriteOptions) ([]byte, error) {
	widths := make([]int, len(dbfColumns))
	values := make([][]string, len(rs))
	for i := range rs {
		values[i] = make([]string, len(dbfColumns))
		for j, c := range dbfColumns {
			v := c.value(&rs[i])
			if c.numeric {
				if len(v) > dbfNumberWidth {
					return nil, fmt.Errorf("grid %s: %s %s has more than %d digits", rs[i].Code, c.name, v, dbfNumberWidth)
				}
			} else {
				v = cutUTF8(v, 254)
			}
			values[i][j] = v
			widths[j] = max(widths[j], len(v))
		}
	}
	recLen := 1
	for j, c := range dbfColumns {
		if c.numeric {
			widths[j] = dbfNumberWidth
		}
		widths[j] = max(widths[j], 1)
		recLen += widths[j]
	}
	hdrLen := 32 + 32*len(dbfColumns) + 1
	b := make([]byte, 32, hdrLen+len(rs)*recLen+1)
	mod := opts.modified()
	b[0] = 0x03
	b[1], b[2], b[3] = byte(mod.Year()-1900), byte(mod.Month()), byte(mod.Day())
	binary.LittleEndian.PutUint32(b[4:], uint32(len(rs)))
	binary.LittleEndian.PutUint16(b[8:], uint16(hdrLen))
	binary.LittleEndian.PutUint16(b[10:], uint16(recLen))
	for j, c := range dbfColumns {
		d := make([]byte, 32)
		copy(d, c.name)
		d[11] = 'C'
		if c.numeric {
			d[11] = 'N'
		}
		d[16] = byte(widths[j])
		b = append(b, d...)
	}
	b = append(b, 0x0D)
	for i := range rs {
		b = append(b, ' ')
		for j, c := range dbfColumns {
			v, pad := values[i][j], strings.Repeat(" ", widths[j]-len(values[i][j]))
			if c.numeric {
				b = append(b, pad+v...)
			} else {
				b = append(b, v+pad...)
			}
		}
	}
	return append(b, 0x1A), nil
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xc0) == 0x80 {
		n--
	}
	return s[:n]
}
