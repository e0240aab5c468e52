/*
 * accounts.c — sign-in and sessions of fofal-api (issue 6).
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
 *   POST /api/v1/auth/pin-login    {tenant, device_id, device_secret, badge, pin} → tokens
 *   GET  /api/v1/auth/me           Bearer → who the token says the caller is
 *
 * Sessions. A sign-in creates a session (identity.sessions: a refresh-token family) and
 * answers a short-lived access JWT carrying the session id as `sid` (and the account's
 * badge as `badge`, read again at every refresh: who the person is on the floor), and an opaque
 * refresh token (256 random bits) of which only the SHA-256 is stored. Every refresh marks
 * the presented token used and issues a new one in the same family; presenting a used
 * token again is reuse (a stolen token raced its owner): the whole family is revoked, so
 * the newer token stops working too. Logout, password change and reuse revoke sessions in
 * PostgreSQL and append their ids to the Redis stream fofal:revocations; a thread of every
 * instance tails it and tells auth.c, which then refuses the session's access tokens
 * (cached or not) within the XREAD latency — milliseconds, not the token's lifetime. At
 * start the stream is read synchronously before the server listens. The stream keeps
 * entries only as long as an access token can live (MINID trimming).
 *
 * MFA. Roles that touch money, pay or HR (accountant, hr, manager, admin) must pass TOTP
 * after the password: login then answers {mfa_required, mfa_token}, a 5-minute JWT whose
 * audience is "<aud>/mfa", so it is never an access token. Without an enrolled secret the
 * client first calls totp/enrol with it, then mfa with a code, which completes the
 * enrolment and answers ten one-time recovery codes (stored as SHA-256). A TOTP step is
 * accepted once (totp_last_step). PIN sign-in refuses these roles.
 *
 * Rate limits (Redis, one Lua token bucket shared by all instances, see ratelimit below):
 * per IP and per account on login, mfa and password; per device, per badge and per IP on
 * PIN sign-in, plus a lockout after FOFAL_API_PIN_MAX_FAILURES wrong PINs in a row that
 * doubles with every further failure (1 minute, 2, 4 … 64). Redis unreachable → 503: the
 * limits fail closed.
 *
 * Audit. Sign-ins, failures, refresh reuse, logouts, password changes, MFA enrolment,
 * verification and failure, lockouts, accounts and devices created are CloudEvents on
 * fofal.identity.events (keyed by account id, actor in the envelope), produced by the loop
 * thread after the job. Their data never holds a secret: no password, PIN, token, code or
 * TOTP secret; the username, personal data, is sealed with the account's own data key
 * (events/crypto.c, identity.person_keys), so erasing the account shreds it. Delivery is best effort (idempotent producer, acks=all): a failure is
 * logged, the sign-in is not undone.
 *
 * Threads: handlers and `done` on the loop thread; each request's work (argon2id, SQL on
 * the worker's write connection, Redis) in a job on a read worker (pgpool.c), so the loop
 * never blocks. The revocation tail runs on its own thread. A request that goes away
 * while its job runs is detached (its context's dispose callback); the job's events are
 * still produced.
 */
#include "api.h"
#include "projections.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REVOCATIONS "fofal:revocations"
#define MFA_TTL_S 300
#define MAX_FIELD 1024 /* longest password accepted */
#define LEEWAY_S 30

typedef enum { OP_LOGIN, OP_MFA, OP_ENROL, OP_REFRESH, OP_LOGOUT, OP_PASSWORD, OP_ACCOUNT, OP_DEVICE, OP_PIN } op_t;

typedef struct fofal_accounts {
  fofal_api_t *api;
  fofal_kafka_t *producer;
  fofal__redis_t *redis; /* the revocation tail's own connection */
  pthread_t tail;
  int tail_started;
  volatile int stop;
  char last_id[48];
  char dummy_hash[FOFAL_CRED_HASH_MAX]; /* verified against when an account is unknown */
  unsigned char master[FOFAL_PD_KEY_BYTES]; /* wraps the per-person keys (events/crypto.c) */
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
  char ip[64];
  char corr[FOFAL_UUID_LEN + 1];
  fofal_principal_t who; /* the caller (Bearer) or the MFA step's account */
  json_t *in;            /* request body, owned */
  /* results, set by the worker */
  int status;
  const char *code;
  char detail[200];
  long long retry_after_s;
  json_t *out;     /* response body (new) */
  json_t *events;  /* [{type, tenant, subject, actor, data}] */
  json_t *revoked; /* [sid] to add to this instance's set at once */
};

/* ------------------------------------------------------------- helpers */

static const char *in_str(const auth_job_t *j, const char *name) { return json_string_value(json_object_get(j->in, name)); }

static void answer(auth_job_t *j, int status, const char *code, const char *detail) {
  j->status = status;
  j->code = code;
  snprintf(j->detail, sizeof j->detail, "%s", detail);
}

