/*
 * test_command_api.c — the HTTP contract of the command API (DESIGN.md "HTTP API
 * conventions"): problem+json for every bad input and never a 5xx for it, token checks,
 * roles, the batch endpoint, polling a result, Idempotency-Keys scoped per client and per
 * request, the OpenAPI document, h2c and TLS with ALPN h2.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"

static int port;
static pid_t dec, api;
static char tenant[32];
static char *tok;

static void setup(void) {
  h_tenant(tenant);
  tok = h_token(tenant, "planner");
  port = h_free_port();
  dec = h_start_decider("it-api");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}

TestSuite(command_api, .init = setup, .fini = teardown, .timeout = 120);

/* POST with raw headers; returns status and the parsed problem's code into code. */
static int post_raw(const char *path, const char *headers, const char *body, char *code, size_t codelen) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", path, headers, body, &r, 10000), 0, "no answer from the API");
  json_t *j = json_loads(r.body, 0, NULL);
  snprintf(code, codelen, "%s", json_string_value(json_object_get(j, "code")) ?: "");
  if (r.status >= 400) {
    char *ct = h_resp_header(&r, "content-type");
    cr_expect(ct && strstr(ct, "application/problem+json"), "an error is problem+json (got %s)", ct ? ct : "none");
    cr_expect(json_is_integer(json_object_get(j, "status")), "a problem carries its status");
    free(ct);
  }
  json_decref(j);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

static char *auth(const char *token, const char *key) {
  return fofal_asprintf("Authorization: Bearer %s\r\nIdempotency-Key: %s\r\n", token, key);
}

Test(command_api, bad_input_is_4xx_problem_json) {
  char code[64];
  char *h = auth(tok, "bad-1");
  const char *create = "/api/v1/commands/production.order.create";
  cr_expect_eq(post_raw(create, h, "{not json", code, sizeof code), 400);
  cr_expect_str_eq(code, "malformed_json");
  cr_expect_eq(post_raw(create, h, "[1,2]", code, sizeof code), 400);
  cr_expect_eq(post_raw("/api/v1/commands/production.order.nope", h, "{}", code, sizeof code), 404);
  cr_expect_str_eq(code, "unknown_command_type");
  cr_expect_eq(post_raw(create, h, "{\"article\":\"A\",\"quantity\":-1,\"due_date\":\"2026-02-30\"}", code, sizeof code), 422);
  cr_expect_str_eq(code, "invalid_command");
  char *noidem = fofal_asprintf("Authorization: Bearer %s\r\n", tok);
  cr_expect_eq(post_raw(create, noidem, "{\"article\":\"A\",\"quantity\":1}", code, sizeof code), 400);
  cr_expect_str_eq(code, "idempotency_key_required");
  char *badifm = fofal_asprintf("%sIf-Match: seven\r\n", h);
  cr_expect_eq(post_raw(create, badifm, "{\"article\":\"A\",\"quantity\":1}", code, sizeof code), 400);
  cr_expect_str_eq(code, "malformed_if_match");
  /* 70 KiB: over the 64 KiB command cap. */
  size_t big = 70 * 1024;
  char *huge = fofal_malloc(big + 64);
  int n = snprintf(huge, big + 64, "{\"article\":\"");
  memset(huge + n, 'a', big);
  strcpy(huge + n + big, "\",\"quantity\":1}");
  cr_expect_eq(post_raw(create, h, huge, code, sizeof code), 413);
  free(huge);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", create, "Authorization: Bearer x\r\nContent-Type: text/plain\r\n", "x", &r, 5000), 0);
  cr_expect_eq(r.status, 401, "auth comes first");
  h_resp_free(&r);
  char *ct = fofal_asprintf("%sContent-Type: text/plain\r\n", h);
  /* h_http adds its own Content-Type only when a body is given with no override… send raw. */
  cr_assert_eq(h_http(port, "POST", create, ct, NULL, &r, 5000), 0);
  cr_expect(r.status == 415 || r.status == 400, "a non-JSON content type is refused (got %d)", r.status);
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/no/such/thing", NULL, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 404);
  h_resp_free(&r);
  free(ct);
  free(badifm);
  free(noidem);
  free(h);
}

