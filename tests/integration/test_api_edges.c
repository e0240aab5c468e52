/*
 * test_api_edges.c — the edges of the HTTP API that users and schemathesis found (issue
 * 23, items 7 and 10), against the real stack with the real decider, projector and API:
 * every error is problem+json (h2o's own 413 too, and when the echoed value is not
 * UTF-8), 405 carries Allow, a ?position= past the end of the log is 400 at once, reals
 * print the shortest way, an unknown loom is 404, the auth routes refuse unknown members and
 * count characters, /auth/password never answers 500, views/planner and batch results
 * match their schemas, and the shift model can be redefined.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];
static char *admin, *planner;

static void setup(void) {
  h_tenant(tenant);
  admin = h_token(tenant, "admin");
  planner = h_token(tenant, "planner");
  port = h_free_port();
  dec = h_start_decider("it-edges");
  proj = h_start_projector("it-edges");
  char pe[64];
  snprintf(pe, sizeof pe, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {pe, "FOFAL_API_ARGON2_MEMORY_KIB=8192", NULL};
  api = h_spawn("api/fofal-api", "test-api-edges", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(admin);
  free(planner);
}

TestSuite(edges, .init = setup, .fini = teardown, .timeout = 300);

/* One request; the response is the caller's to free. Bearer `token` unless NULL. */
static void req(const char *method, const char *path, const char *token, const char *body, h_resp_t *r) {
  char hdr[4200] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  cr_assert_eq(h_http(port, method, path, hdr, body, r, 30000), 0, "no answer to %s %s", method, path);
}

/* The response is a problem+json of `status` and `code`. */
static void expect_problem(const h_resp_t *r, int status, const char *code, const char *what) {
  cr_expect_eq(r->status, status, "%s: status %d, want %d (%s)", what, r->status, status, r->body);
  char *ct = h_resp_header(r, "Content-Type");
  cr_expect(ct && !strcmp(ct, "application/problem+json"), "%s: content type %s", what, ct ? ct : "(none)");
  free(ct);
  json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
  cr_expect_not_null(j, "%s: the body is JSON (%zu bytes: %s)", what, r->body_len, r->body);
  cr_expect_str_eq(json_string_value(json_object_get(j, "code")) ?: "", code, "%s: %s", what, r->body);
  cr_expect_eq(json_integer_value(json_object_get(j, "status")), status, "%s", what);
  json_decref(j);
}

/* POSTs a command until decided (a phone's retries); returns its 201 body (new). */
static json_t *command_ok(const char *token, const char *type, const char *key, const char *body) {
  json_t *res = NULL;
  int st = h_command_ok(port, token, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s: %d", type, st);
  return res;
}

/* GETs path?position=<pos of res> until 200 (the projector of a fresh stack may take a
 * moment to join); the response is the caller's. */
static void get_after(const char *token, const char *path, json_t *res, h_resp_t *r) {
  char p[512];
  snprintf(p, sizeof p, "%s%cposition=%s", path, strchr(path, '?') ? '&' : '?',
           json_string_value(json_object_get(res, "position")));
  for (int i = 0; i < 30; i++) {
    req("GET", p, token, NULL, r);
    if (r->status == 200) return;
    h_resp_free(r);
  }
  cr_assert_fail("%s never answered 200", p);
}

/* --------------------------------------------------- errors are problem+json */

/* h2o answers a body over the cap itself, before any handler: it was text/plain. The cap
 * h2o applies is fofal-api's largest, an upload's (FOFAL_FILES_MAX_BYTES, 10 MiB); a JSON
 * route refuses a body over its own smaller cap once read (test_command_api.c). */
Test(edges, a_body_over_the_cap_is_a_problem_json_413) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  char head[512];
  int n = snprintf(head, sizeof head,
                   "POST /api/v1/commands/production.order.create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %.300s"
                   "\r\nContent-Type: application/json\r\nContent-Length: 20971520\r\n\r\n",
                   "x");
  cr_assert_eq(write(fd, head, (size_t)n), n);
  char buf[4096];
  size_t got = 0;
  ssize_t k;
  while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)k;
  close(fd);
  buf[got] = '\0';
  cr_assert(!strncmp(buf, "HTTP/1.1 413", 12), "20 MB is refused with 413: %s", buf);
  cr_expect(strcasestr(buf, "content-type: application/problem+json"), "as problem+json: %s", buf);
  const char *body = strstr(buf, "\r\n\r\n");
  json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
  cr_expect_str_eq(json_string_value(json_object_get(j, "code")) ?: "", "body_too_large", "%s", buf);
  json_decref(j);
}