static void event(auth_job_t *j, const char *name, const char *tenant, const char *subject, const char *actor,
                  json_t *data) {
  json_object_set_new(data, "ip", json_string(j->ip));
  json_array_append_new(j->events, json_pack("{s:s,s:s,s:s,s:s,s:o}", "type", name, "tenant", tenant, "subject",
                                             subject, "actor", actor, "data", data));
}

/* PostgreSQL failed: 503 when unreachable (and the connection is dropped), else 500. */
static void pg_failed(fofal_worker_t *w, auth_job_t *j, int rc, const char *err) {
  if (rc == FOFAL_EUNAVAIL) {
    fofal__worker_pg_drop(w);
    answer(j, 503, "postgresql_unavailable", "PostgreSQL is not reachable; retry shortly");
    j->retry_after_s = 1;
  } else {
    LOG_ERROR("identity: %s", err);
    answer(j, 500, "internal_error", "the request failed; the error was logged");
  }
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

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

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

/* Issues the access token of a session and answers the token body (status 200). The
 * account's badge (NULL: none) goes into the token: it is who the person is on the floor
 * (their own views and records, and who acts in their commands). */
static void answer_tokens(auth_job_t *j, const char *tenant, const char *account, const char *role, const char *badge,
                          const char *sid, const char *refresh) {
  fofal_api_conf_t *c = &j->api->conf;
  char *at = fofal__token_issue(c->jwt_secret, c->jwt_issuer, c->jwt_audience, tenant, account, role, badge, sid,
                                (long)c->access_ttl);
  if (!at) {
    answer(j, 500, "internal_error", "cannot sign a token");
    return;
  }
  j->status = 200;
  j->out = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "access_token", at, "token_type", "Bearer", "expires_in",
                     (json_int_t)c->access_ttl, "refresh_token", refresh, "refresh_expires_in", (json_int_t)c->refresh_ttl,
                     "account_id", account, "role", role, "tenant", tenant, "sid", sid);
  if (badge) json_object_set_new(j->out, "badge", json_string(badge));
  free(at);
}

/* Creates a session for the account and answers its tokens. */
static int new_session(fofal_worker_t *w, fofal_pg_t *pg, auth_job_t *j, const char *tenant, const char *account,
                       const char *role, const char *badge, const char *device) {
  char sid[FOFAL_UUID_LEN + 1], refresh[64], digest[65], ttl[24], err[256];
  fofal_uuid7(sid);
  fofal_cred_random_token(refresh, sizeof refresh, 32);
  fofal_cred_digest(refresh, digest);
  snprintf(ttl, sizeof ttl, "%lld", j->api->conf.refresh_ttl);
  const char *p[] = {tenant, sid, account, device, ttl, digest};
  int rc = fofal_pg_execp(pg,
                          "WITH s AS (INSERT INTO identity.sessions (tenant, sid, account_id, device_id, expires_at)"
                          " VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::bigint)) RETURNING tenant, sid)"
                          " INSERT INTO identity.refresh_tokens (token_hash, tenant, sid) SELECT $6, tenant, sid FROM s",
                          6, p, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return rc;
  }
  answer_tokens(j, tenant, account, role, badge, sid, refresh);
  return 0;
}

static void actor_of(char *out, size_t n, const char *account, const char *role) { snprintf(out, n, "u:%s/%s", account, role); }

/* Personal data in identity events: an account's username is sealed with the account's
 * own data key (created on first use), so that `fofal account erase` shreds it from the
 * audit trail. Returns the sealed value (new), or NULL (then the field is left out: a
 * name is never written in clear). */
static json_t *seal_personal(fofal_pg_t *pg, auth_job_t *j, const char *tenant, const char *person, const char *field,
                             const char *value) {
  char err[256];
  unsigned char key[FOFAL_PD_KEY_BYTES];
  json_t *out = NULL;
  if (fofal_person_key(pg, j->api->accounts->master, tenant, person, 1, key, err, sizeof err)) {
    LOG_WARN("identity: no data key for a person: %s", err);
  } else {
    json_t *v = json_string(value);
    out = fofal_pd_seal(key, tenant, person, field, v);
    json_decref(v);
  }
  memset(key, 0, sizeof key);
  return out;
}

const unsigned char *fofal__pd_master(fofal_api_t *api) { return api->accounts->master; }

/* ------------------------------------------------------------ operations */

