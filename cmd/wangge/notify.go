package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/notify"
	"wangge/geo/outbox"
)

// secretKey is the key that seals the channels' secrets: from
// WANGGE_SECRET_KEY, which every replica must share, or else from the file
// secret.key in the data folder, made on first use (a single server with
// the embedded database needs no setting). Without either, a key for this
// run only, with a warning.
func (m *Main) secretKey() ([]byte, error) { return channelKey(m.Config, m.log) }

// channelKey is secretKey for any command (serve, channel).
func channelKey(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.SecretKey != "" {
		return notify.DeriveKey(cfg.SecretKey), nil
	}
	if cfg.DataDir == "" {
		// Nowhere to keep a key: this run's key lives in memory, and the
		// secrets of channels added now cannot be opened after a restart.
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		log.Warn("WANGGE_SECRET_KEY is not set and there is no data folder: channel secrets are sealed with a key that ends with this process; set WANGGE_SECRET_KEY")
		return raw[:], nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		b = []byte(hex.EncodeToString(raw[:]) + "\n")
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("writing the secret key: %w", err)
		}
		log.Info("made a key for channel secrets; set WANGGE_SECRET_KEY on every replica to share one", "file", path)
	} else if err != nil {
		return nil, fmt.Errorf("reading the secret key: %w", err)
	}
	return notify.DeriveKey(strings.TrimSpace(string(b))), nil
}

// newWorker returns the delivery worker of this replica; its outcomes are
// counted in the server's /metrics.
func (m *Main) newWorker(db *database, key []byte, srv *api.Server) *outbox.Worker {
	policy := geo.DefaultDeliveryPolicy()
	policy.MaxAttempts = m.Config.DeliveryAttempts
	policy.Lease = m.Config.DeliveryLease
	return &outbox.Worker{Store: db, Key: key, Policy: policy, Log: m.log, Observe: srv.CountDelivery}
}
