/*
 * control_api.c — the management-control module's reads: budgets against the ledger's
 * actuals, now or as of any instant.
 *
 *   GET /api/v1/control/budgets         every year's budget: status, lines, totals
 *   GET /api/v1/control/budgets/{year}?month=&cost_centre=&as_of=
 *                                       each line (cost centre, account, month) with its
 *                                       budget, the actual from the ledger, the variance
 *                                       and the share consumed; the accounts of classes 6
 *                                       and 7 with actuals but no budget; totals of
 *                                       charges, products and the result
 *
 *   GET /api/v1/control/orders/{id}/cost
 *                                       the actual cost of a production order from the
 *                                       facts of other modules' events (costing.c):
 *                                       yarn, labour, machine time, overheads, and the
 *                                       variances against the article's standard cost
 *   GET /api/v1/control/articles/{article}/cost?from=&to=
 *                                       the same over an article's declarations of the
 *                                       months from..to (YYYY-MM)
 *   GET /api/v1/control/yields?by=&article=&loom=&weaver=&from=&to=&format=csv
 *                                       first-choice and waste shares and metres per kg
 *                                       of yarn, per group of declarations
 *   GET /api/v1/control/costing?from=&to=
 *                                       what is set for costing: machine rates,
 *                                       overheads of the months, standard costs
 *   GET /api/v1/control/losses?by=&loom=&hall=&from=&to=&format=csv
 *                                       OEE's six big losses per loom, hall, shift and
 *                                       month
 *
 * The actual of a line is what module accounting's entries (accounting.entry_lines) put
 * on its account in its month: debits less credits for a charge (class 6), credits less
 * debits for a product (class 7). With as_of, both sides are read as they were known
 * then: the budget amounts set by that instant and the entries posted by then (an entry
 * posted later for an earlier day changes the answers after it was posted, never
 * before). The ledger carries no cost centre: an account is budgeted in one centre a year
 * (commands/control/control.c), which is where its actuals go. The variance is actual
 * minus budget: above zero, a charge overspent or a product above its budget.
 *
 * No ETag: the answer follows the ledger as well as the budget.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and the OpenAPI text are read-only.
 */
#include "api.h"
#include "control_sql.h"
#include "costing.h"
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLES_CONTROL "manager accountant auditor admin"
#define ROLES_COST ROLES_CONTROL

enum { R_BUDGETS, R_BUDGET, R_ORDER_COST, R_ARTICLE_COST, R_YIELDS, R_LOSSES, R_COSTING, R_N };
#define F_LINES 1  /* month, cost_centre, as_of */
#define F_PERIOD 2 /* from, to */
#define F_YIELDS 4 /* by, article, loom, weaver, format */
#define F_LOSSES 8 /* loom, format */
/* The dimensions a yield is grouped by (?by=), bits of params_t.by. */
static const char *const dims[] = {"article", "loom", "weaver", "month", "shift"};
#define NDIMS 5
/* The dimensions losses are grouped by (?by=), bits of params_t.lby. */
static const char *const ldims[] = {"loom", "hall", "shift", "month"};
#define NLDIMS 4

static const fofal_read_route_t routes[R_N] = {
    [R_BUDGETS] = {"/api/v1/control/budgets", "control.budgets.list", "Every year's budget.",
                   "By year: its status, the number of lines and the budget of charges and products.", ROLES_CONTROL, NULL,
                   0, "BudgetYears"},
    [R_BUDGET] = {"/api/v1/control/budgets/{year}", "control.budgets.get", "A year's budget against the ledger.",
                  "Each line (cost centre, account, month) with its budget, the actual the ledger's entries put on its "
                  "account that month (debits less credits for class 6, credits less debits for class 7), the variance "
                  "(actual minus budget) and the share consumed; accounts of classes 6 and 7 with actuals and no budget "
                  "have cost_centre null. With as_of, the budget amounts set and the entries posted by that instant.",
                  ROLES_CONTROL, NULL, F_LINES, "Budget"},
    [R_ORDER_COST] = {"/api/v1/control/orders/{id}/cost", "control.orders.cost", "A production order's actual cost.",
                      "From the events of other modules alone: yarn (the warp metres each declaration consumed of each "
                      "beam × the beam's yarn cost per metre: the lots issued to it at their purchase receipt's unit "
                      "price, over its warped length), labour (the pay accrued for the order, by role), machine time "
                      "(per loom and month: the loom's run time from its shift tallies at the rate in force on each "
                      "shift's day — the loom's own, else its type's — shared among its declarations of the month by "
                      "metres, or pieces when one has no length; a loom with no telemetry has reason no_telemetry and "
                      "no cost), overheads (each month's pools shared by their key: machine_hours, metres or pieces), "
                      "the total, per piece declared and per piece of each grade the cuts gave (graded pieces bear the "
                      "cost alike), and the variances against the article's standard cost (actual minus standard per "
                      "component; standard null without one). Each beam lists its lots, each lot its price, each loom "
                      "its rates and run seconds, each pool its base and the month's total: a figure leads to its "
                      "facts. complete is false when a lot has no price, a beam no warped length (unpriced_g, "
                      "unwarped_mm) or, once some machine rate is set, a loom-month has no telemetry or no rate.",
                      ROLES_COST, NULL, 0, "Cost"},
    [R_ARTICLE_COST] = {"/api/v1/control/articles/{article}/cost", "control.articles.cost",
                        "An article's actual cost over a period.",
                        "The cost of the article's declarations of the months from..to (YYYY-MM, both included; "
                        "default: every month), computed as an order's; labour is the pay accrued for the article in "
                        "those months. 404 when control knows no declaration nor pay of the article and no period is asked "
                        "for; a period without production answers zeros.",
                        ROLES_COST, NULL, F_PERIOD, "Cost"},
    [R_YIELDS] = {"/api/v1/control/yields", "control.yields", "Yields by article, loom, weaver, month and shift.",
                  "Per group of declarations (?by= any of article, loom, weaver, month, shift, comma separated; default "
                  "article,month; the month is the shift's the roll was woven in; shift is null for declarations whose "
                  "event named none): declarations, pieces, length woven, "
                  "the yarn they consumed of their beams (warp metres × the beam's grams per metre), metres woven per kg "
                  "of yarn, and of their rolls cut: pieces by choice and waste, the first-choice and waste shares of the "
                  "pieces cut. Filters article, loom, weaver, from and to (months). ?format=csv: one row per group "
                  "(text/csv).",
                  ROLES_COST, NULL, F_PERIOD | F_YIELDS, "Yields"},
    [R_LOSSES] = {"/api/v1/control/losses", "control.losses", "OEE's six big losses per loom, hall, shift and month.",
                  "Per group (?by= any of loom, hall, shift, month, comma separated; default loom,month; the hall is "
                  "the loom's in production's register; a stop's shift is the one whose tallies of its loom cover the "
                  "instant it ended, a reject's the declaration's): stops and their seconds classed as breakdowns "
                  "(declared breakdowns, and mechanical or electrical stops of 5 min or more), set-ups and adjustments "
                  "(stops of cause other of 5 "
                  "min or more) and small stops (shorter stops, and warp and weft breaks); reduced speed (run seconds "
                  "× (1 − picks ÷ theoretical picks) of the loom's shift tallies, null without a nominal speed); "
                  "production rejects (2nd-choice and waste pieces of its rolls cut); startup rejects null (no event "
                  "tells them apart). Filters loom, hall, from, to (months). ?format=csv: one row per group.",
                  ROLES_COST, NULL, F_PERIOD | F_LOSSES, "Losses"},
    [R_COSTING] = {"/api/v1/control/costing", "control.costing", "What is set for costing.",
                   "The machine rates (per loom type or loom, from a day; a loom's own wins over its type's), the "
                   "overhead pools of the months from..to (YYYY-MM; default: every month) with their allocation key, "
                   "and the articles' standard costs, each with when and by whom it was set.",
                   ROLES_COST, NULL, F_PERIOD, "Costing"},
};