static void run_login(fofal_worker_t *w, auth_job_t *j) {
  const char *tenant = in_str(j, "tenant"), *user = in_str(j, "username"), *pw = in_str(j, "password");
  accounts_t *a = j->api->accounts;
  char k1[128], k2[256], err[256];
  snprintf(k1, sizeof k1, "fofal:rl:login:ip:%s", j->ip);
  snprintf(k2, sizeof k2, "fofal:rl:login:acct:%s:%s", tenant, user);
  const char *keys[] = {k1, k2};
  long long lim[] = {j->api->conf.rate_login_ip, j->api->conf.rate_login_account};
  if (limited(w, j, 2, keys, lim)) return;
  fofal_pg_t *pg;
  json_t *acct = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {tenant, user};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('id', id, 'role', role, 'badge', badge, 'hash', password_hash, 'totp',"
            " totp_secret IS NOT NULL) FROM identity.accounts WHERE tenant = $1 AND username = $2 AND erased_at IS NULL",
            2, p, &acct, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  const char *hash = acct ? jstr(acct, "hash") : NULL;
  /* An unknown account costs the same hash as a known one. */
  int ok = fofal_cred_verify(hash ? hash : a->dummy_hash, pw) && hash;
  char subject[FOFAL_UUID_LEN + 1], actor[200];
  if (!ok) {
    /* The name typed is personal data (or a mistyped password): sealed for a known
     * account, left out for an unknown one. */
    if (acct) snprintf(subject, sizeof subject, "%s", jstr(acct, "id"));
    else fofal_uuid_named(tenant, user, subject);
    json_t *d = json_pack("{s:s,s:s}", "method", "password", "reason", acct ? "bad_password" : "unknown_account");
    if (acct) json_object_set_new(d, "username", seal_personal(pg, j, tenant, subject, "username", user));
    event(j, "login_failed", tenant, subject, "anonymous", d);
    answer(j, 401, "invalid_credentials", "the username or the password is wrong");
    json_decref(acct);
    return;
  }
  const char *id = jstr(acct, "id"), *role = jstr(acct, "role");
  actor_of(actor, sizeof actor, id, role);
  if (fofal_api_role_needs_mfa(role)) {
    fofal_api_conf_t *c = &j->api->conf;
    char *mt = fofal__token_issue(c->jwt_secret, c->jwt_issuer, a->mfa_audience, tenant, id, role, NULL, NULL, MFA_TTL_S);
    j->status = 200;
    j->out = json_pack("{s:b,s:s,s:b,s:i}", "mfa_required", 1, "mfa_token", mt ? mt : "", "mfa_enrolled",
                       json_is_true(json_object_get(acct, "totp")), "expires_in", MFA_TTL_S);
    free(mt);
    event(j, "password_verified", tenant, id, actor,
          json_pack("{s:o*,s:b}", "username", seal_personal(pg, j, tenant, id, "username", user), "mfa_required", 1));
  } else if (!new_session(w, pg, j, tenant, id, role, jstr(acct, "badge"), NULL)) {
    event(j, "login_succeeded", tenant, id, actor,
          json_pack("{s:o*,s:s,s:s}", "username", seal_personal(pg, j, tenant, id, "username", user), "method", "password",
                    "sid", jstr(j->out, "sid")));
  }
  json_decref(acct);
}

static void run_enrol(fofal_worker_t *w, auth_job_t *j) {
  char err[256], secret[41];
  fofal_pg_t *pg;
  json_t *row = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  fofal_cred_totp_secret(secret);
  /* At rest the secret is sealed under the master key: a copy of the database alone does
   * not give anyone's second factor. */
  char *sealed = fofal_pd_secret_seal(j->api->accounts->master, "totp", j->who.tenant, j->who.subject, secret);
  const char *p[] = {j->who.tenant, j->who.subject, sealed};
  if (!rc)
    rc = q1(pg,
            "UPDATE identity.accounts SET totp_pending = $3 WHERE tenant = $1 AND id = $2 AND totp_secret IS NULL"
            " RETURNING json_build_object('username', username)",
            3, p, &row, err, sizeof err);
  free(sealed);
  if (rc) {
    memset(secret, 0, sizeof secret);
    pg_failed(w, j, rc, err);
    return;
  }
  if (!row) {
    memset(secret, 0, sizeof secret);
    answer(j, 409, "already_enrolled", "a TOTP secret is already enrolled for this account");
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

static void run_mfa(fofal_worker_t *w, auth_job_t *j) {
  const char *code = in_str(j, "code"), *recovery = in_str(j, "recovery_code");
  const fofal_principal_t *who = &j->who;
  char k1[256], k2[128], err[256], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:mfa:acct:%s:%s", who->tenant, who->subject);
  snprintf(k2, sizeof k2, "fofal:rl:login:ip:%s", j->ip);
  const char *keys[] = {k1, k2};
  long long lim[] = {j->api->conf.rate_login_account, j->api->conf.rate_login_ip};
  if (limited(w, j, 2, keys, lim)) return;
  actor_of(actor, sizeof actor, who->subject, who->role);
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
  char *secret = NULL, *pending = NULL; /* opened TOTP secrets: wiped at the end */
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, who->subject};
  if (!rc)
    rc = q1(pg,
            "SELECT json_build_object('secret', totp_secret, 'pending', totp_pending, 'last', totp_last_step, 'role', role,"
            " 'badge', badge) FROM identity.accounts WHERE tenant = $1 AND id = $2",
            2, p, &acct, err, sizeof err);
  if (rc) goto pgfail;
  if (!acct) {
    answer(j, 401, "invalid_token", "the account no longer exists");
    return;
  }
  const unsigned char *master = j->api->accounts->master;
  secret = fofal_pd_secret_open(master, "totp", who->tenant, who->subject, jstr(acct, "secret"));
  pending = fofal_pd_secret_open(master, "totp", who->tenant, who->subject, jstr(acct, "pending"));
  const char *role = jstr(acct, "role");
  if ((jstr(acct, "secret") && !secret) || (jstr(acct, "pending") && !pending))
    LOG_ERROR("identity: a stored TOTP secret does not open with FOFAL_PD_MASTER_KEY");
  int enrolling = !secret && pending, ok = 0;
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
              "UPDATE identity.accounts SET totp_last_step = $3::bigint,"
              " totp_secret = COALESCE(totp_secret, totp_pending), totp_pending = NULL"
              " WHERE tenant = $1 AND id = $2 AND totp_last_step < $3::bigint RETURNING json_build_object('ok', true)",
              3, pu, &done, err, sizeof err);
      if (rc) goto pgfail;
      ok = done != NULL;
    }
    if (ok && enrolling) {
      codes = json_array();
      for (int i = 0; i < 10 && !rc; i++) {
        char rcode[16], digest[65];
        fofal_cred_recovery_code(rcode);
        fofal_cred_digest(rcode, digest);
        const char *pr[] = {who->tenant, who->subject, digest};
        rc = fofal_pg_execp(pg, "INSERT INTO identity.recovery_codes (tenant, account_id, code_hash) VALUES ($1, $2, $3)", 3,
                            pr, err, sizeof err);
        json_array_append_new(codes, json_string(rcode));
      }
      if (rc) {
        json_decref(codes);
        goto pgfail;
      }
    }
  } else if (recovery && secret) {
    char digest[65];
    fofal_cred_digest(recovery, digest);
    const char *pr[] = {who->tenant, who->subject, digest};
    rc = q1(pg,
            "UPDATE identity.recovery_codes SET used_at = now() WHERE tenant = $1 AND account_id = $2 AND code_hash = $3"
            " AND used_at IS NULL RETURNING json_build_object('ok', true)",
            3, pr, &done, err, sizeof err);
    if (rc) goto pgfail;
    ok = done != NULL;
  }
  if (!ok) {
    const char *method = recovery && !code ? "recovery_code" : "totp";
    long long failures = 0;
    long long lock_s = fofal__mfa_failure(fofal__worker_redis(w), who->tenant, who->subject, j->api->conf.mfa_max_failures,
                                          &failures, err, sizeof err);
    event(j, "mfa_failed", who->tenant, who->subject, actor, json_pack("{s:s}", "method", method));
    answer(j, 401, "invalid_code", "the code is wrong, expired or already used");
    if (lock_s < 0) LOG_WARN("identity: cannot count a wrong MFA code: %s", err);
    if (lock_s > 0) {
      event(j, "mfa_locked", who->tenant, who->subject, actor,
            json_pack("{s:s,s:I,s:I}", "method", method, "failures", (json_int_t)failures, "seconds", (json_int_t)lock_s));
      answer(j, 429, "locked_out", "too many wrong codes: the second factor of this account is locked for a while");
      j->retry_after_s = lock_s;
    }
    goto out;
  }
  fofal__mfa_success(fofal__worker_redis(w), who->tenant, who->subject);
  if (!new_session(w, pg, j, who->tenant, who->subject, role, jstr(acct, "badge"), NULL)) {
    const char *method = code ? "totp" : "recovery_code";
    if (enrolling) event(j, "mfa_enrolled", who->tenant, who->subject, actor, json_pack("{s:s}", "method", "totp"));
    event(j, "mfa_verified", who->tenant, who->subject, actor, json_pack("{s:s}", "method", method));
    event(j, "login_succeeded", who->tenant, who->subject, actor,
          json_pack("{s:s,s:s}", "method", method, "sid", jstr(j->out, "sid")));
    if (codes) json_object_set(j->out, "recovery_codes", codes);
  }
  json_decref(codes);
  goto out;
