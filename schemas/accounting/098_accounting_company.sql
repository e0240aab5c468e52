-- The tenant's company as the statements print it (issue 17): its name and tax id
-- (matricule fiscal), set by accounting.company.set and written by
-- projections/accounting/accounting.c from fofal.accounting.events. One row per tenant; a
-- statement's PDF prints the tenant's code while there is none. Row-level security as in
-- 085_accounting.sql.
CREATE TABLE accounting.company (
  tenant   text NOT NULL PRIMARY KEY,
  name     text NOT NULL,
  tax_id   text,
  set_by   text NOT NULL,
  set_at   timestamptz NOT NULL
);
ALTER TABLE accounting.company ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON accounting.company USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON accounting.company TO fofal_reader;
