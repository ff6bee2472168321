-- API tokens and the audit log. A token is shown once when created; only
-- its SHA-256 is stored. Every write records who did it.

CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL CHECK (name <> ''),
    role         text NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'planner', 'admin')),
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
-- A name is unique among tokens in use; a revoked name may be reused.
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    before     jsonb,
    after      jsonb,
    request_id text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target, at);
