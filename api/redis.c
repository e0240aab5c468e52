/*
 * redis.c — the hiredis adapter of fofal-api. Every hiredis call of api/ is here.
 *
 * Two kinds of use: fofal__redis_ping opens a short-lived connection (health thread);
 * a fofal__redis_t is a long-lived connection owned by one thread at a time (a read
 * worker, or the push-stream reader), connected lazily and dropped on any transport
 * error, so the next call reconnects — at most every 250 ms while Redis is down, so an
 * outage costs callers an immediate FOFAL_EUNAVAIL rather than a connect timeout each.
 * Replies are checked for their type before use; a reply of an unexpected shape is
 * FOFAL_EREDIS, never a crash.
 */
#include "api.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_US (250 * 1000)

int fofal__redis_ping(const char *addr, int timeout_ms);

/* "host:port" into host and *port. 0 or FOFAL_EINVAL. */
static int split_addr(const char *addr, char *host, size_t hostlen, int *port) {
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= hostlen || colon == addr) return FOFAL_EINVAL;
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  *port = atoi(colon + 1);
  return *port > 0 && *port < 65536 ? 0 : FOFAL_EINVAL;
}

/* 1 when Redis at "host:port" answers PING within timeout_ms, else 0. */
int fofal__redis_ping(const char *addr, int timeout_ms) {
  char host[256];
  int port;
  if (split_addr(addr, host, sizeof host, &port)) return 0;
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisContext *c = redisConnectWithTimeout(host, port, tv);
  int ok = 0;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "PING");
    ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    if (r) freeReplyObject(r);
  }
  if (c) redisFree(c);
  return ok;
}

/* ------------------------------------------------------ long-lived handle */

struct fofal__redis {
  redisContext *c;
  char host[256];
  int port;
  int timeout_ms;
  int64_t retry_at_us; /* no connect attempt before this (mono) */
};

fofal__redis_t *fofal__redis_new(const char *addr, int timeout_ms) {
  fofal__redis_t *r = fofal_calloc(1, sizeof *r);
  if (split_addr(addr, r->host, sizeof r->host, &r->port)) {
    free(r);
    return NULL;
  }
  r->timeout_ms = timeout_ms;
  return r;
}

void fofal__redis_free(fofal__redis_t *r) {
  if (!r) return;
  if (r->c) redisFree(r->c);
  free(r);
}

static void drop(fofal__redis_t *r) {
  if (r->c) redisFree(r->c);
  r->c = NULL;
}

static void set_timeout(fofal__redis_t *r, int extra_ms) {
  int ms = r->timeout_ms + extra_ms;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  redisSetTimeout(r->c, tv);
}

static int ensure(fofal__redis_t *r, char *errbuf, size_t errlen) {
  if (r->c) return 0;
  int64_t now = fofal_mono_us();
  if (now < r->retry_at_us)
    return fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "Redis at %s:%d is unreachable", r->host, r->port);
  struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
  r->c = redisConnectWithTimeout(r->host, r->port, tv);
  if (!r->c || r->c->err) {
    int rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "cannot connect to Redis at %s:%d: %s", r->host, r->port,
                       r->c ? r->c->errstr : "out of memory");
    drop(r);
    r->retry_at_us = now + RETRY_US;
    return rc;
  }
  set_timeout(r, 0);
  return 0;
}

/* Runs one command; *out is the reply (caller frees) unless an error is returned. */
static int command(fofal__redis_t *r, int argc, const char **argv, int extra_timeout_ms, redisReply **out,
                   char *errbuf, size_t errlen) {
  *out = NULL;
  int rc = ensure(r, errbuf, errlen);
  if (rc) return rc;
  if (extra_timeout_ms) set_timeout(r, extra_timeout_ms);
  redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
  if (!rep) {
    rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "Redis %s: %s", argv[0], r->c->errstr[0] ? r->c->errstr : "no reply");
    drop(r);
    r->retry_at_us = fofal_mono_us() + RETRY_US;
    return rc;
  }
  if (extra_timeout_ms) set_timeout(r, 0);
  if (rep->type == REDIS_REPLY_ERROR) {
    rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis %s: %s", argv[0], rep->str);
    freeReplyObject(rep);
    return rc;
  }
  *out = rep;
  return 0;
}

int fofal__redis_get(fofal__redis_t *r, const char *key, char **out, char *errbuf, size_t errlen) {
  const char *argv[] = {"GET", key};
  redisReply *rep;
  *out = NULL;
  int rc = command(r, 2, argv, 0, &rep, errbuf, errlen);
  if (rc) return rc;
  if (rep->type == REDIS_REPLY_STRING) *out = fofal_strndup(rep->str, rep->len);
  else if (rep->type != REDIS_REPLY_NIL) rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis GET %s: not a string", key);
  freeReplyObject(rep);
  return rc;
}

int fofal__redis_hgetall(fofal__redis_t *r, const char *key, json_t **out, char *errbuf, size_t errlen) {
  const char *argv[] = {"HGETALL", key};
  redisReply *rep;
  *out = NULL;
  int rc = command(r, 2, argv, 0, &rep, errbuf, errlen);
  if (rc) return rc;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
    rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis HGETALL %s: not a hash", key);
    goto out;
  }
  *out = json_object();
  for (size_t i = 0; i + 1 < rep->elements; i += 2) {
    redisReply *k = rep->element[i], *v = rep->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
    char *ks = fofal_strndup(k->str, k->len);
    json_object_set_new(*out, ks, json_stringn(v->str, v->len));
    free(ks);
  }
