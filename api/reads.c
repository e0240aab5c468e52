/*
 * reads.c — the machinery every module's reads share (the engine: it names no module).
 *
 *   GET /api/v1/audit/{module}/{id}/events?limit=&cursor=&as_of= (auditor, manager, admin)
 *   GET /api/v1/audit/{module}/{id}?as_of=<RFC 3339>      (auditor, manager, admin)
 *   GET /api/v1/audit/{module}/{kind}/{code}[/events]     the same, for "looms/L13"
 *   and, for the read routes of the modules (api/<m>/): read jobs (fofal__read_serve) and
 *   read your writes (?position=, fofal__after_position).
 *
 * Audit names. {id} is what people type (commands.h, fofal_aggregate_resolve): a UUID, or
 * a code (L13, W121) that is looked up among the module's kinds named by code; a code
 * that more than one kind has events for answers 409 ambiguous_aggregate with the
 * candidates and their /{kind}/{code} paths, which name exactly one. The answers carry
 * the aggregate id, and the kind and code when a code named it. The state of an aggregate
 * is folded by its module's audit_fold (api.h), for the aggregates it says it folds.
 *
 * Every query runs on a read worker (pgpool.c) as fofal_reader with the caller's tenant
 * set, so row-level security isolates tenants even if a WHERE clause were missing; the
 * SQL keeps `WHERE tenant = $1` anyway, for the indexes and as a second fence. Redis keys
 * carry the tenant of the token.
 *
 * Read your writes (DESIGN.md guarantee 6). Any GET may carry ?position=<module>:
 * <partition>:<offset>, the token of a command's 201. The request then waits, at most
 * FOFAL_API_POSITION_WAIT_MS, until the projection that serves it (`<module>`, or
 * `audit.<module>` for the audit trail) has stored next_offset > offset for that
 * partition in fofal_meta.projector_offsets — and, for Redis views, until the Redis
 * applied offset has reached it too (the projector writes Redis after PostgreSQL). One
 * shared poller serves every waiting request: while any waits, a single cheap job reads
 * all positions every ~5 ms and wakes whoever is satisfied; a waiter past its deadline gets
 * 503 position_not_reached with Retry-After and how far the projection is. A position at
 * or past the end of its partition's log (its high watermark, which the first poll of a
 * waiter asks Kafka for) was never the answer of a command and would never be reached:
 * it gets 400 position_beyond_log at once, so that a client does not retry it for ever.
 *
 * Threads: handlers, waiters and job completions run on the loop thread; queries run on
 * the workers with copies of their inputs. A request context lives in the request's pool;
 * its dispose callback detaches it from its job and from the poller, so a client that
 * goes away never leaves a dangling pointer behind.
 * Failures: PostgreSQL or Redis unreachable → 503 with Retry-After; a full job queue →
 * 503; malformed parameters → 400; never a 5xx for bad input.
 */
#include "api.h"
#include "projections.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 1000
#define MAX_FOLD_EVENTS 100000 /* events folded for one as_of */
#define POLL_INTERVAL_MS 5
#define MAX_POLL_REDIS 64      /* distinct (module, partition) Redis checks per poll */

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

typedef enum { R_AUDIT_EVENTS, R_AUDIT_STATE } audit_route_t;

/* An audit read, copied for the worker. */
typedef struct {
  audit_route_t route;
  char tenant[64];
  char id[72];        /* aggregate id */
  char module[32];
  int limit;
  int has_after;
  char after[96];     /* decoded cursor: seq */
  char as_of[32];     /* normalised RFC 3339; "" = now */
  /* What the path named (a UUID, "L13" or "loom:L13") and the aggregates it may be
   * (one for a UUID or a kind; every kind and the code itself for a bare code). */
  char name[80];
  int ncand;
  fofal_aggregate_name_t cand[FOFAL_AGGREGATE_NAMES_MAX];
  const char *kind;   /* static: the kind of the aggregate answered, or NULL */
} audit_params_t;

typedef struct {
  char text[160];
  char module[32];
  char projector[64];
  char topic[96];
  int partition;
  int64_t offset;
  int redis;          /* the route reads Redis: wait for its applied offset too */
} position_t;

typedef struct read_job read_job_t;

/* A request waiting for a position (loop thread): a read's context embeds one;
 * fofal__after_position has one in its request's pool. */
typedef struct {
  fofal_api_t *api;
  h2o_req_t *req;
  position_t pos;
  h2o_linklist_t wait_link;
  h2o_timeout_entry_t deadline;
  int64_t seen_next;          /* last polled next_offset, -1 unknown */
  int64_t seen_redis;         /* last polled Redis applied offset */
  char seen_at[40];           /* last_event_at of the projection */
  int end_asked;              /* a poll job is checking the position against the log's end */
  void (*ready)(void *opaque);/* the position is reached: runs once, unless the wait timed out */
  void *opaque;
} waiter_t;

typedef struct {
  fofal_api_t *api;
  h2o_req_t *req;
  fofal__read_run_t run;
  void *params;               /* the module's parameters, in the request's pool */
  size_t size;
  char tenant[64];
  waiter_t w;
  read_job_t *job;
  char if_none_match[40];
} read_ctx_t;

struct read_job {
  fofal_job_t super;
  read_ctx_t *ctx;            /* NULL once the request is gone (loop thread) */
  fofal__read_run_t run;
  void *params;               /* a copy (new) */
  fofal__read_result_t res;
};

typedef struct {
  fofal_job_t super;
  int nredis;
  struct {
    char module[32];
    int partition;
  } redis[MAX_POLL_REDIS];
  int nend;
  struct {
    char topic[96];
    int partition;
    int rc;                   /* of fofal__log_end: 0, FOFAL_ENOENT (no such partition) or a failure */
    int64_t end;
  } ends[MAX_POLL_REDIS];     /* positions not checked yet against the end of their log */
  json_t *pg;                 /* {"<projector>|<topic>|<partition>": {"n": next_offset, "t": last_event_at}} */
  json_t *applied;            /* {"<module>|<partition>": applied offset} */
  int rc, redis_failed;
  char err[256];
} poll_job_t;

