-- What issue 14 added to the storekeepers' read model (projections/inventory/handling.c):
-- pick lists and their lines, and alerts of stock back at its minimum (kind 'restored';
-- 'below' the alerts of stock_below_minimum). A carton or pallet moved as a whole updates
-- the rows of 071_stores.sql (cartons, pallets, units). Row-level security as there.
ALTER TABLE inventory.alerts ADD COLUMN kind text NOT NULL DEFAULT 'below';

CREATE TABLE inventory.picks (
  tenant      text    NOT NULL,
  pick_id     uuid    NOT NULL,
  order_id    uuid    NOT NULL,
  beam        text,
  status      text    NOT NULL,
  lines       integer NOT NULL,
  weight_g    bigint  NOT NULL,
  issued_g    bigint,
  created_by  text,
  created_at  timestamptz NOT NULL,
  issued_at   timestamptz,
  version     bigint  NOT NULL,
  PRIMARY KEY (tenant, pick_id)
);
CREATE INDEX picks_recent ON inventory.picks (tenant, created_at);

CREATE TABLE inventory.pick_lines (
  tenant      text    NOT NULL,
  pick_id     uuid    NOT NULL,
  lot         text    NOT NULL,
  weight_g    bigint  NOT NULL,
  location    text,
  reserved_g  bigint  NOT NULL DEFAULT 0,
  picked_g    bigint,
  picked_by   text,
  picked_at   timestamptz,
  PRIMARY KEY (tenant, pick_id, lot)
);
CREATE INDEX pick_lines_lot ON inventory.pick_lines (tenant, lot);

ALTER TABLE inventory.picks ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.pick_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON inventory.picks USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.pick_lines USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO fofal_reader;
