/*
 * redis.c — the hiredis adapter of projections/: every hiredis call of the projector.
 *
 * Redis hot views are applied after the PostgreSQL transaction of their batch commits.
 * To make that idempotent, a batch's commands for one partition run inside one Lua script
 * that first compares the event offset with the offset last applied for that
 * (projection, partition) and does nothing if it is not beyond it. A projector that
 * crashed between the two commits simply applies again. One connection, one thread.
 */
#include "projections.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fofal_redis {
  redisContext *c;
  char host[256];
  int port;
};

struct fofal_rops {
  char **argv;     /* flattened: argc, then the arguments, per command */
  size_t n, cap;
  int count;
};

/* KEYS[1] applied-offset key; ARGV[1] offset; then per command: argc, args… One
 * pseudo-command exists for what a plain command cannot say: DELIFEQ key field value
 * deletes key only while its hash field still holds value. */
static const char apply_lua[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')\n"
    "local off = tonumber(ARGV[1])\n"
    "if off <= cur then return 0 end\n"
    "local i = 2\n"
    "while i <= #ARGV do\n"
    "  local n = tonumber(ARGV[i])\n"
    "  if ARGV[i + 1] == 'DELIFEQ' then\n"
    "    if redis.call('HGET', ARGV[i + 2], ARGV[i + 3]) == ARGV[i + 4] then redis.call('DEL', ARGV[i + 2]) end\n"
    "  else\n"
    "    redis.call(unpack(ARGV, i + 1, i + n))\n"
    "  end\n"
    "  i = i + n + 1\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "return 1\n";

static int reconnect(fofal_redis_t *r, char *errbuf, size_t errlen) {
  if (r->c && !r->c->err) return 0;
  if (r->c) redisFree(r->c);
  struct timeval tv = {2, 0};
  r->c = redisConnectWithTimeout(r->host, r->port, tv);
  if (!r->c || r->c->err) {
    int rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "cannot connect to Redis at %s:%d: %s", r->host, r->port,
                       r->c ? r->c->errstr : "out of memory");
    if (r->c) redisFree(r->c);
    r->c = NULL;
    return rc;
  }
  redisSetTimeout(r->c, tv);
  return 0;
}

int fofal_redis_connect(fofal_redis_t **out, const char *addr, char *errbuf, size_t errlen) {
  *out = NULL;
  const char *colon = strrchr(addr, ':');
  fofal_redis_t *r = fofal_calloc(1, sizeof *r);
  if (!colon || (size_t)(colon - addr) >= sizeof r->host) {
    free(r);
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "Redis address \"%s\" is not host:port", addr);
  }
  memcpy(r->host, addr, (size_t)(colon - addr));
  r->port = atoi(colon + 1);
  int rc = reconnect(r, errbuf, errlen);
  if (rc) {
    free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void fofal_redis_close(fofal_redis_t *r) {
  if (!r) return;
  if (r->c) redisFree(r->c);
  free(r);
}

fofal_rops_t *fofal_rops_new(void) { return fofal_calloc(1, sizeof(fofal_rops_t)); }

void fofal_rops_clear(fofal_rops_t *ops) {
  for (size_t i = 0; i < ops->n; i++) free(ops->argv[i]);
  ops->n = 0;
  ops->count = 0;
}

void fofal_rops_free(fofal_rops_t *ops) {
  if (!ops) return;
  fofal_rops_clear(ops);
  free(ops->argv);
  free(ops);
}

int fofal_rops_count(const fofal_rops_t *ops) { return ops->count; }

void fofal_rops_add(fofal_rops_t *ops, int argc, const char *const *argv) {
  if (ops->n + (size_t)argc + 1 > ops->cap) {
    ops->cap = (ops->n + (size_t)argc + 1) * 2;
    ops->argv = fofal_realloc(ops->argv, ops->cap * sizeof *ops->argv);
  }
  ops->argv[ops->n++] = fofal_asprintf("%d", argc);
  for (int i = 0; i < argc; i++) ops->argv[ops->n++] = fofal_strdup(argv[i]);
  ops->count++;
}

void fofal_rops_append(fofal_rops_t *dst, const fofal_rops_t *src) {
  if (dst->n + src->n > dst->cap) {
    dst->cap = (dst->n + src->n) * 2;
    dst->argv = fofal_realloc(dst->argv, dst->cap * sizeof *dst->argv);
  }
  for (size_t i = 0; i < src->n; i++) dst->argv[dst->n++] = fofal_strdup(src->argv[i]);
  dst->count += src->count;
}

static int reply_err(fofal_redis_t *r, redisReply *rep, const char *what, char *errbuf, size_t errlen) {
  int rc;
  if (!rep) {
    rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "Redis %s: %s", what, r->c ? r->c->errstr : "no connection");
    if (r->c) redisFree(r->c);
    r->c = NULL;
    return rc;
  }
  if (rep->type == REDIS_REPLY_ERROR) {
    rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis %s: %s", what, rep->str);
    freeReplyObject(rep);
    return rc;
  }
  freeReplyObject(rep);
  return 0;
}

int fofal_redis_apply(fofal_redis_t *r, const char *applied_key, int64_t offset, const fofal_rops_t *ops,
                      char *errbuf, size_t errlen) {
  int rc = reconnect(r, errbuf, errlen);
  if (rc) return rc;
  size_t argc = 5 + ops->n;
  const char **argv = fofal_calloc(argc, sizeof *argv);
  char off[24];
  snprintf(off, sizeof off, "%lld", (long long)offset);
  argv[0] = "EVAL";
  argv[1] = apply_lua;
  argv[2] = "1";
  argv[3] = applied_key;
  argv[4] = off;
  for (size_t i = 0; i < ops->n; i++) argv[5 + i] = ops->argv[i];
  redisReply *rep = redisCommandArgv(r->c, (int)argc, argv, NULL);
  free(argv);
  return reply_err(r, rep, "apply", errbuf, errlen);
}

int fofal_redis_applied(fofal_redis_t *r, const char *applied_key, int64_t *offset, char *errbuf, size_t errlen) {
  int rc = reconnect(r, errbuf, errlen);
  if (rc) return rc;
  *offset = -1;
  redisReply *rep = redisCommand(r->c, "GET %s", applied_key);
  if (rep && rep->type == REDIS_REPLY_STRING) *offset = atoll(rep->str);
  return reply_err(r, rep, "GET", errbuf, errlen);
}

int fofal_redis_cmd(fofal_redis_t *r, int argc, const char *const *argv, char *errbuf, size_t errlen) {
  int rc = reconnect(r, errbuf, errlen);
  if (rc) return rc;
  redisReply *rep = redisCommandArgv(r->c, argc, (const char **)argv, NULL);
  return reply_err(r, rep, argv[0], errbuf, errlen);
}