typedef struct fofal_reads {
  fofal_api_t *api;
  h2o_linklist_t waiters;
  h2o_timeout_t poll_timeout, wait_timeout;
  h2o_timeout_entry_t poll_entry;
  int poll_inflight;
  const char *last_poll_failure; /* problem code of the last poll's failure, or NULL */
} reads_t;

/* ------------------------------------------------------------- answers */

static void send_503(h2o_req_t *req, const char *code, const char *detail) {
  fofal__add_header(req, "Retry-After", "1");
  fofal__send_problem(req, 503, code, detail, NULL);
}

static void send_job_result(read_ctx_t *ctx, fofal__read_result_t *res) {
  h2o_req_t *req = ctx->req;
  if (res->status >= 400) {
    if (res->status == 503) fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, res->status, res->code, res->detail, res->extra);
    res->extra = NULL;
    return;
  }
  if (res->etag >= 0) {
    char etag[40];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)res->etag);
    fofal__add_header(req, "ETag", etag);
    if (ctx->if_none_match[0] && (!strcmp(ctx->if_none_match, etag) || !strcmp(ctx->if_none_match, "*"))) {
      req->res.status = 304;
      req->res.reason = "Not Modified";
      h2o_send_inline(req, "", 0);
      return;
    }
  }
  if (res->raw) fofal__send_bytes(req, res->status, res->ctype, res->raw, res->raw_len);
  else fofal__send_json(req, res->status, res->body);
  res->body = NULL;
}

void fofal__read_fail(fofal__read_result_t *res, int rc, const char *err, int redis) {
  if (rc == FOFAL_EUNAVAIL) {
    res->status = 503;
    res->code = redis ? "redis_unavailable" : "postgresql_unavailable";
    snprintf(res->detail, sizeof res->detail, "%s is not reachable; retry shortly", redis ? "Redis" : "PostgreSQL");
  } else if (strstr(err, "statement timeout")) {
    res->status = 503;
    res->code = "query_timeout";
    snprintf(res->detail, sizeof res->detail, "the query took too long; retry shortly");
  } else {
    LOG_ERROR("read failed: %s", err);
    res->status = 500;
    res->code = "internal_error";
    snprintf(res->detail, sizeof res->detail, "the query failed; the error was logged");
  }
}

void fofal__read_not_found(fofal__read_result_t *res, const char *what) {
  res->status = 404;
  res->code = "not_found";
  snprintf(res->detail, sizeof res->detail, "%s", what);
}

void fofal__read_one(fofal__read_result_t *res, json_t *rows, const char *what, int etag) {
  json_t *r = json_array_get(rows, 0);
  if (!json_is_object(r)) {
    fofal__read_not_found(res, what);
  } else {
    res->status = 200;
    res->body = json_incref(r);
    if (etag) res->etag = json_integer_value(json_object_get(r, "version"));
  }
  json_decref(rows);
}

