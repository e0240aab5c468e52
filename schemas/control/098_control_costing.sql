-- Management control: what the tenant sets for costing (commands/control/costing_set.c),
-- written by projections/control/control.c from its own events, read by
-- api/control/control_sql.c with the facts of 097_control_facts.sql:
--   machine_rates   a rate per hour of run time, per loom type or per loom, from a date
--                   (a loom's own rate wins over its type's); set again for the same date,
--                   the row takes the new rate
--   overheads       a month's overhead pool, shared by an allocation key (machine_hours,
--                   metres, pieces) among that month's declarations
--   standard_costs  an article's standard cost per piece or per metre, by component
-- and the shift of a declaration (yields by shift). Numbered after 097: the schema and the
-- fact tables must exist first. Money in minor units (bigint). Row-level security as in
-- 096_control.sql.
CREATE TABLE control.machine_rates (
  tenant text NOT NULL, rate_of text NOT NULL, code text NOT NULL, valid_from date NOT NULL,
  rate_minor_per_hour bigint NOT NULL, set_at timestamptz NOT NULL, set_by text NOT NULL, event_id uuid NOT NULL,
  PRIMARY KEY (tenant, rate_of, code, valid_from));
CREATE TABLE control.overheads (
  tenant text NOT NULL, month text NOT NULL, pool text NOT NULL, key text NOT NULL, amount_minor bigint NOT NULL,
  set_at timestamptz NOT NULL, set_by text NOT NULL, event_id uuid NOT NULL,
  PRIMARY KEY (tenant, month, pool));
CREATE TABLE control.standard_costs (
  tenant text NOT NULL, article text NOT NULL, per text NOT NULL, yarn_minor bigint NOT NULL,
  labour_minor bigint NOT NULL, machine_minor bigint NOT NULL, overhead_minor bigint NOT NULL,
  set_at timestamptz NOT NULL, set_by text NOT NULL, event_id uuid NOT NULL,
  PRIMARY KEY (tenant, article));
ALTER TABLE control.fact_outputs ADD COLUMN shift text;
CREATE INDEX fact_outputs_loom ON control.fact_outputs (tenant, loom, month);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['machine_rates', 'overheads', 'standard_costs'] LOOP
    EXECUTE format('ALTER TABLE control.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_only ON control.%I USING (tenant = current_setting(''fofal.tenant'', true))', t);
  END LOOP;
END $$;
GRANT SELECT ON ALL TABLES IN SCHEMA control TO fofal_reader;
