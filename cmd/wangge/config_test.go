package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// configEnv lists every variable DefaultConfig reads; each test starts
// with them unset (t.Setenv to "" counts as unset, WANGGE_CORS_ORIGINS
// aside, which is set to its default).
var configEnv = []string{"WANGGE_ADDR", "WANGGE_DATA_DIR", "DATABASE_URL", "WANGGE_TOLERANCE_M", "WANGGE_DEMO",
	"WANGGE_DUE", "WANGGE_CO_NOTIFY", "WANGGE_ESCALATE_EVERY", "WANGGE_DELIVERY_LEASE", "WANGGE_BUSY_POLL", "XDG_DATA_HOME"}

func cleanEnv(t *testing.T) {
	t.Helper()
	for _, name := range configEnv {
		t.Setenv(name, "")
	}
	t.Setenv("WANGGE_CORS_ORIGINS", "*")
	t.Setenv("WANGGE_DATA_DIR", "/tmp/wangge-config-test")
}

// TestConfig_env: each variable set to a bad value stops start-up with an
// error naming the variable, what was given and what is expected.
func TestConfig_env(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        string // the error, or "" for none
	}{
		{"WANGGE_TOLERANCE_M", "abc", `WANGGE_TOLERANCE_M: got "abc", want a number of metres > 0 and ≤ 10000`},
		{"WANGGE_TOLERANCE_M", "-5", `WANGGE_TOLERANCE_M: got "-5", want a number of metres > 0 and ≤ 10000`},
		{"WANGGE_TOLERANCE_M", "0", `WANGGE_TOLERANCE_M: got "0", want a number of metres`},
		{"WANGGE_TOLERANCE_M", "10001", `WANGGE_TOLERANCE_M: got "10001", want`},
		{"WANGGE_TOLERANCE_M", "NaN", `WANGGE_TOLERANCE_M: got "NaN", want`},
		{"WANGGE_TOLERANCE_M", "+Inf", `WANGGE_TOLERANCE_M: got "+Inf", want`},
		{"WANGGE_TOLERANCE_M", "150.5", ""},
		{"WANGGE_DEMO", "yes", `WANGGE_DEMO: got "yes", want true, false, town (the same as true) or county`},
		{"WANGGE_DEMO", "0", ""},
		{"WANGGE_DEMO", "county", ""},
		{"WANGGE_ESCALATE_EVERY", "abc", `WANGGE_ESCALATE_EVERY: got "abc", want a duration of at least 1s`},
		{"WANGGE_ESCALATE_EVERY", "60", `WANGGE_ESCALATE_EVERY: got "60", want a duration`},
		{"WANGGE_ESCALATE_EVERY", "-1m", `WANGGE_ESCALATE_EVERY: got "-1m", want a duration of at least 1s`},
		{"WANGGE_ESCALATE_EVERY", "500ms", `WANGGE_ESCALATE_EVERY: got "500ms", want a duration of at least 1s`},
		{"WANGGE_ESCALATE_EVERY", "30s", ""},
		{"WANGGE_DELIVERY_LEASE", "60", `WANGGE_DELIVERY_LEASE: got "60", want a duration of 1s..1h`},
		{"WANGGE_DELIVERY_LEASE", "500ms", `WANGGE_DELIVERY_LEASE: got "500ms", want a duration of 1s..1h`},
		{"WANGGE_DELIVERY_LEASE", "2h", `WANGGE_DELIVERY_LEASE: got "2h", want a duration of 1s..1h`},
		{"WANGGE_DELIVERY_LEASE", "5s", ""},
		{"WANGGE_BUSY_POLL", "50", `WANGGE_BUSY_POLL: got "50", want a duration of 0 (no polling) .. 1ms, e.g. 50µs`},
		{"WANGGE_BUSY_POLL", "2ms", `WANGGE_BUSY_POLL: got "2ms", want a duration of 0 (no polling) .. 1ms`},
		{"WANGGE_BUSY_POLL", "-1us", `WANGGE_BUSY_POLL: got "-1us", want a duration of 0 (no polling) .. 1ms`},
		{"WANGGE_BUSY_POLL", "0", ""},
		{"WANGGE_BUSY_POLL", "200us", ""},
		{"WANGGE_ADDR", "8080", `WANGGE_ADDR: got "8080", want host:port`},
		{"WANGGE_ADDR", ":99999", `WANGGE_ADDR: got ":99999", want host:port with a port 0..65535`},
		{"WANGGE_ADDR", "localhost:http-alt-typo", `WANGGE_ADDR: got "localhost:http-alt-typo"`},
		{"WANGGE_ADDR", "127.0.0.1:0", ""},
		{"WANGGE_ADDR", "[::1]:8080", ""},
		{"WANGGE_CORS_ORIGINS", "https://map.example.com/", `WANGGE_CORS_ORIGINS: got "https://map.example.com/", want "*", or comma-separated origins`},
		{"WANGGE_CORS_ORIGINS", "map.example.com", `WANGGE_CORS_ORIGINS: got "map.example.com"`},
		{"WANGGE_CORS_ORIGINS", "https://Map.example.com", `WANGGE_CORS_ORIGINS: got "https://Map.example.com"`},
		{"WANGGE_CORS_ORIGINS", "https://a.example.com, http://localhost:5173", ""},
		{"WANGGE_CORS_ORIGINS", "", ""},
		{"WANGGE_DUE", "urgent=soon", `WANGGE_DUE: due "urgent=soon": want severity=duration`},
		{"WANGGE_DUE", "critical=1h", `WANGGE_DUE: due "critical=1h"`},
		{"WANGGE_DUE", "urgent=-2h", `WANGGE_DUE: due "urgent=-2h"`},
		{"WANGGE_DUE", "urgent=1h,minor=96h", ""},
		{"WANGGE_CO_NOTIFY", "customs=choir", `WANGGE_CO_NOTIFY: co-notify "customs=choir": want category=organization kind`},
		{"WANGGE_CO_NOTIFY", "none", ""},
		{"DATABASE_URL", "postgres://wangge:s3cret@db:port/wangge", "DATABASE_URL: cannot parse `postgres://wangge:xxxxx@db:port/wangge`: invalid port; want a PostgreSQL URL"},
		{"DATABASE_URL", "host=db sslmode=sometimes", `DATABASE_URL: cannot parse `},
		{"DATABASE_URL", "postgres://wangge@db:5432/wangge?sslmode=disable", ""},
		{"XDG_DATA_HOME", "relative/data", `XDG_DATA_HOME: got "relative/data", want an absolute path`},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			cleanEnv(t)
			if tt.name == "XDG_DATA_HOME" {
				t.Setenv("WANGGE_DATA_DIR", "")
				if os.Geteuid() == 0 {
					// Root's folder is /var/lib/wangge whatever XDG_DATA_HOME
					// says: check the rule a non-root user meets.
					t.Setenv(tt.name, tt.value)
					if _, err := defaultDataDir(false); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
						t.Errorf("defaultDataDir(false): %v, want %q", err, tt.want)
					}
					if dir, err := defaultDataDir(true); err != nil || dir != "/var/lib/wangge" {
						t.Errorf("defaultDataDir(true): %q, %v", dir, err)
					}
					return
				}
			}
			t.Setenv(tt.name, tt.value)
			c := DefaultConfig()
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%v", err)
			case tt.want != "" && err == nil:
				t.Errorf("accepted, want %q", tt.want)
			case tt.want != "" && !strings.HasPrefix(err.Error(), tt.want):
				t.Errorf("error\n%v\nwant\n%s…", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestConfig_flags: a flag replaces its variable, even a bad one, and a
// bad flag is named as the flag; every bad setting is reported at once.
func TestConfig_flags(t *testing.T) {
	cleanEnv(t)
	t.Setenv("WANGGE_TOLERANCE_M", "abc")
	t.Setenv("WANGGE_ESCALATE_EVERY", "2m")
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--tolerance-m", "50"}); err != nil {
		t.Fatalf("--tolerance-m 50 over WANGGE_TOLERANCE_M=abc: %v", err)
	}
	if m.Config.ToleranceM != 50 || m.Config.EscalateEvery != 2*time.Minute {
		t.Errorf("tolerance %v, escalate every %v; want 50, 2m", m.Config.ToleranceM, m.Config.EscalateEvery)
	}

	m = NewMain(io.Discard, io.Discard)
	err := m.ParseFlags([]string{"--tolerance-m", "-1", "--escalate-every", "0s", "--cors-origins", "https://x.example.com/app"})
	want := []string{
		`--tolerance-m: got "-1", want a number of metres > 0 and ≤ 10000`,
		`--cors-origins: got "https://x.example.com/app", want`,
		`--escalate-every: got "0s", want a duration of at least 1s`,
	}
	if err == nil {
		t.Fatalf("accepted, want %q", want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d: %s\nwant %s…", i, lines[i], w)
		}
	}

	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--tolerance-m", "abc"}); err == nil || !strings.Contains(err.Error(), "-tolerance-m") {
		t.Errorf("--tolerance-m abc: %v", err)
	}
}

