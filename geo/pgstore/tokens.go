package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// TokensChanged is the NotifyChannel payload announcing that tokens were
// created or revoked (other payloads are generations).
const TokensChanged = "tokens"

// CreateToken stores a new token for name with role, valid in every town,
// and returns its secret (see CreateScopedToken).
func (db *DB) CreateToken(ctx context.Context, name string, role geo.AccessRole, actor string) (string, error) {
	return db.CreateScopedToken(ctx, name, role, "", actor)
}

// CreateScopedToken stores a new token for name with role, limited to town
// (a 9-digit code of a town of the deployment; "" for every town), and
// returns its secret, which is shown once and never stored. Returns
// EINVALID for an unknown role, an empty name or a town that is not one of
// the deployment's, ECONFLICT when a token in use already has the name.
func (db *DB) CreateScopedToken(ctx context.Context, name string, role geo.AccessRole, town, actor string) (string, error) {
	if name == "" {
		return "", geo.Errorf(geo.EINVALID, "token name: required")
	}
	if !role.Valid() {
		return "", geo.Errorf(geo.EINVALID, "role %q: want one of %v", role, geo.AccessRoles)
	}
	if town != "" {
		if err := geo.ValidateTownCode(town); err != nil {
			return "", err
		}
	}
	secret, hash := geo.NewTokenSecret()
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		now := db.Now().UTC()
		if town != "" {
			var exists bool
			if err := tx.QueryRow(ctx, q("token_town_exists"), town).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return geo.Errorf(geo.EINVALID, "town %s: not a town of this deployment", town)
			}
		}
		var id int64
		if err := tx.QueryRow(ctx, q("token_create"), name, string(role), hash[:], now, nullIfEmpty(town)).Scan(&id); err != nil {
			return err
		}
		after := map[string]any{"id": id, "role": role}
		if town != "" {
			after["town"] = town
		}
		if err := audit(ctx, tx, now, actor, "token.create", "token:"+name, nil, after, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("notify"), TokensChanged)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "api_tokens_active_name" {
		return "", geo.Errorf(geo.ECONFLICT, "a token named %q is already in use: revoke it first or choose another name", name)
	}
	if err != nil {
		return "", unavailable(err)
	}
	return secret, nil
}

// Tokens lists every token, revoked ones included, by name, each with the
// town it is limited to ("" for every town).
func (db *DB) Tokens(ctx context.Context) ([]geo.Token, error) {
	rows, _ := db.Pool.Query(ctx, q("tokens_list"))
	var out []geo.Token
	var t geo.Token
	var hash []byte
	var revoked *time.Time
	_, err := pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &t.Role, &hash, &t.CreatedAt, &revoked, &t.TownCode}, func() error {
		copy(t.Hash[:], hash)
		t.RevokedAt = time.Time{}
		if revoked != nil {
			t.RevokedAt = *revoked
		}
		out = append(out, t)
		return nil
	})
	return out, unavailable(err)
}

// ActiveTokens returns the tokens in use, keyed by hash, for the server to
// check bearer tokens from memory (so that authentication keeps working
// while the database is down).
func (db *DB) ActiveTokens(ctx context.Context) (map[[32]byte]geo.Token, error) {
	rows, _ := db.Pool.Query(ctx, q("tokens_active"))
	out := map[[32]byte]geo.Token{}
	var t geo.Token
	var hash []byte
	_, err := pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &t.Role, &hash, &t.CreatedAt, &t.TownCode}, func() error {
		copy(t.Hash[:], hash)
		out[t.Hash] = t
		return nil
	})
	return out, unavailable(err)
}

// RevokeToken revokes the token in use called name, and announces the
// change so every replica stops accepting it. ENOTFOUND if there is none.
func (db *DB) RevokeToken(ctx context.Context, name, actor string) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		now := db.Now().UTC()
		var id int64
		if err := tx.QueryRow(ctx, q("token_revoke"), name, now).Scan(&id); err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no token in use is named %q", name)
		} else if err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, "token.revoke", "token:"+name, map[string]any{"id": id}, nil, ""); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q("notify"), TokensChanged)
		return err
	})
	return unavailable(err)
}
