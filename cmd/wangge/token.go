package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"wangge/geo"
)

// runToken manages API tokens: create (prints the secret once), list,
// revoke.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("token: want create, list or revoke")
	}
	sub, args := args[0], args[1:]
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	role := fs.String("role", "", "create: viewer, dispatcher, planner or admin")
	name := fs.String("name", "", "create: who or what the token is for, e.g. 调度员-王芳 or map-frontend")
	town := fs.String("town", "", "create: limit the token to one town of the deployment (its 9-digit code); default every town")
	pos, err := cfg.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch sub {
	case "create":
		if len(pos) != 0 {
			return fmt.Errorf("token create: got arguments %q, want only --name N --role R [--town CODE]", pos)
		}
		if *name == "" || !geo.AccessRole(*role).Valid() {
			return fmt.Errorf("token create: want --name N and --role one of %v", geo.AccessRoles)
		}
		if *town != "" && geo.ValidateTownCode(*town) != nil {
			return fmt.Errorf("token create: --town %q: want the 9-digit code of a town of the deployment", *town)
		}
	case "revoke":
		if len(pos) != 1 {
			return fmt.Errorf("token revoke: got %d arguments %q, want the token's name", len(pos), pos)
		}
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("token list: got arguments %q, want none", pos)
		}
	default:
		return fmt.Errorf("token: unknown subcommand %q: want create, list or revoke", sub)
	}
	log := cliLogger(io.Discard)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	switch sub {
	case "create":
		secret, err := db.CreateScopedToken(ctx, *name, geo.AccessRole(*role), *town, "cli")
		if err != nil {
			return err
		}
		scope := "every town"
		if *town != "" {
			scope = "town " + *town
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "token %q (%s, %s) created: it is shown only this once; send it as \"Authorization: Bearer <token>\"\n", *name, *role, scope)
	case "revoke":
		if err := db.RevokeToken(ctx, pos[0], "cli"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %q revoked\n", pos[0])
	case "list":
		tokens, err := db.Tokens(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tTOWN\tCREATED\tREVOKED")
		for _, t := range tokens {
			revoked := "-"
			if !t.RevokedAt.IsZero() {
				revoked = t.RevokedAt.Local().Format(time.DateTime)
			}
			town := t.TownCode
			if town == "" {
				town = "*"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, town, t.CreatedAt.Local().Format(time.DateTime), revoked)
		}
		w.Flush()
	}
	return nil
}
