/*
 * subcontracting_api.c — the subcontracting module's reads: subcontractors with their
 * follow-up, and dispatches of lots with what came back.
 *
 *   GET /api/v1/subcontracting/subcontractors?limit=&cursor=
 *                                       by code, each with what they hold now (lots,
 *                                       thousandths outstanding, since when), open and
 *                                       overdue dispatches, lead time and reject rate
 *   GET /api/v1/subcontracting/dispatches?subcontractor=&status=&overdue=&limit=&cursor=
 *                                       oldest first; status=open: not closed; overdue=true:
 *                                       open past the expected return date
 *   GET /api/v1/subcontracting/dispatches/{id}   one dispatch, its lots and returns (ETag)
 *
 * The rows are the subcontracting projection's (schemas/subcontracting/080_subcontracting.sql).
 * The engine (api/reads.c) runs the queries on a read worker and waits for ?position=.
 * One table (routes[]) gives every route its path, roles, parameters and answer; the
 * handler's role check and the OpenAPI document read it.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and the OpenAPI text are read-only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Who reads subcontracting: the subcontractor storekeeper, quality, planning, management. */
#define ROLES_SUBCONTRACTING "storekeeper_st storekeeper_pf quality planner manager admin"

/* A subcontractor s with its follow-up, from its dispatches. */
#define SUBCONTRACTOR_COLS                                                                                             \
  "json_build_object('subcontractor', s.subcontractor, 'name', s.name, 'operations', s.operations, 'site', s.site, "  \
  "'contact', s.contact, 'version', s.version, 'registered_at', " TS("s.registered_at") ", 'holds', (SELECT "         \
  "json_build_object('lots', count(*), 'outstanding_milli', coalesce(sum(l.quantity_milli - l.good_milli - "          \
  "l.rejected_milli - l.lost_milli), 0), 'since', " TS("min(d.sent_at)") ") FROM subcontracting.dispatch_lots l "     \
  "JOIN subcontracting.dispatches d ON d.tenant = l.tenant AND d.dispatch_id = l.dispatch_id WHERE d.tenant = "       \
  "s.tenant AND d.subcontractor = s.subcontractor AND d.status <> 'closed' AND l.quantity_milli > l.good_milli + "    \
  "l.rejected_milli + l.lost_milli), 'open_dispatches', (SELECT count(*) FROM subcontracting.dispatches d WHERE "      \
  "d.tenant = s.tenant AND d.subcontractor = s.subcontractor AND d.status <> 'closed'), 'overdue_dispatches', "       \
  "(SELECT count(*) FROM subcontracting.dispatches d WHERE d.tenant = s.tenant AND d.subcontractor = s.subcontractor " \
  "AND d.status <> 'closed' AND d.expected_return < current_date), 'lead_time_days', (SELECT round(avg(extract(epoch " \
  "FROM d.closed_at - d.sent_at) / 86400)::numeric, 2) FROM subcontracting.dispatches d WHERE d.tenant = s.tenant "   \
  "AND d.subcontractor = s.subcontractor AND d.status = 'closed'), 'reject_rate', (SELECT CASE WHEN sum(l.good_milli " \
  "+ l.rejected_milli) > 0 THEN round(sum(l.rejected_milli)::numeric / sum(l.good_milli + l.rejected_milli), 4) END " \
  "FROM subcontracting.dispatch_lots l JOIN subcontracting.dispatches d ON d.tenant = l.tenant AND d.dispatch_id = "  \
  "l.dispatch_id WHERE d.tenant = s.tenant AND d.subcontractor = s.subcontractor))"

