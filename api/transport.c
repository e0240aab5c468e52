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
 *   3. Plain HTTP (issue 22 item 8). A client that is not on this host (its address is not
 *      loopback) gets the API over TLS only: over plain HTTP it is answered 308 to the same
 *      path on https when FOFAL_HTTPS_PORT is set, else 403 https_required, except
 *      /healthz, /readyz and /metrics (probes stay on plain HTTP). FOFAL_HTTP_INSECURE=1
 *      serves plain HTTP to everyone (a proxy that terminates TLS and is not listed in
 *      FOFAL_API_TRUSTED_PROXIES); FOFAL_HTTP_REDIRECT=1 redirects local clients too.
 *      What a trusted proxy says the client used (X-Forwarded-Proto, or Forwarded's
 *      proto=) counts as the request's scheme.
 *   4. CORS from FOFAL_API_CORS_ORIGINS (comma-separated exact origins, or *): allowed
 *      origins get Access-Control-Allow-Origin (and Vary: Origin); a preflight OPTIONS is
 *      answered here (204 for an allowed origin, 403 otherwise).
 *   5. The general per-IP limit (FOFAL_API_RATE_IP_PER_S, burst twice that; 0 = off): a
 *      token bucket per client IP held by this instance. It is deliberately local — a
 *      Redis round trip on every command would cost more than the flood it stops; the
 *      limits that matter against guessing (sign-in, PIN, MFA) are the Redis-shared ones
 *      of accounts.c. 429 problem+json with Retry-After.
 *
 * The client (issue 22 item 7). Behind a proxy every request comes from the proxy's
 * address, so the limits above (and accounts.c's, and the access log) would put every
 * client in one bucket. When the TCP peer is one of FOFAL_API_TRUSTED_PROXIES (addresses
 * or CIDR blocks, IPv4 or IPv6), the client is the right-most address of X-Forwarded-For
 * that is not itself a trusted proxy (each proxy appends the address it received from),
 * or Forwarded's for= (RFC 7239) when there is no X-Forwarded-For. From any other peer
 * these headers are ignored: a client cannot choose its own bucket.
 *
 * Loop thread only.
 */
#include "api.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* ------------------------------------------------------------ proxies */

typedef struct {
  int family;              /* AF_INET or AF_INET6 */
  unsigned char addr[16];
  int bits;
} cidr_t;

#define MAX_PROXIES 64
static cidr_t proxies[MAX_PROXIES]; /* set at start, read only afterwards */
static int nproxies;

/* Parses an address (as text, maybe "[v6]" or with ":port" on IPv4) into family and bytes.
 * 0 or FOFAL_EPARSE. */
static int parse_addr(const char *s, size_t n, int *family, unsigned char out[16]) {
  char buf[64];
  while (n && (*s == ' ' || *s == '"')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '"')) n--;
  if (n && *s == '[') { /* [v6]:port */
    const char *e = memchr(s, ']', n);
    if (!e) return FOFAL_EPARSE;
    n = (size_t)(e - s - 1);
    s++;
  } else if (memchr(s, '.', n) && memchr(s, ':', n)) { /* v4:port */
    n = (size_t)((const char *)memchr(s, ':', n) - s);
  }
  if (n == 0 || n >= sizeof buf) return FOFAL_EPARSE;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, out) == 1) *family = AF_INET;
  else if (inet_pton(AF_INET6, buf, out) == 1) *family = AF_INET6;
  else return FOFAL_EPARSE;
  return 0;
}

static int cidr_has(const cidr_t *c, int family, const unsigned char *a) {
  if (c->family != family) return 0;
  int full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, a, (size_t)full)) return 0;
  return !rest || ((c->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

static int trusted(const char *s, size_t n) {
  int family;
  unsigned char a[16];
  if (parse_addr(s, n, &family, a)) return 0;
  for (int i = 0; i < nproxies; i++)
    if (cidr_has(&proxies[i], family, a)) return 1;
  return 0;
}

int fofal__transport_configure(const fofal_api_conf_t *c, char *errbuf, size_t errlen) {
  nproxies = 0;
  for (const char *p = c->trusted_proxies; p && *p;) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char item[80];
    while (n && *p == ' ') p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if (n) {
      if (n >= sizeof item || nproxies == MAX_PROXIES)
        return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_API_TRUSTED_PROXIES: at most %d entries of an address or "
                                                        "CIDR block", MAX_PROXIES);
      memcpy(item, p, n);
      item[n] = '\0';
      cidr_t *cd = &proxies[nproxies];
      char *slash = strchr(item, '/');
      if (slash) *slash = '\0';
      memset(cd, 0, sizeof *cd);
      char *end = NULL;
      long bits = slash ? strtol(slash + 1, &end, 10) : -1;
      if (parse_addr(item, strlen(item), &cd->family, cd->addr) || (slash && (*end || end == slash + 1)))
        return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_API_TRUSTED_PROXIES: \"%.*s\" is not an address or CIDR block",
                         (int)n, p);
      int max = cd->family == AF_INET ? 32 : 128;
      if (bits > max) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_API_TRUSTED_PROXIES: /%ld is too long", bits);
      cd->bits = bits < 0 ? max : (int)bits;
      nproxies++;
    }
    p = e ? e + 1 : p + strlen(p);
  }
  return 0;
}

