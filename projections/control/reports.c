/*
 * reports.c — control's projection of its monthly reports: each report_generated becomes a
 * row of control.reports (schemas/control/099_control_reports.sql), keyed by report id so
 * that applying it twice writes one row, and a WebSocket push. Deterministic (the time is
 * the event's). Registered by control.c's apply table.
 */
#include "projections.h"

#include <stdlib.h>

int fofal__control_report_generated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev);

int fofal__control_report_generated(fofal_apply_ctx_t *ctx, const fofal_event_t *ev) {
  fofal_ev_meta_t m;
  fofal_ev_meta(ev, &m);
  const json_t *d = ev->data, *csv = json_object_get(d, "csv"), *pdf = json_object_get(d, "pdf");
  char csv_size[40], pdf_size[40], rows[40];
  char *totals = json_dumps(json_object_get(d, "totals"), JSON_COMPACT | JSON_SORT_KEYS);
  const char *p[] = {ev->tenant,
                     fofal_ev_str(d, "report_id"),
                     fofal_ev_str(d, "kind"),
                     fofal_ev_str(d, "month"),
                     fofal_ev_str(d, "source"),
                     m.at,
                     fofal_ev_str(d, "generated_by"),
                     fofal_ev_str(csv, "sha256"),
                     fofal_ev_num(csv, "size", csv_size),
                     fofal_ev_str(pdf, "sha256"),
                     fofal_ev_num(pdf, "size", pdf_size),
                     fofal_ev_num(d, "rows", rows),
                     totals ? totals : "{}"};
  int rc = fofal_apply_sql(ctx,
                           "INSERT INTO %s.reports (tenant, report_id, kind, month, source, generated_at, generated_by, "
                           "csv_sha256, csv_size, pdf_sha256, pdf_size, rows, totals) VALUES ($1, $2::uuid, $3, $4, $5, "
                           "$6, $7, $8, $9::bigint, $10, $11::bigint, $12::bigint, $13::jsonb) ON CONFLICT (tenant, "
                           "report_id) DO NOTHING",
                           13, p);
  free(totals);
  if (!rc) fofal_apply_push(ctx, ev, "control");
  return rc;
}
