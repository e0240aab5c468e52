/*
 * machines_api.c — the read side of the machines module (loom telemetry):
 *
 *   GET /api/v1/machines/looms                       the loom board: state, since, cause,
 *                                                    breakdown, ppm, last seen
 *   GET /api/v1/machines/looms/{loom}                one loom, with its open breakdown
 *   GET /api/v1/machines/looms/{loom}/shifts?limit=  per shift, newest first: run and stop
 *                                                    time by cause, picks, efficiency, stops
 *                                                    per 10^5 picks by cause, OEE
 *   GET /api/v1/machines/halls                       latest temperature and humidity per hall
 *
 * Any of them may carry ?position=<module>:<partition>:<offset> (a command's 201): the
 * read then first waits, bounded, until the projection has applied it (read your writes,
 * reads.c's fofal__after_position).
 *
 * Roles: mechanic, weaver, planner, manager, quality, admin, auditor (READERS). Queries run on the
 * read workers (pgpool.c) as fofal_reader with the caller's tenant set, so row-level
 * security isolates tenants; the SQL keeps `WHERE tenant = $1` as a second fence.
 *
 * Ratios (GLOSSARY.md), per shift of the tenant's shift model, from the summed tallies:
 * efficiency = picks ÷ nominal picks = actual picks ÷ (elapsed minutes × nominal ppm),
 * elapsed = run + stop; availability = run ÷ planned time, where planned time is the
 * observed time (run + stop: there is no planned-downtime calendar yet); performance =
 * picks ÷ theoretical picks (the loom's registered nominal ppm × run minutes); quality =
 * 1st-choice pieces ÷ pieces cut from the rolls woven on the loom in that shift (the
 * quality module's cuts, quality_sql.h), 1 while none was cut; OEE = availability ×
 * performance × quality. Efficiency and performance are at most
 * 1 (a loom faster than its registered speed reads 1), and null, with OEE, for a loom whose
 * nominal speed fofal-machines did not know (never an invented one).
 *
 * Threads: handlers and completions on the loop thread, queries on a worker with copies of
 * their inputs; a request that goes away detaches from its job (dispose callback).
 * Failures: PostgreSQL unreachable → 503 with Retry-After; bad input → 400/404.
 */
#include "api.h"
#include "quality/quality_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

typedef enum { M_BOARD, M_LOOM, M_SHIFTS, M_HALLS } mroute_t;

typedef struct mjob mjob_t;
typedef struct {
  fofal_api_t *api;
  h2o_req_t *req;
  mjob_t *job;
  mroute_t route;
  char tenant[64], loom[72];
  int limit;
} mctx_t;

struct mjob {
  fofal_job_t super;
  mctx_t *ctx; /* NULL once the request is gone (loop thread) */
  mroute_t route;
  char tenant[64], loom[72];
  int limit;
  int status;
  char detail[256];
  json_t *body;
};

static const char loom_cols[] =
    "json_build_object('loom', loom, 'state', state, 'cause', cause, 'since', " TS("since") ", 'breakdown', breakdown, "
    "'ppm', ppm, 'last_seen', " TS("last_seen") ")";

/* The 1st-choice share of the rolls woven on the row's loom in its shift. */
#define SHIFT_QUALITY                                                                                                  \
  FOFAL__QUALITY_FIRST_SHARE("c.tenant = loom_shifts.tenant AND c.loom = loom_shifts.loom AND c.shift = "            \
                             "loom_shifts.shift")

