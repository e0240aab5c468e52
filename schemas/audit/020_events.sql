-- Audit read model: every event, one row each, for an aggregate's history and its state
-- at a past time (GET /api/v1/audit/{module}/{id}/events). Filled by the projection
-- "audit.<module>"; tenant-isolated by row-level security like every read model.
CREATE SCHEMA audit;

CREATE TABLE audit.events (
  tenant         text        NOT NULL,
  module         text        NOT NULL,
  aggregate      text        NOT NULL,
  seq            bigint      NOT NULL,
  event_id       uuid        NOT NULL,
  type           text        NOT NULL,
  time           timestamptz NOT NULL,
  actor          text,
  command_id     text,
  correlation_id text,
  data           jsonb       NOT NULL,
  position       text        NOT NULL,
  PRIMARY KEY (tenant, module, aggregate, seq)
);
CREATE INDEX events_time ON audit.events (tenant, time);

ALTER TABLE audit.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON audit.events USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA audit TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA audit TO fofal_reader;
