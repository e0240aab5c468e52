/*
 * maintenance_api.c — the maintenance module's reads: intervention requests and the
 * mechanics' board.
 *
 *   GET /api/v1/maintenance/interventions?status=&loom=&limit=&cursor=
 *                                       oldest request first, keyset-paginated
 *   GET /api/v1/maintenance/interventions/{id}   one request (ETag: its version)
 *   GET /api/v1/maintenance/views/mechanic?within_hours=
 *                                       open requests, beams running out, first pieces due
 *
 * The requests are the maintenance projection's rows (schemas/maintenance/070_maintenance.sql).
 * The mechanics' board also shows what a mechanic answers on the weaving floor that is
 * production's: mounted beams predicted to run out and looms whose first-piece check is due
 * or failed. It joins production's tables for them at read time, with production's own
 * formulas (api/production/production_sql.h): a read may join another module's schema,
 * only its projection writes it. The engine (api/reads.c) runs the queries on a read worker
 * and waits for ?position=.
 *
 * One table (routes[]) gives every route its path, roles, parameters and answer; the
 * handler's role check and the OpenAPI document read it. A role that may not read a route
 * gets 403 before anything else is looked at.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and the OpenAPI text are read-only.
 */
#include "api.h"
#include "maintenance_sql.h"
#include "production/production_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256
#define VIEW_ROWS 500 /* rows of one kind in the board */

#define TS(col) FOFAL__MAINTENANCE_TS(col)

/* Who reads requests: whoever calls a mechanic, answers or plans around it. */
#define ROLES_FLOOR "weaver mechanic planner quality manager admin"

enum { M_INTERVENTIONS, M_INTERVENTION, M_VIEW_MECHANIC, M_N };
#define P_PAGE 1   /* limit and cursor */
#define P_FILTER 2 /* status and loom */
#define P_WITHIN 4 /* within_hours */

static const fofal_read_route_t routes[M_N] = {
    [M_INTERVENTIONS] = {"/api/v1/maintenance/interventions", "maintenance.interventions.list", "Intervention requests.",
                         "Oldest request first, keyset-paginated; status=open means requested, accepted or started.",
                         ROLES_FLOOR, NULL, P_PAGE | P_FILTER, "InterventionPage"},
    [M_INTERVENTION] = {"/api/v1/maintenance/interventions/{id}", "maintenance.interventions.get",
                        "One intervention request.",
                        "Its status, times, mechanic, cause, parts and duration; ETag is its version.", ROLES_FLOOR, NULL,
                        0, "Intervention"},
    [M_VIEW_MECHANIC] = {"/api/v1/maintenance/views/mechanic", "maintenance.views.mechanic", "The mechanics' board.",
                         "Open intervention requests (oldest first), mounted beams predicted to run out within "
                         "within_hours (default 8, at most 168; production's beams at their loom's measured efficiency), "
                         "and looms whose first-piece check is due or failed (production's looms).",
                         "mechanic planner manager admin", NULL, P_WITHIN, "MechanicView"},
};

static const char *const statuses[] = {"open", "requested", "accepted", "started", "finished", "cancelled", NULL};

typedef struct {
  int route;
  char key[80];               /* the intervention id of the path */
  char status[16], loom[72];  /* filters ("": none) */
  int limit, has_after, within_hours;
  char after[40], after2[48]; /* decoded cursor: requested_at, intervention_id */
} params_t;

/* ------------------------------------------------------------------ run */

