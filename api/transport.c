/*
 * transport.c — what every request of fofal-api passes before its handler.
 *
 *   1. The access log: one structured line per request when its memory is released
 *      (after the response): method, path WITHOUT the query string (a WebSocket's
 *      ?access_token= never reaches a log), status, duration, client IP, and — when the
 *      request authenticated — tenant, subject, role and session id. Never a header or a
 *      body. FOFAL_API_ACCESS_LOG=0 turns it off.
 *   2. Security headers on every answer: X-Content-Type-Options: nosniff, X-Frame-Options:
 *      DENY and CSP frame-ancestors 'none' (no framing, no clickjacking), Referrer-Policy:
 *      no-referrer, and Strict-Transport-Security on TLS. JSON answers carry
 *      Cache-Control: no-store (http.c), so tokens in auth answers are never cached.
 *   3. The plain-HTTP redirect (FOFAL_HTTP_REDIRECT=1 with an HTTPS port): 308 to the same
 *      path on https, except /healthz, /readyz and /metrics (probes stay on plain HTTP).
 *   4. CORS from FOFAL_API_CORS_ORIGINS (comma-separated exact origins, or *): allowed
 *      origins get Access-Control-Allow-Origin (and Vary: Origin); a preflight OPTIONS is
 *      answered here (204 for an allowed origin, 403 otherwise).
 *   5. The general per-IP limit (FOFAL_API_RATE_IP_PER_S, burst twice that; 0 = off): a
 *      token bucket per client IP held by this instance. It is deliberately local — a
 *      Redis round trip on every command would cost more than the flood it stops; the
 *      limits that matter against guessing (sign-in, PIN, MFA) are the Redis-shared ones
 *      of accounts.c. 429 problem+json with Retry-After.
 *
 * Loop thread only.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
  h2o_req_t *req;
  fofal_api_t *api;
  int64_t start_us;
  char method[16];
  char path[256]; /* copied at once: the request's buffers may be reused before dispose */
  char ip[64];
  fofal_principal_t who;
  int authed;
} access_t;

static access_t *current; /* the record of the request being dispatched */
static fofal_map_t *buckets;

void fofal__peer_ip(h2o_req_t *req, char out[64]) {
  struct sockaddr_storage ss;
  socklen_t len = req->conn->callbacks->get_peername ? req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) : 0;
  out[0] = '\0';
  if (len == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, len, out) == SIZE_MAX) snprintf(out, 64, "unknown");
}

void fofal__access_note(h2o_req_t *req, const fofal_principal_t *who) {
  if (current && current->req == req) {
    current->who = *who;
    current->authed = 1;
  }
}

static void on_access_dispose(void *p) {
  access_t *a = p;
  if (current == a) current = NULL;
  h2o_req_t *req = a->req;
  json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s}", "method", a->method, "path", a->path, "status", req->res.status, "us",
                        (json_int_t)(fofal_mono_us() - a->start_us), "ip", a->ip);
  if (o && a->authed) {
    json_object_set_new(o, "tenant", json_string(a->who.tenant));
    json_object_set_new(o, "sub", json_string(a->who.subject));
    json_object_set_new(o, "role", json_string(a->who.role));
    if (a->who.sid[0]) json_object_set_new(o, "sid", json_string(a->who.sid));
  }
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (s) LOG_INFO("access %s", s);
  free(s);
  json_decref(o);
}

static int origin_allowed(const char *list, const char *origin, size_t olen) {
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && t[-1] == ' ') t--;
    size_t n = (size_t)(t - p);
    if ((n == 1 && *p == '*') || (n == olen && n && !memcmp(p, origin, n))) return 1;
    p = e;
  }
  return 0;
}

static void add(h2o_req_t *req, const char *name, const char *value) {
  h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, strlen(value));
}

static int probe_path(h2o_req_t *req) {
  static const char *const probes[] = {"/healthz", "/readyz", "/metrics"};
  for (size_t i = 0; i < 3; i++)
    if (h2o_memis(req->path_normalized.base, req->path_normalized.len, probes[i], strlen(probes[i]))) return 1;
  return 0;
}

