/*
 * test_idempotency.c — commands/idempotency.c: an Idempotency-Key is the client's own
 * (scoped to the token's subject within its tenant, never cut short), and a key sent
 * again with another request is refused with idempotency_key_reused while a retry of the
 * same request gets the first result (issue 23 item 3, issue 13 item 6).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

Test(idempotency, key_pattern_and_length) {
  char k200[201], k201[202];
  memset(k200, 'a', 200);
  k200[200] = '\0';
  memset(k201, 'a', 201);
  k201[201] = '\0';
  const char *good[] = {"a", "my-first-order", "Phone7:00042", "x_y.z", k200};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    cr_expect(fofal_idempotency_key_valid(good[i], strlen(good[i])), "%s is a key", good[i]);
  const char *bad[] = {"", "a/b", "a b", "é", "a%2F", "k\n", k201};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect(!fofal_idempotency_key_valid(bad[i], strlen(bad[i])), "%s is not a key", bad[i]);
  cr_expect(!fofal_idempotency_key_valid("ab\0cd", 5), "a NUL inside would cut the key short");
  cr_expect(!fofal_idempotency_key_valid(NULL, 0));
}

Test(idempotency, keys_are_scoped_per_subject) {
  char *a = fofal_command_scoped_id("planner-1", "K"), *b = fofal_command_scoped_id("cutter-2", "K");
  cr_expect_str_eq(a, "planner-1/K");
  cr_expect_str_neq(a, b, "two users' same key are two commands");
  /* '/' and '%' inside a part cannot make two pairs meet. */
  char *c = fofal_command_scoped_id("a/b", "c"), *d = fofal_command_scoped_id("a", "b/c"),
       *e = fofal_command_scoped_id("a%2Fb", "c");
  cr_expect_str_eq(c, "a%2Fb/c");
  cr_expect_str_neq(c, d);
  cr_expect_str_neq(c, e);
  free(a);
  free(b);
  free(c);
  free(d);
  free(e);
}

/* Issue 13 item 6: the decider's key buffer (256 bytes) cut "<tenant>/<id>" short, so two
 * long ids that differ only at the end were one command. */
Test(idempotency, result_keys_are_never_cut) {
  char tenant[64], subject[128], k1[201], k2[201];
  memset(tenant, 't', 63);
  tenant[63] = '\0';
  memset(subject, 's', 127);
  subject[127] = '\0';
  memset(k1, 'k', 200);
  k1[200] = '\0';
  memcpy(k2, k1, sizeof k1);
  k2[199] = 'z';
  char *id1 = fofal_command_scoped_id(subject, k1), *id2 = fofal_command_scoped_id(subject, k2);
  char *r1 = fofal_result_key(tenant, id1), *r2 = fofal_result_key(tenant, id2);
  cr_expect_eq(strlen(r1), 63 + 1 + 127 + 1 + 200, "the whole key is kept (%zu bytes)", strlen(r1));
  cr_expect_str_neq(r1, r2, "keys that differ in their last byte stay two keys");
  cr_expect_eq(r1[strlen(r1) - 1], 'k');
  cr_expect_eq(r2[strlen(r2) - 1], 'z');
  /* The tenant's '/' is encoded: "a/b" + "c/K" is not "a" + "b/c/K". */
  char *t1 = fofal_result_key("a/b", "c/K"), *t2 = fofal_result_key("a", "b/c/K");
  cr_expect_str_eq(t1, "a%2Fb/c/K");
  cr_expect_str_neq(t1, t2);
  cr_expect_str_eq(t2, "a/b/c/K");
  free(t1);
  free(t2);
  free(id1);
  free(id2);
  free(r1);
  free(r2);
}

static char *canon_of(const char *type, const char *json, int64_t if_match) {
  json_t *data = json_loads(json, 0, NULL);
  cr_assert_not_null(data, "%s", json);
  char *s = fofal_command_canonical(type, data, if_match);
  json_decref(data);
  return s;
}

