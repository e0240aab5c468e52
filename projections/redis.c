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
  const char *user, *password; /* the caller's, kept alive by it */
};

struct fofal_rops {
  char **argv;     /* flattened: argc, then the arguments, per command */
  size_t n, cap;
  int count;
};

/* KEYS[1] applied-offset key; ARGV[1] offset; then per command: argc, args… Pseudo-
 * commands say what a plain command cannot:
 *   DELIFEQ key field value      deletes key while its hash field still holds value;
 *   HOLDIFNEWER key id time      sets {order_id: id, since: time} unless the hash holds a
 *                                later time (views fed by several partitions, whose
 *                                order of application differs between runs, converge);
 *   RELEASEIFEQ key id time      while order_id is id, sets {order_id: "", since: time}:
 *                                a marker, so that an older HOLDIFNEWER cannot come back. */
static const char apply_lua[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')\n"
    "local off = tonumber(ARGV[1])\n"
    "if off <= cur then return 0 end\n"
    "local i = 2\n"
    "while i <= #ARGV do\n"
    "  local n = tonumber(ARGV[i])\n"
    "  if ARGV[i + 1] == 'DELIFEQ' then\n"
    "    if redis.call('HGET', ARGV[i + 2], ARGV[i + 3]) == ARGV[i + 4] then redis.call('DEL', ARGV[i + 2]) end\n"
    "  elseif ARGV[i + 1] == 'HOLDIFNEWER' then\n"
    "    local at = redis.call('HGET', ARGV[i + 2], 'since')\n"
    "    if not at or ARGV[i + 4] >= at then redis.call('HSET', ARGV[i + 2], 'order_id', ARGV[i + 3], 'since', ARGV[i + 4]) end\n"
    "  elseif ARGV[i + 1] == 'RELEASEIFEQ' then\n"
    "    if redis.call('HGET', ARGV[i + 2], 'order_id') == ARGV[i + 3] then\n"
    "      redis.call('HSET', ARGV[i + 2], 'order_id', '', 'since', ARGV[i + 4])\n"
    "    end\n"
    "  else\n"
    "    redis.call(unpack(ARGV, i + 1, i + n))\n"
    "  end\n"
    "  i = i + n + 1\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "return 1\n";

int fofal_redis_auth(struct redisContext *c, const char *user, const char *password, char *errbuf, size_t errlen) {
  if (!password || !*password) return 0;
  redisReply *rep = user && *user ? redisCommand(c, "AUTH %s %s", user, password) : redisCommand(c, "AUTH %s", password);
  int rc = 0;
  if (!rep) rc = fofal_err(errbuf, errlen, FOFAL_EUNAVAIL, "Redis AUTH: %s", c->errstr[0] ? c->errstr : "no reply");
  else if (rep->type != REDIS_REPLY_STATUS)
    /* Redis's answer (WRONGPASS ...) names neither the user nor the password. */
    rc = fofal_err(errbuf, errlen, FOFAL_ECONFIG, "Redis refused AUTH as %s: %s", user && *user ? user : "default",
                   rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
  if (rep) freeReplyObject(rep);
  return rc;
}

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
  int rc = fofal_redis_auth(r->c, r->user, r->password, errbuf, errlen);
  if (rc) {
    redisFree(r->c);
    r->c = NULL;
  }
  return rc;
}

int fofal_redis_connect(fofal_redis_t **out, const char *addr, const char *user, const char *password, char *errbuf,
                        size_t errlen) {
  *out = NULL;
  const char *colon = strrchr(addr, ':');
  fofal_redis_t *r = fofal_calloc(1, sizeof *r);
  if (!colon || (size_t)(colon - addr) >= sizeof r->host) {
    free(r);
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "Redis address \"%s\" is not host:port", addr);
  }
  memcpy(r->host, addr, (size_t)(colon - addr));
  r->port = atoi(colon + 1);
  r->user = user;
  r->password = password;
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

int fofal_redis_apply_many(fofal_redis_t *r, int n, const char *const *applied_keys, const int64_t *offsets,
                           fofal_rops_t *const *ops, char *errbuf, size_t errlen) {
  int rc = reconnect(r, errbuf, errlen);
  if (rc || n <= 0) return rc;
  /* All the scripts in one write, then every reply: one round trip. */
  for (int k = 0; k < n && !rc; k++) {
    size_t argc = 5 + ops[k]->n;
    const char **argv = fofal_calloc(argc, sizeof *argv);
    char off[24];
    snprintf(off, sizeof off, "%lld", (long long)offsets[k]);
    argv[0] = "EVAL";
    argv[1] = apply_lua;
    argv[2] = "1";
    argv[3] = applied_keys[k];
    argv[4] = off;
    for (size_t i = 0; i < ops[k]->n; i++) argv[5 + i] = ops[k]->argv[i];
    if (redisAppendCommandArgv(r->c, (int)argc, argv, NULL) != REDIS_OK)
      rc = reply_err(r, NULL, "apply", errbuf, errlen);
    free(argv);
  }
  for (int k = 0; k < n && r->c; k++) {
    redisReply *rep = NULL;
    if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) rep = NULL;
    int one = reply_err(r, rep, "apply", errbuf, errlen);
    if (!rc) rc = one;
  }
  return rc;
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

/* ------------------------------------------------------- operator helpers
 * For fofal rebuild/verify/status (rebuild.c): generic replies, SCAN, prefix deletion. */

static void flatten(redisReply *rep, char ***v, size_t *n, size_t *cap) {
  if (rep->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < rep->elements; i++) flatten(rep->element[i], v, n, cap);
    return;
  }
  if (*n + 2 > *cap) {
    *cap = (*n + 2) * 2;
    *v = fofal_realloc(*v, *cap * sizeof **v);
  }
  if (rep->type == REDIS_REPLY_INTEGER) (*v)[(*n)++] = fofal_asprintf("%lld", rep->integer);
  else if (rep->type == REDIS_REPLY_NIL) (*v)[(*n)++] = fofal_strdup("");
  else (*v)[(*n)++] = fofal_strndup(rep->str ? rep->str : "", rep->str ? rep->len : 0);
  (*v)[*n] = NULL;
}

