-- HR module read model: employees (personal fields sealed, see below), their shift
-- assignments and the mill's shift model (later attendance and pay). Written by
-- projections/hr/hr.c, in the order of the tenant's partition of fofal.hr.events. Other
-- modules' reads may join these rows (production's weaver view and labels do); only the
-- hr projection writes them. Every row carries its tenant; row-level security as in
-- schemas/production/010_orders.sql.
--
-- Personal data (issue 6 item 8): the name is opened by the projector (with the person's
-- key, events/crypto.c) because the floor shows it, and reads 'erased' once the person is
-- erased; phone, national id, bank account and salary stay sealed in `personal`, as they
-- are in the events ({"$enc","p","ct"} per field), and fofal-api opens them for the roles
-- allowed to see them: the read model never holds them in clear.
CREATE SCHEMA hr;

CREATE TABLE hr.employees (
  tenant         text    NOT NULL,
  badge          text    NOT NULL,
  name           text,
  job            text,
  version        bigint  NOT NULL,
  registered_at  timestamptz NOT NULL,
  person_id      uuid,
  personal       jsonb   NOT NULL DEFAULT '{}'::jsonb,
  erased_at      timestamptz,
  PRIMARY KEY (tenant, badge)
);

CREATE TABLE hr.shift_assignments (
  tenant       text    NOT NULL,
  badge        text    NOT NULL,
  shift        text    NOT NULL,
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  looms        text[]  NOT NULL,
  assigned_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, badge, shift)
);
CREATE INDEX shift_assignments_time ON hr.shift_assignments (tenant, badge, starts_at);

CREATE TABLE hr.shift_models (
  tenant          text    NOT NULL,
  model           text    NOT NULL,
  utc_offset_min  integer NOT NULL,
  shifts          jsonb   NOT NULL,
  working_days    jsonb,
  version         bigint  NOT NULL,
  defined_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant, model)
);

ALTER TABLE hr.employees ENABLE ROW LEVEL SECURITY;
ALTER TABLE hr.shift_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE hr.shift_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON hr.employees USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON hr.shift_assignments USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON hr.shift_models USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA hr TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA hr TO fofal_reader;
