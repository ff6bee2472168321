package geo_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// requestNow is the "now" of the request checks' tests: 2026-11-22 09:00
// UTC, 17:00 China time.
var requestNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// checkWheres fails t unless err locates its problems at want, in that
// order (none: err is nil), as an EINVALID error whose message is that
// of the first problem.
func checkWheres(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	var e *geo.Error
	if !errors.As(err, &e) || e.Code != geo.EINVALID {
		t.Fatalf("got %v, want an EINVALID *geo.Error locating %v", err, want)
	}
	got := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		got[i] = p.Where
		if p.Reason == "" {
			t.Errorf("the problem at %s gives no reason", p.Where)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems %+v, want them at %q", e.Problems, want)
	}
	if e.Message != e.Problems[0].String() {
		t.Errorf("message %q, want the first problem's %q", e.Message, e.Problems[0].String())
	}
}

// changed returns a copy of v as f changes it: one wrong field of a
// request that is otherwise fine.
func changed[T any](v T, f func(*T)) T {
	f(&v)
	return v
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		name, raw string
		want      time.Time
		ok        bool
	}{
		{"RFC 3339 with an offset", "2026-11-01T08:00:00+08:00", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), true},
		{"RFC 3339 in UTC", "2026-11-01T08:00:00Z", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), true},
		{"a date is midnight China time", "2026-11-01", time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), true},
		{"spaces around", " 2026-11-01 ", time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), true},
		{"blank", "  ", time.Time{}, false},
		{"words", "next monday", time.Time{}, false},
		{"month 13", "2026-13-01", time.Time{}, false},
		{"no zone", "2026-11-01T08:00:00", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := geo.ParseTime(tt.raw)
			if ok != tt.ok || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, %v; want %v, %v in UTC", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFutureChange(t *testing.T) {
	tests := []struct {
		name   string
		t      time.Time
		future bool
	}{
		{"now", requestNow, false},
		{"an hour ago", requestNow.Add(-time.Hour), false},
		{"within the minute of clock skew", requestNow.Add(50 * time.Second), false},
		{"two minutes ahead", requestNow.Add(2 * time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := geo.FutureChange(tt.t, requestNow)
			if (why != "") != tt.future || tt.future && !strings.Contains(why, "in the future") {
				t.Errorf("FutureChange(%v) = %q, want future %v", tt.t, why, tt.future)
			}
		})
	}
}
