-- Tills: clients of the till API. Keys are stored hashed only.
CREATE TABLE tills (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    key_hash       BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    admin          INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    callback_url   TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
) STRICT;

CREATE TABLE tickets (
    id           TEXT PRIMARY KEY,
    till_id      TEXT NOT NULL REFERENCES tills (id),
    ref          TEXT NOT NULL,
    table_no     TEXT NOT NULL DEFAULT '',
    covers       INTEGER NOT NULL DEFAULT 0,
    server       TEXT NOT NULL DEFAULT '',
    loyalty      TEXT NOT NULL DEFAULT '',
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    lines        TEXT NOT NULL CHECK (json_valid(lines)),
    vat          TEXT NOT NULL CHECK (json_valid(vat)),
    total        INTEGER NOT NULL CHECK (total BETWEEN 1 AND 100000000),
    paid         INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    status       TEXT NOT NULL CHECK (status IN ('open', 'partially_paid', 'paid', 'overpaid', 'cancelled')),
    version      INTEGER NOT NULL CHECK (version >= 1),
    source       TEXT NOT NULL CHECK (source IN ('till', 'web', 'capture')),
    content_hash BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (till_id, ref)
) STRICT;

CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_table ON tickets (table_no, id) WHERE table_no <> '';

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL REFERENCES tickets (id),
    terminal        TEXT NOT NULL DEFAULT '',
    amount          INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 100000000),
    tip             INTEGER NOT NULL DEFAULT 0 CHECK (tip BETWEEN 0 AND 100000000),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'cancelled', 'unknown')),
    card            TEXT,
    auth_code       TEXT NOT NULL DEFAULT '',
    transaction_ref TEXT NOT NULL DEFAULT '',
    merchant_id     TEXT NOT NULL DEFAULT '',
    terminal_id     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    completed_at    TEXT
) STRICT;

CREATE INDEX payments_ticket ON payments (ticket_id);

-- The append-only event log: gapless seq (INTEGER PRIMARY KEY without
-- AUTOINCREMENT, assigned max+1 by the single writer). It feeds the SSE
-- stream, the webhooks and upstream sync.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,
    till_id    TEXT NOT NULL DEFAULT '',
    ticket_id  TEXT NOT NULL DEFAULT '',
    ticket_ref TEXT NOT NULL DEFAULT '',
    payment_id TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL CHECK (json_valid(data))
) STRICT;

CREATE INDEX events_till ON events (till_id, seq);

-- Webhook delivery: per till, the last event delivered. The event log is the
-- queue; this cursor makes it durable.
CREATE TABLE webhook_cursors (
    till_id        TEXT PRIMARY KEY REFERENCES tills (id),
    delivered_seq  INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    last_attempt   TEXT
) STRICT;
