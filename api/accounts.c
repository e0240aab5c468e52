/*
 * accounts.c — sign-in and sessions of fofal-api (issue 6), through the log (issue 13 item 5).
 *
 *   POST /api/v1/auth/login        {tenant, username, password} → tokens, or an MFA step
 *   POST /api/v1/auth/mfa          {mfa_token, code | recovery_code} → tokens
 *   POST /api/v1/auth/totp/enrol   {mfa_token} → otpauth URI (+ QR as SVG), once
 *   POST /api/v1/auth/refresh      {refresh_token} → new tokens (rotation)
 *   POST /api/v1/auth/logout       Bearer → 204, the session ends everywhere
 *   POST /api/v1/auth/password     Bearer {current_password, new_password} → 204, every
 *                                  session of the account ends
 *   POST /api/v1/auth/accounts     Bearer admin {username, role, password?, badge?, pin?}
 *   POST /api/v1/auth/devices      Bearer admin|manager {name} → device id + secret, once
 *   POST /api/v1/auth/devices/{id}/revoke  Bearer admin|manager {reason?} → 204; the
 *                                  device signs nobody in any more, its sessions end
 *   POST /api/v1/auth/gateways     Bearer admin {name, looms?} → an MQTT gateway's id,
 *                                  user name and password, once (issue 22; revoked by the
 *                                  command identity.gateway.revoke)
 *   POST /api/v1/auth/pin-login    {tenant, device_id, device_secret, badge, pin} → tokens
 *   GET  /api/v1/auth/me           Bearer → who the token says the caller is
 *
 * The log is the truth (DESIGN.md guarantee 1). Accounts, badges, devices, TOTP enrolment
 * and password changes are commands of module identity (commands/identity/identity.h),
 * and so is every security event: a sign-in that succeeded or failed, a password verified
 * before MFA, an MFA failure, a refresh token reused, a lockout, a logout, a wrong current
 * password. Each request sends its command through the same path as POST
 * /api/v1/commands/{type} (fofal__command_send) and answers only once it is decided: the
 * event is committed on fofal.identity.events with the account's next sequence number
 * before the client hears of it. Fail closed: when the command cannot be produced (Kafka
 * down) the answer is 503 not_recorded, when it is not decided within
 * FOFAL_API_COMMAND_WAIT_MS (the decider slow or down) 503 not_decided, both with
 * Retry-After, and no token is handed out — a sign-in that the log has not decided did
 * not happen (if it is decided later, nobody holds its token). The tables sign-in reads (schema identity: accounts,
 * devices) are the identity projection (projections/identity/); a request that changes
 * them (an account created, a password changed, a TOTP enrolment, a device enrolled or
 * revoked) answers once the projection has applied its event (the position wait of the
 * reads), so an account answered as created signs in at once.
 *
 * Operational state, not in the log (schema identity_ops, and Redis): sessions and refresh
 * token families, the PIN lockout counters, a TOTP enrolment not verified yet and the last
 * TOTP step accepted, the rate-limit buckets, the stream of revoked sessions. A restore
 * from the log ends every session (people sign in again) and resets those counters.
 *
 * Secrets. Password and PIN hashes (argon2id), TOTP secrets and the recovery codes' SHA-256
 * travel in commands and events sealed under the master key FOFAL_PD_MASTER_KEY
 * (fofal_pd_secret_seal: purpose, tenant and account id as associated data), and stay
 * sealed in the projection: the log plus the master key restore every credential, and
 * neither the log nor a database dump alone gives a hash to crack. The username is
 * personal data, sealed with the account's own data key (identity_keys.person_keys), which
 * `fofal account erase` deletes. Refresh tokens and device secrets are kept as SHA-256.
 * No secret is ever logged.
 *
 * Sessions. A sign-in creates a session (identity_ops.sessions: a refresh-token family) and
 * answers a short-lived access JWT carrying the session id as `sid` (and the account's
 * badge as `badge`, read again at every refresh: who the person is on the floor), and an
 * opaque refresh token (256 random bits) of which only the SHA-256 is stored. Every refresh
 * marks the presented token used and issues a new one in the same family; presenting a
 * used token again is reuse (a stolen token raced its owner): the whole family is revoked,
 * so the newer token stops working too. Logout, password change, reuse and a device's
 * revocation revoke sessions in PostgreSQL and append their ids to the Redis stream
 * fofal:revocations; a thread of every instance tails it and tells auth.c, which then
 * refuses the session's access tokens (cached or not) within the XREAD latency. At start
 * the stream is read synchronously before the server listens. The stream keeps entries
 * only as long as an access token can live (MINID trimming).
 *
 * MFA. Roles that touch money, pay or HR (accountant, hr, manager, admin) must pass TOTP
 * after the password: login then answers {mfa_required, mfa_token}, a 5-minute JWT whose
 * audience is "<aud>/mfa", so it is never an access token. Without an enrolled secret the
 * client first calls totp/enrol with it, then mfa with a code, which completes the
 * enrolment (identity.account.enrol_mfa) and answers ten one-time recovery codes. A TOTP
 * step is accepted once (identity_ops); a recovery code signs in once (the decider keeps
 * which were used). PIN sign-in refuses these roles.
 *
 * Rate limits (Redis, one Lua token bucket shared by all instances, see below): per IP and
 * per account on login, mfa and password; per device, per badge and per IP on PIN sign-in,
 * plus a lockout after FOFAL_API_PIN_MAX_FAILURES wrong PINs in a row that doubles with
 * every further failure (1 minute, 2, 4 … 64); the badge's bucket is taken only once the
 * device is known, and a failure more than FOFAL_API_PIN_FAILURE_DECAY_S after the last one
 * counts as the first, and one of the MFA step after
 * FOFAL_API_MFA_MAX_FAILURES wrong codes (mfa_lockout.c; recorded as mfa_locked). Redis
 * unreachable → 503: the limits fail closed.
 *
 * Threads and life of a request: the handler checks the body on the loop thread and
 * submits a job; its work (argon2id, SQL on the worker's write connection, Redis) runs on
 * a read worker (pgpool.c) and prepares the answer and the command; back on the loop the
 * command is sent; once decided, a job may run again on a worker (`post`: the sessions a
 * password change or a revocation ends), then the request waits for the projection when
 * it must, and is answered. Who owns the job: the pool while it runs, the command path
 * until its callback, the request (its pool's dispose callback) while it waits for the
 * projection. A request that goes away meanwhile is detached; its command and post still
 * complete. The revocation tail runs on its own thread.
 */
#include "api.h"
#include "identity/identity.h"
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REVOCATIONS "fofal:revocations"
#define MFA_TTL_S 300
#define MAX_FIELD 1024 /* longest password accepted */
#define LEEWAY_S 30

typedef enum { OP_LOGIN, OP_MFA, OP_ENROL, OP_REFRESH, OP_LOGOUT, OP_PASSWORD, OP_ACCOUNT, OP_DEVICE, OP_REVOKE, OP_PIN,
               OP_GATEWAY } op_t;
typedef enum { PH_WORK, PH_SEND, PH_POST, PH_WAIT } phase_t;

typedef struct fofal_accounts {
  fofal_api_t *api;
  fofal__redis_t *redis; /* the revocation tail's own connection */
  pthread_t tail;
  int tail_started;
  atomic_int stop;       /* set by the loop thread at shutdown; the revocation tail watches it */
  char last_id[48];
  char dummy_hash[FOFAL_CRED_HASH_MAX]; /* verified against when an account is unknown */
  unsigned char master[FOFAL_PD_KEY_BYTES]; /* seals the secrets, wraps the per-person keys */
  char mfa_audience[160];
} accounts_t;

typedef struct auth_job auth_job_t;

typedef struct {
  h2o_req_t *req;
  auth_job_t *job;
} auth_ctx_t;

struct auth_job {
  fofal_job_t super;
  auth_ctx_t *ctx; /* NULL once the request is gone (loop thread) */
  fofal_api_t *api;
  op_t op;
  phase_t phase;
  char ip[64];
  char corr[FOFAL_UUID_LEN + 1];
  char device[FOFAL_UUID_LEN + 1]; /* OP_REVOKE: the device of the path */
  fofal_principal_t who; /* the caller (Bearer) or the MFA step's account */
  json_t *in;            /* request body, owned */
  /* the answer, prepared by the work (what the client hears once the command is decided) */
  int status;
  const char *code;
  char detail[200];
  long long retry_after_s;
  json_t *out;     /* response body (new) */
  json_t *revoked; /* [sid] to add to this instance's set at once */
  /* the command the work prepared, sent once the work is done (cmd_data new, or NULL) */
  char cmd_type[48], cmd_tenant[64], cmd_actor[200], cmd_badge[72], cmd_id[FOFAL_UUID_LEN + 1];
  json_t *cmd_data;
  int cmd_wait;                                      /* answer once the projection applied it */
  void (*post)(fofal_worker_t *w, auth_job_t *j);   /* worker work once it was accepted */
  char position[96];                                 /* of the accepted command */
};

/* ------------------------------------------------------------- helpers */

static const char *in_str(const auth_job_t *j, const char *name) { return json_string_value(json_object_get(j->in, name)); }

static void answer(auth_job_t *j, int status, const char *code, const char *detail) {
  j->status = status;
  j->code = code;
  snprintf(j->detail, sizeof j->detail, "%s", detail);
  json_decref(j->out);
  j->out = NULL;
}

/* PostgreSQL failed: 503 when unreachable (and the connection is dropped), else 500. No
 * command is sent after a failed work. */
static void pg_failed(fofal_worker_t *w, auth_job_t *j, int rc, const char *err) {
  if (rc == FOFAL_EUNAVAIL) {
    fofal__worker_pg_drop(w);
    answer(j, 503, "postgresql_unavailable", "PostgreSQL is not reachable; retry shortly");
    j->retry_after_s = 1;
  } else {
    LOG_ERROR("identity: %s", err);
    answer(j, 500, "internal_error", "the request failed; the error was logged");
  }
  json_decref(j->cmd_data);
  j->cmd_data = NULL;
}