int fofal__transport_pre(fofal_api_t *api, h2o_req_t *req) {
  const fofal_api_conf_t *c = &api->conf;
  char ip[64];
  fofal__peer_ip(req, ip);
  current = NULL;
  if (c->access_log) {
    access_t *a = h2o_mem_alloc_shared(&req->pool, sizeof *a, on_access_dispose);
    memset(a, 0, sizeof *a);
    a->req = req;
    a->api = api;
    a->start_us = fofal_mono_us();
    memcpy(a->ip, ip, sizeof a->ip);
    snprintf(a->method, sizeof a->method, "%.*s", (int)req->method.len, req->method.base);
    /* path_normalized never holds the query string (no ?access_token= in a log). */
    snprintf(a->path, sizeof a->path, "%.*s", (int)req->path_normalized.len, req->path_normalized.base);
    current = a;
  }
  int tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
  add(req, "x-content-type-options", "nosniff");
  add(req, "x-frame-options", "DENY");
  add(req, "content-security-policy", "frame-ancestors 'none'");
  add(req, "referrer-policy", "no-referrer");
  if (tls) add(req, "strict-transport-security", "max-age=31536000; includeSubDomains");

  if (c->http_redirect && c->https_port && !tls && !probe_path(req)) {
    h2o_iovec_t host = req->authority;
    size_t hl = host.len;
    if (hl && host.base[0] != '[')
      for (size_t i = 0; i < host.len; i++)
        if (host.base[i] == ':') hl = i;
    char *loc = fofal_asprintf("https://%.*s:%lld%.*s", (int)hl, host.base, c->https_port, (int)req->path.len, req->path.base);
    fofal__add_header(req, "Location", loc);
    free(loc);
    fofal__send_problem(req, 308, "use_https", "this API is served over HTTPS", NULL);
    return 1;
  }

  if (c->rate_ip_per_s > 0) {
    if (!buckets || fofal_map_size(buckets) > 100000) {
      fofal_map_free(buckets);
      buckets = fofal_map_new(free);
    }
    fofal_bucket_t *b = fofal_map_get(buckets, ip);
    if (!b) {
      b = fofal_calloc(1, sizeof *b);
      fofal_map_put(buckets, ip, b);
    }
    long long retry_ms;
    if (!fofal_bucket_take(b, fofal_mono_us() / 1000, (double)c->rate_ip_per_s, 2.0 * (double)c->rate_ip_per_s, 1.0,
                           &retry_ms)) {
      char ra[24];
      snprintf(ra, sizeof ra, "%lld", (retry_ms + 999) / 1000);
      fofal__add_header(req, "Retry-After", ra);
      fofal__send_problem(req, 429, "rate_limited", "too many requests from this address; slow down", NULL);
      return 1;
    }
  }

  ssize_t oi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
  if (oi >= 0) {
    h2o_iovec_t origin = req->headers.entries[oi].value;
    int ok = c->cors_origins && *c->cors_origins && origin_allowed(c->cors_origins, origin.base, origin.len);
    if (c->cors_origins && *c->cors_origins) add(req, "vary", "Origin"); /* caches key on it, allowed or not */
    int preflight = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) &&
                    h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1) >= 0;
    if (ok) {
      char *o = h2o_mem_alloc_pool(&req->pool, origin.len + 1);
      memcpy(o, origin.base, origin.len);
      o[origin.len] = '\0';
      add(req, "access-control-allow-origin", o);
      add(req, "access-control-expose-headers", "ETag, Location, Retry-After, Fofal-Position");
    }
    if (preflight) {
      if (!ok) {
        fofal__send_problem(req, 403, "cors_origin_denied", "this origin may not call the API", NULL);
        return 1;
      }
      add(req, "access-control-allow-methods", "GET, POST, OPTIONS");
      add(req, "access-control-allow-headers", "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Correlation-Id");
      add(req, "access-control-max-age", "600");
      req->res.status = 204;
      req->res.reason = "No Content";
      h2o_send_inline(req, "", 0);
      return 1;
    }
  }
  return 0;
}

void fofal__transport_free(void) {
  fofal_map_free(buckets);
  buckets = NULL;
}
