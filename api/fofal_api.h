/*
 * fofal_api.h — the one header of api/ that other folders include: what the admin CLI
 * and tests need from the API without its internals.
 */
#ifndef FOFAL_API_PUBLIC_H
#define FOFAL_API_PUBLIC_H

#include <jansson.h>
#include <stddef.h>

/* A signed HS256 access token (new string, caller frees; NULL on failure) with claims iss,
 * aud, sub, tenant, role, iat, nbf and exp = now + ttl_s. */
char *fofal_api_token_issue(const char *secret, const char *issuer, const char *audience, const char *tenant,
                            const char *subject, const char *role, long ttl_s);
/* The same with a `badge` claim (the person's badge: the floor's "own data" and who acts
 * in commands), unless badge is NULL or "". */
char *fofal_api_token_issue_badge(const char *secret, const char *issuer, const char *audience, const char *tenant,
                                  const char *subject, const char *role, const char *badge, long ttl_s);

/* ------------------------------------------------- credentials.c (pure) */

/* Initialises libsodium and liboath once, before threads. 0 or FOFAL_EIO. */
int fofal_cred_init(void);
/* argon2id of `secret` (random 16-byte salt, 32-byte hash, parallelism 1) as the encoded
 * "$argon2id$v=19$m=…,t=…,p=1$salt$hash" string into out. 0 or FOFAL_EINVAL. */
int fofal_cred_hash(const char *secret, unsigned t_cost, unsigned m_kib, char *out, size_t outlen);
#define FOFAL_CRED_HASH_MAX 160
/* 1 when `secret` matches the encoded argon2id hash (constant-time), else 0 (also for
 * NULL or a hash of another algorithm). */
int fofal_cred_verify(const char *encoded, const char *secret);
/* nbytes (≤ 64) random bytes as URL-safe base64 without padding into out. */
void fofal_cred_random_token(char *out, size_t outlen, size_t nbytes);
/* SHA-256 of `secret` as 64 lower-case hex characters. */
void fofal_cred_digest(const char *secret, char out[65]);
/* Constant-time equality of two strings of the same length (0 when lengths differ). */
int fofal_cred_equal(const char *a, const char *b);
/* A one-time recovery code "xxxx-xxxx-xxxx" (60 random bits). */
void fofal_cred_recovery_code(char out[16]);
/* A new TOTP secret: 20 random bytes as 40 hex characters. */
int fofal_cred_totp_secret(char hex[41]);
/* The otpauth:// URI of a secret (new string) or NULL. */
char *fofal_cred_totp_uri(const char *hex, const char *issuer, const char *account);
/* The 6-digit TOTP code (SHA-1, 30 s steps) of the secret at unix time `now`. */
int fofal_cred_totp_code(const char *hex, long long now, char out[7]);
/* The time step (now/30 + d, |d| ≤ window) whose code equals `code` and is later than
 * last_step (a code is accepted once), or -1. */
long long fofal_cred_totp_check(const char *hex, long long now, const char *code, long long last_step, int window);
/* An SVG image of the QR code of `text` (new string) or NULL. */
char *fofal_cred_qr_svg(const char *text);

/* A token bucket: `burst` tokens at most, refilled at rate_per_s. The same arithmetic runs
 * in Redis (the Lua script of api/ratelimit.c) for the limits shared by instances. */
typedef struct {
  double tokens;
  long long ts_ms; /* 0: new (full) */
} fofal_bucket_t;
/* Takes `cost` tokens at now_ms: 1 (taken) or 0 (refused; *retry_ms = when enough will
 * be there, ≥ 1). */
int fofal_bucket_take(fofal_bucket_t *b, long long now_ms, double rate_per_s, double burst, double cost,
                      long long *retry_ms);

/* ------------------------------------------------------------- accounts.c */

/* The 13 roles, NULL-terminated. */
extern const char *const fofal_api_roles[];
/* 1 if `role` is one of them. */
int fofal_api_role_valid(const char *role);
/* 1 if the role must pass a second factor (money, pay or HR: accountant, hr, manager,
 * admin). */
int fofal_api_role_needs_mfa(const char *role);
/* The id of the account named `username` in `tenant`: a name-based UUID keyed with the
 * master key (so a second account of the same name is the same aggregate, and nobody
 * without the key can tell a name from its id). out[37]. */
void fofal_api_account_id(const unsigned char *master, const char *tenant, const char *username, char out[37]);
/* The data of an identity.account.create command (*data new): the account id, the
 * username sealed with the account's data key (created in identity_keys.person_keys on
 * `pg`), the role, and the password and PIN (either may be NULL) hashed with argon2id
 * (t_cost, m_kib) and sealed under the master key; badge and ip when not NULL. *id_out (37
 * bytes) gets the account id. 0, FOFAL_EINVAL (bad role, username, password), FOFAL_EEXIST
 * (the name's account was erased), FOFAL_EUNAVAIL or FOFAL_EPG, detail in errbuf (never a
 * secret). */
struct fofal_pg;
int fofal_api_account_data(struct fofal_pg *pg, const unsigned char *master, const char *tenant, const char *username,
                           const char *role, const char *password, const char *badge, const char *pin,
                           unsigned t_cost, unsigned m_kib, const char *ip, json_t **data, char id_out[37],
                           char *errbuf, size_t errlen);

#endif
