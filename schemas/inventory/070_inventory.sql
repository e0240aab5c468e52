-- Inventory module read model: stock units (today the woven rolls and pieces a declaration
-- puts into stock, by the reaction inventory.unit_on_declaration) and the prints of their
-- labels; later lots, cartons, pallets and locations. Written by
-- projections/inventory/inventory.c in the order of the tenant's partition of
-- fofal.inventory.events; only that projection writes these rows, other modules' reads may
-- join them. A unit is named by its label id (its aggregate id). Every row carries its
-- tenant; row-level security as in schemas/production/010_orders.sql.
CREATE SCHEMA inventory;

CREATE TABLE inventory.units (
  tenant           text    NOT NULL,
  label_id         uuid    NOT NULL,
  order_id         uuid    NOT NULL,
  article          text,
  loom             text    NOT NULL,
  weaver           text    NOT NULL,
  shift            text    NOT NULL,
  quantity         integer NOT NULL,
  length_m         numeric,
  woven_at         timestamptz NOT NULL,
  location         text    NOT NULL,
  prints           integer NOT NULL,
  version          bigint  NOT NULL,
  received_at      timestamptz NOT NULL,
  last_printed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id)
);
CREATE INDEX units_order ON inventory.units (tenant, order_id);

-- print_no 1 is the first print (unit_received: the label the weaver's phone shows);
-- reprints follow.
CREATE TABLE inventory.label_prints (
  tenant      text    NOT NULL,
  label_id    uuid    NOT NULL,
  print_no    integer NOT NULL,
  reason      text,
  printer     text,
  actor       text,
  printed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id, print_no)
);

ALTER TABLE inventory.units ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.label_prints ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON inventory.units USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.label_prints USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA inventory TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO fofal_reader;
