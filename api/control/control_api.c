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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLES_CONTROL "manager accountant auditor admin"

enum { R_BUDGETS, R_BUDGET, R_N };
#define F_LINES 1 /* month, cost_centre, as_of */

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
};

typedef struct {
  int route;
  char year[72], month[8], centre[72], as_of[40]; /* year as the path gives it, checked after the roles */
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
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1) || strcmp(s1, "budgets")) return -1;
  if (at == len) return R_BUDGETS;
  if (!fofal__path_segment(path, len, &at, p->year, sizeof p->year) && at == len) return R_BUDGET;
  return -1;
}

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
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

static void openapi(json_t *paths, json_t *schemas) {
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
    char desc[1400], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("control", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    json_object_set_new(paths, rt->path, op);
  }
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
    .push_routes = push_routes,
};