pgfail:
  pg_failed(w, j, rc, err);
out:
  if (secret) memset(secret, 0, strlen(secret));
  if (pending) memset(pending, 0, strlen(pending));
  free(secret);
  free(pending);
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
          " 'role', a.role, 'badge', a.badge) FROM identity.refresh_tokens r"
          " JOIN identity.sessions s ON s.tenant = r.tenant AND s.sid = r.sid"
          " JOIN identity.accounts a ON a.tenant = s.tenant AND a.id = s.account_id WHERE r.token_hash = $1"
          " FOR UPDATE OF r, s",
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
                             "UPDATE identity.sessions SET revoked_at = now(), revoked_reason = 'refresh_reuse'"
                             " WHERE tenant = $1 AND sid = $2",
                             2, pr, err, sizeof err)) ||
        (rc = fofal_pg_exec(pg, "COMMIT", err, sizeof err)))
      goto rollback;
    json_array_append_new(sids, json_string(sid));
    event(j, "refresh_reused", tenant, account, actor, json_pack("{s:s}", "sid", sid));
    if (publish_revocations(w, j, sids)) goto out;
    answer(j, 401, "refresh_token_reused", "this refresh token was already used; the session has been ended");
    goto out;
  }
  char refresh[64], ndigest[65];
  fofal_cred_random_token(refresh, sizeof refresh, 32);
  fofal_cred_digest(refresh, ndigest);
  const char *pu[] = {digest, ndigest, tenant, sid};
  if ((rc = fofal_pg_execp(pg,
                           "WITH u AS (UPDATE identity.refresh_tokens SET used_at = now() WHERE token_hash = $1)"
                           " INSERT INTO identity.refresh_tokens (token_hash, tenant, sid) VALUES ($2, $3, $4)",
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
  char err[256], actor[200];
  fofal_pg_t *pg;
  const fofal_principal_t *who = &j->who;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, who->sid};
  if (!rc)
    rc = fofal_pg_execp(pg,
                        "UPDATE identity.sessions SET revoked_at = now(), revoked_reason = 'logout'"
                        " WHERE tenant = $1 AND sid = $2 AND revoked_at IS NULL",
                        2, p, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  json_t *sids = json_pack("[s]", who->sid);
  if (!publish_revocations(w, j, sids)) {
    actor_of(actor, sizeof actor, who->subject, who->role);
    event(j, "logged_out", who->tenant, who->subject, actor, json_pack("{s:s}", "sid", who->sid));
    j->status = 204;
  }
  json_decref(sids);
}

static void run_password(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  const char *cur = in_str(j, "current_password"), *next = in_str(j, "new_password");
  char k1[256], err[256], actor[200], hash[FOFAL_CRED_HASH_MAX];
  snprintf(k1, sizeof k1, "fofal:rl:password:acct:%s:%s", who->tenant, who->subject);
  const char *keys[] = {k1};
  long long lim[] = {j->api->conf.rate_login_account};
  if (limited(w, j, 1, keys, lim)) return;
  fofal_pg_t *pg;
  json_t *acct = NULL, *sids = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, who->subject};
  if (!rc)
    rc = q1(pg, "SELECT json_build_object('hash', password_hash) FROM identity.accounts WHERE tenant = $1 AND id = $2",
            2, p, &acct, err, sizeof err);
  if (rc) goto pgfail;
  actor_of(actor, sizeof actor, who->subject, who->role);
  if (!acct || !fofal_cred_verify(jstr(acct, "hash"), cur)) {
    event(j, "password_change_failed", who->tenant, who->subject, actor, json_object());
    answer(j, 403, "invalid_credentials", "the current password is wrong");
    goto out;
  }
  if (fofal_cred_hash(next, (unsigned)j->api->conf.argon2_t, (unsigned)j->api->conf.argon2_m_kib, hash, sizeof hash)) {
    answer(j, 500, "internal_error", "cannot hash the password");
    goto out;
  }
  const char *pu[] = {who->tenant, who->subject, hash};
  char *v = NULL;
  rc = fofal_pg_query_value(pg,
                            "WITH a AS (UPDATE identity.accounts SET password_hash = $3 WHERE tenant = $1 AND id = $2),"
                            " s AS (UPDATE identity.sessions SET revoked_at = now(), revoked_reason = 'password_changed'"
                            " WHERE tenant = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING sid)"
                            " SELECT COALESCE(json_agg(sid), '[]') FROM s",
                            3, pu, &v, err, sizeof err);
  if (rc) goto pgfail;
  sids = v ? json_loads(v, 0, NULL) : json_array();
  free(v);
  event(j, "password_changed", who->tenant, who->subject, actor, json_pack("{s:i}", "sessions_ended", (int)json_array_size(sids)));
  if (!publish_revocations(w, j, sids)) j->status = 204;
  goto out;
pgfail:
  pg_failed(w, j, rc, err);
out:
  json_decref(acct);
  json_decref(sids);
}

static void run_account(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  const char *user = in_str(j, "username"), *role = in_str(j, "role"), *pw = in_str(j, "password"),
             *badge = in_str(j, "badge"), *pin = in_str(j, "pin");
  char id[FOFAL_UUID_LEN + 1], ph[FOFAL_CRED_HASH_MAX], pinh[FOFAL_CRED_HASH_MAX], err[256], actor[200];
  unsigned t = (unsigned)j->api->conf.argon2_t, m = (unsigned)j->api->conf.argon2_m_kib;
  if ((pw && fofal_cred_hash(pw, t, m, ph, sizeof ph)) || (pin && fofal_cred_hash(pin, t, m, pinh, sizeof pinh))) {
    answer(j, 500, "internal_error", "cannot hash the secret");
    return;
  }
  fofal_uuid7(id);
  fofal_pg_t *pg;
  char *v = NULL;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, id, user, role, pw ? ph : NULL, badge, pin ? pinh : NULL};
  if (!rc)
    rc = fofal_pg_query_value(pg,
                              "INSERT INTO identity.accounts (tenant, id, username, role, password_hash, badge, pin_hash)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
                              7, p, &v, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  if (!v) {
    answer(j, 409, "already_exists", "an account with this username or badge exists in the tenant");
    return;
  }
  free(v);
  actor_of(actor, sizeof actor, who->subject, who->role);
  event(j, "account_created", who->tenant, id, actor,
        json_pack("{s:s,s:o*,s:s,s:b,s:b}", "account_id", id, "username", seal_personal(pg, j, who->tenant, id, "username", user),
                  "role", role, "password", pw != NULL, "pin", pin != NULL));
  j->status = 201;
  j->out = json_pack("{s:s,s:s,s:s}", "account_id", id, "username", user, "role", role);
}

static void run_device(fofal_worker_t *w, auth_job_t *j) {
  const fofal_principal_t *who = &j->who;
  char id[FOFAL_UUID_LEN + 1], secret[64], digest[65], err[256], actor[200];
  fofal_uuid7(id);
  fofal_cred_random_token(secret, sizeof secret, 32);
  fofal_cred_digest(secret, digest);
  actor_of(actor, sizeof actor, who->subject, who->role);
  fofal_pg_t *pg;
  int rc = fofal__worker_pg(w, &pg, err, sizeof err);
  const char *p[] = {who->tenant, id, in_str(j, "name"), digest, actor};
  if (!rc)
    rc = fofal_pg_execp(pg,
                        "INSERT INTO identity.devices (tenant, id, name, secret_hash, created_by) VALUES ($1, $2, $3, $4, $5)",
                        5, p, err, sizeof err);
  if (rc) {
    pg_failed(w, j, rc, err);
    return;
  }
  event(j, "device_enrolled", who->tenant, id, actor, json_pack("{s:s,s:s}", "device_id", id, "name", in_str(j, "name")));
  j->status = 201;
  j->out = json_pack("{s:s,s:s,s:s}", "device_id", id, "device_secret", secret, "name", in_str(j, "name"));
}

static void run_pin(fofal_worker_t *w, auth_job_t *j) {
  accounts_t *a = j->api->accounts;
  const char *tenant = in_str(j, "tenant"), *dev = in_str(j, "device_id"), *dsec = in_str(j, "device_secret"),
             *badge = in_str(j, "badge"), *pin = in_str(j, "pin");
  char k1[256], k2[256], k3[128], err[256], digest[65], actor[200];
  snprintf(k1, sizeof k1, "fofal:rl:pin:dev:%s:%s", tenant, dev);
  snprintf(k2, sizeof k2, "fofal:rl:pin:badge:%s:%s", tenant, badge);
  snprintf(k3, sizeof k3, "fofal:rl:login:ip:%s", j->ip);
  const char *keys[] = {k1, k2, k3};
  long long lim[] = {j->api->conf.rate_pin_device, j->api->conf.rate_pin_badge, j->api->conf.rate_login_ip};
  if (limited(w, j, 3, keys, lim)) return;
  fofal_pg_t *pg;
  json_t *d = NULL, *acct = NULL, *after = NULL;
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
    char subject[FOFAL_UUID_LEN + 1];
    fofal_uuid_named(tenant, dev, subject);
    event(j, "login_failed", tenant, subject, "anonymous",
          json_pack("{s:s,s:s,s:s}", "method", "pin", "reason", "unknown_device", "device_id", dev));
    answer(j, 401, "invalid_device", "this device is not enrolled");
    goto out;
  }
  const char *pa[] = {tenant, badge};
  rc = q1(pg,
          "SELECT json_build_object('id', id, 'role', role, 'badge', badge, 'hash', pin_hash,"
          " 'locked_s', CEIL(EXTRACT(EPOCH FROM (pin_locked_until - now())))::bigint)"
          " FROM identity.accounts WHERE tenant = $1 AND badge = $2",
          2, pa, &acct, err, sizeof err);
  if (rc) goto pgfail;
  long long locked_s = acct ? json_integer_value(json_object_get(acct, "locked_s")) : 0;
  if (locked_s > 0) {
    answer(j, 429, "locked_out", "too many wrong PINs: this badge is locked for a while");
    j->retry_after_s = locked_s;
    goto out;
  }
  const char *hash = acct ? jstr(acct, "hash") : NULL;
  int ok = fofal_cred_verify(hash ? hash : a->dummy_hash, pin) && hash;
  if (!ok) {
    char subject[FOFAL_UUID_LEN + 1];
    if (acct) snprintf(subject, sizeof subject, "%s", jstr(acct, "id"));
    else fofal_uuid_named(tenant, badge, subject);
    event(j, "login_failed", tenant, subject, "anonymous",
          json_pack("{s:s,s:s,s:s,s:s}", "method", "pin", "reason", acct ? "bad_pin" : "unknown_badge", "badge", badge,
                    "device_id", dev));
    if (acct) {
      char maxf[24];
      snprintf(maxf, sizeof maxf, "%lld", j->api->conf.pin_max_failures);
      const char *pf[] = {tenant, jstr(acct, "id"), maxf};
      /* From the max-th failure on, locked 1, 2, 4 … 64 minutes. */
      rc = q1(pg,
              "UPDATE identity.accounts SET pin_failures = pin_failures + 1, pin_locked_until = CASE"
              " WHEN pin_failures + 1 >= $3::int THEN now() + make_interval(mins => power(2, LEAST(pin_failures + 1 - $3::int, 6))::int)"
              " END WHERE tenant = $1 AND id = $2"
              " RETURNING json_build_object('failures', pin_failures, 'locked_s', CEIL(EXTRACT(EPOCH FROM (pin_locked_until - now())))::bigint)",
              3, pf, &after, err, sizeof err);
      if (rc) goto pgfail;
      long long ls = after ? json_integer_value(json_object_get(after, "locked_s")) : 0;
      if (ls > 0) {
        event(j, "locked_out", tenant, subject, "anonymous",
              json_pack("{s:s,s:s,s:I,s:I}", "method", "pin", "badge", badge, "failures",
                        json_integer_value(json_object_get(after, "failures")), "seconds", (json_int_t)ls));
        answer(j, 429, "locked_out", "too many wrong PINs: this badge is locked for a while");
        j->retry_after_s = ls;
        goto out;
      }
    }
    answer(j, 401, "invalid_credentials", "the badge or the PIN is wrong");
    goto out;
  }
  const char *id = jstr(acct, "id"), *role = jstr(acct, "role");
  if (fofal_api_role_needs_mfa(role)) {
    answer(j, 403, "pin_not_allowed", "this role must sign in with a password and a second factor");
    goto out;
  }
  const char *pr[] = {tenant, id};
  if ((rc = fofal_pg_execp(pg, "UPDATE identity.accounts SET pin_failures = 0, pin_locked_until = NULL WHERE tenant = $1 AND id = $2",
                           2, pr, err, sizeof err)))
    goto pgfail;
  actor_of(actor, sizeof actor, id, role);
  if (!new_session(w, pg, j, tenant, id, role, jstr(acct, "badge"), dev))
    event(j, "login_succeeded", tenant, id, actor,
          json_pack("{s:s,s:s,s:s,s:s}", "method", "pin", "badge", badge, "device_id", dev, "sid", jstr(j->out, "sid")));
  goto out;
pgfail:
  pg_failed(w, j, rc, err);
out:
  json_decref(d);
  json_decref(acct);
  json_decref(after);
}

