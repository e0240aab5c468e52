/*
 * reports.c — management control's monthly reports (README "Management control",
 * "Monthly reports"): what a mill manager reads each month, each as CSV and as a PDF with a
 * bar chart, stored in file storage and listed.
 *
 *   POST /api/v1/control/reports {kind, month}
 *        kind production (production and yields by article), oee (OEE and its six big
 *        losses by loom), costs (the actual cost of the orders that declared output in the
 *        month). A read worker computes the report from control's read model with the very
 *        statements and formulas of the reads (control_sql.c, costing.c), renders its CSV
 *        and its PDF (accounting/pdf.h: cairo), stores both (filestore.h: per tenant,
 *        content-addressed, atomic); then the loop records control.report.record (the
 *        addresses and the totals, never the bytes; x-fofal-via) and answers 201 once it
 *        is decided. Each request makes a new report (a report is what was known then).
 *   GET  /api/v1/control/reports?kind=&month=   the reports, newest month first: kind,
 *        month, when, by whom, totals, links to the PDF and the CSV; with ?month=, the
 *        links to the accounting statements of that month as PDF (income statement, trial
 *        balance), which accounting draws itself.
 *   GET  /api/v1/control/reports/{id}?format=json|pdf|csv   one report, or its stored file.
 *
 * At month end the system generates the previous month's reports itself: a timer of the
 * control module (fofal__ctl_reports_start) looks, every FOFAL_API_REPORTS_CHECK_S, for
 * the tenants with facts in the month just ended that lack one of its month-end reports,
 * and queues one job per tenant and kind with source month_end, whose report id and
 * command id are name-based UUIDs of (tenant, kind, month): whichever fofal-api instance
 * gets there first records it, the decider refuses the others (already_generated), whose
 * files are then unreferenced bytes (README "Files", "Not yet").
 *
 * Money in integer minor units, lengths in mm and weights in g in the CSV (exact); the PDF
 * prints them as 1,234.567 (TND, metres, kg), never through a float. Ratios (shares, OEE)
 * are shown with 4 places, as the reads give them.
 *
 * Threads: handlers on the loop thread; queries, rendering and the disk on read workers.
 */
#include "reports.h"

#include "accounting/pdf.h"
#include "control_sql.h"
#include "costing.h"
#include "filestore.h"
#include "projections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLES_READ "manager accountant auditor admin"
#define ROLES_MAKE "manager accountant admin"
#define MAX_ORDERS 500
#define MAX_FILE (64LL * 1024 * 1024)

static fofal_filestore_t *store;

const char *const fofal__ctl_report_kinds[] = {"production", "oee", "costs", NULL};

int fofal__ctl_report_kind_ok(const char *kind) {
  for (int i = 0; kind && fofal__ctl_report_kinds[i]; i++)
    if (!strcmp(kind, fofal__ctl_report_kinds[i])) return 1;
  return 0;
}

/* ------------------------------------------------------------ building */

typedef struct {
  const char *name, *head, *type; /* type: text, int, amount, milli, ratio, percent */
  int sum;                         /* its total is the rows' sum */
  int pdf;                         /* shown in the PDF (the CSV has every column) */
} column_t;

static const column_t production_cols[] = {
    {"article", "Article", "text", 0, 1},        {"declarations", "Décl.", "int", 1, 1},
    {"pieces", "Pièces", "int", 1, 1},           {"length_mm", "Tissé m", "milli", 1, 1},
    {"yarn_g", "Fil kg", "milli", 1, 1},         {"metres_per_kg", "m/kg", "ratio", 0, 1},
    {"first_choice", "1er choix", "int", 1, 1},  {"second_choice", "2e choix", "int", 1, 1},
    {"waste_pieces", "Déchet", "int", 1, 1},     {"first_choice_share", "Part 1er", "percent", 0, 1},
    {"waste_share", "waste_share", "ratio", 0, 0}, {NULL, NULL, NULL, 0, 0}};

static const column_t oee_cols[] = {
    {"loom", "Métier", "text", 0, 1},
    {"run_s", "Marche", "int", 1, 1},
    {"stops_s", "Arrêts", "int", 1, 1},
    {"breakdowns_s", "Pannes", "int", 1, 1},
    {"setup_s", "Réglages", "int", 1, 1},
    {"small_stops_s", "Micro", "int", 1, 1},
    {"reduced_speed_s", "Vitesse", "int", 1, 1},
    {"startup_rejects", "Rebuts dém.", "int", 1, 1},
    {"production_rejects", "Rebuts", "int", 1, 1},
    {"pieces_cut", "Coupées", "int", 1, 1},
    {"oee", "TRS", "percent", 0, 1},
    {"breakdowns_stops", "breakdowns_stops", "int", 1, 0},
    {"setup_stops", "setup_stops", "int", 1, 0},
    {"small_stops", "small_stops", "int", 1, 0},
    {"availability", "availability", "ratio", 0, 0},
    {"performance", "performance", "ratio", 0, 0},
    {"quality", "quality", "ratio", 0, 0},
    {NULL, NULL, NULL, 0, 0}};

static const column_t costs_cols[] = {
    {"order", "Ordre", "text", 0, 1},
    {"declarations", "Décl.", "int", 1, 1},
    {"pieces", "Pièces", "int", 1, 1},
    {"yarn_minor", "Fil", "amount", 1, 1},
    {"labour_minor", "Main-d'œ.", "amount", 1, 1},
    {"machine_minor", "Machine", "amount", 1, 1},
    {"overhead_minor", "Frais", "amount", 1, 1},
    {"total_minor", "Total", "amount", 1, 1},
    {"cost_per_piece_minor", "Par pièce", "amount", 0, 1},
    {"complete", "Complet", "text", 0, 1},
    {"order_id", "order_id", "text", 0, 0},
    {"article", "article", "text", 0, 0},
    {"unpriced_g", "unpriced_g", "int", 1, 0},
    {NULL, NULL, NULL, 0, 0}};

