/*
 * crypto.c — personal data in events, encrypted field by field (issue 6 item 8): the
 * libsodium adapter of events/.
 *
 * Every person (employee, subcontractor contact …) has a random 256-bit data key. The key
 * is stored only wrapped — XChaCha20-Poly1305 under the master key FOFAL_PD_MASTER_KEY
 * (from the stack's secrets.env, never in Kafka or PostgreSQL) — in identity_keys.person_keys.
 * A personal field of an event's data (phone, national id, bank account, salary …) is
 * replaced by a sealed object
 *
 *     {"$enc": "v1", "p": "<person id>", "ct": "<base64url(nonce ‖ ciphertext)>"}
 *
 * whose ciphertext is XChaCha20-Poly1305 of the field's JSON value, with the associated
 * data "<tenant>\n<person>\n<field>": a sealed value cannot be moved to another tenant,
 * person or field without failing to open. Erasing a person deletes the wrapped key
 * (crypto-shredding): the immutable events stay, but every sealed field of theirs opens
 * to the string "erased" — on replay, in rebuilt projections, everywhere.
 *
 * Pure functions (no I/O, no logging); thread-safe once fofal_pd_init ran. Keys in
 * memory are wiped after use where this file copies them.
 */
#include "events.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

int fofal_pd_init(void) { return sodium_init() < 0 ? FOFAL_EIO : 0; }

int fofal_pd_master_parse(const char *hex, unsigned char master[FOFAL_PD_KEY_BYTES]) {
  size_t n = 0;
  if (!hex || strlen(hex) != 2 * FOFAL_PD_KEY_BYTES ||
      sodium_hex2bin(master, FOFAL_PD_KEY_BYTES, hex, strlen(hex), NULL, &n, NULL) || n != FOFAL_PD_KEY_BYTES)
    return FOFAL_EINVAL;
  return 0;
}

