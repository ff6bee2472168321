package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// Group commit of intake. Incidents created at the same time are written
// together: a request joins a queue; when no batch is in flight, one
// starts with everything queued (up to IntakeBatchMax incidents), so an
// idle server writes a lone incident at once and a busy one gathers the
// requests that arrived while the previous batch was in flight. Another
// batch starts beside it (up to IntakeBatches in flight) only when a
// quarter of a full one (16) is waiting: each statement costs PostgreSQL
// 0.6-0.7 ms of CPU however few incidents it writes, so a second batch
// of a few costs more CPU than it saves waiting (starting one for any
// request: 0.9-1.0 ms of CPU per incident in all at 32 clients; with 16
// waiting, 0.4-0.55 ms, and the second batch runs on the other core).
// A batch is two round trips for all its incidents
// (incident_intake_prepare_batch, then incident_create_batch: one
// statement, one transaction, one commit and disk flush), where one by
// one each incident takes two. What each request gets is what it would
// have got alone:
//   - requests with the same caller and Idempotency-Key in one batch: the
//     first is written, the others get it as a retry (fresh=false) or
//     EMISMATCH for another body;
//   - the possible-duplicate check sees the batch's earlier incidents;
//   - a batch statement that fails (a constraint, a bad value) is retried
//     one incident at a time, so one bad incident fails alone; so is a
//     batch in which a key was written by another request after the
//     lookup (two requests with one key in two batches at once), and the
//     retry finds that request's incident;
//   - when PostgreSQL cannot be reached every request of the batch gets
//     EUNAVAILABLE, and the statement wrote nothing or everything.

// IntakeBatches is how many intake batches may be in flight at once, and
// IntakeBatchMax how many incidents one batch writes at most.
var (
	IntakeBatches  = 2
	IntakeBatchMax = 64
)

// intakeTimeout bounds a batch's round trips: a batch serves many
// requests, so it runs on no single request's context.
const intakeTimeout = 30 * time.Second

// intakeReq is one CreateIncident call waiting in the queue.
type intakeReq struct {
	inc      *geo.Incident
	key      string
	hash     []byte
	messages func(*geo.Incident) []geo.OutboxMessage
	done     chan intakeResult
}

// intakeResult is what a batch found for one request.
type intakeResult struct {
	inc   *geo.Incident
	fresh bool
	err   error
	// earlier: the request's key has an incident already (number,
	// request hash); the request reads it itself.
	earlier     *string
	earlierHash []byte
	// alone: the batch failed as a whole; the request is written by
	// itself.
	alone bool
}

// intakeBatcher is a DB's queue of incidents waiting to be written
// together. It keeps no goroutine when idle, so nothing needs stopping.
type intakeBatcher struct {
	mu      sync.Mutex
	queue   []*intakeReq
	running int
	writing int // batches between taking their requests and answering them
	stats   IntakeStats
}

// IntakeStats counts a DB's intake batches since it was opened.
type IntakeStats struct {
	// Batches is how many batches were written, and Incidents how many
	// requests they held in all: Incidents/Batches is the mean batch.
	Batches, Incidents int64
	// Beside is how many of the batches started while another was being
	// written.
	Beside int64
	// Busy is the time the batches took, summed over the batches.
	Busy time.Duration
}

