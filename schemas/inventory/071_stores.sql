-- The storekeepers' read model (commands/inventory/stores.c): locations, yarn lots and
-- what was issued of them to which beam, cartons and pallets (units.carton_id), counts
-- with their lines, the stock now (stock) and its ledger (movements), from which the stock
-- at any past instant is summed, minimums per item and location and the alerts below them. Written by projections/inventory/ (stores.c) in the order
-- of the tenant's partition of fofal.inventory.events. Quantities are exact integers:
-- grams of a lot, pieces of a unit. occurred_at is when a thing happened (an offline
-- phone's time), recorded_at when it was decided. Row-level security as in 070_inventory.sql.
CREATE TABLE inventory.locations (
  tenant      text    NOT NULL,
  location    text    NOT NULL,
  kind        text    NOT NULL,
  name        text,
  version     bigint  NOT NULL,
  defined_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, location)
);

CREATE TABLE inventory.lots (
  tenant          text    NOT NULL,
  lot             text    NOT NULL,
  item            text    NOT NULL,
  supplier_lot    text    NOT NULL,
  received_g      bigint  NOT NULL,
  weight_g        bigint  NOT NULL,
  reserved_g      bigint  NOT NULL DEFAULT 0,
  returned_g      bigint  NOT NULL DEFAULT 0,
  cones           integer,
  location        text    NOT NULL,
  purchase_order  text,
  received_at     timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL,
  version         bigint  NOT NULL,
  PRIMARY KEY (tenant, lot)
);
CREATE INDEX lots_supplier_lot ON inventory.lots (tenant, supplier_lot);

-- One row per issue of a lot to a warping: the link yarn lot → beam of the genealogy.
CREATE TABLE inventory.lot_issues (
  tenant       text    NOT NULL,
  event_id     text    NOT NULL,
  lot          text    NOT NULL,
  beam         text    NOT NULL,
  order_id     uuid,
  weight_g     bigint  NOT NULL,
  location     text    NOT NULL,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX lot_issues_lot ON inventory.lot_issues (tenant, lot);
CREATE INDEX lot_issues_beam ON inventory.lot_issues (tenant, beam);

-- A unit's carton, and the beams it was woven from ([{beam, meters}], from its declaration):
-- the genealogy's links unit → carton → pallet and unit → beam → yarn lot.
ALTER TABLE inventory.units ADD COLUMN carton_id uuid;
ALTER TABLE inventory.units ADD COLUMN beams jsonb;
CREATE INDEX units_carton ON inventory.units (tenant, carton_id);
CREATE INDEX units_beams ON inventory.units USING gin (beams jsonb_path_ops);

CREATE TABLE inventory.cartons (
  tenant      text    NOT NULL,
  carton_id   uuid    NOT NULL,
  location    text    NOT NULL,
  pieces      integer NOT NULL,
  units       integer NOT NULL,
  pallet_id   uuid,
  packed_by   text,
  packed_at   timestamptz NOT NULL,
  version     bigint  NOT NULL,
  PRIMARY KEY (tenant, carton_id)
);
CREATE INDEX cartons_pallet ON inventory.cartons (tenant, pallet_id);

CREATE TABLE inventory.pallets (
  tenant      text    NOT NULL,
  pallet_id   uuid    NOT NULL,
  sscc        text    NOT NULL,
  location    text    NOT NULL,
  pieces      integer NOT NULL,
  cartons     integer NOT NULL,
  built_by    text,
  built_at    timestamptz NOT NULL,
  version     bigint  NOT NULL,
  PRIMARY KEY (tenant, pallet_id)
);
CREATE INDEX pallets_sscc ON inventory.pallets (tenant, sscc);

CREATE TABLE inventory.counts (
  tenant       text    NOT NULL,
  count_id     uuid    NOT NULL,
  location     text    NOT NULL,
  status       text    NOT NULL,
  reason       text,
  adjustments  integer,
  opened_by    text,
  opened_at    timestamptz NOT NULL,
  closed_at    timestamptz,
  version      bigint  NOT NULL,
  PRIMARY KEY (tenant, count_id)
);

-- A counted holding (the last record wins) and, once closed, its book and adjustment; a
-- holding of the book that nobody counted gets a line at the close (counted 0).
CREATE TABLE inventory.count_lines (
  tenant       text    NOT NULL,
  count_id     uuid    NOT NULL,
  holding_id   uuid    NOT NULL,
  holding      text    NOT NULL,
  kind         text    NOT NULL,
  counted      bigint  NOT NULL,
  book         bigint,
  delta        bigint,
  recorded_by  text,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, count_id, holding_id)
);

-- What each location holds now: one row per holding and location (stock_changed).
CREATE TABLE inventory.stock (
  tenant      text    NOT NULL,
  location    text    NOT NULL,
  holding_id  uuid    NOT NULL,
  holding     text    NOT NULL,
  kind        text    NOT NULL,
  item        text    NOT NULL,
  quantity    bigint  NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, location, holding_id)
);
CREATE INDEX stock_item ON inventory.stock (tenant, item);

-- The ledger: every stock_changed event, dated when it happened and when recorded.
CREATE TABLE inventory.movements (
  tenant       text    NOT NULL,
  event_id     text    NOT NULL,
  location     text    NOT NULL,
  holding_id   uuid    NOT NULL,
  holding      text    NOT NULL,
  kind         text    NOT NULL,
  item         text    NOT NULL,
  delta        bigint  NOT NULL,
  cause        text    NOT NULL,
  actor        text,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX movements_location ON inventory.movements (tenant, location, occurred_at);
CREATE INDEX movements_item ON inventory.movements (tenant, item, occurred_at);
CREATE INDEX movements_holding ON inventory.movements (tenant, holding_id, occurred_at);

-- The minimum of an item at a location, and the alerts raised when its stock fell below.
CREATE TABLE inventory.minimums (
  tenant      text    NOT NULL,
  location    text    NOT NULL,
  item        text    NOT NULL,
  minimum     bigint  NOT NULL,
  set_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, location, item)
);

CREATE TABLE inventory.alerts (
  tenant       text    NOT NULL,
  event_id     text    NOT NULL,
  location     text    NOT NULL,
  item         text    NOT NULL,
  on_hand      bigint  NOT NULL,
  minimum      bigint  NOT NULL,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX alerts_recent ON inventory.alerts (tenant, recorded_at);

ALTER TABLE inventory.minimums ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON inventory.minimums USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.alerts USING (tenant = current_setting('fofal.tenant', true));
ALTER TABLE inventory.locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.lots ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.lot_issues ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.cartons ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.pallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.count_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.stock ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory.movements ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON inventory.locations USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.lots USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.lot_issues USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.cartons USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.pallets USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.counts USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.count_lines USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.stock USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON inventory.movements USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO fofal_reader;
