package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private PostgreSQL server that wangge starts from the
// binaries installed on the machine, in a data folder of its own, listening
// only on a Unix socket. It is the default database of `wangge serve` when
// no DATABASE_URL is given, and the throwaway database of the tests.
type Cluster struct {
	BinDir    string
	DataDir   string // the folder given to StartCluster
	PGData    string // DataDir/pgdata
	SocketDir string
	// Version is the PostgreSQL major version, e.g. "15".
	Version string
	// Adopted is true when the server was already running in DataDir (left
	// by a process that died, or started by a `wangge serve` now running).
	// Commands that merely use the database leave an adopted server running.
	Adopted bool

	cred *syscall.Credential // set when running as root: the server runs as "postgres"
}

// ClusterOptions tune a cluster. The zero value suits a server.
type ClusterOptions struct {
	// Ephemeral trades durability for speed (fsync off), for tests.
	Ephemeral bool
	// Logf receives progress lines ("initialising …"); nil discards them.
	Logf func(format string, args ...any)
}

// clusterUser is the database role wangge connects as.
const clusterUser = "wangge"

// StartCluster initialises dataDir on first use, starts the server (or
// adopts one already running there, left by a process that died), and waits
// until it accepts connections. A second start on the same folder reuses the
// data. When the process runs as root the server runs as the unprivileged
// system user "postgres", because PostgreSQL refuses to run as root.
func StartCluster(ctx context.Context, dataDir string, opts ClusterOptions) (*Cluster, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{BinDir: bin, DataDir: abs, PGData: filepath.Join(abs, "pgdata")}
	if c.Version, err = serverVersion(bin); err != nil {
		return nil, err
	}
	if err := checkPostGIS(bin, c.Version); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if c.cred != nil {
		if err := reachableByOthers(filepath.Dir(abs)); err != nil {
			return nil, err
		}
	}
	c.SocketDir = filepath.Join(abs, "run")
	if len(c.SocketDir) > 80 { // a Unix socket path must fit in 107 bytes
		c.SocketDir = filepath.Join(os.TempDir(), fmt.Sprintf("wangge-%d", hash(abs)))
	}
	if err := os.MkdirAll(c.SocketDir, 0o700); err != nil {
		return nil, err
	}
	if err := c.chown(abs, c.SocketDir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.PGData, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		logf("initialising a PostgreSQL %s cluster in %s", c.Version, c.PGData)
		args := []string{"-D", c.PGData, "-U", clusterUser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"}
		if opts.Ephemeral {
			args = append(args, "--no-sync")
		}
		if err := c.run(ctx, "initdb", args...); err != nil {
			os.RemoveAll(c.PGData) // a half-made cluster would block the next start
			return nil, err
		}
	}
	if c.running(ctx) {
		logf("using the PostgreSQL server already running in %s", c.PGData)
		c.Adopted = true
		return c, nil
	}
	settings := []string{"-c listen_addresses=''", "-k " + c.SocketDir, "-c unix_socket_permissions=0700",
		"-c max_connections=200"}
	if opts.Ephemeral {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	logf("starting PostgreSQL %s (socket %s)", c.Version, c.SocketDir)
	err = c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.PGData,
		"-l", filepath.Join(abs, "postgresql.log"), "-o", strings.Join(settings, " "))
	if err != nil {
		return nil, fmt.Errorf("%w (see %s)", err, filepath.Join(abs, "postgresql.log"))
	}
	return c, nil
}

// EnsureDatabase creates database name if it does not exist yet.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, q("database_exists"), name).Scan(&exists); err != nil || exists {
		return err
	}
	// CREATE DATABASE takes no bind parameters: the name goes in quoted as
	// an identifier.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// ConnString returns a libpq connection string to database dbname.
func (c *Cluster) ConnString(dbname string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=%s sslmode=disable", c.SocketDir, clusterUser, dbname)
}

// Stop shuts the server down (fast mode: open transactions roll back).
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.PGData)
}

func (c *Cluster) running(ctx context.Context) bool {
	cmd := c.command(ctx, "pg_ctl", "status", "-D", c.PGData)
	return cmd.Run() == nil
}

func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, prog), args...)
	cmd.Dir = c.DataDir
	// Its own process group: a terminal's Ctrl-C then reaches wangge, which
	// stops the server cleanly, rather than killing the server under it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	return cmd
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) error {
	var out bytes.Buffer
	cmd := c.command(ctx, prog, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", prog, args[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *Cluster) chown(paths ...string) error {
	if c.cred == nil {
		return nil
	}
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(c.cred.Uid), int(c.cred.Gid))
		})
		if err != nil {
			return fmt.Errorf("giving %s to the postgres user: %w", p, err)
		}
	}
	return nil
}

// reachableByOthers checks that every folder from dir up to / lets other
// users through (x bit), so that the postgres user can reach the data
// folder of a root process: /root, for one, does not.
func reachableByOthers(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the data folder must be reachable by the postgres user, which runs PostgreSQL because PostgreSQL refuses to run as root, but %s is closed to other users: choose a data folder elsewhere (--data-dir, e.g. /var/lib/wangge) or run chmod o+x %s", d, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, and there is no \"postgres\" system user to run PostgreSQL as (PostgreSQL refuses to run as root): install the postgresql package, or run wangge as an ordinary user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FindBinDir finds the folder holding initdb, pg_ctl and postgres: the one
// `pg_config --bindir` names, else the one on PATH, else the newest
// /usr/lib/postgresql/*/bin (where Debian puts them, off PATH).
func FindBinDir() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (no initdb/pg_ctl found via pg_config, PATH or /usr/lib/postgresql/*/bin): apt-get install postgresql postgresql-15-postgis-3 (or run `make run`, which installs them), or set DATABASE_URL")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverVersion returns the major version of the postgres binary in bin.
func serverVersion(bin string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s/postgres --version: %w", bin, err)
	}
	f := strings.Fields(string(out)) // "postgres (PostgreSQL) 15.18 (Debian ...)"
	if len(f) < 3 {
		return "", fmt.Errorf("cannot read the PostgreSQL version from %q", out)
	}
	return strings.SplitN(f[2], ".", 2)[0], nil
}

// checkPostGIS looks for postgis.control in the server's extension folder,
// so that a missing PostGIS is one clear line before anything starts.
func checkPostGIS(bin, version string) error {
	share := ""
	if out, err := exec.Command(filepath.Join(bin, "pg_config"), "--sharedir").Output(); err == nil {
		share = strings.TrimSpace(string(out))
	}
	for _, dir := range []string{share, "/usr/share/postgresql/" + version, filepath.Join(filepath.Dir(bin), "share")} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "extension", "postgis.control")); err == nil {
			return nil
		}
	}
	return PostGISMissing(version)
}

// PostGISMissing is the error for a PostgreSQL server without PostGIS.
func PostGISMissing(version string) error {
	return fmt.Errorf("PostGIS is not installed for PostgreSQL %s: apt-get install -y postgresql-%s-postgis-3", version, version)
}

func hash(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