/* One row as a JSON object (new) from SQL returning one json column, or NULL. */
static int q1(fofal_pg_t *pg, const char *sql, int n, const char *const *params, json_t **out, char *err, size_t errlen) {
  char *v = NULL;
  *out = NULL;
  int rc = fofal_pg_query_value(pg, sql, n, params, &v, err, errlen);
  if (!rc && v) *out = json_loads(v, 0, NULL);
  free(v);
  return rc;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void actor_of(char *out, size_t n, const char *account, const char *role) { snprintf(out, n, "u:%s/%s", account, role); }

/* The command the request sends once its work is done: `type` of `tenant` by `actor`; its
 * data (borrowed, filled by the caller). A later call replaces an earlier one. */
static json_t *command(auth_job_t *j, const char *type, const char *tenant, const char *actor) {
  snprintf(j->cmd_type, sizeof j->cmd_type, "%s", type);
  snprintf(j->cmd_tenant, sizeof j->cmd_tenant, "%s", tenant);
  snprintf(j->cmd_actor, sizeof j->cmd_actor, "%s", actor);
  fofal_uuid7(j->cmd_id);
  json_decref(j->cmd_data);
  j->cmd_data = json_pack("{s:s}", "ip", j->ip);
  return j->cmd_data;
}

/* A security event of an account (identity.account.record). */
static json_t *record(auth_job_t *j, const char *tenant, const char *account, const char *actor, const char *event) {
  json_t *d = command(j, "identity.account.record", tenant, actor);
  json_object_set_new(d, "account_id", json_string(account));
  json_object_set_new(d, "event", json_string(event));
  return d;
}

/* A sign-in naming no account or device of the tenant (identity.realm.record): what was
 * typed is left out, but a badge or device id that has their form. */
static void realm(auth_job_t *j, const char *tenant, const char *method, const char *reason, const char *badge,
                  const char *device) {
  char id[FOFAL_UUID_LEN + 1];
  fofal_identity_realm_id(tenant, id);
  json_t *d = command(j, "identity.realm.record", tenant, "anonymous");
  json_object_set_new(d, "realm_id", json_string(id));
  json_object_set_new(d, "event", json_string("login_failed"));
  json_object_set_new(d, "method", json_string(method));
  json_object_set_new(d, "reason", json_string(reason));
  if (badge && fofal_code_valid(badge)) json_object_set_new(d, "badge", json_string(badge));
  if (device && fofal_uuid_valid(device)) json_object_set_new(d, "device_id", json_string(device));
}

/* Personal data in identity commands: an account's username is sealed with the account's
 * own data key, so that `fofal account erase` shreds it from the audit trail. Sets it on
 * `d`, or leaves it out when the key cannot be had (a name is never written in clear). */
static void seal_username(fofal_pg_t *pg, auth_job_t *j, json_t *d, const char *tenant, const char *account,
                          const char *value) {
  char err[256];
  unsigned char key[FOFAL_PD_KEY_BYTES];
  if (fofal_person_key(pg, j->api->accounts->master, tenant, account, 1, key, err, sizeof err)) {
    LOG_WARN("identity: no data key for a person: %s", err);
  } else {
    json_t *v = json_string(value);
    json_object_set_new(d, "username", fofal_pd_seal(key, tenant, account, "username", v));
    json_decref(v);
  }
  memset(key, 0, sizeof key);
}

/* A secret of the projection, opened with the master key (new; wipe and free), or NULL. */
static char *open_secret(auth_job_t *j, const char *purpose, const char *tenant, const char *account, const char *sealed) {
  char *plain = fofal_pd_secret_open(j->api->accounts->master, purpose, tenant, account, sealed);
  if (sealed && !plain) LOG_ERROR("identity: a stored %s does not open with FOFAL_PD_MASTER_KEY", purpose);
  return plain;
}

static void wipe_free(char *s) {
  if (s) memset(s, 0, strlen(s));
  free(s);
}

const unsigned char *fofal__pd_master(fofal_api_t *api) { return api->accounts->master; }

/* ---------------------------------------------------------- rate limits
 * One token bucket per key; the script takes `cost` from every bucket only if all have
 * enough, and answers {allowed, retry_ms}. The arithmetic is fofal_bucket_take's
 * (credentials.c, unit-tested). Redis's own clock is used, so instances need not agree on
 * theirs. ARGV: per key, its rate per second and burst; then the cost. */
static const char bucket_lua[] =
    "local now_t = redis.call('TIME')\n"
    "local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)\n"
    "local cost = tonumber(ARGV[#ARGV])\n"
    "local state, retry = {}, 0\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local rate, burst = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "  local b = redis.call('HMGET', key, 'tokens', 'ts')\n"
    "  local tokens, ts = tonumber(b[1]) or burst, tonumber(b[2]) or now\n"
    "  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000); ts = now end\n"
    "  if tokens < cost then retry = math.max(retry, math.ceil((cost - tokens) * 1000 / rate)) end\n"
    "  state[i] = {tokens, ts, rate, burst}\n"
    "end\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local s = state[i]\n"
    "  local tokens = s[1]\n"
    "  if retry == 0 then tokens = tokens - cost end\n"
    "  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(s[2]))\n"
    "  redis.call('PEXPIRE', key, math.ceil(s[4] * 1000 / s[3]) + 1000)\n"
    "end\n"
    "if retry == 0 then return {1, 0} end\n"
    "return {0, retry}\n";

/* Takes one token from each of n buckets (limit per minute each; burst = that limit).
 * 0 (allowed), 1 (answered 429 / 503 on the job). */
static int limited(fofal_worker_t *w, auth_job_t *j, int n, const char *const *keys, const long long *per_min) {
  const char *argv[3 + 3 * 4];
  char nk[8], rates[4][32], bursts[4][24];
  int argc = 0;
  argv[argc++] = "EVAL";
  argv[argc++] = bucket_lua;
  snprintf(nk, sizeof nk, "%d", n);
  argv[argc++] = nk;
  for (int i = 0; i < n; i++) argv[argc++] = keys[i];
  for (int i = 0; i < n; i++) {
    snprintf(rates[i], sizeof rates[i], "%.6f", (double)per_min[i] / 60.0);
    snprintf(bursts[i], sizeof bursts[i], "%lld", per_min[i]);
    argv[argc++] = rates[i];
    argv[argc++] = bursts[i];
  }
  argv[argc++] = "1";
  json_t *rep = NULL;
  char err[256];
  int rc = fofal__redis_argv(fofal__worker_redis(w), argc, argv, &rep, err, sizeof err);
  if (rc || json_array_size(rep) != 2) {
    if (rc != FOFAL_EUNAVAIL) LOG_ERROR("identity: rate limit: %s", rc ? err : "unexpected reply");
    json_decref(rep);
    answer(j, 503, "redis_unavailable", "the rate limiter (Redis) is not reachable; retry shortly");
    j->retry_after_s = 1;
    return 1;
  }
  long long allowed = json_integer_value(json_array_get(rep, 0)), retry_ms = json_integer_value(json_array_get(rep, 1));
  json_decref(rep);
  if (allowed) return 0;
  answer(j, 429, "rate_limited", "too many attempts; wait before trying again");
  j->retry_after_s = (retry_ms + 999) / 1000;
  if (j->retry_after_s < 1) j->retry_after_s = 1;
  return 1;
}

/* ------------------------------------------------------- sessions, tokens */

/* Appends revoked session ids to the stream every instance tails. 0 or an error. */
static int publish_revocations(fofal_worker_t *w, auth_job_t *j, json_t *sids) {
  size_t i;
  json_t *s;
  char minid[32], err[256];
  long long window_ms = (j->api->conf.access_ttl + LEEWAY_S + 60) * 1000;
  snprintf(minid, sizeof minid, "%lld", (long long)(fofal_now_us() / 1000) - window_ms);
  json_array_foreach(sids, i, s) {
    const char *argv[] = {"XADD", REVOCATIONS, "MINID", "~", minid, "*", "m", json_string_value(s)};
    json_t *rep = NULL;
    int rc = fofal__redis_argv(fofal__worker_redis(w), 8, argv, &rep, err, sizeof err);
    json_decref(rep);
    if (rc) {
      LOG_WARN("identity: cannot publish a revocation: %s", err);
      answer(j, 503, "redis_unavailable", "the session was ended here but not yet announced; retry shortly");
      j->retry_after_s = 1;
      return rc;
    }
    json_array_append(j->revoked, s);
  }
  return 0;
}

/* Prepares the token body (status 200) of a session. The account's badge (NULL: none) goes
 * into the token: it is who the person is on the floor (their own views and records, and
 * who acts in their commands). */
static void answer_tokens(auth_job_t *j, const char *tenant, const char *account, const char *role, const char *badge,
                          const char *sid, const char *refresh) {
  fofal_api_conf_t *c = &j->api->conf;
  char *at = fofal__token_issue(c->jwt_secret, c->jwt_issuer, c->jwt_audience, tenant, account, role, badge, sid,
                                (long)c->access_ttl);
  if (!at) {
    answer(j, 500, "internal_error", "cannot sign a token");
    return;
  }
  json_decref(j->out);
  j->status = 200;
  j->out = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "access_token", at, "token_type", "Bearer", "expires_in",
                     (json_int_t)c->access_ttl, "refresh_token", refresh, "refresh_expires_in", (json_int_t)c->refresh_ttl,
                     "account_id", account, "role", role, "tenant", tenant, "sid", sid);
  if (badge) json_object_set_new(j->out, "badge", json_string(badge));
  free(at);
}

/* Creates a session for the account and prepares its tokens; the client hears them only
 * once the sign-in's event is in the log (else the session is never used: nobody has its
 * tokens). 0, or an error answered on the job. */
