/*
 * production_api.c — the read routes of the production module's orders (the weaving
 * floor's are weaving_api.c's); the engine's read machinery (jobs, ?position=, the audit
 * trail) is api/reads.c.
 *
 *   GET /api/v1/production/orders?status=&loom=&article=&limit=&cursor=
 *   GET /api/v1/production/orders/{id}                    (ETag: "<version>")
 *   GET /api/v1/production/orders/{id}/declarations?limit=&cursor=
 *   GET /api/v1/production/looms/{loom}/current-order     (Redis hot view)
 *   GET /api/v1/production/shifts/{shift}/output          (Redis hot view)
 *   (each for the roles of FOFAL__ROLES_ORDERS, production_api.h; 403 for any other role)
 *   GET /api/v1/production/{looms,beams,views}/…          (weaving_api.c: roles, parameters, SQL)
 *
 * The audit trail folds a production order with fofal__production_fold (production.c
 * registers it). Lists use keyset pagination: the cursor is opaque (base64url of the last
 * key), so a page never repeats or skips a row that existed when the listing began.
 *
 * Threads: handlers run on the loop thread, the run_* functions on a read worker with a
 * copy of params_t (reads.c).
 */
#include "production_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define MAX_CURSOR 256

/* "2026-11-24T08:15:02.123456Z" from a timestamptz column. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

typedef enum { R_ORDERS, R_ORDER, R_DECLARATIONS, R_LOOM, R_SHIFT, R_WEAVING } route_t;

/* What a worker needs, copied: the request may go away while the job runs. */
typedef struct {
  route_t route;
  char tenant[64];
  char id[72];        /* order id */
  char key[80];       /* loom or shift */
  char status[16], loom[72], article[72];
  int limit;
  int has_after;
  char after[96];     /* decoded cursor: order id or declared_at */
  char after2[40];    /* declarations: label id */
  fofal__wparams_t w; /* R_WEAVING: weaving_api.c's read */
} params_t;

static const char order_cols[] =
    "json_build_object('order_id', order_id, 'article', article, 'quantity', quantity, 'unit', unit, 'due_date', "
    "due_date, 'loom', loom, 'status', status, 'declared', declared, 'version', version, 'created_at', " TS("created_at")
    ", 'updated_at', " TS("updated_at") ")";

static char *b64url(const char *s) {
  size_t n = strlen(s);
  char *out = fofal_malloc(h2o_base64_encode_capacity(n));
  h2o_base64_encode(out, s, n, 1);
  return out;
}

static void run_orders(fofal_worker_t *w, const params_t *p, fofal__read_result_t *res) {
  char lim[16], err[512];
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *params[] = {p->tenant, p->status[0] ? p->status : NULL, p->loom[0] ? p->loom : NULL,
                          p->article[0] ? p->article : NULL, p->has_after ? p->after : NULL, lim};
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT %s FROM production.orders WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND "
           "($3::text IS NULL OR loom = $3) AND ($4::text IS NULL OR article = $4) AND "
           "($5::uuid IS NULL OR order_id > $5::uuid) ORDER BY order_id LIMIT $6::int",
           order_cols);
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant, sql, 6, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *next = json_null();
  if (json_array_size(rows) > (size_t)p->limit) {
    json_array_remove(rows, (size_t)p->limit);
    const char *last = json_string_value(json_object_get(json_array_get(rows, (size_t)p->limit - 1), "order_id"));
    char *c = b64url(last ? last : "");
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:o,s:o}", "items", rows, "next_cursor", next);
}

static void run_order(fofal_worker_t *w, const params_t *p, fofal__read_result_t *res) {
  char sql[1024], err[512];
  snprintf(sql, sizeof sql, "SELECT %s FROM production.orders WHERE tenant = $1 AND order_id = $2::uuid", order_cols);
  const char *params[] = {p->tenant, p->id};
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant, sql, 2, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  if (json_array_size(rows) == 0) {
    fofal__read_not_found(res, "no such production order");
  } else {
    res->status = 200;
    res->body = json_incref(json_array_get(rows, 0));
    res->etag = json_integer_value(json_object_get(res->body, "version"));
  }
  json_decref(rows);
}

