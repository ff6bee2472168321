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
	longest  time.Duration // the longest timeout of the senders
}

type senderEntry struct {
	updated time.Time
	format  string
	sender  notify.Sender
	timeout time.Duration // how long one Send may take
	err     error
}

// leaseSlack is the time a lease keeps beyond the longest send it may
// hold (recording the outcome, the clocks of two replicas); a lease is at
// least twice that beyond the longest timeout, so that a batch can start.
const leaseSlack = 2 * time.Second

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
//
// A message is sent only while its lease covers the send: once the lease
// has run out, another replica's worker may lease it and send it too. The
// lease is the policy's, or longer when a channel's timeout needs it; a
// message that would start too late (its batch held up by slow receivers)
// is handed back unsent, for the next round.
func (w *Worker) Round(ctx context.Context) (int, error) {
	w.init()
	if err := w.loadSenders(ctx); err != nil {
		return 0, err
	}
	w.mu.Lock()
	lease := max(w.Policy.Lease, w.longest+2*leaseSlack)
	w.mu.Unlock()
	claimed := w.Now()
	msgs, err := w.Store.ClaimMessages(ctx, claimed, lease, w.Batch)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	leaseEnd := claimed.Add(lease)
	sem := make(chan struct{}, w.Parallel)
	var wg sync.WaitGroup
	var unrecorded atomic.Bool
	for i, m := range msgs {
		sem <- struct{}{}
		if unrecorded.Load() {
			// An outcome could not be recorded: the database is out of
			// reach. Sending the rest of the batch now would send each of
			// them twice, since their outcome could not be recorded either;
			// their lease brings them back once it is reachable again.
			<-sem
			break
		}
		if w.Now().Add(w.timeout(ctx, m.ChannelID) + leaseSlack).After(leaseEnd) {
			<-sem
			w.release(ctx, msgs[i:])
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

// release hands msgs back unsent, due now. When that cannot be recorded,
// their lease brings them back when it ends.
func (w *Worker) release(ctx context.Context, msgs []geo.OutboxMessage) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if err := w.Store.ReleaseMessages(ctx, ids, w.Now()); err != nil {
		w.Log.Warn("handing back messages whose lease would run out; they come back when it does", "messages", len(ids), "err", err)
	}
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
		if err := w.loadSendersLocked(ctx); err != nil {
			return nil, "", &notify.SendError{Retryable: true, Msg: "reading the channels: " + geo.ErrorMessage(err)}
		}
		e, ok = w.senders[channelID]
	}
	if !ok {
		return nil, "", &notify.SendError{Msg: "the channel no longer exists"}
	}
	return e.sender, e.format, e.err
}

// timeout is how long a send through a channel may take (0 for a channel
// that fails at once). A channel made since the channels were read has
// them read again.
func (w *Worker) timeout(ctx context.Context, channelID int64) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.senders[channelID]; !ok {
		_ = w.loadSendersLocked(ctx) // if it fails, so does the send
	}
	return w.senders[channelID].timeout
}

// loadSenders reloads the channels when they were last read more than 5 s
// ago.
func (w *Worker) loadSenders(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.senders != nil && w.Now().Sub(w.loadedAt) <= 5*time.Second {
		return nil
	}
	return w.loadSendersLocked(ctx)
}

// loadSendersLocked reads the channels, keeping the senders of those that
// did not change. w.mu is held.
func (w *Worker) loadSendersLocked(ctx context.Context) error {
	recs, err := w.Store.ChannelRecords(ctx)
	if err != nil {
		return err
	}
	fresh := make(map[int64]senderEntry, len(recs))
	longest := time.Duration(0)
	for _, r := range recs {
		e, ok := w.senders[r.ID]
		if !ok || !e.updated.Equal(r.UpdatedAt) {
			e = w.build(r)
		}
		fresh[r.ID] = e
		longest = max(longest, e.timeout)
	}
	w.senders, w.loadedAt, w.longest = fresh, w.Now(), longest
	return nil
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
	e.sender, e.format, e.timeout = s, cfg.Format, cfg.SendTimeout()
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