Test(command_api, tokens_are_checked) {
  char code[64];
  const char *create = "/api/v1/commands/production.order.create", *body = "{\"article\":\"A\",\"quantity\":1}";
  const char *secret = h_env("FOFAL_JWT_SECRET");
  struct {
    const char *what;
    char *token;
  } bad[] = {
      {"wrong key", fofal_api_token_issue("another-secret-of-at-least-32-characters!", "fofal", "fofal-api", tenant, "u", "planner", 600)},
      {"wrong audience", fofal_api_token_issue(secret, "fofal", "someone-else", tenant, "u", "planner", 600)},
      {"wrong issuer", fofal_api_token_issue(secret, "evil", "fofal-api", tenant, "u", "planner", 600)},
      {"expired", fofal_api_token_issue(secret, "fofal", "fofal-api", tenant, "u", "planner", -3600)},
      /* alg "none": header {"alg":"none","typ":"JWT"}, no signature. */
      {"alg none", fofal_asprintf("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%s.",
                                  "eyJpc3MiOiJmb2ZhbCIsImF1ZCI6ImZvZmFsLWFwaSIsInN1YiI6InUiLCJ0ZW5hbnQiOiJ0MSIsInJvbGUiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0")},
      {"garbage", fofal_strdup("abc.def.ghi")},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_not_null(bad[i].token);
    char *h = auth(bad[i].token, "tok-1");
    cr_expect_eq(post_raw(create, h, body, code, sizeof code), 401, "%s token must be refused", bad[i].what);
    free(h);
    free(bad[i].token);
  }
  cr_expect_eq(post_raw(create, "Idempotency-Key: x\r\n", body, code, sizeof code), 401, "no token");
  char *weaver = h_token(tenant, "weaver");
  char *h = auth(weaver, "tok-2");
  cr_expect_eq(post_raw(create, h, body, code, sizeof code), 403, "a weaver may not create orders");
  cr_expect_str_eq(code, "forbidden");
  free(h);
  free(weaver);
}

Test(command_api, batch_and_status) {
  char order[FOFAL_UUID_LEN + 1];
  fofal_uuid7(order);
  h_floor_http(port, tenant, "L7", "W-B", NULL);
  char *body = fofal_asprintf(
      "{\"commands\":["
      "{\"type\":\"production.order.create\",\"idempotency_key\":\"b-1\",\"data\":{\"order_id\":\"%s\",\"article\":\"FOUTA-B\",\"quantity\":20}},"
      "{\"type\":\"production.order.release\",\"idempotency_key\":\"b-2\",\"data\":{\"order_id\":\"%s\"}},"
      "{\"type\":\"production.order.complete\",\"idempotency_key\":\"b-3\",\"data\":{\"order_id\":\"%s\"}},"
      "{\"type\":\"production.order.start\",\"idempotency_key\":\"b-4\",\"if_match\":2,\"data\":{\"order_id\":\"%s\",\"loom\":\"L7\"}},"
      "{\"type\":\"production.order.nope\",\"idempotency_key\":\"b-5\",\"data\":{}}"
      "]}",
      order, order, order, order);
  char *h = fofal_asprintf("Authorization: Bearer %s\r\n", tok);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/commands", h, body, &r, 20000), 0);
  cr_assert_eq(r.status, 200, "batch answered %d: %s", r.status, r.body);
  json_t *j = json_loads(r.body, 0, NULL), *res = json_object_get(j, "results");
  cr_assert_eq(json_array_size(res), 5);
  int expect[] = {201, 201, 422, 201, 404};
  for (int i = 0; i < 5; i++)
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(res, (size_t)i), "status")), expect[i],
                 "batch item %d: %s", i, r.body);
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(json_array_get(res, 3), "body"), "version")), 3);
  json_decref(j);
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/api/v1/commands/b-2", h, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 200);
  j = json_loads(r.body, 0, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(j, "state")), "decided");
  cr_expect_eq(json_integer_value(json_object_get(j, "status")), 201);
  json_decref(j);
  h_resp_free(&r);
  /* Another tenant cannot see it. */
  char other[32];
  h_tenant(other);
  char *tok2 = h_token(other, "planner"), *h2 = fofal_asprintf("Authorization: Bearer %s\r\n", tok2);
  cr_assert_eq(h_http(port, "GET", "/api/v1/commands/b-2", h2, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 404, "a command of another tenant is not found");
  h_resp_free(&r);
  /* …nor act on its aggregate. */
  char *rel = fofal_asprintf("{\"order_id\":\"%s\"}", order);
  cr_expect_eq(h_command(port, tok2, "production.order.cancel", "x-1", NULL,
                         "{\"order_id\":\"00000000-0000-7000-8000-000000000000\",\"reason\":\"x\"}", NULL), 404);
  char *cancel = fofal_asprintf("{\"order_id\":\"%s\",\"reason\":\"not mine\"}", order);
  cr_expect_eq(h_command(port, tok2, "production.order.cancel", "x-2", NULL, cancel, NULL), 404);
  free(cancel);
  free(rel);
  free(h2);
  free(tok2);
  free(h);
  free(body);
}

