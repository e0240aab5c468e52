/*
 * hr_api.c — the hr module's reads: employees with their shifts, and the shift model.
 *
 *   GET /api/v1/hr/employees/{badge}       one employee, their shift assignments (latest
 *                                          first) and the current one; personal fields
 *                                          opened for hr and admin only
 *   GET /api/v1/hr/shiftmodels/{model}     the mill's shift model ("default"; ETag: its
 *                                          version)
 *
 * The rows are the hr projection's (schemas/hr/070_hr.sql); other modules' reads may join
 * them (production's weaver view and labels do; reading another module's table is
 * allowed, writing is not). Each answer carries the aggregate id its code stands for
 * (commands.h, fofal_aggregate_ref). The engine (api/reads.c) runs the queries on a read
 * worker and waits for ?position=.
 *
 * Roles. An employee is read by hr, planners, managers and admins, and by the person
 * themself (the token's badge claim, never the subject); the phone, national id, bank
 * account and salary, sealed in the read model, are opened here for hr and admin only
 * (projections/personal.c). The shift model is read by every role of the mill (who works
 * when is no secret on the floor).
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
 */
#include "api.h"
#include "projections.h" /* fofal_open_personal */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define MAX_SHIFTS 42 /* assignments shown, latest first: as many as the decider remembers */

#define ROLES_PEOPLE "hr planner manager admin"
#define ROLES_MILL                                                                                             \
  "weaver cutter mechanic storekeeper_mp storekeeper_pf storekeeper_st quality planner manager accountant hr " \
  "auditor admin"

enum { H_EMPLOYEE, H_SHIFT_MODEL, H_N };

static const fofal_read_route_t routes[H_N] = {
    [H_EMPLOYEE] = {"/api/v1/hr/employees/{badge}", "hr.employees.get", "One employee and their shifts.",
                    "The employee and their shift assignments (latest first, at most 42), with the current one.",
                    ROLES_PEOPLE, "any role reads the employee of its own badge (the token's badge claim)", 0, "Employee"},
    [H_SHIFT_MODEL] = {"/api/v1/hr/shiftmodels/{model}", "hr.shiftmodels.get", "The mill's shift model.",
                       "Its shifts (code, local start, hours), UTC offset and working days (ISO 1 = Monday; none: every "
                       "day), as last defined or redefined (a redefinition shows here from when it is made, and takes "
                       "effect from its day); ETag is its version. 404 until one is defined (the built-in 3×8 from "
                       "06:00 at UTC+1 applies).",
                       ROLES_MILL, NULL, 0, "ShiftModel"},
};

typedef struct {
  int route;
  char key[80];  /* the badge or model of the path */
  char role[40]; /* the caller's: who sees personal fields */
} params_t;

/* ------------------------------------------------------------------ run */

/* Who sees an employee's phone, national id, bank account and salary (opened here, sealed
 * in the read model): HR and admins. */
static int sees_personal(const char *role) { return !strcmp(role, "hr") || !strcmp(role, "admin"); }

static const char employee_sql[] =
    "SELECT json_build_object('badge', e.badge, 'name', e.name, 'job', e.job, 'registered_at', "
    TS("e.registered_at") ", 'version', e.version, 'erased_at', " TS("e.erased_at") ", 'personal', e.personal, "
    "'current_shift', (SELECT json_build_object('shift', s.shift, 'starts_at', " TS("s.starts_at") ", 'ends_at', "
    TS("s.ends_at") ", 'looms', s.looms) FROM hr.shift_assignments s WHERE s.tenant = e.tenant AND s.badge = "
    "e.badge AND s.starts_at <= now() AND now() < s.ends_at LIMIT 1), "
    "'shifts', coalesce((SELECT json_agg(x.j ORDER BY x.starts_at DESC) FROM (SELECT s.starts_at, "
    "json_build_object('shift', s.shift, 'starts_at', " TS("s.starts_at") ", 'ends_at', " TS("s.ends_at") ", 'looms', "
    "s.looms) AS j FROM hr.shift_assignments s WHERE s.tenant = e.tenant AND s.badge = e.badge ORDER BY "
    "s.starts_at DESC LIMIT $3::int) x), '[]'::json)) "
    "FROM hr.employees e WHERE e.tenant = $1 AND e.badge = $2";

static const char shift_model_sql[] =
    "SELECT json_build_object('model', m.model, 'utc_offset_min', m.utc_offset_min, 'shifts', m.shifts, "
    "'working_days', m.working_days, 'version', m.version, 'defined_at', " TS("m.defined_at") ") "
    "FROM hr.shift_models m WHERE m.tenant = $1 AND m.model = $2";

/* The personal fields of an employee's answer, opened for the roles that see them and
 * dropped for the others. 0 or a failure of the store (res is then the problem). */
