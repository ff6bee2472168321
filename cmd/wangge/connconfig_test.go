package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"wangge/api"
)

// connEnv lists the variables of the settings for slow and numerous
// clients.
var connEnv = []string{"WANGGE_HEADER_TIMEOUT", "WANGGE_BODY_TIMEOUT", "WANGGE_BODY_MIN_RATE", "WANGGE_MAX_CONNS", "WANGGE_MAX_CONNS_PER_ADDR"}

// TestConnSettings: the settings for slow and numerous clients, from the
// environment and from flags, with their defaults and the errors that
// name what was wrong.
func TestConnSettings(t *testing.T) {
	limit := api.DefaultMaxConns()
	cleanEnv := func(t *testing.T) {
		cleanEnv(t)
		for _, name := range connEnv {
			t.Setenv(name, "")
		}
	}
	for _, tt := range []struct {
		name, value string
		want        string // the error, or "" for none
	}{
		{"WANGGE_HEADER_TIMEOUT", "500ms", `WANGGE_HEADER_TIMEOUT: got "500ms", want a duration of 1s..10m`},
		{"WANGGE_HEADER_TIMEOUT", "5", `WANGGE_HEADER_TIMEOUT: got "5", want a duration`},
		{"WANGGE_HEADER_TIMEOUT", "10s", ""},
		{"WANGGE_BODY_TIMEOUT", "1h", `WANGGE_BODY_TIMEOUT: got "1h", want a duration of 1s..10m`},
		{"WANGGE_BODY_TIMEOUT", "2s", ""},
		{"WANGGE_BODY_MIN_RATE", "64KiB", `WANGGE_BODY_MIN_RATE: got "64KiB", want a whole number of bytes a second`},
		{"WANGGE_BODY_MIN_RATE", "100", `WANGGE_BODY_MIN_RATE: got "100", want a whole number of bytes a second, at least 1024`},
		{"WANGGE_BODY_MIN_RATE", "65536", ""},
		{"WANGGE_MAX_CONNS", "-1", `WANGGE_MAX_CONNS: got "-1", want a whole number of connections, 0`},
		{"WANGGE_MAX_CONNS", fmt.Sprint(limit + 1), fmt.Sprintf(`WANGGE_MAX_CONNS: got "%d", want`, limit+1)},
		{"WANGGE_MAX_CONNS", "many", `WANGGE_MAX_CONNS: got "many", want a whole number`},
		{"WANGGE_MAX_CONNS", fmt.Sprint(limit), ""},
		{"WANGGE_MAX_CONNS", "0", ""},
		{"WANGGE_MAX_CONNS_PER_ADDR", "-5", `WANGGE_MAX_CONNS_PER_ADDR: got "-5", want a whole number of connections, 0 (no cap) or more`},
		{"WANGGE_MAX_CONNS_PER_ADDR", "0", ""},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(tt.name, tt.value)
			c := DefaultConfig()
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		cleanEnv(t)
		c := DefaultConfig()
		if c.HeaderTimeout != 5*time.Second || c.BodyTimeout != 5*time.Second || c.BodyMinRate != 16<<10 || c.MaxConns != 0 || c.MaxConnsPerAddr != 256 {
			t.Errorf("defaults: header %v, body %v + n / %d B/s, %d connections (0: automatic), %d per address",
				c.HeaderTimeout, c.BodyTimeout, c.BodyMinRate, c.MaxConns, c.MaxConnsPerAddr)
		}
	})

	t.Run("flags", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("WANGGE_MAX_CONNS_PER_ADDR", "oops") // replaced by the flag
		m := NewMain(io.Discard, io.Discard)
		err := m.ParseFlags([]string{"--max-conns-per-addr", "0", "--max-conns", "100", "--header-timeout", "2s",
			"--body-timeout", "3s", "--body-min-rate", "2048"})
		if err != nil {
			t.Fatal(err)
		}
		if c := m.Config; c.MaxConnsPerAddr != 0 || c.MaxConns != 100 || c.HeaderTimeout != 2*time.Second || c.BodyTimeout != 3*time.Second || c.BodyMinRate != 2048 {
			t.Errorf("flags not applied: %+v", c)
		}
		m = NewMain(io.Discard, io.Discard)
		err = m.ParseFlags([]string{"--max-conns-per-addr", "-1", "--body-min-rate", "10"})
		for _, want := range []string{`--max-conns-per-addr: got "-1"`, `--body-min-rate: got "10"`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one containing %q", err, want)
			}
		}
	})
}
