-- Management-control module read model: budget lines per year, cost centre, account and
-- month, with every amount a line had and since when (so a variance can be read as of any
-- instant). Written by projections/control/control.c; only that projection writes these
-- rows. The actuals are the accounting module's (accounting.entry_lines), read by
-- api/control/control_api.c. Money in minor units (bigint). Row-level security as in
-- schemas/production/010_orders.sql.
CREATE SCHEMA control;

CREATE TABLE control.budget_lines (
  tenant        text    NOT NULL,
  year          text    NOT NULL,
  cost_centre   text    NOT NULL,
  account       text    NOT NULL,
  month         text    NOT NULL,
  amount_minor  bigint  NOT NULL,
  set_at        timestamptz NOT NULL,
  set_by        text    NOT NULL,
  event_id      uuid    NOT NULL,
  PRIMARY KEY (tenant, event_id)
);
CREATE INDEX budget_lines_year ON control.budget_lines (tenant, year, account, month, set_at);

CREATE TABLE control.budgets (
  tenant     text    NOT NULL,
  year       text    NOT NULL,
  status     text    NOT NULL,
  closed_at  timestamptz,
  version    bigint  NOT NULL,
  PRIMARY KEY (tenant, year)
);

ALTER TABLE control.budget_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE control.budgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON control.budget_lines USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON control.budgets USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA control TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA control TO fofal_reader;
