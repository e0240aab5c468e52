-- Accounting module read model (issue 17, the ledger's first slice): journal entries, their
-- lines and the closed periods, written by projections/accounting/accounting.c from
-- fofal.accounting.events. Money in integer minor units (millimes for TND): a trial
-- balance is exact sums. An entry names the business event it was posted from (source),
-- so a balance traces back to it. Row-level security as in 060_catalog.sql.
CREATE SCHEMA accounting;

CREATE TABLE accounting.entries (
  tenant        text   NOT NULL,
  entry_id      uuid   NOT NULL,
  date          date   NOT NULL,
  memo          text,
  total_minor   bigint NOT NULL,
  posted_by     text   NOT NULL,
  posted_at     timestamptz NOT NULL,
  source_event  uuid,
  source_type   text,
  PRIMARY KEY (tenant, entry_id)
);
CREATE INDEX entries_date ON accounting.entries (tenant, date);

CREATE TABLE accounting.entry_lines (
  tenant        text    NOT NULL,
  entry_id      uuid    NOT NULL,
  n             integer NOT NULL,
  account       text    NOT NULL,
  debit_minor   bigint  NOT NULL,
  credit_minor  bigint  NOT NULL,
  label         text,
  date          date    NOT NULL,
  PRIMARY KEY (tenant, entry_id, n)
);
CREATE INDEX entry_lines_account ON accounting.entry_lines (tenant, account, date);

CREATE TABLE accounting.periods (
  tenant     text NOT NULL,
  period     text NOT NULL,
  closed_by  text NOT NULL,
  closed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, period)
);

ALTER TABLE accounting.entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounting.entry_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounting.periods ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON accounting.entries USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON accounting.entry_lines USING (tenant = current_setting('fofal.tenant', true));
CREATE POLICY tenant_only ON accounting.periods USING (tenant = current_setting('fofal.tenant', true));
GRANT USAGE ON SCHEMA accounting TO fofal_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA accounting TO fofal_reader;
