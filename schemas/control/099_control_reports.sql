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

-- Which tenants are due a month-end report: fofal-api's month-end timer asks this once an
-- hour (api/control/reports.c). fofal-api reads only as one tenant at a time (fofal_reader,
-- row-level security), so this one question about every tenant is a function of the
-- tables' owner, answering tenant codes and kinds only. Its own schema, outside the
-- rebuilt projection (a rebuild swaps schema control's tables, not its functions).
CREATE SCHEMA control_ops;
CREATE FUNCTION control_ops.month_end_due(p_month text) RETURNS TABLE (tenant text, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT t.tenant, k.kind
  FROM (SELECT o.tenant FROM control.fact_outputs o WHERE o.month = p_month
        UNION SELECT s.tenant FROM control.fact_stops s WHERE s.month = p_month
        UNION SELECT l.tenant FROM control.fact_labour l WHERE l.month = p_month) t
  CROSS JOIN unnest(ARRAY['production', 'oee', 'costs']) AS k(kind)
  WHERE NOT EXISTS (SELECT 1 FROM control.reports r WHERE r.tenant = t.tenant AND r.month = p_month
                    AND r.kind = k.kind AND r.source = 'month_end')
  ORDER BY 1, 2 LIMIT 300
$$;
REVOKE ALL ON FUNCTION control_ops.month_end_due(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA control_ops TO fofal_api;
GRANT EXECUTE ON FUNCTION control_ops.month_end_due(text) TO fofal_api;