static void job_run(fofal_worker_t *w, fofal_job_t *job) {
  auth_job_t *j = (auth_job_t *)job;
  switch (j->op) {
  case OP_LOGIN: run_login(w, j); break;
  case OP_MFA: run_mfa(w, j); break;
  case OP_ENROL: run_enrol(w, j); break;
  case OP_REFRESH: run_refresh(w, j); break;
  case OP_LOGOUT: run_logout(w, j); break;
  case OP_PASSWORD: run_password(w, j); break;
  case OP_ACCOUNT: run_account(w, j); break;
  case OP_DEVICE: run_device(w, j); break;
  case OP_PIN: run_pin(w, j); break;
  }
}

/* --------------------------------------------------------- audit events */

static void on_event_delivered(void *opaque, int err, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  if (err) LOG_WARN("identity: an audit event of type %s was not delivered to Kafka", (const char *)opaque);
}

/* Loop thread. */
static void produce_events(accounts_t *a, auth_job_t *j) {
  size_t i;
  json_t *e;
  char topic[64];
  fofal_topic_events("identity", topic, sizeof topic);
  json_array_foreach(j->events, i, e) {
    char id[FOFAL_UUID_LEN + 1], type[96], err[256];
    fofal_uuid7(id);
    snprintf(type, sizeof type, "fofal.identity.%s.v1", jstr(e, "type"));
    const char *subject = jstr(e, "subject");
    fofal_event_t ev = {.id = id, .source = "/fofal/identity", .type = type, .subject = (char *)subject,
                        .time_us = fofal_now_us(), .tenant = (char *)jstr(e, "tenant"), .seq = 0,
                        .actor = (char *)jstr(e, "actor"), .command_id = id, .correlation_id = j->corr,
                        .data = json_object_get(e, "data")};
    char *buf = fofal_event_encode(&ev);
    const fofal_kheader_t *h;
    int nh = fofal_event_kafka_headers(&h);
    static const char *const kinds[] = {"identity"};
    if (fofal_kafka_produce(a->producer, topic, -1, subject, strlen(subject), buf, strlen(buf), h, nh,
                            on_event_delivered, (void *)kinds[0], err, sizeof err))
      LOG_WARN("identity: cannot queue an audit event: %s", err);
    free(buf);
  }
}

