-- A ticket has at most one payment in progress. The single writer checks it
-- before each insert; the database enforces it too, whoever writes.
CREATE UNIQUE INDEX payments_one_in_progress ON payments (ticket_id) WHERE status IN ('pending', 'unknown');
