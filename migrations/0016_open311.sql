-- Open311 GeoReport v2 (api/open311.go, geo/open311): what a service
-- request carries that an incident has no column for — the address as the
-- resident typed it, a link to a photo, the reporter's e-mail, device and
-- account — and the token GET tokens/{token} answers.
--
-- A row is written before its incident, in its own transaction, under the
-- idempotency key and body hash the incident is then created with: it
-- belongs to the incident with the same (created_by, idempotency_key,
-- request_hash). An incident therefore never lacks its row; a row whose
-- incident was never created (the creation failed) belongs to nothing,
-- and its token answers "not created".
CREATE TABLE open311_requests (
    token            text PRIMARY KEY CHECK (length(token) = 22),
    created_by       text NOT NULL,
    idempotency_key  text NOT NULL,
    request_hash     bytea NOT NULL,
    jurisdiction_id  text NOT NULL DEFAULT '',
    address          text NOT NULL DEFAULT '',
    address_id       text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    media_url        text NOT NULL DEFAULT '',
    device_id        text NOT NULL DEFAULT '',
    account_id       text NOT NULL DEFAULT '',
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    CONSTRAINT open311_request_key UNIQUE (created_by, idempotency_key)
);