typedef struct {
  int route;
  char year[72], month[8], centre[72], as_of[40]; /* year as the path gives it, checked after the roles */
  char id[72], from[8], to[8];                     /* order id or article; months */
  char article[72], loom[72], weaver[72], hall[72]; /* yields' and losses' filters */
  int by, lby, csv; /* yields: bits of dims[]; losses: of ldims[]; ?format=csv */
} params_t;

/* ------------------------------------------------------------------ run */

static const char year_sql[] =
    "SELECT json_build_object('year', y.year, 'status', y.status, 'closed_at', y.closed_at, 'version', y.version, "
    "'lines', (SELECT count(*) FROM (SELECT DISTINCT cost_centre, account, month FROM control.budget_lines l WHERE "
    "l.tenant = y.tenant AND l.year = y.year) x), 'charges_minor', (SELECT coalesce(sum(b.amount_minor), 0) FROM "
    "(SELECT DISTINCT ON (cost_centre, account, month) account, amount_minor FROM control.budget_lines l WHERE l.tenant = "
    "y.tenant AND l.year = y.year ORDER BY cost_centre, account, month, set_at DESC, event_id DESC) b WHERE b.account "
    "LIKE '6%'), 'products_minor', (SELECT coalesce(sum(b.amount_minor), 0) FROM (SELECT DISTINCT ON (cost_centre, "
    "account, month) account, amount_minor FROM control.budget_lines l WHERE l.tenant = y.tenant AND l.year = y.year "
    "ORDER BY cost_centre, account, month, set_at DESC, event_id DESC) b WHERE b.account LIKE '7%')) FROM "
    "control.budgets y WHERE y.tenant = $1 ORDER BY y.year";

/* $1 tenant, $2 year, $3 as_of (NULL: now), $4 month, $5 cost centre. */
static const char lines_sql[] =
    "WITH b AS (SELECT DISTINCT ON (cost_centre, account, month) cost_centre, account, month, amount_minor FROM "
    "control.budget_lines WHERE tenant = $1 AND year = $2 AND set_at <= coalesce($3::timestamptz, now()) ORDER BY "
    "cost_centre, account, month, set_at DESC, event_id DESC), a AS (SELECT l.account, to_char(l.date, 'YYYY-MM') AS "
    "month, sum(CASE WHEN l.account LIKE '7%' THEN l.credit_minor - l.debit_minor ELSE l.debit_minor - l.credit_minor "
    "END)::bigint AS actual FROM accounting.entry_lines l JOIN accounting.entries e ON e.tenant = l.tenant AND e.entry_id "
    "= l.entry_id WHERE l.tenant = $1 AND l.date >= ($2 || '-01-01')::date AND l.date < (($2::int + 1) || "
    "'-01-01')::date AND (l.account LIKE '6%' OR l.account LIKE '7%') AND e.posted_at <= coalesce($3::timestamptz, "
    "now()) GROUP BY 1, 2), c AS (SELECT DISTINCT ON (account) account, cost_centre FROM b ORDER BY account, "
    "cost_centre) SELECT json_build_object('cost_centre', coalesce(b.cost_centre, c.cost_centre), 'account', "
    "coalesce(b.account, a.account), 'month', coalesce(b.month, a.month), 'budget_minor', coalesce(b.amount_minor, 0), "
    "'actual_minor', coalesce(a.actual, 0), 'variance_minor', coalesce(a.actual, 0) - coalesce(b.amount_minor, 0), "
    "'consumed', CASE WHEN b.amount_minor > 0 THEN round(coalesce(a.actual, 0)::numeric / b.amount_minor, 4) END) FROM b "
    "FULL JOIN a ON a.account = b.account AND a.month = b.month LEFT JOIN c ON c.account = a.account WHERE ($4::text IS "
    "NULL OR coalesce(b.month, a.month) = $4) AND ($5::text IS NULL OR coalesce(b.cost_centre, c.cost_centre) = $5) "
    "ORDER BY coalesce(b.cost_centre, c.cost_centre) NULLS LAST, coalesce(b.account, a.account), coalesce(b.month, "
    "a.month)";