void fofal__read_page(fofal__read_result_t *res, json_t *rows, int limit, const char *const *keys) {
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)limit) {
    json_array_remove(rows, (size_t)limit);
    const json_t *last = json_array_get(rows, (size_t)limit - 1);
    char raw[256] = "";
    size_t at = 0;
    for (int i = 0; keys[i] && at < sizeof raw; i++) {
      const char *v = json_string_value(json_object_get(last, keys[i]));
      at += (size_t)snprintf(raw + at, sizeof raw - at, "%s%s", i ? "|" : "", v ? v : "");
    }
    size_t n = strlen(raw);
    char *c = fofal_malloc(h2o_base64_encode_capacity(n));
    h2o_base64_encode(c, raw, n, 1);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

/* 1 when `role` is one of the space-separated `roles` (exactly: case and all). */
int fofal__role_in(const char *roles, const char *role) {
  size_t n = strlen(role);
  for (const char *s = roles; s && *s;) {
    const char *e = strchr(s, ' ');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (l == n && !memcmp(s, role, n)) return 1;
    s = e ? e + 1 : NULL;
  }
  return 0;
}

int fofal__read_roles_check(h2o_req_t *req, const fofal_principal_t *who, const char *roles, const char *what) {
  if (!roles || fofal__role_in(roles, who->role)) return 0;
  char d[160];
  snprintf(d, sizeof d, "role %.40s may not read %.100s", who->role, what);
  fofal__send_problem(req, 403, "forbidden", d, NULL);
  return FOFAL_EFORBIDDEN;
}

/* ---------------------------------------------------------------- audit */

/* The audit answer's head: module, aggregate id, and kind and code when a code named it. */
static json_t *audit_head(const audit_params_t *p) {
  json_t *o = json_pack("{s:s,s:s}", "module", p->module, "aggregate", p->id);
  if (p->kind) {
    const char *colon = strchr(p->name, ':');
    json_object_set_new(o, "kind", json_string(p->kind));
    json_object_set_new(o, "code", json_string(colon ? colon + 1 : p->name));
  }
  if (p->as_of[0]) json_object_set_new(o, "as_of", json_string(p->as_of));
  return o;
}

/* Which of the aggregates the name may be has events: exactly one is answered (its id into
 * res->p.id), none is a 404, several a 409 that lists them. 0 to go on; or, with res the answer,
 * the query's error, FOFAL_ENOENT (404) or FOFAL_ECONFLICT (409). */
static int audit_resolve(fofal_worker_t *w, audit_params_t *p, fofal__read_result_t *res) {
  if (p->ncand == 1) {
    snprintf(p->id, sizeof p->id, "%s", p->cand[0].id);
    p->kind = p->cand[0].kind;
    return 0;
  }
  char arr[FOFAL_AGGREGATE_NAMES_MAX * (FOFAL_CODE_MAX + 4) + 4], err[512];
  size_t at = 0;
  arr[at++] = '{';
  for (int i = 0; i < p->ncand; i++) /* ids are UUIDs and codes: nothing to escape */
    at += (size_t)snprintf(arr + at, sizeof arr - at, "%s\"%s\"", i ? "," : "", p->cand[i].id);
  snprintf(arr + at, sizeof arr - at, "}");
  const char *params[] = {p->tenant, p->module, arr};
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant,
                               "SELECT json_build_object('a', aggregate) FROM audit.events WHERE tenant = $1 AND "
                               "module = $2 AND aggregate = ANY($3::text[]) GROUP BY aggregate",
                               3, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return rc;
  }
  json_t *found = json_array();
  int hit = -1;
  for (int i = 0; i < p->ncand; i++) {
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r) {
      if (strcmp(json_string_value(json_object_get(r, "a")) ?: "", p->cand[i].id)) continue;
      hit = i;
      json_t *c = json_pack("{s:s,s:s?}", "aggregate", p->cand[i].id, "kind", p->cand[i].kind);
      if (p->cand[i].kind)
        json_object_set_new(c, "href", json_sprintf("/api/v1/audit/%s/%ss/%s%s", p->module, p->cand[i].kind, p->name,
                                                    p->route == R_AUDIT_EVENTS ? "/events" : ""));
      json_array_append_new(found, c);
    }
  }
  json_decref(rows);
  if (json_array_size(found) == 1) {
    snprintf(p->id, sizeof p->id, "%s", p->cand[hit].id);
    p->kind = p->cand[hit].kind;
    json_decref(found);
    return 0;
  }
  char kinds[1024];
  fofal_aggregate_kinds_text(p->module, 0, kinds, sizeof kinds);
  if (json_array_size(found) == 0) {
    res->status = 404;
    res->code = "not_found";
    snprintf(res->detail, sizeof res->detail, "no aggregate of %s is named %s: no %s has that code", p->module, p->name,
             kinds);
    json_decref(found);
    return FOFAL_ENOENT;
  }
  res->status = 409;
  res->code = "ambiguous_aggregate";
  snprintf(res->detail, sizeof res->detail,
           "%s names %zu aggregates of %s (see candidates); name one with its kind, e.g. %s", p->name,
           json_array_size(found), p->module,
           json_string_value(json_object_get(json_array_get(found, 0), "href")) ?: "/{kind}/{code}");
  res->extra = json_pack("{s:o}", "candidates", found);
  return FOFAL_ECONFLICT;
}

static void run_audit_events(fofal_worker_t *w, audit_params_t *p, fofal__read_result_t *res) {
  char lim[16], err[512];
  if (audit_resolve(w, p, res)) return;
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *params[] = {p->tenant, p->module, p->id, p->has_after ? p->after : "0", lim, p->as_of[0] ? p->as_of : NULL};
  static const char sql[] =
      "SELECT json_build_object('seq', seq, 'id', event_id, 'type', type, 'time', " TS("\"time\"") ", 'actor', actor, "
      "'command_id', command_id, 'correlation_id', correlation_id, 'position', position, 'data', data) "
      "FROM audit.events WHERE tenant = $1 AND module = $2 AND aggregate = $3 AND seq > $4::bigint "
      "AND ($6::timestamptz IS NULL OR \"time\" <= $6::timestamptz) ORDER BY seq LIMIT $5::int";
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant, sql, 6, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  if (!p->has_after && json_array_size(rows) == 0) {
    fofal__read_not_found(res, p->as_of[0] ? "the aggregate had no event by as_of" : "no event of that aggregate");
    json_decref(rows);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)p->limit) {
    json_array_remove(rows, (size_t)p->limit);
    char seq[24];
    snprintf(seq, sizeof seq, "%lld",
             (long long)json_integer_value(json_object_get(json_array_get(rows, (size_t)p->limit - 1), "seq")));
    next = json_string(seq);
  }
  res->status = 200;
  res->body = audit_head(p);
  json_object_set_new(res->body, "items", rows);
  json_object_set_new(res->body, "next_cursor", next);
}

/* ----------------------------------------------------------------- folds */

/* The short name of an event type: "fofal.production.order_created.v1" → "order_created". */
void fofal__event_short_type(const char *type, char *out, size_t outlen) {
  const char *s = type ? strrchr(type, '.') : NULL;
  out[0] = '\0';
  if (!s) return;
  const char *e = s;               /* ".v1" */
  const char *b = e - 1;
  while (b > type && *b != '.') b--;
  if (*b == '.') b++;
  size_t n = (size_t)(e - b);
  if (n >= outlen) n = outlen - 1;
  memcpy(out, b, n);
  out[n] = '\0';
}