static void run_declarations(fofal_worker_t *w, const params_t *p, fofal__read_result_t *res) {
  char lim[16], err[512];
  snprintf(lim, sizeof lim, "%d", p->limit + 1);
  const char *params[] = {p->tenant, p->id, p->has_after ? p->after : NULL, p->has_after ? p->after2 : NULL, lim};
  static const char sql[] =
      "SELECT json_build_object('exists', EXISTS (SELECT 1 FROM production.orders o WHERE o.tenant = $1 AND "
      "o.order_id = $2::uuid), 'items', coalesce((SELECT json_agg(json_build_object('label_id', d.label_id, "
      "'order_id', d.order_id, 'quantity', d.quantity, 'weaver', d.weaver, 'loom', d.loom, 'shift', d.shift, "
      "'declared_at', " TS("d.declared_at") ") ORDER BY d.declared_at, d.label_id) FROM (SELECT * FROM "
      "production.declarations WHERE tenant = $1 AND order_id = $2::uuid AND ($3::timestamptz IS NULL OR "
      "(declared_at, label_id) > ($3::timestamptz, $4::uuid)) ORDER BY declared_at, label_id LIMIT $5::int) d), "
      "'[]'::json))";
  json_t *rows = NULL;
  int rc = fofal__worker_query(w, p->tenant, sql, 5, params, &rows, err, sizeof err);
  if (rc) {
    fofal__read_fail(res, rc, err, 0);
    return;
  }
  json_t *r = json_array_get(rows, 0);
  if (!json_is_true(json_object_get(r, "exists"))) {
    fofal__read_not_found(res, "no such production order");
    json_decref(rows);
    return;
  }
  json_t *items = json_incref(json_object_get(r, "items")), *next = json_null();
  json_decref(rows);
  if (json_array_size(items) > (size_t)p->limit) {
    json_array_remove(items, (size_t)p->limit);
    json_t *last = json_array_get(items, (size_t)p->limit - 1);
    char raw[128];
    snprintf(raw, sizeof raw, "%s|%s", json_string_value(json_object_get(last, "declared_at")) ?: "",
             json_string_value(json_object_get(last, "label_id")) ?: "");
    char *c = b64url(raw);
    next = json_string(c);
    free(c);
  }
  res->status = 200;
  res->body = json_pack("{s:s,s:o,s:o}", "order_id", p->id, "items", items, "next_cursor", next);
}

/* A production order's state after `events` (each {seq, type, time, data}, by seq). New. */
json_t *fofal__production_fold(const char *id, json_t *events) {
  json_t *st = json_pack("{s:s}", "order_id", id), *ev;
  size_t i;
  json_array_foreach(events, i, ev) {
    char t[64];
    fofal__event_short_type(json_string_value(json_object_get(ev, "type")), t, sizeof t);
    json_t *d = json_object_get(ev, "data");
    const char *status = NULL;
    if (!strcmp(t, "order_created")) {
      const char *keys[] = {"article", "quantity", "unit", "due_date", "loom"};
      for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        json_object_set(st, keys[k], json_object_get(d, keys[k]) ?: json_null());
      json_object_set_new(st, "declared", json_integer(0));
      json_object_set(st, "created_at", json_object_get(ev, "time"));
      status = "created";
    } else if (!strcmp(t, "order_planned")) {
      if (json_is_string(json_object_get(d, "planned_start")))
        json_object_set(st, "planned_start", json_object_get(d, "planned_start"));
    } else if (!strcmp(t, "order_released")) {
      status = "released";
    } else if (!strcmp(t, "order_paused")) {
      status = "paused";
    } else if (!strcmp(t, "order_resumed")) {
      status = "started";
    } else if (!strcmp(t, "order_closed")) {
      status = "closed";
    } else if (!strcmp(t, "order_started")) {
      status = "started";
    } else if (!strcmp(t, "order_completed")) {
      status = "completed";
    } else if (!strcmp(t, "order_cancelled")) {
      status = "cancelled";
      if (json_is_string(json_object_get(d, "reason"))) json_object_set(st, "cancel_reason", json_object_get(d, "reason"));
    }
    if (status) json_object_set_new(st, "status", json_string(status));
    if (json_is_string(json_object_get(d, "loom"))) json_object_set(st, "loom", json_object_get(d, "loom"));
    if (json_is_integer(json_object_get(d, "declared_total")))
      json_object_set(st, "declared", json_object_get(d, "declared_total"));
    json_object_set(st, "version", json_object_get(ev, "seq"));
    json_object_set(st, "updated_at", json_object_get(ev, "time"));
  }
  return st;
}