static const struct {
  const char *kind, *title, *chart_title, *chart_col;
  const column_t *cols;
  int chart_amount;
  const char *note;
} kinds[] = {
    {"production", "Production et rendements par article", "Pièces tissées par article", "pieces", production_cols, 0,
     "Longueurs tissées en mètres, fil en kg (le fil des ensouples consommées) ; part de 1er choix des pièces coupées."},
    {"oee", "TRS et six grandes pertes par métier", "Secondes d'arrêt par métier", "stops_s", oee_cols, 0,
     "Durées en secondes. Arrêts = pannes + réglages + micro-arrêts ; vitesse : perte de sous-vitesse ; "
     "TRS = disponibilité × performance × qualité (vide sans télémétrie)."},
    {"costs", "Coût réel des ordres de fabrication", "Coût total par ordre (TND)", "total_minor", costs_cols, 1,
     "Montants en TND au millime : fil des ensouples au prix de réception des lots, main-d'œuvre accumulée du mois."},
};

static json_int_t iv(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* num / den as a JSON real with 4 places, or null when den is 0. */
static json_t *ratio(json_int_t num, json_int_t den) {
  if (den <= 0) return json_null();
  return json_real((double)((num * 10000 + den / 2) / den) / 10000.0);
}

static json_t *oee_row(const json_t *l) {
  const json_t *bd = json_object_get(l, "breakdowns"), *su = json_object_get(l, "setup_adjustments"),
               *ss = json_object_get(l, "small_stops");
  json_int_t run = iv(l, "run_s"), stops = iv(bd, "seconds") + iv(su, "seconds") + iv(ss, "seconds");
  const json_t *reduced = json_object_get(json_object_get(l, "reduced_speed"), "seconds");
  /* Quality loses both kinds of rejects: those woven soon after a restart and the rest. */
  json_int_t startup = iv(json_object_get(l, "startup_rejects"), "pieces");
  json_int_t rejects = iv(json_object_get(l, "production_rejects"), "pieces"), cut = iv(l, "pieces_cut");
  json_t *r = json_pack("{s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "loom", json_object_get(l, "loom"), "run_s",
                        run, "stops_s", stops, "breakdowns_s", iv(bd, "seconds"), "setup_s", iv(su, "seconds"),
                        "small_stops_s", iv(ss, "seconds"), "production_rejects", rejects, "pieces_cut", cut,
                        "breakdowns_stops", iv(bd, "stops"), "setup_stops", iv(su, "stops"), "small_stops", iv(ss, "stops"));
  json_object_set_new(r, "reduced_speed_s", json_is_integer(reduced) ? json_integer(json_integer_value(reduced)) : json_null());
  json_object_set_new(r, "startup_rejects", json_integer(startup));
  /* OEE = availability × performance × quality (GLOSSARY): run time over run and stopped
   * time, run time not lost to reduced speed over run time, pieces cut not rejected over
   * pieces cut; null when a factor is unknown. */
  json_t *a = ratio(run, run + stops), *p = json_is_integer(reduced) ? ratio(run - json_integer_value(reduced), run) : json_null(),
         *q = ratio(cut - startup - rejects, cut);
  json_object_set_new(r, "availability", a);
  json_object_set_new(r, "performance", p);
  json_object_set_new(r, "quality", q);
  if (json_is_real(a) && json_is_real(p) && json_is_real(q)) {
    double o = json_real_value(a) * json_real_value(p) * json_real_value(q);
    json_object_set_new(r, "oee", json_real((double)(long long)(o * 10000 + 0.5) / 10000.0));
  } else
    json_object_set_new(r, "oee", json_null());
  return r;
}

static json_t *cost_row(const json_t *o) {
  const json_t *c = json_object_get(o, "cost");
  const char *id = json_string_value(json_object_get(o, "order_id")), *art = json_string_value(json_object_get(o, "article"));
  char name[128];
  snprintf(name, sizeof name, "%s %.8s", art ? art : "?", id ? id : "");
  json_t *r = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "order", name, "order_id", id ? id : "", "article",
                        art ? art : "", "declarations", iv(o, "declarations"), "pieces", iv(c, "pieces"), "yarn_minor",
                        iv(json_object_get(c, "yarn"), "cost_minor"), "labour_minor",
                        iv(json_object_get(c, "labour"), "cost_minor"), "total_minor", iv(c, "total_minor"),
                        "unpriced_g", iv(json_object_get(c, "yarn"), "unpriced_g"), "complete",
                        json_is_true(json_object_get(c, "complete")) ? "oui" : "non");
  json_object_set_new(r, "machine_minor", json_integer(iv(json_object_get(c, "machine"), "cost_minor")));
  json_object_set_new(r, "overhead_minor", json_integer(iv(json_object_get(c, "overhead"), "cost_minor")));
  const json_t *pp = json_object_get(c, "cost_per_piece_minor");
  json_object_set_new(r, "cost_per_piece_minor", json_is_integer(pp) ? json_integer(json_integer_value(pp)) : json_null());
  return r;
}

json_t *fofal__ctl_report_build(const char *kind, const char *month, const json_t *in) {
  size_t k = 0, n = sizeof kinds / sizeof kinds[0];
  while (k < n && strcmp(kinds[k].kind, kind ? kind : "")) k++;
  if (k == n) return NULL;
  json_t *rows = json_array(), *cols = json_array(), *totals = json_object();
  size_t i;
  const json_t *x;
  if (k == 0)
    json_array_foreach(json_object_get(in, "groups"), i, x) json_array_append_new(rows, json_deep_copy(x));
  else if (k == 1)
    json_array_foreach(json_object_get(in, "looms"), i, x) json_array_append_new(rows, oee_row(x));
  else
    json_array_foreach(json_object_get(in, "orders"), i, x) json_array_append_new(rows, cost_row(x));
  for (const column_t *c = kinds[k].cols; c->name; c++) {
    json_array_append_new(cols, json_pack("{s:s,s:s,s:s,s:b}", "name", c->name, "head", c->head, "type", c->type, "pdf",
                                          c->pdf));
    if (!c->sum) continue;
    json_int_t sum = 0;
    json_t *r;
    json_array_foreach(rows, i, r) sum += json_integer_value(json_object_get(r, c->name));
    json_object_set_new(totals, c->name, json_integer(sum));
  }
  return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:{s:s,s:s,s:b}}", "kind", kind, "month", month, "title",
                   kinds[k].title, "note", kinds[k].note, "columns", cols, "rows", rows, "totals", totals, "chart", "title",
                   kinds[k].chart_title, "column", kinds[k].chart_col, "amount", kinds[k].chart_amount);
}

