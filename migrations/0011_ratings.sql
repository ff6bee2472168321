-- The residents' feedback (回访): a rating request is opened when an
-- incident closes and its reporter left a mobile; the link's token is kept
-- hashed. One answer per request.

CREATE TABLE incident_ratings (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    token_hash   bytea NOT NULL UNIQUE,
    requested_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    rating       text CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    comment      text NOT NULL DEFAULT '',
    rated_at     timestamptz
);

CREATE INDEX incident_ratings_incident ON incident_ratings (incident_id);
