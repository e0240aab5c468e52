-- Machines module read model (projections/machines.c): the loom board, per loom and shift
-- activity (run and stop time by cause, picks, stops), breakdowns, and hall climate.
-- Every row carries its tenant; row-level security keeps a tenant's queries to its own
-- rows. Ratios (efficiency, stops per 10^5 picks, OEE) are computed by the queries from
-- these sums, so that adding up tallies stays exact.
CREATE SCHEMA machines;

CREATE TABLE machines.looms (
  tenant      text NOT NULL,
  loom        text NOT NULL,
  state       text NOT NULL,             -- running | stopped
  cause       text,                      -- when stopped
  since       timestamptz NOT NULL,
  breakdown   boolean NOT NULL DEFAULT false,
  ppm         double precision,
  last_seen   timestamptz,
  version     bigint NOT NULL,
  PRIMARY KEY (tenant, loom)
);

CREATE TABLE machines.loom_shifts (
  tenant             text NOT NULL,
  loom               text NOT NULL,
  shift              text NOT NULL,     -- "YYYY-MM-DD/A|B|C"
  run_s              double precision NOT NULL DEFAULT 0,
  stop_s             double precision NOT NULL DEFAULT 0,
  stop_s_warp_break  double precision NOT NULL DEFAULT 0,
  stop_s_weft_break  double precision NOT NULL DEFAULT 0,
  stop_s_mechanical  double precision NOT NULL DEFAULT 0,
  stop_s_electrical  double precision NOT NULL DEFAULT 0,
  stop_s_other       double precision NOT NULL DEFAULT 0,
  stops_warp_break   integer NOT NULL DEFAULT 0,
  stops_weft_break   integer NOT NULL DEFAULT 0,
  stops_mechanical   integer NOT NULL DEFAULT 0,
  stops_electrical   integer NOT NULL DEFAULT 0,
  stops_other        integer NOT NULL DEFAULT 0,
  picks              bigint NOT NULL DEFAULT 0,
  theoretical_picks  double precision NOT NULL DEFAULT 0,
  samples            bigint NOT NULL DEFAULT 0,
  late               bigint NOT NULL DEFAULT 0,
  duplicates         bigint NOT NULL DEFAULT 0,
  first_at           timestamptz NOT NULL,
  last_at            timestamptz NOT NULL,
  PRIMARY KEY (tenant, loom, shift)
);

CREATE TABLE machines.breakdowns (
  tenant      text NOT NULL,
  command_id  uuid NOT NULL,             -- the intervention request it raised
  loom        text NOT NULL,
  cause       text NOT NULL,
  reason      text NOT NULL,
  since       timestamptz NOT NULL,
  declared_at timestamptz NOT NULL,
  ended_at    timestamptz,
  PRIMARY KEY (tenant, command_id)
);
CREATE INDEX breakdowns_loom ON machines.breakdowns (tenant, loom, since);

CREATE TABLE machines.halls (
  tenant      text NOT NULL,
  hall        text NOT NULL,
  temperature double precision,
  humidity    double precision,
  at          timestamptz NOT NULL,
  PRIMARY KEY (tenant, hall)
);

CREATE TABLE machines.hall_readings (
  tenant      text NOT NULL,
  hall        text NOT NULL,
  at          timestamptz NOT NULL,
  msg_id      text NOT NULL,
  temperature double precision,
  humidity    double precision,
  PRIMARY KEY (tenant, hall, at, msg_id)
);

ALTER TABLE machines.looms ENABLE ROW LEVEL SECURITY;
ALTER TABLE machines.loom_shifts ENABLE ROW LEVEL SECURITY;
ALTER TABLE machines.breakdowns ENABLE ROW LEVEL SECURITY;
ALTER TABLE machines.halls ENABLE ROW LEVEL SECURITY;
ALTER TABLE machines.hall_readings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON machines.looms USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON machines.loom_shifts USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON machines.breakdowns USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON machines.halls USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON machines.hall_readings USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA machines TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA machines TO fofal_reader;