// IntakeStats returns the DB's intake batch counts so far; the difference
// of two calls describes the batches between them.
func (db *DB) IntakeStats() IntakeStats {
	b := &db.intake
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// createBatched queues the incident and waits for its batch.
func (db *DB) createBatched(ctx context.Context, inc *geo.Incident, key string, bodyHash []byte,
	messages func(*geo.Incident) []geo.OutboxMessage) (*geo.Incident, bool, error) {
	b := &db.intake
	r := &intakeReq{inc: inc, key: key, hash: bodyHash, messages: messages, done: make(chan intakeResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if b.running == 0 || b.running < IntakeBatches && len(b.queue) >= max(IntakeBatchMax/4, 1) {
		b.running++
		go db.flushIntake()
	}
	b.mu.Unlock()
	var res intakeResult
	select {
	case res = <-r.done:
	case <-ctx.Done():
		// The batch may still write it, as a request cut off after its
		// commit was sent would be.
		return nil, false, ctx.Err()
	}
	return db.resolve(ctx, r, res)
}

// resolve gives request r what its batch found, reading or writing what
// the batch left to it.
func (db *DB) resolve(ctx context.Context, r *intakeReq, res intakeResult) (*geo.Incident, bool, error) {
	inc, key, bodyHash := r.inc, r.key, r.hash
	switch {
	case res.alone:
		return db.createIncident(ctx, inc, key, bodyHash, r.messages)
	case res.earlier != nil:
		out, err := sameRequest(ctx, db.Pool, *res.earlier, res.earlierHash, key, bodyHash)
		return out, false, err
	}
	return res.inc, res.fresh, res.err
}

// flushIntake writes queued batches until the queue is empty.
func (db *DB) flushIntake() {
	b := &db.intake
	for {
		b.mu.Lock()
		n := min(len(b.queue), max(IntakeBatchMax, 1))
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.queue[:n])
		b.queue = slices.Delete(b.queue, 0, n)
		b.stats.Batches++
		b.stats.Incidents += int64(n)
		if b.writing > 0 {
			b.stats.Beside++
		}
		b.writing++
		b.mu.Unlock()
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), intakeTimeout)
		db.writeBatch(ctx, batch)
		cancel()
		b.mu.Lock()
		b.writing--
		b.stats.Busy += time.Since(t0)
		b.mu.Unlock()
	}
}