/* ------------------------------------------------------------ rendering */

/* A cell as the PDF prints it into out; "" for null. */
static void cell_text(const json_t *v, const char *type, char out[64]) {
  out[0] = 0;
  if (json_is_string(v)) snprintf(out, 64, "%s", json_string_value(v));
  else if (json_is_integer(v) && (!strcmp(type, "amount") || !strcmp(type, "milli")))
    fofal__pdf_amount(json_integer_value(v), out);
  else if (json_is_integer(v))
    snprintf(out, 64, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v) && !strcmp(type, "percent"))
    snprintf(out, 64, "%.2f %%", json_real_value(v) * 100.0);
  else if (json_is_real(v))
    snprintf(out, 64, "%.3f", json_real_value(v));
}

int fofal__ctl_report_render(const json_t *report, const char *tenant, const char *printed, char **csv,
                             size_t *csv_len, char **pdf, size_t *pdf_len) {
  const json_t *cols = json_object_get(report, "columns"), *rows = json_object_get(report, "rows"),
               *totals = json_object_get(report, "totals"), *ch = json_object_get(report, "chart");
  size_t i, k;
  const json_t *col, *r;
  *csv = *pdf = NULL;
  *csv_len = *pdf_len = 0;
  /* CSV: every column, base units, then the totals row. */
  fofal__csv_t c = {0};
  json_array_foreach(cols, k, col) fofal__csv_field(&c, json_string_value(json_object_get(col, "name")), k == 0);
  fofal__csv_put(&c, "\r\n", 2);
  json_array_foreach(rows, i, r) {
    json_array_foreach(cols, k, col) fofal__csv_json(&c, json_object_get(r, json_string_value(json_object_get(col, "name"))), k == 0);
    fofal__csv_put(&c, "\r\n", 2);
  }
  json_array_foreach(cols, k, col) {
    const json_t *t = json_object_get(totals, json_string_value(json_object_get(col, "name")));
    if (k == 0) fofal__csv_field(&c, "total", 1);
    else fofal__csv_json(&c, t, 0);
  }
  fofal__csv_put(&c, "\r\n", 2);
  if (c.oom || !c.buf) {
    free(c.buf);
    return -1;
  }
  /* PDF: the columns it shows, the chart of one of them. */
  const char *heads[FOFAL_PDF_REPORT_MAX_COLS];
  const char *names[FOFAL_PDF_REPORT_MAX_COLS], *types[FOFAL_PDF_REPORT_MAX_COLS];
  int n = 0;
  json_array_foreach(cols, k, col) {
    if (!json_is_true(json_object_get(col, "pdf")) || n == FOFAL_PDF_REPORT_MAX_COLS) continue;
    heads[n] = json_string_value(json_object_get(col, "head"));
    names[n] = json_string_value(json_object_get(col, "name"));
    types[n++] = json_string_value(json_object_get(col, "type"));
  }
  json_t *cells = json_array(), *total = json_array(), *bars = json_array();
  char text[64];
  const char *chart_col = json_string_value(json_object_get(ch, "column"));
  json_array_foreach(rows, i, r) {
    json_t *line = json_array();
    for (int j = 0; j < n; j++) {
      cell_text(json_object_get(r, names[j]), types[j], text);
      json_array_append_new(line, json_string(text));
    }
    json_array_append_new(cells, line);
    cell_text(json_object_get(r, names[0]), "text", text);
    json_array_append_new(bars, json_pack("{s:s,s:I}", "label", text, "value", iv(r, chart_col ? chart_col : "")));
  }
  for (int j = 0; j < n; j++) {
    const json_t *t = json_object_get(totals, names[j]);
    cell_text(t, types[j], text);
    json_array_append_new(total, json_string(j == 0 ? "Total" : text));
  }
  char date_line[64];
  snprintf(date_line, sizeof date_line, "mois %s", json_string_value(json_object_get(report, "month")));
  fofal__pdf_report_t doc = {.title = json_string_value(json_object_get(report, "title")),
                             .tenant = tenant,
                             .date_line = date_line,
                             .printed = printed,
                             .chart_title = json_string_value(json_object_get(ch, "title")),
                             .bars = bars,
                             .bar_amount = json_is_true(json_object_get(ch, "amount")),
                             .heads = heads,
                             .ncols = n,
                             .rows = cells,
                             .total = total,
                             .note = json_array_size(rows) ? json_string_value(json_object_get(report, "note"))
                                                           : "Rien de connu pour ce mois."};
  int rc = fofal__pdf_report(&doc, pdf, pdf_len);
  json_decref(cells);
  json_decref(total);
  json_decref(bars);
  if (rc) {
    free(c.buf);
    return -1;
  }
  *csv = c.buf;
  *csv_len = c.len;
  return 0;
}

/* ------------------------------------------------------------ generation */

static const char orders_sql[] =
    "SELECT json_build_object('order_id', order_id, 'article', min(article), 'declarations', count(*)) FROM "
    "control.fact_outputs WHERE tenant = $1 AND month = $2 GROUP BY order_id ORDER BY min(article), order_id LIMIT 501";

