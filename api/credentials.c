/*
 * credentials.c — the pure parts of authentication: password and PIN hashing (argon2id,
 * libargon2), random secrets and their SHA-256 digests (libsodium), TOTP codes (RFC 6238,
 * liboath), the token-bucket arithmetic of the rate limits, and the QR code of an
 * otpauth URI (as SVG, by labels.c), and the Mosquitto hash of an MQTT gateway's password.
 *
 * No I/O, no logging, no global state apart from the libraries' own one-time
 * initialisation (fofal_cred_init, before threads). Thread-safe otherwise. Everything
 * secret that passes through here is wiped from the stack before returning where it was
 * copied.
 *
 * Choices. argon2id with t=2, m=19 MiB, p=1 is OWASP's minimum recommendation; the cost is
 * a parameter so that the setting of fofal-api can raise it, and the encoded hash carries
 * its own parameters, so old hashes keep verifying after a change. High-entropy secrets
 * (refresh tokens: 256 bits; device secrets: 256 bits; recovery codes: 60 bits) need no
 * slow hash: SHA-256 is enough and lets the database find them by digest.
 */
#include "fofal_api.h"

#include <argon2.h>
#include <liboath/oath.h>
#include "labels.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

int fofal_cred_init(void) {
  if (sodium_init() < 0) return FOFAL_EIO;
  if (oath_init() != OATH_OK) return FOFAL_EIO;
  return 0;
}

/* ------------------------------------------------------------- argon2id */

int fofal_cred_hash(const char *secret, unsigned t_cost, unsigned m_kib, char *out, size_t outlen) {
  unsigned char salt[16];
  randombytes_buf(salt, sizeof salt);
  size_t need = argon2_encodedlen(t_cost, m_kib, 1, sizeof salt, 32, Argon2_id);
  if (need > outlen) return FOFAL_EINVAL;
  int rc = argon2id_hash_encoded(t_cost, m_kib, 1, secret, strlen(secret), salt, sizeof salt, 32, out, outlen);
  return rc == ARGON2_OK ? 0 : FOFAL_EINVAL;
}

int fofal_cred_verify(const char *encoded, const char *secret) {
  if (!encoded || strncmp(encoded, "$argon2id$", 10)) return 0;
  /* argon2id_verify compares in constant time. */
  return argon2id_verify(encoded, secret, strlen(secret)) == ARGON2_OK;
}

/* ------------------------------------------------------- random secrets */