static void run_audit_state(fofal_worker_t *w, audit_params_t *p, fofal__read_result_t *res) {
  char lim[16], err[512];
  snprintf(lim, sizeof lim, "%d", MAX_FOLD_EVENTS + 1);
  if (audit_resolve(w, p, res)) return;
  const char *params[] = {p->tenant, p->module, p->id, p->as_of[0] ? p->as_of : NULL, lim};
  static const char sql[] =
      "SELECT json_build_object('seq', seq, 'type', type, 'time', " TS("\"time\"") ", 'data', data) FROM audit.events "
      "WHERE tenant = $1 AND module = $2 AND aggregate = $3 AND ($4::timestamptz IS NULL OR \"time\" <= $4::timestamptz) "
      "ORDER BY seq LIMIT $5::int";
  const fofal_api_module_t *mod = fofal__api_module(p->module);
  json_t *(*fold)(const char *, json_t *) = NULL;
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant, sql, 5, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  char first[64] = "";
  fofal__event_short_type(json_string_value(json_object_get(json_array_get(rows, 0), "type")), first, sizeof first);
  if (mod && mod->audit_fold && mod->audit_fold_first && !strcmp(mod->audit_fold_first, first)) fold = mod->audit_fold;
  if (json_array_size(rows) == 0) {
    fofal__read_not_found(res, p->as_of[0] ? "the aggregate had no event by as_of" : "no event of that aggregate");
  } else if (!fold) {
    res->status = 404;
    res->code = "state_not_computed";
    const char *colon = strchr(p->name, ':');
    if (p->kind)
      snprintf(res->detail, sizeof res->detail,
               "the state of a %s is not folded here (a module folds only the aggregates it says); read its history up "
               "to a time at "
               "/api/v1/audit/%s/%ss/%s/events?as_of=",
               p->kind, p->module, p->kind, colon ? colon + 1 : p->name);
    else
      snprintf(res->detail, sizeof res->detail,
               "the state of this aggregate (created by %s) is not folded here (a module folds only the aggregates it "
               "says); read its "
               "history up to a time at /api/v1/audit/%s/%s/events?as_of=",
               first, p->module, p->id);
  } else if (json_array_size(rows) > MAX_FOLD_EVENTS) {
    res->status = 422;
    res->code = "history_too_long";
    snprintf(res->detail, sizeof res->detail, "more than %d events to fold", MAX_FOLD_EVENTS);
  } else {
    json_t *state = fold(p->id, rows);
    json_t *last = json_array_get(rows, json_array_size(rows) - 1);
    res->status = 200;
    res->body = audit_head(p);
    if (!p->as_of[0]) json_object_set_new(res->body, "as_of", json_null());
    json_object_set(res->body, "version", json_object_get(last, "seq"));
    json_object_set_new(res->body, "state", state);
    res->etag = json_integer_value(json_object_get(last, "seq"));
  }
  json_decref(rows);
}


/* The live generation prefix of a module's Redis keys, e.g. "fofal:production:g3:". */
int fofal__redis_prefix(fofal__redis_t *r, const char *module, char *out, size_t outlen, char *err, size_t errlen) {
  char key[96], *gen = NULL;
  snprintf(key, sizeof key, "fofal:%s:gen", module);
  int rc = fofal__redis_get(r, key, &gen, err, errlen);
  if (rc) return rc;
  snprintf(out, outlen, "fofal:%s:g%lld:", module, gen ? atoll(gen) : 1LL);
  free(gen);
  return 0;
}


/* ------------------------------------------------------------ read jobs */

static void run_read(fofal_worker_t *w, fofal_job_t *super) {
  read_job_t *job = (read_job_t *)super;
  job->run(w, job->super.tenant, job->params, &job->res);
}

static void read_done(fofal_api_t *api, fofal_job_t *super) {
  (void)api;
  read_job_t *job = (read_job_t *)super;
  read_ctx_t *ctx = job->ctx;
  if (ctx) {
    ctx->job = NULL;
    if (super->stopped) send_503(ctx->req, "shutting_down", "the server is stopping; retry");
    else send_job_result(ctx, &job->res);
  }
  json_decref(job->res.body);
  json_decref(job->res.extra);
  free(job->res.raw);
  free(job->params);
  free(job);
}

static void start_read(read_ctx_t *ctx) {
  read_job_t *job = fofal_calloc(1, sizeof *job);
  job->super.run = run_read;
  job->super.done = read_done;
  job->run = ctx->run;
  job->params = fofal_malloc(ctx->size);
  memcpy(job->params, ctx->params, ctx->size);
  job->res.etag = -1;
  job->ctx = ctx;
  snprintf(job->super.tenant, sizeof job->super.tenant, "%s", ctx->tenant);
  if (fofal__pool_submit(ctx->api, &job->super)) {
    free(job->params);
    free(job);
    send_503(ctx->req, "overloaded", "too many queries are queued; retry shortly");
    return;
  }
  ctx->job = job;
}

/* --------------------------------------------------------- position wait */

static void run_poll(fofal_worker_t *w, fofal_job_t *super) {
  poll_job_t *job = (poll_job_t *)super;
  json_t *rows = NULL;
  job->rc = fofal__worker_query(w, "",
                                "SELECT json_build_object('k', projector || '|' || topic || '|' || partition, 'n', "
                                "next_offset, 't', " TS("last_event_at") ") FROM fofal_meta.projector_offsets",
                                0, NULL, &rows, job->err, sizeof job->err);
  if (job->rc) return;
  job->pg = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const char *k = json_string_value(json_object_get(r, "k"));
    if (k) json_object_set_new(job->pg, k, json_pack("{s:O,s:O}", "n", json_object_get(r, "n"), "t", json_object_get(r, "t")));
  }
  json_decref(rows);
  for (int k = 0; k < job->nend; k++) {
    char err[256];
    job->ends[k].rc = fofal__log_end(fofal__worker_api(w), job->ends[k].topic, job->ends[k].partition, &job->ends[k].end,
                                     err, sizeof err);
  }
  if (!job->nredis) return;
  /* Redis views: the projector's applied offset per partition, in the live generation. */
  fofal__redis_t *rd = fofal__worker_redis(w);
  job->applied = json_object();
  const char *keys[MAX_POLL_REDIS] = {0};
  char *vals[MAX_POLL_REDIS] = {0}, prefix[96];
  for (int k = 0; k < job->nredis && !job->rc; k++) {
    job->rc = fofal__redis_prefix(rd, job->redis[k].module, prefix, sizeof prefix, job->err, sizeof job->err);
    if (!job->rc) keys[k] = fofal_asprintf("%sapplied:%s:%d", prefix, job->redis[k].module, job->redis[k].partition);
  }
  if (!job->rc) job->rc = fofal__redis_mget(rd, job->nredis, keys, vals, job->err, sizeof job->err);
  if (job->rc) job->redis_failed = 1;
  for (int k = 0; k < job->nredis; k++) {
    if (!job->rc) {
      char name[64];
      snprintf(name, sizeof name, "%s|%d", job->redis[k].module, job->redis[k].partition);
      json_object_set_new(job->applied, name, json_integer(vals[k] ? atoll(vals[k]) : -1));
      free(vals[k]);
    }
    free((char *)keys[k]);
  }
}

