package photofile

import (
	"encoding/binary"
	"hash/crc32"
)

// pngKeep are the ancillary chunks kept: transparency and how to read the
// colours. Critical chunks (IHDR, PLTE, IDAT, IEND) are always kept.
var pngKeep = map[string]bool{"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "sBIT": true}

// cleanPNG walks the chunks of a PNG file, checking each one's CRC, and
// copies the critical ones and those of pngKeep, plus the orientation as a
// minimal eXIf chunk. It stops at IEND: trailing data goes. An unknown
// critical chunk, a bad CRC, a file without IHDR first, without IDAT or
// without IEND is ErrMalformed.
func cleanPNG(b []byte) ([]byte, EXIF, error) {
	var meta EXIF
	out := make([]byte, 0, len(b))
	out = append(out, pngMagic...)
	i := len(pngMagic)
	first, sawIDAT := true, false
	ihdrEnd := 0
	for {
		if i+12 > len(b) {
			return nil, meta, errorf(ErrMalformed, "the PNG ends at byte %d before its IEND chunk: the upload may be truncated", len(b))
		}
		n := binary.BigEndian.Uint32(b[i:])
		typ := string(b[i+4 : i+8])
		if n > 1<<31-1 || uint64(i)+12+uint64(n) > uint64(len(b)) {
			return nil, meta, errorf(ErrMalformed, "the PNG's %q chunk at byte %d runs past the end of the file: the upload may be truncated", typ, i)
		}
		end := i + 12 + int(n)
		chunk := b[i:end]
		data := b[i+8 : i+8+int(n)]
		if crc32.ChecksumIEEE(b[i+4:i+8+int(n)]) != binary.BigEndian.Uint32(b[end-4:]) {
			return nil, meta, errorf(ErrMalformed, "the PNG's %q chunk at byte %d has a bad checksum", typ, i)
		}
		i = end
		if first != (typ == "IHDR") {
			return nil, meta, errorf(ErrMalformed, "the PNG's first chunk is %q: want IHDR, once", typ)
		}
		first = false
		critical := typ[0] >= 'A' && typ[0] <= 'Z'
		switch {
		case typ == "IEND":
			if !sawIDAT {
				return nil, meta, errorf(ErrMalformed, "the PNG has no image data (IDAT)")
			}
			out = append(out, chunk...)
			if meta.Orientation > 1 {
				// Right after IHDR, where viewers look for it.
				rest := append([]byte(nil), out[ihdrEnd:]...)
				out = append(appendChunk(out[:ihdrEnd], "eXIf", orientationEXIF(meta.Orientation)), rest...)
			}
			return out, meta, nil
		case typ == "IDAT":
			sawIDAT = true
			out = append(out, chunk...)
		case typ == "IHDR":
			out = append(out, chunk...)
			ihdrEnd = len(out)
		case typ == "PLTE" || pngKeep[typ]:
			out = append(out, chunk...)
		case typ == "eXIf":
			if meta == (EXIF{}) {
				meta = ReadEXIF(data)
			}
		case critical:
			return nil, meta, errorf(ErrMalformed, "the PNG has an unknown critical chunk %q", typ)
		}
	}
}

// appendChunk appends a PNG chunk of type typ holding data.
func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}
