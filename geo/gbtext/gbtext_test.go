package gbtext

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestIsGBK(t *testing.T) {
	for label, want := range map[string]bool{
		"GBK": true, "gbk": true, "x-gbk": true, "cp936": true, "936": true, "CP 936": true,
		"GB2312": true, "gb 2312": true, "GB18030": true, " gb18030\r\n": true,
		"UTF-8": false, "utf8": false, "65001": false, "1252": false, "ISO-8859-1": false, "Big5": false, "": false,
	} {
		if got := IsGBK(label); got != want {
			t.Errorf("IsGBK(%q) = %v, want %v", label, got, want)
		}
	}
}

func TestDecode(t *testing.T) {
	const text = "荷叶镇 网格长 王五 13900008888 𠀀" // 𠀀 is four bytes in GB18030, not in GBK
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("荷叶镇")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, in, decode, auto string
	}{
		{"ascii", "name,phone\r\n", "name,phone\r\n", "name,phone\r\n"},
		{"gb18030", gb, text, text},
		{"gbk", gbk, "荷叶镇", "荷叶镇"},
		{"utf-8", text, "", text},
		{"utf-8 with a byte order mark", "\xef\xbb\xbf" + text, "", text},
		{"not text", "a\xff\xffb", "a\uFFFD\uFFFDb", "a\uFFFD\uFFFDb"},
	} {
		if tt.decode != "" {
			if got := Decode([]byte(tt.in)); got != tt.decode {
				t.Errorf("%s: Decode = %q, want %q", tt.name, got, tt.decode)
			}
			got, err := io.ReadAll(NewReader(strings.NewReader(tt.in)))
			if err != nil || string(got) != tt.decode {
				t.Errorf("%s: NewReader reads %q, %v, want %q", tt.name, got, err, tt.decode)
			}
		}
		if got := string(UTF8OrGB18030([]byte(tt.in))); got != tt.auto {
			t.Errorf("%s: UTF8OrGB18030 = %q, want %q", tt.name, got, tt.auto)
		}
	}
}
