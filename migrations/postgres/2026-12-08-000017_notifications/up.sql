-- Notifications (issue 25): billing notices with a stable key (one open notice per cause),
-- the channels admins configure, and a durable delivery queue that doubles as the delivery log.

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    -- The cause: the same key is one notice however often the cause recurs.
    event_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    title TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    -- What the cause looked like when last seen: a new fingerprint is a recurrence.
    fingerprint TEXT NOT NULL,
    occurrences INTEGER NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT
);
-- Two processes evaluating at once can never open the same cause twice.
CREATE UNIQUE INDEX notices_open_key ON notices (event_key) WHERE resolved_at IS NULL;
CREATE INDEX notices_newest ON notices (opened_at DESC, id DESC);

CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'connectwise_ticket')),
    enabled BOOLEAN NOT NULL,
    -- A JSON array of notice kinds; empty = every kind.
    event_kinds_json TEXT NOT NULL,
    min_severity TEXT NOT NULL CHECK (min_severity IN ('info', 'warning', 'critical')),
    settings_json TEXT NOT NULL,
    -- AEAD ciphertext of the channel's secret (the webhook signing key).
    secret_ciphertext TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('opened', 'recurred', 'resolved')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    last_status TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A process sending it holds it until then; another may take it over afterwards.
    claimed_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at);
CREATE INDEX notification_deliveries_notice ON notification_deliveries (notice_id);

-- The ConnectWise ticket a ticket channel opened for a notice: its recurrences add notes to
-- it, its resolution closes it.
CREATE TABLE notice_tickets (
    notice_id TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    PRIMARY KEY (notice_id, channel_id)
);
