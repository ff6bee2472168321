// Package outbox delivers the messages of the outbox: it leases due
// messages from the store, sends each through its channel (geo/notify),
// and records the outcome — sent, retried later with exponential backoff
// and jitter, or dead-lettered after the policy's last attempt. Any number
// of workers may run against one database (one per replica): a message is
// leased to one of them at a time, and a message whose worker died is
// taken up again when its lease ends, under the same id.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wangge/geo"
	"wangge/geo/notify"
)

// Store is what the worker needs of the database.
type Store interface {
	geo.OutboxStore
	ChannelRecords(ctx context.Context) ([]geo.ChannelRecord, error)
}

// Worker sends the outbox's messages.
type Worker struct {
	Store  Store
	Key    []byte // opens the channels' sealed secrets
	Policy geo.DeliveryPolicy
	// Client makes the requests (nil: notify's default, no redirects).
	Client *http.Client
	Now    func() time.Time
	Log    *slog.Logger
	// Batch is how many messages one round leases; Parallel how many are
	// in flight at once (a hanging receiver holds one slot until its
	// channel's timeout).
	Batch, Parallel int
	// Poll is how often the worker looks for due messages without being
	// woken (retries come due this way).
	Poll time.Duration
	// Observe, if set, is told each outcome: channel kind and sent,
	// retry, dead or deferred (held back by the channel's rate limit).
	Observe func(kind geo.ChannelKind, outcome string)

	wake     chan struct{}
	initOnce sync.Once

	mu       sync.Mutex
	senders  map[int64]senderEntry
	loadedAt time.Time
}

type senderEntry struct {
	updated time.Time
	format  string
	sender  notify.Sender
	err     error
}

func (w *Worker) init() {
	w.initOnce.Do(func() {
		w.wake = make(chan struct{}, 1)
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.Policy.MaxAttempts == 0 {
			w.Policy = geo.DefaultDeliveryPolicy()
		}
		if w.Batch <= 0 {
			// A few rounds of Parallel: a batch must be sent well within
			// the lease even when receivers hang until their timeout, and a
			// worker that dies leaves few messages waiting for their lease.
			w.Batch = 4 * max(w.Parallel, 8)
		}
		if w.Parallel <= 0 {
			w.Parallel = 8
		}
		if w.Poll <= 0 {
			w.Poll = time.Second
		}
	})
}

// Wake makes the worker look for messages now (a NOTIFY said some were
// written). It never blocks.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. While the database is down it keeps
// trying every Poll; nothing is lost, since messages live in the outbox.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := w.Round(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Warn("delivering messages; they stay in the outbox", "err", err)
		}
		if n == w.Batch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-w.wake:
		}
	}
}