// TestConfig_tools: the other commands refuse a bad environment before
// opening the database.
func TestConfig_tools(t *testing.T) {
	cleanEnv(t)
	t.Setenv("WANGGE_TOLERANCE_M", "abc")
	for _, args := range [][]string{{"migrate"}, {"import", "dir"}, {"export"}, {"locate", "112", "27"}, {"token", "list"}} {
		err := Run(t.Context(), args, io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), `WANGGE_TOLERANCE_M: got "abc"`) {
			t.Errorf("%s: %v", args[0], err)
		}
	}
	if err := Run(t.Context(), []string{"locate", "--tolerance-m", "30", "--database-url", "postgres://u@:bad/x", "112", "27"}, io.Discard, io.Discard); err == nil ||
		!strings.HasPrefix(err.Error(), "--database-url: cannot parse") {
		t.Errorf("locate with --tolerance-m and a bad --database-url: %v", err)
	}
}

// TestConfig_dataDir: the default data folder is root's, or under an
// absolute XDG_DATA_HOME; a relative one is an error that a data folder
// given otherwise, or an external database, makes moot.
func TestConfig_dataDir(t *testing.T) {
	cleanEnv(t)
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	if dir, err := defaultDataDir(true); dir != "/var/lib/wangge" || err != nil {
		t.Errorf("root: %q %v", dir, err)
	}
	if dir, err := defaultDataDir(false); dir != "/srv/data/wangge" || err != nil {
		t.Errorf("XDG_DATA_HOME=/srv/data: %q %v", dir, err)
	}
	t.Setenv("XDG_DATA_HOME", "data")
	dir, err := defaultDataDir(false)
	if err == nil || err.Error() != `XDG_DATA_HOME: got "data", want an absolute path (or set WANGGE_DATA_DIR or --data-dir)` {
		t.Errorf("XDG_DATA_HOME=data: %q %v", dir, err)
	}
	c := DefaultConfig()
	c.DataDir, c.envErrs["data-dir"] = "", err // as DefaultConfig leaves it for a user other than root
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "XDG_DATA_HOME") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Validate: %v, want the XDG_DATA_HOME error alone", err)
	}
	c.DatabaseURL = "postgres://wangge@db/wangge"
	if err := c.Validate(); err != nil {
		t.Errorf("with DATABASE_URL: %v", err)
	}
}

// TestConfig_defaults: with nothing set, the defaults are valid.
func TestConfig_defaults(t *testing.T) {
	cleanEnv(t)
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.ToleranceM != 200 || !c.Demo || c.CORSOrigins != "*" || c.EscalateEvery != time.Minute ||
		c.DataDir != "/tmp/wangge-config-test" || c.DatabaseURL != "" {
		t.Errorf("defaults %+v", c)
	}
}
