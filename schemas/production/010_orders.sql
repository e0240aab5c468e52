-- Production module read model: production orders and their output declarations.
-- Every row carries its tenant; row-level security keeps a tenant's queries to its own rows
-- whatever the WHERE clause says (current_setting('fofal.tenant') is set per request).
CREATE SCHEMA production;

CREATE TABLE production.orders (
  tenant      text    NOT NULL,
  order_id    uuid    NOT NULL,
  article     text    NOT NULL,
  quantity    integer NOT NULL,
  unit        text    NOT NULL,
  due_date    date,
  loom        text,
  status      text    NOT NULL,
  declared    integer NOT NULL DEFAULT 0,
  version     bigint  NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, order_id)
);
CREATE INDEX orders_status ON production.orders (tenant, status, order_id);
CREATE INDEX orders_loom ON production.orders (tenant, loom) WHERE loom IS NOT NULL;

CREATE TABLE production.declarations (
  tenant      text    NOT NULL,
  label_id    uuid    NOT NULL,
  order_id    uuid    NOT NULL,
  quantity    integer NOT NULL,
  weaver      text    NOT NULL,
  loom        text,
  shift       text,
  declared_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id)
);
CREATE INDEX declarations_order ON production.declarations (tenant, order_id);

ALTER TABLE production.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.declarations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON production.orders USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.declarations USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA production TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA production TO fofal_reader;
