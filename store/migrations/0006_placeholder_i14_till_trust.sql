-- Placeholder, only on branch i14/till-trust: migration 0006 belongs to
-- another branch, and the numbers must follow each other for this
-- branch's 0009 to apply alone. Delete this file when merging: the other
-- branch's 0006 takes its place.
SELECT 1;
