package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestTokens_town: `wangge token create --town CODE` limits a token to a
// town of the deployment (9 digits, a town it holds); the listing shows
// each token's town, "*" for every town.
func TestTokens_town(t *testing.T) {
	url := pgtest.ConnString(t)
	ctx := context.Background()
	var out, errb bytes.Buffer
	run := func(args ...string) error {
		out.Reset()
		errb.Reset()
		return Run(ctx, append([]string{"token", args[0], "-database-url", url}, args[1:]...), &out, &errb)
	}
	// The first run migrates the database; then a town of the deployment.
	if err := run("create", "-role", "dispatcher", "-name", "县调度"); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	db, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO towns (code, name, outline)
		VALUES ('431321101', '甲镇', ST_GeomFromText('MULTIPOLYGON(((112 27,112.1 27,112.1 27.1,112 27.1,112 27)))', 4326))`); err != nil {
		t.Fatal(err)
	}
	if err := run("create", "-role", "dispatcher", "-name", "甲镇调度", "-town", "431321101"); err != nil {
		t.Fatalf("token create --town: %v\n%s", err, errb.String())
	}
	if !strings.HasPrefix(strings.TrimSpace(out.String()), "wg_") || !strings.Contains(errb.String(), "town 431321101") {
		t.Errorf("token create --town printed %q, %q", out.String(), errb.String())
	}
	for _, bad := range []struct{ town, want string }{
		{"43132110", "--town"},
		{"43132110a", "--town"},
		{"431321102", "not a town of this deployment"},
	} {
		if err := run("create", "-role", "dispatcher", "-name", "bad-"+bad.town, "-town", bad.town); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("--town %s: %v, want an error naming %q", bad.town, err, bad.want)
		}
	}
	if err := run("list"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "TOWN") {
		t.Fatalf("token list:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case f[0] == "县调度" && f[2] == "*", f[0] == "甲镇调度" && f[2] == "431321101":
		default:
			t.Errorf("token list line %q", l)
		}
	}
}
