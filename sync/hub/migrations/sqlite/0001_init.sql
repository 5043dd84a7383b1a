-- The hub's SQLite schema. Times are UTC text of one width, so they sort.

-- Shops: one store key each, stored hashed only.
CREATE TABLE stores (
    id            TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    key_hash      BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    acked_through INTEGER NOT NULL DEFAULT 0 CHECK (acked_through >= 0),
    last_sync     TEXT,
    -- the last change of the store's web orders: the pull's cursor
    order_change  INTEGER NOT NULL DEFAULT 0 CHECK (order_change >= 0),
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
) STRICT;

-- API keys: with a store, a web shop's key for that store's orders;
-- without, a read key for every store. Stored hashed only.
CREATE TABLE api_keys (
    key_hash   BLOB PRIMARY KEY CHECK (length(key_hash) = 32),
    id         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    store_id   TEXT REFERENCES stores (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

-- Every event of every shop, once: (store_id, seq) is the key.
CREATE TABLE events (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    type        TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 64),
    at          TEXT NOT NULL,
    day         TEXT NOT NULL CHECK (length(day) = 10),
    -- JSON that the hub's decoder checked (each event's data an object):
    -- not parsed again here, it is most of an event's cost.
    data        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (store_id, seq)
) STRICT, WITHOUT ROWID;

-- The log of each shop is gapless, and the database holds it so, whoever
-- writes: an event is only the next one of its store, and moves the
-- store's acknowledged position.
CREATE TRIGGER events_next BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT acked_through + 1 FROM stores WHERE id = NEW.store_id)
BEGIN
    SELECT RAISE(ABORT, 'hub: event out of sequence');
END;

CREATE TRIGGER events_ack AFTER INSERT ON events
BEGIN
    UPDATE stores SET acked_through = NEW.seq WHERE id = NEW.store_id;
END;

-- Payments as the shops last reported them, from their payment events.
CREATE TABLE payments (
    store_id        TEXT NOT NULL REFERENCES stores (id),
    payment_id      TEXT NOT NULL,
    ticket_ref      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount BETWEEN 0 AND 100000000),
    tip             INTEGER NOT NULL DEFAULT 0 CHECK (tip BETWEEN 0 AND 100000000),
    currency        TEXT NOT NULL DEFAULT '',
    transaction_ref TEXT NOT NULL DEFAULT '',
    auth_code       TEXT NOT NULL DEFAULT '',
    merchant_id     TEXT NOT NULL DEFAULT '',
    terminal_id     TEXT NOT NULL DEFAULT '',
    scheme          TEXT NOT NULL DEFAULT '',
    masked_pan      TEXT NOT NULL DEFAULT '',
    day             TEXT NOT NULL CHECK (length(day) = 10),
    at              TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (store_id, payment_id)
) STRICT;

CREATE INDEX payments_day ON payments (store_id, day);
CREATE INDEX payments_ref ON payments (store_id, transaction_ref) WHERE transaction_ref <> '';

-- Web shops' orders, by ref per store: what the web shop posted (the
-- ticket body of the till API), and what the shop last reported of the
-- ticket it became.
CREATE TABLE orders (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    ref          TEXT NOT NULL CHECK (length(ref) BETWEEN 1 AND 64),
    body         TEXT NOT NULL CHECK (json_valid(body)),
    content_hash BLOB NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    cancelled    INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
    change       INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    reported     TEXT CHECK (reported IS NULL OR json_valid(reported)),
    reported_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, ref)
) STRICT;

CREATE UNIQUE INDEX orders_change ON orders (store_id, change);

-- Each reconciliation run: a malformed file records nothing.
CREATE TABLE reconciliations (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL CHECK (length(day) = 10),
    created_at TEXT NOT NULL,
    ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
    result     TEXT NOT NULL CHECK (json_valid(result))
) STRICT;

CREATE INDEX reconciliations_day ON reconciliations (store_id, day);
