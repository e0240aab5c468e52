/*
 * auth.c — bearer tokens: the libjwt adapter.
 *
 * Access tokens are HS256 JWTs. The algorithm is pinned (a token that names any other,
 * "none" included, is refused), and exp, nbf, iss and aud are checked here because
 * libjwt 1.10 does not. Claims used: sub, tenant, role, `sid` (the session, i.e. the
 * refresh-token family of api/accounts.c) when the token came from a sign-in, and `badge`
 * when the person has one: the sign-in copies it from the account, and it — never `sub`,
 * an account id — is who "own data" checks and commands' people are (weaving_api.c,
 * commands/actors.c). Tokens never reach a log.
 *
 * Keys and rotation (issue 22 item 5). A token names its key in the header's `kid`: the
 * first 16 hex digits of the key's SHA-256, so a key needs no name of its own and the
 * fingerprint tells nothing an HS256 signature does not already. FOFAL_JWT_SECRET signs;
 * FOFAL_JWT_PREVIOUS_SECRETS (comma-separated) still verify, for the lifetime of the
 * tokens they signed: rotate by moving the old key there, the new one into
 * FOFAL_JWT_SECRET, restarting the instances, and dropping the old key a token lifetime
 * later. A token without `kid` (signed before kids existed) is checked with the current
 * key. HS256 stays: fofal-api both signs and verifies, nobody else holds the key, and
 * libjwt 1.10's RS/ES support would add key files without protecting anything more.
 *
 * Sessions only (issue 22 item 5). A token without `sid` cannot be revoked and never
 * passed MFA: fofal-api refuses it (401 session_required) unless FOFAL_API_DEV_TOKENS=1,
 * which the local and test stacks set for `fofal token`. Lifetimes are capped whatever
 * the token says: a session's access token may live FOFAL_API_ACCESS_TTL, a development
 * token DEV_MAX_TTL_S (a day), a step token (MFA) STEP_MAX_TTL_S, each from now and with
 * the clock leeway.
 *
 * Revocation. A verified token is cached until it expires, so the cache must learn when a
 * session ends (logout, password change, refresh-token reuse): api/accounts.c tails the
 * Redis stream of revoked session ids on every instance and calls fofal__auth_revoke(),
 * and a token whose sid is in that set is refused (cached or not) with 401 token_revoked.
 * While the tail cannot read the stream (Redis down or unreachable from this instance)
 * for FOFAL_API_REVOCATION_STALE_S, session tokens are refused with 503
 * revocations_unavailable: fail closed (issue 22 item 8). Sign-in fails closed on Redis
 * already (its rate limits), so a Redis outage costs the signed-in users their access
 * for its length, never a logged-out token its refusal.
 * Loop thread (verification, revocation set) or any thread (issuing).
 */
#include "api.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKEN 4096
#define LEEWAY_S FOFAL__TOKEN_LEEWAY_S
#define DEV_MAX_TTL_S 86400  /* tokens without a session (fofal token caps --ttl at this) */
#define STEP_MAX_TTL_S 600   /* step tokens (the MFA step's, 5 minutes) */
#define MAX_KEYS 8
#define KID_LEN 16

/* The verification keys: [0] signs (FOFAL_JWT_SECRET), the rest are previous keys. Set
 * once at start, before threads; read only afterwards. */
static struct {
  char *secret;
  char kid[KID_LEN + 1];
} keys[MAX_KEYS];
static int nkeys;

static void kid_of(const char *secret, char out[KID_LEN + 1]) {
  char hex[65];
  fofal_cred_digest(secret, hex);
  memcpy(out, hex, KID_LEN);
  out[KID_LEN] = '\0';
}

static void keys_free(void) {
  for (int i = 0; i < nkeys; i++) free(keys[i].secret);
  memset(keys, 0, sizeof keys);
  nkeys = 0;
}