static void submit_poll(reads_t *rs);

static void on_poll_timer(h2o_timeout_entry_t *entry) {
  reads_t *rs = H2O_STRUCT_FROM_MEMBER(reads_t, poll_entry, entry);
  submit_poll(rs);
}

static void schedule_poll(reads_t *rs) {
  if (h2o_linklist_is_empty(&rs->waiters) || rs->poll_inflight || h2o_timeout_is_linked(&rs->poll_entry)) return;
  h2o_timeout_link(rs->api->ctx.loop, &rs->poll_timeout, &rs->poll_entry);
}

static void wait_unlink(waiter_t *w) {
  if (h2o_linklist_is_linked(&w->wait_link)) h2o_linklist_unlink(&w->wait_link);
  if (h2o_timeout_is_linked(&w->deadline)) h2o_timeout_unlink(&w->deadline);
}

/* The index of the waiter's partition among the job's log ends, or -1. */
static int ends_index(const poll_job_t *job, const waiter_t *w) {
  for (int k = 0; k < job->nend; k++)
    if (job->ends[k].partition == w->pos.partition && !strcmp(job->ends[k].topic, w->pos.topic)) return k;
  return -1;
}

/* 1 when the poll found the waiter's position at or past the end of its log: no command
 * ever answered it, and waiting would not make it appear. A position the log reached
 * since its command answered is always below the end, transaction markers included. */
static int beyond_end(const poll_job_t *job, const waiter_t *w) {
  int k = w->end_asked ? ends_index(job, w) : -1;
  if (k < 0) return 0;
  return job->ends[k].rc == FOFAL_ENOENT || (job->ends[k].rc == 0 && w->pos.offset >= job->ends[k].end);
}

static void answer_beyond_end(waiter_t *w) {
  char detail[256];
  snprintf(detail, sizeof detail,
           "position %s is beyond the end of %s[%d]: no command answered it; pass the position of a command's answer",
           w->pos.text, w->pos.topic, w->pos.partition);
  fofal__send_problem(w->req, 400, "position_beyond_log", detail, json_pack("{s:s}", "position", w->pos.text));
}

static void poll_done(fofal_api_t *api, fofal_job_t *super) {
  poll_job_t *job = (poll_job_t *)super;
  reads_t *rs = api->reads;
  if (!rs) goto out;
  rs->poll_inflight = 0;
  rs->last_poll_failure = NULL;
  if (super->stopped || job->rc) {
    rs->last_poll_failure = job->redis_failed ? "redis_unavailable" : "postgresql_unavailable";
    goto out;
  }
  h2o_linklist_t *node = rs->waiters.next;
  while (node != &rs->waiters) {
    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, wait_link, node);
    node = node->next;
    char k[200];
    snprintf(k, sizeof k, "%s|%s|%d", w->pos.projector, w->pos.topic, w->pos.partition);
    json_t *row = json_object_get(job->pg, k);
    w->seen_next = row ? json_integer_value(json_object_get(row, "n")) : 0;
    snprintf(w->seen_at, sizeof w->seen_at, "%s", json_string_value(json_object_get(row, "t")) ?: "");
    int reached = w->seen_next > w->pos.offset;
    if (reached && w->pos.redis) {
      snprintf(k, sizeof k, "%s|%d", w->pos.module, w->pos.partition);
      json_t *a = json_object_get(job->applied, k);
      w->seen_redis = a ? json_integer_value(a) : -1;
      reached = w->seen_redis >= w->pos.offset;
    }
    if (reached) {
      wait_unlink(w);
      w->ready(w->opaque);
    } else if (beyond_end(job, w)) {
      wait_unlink(w);
      answer_beyond_end(w);
    }
  }
out:
  json_decref(job->pg);
  json_decref(job->applied);
  free(job);
  if (rs) schedule_poll(rs);
}

static void submit_poll(reads_t *rs) {
  if (rs->poll_inflight || h2o_linklist_is_empty(&rs->waiters)) return;
  poll_job_t *job = fofal_calloc(1, sizeof *job);
  job->super.run = run_poll;
  job->super.done = poll_done;
  for (h2o_linklist_t *n = rs->waiters.next; n != &rs->waiters; n = n->next) {
    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, wait_link, n);
    if (w->end_asked || ends_index(job, w) >= 0 || job->nend == MAX_POLL_REDIS) continue;
    snprintf(job->ends[job->nend].topic, sizeof job->ends[0].topic, "%s", w->pos.topic);
    job->ends[job->nend++].partition = w->pos.partition;
  }
  for (h2o_linklist_t *n = rs->waiters.next; n != &rs->waiters; n = n->next) {
    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, wait_link, n);
    if (!w->pos.redis) continue;
    int dup = 0;
    for (int i = 0; i < job->nredis && !dup; i++)
      dup = job->redis[i].partition == w->pos.partition && !strcmp(job->redis[i].module, w->pos.module);
    if (dup || job->nredis == MAX_POLL_REDIS) continue;
    snprintf(job->redis[job->nredis].module, sizeof job->redis[0].module, "%s", w->pos.module);
    job->redis[job->nredis++].partition = w->pos.partition;
  }
  if (fofal__pool_submit(rs->api, &job->super)) {
    free(job);
    schedule_poll(rs); /* queue full: try again in a moment */
    return;
  }
  /* The job is alive until its `done`, which runs on this thread after we return. */
  for (h2o_linklist_t *n = rs->waiters.next; n != &rs->waiters; n = n->next) {
    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, wait_link, n);
    if (ends_index(job, w) >= 0) w->end_asked = 1;
  }
  rs->poll_inflight = 1;
}