static int new_session(fofal_worker_t *w, fofal_pg_t *pg, auth_job_t *j, const char *tenant, const char *account,
                       const char *role, const char *badge, const char *device) {
  char sid[FOFAL_UUID_LEN + 1], refresh[64], digest[65], ttl[24], err[256];
  fofal_uuid7(sid);
  fofal_cred_random_token(refresh, sizeof refresh, 32);
  fofal_cred_digest(refresh, digest);
  snprintf(ttl, sizeof ttl, "%lld", j->api->conf.refresh_ttl);
  const char *p[] = {tenant, sid, account, device, ttl, digest};
  int rc = fofal_pg_execp(pg,
                          "WITH s AS (INSERT INTO identity_ops.sessions (tenant, sid, account_id, device_id, expires_at)"
                          " VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::bigint)) RETURNING tenant, sid)"
                          " INSERT INTO identity_ops.refresh_tokens (token_hash, tenant, sid) SELECT $6, tenant, sid FROM s",
                          6, p, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return rc;
  }
  answer_tokens(j, tenant, account, role, badge, sid, refresh);
  return j->status == 200 ? 0 : FOFAL_EIO;
}

/* Ends sessions chosen by `where` (SQL over $1 tenant, $2 …) with `reason`, and announces
 * them. 0 or an error answered on the job. */
static int end_sessions(fofal_worker_t *w, auth_job_t *j, const char *where, const char *tenant, const char *key,
                        const char *reason) {
  char err[256], sql[512], *v = NULL;
  fofal_pg_t *pg;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  snprintf(sql, sizeof sql,
           "WITH s AS (UPDATE identity_ops.sessions SET revoked_at = now(), revoked_reason = $3"
           " WHERE tenant = $1 AND %s AND revoked_at IS NULL RETURNING sid) SELECT COALESCE(json_agg(sid), '[]') FROM s",
           where);
  const char *p[] = {tenant, key, reason};
  if (!rc) rc = fofal_pg_query_value(pg, sql, 3, p, &v, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return rc;
  }
  json_t *sids = v ? json_loads(v, 0, NULL) : json_array();
  free(v);
  rc = publish_revocations(w, j, sids);
  json_decref(sids);
  return rc;
}

/* ------------------------------------------------------------ operations */

static void run_login(fofal_worker_t *w, auth_job_t *j) {
  const char *tenant = in_str(j, "tenant"), *user = in_str(j, "username"), *pw = in_str(j, "password");
  accounts_t *a = j->api->accounts;
  char k1[128], k2[256], err[256], id[FOFAL_UUID_LEN + 1], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:login:ip:%s", j->ip);
  snprintf(k2, sizeof k2, "fofal:rl:login:acct:%s:%s", tenant, user);
  const char *keys[] = {k1, k2};
  long long lim[] = {j->api->conf.rate_login_ip, j->api->conf.rate_login_account};
  if (limited(w, j, 2, keys, lim)) return;
  fofal_api_account_id(a->master, tenant, user, id);
  fofal_pg_t *pg;
  json_t *acct = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {tenant, id};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('role', role, 'badge', badge, 'hash', password_hash, 'totp', totp_secret IS NOT"
            " NULL) FROM identity.accounts WHERE tenant = $1 AND id = $2::uuid AND erased_at IS NULL",
            2, p, &acct, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  char *hash = acct ? open_secret(j, FOFAL_IDENTITY_SEAL_PASSWORD, tenant, id, jstr(acct, "hash")) : NULL;
  /* An unknown account costs the same hash as a known one. */
  int ok = fofal_cred_verify(hash ? hash : a->dummy_hash, pw) && hash;
  wipe_free(hash);
  if (!ok) {
    /* The name typed is personal data (or a mistyped password): sealed for a known
     * account, left out for an unknown one. */
    if (acct) {
      json_t *d = record(j, tenant, id, "anonymous", "login_failed");
      json_object_set_new(d, "method", json_string("password"));
      json_object_set_new(d, "reason", json_string("bad_password"));
      seal_username(pg, j, d, tenant, id, user);
    } else {
      realm(j, tenant, "password", "unknown_account", NULL, NULL);
    }
    answer(j, 401, "invalid_credentials", "the username or the password is wrong");
    json_decref(acct);
    return;
  }
  const char *role = jstr(acct, "role");
  actor_of(actor, sizeof actor, id, role);
  if (fofal_api_role_needs_mfa(role)) {
    fofal_api_conf_t *c = &j->api->conf;
    char *mt = fofal__token_issue(c->jwt_secret, c->jwt_issuer, a->mfa_audience, tenant, id, role, NULL, NULL, MFA_TTL_S);
    j->status = 200;
    j->out = json_pack("{s:b,s:s,s:b,s:i}", "mfa_required", 1, "mfa_token", mt ? mt : "", "mfa_enrolled",
                       json_is_true(json_object_get(acct, "totp")), "expires_in", MFA_TTL_S);
    free(mt);
    json_t *d = record(j, tenant, id, actor, "password_verified");
    json_object_set_new(d, "mfa_required", json_true());
    seal_username(pg, j, d, tenant, id, user);
  } else if (!new_session(w, pg, j, tenant, id, role, jstr(acct, "badge"), NULL)) {
    json_t *d = record(j, tenant, id, actor, "login_succeeded");
    json_object_set_new(d, "method", json_string("password"));
    json_object_set(d, "sid", json_object_get(j->out, "sid"));
    seal_username(pg, j, d, tenant, id, user);
  }
  json_decref(acct);
}

static void run_enrol(fofal_worker_t *w, auth_job_t *j) {
  char err[256], secret[41];
  fofal_pg_t *pg;
  json_t *row = NULL;
  const char *p[] = {j->who.tenant, j->who.subject, NULL};
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('username', username, 'enrolled', totp_secret IS NOT NULL) FROM identity.accounts"
            " WHERE tenant = $1 AND id = $2::uuid AND erased_at IS NULL",
            2, p, &row, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  if (!row) {
    answer(j, 401, "invalid_token", "the account no longer exists");
    return;
  }
  if (json_is_true(json_object_get(row, "enrolled"))) {
    json_decref(row);
    answer(j, 409, "already_enrolled", "a TOTP secret is already enrolled for this account");
    return;
  }
  fofal_cred_totp_secret(secret);
  /* Until a first code verifies it, the secret is operational state, sealed under the
   * master key as it will be in the log. */
  char *sealed = fofal_pd_secret_seal(j->api->accounts->master, FOFAL_IDENTITY_SEAL_TOTP, j->who.tenant,
                                      j->who.subject, secret);
  p[2] = sealed;
  rc = fofal_pg_execp(pg,
                      "INSERT INTO identity_ops.accounts (tenant, account_id, totp_pending) VALUES ($1, $2::uuid, $3)"
                      " ON CONFLICT (tenant, account_id) DO UPDATE SET totp_pending = $3",
                      3, p, err, sizeof err);
  free(sealed);
  if (rc) {
    memset(secret, 0, sizeof secret);
    json_decref(row);
    pg_failed(w, j, rc, err);
    return;
  }
  char label[200];
  snprintf(label, sizeof label, "%s@%s", jstr(row, "username"), j->who.tenant);
  char *uri = fofal_cred_totp_uri(secret, "FOFAL", label);
  char *svg = uri ? fofal_cred_qr_svg(uri) : NULL;
  j->status = 200;
  j->out = json_pack("{s:s,s:s?}", "otpauth_uri", uri ? uri : "", "qr_svg", svg);
  memset(secret, 0, sizeof secret);
  free(uri);
  free(svg);
  json_decref(row);
}

/* The index of the recovery code whose SHA-256 is `digest` among the opened list, or -1. */
static int recovery_index(const char *list_json, const char *digest) {
  json_t *list = list_json ? json_loads(list_json, 0, NULL) : NULL;
  size_t i;
  json_t *h;
  int found = -1;
  json_array_foreach(list, i, h) if (json_is_string(h) && fofal_cred_equal(json_string_value(h), digest)) found = (int)i;
  json_decref(list);
  return found;
}

/* A wrong second factor: counted (mfa_lockout.c), recorded as mfa_failed — or, when it
 * locks the account's MFA step, as mfa_failed then mfa_locked — and answered 401 (429). */
static void mfa_failed(fofal_worker_t *w, auth_job_t *j, const char *actor, const char *method) {
  const fofal_principal_t *who = &j->who;
  char err[256];
  long long failures = 0;
  long long lock_s = fofal__mfa_failure(fofal__worker_redis(w), who->tenant, who->subject, j->api->conf.mfa_max_failures,
                                        &failures, err, sizeof err);
  if (lock_s < 0) LOG_WARN("identity: cannot count a wrong MFA code: %s", err);
  json_t *d = record(j, who->tenant, who->subject, actor, lock_s > 0 ? "mfa_locked" : "mfa_failed");
  json_object_set_new(d, "method", json_string(method));
  answer(j, 401, "invalid_code", "the code is wrong, expired or already used");
  if (lock_s > 0) {
    json_object_set_new(d, "failures", json_integer(failures));
    json_object_set_new(d, "seconds", json_integer(lock_s));
    answer(j, 429, "locked_out", "too many wrong codes: the second factor of this account is locked for a while");
    j->retry_after_s = lock_s;
  }
}

static void run_mfa(fofal_worker_t *w, auth_job_t *j) {
  const char *code = in_str(j, "code"), *recovery = in_str(j, "recovery_code");
  const fofal_principal_t *who = &j->who;
  char k1[256], k2[128], err[256], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:mfa:acct:%s:%s", who->tenant, who->subject);
  snprintf(k2, sizeof k2, "fofal:rl:login:ip:%s", j->ip);
  const char *keys[] = {k1, k2};
  long long lim[] = {j->api->conf.rate_login_account, j->api->conf.rate_login_ip};
  if (limited(w, j, 2, keys, lim)) return;
  /* Locked after too many wrong codes (mfa_lockout.c): the right code waits too. */
  long long locked_s = fofal__mfa_lock_left(fofal__worker_redis(w), who->tenant, who->subject, err, sizeof err);
  if (locked_s) {
    answer(j, locked_s < 0 ? 503 : 429, locked_s < 0 ? "redis_unavailable" : "locked_out",
           locked_s < 0 ? "the MFA lockout (Redis) is not reachable; retry shortly"
                        : "too many wrong codes: the second factor of this account is locked for a while");
    j->retry_after_s = locked_s < 0 ? 1 : locked_s;
    return;
  }
  fofal_pg_t *pg;
  json_t *acct = NULL, *done = NULL;
  char *secret = NULL, *pending = NULL, *codes_json = NULL; /* opened secrets: wiped at the end */
  const char *method = code ? "totp" : "recovery_code";
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, who->subject};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('secret', a.totp_secret, 'codes', a.recovery_codes, 'used', a.recovery_used,"
            " 'role', a.role, 'badge', a.badge, 'pending', o.totp_pending, 'last', COALESCE(o.totp_last_step, 0))"
            " FROM identity.accounts a LEFT JOIN identity_ops.accounts o ON o.tenant = a.tenant AND o.account_id = a.id"
            " WHERE a.tenant = $1 AND a.id = $2::uuid AND a.erased_at IS NULL",
            2, p, &acct, err, sizeof err);
  if (rc) goto pgfail;
  if (!acct) {
    answer(j, 401, "invalid_token", "the account no longer exists");
    return;
  }
  const char *role = jstr(acct, "role");
  actor_of(actor, sizeof actor, who->subject, role);
  secret = open_secret(j, FOFAL_IDENTITY_SEAL_TOTP, who->tenant, who->subject, jstr(acct, "secret"));
  pending = open_secret(j, FOFAL_IDENTITY_SEAL_TOTP, who->tenant, who->subject, jstr(acct, "pending"));
  int enrolling = !secret && pending, ok = 0, index = -1;
  json_t *codes = NULL;
  if (code && (secret || pending)) {
    long long step = fofal_cred_totp_check(secret ? secret : pending, (long long)time(NULL), code,
                                           json_integer_value(json_object_get(acct, "last")), 1);
    if (step >= 0) {
      char steps[24];
      snprintf(steps, sizeof steps, "%lld", step);
      const char *pu[] = {who->tenant, who->subject, steps};
      /* Conditional on the last step: two requests with one code cannot both pass. */
      rc = q1(pg,
              "INSERT INTO identity_ops.accounts AS o (tenant, account_id, totp_last_step) VALUES ($1, $2::uuid, $3::bigint)"
              " ON CONFLICT (tenant, account_id) DO UPDATE SET totp_last_step = $3::bigint WHERE o.totp_last_step < $3::bigint"
              " RETURNING json_build_object('ok', true)",
              3, pu, &done, err, sizeof err);
      if (rc) goto pgfail;
      ok = done != NULL;
    }
  } else if (recovery && secret) {
    char digest[65];
    fofal_cred_digest(recovery, digest);
    codes_json = open_secret(j, FOFAL_IDENTITY_SEAL_RECOVERY, who->tenant, who->subject, jstr(acct, "codes"));
    index = recovery_index(codes_json, digest);
    /* The projection may lag behind a use: the decider, which refuses a second one, decides. */
    ok = index >= 0 && !((json_integer_value(json_object_get(acct, "used")) >> index) & 1);
  }
  if (!ok) {
    mfa_failed(w, j, actor, method);
    goto out;
  }
  fofal__mfa_success(fofal__worker_redis(w), who->tenant, who->subject);
  if (new_session(w, pg, j, who->tenant, who->subject, role, jstr(acct, "badge"), NULL)) goto out;
  if (enrolling) {
    /* The first code completes the enrolment: the secret and the recovery codes' hashes
     * go to the log, sealed, and the codes themselves to the client, once. */
    json_t *digests = json_array();
    codes = json_array();
    for (int i = 0; i < FOFAL_IDENTITY_RECOVERY_CODES; i++) {
      char rcode[16], digest[65];
      fofal_cred_recovery_code(rcode);
      fofal_cred_digest(rcode, digest);
      json_array_append_new(codes, json_string(rcode));
      json_array_append_new(digests, json_string(digest));
    }
    char *list = fofal_json_dumps(digests, JSON_COMPACT);
    char *sealed = fofal_pd_secret_seal(j->api->accounts->master, FOFAL_IDENTITY_SEAL_RECOVERY, who->tenant,
                                        who->subject, list);
    json_t *d = command(j, "identity.account.enrol_mfa", who->tenant, actor);
    json_object_set_new(d, "account_id", json_string(who->subject));
    json_object_set_new(d, "totp_secret", json_string(jstr(acct, "pending")));
    json_object_set_new(d, "recovery_codes", json_string(sealed));
    json_object_set(d, "sid", json_object_get(j->out, "sid"));
    j->cmd_wait = 1; /* the next sign-in reads the secret from the projection */
    json_object_set(j->out, "recovery_codes", codes);
    free(sealed);
    free(list);
    json_decref(digests);
  } else {
    json_t *d = record(j, who->tenant, who->subject, actor, "mfa_verified");
    json_object_set_new(d, "method", json_string(method));
    json_object_set(d, "sid", json_object_get(j->out, "sid"));
    if (index >= 0) json_object_set_new(d, "recovery_code", json_integer(index));
  }
  goto out;
pgfail:
  pg_failed(w, j, rc, err);
out:
  wipe_free(secret);
  wipe_free(pending);
  wipe_free(codes_json);
  json_decref(codes);
  json_decref(acct);
  json_decref(done);
}

