/*
 * accounting_api.c — the accounting module's reads: the ledger as statements that answer
 * "why".
 *
 *   GET /api/v1/accounting/trial-balance?as_of=          every account's debits, credits
 *                                                        and balance up to a date, and the
 *                                                        totals (debits = credits)
 *   GET /api/v1/accounting/accounts/{account}/entries?as_of=
 *                                                        the lines behind an account's
 *                                                        balance (latest 500), each with
 *                                                        its entry, author and source event
 *   GET /api/v1/accounting/entries/{entry_id}            one entry: lines, author, source
 *
 * From a balance to its entries, from an entry to the business event it was posted from
 * (source: the event id, which the audit trail and `fofal replay` show with its actor and
 * command). Money in integer minor units. The rows are the accounting projection's
 * (schemas/accounting/085_accounting.sql). Read by accountants, managers, auditors and
 * admins. ?as_of= is a date (inclusive; absent: every entry).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define ROLES_LEDGER "accountant manager auditor admin"
#define MAX_LINES 500

enum { A_TRIAL, A_ACCOUNT, A_ENTRY, A_N };
#define P_AS_OF 1

static const fofal_read_route_t routes[A_N] = {
    [A_TRIAL] = {"/api/v1/accounting/trial-balance", "accounting.trial_balance.get", "The trial balance.",
                 "Every account's debits, credits and balance (debits − credits) over the entries dated up to "
                 "?as_of= (inclusive; absent: all), and the totals, which are equal: every entry balances.",
                 ROLES_LEDGER, NULL, P_AS_OF, "TrialBalance"},
    [A_ACCOUNT] = {"/api/v1/accounting/accounts/{account}/entries", "accounting.account_entries.get",
                   "The lines behind an account's balance.",
                   "Its lines up to ?as_of= (latest 500), each with its entry's date, memo, author (posted_by) and "
                   "source event (the business event it was posted from), and the balance.",
                   ROLES_LEDGER, NULL, P_AS_OF, "AccountEntries"},
    [A_ENTRY] = {"/api/v1/accounting/entries/{entry_id}", "accounting.entries.get", "One journal entry.",
                 "Its date, memo, lines, author and source event.", ROLES_LEDGER, NULL, 0, "Entry"},
};

typedef struct {
  int route;
  char key[80];   /* the account or entry id of the path */
  char as_of[11]; /* "" when not given */
} params_t;

/* ------------------------------------------------------------------ run */

#define ENTRY_OBJ(e)                                                                                                 \
  "json_build_object('entry_id', " e ".entry_id, 'date', " e ".date, 'memo', " e ".memo, 'total_minor', " e          \
  ".total_minor, 'posted_by', " e ".posted_by, 'posted_at', " TS(e ".posted_at") ", 'source', CASE WHEN " e          \
  ".source_event IS NULL THEN NULL ELSE json_build_object('event_id', " e ".source_event, 'type', " e ".source_type) " \
  "END)"

static const char trial_sql[] =
    "SELECT json_build_object('as_of', nullif($2, ''), 'accounts', coalesce(json_agg(json_build_object('account', "
    "a.account, 'debit_minor', a.dr, 'credit_minor', a.cr, 'balance_minor', a.dr - a.cr) ORDER BY a.account), "
    "'[]'::json), 'debit_minor', coalesce(sum(a.dr), 0), 'credit_minor', coalesce(sum(a.cr), 0)) FROM (SELECT "
    "l.account, sum(l.debit_minor) AS dr, sum(l.credit_minor) AS cr FROM accounting.entry_lines l WHERE l.tenant = $1 "
    "AND ($2 = '' OR l.date <= $2::date) GROUP BY l.account) a";

static const char account_sql[] =
    "SELECT json_build_object('account', $2::text, 'as_of', nullif($3, ''), 'debit_minor', coalesce(sum(l.debit_minor), "
    "0), 'credit_minor', coalesce(sum(l.credit_minor), 0), 'balance_minor', coalesce(sum(l.debit_minor - "
    "l.credit_minor), 0), 'lines', coalesce((SELECT json_agg(x.j ORDER BY x.date DESC, x.posted_at DESC) FROM (SELECT "
    "m.date, e.posted_at, json_build_object('debit_minor', m.debit_minor, 'credit_minor', m.credit_minor, 'label', "
    "m.label, 'entry', " ENTRY_OBJ("e") ") AS j FROM accounting.entry_lines m JOIN accounting.entries e ON e.tenant = "
    "m.tenant AND e.entry_id = m.entry_id WHERE m.tenant = $1 AND m.account = $2 AND ($3 = '' OR m.date <= $3::date) "
    "ORDER BY m.date DESC, e.posted_at DESC LIMIT $4::int) x), '[]'::json)) FROM accounting.entry_lines l WHERE "
    "l.tenant = $1 AND l.account = $2 AND ($3 = '' OR l.date <= $3::date)";

static const char entry_sql[] =
    "SELECT " ENTRY_OBJ("e") "::jsonb || jsonb_build_object('lines', (SELECT jsonb_agg(jsonb_build_object('account', "
    "l.account, 'debit_minor', l.debit_minor, 'credit_minor', l.credit_minor, 'label', l.label) ORDER BY l.n) FROM "
    "accounting.entry_lines l WHERE l.tenant = e.tenant AND l.entry_id = e.entry_id)) FROM accounting.entries e WHERE "
    "e.tenant = $1 AND e.entry_id = $2::uuid";

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512], lim[16];
  json_t *rows = NULL;
  snprintf(lim, sizeof lim, "%d", MAX_LINES);
  const char *trial[] = {tenant, p->as_of}, *account[] = {tenant, p->key, p->as_of, lim}, *entry[] = {tenant, p->key};
  int rc = p->route == A_TRIAL     ? fofal__worker_query(w, tenant, trial_sql, 2, trial, &rows, err, sizeof err)
           : p->route == A_ACCOUNT ? fofal__worker_query(w, tenant, account_sql, 4, account, &rows, err, sizeof err)
                                   : fofal__worker_query(w, tenant, entry_sql, 2, entry, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, "entry");
    json_decref(rows);
    return;
  }
  res->status = 200;
  res->body = json_incref(r);
  json_decref(rows);
}

