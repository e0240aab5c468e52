-- Production module read model, the weaving floor: articles, looms, warp beams, employees
-- and their shifts, the shift model, labels and their prints, interventions, first-piece
-- checks and each loom's machine history; orders and declarations gain what the new
-- events say (planned, paused, resumed, closed; woven length, time and shift).
--
-- Written by projections/weaving.c and production.c, one row per aggregate (or per event
-- for the histories), in the order of the tenant's partition, so a rebuild yields the same
-- rows. Shadow rebuilds copy these tables with LIKE … INCLUDING ALL: no foreign keys, no
-- triggers, no views or sequences here (projections/rebuild.c refuses them). Every row
-- carries its tenant; row-level security as in 010.

ALTER TABLE production.orders
  ADD COLUMN planned_start timestamptz,
  ADD COLUMN length_m      numeric NOT NULL DEFAULT 0,
  ADD COLUMN pause_reason  text,
  ADD COLUMN started_at    timestamptz,
  ADD COLUMN completed_at  timestamptz,
  ADD COLUMN closed_at     timestamptz;

ALTER TABLE production.declarations
  ADD COLUMN length_m  numeric,
  ADD COLUMN woven_at  timestamptz,
  ADD COLUMN article   text;
CREATE INDEX declarations_weaver_shift ON production.declarations (tenant, weaver, shift);

CREATE TABLE production.articles (
  tenant            text    NOT NULL,
  article           text    NOT NULL,
  name              text,
  weave             text,
  width_cm          numeric,
  length_cm         numeric,
  gsm               numeric,
  picks_per_cm      numeric,
  warp_yarn         text,
  weft_yarn         text,
  pile_yarn         text,
  warp_g_per_piece  numeric,
  weft_g_per_piece  numeric,
  pile_g_per_piece  numeric,
  version           bigint  NOT NULL,
  defined_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant, article)
);

-- efficiency: 0.85 until something better is known (telemetry will say).
CREATE TABLE production.looms (
  tenant          text    NOT NULL,
  loom            text    NOT NULL,
  hall            text,
  type            text,
  width_cm        numeric,
  nominal_ppm     integer,
  weave           text    NOT NULL,
  efficiency      numeric NOT NULL DEFAULT 0.85,
  article         text,
  set_up_at       timestamptz,
  first_piece     text    NOT NULL DEFAULT 'not_required',
  first_piece_at  timestamptz,
  ground_beam     text,
  pile_beam       text,
  current_order   uuid,
  order_since     timestamptz,
  version         bigint  NOT NULL,
  registered_at   timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, loom)
);
CREATE INDEX looms_first_piece ON production.looms (tenant, first_piece);

-- warp_m_per_h: warp used per hour on its loom = production m/h × (1 + take-up);
-- hours_to_runout = meters_left ÷ warp_m_per_h, counted from runout_from (the last
-- consumption, else the mount); runout_at = runout_from + hours_to_runout.
CREATE TABLE production.beams (
  tenant            text    NOT NULL,
  beam              text    NOT NULL,
  kind              text    NOT NULL,
  article           text,
  yarn_lots         jsonb,
  ends              integer,
  length_m          numeric NOT NULL,
  take_up_pct       numeric NOT NULL,
  status            text    NOT NULL,
  method            text,
  recipe            text,
  loom              text,
  position          text,
  meters_left       numeric NOT NULL,
  consumed_m        numeric NOT NULL DEFAULT 0,
  warp_m_per_h      numeric,
  hours_to_runout   numeric,
  runout_from       timestamptz,
  runout_at         timestamptz,
  warped_at         timestamptz NOT NULL,
  mounted_at        timestamptz,
  doffed_at         timestamptz,
  doff_reason       text,
  version           bigint  NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant, beam)
);
CREATE INDEX beams_status ON production.beams (tenant, status, beam);
CREATE INDEX beams_loom ON production.beams (tenant, loom) WHERE loom IS NOT NULL;

CREATE TABLE production.employees (
  tenant         text    NOT NULL,
  badge          text    NOT NULL,
  name           text,
  job            text,
  version        bigint  NOT NULL,
  registered_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, badge)
);

CREATE TABLE production.shift_assignments (
  tenant       text    NOT NULL,
  badge        text    NOT NULL,
  shift        text    NOT NULL,
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  looms        text[]  NOT NULL,
  assigned_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, badge, shift)
);
CREATE INDEX shift_assignments_time ON production.shift_assignments (tenant, badge, starts_at);

CREATE TABLE production.shift_models (
  tenant          text    NOT NULL,
  model           text    NOT NULL,
  utc_offset_min  integer NOT NULL,
  shifts          jsonb   NOT NULL,
  working_days    jsonb,
  version         bigint  NOT NULL,
  defined_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, model)
);

CREATE TABLE production.labels (
  tenant           text    NOT NULL,
  label_id         uuid    NOT NULL,
  order_id         uuid    NOT NULL,
  article          text,
  loom             text    NOT NULL,
  weaver           text    NOT NULL,
  shift            text    NOT NULL,
  quantity         integer NOT NULL,
  length_m         numeric NOT NULL,
  woven_at         timestamptz NOT NULL,
  location         text    NOT NULL,
  prints           integer NOT NULL,
  version          bigint  NOT NULL,
  issued_at        timestamptz NOT NULL,
  last_printed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id)
);
CREATE INDEX labels_order ON production.labels (tenant, order_id);

-- print_no 1 is the first print (label_issued); reprints follow.
CREATE TABLE production.label_prints (
  tenant      text    NOT NULL,
  label_id    uuid    NOT NULL,
  print_no    integer NOT NULL,
  reason      text,
  printer     text,
  actor       text,
  printed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, label_id, print_no)
);

CREATE TABLE production.interventions (
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
CREATE INDEX interventions_status ON production.interventions (tenant, status, requested_at);
CREATE INDEX interventions_loom ON production.interventions (tenant, loom, requested_at);

CREATE TABLE production.first_piece_checks (
  tenant      text    NOT NULL,
  event_id    text    NOT NULL,
  loom        text    NOT NULL,
  result      text    NOT NULL,
  article     text,
  inspector   text,
  checked_by  text,
  notes       text,
  checked_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX first_piece_checks_loom ON production.first_piece_checks (tenant, loom, checked_at);

-- One row per event that concerns a loom's machine: set-ups, beam changes, first-piece
-- checks, interventions (each step), orders started on it. A table, not a view: rebuilds
-- swap tables only.
CREATE TABLE production.loom_history (
  tenant    text    NOT NULL,
  event_id  text    NOT NULL,
  loom      text    NOT NULL,
  at        timestamptz NOT NULL,
  kind      text    NOT NULL,
  ref       text,
  detail    jsonb   NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX loom_history_loom ON production.loom_history (tenant, loom, at, event_id);

ALTER TABLE production.articles ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.looms ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.beams ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.employees ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.shift_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.shift_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.labels ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.label_prints ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.interventions ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.first_piece_checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE production.loom_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON production.articles USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.looms USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.beams USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.employees USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.shift_assignments USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.shift_models USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.labels USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.label_prints USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.interventions USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.first_piece_checks USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON production.loom_history USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON ALL TABLES IN SCHEMA production TO fofal_reader;
