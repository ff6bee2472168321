package pgstore

import (
	"context"

	"wangge/geo"
)

// IntakeItem is one CreateIncident call for CreateIncidentsBatch.
type IntakeItem struct {
	Inc      *geo.Incident
	Key      string
	Hash     []byte
	Messages func(*geo.Incident) []geo.OutboxMessage
}

// IntakeOut is what CreateIncident returns.
type IntakeOut struct {
	Inc   *geo.Incident
	Fresh bool
	Err   error
}

// CreateIncidentsBatch makes the CreateIncident calls of items as one
// intake batch, in order, whatever the timing.
func CreateIncidentsBatch(ctx context.Context, db *DB, items []IntakeItem) []IntakeOut {
	batch := make([]*intakeReq, len(items))
	for i, it := range items {
		batch[i] = &intakeReq{inc: it.Inc, key: it.Key, hash: it.Hash, messages: it.Messages, done: make(chan intakeResult, 1)}
	}
	db.writeBatch(ctx, batch)
	out := make([]IntakeOut, len(items))
	for i, r := range batch {
		inc, fresh, err := db.resolve(ctx, r, <-r.done)
		out[i] = IntakeOut{inc, fresh, unavailable(err)}
	}
	return out
}

// CreateIncidentAlone makes the CreateIncident call of it as one incident
// written alone (incident_create), whatever IntakeBatchMax says.
func CreateIncidentAlone(ctx context.Context, db *DB, it IntakeItem) IntakeOut {
	inc, fresh, err := db.createIncident(ctx, it.Inc, it.Key, it.Hash, it.Messages)
	return IntakeOut{inc, fresh, unavailable(err)}
}