/* ------------------------------------------------------------ handlers */

static void on_ctx_dispose(void *p) {
  auth_ctx_t *ctx = p;
  if (ctx->job) ctx->job->ctx = NULL;
}

static void job_done(fofal_api_t *api, fofal_job_t *job) {
  auth_job_t *j = (auth_job_t *)job;
  accounts_t *a = api->accounts;
  if (job->stopped) answer(j, 503, "shutting_down", "the server is stopping; retry");
  if (a) {
    size_t i;
    json_t *s;
    long until = (long)time(NULL) + (long)api->conf.access_ttl + LEEWAY_S + 60;
    json_array_foreach(j->revoked, i, s) {
      fofal__auth_revoke(json_string_value(s), until);
      fofal__stream_revoke(api, json_string_value(s));
    }
    if (!job->stopped) produce_events(a, j);
  }
  if (j->ctx) {
    h2o_req_t *req = j->ctx->req;
    j->ctx->job = NULL;
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
  json_decref(j->out);
  json_decref(j->in);
  json_decref(j->events);
  json_decref(j->revoked);
  free(j);
}

/* Submits `in` (stolen) as a job of `op`. */
static int submit(fofal_api_t *api, h2o_req_t *req, op_t op, json_t *in, const fofal_principal_t *who) {
  auth_job_t *j = fofal_calloc(1, sizeof *j);
  j->super.run = job_run;
  j->super.done = job_done;
  j->api = api;
  j->op = op;
  j->in = in;
  j->events = json_array();
  j->revoked = json_array();
  if (who) j->who = *who;
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
    json_decref(j->in);
    json_decref(j->events);
    json_decref(j->revoked);
    free(j);
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, 503, "overloaded", "too many requests are waiting; retry shortly", NULL);
  }
  return 0;
}

