/*
 * weaving_api.c — the read side of the weaving floor (production module), served through
 * reads.c's machinery (auth, ?position= read-your-writes, worker jobs, 503s):
 *
 *   GET /api/v1/production/looms, /looms/{code}, /looms/{code}/history
 *   GET /api/v1/production/beams?status=&loom=, /beams/{code}
 *   GET /api/v1/production/views/weaver?badge=      my looms, orders, output vs target, efficiency
 *   GET /api/v1/production/views/planner
 *
 * One table (routes[]) says for every route its path, who may read it, its parameters and
 * the shape of its answer; the router, the role check and the OpenAPI document all read
 * it, so they cannot disagree. A role that may not read a route gets 403 before anything
 * else is looked at; some routes also let a caller read what is about themself (a weaver's
 * own badge and view).
 *
 * The weaver's name and shift assignments are the hr module's (hr.employees,
 * hr.shift_assignments): the weaver view and a label's scan join them, as reads may join
 * another module's tables (only its projection writes them).
 *
 * Queries run on the read workers as fofal_reader with the tenant set (row-level security),
 * and keep `WHERE tenant = $1` for the indexes. Lists are keyset-paginated with an opaque
 * cursor. Times the views compare with "now" are the database's clock (the read side may
 * use it; the projection never does). Formulas (../shared/GLOSSARY.md): production m/h =
 * ppm × 60 × efficiency ÷ (picks/cm × 100); a weaver's shift target in pieces = shift
 * hours × the loom's production m/h ÷ the article's piece length; a beam's warp use per
 * hour = production m/h × (1 + take-up), and it runs out meters left ÷ that after its last
 * consumption.
 *
 * Other modules' rows: a loom's open intervention requests and the intervention steps of
 * its history are the maintenance module's (maintenance.interventions and
 * .intervention_history, joined at read time: maintenance_sql.h); articles are the
 * catalog's. The formulas below are in production_sql.h, which maintenance's mechanic
 * view uses too.
 *
 * Efficiency is measured, never assumed: actual picks ÷ (elapsed minutes × nominal ppm)
 * from the loom's telemetry, i.e. the machines read model's shift tallies (picks ÷
 * nominal picks, fofal-machines and projections/machines.c), at most 1. A loom's
 * `efficiency` (and the m/h, run-out and target derived from it) is that of its shifts of
 * the last 24 hours; a weaver's view shows the efficiency of their current shift. A loom
 * with no telemetry then (or no registered speed) has efficiency null, and so are the
 * figures derived from it: no invented 0.85.
 *
 * Threads: match, prepare and openapi run on the loop thread; run on a worker, with the
 * copies in fofal__wparams_t only.
 */
#include "production_api.h"
#include "production_sql.h"
#include "maintenance/maintenance_sql.h"
#include "projections.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256
#define VIEW_ROWS 500         /* rows of one kind in a view */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

enum {
  W_LOOMS, W_LOOM, W_LOOM_HISTORY, W_BEAMS, W_BEAM, W_VIEW_WEAVER, W_VIEW_PLANNER, W_N
};

/* Query parameters a route takes. */
#define P_LIMIT 1
#define P_CURSOR 2
#define P_STATUS 4
#define P_LOOM 8
#define P_BADGE 16
#define P_WITHIN 32

#define ROLES_CATALOG "weaver mechanic planner quality cutter storekeeper_mp storekeeper_pf manager admin"
#define ROLES_FLOOR "weaver mechanic planner quality manager admin"
#define ROLES_MACHINE "mechanic planner quality manager admin auditor"
#define ROLES_BEAMS "weaver mechanic planner storekeeper_mp manager admin"

/* A route: path, roles (space-separated), self_note (a person may read their own:
 * the token's badge), params (P_*), the 200 body's schema. */
typedef fofal_read_route_t wroute_t;