Test(command_api, openapi_lists_every_command) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", "/api/v1/openapi.json", NULL, NULL, &r, 5000), 0);
  cr_assert_eq(r.status, 200);
  json_t *j = json_loads(r.body, 0, NULL);
  cr_assert_not_null(j);
  cr_expect_str_eq(json_string_value(json_object_get(j, "openapi")), "3.1.0");
  const char *types[] = {"create", "release", "start", "declare_output", "complete", "cancel"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/commands/production.order.%s", types[i]);
    cr_expect_not_null(json_object_get(json_object_get(j, "paths"), path), "%s missing from the OpenAPI document", path);
  }
  json_decref(j);
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/api/docs/", NULL, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(strstr(r.body, "swagger-ui-bundle.js") != NULL);
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/api/docs/static/swagger-ui-bundle.js", NULL, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 200, "Swagger UI's files are served");
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/metrics", NULL, NULL, &r, 5000), 0);
  cr_expect(strstr(r.body, "fofal_api_commands_total") != NULL);
  h_resp_free(&r);
}

/* How many events of this test's tenant on fofal.production.events carry fofalcommandid `id`. */
static int events_of(const char *id) {
  json_t *all = h_read_topic("fofal.production.events"), *rec;
  size_t i;
  int n = 0;
  json_array_foreach(all, i, rec) {
    json_t *v = json_object_get(rec, "value");
    n += !strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", tenant) &&
         !strcmp(json_string_value(json_object_get(v, "fofalcommandid")) ?: "", id);
  }
  json_decref(all);
  return n;
}

static const char *first_event_id(const json_t *answer) {
  return json_string_value(json_object_get(json_array_get(json_object_get(answer, "events"), 0), "id")) ?: "";
}

