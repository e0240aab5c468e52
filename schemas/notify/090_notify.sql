-- Notify module. Schema notify: the read model of the module's events, written by
-- projections/notify/notify.c only (rebuilt and verified like every projection). Schema
-- notify_ops: fofal-notifier's own state — where it is in the event topics and each
-- message it made (sent, pending a retry, failed) — written by fofal-notifier only, never
-- rebuilt: a rebuild must not make it send again. Every row carries its tenant;
-- row-level security as in schemas/production/010_orders.sql.
CREATE SCHEMA notify;

CREATE TABLE notify.settings (
  tenant       text   NOT NULL PRIMARY KEY,
  tenant_name  text   NOT NULL,
  lang         text   NOT NULL,
  version      bigint NOT NULL
);

CREATE TABLE notify.rules (
  tenant      text    NOT NULL,
  rule_id     text    NOT NULL,
  event_type  text    NOT NULL,
  channel     text    NOT NULL,
  roles       text[]  NOT NULL,
  badges      text[]  NOT NULL,
  enabled     boolean NOT NULL,
  on_shift    boolean NOT NULL DEFAULT false, -- only the recipients on shift (hr.shift_assignments)
  set_by      text,
  version     bigint  NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, rule_id)
);
CREATE INDEX rules_event ON notify.rules (tenant, event_type);

-- A person's contact: email and phone stay sealed as in the events ({"$enc","p","ct"},
-- the person's key); fofal-notifier opens them to send, nothing else does.
CREATE TABLE notify.contacts (
  tenant        text    NOT NULL,
  badge         text    NOT NULL,
  person_id     uuid    NOT NULL,
  email         jsonb,
  phone         jsonb,
  lang          text    NOT NULL DEFAULT 'fr',
  roles         text[]  NOT NULL DEFAULT '{}',
  optout_email  boolean NOT NULL DEFAULT false,
  optout_sms    boolean NOT NULL DEFAULT false,
  version       bigint  NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, badge)
);

CREATE TABLE notify.failures (
  tenant      text   NOT NULL,
  message_id  uuid   NOT NULL,
  event_id    text   NOT NULL,
  event_type  text   NOT NULL,
  rule_id     text   NOT NULL,
  badge       text   NOT NULL,
  channel     text   NOT NULL,
  attempts    integer NOT NULL,
  reason      text   NOT NULL,
  failed_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, message_id)
);

CREATE SCHEMA notify_ops;

-- Where fofal-notifier is in each event topic it reads: the next offset, written in the
-- transaction that records the messages of the records before it (exactly once).
CREATE TABLE notify_ops.positions (
  topic        text    NOT NULL,
  partition    integer NOT NULL,
  next_offset  bigint  NOT NULL,
  PRIMARY KEY (topic, partition)
);

-- One row per (event, rule, person): its id is name-based on them (commands/notify/notify.h),
-- so a record read again makes no second row. subject and body hold no address.
CREATE TABLE notify_ops.messages (
  tenant       text    NOT NULL,
  message_id   uuid    NOT NULL,
  event_id     text    NOT NULL,
  event_type   text    NOT NULL,
  rule_id      text    NOT NULL,
  badge        text    NOT NULL,
  channel      text    NOT NULL,
  lang         text    NOT NULL,
  subject      text    NOT NULL,
  body         text    NOT NULL,
  status       text    NOT NULL,          -- pending, sent, failed, skipped
  attempts     integer NOT NULL DEFAULT 0,
  next_at      timestamptz NOT NULL,
  last_error   text,
  created_at   timestamptz NOT NULL,
  sent_at      timestamptz,
  PRIMARY KEY (tenant, message_id)
);
CREATE INDEX messages_due ON notify_ops.messages (next_at) WHERE status = 'pending';
CREATE INDEX messages_status ON notify_ops.messages (tenant, status, created_at, message_id);

ALTER TABLE notify.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify.rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify.contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify.failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify_ops.messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON notify.settings USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON notify.rules USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON notify.contacts USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON notify.failures USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON notify_ops.messages USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA notify, notify_ops TO fofal_reader;
GRANT SELECT ON notify.settings, notify.rules, notify.failures, notify_ops.messages TO fofal_reader;