static const wroute_t routes[W_N] = {
    [W_LOOMS] = {"/api/v1/production/looms", "production.looms.list", "Looms.",
                 "By loom code, keyset-paginated: hall, type, weave, nominal speed, set-up article, first-piece status, "
                 "mounted beams, current order, measured efficiency (telemetry of the last 24 hours; null without) and "
                 "the production m/h it gives.",
                 ROLES_FLOOR, NULL, P_LIMIT | P_CURSOR, "LoomPage"},
    [W_LOOM] = {"/api/v1/production/looms/{code}", "production.looms.get", "One loom, with its beams and order.",
                "The loom, its mounted beams (meters left, predicted run-out), its current order and its open "
                "intervention requests.",
                ROLES_FLOOR, NULL, 0, "LoomDetail"},
    [W_LOOM_HISTORY] = {"/api/v1/production/looms/{code}/history", "production.looms.history",
                        "A loom's machine history.",
                        "Set-ups, beam changes, first-piece checks, interventions (each step) and orders started, newest "
                        "first, keyset-paginated.",
                        ROLES_MACHINE, NULL, P_LIMIT | P_CURSOR, "LoomHistoryPage"},
    [W_BEAMS] = {"/api/v1/production/beams", "production.beams.list", "Warp beams.",
                 "By beam code, keyset-paginated; filter by status and loom.", ROLES_BEAMS, NULL,
                 P_LIMIT | P_CURSOR | P_STATUS | P_LOOM, "BeamPage"},
    [W_BEAM] = {"/api/v1/production/beams/{code}", "production.beams.get", "One warp beam.",
                "Status, loom and position, length, take-up, meters left and consumed, warp use per hour, hours to "
                "run out and the predicted run-out time (from the last consumption), at the loom's measured "
                "efficiency (null without telemetry).",
                ROLES_BEAMS, NULL, 0, "Beam"},
    [W_VIEW_WEAVER] = {"/api/v1/production/views/weaver", "production.views.weaver", "The weaver's dashboard.",
                       "The weaver's shift now (badge, default the token's badge claim): their looms, the order on each, "
                       "their output this shift against target (shift hours × the loom's production m/h ÷ the piece "
                       "length, summed over their looms) and the efficiency of their looms this shift, measured by "
                       "telemetry (actual picks ÷ (elapsed minutes × nominal ppm), at most 1; null without telemetry). "
                       "shift is null when they are on no shift now. Without ?badge and without a badge in the token: 404.",
                       "weaver planner manager admin", "a weaver reads only their own view", P_BADGE, "WeaverView"},
    [W_VIEW_PLANNER] = {"/api/v1/production/views/planner", "production.views.planner", "The planner's view.",
                        "Open orders (not completed, closed or cancelled) grouped by loom with progress (declared ÷ "
                        "quantity) and the loom's measured efficiency, orders planned on no loom, and late orders (due "
                        "date passed, not completed).",
                        "planner manager admin", NULL, 0, "PlannerView"},
};

/* --------------------------------------------------------------- helpers */

static int valid_name(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max || !isalnum((unsigned char)s[0])) return 0;
  for (const char *c = s; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("._-", *c)) return 0;
  return 1;
}

static int problem(h2o_req_t *req, int status, const char *code, const char *fmt, const char *arg) {
  char d[256];
  snprintf(d, sizeof d, fmt, arg);
  fofal__send_problem(req, status, code, d, NULL);
  return -1;
}

static const char *param(h2o_req_t *req, const char *name) {
  const char *s = fofal__query_param(req, name);
  return s && *s ? s : NULL;
}

static int segment(const char *path, size_t len, size_t *pos, char *out, size_t outlen) {
  size_t start = *pos, end = start;
  while (end < len && path[end] != '/') end++;
  if (end == start || end - start >= outlen) return -1;
  memcpy(out, path + start, end - start);
  out[end - start] = '\0';
  *pos = end < len ? end + 1 : end;
  return 0;
}

/* ----------------------------------------------------------------- match */

int fofal__weaving_match(const char *path, size_t len, fofal__wparams_t *w) {
  static const char base[] = "/api/v1/production/";
  size_t at = sizeof base - 1;
  char s1[32], s2[80], s3[32];
  if (len <= at || memcmp(path, base, at) || path[len - 1] == '/') return 0;
  memset(w, 0, sizeof *w);
  if (segment(path, len, &at, s1, sizeof s1)) return 0;
  int n = 1;
  if (at < len) n += !segment(path, len, &at, s2, sizeof s2) ? 1 : 100;
  if (at < len) n += !segment(path, len, &at, s3, sizeof s3) ? 1 : 100;
  if (at < len || n > 3) return 0;
  int r = -1;
  if (!strcmp(s1, "looms")) r = n == 1 ? W_LOOMS : n == 2 ? W_LOOM : !strcmp(s3, "history") ? W_LOOM_HISTORY : -1;
  else if (!strcmp(s1, "beams")) r = n == 1 ? W_BEAMS : n == 2 ? W_BEAM : -1;
  else if (!strcmp(s1, "views") && n == 2) {
    r = !strcmp(s2, "weaver") ? W_VIEW_WEAVER : !strcmp(s2, "planner") ? W_VIEW_PLANNER : -1;
    if (r >= 0) n = 1; /* no key */
  }
  if (r < 0) return 0;
  w->route = r;
  if (n >= 2) snprintf(w->key, sizeof w->key, "%s", s2);
  return 1;
}

/* --------------------------------------------------------------- prepare */