#define DISPATCH_COLS                                                                                                  \
  "json_build_object('dispatch_id', d.dispatch_id, 'subcontractor', d.subcontractor, 'operation', d.operation, "      \
  "'status', d.status, 'expected_return', d.expected_return, 'overdue', (d.status <> 'closed' AND d.expected_return " \
  "< current_date), 'note', d.note, 'unit_price', d.unit_price, 'cost_minor', d.cost_minor, 'sent_by', d.sent_by, "  \
  "'sender_badge', d.sender_badge, 'sent_at', "                                                                        \
  TS("d.sent_at") ", 'closed_at', " TS("d.closed_at") ", 'lots', coalesce((SELECT json_agg(json_build_object("        \
  "'label_id', l.label_id, 'quantity_milli', l.quantity_milli, 'good_milli', l.good_milli, 'rejected_milli', "        \
  "l.rejected_milli, 'lost_milli', l.lost_milli, 'outstanding_milli', l.quantity_milli - l.good_milli - "            \
  "l.rejected_milli - l.lost_milli, 'cost_minor', l.cost_minor) ORDER BY l.label_id) FROM "                    \
  "subcontracting.dispatch_lots l WHERE l.tenant = d.tenant AND l.dispatch_id = d.dispatch_id), '[]'::json), 'version', d.version)"

enum { S_SUBCONTRACTORS, S_DISPATCHES, S_DISPATCH, S_N };
#define F_PAGE 1       /* limit and cursor */
#define F_DISPATCHES 2 /* subcontractor, status, overdue */

static const fofal_read_route_t routes[S_N] = {
    [S_SUBCONTRACTORS] = {"/api/v1/subcontracting/subcontractors", "subcontracting.subcontractors.list",
                          "Subcontractors and their follow-up.",
                          "By code, keyset-paginated; each with what it holds now (lots, thousandths outstanding, since "
                          "when), its open and overdue dispatches, its lead time (days, closed dispatches) and reject "
                          "rate (rejected / returned).",
                          ROLES_SUBCONTRACTING, NULL, F_PAGE, "SubcontractorPage"},
    [S_DISPATCHES] = {"/api/v1/subcontracting/dispatches", "subcontracting.dispatches.list", "Dispatches to subcontractors.",
                      "Oldest first, keyset-paginated, with their lots; status=open means not closed; overdue=true only "
                      "the open ones past their expected return date.",
                      ROLES_SUBCONTRACTING, NULL, F_PAGE | F_DISPATCHES, "DispatchPage"},
    [S_DISPATCH] = {"/api/v1/subcontracting/dispatches/{id}", "subcontracting.dispatches.get", "One dispatch.",
                    "Its lots (sent, back good, rejected, lost, outstanding: thousandths) and its returns; ETag is its "
                    "version.",
                    ROLES_SUBCONTRACTING, NULL, 0, "Dispatch"},
};

static const char *const dispatch_statuses[] = {"open", "partly_returned", "closed", NULL};

typedef struct {
  int route;
  char key[80];
  char status[32], subcontractor[72];
  int limit, has_after, overdue;
  char after[96], after2[48];
} params_t;