/* The inputs of a report of p->kind for p->month (new), or NULL with err. */
static json_t *inputs(fofal_worker_t *w, const char *tenant, const char *kind, const char *month, int *rc, char *err,
                      size_t errlen) {
  json_t *a = NULL, *b = NULL, *c = NULL;
  if (!strcmp(kind, "production")) {
    /* By article alone (not loom, weaver, month nor shift): the month is the period. */
    const char *p[] = {tenant, NULL, NULL, NULL, month, month, "true", "false", "false", "false", "false"};
    if ((*rc = fofal__worker_query(w, tenant, fofal__control_yields_sql, 11, p, &a, err, errlen))) return NULL;
    size_t i;
    json_t *r;
    json_array_foreach(a, i, r) {
      fofal__ctl_yield(r);
      json_object_del(r, "loom");
      json_object_del(r, "weaver");
      json_object_del(r, "month");
    }
    return json_pack("{s:o}", "groups", a);
  }
  if (!strcmp(kind, "oee")) {
    /* Every hall, by loom and month (not hall nor shift). */
    const char *p[] = {tenant, NULL, month, month, NULL, "true", "false", "false", "true"};
    if ((*rc = fofal__worker_query(w, tenant, fofal__control_loss_stops_sql, 9, p, &a, err, errlen)) ||
        (*rc = fofal__worker_query(w, tenant, fofal__control_loss_speed_sql, 9, p, &b, err, errlen)) ||
        (*rc = fofal__worker_query(w, tenant, fofal__control_loss_rejects_sql, 9, p, &c, err, errlen))) {
      json_decref(a);
      json_decref(b);
      return NULL;
    }
    json_t *out = json_pack("{s:o}", "looms", fofal__ctl_losses(a, b, c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return out;
  }
  const char *p[] = {tenant, month};
  json_t *orders = NULL;
  if ((*rc = fofal__worker_query(w, tenant, orders_sql, 2, p, &orders, err, errlen))) return NULL;
  if (json_array_size(orders) > MAX_ORDERS) json_array_remove(orders, MAX_ORDERS);
  size_t i;
  json_t *o;
  json_array_foreach(orders, i, o) {
    const char *q[] = {tenant, json_string_value(json_object_get(o, "order_id")), NULL, month, month};
    json_t *out = NULL, *cost = NULL;
    if ((*rc = fofal__ctl_cost_query(w, tenant, q, &cost, &out, err, errlen))) {
      json_decref(orders);
      return NULL;
    }
    json_object_set_new(o, "cost", cost);
    json_decref(out);
  }
  return json_pack("{s:o}", "orders", orders);
}

typedef struct gen gen_t;
typedef struct {
  h2o_req_t *req;
  gen_t *g;
} gen_ctx_t;

struct gen {
  fofal_job_t super;
  gen_ctx_t *ctx; /* the request, NULL once it is gone (and at month end: none) */
  char actor[200], badge[72], kind[16], month[8], source[12], report_id[FOFAL_UUID_LEN + 1], corr[FOFAL_UUID_LEN + 1];
  json_t *record; /* control.report.record's data, once run */
  int rc;
  char err[256];
};

static void gen_free(gen_t *g) {
  if (g->ctx) g->ctx->g = NULL;
  json_decref(g->record);
  free(g);
}

static void gen_dispose(void *p) {
  gen_ctx_t *c = p;
  if (c->g) c->g->ctx = NULL;
}

static void gen_problem(gen_t *g, int status, const char *code, const char *detail) {
  if (g->ctx) {
    if (status == 503) fofal__add_header(g->ctx->req, "Retry-After", "1");
    fofal__send_problem(g->ctx->req, status, code, detail, NULL);
  } else if (status != 409)
    LOG_WARN("control: the month-end report %s %s of tenant %s was not recorded: %s %s", g->kind, g->month,
             g->super.tenant, code, detail);
  gen_free(g);
}

static int store_file(const char *tenant, const char *buf, size_t len, json_t **out, char *err, size_t errlen) {
  char sha[FOFAL_FILE_SHA_LEN + 1];
  int created = 0;
  fofal_file_address(buf, len, sha);
  int rc = store->ops->put(store, tenant, sha, buf, len, &created, err, errlen);
  if (!rc) *out = json_pack("{s:s,s:I}", "sha256", sha, "size", (json_int_t)len);
  return rc;
}

static void gen_run(fofal_worker_t *w, fofal_job_t *job) {
  gen_t *g = (gen_t *)job;
  const char *tenant = g->super.tenant;
  json_t *in = inputs(w, tenant, g->kind, g->month, &g->rc, g->err, sizeof g->err), *report = NULL, *csvf = NULL,
         *pdff = NULL;
  char *csv = NULL, *pdf = NULL, printed[64], who[400];
  size_t csv_len = 0, pdf_len = 0;
  if (!in) return;
  /* The company the accounting statements name (accounting.company.set), else the code. */
  if ((g->rc = fofal__pdf_company_line(w, tenant, who, sizeof who, g->err, sizeof g->err))) goto out;
  report = fofal__ctl_report_build(g->kind, g->month, in);
  fofal__pdf_printed(printed);
  if (!report || fofal__ctl_report_render(report, who, printed, &csv, &csv_len, &pdf, &pdf_len)) {
    g->rc = FOFAL_EIO;
    snprintf(g->err, sizeof g->err, "the report could not be rendered");
    goto out;
  }
  if ((g->rc = store_file(tenant, csv, csv_len, &csvf, g->err, sizeof g->err)) ||
      (g->rc = store_file(tenant, pdf, pdf_len, &pdff, g->err, sizeof g->err)))
    goto out;
  g->record = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:O}", "report_id", g->report_id, "kind", g->kind, "month",
                        g->month, "source", g->source, "csv", csvf, "pdf", pdff, "rows",
                        (json_int_t)json_array_size(json_object_get(report, "rows")), "totals",
                        json_object_get(report, "totals"));
  csvf = pdff = NULL;
out:
  json_decref(csvf);
  json_decref(pdff);
  json_decref(in);
  json_decref(report);
  free(csv);
  free(pdf);
}