static void run_refresh(fofal_worker_t *w, auth_job_t *j) {
  char k1[128], digest[65], err[256], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:refresh:ip:%s", j->ip);
  const char *keys[] = {k1};
  long long lim[] = {j->api->conf.rate_login_ip * 6};
  if (limited(w, j, 1, keys, lim)) return;
  fofal_cred_digest(in_str(j, "refresh_token"), digest);
  fofal_pg_t *pg;
  json_t *row = NULL, *sids = json_array();
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  if (rc || (rc = fofal_pg_exec(pg, "BEGIN", err, sizeof err))) goto pgfail;
  const char *p[] = {digest};
  rc = q1(pg,
          "SELECT json_build_object('tenant', r.tenant, 'sid', r.sid, 'used', r.used_at IS NOT NULL,"
          " 'revoked', s.revoked_at IS NOT NULL, 'expired', s.expires_at < now(), 'account', s.account_id,"
          " 'role', a.role, 'badge', a.badge) FROM identity_ops.refresh_tokens r"
          " JOIN identity_ops.sessions s ON s.tenant = r.tenant AND s.sid = r.sid"
          " JOIN identity.accounts a ON a.tenant = s.tenant AND a.id = s.account_id AND a.erased_at IS NULL"
          " WHERE r.token_hash = $1 FOR UPDATE OF r, s",
          1, p, &row, err, sizeof err);
  if (rc) goto rollback;
  if (!row || json_is_true(json_object_get(row, "revoked")) || json_is_true(json_object_get(row, "expired"))) {
    fofal_pg_exec(pg, "ROLLBACK", NULL, 0);
    answer(j, 401, "invalid_refresh_token", "the refresh token is not valid; sign in again");
    goto out;
  }
  const char *tenant = jstr(row, "tenant"), *sid = jstr(row, "sid"), *account = jstr(row, "account"), *role = jstr(row, "role");
  actor_of(actor, sizeof actor, account, role);
  if (json_is_true(json_object_get(row, "used"))) {
    /* Reuse: someone else holds a copy. The whole family ends. */
    const char *pr[] = {tenant, sid};
    if ((rc = fofal_pg_execp(pg,
                             "UPDATE identity_ops.sessions SET revoked_at = now(), revoked_reason = 'refresh_reuse'"
                             " WHERE tenant = $1 AND sid = $2",
                             2, pr, err, sizeof err)) ||
        (rc = fofal_pg_exec(pg, "COMMIT", err, sizeof err)))
      goto rollback;
    json_array_append_new(sids, json_string(sid));
    if (publish_revocations(w, j, sids)) goto out;
    json_object_set_new(record(j, tenant, account, actor, "refresh_reused"), "sid", json_string(sid));
    answer(j, 401, "refresh_token_reused", "this refresh token was already used; the session has been ended");
    goto out;
  }
  char refresh[64], ndigest[65];
  fofal_cred_random_token(refresh, sizeof refresh, 32);
  fofal_cred_digest(refresh, ndigest);
  const char *pu[] = {digest, ndigest, tenant, sid};
  if ((rc = fofal_pg_execp(pg,
                           "WITH u AS (UPDATE identity_ops.refresh_tokens SET used_at = now() WHERE token_hash = $1)"
                           " INSERT INTO identity_ops.refresh_tokens (token_hash, tenant, sid) VALUES ($2, $3, $4)",
                           4, pu, err, sizeof err)) ||
      (rc = fofal_pg_exec(pg, "COMMIT", err, sizeof err)))
    goto rollback;
  answer_tokens(j, tenant, account, role, jstr(row, "badge"), sid, refresh);
  goto out;
rollback:
  if (rc != FOFAL_EUNAVAIL) fofal_pg_exec(pg, "ROLLBACK", NULL, 0);
pgfail:
  pg_failed(w, j, rc, err);
out:
  json_decref(row);
  json_decref(sids);
}

static void run_logout(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  char actor[200];
  if (end_sessions(w, j, "sid = $2::uuid", who->tenant, who->sid, "logout")) return;
  actor_of(actor, sizeof actor, who->subject, who->role);
  json_object_set_new(record(j, who->tenant, who->subject, actor, "logged_out"), "sid", json_string(who->sid));
  j->status = 204;
}

/* After a password change is in the log: every session of the account ends. */
static void post_password(fofal_worker_t *w, auth_job_t *j) {
  end_sessions(w, j, "account_id = $2::uuid", j->who.tenant, j->who.subject, "password_changed");
}