/* The detail echoes what was sent; a byte that is not UTF-8 emptied the body. */
Test(edges, error_bodies_are_json_when_the_echoed_value_is_not_utf8) {
  const char *paths[][2] = {{"/api/v1/production/orders?status=%FF", "invalid_parameter"},
                            {"/api/v1/production/beams/0?position=%FF", "malformed_position"},
                            {"/api/v1/production/orders?status=%C3%28", "invalid_parameter"}};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    h_resp_t r;
    req("GET", paths[i][0], admin, NULL, &r);
    cr_expect_gt(r.body_len, 0, "%s: a body", paths[i][0]);
    expect_problem(&r, 400, paths[i][1], paths[i][0]);
    h_resp_free(&r);
  }
  h_resp_t r;
  req("GET", "/api/v1/production/looms/%FF", admin, NULL, &r);
  cr_expect_gt(r.body_len, 0, "looms/%%FF: a body");
  json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
  cr_expect(r.status >= 400 && r.status < 500 && json_is_string(json_object_get(j, "code")), "looms/%%FF: %d %s", r.status,
            r.body);
  json_decref(j);
  h_resp_free(&r);
}

/* ------------------------------------------------------------------ 405 */

Test(edges, method_not_allowed_says_what_is) {
  const struct {
    const char *method, *path, *allow;
  } cases[] = {{"POST", "/healthz", "GET, HEAD"},
               {"DELETE", "/readyz", "GET, HEAD"},
               {"POST", "/metrics", "GET, HEAD"},
               {"GET", "/api/v1/commands", "POST"},
               {"PUT", "/api/v1/commands/production.order.create", "GET, HEAD, POST"},
               {"GET", "/api/v1/auth/login", "POST"},
               {"POST", "/api/v1/auth/me", "GET"},
               {"POST", "/api/v1/production/orders", "GET, HEAD"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    h_resp_t r;
    req(cases[i].method, cases[i].path, admin, NULL, &r);
    char what[128];
    snprintf(what, sizeof what, "%s %s", cases[i].method, cases[i].path);
    expect_problem(&r, 405, "method_not_allowed", what);
    char *allow = h_resp_header(&r, "Allow");
    cr_expect_str_eq(allow ?: "(none)", cases[i].allow, "%s: Allow", what);
    free(allow);
    h_resp_free(&r);
  }
}

/* ------------------------------------------------------------- positions */

/* No command ever answered a position past the end of the log: waiting cannot help, and
 * a 503 with Retry-After made clients retry it for ever. */
Test(edges, a_position_past_the_end_of_the_log_is_400_at_once) {
  char id[FOFAL_UUID_LEN + 1], body[160], path[256];
  fofal_uuid7(id);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"EDGE\",\"quantity\":1}", id);
  json_t *res = command_ok(planner, "production.order.create", id, body);
  const char *pos = json_string_value(json_object_get(res, "position"));
  h_resp_t r;
  snprintf(path, sizeof path, "/api/v1/production/orders/%s", id);
  get_after(planner, path, res, &r); /* a real position is reached */
  h_resp_free(&r);
  char far[96];
  snprintf(far, sizeof far, "%.*s:999999999999", (int)(strrchr(pos, ':') - pos), pos);
  const char *beyond[] = {far, "production:1000:1"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", id, beyond[i]);
    int64_t t0 = fofal_mono_us();
    req("GET", path, planner, NULL, &r);
    int64_t ms = (fofal_mono_us() - t0) / 1000;
    expect_problem(&r, 400, "position_beyond_log", beyond[i]);
    char *ra = h_resp_header(&r, "Retry-After");
    cr_expect_null(ra, "no Retry-After: retrying cannot help");
    free(ra);
    cr_expect_lt(ms, 1500, "answered without waiting out the position wait (%lld ms)", (long long)ms);
    h_resp_free(&r);
  }
  json_decref(res);
}

/* ------------------------------------------------------ numbers and views */

