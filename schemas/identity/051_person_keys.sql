-- identity.person_keys: the data key of each person whose personal fields are sealed in
-- events (events/crypto.c): random 256 bits, stored only wrapped under the master key
-- FOFAL_PD_MASTER_KEY (which is in the stack's secrets, never in the database or Kafka).
-- Deleting a row erases the person everywhere at once (crypto-shredding): the immutable
-- events keep their sealed fields, which then read "erased" on replay and in projections.
-- Created lazily by fofal-api the first time it seals a field of the person (an account's
-- username in fofal.identity.events); deleted by `fofal account erase`.
CREATE TABLE identity.person_keys (
  tenant      text        NOT NULL,
  person_id   uuid        NOT NULL,
  wrapped_key text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, person_id)
);
ALTER TABLE identity.person_keys ENABLE ROW LEVEL SECURITY;

-- An erased account keeps its row (events and sessions refer to its id) but loses its
-- name, credentials and badge.
ALTER TABLE identity.accounts ADD COLUMN erased_at timestamptz;