/* A batch of `who`; the answer's results (new). */
static json_t *batch(const char *who, const char *body) {
  char *h = fofal_asprintf("Authorization: Bearer %s\r\n", who);
  json_t *res = NULL;
  for (int attempt = 0; attempt < 60; attempt++) {
    h_resp_t r;
    cr_assert_eq(h_http(port, "POST", "/api/v1/commands", h, body, &r, 30000), 0);
    cr_assert_eq(r.status, 200, "batch answered %d: %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    h_resp_free(&r);
    res = json_incref(json_object_get(j, "results"));
    json_decref(j);
    int again = 0;
    size_t i;
    json_t *it;
    json_array_foreach(res, i, it) again |= json_integer_value(json_object_get(it, "status")) == 202 ||
                                             json_integer_value(json_object_get(it, "status")) == 503;
    if (!again) break;
    json_decref(res); /* a decider still joining: the same batch again, as a phone does */
    res = NULL;
    usleep(500 * 1000);
  }
  free(h);
  cr_assert_not_null(res, "the batch was never decided");
  return res;
}

static int item_status(const json_t *res, size_t i) {
  return (int)json_integer_value(json_object_get(json_array_get(res, i), "status"));
}

static const char *item_code(const json_t *res, size_t i) {
  return json_string_value(json_object_get(json_object_get(json_array_get(res, i), "body"), "code")) ?: "";
}

/* Issue 23 item 3: an Idempotency-Key belongs to its client (the token's subject) and to
 * one request. Two users' same key are two commands; the same user's key sent again with
 * another request is 422 idempotency_key_reused and writes nothing; with the same request
 * it answers the first result — in a batch as in a single POST, after a restart too. */
Test(command_api, idempotency_keys_are_per_client_and_per_request, .timeout = 300) {
  const char *secret = h_env("FOFAL_JWT_SECRET"), *create = "production.order.create";
  char *ta = fofal_api_token_issue(secret, "fofal", "fofal-api", tenant, "planner-a", "planner", 3600);
  char *tb = fofal_api_token_issue(secret, "fofal", "fofal-api", tenant, "planner-b", "planner", 3600);
  char *tc = fofal_api_token_issue(secret, "fofal", "fofal-api", tenant, "planner-c", "planner", 3600);
  const char *one = "{\"article\":\"FOUTA-K\",\"quantity\":1}", *seven = "{\"article\":\"FOUTA-K\",\"quantity\":7}";
  json_t *a = NULL, *b = NULL, *j = NULL;

  /* Two users, one key: two orders. */
  cr_assert_eq(h_command_ok(port, ta, create, "K-1", NULL, one, &a), 201);
  cr_assert_eq(h_command_ok(port, tb, create, "K-1", NULL, seven, &b), 201);
  cr_expect_str_eq(json_string_value(json_object_get(a, "command_id")), "K-1", "the answer names the client's key");
  cr_expect_str_eq(json_string_value(json_object_get(b, "command_id")), "K-1");
  cr_expect_str_neq(json_string_value(json_object_get(a, "aggregate")), json_string_value(json_object_get(b, "aggregate")),
                    "another user's order, not the first one's answer");
  cr_expect_str_neq(first_event_id(a), first_event_id(b));

  /* The same user's key with another request: refused, nothing written. */
  cr_expect_eq(h_command_ok(port, ta, create, "K-1", NULL, seven, &j), 422, "the key reused with another body");
  cr_expect_str_eq(json_string_value(json_object_get(j, "code")) ?: "", "idempotency_key_reused");
  cr_expect_str_eq(json_string_value(json_object_get(j, "command_id")) ?: "", "K-1");
  cr_expect_eq(json_integer_value(json_object_get(j, "status")), 422);
  json_decref(j);
  cr_expect_eq(h_command_ok(port, ta, "production.order.cancel", "K-1", NULL,
                            "{\"order_id\":\"00000000-0000-7000-8000-000000000000\",\"reason\":\"x\"}", &j), 422,
               "the key reused for another command type");
  cr_expect_str_eq(json_string_value(json_object_get(j, "code")) ?: "", "idempotency_key_reused");
  json_decref(j);

  /* The same request (other spacing and member order): the first answer. */
  cr_expect_eq(h_command_ok(port, ta, create, "K-1", NULL, "{ \"quantity\" : 1,\n \"article\" : \"FOUTA-K\" }", &j), 201);
  cr_expect_str_eq(first_event_id(j), first_event_id(a), "a retry gets the first result");
  json_decref(j);

  /* If-Match is part of the request. */
  char *rel = fofal_asprintf("{\"order_id\":\"%s\"}", json_string_value(json_object_get(a, "aggregate")));
  cr_expect_eq(h_command_ok(port, ta, "production.order.release", "K-2", "1", rel, NULL), 201);
  cr_expect_eq(h_command_ok(port, ta, "production.order.release", "K-2", NULL, rel, NULL), 422,
               "the same key without the If-Match it was sent with");
  cr_expect_eq(h_command_ok(port, ta, "production.order.release", "K-2", "1", rel, NULL), 201);

  /* A batch: the same rules per item, also between two items of one batch (the second is
   * in flight with the first: the decider tells them apart). */
  json_t *res = batch(ta, "{\"commands\":["
                          "{\"type\":\"production.order.create\",\"idempotency_key\":\"K-1\",\"data\":{\"quantity\":1,\"article\":\"FOUTA-K\"}},"
                          "{\"type\":\"production.order.create\",\"idempotency_key\":\"K-1\",\"data\":{\"quantity\":7,\"article\":\"FOUTA-K\"}},"
                          "{\"type\":\"production.order.create\",\"idempotency_key\":\"K-3\",\"data\":{\"quantity\":3,\"article\":\"FOUTA-K\"}},"
                          "{\"type\":\"production.order.create\",\"idempotency_key\":\"K-3\",\"data\":{\"quantity\":4,\"article\":\"FOUTA-K\"}},"
                          "{\"type\":\"production.order.create\",\"idempotency_key\":\"K-3\",\"data\":{\"article\":\"FOUTA-K\",\"quantity\":3}}"
                          "]}");
  cr_expect_eq(item_status(res, 0), 201);
  cr_expect_str_eq(first_event_id(json_object_get(json_array_get(res, 0), "body")), first_event_id(a));
  cr_expect_eq(item_status(res, 1), 422);
  cr_expect_str_eq(item_code(res, 1), "idempotency_key_reused");
  cr_expect_eq(item_status(res, 2), 201);
  cr_expect_eq(item_status(res, 3), 422, "K-3 with another body in the same batch");
  cr_expect_str_eq(item_code(res, 3), "idempotency_key_reused");
  cr_expect_eq(item_status(res, 4), 201, "K-3 with the same body in the same batch");
  cr_expect_str_eq(first_event_id(json_object_get(json_array_get(res, 4), "body")),
                   first_event_id(json_object_get(json_array_get(res, 2), "body")));
  json_decref(res);

  /* After a restart of the decider (killed) and the API: what Kafka kept still tells. */
  h_stop(api, SIGTERM);
  h_stop(dec, SIGKILL);
  dec = h_start_decider("it-api");
  api = h_start_api(port);
  cr_expect_eq(h_command_ok(port, ta, create, "K-1", NULL, seven, NULL), 422);
  cr_expect_eq(h_command_ok(port, ta, create, "K-1", NULL, one, &j), 201);
  cr_expect_str_eq(first_event_id(j), first_event_id(a));
  json_decref(j);

  /* One event per command in the log, each under its client's scoped id. */
  cr_expect_eq(events_of("planner-a/K-1"), 1);
  cr_expect_eq(events_of("planner-b/K-1"), 1);
  cr_expect_eq(events_of("planner-a/K-2"), 1);
  cr_expect_eq(events_of("planner-a/K-3"), 1);
  cr_expect_eq(events_of("K-1"), 0, "no id is shared by the tenant");

  /* A command's result is its client's: B reads B's, C has none. */
  char *hb = fofal_asprintf("Authorization: Bearer %s\r\n", tb), *hc = fofal_asprintf("Authorization: Bearer %s\r\n", tc);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", "/api/v1/commands/K-1", hb, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 200);
  j = json_loads(r.body, 0, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "result"), "aggregate")) ?: "",
                   json_string_value(json_object_get(b, "aggregate")));
  json_decref(j);
  h_resp_free(&r);
  cr_assert_eq(h_http(port, "GET", "/api/v1/commands/K-1", hc, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 404, "another user's command is not found");
  h_resp_free(&r);

  free(hb);
  free(hc);
  free(rel);
  json_decref(a);
  json_decref(b);
  free(ta);
  free(tb);
  free(tc);
}

