/*
 * catalog_api.c — the catalog module's reads: articles (fouta models).
 *
 *   GET /api/v1/catalog/articles?limit=&cursor=   by article code, keyset-paginated
 *   GET /api/v1/catalog/articles/{code}           one article (ETag: its version)
 *   GET /api/v1/catalog/items                     materials: yarns, accessories, packaging
 *
 * The rows are the catalog projection's (schemas/catalog/060_catalog.sql); other modules'
 * reads may join catalog.articles (reading another module's table is allowed, writing is
 * not). Each answer carries the article's aggregate id (commands.h, fofal_aggregate_ref).
 * The engine (api/reads.c) runs the queries on a read worker and waits for ?position=.
 *
 * Threads: the handler runs on the loop thread, run() on a read worker with a copy of
 * params_t; the routes table and OpenAPI text are read-only.
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

#define ARTICLE_COLS                                                                                                   \
  "json_build_object('article', article, 'name', name, 'weave', weave, 'width_cm', width_cm, 'length_cm', length_cm, " \
  "'gsm', gsm, 'picks_per_cm', picks_per_cm, 'warp_yarn', warp_yarn, 'weft_yarn', weft_yarn, 'pile_yarn', pile_yarn, " \
  "'warp_g_per_piece', warp_g_per_piece, 'weft_g_per_piece', weft_g_per_piece, 'pile_g_per_piece', "                  \
  "pile_g_per_piece, 'version', version, 'defined_at', " TS("defined_at") ", 'updated_at', " TS("updated_at") ")"

/* Who reads the catalog: whoever makes, moves or checks what an article describes. */
#define ROLES_CATALOG "weaver mechanic planner quality cutter storekeeper_mp storekeeper_pf manager admin"

enum { C_ARTICLES, C_ARTICLE, C_ITEMS, C_N };
#define P_PAGE 1 /* limit and cursor */

static const fofal_read_route_t routes[C_N] = {
    [C_ARTICLES] = {"/api/v1/catalog/articles", "catalog.articles.list", "Articles (fouta models).",
                    "By article code, keyset-paginated.", ROLES_CATALOG, NULL, P_PAGE, "ArticlePage"},
    [C_ARTICLE] = {"/api/v1/catalog/articles/{code}", "catalog.articles.get", "One article.",
                   "Size, weight, density (picks/cm), yarns per piece; ETag is its version.", ROLES_CATALOG, NULL, 0,
                   "Article"},
    [C_ITEMS] = {"/api/v1/catalog/items", "catalog.items.list", "Items (yarns, accessories, packaging).",
                 "Every item of the tenant by code, with the unit it is counted in and, for a yarn, its count, material, "
                 "colour and supplier reference; at most 1000.",
                 ROLES_CATALOG " storekeeper_st accountant", NULL, 0, "Items"},
};

typedef struct {
  int route;
  char key[80];              /* the article code of the path */
  int limit, has_after;
  char after[96];            /* decoded cursor: the last article code */
} params_t;

/* ------------------------------------------------------------------ run */

static void add_aggregate(const char *tenant, json_t *o) {
  const char *code = json_string_value(json_object_get(o, "article"));
  char id[FOFAL_UUID_LEN + 1];
  if (!code || !fofal_code_valid(code)) return;
  fofal_aggregate_ref(tenant, "article", code, id);
  json_object_set_new(o, "aggregate", json_string(id));
}