/* The TCP peer's address as text. */
static void tcp_peer(h2o_req_t *req, char out[64]) {
  struct sockaddr_storage ss;
  socklen_t len = req->conn->callbacks->get_peername ? req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) : 0;
  out[0] = '\0';
  if (len == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, len, out) == SIZE_MAX) snprintf(out, 64, "unknown");
}

/* The value of header `name` (all of its lines joined by ", ", in the pool), or NULL. */
static h2o_iovec_t header_all(h2o_req_t *req, const char *name, size_t nlen) {
  h2o_iovec_t v = {NULL, 0};
  for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->headers, name, nlen, i)) >= 0;) {
    h2o_iovec_t x = req->headers.entries[i].value;
    v = v.base ? h2o_concat(&req->pool, v, h2o_iovec_init(H2O_STRLIT(", ")), x) : x;
  }
  return v;
}

/* The value of `key`= in the last element of a Forwarded header (RFC 7239) into out. 0,
 * FOFAL_ENOENT when it has none, FOFAL_ETOOBIG. */
static int forwarded_param(h2o_iovec_t fwd, const char *key, char *out, size_t outlen) {
  const char *p = fwd.base, *end = fwd.base + fwd.len, *last = p;
  for (const char *q = p; q < end; q++)
    if (*q == ',') last = q + 1;
  size_t kl = strlen(key);
  for (const char *q = last; q < end;) {
    while (q < end && (*q == ' ' || *q == ';')) q++;
    const char *e = q;
    while (e < end && *e != ';') e++;
    if ((size_t)(e - q) > kl && !strncasecmp(q, key, kl) && q[kl] == '=') {
      size_t n = (size_t)(e - q - kl - 1);
      const char *v = q + kl + 1;
      while (n && (*v == '"' || *v == ' ')) v++, n--;
      while (n && (v[n - 1] == '"' || v[n - 1] == ' ')) n--;
      if (n >= outlen) return FOFAL_ETOOBIG;
      memcpy(out, v, n);
      out[n] = '\0';
      return 0;
    }
    q = e;
  }
  return FOFAL_ENOENT;
}

void fofal__peer_ip(h2o_req_t *req, char out[64]) {
  tcp_peer(req, out);
  if (!nproxies || !trusted(out, strlen(out))) return;
  h2o_iovec_t xff = header_all(req, H2O_STRLIT("x-forwarded-for"));
  if (xff.base) {
    /* Right to left: the first address that is not one of our proxies. */
    const char *end = xff.base + xff.len;
    while (end > xff.base) {
      const char *start = end;
      while (start > xff.base && start[-1] != ',') start--;
      int family;
      unsigned char a[16];
      if (parse_addr(start, (size_t)(end - start), &family, a)) return; /* garbage: keep the proxy */
      if (!trusted(start, (size_t)(end - start)) || start == xff.base) {
        char buf[64];
        inet_ntop(family, a, buf, sizeof buf);
        snprintf(out, 64, "%s", buf);
        return;
      }
      end = start - 1;
    }
    return;
  }
  h2o_iovec_t fwd = header_all(req, H2O_STRLIT("forwarded"));
  char v[64];
  int family;
  unsigned char a[16];
  if (fwd.base && !forwarded_param(fwd, "for", v, sizeof v) && !parse_addr(v, strlen(v), &family, a))
    inet_ntop(family, a, out, 64);
}

/* 1 when a trusted proxy says the client used TLS. */
static int forwarded_https(h2o_req_t *req) {
  char peer[64], v[16];
  tcp_peer(req, peer);
  if (!nproxies || !trusted(peer, strlen(peer))) return 0;
  h2o_iovec_t xfp = header_all(req, H2O_STRLIT("x-forwarded-proto"));
  if (xfp.base) {
    const char *last = xfp.base + xfp.len, *s = last;
    while (s > xfp.base && s[-1] != ',') s--;
    while (s < last && *s == ' ') s++;
    return (size_t)(last - s) >= 5 && !strncasecmp(s, "https", 5);
  }
  h2o_iovec_t fwd = header_all(req, H2O_STRLIT("forwarded"));
  return fwd.base && !forwarded_param(fwd, "proto", v, sizeof v) && !strcasecmp(v, "https");
}

static int loopback(const char *ip) {
  int family;
  unsigned char a[16];
  static const unsigned char v6lo[16] = {[15] = 1}, mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (parse_addr(ip, strlen(ip), &family, a)) return 0;
  if (family == AF_INET) return a[0] == 127;
  return !memcmp(a, v6lo, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
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
  int tls = req->scheme == &H2O_URL_SCHEME_HTTPS || forwarded_https(req);
  add(req, "x-content-type-options", "nosniff");
  add(req, "x-frame-options", "DENY");
  add(req, "content-security-policy", "frame-ancestors 'none'");
  add(req, "referrer-policy", "no-referrer");
  if (tls) add(req, "strict-transport-security", "max-age=31536000; includeSubDomains");

  int remote = !loopback(ip) && !c->http_insecure;
  if (!tls && remote && !c->https_port && !probe_path(req)) {
    fofal__send_problem(req, 403, "https_required",
                        "this API is served over TLS only (plain HTTP is for clients on this host)", NULL);
    return 1;
  }
  if ((c->http_redirect || remote) && c->https_port && !tls && !probe_path(req)) {
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
