-- identity through the log (issue 13 item 5). Accounts, badges and devices are now
-- commands and events of module identity (fofal.identity.events); the tables sign-in reads
-- are the identity projection (projections/identity/identity.c), written only by
-- fofal-projector and rebuilt and verified like any other (`fofal rebuild identity`). What
-- is not in the log moves out of schema identity, since a rebuild swaps that whole schema:
--
--   identity       the projection: accounts, devices (rebuilt from the log)
--   identity_ops   operational state of fofal-api, not in the log: sessions and refresh
--                  tokens, the PIN lockout counters, a TOTP enrolment not verified yet and
--                  the last TOTP step accepted (see README "Security")
--   identity_keys  the person data keys (crypto-shredding), wrapped under the master key
--
-- The old tables are dropped, not converted: a stack made before this change must be
-- recreated (its identity events had no sequence numbers and its accounts were not in the
-- log). Secrets stay sealed or hashed at rest: password, PIN and TOTP secrets as sealed
-- under the master key ("pd1." values, exactly as in the events); refresh tokens and device
-- secrets as SHA-256. Row-level security is enabled and fofal_reader is granted nothing
-- here: no query path can read these schemas.
CREATE SCHEMA IF NOT EXISTS identity_keys;
ALTER TABLE identity.person_keys SET SCHEMA identity_keys;

DROP TABLE identity.refresh_tokens, identity.sessions, identity.recovery_codes, identity.devices, identity.accounts;

-- The projection. An account's id is derived from its name (commands/identity/identity.h):
-- sign-in finds it by id, so the name needs no unique index here (the decider keeps it
-- unique); a badge names at most one live account (the decider keeps it so too).
CREATE TABLE identity.accounts (
  tenant         text        NOT NULL,
  id             uuid        NOT NULL,
  username       text        NOT NULL,      -- opened with the account's data key; "erased" once erased
  role           text        NOT NULL,
  badge          text,
  password_hash  text,                      -- sealed argon2id ("pd1."); NULL: no password sign-in
  pin_hash       text,                      -- sealed argon2id of the PIN
  totp_secret    text,                      -- sealed; NULL until an enrolment was verified
  recovery_codes text,                      -- sealed JSON array of the codes' SHA-256
  recovery_used  integer     NOT NULL DEFAULT 0, -- bit i: recovery code i was used
  created_at     timestamptz NOT NULL,      -- the event's time
  erased_at      timestamptz,
  version        bigint      NOT NULL,      -- the aggregate's sequence number last applied
  PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX accounts_badge ON identity.accounts (tenant, badge) WHERE badge IS NOT NULL;

CREATE TABLE identity.devices (
  tenant      text        NOT NULL,
  id          uuid        NOT NULL,
  name        text        NOT NULL,
  secret_hash text        NOT NULL,         -- SHA-256 hex of the device secret
  created_by  text        NOT NULL,         -- the actor of the enrolment
  created_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  version     bigint      NOT NULL,
  PRIMARY KEY (tenant, id)
);

ALTER TABLE identity.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity.devices ENABLE ROW LEVEL SECURITY;

-- Operational state (fofal-api writes it). No foreign keys to the projection: a rebuild
-- replaces those tables under it.
CREATE SCHEMA IF NOT EXISTS identity_ops;

-- A session is one refresh-token family: every refresh rotates the token within it; the
-- access tokens it issues carry its id as the `sid` claim.
CREATE TABLE identity_ops.sessions (
  tenant         text        NOT NULL,
  sid            uuid        NOT NULL,
  account_id     uuid        NOT NULL,
  device_id      uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text,
  PRIMARY KEY (tenant, sid)
);
CREATE INDEX sessions_account ON identity_ops.sessions (tenant, account_id);
CREATE INDEX sessions_device ON identity_ops.sessions (tenant, device_id) WHERE device_id IS NOT NULL;

CREATE TABLE identity_ops.refresh_tokens (
  token_hash text        PRIMARY KEY,       -- SHA-256 hex of the opaque token
  tenant     text        NOT NULL,
  sid        uuid        NOT NULL,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,                   -- set when rotated: a second use is reuse
  FOREIGN KEY (tenant, sid) REFERENCES identity_ops.sessions (tenant, sid)
);
CREATE INDEX refresh_tokens_sid ON identity_ops.refresh_tokens (tenant, sid);

-- Per account: wrong PINs in a row and the lock they caused; a TOTP enrolment not yet
-- verified (sealed); the last TOTP step accepted (a code is accepted once).
CREATE TABLE identity_ops.accounts (
  tenant           text        NOT NULL,
  account_id       uuid        NOT NULL,
  pin_failures     integer     NOT NULL DEFAULT 0,
  pin_locked_until timestamptz,
  totp_pending     text,
  totp_last_step   bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, account_id)
);

ALTER TABLE identity_ops.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity_ops.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity_ops.accounts ENABLE ROW LEVEL SECURITY;
