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

-- Terminals: paired payment terminals. Tokens are stored hashed only.
CREATE TABLE terminals (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    serial       TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    app_version  TEXT NOT NULL DEFAULT '',
    token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    display_cols INTEGER NOT NULL DEFAULT 16,
    display_rows INTEGER NOT NULL DEFAULT 8,
    printer_cols INTEGER NOT NULL DEFAULT 32,
    keys         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(keys)),
    paired_at    TEXT NOT NULL,
    last_seen    TEXT,
    revoked_at   TEXT
) STRICT;

-- Pairing codes: 6 digits, single use, 10 minutes. Stored hashed.
CREATE TABLE pairing_codes (
    code_hash  BLOB PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL REFERENCES tickets (id),
    device_id       TEXT NOT NULL REFERENCES terminals (id),
    terminal        TEXT NOT NULL DEFAULT '',
    requested       INTEGER NOT NULL CHECK (requested BETWEEN 1 AND 100000000),
    amount          INTEGER NOT NULL CHECK (amount BETWEEN 0 AND 100000000),
    tip             INTEGER NOT NULL DEFAULT 0 CHECK (tip BETWEEN 0 AND 100000000),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'cancelled', 'error', 'unknown')),
    card            TEXT CHECK (card IS NULL OR json_valid(card)),
    auth_code       TEXT NOT NULL DEFAULT '',
    transaction_ref TEXT NOT NULL DEFAULT '',
    merchant_id     TEXT NOT NULL DEFAULT '',
    terminal_id     TEXT NOT NULL DEFAULT '',
    receipt         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(receipt)),
    created_at      TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    completed_at    TEXT,
    resolved_by     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX payments_ticket ON payments (ticket_id);
CREATE INDEX payments_status ON payments (status) WHERE status IN ('pending', 'unknown');
CREATE INDEX payments_device ON payments (device_id, status);

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
