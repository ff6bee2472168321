package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// OutboxChanged is the NOTIFY payload that wakes the delivery workers when
// messages are written.
const OutboxChanged = "outbox"

// insertMessages writes msgs to the outbox in tx, each under an id made of
// the incident's number, the event that caused it, the channel and its
// place: stable, so that a receiver deduplicates a message sent again
// after a crash.
func insertMessages(ctx context.Context, tx pgx.Tx, inc *geo.Incident, eventID int64, msgs []geo.OutboxMessage, at time.Time) error {
	if len(msgs) == 0 {
		return nil
	}
	for i := range msgs {
		m := &msgs[i]
		m.Incident = inc.Number
		if m.Fields == nil {
			m.Fields = map[string]string{}
		}
		m.Fields["number"] = inc.Number
		m.ID = fmt.Sprintf("%s-e%d-c%d-%d", inc.Number, eventID, m.ChannelID, i)
	}
	return writeMessages(ctx, tx, &inc.ID, msgs, at)
}

func writeMessages(ctx context.Context, tx pgx.Tx, incidentID *int64, msgs []geo.OutboxMessage, at time.Time) error {
	for _, m := range msgs {
		fields, err := json.Marshal(m.Fields)
		if err != nil {
			return err
		}
		mention := m.Mention
		if mention == nil {
			mention = []string{}
		}
		if _, err := tx.Exec(ctx, q("outbox_insert"), m.ID, m.ChannelID, incidentID, m.Kind, m.To.Name, m.To.Phone, mention,
			m.Title, m.Text, fields, at); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, q("notify"), OutboxChanged)
	return err
}

// EnqueueMessages writes messages that no incident change causes (login
// codes, channel tests). Each must carry its ID.
func (db *DB) EnqueueMessages(ctx context.Context, msgs []geo.OutboxMessage, at time.Time) error {
	for _, m := range msgs {
		if m.ID == "" {
			return fmt.Errorf("pgstore: message to %s without an id", m.To.Name)
		}
	}
	return unavailable(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return writeMessages(ctx, tx, nil, msgs, at)
	}))
}

// ClaimMessages leases up to limit due messages until now+lease.
func (db *DB) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]geo.OutboxMessage, error) {
	rows, _ := db.Pool.Query(ctx, q("outbox_claim"), now, now.Add(lease), limit)
	out, err := pgx.CollectRows(rows, scanMessage)
	return out, unavailable(err)
}

// MessageSent records a delivery.
func (db *DB) MessageSent(ctx context.Context, id string, at time.Time) error {
	_, err := db.Pool.Exec(ctx, q("outbox_sent"), id, at)
	return unavailable(err)
}

// MessageFailed records a failed attempt.
func (db *DB) MessageFailed(ctx context.Context, id, errText string, next time.Time, dead, deferred bool) error {
	if dead {
		next = time.Now()
	}
	_, err := db.Pool.Exec(ctx, q("outbox_failed"), id, truncateRunes(errText, 500), next, dead, deferred)
	return unavailable(err)
}

// ReleaseMessages hands leased messages back, unsent.
func (db *DB) ReleaseMessages(ctx context.Context, ids []string, at time.Time) error {
	_, err := db.Pool.Exec(ctx, q("outbox_release"), ids, at)
	return unavailable(err)
}

// IncidentMessages lists an incident's messages, oldest first.
func (db *DB) IncidentMessages(ctx context.Context, number string) ([]geo.OutboxMessage, error) {
	rows, _ := db.Pool.Query(ctx, q("outbox_of_incident"), number)
	out, err := pgx.CollectRows(rows, scanMessage)
	return out, unavailable(err)
}

// OutboxCounts counts messages by channel kind and status.
func (db *DB) OutboxCounts(ctx context.Context) (map[[2]string]int, error) {
	rows, _ := db.Pool.Query(ctx, q("outbox_counts"))
	out := map[[2]string]int{}
	var kind, status string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&kind, &status, &n}, func() error {
		out[[2]string{kind, status}] = n
		return nil
	})
	return out, unavailable(err)
}

func scanMessage(row pgx.CollectableRow) (geo.OutboxMessage, error) {
	var m geo.OutboxMessage
	var fields []byte
	var sent *time.Time
	err := row.Scan(&m.ID, &m.ChannelID, &m.ChannelName, &m.ChannelKind, &m.Incident, &m.Kind, &m.To.Name, &m.To.Phone,
		&m.Mention, &m.Title, &m.Text, &fields, &m.Status, &m.Attempts, &m.LastError, &m.CreatedAt, &sent, &m.NextAt)
	if err != nil {
		return m, err
	}
	if sent != nil {
		m.SentAt = *sent
	}
	return m, json.Unmarshal(fields, &m.Fields)
}