static void on_wait_deadline(h2o_timeout_entry_t *entry) {
  waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, deadline, entry);
  reads_t *rs = w->api->reads;
  wait_unlink(w);
  atomic_fetch_add(&fofal__metrics.position_timeouts, 1);
  if (rs->last_poll_failure) {
    send_503(w->req, rs->last_poll_failure,
             "the projections' positions cannot be read (PostgreSQL or Redis unreachable); retry shortly");
    return;
  }
  char detail[512];
  int64_t applied = w->seen_next > 0 ? w->seen_next - 1 : -1;
  if (w->seen_next > w->pos.offset && w->pos.redis)
    snprintf(detail, sizeof detail,
             "the Redis views of %s have applied %s[%d] up to offset %lld; position %s needs offset %lld; retry shortly",
             w->pos.module, w->pos.topic, w->pos.partition, (long long)w->seen_redis, w->pos.text,
             (long long)w->pos.offset);
  else if (w->seen_next > 0)
    snprintf(detail, sizeof detail,
             "the projection %s has applied %s[%d] up to offset %lld (last event %s); position %s needs offset %lld; "
             "retry shortly",
             w->pos.projector, w->pos.topic, w->pos.partition, (long long)applied,
             w->seen_at[0] ? w->seen_at : "unknown", w->pos.text, (long long)w->pos.offset);
  else
    snprintf(detail, sizeof detail,
             "the projection %s has applied nothing of %s[%d] yet; position %s needs offset %lld; retry shortly",
             w->pos.projector, w->pos.topic, w->pos.partition, w->pos.text, (long long)w->pos.offset);
  fofal__add_header(w->req, "Retry-After", "1");
  fofal__send_problem(w->req, 503, "position_not_reached", detail,
                      json_pack("{s:s,s:s,s:I,s:I}", "position", w->pos.text, "projection", w->pos.projector,
                                "applied_offset", (json_int_t)applied, "wanted_offset", (json_int_t)w->pos.offset));
}

/* w->api, req, pos, ready and opaque are set. */
static void wait_position(waiter_t *w) {
  reads_t *rs = w->api->reads;
  atomic_fetch_add(&fofal__metrics.position_waits, 1);
  w->seen_next = -1;
  w->seen_redis = -1;
  h2o_linklist_insert(&rs->waiters, &w->wait_link);
  w->deadline.cb = on_wait_deadline;
  h2o_timeout_link(w->api->ctx.loop, &rs->wait_timeout, &w->deadline);
  submit_poll(rs);
}

/* -------------------------------------------------------------- parsing */

int fofal__valid_name(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max || !isalnum((unsigned char)s[0])) return 0;
  for (const char *c = s; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("._/-", *c)) return 0;
  return 1;
}

static int parse_uint(const char *s, int64_t max, int64_t *out) {
  if (!s || !*s || strlen(s) > 18) return FOFAL_EINVAL;
  int64_t v = 0;
  for (const char *c = s; *c; c++) {
    if (*c < '0' || *c > '9') return FOFAL_EINVAL;
    v = v * 10 + (*c - '0');
  }
  if (v > max) return FOFAL_EINVAL;
  *out = v;
  return 0;
}

int fofal__perr(fofal__perr_t *e, int status, const char *code, const char *fmt, const char *arg) {
  e->status = status;
  e->code = code;
  snprintf(e->detail, sizeof e->detail, fmt, arg);
  return FOFAL_EINVAL;
}

/* "<module>:<partition>:<offset>" → pos; projector `<module>` or `audit.<module>`. */
static int parse_position(const char *s, int audit, int redis, position_t *pos, fofal__perr_t *e) {
  const char *msg = "position must be <module>:<partition>:<offset> as returned by a command (got \"%.60s\")";
  if (strlen(s) >= sizeof pos->text) return fofal__perr(e, 400, "malformed_position", msg, s);
  memset(pos, 0, sizeof *pos);
  snprintf(pos->text, sizeof pos->text, "%s", s);
  char *c1 = strchr(pos->text, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2 || (size_t)(c1 - pos->text) >= sizeof pos->module) return fofal__perr(e, 400, "malformed_position", msg, s);
  memcpy(pos->module, pos->text, (size_t)(c1 - pos->text));
  char part[16] = "";
  if ((size_t)(c2 - c1 - 1) >= sizeof part) return fofal__perr(e, 400, "malformed_position", msg, s);
  memcpy(part, c1 + 1, (size_t)(c2 - c1 - 1));
  int64_t p, off;
  if (parse_uint(part, 1023, &p) || parse_uint(c2 + 1, INT64_MAX / 2, &off)) return fofal__perr(e, 400, "malformed_position", msg, s);
  if (fofal_topic_events(pos->module, pos->topic, sizeof pos->topic))
    return fofal__perr(e, 400, "malformed_position", "position names an unknown module (got \"%.60s\")", s);
  snprintf(pos->projector, sizeof pos->projector, "%s%s", audit ? "audit." : "", pos->module);
  if (!fofal_projection_find(pos->projector))
    return fofal__perr(e, 400, "malformed_position", "no projection serves this position (got \"%.60s\")", s);
  pos->partition = (int)p;
  pos->offset = off;
  pos->redis = redis;
  return 0;
}

