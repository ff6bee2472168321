package main

import (
	"io"
	"strings"
	"testing"
)

// TestConfig_maxLayerBytes: the layer limit defaults to 256 MiB, is read
// from WANGGE_MAX_LAYER_BYTES and --max-layer-bytes, and a value out of
// range is refused naming where it came from.
func TestConfig_maxLayerBytes(t *testing.T) {
	cleanEnv(t)
	if c := DefaultConfig(); c.MaxLayerBytes != 256<<20 {
		t.Errorf("default %d, want 256 MiB", c.MaxLayerBytes)
	}
	t.Setenv("WANGGE_MAX_LAYER_BYTES", "1000")
	c := DefaultConfig()
	c.DatabaseURL = "postgres://localhost/wangge"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `WANGGE_MAX_LAYER_BYTES: got "1000"`) {
		t.Errorf("WANGGE_MAX_LAYER_BYTES=1000: %v", err)
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--database-url", "postgres://localhost/wangge", "--max-layer-bytes", "536870912"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Config.Validate(); err != nil || m.Config.MaxLayerBytes != 512<<20 {
		t.Errorf("--max-layer-bytes 536870912: %v, %d", err, m.Config.MaxLayerBytes)
	}
}
