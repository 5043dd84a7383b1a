-- The hub's PostgreSQL schema: the same tables as SQLite's, for many hub
-- processes on one database. Times are UTC text of one width, as in
-- SQLite, so that the same code reads both.

CREATE TABLE stores (
    id            TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    key_hash      BYTEA NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    acked_through BIGINT NOT NULL DEFAULT 0 CHECK (acked_through >= 0),
    last_sync     TEXT,
    order_change  BIGINT NOT NULL DEFAULT 0 CHECK (order_change >= 0),
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);

CREATE TABLE api_keys (
    key_hash   BYTEA PRIMARY KEY CHECK (octet_length(key_hash) = 32),
    id         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    store_id   TEXT REFERENCES stores (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE events (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    type        TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 64),
    at          TEXT NOT NULL,
    day         TEXT NOT NULL CHECK (length(day) = 10),
    data        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (store_id, seq)
);

-- Gapless per store, whoever writes, however many hub processes: the
-- events an INSERT adds to a store must follow its acked_through without a
-- gap, and move it; checked once per statement (a batch is one INSERT),
-- the key (store_id, seq) refusing any event twice. The UPDATE locks the
-- store's row until the commit, so two processes cannot both append.
CREATE FUNCTION events_next() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad TEXT;
BEGIN
    UPDATE stores s SET acked_through = n.hi
        FROM (SELECT store_id, min(seq) AS lo, max(seq) AS hi, count(*) AS c FROM new_rows GROUP BY store_id) n
        WHERE s.id = n.store_id AND n.lo = s.acked_through + 1 AND n.c = n.hi - n.lo + 1;
    SELECT n.store_id INTO bad
        FROM (SELECT store_id, max(seq) AS hi FROM new_rows GROUP BY store_id) n
        JOIN stores s ON s.id = n.store_id
        WHERE s.acked_through <> n.hi
        LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'hub: events of store % out of sequence', bad;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_next AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION events_next();

CREATE TABLE payments (
    store_id        TEXT NOT NULL REFERENCES stores (id),
    payment_id      TEXT NOT NULL,
    ticket_ref      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount BETWEEN 0 AND 100000000),
    tip             BIGINT NOT NULL DEFAULT 0 CHECK (tip BETWEEN 0 AND 100000000),
    currency        TEXT NOT NULL DEFAULT '',
    transaction_ref TEXT NOT NULL DEFAULT '',
    auth_code       TEXT NOT NULL DEFAULT '',
    merchant_id     TEXT NOT NULL DEFAULT '',
    terminal_id     TEXT NOT NULL DEFAULT '',
    scheme          TEXT NOT NULL DEFAULT '',
    masked_pan      TEXT NOT NULL DEFAULT '',
    day             TEXT NOT NULL CHECK (length(day) = 10),
    at              TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (store_id, payment_id)
);

CREATE INDEX payments_day ON payments (store_id, day);
CREATE INDEX payments_ref ON payments (store_id, transaction_ref) WHERE transaction_ref <> '';

CREATE TABLE orders (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    ref          TEXT NOT NULL CHECK (length(ref) BETWEEN 1 AND 64),
    body         TEXT NOT NULL,
    content_hash BYTEA NOT NULL,
    version      BIGINT NOT NULL CHECK (version >= 1),
    cancelled    INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
    change       BIGINT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    reported     TEXT,
    reported_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, ref)
);

CREATE UNIQUE INDEX orders_change ON orders (store_id, change);

CREATE TABLE reconciliations (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL CHECK (length(day) = 10),
    created_at TEXT NOT NULL,
    ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
    result     TEXT NOT NULL
);

CREATE INDEX reconciliations_day ON reconciliations (store_id, day);
