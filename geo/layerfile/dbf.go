package layerfile

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"wangge/geo/gbtext"
)

// dbfTable is the attribute table of a Shapefile: a dBase III file.
type dbfTable struct {
	fields  []dbfField
	records [][]attr
	deleted []bool
}

type dbfField struct {
	name   string
	typ    byte
	offset int // within the record, after the deletion flag
	length int
}

// readDBF reads a dBase file. Text is decoded as the .cpg says (UTF-8,
// GBK/GB18030, Latin-1), else as the header's language driver says (936:
// GBK), else as UTF-8 when every text byte is valid UTF-8 and GB18030 (a
// superset of GBK, what Chinese ArcGIS and older QGIS write) when not.
func readDBF(p *problems, where string, b, cpg []byte) (dbfTable, bool) {
	var t dbfTable
	if len(b) < 33 {
		p.add(where, "is %d bytes, shorter than a dBase header (truncated?)", len(b))
		return t, false
	}
	if !dbfClaims(p, where, b, int64(len(b))) {
		return t, false
	}
	nrec := int64(binary.LittleEndian.Uint32(b[4:]))
	hdrLen := int(binary.LittleEndian.Uint16(b[8:]))
	recLen := int(binary.LittleEndian.Uint16(b[10:]))
	if hdrLen < 33 || hdrLen > len(b) || recLen < 1 {
		p.add(where, "is not a dBase file (header length %d, record length %d, file %d bytes)", hdrLen, recLen, len(b))
		return t, false
	}
	var names [][]byte
	offset := 1
	for pos := 32; pos < hdrLen && b[pos] != 0x0D; pos += 32 {
		if pos+32 > hdrLen {
			p.add(where, "the field descriptors are cut off (damaged header)")
			return t, false
		}
		if len(t.fields) == p.lim.MaxFields {
			p.tooLarge(where, "MaxFields", "the header describes more than %d fields", p.lim.MaxFields)
			return t, false
		}
		d := b[pos : pos+32]
		name := d[:11]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		f := dbfField{typ: d[11], offset: offset, length: int(d[16])}
		offset += f.length
		if offset > recLen {
			p.add(where, "field %q runs past the %d-byte record (damaged header)", string(name), recLen)
			return t, false
		}
		names = append(names, bytes.TrimSpace(name))
		t.fields = append(t.fields, f)
	}
	if int64(hdrLen)+nrec*int64(recLen) > int64(len(b)) {
		p.add(where, "has a header for %d records of %d bytes but holds only %d bytes of them (truncated?)",
			nrec, recLen, len(b)-hdrLen)
		return t, false
	}
	if cells := nrec * int64(len(t.fields)); cells > p.lim.MaxCells {
		p.tooLarge(where, "MaxCells", "the header claims %d records of %d fields = %d values, over %d", nrec, len(t.fields), cells, p.lim.MaxCells)
		return t, false
	}
	decode := dbfDecoder(b, hdrLen, int(nrec), recLen, t.fields, names, cpg)
	for i, n := range names {
		t.fields[i].name = decode(n)
	}
	t.records = make([][]attr, nrec)
	t.deleted = make([]bool, nrec)
	for i := range t.records {
		rec := b[hdrLen+i*recLen : hdrLen+(i+1)*recLen]
		t.deleted[i] = rec[0] == '*'
		attrs := make([]attr, len(t.fields))
		for j, f := range t.fields {
			v := rec[f.offset : f.offset+f.length]
			if f.typ == 'C' {
				v = bytes.TrimRight(v, " \x00")
			} else {
				v = bytes.Trim(v, " \x00")
				if len(bytes.Trim(v, "*")) == 0 {
					v = nil // a numeric null: all asterisks
				}
			}
			attrs[j] = attr{f.name, decode(v)}
		}
		t.records[i] = attrs
	}
	return t, true
}

// dbfClaims checks what a dBase header (its first 32 bytes, in hdr)
// claims against the limits and against size, the bytes the file has,
// before anything is allocated for the records: the record count against
// MaxFeatures, and the records' bytes against size.
func dbfClaims(p *problems, where string, hdr []byte, size int64) bool {
	nrec := int64(binary.LittleEndian.Uint32(hdr[4:]))
	hdrLen := int64(binary.LittleEndian.Uint16(hdr[8:]))
	recLen := int64(binary.LittleEndian.Uint16(hdr[10:]))
	need := hdrLen + nrec*recLen
	if nrec > int64(p.lim.MaxFeatures) {
		p.tooLarge(where, "MaxFeatures", "the .dbf header claims %d records of %d bytes = %s; the file has %d bytes; at most %d records are read",
			nrec, recLen, sizeText(nrec*recLen), size, p.lim.MaxFeatures)
		return false
	}
	if need > size && recLen > 0 {
		p.add(where, "the .dbf header claims %d records of %d bytes = %s; the file has %d bytes (truncated, or the header is damaged)",
			nrec, recLen, sizeText(nrec*recLen), size)
		return false
	}
	return true
}

// dbfDecoder picks the text encoding of a dBase file.
func dbfDecoder(b []byte, hdrLen, nrec, recLen int, fields []dbfField, names [][]byte, cpg []byte) func([]byte) string {
	utf := func(v []byte) string { return strings.ToValidUTF8(string(v), "\uFFFD") }
	gbk := gbtext.Decode
	latin := func(v []byte) string {
		s, _ := charmap.Windows1252.NewDecoder().Bytes(v)
		return string(s)
	}
	c := strings.ToUpper(strings.Join(strings.Fields(string(cpg)), ""))
	switch {
	case c == "":
	case strings.Contains(c, "UTF-8") || strings.Contains(c, "UTF8") || c == "65001":
		// Tools write "UTF-8" into .cpg files by default, also over GBK
		// bytes: trust it only when every text is valid UTF-8, and read
		// the rest as GB18030 rather than store U+FFFD.
		if dbfAllUTF8(b, hdrLen, nrec, recLen, fields, names) {
			return utf
		}
		return gbk
	case gbtext.IsGBK(c):
		return gbk
	case strings.Contains(c, "1252") || strings.Contains(c, "8859-1") || strings.Contains(c, "88591") || strings.Contains(c, "LATIN1"):
		return latin
	}
	switch b[29] { // language driver id
	case 0x4D, 0x7A: // code page 936
		return gbk
	}
	if !dbfAllUTF8(b, hdrLen, nrec, recLen, fields, names) {
		return gbk
	}
	return utf
}

// dbfAllUTF8 reports whether every field name and every text field of
// every record is valid UTF-8.
func dbfAllUTF8(b []byte, hdrLen, nrec, recLen int, fields []dbfField, names [][]byte) bool {
	for _, n := range names {
		if !utf8.Valid(n) {
			return false
		}
	}
	for i := 0; i < nrec; i++ {
		rec := b[hdrLen+i*recLen : hdrLen+(i+1)*recLen]
		for _, f := range fields {
			if f.typ == 'C' && !utf8.Valid(rec[f.offset:f.offset+f.length]) {
				return false
			}
		}
	}
	return true
}
