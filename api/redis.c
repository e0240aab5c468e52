/*
 * redis.c — the hiredis adapter of fofal-api. Every hiredis call of api/ is here.
 * Connections are short-lived and synchronous with a timeout; used from the health
 * thread only.
 */
#include "api.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fofal__redis_ping(const char *addr, int timeout_ms);

/* 1 when Redis at "host:port" answers PING within timeout_ms, else 0. */
int fofal__redis_ping(const char *addr, int timeout_ms) {
  char host[256];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host) return 0;
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisContext *c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
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