/* Issue 13 item 6: the decider deduplicates by "<tenant>/<subject>/<key>", which is longer
 * than its old 256-byte pend_t.key for a long subject and a long key: two keys that differ
 * only in their last byte met there, and the second command got the first one's answer
 * (or 422 idempotency_key_reused, its request being another). Two orders, each answered
 * with its own aggregate, each once in the log. */
Test(command_api, long_keys_that_differ_at_the_end_are_two_commands) {
  char subject[128], k1[201], k2[sizeof k1]; /* the longest subject and key: 127 and 200 */
  memset(subject, 's', sizeof subject - 1);
  subject[sizeof subject - 1] = '\0';
  memset(k1, 'k', sizeof k1 - 1);
  k1[sizeof k1 - 1] = '\0';
  memcpy(k2, k1, sizeof k1);
  k2[sizeof k2 - 2] = 'z';
  char *t = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, subject, "planner", 3600);
  json_t *a = NULL, *b = NULL;
  cr_assert_eq(h_command_ok(port, t, "production.order.create", k1, NULL, "{\"article\":\"FOUTA-L\",\"quantity\":1}", &a),
               201);
  cr_assert_eq(h_command_ok(port, t, "production.order.create", k2, NULL, "{\"article\":\"FOUTA-L\",\"quantity\":2}", &b),
               201, "the second key is another command, not a reuse of the first");
  cr_expect_str_eq(json_string_value(json_object_get(b, "command_id")) ?: "", k2);
  cr_expect_str_neq(json_string_value(json_object_get(a, "aggregate")) ?: "a",
                    json_string_value(json_object_get(b, "aggregate")) ?: "b", "two orders");
  char *id1 = fofal_asprintf("%s/%s", subject, k1), *id2 = fofal_asprintf("%s/%s", subject, k2);
  cr_expect_eq(events_of(id1), 1);
  cr_expect_eq(events_of(id2), 1);
  free(id1);
  free(id2);
  json_decref(a);
  json_decref(b);
  free(t);
}

