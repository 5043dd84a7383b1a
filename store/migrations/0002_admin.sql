-- The manager's admin page: one password, and the sessions of whoever
-- logged in with it. Both hold hashes only.
CREATE TABLE admin_password (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    hash       TEXT NOT NULL CHECK (hash LIKE '$argon2id$%'),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    addr       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- What the admin pages ask for: a ticket's history, a day's tickets and
-- payments.
CREATE INDEX events_ticket ON events (ticket_id, seq) WHERE ticket_id <> '';
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX payments_created ON payments (created_at);
