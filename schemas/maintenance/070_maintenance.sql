-- Maintenance module read model: intervention requests (a mechanic called to a loom;
-- later spare parts). Written by projections/maintenance/maintenance.c in the order of the
-- tenant's partition; only that projection writes these rows. Other modules' reads may
-- join them (production's loom detail shows a loom's open requests, its machine history
-- the steps of its interventions). Every row carries its tenant; row-level security as in
-- schemas/production/010_orders.sql. The tables were production's until issue 13
-- (schemas/production/014_interventions_to_maintenance.sql drops those).
CREATE SCHEMA maintenance;

CREATE TABLE maintenance.interventions (
  tenant           text    NOT NULL,
  intervention_id  uuid    NOT NULL,
  loom             text    NOT NULL,
  status           text    NOT NULL,
  cause            text    NOT NULL,
  note             text,
  source           text,
  requested_by     text,
  requested_at     timestamptz NOT NULL,
  mechanic         text,
  accepted_at      timestamptz,
  started_at       timestamptz,
  finished_at      timestamptz,
  cancelled_at     timestamptz,
  cancel_reason    text,
  finish_cause     text,
  parts            jsonb,
  duration_min     integer,
  notes            text,
  version          bigint  NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant, intervention_id)
);
CREATE INDEX interventions_status ON maintenance.interventions (tenant, status, requested_at);
CREATE INDEX interventions_loom ON maintenance.interventions (tenant, loom, requested_at);

-- Each step of each intervention (kind intervention_requested … intervention_cancelled),
-- with its event's data: the rows production.loom_history no longer has. A table, not a
-- view: rebuilds swap tables only.
CREATE TABLE maintenance.intervention_history (
  tenant    text    NOT NULL,
  event_id  text    NOT NULL,
  loom      text    NOT NULL,
  at        timestamptz NOT NULL,
  kind      text    NOT NULL,
  ref       text,
  detail    jsonb   NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX intervention_history_loom ON maintenance.intervention_history (tenant, loom, at, event_id);

ALTER TABLE maintenance.interventions ENABLE ROW LEVEL SECURITY;
ALTER TABLE maintenance.intervention_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON maintenance.interventions USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON maintenance.intervention_history USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA maintenance TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA maintenance TO fofal_reader;
