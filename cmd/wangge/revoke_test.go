package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wangge/geo/pgstore"
)

// TestTokenRevokedAfterOutage: PostgreSQL is down for about 16 s, long
// enough for a doubling reconnect backoff to reach 16 s (1+2+4+8 s of
// waits). A token revoked on the command line as soon as PostgreSQL is
// back, when its announcement reaches no listener, is refused within 10 s:
// the listener retries at most every watchBackoffMax and reloads the
// tokens on reconnecting. Before, it worked for as long as the grown
// backoff (here 13–15 s more).
func TestTokenRevokedAfterOutage(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "wangge-revoke-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = "", filepath.Join(dir, "data")
	s := startServer(t, cfg)

	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-data-dir", cfg.DataDir, "-role", "dispatcher", "-name", "desk"}, &out, &errb); err != nil {
		t.Fatalf("token create: %v\n%s", err, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	lon, lat, _ := demoPoint(t)
	target := fmt.Sprintf("http://%s/v1/locate?lon=%v&lat=%v", s.main.Addr, lon, lat)
	status := func() int {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	// within polls until the token's answer is want, failing after bound.
	within := func(want int, bound time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			got := status()
			if got == want {
				return time.Since(start)
			}
			if time.Since(start) > bound {
				t.Fatalf("GET /v1/locate with the token: %d after %v, want %d\n%s", got, bound, want, s.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	within(200, 10*time.Second)

	c, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{})
	if err != nil || !c.Adopted {
		t.Fatalf("adopting the cluster: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Down: the token keeps working from memory.
	time.Sleep(8 * time.Second)
	if got := status(); got != 200 {
		t.Fatalf("with PostgreSQL down the token answers %d, want 200 (checked from memory)", got)
	}
	time.Sleep(7500 * time.Millisecond)

	if _, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Run(context.Background(), []string{"token", "revoke", "-data-dir", cfg.DataDir, "desk"}, &out, &errb); err != nil {
		t.Fatalf("token revoke: %v\n%s", err, errb.String())
	}
	took := within(http.StatusUnauthorized, 10*time.Second)
	t.Logf("the token revoked after the outage was refused %v after the revocation", took.Round(100*time.Millisecond))
}
