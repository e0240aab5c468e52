-- identity: the authentication state of fofal-api (issue 6). Accounts, sessions
-- (refresh-token families), refresh tokens, TOTP secrets and recovery codes, enrolled
-- shop-floor devices and PINs.
--
-- This is NOT a projection: fofal-api writes these tables itself (as the tables' owner,
-- on the read workers' write connections, api/accounts.c) and nothing rebuilds them from
-- Kafka. Secrets are stored only as hashes: passwords and PINs as argon2id encoded
-- strings, refresh tokens, recovery codes and device secrets (256-bit / 60-bit random
-- values) as SHA-256 hex. The TOTP secret must be usable, so it is stored as is; it never
-- leaves this schema except once, in the enrolment answer.
--
-- Every table is keyed by tenant. Row-level security is enabled and fofal_reader (the
-- role of the API's queries) is granted nothing here: no query path can read it.
CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE identity.accounts (
  tenant           text        NOT NULL,
  id               uuid        NOT NULL,
  username         text        NOT NULL,
  role             text        NOT NULL,
  password_hash    text,                      -- argon2id; NULL: no password sign-in
  badge            text,                      -- shop-floor badge id
  pin_hash         text,                      -- argon2id of the PIN
  pin_failures     integer     NOT NULL DEFAULT 0,
  pin_locked_until timestamptz,
  totp_secret      text,                      -- hex; NULL until enrolment is verified
  totp_pending     text,                      -- hex; an enrolment not verified yet
  totp_last_step   bigint      NOT NULL DEFAULT 0, -- last accepted TOTP step (no replay)
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, username)
);
CREATE UNIQUE INDEX accounts_badge ON identity.accounts (tenant, badge) WHERE badge IS NOT NULL;

-- A session is one refresh-token family: every refresh rotates the token within it; the
-- access tokens it issues carry its id as the `sid` claim.
CREATE TABLE identity.sessions (
  tenant         text        NOT NULL,
  sid            uuid        NOT NULL,
  account_id     uuid        NOT NULL,
  device_id      uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text,
  PRIMARY KEY (tenant, sid),
  FOREIGN KEY (tenant, account_id) REFERENCES identity.accounts (tenant, id)
);
CREATE INDEX sessions_account ON identity.sessions (tenant, account_id);

CREATE TABLE identity.refresh_tokens (
  token_hash text        PRIMARY KEY,         -- SHA-256 hex of the opaque token
  tenant     text        NOT NULL,
  sid        uuid        NOT NULL,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,                     -- set when rotated: a second use is reuse
  FOREIGN KEY (tenant, sid) REFERENCES identity.sessions (tenant, sid)
);
CREATE INDEX refresh_tokens_sid ON identity.refresh_tokens (tenant, sid);

CREATE TABLE identity.recovery_codes (
  tenant     text NOT NULL,
  account_id uuid NOT NULL,
  code_hash  text NOT NULL,                   -- SHA-256 hex
  used_at    timestamptz,
  PRIMARY KEY (tenant, account_id, code_hash),
  FOREIGN KEY (tenant, account_id) REFERENCES identity.accounts (tenant, id)
);

CREATE TABLE identity.devices (
  tenant      text        NOT NULL,
  id          uuid        NOT NULL,
  name        text        NOT NULL,
  secret_hash text        NOT NULL,           -- SHA-256 hex of the device secret
  created_by  text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  PRIMARY KEY (tenant, id)
);

ALTER TABLE identity.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity.recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity.devices ENABLE ROW LEVEL SECURITY;
