/*
 * http.c — response and request helpers shared by the handlers: JSON and problem+json
 * bodies (RFC 9457), headers, query parameters, and capped JSON request bodies.
 * Loop thread only.
 */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Content";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 503: return "Service Unavailable";
  default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

void fofal__add_header(h2o_req_t *req, const char *name, const char *value) {
  size_t nlen = strlen(name), vlen = strlen(value);
  char *n = h2o_mem_alloc_pool(&req->pool, nlen + 1), *v = h2o_mem_alloc_pool(&req->pool, vlen + 1);
  /* HTTP/2 forbids upper case in header names (RFC 9113 §8.2.1); HTTP/1.1 does not care. */
  for (size_t i = 0; i <= nlen; i++) n[i] = (char)tolower((unsigned char)name[i]);
  memcpy(v, value, vlen + 1);
  h2o_add_header_by_str(&req->pool, &req->res.headers, n, nlen, 1, NULL, v, vlen);
}

void fofal__send_body(h2o_req_t *req, int status, const char *ctype, json_t *body) {
  char *s = fofal_json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(body);
  fofal__send_bytes(req, status, ctype, s ? s : "", s ? strlen(s) : 0);
  free(s);
}

void fofal__send_bytes(h2o_req_t *req, int status, const char *ctype, const void *buf, size_t len) {
  char *copy = h2o_mem_alloc_pool(&req->pool, len + 1);
  memcpy(copy, buf, len);
  copy[len] = '\0';
  req->res.status = status;
  req->res.reason = reason(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
  if (status >= 200 && status < 300) atomic_fetch_add(&fofal__metrics.responses_2xx, 1);
  else if (status < 500) atomic_fetch_add(&fofal__metrics.responses_4xx, 1);
  else atomic_fetch_add(&fofal__metrics.responses_5xx, 1);
  req->res.content_length = len;
  h2o_send_inline(req, copy, len);
}

void fofal__document_etag(const char *body, char out[FOFAL__ETAG_LEN]) {
  char hex[65];
  fofal_cred_digest(body, hex);
  snprintf(out, FOFAL__ETAG_LEN, "\"%.32s\"", hex);
}

/* 1 when an If-None-Match of the request names etag (or is *). */
static int none_match(h2o_req_t *req, const char *etag) {
  size_t elen = strlen(etag);
  for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, i)) >= 0;) {
    h2o_iovec_t v = req->headers.entries[i].value;
    for (size_t at = 0; at < v.len;) {
      while (at < v.len && (v.base[at] == ' ' || v.base[at] == ',')) at++;
      size_t end = at;
      while (end < v.len && v.base[end] != ',') end++;
      size_t n = end;
      while (n > at && v.base[n - 1] == ' ') n--;
      const char *tag = v.base + at;
      size_t tlen = n - at;
      if (tlen >= 2 && !memcmp(tag, "W/", 2)) tag += 2, tlen -= 2; /* weak comparison (RFC 9110 13.1.2) */
      if ((tlen == 1 && *tag == '*') || (tlen == elen && !memcmp(tag, etag, elen))) return 1;
      at = end;
    }
  }
  return 0;
}