int fofal__parse_limit(h2o_req_t *req, int dflt, int max, int *out, fofal__perr_t *e) {
  const char *s = fofal__query_param(req, "limit");
  int64_t v;
  *out = dflt;
  if (!s) return 0;
  if (parse_uint(s, max, &v) || v < 1) {
    char d[64];
    snprintf(d, sizeof d, "limit must be an integer from 1 to %d", max);
    return fofal__perr(e, 400, "invalid_parameter", "%s", d);
  }
  *out = (int)v;
  return 0;
}

/* A query parameter; an empty value counts as absent (forms send "status="). */
const char *fofal__param(h2o_req_t *req, const char *name) {
  const char *s = fofal__query_param(req, name);
  return s && *s ? s : NULL;
}
int fofal__path_segment(const char *path, size_t len, size_t *pos, char *out, size_t outlen) {
  size_t start = *pos, end = start;
  while (end < len && path[end] != '/') end++;
  if (end == start || end - start >= outlen) return FOFAL_EINVAL;
  memcpy(out, path + start, end - start);
  out[end - start] = '\0';
  *pos = end < len ? end + 1 : end;
  return 0;
}

static void on_ctx_dispose(void *p) {
  read_ctx_t *ctx = p;
  if (ctx->job) ctx->job->ctx = NULL;
  ctx->job = NULL;
  wait_unlink(&ctx->w);
}

static void start_read_cb(void *opaque) { start_read(opaque); }

/* The common tail of every read: auth and position are checked, the context is made, and
 * the job starts now or after the position is reached. */
static int serve(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, int redis, int audit,
                 fofal__read_run_t run, const void *params, size_t size) {
  fofal__perr_t e = {0};
  position_t pos;
  const char *ps = fofal__query_param(req, "position");
  if (ps && parse_position(ps, audit, redis, &pos, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  if (!api->reads || !api->pool) {
    send_503(req, "shutting_down", "the server is stopping; retry");
    return 0;
  }
  read_ctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, on_ctx_dispose);
  memset(ctx, 0, sizeof *ctx);
  ctx->api = api;
  ctx->req = req;
  ctx->run = run;
  ctx->params = h2o_mem_alloc_pool(&req->pool, size);
  memcpy(ctx->params, params, size);
  ctx->size = size;
  snprintf(ctx->tenant, sizeof ctx->tenant, "%s", who->tenant);
  const char *inm = fofal__req_header(req, "If-None-Match");
  if (inm && strlen(inm) < sizeof ctx->if_none_match) snprintf(ctx->if_none_match, sizeof ctx->if_none_match, "%s", inm);
  if (ps) {
    ctx->w.api = api;
    ctx->w.req = req;
    ctx->w.pos = pos;
    ctx->w.ready = start_read_cb;
    ctx->w.opaque = ctx;
    wait_position(&ctx->w);
  } else {
    start_read(ctx);
  }
  return 0;
}

int fofal__read_serve(fofal_api_t *api, h2o_req_t *req, const fofal_principal_t *who, int redis, fofal__read_run_t run,
                      const void *params, size_t size) {
  return serve(api, req, who, redis, 0, run, params, size);
}

static void on_waiter_dispose(void *p) { wait_unlink(p); }

int fofal__after_position(fofal_api_t *api, h2o_req_t *req, int redis, void (*go)(void *opaque), void *opaque) {
  return fofal__after_position_at(api, req, fofal__query_param(req, "position"), redis, go, opaque);
}

int fofal__after_position_at(fofal_api_t *api, h2o_req_t *req, const char *ps, int redis, void (*go)(void *opaque),
                             void *opaque) {
  fofal__perr_t e = {0};
  position_t pos;
  if (!ps) {
    go(opaque);
    return 0;
  }
  if (parse_position(ps, 0, redis, &pos, &e)) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return FOFAL_EINVAL;
  }
  if (!api->reads) {
    send_503(req, "shutting_down", "the server is stopping; retry");
    return FOFAL_EUNAVAIL;
  }
  waiter_t *w = h2o_mem_alloc_shared(&req->pool, sizeof *w, on_waiter_dispose);
  memset(w, 0, sizeof *w);
  w->api = api;
  w->req = req;
  w->pos = pos;
  w->ready = go;
  w->opaque = opaque;
  wait_position(w);
  return 0;
}

int fofal__get_only(h2o_req_t *req) {
  if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
      h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
    return 1;
  fofal__add_header(req, "Allow", "GET, HEAD");
  fofal__send_problem(req, 405, "method_not_allowed", "read endpoints take GET", NULL);
  return 0;
}

static void run_audit(fofal_worker_t *w, const char *tenant, void *params, fofal__read_result_t *res) {
  audit_params_t *p = params;
  snprintf(p->tenant, sizeof p->tenant, "%s", tenant);
  if (p->route == R_AUDIT_EVENTS) run_audit_events(w, p, res);
  else run_audit_state(w, p, res);
}