static json_t *int_or_string(json_t *h, const char *k) {
  const char *s = json_string_value(json_object_get(h, k));
  if (!s) return json_null();
  char *end;
  long long v = strtoll(s, &end, 10);
  return *s && !*end ? json_integer(v) : json_string(s);
}

static void run_loom(fofal_worker_t *w, const params_t *p, fofal__read_result_t *res) {
  fofal__redis_t *r = fofal__worker_redis(w);
  char prefix[96], key[320], err[512];
  json_t *loom = NULL, *order = NULL;
  int rc = fofal__redis_prefix(r, "production", prefix, sizeof prefix, err, sizeof err);
  if (!rc) {
    snprintf(key, sizeof key, "%s%s:loom:%s", prefix, p->tenant, p->key);
    rc = fofal__redis_hgetall(r, key, &loom, err, sizeof err);
  }
  const char *oid = json_string_value(json_object_get(loom, "order_id"));
  if (oid && !*oid) oid = NULL; /* the loom's last order ended: idle */
  if (!rc && oid) {
    snprintf(key, sizeof key, "%s%s:order:%.64s", prefix, p->tenant, oid);
    rc = fofal__redis_hgetall(r, key, &order, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc == FOFAL_EREDIS ? FOFAL_EUNAVAIL : rc, err, 1);
    goto out;
  }
  if (!json_object_size(loom)) {
    /* No order ever ran on it: an idle loom if the mill knows it, else 404. */
    json_t *rows = NULL;
    const char *params[] = {p->tenant, p->key};
    rc = fofal__worker_query(w, p->tenant,
                             "SELECT json_build_object('known', EXISTS (SELECT 1 FROM production.looms WHERE tenant = $1 "
                             "AND loom = $2) OR EXISTS (SELECT 1 FROM production.orders WHERE tenant = $1 AND loom = $2))",
                             2, params, &rows, err, sizeof err);
    int known = !rc && json_is_true(json_object_get(json_array_get(rows, 0), "known"));
    json_decref(rows);
    if (rc) {
      fofal__read_fail(res, rc, err, 0);
      if (rc == FOFAL_EUNAVAIL) {
        res->code = "postgresql_unavailable";
        snprintf(res->detail, sizeof res->detail, "PostgreSQL is not reachable; retry shortly");
      }
      goto out;
    }
    if (!known) {
      fofal__read_not_found(res, "no such loom");
      goto out;
    }
  }
  json_t *o = json_null();
  if (json_object_size(order)) {
    o = json_pack("{s:o,s:o,s:o,s:o,s:o}", "status", int_or_string(order, "status"), "article",
                  int_or_string(order, "article"), "quantity", int_or_string(order, "quantity"), "declared",
                  int_or_string(order, "declared"), "version", int_or_string(order, "version"));
  }
  res->status = 200;
  res->body = json_pack("{s:s,s:o,s:o,s:o}", "loom", p->key, "order_id", oid ? json_string(oid) : json_null(), "since",
                        int_or_string(loom, "since"), "order", o);
out:
  json_decref(loom);
  json_decref(order);
}