out:
  freeReplyObject(rep);
  return rc;
}

int fofal__redis_mget(fofal__redis_t *r, int n, const char *const *keys, char **out, char *errbuf, size_t errlen) {
  const char **argv = fofal_calloc((size_t)n + 1, sizeof *argv);
  redisReply *rep = NULL;
  argv[0] = "MGET";
  for (int i = 0; i < n; i++) {
    argv[i + 1] = keys[i];
    out[i] = NULL;
  }
  int rc = command(r, n + 1, argv, 0, &rep, errbuf, errlen);
  if (rc) goto out;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)n) {
    rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis MGET: unexpected reply");
    goto out;
  }
  for (int i = 0; i < n; i++)
    if (rep->element[i]->type == REDIS_REPLY_STRING) out[i] = fofal_strndup(rep->element[i]->str, rep->element[i]->len);
out:
  if (rep) freeReplyObject(rep);
  free(argv);
  return rc;
}

/* Calls fn for each [id, [field, value, ...]] entry of an XRANGE-shaped array. The count,
 * or FOFAL_EREDIS for a reply of another shape. */
static int each_entry(redisReply *list, fofal__redis_entry_fn fn, void *opaque) {
  int n = 0;
  for (size_t i = 0; i < list->elements; i++) {
    redisReply *e = list->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
      return FOFAL_EREDIS;
    redisReply *fields = e->element[1];
    const char *m = NULL;
    size_t mlen = 0;
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      redisReply *k = fields->element[f], *v = fields->element[f + 1];
      if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && k->len == 1 && k->str[0] == 'm') {
        m = v->str;
        mlen = v->len;
      }
    }
    fn(opaque, e->element[0]->str, m, mlen);
    n++;
  }
  return n;
}

int fofal__redis_xread(fofal__redis_t *r, const char *stream, const char *after_id, int block_ms, int count, int range,
                       fofal__redis_entry_fn fn, void *opaque, char *errbuf, size_t errlen) {
  char cnt[24], blk[24], start[64];
  snprintf(cnt, sizeof cnt, "%d", count);
  snprintf(blk, sizeof blk, "%d", block_ms);
  snprintf(start, sizeof start, "(%s", after_id);
  const char *xread_b[] = {"XREAD", "BLOCK", blk, "COUNT", cnt, "STREAMS", stream, after_id};
  const char *xread[] = {"XREAD", "COUNT", cnt, "STREAMS", stream, after_id};
  const char *xrange[] = {"XRANGE", stream, start, "+", "COUNT", cnt};
  redisReply *rep;
  int rc;
  if (range) rc = command(r, 6, xrange, 0, &rep, errbuf, errlen);
  else if (block_ms >= 0) rc = command(r, 8, xread_b, block_ms, &rep, errbuf, errlen);
  else rc = command(r, 6, xread, 0, &rep, errbuf, errlen);
  if (rc) return rc;
  int n = 0;
  if (rep->type == REDIS_REPLY_NIL) {
    n = 0;
  } else if (range && rep->type == REDIS_REPLY_ARRAY) {
    n = each_entry(rep, fn, opaque);
  } else if (!range && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
             rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2 &&
             rep->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
    n = each_entry(rep->element[0]->element[1], fn, opaque);
  } else {
    n = FOFAL_EREDIS;
  }
  freeReplyObject(rep);
  if (n < 0) return fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis %s %s: unexpected reply", range ? "XRANGE" : "XREAD", stream);
  return n;
}

int fofal__redis_stream_ids(fofal__redis_t *r, const char *stream, char last[48], char deleted[48], char *errbuf,
                            size_t errlen) {
  const char *argv[] = {"XINFO", "STREAM", stream};
  redisReply *rep;
  snprintf(last, 48, "0-0");
  snprintf(deleted, 48, "0-0");
  char err[256];
  int rc = command(r, 3, argv, 0, &rep, err, sizeof err);
  if (rc == FOFAL_EREDIS && strstr(err, "no such key")) return 0; /* an empty stream */
  if (rc) return fofal_err(errbuf, errlen, rc, "%s", err);
  if (rep->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
      redisReply *k = rep->element[i], *v = rep->element[i + 1];
      if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || v->len >= 48) continue;
      if (!strcmp(k->str, "last-generated-id")) snprintf(last, 48, "%s", v->str);
      else if (!strcmp(k->str, "max-deleted-entry-id")) snprintf(deleted, 48, "%s", v->str);
    }
  }
  freeReplyObject(rep);
  return 0;
}

/* ------------------------------------------------------- any command */

static json_t *reply_json(const redisReply *rep) {
  switch (rep->type) {
  case REDIS_REPLY_INTEGER: return json_integer(rep->integer);
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS: return json_stringn(rep->str, rep->len);
  case REDIS_REPLY_ARRAY: {
    json_t *a = json_array();
    for (size_t i = 0; i < rep->elements; i++) json_array_append_new(a, reply_json(rep->element[i]));
    return a;
  }
  default: return json_null();
  }
}

int fofal__redis_argv(fofal__redis_t *r, int argc, const char *const *argv, json_t **reply, char *errbuf,
                      size_t errlen) {
  redisReply *rep;
  *reply = NULL;
  int rc = command(r, argc, (const char **)argv, 0, &rep, errbuf, errlen);
  if (rc) return rc;
  *reply = reply_json(rep);
  freeReplyObject(rep);
  return 0;
}
