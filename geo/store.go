package geo

import (
	"context"
	"time"
)

// IncidentStore keeps incidents. Every method returns EUNAVAILABLE when the
// database cannot be reached.
type IncidentStore interface {
	// CreateIncident stores a routed incident and its first events. With an
	// idempotency key, a retry with the same body hash returns the incident
	// first created and fresh=false; the same key with another body returns
	// EMISMATCH. messages (nil: none) gives the messages the new incident
	// sends; they are written to the outbox in the same transaction.
	CreateIncident(ctx context.Context, inc *Incident, key string, bodyHash []byte,
		messages func(*Incident) []OutboxMessage) (out *Incident, fresh bool, err error)
	// Incident returns an incident with its history; ENOTFOUND if unknown.
	Incident(ctx context.Context, number string) (*Incident, error)
	// AddIncidentEvent locks the incident, lets decide compute the change
	// (returning ECONFLICT for an illegal transition, which writes nothing),
	// writes it and appends the event, keeping the record (deadlines,
	// completion, suspension; a merge also locks the incident merged into:
	// EINVALID when it does not exist, ECONFLICT when it has ended).
	// ENOTFOUND if unknown. With an
	// idempotency key, a retry by the same actor with the same body hash
	// returns the incident as it is without deciding again; the same key
	// with another body returns EMISMATCH.
	AddIncidentEvent(ctx context.Context, number, actor, key string, bodyHash []byte, at time.Time,
		decide func(*Incident) (IncidentChange, error)) (*Incident, error)
	// ListIncidents returns a page, newest first, and the next cursor (0 at
	// the end).
	ListIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, int64, error)
	// IncidentStats computes the figures of f's scope at f.Now.
	IncidentStats(ctx context.Context, f IncidentFilter) (*IncidentStats, error)
}

// HistoryStore answers questions about past generations. Every method
// returns EUNAVAILABLE when the database cannot be reached: history is
// read from PostgreSQL, while current lookups come from memory.
type HistoryStore interface {
	// GenerationAt returns the generation in force at t; ENOTFOUND before
	// the first.
	GenerationAt(ctx context.Context, t time.Time) (int64, error)
	// LoadArea reads every town at generation gen (0: current) with the
	// people and organizations in office at time at.
	LoadArea(ctx context.Context, gen int64, at time.Time) (*Area, int64, error)
	// Generations lists the generations, newest first.
	Generations(ctx context.Context) ([]GenerationSummary, error)
	// GridHistory lists a grid's versions, oldest first; ENOTFOUND if the
	// code never existed.
	GridHistory(ctx context.Context, code string) ([]GridVersion, error)
}