void fofal__send_document(h2o_req_t *req, const char *ctype, const char *body, size_t len, const char *etag) {
  static h2o_generator_t generator = {NULL, NULL};
  int fresh = none_match(req, etag);
  req->res.status = fresh ? 304 : 200;
  req->res.reason = fresh ? "Not Modified" : "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, strlen(etag));
  if (!fresh) req->res.content_length = len;
  atomic_fetch_add(&fofal__metrics.responses_2xx, 1); /* 304 counts as an answer that went well */
  h2o_start_response(req, &generator);
  h2o_iovec_t buf = h2o_iovec_init(body, len);
  if (fresh || h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
  else
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void fofal__send_json(h2o_req_t *req, int status, json_t *body) { fofal__send_body(req, status, "application/json", body); }

void fofal__send_problem(h2o_req_t *req, int status, const char *code, const char *detail, json_t *extra) {
  char type[160];
  snprintf(type, sizeof type, "https://fofal.example/problems/%s", code);
  /* A detail may echo what the client sent (a path, a parameter), which need not be UTF-8:
   * jansson refuses such a string, and the body would be empty. */
  char *clean = fofal_utf8_scrub(detail ? detail : "");
  json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", reason(status), "status", status, "code",
                        code, "detail", clean);
  free(clean);
  if (extra) {
    json_object_update(p, extra);
    json_decref(extra);
  }
  fofal__send_body(req, status, "application/problem+json", p);
}

const char *fofal__req_header(h2o_req_t *req, const char *name) {
  char lower[64];
  size_t n = strlen(name);
  if (n >= sizeof lower) return NULL;
  for (size_t k = 0; k <= n; k++) lower[k] = (char)tolower((unsigned char)name[k]);
  ssize_t i = h2o_find_header_by_str(&req->headers, lower, n, -1);
  if (i < 0) return NULL;
  h2o_iovec_t v = req->headers.entries[i].value;
  char *s = h2o_mem_alloc_pool(&req->pool, v.len + 1);
  memcpy(s, v.base, v.len);
  s[v.len] = '\0';
  return s;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

const char *fofal__query_param(h2o_req_t *req, const char *name) {
  if (req->query_at == SIZE_MAX) return NULL;
  const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
  size_t nlen = strlen(name);
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    if (!amp) amp = end;
    const char *eq = memchr(q, '=', (size_t)(amp - q));
    if (eq && (size_t)(eq - q) == nlen && !memcmp(q, name, nlen)) {
      char *out = h2o_mem_alloc_pool(&req->pool, (size_t)(amp - eq));
      size_t o = 0;
      for (const char *p = eq + 1; p < amp; p++) {
        if (*p == '%' && amp - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
          out[o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
          p += 2;
        } else {
          out[o++] = *p == '+' ? ' ' : *p;
        }
      }
      out[o] = '\0';
      return out;
    }
    q = amp + 1;
  }
  return NULL;
}

json_t *fofal__read_json(h2o_req_t *req, size_t cap) {
  if (req->entity.len > cap) {
    char d[96];
    snprintf(d, sizeof d, "the body is %zu bytes; at most %zu are accepted", req->entity.len, cap);
    fofal__send_problem(req, 413, "body_too_large", d, NULL);
    return NULL;
  }
  ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
  if (ct >= 0) {
    h2o_iovec_t v = req->headers.entries[ct].value;
    if (!(v.len >= 16 && !strncasecmp(v.base, "application/json", 16))) {
      fofal__send_problem(req, 415, "unsupported_media_type", "send the body as application/json", NULL);
      return NULL;
    }
  }
  json_error_t jerr;
  json_t *o = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o || !json_is_object(o)) {
    char d[256];
    snprintf(d, sizeof d, "the body is not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
    json_decref(o);
    fofal__send_problem(req, 400, "malformed_json", d, NULL);
    return NULL;
  }
  return o;
}

int fofal__decode_cursor(h2o_req_t *req, const char *s, size_t max, char *out, size_t outlen) {
  if (strlen(s) > max) return FOFAL_ETOOBIG;
  h2o_iovec_t v = h2o_decode_base64url(&req->pool, s, strlen(s));
  if (!v.base || v.len == 0 || v.len >= outlen || memchr(v.base, '\0', v.len)) return FOFAL_EPARSE;
  memcpy(out, v.base, v.len);
  out[v.len] = '\0';
  return 0;
}

/* ------------------------------------------------- h2o's own error answers
 * h2o answers some requests before any handler runs: 413 for a body over
 * max_request_entity_size, 400 for an unknown transfer encoding, 417 for an unknown
 * Expect. It sends them with h2o_send_error_generic, in text/plain, on the host's
 * fallback path. A filter there swaps the body for a problem+json one; status and
 * reason stay. (A request head over H2O_MAX_REQLEN is answered with a fixed text/plain
 * 400 written to the socket before any request exists: nothing can intercept it.) */

typedef struct {
  h2o_ostream_t super;
  h2o_iovec_t body;
} problem_ostream_t;

static void problem_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state) {
  problem_ostream_t *o = (problem_ostream_t *)self;
  /* h2o_send_inline sends its body at once (final), or nothing at all for HEAD. */
  if (h2o_send_state_is_in_progress(state) || n == 0) h2o_ostream_send_next(self, req, bufs, n, state);
  else h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void on_setup_problem_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot) {
  (void)self;
  ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
  h2o_iovec_t v = ct >= 0 ? req->res.headers.entries[ct].value : h2o_iovec_init(NULL, 0);
  if (req->res.status >= 400 && v.len >= 10 && !memcmp(v.base, "text/plain", 10)) {
    const char *code = "bad_request", *detail = "the request is malformed";
    char d[128];
    if (req->res.status == 404) {
      code = "not_found";
      detail = "no such resource";
    } else if (req->res.status >= 500) {
      code = "server_error";
      detail = "the request could not be served; retry";
    } else if (req->res.status == 413) {
      code = "body_too_large";
      snprintf(d, sizeof d, "the body is larger than %zu bytes, the most accepted",
               req->conn->ctx->globalconf->max_request_entity_size);
      detail = d;
    } else if (req->res.status == 417) {
      code = "expectation_failed";
      detail = "only Expect: 100-continue is understood";
    }
    char type[160];
    snprintf(type, sizeof type, "https://fofal.example/problems/%s", code);
    json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", reason(req->res.status), "status",
                          req->res.status, "code", code, "detail", detail);
    char *s = fofal_json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(p);
    problem_ostream_t *o = (problem_ostream_t *)h2o_add_ostream(req, sizeof *o, slot);
    o->super.do_send = problem_do_send;
    o->body = h2o_strdup(&req->pool, s, SIZE_MAX);
    free(s);
    req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/problem+json"));
    req->res.content_length = o->body.len;
    atomic_fetch_add(&fofal__metrics.responses_4xx, 1);
    slot = &o->super.next;
  }
  h2o_setup_next_ostream(req, slot);
}

void fofal__problem_filter_register(h2o_pathconf_t *pathconf) {
  h2o_filter_t *f = h2o_create_filter(pathconf, sizeof *f);
  f->on_setup_ostream = on_setup_problem_ostream;
}
