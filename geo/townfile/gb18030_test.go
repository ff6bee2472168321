package townfile_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"wangge/geo"
	"wangge/geo/townfile"
)

// toGB18030 re-encodes UTF-8 text as Notepad or WPS on Chinese Windows save
// it when asked for "ANSI".
func toGB18030(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := simplifiedchinese.GB18030.NewEncoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// names lists every Chinese-bearing name of a town, in a fixed order.
func names(td *geo.TownData) []string {
	out := []string{td.Town.Name}
	for _, v := range td.Villages {
		out = append(out, v.Name)
	}
	for _, g := range td.Grids {
		out = append(out, g.Name)
		if g.Leader != nil {
			out = append(out, g.Leader.Name)
		}
	}
	return out
}

// TestDecode_GB18030: the demo town re-encoded in GB18030 is read with the
// same names as the UTF-8 original, never with U+FFFD in their place.
func TestDecode_GB18030(t *testing.T) {
	town, villages, grids := demoFiles(t)
	want, err := townfile.Decode(town, villages, grids)
	if err != nil {
		t.Fatal(err)
	}
	got, err := townfile.Decode(toGB18030(t, town), toGB18030(t, villages), toGB18030(t, grids))
	if err != nil {
		t.Fatalf("GB18030 town: %v", err)
	}
	w, g := names(want), names(got)
	if len(w) != len(g) {
		t.Fatalf("got %d names, want %d", len(g), len(w))
	}
	for i := range w {
		if g[i] != w[i] {
			t.Errorf("name %d: got %q, want %q", i, g[i], w[i])
		}
	}
}

// TestDecode_notUTF8NorGB18030: bytes that are neither UTF-8 nor GB18030
// are refused with a message naming the file and how to re-encode it.
func TestDecode_notUTF8NorGB18030(t *testing.T) {
	town, villages, grids := demoFiles(t)
	// 0xFF is never part of a GB18030 sequence, nor of UTF-8.
	bad := bytes.Replace(villages, []byte(`"name":"`), []byte("\"name\":\"\xff\xff"), 1)
	_, err := townfile.Decode(town, bad, grids)
	if err == nil {
		t.Fatal("decoded a file that is neither UTF-8 nor GB18030")
	}
	msg := geo.ErrorMessage(err)
	for _, p := range err.(*geo.Error).Problems {
		msg += "\n" + p.Where + ": " + p.Reason
	}
	for _, want := range []string{townfile.VillagesFile, "UTF-8", "iconv -f GB18030 -t UTF-8"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
}