/* The header's caps: 1 to 200 of A-Z a-z 0-9 - _ . :, sent once; else 400 problem+json. */
Test(command_api, malformed_idempotency_keys_are_400) {
  char code[64], k200[201], k201[202];
  memset(k200, 'k', 200);
  k200[200] = '\0';
  memset(k201, 'k', 201);
  k201[201] = '\0';
  const char *create = "/api/v1/commands/production.order.create", *body = "{\"article\":\"A\",\"quantity\":1}";
  const char *bad[] = {"a/b", "a b", "caf\xc3\xa9", "a%2Fb", k201};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *h = auth(tok, bad[i]);
    cr_expect_eq(post_raw(create, h, body, code, sizeof code), 400, "key %s", bad[i]);
    cr_expect_str_eq(code, "malformed_idempotency_key");
    free(h);
  }
  char *twice = fofal_asprintf("Authorization: Bearer %s\r\nIdempotency-Key: k-1\r\nIdempotency-Key: k-2\r\n", tok);
  cr_expect_eq(post_raw(create, twice, body, code, sizeof code), 400, "two keys");
  cr_expect_str_eq(code, "malformed_idempotency_key");
  free(twice);
  cr_expect_eq(h_command_ok(port, tok, "production.order.create", k200, NULL, body, NULL), 201, "200 characters is fine");
  char *b = fofal_asprintf("{\"commands\":[{\"type\":\"production.order.create\",\"idempotency_key\":\"a/b\",\"data\":%s},"
                           "{\"type\":\"production.order.create\",\"data\":%s}]}",
                           body, body);
  json_t *res = batch(tok, b);
  cr_expect_eq(item_status(res, 0), 400);
  cr_expect_str_eq(item_code(res, 0), "malformed_idempotency_key");
  cr_expect_eq(item_status(res, 1), 400);
  cr_expect_str_eq(item_code(res, 1), "idempotency_key_required");
  json_decref(res);
  free(b);
}