/* The actual cost of an order (params[1]) or of an article (params[2]) over params[3..4]
 * (months, NULL: open), as the cost reads answer it: yarn, labour, machine time, overheads,
 * subcontracting, per piece and grade, and the variances against the article's standard (reports.c's
 * monthly report of costs uses it too). 0 with *body new and *output (declarations,
 * pieces, length) new, or an error with err. */
int fofal__ctl_cost_query(fofal_worker_t *w, const char *tenant, const char *const params[5], json_t **body,
                          json_t **output, char *err, size_t errlen) {
  json_t *beams = NULL, *labour = NULL, *grades = NULL, *looms = NULL, *months = NULL, *settings = NULL, *subs = NULL;
  int rc;
  *body = *output = NULL;
  if ((rc = fofal__worker_query(w, tenant, fofal__control_cost_output_sql, 5, params, output, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_beams_sql, 5, params, &beams, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_labour_sql, 5, params, &labour, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_grades_sql, 5, params, &grades, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_machine_sql, 5, params, &looms, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_overhead_sql, 5, params, &months, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_standard_sql, 5, params, &settings, err, errlen)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_cost_subcontracting_sql, 5, params, &subs, err, errlen))) {
    json_decref(*output);
    *output = NULL;
    goto done;
  }
  const json_t *out = json_array_get(*output, 0), *set = json_array_get(settings, 0);
  /* The lines the cost reads show when nothing is known (a period of an article) still come
   * from the same functions, so a route may answer 404 from *output alone. */
  *body = fofal__ctl_cost(beams, labour, grades, json_integer_value(json_object_get(out, "pieces")));
  json_t *machine = fofal__ctl_machine(looms);
  json_object_set_new(*body, "subcontracting", fofal__ctl_subcontracting(subs));
  fofal__ctl_cost_add(*body, machine, fofal__ctl_overhead(months, machine),
                      json_is_true(json_object_get(set, "rates_in_use")));
  fofal__ctl_variance(*body, json_object_get(set, "standard"), json_integer_value(json_object_get(out, "length_mm")));
  json_object_set_new(*body, "labour_rows", json_integer((json_int_t)json_array_size(labour)));
done:
  json_decref(beams);
  json_decref(labour);
  json_decref(grades);
  json_decref(looms);
  json_decref(months);
  json_decref(settings);
  json_decref(subs);
  return rc;
}

static void cost(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  char err[512];
  json_t *output = NULL, *body = NULL;
  int order = p->route == R_ORDER_COST, rc;
  const char *params[] = {tenant, order ? p->id : NULL, order ? NULL : p->id, p->from[0] ? p->from : NULL,
                          p->to[0] ? p->to : NULL};
  if ((rc = fofal__ctl_cost_query(w, tenant, params, &body, &output, err, sizeof err))) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  const json_t *out = json_array_get(output, 0);
  int pay = json_integer_value(json_object_get(body, "labour_rows")) > 0;
  json_object_del(body, "labour_rows");
  /* Nothing known of it: 404, as for any id the tenant does not have. An article's months
   * that saw no production answer zeros (a period was asked for). */
  if (json_integer_value(json_object_get(out, "declarations")) == 0 && !pay && (order || (!p->from[0] && !p->to[0]))) {
    fofal__read_not_found(res, order ? "no declaration nor pay of this order is known to control"
                                     : "no declaration nor pay of this article is known to control");
    json_decref(body);
    json_decref(output);
    return;
  }
  res->status = 200;
  res->body = body;
  json_object_set_new(res->body, order ? "order_id" : "article", json_string(p->id));
  if (!order) {
    json_object_set_new(res->body, "from", p->from[0] ? json_string(p->from) : json_null());
    json_object_set_new(res->body, "to", p->to[0] ? json_string(p->to) : json_null());
  }
  json_object_set(res->body, "declarations", json_object_get(out, "declarations"));
  json_object_set(res->body, "length_mm", json_object_get(out, "length_mm"));
  json_decref(output);
}

#define MAX_YIELD_ROWS 5000

/* ----------------------------------------------------------------- CSV */

static const char *const yield_cols[] = {"article",       "loom",          "weaver",       "month",        "shift",
                                         "declarations",  "pieces",        "length_mm",    "yarn_g",
                                         "metres_per_kg", "cut_rolls",     "first_choice", "second_choice",
                                         "waste_pieces",  "waste_mm",      "waste_g",      "first_choice_share",
                                         "waste_share",   NULL};