Test(idempotency, the_canonical_request_ignores_order_and_spacing_only) {
  const char *t = "production.order.create";
  char *a = canon_of(t, "{\"quantity\":1,\"article\":\"A\",\"x\":{\"b\":2,\"a\":[1,{\"d\":1,\"c\":2}]}}", -1);
  char *b = canon_of(t, "{ \"x\" : {\"a\":[1,{\"c\":2,\"d\":1}],\"b\":2},\n \"article\":\"A\", \"quantity\":1 }", -1);
  cr_expect_str_eq(a, b);
  cr_expect_str_eq(a, "{\"data\":{\"article\":\"A\",\"quantity\":1,\"x\":{\"a\":[1,{\"c\":2,\"d\":1}],\"b\":2}},"
                      "\"type\":\"production.order.create\"}");
  char *qty7 = canon_of(t, "{\"quantity\":7,\"article\":\"A\",\"x\":{\"b\":2,\"a\":[1,{\"d\":1,\"c\":2}]}}", -1);
  char *other_type = canon_of("production.label.reprint", "{\"quantity\":1,\"article\":\"A\",\"x\":{\"b\":2,\"a\":[1,{\"d\":1,\"c\":2}]}}", -1);
  char *if_match = canon_of(t, "{\"quantity\":1,\"article\":\"A\",\"x\":{\"b\":2,\"a\":[1,{\"d\":1,\"c\":2}]}}", 3);
  char *array_order = canon_of(t, "{\"quantity\":1,\"article\":\"A\",\"x\":{\"b\":2,\"a\":[{\"d\":1,\"c\":2},1]}}", -1);
  cr_expect_str_neq(a, qty7);
  cr_expect_str_neq(a, other_type);
  cr_expect_str_neq(a, if_match);
  cr_expect(strstr(if_match, "\"if_match\":3"), "%s", if_match);
  cr_expect_str_neq(a, array_order, "an array's order is part of the request");
  free(a);
  free(b);
  free(qty7);
  free(other_type);
  free(if_match);
  free(array_order);
}

static json_t *first_result(const char *fingerprint) {
  json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:[{s:s}]}", "command_id", "planner-1/K", "type",
                        "production.order.create", "tenant", "t1", "aggregate", "0190a0b0-0000-7000-8000-000000000001",
                        "status", "accepted", "version", 1, "events", "id", "ev-1");
  if (fingerprint) json_object_set_new(r, "fingerprint", json_string(fingerprint));
  return r;
}

Test(idempotency, a_retry_of_the_same_request_gets_the_first_result) {
  json_t *first = first_result("fp-A");
  json_t *again = fofal_command_replay(first, "production.order.create", "fp-A");
  cr_assert(json_equal(again, first), "the first result, unchanged");
  cr_expect_neq(again, first, "a copy the caller owns");
  json_decref(again);
  json_decref(first);
}

Test(idempotency, the_same_key_with_another_request_is_refused) {
  json_t *first = first_result("fp-A");
  json_t *r = fofal_command_replay(first, "production.label.reprint", "fp-B");
  cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "rejected");
  cr_expect_str_eq(json_string_value(json_object_get(r, "code")), "idempotency_key_reused");
  cr_expect_str_eq(json_string_value(json_object_get(r, "type")), "production.label.reprint");
  cr_expect_str_eq(json_string_value(json_object_get(r, "command_id")), "planner-1/K");
  cr_expect(strstr(json_string_value(json_object_get(r, "detail")), "production.order.create"),
            "the detail names what the key was first used for");
  cr_expect_null(json_object_get(r, "events"), "nothing of the first result's events");
  cr_expect_null(json_object_get(r, "version"));
  json_decref(r);
  json_decref(first);
}

Test(idempotency, an_unknown_fingerprint_replays_as_before) {
  json_t *old = first_result(NULL); /* a result written before fingerprints */
  json_t *r = fofal_command_replay(old, "production.order.create", "fp-B");
  cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "accepted");
  json_decref(r);
  json_t *first = first_result("fp-A");
  r = fofal_command_replay(first, "production.order.create", NULL); /* a command of a FOFAL process */
  cr_expect_str_eq(json_string_value(json_object_get(r, "status")), "accepted");
  json_decref(r);
  cr_expect(fofal_command_same_request("x", "x"));
  cr_expect(!fofal_command_same_request("x", "y"));
  cr_expect(fofal_command_same_request(NULL, "y"));
  json_decref(first);
  json_decref(old);
}
