package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"wangge/api"
	"wangge/api/busypoll"
	"wangge/geo"
	"wangge/geo/layerfile"
)

// Config is every setting of wangge: the defaults, overridden by the
// environment (DefaultConfig), overridden by flags (parseFlags), and
// checked as a whole by Validate before anything starts. It is read in cmd
// only and passed down explicitly.
type Config struct {
	Addr        string  // --addr, WANGGE_ADDR: host:port to listen on
	DataDir     string  // --data-dir, WANGGE_DATA_DIR: the embedded cluster's folder
	DatabaseURL string  // --database-url, DATABASE_URL: use this server instead
	ToleranceM  float64 // --tolerance-m, WANGGE_TOLERANCE_M: metres, 0 < m ≤ 10000
	Demo        bool    // --demo, WANGGE_DEMO: load a demo into an empty database
	// DemoData is which demo --demo loads: DemoTown (荷叶镇, the default)
	// or DemoCounty (双峰县's 16 towns); --demo=county sets both.
	DemoData string
	// DemoYear (--demo-year, WANGGE_DEMO_YEAR) also loads a synthetic year
	// of the demo town's incidents, for the figures and 通报 to show; make
	// run sets it. Off by default: a real town never wants invented cases.
	DemoYear    bool
	CORSOrigins string // --cors-origins, WANGGE_CORS_ORIGINS: comma-separated, "*" for any
	// TrustedProxies (--trusted-proxies, WANGGE_TRUSTED_PROXIES): the
	// reverse proxies whose X-Forwarded-For names the client, for the
	// per-address limits of sign-in; comma-separated IPs or CIDRs.
	TrustedProxies string
	// Dispatch: --due (WANGGE_DUE), --co-notify (WANGGE_CO_NOTIFY),
	// --escalate-every (WANGGE_ESCALATE_EVERY).
	Due           string
	CoNotify      string
	EscalateEvery time.Duration
	// Possible duplicates: --duplicate-within-m
	// (WANGGE_DUPLICATE_WITHIN_M; 0 turns the check off) and
	// --duplicate-window (WANGGE_DUPLICATE_WINDOW).
	DuplicateWithinM float64
	DuplicateWindow  time.Duration
	// EscalateViaDistrict (--escalate-via-district,
	// WANGGE_ESCALATE_VIA_DISTRICT): escalations from the village go to
	// the 片区's secretary before the town duty desk. Off by default.
	EscalateViaDistrict bool
	dispatch            geo.DispatchConfig
	// Notifications: --public-url (WANGGE_PUBLIC_URL) for the links in
	// messages, --remind-before (WANGGE_REMIND_BEFORE) for the due-soon
	// reminder, --delivery-attempts (WANGGE_DELIVERY_ATTEMPTS) before a
	// message is dead-lettered, --delivery-lease (WANGGE_DELIVERY_LEASE)
	// for how long a worker holds the messages it sends (a message whose
	// worker died waits this long before another takes it up), and
	// WANGGE_SECRET_KEY (environment only, never a flag: flags show in
	// ps) to seal channel secrets.
	PublicURL        string
	RemindBefore     time.Duration
	DeliveryAttempts int
	DeliveryLease    time.Duration
	SecretKey        string
	// Slow and numerous clients: --header-timeout (WANGGE_HEADER_TIMEOUT)
	// to send the request line and headers; a body must arrive within
	// --body-timeout (WANGGE_BODY_TIMEOUT) plus its size divided by
	// --body-min-rate (WANGGE_BODY_MIN_RATE, bytes a second); at most
	// --max-conns (WANGGE_MAX_CONNS, 0: the descriptor limit less 64)
	// connections in all and --max-conns-per-addr
	// (WANGGE_MAX_CONNS_PER_ADDR, 0: no cap) from one address.
	HeaderTimeout   time.Duration
	BodyTimeout     time.Duration
	BodyMinRate     int64
	MaxConns        int
	MaxConnsPerAddr int
	// BusyPoll (--busy-poll, WANGGE_BUSY_POLL): how long a connection
	// that has just been answered is polled for its next request before it
	// parks (api/busypoll); 0 turns polling off, and the lazy watch for
	// clients going away with it (net/http then watches every request).
	BusyPoll time.Duration
	// MaxLayerBytes (--max-layer-bytes, WANGGE_MAX_LAYER_BYTES) bounds a
	// layer file uploaded to a plan, as sent and as decompressed.
	MaxLayerBytes int64

	// from records, by flag name, where a setting not left at its default
	// came from ("WANGGE_TOLERANCE_M" or "--tolerance-m") and the text
	// given, so that Validate names what the user wrote.
	from map[string]source
	// envErrs are environment values that did not parse, by the flag that
	// overrides them; Validate reports those no flag replaced.
	envErrs map[string]error
}