void fofal_cred_random_token(char *out, size_t outlen, size_t nbytes) {
  unsigned char buf[64];
  if (nbytes > sizeof buf) nbytes = sizeof buf;
  randombytes_buf(buf, nbytes);
  sodium_bin2base64(out, outlen, buf, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(buf, sizeof buf);
}

void fofal_cred_digest(const char *secret, char out[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
  sodium_bin2hex(out, 65, h, sizeof h);
}

/* PBKDF2-HMAC-SHA512 (RFC 8018) for one 64-byte block, the length Mosquitto uses, so that
 * the broker checks what fofal-api made (mosquitto_passwd's own format, broker's
 * pw__hash in src/password_mosq.c). */
void fofal_cred_mqtt_hash(const char *password, const unsigned char *salt, unsigned iterations,
                          char out[FOFAL_CRED_MQTT_HASH_LEN]) {
  unsigned char s[12], u[crypto_auth_hmacsha512_BYTES], t[crypto_auth_hmacsha512_BYTES];
  static const unsigned char block1[4] = {0, 0, 0, 1};
  crypto_auth_hmacsha512_state st;
  const unsigned char *pw = (const unsigned char *)password;
  size_t pwlen = strlen(password);
  if (salt) memcpy(s, salt, sizeof s);
  else randombytes_buf(s, sizeof s);
  crypto_auth_hmacsha512_init(&st, pw, pwlen);
  crypto_auth_hmacsha512_update(&st, s, sizeof s);
  crypto_auth_hmacsha512_update(&st, block1, sizeof block1);
  crypto_auth_hmacsha512_final(&st, u);
  memcpy(t, u, sizeof t);
  for (unsigned i = 1; i < iterations; i++) {
    crypto_auth_hmacsha512_init(&st, pw, pwlen);
    crypto_auth_hmacsha512_update(&st, u, sizeof u);
    crypto_auth_hmacsha512_final(&st, u);
    for (size_t k = 0; k < sizeof t; k++) t[k] ^= u[k];
  }
  char s64[sizeof s * 2], h64[sizeof t * 2];
  sodium_bin2base64(s64, sizeof s64, s, sizeof s, sodium_base64_VARIANT_ORIGINAL);
  sodium_bin2base64(h64, sizeof h64, t, sizeof t, sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, FOFAL_CRED_MQTT_HASH_LEN, "$7$%u$%s$%s", iterations, s64, h64);
  sodium_memzero(&st, sizeof st);
  sodium_memzero(u, sizeof u);
  sodium_memzero(t, sizeof t);
}

int fofal_cred_equal(const char *a, const char *b) {
  size_t n = strlen(a);
  if (n != strlen(b)) return 0;
  return sodium_memcmp(a, b, n) == 0;
}

void fofal_cred_recovery_code(char out[16]) {
  /* 12 characters of an alphabet without look-alikes (5 bits each: 60 bits), as
   * xxxx-xxxx-xxxx. */
  static const char alpha[] = "abcdefghjkmnpqrstuvwxyz23456789A";
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  int o = 0;
  for (int i = 0; i < 12; i++) {
    if (i && i % 4 == 0) out[o++] = '-';
    out[o++] = alpha[r[i] & 31];
  }
  out[o] = '\0';
  sodium_memzero(r, sizeof r);
}

/* ----------------------------------------------------------------- TOTP */

int fofal_cred_totp_secret(char hex[41]) {
  unsigned char s[20];
  randombytes_buf(s, sizeof s);
  sodium_bin2hex(hex, 41, s, sizeof s);
  sodium_memzero(s, sizeof s);
  return 0;
}

static int unhex(const char *hex, unsigned char *out, size_t cap, size_t *len) {
  return sodium_hex2bin(out, cap, hex, strlen(hex), NULL, len, NULL) == 0 ? 0 : FOFAL_EINVAL;
}

/* `s` percent-encoded for the Key Uri Format (new): all but RFC 3986's unreserved
 * characters, and '@' (a label's account is often an address). */
static char *uri_encode(const char *s) {
  size_t n = strlen(s);
  char *out = fofal_malloc(3 * n + 1), *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-._~@", *p))
      *o++ = (char)*p;
    else
      o += sprintf(o, "%%%02X", *p);
  }
  *o = '\0';
  return out;
}

char *fofal_cred_totp_uri(const char *hex, const char *issuer, const char *account) {
  unsigned char s[64];
  size_t n;
  char *b32 = NULL;
  size_t b32len;
  if (unhex(hex, s, sizeof s, &n) || oath_base32_encode((const char *)s, n, &b32, &b32len) != OATH_OK) return NULL;
  /* Base32 padding is not part of the Key Uri Format. */
  while (b32len && b32[b32len - 1] == '=') b32[--b32len] = '\0';
  /* The label and the issuer are encoded: a username with '?', '#', '&' or ':' must not
   * change the URI's parameters (issue 22 item 8). */
  char *li = uri_encode(issuer), *la = uri_encode(account);
  char *uri = fofal_asprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30", li, la, b32,
                             li);
  free(li);
  free(la);
  sodium_memzero(b32, b32len);
  free(b32);
  sodium_memzero(s, sizeof s);
  return uri;
}

int fofal_cred_totp_code(const char *hex, long long now, char out[7]) {
  unsigned char s[64];
  size_t n;
  if (unhex(hex, s, sizeof s, &n)) return FOFAL_EINVAL;
  int rc = oath_totp_generate((const char *)s, n, (time_t)now, 30, 0, 6, out);
  sodium_memzero(s, sizeof s);
  return rc == OATH_OK ? 0 : FOFAL_EINVAL;
}

long long fofal_cred_totp_check(const char *hex, long long now, const char *code, long long last_step, int window) {
  if (strlen(code) != 6) return -1;
  long long step = now / 30, found = -1;
  for (int d = -window; d <= window; d++) {
    char otp[7];
    if (fofal_cred_totp_code(hex, (step + d) * 30, otp)) return -1;
    /* Every candidate is computed and compared: the time taken does not say which matched. */
    if (sodium_memcmp(otp, code, 6) == 0 && step + d > last_step && found < 0) found = step + d;
    sodium_memzero(otp, sizeof otp);
  }
  return found;
}

/* ------------------------------------------------------------ QR as SVG */

char *fofal_cred_qr_svg(const char *text) {
  char *svg = NULL;
  size_t len = 0;
  return fofal_label_qr_svg(text, 4, 4, &svg, &len) ? NULL : svg; /* the labels' QR code (labels.c) */
}

/* --------------------------------------------------------- token bucket */

int fofal_bucket_take(fofal_bucket_t *b, long long now_ms, double rate_per_s, double burst, double cost,
                      long long *retry_ms) {
  if (b->ts_ms == 0) {
    b->tokens = burst;
    b->ts_ms = now_ms;
  }
  if (now_ms > b->ts_ms) {
    b->tokens += (double)(now_ms - b->ts_ms) * rate_per_s / 1000.0;
    if (b->tokens > burst) b->tokens = burst;
    b->ts_ms = now_ms;
  }
  if (b->tokens >= cost) {
    b->tokens -= cost;
    *retry_ms = 0;
    return 1;
  }
  double missing = cost - b->tokens;
  long long ms = (long long)(missing * 1000.0 / rate_per_s);
  if ((double)ms * rate_per_s / 1000.0 < missing) ms++;
  *retry_ms = ms > 0 ? ms : 1;
  return 0;
}