static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  if (!s || strlen(s) > 9) return -1;
  long v = strtol(s, &end, 10);
  if (*end || end == s || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int decode_cursor(h2o_req_t *req, const char *s, char *out, size_t outlen) {
  return fofal__decode_cursor(req, s, MAX_CURSOR, out, outlen);
}

/* A cursor is "<key>" or "<time>|<id>" (base64url); its parts are checked against what
 * the route orders by, so a forged one is a 400, never a query error. */
static int parse_cursor(h2o_req_t *req, fofal__wparams_t *w) {
  const char *s = param(req, "cursor");
  if (!s) return 0;
  char raw[160];
  const char *msg = "cursor must be a next_cursor returned by this endpoint%s";
  if (decode_cursor(req, s, raw, sizeof raw)) return problem(req, 400, "malformed_cursor", msg, "");
  if (w->route == W_LOOM_HISTORY) {
    char *bar = strchr(raw, '|');
    int64_t us;
    if (!bar) return problem(req, 400, "malformed_cursor", msg, "");
    *bar = '\0';
    if (fofal_time_parse(raw, &us) || strlen(bar + 1) >= sizeof w->after2 || !*(bar + 1))
      return problem(req, 400, "malformed_cursor", msg, "");
    fofal_time_format(us, w->after);
    snprintf(w->after2, sizeof w->after2, "%s", bar + 1);
  } else {
    if (!valid_name(raw, 64)) return problem(req, 400, "malformed_cursor", msg, "");
    snprintf(w->after, sizeof w->after, "%s", raw);
  }
  w->has_after = 1;
  return 0;
}

int fofal__weaving_prepare(h2o_req_t *req, const fofal_principal_t *who, fofal__wparams_t *w) {
  const wroute_t *rt = &routes[w->route];
  snprintf(w->subject, sizeof w->subject, "%s", who->subject);
  snprintf(w->role, sizeof w->role, "%s", who->role);
  if (fofal__read_roles_check(req, who, rt->roles, rt->path + sizeof "/api/v1" - 1)) return -1;
  /* The path's code or id. */
  if (w->key[0]) {
    if (!valid_name(w->key, 64))
      return problem(req, 404, "not_found", "nothing of this tenant has the code or id \"%.60s\"", w->key);
  }
  const char *s;
  if (rt->params & P_LIMIT) {
    long v = DEFAULT_LIMIT;
    if ((s = param(req, "limit")) && parse_int(s, 1, MAX_LIMIT, &v))
      return problem(req, 400, "invalid_parameter", "limit must be an integer from 1 to %s", "200");
    w->limit = (int)v;
  }
  if ((rt->params & P_CURSOR) && parse_cursor(req, w)) return -1;
  if ((rt->params & P_STATUS) && (s = param(req, "status"))) {
    static const char *const beam_st[] = {"warped", "sized", "ready", "mounted", "doffed", "empty", NULL};
    int found = 0;
    for (int i = 0; beam_st[i]; i++) found |= !strcmp(beam_st[i], s);
    if (!found)
      return problem(req, 400, "invalid_parameter",
                     "status must be warped, sized, ready, mounted, doffed or empty (got \"%.40s\")", s);
    snprintf(w->status, sizeof w->status, "%s", s);
  }
  if ((rt->params & P_LOOM) && (s = param(req, "loom"))) {
    if (!valid_name(s, 64)) return problem(req, 400, "invalid_parameter", "loom is not a loom code (got \"%.40s\")", s);
    snprintf(w->loom, sizeof w->loom, "%s", s);
  }
  if (rt->params & P_BADGE) {
    s = param(req, "badge");
    if (s && !valid_name(s, 64)) return problem(req, 400, "invalid_parameter", "badge is not a badge (got \"%.40s\")", s);
    /* No badge, no view of one's own (as for a badge of nobody): 404, and say what to do. */
    if (!s && !who->badge[0])
      return problem(req, 404, "not_found", "%s", "this token carries no badge, so no weaver view of its own: give ?badge=");
    snprintf(w->badge, sizeof w->badge, "%s", s ? s : who->badge);
    if (!strcmp(who->role, "weaver") && strcmp(w->badge, who->badge))
      return problem(req, 403, "forbidden", "a weaver reads only their own view (badge %.60s)",
                     who->badge[0] ? who->badge : "none in this token");
  }
  if (rt->params & P_WITHIN) {
    long v = 8;
    if ((s = param(req, "within_hours")) && parse_int(s, 1, 168, &v))
      return problem(req, 400, "invalid_parameter", "within_hours must be an integer from 1 to %s", "168");
    w->within_hours = (int)v;
  }
  return 0;
}

/* ------------------------------------------------------------------- run */

#define LOOM_COLS                                                                                                      \
  "json_build_object('loom', l.loom, 'hall', l.hall, 'type', l.type, 'width_cm', l.width_cm, 'nominal_ppm', "          \
  "l.nominal_ppm, 'weave', l.weave, 'efficiency', " MEASURED_EFFICIENCY("l") ", 'article', l.article, "        \
  "'set_up_at', " TS("l.set_up_at") \
  ", 'first_piece', l.first_piece, 'first_piece_at', " TS("l.first_piece_at") ", 'beams', json_build_object("        \
  "'ground', l.ground_beam, 'pile', l.pile_beam), 'current_order', l.current_order, 'order_since', "                   \
  TS("l.order_since") ", 'production_m_per_h', " M_PER_H("l", "a") ", 'version', l.version)"

#define LOOM_FROM                                                                                                      \
  "production.looms l LEFT JOIN catalog.articles a ON a.tenant = l.tenant AND a.article = l.article"

#define BEAM_COLS                                                                                                      \
  "json_build_object('beam', b.beam, 'kind', b.kind, 'article', b.article, 'yarn_lots', b.yarn_lots, 'ends', b.ends, " \
  "'length_m', b.length_m, 'take_up_pct', b.take_up_pct, 'status', b.status, 'method', b.method, 'recipe', b.recipe, " \
  "'loom', b.loom, 'position', b.position, 'meters_left', b.meters_left, 'consumed_m', b.consumed_m, 'warp_m_per_h', " \
  "bw.w, 'hours_to_runout', CASE WHEN bw.w > 0 THEN round(b.meters_left / bw.w, 3) END, 'runout_at', "                 \
  TS("(" BEAM_RUNOUT_AT ")") ", 'warped_at', "                                                                          \
  TS("b.warped_at") ", 'mounted_at', " TS("b.mounted_at") ", 'doffed_at', " TS("b.doffed_at") ", 'doff_reason', "      \
  "b.doff_reason, 'version', b.version)"

#define ORDER_COLS                                                                                                     \
  "json_build_object('order_id', o.order_id, 'article', o.article, 'quantity', o.quantity, 'unit', o.unit, "           \
  "'due_date', o.due_date, 'loom', o.loom, 'status', o.status, 'declared', o.declared, 'length_m', o.length_m, "       \
  "'progress', CASE WHEN o.quantity > 0 THEN round(o.declared::numeric / o.quantity, 3) END, 'planned_start', "        \
  TS("o.planned_start") ", 'late', (coalesce(o.due_date < current_date, false) AND o.status NOT IN ('completed', "    \
  "'closed', 'cancelled')), 'version', o.version)"

static void fail(fofal__read_result_t *res, int rc, const char *err) {
  if (rc == FOFAL_EUNAVAIL) {
    res->status = 503;
    res->code = "postgresql_unavailable";
    snprintf(res->detail, sizeof res->detail, "PostgreSQL is not reachable; retry shortly");
  } else if (strstr(err, "statement timeout")) {
    res->status = 503;
    res->code = "query_timeout";
    snprintf(res->detail, sizeof res->detail, "the query took too long; retry shortly");
  } else {
    LOG_ERROR("weaving read failed: %s", err);
    res->status = 500;
    res->code = "internal_error";
    snprintf(res->detail, sizeof res->detail, "the query failed; the error was logged");
  }
}

static void not_found(fofal__read_result_t *res, const char *what) {
  res->status = 404;
  res->code = "not_found";
  snprintf(res->detail, sizeof res->detail, "no such %s", what);
}

/* One object (the first row) or a 404. `etag`: the row's version is the ETag (only when the
 * answer is that aggregate alone: a composite answer changes with other aggregates). */
static void one(fofal_worker_t *wk, const char *tenant, const char *sql, int n, const char *const *params,
                const char *what, int etag, fofal__read_result_t *res) {
  char err[512];
  json_t *rows = NULL;
  int rc = fofal__worker_query(wk, tenant, sql, n, params, &rows, err, sizeof err);
  if (rc) {
    fail(res, rc, err);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    not_found(res, what);
  } else {
    res->status = 200;
    res->body = json_incref(r);
    json_t *v = json_object_get(r, "version");
    if (etag && json_is_integer(v)) res->etag = json_integer_value(v);
  }
  json_decref(rows);
}

static char *b64url(const char *s) {
  size_t n = strlen(s);
  char *out = fofal_malloc(h2o_base64_encode_capacity(n));
  h2o_base64_encode(out, s, n, 1);
  return out;
}

/* A page: the query returns limit + 1 rows; the cursor is made of the last item's `k1`
 * (and `k2`, joined by '|'). */
static void page(fofal_worker_t *wk, const char *tenant, const char *sql, int n, const char *const *params, int limit,
                 const char *k1, const char *k2, fofal__read_result_t *res) {
  char err[512];
  json_t *rows = NULL;
  int rc = fofal__worker_query(wk, tenant, sql, n, params, &rows, err, sizeof err);
  if (rc) {
    fail(res, rc, err);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)limit) {
    json_array_remove(rows, (size_t)limit);
    json_t *last = json_array_get(rows, (size_t)limit - 1);
    char raw[192];
    const char *a = json_string_value(json_object_get(last, k1));
    const char *b = k2 ? json_string_value(json_object_get(last, k2)) : NULL;
    snprintf(raw, sizeof raw, "%s%s%s", a ? a : "", k2 ? "|" : "", b ? b : "");
    char *c = b64url(raw);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

static void run_loom(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w, fofal__read_result_t *res) {
  static const char sql[] =
      "SELECT (" LOOM_COLS "::jsonb || jsonb_build_object("
      "'mounted_beams', coalesce((SELECT jsonb_agg(" BEAM_COLS " ORDER BY b.position) FROM " BEAM_FROM " WHERE "
      "b.tenant = l.tenant AND b.loom = l.loom AND b.status = 'mounted'), '[]'::jsonb), "
      "'order', (SELECT " ORDER_COLS " FROM production.orders o WHERE o.tenant = l.tenant AND o.order_id = "
      "l.current_order), "
      "'open_interventions', coalesce((SELECT jsonb_agg(" INTERVENTION_COLS " ORDER BY i.requested_at) FROM "
      "maintenance.interventions i WHERE i.tenant = l.tenant AND i.loom = l.loom AND i.status IN ('requested', "
      "'accepted', 'started')), '[]'::jsonb)))::json "
      "FROM " LOOM_FROM " WHERE l.tenant = $1 AND l.loom = $2";
  const char *params[] = {tenant, w->key};
  one(wk, tenant, sql, 2, params, "loom", 0, res);
}

static void run_weaver_view(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w,
                            fofal__read_result_t *res) {
  static const char sql[] =
      "WITH sh AS (SELECT s.shift, s.starts_at, s.ends_at, s.looms, "
      "extract(epoch FROM s.ends_at - s.starts_at) / 3600.0 AS hours, "
      "greatest(0, extract(epoch FROM least(now(), s.ends_at) - s.starts_at)) / 3600.0 AS elapsed "
      "FROM hr.shift_assignments s WHERE s.tenant = $1 AND s.badge = $2 AND s.starts_at <= now() AND now() < "
      "s.ends_at ORDER BY s.starts_at DESC LIMIT 1), "
      "lm AS (SELECT l.loom, l.hall, l.nominal_ppm, l.first_piece, l.current_order, o.status AS order_status, "
      "o.quantity, o.declared, a.article, a.length_cm, " M_PER_H("l", "a") " AS m_per_h "
      "FROM sh CROSS JOIN unnest(sh.looms) AS u(code) JOIN production.looms l ON l.tenant = $1 AND l.loom = u.code "
      "LEFT JOIN production.orders o ON o.tenant = $1 AND o.order_id = l.current_order "
      "LEFT JOIN catalog.articles a ON a.tenant = $1 AND a.article = coalesce(o.article, l.article)), "
      "out AS (SELECT d.loom, sum(d.quantity) AS q, sum(coalesce(d.length_m, 0)) AS m "
      "FROM sh JOIN production.declarations d ON d.tenant = $1 AND d.weaver = $2 AND d.shift = sh.shift GROUP BY d.loom), "
      "tel AS (SELECT ms.loom, ms.picks, ms.nominal_picks FROM sh JOIN machines.loom_shifts ms ON ms.tenant = $1 "
      "AND ms.shift = sh.shift AND ms.loom = ANY (sh.looms) AND ms.nominal_picks > 0), "
      "per AS (SELECT lm.*, coalesce(out.q, 0) AS q, coalesce(out.m, 0) AS m, tel.picks, tel.nominal_picks, "
      "CASE WHEN lm.length_cm > 0 THEN round(sh.hours * lm.m_per_h / (lm.length_cm / 100), 1) END AS target "
      "FROM lm CROSS JOIN sh LEFT JOIN out ON out.loom = lm.loom LEFT JOIN tel ON tel.loom = lm.loom) "
      "SELECT json_build_object('badge', $2::text, "
      "'exists', EXISTS (SELECT 1 FROM hr.employees e WHERE e.tenant = $1 AND e.badge = $2), "
      "'name', (SELECT e.name FROM hr.employees e WHERE e.tenant = $1 AND e.badge = $2), "
      "'shift', (SELECT json_build_object('shift', sh.shift, 'starts_at', " TS("sh.starts_at") ", 'ends_at', "
      TS("sh.ends_at") ", 'hours', round(sh.hours, 2), 'elapsed_hours', round(sh.elapsed, 2)) FROM sh), "
      "'looms', coalesce((SELECT json_agg(json_build_object('loom', p.loom, 'hall', p.hall, 'first_piece', "
      "p.first_piece, 'article', p.article, 'production_m_per_h', p.m_per_h, 'order', CASE WHEN p.current_order IS "
      "NOT NULL THEN json_build_object('order_id', p.current_order, 'status', p.order_status, 'quantity', p.quantity, "
      "'declared', p.declared) END, 'output', p.q, 'output_m', p.m, 'target', p.target, 'efficiency', CASE WHEN "
      "p.nominal_picks > 0 THEN round(least(1, p.picks / p.nominal_picks)::numeric, 4) END) ORDER BY p.loom) FROM per p), "
      "'[]'::json), "
      "'output', coalesce((SELECT sum(q) FROM out), 0), "
      "'output_m', coalesce((SELECT sum(m) FROM out), 0), "
      "'target', (SELECT sum(target) FROM per), "
      "'efficiency', (SELECT CASE WHEN sum(nominal_picks) > 0 THEN round(least(1, sum(picks) / sum(nominal_picks))::numeric, "
      "4) END FROM per))";
  char err[512];
  json_t *rows = NULL;
  const char *params[] = {tenant, w->badge};
  int rc = fofal__worker_query(wk, tenant, sql, 2, params, &rows, err, sizeof err);
  if (rc) {
    fail(res, rc, err);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_true(json_object_get(r, "exists"))) {
    not_found(res, "employee");
  } else {
    json_object_del(r, "exists");
    res->status = 200;
    res->body = json_incref(r);
  }
  json_decref(rows);
}

static void run_planner_view(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w,
                             fofal__read_result_t *res) {
  (void)w;
  static const char sql[] =
      "WITH open AS (SELECT o.* FROM production.orders o WHERE o.tenant = $1 AND o.status NOT IN ('completed', "
      "'closed', 'cancelled') ORDER BY o.created_at, o.order_id LIMIT $2) "
      "SELECT json_build_object("
      "'looms', coalesce((SELECT json_agg(g.j ORDER BY g.loom) FROM (SELECT o.loom, json_build_object('loom', o.loom, "
      "'hall', (SELECT l.hall FROM production.looms l WHERE l.tenant = $1 AND l.loom = o.loom), 'current_order', "
      "(SELECT l.current_order FROM production.looms l WHERE l.tenant = $1 AND l.loom = o.loom), 'efficiency', "
      "(SELECT " MEASURED_EFFICIENCY("l") " FROM production.looms l WHERE l.tenant = $1 AND l.loom = o.loom), 'orders', "
      "json_agg(" ORDER_COLS " ORDER BY o.status <> 'started', o.planned_start NULLS LAST, o.created_at, o.order_id)) AS j "
      "FROM open o WHERE o.loom IS NOT NULL GROUP BY o.loom) g), '[]'::json), "
      "'unplanned', coalesce((SELECT json_agg(" ORDER_COLS " ORDER BY o.due_date NULLS LAST, o.created_at) FROM open o "
      "WHERE o.loom IS NULL), '[]'::json), "
      "'late', coalesce((SELECT json_agg(" ORDER_COLS " ORDER BY o.due_date, o.order_id) FROM open o WHERE o.due_date < "
      "current_date), '[]'::json))";
  char lim[16];
  snprintf(lim, sizeof lim, "%d", VIEW_ROWS);
  const char *params[] = {tenant, lim};
  one(wk, tenant, sql, 2, params, "view", 0, res);
}

/* Things named by a code (looms, beams) also show their aggregate id
 * (commands.h, fofal_aggregate_ref): the subject of their events, what the audit trail and
 * `fofal replay` answer with. Route, kind, and the member holding the code. */
static const struct {
  int route, list;
  const char *kind, *member;
} coded[] = {{W_LOOM, 0, "loom", "loom"},
             {W_LOOMS, 1, "loom", "loom"},          {W_BEAM, 0, "beam", "beam"},          {W_BEAMS, 1, "beam", "beam"}};

static void add_aggregate(const char *tenant, const char *kind, const char *member, json_t *o) {
  const char *code = json_string_value(json_object_get(o, member));
  char id[FOFAL_UUID_LEN + 1];
  if (!code || !fofal_code_valid(code)) return;
  fofal_aggregate_ref(tenant, kind, code, id);
  json_object_set_new(o, "aggregate", json_string(id));
}

static void add_aggregates(const char *tenant, int route, json_t *body) {
  for (size_t i = 0; i < sizeof coded / sizeof coded[0]; i++) {
    if (coded[i].route != route) continue;
    if (!coded[i].list) add_aggregate(tenant, coded[i].kind, coded[i].member, body);
    size_t k;
    json_t *item;
    if (coded[i].list) json_array_foreach(json_object_get(body, "items"), k, item) add_aggregate(tenant, coded[i].kind, coded[i].member, item);
  }
}

static void dispatch(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w, fofal__read_result_t *res);

void fofal__weaving_run(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w, fofal__read_result_t *res) {
  dispatch(wk, tenant, w, res);
  if (res->status == 200 && json_is_object(res->body)) add_aggregates(tenant, w->route, res->body);
}

static void dispatch(fofal_worker_t *wk, const char *tenant, const fofal__wparams_t *w, fofal__read_result_t *res) {
  char lim[16];
  snprintf(lim, sizeof lim, "%d", w->limit + 1);
  const char *after = w->has_after ? w->after : NULL, *after2 = w->has_after ? w->after2 : NULL;
  switch (w->route) {
  case W_LOOMS: {
    const char *params[] = {tenant, after, lim};
    page(wk, tenant,
         "SELECT " LOOM_COLS " FROM " LOOM_FROM " WHERE l.tenant = $1 AND ($2::text IS NULL OR l.loom > $2) "
         "ORDER BY l.loom LIMIT $3::int",
         3, params, w->limit, "loom", NULL, res);
    break;
  }
  case W_LOOM: run_loom(wk, tenant, w, res); break;
  case W_LOOM_HISTORY: {
    const char *params[] = {tenant, w->key, after, after2, lim};
    page(wk, tenant,
         "SELECT json_build_object('at', " TS("h.at") ", 'kind', h.kind, 'ref', h.ref, 'event_id', h.event_id, "
         "'detail', h.detail) FROM (SELECT * FROM production.loom_history UNION ALL SELECT * FROM "
         "maintenance.intervention_history) h WHERE h.tenant = $1 AND h.loom = $2 AND "
         "($3::timestamptz IS NULL OR (h.at, h.event_id) < ($3::timestamptz, $4::text)) "
         "ORDER BY h.at DESC, h.event_id DESC LIMIT $5::int",
         5, params, w->limit, "at", "event_id", res);
    /* An empty first page of a loom that does not exist is a 404. */
    if (res->status == 200 && !w->has_after && json_array_size(json_object_get(res->body, "items")) == 0) {
      const char *p2[] = {tenant, w->key};
      fofal__read_result_t probe = {.etag = -1};
      one(wk, tenant, "SELECT json_build_object('loom', loom) FROM production.looms WHERE tenant = $1 AND loom = $2", 2,
          p2, "loom", 0, &probe);
      if (probe.status != 200) {
        json_decref(res->body);
        *res = probe;
        res->body = NULL;
      }
      json_decref(probe.body);
    }
    break;
  }
  case W_BEAMS: {
    const char *params[] = {tenant, w->status[0] ? w->status : NULL, w->loom[0] ? w->loom : NULL, after, lim};
    page(wk, tenant,
         "SELECT " BEAM_COLS " FROM " BEAM_FROM " WHERE b.tenant = $1 AND ($2::text IS NULL OR b.status = $2) AND "
         "($3::text IS NULL OR b.loom = $3) AND ($4::text IS NULL OR b.beam > $4) ORDER BY b.beam LIMIT $5::int",
         5, params, w->limit, "beam", NULL, res);
    break;
  }
  case W_BEAM: {
    const char *params[] = {tenant, w->key};
    one(wk, tenant, "SELECT " BEAM_COLS " FROM " BEAM_FROM " WHERE b.tenant = $1 AND b.beam = $2", 2, params,
        "beam", 1, res);
    break;
  }
  case W_VIEW_WEAVER: run_weaver_view(wk, tenant, w, res); break;
  case W_VIEW_PLANNER: run_planner_view(wk, tenant, w, res); break;
  default: not_found(res, "resource"); break;
  }
}

/* --------------------------------------------------------------- OpenAPI */

/* Component schemas of the answers (JSON Schema, loosely: the properties a client uses). */
static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Loom",
     "{\"type\":\"object\",\"properties\":{\"loom\":{\"type\":\"string\"},\"hall\":{},\"type\":{},\"width_cm\":{},"
     "\"nominal_ppm\":{\"type\":[\"integer\",\"null\"]},\"weave\":{\"enum\":[\"flat\",\"terry\"]},\"efficiency\":"
     "{\"type\":[\"number\",\"null\"],\"minimum\":0,\"maximum\":1,\"description\":\"Measured: actual picks ÷ (elapsed "
     "minutes × nominal ppm) over the loom's shifts of the last 24 hours, from its telemetry (GET "
     "/api/v1/machines/looms/{loom}/shifts), at most 1; null when it sent none (or has no nominal speed).\"},\"article\":{\"type\":[\"string\",\"null\"],\"description\":\"The set-up article.\"},"
     "\"set_up_at\":{},\"first_piece\":{\"enum\":[\"not_required\",\"due\",\"passed\",\"failed\"]},\"first_piece_at\":{},"
     "\"beams\":{\"type\":\"object\",\"properties\":{\"ground\":{\"type\":[\"string\",\"null\"]},\"pile\":{\"type\":"
     "[\"string\",\"null\"]}}},\"current_order\":{\"type\":[\"string\",\"null\"]},\"order_since\":{},"
     "\"production_m_per_h\":{\"type\":[\"number\",\"null\"],\"description\":\"nominal ppm × 60 × efficiency ÷ "
     "(picks/cm × 100) of the set-up article; null when the efficiency is.\"},\"version\":{\"type\":\"integer\"}}}"},
    {"Beam",
     "{\"type\":\"object\",\"properties\":{\"beam\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"ground\",\"pile\"]},"
     "\"article\":{},\"yarn_lots\":{},\"ends\":{},\"length_m\":{\"type\":\"number\"},\"take_up_pct\":{\"type\":"
     "\"number\"},\"status\":{\"enum\":[\"warped\",\"sized\",\"ready\",\"mounted\",\"doffed\",\"empty\"]},\"method\":{},"
     "\"recipe\":{},\"loom\":{},\"position\":{},\"meters_left\":{\"type\":\"number\"},\"consumed_m\":{\"type\":"
     "\"number\"},\"warp_m_per_h\":{\"type\":[\"number\",\"null\"],\"description\":\"Production m/h of its loom × (1 + "
     "take-up); null when the loom's measured efficiency is.\"},\"hours_to_runout\":{\"type\":[\"number\",\"null\"]},"
     "\"runout_at\":{\"type\":[\"string\",\"null\"]},\"warped_at\":{},\"mounted_at\":{},\"doffed_at\":{},\"doff_reason\":"
     "{},\"version\":{\"type\":\"integer\"}}}"},
    {"LoomDetail",
     "{\"allOf\":[{\"$ref\":\"#/components/schemas/Loom\"},{\"type\":\"object\",\"properties\":{\"mounted_beams\":"
     "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Beam\"}},\"order\":{\"type\":[\"object\",\"null\"]},"
     "\"open_interventions\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Intervention\"}}}}]}"},
    {"LoomHistoryEntry",
     "{\"type\":\"object\",\"properties\":{\"at\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"set_up\",\"beam_mounted\","
     "\"beam_doffed\",\"first_piece_checked\",\"order_started\",\"intervention_requested\",\"intervention_accepted\","
     "\"intervention_started\",\"intervention_finished\",\"intervention_cancelled\"]},\"ref\":{\"type\":[\"string\","
     "\"null\"]},\"event_id\":{\"type\":\"string\"},\"detail\":{\"type\":\"object\",\"description\":\"The event's data.\"}}}"},
    {"WeaverView",
     "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"name\":{},\"shift\":{\"type\":[\"object\","
     "\"null\"]},\"looms\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"loom\":{},\"order\":{},"
     "\"article\":{},\"production_m_per_h\":{},\"output\":{\"type\":\"integer\"},\"output_m\":{},\"target\":{\"type\":"
     "[\"number\",\"null\"]},\"efficiency\":{\"type\":[\"number\",\"null\"],\"minimum\":0,\"maximum\":1,\"description\":"
     "\"This shift, from telemetry; null without.\"}}}},\"output\":{\"type\":\"integer\"},"
     "\"output_m\":{\"type\":\"number\"},\"target\":{\"type\":[\"number\",\"null\"]},\"efficiency\":{\"type\":"
     "[\"number\",\"null\"]}}}"},
    {"PlannerOrder",
     "{\"type\":\"object\",\"properties\":{\"order_id\":{},\"article\":{},\"quantity\":{\"type\":\"integer\"},\"unit\":{},"
     "\"due_date\":{},\"loom\":{},\"status\":{},\"declared\":{\"type\":\"integer\"},\"length_m\":{},\"progress\":"
     "{\"type\":[\"number\",\"null\"],\"description\":\"declared ÷ quantity\"},\"planned_start\":{},\"late\":{\"type\":"
     "\"boolean\"},\"version\":{}}}"},
    {"PlannerView",
     "{\"type\":\"object\",\"properties\":{\"looms\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
     "{\"loom\":{},\"hall\":{},\"current_order\":{},\"efficiency\":{\"type\":[\"number\",\"null\"],\"minimum\":0,"
     "\"maximum\":1,\"description\":\"Measured over the loom's shifts of the last 24 hours (as on the loom); null "
     "without telemetry.\"},\"orders\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/PlannerOrder\"}}}}},\"unplanned\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/PlannerOrder\"}},\"late\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/PlannerOrder\"}}}}"},
};