int fofal_redis_query(fofal_redis_t *r, int argc, const char *const *argv, char ***out, size_t *n, char *errbuf,
                      size_t errlen) {
  *out = NULL;
  *n = 0;
  int rc = reconnect(r, errbuf, errlen);
  if (rc) return rc;
  redisReply *rep = redisCommandArgv(r->c, argc, (const char **)argv, NULL);
  if (!rep || rep->type == REDIS_REPLY_ERROR) return reply_err(r, rep, argv[0], errbuf, errlen);
  size_t cap = 0;
  char **v = NULL;
  if (rep->type != REDIS_REPLY_NIL) flatten(rep, &v, n, &cap);
  freeReplyObject(rep);
  if (!v) v = fofal_calloc(1, sizeof *v);
  *out = v;
  return 0;
}

void fofal_redis_strings_free(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

int fofal_redis_get(fofal_redis_t *r, const char *key, char **out, char *errbuf, size_t errlen) {
  char **v = NULL;
  size_t n = 0;
  const char *argv[] = {"GET", key};
  *out = NULL;
  int rc = fofal_redis_query(r, 2, argv, &v, &n, errbuf, errlen);
  if (!rc && n == 1) {
    *out = v[0];
    v[0] = NULL;
  }
  fofal_redis_strings_free(v);
  return rc;
}

int fofal_redis_scan(fofal_redis_t *r, const char *pattern, int (*fn)(void *opaque, const char *key), void *opaque,
                     char *errbuf, size_t errlen) {
  char cursor[32] = "0";
  int rc = 0;
  do {
    char **v = NULL;
    size_t n = 0;
    const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
    if ((rc = fofal_redis_query(r, 6, argv, &v, &n, errbuf, errlen))) return rc;
    if (n < 1) {
      fofal_redis_strings_free(v);
      return fofal_err(errbuf, errlen, FOFAL_EREDIS, "Redis SCAN: unexpected reply");
    }
    snprintf(cursor, sizeof cursor, "%s", v[0]);
    for (size_t i = 1; i < n && !rc; i++) rc = fn(opaque, v[i]);
    fofal_redis_strings_free(v);
  } while (!rc && strcmp(cursor, "0"));
  return rc;
}

/* A glob that matches exactly the keys starting with prefix: *?[]\ escaped. */
static char *prefix_glob(const char *prefix) {
  size_t n = strlen(prefix);
  char *g = fofal_malloc(2 * n + 2), *o = g;
  for (const char *p = prefix; *p; p++) {
    if (strchr("*?[]\\^", *p)) *o++ = '\\';
    *o++ = *p;
  }
  *o++ = '*';
  *o = '\0';
  return g;
}

typedef struct {
  fofal_redis_t *r;
  const char **keys;
  int n;
  long long deleted;
  char *errbuf;
  size_t errlen;
} unlinker_t;

#define UNLINK_BATCH 500

static int unlink_batch(unlinker_t *u) {
  if (!u->n) return 0;
  u->keys[0] = "UNLINK";
  int rc = fofal_redis_cmd(u->r, u->n + 1, u->keys, u->errbuf, u->errlen);
  for (int i = 1; i <= u->n; i++) free((char *)u->keys[i]);
  u->deleted += u->n;
  u->n = 0;
  return rc;
}

static int unlink_one(void *opaque, const char *key) {
  unlinker_t *u = opaque;
  u->keys[++u->n] = fofal_strdup(key);
  return u->n == UNLINK_BATCH ? unlink_batch(u) : 0;
}

int fofal_redis_del_prefix(fofal_redis_t *r, const char *prefix, long long *deleted, char *errbuf, size_t errlen) {
  char *glob = prefix_glob(prefix);
  unlinker_t u = {.r = r, .keys = fofal_calloc(UNLINK_BATCH + 1, sizeof(char *)), .errbuf = errbuf, .errlen = errlen};
  int rc = fofal_redis_scan(r, glob, unlink_one, &u, errbuf, errlen);
  if (!rc) rc = unlink_batch(&u);
  for (int i = 1; i <= u.n; i++) free((char *)u.keys[i]);
  free(u.keys);
  free(glob);
  if (deleted) *deleted = u.deleted;
  return rc;
}
