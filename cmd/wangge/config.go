package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"wangge/geo"
)

// Config is every setting of wangge, read from flags with environment
// equivalents in cmd only and passed down explicitly.
type Config struct {
	Addr        string  // --addr, WANGGE_ADDR
	DataDir     string  // --data-dir, WANGGE_DATA_DIR: the embedded cluster's folder
	DatabaseURL string  // --database-url, DATABASE_URL: use this server instead
	ToleranceM  float64 // --tolerance-m, WANGGE_TOLERANCE_M
	Demo        bool    // --demo, WANGGE_DEMO: load the demo town into an empty database
	CORSOrigins string  // --cors-origins, WANGGE_CORS_ORIGINS: comma-separated, "*" for any
	// Dispatch: --due (WANGGE_DUE), --co-notify (WANGGE_CO_NOTIFY),
	// --escalate-every (WANGGE_ESCALATE_EVERY).
	Due           string
	CoNotify      string
	EscalateEvery time.Duration
	dispatch      geo.DispatchConfig
}

// DefaultConfig returns the defaults, overridden by the environment.
func DefaultConfig() Config {
	c := Config{Addr: ":8080", DataDir: defaultDataDir(), ToleranceM: 200, Demo: true, CORSOrigins: "*",
		EscalateEvery: time.Minute, Due: os.Getenv("WANGGE_DUE"), CoNotify: os.Getenv("WANGGE_CO_NOTIFY")}
	if v, err := time.ParseDuration(os.Getenv("WANGGE_ESCALATE_EVERY")); err == nil {
		c.EscalateEvery = v
	}
	if v := os.Getenv("WANGGE_ADDR"); v != "" {
		c.Addr = v
	}
	if v := os.Getenv("WANGGE_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	c.DatabaseURL = os.Getenv("DATABASE_URL")
	if v, err := strconv.ParseFloat(os.Getenv("WANGGE_TOLERANCE_M"), 64); err == nil {
		c.ToleranceM = v
	}
	if v, ok := os.LookupEnv("WANGGE_CORS_ORIGINS"); ok {
		c.CORSOrigins = v
	}
	if v, err := strconv.ParseBool(os.Getenv("WANGGE_DEMO")); err == nil {
		c.Demo = v
	}
	return c
}

// defaultDataDir is /var/lib/wangge for root (the postgres user can reach
// it, unlike /root), and the XDG data folder otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/wangge"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "wangge")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "wangge")
	}
	return "wangge-data"
}

// databaseFlags registers the flags every command that opens the database
// shares.
func (c *Config) databaseFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "folder of the embedded PostgreSQL cluster (env WANGGE_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL; empty: start the embedded cluster (env DATABASE_URL)")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.DatabaseURL == "" && c.DataDir == "" {
		return errors.New("--data-dir: required when DATABASE_URL is not set")
	}
	if c.ToleranceM < 0 || c.ToleranceM > 10_000 {
		return fmt.Errorf("--tolerance-m: got %v, want 0..10000", c.ToleranceM)
	}
	if c.EscalateEvery < time.Second {
		return fmt.Errorf("--escalate-every: got %v, want at least 1s", c.EscalateEvery)
	}
	d, err := geo.ParseDispatchConfig(c.Due, c.CoNotify)
	if err != nil {
		return err
	}
	c.dispatch = d
	return nil
}

// corsOrigins splits the --cors-origins list.
func (c *Config) corsOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
