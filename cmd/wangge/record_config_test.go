package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// TestConfig_duplicates: the possible-duplicate rule is set by its
// variables and flags (a flag over its variable), reaches the dispatch
// configuration, and a bad value is named with what is expected.
func TestConfig_duplicates(t *testing.T) {
	clean := func() {
		cleanEnv(t)
		t.Setenv("WANGGE_DUPLICATE_WITHIN_M", "")
		t.Setenv("WANGGE_DUPLICATE_WINDOW", "")
	}
	clean()
	c := DefaultConfig()
	if err := c.Validate(); err != nil || c.dispatch.Duplicates != geo.DefaultDuplicateRule {
		t.Fatalf("defaults: %+v, %v; want %+v", c.dispatch.Duplicates, err, geo.DefaultDuplicateRule)
	}

	t.Setenv("WANGGE_DUPLICATE_WITHIN_M", "250")
	t.Setenv("WANGGE_DUPLICATE_WINDOW", "48h")
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--duplicate-window", "24h"}); err != nil {
		t.Fatal(err)
	}
	if want := (geo.DuplicateRule{Meters: 250, Within: 24 * time.Hour}); m.Config.dispatch.Duplicates != want {
		t.Errorf("rule %+v, want %+v", m.Config.dispatch.Duplicates, want)
	}

	t.Setenv("WANGGE_DUPLICATE_WITHIN_M", "0")
	c = DefaultConfig()
	if err := c.Validate(); err != nil || c.dispatch.Duplicates.Meters != 0 {
		t.Errorf("0 m (no check): %+v, %v", c.dispatch.Duplicates, err)
	}

	for _, tt := range []struct{ name, value, want string }{
		{"WANGGE_DUPLICATE_WITHIN_M", "-1", `WANGGE_DUPLICATE_WITHIN_M: got "-1", want a number of metres, 0`},
		{"WANGGE_DUPLICATE_WITHIN_M", "far", `WANGGE_DUPLICATE_WITHIN_M: got "far", want a number of metres`},
		{"WANGGE_DUPLICATE_WINDOW", "10s", `WANGGE_DUPLICATE_WINDOW: got "10s", want a duration of 1m..8760h`},
		{"WANGGE_DUPLICATE_WINDOW", "3d", `WANGGE_DUPLICATE_WINDOW: got "3d", want a duration`},
	} {
		clean()
		t.Setenv(tt.name, tt.value)
		c := DefaultConfig()
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s=%s: %v, want %q…", tt.name, tt.value, err, tt.want)
		}
	}
}
