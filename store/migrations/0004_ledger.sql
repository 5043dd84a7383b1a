-- A ticket has at most one payment in progress. The single writer checks it
-- before each insert; the database enforces it too, whoever writes.
CREATE UNIQUE INDEX payments_one_in_progress ON payments (ticket_id) WHERE status IN ('pending', 'unknown');

-- A payment the manager resolved keeps the decision (resolution) when the
-- terminal's own result comes later (reported_at) and replaces it; review is
-- set when that result contradicts the decision, until the manager checks.
ALTER TABLE payments ADD COLUMN resolution TEXT NOT NULL DEFAULT '' CHECK (resolution IN ('', 'approved', 'declined'));
ALTER TABLE payments ADD COLUMN reported_at TEXT;
ALTER TABLE payments ADD COLUMN review INTEGER NOT NULL DEFAULT 0 CHECK (review IN (0, 1));
CREATE INDEX payments_review ON payments (id) WHERE review = 1;

-- Payments resolved before: the decision is their status then, unless the
-- terminal's result (its card or transaction reference) came after it.
UPDATE payments SET resolution = status
    WHERE resolved_by <> '' AND status IN ('approved', 'declined');
UPDATE payments SET reported_at = completed_at
    WHERE resolved_by <> '' AND (card IS NOT NULL OR transaction_ref <> '');

-- How long a pending payment has been pending, as the last deadline sweep
-- counted it on the gateway's monotonic clock: a restart resumes the count
-- from here instead of comparing the wall clock with the deadline.
ALTER TABLE payments ADD COLUMN elapsed_ms INTEGER NOT NULL DEFAULT 0 CHECK (elapsed_ms >= 0);