static json_t *links(const char *id) {
  char pdf[128], csv[128], self[128];
  snprintf(self, sizeof self, "/api/v1/control/reports/%s", id);
  snprintf(pdf, sizeof pdf, "%s?format=pdf", self);
  snprintf(csv, sizeof csv, "%s?format=csv", self);
  return json_pack("{s:s,s:s,s:s}", "self", self, "pdf", pdf, "csv", csv);
}

static void gen_decided(fofal_api_t *api, void *opaque, int status, const json_t *res) {
  (void)api;
  gen_t *g = opaque;
  const char *code = res ? json_string_value(json_object_get(res, "code")) : NULL;
  if (status == 201) {
    if (g->ctx) {
      json_t *out = json_deep_copy(g->record);
      const char *pos = json_string_value(json_object_get(res, "position"));
      if (pos) json_object_set_new(out, "position", json_string(pos));
      json_object_set_new(out, "links", links(g->report_id));
      char loc[128];
      snprintf(loc, sizeof loc, "/api/v1/control/reports/%s", g->report_id);
      fofal__add_header(g->ctx->req, "Location", loc);
      fofal__send_json(g->ctx->req, 201, out);
    } else
      LOG_INFO("control: month-end report %s %s of tenant %s recorded (%s)", g->kind, g->month, g->super.tenant,
               g->report_id);
    gen_free(g);
    return;
  }
  if (status == 503 || status == 202 || !res)
    return gen_problem(g, 503, status == 202 ? "not_decided" : "not_recorded",
                       "the report's files are stored but its record is not decided yet; retry");
  gen_problem(g, status, code ? code : "rejected", json_string_value(json_object_get(res, "detail")) ?: "refused");
}

static void gen_done(fofal_api_t *api, fofal_job_t *job) {
  gen_t *g = (gen_t *)job;
  char err[512];
  if (job->stopped) return gen_problem(g, 503, "shutting_down", "the server is stopping; retry");
  if (g->rc) {
    LOG_ERROR("control: report %s %s of tenant %s failed: %s", g->kind, g->month, g->super.tenant, g->err);
    return gen_problem(g, 503, g->rc == FOFAL_EUNAVAIL ? "unavailable" : "report_failed",
                       "the report could not be computed or stored; retry");
  }
  char cmd_id[FOFAL_UUID_LEN + 1];
  snprintf(cmd_id, sizeof cmd_id, "%s", g->report_id);
  fofal__command_t c = {.type = "control.report.record", .tenant = g->super.tenant, .id = cmd_id, .actor = g->actor,
                        .actor_badge = g->badge[0] ? g->badge : NULL, .correlation_id = g->corr, .data = g->record};
  int rc = fofal__command_send(api, &c, gen_decided, g, err, sizeof err);
  if (!rc) return;
  if (rc == FOFAL_EINVAL) {
    LOG_ERROR("control: %s", err);
    return gen_problem(g, 500, "internal_error", "the request failed; the error was logged");
  }
  gen_problem(g, 503, "not_recorded", "this could not be recorded in the log (Kafka is unavailable); retry");
}

/* A new generation job (not yet submitted). */
static gen_t *gen_new(const char *tenant, const char *kind, const char *month, const char *source) {
  gen_t *g = fofal_calloc(1, sizeof *g);
  g->super.run = gen_run;
  g->super.done = gen_done;
  snprintf(g->super.tenant, sizeof g->super.tenant, "%s", tenant);
  snprintf(g->kind, sizeof g->kind, "%s", kind);
  snprintf(g->month, sizeof g->month, "%s", month);
  snprintf(g->source, sizeof g->source, "%s", source);
  fofal_uuid7(g->corr);
  return g;
}

/* ------------------------------------------------------------ month end
 * A timer on the loop (FOFAL_API_REPORTS_CHECK_S; the first time after at most a minute)
 * asks a worker which tenants had control facts in the month just ended (UTC) and lack
 * one of its month-end reports — a function of the tables' owner on the worker's write
 * connection, since the question is about every tenant — and queues those reports. What is recorded is never generated
 * again; a report another instance recorded first is refused by the decider
 * (already_generated) and forgotten. */

/* The tenants and kinds due (schemas/control/099_control_reports.sql: a function of the
 * tables' owner, since fofal-api reads one tenant at a time). */
static const char due_sql[] = "SELECT tenant, kind FROM control_ops.month_end_due($1)";

static struct {
  fofal_api_t *api;
  h2o_timeout_t first, every;
  h2o_timeout_entry_t entry;
  int on, scanning;
} tick;

typedef struct {
  fofal_job_t super;
  char month[8];
  json_t *due; /* [[tenant, kind]] */
  int rc;
  char err[256];
} scan_t;

/* The month before the one of `us` (UTC) into out[8]. */
static void last_month(int64_t us, char out[8]) {
  char now[32];
  fofal_time_format(us, now);
  int y = atoi(now), m = atoi(now + 5) - 1;
  if (m == 0) {
    m = 12;
    y--;
  }
  snprintf(out, 8, "%04d-%02d", y, m);
}

static void due_row(void *opaque, int ncols, const char *const *v) {
  if (ncols == 2 && v[0] && v[1]) json_array_append_new(opaque, json_pack("[s,s]", v[0], v[1]));
}

static void scan_run(fofal_worker_t *w, fofal_job_t *job) {
  scan_t *s = (scan_t *)job;
  struct fofal_pg *pg = NULL;
  const char *p[] = {s->month};
  if ((s->rc = fofal__worker_pg(w, &pg, s->err, sizeof s->err))) return;
  s->due = json_array();
  if ((s->rc = fofal_pg_query(pg, due_sql, 1, p, due_row, s->due, s->err, sizeof s->err)) == FOFAL_EUNAVAIL)
    fofal__worker_pg_drop(w);
}