// RemindDueSoon writes, for the open incidents due between now and
// now+within whose time limit has not been reminded, the messages remind
// decides, and marks each limit reminded; one replica at a time (the
// escalator's lock). It returns how many incidents were reminded.
func (db *DB) RemindDueSoon(ctx context.Context, now time.Time, within time.Duration, limit int,
	remind func(*geo.Incident) []geo.OutboxMessage) (reminded int, err error) {
	err = eachLockedIncident(ctx, db, q("incidents_due_soon"), []any{now, now.Add(within), limit}, func(tx pgx.Tx, inc *geo.Incident) error {
		if _, err := tx.Exec(ctx, q("incident_reminded"), inc.ID); err != nil {
			return err
		}
		msgs := remind(inc)
		for i := range msgs {
			msgs[i].ID = fmt.Sprintf("%s-due%d-c%d-%d", inc.Number, inc.DueAt.Unix(), msgs[i].ChannelID, i)
			msgs[i].Incident = inc.Number
		}
		reminded++
		return writeMessages(ctx, tx, &inc.ID, msgs, now)
	})
	return reminded, unavailable(err)
}

// Channels lists every channel as routing sees it.
func (db *DB) Channels(ctx context.Context) ([]geo.Channel, error) {
	recs, err := db.ChannelRecords(ctx)
	out := make([]geo.Channel, len(recs))
	for i := range recs {
		out[i] = recs[i].Channel
	}
	return out, err
}

// ChannelRecords lists every channel with its settings and sealed secret,
// for the delivery worker and the admin API (which never shows the secret).
func (db *DB) ChannelRecords(ctx context.Context) ([]geo.ChannelRecord, error) {
	rows, _ := db.Pool.Query(ctx, q("channels_all"))
	out, err := pgx.CollectRows(rows, scanChannel)
	return out, unavailable(err)
}

func scanChannel(row pgx.CollectableRow) (geo.ChannelRecord, error) {
	var c geo.ChannelRecord
	var cats, kinds, sevs []string
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.VillageCode, &c.GridCode, &cats, &kinds, &sevs, &c.Enabled,
		&c.Settings, &c.SecretSealed, &c.CreatedAt, &c.UpdatedAt)
	for _, s := range cats {
		c.Categories = append(c.Categories, geo.Category(s))
	}
	for _, s := range kinds {
		c.Kinds = append(c.Kinds, geo.MessageKind(s))
	}
	for _, s := range sevs {
		c.Severities = append(c.Severities, geo.Severity(s))
	}
	return c, err
}

func channelArgs(c *geo.ChannelRecord) (cats, kinds, sevs []string) {
	return texts(c.Categories), texts(c.Kinds), texts(c.Severities)
}

// texts is a list of string values as PostgreSQL text[] (never NULL).
func texts[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// CreateChannel stores a new channel; ECONFLICT when the name is taken.
func (db *DB) CreateChannel(ctx context.Context, c geo.ChannelRecord, actor string, at time.Time) (*geo.ChannelRecord, error) {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		cats, kinds, sevs := channelArgs(&c)
		err := tx.QueryRow(ctx, q("channel_insert"), c.Name, c.Kind, c.Settings, c.SecretSealed, nullIfEmpty(c.VillageCode),
			nullIfEmpty(c.GridCode), cats, kinds, c.Enabled, actor, at, sevs).Scan(&c.ID)
		if isChannelNameTaken(err) {
			return geo.Errorf(geo.ECONFLICT, "a channel named %q exists already", c.Name)
		} else if err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = at, at
		return audit(ctx, tx, at, actor, "channel.create", fmt.Sprintf("channel:%d", c.ID), nil,
			map[string]any{"name": c.Name, "kind": c.Kind, "enabled": c.Enabled}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return &c, nil
}

// UpdateChannel locks channel id, lets change edit it (returning an error
// writes nothing) and stores it. ENOTFOUND if unknown.
func (db *DB) UpdateChannel(ctx context.Context, id int64, actor string, at time.Time, change func(*geo.ChannelRecord) error) (*geo.ChannelRecord, error) {
	var out geo.ChannelRecord
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q("channel_get_for_update"), id)
		c, err := pgx.CollectExactlyOneRow(rows, scanChannel)
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "no channel %d", id)
		} else if err != nil {
			return err
		}
		before := map[string]any{"name": c.Name, "enabled": c.Enabled}
		if err := change(&c); err != nil {
			return err
		}
		cats, kinds, sevs := channelArgs(&c)
		c.UpdatedAt = at
		if _, err := tx.Exec(ctx, q("channel_update"), id, c.Name, c.Settings, c.SecretSealed, nullIfEmpty(c.VillageCode),
			nullIfEmpty(c.GridCode), cats, kinds, c.Enabled, at, sevs); isChannelNameTaken(err) {
			return geo.Errorf(geo.ECONFLICT, "a channel named %q exists already", c.Name)
		} else if err != nil {
			return err
		}
		out = c
		return audit(ctx, tx, at, actor, "channel.update", fmt.Sprintf("channel:%d", id), before,
			map[string]any{"name": c.Name, "enabled": c.Enabled}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return &out, nil
}

// isChannelNameTaken reports whether err is the unique violation of a
// channel's name.
func isChannelNameTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "channels_name_key"
}
