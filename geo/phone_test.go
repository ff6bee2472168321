package geo

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13907381234", "13907381234"},
		{"+86 139 0738 1234", "13907381234"},
		{"008613907381234", "13907381234"},
		{"0738-6812345", "0738-6812345"},
		{"010-12345678-123", "010-12345678-123"},
		{"", ""},
	}
	for _, tt := range tests {
		if got, err := NormalizePhone(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"12345", "1290738123", "23907381234", "139073812345", "phone", "0738-123"} {
		if _, err := NormalizePhone(bad); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizePhone(%q) accepted", bad)
		}
	}
}
