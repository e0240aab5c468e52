/*
 * auth.c — bearer tokens: the libjwt adapter.
 *
 * Access tokens are HS256 JWTs. The algorithm is pinned (a token that names any other,
 * "none" included, is refused), and exp, nbf, iss and aud are checked here because
 * libjwt 1.10 does not. Claims used: sub, tenant, role. Tokens never reach a log.
 * Loop thread (verification) or any thread (issuing).
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
    return 0;
  }
  jwt_t *jwt = NULL;
  const char *secret = api->conf.jwt_secret;
  if (jwt_decode(&jwt, tok, (const unsigned char *)secret, (int)strlen(secret)) || !jwt)
    return deny(req, "invalid_token", "the access token is not valid");
  int rc = 0;
  long exp = jwt_get_grant_int(jwt, "exp"), nbf = jwt_get_grant_int(jwt, "nbf");
  const char *iss = jwt_get_grant(jwt, "iss"), *aud = jwt_get_grant(jwt, "aud");
  if (jwt_get_alg(jwt) != JWT_ALG_HS256) rc = deny(req, "invalid_token", "the access token is not valid");
  else if (exp <= 0 || exp + LEEWAY_S < now) rc = deny(req, "token_expired", "the access token has expired");
  else if (nbf > now + LEEWAY_S) rc = deny(req, "invalid_token", "the access token is not valid yet");
  else if (!iss || strcmp(iss, api->conf.jwt_issuer) || !aud || strcmp(aud, api->conf.jwt_audience))
    rc = deny(req, "invalid_token", "the access token was not issued for this service");
  else if (copy_claim(jwt, "tenant", who->tenant, sizeof who->tenant) ||
           copy_claim(jwt, "sub", who->subject, sizeof who->subject) ||
           copy_claim(jwt, "role", who->role, sizeof who->role))
    rc = deny(req, "invalid_token", "the access token lacks tenant, sub or role");
  jwt_free(jwt);
  if (!rc && nbf <= now) remember(tok, who, exp);
  return rc;
}

char *fofal_api_token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                            const char *subject, const char *role, long ttl_s) {
  jwt_t *jwt = NULL;
  char *out = NULL;
  long now = (long)time(NULL);
  if (jwt_new(&jwt)) return NULL;
  if (!jwt_add_grant(jwt, "iss", issuer) && !jwt_add_grant(jwt, "aud", audience) &&
      !jwt_add_grant(jwt, "sub", subject) && !jwt_add_grant(jwt, "tenant", tenant) &&
      !jwt_add_grant(jwt, "role", role) && !jwt_add_grant_int(jwt, "iat", now) &&
      !jwt_add_grant_int(jwt, "nbf", now) && !jwt_add_grant_int(jwt, "exp", now + ttl_s) &&
      !jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret))) {
    char *s = jwt_encode_str(jwt);
    out = fofal_strdup(s);
    free(s);
  }
  jwt_free(jwt);
  return out;
}