static int key_add(const char *s, size_t n, char *errbuf, size_t errlen) {
  if (n < 32) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "%s must be at least 32 characters",
                               nkeys ? "each of FOFAL_JWT_PREVIOUS_SECRETS" : "FOFAL_JWT_SECRET");
  if (nkeys == MAX_KEYS) return fofal_err(errbuf, errlen, FOFAL_ECONFIG, "at most %d previous JWT secrets", MAX_KEYS - 1);
  char *k = fofal_malloc(n + 1);
  memcpy(k, s, n);
  k[n] = '\0';
  keys[nkeys].secret = k;
  kid_of(k, keys[nkeys].kid);
  nkeys++;
  return 0;
}

int fofal__auth_configure(const fofal_api_conf_t *c, char *errbuf, size_t errlen) {
  keys_free();
  int rc = key_add(c->jwt_secret ? c->jwt_secret : "", c->jwt_secret ? strlen(c->jwt_secret) : 0, errbuf, errlen);
  for (const char *p = c->jwt_previous_secrets; !rc && p && *p;) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && (*p == ' ')) p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if (n) rc = key_add(p, n, errbuf, errlen);
    p = e ? e + 1 : p + strlen(p);
  }
  if (rc) keys_free();
  return rc;
}

/* The key a token names in its header's kid (the current one without a kid), or NULL. */
static const char *key_for(const char *tok) {
  const char *dot = strchr(tok, '.');
  const char *kid = NULL, *secret = NULL;
  if (!dot || dot - tok > 1024) return NULL;
  h2o_mem_pool_t pool;
  h2o_mem_init_pool(&pool);
  h2o_iovec_t head = h2o_decode_base64url(&pool, tok, (size_t)(dot - tok));
  json_t *h = head.base ? json_loadb(head.base, head.len, 0, NULL) : NULL;
  if (json_is_object(h)) {
    kid = json_string_value(json_object_get(h, "kid"));
    if (!json_object_get(h, "kid")) secret = nkeys ? keys[0].secret : NULL;
    for (int i = 0; kid && i < nkeys && !secret; i++)
      if (!strcmp(keys[i].kid, kid)) secret = keys[i].secret;
  }
  json_decref(h);
  h2o_mem_clear_pool(&pool);
  return secret;
}

static int deny(h2o_req_t *req, const char *code, const char *detail) {
  fofal__add_header(req, "WWW-Authenticate", "Bearer realm=\"fofal\"");
  fofal__send_problem(req, 401, code, detail, NULL);
  return FOFAL_EAUTH;
}

/* Revoked session ids → the unix time after which no token of theirs can be valid any more
 * (then the entry is useless and is dropped). Loop thread only. */
static fofal_map_t *revoked;

typedef struct {
  long until;
} revoked_t;

typedef struct {
  fofal_map_t *keep;
  long now;
} sweep_t;

static void sweep_one(void *opaque, const char *key, void *value) {
  sweep_t *s = opaque;
  const revoked_t *r = value;
  if (r->until >= s->now) {
    revoked_t *c = fofal_malloc(sizeof *c);
    *c = *r;
    fofal_map_put(s->keep, key, c);
  }
}

void fofal__auth_revoke(const char *sid, long until) {
  if (!revoked) revoked = fofal_map_new(free);
  if (fofal_map_size(revoked) >= 100000) {
    sweep_t s = {fofal_map_new(free), (long)time(NULL)};
    fofal_map_each(revoked, sweep_one, &s);
    fofal_map_free(revoked);
    revoked = s.keep;
  }
  revoked_t *r = fofal_malloc(sizeof *r);
  r->until = until;
  fofal_map_put(revoked, sid, r);
}

int fofal__auth_revoked(const char *sid) { return sid && *sid && revoked && fofal_map_get(revoked, sid) != NULL; }

/* Copies claim `name` into out. 0, FOFAL_ENOENT when absent or empty, FOFAL_ETOOBIG. */
static int copy_claim(jwt_t *jwt, const char *name, char *out, size_t outlen) {
  const char *v = jwt_get_grant(jwt, name);
  if (!v || !*v) return FOFAL_ENOENT;
  if (strlen(v) >= outlen) return FOFAL_ETOOBIG;
  memcpy(out, v, strlen(v) + 1);
  return 0;
}

