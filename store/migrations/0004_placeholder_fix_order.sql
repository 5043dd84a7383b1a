-- Placeholder, only on branch fix/order: migration 0004 belongs to another
-- branch, and the numbers must follow each other for this branch's 0005 to
-- apply alone. Delete this file when merging: the other branch's 0004
-- takes its place.
SELECT 1;
