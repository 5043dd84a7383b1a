-- When the bank made the transaction, as the terminal's payment_result
-- said it (its "at", a time with its zone, stored in UTC): the bank ticket
-- and its duplicata print it. NULL when the terminal did not say, or not
-- as a time with its zone: the receipts then print completed_at, the
-- gateway's time of receipt.
ALTER TABLE payments ADD COLUMN bank_at TEXT;
