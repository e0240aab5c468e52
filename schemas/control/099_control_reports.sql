-- Management control's monthly reports: one row per report generated (fofal.control.report_generated.v1),
-- its kind and month, who asked and when, the content addresses of its CSV and PDF in file
-- storage (api/filestore.c: <tenant>/<ab>/<sha256>) and its totals. Written by
-- projections/control/reports.c; read by api/control/reports.c. Row-level security as in
-- 096_control.sql.
CREATE TABLE control.reports (
  tenant        text    NOT NULL,
  report_id     uuid    NOT NULL,
  kind          text    NOT NULL,
  month         text    NOT NULL,
  source        text    NOT NULL,
  generated_at  timestamptz NOT NULL,
  generated_by  text    NOT NULL,
  csv_sha256    text    NOT NULL,
  csv_size      bigint  NOT NULL,
  pdf_sha256    text    NOT NULL,
  pdf_size      bigint  NOT NULL,
  rows          bigint  NOT NULL,
  totals        jsonb   NOT NULL,
  PRIMARY KEY (tenant, report_id)
);
CREATE INDEX reports_month ON control.reports (tenant, month, kind, generated_at);
ALTER TABLE control.reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON control.reports USING (tenant = current_setting('fofal.tenant', true));
GRANT SELECT ON control.reports TO fofal_reader;