/* -------------------------------------------------------------- routing */

/* ?as_of= into p ("" when absent). 0, or -1 with a 400 sent. */
static int as_of(h2o_req_t *req, params_t *p) {
  const char *v = fofal__query_param(req, "as_of");
  int y, m, d, n = 0;
  if (!v || !*v) return 0;
  struct tm tm = {0};
  if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || y < 1970 || m < 1 || m > 12 ||
      d < 1 || d > 31 || (tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d, timegm(&tm), tm.tm_mday != d)) {
    fofal__send_problem(req, 400, "invalid_date", "as_of must be a date YYYY-MM-DD", NULL);
    return -1;
  }
  memcpy(p->as_of, v, 11);
  return 0;
}

/* An account of the SCE classes 1 to 7, 2 to 8 digits, as entry.post's schema and the
 * decider take them: anything else (another tenant's ids included) is no account. */
static int account_number(const char *s) {
  size_t n = strlen(s);
  if (n < 2 || n > 8 || s[0] < '1' || s[0] > '7') return 0;
  for (size_t i = 1; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/accounting/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32], s3[32] = "";
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1)) {
    if (at == len && !strcmp(s1, "trial-balance")) p.route = A_TRIAL;
    else if (at < len && !fofal__path_segment(path, len, &at, p.key, sizeof p.key) &&
             (at == len || (!fofal__path_segment(path, len, &at, s3, sizeof s3) && at == len))) {
      if (!strcmp(s1, "entries") && !*s3) p.route = A_ENTRY;
      else if (!strcmp(s1, "accounts") && !strcmp(s3, "entries")) p.route = A_ACCOUNT;
    }
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  if (fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1)) return 0;
  if ((p.route == A_ENTRY && !fofal_uuid_valid(p.key)) || (p.route == A_ACCOUNT && !account_number(p.key))) {
    fofal__send_problem(req, 404, "not_found", "no such entry or account", NULL);
    return 0;
  }
  if (routes[p.route].params && as_of(req, &p)) return 0;
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define MINOR "{\"type\":\"integer\",\"description\":\"Integer minor units (millimes for TND).\"}"
#define ENTRY_PROPS                                                                                                    \
  "\"entry_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"date\":{\"type\":\"string\",\"format\":\"date\"},"         \
  "\"memo\":{\"type\":[\"string\",\"null\"]},\"total_minor\":" MINOR ",\"posted_by\":{\"type\":\"string\","            \
  "\"description\":\"Who posted it: the token's actor, or r:<reaction>.\"},\"posted_at\":{\"type\":\"string\"},"      \
  "\"source\":{\"type\":[\"object\",\"null\"],\"description\":\"The business event it was posted from: its id (see "  \
  "the audit trail and fofal replay) and type.\"}"

static const char trial_schema[] =
    "{\"type\":\"object\",\"properties\":{\"as_of\":{\"type\":[\"string\",\"null\"]},\"accounts\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"debit_minor\":" MINOR
    ",\"credit_minor\":" MINOR ",\"balance_minor\":" MINOR "}}},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR "}}";

static const char account_schema[] =
    "{\"type\":\"object\",\"properties\":{\"account\":{\"type\":\"string\"},\"as_of\":{\"type\":[\"string\",\"null\"]},"
    "\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR ",\"balance_minor\":" MINOR ",\"lines\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR ",\"label\":{},"
    "\"entry\":{\"type\":\"object\",\"properties\":{" ENTRY_PROPS "}}}}}}}";

static const char entry_schema[] =
    "{\"type\":\"object\",\"properties\":{" ENTRY_PROPS ",\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"account\":{\"type\":\"string\"},\"debit_minor\":" MINOR ",\"credit_minor\":" MINOR
    ",\"label\":{}}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  static const char *const named[A_N][2] = {
      {"TrialBalance", trial_schema}, {"AccountEntries", account_schema}, {"Entry", entry_schema}};
  for (int i = 0; i < A_N; i++) {
    json_t *s = json_loads(named[i][1], 0, NULL);
    if (s) json_object_set_new(schemas, named[i][0], s);
  }
  for (int r = 0; r < A_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == A_ACCOUNT)
      json_array_append_new(params, fofal__openapi_path_param("account", "Account number, SCE classes 1 to 7 (640)."));
    if (r == A_ENTRY) json_array_append_new(params, fofal__openapi_path_param("entry_id", "The entry's id (UUID)."));
    if (rt->params)
      json_array_append_new(params, fofal__openapi_query_param("as_of", "The last date included (inclusive).",
                                                               json_pack("{s:s,s:s}", "type", "string", "format", "date")));
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_object_set_new(paths, rt->path,
                        fofal__openapi_read_op("accounting", rt->op_id, rt->summary, desc, params, ref, rt->roles));
  }
}

/* Which read route shows each accounting event's aggregate (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"entry_", "/api/v1/accounting/entries/{entry_id}", 0},
    {"period_", "/api/v1/accounting/trial-balance", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_accounting_routes = {
    .name = "accounting",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
