/*
 * reports.h — private to api/control/: the monthly reports (reports.c), hooked into the
 * module's routes, OpenAPI paths and settings by control_api.c, and the pure parts the
 * unit tests call (tests/unit/control/test_reports.c).
 */
#ifndef FOFAL_CONTROL_REPORTS_H
#define FOFAL_CONTROL_REPORTS_H

#include <jansson.h>
#include <stddef.h>

#include "api.h"

/* Loop thread: answers a request below /api/v1/control/reports and returns 1, or returns
 * 0 (another path: control_api.c routes it). */
int fofal__ctl_reports_route(fofal_api_t *api, h2o_req_t *req);
/* The reports' OpenAPI paths and schemas. */
void fofal__ctl_reports_openapi(json_t *paths, json_t *schemas);
/* At start: opens the file store (conf->files_dir). */
int fofal__ctl_reports_configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen);

/* Loop thread: the month-end timer (the module's start and stop). */
void fofal__ctl_reports_start(fofal_api_t *api);
void fofal__ctl_reports_stop(fofal_api_t *api);

/* The kinds, and whether `kind` is one. */
extern const char *const fofal__ctl_report_kinds[];
int fofal__ctl_report_kind_ok(const char *kind);

/* A report of `kind` and `month` from what its queries answered (borrowed):
 *   production: in = {"groups": the yields read's rows by article}
 *   oee:        in = {"looms": fofal__ctl_losses' rows}
 *   costs:      in = {"orders": [{order_id, article, declarations, cost: fofal__ctl_cost's answer}]}
 * → new {kind, month, title, columns:[{name, head, type}], rows:[{name: value}],
 *   totals:{name: integer}, chart:{title, column, amount}}; column types: text, int,
 *   amount (minor units), milli (mm → m, g → kg: printed with 3 decimals), ratio. The
 *   totals are the sums of the rows' integer columns. NULL for an unknown kind. */
json_t *fofal__ctl_report_build(const char *kind, const char *month, const json_t *in);
/* The report as CSV (RFC 4180, a header row, integers exact in base units; new, *csv_len)
 * and as an A4 PDF with its bar chart (new, *pdf_len); `tenant` is the line that names the
 * tenant under the title (its company, fofal__pdf_tenant_line). 0, or -1 (nothing allocated). */
int fofal__ctl_report_render(const json_t *report, const char *tenant, const char *printed, char **csv,
                             size_t *csv_len, char **pdf, size_t *pdf_len);

#endif