static void yields(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  char err[512];
  json_t *rows = NULL;
  const char *on[NDIMS];
  for (int i = 0; i < NDIMS; i++) on[i] = p->by & (1 << i) ? "true" : "false";
  const char *params[] = {tenant,
                          p->article[0] ? p->article : NULL,
                          p->loom[0] ? p->loom : NULL,
                          p->weaver[0] ? p->weaver : NULL,
                          p->from[0] ? p->from : NULL,
                          p->to[0] ? p->to : NULL,
                          on[0],
                          on[1],
                          on[2],
                          on[3],
                          on[4]};
  int rc = fofal__worker_query(w, tenant, fofal__control_yields_sql, 11, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  if (json_array_size(rows) > MAX_YIELD_ROWS) {
    json_decref(rows);
    res->status = 400;
    res->code = "too_many_rows";
    snprintf(res->detail, sizeof res->detail, "more than %d groups: filter or group by fewer dimensions", MAX_YIELD_ROWS);
    return;
  }
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    fofal__ctl_yield(r);
    for (int k = 0; k < NDIMS; k++)
      if (!(p->by & (1 << k))) json_object_del(r, dims[k]);
  }
  res->status = 200;
  if (!p->csv) {
    res->body = json_pack("{s:o}", "groups", rows);
    return;
  }
  fofal__csv_t c = {0};
  int first = 1;
  for (int k = 0; yield_cols[k]; k++) {
    if (k < NDIMS && !(p->by & (1 << k))) continue;
    fofal__csv_field(&c, yield_cols[k], first);
    first = 0;
  }
  fofal__csv_put(&c, "\r\n", 2);
  json_array_foreach(rows, i, r) {
    first = 1;
    for (int k = 0; yield_cols[k]; k++) {
      if (k < NDIMS && !(p->by & (1 << k))) continue;
      fofal__csv_json(&c, json_object_get(r, yield_cols[k]), first);
      first = 0;
    }
    fofal__csv_put(&c, "\r\n", 2);
  }
  json_decref(rows);
  if (c.oom || !c.buf) {
    free(c.buf);
    res->status = 0;
    fofal__read_fail(res, -1, "out of memory", 0);
    return;
  }
  res->raw = c.buf;
  res->raw_len = c.len;
  res->ctype = "text/csv; charset=utf-8; header=present";
}


static const char *const loss_cols[][2] = {
    {"loom", NULL},       {"hall", NULL},    {"shift", NULL},     {"month", NULL},
    {"breakdowns", "stops"},    {"breakdowns", "seconds"},   {"setup_adjustments", "stops"}, {"setup_adjustments", "seconds"},
    {"small_stops", "stops"},   {"small_stops", "seconds"},  {"reduced_speed", "seconds"},   {"run_s", NULL},
    {"startup_rejects", "pieces"}, {"production_rejects", "pieces"}, {"pieces_cut", NULL}, {NULL, NULL}};

static void losses(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  char err[512];
  json_t *stops = NULL, *speed = NULL, *rejects = NULL, *settings = NULL;
  const char *params[] = {tenant,
                          p->loom[0] ? p->loom : NULL,
                          p->from[0] ? p->from : NULL,
                          p->to[0] ? p->to : NULL,
                          p->hall[0] ? p->hall : NULL,
                          p->lby & 1 ? "true" : "false",
                          p->lby & 2 ? "true" : "false",
                          p->lby & 4 ? "true" : "false",
                          p->lby & 8 ? "true" : "false"};
  int rc;
  if ((rc = fofal__worker_query(w, tenant, fofal__control_loss_stops_sql, 9, params, &stops, err, sizeof err)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_loss_speed_sql, 9, params, &speed, err, sizeof err)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_loss_rejects_sql, 9, params, &rejects, err, sizeof err)) ||
      (rc = fofal__worker_query(w, tenant, fofal__control_loss_settings_sql, 1, params, &settings, err, sizeof err))) {
    fofal__read_fail(res, rc, err, 0);
    goto done;
  }
  json_t *rows = fofal__ctl_losses(stops, speed, rejects);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    for (int k = 0; k < NLDIMS; k++)
      if (!(p->lby & (1 << k))) json_object_del(r, ldims[k]);
  }
  if (json_array_size(rows) > MAX_YIELD_ROWS) {
    json_decref(rows);
    res->status = 400;
    res->code = "too_many_rows";
    snprintf(res->detail, sizeof res->detail, "more than %d groups: filter by loom, hall or months, or group by fewer",
             MAX_YIELD_ROWS);
    goto done;
  }
  res->status = 200;
  if (!p->csv) {
    const json_t *wm = json_object_get(json_array_get(settings, 0), "startup_window_min");
    res->body = json_pack("{s:i,s:I,s:o}", "small_stop_s", FOFAL_CTL_SMALL_STOP_S, "startup_window_min",
                          json_is_integer(wm) ? json_integer_value(wm) : (json_int_t)FOFAL_CTL_STARTUP_WINDOW_MIN, "looms",
                          rows);
    goto done;
  }
  fofal__csv_t c = {0};
  int first = 1;
  for (int k = 0; loss_cols[k][0]; k++) {
    char name[64];
    if (k < NLDIMS && !(p->lby & (1 << k))) continue;
    snprintf(name, sizeof name, "%s%s%s", loss_cols[k][0], loss_cols[k][1] ? "_" : "", loss_cols[k][1] ? loss_cols[k][1] : "");
    fofal__csv_field(&c, name, first);
    first = 0;
  }
  fofal__csv_put(&c, "\r\n", 2);
  json_array_foreach(rows, i, r) {
    first = 1;
    for (int k = 0; loss_cols[k][0]; k++) {
      if (k < NLDIMS && !(p->lby & (1 << k))) continue;
      const json_t *v = json_object_get(r, loss_cols[k][0]);
      if (loss_cols[k][1]) v = json_object_get(v, loss_cols[k][1]);
      fofal__csv_json(&c, v, first);
      first = 0;
    }
    fofal__csv_put(&c, "\r\n", 2);
  }
  json_decref(rows);
  if (c.oom || !c.buf) {
    free(c.buf);
    res->status = 0;
    fofal__read_fail(res, -1, "out of memory", 0);
    goto done;
  }
  res->raw = c.buf;
  res->raw_len = c.len;
  res->ctype = "text/csv; charset=utf-8; header=present";
done:
  json_decref(stops);
  json_decref(speed);
  json_decref(rejects);
  json_decref(settings);
}

