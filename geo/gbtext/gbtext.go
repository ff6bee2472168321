// Package gbtext decodes the text encodings that software on Chinese
// Windows writes besides UTF-8: GBK, GB2312 and GB18030, all read as
// GB18030, which is a superset of the other two. The layer files of
// package layerfile (.dbf attribute tables, KML) and the rosters of package
// rosterfile (.csv) and the town files of package townfile (GeoJSON saved
// as "ANSI") decode through it, so that all read Chinese text the same way.
//
// Decoding never fails: a byte sequence that is not GB18030 becomes
// U+FFFD, the replacement character.
package gbtext

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// utf8BOM is the byte order mark Excel and Notepad put before UTF-8 text.
var utf8BOM = []byte("\xef\xbb\xbf")

// IsGBK reports whether label, an encoding name as a .cpg file or an XML
// declaration gives it, names GBK, GB2312, GB18030 or code page 936
// ("GBK", "cp936", "x-gbk", "936", "GB 2312"...). Case and spaces are
// ignored.
func IsGBK(label string) bool {
	l := strings.ToUpper(strings.Join(strings.Fields(label), ""))
	return strings.Contains(l, "GBK") || strings.Contains(l, "936") ||
		strings.Contains(l, "GB2312") || strings.Contains(l, "GB18030")
}

// Decode returns b decoded from GB18030. ASCII text is returned as it is.
func Decode(b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil { // not seen: the decoder replaces what it cannot read
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// NewReader returns a reader that decodes r from GB18030.
func NewReader(r io.Reader) io.Reader {
	return simplifiedchinese.GB18030.NewDecoder().Reader(r)
}

// UTF8OrGB18030 returns b as UTF-8 text: without its UTF-8 byte order
// mark, if any, when the rest is valid UTF-8, and decoded from GB18030
// otherwise (what Excel and WPS save as "CSV" on Chinese Windows). Valid
// UTF-8 always wins: a GB18030 text that happens to be valid UTF-8 too
// (rare beyond a few characters) is read as UTF-8. UTF-16 is not
// recognised.
func UTF8OrGB18030(b []byte) []byte {
	b = bytes.TrimPrefix(b, utf8BOM)
	if utf8.Valid(b) {
		return b
	}
	return []byte(Decode(b))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
