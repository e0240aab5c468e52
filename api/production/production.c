/*
 * production.c — the production module's registration in the API (api.h, "module reads"),
 * and the OpenAPI paths of its own order reads (production_api.c answers them; the weaving
 * floor's reads are weaving_api.c's, with their own table).
 *
 * The build finds this folder and lists fofal_module_production_routes in the generated
 * fofal__api_modules[]: the router hands the module every request below
 * /api/v1/production/, the OpenAPI document takes its paths from routes[] below and from
 * weaving_api.c, and the audit trail folds a production order with fofal__production_fold.
 *
 * Threads: everything here runs once at start, on the main thread.
 */
#include "production_api.h"

#include <stdio.h>
#include <string.h>

/* Parameters of a route (fofal_read_route_t.params). */
#define P_FILTERS 1 /* status, loom, article */
#define P_PAGE 2    /* limit and cursor */
#define P_ETAG 4    /* answers with an ETag (the aggregate version) and 304 on If-None-Match */

/* Who reads them: FOFAL__ROLES_ORDERS, which production_api.c checks. */
static const fofal_read_route_t routes[] = {
    {"/api/v1/production/orders", "production.orders.list", "Production orders of the caller's tenant.",
     "Keyset pagination by order id: pages never repeat or skip an order.", FOFAL__ROLES_ORDERS, NULL, P_FILTERS | P_PAGE,
     "OrderPage"},
    {"/api/v1/production/orders/{id}", "production.orders.get", "One production order.",
     "The order as projected; ETag is its version.", FOFAL__ROLES_ORDERS, NULL, P_ETAG, "Order"},
    {"/api/v1/production/orders/{id}/declarations", "production.orders.declarations", "Output declarations of an order.",
     "By declaration time, paginated.", FOFAL__ROLES_ORDERS, NULL, P_PAGE, "DeclarationPage"},
    {"/api/v1/production/looms/{loom}/current-order", "production.looms.current_order", "The order running on a loom.",
     "From the Redis hot view; order_id is null when the loom is idle; 404 for a loom neither registered nor named by "
     "an order.",
     FOFAL__ROLES_ORDERS, NULL, 0, "LoomCurrentOrder"},
    {"/api/v1/production/shifts/{shift}/output", "production.shifts.output", "Output declared in a shift.",
     "From the Redis hot view: quantity per loom and in total (zero when nothing was declared).",
     FOFAL__ROLES_ORDERS, NULL, 0, "ShiftOutput"},
};

/* What a path parameter of routes[] is. */
static const char *path_param_desc(const char *name) {
  if (!strcmp(name, "id")) return "Order id (UUID).";
  if (!strcmp(name, "loom")) return "Loom code.";
  return "Shift id, e.g. 2026-11-24/A (the slash may be %2F).";
}

static json_t *ref(const char *to) { return json_pack("{s:s}", "$ref", to); }

static void openapi(json_t *paths, json_t *schemas) {
  static const char ryw[] =
      " With ?position= (from a command's 201), the read first waits (bounded) until the projection has applied "
      "that position: read your writes.";
  json_t *status = json_pack("{s:s,s:[s,s,s,s,s,s,s]}", "type", "string", "enum", "created", "released", "started",
                             "paused", "completed", "closed", "cancelled");
  json_t *code = json_pack("{s:s,s:i,s:s}", "type", "string", "maxLength", 64, "pattern", "^[A-Za-z0-9][A-Za-z0-9._/-]*$");
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const fofal_read_route_t *rt = &routes[i];
    json_t *params = json_array();
    const char *brace = strchr(rt->path, '{');
    if (brace) {
      char name[32];
      snprintf(name, sizeof name, "%.*s", (int)strcspn(brace + 1, "}"), brace + 1);
      json_array_append_new(params, fofal__openapi_path_param(name, path_param_desc(name)));
    }
    if (rt->params & P_FILTERS) {
      json_array_append_new(params, fofal__openapi_query_param("status", "Only orders in this status.", json_deep_copy(status)));
      json_array_append_new(params, fofal__openapi_query_param("loom", "Only orders on this loom.", json_deep_copy(code)));
      json_array_append_new(params,
                            fofal__openapi_query_param("article", "Only orders of this article.", json_deep_copy(code)));
    }
    if (rt->params & P_PAGE) {
      json_array_append_new(params, ref("#/components/parameters/Limit"));
      json_array_append_new(params, ref("#/components/parameters/Cursor"));
    }
    char desc[1024], ok[96];
    snprintf(desc, sizeof desc, "%s%s", rt->desc, ryw);
    snprintf(ok, sizeof ok, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("production", rt->op_id, rt->summary, desc, params, ok, rt->roles);
    if (rt->params & P_ETAG) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
  json_decref(status);
  json_decref(code);

  json_t *str = json_pack("{s:s}", "type", "string"), *integer = json_pack("{s:s}", "type", "integer");
  json_t *nstr = json_pack("{s:[s,s]}", "type", "string", "null");
  json_object_set_new(schemas, "Order",
                      fofal__openapi_object("A production order as projected.",
                                            json_pack("{s:{s:s,s:s},s:O,s:O,s:O,s:{s:[s,s],s:s},s:O,s:O,s:O,s:O,s:O,s:O}",
                                                      "order_id", "type", "string", "format", "uuid", "article", str,
                                                      "quantity", integer, "unit", str, "due_date", "type", "string",
                                                      "null", "format", "date", "loom", nstr, "status", str, "declared",
                                                      integer, "version", integer, "created_at", str, "updated_at", str)));
  json_object_set_new(schemas, "OrderPage", fofal__openapi_page("#/components/schemas/Order"));
  json_object_set_new(schemas, "Declaration",
                      fofal__openapi_object("One output declaration (a label).",
                                            json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "label_id", str, "order_id", str,
                                                      "quantity", integer, "weaver", str, "loom", nstr, "shift", nstr,
                                                      "declared_at", str)));
  json_object_set_new(schemas, "DeclarationPage", fofal__openapi_page("#/components/schemas/Declaration"));
  json_object_set_new(schemas, "LoomCurrentOrder",
                      fofal__openapi_object("The order on a loom (Redis hot view).",
                                            json_pack("{s:O,s:O,s:O,s:{s:[s,s]}}", "loom", str, "order_id", nstr, "since",
                                                      nstr, "order", "type", "object", "null")));
  json_object_set_new(schemas, "ShiftOutput",
                      fofal__openapi_object("Output of a shift (Redis hot view).",
                                            json_pack("{s:O,s:O,s:{s:s,s:O}}", "shift", str, "total", integer, "looms",
                                                      "type", "object", "additionalProperties", integer)));
  json_decref(str);
  json_decref(integer);
  json_decref(nstr);
  fofal__weaving_openapi(paths, schemas);
}

/* Which read route shows the aggregate of each production event: its roles receive the
 * event's push (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"order_", "/api/v1/production/orders/{id}", 0},
    {"output_declared", "/api/v1/production/orders/{id}/declarations", 0},
    {"loom_", "/api/v1/production/looms/{code}", 0},
    {"first_piece_checked", "/api/v1/production/looms/{code}", 0},
    {"beam_", "/api/v1/production/beams/{code}", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_production_routes = {
    .name = "production",
    .on_read = fofal__on_production_read,
    .openapi = openapi,
    .audit_fold = fofal__production_fold,
    .audit_fold_first = "order_created",
    .push_routes = push_routes,
};