/* What is set for costing (R_COSTING): $1 tenant, $2 from, $3 to month (of the overheads). */
static const char costing_sql[] =
    "SELECT json_build_object('machine_rates', (SELECT coalesce(json_agg(json_build_object('of', rate_of, 'code', code, "
    "'valid_from', valid_from, 'rate_minor_per_hour', rate_minor_per_hour, 'set_at', set_at, 'set_by', set_by) ORDER BY "
    "rate_of, code, valid_from), '[]') FROM control.machine_rates WHERE tenant = $1), 'overheads', (SELECT "
    "coalesce(json_agg(json_build_object('month', month, 'pool', pool, 'key', key, 'amount_minor', amount_minor, "
    "'set_at', set_at, 'set_by', set_by) ORDER BY month, pool), '[]') FROM control.overheads WHERE tenant = $1 AND "
    "($2::text IS NULL OR month >= $2) AND ($3::text IS NULL OR month <= $3)), 'standard_costs', (SELECT "
    "coalesce(json_agg(json_build_object('article', article, 'per', per, 'yarn_minor', yarn_minor, 'labour_minor', "
    "labour_minor, 'machine_minor', machine_minor, 'overhead_minor', overhead_minor, 'set_at', set_at, 'set_by', set_by) "
    "ORDER BY article), '[]') FROM control.standard_costs WHERE tenant = $1))";

/* {budget_minor, actual_minor, variance_minor} of the lines whose account starts with `cls`. */
static json_t *total(const json_t *lines, char cls) {
  json_int_t budget = 0, actual = 0;
  size_t i;
  const json_t *l;
  json_array_foreach(lines, i, l) {
    const char *acc = json_string_value(json_object_get(l, "account"));
    if (!acc || acc[0] != cls) continue;
    budget += json_integer_value(json_object_get(l, "budget_minor"));
    actual += json_integer_value(json_object_get(l, "actual_minor"));
  }
  return json_pack("{s:I,s:I,s:I}", "budget_minor", budget, "actual_minor", actual, "variance_minor", actual - budget);
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512];
  json_t *rows = NULL, *years = NULL;
  int rc;
  if (p->route == R_ORDER_COST || p->route == R_ARTICLE_COST) {
    cost(w, tenant, p, res);
    return;
  }
  if (p->route == R_YIELDS) {
    yields(w, tenant, p, res);
    return;
  }
  if (p->route == R_LOSSES) {
    losses(w, tenant, p, res);
    return;
  }
  if (p->route == R_COSTING) {
    const char *params[] = {tenant, p->from[0] ? p->from : NULL, p->to[0] ? p->to : NULL};
    if ((rc = fofal__worker_query(w, tenant, costing_sql, 3, params, &rows, err, sizeof err))) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    res->status = 200;
    res->body = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return;
  }
  if (p->route == R_BUDGETS) {
    const char *params[] = {tenant};
    if ((rc = fofal__worker_query(w, tenant, year_sql, 1, params, &rows, err, sizeof err))) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    res->status = 200;
    res->body = json_pack("{s:o}", "years", rows);
    return;
  }
  const char *yp[] = {tenant};
  if ((rc = fofal__worker_query(w, tenant, year_sql, 1, yp, &years, err, sizeof err))) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *year = NULL, *y;
  size_t i;
  json_array_foreach(years, i, y) {
    if (!strcmp(json_string_value(json_object_get(y, "year")) ? json_string_value(json_object_get(y, "year")) : "",
                p->year))
      year = y;
  }
  if (!year) {
    json_decref(years);
    fofal__read_not_found(res, "budget");
    return;
  }
  const char *params[] = {tenant, p->year, p->as_of[0] ? p->as_of : NULL, p->month[0] ? p->month : NULL,
                          p->centre[0] ? p->centre : NULL};
  if ((rc = fofal__worker_query(w, tenant, lines_sql, 5, params, &rows, err, sizeof err))) {
    json_decref(years);
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *charges = total(rows, '6'), *products = total(rows, '7');
  json_int_t rb = json_integer_value(json_object_get(products, "budget_minor")) -
                  json_integer_value(json_object_get(charges, "budget_minor")),
             ra = json_integer_value(json_object_get(products, "actual_minor")) -
                  json_integer_value(json_object_get(charges, "actual_minor"));
  res->status = 200;
  res->body = json_pack("{s:s,s:O,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I}}", "year", p->year, "status",
                        json_object_get(year, "status"), "as_of", p->as_of[0] ? json_string(p->as_of) : json_null(), "lines",
                        rows, "charges", charges, "products", products, "result", "budget_minor", rb, "actual_minor", ra,
                        "variance_minor", ra - rb);
  json_decref(years);
}

/* -------------------------------------------------------------- routing */

static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/control/";
  char s1[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  if (!strcmp(s1, "yields")) return at == len ? R_YIELDS : -1;
  if (!strcmp(s1, "losses")) return at == len ? R_LOSSES : -1;
  if (!strcmp(s1, "costing")) return at == len ? R_COSTING : -1;
  if (!strcmp(s1, "orders") || !strcmp(s1, "articles")) {
    char s3[16];
    if (fofal__path_segment(path, len, &at, p->id, sizeof p->id) || fofal__path_segment(path, len, &at, s3, sizeof s3) ||
        at != len || strcmp(s3, "cost"))
      return -1;
    return s1[0] == 'o' ? R_ORDER_COST : R_ARTICLE_COST;
  }
  if (strcmp(s1, "budgets")) return -1;
  if (at == len) return R_BUDGETS;
  if (!fofal__path_segment(path, len, &at, p->year, sizeof p->year) && at == len) return R_BUDGET;
  return -1;
}

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int month_ok(const char *s) {
  return strlen(s) == 7 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && strcmp(s + 5, "01") >= 0 &&
         strcmp(s + 5, "12") <= 0;
}