static char *b64(const unsigned char *buf, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = fofal_malloc(cap);
  sodium_bin2base64(out, cap, buf, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

/* Decodes base64url into a new buffer; NULL on malformed input. */
static unsigned char *unb64(const char *s, size_t *n) {
  size_t cap = strlen(s) + 1;
  unsigned char *buf = fofal_malloc(cap);
  if (sodium_base642bin(buf, cap, s, strlen(s), NULL, n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* nonce ‖ AEAD(plain, ad) under key, as base64url (new). */
static char *seal_raw(const unsigned char *key, const unsigned char *plain, size_t n, const char *ad) {
  unsigned char *buf = fofal_malloc(NONCE + n + TAG);
  randombytes_buf(buf, NONCE);
  unsigned long long clen;
  crypto_aead_xchacha20poly1305_ietf_encrypt(buf + NONCE, &clen, plain, n, (const unsigned char *)ad, strlen(ad), NULL, buf,
                                             key);
  char *out = b64(buf, NONCE + (size_t)clen);
  free(buf);
  return out;
}

/* Opens what seal_raw made; *plain new (n bytes + NUL). 0 or FOFAL_EINVAL (tampered,
 * wrong key or wrong associated data). */
static int open_raw(const unsigned char *key, const char *sealed, const char *ad, unsigned char **plain, size_t *n) {
  size_t blen;
  unsigned char *buf = unb64(sealed, &blen);
  *plain = NULL;
  if (!buf || blen < NONCE + TAG) {
    free(buf);
    return FOFAL_EINVAL;
  }
  unsigned char *out = fofal_malloc(blen - NONCE - TAG + 1);
  unsigned long long plen;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, buf + NONCE, blen - NONCE, (const unsigned char *)ad,
                                                      strlen(ad), buf, key);
  free(buf);
  if (rc) {
    free(out);
    return FOFAL_EINVAL;
  }
  out[plen] = '\0';
  *plain = out;
  *n = (size_t)plen;
  return 0;
}

char *fofal_pd_key_new(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person) {
  unsigned char key[FOFAL_PD_KEY_BYTES];
  crypto_aead_xchacha20poly1305_ietf_keygen(key);
  char *ad = fofal_asprintf("key\n%s\n%s", tenant, person);
  char *wrapped = seal_raw(master, key, sizeof key, ad);
  free(ad);
  sodium_memzero(key, sizeof key);
  return wrapped;
}

int fofal_pd_key_unwrap(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person,
                        const char *wrapped, unsigned char key[FOFAL_PD_KEY_BYTES]) {
  unsigned char *plain;
  size_t n;
  char *ad = fofal_asprintf("key\n%s\n%s", tenant, person);
  int rc = open_raw(master, wrapped, ad, &plain, &n);
  free(ad);
  if (rc) return rc;
  if (n != FOFAL_PD_KEY_BYTES) rc = FOFAL_EINVAL;
  else memcpy(key, plain, n);
  sodium_memzero(plain, n);
  free(plain);
  return rc;
}

json_t *fofal_pd_seal(const unsigned char key[FOFAL_PD_KEY_BYTES], const char *tenant, const char *person, const char *field,
                      const json_t *value) {
  char *plain = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!plain) return NULL;
  char *ad = fofal_asprintf("%s\n%s\n%s", tenant, person, field);
  char *ct = seal_raw(key, (const unsigned char *)plain, strlen(plain), ad);
  sodium_memzero(plain, strlen(plain));
  free(plain);
  free(ad);
  json_t *out = json_pack("{s:s,s:s,s:s}", "$enc", "v1", "p", person, "ct", ct);
  free(ct);
  return out;
}

int fofal_pd_is_sealed(const json_t *v) {
  return json_is_object(v) && json_is_string(json_object_get(v, "$enc")) && json_is_string(json_object_get(v, "p")) &&
         json_is_string(json_object_get(v, "ct"));
}

json_t *fofal_pd_open(const unsigned char *key, const char *tenant, const char *field, const json_t *sealed) {
  if (!fofal_pd_is_sealed(sealed) || strcmp(json_string_value(json_object_get(sealed, "$enc")), "v1")) return NULL;
  if (!key) return json_string(FOFAL_PD_ERASED);
  char *ad = fofal_asprintf("%s\n%s\n%s", tenant, json_string_value(json_object_get(sealed, "p")), field);
  unsigned char *plain;
  size_t n;
  int rc = open_raw(key, json_string_value(json_object_get(sealed, "ct")), ad, &plain, &n);
  free(ad);
  if (rc) return NULL;
  json_t *v = json_loadb((const char *)plain, n, JSON_DECODE_ANY, NULL);
  sodium_memzero(plain, n);
  free(plain);
  return v;
}

int fofal_pd_open_all(json_t *data, const char *tenant, fofal_pd_key_fn key_of, void *opaque) {
  const char *field;
  json_t *v;
  void *tmp;
  int opened = 0;
  json_object_foreach_safe(data, tmp, field, v) {
    if (!fofal_pd_is_sealed(v)) continue;
    unsigned char key[FOFAL_PD_KEY_BYTES];
    int have = key_of(opaque, json_string_value(json_object_get(v, "p")), key) == 0;
    json_t *plain = fofal_pd_open(have ? key : NULL, tenant, field, v);
    sodium_memzero(key, sizeof key);
    if (!plain) return FOFAL_EINVAL;
    json_object_set_new(data, field, plain);
    opened++;
  }
  return opened;
}

/* ------------------------------------------------------ secrets at rest */

#define SECRET_PREFIX "pd1."

char *fofal_pd_secret_seal(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *purpose, const char *tenant,
                           const char *id, const char *plain) {
  char *ad = fofal_asprintf("%s\n%s\n%s", purpose, tenant, id);
  char *ct = seal_raw(master, (const unsigned char *)plain, strlen(plain), ad);
  char *out = fofal_asprintf(SECRET_PREFIX "%s", ct);
  free(ad);
  free(ct);
  return out;
}

char *fofal_pd_secret_open(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *purpose, const char *tenant,
                           const char *id, const char *stored) {
  if (!stored) return NULL;
  if (strncmp(stored, SECRET_PREFIX, sizeof SECRET_PREFIX - 1)) return fofal_strdup(stored); /* stored before sealing */
  char *ad = fofal_asprintf("%s\n%s\n%s", purpose, tenant, id);
  unsigned char *plain;
  size_t n;
  int rc = open_raw(master, stored + sizeof SECRET_PREFIX - 1, ad, &plain, &n);
  free(ad);
  return rc ? NULL : (char *)plain;
}

/* ------------------------------------------------------ request fingerprints */

void fofal_pd_fingerprint(const unsigned char master[FOFAL_PD_KEY_BYTES], const char *text,
                          char out[FOFAL_PD_FINGERPRINT_LEN + 1]) {
  static const char purpose[] = "fofal request fingerprint v1";
  unsigned char key[crypto_generichash_KEYBYTES], h[FOFAL_PD_FINGERPRINT_LEN / 2];
  /* A key of its own, so that this hash never doubles as anything sealed with master. */
  crypto_generichash(key, sizeof key, (const unsigned char *)purpose, sizeof purpose - 1, master, FOFAL_PD_KEY_BYTES);
  crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), key, sizeof key);
  sodium_memzero(key, sizeof key);
  sodium_bin2hex(out, FOFAL_PD_FINGERPRINT_LEN + 1, h, sizeof h);
}