Test(edges, reals_print_the_shortest_way_and_unknown_looms_are_404) {
  json_t *res = command_ok(admin, "catalog.article.define", "art-edge",
                           "{\"article\":\"FT-EDGE\",\"name\":\"Edge\",\"weave\":\"flat\",\"width_cm\":31.88,"
                           "\"length_cm\":180,\"picks_per_cm\":17.85}");
  h_resp_t r;
  get_after(admin, "/api/v1/catalog/articles/FT-EDGE", res, &r);
  cr_expect(strstr(r.body, "31.88") && !strstr(r.body, "31.879999"), "31.88 reads as written: %s", r.body);
  cr_expect(strstr(r.body, "17.85") && !strstr(r.body, "17.850000"), "17.85 reads as written: %s", r.body);
  h_resp_free(&r);
  json_decref(res);

  req("GET", "/api/v1/production/looms/NO-SUCH-LOOM/current-order", admin, NULL, &r);
  expect_problem(&r, 404, "not_found", "current-order of an unknown loom");
  h_resp_free(&r);
  /* A loom the mill registered, with nothing running: idle, 200 with nulls. */
  res = command_ok(admin, "production.loom.register", "loom-edge",
                   "{\"loom\":\"L-EDGE\",\"hall\":\"H1\",\"type\":\"rapier\",\"width_cm\":220,\"nominal_ppm\":500,"
                   "\"weave\":\"flat\"}");
  get_after(admin, "/api/v1/production/looms/L-EDGE/current-order", res, &r);
  json_t *j = json_loads(r.body, 0, NULL);
  cr_expect(json_is_null(json_object_get(j, "order_id")), "idle: %s", r.body);
  json_decref(j);
  h_resp_free(&r);
  json_decref(res);
}

Test(edges, planner_late_is_a_boolean_and_batch_results_match_their_schema) {
  char id[FOFAL_UUID_LEN + 1], body[160];
  fofal_uuid7(id);
  snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"article\":\"EDGE-LATE\",\"quantity\":3}", id); /* no due date */
  json_t *res = command_ok(planner, "production.order.create", id, body);
  h_resp_t r;
  get_after(planner, "/api/v1/production/views/planner", res, &r);
  json_t *v = json_loads(r.body, 0, NULL), *o;
  size_t i;
  int seen = 0;
  json_array_foreach(json_object_get(v, "unplanned"), i, o) {
    if (strcmp(json_string_value(json_object_get(o, "order_id")) ?: "", id)) continue;
    seen = 1;
    cr_expect(json_is_false(json_object_get(o, "late")), "late is false without a due date: %s", r.body);
  }
  cr_expect(seen, "the order is among the unplanned: %s", r.body);
  json_decref(v);
  h_resp_free(&r);
  json_decref(res);

  /* A batch item without a key: its result has no idempotency_key, or a string. */
  req("POST", "/api/v1/commands", planner,
      "{\"commands\":[{\"type\":\"production.order.create\",\"data\":{\"order_id\":\"x\"}}]}", &r);
  json_t *b = json_loads(r.body, 0, NULL);
  json_t *item = json_array_get(json_object_get(b, "results"), 0);
  cr_expect_not_null(item, "one result: %d %s", r.status, r.body);
  json_t *k = json_object_get(item, "idempotency_key");
  cr_expect(!k || json_is_string(k), "idempotency_key is a string or absent: %s", r.body);
  json_decref(b);
  h_resp_free(&r);
}

/* -------------------------------------------------------------- /auth/ */

Test(edges, auth_bodies_refuse_unknown_members_and_count_characters) {
  h_resp_t r;
  req("POST", "/api/v1/auth/accounts", admin,
      "{\"username\":\"edge1\",\"role\":\"weaver\",\"password\":\"a-long-password-1\",\"is_admin\":true}", &r);
  expect_problem(&r, 422, "invalid_request", "an account with an unknown member");
  cr_expect(strstr(r.body, "/is_admin"), "the pointer names it: %s", r.body);
  h_resp_free(&r);
  req("POST", "/api/v1/auth/devices", admin, "{\"name\":\"phone\",\"trusted\":true}", &r);
  expect_problem(&r, 422, "invalid_request", "a device with an unknown member");
  h_resp_free(&r);
  /* Six emoji are 24 bytes but 6 characters: short of the 12 required. */
  req("POST", "/api/v1/auth/accounts", admin,
      "{\"username\":\"edge2\",\"role\":\"weaver\",\"password\":\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"}",
      &r);
  expect_problem(&r, 422, "invalid_request", "a password of six emoji");
  h_resp_free(&r);
  /* Twelve accented letters are 24 bytes and 12 characters: enough. */
  req("POST", "/api/v1/auth/accounts", admin,
      "{\"username\":\"edge3\",\"role\":\"weaver\",\"password\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}",
      &r);
  cr_expect_eq(r.status, 201, "twelve characters pass: %d %s", r.status, r.body);
  h_resp_free(&r);
}