static void run_shift(fofal_worker_t *w, const params_t *p, fofal__read_result_t *res) {
  fofal__redis_t *r = fofal__worker_redis(w);
  char prefix[96], key[320], err[512];
  json_t *h = NULL;
  int rc = fofal__redis_prefix(r, "production", prefix, sizeof prefix, err, sizeof err);
  if (!rc) {
    snprintf(key, sizeof key, "%s%s:shift:%s:output", prefix, p->tenant, p->key);
    rc = fofal__redis_hgetall(r, key, &h, err, sizeof err);
  }
  if (rc) {
    fofal__read_fail(res, rc == FOFAL_EREDIS ? FOFAL_EUNAVAIL : rc, err, 1);
    return;
  }
  json_t *looms = json_object(), *v;
  const char *k;
  long long total = 0;
  json_object_foreach(h, k, v) {
    long long q = atoll(json_string_value(v) ?: "0");
    if (!strcmp(k, "_total")) total = q;
    else json_object_set_new(looms, k, json_integer(q));
  }
  json_decref(h);
  res->status = 200;
  res->body = json_pack("{s:s,s:I,s:o}", "shift", p->key, "total", (json_int_t)total, "looms", looms);
}

static void run_data(fofal_worker_t *w, const char *tenant, void *params, fofal__read_result_t *res) {
  params_t *p = params;
  snprintf(p->tenant, sizeof p->tenant, "%s", tenant);
  switch (p->route) {
  case R_WEAVING: fofal__weaving_run(w, p->tenant, &p->w, res); break;
  case R_ORDERS: run_orders(w, p, res); break;
  case R_ORDER: run_order(w, p, res); break;
  case R_DECLARATIONS: run_declarations(w, p, res); break;
  case R_LOOM: run_loom(w, p, res); break;
  case R_SHIFT: run_shift(w, p, res); break;
  }
}

/* -------------------------------------------------------------- parsing */

static int decode_cursor(h2o_req_t *req, const char *s, char *out, size_t outlen) {
  return fofal__decode_cursor(req, s, MAX_CURSOR, out, outlen);
}

static int parse_orders_query(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  static const char *const statuses[] = {"created", "released", "started", "paused", "completed", "closed", "cancelled"};
  const char *s = fofal__param(req, "status");
  if (s) {
    int ok = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) ok |= !strcmp(s, statuses[i]);
    if (!ok)
      return fofal__perr(e, 400, "invalid_parameter",
                 "status must be created, released, started, paused, completed, closed or cancelled (got \"%.40s\")", s);
    snprintf(p->status, sizeof p->status, "%s", s);
  }
  if ((s = fofal__param(req, "loom"))) {
    if (!fofal__valid_name(s, 64)) return fofal__perr(e, 400, "invalid_parameter", "loom is not a loom code (got \"%.40s\")", s);
    snprintf(p->loom, sizeof p->loom, "%s", s);
  }
  if ((s = fofal__param(req, "article"))) {
    if (!fofal__valid_name(s, 64)) return fofal__perr(e, 400, "invalid_parameter", "article is not an article code (got \"%.40s\")", s);
    snprintf(p->article, sizeof p->article, "%s", s);
  }
  if (fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e)) return FOFAL_EINVAL;
  if ((s = fofal__param(req, "cursor"))) {
    if (decode_cursor(req, s, p->after, sizeof p->after) || !fofal_uuid_valid(p->after))
      return fofal__perr(e, 400, "malformed_cursor", "%s", "cursor must be a next_cursor returned by this endpoint");
    p->has_after = 1;
  }
  return 0;
}

static int parse_declarations_query(h2o_req_t *req, params_t *p, fofal__perr_t *e) {
  if (fofal__parse_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &p->limit, e)) return FOFAL_EINVAL;
  const char *s = fofal__param(req, "cursor");
  if (!s) return 0;
  char raw[96];
  int64_t us;
  char *bar = decode_cursor(req, s, raw, sizeof raw) ? NULL : strchr(raw, '|');
  if (bar) *bar = '\0';
  if (!bar || !fofal_uuid_valid(bar + 1) || fofal_time_parse(raw, &us))
    return fofal__perr(e, 400, "malformed_cursor", "%s", "cursor must be a next_cursor returned by this endpoint");
  fofal_time_format(us, p->after);
  snprintf(p->after2, sizeof p->after2, "%s", bar + 1);
  p->has_after = 1;
  return 0;
}

