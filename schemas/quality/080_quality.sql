-- Quality module read model: cuts of rolls into graded lots, 4-point inspections, the
-- articles' acceptance thresholds, lots and their approval, non-conformities and their
-- actions. Written by projections/quality/quality.c in the order of the tenant's
-- partition of fofal.quality.events; only that projection writes these rows, other
-- modules' reads may join them. Every row carries its tenant; row-level security as in
-- schemas/production/010_orders.sql. Quantities exact: lengths and widths in mm, weights
-- in g, scores in points per 100 m² with two decimals (numeric, from the event's
-- score_x100).
CREATE SCHEMA quality;

-- One row per cut roll (a roll is cut once). lots: [{label_id, grade, pieces}], defects:
-- [{cause, pieces}] as in the event.
CREATE TABLE quality.cuts (
  tenant         text    NOT NULL,
  roll           uuid    NOT NULL,
  order_id       uuid,
  article        text,
  loom           text,
  weaver         text,
  shift          text,
  cutter         text,
  first_choice   integer NOT NULL,
  second_choice  integer NOT NULL,
  waste_pieces   integer NOT NULL,
  waste_mm       bigint,
  waste_g        bigint,
  defects        jsonb,
  lots           jsonb   NOT NULL,
  note           text,
  cut_at         timestamptz NOT NULL,
  version        bigint  NOT NULL,
  PRIMARY KEY (tenant, roll)
);
CREATE INDEX cuts_at ON quality.cuts (tenant, cut_at, roll);
CREATE INDEX cuts_loom ON quality.cuts (tenant, loom, cut_at);

CREATE TABLE quality.thresholds (
  tenant                text    NOT NULL,
  article               text    NOT NULL,
  max_points_per_100m2  integer NOT NULL,
  version               bigint  NOT NULL,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (tenant, article)
);

CREATE TABLE quality.inspections (
  tenant                text    NOT NULL,
  inspection_id         uuid    NOT NULL,
  lot                   text    NOT NULL,
  lot_kind              text    NOT NULL,
  article               text,
  inspector             text,
  length_mm             bigint  NOT NULL,
  width_mm              bigint  NOT NULL,
  defects               jsonb,
  points                integer NOT NULL,
  score_per_100m2       numeric(14,2) NOT NULL,
  max_points_per_100m2  integer NOT NULL,
  grade                 text    NOT NULL,
  note                  text,
  inspected_at          timestamptz NOT NULL,
  version               bigint  NOT NULL,
  PRIMARY KEY (tenant, inspection_id)
);
CREATE INDEX inspections_at ON quality.inspections (tenant, inspected_at, inspection_id);
CREATE INDEX inspections_lot ON quality.inspections (tenant, lot, inspected_at);

-- A lot appears with its first inspection (status pending) or its first decision.
-- status: pending, approved, approved_with_derogation, rejected; location quarantine for
-- a rejected lot. version: the lot's own events (approve, reject), 0 before any.
CREATE TABLE quality.lots (
  tenant         text    NOT NULL,
  lot            text    NOT NULL,
  lot_kind       text    NOT NULL,
  status         text    NOT NULL,
  grade          text,
  inspection_id  uuid,
  derogation     text,
  reason         text,
  location       text,
  signed_by      jsonb,
  decided_at     timestamptz,
  created_at     timestamptz NOT NULL,
  version        bigint  NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, lot)
);
CREATE INDEX lots_created ON quality.lots (tenant, created_at, lot);

-- status: open, analysed, closed. lots, looms, orders, people: JSON arrays of what it
-- concerns.
CREATE TABLE quality.ncs (
  tenant         text    NOT NULL,
  nc_id          uuid    NOT NULL,
  title          text    NOT NULL,
  description    text,
  source         text    NOT NULL,
  inspection_id  uuid,
  lots           jsonb,
  looms          jsonb,
  orders         jsonb,
  people         jsonb,
  status         text    NOT NULL,
  cause          text,
  category       text,
  verification   text,
  opened_by      text    NOT NULL,
  opened_at      timestamptz NOT NULL,
  analysed_at    timestamptz,
  closed_at      timestamptz,
  version        bigint  NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, nc_id)
);
CREATE INDEX ncs_opened ON quality.ncs (tenant, opened_at, nc_id);

CREATE TABLE quality.nc_actions (
  tenant       text    NOT NULL,
  nc_id        uuid    NOT NULL,
  action_no    integer NOT NULL,
  kind         text    NOT NULL,
  description  text    NOT NULL,
  owner        text    NOT NULL,
  due          date    NOT NULL,
  added_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, nc_id, action_no)
);
CREATE INDEX nc_actions_due ON quality.nc_actions (tenant, due);

ALTER TABLE quality.cuts ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.thresholds ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.inspections ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.lots ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.ncs ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.nc_actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON quality.cuts USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON quality.thresholds USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON quality.inspections USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON quality.lots USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON quality.ncs USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON quality.nc_actions USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA quality TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA quality TO fofal_reader;
