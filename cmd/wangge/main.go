// Command wangge is the grid registry server and its command-line tools:
//
//	wangge serve                 start the HTTP API (default)
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
	"fmt"
	"io"
	"os"
	"os/signal"
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

// Run runs the command named by args[0] (serve when absent).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
		return runImport(ctx, args, stdout, stderr)
	case "export":
		return runExport(ctx, args, stdout, stderr)
	case "locate":
		return runLocate(ctx, args, stdout, stderr)
	case "token":
		return runToken(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

const usage = `usage: wangge [command] [flags]

commands:
  serve                 start the HTTP API (the default command)
  migrate               apply the database migrations
  import DIR            replace the town with town.geojson, villages.geojson
                        and grids.geojson in DIR (refused unless a valid coverage)
  export [-out DIR]     write the town as those three GeoJSON files
  locate LON LAT        print the grid and leader of a point
  token create --role R --name N | list | revoke NAME
                        API tokens (roles: viewer, dispatcher, planner, admin)

Without DATABASE_URL every command uses the embedded PostgreSQL cluster in
the data folder (--data-dir, WANGGE_DATA_DIR). Run "wangge COMMAND -h" for flags.
`
