/*
 * test_crypto.c — events/crypto.c: personal fields sealed per person under wrapped keys;
 * a sealed value opens only with its person's key, tenant and field; an erased key makes
 * every field of that person read "erased" (crypto-shredding) while others still open.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

static unsigned char master[FOFAL_PD_KEY_BYTES];

static void init(void) {
  cr_assert_eq(fofal_pd_init(), 0);
  cr_assert_eq(fofal_pd_master_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", master), 0);
}

TestSuite(crypto, .init = init);

Test(crypto, master_key_is_checked) {
  unsigned char k[FOFAL_PD_KEY_BYTES];
  cr_expect_eq(fofal_pd_master_parse("0011", k), FOFAL_EINVAL);
  cr_expect_eq(fofal_pd_master_parse("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", k), FOFAL_EINVAL);
  cr_expect_eq(fofal_pd_master_parse(NULL, k), FOFAL_EINVAL);
}

Test(crypto, wrapped_keys_open_only_for_their_person) {
  char *w = fofal_pd_key_new(master, "t1", "p-1");
  unsigned char k1[FOFAL_PD_KEY_BYTES], k2[FOFAL_PD_KEY_BYTES], other[FOFAL_PD_KEY_BYTES];
  cr_assert_eq(fofal_pd_key_unwrap(master, "t1", "p-1", w, k1), 0);
  cr_assert_eq(fofal_pd_key_unwrap(master, "t1", "p-1", w, k2), 0);
  cr_expect_eq(memcmp(k1, k2, sizeof k1), 0);
  cr_expect_eq(fofal_pd_key_unwrap(master, "t1", "p-2", w, other), FOFAL_EINVAL, "another person's wrapped key");
  cr_expect_eq(fofal_pd_key_unwrap(master, "t2", "p-1", w, other), FOFAL_EINVAL, "another tenant");
  unsigned char wrong[FOFAL_PD_KEY_BYTES] = {1};
  cr_expect_eq(fofal_pd_key_unwrap(wrong, "t1", "p-1", w, other), FOFAL_EINVAL, "another master key");
  free(w);
}

typedef struct {
  unsigned char key[FOFAL_PD_KEY_BYTES];
  int erased;
} keyring_t;

static int key_of(void *opaque, const char *person, unsigned char key[FOFAL_PD_KEY_BYTES]) {
  keyring_t *k = opaque;
  (void)person;
  if (k->erased) return FOFAL_ENOENT;
  memcpy(key, k->key, FOFAL_PD_KEY_BYTES);
  return 0;
}

Test(crypto, fields_seal_open_and_are_erased_with_their_key) {
  keyring_t ring = {.erased = 0};
  char *w = fofal_pd_key_new(master, "t1", "emp-7");
  cr_assert_eq(fofal_pd_key_unwrap(master, "t1", "emp-7", w, ring.key), 0);
  json_t *phone = json_string("+216 98 765 432"), *salary = json_integer(2450);
  json_t *data = json_pack("{s:s,s:o,s:o}", "employee_id", "emp-7", "phone", fofal_pd_seal(ring.key, "t1", "emp-7", "phone", phone),
                           "salary", fofal_pd_seal(ring.key, "t1", "emp-7", "salary", salary));
  json_decref(phone);
  json_decref(salary);
  char *text = json_dumps(data, 0);
  cr_expect(!strstr(text, "98 765") && !strstr(text, "2450"), "no clear value in the event: %s", text);
  cr_expect(fofal_pd_is_sealed(json_object_get(data, "phone")));
  /* A sealed value moved to another field does not open. */
  cr_expect_null(fofal_pd_open(ring.key, "t1", "salary", json_object_get(data, "phone")));
  cr_expect_null(fofal_pd_open(ring.key, "t2", "phone", json_object_get(data, "phone")), "nor in another tenant");
  json_t *copy = json_deep_copy(data);
  cr_assert_eq(fofal_pd_open_all(copy, "t1", key_of, &ring), 2);
  cr_expect_str_eq(json_string_value(json_object_get(copy, "phone")), "+216 98 765 432");
  cr_expect_eq(json_integer_value(json_object_get(copy, "salary")), 2450);
  cr_expect_str_eq(json_string_value(json_object_get(copy, "employee_id")), "emp-7");
  json_decref(copy);
  /* The key is deleted: the same immutable event now reads "erased". */
  ring.erased = 1;
  copy = json_deep_copy(data);
  cr_assert_eq(fofal_pd_open_all(copy, "t1", key_of, &ring), 2);
  cr_expect_str_eq(json_string_value(json_object_get(copy, "phone")), FOFAL_PD_ERASED);
  cr_expect_str_eq(json_string_value(json_object_get(copy, "salary")), FOFAL_PD_ERASED);
  json_decref(copy);
  /* Tampering is detected. */
  json_t *t = json_deep_copy(json_object_get(data, "phone"));
  char ct[512];
  snprintf(ct, sizeof ct, "%s", json_string_value(json_object_get(t, "ct")));
  ct[strlen(ct) - 3] = ct[strlen(ct) - 3] == 'A' ? 'B' : 'A';
  json_object_set_new(t, "ct", json_string(ct));
  ring.erased = 0;
  cr_expect_null(fofal_pd_open(ring.key, "t1", "phone", t));
  json_decref(t);
  free(text);
  free(w);
  json_decref(data);
}

/* The idempotency check keeps a request's fingerprint in Kafka: equal texts agree,
 * different ones do not, and without the master key it is no plain hash to guess from. */
Test(crypto, request_fingerprints_are_keyed) {
  char a[FOFAL_PD_FINGERPRINT_LEN + 1], b[FOFAL_PD_FINGERPRINT_LEN + 1], c[FOFAL_PD_FINGERPRINT_LEN + 1],
      d[FOFAL_PD_FINGERPRINT_LEN + 1];
  fofal_pd_fingerprint(master, "{\"data\":{\"phone\":\"+216 98 100 200\"}}", a);
  fofal_pd_fingerprint(master, "{\"data\":{\"phone\":\"+216 98 100 200\"}}", b);
  fofal_pd_fingerprint(master, "{\"data\":{\"phone\":\"+216 98 100 201\"}}", c);
  unsigned char other[FOFAL_PD_KEY_BYTES] = {7};
  fofal_pd_fingerprint(other, "{\"data\":{\"phone\":\"+216 98 100 200\"}}", d);
  cr_expect_eq(strlen(a), FOFAL_PD_FINGERPRINT_LEN);
  cr_expect_eq(strspn(a, "0123456789abcdef"), FOFAL_PD_FINGERPRINT_LEN, "hex: %s", a);
  cr_expect_str_eq(a, b);
  cr_expect_str_neq(a, c);
  cr_expect_str_neq(a, d, "another master key, another fingerprint");
}