// source is where a setting came from and the text given there.
type source struct {
	name, text string
}

// settings names each setting by its flag, with its environment variable
// and what a valid value is.
var settings = map[string]struct{ env, want string }{
	"addr":               {"WANGGE_ADDR", "host:port with a port 0..65535, e.g. :8080 or 127.0.0.1:8080"},
	"data-dir":           {"WANGGE_DATA_DIR", "a folder for the embedded PostgreSQL cluster"},
	"database-url":       {"DATABASE_URL", "a PostgreSQL URL (postgres://user@host/db) or key=value connection string"},
	"tolerance-m":        {"WANGGE_TOLERANCE_M", "a number of metres > 0 and ≤ 10000"},
	"demo":               {"WANGGE_DEMO", "true, false, town (the same as true) or county"},
	"demo-year":          {"WANGGE_DEMO_YEAR", "true or false"},
	"cors-origins":       {"WANGGE_CORS_ORIGINS", `"*", or comma-separated origins such as https://map.example.com (scheme://host[:port] in lower case, no path)`},
	"due":                {"WANGGE_DUE", "severity=duration pairs, e.g. urgent=2h,major=24h,minor=72h"},
	"co-notify":          {"WANGGE_CO_NOTIFY", "category=organization kind pairs, or none"},
	"escalate-every":     {"WANGGE_ESCALATE_EVERY", "a duration of at least 1s, e.g. 1m"},
	"duplicate-within-m": {"WANGGE_DUPLICATE_WITHIN_M", "a number of metres, 0 (no duplicate check) .. 10000, e.g. 100"},
	"duplicate-window":   {"WANGGE_DUPLICATE_WINDOW", "a duration of 1m..8760h, e.g. 72h"},
	"public-url":         {"WANGGE_PUBLIC_URL", "the http(s) address people reach this service at, e.g. https://wangge.example.cn"},
	"remind-before":      {"WANGGE_REMIND_BEFORE", "a duration of at least 1m, e.g. 2h (0 turns the reminder off)"},
	"delivery-attempts":  {"WANGGE_DELIVERY_ATTEMPTS", "a whole number of attempts, 1..50"},
	"delivery-lease":     {"WANGGE_DELIVERY_LEASE", "a duration of 1s..1h, e.g. 1m"},
	"secret-key":         {"WANGGE_SECRET_KEY", "a passphrase of at least 16 characters (the same on every replica)"},
	"header-timeout":     {"WANGGE_HEADER_TIMEOUT", "a duration of 1s..10m, e.g. 5s"},
	"body-timeout":       {"WANGGE_BODY_TIMEOUT", "a duration of 1s..10m, e.g. 5s"},
	"body-min-rate":      {"WANGGE_BODY_MIN_RATE", "a whole number of bytes a second, at least 1024, e.g. 16384"},
	"max-conns":          {"WANGGE_MAX_CONNS", "a whole number of connections, 0 (the open-file limit less 64) or 1..the open-file limit less 64"},
	"max-conns-per-addr": {"WANGGE_MAX_CONNS_PER_ADDR", "a whole number of connections, 0 (no cap) or more, e.g. 256"},
	"busy-poll":          {"WANGGE_BUSY_POLL", "a duration of 0 (no polling) .. 1ms, e.g. 50µs"},
	"max-layer-bytes":    {"WANGGE_MAX_LAYER_BYTES", "a whole number of bytes, 1048576 (1 MiB) .. 4294967296 (4 GiB), e.g. 268435456 (256 MiB)"},
	"trusted-proxies":    {"WANGGE_TRUSTED_PROXIES", "comma-separated IP addresses or CIDRs of reverse proxies, e.g. 10.0.0.0/8,192.168.1.5"},

	// The escalation path through the 片区 (geo/structure.go).
	"escalate-via-district": {"WANGGE_ESCALATE_VIA_DISTRICT", "true or false"},
}