static int run(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(command_api, h2c_and_tls_alpn_h2) {
  char cmd[2048], out[256];
  snprintf(out, sizeof out, "%s/logs/test-curl.out", h_env("FOFAL_STACK_DIR"));
  snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_version}' --http2-prior-knowledge http://127.0.0.1:%d/healthz > %s", port, out);
  cr_assert_eq(run(cmd), 0, "curl over h2c failed");
  FILE *f = fopen(out, "r");
  char v[16] = "";
  cr_assert(f && fgets(v, sizeof v, f));
  fclose(f);
  cr_expect_str_eq(v, "2", "h2c with prior knowledge speaks HTTP/2");
  /* A command over HTTP/2: its response headers (ETag, Fofal-Position) must be valid h2. */
  snprintf(cmd, sizeof cmd,
           "curl -s -o /dev/null -w '%%{http_version} %%{http_code}' --http2-prior-knowledge -X POST "
           "-H 'Authorization: Bearer %s' -H 'Idempotency-Key: h2-cmd' -H 'Content-Type: application/json' "
           "-d '{\"article\":\"FOUTA-H2\",\"quantity\":5}' http://127.0.0.1:%d/api/v1/commands/production.order.create > %s",
           tok, port, out);
  cr_assert_eq(run(cmd), 0, "curl POST over h2c failed (a protocol error?)");
  f = fopen(out, "r");
  char vs[32] = "";
  cr_assert(f && fgets(vs, sizeof vs, f));
  fclose(f);
  cr_expect_str_eq(vs, "2 201", "a command over HTTP/2 is accepted (got %s)", vs);

  /* TLS: a throw-away self-signed certificate, a second API instance on an HTTPS port. */
  const char *dir = h_env("FOFAL_STACK_DIR");
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout %s/test-tls.key "
           "-out %s/test-tls.crt > /dev/null 2>&1", dir, dir);
  cr_assert_eq(run(cmd), 0, "openssl could not make a certificate");
  int http = h_free_port(), https = h_free_port();
  char e1[64], e2[64], e3[1100], e4[1100];
  snprintf(e1, sizeof e1, "FOFAL_HTTP_PORT=%d", http);
  snprintf(e2, sizeof e2, "FOFAL_HTTPS_PORT=%d", https);
  snprintf(e3, sizeof e3, "FOFAL_TLS_CERT=%s/test-tls.crt", dir);
  snprintf(e4, sizeof e4, "FOFAL_TLS_KEY=%s/test-tls.key", dir);
  const char *env[] = {e1, e2, e3, e4, NULL};
  pid_t tls = h_spawn("api/fofal-api", "test-api-tls", NULL, env);
  cr_assert_eq(h_wait_ready(http, 30000), 0);
  snprintf(cmd, sizeof cmd, "curl -sk -o /dev/null -w '%%{http_version}' --http2 https://127.0.0.1:%d/healthz > %s", https, out);
  cr_expect_eq(run(cmd), 0, "curl over TLS failed");
  f = fopen(out, "r");
  cr_assert(f && fgets(v, sizeof v, f));
  fclose(f);
  cr_expect_str_eq(v, "2", "TLS negotiates h2 through ALPN");
  snprintf(cmd, sizeof cmd, "curl -sk -o /dev/null --tls-max 1.1 https://127.0.0.1:%d/healthz", https);
  cr_expect_neq(run(cmd), 0, "TLS 1.1 is refused");
  h_stop(tls, SIGTERM);
}

Test(command_api, stops_cleanly_after_traffic) {
  /* SIGTERM after commands and a WebSocket: exit status 0, not a crash in the teardown. */
  int p2 = h_free_port();
  char e[64];
  snprintf(e, sizeof e, "FOFAL_HTTP_PORT=%d", p2);
  const char *env[] = {e, NULL};
  pid_t other = h_spawn("api/fofal-api", "test-api-stop", NULL, env);
  cr_assert_eq(h_wait_ready(p2, 30000), 0);
  for (int i = 0; i < 5; i++) {
    char key[32];
    snprintf(key, sizeof key, "stop-%d", i);
    cr_expect_eq(h_command_ok(p2, tok, "production.order.create", key, NULL, "{\"article\":\"FOUTA-STOP\",\"quantity\":1}", NULL), 201);
  }
  int status = h_stop(other, SIGTERM);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fofal-api must exit 0 on SIGTERM (status %d%s)", status,
            WIFSIGNALED(status) ? ", killed by a signal" : "");
}