static void run_password(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  accounts_t *a = j->api->accounts;
  const char *cur = in_str(j, "current_password"), *next = in_str(j, "new_password");
  char k1[256], err[256], actor[200], hash[FOFAL_CRED_HASH_MAX];
  snprintf(k1, sizeof k1, "fofal:rl:password:acct:%s:%s", who->tenant, who->subject);
  const char *keys[] = {k1};
  long long lim[] = {j->api->conf.rate_login_account};
  if (limited(w, j, 1, keys, lim)) return;
  fofal_pg_t *pg;
  json_t *acct = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, who->subject};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('hash', password_hash) FROM identity.accounts WHERE tenant = $1 AND id = $2::uuid"
            " AND erased_at IS NULL",
            2, p, &acct, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  actor_of(actor, sizeof actor, who->subject, who->role);
  char *old = acct ? open_secret(j, FOFAL_IDENTITY_SEAL_PASSWORD, who->tenant, who->subject, jstr(acct, "hash")) : NULL;
  int ok = old && fofal_cred_verify(old, cur), known = acct != NULL;
  wipe_free(old);
  json_decref(acct);
  if (!ok) {
    if (known) record(j, who->tenant, who->subject, actor, "password_change_failed");
    answer(j, 403, "invalid_credentials", "the current password is wrong");
    return;
  }
  if (fofal_cred_hash(next, (unsigned)j->api->conf.argon2_t, (unsigned)j->api->conf.argon2_m_kib, hash, sizeof hash)) {
    answer(j, 500, "internal_error", "cannot hash the password");
    return;
  }
  char *sealed = fofal_pd_secret_seal(a->master, FOFAL_IDENTITY_SEAL_PASSWORD, who->tenant, who->subject, hash);
  memset(hash, 0, sizeof hash);
  json_t *d = command(j, "identity.account.change_password", who->tenant, actor);
  json_object_set_new(d, "account_id", json_string(who->subject));
  json_object_set_new(d, "password_hash", json_string(sealed));
  free(sealed);
  j->cmd_wait = 1; /* the old password stops working before the answer */
  j->post = post_password;
  j->status = 204;
}

static void run_account(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  const char *user = in_str(j, "username"), *role = in_str(j, "role");
  char id[FOFAL_UUID_LEN + 1], err[256], actor[200];
  fofal_pg_t *pg;
  json_t *data = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  if (!rc)
    rc = fofal_api_account_data(pg, j->api->accounts->master, who->tenant, user, role, in_str(j, "password"),
                                in_str(j, "badge"), in_str(j, "pin"), (unsigned)j->api->conf.argon2_t,
                                (unsigned)j->api->conf.argon2_m_kib, j->ip, &data, id, err, sizeof err);
  if (rc == FOFAL_EEXIST) {
    answer(j, 409, "already_exists", "an account with this username was erased: the name cannot be used again");
    return;
  }
  if (rc == FOFAL_EINVAL) {
    answer(j, 422, "invalid_request", err);
    return;
  }
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  actor_of(actor, sizeof actor, who->subject, who->role);
  command(j, "identity.account.create", who->tenant, actor);
  json_object_update(j->cmd_data, data);
  json_decref(data);
  snprintf(j->cmd_badge, sizeof j->cmd_badge, "%s", who->badge);
  j->cmd_wait = 1; /* "an account created a second ago can sign in" */
  j->status = 201;
  j->out = json_pack("{s:s,s:s,s:s}", "account_id", id, "username", user, "role", role);
}

static void run_device(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  char id[FOFAL_UUID_LEN + 1], secret[64], digest[65], actor[200];
  (void)w;
  fofal_uuid7(id);
  fofal_cred_random_token(secret, sizeof secret, 32);
  fofal_cred_digest(secret, digest);
  actor_of(actor, sizeof actor, who->subject, who->role);
  json_t *d = command(j, "identity.device.enrol", who->tenant, actor);
  json_object_set_new(d, "device_id", json_string(id));
  json_object_set_new(d, "name", json_string(in_str(j, "name")));
  json_object_set_new(d, "secret_sha256", json_string(digest));
  j->cmd_wait = 1;
  j->status = 201;
  j->out = json_pack("{s:s,s:s,s:s}", "device_id", id, "device_secret", secret, "name", in_str(j, "name"));
  memset(secret, 0, sizeof secret);
}

/* An MQTT gateway: a random password (256 bits) that only the caller hears, and its
 * Mosquitto hash that goes through the log to the broker (fofal-mqtt-auth). Its topics are
 * the caller's tenant's: the token's, never the body's. */
#define MQTT_HASH_ITERATIONS 101 /* mosquitto_passwd's; the password is random, not guessable */
static void run_gateway(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  char id[FOFAL_UUID_LEN + 1], secret[64], hash[FOFAL_CRED_MQTT_HASH_LEN], actor[200], user[FOFAL_UUID_LEN + 4];
  (void)w;
  fofal_uuid7(id);
  snprintf(user, sizeof user, "gw-%s", id);
  fofal_cred_random_token(secret, sizeof secret, 32);
  fofal_cred_mqtt_hash(secret, NULL, MQTT_HASH_ITERATIONS, hash);
  actor_of(actor, sizeof actor, who->subject, who->role);
  json_t *d = command(j, "identity.gateway.enrol", who->tenant, actor);
  const json_t *looms = json_object_get(j->in, "looms");
  json_object_set_new(d, "gateway_id", json_string(id));
  json_object_set_new(d, "name", json_string(in_str(j, "name")));
  if (json_array_size(looms)) json_object_set_new(d, "looms", json_deep_copy(looms));
  json_object_set_new(d, "password_hash", json_string(hash));
  j->cmd_wait = 0; /* the broker learns it from the log, not from the projection */
  j->status = 201;
  j->out = json_pack("{s:s,s:s,s:s,s:s,s:s}", "gateway_id", id, "username", user, "password", secret, "tenant",
                     who->tenant, "name", in_str(j, "name"));
  if (json_array_size(looms)) json_object_set_new(j->out, "looms", json_deep_copy(looms));
  memset(secret, 0, sizeof secret);
}

/* After a device's revocation is in the log: the sessions opened on it end. */
static void post_revoke(fofal_worker_t *w, auth_job_t *j) {
  end_sessions(w, j, "device_id = $2::uuid", j->who.tenant, j->device, "device_revoked");
}

static void run_revoke(fofal_worker_t *w, auth_job_t *j) {
  char actor[200];
  (void)w;
  actor_of(actor, sizeof actor, j->who.subject, j->who.role);
  json_t *d = command(j, "identity.device.revoke", j->who.tenant, actor);
  json_object_set_new(d, "device_id", json_string(j->device));
  if (in_str(j, "reason")) json_object_set_new(d, "reason", json_string(in_str(j, "reason")));
  j->cmd_wait = 1; /* no PIN sign-in on it once answered */
  j->post = post_revoke;
  j->status = 204;
}