static void run(fofal_worker_t *w, const char *tenant, void *opaque, fofal__read_result_t *res) {
  const params_t *p = opaque;
  char lim[16], err[512];
  json_t *rows = NULL;
  int rc;
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  if (p->route == C_ITEMS) {
    const char *params[] = {tenant};
    rc = fofal__worker_query(w, tenant,
                             "SELECT json_build_object('item', item, 'kind', kind, 'name', name, 'unit', unit, 'yarn_count', "
                             "yarn_count, 'material', material, 'colour', colour, 'supplier_ref', supplier_ref, 'conversions', "
                             "coalesce(conversions, '[]'::jsonb), 'version', "
                             "version, 'defined_at', " TS("defined_at") ") FROM catalog.items WHERE tenant = $1 ORDER BY "
                             "item LIMIT 1000",
                             1, params, &rows, err, sizeof err);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      return;
    }
    res->status = 200;
    res->body = json_pack("{s:o}", "items", rows);
    return;
  }
  if (p->route == C_ARTICLE) {
    const char *params[] = {tenant, p->key};
    rc = fofal__worker_query(w, tenant, "SELECT " ARTICLE_COLS " FROM catalog.articles WHERE tenant = $1 AND article = $2",
                             2, params, &rows, err, sizeof err);
  } else {
    const char *params[] = {tenant, p->has_after ? p->after : NULL, lim};
    rc = fofal__worker_query(w, tenant,
                             "SELECT " ARTICLE_COLS " FROM catalog.articles WHERE tenant = $1 AND ($2::text IS NULL OR "
                             "article > $2) ORDER BY article LIMIT $3::int",
                             3, params, &rows, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) add_aggregate(tenant, r);
  if (p->route == C_ARTICLE) {
    r = json_array_get(rows, 0);
    if (!json_is_object(r)) {
      fofal__read_not_found(res, "article");
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
    const char *last = json_string_value(json_object_get(json_array_get(rows, (size_t)p->limit - 1), "article"));
    size_t n = strlen(last ? last : "");
    char *c = fofal_malloc(h2o_base64_encode_capacity(n));
    h2o_base64_encode(c, last ? last : "", n, 1);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

/* -------------------------------------------------------------- routing */

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  fofal__perr_t e = {0};
  params_t p;
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/catalog/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char s1[32] = "";
  size_t at = sizeof base - 1;
  p.route = -1;
  if (path[len - 1] != '/' && !fofal__path_segment(path, len, &at, s1, sizeof s1) && !strcmp(s1, "items") && at == len)
    p.route = C_ITEMS;
  else if (path[len - 1] != '/' && !strcmp(s1, "articles")) {
    if (at == len) p.route = C_ARTICLES;
    else if (!fofal__path_segment(path, len, &at, p.key, sizeof p.key) && at == len) p.route = C_ARTICLE;
  }
  if (p.route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, routes[p.route].roles, routes[p.route].path + sizeof "/api/v1" - 1))
    return 0;
  if (p.route == C_ARTICLE && !fofal_code_valid(p.key)) {
    fofal__send_problem(req, 404, "not_found", "no article of this tenant has this code", NULL);
    return 0;
  }
  if (p.route == C_ARTICLES) {
    if (fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p.limit, &e)) {
      fofal__send_problem(req, e.status, e.code, e.detail, NULL);
      return 0;
    }
    const char *c = fofal__param(req, "cursor");
    if (c) {
      if (fofal__decode_cursor(req, c, MAX_CURSOR, p.after, sizeof p.after) || !fofal_code_valid(p.after)) {
        fofal__send_problem(req, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint", NULL);
        return 0;
      }
      p.has_after = 1;
    }
  }
  return fofal__read_serve(api, req, &who, 0, run, &p, sizeof p);
}

/* -------------------------------------------------------------- OpenAPI */

static const char article_schema[] =
    "{\"type\":\"object\",\"properties\":{\"article\":{\"type\":\"string\"},\"name\":{\"type\":[\"string\",\"null\"]},"
    "\"weave\":{\"type\":[\"string\",\"null\"]},\"width_cm\":{\"type\":[\"number\",\"null\"]},\"length_cm\":{\"type\":"
    "[\"number\",\"null\"]},\"gsm\":{\"type\":[\"number\",\"null\"]},\"picks_per_cm\":{\"type\":[\"number\",\"null\"]},"
    "\"warp_yarn\":{},\"weft_yarn\":{},\"pile_yarn\":{},\"warp_g_per_piece\":{},\"weft_g_per_piece\":{},"
    "\"pile_g_per_piece\":{},\"version\":{\"type\":\"integer\"},\"defined_at\":{\"type\":\"string\"},\"updated_at\":"
    "{\"type\":\"string\"},\"aggregate\":{\"type\":\"string\",\"format\":\"uuid\",\"description\":\"The aggregate id its "
    "code stands for: the subject of its events (audit trail, fofal replay, WebSocket pushes).\"}}}";

static const char items_schema[] =
    "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
    "{\"item\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"yarn\",\"accessory\",\"packaging\"]},\"name\":{\"type\":"
    "\"string\"},\"unit\":{\"enum\":[\"g\",\"cone\",\"mm\",\"piece\"]},\"yarn_count\":{},\"material\":{},\"colour\":{},"
    "\"supplier_ref\":{},\"conversions\":{\"type\":\"array\",\"description\":\"Its other units: qty <unit> = base_qty "
    "<its unit> (catalog.item.set_conversions); kg of g and m of mm are implied.\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"unit\":{\"type\":\"string\"},\"qty\":{\"type\":\"integer\"},\"base_qty\":{\"type\":"
    "\"integer\"}}}},\"version\":{\"type\":\"integer\"},\"defined_at\":{\"type\":\"string\"}}}}}}";

static void openapi(json_t *paths, json_t *schemas) {
  json_t *s = json_loads(article_schema, 0, NULL);
  if (s) json_object_set_new(schemas, "Article", s);
  json_object_set_new(schemas, "ArticlePage", fofal__openapi_page("#/components/schemas/Article"));
  s = json_loads(items_schema, 0, NULL);
  if (s) json_object_set_new(schemas, "Items", s);
  for (int r = 0; r < C_N; r++) {
    const fofal_read_route_t *rt = &routes[r];
    json_t *params = json_array();
    if (r == C_ARTICLE) json_array_append_new(params, fofal__openapi_path_param("code", "Article code."));
    if (rt->params & P_PAGE) {
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Limit"));
      json_array_append_new(params, json_pack("{s:s}", "$ref", "#/components/parameters/Cursor"));
    }
    char desc[1024], ref[96];
    snprintf(desc, sizeof desc, "%s Roles: %s. With ?position= (from a command's 201) the read waits (bounded) until "
             "the projection has applied it.", rt->desc, rt->roles);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", rt->schema);
    json_t *op = fofal__openapi_read_op("catalog", rt->op_id, rt->summary, desc, params, ref, rt->roles);
    if (r == C_ARTICLE) fofal__openapi_etag(op);
    json_object_set_new(paths, rt->path, op);
  }
}

/* Which read route shows the aggregate of each catalog event (stream_roles.c). */
static const fofal_push_route_t push_routes[] = {
    {"article_", "/api/v1/catalog/articles/{code}", 0},
    {"item_", "/api/v1/catalog/items", 0},
    {NULL, NULL, 0},
};

const fofal_api_module_t fofal_module_catalog_routes = {
    .name = "catalog",
    .on_read = on_read,
    .openapi = openapi,
    .push_routes = push_routes,
};
