/*
 * mfa_lockout.c — the lockout of the MFA step (issue 22 item 6).
 *
 * The rate limits of accounts.c let an attacker who knows a password try 5 TOTP codes a
 * minute (±1 step: 3 codes of 10^6 each time), which finds a code in about a month. So
 * wrong codes also count per account, in Redis (shared by every instance, like the rate
 * limits): every FOFAL_API_MFA_MAX_FAILURES-th wrong code since the last success locks the
 * account's MFA step for BASE_LOCK_S (15 minutes), doubling with each further lock up to
 * a day; accounts.c answers 429 locked_out (Retry-After) while it lasts, even to the right
 * code, and raises fofal.identity.mfa_locked. A success clears the count. The count
 * lives COUNT_TTL_S after the last failure. Redis down: accounts.c's rate limiter has
 * already answered 503 (fail closed) before these are asked.
 *
 * Any thread (a read worker's Redis connection).
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#define BASE_LOCK_S 900
#define MAX_LOCK_S 86400
#define COUNT_TTL_S 86400

static const char failure_lua[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "local max = tonumber(ARGV[1])\n"
    "if n % max ~= 0 then return {n, 0} end\n"
    "local secs = math.min(tonumber(ARGV[2]) * 2 ^ (n / max - 1), tonumber(ARGV[4]))\n"
    "redis.call('SET', KEYS[2], '1', 'EX', secs)\n"
    "return {n, secs}\n";

static void keys_of(const char *tenant, const char *account, char count[256], char lock[256]) {
  snprintf(count, 256, "fofal:mfa:failures:%s:%s", tenant, account);
  snprintf(lock, 256, "fofal:mfa:lock:%s:%s", tenant, account);
}

long long fofal__mfa_lock_left(fofal__redis_t *r, const char *tenant, const char *account, char *errbuf, size_t errlen) {
  char count[256], lock[256];
  keys_of(tenant, account, count, lock);
  const char *argv[] = {"TTL", lock};
  json_t *rep = NULL;
  int rc = fofal__redis_argv(r, 2, argv, &rep, errbuf, errlen);
  long long left = json_integer_value(rep);
  json_decref(rep);
  if (rc) return rc;
  return left > 0 ? left : 0;
}

long long fofal__mfa_failure(fofal__redis_t *r, const char *tenant, const char *account, long long max_failures,
                             long long *failures, char *errbuf, size_t errlen) {
  char count[256], lock[256], max[24], base[24], ttl[24], cap[24];
  keys_of(tenant, account, count, lock);
  snprintf(max, sizeof max, "%lld", max_failures);
  snprintf(base, sizeof base, "%d", BASE_LOCK_S);
  snprintf(ttl, sizeof ttl, "%d", COUNT_TTL_S);
  snprintf(cap, sizeof cap, "%d", MAX_LOCK_S);
  const char *argv[] = {"EVAL", failure_lua, "2", count, lock, max, base, ttl, cap};
  json_t *rep = NULL;
  int rc = fofal__redis_argv(r, 9, argv, &rep, errbuf, errlen);
  if (!rc && json_array_size(rep) != 2) rc = fofal_err(errbuf, errlen, FOFAL_EREDIS, "unexpected reply to the MFA count");
  long long secs = rc ? rc : json_integer_value(json_array_get(rep, 1));
  if (!rc) *failures = json_integer_value(json_array_get(rep, 0));
  json_decref(rep);
  return secs;
}

void fofal__mfa_success(fofal__redis_t *r, const char *tenant, const char *account) {
  char count[256], lock[256], err[256];
  keys_of(tenant, account, count, lock);
  const char *argv[] = {"DEL", count};
  json_t *rep = NULL;
  if (fofal__redis_argv(r, 2, argv, &rep, err, sizeof err)) LOG_WARN("identity: cannot clear an MFA failure count: %s", err);
  json_decref(rep);
}