static void run_pin(fofal_worker_t *w, auth_job_t *j) {
  accounts_t *a = j->api->accounts;
  const char *tenant = in_str(j, "tenant"), *dev = in_str(j, "device_id"), *dsec = in_str(j, "device_secret"),
             *badge = in_str(j, "badge"), *pin = in_str(j, "pin");
  char k1[256], k2[256], k3[128], err[256], digest[65], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:pin:dev:%s:%s", tenant, dev);
  snprintf(k2, sizeof k2, "fofal:rl:pin:badge:%s:%s", tenant, badge);
  snprintf(k3, sizeof k3, "fofal:rl:login:ip:%s", j->ip);
  /* The device's and the IP's buckets first; the badge's only once the device proved
   * itself (below): requests with made-up device ids cannot drain a badge's bucket and so
   * keep its holder from signing in (issue 22 item 4). */
  const char *keys[] = {k1, k3}, *badge_key[] = {k2};
  long long lim[] = {j->api->conf.rate_pin_device, j->api->conf.rate_login_ip}, badge_lim[] = {j->api->conf.rate_pin_badge};
  if (limited(w, j, 2, keys, lim)) return;
  fofal_pg_t *pg;
  json_t *d = NULL, *acct = NULL, *after = NULL;
  char *hash = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *pd[] = {tenant, dev};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('hash', secret_hash) FROM identity.devices WHERE tenant = $1 AND id::text = $2"
            " AND revoked_at IS NULL",
            2, pd, &d, err, sizeof err);
  if (rc) goto pgfail;
  fofal_cred_digest(dsec, digest);
  if (!d || !fofal_cred_equal(jstr(d, "hash"), digest)) {
    realm(j, tenant, "pin", "unknown_device", NULL, dev);
    answer(j, 401, "invalid_device", "this device is not enrolled");
    goto out;
  }
  if (limited(w, j, 1, badge_key, badge_lim)) goto out;
  const char *pa[] = {tenant, badge};
  rc = q1(pg,
          "SELECT json_build_object('id', a.id, 'role', a.role, 'badge', a.badge, 'hash', a.pin_hash,"
          " 'locked_s', CEIL(EXTRACT(EPOCH FROM (o.pin_locked_until - now())))::bigint) FROM identity.accounts a"
          " LEFT JOIN identity_ops.accounts o ON o.tenant = a.tenant AND o.account_id = a.id"
          " WHERE a.tenant = $1 AND a.badge = $2 AND a.erased_at IS NULL",
          2, pa, &acct, err, sizeof err);
  if (rc) goto pgfail;
  long long locked_s = acct ? json_integer_value(json_object_get(acct, "locked_s")) : 0;
  if (locked_s > 0) {
    answer(j, 429, "locked_out", "too many wrong PINs: this badge is locked for a while");
    j->retry_after_s = locked_s;
    goto out;
  }
  const char *id = acct ? jstr(acct, "id") : NULL;
  hash = acct ? open_secret(j, FOFAL_IDENTITY_SEAL_PIN, tenant, id, jstr(acct, "hash")) : NULL;
  int ok = fofal_cred_verify(hash ? hash : a->dummy_hash, pin) && hash;
  if (!ok) {
    if (!acct) {
      realm(j, tenant, "pin", "unknown_badge", badge, dev);
      answer(j, 401, "invalid_credentials", "the badge or the PIN is wrong");
      goto out;
    }
    char maxf[24], decay[24];
    snprintf(maxf, sizeof maxf, "%lld", j->api->conf.pin_max_failures);
    snprintf(decay, sizeof decay, "%lld", j->api->conf.pin_failure_decay_s);
    const char *pf[] = {tenant, id, maxf, decay};
    /* From the max-th failure in a row on, locked 1, 2, 4 … 64 minutes. Failures decay: one
     * more than FOFAL_API_PIN_FAILURE_DECAY_S after the last counts as the first again, so
     * the odd typo of last week never adds up to a lock (issue 22 item 4). */
#define PIN_NEXT                                                                                                       \
  "(CASE WHEN o.pin_failed_at IS NULL OR o.pin_failed_at < now() - make_interval(secs => $4::int) THEN 1"              \
  " ELSE o.pin_failures + 1 END)"
    rc = q1(pg,
            "INSERT INTO identity_ops.accounts AS o (tenant, account_id, pin_failures, pin_locked_until, pin_failed_at)"
            " VALUES ($1, $2::uuid, 1, CASE WHEN 1 >= $3::int THEN now() + make_interval(mins => 1) END, now())"
            " ON CONFLICT (tenant, account_id) DO UPDATE SET pin_failures = " PIN_NEXT ", pin_locked_until = CASE"
            " WHEN " PIN_NEXT " >= $3::int THEN now() + make_interval(mins => power(2, LEAST(" PIN_NEXT " - $3::int, 6))::int)"
            " END, pin_failed_at = now() RETURNING json_build_object('failures', pin_failures,"
            " 'locked_s', CEIL(EXTRACT(EPOCH FROM (pin_locked_until - now())))::bigint)",
            4, pf, &after, err, sizeof err);
#undef PIN_NEXT
    if (rc) goto pgfail;
    long long ls = after ? json_integer_value(json_object_get(after, "locked_s")) : 0;
    json_t *e = record(j, tenant, id, "anonymous", ls > 0 ? "locked_out" : "login_failed");
    json_object_set_new(e, "method", json_string("pin"));
    json_object_set_new(e, "badge", json_string(badge));
    json_object_set_new(e, "device_id", json_string(dev));
    if (ls > 0) {
      json_object_set(e, "failures", json_object_get(after, "failures"));
      json_object_set_new(e, "seconds", json_integer(ls));
      answer(j, 429, "locked_out", "too many wrong PINs: this badge is locked for a while");
      j->retry_after_s = ls;
    } else {
      json_object_set_new(e, "reason", json_string("bad_pin"));
      answer(j, 401, "invalid_credentials", "the badge or the PIN is wrong");
    }
    goto out;
  }
  const char *role = jstr(acct, "role");
  if (fofal_api_role_needs_mfa(role)) {
    answer(j, 403, "pin_not_allowed", "this role must sign in with a password and a second factor");
    goto out;
  }
  const char *pr[] = {tenant, id};
  if ((rc = fofal_pg_execp(pg,
                           "UPDATE identity_ops.accounts SET pin_failures = 0, pin_locked_until = NULL"
                           " WHERE tenant = $1 AND account_id = $2::uuid",
                           2, pr, err, sizeof err)))
    goto pgfail;
  actor_of(actor, sizeof actor, id, role);
  if (!new_session(w, pg, j, tenant, id, role, jstr(acct, "badge"), dev)) {
    json_t *e = record(j, tenant, id, actor, "login_succeeded");
    json_object_set_new(e, "method", json_string("pin"));
    json_object_set_new(e, "badge", json_string(badge));
    json_object_set_new(e, "device_id", json_string(dev));
    json_object_set(e, "sid", json_object_get(j->out, "sid"));
  }
  goto out;
pgfail:
  pg_failed(w, j, rc, err);
out:
  wipe_free(hash);
  json_decref(d);
  json_decref(acct);
  json_decref(after);
}

static void job_run(fofal_worker_t *w, fofal_job_t *job) {
  auth_job_t *j = (auth_job_t *)job;
  if (j->phase == PH_POST) {
    j->post(w, j);
    return;
  }
  switch (j->op) {
  case OP_LOGIN: run_login(w, j); break;
  case OP_MFA: run_mfa(w, j); break;
  case OP_ENROL: run_enrol(w, j); break;
  case OP_REFRESH: run_refresh(w, j); break;
  case OP_LOGOUT: run_logout(w, j); break;
  case OP_PASSWORD: run_password(w, j); break;
  case OP_ACCOUNT: run_account(w, j); break;
  case OP_DEVICE: run_device(w, j); break;
  case OP_GATEWAY: run_gateway(w, j); break;
  case OP_REVOKE: run_revoke(w, j); break;
  case OP_PIN: run_pin(w, j); break;
  }
}

/* ------------------------------------------------------ the life of a request
 * Loop thread: work done → command sent → decided → post work → projection reached →
 * answered (each step may be skipped; any failure answers at once). */

static void job_free(auth_job_t *j) {
  if (j->ctx) j->ctx->job = NULL;
  json_decref(j->out);
  json_decref(j->in);
  json_decref(j->revoked);
  json_decref(j->cmd_data);
  free(j);
}

/* Sends the prepared answer (when the request is still there) and frees the job. */
static void finish(auth_job_t *j) {
  if (j->ctx) {
    h2o_req_t *req = j->ctx->req;
    j->ctx->job = NULL; /* detached before anything is sent: the request may end with it */
    j->ctx = NULL;
    if (j->retry_after_s > 0) {
      char ra[24];
      snprintf(ra, sizeof ra, "%lld", j->retry_after_s);
      fofal__add_header(req, "Retry-After", ra);
    }
    if (j->status >= 400 || !j->status) {
      fofal__send_problem(req, j->status ? j->status : 500, j->code ? j->code : "internal_error", j->detail, NULL);
    } else if (j->status == 204) {
      req->res.status = 204;
      req->res.reason = "No Content";
      h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
      atomic_fetch_add(&fofal__metrics.responses_2xx, 1);
      h2o_send_inline(req, "", 0);
    } else {
      fofal__send_json(req, j->status, j->out);
      j->out = NULL;
    }
  }
  job_free(j);
}

/* The sessions a worker phase ended: refused by this instance at once. */
static void settle_revoked(fofal_api_t *api, auth_job_t *j) {
  size_t i;
  json_t *s;
  long until = (long)time(NULL) + (long)api->conf.access_ttl + LEEWAY_S + 60;
  json_array_foreach(j->revoked, i, s) {
    fofal__auth_revoke(json_string_value(s), until);
    fofal__stream_revoke(api, json_string_value(s));
  }
  json_array_clear(j->revoked);
}

static void send_command(fofal_api_t *api, auth_job_t *j);

static void on_applied(void *opaque) {
  auth_job_t *j = opaque;
  finish(j);
}

/* The command is decided and its post work done: wait for the projection if the answer
 * needs it, then answer. */
static void after_decided(fofal_api_t *api, auth_job_t *j) {
  if (!j->cmd_wait || !j->position[0] || !j->ctx || j->status >= 400) {
    finish(j);
    return;
  }
  if (fofal__after_position_at(api, j->ctx->req, j->position, 0, on_applied, j)) {
    job_free(j); /* it answered at once */
    return;
  }
  j->phase = PH_WAIT; /* the request owns the job now (on_ctx_dispose) */
}

/* A refused identity command: what the client hears. */
static void refused(fofal_api_t *api, auth_job_t *j, int status, const json_t *res) {
  const char *code = jstr(res, "code") ?: "";
  if (!strcmp(code, "account_erased")) {
    answer(j, 401, "invalid_credentials", "this account was erased");
  } else if (j->op == OP_ACCOUNT && !strcmp(code, "already_exists")) {
    answer(j, 409, "already_exists", "an account with this username or badge exists in the tenant");
  } else if ((j->op == OP_DEVICE || j->op == OP_REVOKE) && status == 404) {
    answer(j, 404, "not_found", "no such device in this tenant");
  } else if (j->op == OP_GATEWAY && !strcmp(code, "invalid_tenant")) {
    answer(j, 422, "invalid_tenant", "this tenant's name cannot be an MQTT topic level");
  } else if (j->op == OP_REVOKE && !strcmp(code, "already_revoked")) {
    answer(j, 409, "already_revoked", "this device was revoked already");
  } else if (j->op == OP_MFA && (!strcmp(code, "code_used") || !strcmp(code, "already_enrolled"))) {
    /* Another request used this code or completed this enrolment first: an MFA failure,
     * which the log hears of too before the client does. */
    char actor[200];
    actor_of(actor, sizeof actor, j->who.subject, j->who.role);
    json_object_set_new(record(j, j->who.tenant, j->who.subject, actor, "mfa_failed"), "method",
                        json_string(in_str(j, "code") ? "totp" : "recovery_code"));
    answer(j, 401, "invalid_code", "the code is wrong, expired or already used");
    j->cmd_wait = 0;
    send_command(api, j);
    return;
  } else {
    LOG_ERROR("identity: %s refused: %s: %s", j->cmd_type, code, jstr(res, "detail") ?: "");
    answer(j, 500, "internal_error", "the request failed; the error was logged");
  }
  finish(j);
}

static void on_decided(fofal_api_t *api, void *opaque, int status, const json_t *res) {
  auth_job_t *j = opaque;
  if (status == 201) {
    snprintf(j->position, sizeof j->position, "%s", jstr(res, "position") ?: "");
    if (j->post) {
      j->phase = PH_POST; /* before the worker can see the job */
      if (!fofal__pool_submit(api, &j->super)) return;
      j->phase = PH_SEND;
    }
    if (j->post) { /* the pool is full or stopping: the sessions must still end */
      answer(j, 503, "overloaded", "recorded, but the sessions could not be ended yet; retry");
      j->retry_after_s = 1;
    }
    after_decided(api, j);
    return;
  }
  if (status == 503 || status == 202) {
    /* Fail closed, no token leaves. 202: the command is in the log but no decision came
     * within the wait (the decider is slow or down): it may still take effect when it is
     * decided, so a retry can meet its result (409 already_exists for an account). */
    if (status == 202)
      answer(j, 503, "not_decided",
             "this is in the log but was not decided in time (the decider is slow or down); it may still take effect; "
             "nothing was issued; retry");
    else
      answer(j, 503, "not_recorded", "this could not be recorded in the log (Kafka or the decider is unavailable); retry");
    j->retry_after_s = 1;
    finish(j);
    return;
  }
  refused(api, j, status, res);
}