/* Checks that the body holds no member but `names`, and that its string fields are
 * present (required) and of a length within [mins[i], maxs[i]] characters (code points,
 * as JSON Schema's minLength counts them: six emoji are six characters, not 24); a leading
 * ? in a name marks it optional. Answers 422 and returns -1 if not. */
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
      return -1;
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
      return -1;
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
                {"/api/v1/auth/pin-login", OP_PIN, 0}};
  int r = -1;
  for (int i = 0; i < (int)(sizeof routes / sizeof routes[0]); i++)
    if (path_eq(req, routes[i].path)) r = i;
  if (r < 0) {
    fofal__send_problem(req, 404, "not_found", "no such resource", NULL);
    return 0;
  }
  if (!post) goto method;
  if (routes[r].bearer && fofal__authenticate(api, req, &who)) return 0;
  json_t *in;
  if (routes[r].op == OP_LOGOUT && req->entity.len == 0) in = json_object();
  else if (!(in = fofal__read_json(req, 16 * 1024))) return 0;
  op_t op = routes[r].op;
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
  return submit(api, req, op, in, &who);
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
  while (!a->stop) {
    fofal_kafka_poll(a->producer, 0);
    int n = fofal__redis_xread(a->redis, REVOCATIONS, a->last_id, 500, 1000, 0, on_entry, &t, err, sizeof err);
    /* Fresh only once what was read is in the loop's set: posted after the entries. */
    if (n >= 0) fofal__api_post(a->api, on_revocations_read, NULL);
    if (n < 0) {
      fofal_kafka_poll(a->producer, 250);
    }
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
  fofal_kafka_opts_t po = {.brokers = api->conf.brokers, .client_id = "fofal-api-identity", .linger_ms = 5};
  int rc = fofal_kafka_producer_new(&a->producer, &po, errbuf, errlen);
  if (rc) return rc;
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
  a->stop = 1;
  if (a->tail_started) pthread_join(a->tail, NULL);
  fofal__redis_free(a->redis);
  fofal_kafka_free(a->producer);
  free(a);
  api->accounts = NULL;
}