static void scan_done(fofal_api_t *api, fofal_job_t *job) {
  scan_t *s = (scan_t *)job;
  tick.scanning = 0;
  if (!job->stopped && tick.on) {
    if (s->rc) LOG_WARN("control: looking for the month-end reports of %s failed: %s", s->month, s->err);
    size_t i;
    json_t *r;
    json_array_foreach(s->due, i, r) {
      const char *tenant = json_string_value(json_array_get(r, 0)), *kind = json_string_value(json_array_get(r, 1));
      gen_t *g = gen_new(tenant, kind, s->month, "month_end");
      char name[96];
      snprintf(name, sizeof name, "control.report:month_end:%s:%s", g->kind, g->month);
      fofal_uuid_named(tenant, name, g->report_id);
      snprintf(g->actor, sizeof g->actor, "s:fofal-api");
      if (fofal__pool_submit(api, &g->super)) gen_free(g); /* the next look queues it */
    }
  }
  json_decref(s->due);
  free(s);
}

static void on_tick(h2o_timeout_entry_t *e) {
  (void)e;
  if (!tick.on) return;
  h2o_timeout_link(tick.api->ctx.loop, &tick.every, &tick.entry);
  if (tick.scanning) return;
  scan_t *s = fofal_calloc(1, sizeof *s);
  s->super.run = scan_run;
  s->super.done = scan_done;
  last_month(fofal_now_us(), s->month);
  if (fofal__pool_submit(tick.api, &s->super)) {
    free(s);
    return;
  }
  tick.scanning = 1;
}

void fofal__ctl_reports_start(fofal_api_t *api) {
  uint64_t every = (uint64_t)api->conf.reports_check_s * 1000;
  tick.api = api;
  tick.on = 1;
  h2o_timeout_init(api->ctx.loop, &tick.first, every < 60000 ? every : 60000);
  h2o_timeout_init(api->ctx.loop, &tick.every, every);
  tick.entry.cb = on_tick;
  h2o_timeout_link(api->ctx.loop, &tick.first, &tick.entry);
}

void fofal__ctl_reports_stop(fofal_api_t *api) {
  if (!tick.on) return;
  tick.on = 0;
  if (h2o_timeout_is_linked(&tick.entry)) h2o_timeout_unlink(&tick.entry);
  h2o_timeout_dispose(api->ctx.loop, &tick.first);
  h2o_timeout_dispose(api->ctx.loop, &tick.every);
}

static int month_ok(const char *s) {
  if (!s || strlen(s) != 7 || s[4] != '-') return 0;
  for (int i = 0; i < 7; i++)
    if (i != 4 && (s[i] < '0' || s[i] > '9')) return 0;
  return strcmp(s + 5, "01") >= 0 && strcmp(s + 5, "12") <= 0;
}

static int on_generate(fofal_api_t *api, h2o_req_t *req) {
  fofal_principal_t who;
  if (fofal__authenticate(api, req, &who)) return 0;
  if (!fofal__role_in(ROLES_MAKE, who.role)) {
    char d[96];
    snprintf(d, sizeof d, "role %s may not generate reports", who.role);
    fofal__send_problem(req, 403, "forbidden", d, NULL);
    return 0;
  }
  json_t *body = fofal__read_json(req, 4096);
  if (!body) return 0;
  const char *kind = json_string_value(json_object_get(body, "kind")),
             *month = json_string_value(json_object_get(body, "month"));
  if (!fofal__ctl_report_kind_ok(kind)) {
    json_decref(body);
    fofal__send_problem(req, 422, "invalid_kind", "kind is production, oee or costs", NULL);
    return 0;
  }
  if (!month_ok(month)) {
    json_decref(body);
    fofal__send_problem(req, 422, "invalid_month", "month is YYYY-MM", NULL);
    return 0;
  }
  char now[32];
  fofal_time_format(fofal_now_us(), now);
  if (strncmp(month, now, 7) > 0) {
    json_decref(body);
    fofal__send_problem(req, 422, "future_month", "a report is of a month that has begun", NULL);
    return 0;
  }
  fofal__access_note(req, &who);
  gen_t *g = gen_new(who.tenant, kind, month, "request");
  json_decref(body);
  fofal_uuid7(g->report_id);
  snprintf(g->actor, sizeof g->actor, "u:%s/%s", who.subject, who.role);
  if (who.badge[0]) snprintf(g->badge, sizeof g->badge, "%s", who.badge);
  const char *corr = fofal__req_header(req, "X-Correlation-Id");
  if (corr && fofal_uuid_valid(corr)) snprintf(g->corr, sizeof g->corr, "%s", corr);
  gen_ctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, gen_dispose);
  ctx->req = req;
  ctx->g = g;
  g->ctx = ctx;
  if (fofal__pool_submit(api, &g->super)) gen_problem(g, 503, "overloaded", "too many requests are waiting; retry shortly");
  return 0;
}

/* ------------------------------------------------------------ reads */

typedef struct {
  int one;                               /* 0: the list; 1: a report */
  char id[FOFAL_UUID_LEN + 1], kind[16], month[8];
  int format;                            /* 0 json, 1 pdf, 2 csv */
} params_t;

static const char list_sql[] =
    "SELECT json_build_object('report_id', report_id, 'kind', kind, 'month', month, 'source', source, 'generated_at', "
    "generated_at, 'generated_by', generated_by, 'rows', rows, 'totals', totals, 'csv', json_build_object('sha256', "
    "csv_sha256, 'size', csv_size), 'pdf', json_build_object('sha256', pdf_sha256, 'size', pdf_size)) FROM "
    "control.reports WHERE tenant = $1 AND ($2::uuid IS NULL OR report_id = $2::uuid) AND ($3::text IS NULL OR kind = "
    "$3) AND ($4::text IS NULL OR month = $4) ORDER BY month DESC, kind, generated_at DESC, report_id LIMIT 1000";

