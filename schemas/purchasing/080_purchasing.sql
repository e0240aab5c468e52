-- Purchasing module read model: suppliers, the tenant's purchasing settings, purchase
-- requests with their approvals, purchase orders with their lines, and receipts. Written
-- by projections/purchasing/purchasing.c in the order of the tenant's partition; only that
-- projection writes these rows (other modules' reads may join them). Quantities are
-- thousandths of their unit (bigint), money minor units (bigint). Every row carries its
-- tenant; row-level security as in schemas/production/010_orders.sql.
CREATE SCHEMA purchasing;

CREATE TABLE purchasing.suppliers (
  tenant              text    NOT NULL,
  supplier            text    NOT NULL,
  name                text    NOT NULL,
  currency            text    NOT NULL,
  payment_terms_days  integer,
  payment_terms       text,
  vat_id              text,
  contact             text,
  version             bigint  NOT NULL,
  registered_at       timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  PRIMARY KEY (tenant, supplier)
);

CREATE TABLE purchasing.settings (
  tenant                      text    NOT NULL,
  approval_limits             jsonb   NOT NULL,
  over_receipt_tolerance_pct  integer,
  currency                    text,
  version                     bigint  NOT NULL,
  updated_at                  timestamptz NOT NULL,
  PRIMARY KEY (tenant)
);

CREATE TABLE purchasing.requests (
  tenant                text    NOT NULL,
  request_id            uuid    NOT NULL,
  status                text    NOT NULL,
  item                  text,
  description           text,
  quantity_milli        bigint  NOT NULL,
  unit                  text    NOT NULL,
  need_by               date    NOT NULL,
  reason                text    NOT NULL,
  estimated_unit_price  bigint,
  amount                bigint,
  intervention_id       uuid,
  station               text    NOT NULL,
  requested_by          text    NOT NULL,
  requester_badge       text,
  requested_at          timestamptz NOT NULL,
  approvals             jsonb   NOT NULL DEFAULT '[]',
  rejected_by           text,
  reject_reason         text,
  rejected_at           timestamptz,
  order_id              uuid,
  ordered_at            timestamptz,
  version               bigint  NOT NULL,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (tenant, request_id)
);
CREATE INDEX requests_status ON purchasing.requests (tenant, status, requested_at);
CREATE INDEX requests_station ON purchasing.requests (tenant, station, requested_at);

CREATE TABLE purchasing.orders (
  tenant        text    NOT NULL,
  order_id      uuid    NOT NULL,
  supplier      text    NOT NULL,
  currency      text    NOT NULL,
  status        text    NOT NULL,
  total         bigint  NOT NULL,
  requests      jsonb   NOT NULL DEFAULT '[]',
  note          text,
  issued_by     text    NOT NULL,
  issued_at     timestamptz NOT NULL,
  closed_at     timestamptz,
  cancelled_at  timestamptz,
  reason        text,
  version       bigint  NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant, order_id)
);
CREATE INDEX orders_supplier ON purchasing.orders (tenant, supplier, issued_at);
CREATE INDEX orders_status ON purchasing.orders (tenant, status, issued_at);

CREATE TABLE purchasing.order_lines (
  tenant          text    NOT NULL,
  order_id        uuid    NOT NULL,
  line            integer NOT NULL,
  item            text,
  description     text,
  quantity_milli  bigint  NOT NULL,
  unit            text    NOT NULL,
  unit_price      bigint  NOT NULL,
  expected_date   date    NOT NULL,
  received_milli  bigint  NOT NULL,
  refused_milli   bigint  NOT NULL,
  PRIMARY KEY (tenant, order_id, line)
);

CREATE TABLE purchasing.receipts (
  tenant          text    NOT NULL,
  receipt_id      uuid    NOT NULL,
  order_id        uuid    NOT NULL,
  supplier        text    NOT NULL,
  delivery_note   text,
  received_by     text    NOT NULL,
  receiver_badge  text,
  received_at     timestamptz NOT NULL,
  lines           jsonb   NOT NULL,
  PRIMARY KEY (tenant, receipt_id)
);
CREATE INDEX receipts_order ON purchasing.receipts (tenant, order_id, received_at);

ALTER TABLE purchasing.suppliers ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchasing.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchasing.requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchasing.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchasing.order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchasing.receipts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON purchasing.suppliers USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON purchasing.settings USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON purchasing.requests USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON purchasing.orders USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON purchasing.order_lines USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON purchasing.receipts USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA purchasing TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA purchasing TO fofal_reader;