int fofal__on_audit_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  audit_params_t p;
  fofal__perr_t e = {0};
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/audit/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  /* Everything under /audit/ is the audit trail: the role is checked before the path is. */
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who) ||
      fofal__read_roles_check(req, &who, FOFAL__AUDIT_ROLES, "the audit trail"))
    return 0;
  /* {module}/{id}[/events] or {module}/{kinds}/{code}[/events]: a second segment that is a
   * kind's plural ("looms") starts the second form. */
  char s1[80], s2[80], s3[16];
  size_t at = sizeof base - 1;
  int route = -1, n = 0;
  if (!fofal__path_segment(path, len, &at, p.module, sizeof p.module) && !fofal__path_segment(path, len, &at, s1, sizeof s1)) {
    n = 1;
    if (at < len && !fofal__path_segment(path, len, &at, s2, sizeof s2)) n = 2;
    if (n == 2 && at < len && !fofal__path_segment(path, len, &at, s3, sizeof s3)) n = 3;
    if (at < len || path[len - 1] == '/') n = 0;
  }
  const char *kind = n >= 2 ? fofal_aggregate_kind(p.module, s1, 1) : NULL;
  if (kind && (n == 2 || (n == 3 && !strcmp(s3, "events")))) {
    route = n == 2 ? R_AUDIT_STATE : R_AUDIT_EVENTS;
    snprintf(p.name, sizeof p.name, "%s:%s", kind, s2);
  } else if (!kind && (n == 1 || (n == 2 && !strcmp(s2, "events")))) {
    route = n == 1 ? R_AUDIT_STATE : R_AUDIT_EVENTS;
    snprintf(p.name, sizeof p.name, "%s", s1);
  }
  char topic[96], projection[FOFAL_PROJECTION_NAME_MAX];
  if (route < 0 || fofal_topic_events(p.module, topic, sizeof topic)) {
    fofal__send_problem(req, 404, "not_found", "no such module or aggregate", NULL);
    return 0;
  }
  snprintf(projection, sizeof projection, "audit.%s", p.module);
  if (!fofal_projection_find(projection)) { /* its registration says FOFAL_AUDIT_OFF */
    char d[128];
    snprintf(d, sizeof d, "module %s keeps no audit trail: its events are in the log (fofal replay)", p.module);
    fofal__send_problem(req, 404, "not_found", d, NULL);
    return 0;
  }
  p.ncand = fofal_aggregate_resolve(who.tenant, p.module, p.name, p.cand, FOFAL_AGGREGATE_NAMES_MAX);
  if (p.ncand < 1) {
    char kinds[1024], d[1200];
    fofal_aggregate_kinds_text(p.module, 1, kinds, sizeof kinds);
    snprintf(d, sizeof d, "name an aggregate by its id (a UUID), its code, or {kind}/{code} with kind one of: %s",
             kinds[0] ? kinds : "(none in this module)");
    fofal__send_problem(req, 404, "not_found", d, NULL);
    return 0;
  }
  p.route = (audit_route_t)route;
  if (route == R_AUDIT_EVENTS) {
    if (fofal__parse_limit(req, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, &p.limit, &e)) {
      fofal__send_problem(req, e.status, e.code, e.detail, NULL);
      return 0;
    }
    const char *c = fofal__param(req, "cursor");
    int64_t seq;
    if (c) {
      if (parse_uint(c, INT64_MAX / 2, &seq)) {
        fofal__send_problem(req, 400, "malformed_cursor", "cursor must be a next_cursor returned by this endpoint", NULL);
        return 0;
      }
      snprintf(p.after, sizeof p.after, "%lld", (long long)seq);
      p.has_after = 1;
    }
  }
  /* as_of: the state then, or the events up to then. */
  const char *s = fofal__query_param(req, "as_of");
  int64_t us;
  if (s) {
    if (strlen(s) > 64 || fofal_time_parse(s, &us)) {
      fofal__send_problem(req, 400, "invalid_parameter", "as_of must be an RFC 3339 time, e.g. 2026-11-24T08:15:02Z", NULL);
      return 0;
    }
    fofal_time_format(us, p.as_of);
  }
  return serve(api, req, &who, 0, 1, run_audit, &p, sizeof p);
}

/* ------------------------------------------------------------ life cycle */

int fofal__reads_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  (void)errbuf;
  (void)errlen;
  reads_t *rs = fofal_calloc(1, sizeof *rs);
  rs->api = api;
  h2o_linklist_init_anchor(&rs->waiters);
  h2o_timeout_init(api->ctx.loop, &rs->poll_timeout, POLL_INTERVAL_MS);
  h2o_timeout_init(api->ctx.loop, &rs->wait_timeout, (uint64_t)api->conf.position_wait_ms);
  rs->poll_entry.cb = on_poll_timer;
  api->reads = rs;
  return 0;
}

void fofal__reads_stop(fofal_api_t *api) {
  reads_t *rs = api->reads;
  if (!rs) return;
  if (h2o_timeout_is_linked(&rs->poll_entry)) h2o_timeout_unlink(&rs->poll_entry);
  while (!h2o_linklist_is_empty(&rs->waiters)) {
    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, wait_link, rs->waiters.next);
    wait_unlink(w);
  }
  free(rs);
  api->reads = NULL;
}

void fofal__csv_put(fofal__csv_t *c, const char *s, size_t n) {
  if (c->oom) return;
  if (c->len + n + 1 > c->cap) {
    size_t cap = c->cap ? c->cap : 4096;
    while (c->len + n + 1 > cap) cap *= 2;
    char *b = realloc(c->buf, cap);
    if (!b) {
      c->oom = 1;
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, s, n);
  c->len += n;
  c->buf[c->len] = 0;
}

void fofal__csv_field(fofal__csv_t *c, const char *s, int first) {
  if (!first) fofal__csv_put(c, ",", 1);
  if (!s) return;
  if (!strpbrk(s, ",\"\r\n")) {
    fofal__csv_put(c, s, strlen(s));
    return;
  }
  fofal__csv_put(c, "\"", 1);
  for (const char *q = s; *q; q++) {
    fofal__csv_put(c, q, 1);
    if (*q == '"') fofal__csv_put(c, q, 1);
  }
  fofal__csv_put(c, "\"", 1);
}

void fofal__csv_json(fofal__csv_t *c, const json_t *v, int first) {
  char num[48];
  const char *s = NULL;
  if (json_is_string(v)) {
    s = json_string_value(v);
  } else if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    s = num;
  } else if (json_is_real(v)) {
    snprintf(num, sizeof num, "%.4f", json_real_value(v));
    s = num;
  }
  fofal__csv_field(c, s, first);
}
