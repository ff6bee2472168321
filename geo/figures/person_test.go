package figures

import "testing"

func TestSplitPersonKey(t *testing.T) {
	for _, c := range []struct{ key, phone, name string }{
		{"13800000001:王伟", "13800000001", "王伟"},
		{":王伟", "", "王伟"},
		{"13800000001:阿依古丽:买买提", "13800000001", "阿依古丽:买买提"},
		{"", "", ""},
	} {
		if phone, name := SplitPersonKey(c.key); phone != c.phone || name != c.name {
			t.Errorf("SplitPersonKey(%q) = %q, %q; want %q, %q", c.key, phone, name, c.phone, c.name)
		}
	}
}