static void send_command(fofal_api_t *api, auth_job_t *j) {
  char err[512];
  fofal__command_t c = {.type = j->cmd_type, .tenant = j->cmd_tenant, .id = j->cmd_id, .actor = j->cmd_actor,
                        .actor_badge = j->cmd_badge[0] ? j->cmd_badge : NULL, .correlation_id = j->corr,
                        .data = j->cmd_data};
  j->phase = PH_SEND;
  int rc = fofal__command_send(api, &c, on_decided, j, err, sizeof err);
  json_decref(j->cmd_data);
  j->cmd_data = NULL;
  if (!rc) return;
  if (rc == FOFAL_EINVAL) {
    LOG_ERROR("identity: %s", err);
    answer(j, 500, "internal_error", "the request failed; the error was logged");
  } else {
    answer(j, 503, "not_recorded", "this could not be recorded in the log (Kafka is unavailable); retry");
    j->retry_after_s = 1;
  }
  finish(j);
}

static void job_done(fofal_api_t *api, fofal_job_t *job) {
  auth_job_t *j = (auth_job_t *)job;
  settle_revoked(api, j);
  if (job->stopped || !api->accounts) {
    answer(j, 503, "shutting_down", "the server is stopping; retry");
    j->retry_after_s = 1;
    finish(j);
  } else if (j->phase == PH_POST) {
    after_decided(api, j);
  } else if (j->cmd_data) {
    send_command(api, j);
  } else {
    finish(j);
  }
}

/* ------------------------------------------------------------ handlers */

static void on_ctx_dispose(void *p) {
  auth_ctx_t *ctx = p;
  auth_job_t *j = ctx->job;
  if (!j) return;
  j->ctx = NULL;
  if (j->phase == PH_WAIT) job_free(j); /* its position wait went with the request */
}

/* Submits `in` (stolen) as a job of `op`. */
static int submit(fofal_api_t *api, h2o_req_t *req, op_t op, json_t *in, const fofal_principal_t *who,
                  const char *device) {
  auth_job_t *j = fofal_calloc(1, sizeof *j);
  j->super.run = job_run;
  j->super.done = job_done;
  j->api = api;
  j->op = op;
  j->in = in;
  j->revoked = json_array();
  if (who) j->who = *who;
  if (device) snprintf(j->device, sizeof j->device, "%s", device);
  fofal__peer_ip(req, j->ip);
  const char *corr = fofal__req_header(req, "X-Correlation-Id");
  if (corr && fofal_uuid_valid(corr)) snprintf(j->corr, sizeof j->corr, "%s", corr);
  else fofal_uuid7(j->corr);
  auth_ctx_t *ctx = h2o_mem_alloc_shared(&req->pool, sizeof *ctx, on_ctx_dispose);
  ctx->req = req;
  ctx->job = j;
  j->ctx = ctx;
  if (fofal__pool_submit(api, &j->super)) {
    ctx->job = NULL;
    j->ctx = NULL;
    job_free(j);
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, 503, "overloaded", "too many requests are waiting; retry shortly", NULL);
  }
  return 0;
}

/* Checks that the body holds no member but `names`, and that its string fields are
 * present (required) and of a length within [mins[i], maxs[i]] characters (code points,
 * as JSON Schema's minLength counts them: six emoji are six characters, not 24); a leading
 * ? in a name marks it optional. Answers 422 and returns FOFAL_EINVAL if not. */
static int fields_ok(h2o_req_t *req, json_t *in, const char *const *names, const int *mins, const int *maxs, int n) {
  const char *key;
  json_t *member;
  json_object_foreach(in, key, member) {
    int known = 0;
    for (int i = 0; i < n && !known; i++) known = !strcmp(key, names[i] + (names[i][0] == '?'));
    if (!known) {
      char shown[64], d[200], ptr[80];
      snprintf(shown, sizeof shown, "%s", key);
      char *k = fofal_utf8_scrub(shown); /* cut at 63 bytes, maybe inside a character */
      snprintf(d, sizeof d, "\"%s\" is not a member of this request", k);
      snprintf(ptr, sizeof ptr, "/%s", k);
      free(k);
      fofal__send_problem(req, 422, "invalid_request", d, json_pack("{s:[{s:s,s:s}]}", "errors", "pointer", ptr, "detail", d));
      return FOFAL_EINVAL;
    }
  }
  for (int i = 0; i < n; i++) {
    int opt = names[i][0] == '?';
    const char *name = names[i] + opt;
    json_t *v = json_object_get(in, name);
    if (!v && opt) continue;
    size_t bytes = json_string_length(v), len = fofal_utf8_chars(json_string_value(v), bytes);
    if (!json_is_string(v) || len < (size_t)mins[i] || len > (size_t)maxs[i] || strlen(json_string_value(v)) != bytes) {
      char d[200];
      snprintf(d, sizeof d, "\"%s\" must be a string of %d to %d characters", name, mins[i], maxs[i]);
      char ptr[80];
      snprintf(ptr, sizeof ptr, "/%s", name);
      json_t *errs = json_pack("{s:[{s:s,s:s}]}", "errors", "pointer", ptr, "detail", d);
      fofal__send_problem(req, 422, "invalid_request", d, errs);
      return FOFAL_EINVAL;
    }
  }
  return 0;
}

static int is_digits(const char *s) {
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int path_eq(h2o_req_t *req, const char *p) {
  return h2o_memis(req->path_normalized.base, req->path_normalized.len, p, strlen(p));
}

/* An MQTT gateway's looms: an array of at most 256 distinct codes that can stand as one
 * topic level (no / + # or white space). */
static int gateway_looms_ok(const json_t *looms) {
  size_t i, k;
  json_t *l, *m;
  if (!json_is_array(looms) || json_array_size(looms) > 256) return 0;
  json_array_foreach(looms, i, l) {
    const char *s = json_string_value(l);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n) return 0;
    json_array_foreach(looms, k, m) if (k < i && json_equal(l, m)) return 0;
  }
  return 1;
}