static int days_in(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : d[m - 1];
}

/* The accounting statements of a month as PDF, which accounting draws itself. */
static json_t *statements(const char *month) {
  char from[16], to[16], is[160], tb[160];
  int y = atoi(month), m = atoi(month + 5);
  snprintf(from, sizeof from, "%.7s-01", month);
  snprintf(to, sizeof to, "%.7s-%02d", month, days_in(y, m));
  snprintf(is, sizeof is, "/api/v1/accounting/income-statement?from=%s&to=%s&format=pdf", from, to);
  snprintf(tb, sizeof tb, "/api/v1/accounting/trial-balance?as_of=%s&format=pdf", to);
  return json_pack("[{s:s,s:s},{s:s,s:s}]", "kind", "income_statement", "pdf", is, "kind", "trial_balance", "pdf", tb);
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512];
  json_t *rows = NULL;
  const char *params[] = {tenant, p->one ? p->id : NULL, p->kind[0] ? p->kind : NULL, p->month[0] ? p->month : NULL};
  int rc = fofal__worker_query(w, tenant, list_sql, 4, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_object_set_new(r, "links", links(json_string_value(json_object_get(r, "report_id"))));
  if (!p->one) {
    res->status = 200;
    res->body = json_pack("{s:o}", "reports", rows);
    if (p->month[0]) json_object_set_new(res->body, "accounting", statements(p->month));
    return;
  }
  r = json_array_get(rows, 0);
  if (!r) {
    json_decref(rows);
    fofal__read_not_found(res, "no such report");
    return;
  }
  if (p->format == 0) {
    res->status = 200;
    res->body = json_incref(r);
    json_decref(rows);
    return;
  }
  const char *sha = json_string_value(json_object_get(json_object_get(r, p->format == 1 ? "pdf" : "csv"), "sha256"));
  char *buf = NULL;
  size_t len = 0;
  rc = store->ops->get(store, tenant, sha, (size_t)MAX_FILE, &buf, &len, err, sizeof err);
  json_decref(rows);
  if (rc) {
    LOG_ERROR("control: a stored report file of tenant %s cannot be read: %s", tenant, err);
    res->status = 500;
    res->code = "internal_error";
    snprintf(res->detail, sizeof res->detail, "the report's file cannot be read; the error was logged");
    return;
  }
  res->status = 200;
  res->raw = buf;
  res->raw_len = len;
  res->ctype = p->format == 1 ? "application/pdf" : "text/csv; charset=utf-8; header=present";
}

static const fofal_read_route_t routes[] = {
    {"/api/v1/control/reports", "control.reports.list", "The monthly reports generated.",
     "Newest month first: each report's kind (production, oee, costs), month, source (request, or month_end: generated "
     "by the system for the month just ended), when and by whom, its row count and totals (integers of its total row: "
     "pieces, millimes, mm, g, seconds), and links to its PDF and CSV. ?kind= and ?month= filter; with ?month=, "
     "`accounting` links the month's income statement and trial balance as PDF (accounting's reads).",
     ROLES_READ, NULL, 0, "ReportList"},
    {"/api/v1/control/reports/{id}", "control.reports.get", "One monthly report, or its PDF or CSV.",
     "?format=json (default: the record), pdf (application/pdf: A4, a bar chart and the table) or csv (text/csv, RFC "
     "4180: every column in base units, integers exact, the totals as the last row), the files as stored when it was "
     "generated.",
     ROLES_READ, NULL, 0, "Report"},
};

int fofal__ctl_reports_route(fofal_api_t *api, h2o_req_t *req) {
  static const char base[] = "/api/v1/control/reports";
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len, blen = sizeof base - 1;
  if (len < blen || memcmp(path, base, blen) || (len > blen && path[blen] != '/')) return 0;
  params_t p;
  memset(&p, 0, sizeof p);
  if (len > blen + 1) {
    p.one = 1;
    size_t at = blen + 1;
    char id[64];
    if (fofal__path_segment(path, len, &at, id, sizeof id) || at != len) {
      fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
      return 1;
    }
    snprintf(p.id, sizeof p.id, "%s", id);
    if (!fofal_uuid_valid(id)) p.id[0] = 0; /* 404 after the role check */
  } else if (len == blen + 1) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 1;
  }
  atomic_fetch_add(&fofal__metrics.requests, 1);
  if (!p.one && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
    on_generate(api, req);
    return 1;
  }
  if (!p.one && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
      !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
    fofal__add_header(req, "Allow", "GET, HEAD, POST");
    fofal__send_problem(req, 405, "method_not_allowed", "the reports are listed (GET) or generated (POST)", NULL);
    return 1;
  }
  atomic_fetch_add(&fofal__metrics.reads, 1);
  fofal_principal_t who;
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, ROLES_READ, routes[p.one].path + sizeof "/api/v1" - 1))
    return 1;
  if (p.one && !p.id[0]) {
    fofal__send_problem(req, 404, "not_found", "a report is named by its id (a UUID)", NULL);
    return 1;
  }
  const char *s;
  if (!p.one) {
    if ((s = fofal__param(req, "kind"))) {
      if (!fofal__ctl_report_kind_ok(s)) {
        fofal__send_problem(req, 400, "invalid_parameter", "kind is production, oee or costs", NULL);
        return 1;
      }
      snprintf(p.kind, sizeof p.kind, "%s", s);
    }
    if ((s = fofal__param(req, "month"))) {
      if (!month_ok(s)) {
        fofal__send_problem(req, 400, "invalid_parameter", "month is YYYY-MM", NULL);
        return 1;
      }
      snprintf(p.month, sizeof p.month, "%s", s);
    }
  } else if ((s = fofal__param(req, "format"))) {
    if (!strcmp(s, "pdf")) p.format = 1;
    else if (!strcmp(s, "csv")) p.format = 2;
    else if (strcmp(s, "json")) {
      fofal__send_problem(req, 400, "invalid_format", "format is json, pdf or csv", NULL);
      return 1;
    }
  }
  fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
  return 1;
}

