// Command wangge is the grid registry server and its command-line tools:
//
//	wangge serve                 start the HTTP API
//	wangge migrate               apply database migrations
//	wangge import DIR            replace the town with the one in DIR
//	wangge export [-out DIR]     write the town as GeoJSON files
//	wangge locate LON LAT        print the grid and leader of a point
//	wangge token create|list|revoke  API tokens
//
// Without DATABASE_URL every command uses the embedded PostgreSQL cluster in
// the data folder (--data-dir, WANGGE_DATA_DIR).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"
)

func main() {
	// Gin's mode is process-wide; set it once, before any server is built.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(int(exit))
	default:
		fmt.Fprintln(os.Stderr, "wangge:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status after the command has already
// said why.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// importMemoryLimit is the soft memory limit of `wangge import` unless
// GOMEMLIMIT says otherwise: the 1 GiB budget BENCHMARKS.md states for
// checking a province's layer (China's 3,253 counties: about 800 MB live),
// less what the process holds outside the runtime's accounting (a limit
// of 1 GiB gave a peak RSS of 1,049 MiB on that layer). The import is a batch job holding one layer: without a limit the
// collector lets garbage grow the heap to twice what is live; with it, it
// collects more often near the limit instead. It is soft: a larger layer
// still gets the memory it needs.
const importMemoryLimit = 960 << 20

// batchMemoryLimit sets importMemoryLimit as the Go runtime's soft memory
// limit, unless GOMEMLIMIT is set.
func batchMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importMemoryLimit)
	}
}

// Run runs the command named by args[0]; flags alone (wangge --addr …)
// mean serve. With no argument at all it prints the usage and exits 2
// rather than start a server on every interface with the system data
// folder.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args); err != nil {
			return err
		}
		return m.Run(ctx)
	case "migrate":
		return runMigrate(ctx, args, stdout, stderr)
	case "import":
		batchMemoryLimit()
		return runImport(ctx, args, stdout, stderr)
	case "export":
		return runExport(ctx, args, stdout, stderr)
	case "locate":
		return runLocate(ctx, args, stdout, stderr)
	case "token":
		return runToken(ctx, args, stdout, stderr)
	case "channel":
		return runChannel(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

const usage = `usage: wangge command [arguments] [flags]

commands:
  serve                 start the HTTP API: wangge serve --addr 127.0.0.1:8080
  migrate               apply the database migrations
  import DIR            replace the town with town.geojson, villages.geojson
                        and grids.geojson in DIR (refused unless a valid coverage)
  export [-out DIR]     write the town as those three GeoJSON files; with
                        -format geojson|kml|kmz|shp|gpkg|csv|xlsx -out FILE, the
                        grids alone (gpkg needs GDAL's ogr2ogr)
  locate LON LAT        print the grid and leader of a point
  token create --role R --name N [--town CODE] | list | revoke NAME
                        API tokens (roles: viewer, dispatcher, planner, admin)
  channel list | add --name N --kind K --url U [--village V] [--format markdown] | enable NAME | disable NAME
                        notification channels (the secret from WANGGE_CHANNEL_SECRET)

Without DATABASE_URL every command uses the embedded PostgreSQL cluster in
the data folder (--data-dir, WANGGE_DATA_DIR). Flags may come before or
after the arguments (wangge locate 112.12 27.26 --crs gcj02); a negative
number is an argument, not a flag. Run "wangge COMMAND -h" for flags.
`

// parseArgs parses args with fs as parseFlags does, but lets flags and
// positional arguments come in any order (wangge token revoke NAME
// --data-dir D), and returns the positional arguments in order. A word
// that parses as a number (-73.9) is an argument, not a flag; everything
// after "--" is an argument.
func (c *Config) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if _, err := strconv.ParseFloat(a, 64); err == nil || len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil || i+1 == len(args) {
			continue // the flag package reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++
		flags = append(flags, args[i])
	}
	if err := c.parseFlags(fs, flags); err != nil {
		return nil, err
	}
	return pos, nil
}