/* Verified tokens, so that a phone sending many commands is not re-verified (an HMAC and
 * a JSON parse) each time. Loop thread only. Bounded: emptied when full. An entry is used
 * only until the token's own expiry. */
#define CACHE_MAX 10000
typedef struct {
  fofal_principal_t who;
  long exp;
} cached_t;
static fofal_map_t *cache;

static void remember(const char *tok, const fofal_principal_t *who, long exp) {
  if (!cache) cache = fofal_map_new(free);
  if (fofal_map_size(cache) >= CACHE_MAX) {
    fofal_map_free(cache);
    cache = fofal_map_new(free);
  }
  cached_t *c = fofal_malloc(sizeof *c);
  c->who = *who;
  c->exp = exp;
  fofal_map_put(cache, tok, c);
}

void fofal__auth_cache_free(void) {
  keys_free();
  fofal_map_free(cache);
  cache = NULL;
  fofal_map_free(revoked);
  revoked = NULL;
}

/* Verifies `tok` for audience `aud`. 0 and *who and *exp, or FOFAL_EAUTH with a problem
 * code and detail. */
static int verify(fofal_api_t *api, const char *tok, const char *aud_want, int access, fofal_principal_t *who,
                  long *exp_out, const char **code, const char **detail) {
  jwt_t *jwt = NULL;
  long now = (long)time(NULL);
  const char *secret = key_for(tok);
  *code = "invalid_token";
  *detail = "the access token is not valid";
  if (!secret) {
    *detail = "the access token is not signed with a key of this service";
    return FOFAL_EAUTH;
  }
  if (jwt_decode(&jwt, tok, (const unsigned char *)secret, (int)strlen(secret)) || !jwt) return FOFAL_EAUTH;
  int rc = FOFAL_EAUTH;
  long exp = jwt_get_grant_int(jwt, "exp"), nbf = jwt_get_grant_int(jwt, "nbf");
  const char *iss = jwt_get_grant(jwt, "iss"), *aud = jwt_get_grant(jwt, "aud"), *sid = jwt_get_grant(jwt, "sid"),
             *badge = jwt_get_grant(jwt, "badge");
  memset(who, 0, sizeof *who);
  if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
  } else if (exp <= 0 || exp + LEEWAY_S < now) {
    *code = "token_expired";
    *detail = "the access token has expired";
  } else if (nbf > now + LEEWAY_S) {
    *detail = "the access token is not valid yet";
  } else if (!iss || strcmp(iss, api->conf.jwt_issuer) || !aud || strcmp(aud, aud_want)) {
    *detail = "the access token was not issued for this service";
  } else if (copy_claim(jwt, "tenant", who->tenant, sizeof who->tenant) ||
             copy_claim(jwt, "sub", who->subject, sizeof who->subject) ||
             copy_claim(jwt, "role", who->role, sizeof who->role)) {
    *detail = "the access token lacks tenant, sub or role";
  } else if (sid && copy_claim(jwt, "sid", who->sid, sizeof who->sid)) {
  } else if (badge && (!fofal_code_valid(badge) || copy_claim(jwt, "badge", who->badge, sizeof who->badge))) {
    *detail = "the access token's badge is not a badge";
  } else if (access && !sid && !api->conf.dev_tokens) {
    *code = "session_required";
    *detail = "this token belongs to no sign-in session (a development token): sign in at /api/v1/auth/login";
  } else if (exp > now + LEEWAY_S + (!access ? STEP_MAX_TTL_S : sid ? api->conf.access_ttl : DEV_MAX_TTL_S)) {
    *detail = "the token lives longer than this service allows";
  } else {
    rc = 0;
    who->exp = exp;
    *exp_out = nbf <= now ? exp : -1;
  }
  jwt_free(jwt);
  return rc;
}

int fofal__token_verify(fofal_api_t *api, const char *tok, const char *aud, fofal_principal_t *who) {
  const char *code, *detail;
  long exp;
  if (strlen(tok) > MAX_TOKEN) return FOFAL_EAUTH;
  return verify(api, tok, aud, 0, who, &exp, &code, &detail);
}