/* ------------------------------------------------------------------ run */

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *after = p->has_after ? p->after : NULL, *after2 = p->has_after ? p->after2 : NULL;
  if (p->route == S_SUBCONTRACTORS) {
    const char *params[] = {tenant, after, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " SUBCONTRACTOR_COLS " FROM subcontracting.subcontractors s WHERE s.tenant = $1 AND "
                             "($2::text IS NULL OR s.subcontractor > $2) ORDER BY s.subcontractor LIMIT $3::int",
                             3, params, &rows, err, sizeof err);
  } else if (p->route == S_DISPATCH) {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " DISPATCH_COLS "::jsonb || jsonb_build_object('returns', coalesce((SELECT "
                             "json_agg(json_build_object('return_id', r.return_id, 'returned_by', r.returned_by, "
                             "'returner_badge', r.returner_badge, 'returned_at', " TS("r.returned_at") ", 'note', "
                             "r.note, 'lines', r.lines) ORDER BY r.returned_at, r.return_id) FROM subcontracting.returns "
                             "r WHERE r.tenant = $1 AND r.dispatch_id = d.dispatch_id), '[]'::json)) FROM "
                             "subcontracting.dispatches d WHERE d.tenant = $1 AND d.dispatch_id = $2::uuid",
                             2, params, &rows, err, sizeof err);
  } else {
    const char *params[] = {tenant, p->status[0] ? p->status : NULL, p->subcontractor[0] ? p->subcontractor : NULL,
                            p->overdue ? "t" : NULL, after, after2, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " DISPATCH_COLS " FROM subcontracting.dispatches d WHERE d.tenant = $1 AND ($2::text "
                             "IS NULL OR d.status = $2 OR ($2 = 'open' AND d.status <> 'closed')) AND ($3::text IS NULL "
                             "OR d.subcontractor = $3) AND ($4::text IS NULL OR (d.status <> 'closed' AND "
                             "d.expected_return < current_date)) AND ($5::timestamptz IS NULL OR (d.sent_at, "
                             "d.dispatch_id) > ($5::timestamptz, $6::uuid)) ORDER BY d.sent_at, d.dispatch_id LIMIT "
                             "$7::int",
                             7, params, &rows, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  if (p->route == S_DISPATCH) fofal__read_one(res, rows, "dispatch", 1);
  else if (p->route == S_SUBCONTRACTORS) fofal__read_page(res, rows, p->limit, (const char *const[]){"subcontractor", NULL});
  else fofal__read_page(res, rows, p->limit, (const char *const[]){"sent_at", "dispatch_id", NULL});
}

/* -------------------------------------------------------------- routing */

static int match(const char *path, size_t len, params_t *p) {
  static const char base[] = "/api/v1/subcontracting/";
  char s1[32];
  size_t at = sizeof base - 1;
  if (path[len - 1] == '/' || fofal__path_segment(path, len, &at, s1, sizeof s1)) return -1;
  if (!strcmp(s1, "subcontractors") && at == len) return S_SUBCONTRACTORS;
  if (strcmp(s1, "dispatches")) return -1;
  if (at == len) return S_DISPATCHES;
  if (!fofal__path_segment(path, len, &at, p->key, sizeof p->key) && at == len) return S_DISPATCH;
  return -1;
}

static int one_of(const char *const *set, const char *s) {
  for (int i = 0; set[i]; i++)
    if (!strcmp(set[i], s)) return 1;
  return 0;
}

static int parse(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  const char *s;
  int fl = routes[p->route].params;
  if (fl & F_DISPATCHES) {
    if ((s = fofal__param(req, "status"))) {
      if (!one_of(dispatch_statuses, s))
        return fofal__perr(e, 400, "invalid_parameter", "status must be open, partly_returned or closed (got \"%.40s\")", s);
      snprintf(p->status, sizeof p->status, "%s", s);
    }
    if ((s = fofal__param(req, "subcontractor"))) {
      if (!fofal_code_valid(s))
        return fofal__perr(e, 400, "invalid_parameter", "subcontractor is not a code (got \"%.40s\")", s);
      snprintf(p->subcontractor, sizeof p->subcontractor, "%s", s);
    }
    if ((s = fofal__param(req, "overdue"))) {
      if (strcmp(s, "true") && strcmp(s, "false"))
        return fofal__perr(e, 400, "invalid_parameter", "overdue is true or false (got \"%.40s\")", s);
      p->overdue = !strcmp(s, "true");
    }
  }
  if (fl & F_PAGE) {
    int rc = fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e);
    if (rc) return rc;
    if ((s = fofal__param(req, "cursor"))) {
      char raw[160];
      int64_t us;
      int bad = fofal__decode_cursor(req, s, MAX_CURSOR, raw, sizeof raw);
      if (!bad && p->route == S_SUBCONTRACTORS) {
        bad = !fofal_code_valid(raw);
        snprintf(p->after, sizeof p->after, "%s", raw);
      } else if (!bad) {
        char *bar = strchr(raw, '|');
        if (bar) *bar = '\0';
        bad = !bar || fofal_time_parse(raw, &us) || !fofal_uuid_valid(bar + 1);
        if (!bad) {
          fofal_time_format(us, p->after);
          snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
        }
      }
      if (bad) return fofal__perr(e, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint%s", "");
      p->has_after = 1;
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
  if (p.route == S_DISPATCH && !fofal_uuid_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "no dispatch of this tenant has this id", NULL);
    return 0;
  }
  if (parse(req, &p, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

#define ANY "{}"
static const struct {
  const char *name, *json;
} schemas_json[] = {
    {"Subcontractor",
     "{\"type\":\"object\",\"properties\":{\"subcontractor\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"operations\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"site\":" ANY ",\"contact\":" ANY ",\"version\":"
     "{\"type\":\"integer\"},\"registered_at\":{\"type\":\"string\"},\"holds\":{\"type\":\"object\",\"properties\":{"
     "\"lots\":{\"type\":\"integer\"},\"outstanding_milli\":{},\"since\":" ANY "}},\"open_dispatches\":{\"type\":"
     "\"integer\"},\"overdue_dispatches\":{\"type\":\"integer\"},\"lead_time_days\":" ANY ",\"reject_rate\":" ANY "}}"},
    {"Dispatch",
     "{\"type\":\"object\",\"properties\":{\"dispatch_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"subcontractor\":"
     "{\"type\":\"string\"},\"operation\":{\"type\":\"string\"},\"status\":{\"enum\":[\"open\",\"partly_returned\","
     "\"closed\"]},\"expected_return\":{\"type\":\"string\"},\"overdue\":{\"type\":\"boolean\"},\"note\":" ANY ",\"sent_by\":"
     "{\"type\":\"string\"},\"sender_badge\":" ANY ",\"sent_at\":{\"type\":\"string\"},\"closed_at\":" ANY ",\"lots\":{"
     "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"label_id\":{\"type\":\"string\"},"
     "\"quantity_milli\":{\"type\":\"integer\"},\"good_milli\":{\"type\":\"integer\"},\"rejected_milli\":{\"type\":"
     "\"integer\"},\"lost_milli\":{\"type\":\"integer\"},\"outstanding_milli\":{\"type\":\"integer\"},\"cost_minor\":"
     ANY "}}},\"unit_price\":" ANY ",\"cost_minor\":" ANY ",\"returns\":{"
     "\"type\":\"array\",\"description\":\"Only in GET /dispatches/{id}.\"},\"version\":{\"type\":\"integer\"}}}"},
};

static void openapi(json_t *paths, json_t *schemas) {
  for (size_t i = 0; i < sizeof schemas_json / sizeof schemas_json[0]; i++) {
    json_t *s = json_loads(schemas_json[i].json, 0, NULL);
    if (s) json_object_set_new(schemas, schemas_json[i].name, s);
  }
  json_object_set_new(schemas, "SubcontractorPage", fofal__openapi_page("#/components/schemas/Subcontractor"));
  json_object_set_new(schemas, "DispatchPage", fofal__openapi_page("#/components/schemas/Dispatch"));
  for (int r = 0; r < S_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == S_DISPATCH) json_array_append_new(params, fofal__openapi_path_param("id", "Id (UUID)."));
    if (rt->params & F_DISPATCHES) {
      json_array_append_new(params, fofal__openapi_query_param("status", "Only dispatches in this status (open: not closed).",
                                                               json_pack("{s:[s,s,s]}", "enum", "open",
                                                                         "partly_returned", "closed")));
      json_array_append_new(params, fofal__openapi_query_param("subcontractor", "Only this subcontractor's.",
                                                               json_pack("{s:s}", "type", "string")));
      json_array_append_new(params, fofal__openapi_query_param("overdue", "true: only open ones past their expected "
                                                                          "return date.",
                                                               json_pack("{s:s}", "type", "boolean")));
    }
    if (rt->params & F_PAGE) {
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc,
             "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until the projection has "
             "applied it.",
             rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("subcontracting", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == S_DISPATCH) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each subcontracting event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"subcontractor_", "/api/v1/subcontracting/subcontractors", 0},
    {"", "/api/v1/subcontracting/dispatches/{id}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_subcontracting_routes = {
    .name = "subcontracting",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