static const char shift_cols[] =
    "json_build_object('shift', shift, 'from', " TS("first_at") ", 'to', " TS("last_at") ", 'run_s', round(run_s::numeric, 1), "
    "'stop_s', round(stop_s::numeric, 1), 'stop_s_by_cause', json_build_object('warp_break', round(stop_s_warp_break::numeric, 1), "
    "'weft_break', round(stop_s_weft_break::numeric, 1), 'mechanical', round(stop_s_mechanical::numeric, 1), "
    "'electrical', round(stop_s_electrical::numeric, 1), 'other', round(stop_s_other::numeric, 1)), "
    "'stops_by_cause', json_build_object('warp_break', stops_warp_break, 'weft_break', stops_weft_break, "
    "'mechanical', stops_mechanical, 'electrical', stops_electrical, 'other', stops_other), "
    "'picks', picks, 'theoretical_picks', round(theoretical_picks::numeric), 'nominal_picks', "
    "round(nominal_picks::numeric), 'samples', samples, 'late_samples', late, 'duplicates_removed', duplicates, "
    "'efficiency', CASE WHEN nominal_picks > 0 THEN round(least(1, picks / nominal_picks)::numeric, 4) END, "
    "'stops_per_1e5_picks', CASE WHEN picks > 0 THEN json_build_object("
    "'warp_break', round((stops_warp_break * 1e5 / picks)::numeric, 2), 'weft_break', round((stops_weft_break * 1e5 / picks)::numeric, 2), "
    "'mechanical', round((stops_mechanical * 1e5 / picks)::numeric, 2), 'electrical', round((stops_electrical * 1e5 / picks)::numeric, 2), "
    "'other', round((stops_other * 1e5 / picks)::numeric, 2), 'total', round(((stops_warp_break + stops_weft_break + "
    "stops_mechanical + stops_electrical + stops_other) * 1e5 / picks)::numeric, 2)) END, "
    "'availability', CASE WHEN run_s + stop_s > 0 THEN round((run_s / (run_s + stop_s))::numeric, 4) END, "
    "'performance', CASE WHEN theoretical_picks > 0 THEN round(least(1, picks / theoretical_picks)::numeric, 4) END, "
    "'quality', coalesce(" SHIFT_QUALITY ", 1), "
    "'oee', CASE WHEN run_s + stop_s > 0 AND theoretical_picks > 0 THEN "
    "round((run_s / (run_s + stop_s) * least(1, picks / theoretical_picks) * coalesce(" SHIFT_QUALITY ", 1))::numeric, "
    "4) END)";

static void fail(mjob_t *job, int rc, const char *err) {
  if (rc == FOFAL_EUNAVAIL || strstr(err, "statement timeout")) {
    job->status = 503;
    snprintf(job->detail, sizeof job->detail, "PostgreSQL is not reachable or too slow; retry shortly");
  } else {
    LOG_ERROR("machines read %d failed: %s", (int)job->route, err);
    job->status = 500;
    snprintf(job->detail, sizeof job->detail, "the query failed; the error was logged");
  }
}

static void run(fofal_worker_t *w, fofal_job_t *super) {
  mjob_t *job = (mjob_t *)super;
  char sql[4096], err[512], lim[16];
  json_t *rows = NULL;
  int rc;
  snprintf(lim, sizeof lim, "%d", job->limit);
  switch (job->route) {
  case M_BOARD: {
    snprintf(sql, sizeof sql, "SELECT %s FROM machines.looms WHERE tenant = $1 ORDER BY loom", loom_cols);
    const char *params[] = {job->tenant};
    rc = fofal__worker_query(w, job->tenant, sql, 1, params, &rows, err, sizeof err);
    if (rc) return fail(job, rc, err);
    job->status = 200;
    job->body = json_pack("{s:o}", "items", rows);
    return;
  }
  case M_LOOM: {
    snprintf(sql, sizeof sql,
             "SELECT (%s)::jsonb || jsonb_build_object('open_breakdown', (SELECT json_build_object('since', " TS("b.since")
             ", 'cause', b.cause, 'reason', b.reason, 'breakdown_id', b.command_id) FROM machines.breakdowns b "
             "WHERE b.tenant = l.tenant AND b.loom = l.loom AND b.ended_at IS NULL ORDER BY b.since DESC LIMIT 1)) "
             "FROM machines.looms l WHERE tenant = $1 AND loom = $2",
             loom_cols);
    const char *params[] = {job->tenant, job->loom};
    rc = fofal__worker_query(w, job->tenant, sql, 2, params, &rows, err, sizeof err);
    if (rc) return fail(job, rc, err);
    if (json_array_size(rows) == 0) {
      json_decref(rows);
      job->status = 404;
      snprintf(job->detail, sizeof job->detail, "no such loom (it has sent no telemetry)");
      return;
    }
    job->status = 200;
    job->body = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return;
  }
  case M_SHIFTS: {
    snprintf(sql, sizeof sql,
             "SELECT %s FROM machines.loom_shifts WHERE tenant = $1 AND loom = $2 ORDER BY shift DESC LIMIT $3::int",
             shift_cols);
    const char *params[] = {job->tenant, job->loom, lim};
    rc = fofal__worker_query(w, job->tenant, sql, 3, params, &rows, err, sizeof err);
    if (rc) return fail(job, rc, err);
    job->status = 200;
    job->body = json_pack("{s:s,s:o}", "loom", job->loom, "items", rows);
    return;
  }
  case M_HALLS: {
    const char *params[] = {job->tenant};
    rc = fofal__worker_query(w, job->tenant,
                             "SELECT json_build_object('hall', hall, 'temperature', temperature, 'humidity', humidity, "
                             "'at', " TS("at") ") FROM machines.halls WHERE tenant = $1 ORDER BY hall",
                             1, params, &rows, err, sizeof err);
    if (rc) return fail(job, rc, err);
    job->status = 200;
    job->body = json_pack("{s:o}", "items", rows);
    return;
  }
  }
}