int fofal__access_check(fofal_api_t *api, const char *tok, fofal_principal_t *who, const char **code,
                        const char **detail) {
  long now = (long)time(NULL);
  if (strlen(tok) > MAX_TOKEN) {
    *code = "invalid_token";
    *detail = "the access token is not valid";
    return FOFAL_EAUTH;
  }
  const cached_t *hit = cache ? fofal_map_get(cache, tok) : NULL;
  if (hit && hit->exp + LEEWAY_S >= now) {
    *who = hit->who;
  } else {
    long exp;
    if (verify(api, tok, api->conf.jwt_audience, 1, who, &exp, code, detail)) return FOFAL_EAUTH;
    if (exp > 0) remember(tok, who, exp);
  }
  if (fofal__auth_revoked(who->sid)) {
    *code = "token_revoked";
    *detail = "the session of this token has ended";
    return FOFAL_EAUTH;
  }
  /* Whether the session ended is unknown while the revocations cannot be read: fail
   * closed rather than accept a token its owner logged out. */
  if (who->sid[0] && fofal_mono_us() - atomic_load(&api->revocations_read_us) > api->conf.revocation_stale_s * 1000000) {
    *code = "revocations_unavailable";
    *detail = "whether this session was ended cannot be checked now (Redis is not reachable); retry shortly";
    return FOFAL_EUNAVAIL;
  }
  return 0;
}

int fofal__authenticate(fofal_api_t *api, h2o_req_t *req, fofal_principal_t *who) {
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  if (i < 0) return deny(req, "unauthenticated", "send Authorization: Bearer <access token>");
  h2o_iovec_t v = req->headers.entries[i].value;
  if (v.len < 8 || strncasecmp(v.base, "Bearer ", 7) || v.len - 7 > MAX_TOKEN)
    return deny(req, "unauthenticated", "send Authorization: Bearer <access token>");
  char tok[MAX_TOKEN + 1];
  memcpy(tok, v.base + 7, v.len - 7);
  tok[v.len - 7] = '\0';
  const char *code, *detail;
  int rc = fofal__access_check(api, tok, who, &code, &detail);
  if (rc == FOFAL_EUNAVAIL) {
    fofal__add_header(req, "Retry-After", "1");
    fofal__send_problem(req, 503, code, detail, NULL);
    return rc;
  }
  if (rc) return deny(req, code, detail);
  fofal__access_note(req, who);
  return 0;
}

char *fofal_api_token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                            const char *subject, const char *role, long ttl_s) {
  return fofal__token_issue(secret, issuer, audience, tenant, subject, role, NULL, NULL, ttl_s);
}

char *fofal_api_token_issue_badge(const char *secret, const char *issuer, const char *audience, const char *tenant,
                                  const char *subject, const char *role, const char *badge, long ttl_s) {
  return fofal__token_issue(secret, issuer, audience, tenant, subject, role, badge, NULL, ttl_s);
}

char *fofal__token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                         const char *subject, const char *role, const char *badge, const char *sid, long ttl_s) {
  jwt_t *jwt = NULL;
  char *out = NULL, kid[KID_LEN + 1];
  long now = (long)time(NULL);
  kid_of(secret, kid);
  if (jwt_new(&jwt)) return NULL;
  if (!jwt_add_grant(jwt, "iss", issuer) && !jwt_add_grant(jwt, "aud", audience) &&
      !jwt_add_grant(jwt, "sub", subject) && !jwt_add_grant(jwt, "tenant", tenant) &&
      !jwt_add_grant(jwt, "role", role) && !jwt_add_grant_int(jwt, "iat", now) &&
      !jwt_add_grant_int(jwt, "nbf", now) && !jwt_add_grant_int(jwt, "exp", now + ttl_s) &&
      (!sid || !jwt_add_grant(jwt, "sid", sid)) && (!badge || !*badge || !jwt_add_grant(jwt, "badge", badge)) &&
      !jwt_add_header(jwt, "kid", kid) && !jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret))) {
    char *s = jwt_encode_str(jwt);
    out = fofal_strdup(s);
    free(s);
  }
  jwt_free(jwt);
  return out;
}