static int personal_fields(fofal_worker_t *w, const char *tenant, const params_t *p, fofal__read_result_t *res) {
  json_t *personal = json_object_get(res->body, "personal");
  if (!sees_personal(p->role) || !json_object_size(personal)) {
    json_object_del(res->body, "personal");
    return 0;
  }
  char err[256];
  struct fofal_pg *pg;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  if (!rc) rc = fofal_open_personal(pg, fofal__pd_master(fofal__worker_api(w)), tenant, personal, err, sizeof err);
  if (rc == FOFAL_EUNAVAIL) fofal__worker_pg_drop(w);
  if (rc) {
    json_decref(res->body);
    res->body = NULL;
    fofal__read_fail(res, rc, err, 0);
  }
  return rc;
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char err[512], lim[16];
  json_t *rows = NULL;
  int rc;
  snprintf(lim, sizeof lim, "%d", MAX_SHIFTS);
  const char *params[] = {tenant, p->key, lim};
  if (p->route == H_EMPLOYEE) rc = fofal__worker_query(w, tenant, employee_sql, 3, params, &rows, err, sizeof err);
  else rc = fofal__worker_query(w, tenant, shift_model_sql, 2, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, p->route == H_EMPLOYEE ? "employee" : "shift model");
    json_decref(rows);
    return;
  }
  res->status = 200;
  res->body = json_incref(r);
  json_decref(rows);
  char id[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, p->route == H_EMPLOYEE ? "employee" : "shiftmodel", p->key, id);
  json_object_set_new(res->body, "aggregate", json_string(id));
  /* The model's answer is that aggregate alone, so its version is an ETag; an employee's
   * also holds their assignments' rows. */
  if (p->route == H_SHIFT_MODEL) res->etag = json_integer_value(json_object_get(res->body, "version"));
  else personal_fields(w, tenant, p, res);
}

/* -------------------------------------------------------------- routing */

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/hr/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32];
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1) && at < len &&
      !fofal__path_segment(path, len, &at, p.key, sizeof p.key) && at == len) {
    if (!strcmp(s1, "employees")) p.route = H_EMPLOYEE;
    else if (!strcmp(s1, "shiftmodels")) p.route = H_SHIFT_MODEL;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  /* "Own" is the person's badge, which the sign-in put in the token; never the subject (an
   * account id). */
  int own = p.route == H_EMPLOYEE && who.badge[0] && !strcmp(p.key, who.badge);
  if (!own && fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (!fofal_code_valid(p.key)) {
    char d[160];
    snprintf(d, sizeof d, "nothing of this tenant has the code \"%.60s\"", p.key);
    fofal__send_problem(req, 404, "not_found", d, NULL);
    return 0;
  }
  snprintf(p.role, sizeof p.role, "%s", who.role);
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char aggregate_desc[] =
    "The aggregate id its code stands for: the subject of its events (audit trail, fofal replay, WebSocket pushes).";

static const char employee_schema[] =
    "{\"type\":\"object\",\"properties\":{\"badge\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\","
    "\"null\"],\"description\":\"\\\"erased\\\" once the employee was erased.\"},\"job\":{},\"registered_at\":{},"
    "\"erased_at\":{\"type\":[\"string\",\"null\"]},\"personal\":{\"type\":\"object\",\"description\":\"Only for "
    "roles hr and admin, and only fields that were given: phone, national_id, bank_account (strings), salary (number); "
    "each reads \\\"erased\\\" once the employee was erased.\"},"
    "\"version\":{\"type\":\"integer\"},\"current_shift\":{\"type\":[\"object\",\"null\"]},\"shifts\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"shift\":{\"type\":\"string\"},\"starts_at\":{},"
    "\"ends_at\":{},\"looms\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}";

static const char shift_model_schema[] =
    "{\"type\":\"object\",\"properties\":{\"model\":{\"type\":\"string\"},\"utc_offset_min\":{\"type\":\"integer\"},"
    "\"shifts\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"
    "\"start\":{\"type\":\"string\",\"description\":\"Local time HH:MM.\"},\"hours\":{\"type\":\"number\"}}}},"
    "\"working_days\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"integer\"}},\"version\":{\"type\":"
    "\"integer\"},\"defined_at\":{\"type\":\"string\"}}}";

static void openapi(json_t *paths, json_t *schemas) {
  static const char *const named[H_N][2] = {{"Employee", employee_schema}, {"ShiftModel", shift_model_schema}};
  for (int i = 0; i < H_N; i++) {
    json_t *s = json_loads(named[i][1], 0, NULL);
    if (!s) continue;
    json_object_set_new(json_object_get(s, "properties"), "aggregate",
                        json_pack("{s:s,s:s,s:s}", "type", "string", "format", "uuid", "description", aggregate_desc));
    json_object_set_new(schemas, named[i][0], s);
  }
  for (int r = 0; r < H_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    json_array_append_new(params, fofal__openapi_path_param(r == H_EMPLOYEE ? "badge" : "model",
                                                             r == H_EMPLOYEE ? "Badge, as on the card (W121)."
                                                                             : "The model's name: default."));
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s%s%s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles, rt->self_note ? "; " : "",
             rt->self_note ? rt->self_note : "");
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("hr", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == H_SHIFT_MODEL) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each hr event (stream_roles.c): an employee's
 * events also reach the person themself. */
static const fofal_push_route_t push_routes[] = {
    {"employee_", "/api/v1/hr/employees/{badge}", 1},
    {"shift_assigned", "/api/v1/hr/employees/{badge}", 1},
    {"shift_model_", "/api/v1/hr/shiftmodels/{model}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_hr_routes = {
    .name = "hr",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