static void done(fofal_api_t *api, fofal_job_t *super) {
  (void)api;
  mjob_t *job = (mjob_t *)super;
  mctx_t *ctx = job->ctx;
  if (ctx) {
    ctx->job = NULL;
    h2o_req_t *req = ctx->req;
    if (super->stopped) {
      fofal__add_header(req, "Retry-After", "1");
      fofal__send_problem(req, 503, "shutting_down", "the server is stopping; retry", NULL);
    } else if (job->status >= 400) {
      if (job->status == 503) fofal__add_header(req, "Retry-After", "1");
      fofal__send_problem(req, job->status,
                          job->status == 404 ? "not_found" : job->status == 503 ? "postgresql_unavailable" : "internal_error",
                          job->detail, NULL);
    } else {
      fofal__send_json(req, job->status, job->body);
      job->body = NULL;
    }
  }
  json_decref(job->body);
  free(job);
}

static void on_dispose(void *p) {
  mctx_t *ctx = p;
  if (ctx->job) ctx->job->ctx = NULL;
  ctx->job = NULL;
}

static int name_ok(const char *s, size_t n) {
  if (n == 0 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) return 0;
  return 1;
}

/* Submits the read (now, or once ?position= is reached). */
static void start_job(void *opaque) {
  mctx_t *ctx = opaque;
  if (!ctx->api->pool) {
    fofal__add_header(ctx->req, "Retry-After", "1");
    fofal__send_problem(ctx->req, 503, "shutting_down", "the server is stopping; retry", NULL);
    return;
  }
  mjob_t *job = fofal_calloc(1, sizeof *job);
  job->super.run = run;
  job->super.done = done;
  job->route = ctx->route;
  job->limit = ctx->limit;
  job->ctx = ctx;
  snprintf(job->tenant, sizeof job->tenant, "%s", ctx->tenant);
  snprintf(job->loom, sizeof job->loom, "%s", ctx->loom);
  snprintf(job->super.tenant, sizeof job->super.tenant, "%s", ctx->tenant);
  if (fofal__pool_submit(ctx->api, &job->super)) {
    free(job);
    fofal__add_header(ctx->req, "Retry-After", "1");
    fofal__send_problem(ctx->req, 503, "overloaded", "too many queries are queued; retry shortly", NULL);
    return;
  }
  ctx->job = job;
}

/* Who reads machine states, every route alike: the check (fofal__read_roles_check) and the
 * OpenAPI document's x-fofal-roles and 403 (fofal__openapi_roles) both take this string. */
#define READERS "mechanic weaver planner manager quality admin auditor"