static void run_mechanic_view(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  static const char sql[] =
      "SELECT json_build_object('within_hours', $2::int, "
      "'open_requests', coalesce((SELECT json_agg(x.j ORDER BY x.requested_at, x.intervention_id) FROM (SELECT "
      "i.requested_at, i.intervention_id, " INTERVENTION_COLS " AS j FROM maintenance.interventions i WHERE i.tenant = "
      "$1 AND i.status IN ('requested', 'accepted', 'started') ORDER BY i.requested_at, i.intervention_id LIMIT $3) x), "
      "'[]'::json), "
      "'beams_running_out', coalesce((SELECT json_agg(x.j ORDER BY x.runout_at, x.beam) FROM (SELECT r.runout_at, "
      "r.beam, json_build_object('loom', r.loom, 'beam', r.beam, 'position', r.position, 'meters_left', "
      "r.meters_left, 'warp_m_per_h', r.w, 'hours_to_runout', round(r.meters_left / r.w, 3), 'runout_at', "
      TS("r.runout_at") ") AS j FROM (SELECT b.beam, b.loom, b.position, b.meters_left, bw.w, " BEAM_RUNOUT_AT
      " AS runout_at FROM " BEAM_FROM " WHERE b.tenant = $1 AND b.status = 'mounted') r WHERE r.runout_at "
      "<= now() + $2::int * interval '1 hour' ORDER BY r.runout_at, r.beam LIMIT $3) x), '[]'::json), "
      "'first_piece_checks_due', coalesce((SELECT json_agg(x.j ORDER BY x.loom) FROM (SELECT l.loom, "
      "json_build_object('loom', l.loom, 'hall', l.hall, 'article', l.article, 'first_piece', l.first_piece, "
      "'since', " TS("coalesce(l.first_piece_at, l.updated_at)") ") AS j FROM production.looms l WHERE l.tenant = $1 "
      "AND l.first_piece IN ('due', 'failed') ORDER BY l.loom LIMIT $3) x), '[]'::json))";
  char within[16], lim[16], err[512];
  json_t *rows = NULL;
  snprintf(within, sizeof within, "%d", p->within_hours);
  snprintf(lim, sizeof lim, "%d", VIEW_ROWS);
  const char *params[] = {tenant, within, lim};
  int rc = fofal__worker_query(w, tenant, sql, 3, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  res->status = 200;
  res->body = json_incref(json_array_get(rows, 0));
  json_decref(rows);
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  if (p->route == M_VIEW_MECHANIC) {
    run_mechanic_view(w, tenant, p, res);
    return;
  }
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  if (p->route == M_INTERVENTION) {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " INTERVENTION_COLS " FROM maintenance.interventions i WHERE i.tenant = $1 AND "
                             "i.intervention_id = $2::uuid",
                             2, params, &rows, err, sizeof err);
  } else {
    const char *params[] = {tenant, p->status[0] ? p->status : NULL, p->loom[0] ? p->loom : NULL,
                            p->has_after ? p->after : NULL, p->has_after ? p->after2 : NULL, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " INTERVENTION_COLS " FROM maintenance.interventions i WHERE i.tenant = $1 AND "
                             "($2::text IS NULL OR i.status = $2 OR ($2 = 'open' AND i.status IN ('requested', "
                             "'accepted', 'started'))) AND ($3::text IS NULL OR i.loom = $3) AND ($4::timestamptz IS "
                             "NULL OR (i.requested_at, i.intervention_id) > ($4::timestamptz, $5::uuid)) ORDER BY "
                             "i.requested_at, i.intervention_id LIMIT $6::int",
                             6, params, &rows, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  if (p->route == M_INTERVENTION) {
    json_t *r = json_array_get(rows, 0);
    if (!json_is_object(r)) {
      fofal__read_not_found(res, "intervention");
    } else {
      res->status = 200;
      res->body = json_incref(r);
      res->etag = json_integer_value(json_object_get(r, "version"));
    }
    json_decref(rows);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)p->limit) {
    json_array_remove(rows, (size_t)p->limit);
    const json_t *last = json_array_get(rows, (size_t)p->limit - 1);
    const char *at = json_string_value(json_object_get(last, "requested_at"));
    const char *id = json_string_value(json_object_get(last, "intervention_id"));
    char raw[128];
    snprintf(raw, sizeof raw, "%s|%s", at ? at : "", id ? id : "");
    size_t n = strlen(raw);
    char *c = fofal_malloc(h2o_base64_encode_capacity(n));
    h2o_base64_encode(c, raw, n, 1);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

/* -------------------------------------------------------------- routing */

/* The route of the path below /api/v1/maintenance/ (its M_* number, p->key set), or -1
 * for none (a route number, not an error code). */
static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/maintenance/";
  char s1[32], s2[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  if (!strcmp(s1, "interventions")) {
    if (at == len) return M_INTERVENTIONS;
    if (!fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len) return M_INTERVENTION;
  } else if (!strcmp(s1, "views") && !fofal__path_segment(path, len, &at, s2, sizeof s2) && at == len &&
             !strcmp(s2, "mechanic")) {
    return M_VIEW_MECHANIC;
  }
  return -1;
}

/* ?status=, ?loom=, ?limit=, ?cursor=, ?within_hours= of p->route into *p: 0, or
 * FOFAL_EINVAL with *e (fofal__perr). */
static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  if (routes[p->route].params & P_FILTER) {
    if ((s = fofal__param(req, "status"))) {
      int found = 0;
      for (int i = 0; statuses[i]; i++) found |= !strcmp(statuses[i], s);
      if (!found)
        return fofal__perr(e, 400, "invalid_parameter",
                           "status must be open, requested, accepted, started, finished or cancelled (got \"%.40s\")", s);
      snprintf(p->status, sizeof p->status, "%s", s);
    }
    if ((s = fofal__param(req, "loom"))) {
      if (!fofal__valid_name(s, 64))
        return fofal__perr(e, 400, "invalid_parameter", "loom is not a loom code (got \"%.40s\")", s);
      snprintf(p->loom, sizeof p->loom, "%s", s);
    }
  }
  if (routes[p->route].params & P_PAGE) {
    int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
    if (rc) return rc;
    if ((s = fofal__param(req, "cursor"))) {
      /* "<requested_at>|<intervention id>", as run() made it: a forged one is a 400. */
      char raw[160];
      int64_t us;
      char *bar = NULL;
      if (!fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw)) bar = strchr(raw, '|');
      if (bar) *bar = '\0';
      if (!bar || fofal_time_parse(raw, &us) || !fofal_uuid_valid(bar + 1))
        return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
      fofal_time_format(us, p->after);
      snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
      p->has_after = 1;
    }
  }
  if (routes[p->route].params & P_WITHIN) {
    p->within_hours = 8;
    if ((s = fofal__param(req, "within_hours"))) {
      char *end;
      long v = strlen(s) <= 4 ? strtol(s, &end, 10) : 0;
      if (strlen(s) > 4 || *end || v < 1 || v > 168)
        return fofal__perr(e, 400, "invalid_parameter", "within_hours must be an integer from 1 to %s", "168");
      p->within_hours = (int)v;
    }
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
  if (p.route == M_INTERVENTION && !fofal_uuid_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "no intervention of this tenant has this id", NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Intervention",
     "{\"type\":\"object\",\"properties\":{\"intervention_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"loom\":"
     "{\"type\":\"string\"},\"status\":{\"enum\":[\"requested\",\"accepted\",\"started\",\"finished\",\"cancelled\"]},"
     "\"cause\":{\"type\":\"string\"},\"note\":{},\"source\":{},\"requested_by\":{},\"requested_at\":{\"type\":"
     "\"string\"},\"mechanic\":{},\"accepted_at\":{},\"started_at\":{},\"finished_at\":{},\"cancelled_at\":{},"
     "\"cancel_reason\":{},\"finish_cause\":{},\"parts\":{},\"duration_min\":{},\"notes\":{},\"version\":{\"type\":"
     "\"integer\"}}}"},
    {"MechanicView",
     "{\"type\":\"object\",\"properties\":{\"within_hours\":{\"type\":\"integer\"},\"open_requests\":{\"type\":\"array\","
     "\"items\":{\"$ref\":\"#/components/schemas/Intervention\"}},\"beams_running_out\":{\"type\":\"array\",\"items\":"
     "{\"type\":\"object\",\"properties\":{\"loom\":{},\"beam\":{},\"position\":{},\"meters_left\":{},\"warp_m_per_h\":"
     "{},\"hours_to_runout\":{},\"runout_at\":{}}}},\"first_piece_checks_due\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"loom\":{},\"hall\":{},\"article\":{},\"first_piece\":{},\"since\":{}}}}}}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "InterventionPage", fofal__openapi_page("#/components/schemas/Intervention"));
  for (int r = 0; r < M_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == M_INTERVENTION) json_array_append_new(params, fofal__openapi_path_param("id", "Id (UUID)."));
    if (rt->params & P_FILTER) {
      json_array_append_new(params, fofal__openapi_query_param(
                                        "status", "Only requests in this status (open: requested, accepted or started).",
                                        json_pack("{s:[s,s,s,s,s,s]}", "enum", "open", "requested", "accepted",
                                                  "started", "finished", "cancelled")));
      json_array_append_new(params,
                            fofal__openapi_query_param("loom", "Only this loom's.", json_pack("{s:s}", "type", "string")));
    }
    if (rt->params & P_WITHIN)
      json_array_append_new(params, fofal__openapi_query_param(
                                        "within_hours", "Beams predicted to run out within this many hours (default 8).",
                                        json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 168,
                                                  "default", 8)));
    if (rt->params & P_PAGE) {
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("maintenance", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == M_INTERVENTION) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each maintenance event: its roles receive the
 * event's push (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"intervention_", "/api/v1/maintenance/interventions/{id}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_maintenance_routes = {
    .name = "maintenance",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