/* ------------------------------------------------------------ OpenAPI */

static const char report_schema[] =
    "{\"type\":\"object\",\"properties\":{\"report_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"kind\":{\"enum\":["
    "\"production\",\"oee\",\"costs\"]},\"month\":{\"type\":\"string\"},\"source\":{\"enum\":[\"request\",\"month_end\"]},"
    "\"generated_at\":{\"type\":\"string\"},\"generated_by\":{\"type\":\"string\"},\"rows\":{\"type\":\"integer\"},"
    "\"totals\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}},\"csv\":{\"type\":\"object\"},"
    "\"pdf\":{\"type\":\"object\"},\"links\":{\"type\":\"object\"},\"position\":{\"type\":\"string\"}}}";

void fofal__ctl_reports_openapi(json_t *paths, json_t *schemas) {
  json_t *rs = json_loads(report_schema, 0, NULL);
  if (rs) json_object_set_new(schemas, "Report", rs);
  json_object_set_new(schemas, "ReportList",
                      json_pack("{s:s,s:{s:{s:s,s:{s:s}},s:{s:s}}}", "type", "object", "properties", "reports", "type",
                                "array", "items", "$ref", "#/components/schemas/Report", "accounting", "type", "array"));
  /* the list, with its POST */
  json_t *params = json_array();
  json_array_append_new(params, fofal__openapi_query_param("kind", "Only this kind.",
                                                           json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum",
                                                                     "production", "oee", "costs")));
  json_array_append_new(params, fofal__openapi_query_param("month", "Only this month (YYYY-MM).",
                                                           json_pack("{s:s}", "type", "string")));
  char desc[1400];
  snprintf(desc, sizeof desc, "%s Roles: %s.", routes[0].desc, routes[0].roles);
  json_t *list = fofal__openapi_read_op("control", routes[0].op_id, routes[0].summary, desc, params,
                                        "#/components/schemas/ReportList", routes[0].roles);
  json_t *post = fofal__openapi_read_op(
      "control", "control.reports.generate", "Generate a monthly report now.",
      "Body {kind, month}: computes the report of that month from control's read model (production: the yields by "
      "article; oee: the six big losses and OEE by loom; costs: each order that declared output in the month, its "
      "yarn and labour of the month), renders its CSV and its PDF with a bar chart, stores both in file storage and "
      "records control.report.record (fofal.control.report_generated.v1; the actor from the token). 201 with the "
      "record and its links; 422 invalid_kind, invalid_month, future_month; 503 when a store is unavailable (retry). "
      "Each request is a new report. Roles: manager, accountant, admin.",
      json_array(), "#/components/schemas/Report", ROLES_MAKE);
  json_t *pop = json_incref(json_object_get(post, "get"));
  json_decref(post);
  json_t *ps = json_object_get(pop, "parameters");
  while (json_array_size(ps) > 0) json_array_remove(ps, 0); /* no ?position= on a write */
  json_t *resp = json_object_get(pop, "responses"), *ok = json_incref(json_object_get(resp, "200"));
  json_object_del(resp, "200");
  json_object_set_new(ok, "description", json_string("Generated, stored and recorded. Location: the report."));
  json_object_set_new(resp, "201", ok);
  json_object_del(resp, "404");
  static const char *const more[][2] = {
      {"400", "The body is not a JSON object."},
      {"413", "body_too_large."},
      {"415", "The body is not application/json."},
      {"422", "invalid_kind, invalid_month, future_month."},
      {"503", "unavailable, report_failed, not_recorded, not_decided, overloaded: retry."},
  };
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    json_t *r = json_deep_copy(json_object_get(resp, "403"));
    json_object_set_new(r, "description", json_string(more[i][1]));
    json_object_set_new(resp, more[i][0], r);
  }
  json_object_set_new(pop, "requestBody",
                      json_pack("{s:b,s:{s:{s:{s:s,s:[s,s],s:{s:{s:s,s:[s,s,s]},s:{s:s,s:s}}}}}}", "required", 1,
                                "content", "application/json", "schema", "type", "object", "required", "kind", "month",
                                "properties", "kind", "type", "string", "enum", "production", "oee", "costs", "month",
                                "type", "string", "pattern", "^[0-9]{4}-(0[1-9]|1[0-2])$"));
  json_object_set_new(list, "post", pop);
  json_object_set_new(paths, routes[0].path, list);
  /* one */
  params = json_array();
  json_array_append_new(params, fofal__openapi_path_param("id", "The report's id."));
  json_array_append_new(params, fofal__openapi_query_param("format", "json (default), pdf or csv.",
                                                           json_pack("{s:s,s:[s,s,s]}", "type", "string", "enum", "json",
                                                                     "pdf", "csv")));
  snprintf(desc, sizeof desc, "%s Roles: %s.", routes[1].desc, routes[1].roles);
  json_t *one = fofal__openapi_read_op("control", routes[1].op_id, routes[1].summary, desc, params,
                                       "#/components/schemas/Report", routes[1].roles);
  json_t *content = json_object_get(json_object_get(json_object_get(json_object_get(one, "get"), "responses"), "200"),
                                    "content");
  if (content) {
    json_object_set_new(content, "application/pdf", json_pack("{s:{s:s,s:s}}", "schema", "type", "string", "format", "binary"));
    json_object_set_new(content, "text/csv", json_pack("{s:{s:s}}", "schema", "type", "string"));
  }
  json_object_set_new(paths, routes[1].path, one);
}

int fofal__ctl_reports_configure(const fofal_api_conf_t *conf, char *errbuf, size_t errlen) {
  fofal_filestore_close(store);
  store = NULL;
  return fofal_filestore_disk(conf->files_dir, &store, errbuf, errlen);
}