/* The bits of `names` a comma-separated ?by= lists; -1 for a name not in it or none. */
static int by_bits(const char *s, const char *const *names, int n) {
  int bits = 0;
  for (const char *q = s; *q;) {
    size_t len = strcspn(q, ",");
    int k = 0;
    while (k < n && !(strlen(names[k]) == len && !strncmp(names[k], q, len))) k++;
    if (k == n) return -1;
    bits |= 1 << k;
    q += len;
    if (*q == ',') q++;
  }
  return bits ? bits : -1;
}

static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  if (routes[p->route].params & F_PERIOD) {
    if ((s = fofal__param(req, "from"))) {
      if (!month_ok(s)) return fofal__perr(e, 400, "invalid_parameter", "from is a month YYYY-MM (got \"%.40s\")", s);
      snprintf(p->from, sizeof p->from, "%s", s);
    }
    if ((s = fofal__param(req, "to"))) {
      if (!month_ok(s)) return fofal__perr(e, 400, "invalid_parameter", "to is a month YYYY-MM (got \"%.40s\")", s);
      snprintf(p->to, sizeof p->to, "%s", s);
    }
    if (p->from[0] && p->to[0] && strcmp(p->from, p->to) > 0)
      return fofal__perr(e, 400, "invalid_parameter", "from is after to (%s)", p->to);
  }
  if (routes[p->route].params & F_LOSSES) {
    if ((s = fofal__param(req, "loom"))) {
      if (!fofal_code_valid(s)) return fofal__perr(e, 400, "invalid_parameter", "loom is a loom's code (got \"%.40s\")", s);
      snprintf(p->loom, sizeof p->loom, "%s", s);
    }
    if ((s = fofal__param(req, "hall"))) {
      if (!fofal_code_valid(s)) return fofal__perr(e, 400, "invalid_parameter", "hall is a hall's code (got \"%.40s\")", s);
      snprintf(p->hall, sizeof p->hall, "%s", s);
    }
    p->lby = 1 | 8; /* loom, month */
    if ((s = fofal__param(req, "by")) && (p->lby = by_bits(s, ldims, NLDIMS)) <= 0)
      return fofal__perr(e, 400, "invalid_parameter", "by lists loom, hall, shift or month (got \"%.40s\")", s);
    if ((s = fofal__param(req, "format"))) {
      if (strcmp(s, "json") && strcmp(s, "csv"))
        return fofal__perr(e, 400, "invalid_format", "format is json or csv (got \"%.40s\")", s);
      p->csv = !strcmp(s, "csv");
    }
  }
  if (routes[p->route].params & F_YIELDS) {
    struct {
      const char *name;
      char *to;
    } codes[] = {{"article", p->article}, {"loom", p->loom}, {"weaver", p->weaver}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
      if ((s = fofal__param(req, codes[i].name))) {
        if (!fofal_code_valid(s)) return fofal__perr(e, 400, "invalid_parameter", "a code is expected (got \"%.40s\")", s);
        snprintf(codes[i].to, 72, "%s", s);
      }
    p->by = 1 | 8; /* article, month */
    if ((s = fofal__param(req, "by")) && (p->by = by_bits(s, dims, NDIMS)) <= 0)
      return fofal__perr(e, 400, "invalid_parameter", "by lists article, loom, weaver, month or shift (got \"%.40s\")", s);
    if ((s = fofal__param(req, "format"))) {
      if (strcmp(s, "json") && strcmp(s, "csv")) return fofal__perr(e, 400, "invalid_format", "format is json or csv (got \"%.40s\")", s);
      p->csv = !strcmp(s, "csv");
    }
  }
  if (!(routes[p->route].params & F_LINES)) return 0;
  if ((s = fofal__param(req, "month"))) {
    if (strlen(s) != 7 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || strncmp(s, p->year, 4) ||
        strcmp(s + 5, "01") < 0 || strcmp(s + 5, "12") > 0)
      return fofal__perr(e, 400, "invalid_parameter", "month is YYYY-MM in the budget's year (got \"%.40s\")", s);
    snprintf(p->month, sizeof p->month, "%s", s);
  }
  if ((s = fofal__param(req, "cost_centre"))) {
    if (!fofal_code_valid(s)) return fofal__perr(e, 400, "invalid_parameter", "cost_centre is not a code (got \"%.40s\")", s);
    snprintf(p->centre, sizeof p->centre, "%s", s);
  }
  if ((s = fofal__param(req, "as_of"))) {
    int64_t us;
    if (strlen(s) >= 40 || fofal_time_parse(s, &us))
      return fofal__perr(e, 400, "invalid_parameter", "as_of is an RFC 3339 time (got \"%.40s\")", s);
    fofal_time_format(us, p->as_of);
  }
  return 0;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  fofal__perr_t e = {0};
  params_t p;
  if (fofal__ctl_reports_route(api, req)) return 0; /* the monthly reports (reports.c) */
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  p.route = match(req->path_normalized.base, req->path_normalized.len, &p);
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (p.route == R_BUDGET && (strlen(p.year) != 4 || !digits(p.year, 4))) {
    fofal__send_problem(req, 404, "not_found", "a budget is named by its year (2027)", NULL);
    return 0;
  }
  if ((p.route == R_ORDER_COST && !fofal_uuid_valid(p.id)) || (p.route == R_ARTICLE_COST && !fofal_code_valid(p.id))) {
    fofal__send_problem(req, 404, "not_found", p.route == R_ORDER_COST ? "an order is named by its id (a UUID)"
                                                                       : "an article is named by its code (FT-100x200)",
                        NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define INT "{\"type\":\"integer\"}"
#define TOTAL "{\"type\":\"object\",\"properties\":{\"budget_minor\":" INT ",\"actual_minor\":" INT ",\"variance_minor\":" INT "}}"
static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"BudgetYears",
     "{\"type\":\"object\",\"properties\":{\"years\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
     "\"year\":{\"type\":\"string\"},\"status\":{\"enum\":[\"open\",\"closed\"]},\"closed_at\":{},\"version\":" INT
     ",\"lines\":" INT ",\"charges_minor\":" INT ",\"products_minor\":" INT "}}}}}"},
    {"Budget",
     "{\"type\":\"object\",\"properties\":{\"year\":{\"type\":\"string\"},\"status\":{\"enum\":[\"open\",\"closed\"]},"
     "\"as_of\":{},\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"cost_centre\":{},"
     "\"account\":{\"type\":\"string\"},\"month\":{\"type\":\"string\"},\"budget_minor\":" INT ",\"actual_minor\":" INT
     ",\"variance_minor\":" INT ",\"consumed\":{}}}},\"charges\":" TOTAL ",\"products\":" TOTAL ",\"result\":" TOTAL "}}"},
};

static const char cost_schema[] =
    "{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"string\"},\"article\":{\"type\":\"string\"},"
    "\"from\":{},\"to\":{},\"declarations\":" INT ",\"length_mm\":" INT ",\"pieces\":" INT ",\"total_minor\":" INT
    ",\"cost_per_piece_minor\":{},\"complete\":{\"type\":\"boolean\"},\"yarn\":{\"type\":\"object\",\"properties\":{"
    "\"cost_minor\":" INT ",\"weight_g\":" INT ",\"unpriced_g\":" INT ",\"unwarped_mm\":" INT ",\"beams\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"beam\":{\"type\":\"string\"},\"consumed_mm\":" INT
    ",\"warped_mm\":" INT ",\"beam_yarn_g\":" INT ",\"beam_cost_minor\":" INT ",\"weight_g\":" INT ",\"cost_minor\":" INT
    ",\"lots\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"lot\":{\"type\":\"string\"},"
    "\"weight_g\":" INT ",\"unit\":{},\"unit_price\":{},\"cost_minor\":{}}}}}}}}},\"labour\":{\"type\":\"object\","
    "\"properties\":{\"cost_minor\":" INT ",\"by_role\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"role\":{\"type\":\"string\"},\"amount_minor\":" INT "}}}}},\"by_grade\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"grade\":{\"type\":\"string\"},\"pieces\":" INT
    ",\"cost_per_piece_minor\":" INT ",\"cost_minor\":" INT "}}},\"machine\":{\"type\":\"object\",\"properties\":{"
    "\"cost_minor\":" INT ",\"run_s\":" INT ",\"complete\":{\"type\":\"boolean\"},\"looms\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"loom\":{\"type\":\"string\"},\"month\":{\"type\":"
    "\"string\"},\"loom_type\":{},\"hall\":{},\"share_by\":{\"enum\":[\"metres\",\"pieces\"]},\"share\":{"
    "\"type\":\"object\",\"properties\":{\"selection\":" INT ",\"loom_month\":" INT "}},\"loom_run_s\":{},"
    "\"run_s\":{},\"loom_cost_minor\":" INT ",\"cost_minor\":" INT ",\"rates\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"rate_of\":{\"enum\":[\"loom_type\",\"loom\"]},\"code\":{\"type\":"
    "\"string\"},\"valid_from\":{\"type\":\"string\"},\"rate_minor_per_hour\":" INT ",\"run_s\":" INT
    ",\"cost_minor\":" INT "}}},\"reason\":{\"enum\":[null,\"no_telemetry\",\"no_rate\",\"part_unrated\"]}}}}}},"
    "\"overhead\":{\"type\":\"object\",\"properties\":{\"cost_minor\":" INT ",\"months\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"month\":{\"type\":\"string\"},\"pools\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"pool\":{\"type\":\"string\"},\"key\":{"
    "\"enum\":[\"machine_hours\",\"metres\",\"pieces\"]},\"amount_minor\":" INT ",\"base\":" INT
    ",\"month_total\":" INT ",\"cost_minor\":" INT ",\"reason\":{\"enum\":[null,\"no_base\"]}}}}}}}}},"
    "\"subcontracting\":{\"type\":\"object\",\"description\":\"What the priced returns of the rolls cost at "
    "subcontractors, per dispatch (README, Subcontracting).\",\"properties\":{\"cost_minor\":" INT ",\"dispatches\":{"
    "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"dispatch_id\":{\"type\":\"string\"},"
    "\"subcontractor\":{},\"operation\":{},\"rolls\":" INT ",\"returns\":" INT ",\"cost_minor\":" INT "}}}}},"
    "\"standard\":{\"type\":[\"object\",\"null\"],\"properties\":{\"article\":{\"type\":\"string\"},\"per\":{"
    "\"enum\":[\"piece\",\"metre\"]},\"quantity\":" INT ",\"standard_minor\":" INT ",\"actual_minor\":" INT
    ",\"variance_minor\":" INT ",\"components\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"component\":{\"enum\":[\"yarn\",\"labour\",\"machine\",\"overhead\",\"subcontracting\"]},"
    "\"standard_per_unit_minor\":" INT ",\"standard_minor\":" INT ",\"actual_minor\":" INT ",\"variance_minor\":"
    INT "}}}}}}}";

static const char yields_schema[] =
    "{\"type\":\"object\",\"properties\":{\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"article\":{},\"loom\":{},\"weaver\":{},\"month\":{},\"declarations\":" INT ",\"pieces\":" INT
    ",\"length_mm\":" INT ",\"yarn_g\":" INT ",\"metres_per_kg\":{},\"cut_rolls\":" INT ",\"first_choice\":" INT
    ",\"second_choice\":" INT ",\"waste_pieces\":" INT ",\"waste_mm\":" INT ",\"waste_g\":" INT
    ",\"first_choice_share\":{},\"waste_share\":{},\"shift\":{}}}}}}";

#define LOSS "{\"type\":\"object\",\"properties\":{\"stops\":" INT ",\"seconds\":" INT "}}"
static const char losses_schema[] =
    "{\"type\":\"object\",\"properties\":{\"small_stop_s\":" INT ",\"startup_window_min\":" INT ",\"looms\":{"
    "\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"loom\":{\"type\":\"string\"},\"hall\":{},\"shift\":{},\"month\":{\"type\":\"string\"},"
    "\"breakdowns\":" LOSS ",\"setup_adjustments\":" LOSS ",\"small_stops\":" LOSS ",\"reduced_speed\":{\"type\":"
    "\"object\",\"properties\":{\"seconds\":{}}},\"startup_rejects\":{\"type\":\"object\",\"properties\":{"
    "\"pieces\":" INT "}},\"production_rejects\":{\"type\":\"object\",\"properties\":{\"pieces\":" INT "}},"
    "\"stop_s_by_cause\":{\"type\":\"object\"},\"run_s\":" INT ",\"pieces_cut\":" INT "}}}}}";

static const char costing_schema[] =
    "{\"type\":\"object\",\"properties\":{\"machine_rates\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"of\":{\"enum\":[\"loom_type\",\"loom\"]},\"code\":{\"type\":\"string\"},\"valid_from\":{"
    "\"type\":\"string\"},\"rate_minor_per_hour\":" INT ",\"set_at\":{\"type\":\"string\"},\"set_by\":{\"type\":"
    "\"string\"}}}},\"overheads\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"month\":{"
    "\"type\":\"string\"},\"pool\":{\"type\":\"string\"},\"key\":{\"enum\":[\"machine_hours\",\"metres\","
    "\"pieces\"]},\"amount_minor\":" INT ",\"set_at\":{\"type\":\"string\"},\"set_by\":{\"type\":\"string\"}}}},"
    "\"standard_costs\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"article\":{\"type\":"
    "\"string\"},\"per\":{\"enum\":[\"piece\",\"metre\"]},\"yarn_minor\":" INT ",\"labour_minor\":" INT
    ",\"machine_minor\":" INT ",\"overhead_minor\":" INT ",\"set_at\":{\"type\":\"string\"},\"set_by\":{\"type\":"
    "\"string\"}}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  json_t *gs = json_loads(costing_schema, 0, NULL);
  if (gs) json_object_set_new(schemas, "Costing", gs);
  json_t *ls = json_loads(losses_schema, 0, NULL);
  if (ls) json_object_set_new(schemas, "Losses", ls);
  json_t *cs = json_loads(cost_schema, 0, NULL);
  if (cs) json_object_set_new(schemas, "Cost", cs);
  json_t *ys = json_loads(yields_schema, 0, NULL);
  if (ys) json_object_set_new(schemas, "Yields", ys);
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  for (int r = 0; r < R_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == R_BUDGET) {
      json_array_append_new(params, fofal__openapi_path_param("year", "The budget's year (2027)."));
      json_array_append_new(params, fofal__openapi_query_param("month", "Only this month (YYYY-MM).",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("cost_centre", "Only this cost centre's lines.",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("as_of", "Budgets and entries as known at this instant "
                                                                        "(RFC 3339).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format",
                                                                         "date-time")));
    }
    if (r == R_ORDER_COST) json_array_append_new(params, fofal__openapi_path_param("id", "The production order's id."));
    if (r == R_YIELDS) {
      json_array_append_new(params, fofal__openapi_query_param("by", "Group by any of article, loom, weaver, month, "
                                                                     "shift (comma separated; default article,month).",
                                                               json_pack("{s:s}", "type", "string")));
      for (int k = 0; k < 3; k++)
        json_array_append_new(params, fofal__openapi_query_param(dims[k], "Only this code.", json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("format", "json (default) or csv (text/csv, RFC 4180).",
                                                               json_pack("{s:s,s:[s,s]}", "type", "string", "enum",
                                                                         "json", "csv")));
    }
    if (r == R_LOSSES) {
      json_array_append_new(params, fofal__openapi_query_param("by", "Group by any of loom, hall, shift, month (comma "
                                                                     "separated; default loom,month).",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("loom", "Only this loom.", json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("hall", "Only this hall's looms.",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("format", "json (default) or csv (text/csv, RFC 4180).",
                                                               json_pack("{s:s,s:[s,s]}", "type", "string", "enum",
                                                                         "json", "csv")));
    }
    if (r == R_ARTICLE_COST || r == R_YIELDS || r == R_LOSSES || r == R_COSTING) {
      if (r == R_ARTICLE_COST) json_array_append_new(params, fofal__openapi_path_param("article", "The article's code."));
      json_array_append_new(params, fofal__openapi_query_param("from", "First month (YYYY-MM).",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("to", "Last month (YYYY-MM).",
                                                               json_pack("{s:s}", "type", "string")));
    }
    char desc[1400], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("control", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == R_YIELDS || r == R_LOSSES) {
      json_t *content = json_object_get(json_object_get(json_object_get(json_object_get(op, "get"), "responses"), "200"),
                                        "content");
      if (content) json_object_set_new(content, "text/csv", json_pack("{s:{s:s}}", "schema", "type", "string"));
    }
    json_object_set_new(paths, rt->path, op);
  }
  fofal__ctl_reports_openapi(paths, schemas);
}

/* Which read route shows the aggregate of each control event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"", "/api/v1/control/budgets/{year}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_control_routes = {
    .name = "control",
    .on_read = on_read,
    .openapi = openapi,
    .configure = fofal__ctl_reports_configure,
    .start = fofal__ctl_reports_start,
    .stop = fofal__ctl_reports_stop,
    .push_routes = push_routes,
};
