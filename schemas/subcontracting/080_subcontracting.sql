-- Subcontracting module read model: subcontractors, dispatches of lots out to them with
-- what came back of each lot, and the returns. Written by
-- projections/subcontracting/subcontracting.c in the order of the tenant's partition; only
-- that projection writes these rows. Quantities are thousandths of the lot's unit
-- (bigint). Every row carries its tenant; row-level security as in
-- schemas/production/010_orders.sql.
CREATE SCHEMA subcontracting;

CREATE TABLE subcontracting.subcontractors (
  tenant         text    NOT NULL,
  subcontractor  text    NOT NULL,
  name           text    NOT NULL,
  operations     jsonb   NOT NULL,
  site           text,
  contact        text,
  version        bigint  NOT NULL,
  registered_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, subcontractor)
);

CREATE TABLE subcontracting.dispatches (
  tenant           text    NOT NULL,
  dispatch_id      uuid    NOT NULL,
  subcontractor    text    NOT NULL,
  operation        text    NOT NULL,
  status           text    NOT NULL,
  expected_return  date    NOT NULL,
  note             text,
  sent_by          text    NOT NULL,
  sender_badge     text,
  sent_at          timestamptz NOT NULL,
  closed_at        timestamptz,
  version          bigint  NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant, dispatch_id)
);
CREATE INDEX dispatches_subcontractor ON subcontracting.dispatches (tenant, subcontractor, sent_at);
CREATE INDEX dispatches_status ON subcontracting.dispatches (tenant, status, sent_at);

CREATE TABLE subcontracting.dispatch_lots (
  tenant          text    NOT NULL,
  dispatch_id     uuid    NOT NULL,
  label_id        uuid    NOT NULL,
  quantity_milli  bigint  NOT NULL,
  good_milli      bigint  NOT NULL,
  rejected_milli  bigint  NOT NULL,
  lost_milli      bigint  NOT NULL,
  PRIMARY KEY (tenant, dispatch_id, label_id)
);
CREATE INDEX dispatch_lots_label ON subcontracting.dispatch_lots (tenant, label_id);

CREATE TABLE subcontracting.returns (
  tenant          text    NOT NULL,
  return_id       uuid    NOT NULL,
  dispatch_id     uuid    NOT NULL,
  returned_by     text    NOT NULL,
  returner_badge  text,
  returned_at     timestamptz NOT NULL,
  note            text,
  lines           jsonb   NOT NULL,
  PRIMARY KEY (tenant, return_id)
);
CREATE INDEX returns_dispatch ON subcontracting.returns (tenant, dispatch_id, returned_at);

ALTER TABLE subcontracting.subcontractors ENABLE ROW LEVEL SECURITY;
ALTER TABLE subcontracting.dispatches ENABLE ROW LEVEL SECURITY;
ALTER TABLE subcontracting.dispatch_lots ENABLE ROW LEVEL SECURITY;
ALTER TABLE subcontracting.returns ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON subcontracting.subcontractors USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON subcontracting.dispatches USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON subcontracting.dispatch_lots USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON subcontracting.returns USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA subcontracting TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA subcontracting TO fofal_reader;