static json_t *qparam(const char *name, const char *desc, json_t *schema) {
  return json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "in", "query", "required", 0, "description", desc, "schema",
                   schema);
}

void fofal__weaving_openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  static const char *const with_aggregate[] = {"Loom", "Beam"};
  for (size_t i = 0; i < sizeof with_aggregate / sizeof with_aggregate[0]; i++)
    json_object_set_new(json_object_get(json_object_get(schemas, with_aggregate[i]), "properties"), "aggregate",
                        json_pack("{s:s,s:s,s:s}", "type", "string", "format", "uuid", "description",
                                  "The aggregate id its code stands for: the subject of its events (audit trail, "
                                  "fofal replay, WebSocket pushes)."));
  static const char *const pages[][2] = {{"LoomPage", "Loom"},
                                          {"LoomHistoryPage", "LoomHistoryEntry"}, {"BeamPage", "Beam"}};
  for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
    char ref[96];
    snprintf(ref, sizeof ref, "#/components/schemas/%s", pages[i][1]);
    json_object_set_new(schemas, pages[i][0],
                        json_pack("{s:s,s:[s,s],s:{s:{s:s,s:{s:s}},s:{s:[s,s]}}}", "type", "object", "required", "items",
                                  "next_cursor", "properties", "items", "type", "array", "items", "$ref", ref,
                                  "next_cursor", "type", "string", "null"));
  }
  for (int r = 0; r < W_N; r++) {
    const wroute_t *rt = &routes[r];
    json_t *params = json_array();
    const char *brace = strchr(rt->path, '{');
    if (brace) {
      char name[32];
      const char *end = strchr(brace, '}');
      snprintf(name, sizeof name, "%.*s", (int)(end - brace - 1), brace + 1);
      json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", name, "in", "path", "required", 1,
                                              "description",
                                              "Code, as on the plate or badge.",
                                              "schema", "type", "string"));
    }
    if (rt->params & P_STATUS)
      json_array_append_new(params, qparam("status", "Only beams in this status.",
                                           json_pack("{s:[s,s,s,s,s,s]}", "enum", "warped", "sized", "ready", "mounted", "doffed", "empty")));
    if (rt->params & P_LOOM) json_array_append_new(params, qparam("loom", "Only this loom's.", json_pack("{s:s}", "type", "string")));
    if (rt->params & P_BADGE)
      json_array_append_new(params, qparam("badge", "The weaver's badge; default the token's badge claim.", json_pack("{s:s}", "type", "string")));
    if (rt->params & P_WITHIN)
      json_array_append_new(params, qparam("within_hours", "Beams predicted to run out within this many hours (default 8).",
                                           json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 168, "default", 8)));
    if (rt->params & P_LIMIT) json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
    if (rt->params & P_CURSOR) json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    char desc[1024], ref[96], roles[256];
    snprintf(desc, sizeof desc, "%s Roles: %s%s%s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles, rt->self_note ? "; " : "", rt->self_note ? rt->self_note : "");
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    snprintf(roles, sizeof roles, "%s", rt->roles);
    json_t *op = fofal__openapi_read_op("production", rt->op_id, rt->summary, desc, params, ref, roles);
    json_object_set_new(paths, rt->path, op);
  }
}