static int on_machines_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  static const char base[] = "/api/v1/machines/";
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len, b = sizeof base - 1;
  mroute_t route;
  char loom[72] = "";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  const char *rest = path + b;
  size_t rlen = len - b;
  if (rlen == 5 && !memcmp(rest, "looms", 5)) route = M_BOARD;
  else if (rlen == 5 && !memcmp(rest, "halls", 5)) route = M_HALLS;
  else if (rlen > 6 && !memcmp(rest, "looms/", 6)) {
    const char *l = rest + 6, *slash = memchr(l, '/', rlen - 6);
    size_t ll = slash ? (size_t)(slash - l) : rlen - 6;
    if (!name_ok(l, ll)) {
      fofal__send_problem(req, 404, "not_found", "no such loom", NULL);
      return 0;
    }
    memcpy(loom, l, ll);
    loom[ll] = '\0';
    if (!slash) route = M_LOOM;
    else if ((size_t)(path + len - slash) == 7 && !memcmp(slash, "/shifts", 7)) route = M_SHIFTS;
    else {
      fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
      return 0;
    }
  } else {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
      !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
    fofal__add_header(req, "Allow", "GET, HEAD");
    fofal__send_problem(req, 405, "method_not_allowed", "read endpoints take GET", NULL);
    return 0;
  }
  if (fofal__authenticate(api, req, &who) || fofal__read_roles_check(req, &who, READERS, "machine states")) return 0;
  int limit = 14;
  const char *ls = fofal__query_param(req, "limit");
  if (ls) {
    char *end;
    long v = strtol(ls, &end, 10);
    if (!*ls || *end || v < 1 || v > 200) {
      fofal__send_problem(req, 400, "invalid_parameter", "limit: an integer 1..200", NULL);
      return 0;
    }
    limit = (int)v;
  }
  if (!api->pool) {
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, 503, "shutting_down", "the server is stopping; retry", NULL);
    return 0;
  }
  mctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, on_dispose);
  memset(ctx, 0, sizeof *ctx);
  ctx->api = api;
  ctx->req = req;
  ctx->route = route;
  ctx->limit = limit;
  snprintf(ctx->tenant, sizeof ctx->tenant, "%s", who.tenant);
  snprintf(ctx->loom, sizeof ctx->loom, "%s", loom);
  /* The tables are fofal-projector's machines projection, in PostgreSQL only. */
  fofal__after_position(api, req, 0, start_job, ctx);
  return 0;
}

/* ---------------------------------------------------------------- OpenAPI */

static json_t *mop(const char *op_id, const char *summary, const char *desc, json_t *params, const char *schema) {
  json_t *resp = json_pack("{s:{s:s,s:{s:{s:{s:s}}}},s:{s:s},s:{s:s},s:{s:s}}", "200", "description", "OK.",
                           "content", "application/json", "schema", "$ref", schema, "401", "description",
                           "No valid access token.", "404", "description",
                           "No such loom for the caller's tenant (code not_found).", "503", "description",
                           "PostgreSQL unavailable, the read queue full, or position_not_reached: the projection did "
                           "not reach ?position= within the wait (with how far it is). Retry after Retry-After.");
  json_object_set_new(resp, "400", json_pack("{s:s}", "description",
                                             "A malformed parameter (invalid_parameter) or position (malformed_position)."));
  json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Position"));
  json_t *op = json_pack("{s:{s:[s],s:s,s:s,s:s,s:o,s:o}}", "get", "tags", "machines", "operationId", op_id, "summary",
                         summary, "description", desc, "parameters", params, "responses", resp);
  return fofal__openapi_roles(op, READERS);
}