// Round leases one batch of due messages and delivers them, returning how
// many it leased.
func (w *Worker) Round(ctx context.Context) (int, error) {
	w.init()
	msgs, err := w.Store.ClaimMessages(ctx, w.Now(), w.Policy.Lease, w.Batch)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, w.Parallel)
	var wg sync.WaitGroup
	var unrecorded atomic.Bool
	for _, m := range msgs {
		sem <- struct{}{}
		if unrecorded.Load() {
			// An outcome could not be recorded: the database is out of
			// reach. Sending the rest of the batch now would send each of
			// them twice, since their outcome could not be recorded either;
			// their lease brings them back once it is reachable again.
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if !w.deliver(ctx, m) {
				unrecorded.Store(true)
			}
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

// deliver sends one leased message and records the outcome, reporting
// whether it could. When the outcome cannot be recorded (the database went
// away), the lease runs out and the message is sent again later under the
// same id.
func (w *Worker) deliver(ctx context.Context, m geo.OutboxMessage) (recorded bool) {
	sender, format, err := w.sender(ctx, m.ChannelID)
	if err == nil {
		title, text := notify.Render(toNotify(m), format)
		msg := toNotify(m)
		msg.Title, msg.Text = title, text
		err = sender.Send(ctx, msg)
	}
	now := w.Now()
	if err == nil {
		rerr := w.Store.MessageSent(ctx, m.ID, now)
		if rerr != nil {
			w.Log.Warn("recording a delivery; the message will be sent again under the same id", "id", m.ID, "err", rerr)
		}
		w.observe(m.ChannelKind, "sent")
		return rerr == nil
	}
	if throttled(err) {
		// Held back before reaching the receiver: try again when the limit
		// allows, without spending an attempt.
		rerr := w.Store.MessageFailed(ctx, m.ID, err.Error(), now.Add(notify.RetryAfter(err)), false, true)
		if rerr != nil {
			w.Log.Warn("recording a deferred delivery", "id", m.ID, "err", rerr)
		}
		w.observe(m.ChannelKind, "deferred")
		return rerr == nil
	}
	next, dead := w.Policy.NextAttempt(now, m.Attempts, notify.RetryAfter(err), rand.Float64())
	if !notify.IsRetryable(err) {
		dead = true
	}
	rerr := w.Store.MessageFailed(ctx, m.ID, err.Error(), next, dead, false)
	if rerr != nil {
		w.Log.Warn("recording a failed delivery", "id", m.ID, "err", rerr)
	}
	outcome := "retry"
	if dead {
		outcome = "dead"
		w.Log.Warn("message dead-lettered", "id", m.ID, "channel", m.ChannelName, "attempts", m.Attempts, "err", err)
	}
	w.observe(m.ChannelKind, outcome)
	return rerr == nil
}

// throttled reports whether err is the channel's own rate limit: retryable
// with a wait, and no answer from any receiver (no HTTP status, no
// platform code).
func throttled(err error) bool {
	var se *notify.SendError
	return errors.As(err, &se) && se.Retryable && se.RetryAfter > 0 && se.Status == 0 && se.Code == ""
}

func (w *Worker) observe(kind geo.ChannelKind, outcome string) {
	if w.Observe != nil {
		w.Observe(kind, outcome)
	}
}

// sender returns the sender of a channel, building it from the stored
// settings when the channel is new or changed. A channel that cannot be
// built (a secret sealed with another key, settings that no longer
// validate) fails its messages permanently, with the reason.
func (w *Worker) sender(ctx context.Context, channelID int64) (notify.Sender, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.senders[channelID]
	if !ok || w.Now().Sub(w.loadedAt) > 5*time.Second {
		recs, err := w.Store.ChannelRecords(ctx)
		if err != nil {
			return nil, "", &notify.SendError{Retryable: true, Msg: "reading the channels: " + geo.ErrorMessage(err)}
		}
		fresh := make(map[int64]senderEntry, len(recs))
		for _, r := range recs {
			if old, ok := w.senders[r.ID]; ok && old.updated.Equal(r.UpdatedAt) {
				fresh[r.ID] = old
				continue
			}
			fresh[r.ID] = w.build(r)
		}
		w.senders, w.loadedAt = fresh, w.Now()
		e, ok = fresh[channelID]
	}
	if !ok {
		return nil, "", &notify.SendError{Msg: "the channel no longer exists"}
	}
	return e.sender, e.format, e.err
}

func (w *Worker) build(r geo.ChannelRecord) senderEntry {
	e := senderEntry{updated: r.UpdatedAt}
	var cfg notify.Config
	if err := json.Unmarshal(r.Settings, &cfg); err != nil {
		e.err = &notify.SendError{Msg: "the channel's settings cannot be read"}
		return e
	}
	if r.SecretSealed != "" {
		secret, err := notify.OpenSecret(w.Key, r.SecretSealed)
		if err != nil {
			e.err = &notify.SendError{Msg: "the channel's secret cannot be opened with this server's key (WANGGE_SECRET_KEY)"}
			return e
		}
		cfg.Secret = secret
	}
	if !r.Enabled {
		e.err = &notify.SendError{Msg: "the channel is disabled"}
		return e
	}
	s, err := notify.New(cfg, w.Client, w.Now)
	if err != nil {
		e.err = &notify.SendError{Msg: "the channel's settings are invalid: " + geo.ErrorMessage(err)}
		return e
	}
	e.sender, e.format = s, cfg.Format
	return e
}

// toNotify is m as the channels take it: the recipient, and for group
// messages the mobiles to @-mention.
func toNotify(m geo.OutboxMessage) notify.Message {
	fields := make(map[string]string, len(m.Fields)+1)
	for k, v := range m.Fields {
		fields[k] = v
	}
	if len(m.Mention) > 0 {
		fields["mention"] = strings.Join(m.Mention, ",")
	}
	return notify.Message{ID: m.ID, Kind: notify.Kind(m.Kind), Recipient: notify.Recipient{Name: m.To.Name, Phone: m.To.Phone},
		Title: m.Title, Text: m.Text, Fields: fields, CreatedAt: m.CreatedAt}
}
