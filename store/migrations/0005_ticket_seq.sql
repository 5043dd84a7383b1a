-- Tickets in the order the store recorded them. An ID begins with the wall
-- clock's milliseconds, which repeat and can step back: it names a ticket,
-- it does not order it. seq is assigned max+1 by the single writer, as the
-- events' seq is, never changes, and every ticket list orders and pages by
-- it.
ALTER TABLE tickets ADD COLUMN seq INTEGER CHECK (seq >= 1);

-- The tickets recorded so far keep the order the lists gave them.
UPDATE tickets SET seq = n.seq
FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM tickets) AS n
WHERE n.id = tickets.id;

CREATE UNIQUE INDEX tickets_seq ON tickets (seq);

-- ALTER TABLE cannot add a NOT NULL column without a default: these say it.
CREATE TRIGGER tickets_seq_required BEFORE INSERT ON tickets WHEN NEW.seq IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: tickets.seq');
END;

CREATE TRIGGER tickets_seq_fixed BEFORE UPDATE OF seq ON tickets WHEN NEW.seq IS NOT OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'tickets.seq never changes');
END;

-- What the lists filter on, then their order.
DROP INDEX tickets_status;
CREATE INDEX tickets_status ON tickets (status, seq);
DROP INDEX tickets_table;
CREATE INDEX tickets_table ON tickets (table_no, seq) WHERE table_no <> '';
CREATE INDEX tickets_till ON tickets (till_id, seq);