static void openapi_machines(json_t *paths, json_t *schemas) {
  json_t *loom_param = json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:s}}", "name", "loom", "in", "path", "required", 1,
                                 "description", "Loom code.", "schema", "type", "string", "pattern", "^[A-Za-z0-9._-]{1,63}$");
  json_object_set_new(paths, "/api/v1/machines/looms",
                      mop("machines.looms.board", "The loom board.",
                          "Every loom of the tenant that sent telemetry: state (running/stopped), since when, stop cause, "
                          "breakdown flag, speed (ppm) and when it was last seen. Live changes are pushed on the WebSocket "
                          "stream to subscribers of module machines.",
                          json_array(), "#/components/schemas/LoomBoard"));
  json_object_set_new(paths, "/api/v1/machines/looms/{loom}",
                      mop("machines.looms.get", "One loom's state.", "The board entry of one loom, with its open breakdown "
                          "(and the intervention request it raised) if any.",
                          json_pack("[O]", loom_param), "#/components/schemas/LoomState"));
  json_object_set_new(
      paths, "/api/v1/machines/looms/{loom}/shifts",
      mop("machines.looms.shifts", "A loom's shifts, newest first.",
          "Per shift of the tenant's shift model (YYYY-MM-DD/<code>, the local date it starts on, as weavers' shifts "
          "are named; the built-in 3×8 from 06:00 at UTC+1 without one; YYYY-MM-DD/- for time outside every shift): "
          "run and stop time by cause, stops by cause, picks, theoretical picks (registered nominal ppm × run minutes) "
          "and nominal picks (nominal ppm × elapsed minutes), efficiency = picks ÷ nominal picks (actual picks ÷ "
          "(elapsed minutes × nominal ppm), ≤ 1), stops per 10^5 picks by cause, availability (run ÷ observed time), "
          "performance (picks ÷ theoretical picks, ≤ 1), quality (the 1st-choice share of the pieces cut from the "
          "rolls woven on the loom in the shift, module quality; 1 while none was cut) and OEE = availability × "
          "performance × quality. Efficiency, performance and OEE are null when the loom's nominal "
          "speed (production.loom.register) was not known.",
          json_pack("[O,{s:s,s:s,s:s,s:{s:s,s:i,s:i,s:i}}]", loom_param, "name", "limit", "in", "query", "description",
                    "Shifts to return (default 14).", "schema", "type", "integer", "minimum", 1, "maximum", 200, "default", 14),
          "#/components/schemas/LoomShifts"));
  json_object_set_new(paths, "/api/v1/machines/halls",
                      mop("machines.halls", "Hall climate.", "Latest temperature (°C) and relative humidity (%) per hall.",
                          json_array(), "#/components/schemas/Halls"));
  json_decref(loom_param);
  json_t *state = json_pack(
      "{s:s,s:{s:{s:s},s:{s:[s,s]},s:{s:[s,s]},s:{s:s},s:{s:s},s:{s:[s,s]},s:{s:[s,s]},s:{s:s}}}", "type", "object",
      "properties", "loom", "type", "string", "state", "enum", "running", "stopped", "cause", "type", "string", "null",
      "since", "type", "string", "breakdown", "type", "boolean", "ppm", "type", "number", "null", "last_seen", "type",
      "string", "null", "open_breakdown", "type", "object");
  json_object_set_new(schemas, "LoomState", state);
  json_object_set_new(schemas, "LoomBoard", json_pack("{s:s,s:{s:{s:s,s:{s:s}}}}", "type", "object", "properties", "items",
                                                      "type", "array", "items", "$ref", "#/components/schemas/LoomState"));
  json_t *ratio = json_pack("{s:[s,s],s:i,s:i}", "type", "number", "null", "minimum", 0, "maximum", 1);
  json_t *shift = json_pack(
      "{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:O,s:O,s:O,s:O,s:{s:s},s:{s:[s,s]}}}",
      "type", "object", "properties", "shift", "type", "string", "from", "type", "string", "to", "type", "string", "run_s",
      "type", "number", "stop_s", "type", "number", "picks", "type", "integer", "theoretical_picks", "type", "number",
      "nominal_picks", "type", "number", "efficiency", ratio, "availability", ratio, "performance", ratio, "oee", ratio,
      "quality", "type", "number", "stops_per_1e5_picks", "type", "object", "null");
  json_decref(ratio);
  json_object_set_new(schemas, "LoomShift", shift);
  json_object_set_new(schemas, "LoomShifts",
                      json_pack("{s:s,s:{s:{s:s},s:{s:s,s:{s:s}}}}", "type", "object", "properties", "loom", "type", "string",
                                "items", "type", "array", "items", "$ref", "#/components/schemas/LoomShift"));
  json_object_set_new(schemas, "Halls", json_pack("{s:s,s:{s:{s:s,s:{s:s}}}}", "type", "object", "properties", "items",
                                                  "type", "array", "items", "type", "object"));
}

/* The module's registration (api.h, "module reads"): the build lists it in the generated
 * fofal__api_modules[]; the router hands it every request below /api/v1/machines/. */
/* Which read route shows the aggregate of each machines event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"hall_", "/api/v1/machines/halls", 0},
    {"", "/api/v1/machines/looms/{loom}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_machines_routes = {
    .name = "machines",
    .on_read = on_machines_read,
    .openapi = openapi_machines,
    .push_routes = push_routes,
};