// writeBatch writes batch and answers each of its requests.
func (db *DB) writeBatch(ctx context.Context, batch []*intakeReq) {
	// The first request with a (caller, key) is written; the others with
	// it follow it.
	type callerKey struct{ caller, key string }
	leaderOf := map[callerKey]int{}
	var writers []int
	followers := map[int][]int{}
	for i, r := range batch {
		if r.key != "" {
			k := callerKey{r.inc.CreatedBy, r.key}
			if l, ok := leaderOf[k]; ok {
				followers[l] = append(followers[l], i)
				continue
			}
			leaderOf[k] = i
		}
		writers = append(writers, i)
	}
	results := make([]intakeResult, len(batch))
	db.writeLeaders(ctx, batch, writers, results)
	for l, fs := range followers {
		for _, f := range fs {
			switch lr := results[l]; {
			case lr.err != nil || lr.alone:
				// Decided once the leader is; alone is the one-by-one
				// path, which finds the leader's incident by its key.
				results[f] = intakeResult{alone: true}
			case lr.earlier != nil:
				results[f] = intakeResult{earlier: lr.earlier, earlierHash: lr.earlierHash}
			default:
				n := lr.inc.Number
				results[f] = intakeResult{earlier: &n, earlierHash: batch[l].hash}
			}
		}
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// writeLeaders writes batch's requests at writers (no two with one caller
// and key) and sets their results.
func (db *DB) writeLeaders(ctx context.Context, batch []*intakeReq, writers []int, results []intakeResult) {
	fail := func(err error) {
		for _, i := range writers {
			results[i] = intakeResult{err: unavailable(err)}
		}
	}
	callers, keys := make([]string, len(writers)), make([]*string, len(writers))
	for j, i := range writers {
		callers[j], keys[j] = batch[i].inc.CreatedBy, nullIfEmpty(batch[i].key)
	}
	rows, _ := db.Pool.Query(ctx, q("incident_intake_prepare_batch"), callers, keys)
	type taken struct {
		id     int64
		number string
	}
	var ids []taken
	var fresh []int // the writers that are new, in batch order
	var ord int64
	var earlier, number *string
	var earlierHash []byte
	var id *int64
	_, err := pgx.ForEachRow(rows, []any{&ord, &earlier, &earlierHash, &id, &number}, func() error {
		if ord < 1 || int(ord) > len(writers) {
			return fmt.Errorf("pgstore: incident_intake_prepare_batch gave ord %d", ord)
		}
		i := writers[ord-1]
		switch {
		case earlier != nil:
			results[i] = intakeResult{earlier: earlier, earlierHash: bytes.Clone(earlierHash)}
			earlier = nil
		case id != nil && number != nil:
			ids = append(ids, taken{*id, *number})
			fresh = append(fresh, i)
		default:
			return errors.New("pgstore: incident_intake_prepare_batch gave no id")
		}
		return nil
	})
	if err != nil {
		fail(err)
		return
	}
	if len(fresh) == 0 {
		return
	}
	// Ascending ids in batch order: the order one-by-one writes give.
	slices.Sort(fresh)
	slices.SortFunc(ids, func(a, b taken) int { return int(a.id - b.id) })
	inRows := make([]*intakeRow, len(fresh))
	for j, i := range fresh {
		r := batch[i]
		r.inc.ID, r.inc.Number = ids[j].id, ids[j].number
		var msgs []geo.OutboxMessage
		if r.messages != nil {
			msgs = r.messages(r.inc)
		}
		row, err := newIntakeRow(r.inc, nullIfEmpty(r.key), r.hash, msgs)
		if err != nil {
			results[i] = intakeResult{err: err}
			continue
		}
		inRows[j] = row
	}
	var written []*intakeRow
	var at []int
	for j, row := range inRows {
		if row != nil {
			written, at = append(written, row), append(at, fresh[j])
		}
	}
	if len(written) == 0 {
		return
	}
	rows, _ = db.Pool.Query(ctx, q("incident_create_batch"), batchArgs(written)...)
	out, err := scanCreatedAll(rows)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && geo.ErrorCode(unavailable(err)) != geo.EUNAVAILABLE &&
			(len(written) > 1 || pgErr.ConstraintName == "incident_idempotency") {
			// The statement failed as a whole and wrote nothing: each
			// incident is written alone, so a bad one fails alone, and one
			// whose key another request wrote since the lookup gets that
			// request's incident.
			for _, i := range at {
				results[i] = intakeResult{alone: true}
			}
			return
		}
		for _, i := range at {
			results[i] = intakeResult{err: unavailable(err)}
		}
		return
	}
	byID := make(map[int64]*geo.Incident, len(out))
	for _, inc := range out {
		byID[inc.ID] = inc
	}
	for j, i := range at {
		if inc := byID[written[j].inc.ID]; inc != nil {
			results[i] = intakeResult{inc: inc, fresh: true}
		} else {
			results[i] = intakeResult{err: fmt.Errorf("pgstore: incident_create_batch did not return incident %s", written[j].inc.Number)}
		}
	}
}

// batchArgs are incident_create_batch's parameters for rows.
func batchArgs(rows []*intakeRow) []any {
	n := len(rows)
	var a struct {
		id, generation                                                               []*int64
		category, severity, source, status, description, reporterName, reporterPhone []string
		lon, lat, inLon, inLat, distance                                             []*float64
		inputCRS, match                                                              []string
		grid, village, role, key, town                                               []*string
		aName, aPhone, aReason, co, createdBy, number, after                         []string
		level                                                                        []int16
		reported, received, due, dupSince                                            []time.Time
		hash                                                                         [][]byte
		dupMeters                                                                    []float64
	}
	a.id = make([]*int64, 0, n)
	var e struct {
		incident                                                    []int64
		actor, action, from, to, note, role, name, phone, actorRole []*string
		level                                                       []int16
	}
	var m struct {
		incident, channel                               []int64
		idx                                             []int32
		kind, name, phone, mention, title, body, fields []string
	}
	notify := false
	for _, r := range rows {
		inc := r.inc
		id := inc.ID
		a.id = append(a.id, &id)
		a.category = append(a.category, string(inc.Category))
		a.severity = append(a.severity, string(inc.Severity))
		a.source = append(a.source, string(inc.Source))
		a.status = append(a.status, string(inc.Status))
		a.description = append(a.description, inc.Description)
		a.reporterName = append(a.reporterName, inc.ReporterName)
		a.reporterPhone = append(a.reporterPhone, inc.ReporterPhone)
		a.lon, a.lat = append(a.lon, r.lon), append(a.lat, r.lat)
		a.inputCRS = append(a.inputCRS, inc.InputCRS)
		a.inLon, a.inLat = append(a.inLon, r.inLon), append(a.inLat, r.inLat)
		a.grid, a.village = append(a.grid, nullIfEmpty(inc.GridCode)), append(a.village, nullIfEmpty(inc.VillageCode))
		a.match = append(a.match, inc.Match)
		a.distance = append(a.distance, nullIfZero(inc.DistanceM, inc.Match != "nearest"))
		a.generation = append(a.generation, nullIfZeroInt(inc.Generation))
		a.role = append(a.role, r.role)
		a.aName, a.aPhone, a.aReason = append(a.aName, inc.Assignee.Name), append(a.aPhone, inc.Assignee.Phone), append(a.aReason, inc.Assignee.Reason)
		a.level = append(a.level, int16(inc.Assignee.Level))
		a.co = append(a.co, r.co)
		a.reported, a.received, a.due = append(a.reported, inc.ReportedAt), append(a.received, inc.ReceivedAt), append(a.due, inc.DueAt)
		a.createdBy = append(a.createdBy, inc.CreatedBy)
		a.key, a.hash = append(a.key, r.key), append(a.hash, r.hash)
		a.dupMeters, a.dupSince = append(a.dupMeters, r.dupMeters), append(a.dupSince, r.dupSince)
		a.number, a.after = append(a.number, inc.Number), append(a.after, r.after)
		a.town = append(a.town, r.town)

		for k := range r.evs {
			ev := &r.evs[k]
			e.incident = append(e.incident, inc.ID)
			e.actor = append(e.actor, &ev.Actor)
			e.action = append(e.action, nullIfEmpty(string(ev.Action)))
			e.from = append(e.from, nullIfEmpty(string(ev.From)))
			e.to = append(e.to, nullIfEmpty(string(ev.To)))
			e.note = append(e.note, &ev.Note)
			e.role, e.name, e.phone = append(e.role, r.evRole[k]), append(e.name, r.evName[k]), append(e.phone, r.evPhone[k])
			e.actorRole = append(e.actorRole, nullIfEmpty(ev.ActorRole))
			e.level = append(e.level, int16(ev.Level))
		}
		for k := range r.msgs {
			msg := &r.msgs[k]
			m.incident, m.idx = append(m.incident, inc.ID), append(m.idx, int32(k))
			m.channel = append(m.channel, msg.ChannelID)
			m.kind = append(m.kind, string(msg.Kind))
			m.name, m.phone = append(m.name, msg.To.Name), append(m.phone, msg.To.Phone)
			m.mention = append(m.mention, r.mention[k])
			m.title, m.body, m.fields = append(m.title, msg.Title), append(m.body, msg.Text), append(m.fields, r.fields[k])
			notify = true
		}
	}
	var nt *string
	if notify {
		s := OutboxChanged
		nt = &s
	}
	return []any{a.id, a.category, a.severity, a.source, a.status, a.description, a.reporterName, a.reporterPhone,
		a.lon, a.lat, a.inputCRS, a.inLon, a.inLat,
		a.grid, a.village, a.match, a.distance, a.generation,
		a.role, a.aName, a.aPhone, a.aReason, a.level, a.co,
		a.reported, a.received, a.due, a.createdBy, a.key, a.hash,
		a.dupMeters, a.dupSince, a.number, a.after,
		e.incident, e.actor, e.action, e.from, e.to, e.note, e.role, e.name, e.phone, e.actorRole, e.level,
		string(geo.ActReceive), "incident.create",
		m.incident, m.idx, m.channel, m.kind, m.name, m.phone, m.mention, m.title, m.body, m.fields,
		nt, a.town}
}
