/*
 * test_credentials.c — api/credentials.c: argon2id hashing, digests, TOTP (RFC 6238 test
 * vectors, the acceptance window, no replay), recovery codes, the QR code, and the token
 * bucket arithmetic that the Redis rate-limit script mirrors.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fofal_api.h"

#include <sodium.h>

/* RFC 6238 appendix B: the SHA-1 seed "12345678901234567890". */
static const char seed[] = "3132333435363738393031323334353637383930";

static void init(void) { cr_assert_eq(fofal_cred_init(), 0); }

TestSuite(credentials, .init = init);

Test(credentials, argon2id_hash_and_verify) {
  char h1[FOFAL_CRED_HASH_MAX], h2[FOFAL_CRED_HASH_MAX];
  cr_assert_eq(fofal_cred_hash("correct horse battery", 1, 8192, h1, sizeof h1), 0);
  cr_assert_eq(fofal_cred_hash("correct horse battery", 1, 8192, h2, sizeof h2), 0);
  cr_expect(!strncmp(h1, "$argon2id$v=19$m=8192,t=1,p=1$", 30), "encoded argon2id: %s", h1);
  cr_expect_str_neq(h1, h2, "a random salt makes two hashes of one secret differ");
  cr_expect(fofal_cred_verify(h1, "correct horse battery"));
  cr_expect(!fofal_cred_verify(h1, "correct horse batterY"));
  cr_expect(!fofal_cred_verify(h1, ""));
  cr_expect(!fofal_cred_verify(NULL, "x"));
  cr_expect(!fofal_cred_verify("$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x"), "another algorithm is refused");
  char tiny[16];
  cr_expect_eq(fofal_cred_hash("x", 1, 8192, tiny, sizeof tiny), FOFAL_EINVAL, "a short output buffer is refused");
}

Test(credentials, digest_and_equal) {
  char d[65];
  fofal_cred_digest("abc", d);
  cr_expect_str_eq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  cr_expect(fofal_cred_equal("abc", "abc"));
  cr_expect(!fofal_cred_equal("abc", "abd"));
  cr_expect(!fofal_cred_equal("abc", "abcd"));
  char t1[64], t2[64];
  fofal_cred_random_token(t1, sizeof t1, 32);
  fofal_cred_random_token(t2, sizeof t2, 32);
  cr_expect_eq(strlen(t1), 43, "32 bytes as unpadded base64url");
  cr_expect_str_neq(t1, t2);
  char rc[16];
  fofal_cred_recovery_code(rc);
  cr_expect_eq(strlen(rc), 14);
  cr_expect(rc[4] == '-' && rc[9] == '-', "xxxx-xxxx-xxxx: %s", rc);
}