// DefaultConfig returns the defaults, overridden by the environment. A
// variable set to the empty string counts as unset, except
// WANGGE_CORS_ORIGINS, where empty means no origin. A value that does not
// parse is kept aside for Validate to report, unless a flag replaces it.
// Without WANGGE_DATA_DIR the data folder is defaultDataDir's.
func DefaultConfig() Config {
	c := Config{Addr: ":8080", ToleranceM: geo.DefaultToleranceM, Demo: true, DemoData: DemoTown, CORSOrigins: "*", EscalateEvery: time.Minute,
		RemindBefore: 2 * time.Hour, DeliveryAttempts: geo.DefaultDeliveryPolicy().MaxAttempts,
		DeliveryLease: geo.DefaultDeliveryPolicy().Lease,
		HeaderTimeout: 5 * time.Second, BodyTimeout: api.DefaultBodyTimeout, BodyMinRate: api.DefaultBodyMinRate,
		MaxConnsPerAddr: api.DefaultMaxConnsPerAddr, BusyPoll: busypoll.DefaultBudget, MaxLayerBytes: layerfile.DefaultLimits.MaxBytes,
		DuplicateWithinM: geo.DefaultDuplicateRule.Meters, DuplicateWindow: geo.DefaultDuplicateRule.Within,
		from: map[string]source{}, envErrs: map[string]error{}}
	text := func(v string) (string, error) { return v, nil }
	envValue(&c, "addr", &c.Addr, text)
	envValue(&c, "data-dir", &c.DataDir, text)
	envValue(&c, "database-url", &c.DatabaseURL, text)
	envValue(&c, "due", &c.Due, text)
	envValue(&c, "co-notify", &c.CoNotify, text)
	envValue(&c, "tolerance-m", &c.ToleranceM, func(v string) (float64, error) { return strconv.ParseFloat(v, 64) })
	var demo demoFlag
	envValue(&c, "demo", &demo, parseDemo)
	if c.from["demo"].name != "" {
		c.Demo, c.DemoData = demo.on, demo.data
	}
	envValue(&c, "demo-year", &c.DemoYear, strconv.ParseBool)
	envValue(&c, "escalate-every", &c.EscalateEvery, time.ParseDuration)
	envValue(&c, "duplicate-within-m", &c.DuplicateWithinM, func(v string) (float64, error) { return strconv.ParseFloat(v, 64) })
	envValue(&c, "duplicate-window", &c.DuplicateWindow, time.ParseDuration)
	envValue(&c, "escalate-via-district", &c.EscalateViaDistrict, strconv.ParseBool)
	envValue(&c, "public-url", &c.PublicURL, text)
	envValue(&c, "remind-before", &c.RemindBefore, time.ParseDuration)
	envValue(&c, "delivery-attempts", &c.DeliveryAttempts, strconv.Atoi)
	envValue(&c, "delivery-lease", &c.DeliveryLease, time.ParseDuration)
	envValue(&c, "secret-key", &c.SecretKey, text)
	envValue(&c, "header-timeout", &c.HeaderTimeout, time.ParseDuration)
	envValue(&c, "body-timeout", &c.BodyTimeout, time.ParseDuration)
	envValue(&c, "body-min-rate", &c.BodyMinRate, func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
	envValue(&c, "max-conns", &c.MaxConns, strconv.Atoi)
	envValue(&c, "max-conns-per-addr", &c.MaxConnsPerAddr, strconv.Atoi)
	envValue(&c, "busy-poll", &c.BusyPoll, time.ParseDuration)
	envValue(&c, "trusted-proxies", &c.TrustedProxies, text)
	envValue(&c, "max-layer-bytes", &c.MaxLayerBytes, func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
	if v, ok := os.LookupEnv("WANGGE_CORS_ORIGINS"); ok {
		c.CORSOrigins = v
		c.from["cors-origins"] = source{"WANGGE_CORS_ORIGINS", v}
	}
	if c.DataDir == "" {
		dir, err := defaultDataDir(os.Geteuid() == 0)
		if err != nil {
			c.envErrs["data-dir"] = err
		}
		c.DataDir = dir
	}
	return c
}

// envValue sets *dst from the variable of the setting named by flag, when
// it is set and not empty. A value parse rejects leaves *dst at its default
// and is recorded for Validate.
func envValue[T any](c *Config, flag string, dst *T, parse func(string) (T, error)) {
	name := settings[flag].env
	v := os.Getenv(name)
	if v == "" {
		return
	}
	x, err := parse(v)
	if err != nil {
		c.envErrs[flag] = fmt.Errorf("%s: got %q, want %s", name, v, settings[flag].want)
		return
	}
	*dst = x
	c.from[flag] = source{name, v}
}

// defaultDataDir is /var/lib/wangge for root (the postgres user can reach
// it, unlike /root), and the XDG data folder otherwise: $XDG_DATA_HOME/wangge,
// else ~/.local/share/wangge, else (no home folder) wangge-data in the
// working folder. XDG_DATA_HOME must be absolute (the XDG Base Directory
// rule); a relative one is an error that names it.
func defaultDataDir(root bool) (string, error) {
	if root {
		return "/var/lib/wangge", nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("XDG_DATA_HOME: got %q, want an absolute path (or set WANGGE_DATA_DIR or --data-dir)", d)
		}
		return filepath.Join(d, "wangge"), nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "wangge"), nil
	}
	return "wangge-data", nil
}

