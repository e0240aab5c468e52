-- An erased person keeps a tombstone instead of losing the row: wrapped_key NULL and
-- erased_at set. Without it, the next command about them would quietly create a fresh
-- key (insert-or-keep), and data sealed under the old one would then meet a key that
-- does not open it; with it, nothing is ever sealed for an erased person again, and their
-- old fields read "erased" everywhere.
ALTER TABLE identity.person_keys ALTER COLUMN wrapped_key DROP NOT NULL;
ALTER TABLE identity.person_keys ADD COLUMN erased_at timestamptz;
ALTER TABLE identity.person_keys ADD CONSTRAINT person_keys_key_or_erased
  CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL));