Test(credentials, totp_rfc6238_vectors) {
  struct {
    long long t;
    const char *code;
  } v[] = {{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"},
           {2000000000, "279037"}, {20000000000LL, "353130"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[7];
    cr_assert_eq(fofal_cred_totp_code(seed, v[i].t, out), 0);
    cr_expect_str_eq(out, v[i].code, "T=%lld", v[i].t);
  }
}

Test(credentials, totp_window_and_replay) {
  long long now = 1111111111, step = now / 30;
  char prev[7], cur[7], old[7], next[7];
  fofal_cred_totp_code(seed, now - 30, prev);
  fofal_cred_totp_code(seed, now, cur);
  fofal_cred_totp_code(seed, now - 60, old);
  fofal_cred_totp_code(seed, now + 30, next);
  cr_expect_eq(fofal_cred_totp_check(seed, now, cur, 0, 1), step);
  cr_expect_eq(fofal_cred_totp_check(seed, now, prev, 0, 1), step - 1, "one step of clock drift is accepted");
  cr_expect_eq(fofal_cred_totp_check(seed, now, next, 0, 1), step + 1);
  cr_expect_eq(fofal_cred_totp_check(seed, now, old, 0, 1), -1, "two steps back is refused");
  cr_expect_eq(fofal_cred_totp_check(seed, now, cur, step, 1), -1, "a step already used is refused (replay)");
  cr_expect_eq(fofal_cred_totp_check(seed, now, prev, step, 1), -1, "an older step after a newer one is refused");
  cr_expect_eq(fofal_cred_totp_check(seed, now, "12345", 0, 1), -1);
  cr_expect_eq(fofal_cred_totp_check(seed, now, "abcdef", 0, 1), -1);
  char *uri = fofal_cred_totp_uri(seed, "FOFAL", "ana@t1");
  cr_assert_not_null(uri);
  cr_expect_str_eq(uri, "otpauth://totp/FOFAL:ana@t1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=FOFAL&algorithm=SHA1&digits=6&period=30");
  char *svg = fofal_cred_qr_svg(uri);
  cr_assert_not_null(svg);
  cr_expect(!strncmp(svg, "<svg", 4) && strstr(svg, "</svg>"));
  free(svg);
  free(uri);
  /* A username that would change the URI's parameters or path is encoded (issue 22 item 8). */
  uri = fofal_cred_totp_uri(seed, "FOFAL", "a b/c?d#e&issuer=X:y@t1");
  cr_assert_not_null(uri);
  cr_expect_str_eq(uri, "otpauth://totp/FOFAL:a%20b%2Fc%3Fd%23e%26issuer%3DX%3Ay@t1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                        "&issuer=FOFAL&algorithm=SHA1&digits=6&period=30");
  free(uri);
}

Test(credentials, token_bucket) {
  fofal_bucket_t b = {0};
  long long retry;
  /* 5 per minute, burst 5. */
  double rate = 5.0 / 60.0;
  for (int i = 0; i < 5; i++) cr_expect_eq(fofal_bucket_take(&b, 1000, rate, 5, 1, &retry), 1, "burst %d", i);
  cr_expect_eq(fofal_bucket_take(&b, 1000, rate, 5, 1, &retry), 0);
  cr_expect_eq(retry, 12000, "one token comes back after 12 s (got %lld)", retry);
  cr_expect_eq(fofal_bucket_take(&b, 12999, rate, 5, 1, &retry), 0);
  cr_expect_eq(retry, 1, "1 ms left (got %lld)", retry);
  cr_expect_eq(fofal_bucket_take(&b, 13000, rate, 5, 1, &retry), 1, "refilled at 12 s");
  cr_expect_eq(fofal_bucket_take(&b, 13000, rate, 5, 1, &retry), 0);
  /* A long pause refills to the burst, not beyond. */
  int n = 0;
  while (fofal_bucket_take(&b, 10000000, rate, 5, 1, &retry)) n++;
  cr_expect_eq(n, 5);
  /* A clock that goes back does not mint tokens. */
  cr_expect_eq(fofal_bucket_take(&b, 5000, rate, 5, 1, &retry), 0);
}

Test(credentials, roles) {
  int n = 0;
  for (; fofal_api_roles[n]; n++) cr_expect(fofal_api_role_valid(fofal_api_roles[n]));
  cr_expect_eq(n, 14);
  cr_expect(!fofal_api_role_valid("root"));
  const char *mfa[] = {"accountant", "hr", "manager", "admin"};
  for (size_t i = 0; i < 4; i++) cr_expect(fofal_api_role_needs_mfa(mfa[i]), "%s", mfa[i]);
  cr_expect(!fofal_api_role_needs_mfa("weaver"));
  cr_expect(!fofal_api_role_needs_mfa("auditor"));
}

/* The broker checks what fofal-api made: mosquitto_passwd 2.0.11's own line for
 * "secret123" (alice:$7$101$kZJU0f2ER0S6tBCE$...) is reproduced from its salt. */
Test(credentials, mqtt_hash_is_mosquittos) {
  static const char want[] =
      "$7$101$kZJU0f2ER0S6tBCE$LwfYLuRHZltfq13lcLCg6+n9+1aXcWSgajcT4H1Cps42Ae9rKkgaD6DveM6LzpNWOu16nz2tcN04bUlhE9YOQg==";
  unsigned char salt[12];
  size_t n = 0;
  cr_assert_eq(sodium_base642bin(salt, sizeof salt, "kZJU0f2ER0S6tBCE", 16, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
  cr_assert_eq(n, 12);
  char h[FOFAL_CRED_MQTT_HASH_LEN], r1[FOFAL_CRED_MQTT_HASH_LEN], r2[FOFAL_CRED_MQTT_HASH_LEN];
  fofal_cred_mqtt_hash("secret123", salt, 101, h);
  cr_expect_str_eq(h, want);
  fofal_cred_mqtt_hash("secret123", NULL, 101, r1);
  fofal_cred_mqtt_hash("secret123", NULL, 101, r2);
  cr_expect_str_neq(r1, r2, "a random salt each time");
  cr_expect_eq(strlen(r1), strlen(want));
}