// databaseFlags registers the flags every command that opens the database
// shares.
func (c *Config) databaseFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "folder of the embedded PostgreSQL cluster (env WANGGE_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL; empty: start the embedded cluster (env DATABASE_URL)")
}

// parseFlags parses args with fs, whose flags are bound to c. A flag given
// replaces its environment variable, even one that did not parse.
func (c *Config) parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.from == nil {
		c.from = map[string]source{}
	}
	fs.Visit(func(f *flag.Flag) {
		if _, ok := settings[f.Name]; ok {
			delete(c.envErrs, f.Name)
			c.from[f.Name] = source{"--" + f.Name, f.Value.String()}
		}
	})
	return nil
}

// Validate checks every setting and returns one error listing each bad
// one, naming the flag or environment variable it came from, what was
// given and what is expected.
func (c *Config) Validate() error {
	var errs []error
	for _, flag := range slices.Sorted(maps.Keys(c.envErrs)) {
		if flag == "data-dir" && c.DatabaseURL != "" {
			continue // no embedded cluster: the folder is not used
		}
		errs = append(errs, c.envErrs[flag])
	}
	bad := func(flag string, got any) {
		if c.envErrs[flag] != nil {
			return // reported above
		}
		name, text := c.name(flag), fmt.Sprint(got)
		if src, ok := c.from[flag]; ok {
			text = src.text
		}
		errs = append(errs, fmt.Errorf("%s: got %q, want %s", name, text, settings[flag].want))
	}

	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", c.Addr)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		bad("addr", c.Addr)
	}
	if c.DatabaseURL == "" && c.DataDir == "" && c.envErrs["data-dir"] == nil {
		errs = append(errs, errors.New("--data-dir (WANGGE_DATA_DIR): required when DATABASE_URL is not set"))
	}
	if c.DatabaseURL != "" {
		if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
			// pgx masks the password in its message; a URL parse error
			// would quote the URL whole, so only its reason is kept.
			why := err.Error()
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				why = "cannot parse the connection string: " + ue.Err.Error()
			}
			errs = append(errs, fmt.Errorf("%s: %s; want %s", c.name("database-url"), why, settings["database-url"].want))
		}
	}
	if !(c.ToleranceM > 0 && c.ToleranceM <= 10_000) { // NaN too
		bad("tolerance-m", c.ToleranceM)
	}
	for _, o := range c.corsOrigins() {
		if !validOrigin(o) {
			bad("cors-origins", c.CORSOrigins)
			break
		}
	}
	for _, p := range c.trustedProxies() {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("trusted-proxies", c.TrustedProxies)
			break
		}
	}
	if c.EscalateEvery < time.Second {
		bad("escalate-every", c.EscalateEvery)
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("public-url", c.PublicURL)
	}
	if c.RemindBefore != 0 && c.RemindBefore < time.Minute {
		bad("remind-before", c.RemindBefore)
	}
	if c.DeliveryAttempts < 1 || c.DeliveryAttempts > 50 {
		bad("delivery-attempts", c.DeliveryAttempts)
	}
	if c.DeliveryLease < time.Second || c.DeliveryLease > time.Hour {
		bad("delivery-lease", c.DeliveryLease)
	}
	if c.BusyPoll < 0 || c.BusyPoll > busypoll.MaxBudget {
		bad("busy-poll", c.BusyPoll)
	}
	if c.HeaderTimeout < time.Second || c.HeaderTimeout > 10*time.Minute {
		bad("header-timeout", c.HeaderTimeout)
	}
	if c.BodyTimeout < time.Second || c.BodyTimeout > 10*time.Minute {
		bad("body-timeout", c.BodyTimeout)
	}
	if c.BodyMinRate < 1024 {
		bad("body-min-rate", c.BodyMinRate)
	}
	if c.MaxConns < 0 || c.MaxConns > api.DefaultMaxConns() {
		if c.envErrs["max-conns"] == nil {
			text := fmt.Sprint(c.MaxConns)
			if src, ok := c.from["max-conns"]; ok {
				text = src.text
			}
			errs = append(errs, fmt.Errorf("%s: got %q, want %s; that is %d here (a higher limit: ulimit -n, or LimitNOFILE= in a systemd unit)",
				c.name("max-conns"), text, settings["max-conns"].want, api.DefaultMaxConns()))
		}
	}
	if c.MaxConnsPerAddr < 0 {
		bad("max-conns-per-addr", c.MaxConnsPerAddr)
	}
	if c.MaxLayerBytes < 1<<20 || c.MaxLayerBytes > 4<<30 {
		bad("max-layer-bytes", c.MaxLayerBytes)
	}
	if c.SecretKey != "" && len(c.SecretKey) < 16 {
		errs = append(errs, fmt.Errorf("WANGGE_SECRET_KEY: %d characters, want %s", len(c.SecretKey), settings["secret-key"].want))
	}
	if !(c.DuplicateWithinM >= 0 && c.DuplicateWithinM <= 10000) {
		bad("duplicate-within-m", c.DuplicateWithinM)
	}
	if c.DuplicateWindow < time.Minute || c.DuplicateWindow > 8760*time.Hour {
		bad("duplicate-window", c.DuplicateWindow)
	}
	if _, err := geo.ParseDispatchConfig(c.Due, ""); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", c.name("due"), err))
	}
	if _, err := geo.ParseDispatchConfig("", c.CoNotify); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", c.name("co-notify"), err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d, err := geo.ParseDispatchConfig(c.Due, c.CoNotify)
	if err != nil {
		return err
	}
	d.Duplicates = geo.DuplicateRule{Meters: c.DuplicateWithinM, Within: c.DuplicateWindow}
	d.ViaDistrict = c.EscalateViaDistrict
	c.dispatch = d
	return nil
}