/* /api/v1/auth/devices/{id}/revoke: 1 and the device id (lower case) into out, else 0. */
static int revoke_path(h2o_req_t *req, char out[FOFAL_UUID_LEN + 1]) {
  static const char pre[] = "/api/v1/auth/devices/", suf[] = "/revoke";
  size_t n = req->path_normalized.len, lp = sizeof pre - 1, ls = sizeof suf - 1;
  const char *p = req->path_normalized.base;
  if (n != lp + FOFAL_UUID_LEN + ls || memcmp(p, pre, lp) || memcmp(p + n - ls, suf, ls)) return 0;
  for (int i = 0; i < FOFAL_UUID_LEN; i++) {
    char c = p[lp + i];
    out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  out[FOFAL_UUID_LEN] = '\0';
  return fofal_uuid_valid(out);
}

int fofal__on_auth(h2o_handler_t *self, h2o_req_t *req) {
  fofal_api_t *api = API_OF(self);
  accounts_t *a = api->accounts;
  fofal_principal_t who;
  atomic_fetch_add(&fofal__metrics.requests, 1);
  int post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
  if (path_eq(req, "/api/v1/auth/me")) {
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) goto method;
    if (fofal__authenticate(api, req, &who)) return 0;
    fofal__send_json(req, 200, json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "tenant", who.tenant, "subject", who.subject, "role",
                                         who.role, "sid", who.sid[0] ? who.sid : NULL, "badge",
                                         who.badge[0] ? who.badge : NULL));
    return 0;
  }
  struct {
    const char *path;
    op_t op;
    int bearer;
  } routes[] = {{"/api/v1/auth/login", OP_LOGIN, 0},       {"/api/v1/auth/mfa", OP_MFA, 0},
                {"/api/v1/auth/totp/enrol", OP_ENROL, 0},  {"/api/v1/auth/refresh", OP_REFRESH, 0},
                {"/api/v1/auth/logout", OP_LOGOUT, 1},     {"/api/v1/auth/password", OP_PASSWORD, 1},
                {"/api/v1/auth/accounts", OP_ACCOUNT, 1},  {"/api/v1/auth/devices", OP_DEVICE, 1},
                {"/api/v1/auth/gateways", OP_GATEWAY, 1},
                {"/api/v1/auth/pin-login", OP_PIN, 0}};
  int r = -1;
  for (int i = 0; i < (int)(sizeof routes / sizeof routes[0]); i++)
    if (path_eq(req, routes[i].path)) r = i;
  char device[FOFAL_UUID_LEN + 1] = "";
  if (r < 0 && !revoke_path(req, device)) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!post) goto method;
  int bearer = r < 0 || routes[r].bearer;
  op_t op = r < 0 ? OP_REVOKE : routes[r].op;
  if (bearer && fofal__authenticate(api, req, &who)) return 0;
  json_t *in;
  if ((op == OP_LOGOUT || op == OP_REVOKE) && req->entity.len == 0) in = json_object();
  else if (!(in = fofal__read_json(req, 16 * 1024))) return 0;
  int bad = 0;
  switch (op) {
  case OP_LOGIN: {
    const char *n[] = {"tenant", "username", "password"};
    const int mn[] = {1, 1, 1}, mx[] = {63, 100, MAX_FIELD};
    bad = fields_ok(req, in, n, mn, mx, 3);
    break;
  }
  case OP_MFA:
  case OP_ENROL: {
    const char *n[] = {"mfa_token", "?code", "?recovery_code"};
    const int mn[] = {1, 6, 14}, mx[] = {4096, 6, 14};
    if ((bad = fields_ok(req, in, n, mn, mx, op == OP_MFA ? 3 : 1))) break;
    if (op == OP_MFA && !json_object_get(in, "code") == !json_object_get(in, "recovery_code")) {
      fofal__send_problem(req, 422, "invalid_request", "send either \"code\" or \"recovery_code\"", NULL);
      bad = 1;
      break;
    }
    if (fofal__token_verify(api, jstr(in, "mfa_token"), a->mfa_audience, &who)) {
      fofal__send_problem(req, 401, "invalid_token", "the MFA token is not valid or has expired; sign in again", NULL);
      bad = 1;
    }
    break;
  }
  case OP_REFRESH: {
    const char *n[] = {"refresh_token"};
    const int mn[] = {1}, mx[] = {200};
    bad = fields_ok(req, in, n, mn, mx, 1);
    break;
  }
  case OP_LOGOUT:
    if (!who.sid[0]) {
      fofal__send_problem(req, 400, "no_session", "this token does not belong to a sign-in session", NULL);
      bad = 1;
    }
    break;
  case OP_PASSWORD: {
    const char *n[] = {"current_password", "new_password"};
    const int mn[] = {1, 12}, mx[] = {MAX_FIELD, MAX_FIELD};
    /* Accounts are named by UUID; a token of `fofal token --subject me` names none. */
    if (!fofal_uuid_valid(who.subject)) {
      fofal__send_problem(req, 400, "no_account", "this token does not belong to an account; sign in with /auth/login",
                          NULL);
      bad = 1;
    } else {
      bad = fields_ok(req, in, n, mn, mx, 2);
    }
    break;
  }
  case OP_ACCOUNT: {
    const char *n[] = {"username", "role", "?password", "?badge", "?pin"};
    /* New PINs have 6 digits at least (issue 22 item 8); pin-login still takes the 4-digit
     * PINs set before. */
    const int mn[] = {1, 1, 12, 1, 6}, mx[] = {100, 32, MAX_FIELD, 64, 8};
    if (strcmp(who.role, "admin")) {
      fofal__send_problem(req, 403, "forbidden", "only an admin may create accounts", NULL);
      bad = 1;
    } else if ((bad = fields_ok(req, in, n, mn, mx, 5))) {
    } else if (!fofal_api_role_valid(jstr(in, "role"))) {
      fofal__send_problem(req, 422, "invalid_request", "\"role\" is not one of the roles", NULL);
      bad = 1;
    } else if (jstr(in, "badge") && !fofal_code_valid(jstr(in, "badge"))) {
      /* It goes into the person's tokens and names them in commands: a code like an employee's. */
      fofal__send_problem(req, 422, "invalid_request", "\"badge\" must be 1 to 64 of A-Z a-z 0-9 . _ - (as W121)", NULL);
      bad = 1;
    } else if ((jstr(in, "pin") && (!is_digits(jstr(in, "pin")) || !jstr(in, "badge"))) ||
               (!jstr(in, "password") && !jstr(in, "pin"))) {
      fofal__send_problem(req, 422, "invalid_request",
                          "give a password (12+ characters) and/or a badge with a PIN of 6 to 8 digits", NULL);
      bad = 1;
    }
    break;
  }
  case OP_DEVICE: {
    const char *n[] = {"name"};
    const int mn[] = {1}, mx[] = {100};
    if (strcmp(who.role, "admin") && strcmp(who.role, "manager")) {
      fofal__send_problem(req, 403, "forbidden", "only an admin or a manager may enrol a device", NULL);
      bad = 1;
    } else {
      bad = fields_ok(req, in, n, mn, mx, 1);
    }
    break;
  }
  case OP_REVOKE: {
    const char *n[] = {"?reason"};
    const int mn[] = {1}, mx[] = {200};
    if (strcmp(who.role, "admin") && strcmp(who.role, "manager")) {
      fofal__send_problem(req, 403, "forbidden", "only an admin or a manager may revoke a device", NULL);
      bad = 1;
    } else {
      bad = fields_ok(req, in, n, mn, mx, 1);
    }
    break;
  }
  case OP_GATEWAY: {
    const char *n[] = {"name"};
    const int mn[] = {1}, mx[] = {100};
    /* looms: checked here, then out of fields_ok's way (it knows string members only). */
    json_t *looms = json_incref(json_object_get(in, "looms"));
    json_object_del(in, "looms");
    if (strcmp(who.role, "admin")) {
      fofal__send_problem(req, 403, "forbidden", "only an admin may enrol an MQTT gateway", NULL);
      bad = 1;
    } else if (looms && !gateway_looms_ok(looms)) {
      fofal__send_problem(req, 422, "invalid_request",
                          "\"looms\" must be an array of at most 256 distinct loom codes (1 to 63 of A-Z a-z 0-9 . _ -)",
                          json_pack("{s:[{s:s,s:s}]}", "errors", "pointer", "/looms", "detail", "not a list of loom codes"));
      bad = 1;
    } else if (!(bad = fields_ok(req, in, n, mn, mx, 1)) && looms) {
      json_object_set(in, "looms", looms);
    }
    json_decref(looms);
    break;
  }
  case OP_PIN: {
    const char *n[] = {"tenant", "device_id", "device_secret", "badge", "pin"};
    const int mn[] = {1, 36, 1, 1, 4}, mx[] = {63, 36, 200, 64, 8};
    bad = fields_ok(req, in, n, mn, mx, 5);
    break;
  }
  }
  if (bad) {
    json_decref(in);
    return 0;
  }
  return submit(api, req, op, in, &who, device);
method:
  fofal__add_header(req, "Allow", path_eq(req, "/api/v1/auth/me") ? "GET" : "POST");
  fofal__send_problem(req, 405, "method_not_allowed", "this resource does not accept that method", NULL);
  return 0;
}

/* ----------------------------------------------------- revocation tail */

typedef struct {
  char sid[48];
} rev_msg_t;

static void on_revoked_in_loop(fofal_api_t *api, void *arg) {
  rev_msg_t *m = arg;
  fofal__auth_revoke(m->sid, (long)time(NULL) + (long)api->conf.access_ttl + LEEWAY_S + 60);
  fofal__stream_revoke(api, m->sid);
  free(m);
}

/* The revoked sessions were read up to now (auth.c fails closed when this gets old). */
static void on_revocations_read(fofal_api_t *api, void *arg) {
  (void)arg;
  atomic_store(&api->revocations_read_us, fofal_mono_us());
}

typedef struct {
  accounts_t *a;
  int direct; /* at start, on the loop thread itself */
} tail_ctx_t;

static void on_entry(void *opaque, const char *id, const char *m, size_t mlen) {
  tail_ctx_t *t = opaque;
  snprintf(t->a->last_id, sizeof t->a->last_id, "%s", id);
  if (!m || mlen == 0 || mlen >= 48) return;
  rev_msg_t *r = fofal_calloc(1, sizeof *r);
  memcpy(r->sid, m, mlen);
  if (t->direct) on_revoked_in_loop(t->a->api, r);
  else fofal__api_post(t->a->api, on_revoked_in_loop, r);
}

static void *tail_main(void *arg) {
  accounts_t *a = arg;
  tail_ctx_t t = {a, 0};
  char err[256];
  while (!fofal_stopped(&a->stop)) {
    int n = fofal__redis_xread(a->redis, REVOCATIONS, a->last_id, 500, 1000, 0, on_entry, &t, err, sizeof err);
    /* Fresh only once what was read is in the loop's set: posted after the entries. */
    if (n >= 0) fofal__api_post(a->api, on_revocations_read, NULL);
    if (n < 0) usleep(250 * 1000); /* Redis down: the next XREAD reconnects */
  }
  return NULL;
}

int fofal__accounts_start(fofal_api_t *api, char *errbuf, size_t errlen) {
  accounts_t *a = fofal_calloc(1, sizeof *a);
  api->accounts = a;
  a->api = api;
  snprintf(a->last_id, sizeof a->last_id, "0-0");
  snprintf(a->mfa_audience, sizeof a->mfa_audience, "%s/mfa", api->conf.jwt_audience);
  if (fofal_cred_init() || fofal_pd_init())
    return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot initialise libsodium or liboath");
  if (fofal_pd_master_parse(api->conf.pd_master_key, a->master))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_PD_MASTER_KEY must be 64 hex characters");
  char random[48];
  fofal_cred_random_token(random, sizeof random, 24);
  if (fofal_cred_hash(random, (unsigned)api->conf.argon2_t, (unsigned)api->conf.argon2_m_kib, a->dummy_hash,
                      sizeof a->dummy_hash))
    return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "argon2id refused FOFAL_API_ARGON2_T / FOFAL_API_ARGON2_MEMORY_KIB");
  a->redis = fofal__redis_new(api->conf.redis_addr, api->conf.redis_user, api->conf.redis_password, 2000);
  if (!a->redis) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "FOFAL_REDIS_ADDR=%s is not host:port", api->conf.redis_addr);
  /* What was revoked before this instance started, before it serves anything. */
  tail_ctx_t t = {a, 1};
  char err[256];
  int n;
  while ((n = fofal__redis_xread(a->redis, REVOCATIONS, a->last_id, -1, 1000, 1, on_entry, &t, err, sizeof err)) == 1000) {
  }
  /* Redis down: start anyway (like the reads); the tail reads from the start of the stream
   * once Redis is back, and until then sign-ins fail closed on the rate limiter. */
  if (n < 0) LOG_WARN("identity: cannot read the revoked sessions yet: %s", err);
  else on_revocations_read(api, NULL);
  if (pthread_create(&a->tail, NULL, tail_main, a)) return fofal_err(errbuf, errlen, FOFAL_EIO, "cannot start a thread");
  a->tail_started = 1;
  return 0;
}

void fofal__accounts_stop(fofal_api_t *api) {
  accounts_t *a = api->accounts;
  if (!a) return;
  fofal_stop_set(&a->stop);
  if (a->tail_started) pthread_join(a->tail, NULL);
  fofal__redis_free(a->redis);
  free(a);
  api->accounts = NULL;
}
