-- Facts about this gateway that outlive a restart: its id (the mDNS TXT
-- id=, stable so that a terminal recognises the same gateway after the box
-- changes address).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
    value TEXT NOT NULL
) STRICT;

-- Terminals seen on the LAN by mDNS (_passerelle-tpe._tcp), paired or not.
-- One row per serial; the addresses are the last ones announced.
CREATE TABLE discovered_terminals (
    serial     TEXT PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 64),
    instance   TEXT NOT NULL DEFAULT '',
    model      TEXT NOT NULL DEFAULT '',
    host       TEXT NOT NULL DEFAULT '',
    port       INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    addrs      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(addrs)),
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL
) STRICT;

CREATE INDEX discovered_terminals_seen ON discovered_terminals (last_seen);
