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
 * Revocation. A verified token is cached until it expires, so the cache must learn when a
 * session ends (logout, password change, refresh-token reuse): api/accounts.c tails the
 * Redis stream of revoked session ids on every instance and calls fofal__auth_revoke(),
 * and a token whose sid is in that set is refused (cached or not) with 401 token_revoked.
 * Tokens without a sid (signed by `fofal token` for development and tests) cannot be
 * revoked; they are as strong as FOFAL_JWT_SECRET and their own exp.
 * Loop thread (verification, revocation set) or any thread (issuing).
 */
#include "api.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKEN 4096
#define LEEWAY_S 30

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

static int copy_claim(jwt_t *jwt, const char *name, char *out, size_t outlen) {
  const char *v = jwt_get_grant(jwt, name);
  if (!v || !*v || strlen(v) >= outlen) return -1;
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
  fofal_map_free(cache);
  cache = NULL;
  fofal_map_free(revoked);
  revoked = NULL;
}

/* Verifies `tok` for audience `aud`. 0 and *who and *exp, or -1 with a problem code and
 * detail. */
static int verify(fofal_api_t *api, const char *tok, const char *aud_want, fofal_principal_t *who, long *exp_out,
                  const char **code, const char **detail) {
  jwt_t *jwt = NULL;
  long now = (long)time(NULL);
  const char *secret = api->conf.jwt_secret;
  *code = "invalid_token";
  *detail = "the access token is not valid";
  if (jwt_decode(&jwt, tok, (const unsigned char *)secret, (int)strlen(secret)) || !jwt) return -1;
  int rc = -1;
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
  } else {
    rc = 0;
    *exp_out = nbf <= now ? exp : -1;
  }
  jwt_free(jwt);
  return rc;
}

int fofal__token_verify(fofal_api_t *api, const char *tok, const char *aud, fofal_principal_t *who) {
  const char *code, *detail;
  long exp;
  if (strlen(tok) > MAX_TOKEN) return -1;
  return verify(api, tok, aud, who, &exp, &code, &detail);
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

  long now = (long)time(NULL);
  const cached_t *hit = cache ? fofal_map_get(cache, tok) : NULL;
  if (hit && hit->exp + LEEWAY_S >= now) {
    *who = hit->who;
  } else {
    const char *code, *detail;
    long exp;
    if (verify(api, tok, api->conf.jwt_audience, who, &exp, &code, &detail)) return deny(req, code, detail);
    if (exp > 0) remember(tok, who, exp);
  }
  if (fofal__auth_revoked(who->sid)) return deny(req, "token_revoked", "the session of this token has ended");
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
  char *out = NULL;
  long now = (long)time(NULL);
  if (jwt_new(&jwt)) return NULL;
  if (!jwt_add_grant(jwt, "iss", issuer) && !jwt_add_grant(jwt, "aud", audience) &&
      !jwt_add_grant(jwt, "sub", subject) && !jwt_add_grant(jwt, "tenant", tenant) &&
      !jwt_add_grant(jwt, "role", role) && !jwt_add_grant_int(jwt, "iat", now) &&
      !jwt_add_grant_int(jwt, "nbf", now) && !jwt_add_grant_int(jwt, "exp", now + ttl_s) &&
      (!sid || !jwt_add_grant(jwt, "sid", sid)) && (!badge || !*badge || !jwt_add_grant(jwt, "badge", badge)) &&
      !jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret))) {
    char *s = jwt_encode_str(jwt);
    out = fofal_strdup(s);
    free(s);
  }
  jwt_free(jwt);
  return out;
}
