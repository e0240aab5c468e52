/*
 * foo_api.c — the foo module's read: GET /api/v1/foo/things/{code} (any role), and the
 * module's registration (fofal_module_foo_routes).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fofal_read_route_t routes[] = {
    {"/api/v1/foo/things/{code}", "foo.things.get", "One thing.", "A thing as projected.", NULL, NULL, 0, "Thing"},
};

typedef struct job job_t;
typedef struct {
  fofal_api_t *api;
  h2o_req_t *req;
  job_t *job;
  char tenant[64], code[72];
} ctx_t;

struct job {
  fofal_job_t super;
  ctx_t *ctx;
  char tenant[64], code[72];
  int rc;
  json_t *rows;
};

static void run(fofal_worker_t *w, fofal_job_t *super) {
  job_t *job = (job_t *)super;
  char err[256];
  const char *params[] = {job->tenant, job->code};
  job->rc = fofal__worker_query(w, job->tenant,
                                "SELECT json_build_object('thing', thing, 'name', name, 'version', version) FROM foo.things "
                                "WHERE tenant = $1 AND thing = $2",
                                2, params, &job->rows, err, sizeof err);
}

static void done(fofal_api_t *api, fofal_job_t *super) {
  (void)api;
  job_t *job = (job_t *)super;
  if (job->ctx) {
    job->ctx->job = NULL;
    if (super->stopped || job->rc) fofal__send_problem(job->ctx->req, 503, "postgresql_unavailable", "retry", NULL);
    else if (!json_array_size(job->rows)) fofal__send_problem(job->ctx->req, 404, "not_found", "no such thing", NULL);
    else fofal__send_json(job->ctx->req, 200, json_incref(json_array_get(job->rows, 0)));
  }
  json_decref(job->rows);
  free(job);
}

static void on_dispose(void *p) {
  ctx_t *ctx = p;
  if (ctx->job) ctx->job->ctx = NULL;
}

static void start(void *opaque) {
  ctx_t *ctx = opaque;
  job_t *job = fofal_calloc(1, sizeof *job);
  job->super.run = run;
  job->super.done = done;
  job->ctx = ctx;
  snprintf(job->tenant, sizeof job->tenant, "%s", ctx->tenant);
  snprintf(job->code, sizeof job->code, "%s", ctx->code);
  if (fofal__pool_submit(ctx->api, &job->super)) {
    free(job);
    fofal__send_problem(ctx->req, 503, "overloaded", "retry", NULL);
    return;
  }
  ctx->job = job;
}

static int on_read(h2o_handler_t *self, h2o_req_t *req) {
  static const char base[] = "/api/v1/foo/things/";
  fofal_principal_t who;
  size_t len = req->path_normalized.len, b = sizeof base - 1;
  if (len <= b || len - b >= 64 || memcmp(req->path_normalized.base, base, b) ||
      memchr(req->path_normalized.base + b, '/', len - b)) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (fofal__authenticate(API_OF(self), req, &who)) return 0;
  ctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, on_dispose);
  memset(ctx, 0, sizeof *ctx);
  ctx->api = API_OF(self);
  ctx->req = req;
  snprintf(ctx->tenant, sizeof ctx->tenant, "%s", who.tenant);
  snprintf(ctx->code, sizeof ctx->code, "%.*s", (int)(len - b), req->path_normalized.base + b);
  fofal__after_position(ctx->api, req, 0, start, ctx);
  return 0;
}

static void openapi(json_t *paths, json_t *schemas) {
  const fofal_read_route_t *rt = &routes[0];
  json_object_set_new(paths, rt->path,
                      fofal__openapi_read_op("foo", rt->op_id, rt->summary, rt->desc,
                                             json_pack("[o]", fofal__openapi_path_param("code", "Thing code.")),
                                             "#/components/schemas/Thing", rt->roles));
  json_object_set_new(schemas, "Thing", fofal__openapi_object("A thing.", json_pack("{s:{s:s}}", "name", "type", "string")));
}

const fofal_api_module_t fofal_module_foo_routes = {.name = "foo", .on_read = on_read, .openapi = openapi};
