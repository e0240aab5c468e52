-- A pick list cancelled (inventory.pick.cancel, issue 14): its status 'cancelled', why,
-- when, and the grams of the order's reservation it freed. Row-level security as in
-- 076_stores_handling.sql (the table's policy holds for the new columns).
ALTER TABLE inventory.picks ADD COLUMN cancelled_at timestamptz, ADD COLUMN cancel_reason text,
  ADD COLUMN released_g bigint;
