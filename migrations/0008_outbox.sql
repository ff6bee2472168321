-- Notifications: the channels an admin configures (group robots, an SMS
-- gateway, signed webhooks) and the outbox. A message is written in the
-- same transaction as the incident change that causes it, and a delivery
-- worker sends it: at least once, under one message_id that receivers
-- deduplicate on, retried with backoff, dead-lettered after max attempts.

CREATE TABLE channels (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 100),
    kind          text NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'feishu', 'sms', 'webhook')),
    -- The channel's settings without the secret (URL, format, template, …).
    settings      jsonb NOT NULL DEFAULT '{}',
    -- The secret (signing key, gateway password), sealed with the server's
    -- key (AES-256-GCM); never returned by the API.
    secret_sealed text NOT NULL DEFAULT '',
    -- Which incidents it hears of: a village or a grid (NULL: the whole
    -- town), categories and message kinds (empty: all).
    village_code  text,
    grid_code     text,
    categories    text[] NOT NULL DEFAULT '{}',
    kinds         text[] NOT NULL DEFAULT '{}',
    enabled       boolean NOT NULL DEFAULT true,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    -- Stable across retries and restarts: receivers deduplicate on it.
    message_id       text NOT NULL UNIQUE,
    channel_id       bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    incident_id      bigint REFERENCES incidents (id),
    kind             text NOT NULL,
    recipient_name   text NOT NULL DEFAULT '',
    recipient_phone  text NOT NULL DEFAULT '',
    title            text NOT NULL DEFAULT '',
    body             text NOT NULL DEFAULT '',
    fields           jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    -- When the worker may (re)try: for 'sending', when its lease ends, so
    -- a message held by a worker that died is taken up again.
    next_attempt_at  timestamptz NOT NULL,
    last_error       text NOT NULL DEFAULT '',
    -- The mobiles a group message @-mentions.
    mention          text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_incident ON outbox (incident_id);

-- The due time whose "due soon" reminder was sent, so that each time limit
-- is reminded once (a reassignment or escalation sets a new one).
ALTER TABLE incidents ADD COLUMN reminded_due_at timestamptz;
