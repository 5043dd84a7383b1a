-- A list filtered by `since` (updated at or after) finds the tickets changed
-- since then on these, from the index alone, rather than reading every
-- ticket (of the till) in seq order to test its updated_at. seq comes last:
-- the cursor (seq > ?) and the page's order are read from the index too.
CREATE INDEX tickets_till_updated ON tickets (till_id, updated_at, seq);
CREATE INDEX tickets_updated ON tickets (updated_at, seq);