// name names the setting of flag by where its value came from, or by both
// its flag and its variable when it was left at its default.
func (c *Config) name(flag string) string {
	if src, ok := c.from[flag]; ok {
		return src.name
	}
	return fmt.Sprintf("--%s (%s)", flag, settings[flag].env)
}

// validOrigin reports whether o can match a browser's Origin header, which
// the server compares exactly: "*", or scheme://host[:port] in lower case
// with nothing after it.
func validOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Scheme != "" && u.Host != "" && u.User == nil && u.Path == "" &&
		u.RawQuery == "" && !u.ForceQuery && !strings.Contains(o, "#") && o == strings.ToLower(o)
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

// trustedProxies splits the --trusted-proxies list.
func (c *Config) trustedProxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// The demos --demo loads into an empty database.
const (
	DemoTown   = "town"   // 荷叶镇: one town, about 230 grids
	DemoCounty = "county" // 双峰县: 16 towns, about 3,500 grids
)

// demoFlag is the value of --demo: a boolean (--demo, --demo=false) that
// may also name the demo (--demo=county).
type demoFlag struct {
	on   bool
	data string
}

func parseDemo(v string) (demoFlag, error) {
	switch v {
	case DemoTown, DemoCounty:
		return demoFlag{true, v}, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return demoFlag{}, fmt.Errorf("got %q, want true, false, town or county", v)
	}
	return demoFlag{on, DemoTown}, nil
}

// demoValue sets a Config's Demo and DemoData from --demo.
type demoValue struct{ c *Config }

func (d demoValue) String() string {
	if d.c == nil || !d.c.Demo {
		return "false"
	}
	if d.c.DemoData == DemoCounty {
		return DemoCounty
	}
	return "true"
}

func (d demoValue) Set(v string) error {
	f, err := parseDemo(v)
	if err != nil {
		return err
	}
	d.c.Demo, d.c.DemoData = f.on, f.data
	return nil
}

// IsBoolFlag lets --demo stand alone, as a boolean flag does.
func (demoValue) IsBoolFlag() bool { return true }
