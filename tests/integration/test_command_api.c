/*
 * test_command_api.c — the HTTP contract of the command API (DESIGN.md "HTTP API
 * conventions"): problem+json for every bad input and never a 5xx for it, token checks,
 * roles, the batch endpoint, polling a result, the OpenAPI document, h2c and TLS with
 * ALPN h2.
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