/* A development token's subject ("tester", `fofal token --subject me`) names no account:
 * PostgreSQL refused it as a UUID and the answer was 500. */
Test(edges, a_password_change_with_a_token_of_no_account_is_400) {
  h_resp_t r;
  req("POST", "/api/v1/auth/password", admin, "{\"current_password\":\"whatever-it-is\",\"new_password\":\"a-new-password-1\"}",
      &r);
  expect_problem(&r, 400, "no_account", "password change by a development token");
  h_resp_free(&r);
}

/* ------------------------------------------------------------ shift model */

Test(edges, the_shift_model_can_be_redefined_from_a_coming_day) {
  json_t *res = command_ok(admin, "hr.shift_model.define", "model-edge",
                           "{\"model\":\"default\",\"utc_offset_min\":60,\"shifts\":[{\"code\":\"A\",\"start\":\"06:00\","
                           "\"hours\":8},{\"code\":\"B\",\"start\":\"14:00\",\"hours\":8},{\"code\":\"C\",\"start\":"
                           "\"22:00\",\"hours\":8}]}");
  json_decref(res);
  char body[512], today[16], later[16];
  time_t now = time(NULL), then = now + 3 * 86400;
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(today, sizeof today, "%Y-%m-%d", &tm);
  gmtime_r(&then, &tm);
  strftime(later, sizeof later, "%Y-%m-%d", &tm);
  const char *fmt = "{\"model\":\"default\",\"utc_offset_min\":60,\"shifts\":[{\"code\":\"D\",\"start\":\"06:00\","
                    "\"hours\":12},{\"code\":\"N\",\"start\":\"18:00\",\"hours\":12}],\"effective_from\":\"%s\"}";
  snprintf(body, sizeof body, fmt, later);
  json_t *out = NULL;
  int st = h_command_ok(port, admin, "hr.shift_model.redefine", "model-edge-2", NULL, body, &out);
  cr_expect_eq(st, 201, "redefined: %d %s", st, json_string_value(json_object_get(out, "code")) ?: "");
  /* The model is the hr module's read: its latest definition (waiting for its day), for
   * every role of the mill, its version as ETag. */
  char *weaver = h_token(tenant, "weaver");
  h_resp_t r;
  get_after(weaver, "/api/v1/hr/shiftmodels/default", out, &r);
  json_t *m = json_loads(r.body, 0, NULL);
  cr_expect_eq(json_array_size(json_object_get(m, "shifts")), 2, "the redefined model's two shifts: %s", r.body);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(m, "shifts"), 0), "code")) ?: "", "D");
  cr_expect_eq(json_integer_value(json_object_get(m, "version")), 2);
  char aggregate[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, "shiftmodel", "default", aggregate);
  cr_expect_str_eq(json_string_value(json_object_get(m, "aggregate")) ?: "", aggregate);
  char *etag = h_resp_header(&r, "ETag");
  cr_expect(etag && !strcmp(etag, "\"2\""), "ETag is the version: %s", etag ? etag : "(none)");
  free(etag);
  json_decref(m);
  h_resp_free(&r);
  req("GET", "/api/v1/production" "/employees/W1", weaver, NULL, &r);
  cr_expect_eq(r.status, 404, "employees are read at /api/v1/hr/ now");
  h_resp_free(&r);
  json_decref(out);
  snprintf(body, sizeof body, fmt, today);
  st = h_command_ok(port, admin, "hr.shift_model.redefine", "model-edge-3", NULL, body, &out);
  cr_expect_eq(st, 422, "not from today: %d", st);
  cr_expect_str_eq(json_string_value(json_object_get(out, "code")) ?: "", "effective_from_not_future");
  json_decref(out);
  st = h_command_ok(port, weaver, "hr.shift_model.redefine", "model-edge-4", NULL, body, &out);
  cr_expect_eq(st, 403, "a weaver may not: %d", st);
  json_decref(out);
  free(weaver);
}