/* --------------------------------------------------------------- routing */

static int middle(const char *path, size_t len, const char *prefix, const char *suffix, char *out, size_t outlen) {
  size_t pl = strlen(prefix), sl = strlen(suffix);
  if (len <= pl + sl || memcmp(path, prefix, pl) || memcmp(path + len - sl, suffix, sl)) return -1;
  size_t n = len - pl - sl;
  if (n >= outlen) return -1;
  memcpy(out, path + pl, n);
  out[n] = '\0';
  return 0;
}

int fofal__on_production_read(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  fofal_principal_t who;
  params_t p;
  fofal__perr_t e = {0};
  const char *path = req->path_normalized.base;
  size_t len = req->path_normalized.len;
  static const char base[] = "/api/v1/production/";
  atomic_fetch_add(&fofal__metrics.requests, 1);
  atomic_fetch_add(&fofal__metrics.reads, 1);
  memset(&p, 0, sizeof p);
  char seg1[32], seg2[72], seg3[32];
  size_t at = sizeof base - 1;
  int route = -1;
  if (!fofal__path_segment(path, len, &at, seg1, sizeof seg1)) {
    if (!strcmp(seg1, "orders")) {
      if (at == len && path[len - 1] != '/') {
        route = R_ORDERS;
      } else if (!fofal__path_segment(path, len, &at, seg2, sizeof seg2)) {
        if (at == len && path[len - 1] != '/') route = R_ORDER;
        else if (!fofal__path_segment(path, len, &at, seg3, sizeof seg3) && at == len && !strcmp(seg3, "declarations"))
          route = R_DECLARATIONS;
        snprintf(p.id, sizeof p.id, "%s", seg2);
      }
    } else if (!strcmp(seg1, "looms") && !middle(path, len, "/api/v1/production/looms/", "/current-order", p.key, sizeof p.key)) {
      route = R_LOOM;
    } else if (!strcmp(seg1, "shifts") && !middle(path, len, "/api/v1/production/shifts/", "/output", p.key, sizeof p.key)) {
      route = R_SHIFT;
    }
  }
  if (route < 0 && fofal__weaving_match(path, len, &p.w)) route = R_WEAVING;
  if (route < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!fofal__get_only(req) || fofal__authenticate(api, req, &who)) return 0;
  p.route = (route_t)route;
  if (route == R_WEAVING) return fofal__weaving_prepare(req, &who, &p.w) ? 0 : fofal__read_serve(api, req, &who, route == R_LOOM || route == R_SHIFT, run_data, &p, sizeof p);
  /* Who may read, before anything else is looked at (as weaving_api.c's routes[]). */
  static const char *const names[] = {[R_ORDERS] = "orders", [R_ORDER] = "orders/{id}",
                                      [R_DECLARATIONS] = "orders/{id}/declarations",
                                      [R_LOOM] = "looms/{loom}/current-order", [R_SHIFT] = "shifts/{shift}/output"};
  char what[96];
  snprintf(what, sizeof what, "/production/%s", names[route]);
  if (fofal__read_roles_check(req, &who, FOFAL__ROLES_ORDERS, what)) return 0;
  if ((route == R_ORDER || route == R_DECLARATIONS) && !fofal_uuid_valid(p.id)) {
    fofal__send_problem(req, 404, "not_found", "no such production order", NULL);
    return 0;
  }
  if ((route == R_LOOM || route == R_SHIFT) && !fofal__valid_name(p.key, 64)) {
    fofal__send_problem(req, 404, "not_found", route == R_LOOM ? "no such loom" : "no such shift", NULL);
    return 0;
  }
  if ((route == R_ORDERS && parse_orders_query(req, &p, &e)) || (route == R_DECLARATIONS && parse_declarations_query(req, &p, &e))) {
    fofal__send_problem(req, e.status, e.code, e.detail, NULL);
    return 0;
  }
  return fofal__read_serve(api, req, &who, route == R_LOOM || route == R_SHIFT, run_data, &p, sizeof p);
}

