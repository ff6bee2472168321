-- People sign in as themselves: with a one-time code sent by SMS, or with
-- a single-use link an admin makes. Codes and link tokens are kept hashed;
-- a session is a signed token the server checks from memory, kept here
-- (without the token) so that it can be revoked on every replica.

-- Every accepted request for a code, whether or not the number belongs to
-- someone, for the rate limits (per number, per client address) that all
-- replicas share. Rows older than the longest window are purged.
CREATE TABLE login_requests (
    id      bigserial PRIMARY KEY,
    phone   text NOT NULL,
    address text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_requests_phone ON login_requests (phone, at);
CREATE INDEX login_requests_address ON login_requests (address, at);
CREATE INDEX login_requests_at ON login_requests (at);

-- One-time codes. person_id is NULL for a decoy: the code of a number that
-- belongs to nobody who may sign in, which no code opens, so that both
-- kinds of number answer alike. hash is an HMAC under the server's key of
-- the salt, the number and the code. A code is spent (used_at) by a
-- sign-in or when a newer code replaces it.
CREATE TABLE login_codes (
    id         bigserial PRIMARY KEY,
    phone      text NOT NULL,
    person_id  bigint REFERENCES people (id),
    salt       bytea NOT NULL CHECK (length(salt) >= 16),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    used_at    timestamptz
);
CREATE INDEX login_codes_phone ON login_codes (phone, created_at DESC) WHERE used_at IS NULL;

-- Sessions: only the SHA-256 of the token is kept.
CREATE TABLE sessions (
    id         bigserial PRIMARY KEY,
    person_id  bigint NOT NULL REFERENCES people (id),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    via        text NOT NULL CHECK (via IN ('code', 'link')),
    address    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by text
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_revoked ON sessions (expires_at) WHERE revoked_at IS NOT NULL;

-- Single-use login links, by the SHA-256 of their token.
CREATE TABLE login_links (
    id         bigserial PRIMARY KEY,
    person_id  bigint NOT NULL REFERENCES people (id),
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    session_id bigint REFERENCES sessions (id)
);

-- A person signed in may ask the dispatcher to reassign or escalate an
-- incident: an event that changes neither status nor assignee.
ALTER TABLE incident_events DROP CONSTRAINT incident_events_action_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_action_check CHECK (action IN ('receive', 'dispatch', 'accept',
    'start', 'resolve', 'verify', 'close', 'reject', 'reopen', 'reassign', 'escalate', 'comment',
    'request_reassign', 'request_escalate'));
