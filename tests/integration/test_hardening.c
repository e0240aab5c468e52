/*
 * test_hardening.c — issue 22 ("Hardening") against the real Kafka, PostgreSQL and Redis
 * of the test stack, with the real decider, projector and API:
 *
 *   stream    the WebSocket stream pushes to a role only what its read routes show (the
 *             routes' x-fofal-roles in the served OpenAPI document; an employee's own
 *             record to their badge), live and replayed; it closes when the token expires
 *             unless the client re-authenticates on the socket; it closes idle clients;
 *             it caps connections per account and per tenant (item 3).
 *   tokens    tokens without a session refused unless FOFAL_API_DEV_TOKENS=1, lifetimes
 *             capped, a kid in every token and a key rotation (item 5).
 *
 * Every fofal-api here is started by the test with the settings it examines; the stack's
 * environment (ops/stack's stack.env) sets FOFAL_API_DEV_TOKENS=1 as development does.
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

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "commands.h"
#include "fofal_api.h"
#include "harness.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

/* Starts fofal-api on `port` with extra settings ("K=V", NULL-terminated). */
static pid_t api_with(int port, const char *log, const char *const *extra) {
  static char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  /* Every instance signs in from 127.0.0.1 into one Redis bucket per IP: a generous
   * default, so that the test that drains it on purpose (a limit of 2) leaves no 429 to
   * the tests after it; `extra` comes later and overrides it. */
  const char *env[16] = {p, "FOFAL_API_COMMAND_WAIT_MS=30000", "FOFAL_API_RATE_LOGIN_IP=100000"};
  int n = 3;
  for (int i = 0; extra && extra[i] && n < 15; i++) env[n++] = extra[i];
  env[n] = NULL;
  pid_t pid = h_spawn("api/fofal-api", log, NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d (see %s.log)", port, log);
  return pid;
}

static char *token_badge(const char *tenant, const char *subject, const char *role, const char *badge, long ttl) {
  char *t = fofal_api_token_issue_badge(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tenant, subject, role, badge, ttl);
  cr_assert_not_null(t);
  return t;
}

/* Opens the stream with `token`: the client, or NULL with *status the handshake's. */
static h_ws_t *ws_open(int port, const char *token, const char *query, int *status) {
  char path[4600];
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s%s", token, query ? query : "");
  return h_ws_open(port, path, NULL, 0, status);
}

static void ws_subscribe_all(h_ws_t *ws) {
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{}}"), 0);
  json_t *ack = h_ws_recv_json(ws, 5000, NULL);
  cr_assert_str_eq(str(ack, "ack"), "subscribe");
  json_decref(ack);
}

static int get_status(int port, const char *token, const char *path, json_t **body) {
  return h_get(port, token, path, body, NULL);
}

/* ================================================================== stream */

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void stream_setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-harden");
  proj = h_start_projector("it-harden");
  api = h_start_api(port);
}

static void stream_teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(stream, .init = stream_setup, .fini = stream_teardown, .timeout = 300);

/* Which read route shows the aggregate of each event type the test causes (as README's
 * table of the floor's reads says). */
static const struct {
  const char *type, *path;
} shown_by[] = {
    {"fofal.catalog.article_defined.v1", "/api/v1/catalog/articles/{code}"},
    {"fofal.production.loom_registered.v1", "/api/v1/production/looms/{code}"},
    {"fofal.production.loom_beam_mounted.v1", "/api/v1/production/looms/{code}"},
    {"fofal.production.first_piece_checked.v1", "/api/v1/production/looms/{code}"},
    {"fofal.production.beam_warped.v1", "/api/v1/production/beams/{code}"},
    {"fofal.production.beam_sized.v1", "/api/v1/production/beams/{code}"},
    {"fofal.production.beam_drawn_in.v1", "/api/v1/production/beams/{code}"},
    {"fofal.production.beam_mounted.v1", "/api/v1/production/beams/{code}"},
    {"fofal.production.employee_registered.v1", "/api/v1/production/employees/{badge}"},
    {"fofal.production.shift_assigned.v1", "/api/v1/production/employees/{badge}"},
    {"fofal.production.order_created.v1", "/api/v1/production/orders/{id}"},
};

/* 1 when the served document lets `role` read GET `path`. */
static int doc_allows(json_t *doc, const char *path, const char *role) {
  json_t *roles = json_object_get(json_object_get(json_object_get(json_object_get(doc, "paths"), path), "get"),
                                  "x-fofal-roles");
  cr_assert(json_is_array(roles), "the document has x-fofal-roles for %s", path);
  size_t k;
  json_t *r;
  json_array_foreach(roles, k, r) if (!strcmp(json_string_value(r), role)) return 1;
  return 0;
}

/* 1 when `role` may read the route that shows `type`, or the audit trail (every event). */
static int route_allows(json_t *doc, const char *type, const char *role) {
  for (size_t i = 0; i < sizeof shown_by / sizeof shown_by[0]; i++)
    if (!strcmp(shown_by[i].type, type))
      return doc_allows(doc, shown_by[i].path, role) || doc_allows(doc, "/api/v1/audit/{module}/{id}/events", role);
  cr_assert_fail("the test does not know which route shows %s", type);
  return 0;
}

/* Reads pushes until the push of order `sentinel` (or the end of a replay), at most 30 s:
 * a new object "type" → [aggregate ids]. */
static json_t *collect(h_ws_t *ws, const char *sentinel, int replay) {
  json_t *seen = json_object();
  for (;;) {
    json_t *m = h_ws_recv_json(ws, 30000, NULL);
    cr_assert_not_null(m, "the stream ended or stalled before the %s", replay ? "end of the replay" : "sentinel order");
    if (replay && !strcmp(str(m, "ack"), "replayed")) {
      json_decref(m);
      break;
    }
    json_t *ev = json_object_get(m, "event");
    if (ev) {
      const char *type = str(ev, "type");
      json_t *list = json_object_get(seen, type);
      if (!list) json_object_set_new(seen, type, list = json_array());
      json_array_append_new(list, json_string(str(ev, "aggregate")));
      if (!replay && !strcmp(str(ev, "aggregate"), sentinel)) {
        json_decref(m);
        break;
      }
    }
    json_decref(m);
  }
  return seen;
}

static int has_aggregate(json_t *seen, const char *type, const char *agg) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(seen, type), i, v) if (!strcmp(json_string_value(v), agg)) return 1;
  return 0;
}

Test(stream, pushes_follow_the_read_routes_roles) {
  json_t *doc = NULL;
  cr_assert_eq(get_status(port, NULL, "/api/v1/openapi.json", &doc), 200);
  static const char *const roles[] = {"weaver", "hr", "cutter", "storekeeper_mp", "auditor", "planner"};
  enum { NR = sizeof roles / sizeof roles[0] };
  h_ws_t *ws[NR];
  char *tok[NR];
  for (int i = 0; i < NR; i++) {
    int st;
    /* The weaver is the floor's weaver W-H1 (their own record), the others have no badge. */
    tok[i] = token_badge(tenant, roles[i], roles[i], i == 0 ? "W-H1" : NULL, 3600);
    ws[i] = ws_open(port, tok[i], NULL, &st);
    cr_assert_not_null(ws[i], "%s: the stream opens (%d)", roles[i], st);
    ws_subscribe_all(ws[i]);
  }
  h_floor_http(port, tenant, "L-H1", "W-H1", "ART-H1");
  /* Another employee: not the weaver's own record. */
  char *admin = h_token(tenant, "admin");
  json_t *res = NULL;
  cr_assert_eq(h_command_ok(port, admin, "production.employee.register", "emp-h2", NULL,
                            "{\"badge\":\"W-H2\",\"name\":\"Other\",\"job\":\"weaver\"}", NULL),
               201);
  cr_assert_eq(h_command_ok(port, admin, "production.order.create", "sentinel", NULL,
                            "{\"article\":\"ART-H1\",\"quantity\":10}", &res),
               201);
  char sentinel[64];
  snprintf(sentinel, sizeof sentinel, "%s", str(res, "aggregate"));
  json_decref(res);
  char self[FOFAL_UUID_LEN + 1], other[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, "employee", "W-H1", self);
  fofal_aggregate_ref(tenant, "employee", "W-H2", other);

  json_t *cutter_live = NULL;
  for (int i = 0; i < NR; i++) {
    json_t *seen = collect(ws[i], sentinel, 0);
    for (size_t k = 0; k < sizeof shown_by / sizeof shown_by[0]; k++) {
      const char *type = shown_by[k].type;
      int allowed = route_allows(doc, type, roles[i]);
      int employee = strstr(type, "employee_") || strstr(type, "shift_assigned");
      if (employee) {
        /* Their own record reaches the weaver; another's only the roles of the route. */
        cr_expect_eq(has_aggregate(seen, type, self), allowed || i == 0, "%s: %s of their own badge", roles[i], type);
        if (strstr(type, "registered"))
          cr_expect_eq(has_aggregate(seen, type, other), allowed, "%s: %s of another badge", roles[i], type);
      } else {
        cr_expect_eq(json_object_get(seen, type) != NULL, allowed, "%s %s receive %s (read route %s)", roles[i],
                     allowed ? "must" : "must not", type, shown_by[k].path);
      }
    }
    if (!strcmp(roles[i], "cutter")) cutter_live = json_incref(seen);
    json_decref(seen);
    h_ws_close(ws[i]);
    free(tok[i]);
  }

  /* A replay from the start of the push stream filters the same way. */
  int st;
  char *cut = token_badge(tenant, "cutter2", "cutter", NULL, 3600);
  h_ws_t *r = ws_open(port, cut, "&since=0-0", &st);
  cr_assert_not_null(r, "the replay opens (%d)", st);
  ws_subscribe_all(r);
  json_t *replayed = collect(r, sentinel, 1);
  cr_expect(json_equal(replayed, cutter_live), "the cutter's replay is what it got live");
  cr_expect_null(json_object_get(replayed, "fofal.production.employee_registered.v1"), "no employee in a cutter's replay");
  json_decref(replayed);
  json_decref(cutter_live);
  h_ws_close(r);
  free(cut);
  free(admin);
  json_decref(doc);
}

Test(stream, a_stream_lives_as_long_as_its_token) {
  int st, code = 0;
  /* Expired 27 s ago: still inside the 30 s clock leeway, so the handshake passes. */
  char *old = token_badge(tenant, "u1", "planner", NULL, -27);
  h_ws_t *ws = ws_open(port, old, NULL, &st);
  cr_assert_not_null(ws, "opens (%d)", st);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{}}"), 0);
  int announced = 0;
  json_t *m;
  while ((m = h_ws_recv_json(ws, 8000, &code))) {
    if (json_object_get(m, "expiring")) {
      announced = 1;
      cr_expect_gt(json_integer_value(json_object_get(json_object_get(m, "expiring"), "closes_at")), 0);
    }
    json_decref(m);
  }
  cr_expect(announced, "the close is announced");
  cr_expect_eq(code, 1008, "closed with 1008 when the token expired (got %d)", code);
  h_ws_close(ws);

  /* The same, re-authenticated on the socket with a newer token of the same account. */
  ws = ws_open(port, old, NULL, &st);
  cr_assert_not_null(ws);
  char *fresh = token_badge(tenant, "u1", "planner", NULL, 600), msg[4200];
  snprintf(msg, sizeof msg, "{\"auth\":\"%s\"}", fresh);
  cr_assert_eq(h_ws_send(ws, msg), 0);
  int acked = 0;
  code = 0;
  int64_t until = fofal_mono_us() + 6 * 1000000;
  while (fofal_mono_us() < until && (m = h_ws_recv_json(ws, 1000, &code))) {
    if (!strcmp(str(m, "ack"), "auth")) {
      acked = 1;
      cr_expect_gt(json_integer_value(json_object_get(m, "expires_at")), (json_int_t)time(NULL) + 500);
    }
    json_decref(m);
  }
  cr_expect(acked, "the new token is acknowledged");
  cr_expect_eq(code, 0, "still open 6 s later (close code %d)", code);
  /* Another account's token is refused, and closes the stream. */
  char *other = token_badge(tenant, "u2", "planner", NULL, 600);
  snprintf(msg, sizeof msg, "{\"auth\":\"%s\"}", other);
  cr_assert_eq(h_ws_send(ws, msg), 0);
  while ((m = h_ws_recv_json(ws, 5000, &code))) json_decref(m);
  cr_expect_eq(code, 1008, "another account's token closes with 1008 (got %d)", code);
  h_ws_close(ws);
  free(old);
  free(fresh);
  free(other);
}

Test(stream, idle_clients_are_closed_and_connections_capped) {
  int p2 = h_free_port(), st;
  const char *extra[] = {"FOFAL_WS_IDLE_S=4", "FOFAL_WS_MAX_PER_ACCOUNT=2", "FOFAL_WS_MAX_PER_TENANT=3", NULL};
  pid_t a2 = api_with(p2, "test-api-harden-ws", extra);
  char *ta = token_badge(tenant, "a", "planner", NULL, 600), *tb = token_badge(tenant, "b", "planner", NULL, 600),
       *tc = token_badge(tenant, "c", "planner", NULL, 600);
  char other_tenant[32];
  h_tenant(other_tenant);
  char *to = token_badge(other_tenant, "a", "planner", NULL, 600);

  /* Caps: two per account, three per tenant, per instance. */
  h_ws_t *a1 = ws_open(p2, ta, NULL, &st), *a2c = ws_open(p2, ta, NULL, &st);
  cr_assert(a1 && a2c, "two streams of one account open");
  cr_expect_null(ws_open(p2, ta, NULL, &st), "a third of the same account is refused");
  cr_expect_eq(st, 429, "a third of the same account: 429 (got %d)", st);
  h_ws_t *b1 = ws_open(p2, tb, NULL, &st);
  cr_assert_not_null(b1, "another account of the tenant opens (%d)", st);
  cr_expect_null(ws_open(p2, tc, NULL, &st), "a fourth of the tenant is refused");
  cr_expect_eq(st, 429, "a fourth of the tenant: 429 (got %d)", st);
  h_ws_t *o1 = ws_open(p2, to, NULL, &st);
  cr_expect_not_null(o1, "another tenant is not affected (%d)", st);

  /* Idle: a1 reads nothing (answers no ping) and is closed within FOFAL_WS_IDLE_S; b1
   * reads, so answers the pings, and stays. */
  ws_subscribe_all(a1);
  ws_subscribe_all(b1);
  int code = 0;
  json_t *m;
  /* Generous margins: the server pings at half the idle time and a loaded machine may be
   * slow to answer, so the window is 1.5 idle times and the silent client gets 2.5. */
  int64_t until = fofal_mono_us() + 6 * 1000000;
  while (fofal_mono_us() < until && ((m = h_ws_recv_json(b1, 500, &code)) || code == 0)) json_decref(m);
  cr_expect_eq(code, 0, "a client that answers pings stays open (close code %d)", code);
  code = 0;
  while ((m = h_ws_recv_json(a1, 10000, &code))) json_decref(m);
  cr_expect_eq(code, 1001, "a silent client is closed with 1001 (got %d)", code);
  h_ws_close(a1);
  /* Its place is free again: the account opens another (once the server dropped it). */
  h_ws_t *a3 = NULL;
  for (int i = 0; i < 50 && !a3; i++) {
    a3 = ws_open(p2, ta, NULL, &st);
    if (!a3) usleep(100 * 1000);
  }
  cr_expect_not_null(a3, "a closed stream frees its place (%d)", st);
  h_ws_close(a2c);
  h_ws_close(a3);
  h_ws_close(b1);
  h_ws_close(o1);
  h_stop(a2, SIGTERM);
  free(ta);
  free(tb);
  free(tc);
  free(to);
}

/* ================================================================== tokens */

static int post_json(int p, const char *path, const char *token, const char *body, json_t **out) {
  char hdr[4300] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(p, "POST", path, hdr, body, &r, 30000), 0, "no answer to POST %s", path);
  if (out) *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* Accounts and every security event go through the log (issue 13 item 5): the suites that
 * create accounts or sign in run fofal-decider and fofal-projector too. */
static void log_setup(void) {
  dec = h_start_decider("it-harden");
  proj = h_start_projector("it-harden");
}

static void log_teardown(void) {
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(tokens, .init = log_setup, .fini = log_teardown, .timeout = 300);

/* A planner account of `tn` created through `p` (a development admin token), then signed
 * in: its access token (new, with a session). */
static char *signed_in(int p, const char *tn, const char *user) {
  char *admin = h_token(tn, "admin"), body[512];
  snprintf(body, sizeof body, "{\"username\":\"%s\",\"role\":\"planner\",\"password\":\"correct horse battery\"}", user);
  cr_assert_eq(post_json(p, "/api/v1/auth/accounts", admin, body, NULL), 201);
  snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"username\":\"%s\",\"password\":\"correct horse battery\"}", tn, user);
  json_t *j = NULL;
  cr_assert_eq(post_json(p, "/api/v1/auth/login", NULL, body, &j), 200);
  char *t = fofal_strdup(str(j, "access_token"));
  cr_assert(*str(j, "sid"), "a sign-in has a session");
  json_decref(j);
  free(admin);
  return t;
}

Test(tokens, tokens_without_a_session_need_the_development_setting) {
  char tn[32];
  h_tenant(tn);
  int pd = h_free_port(), ps = h_free_port(), st;
  const char *dev[] = {"FOFAL_API_DEV_TOKENS=1", NULL}, *strict[] = {"FOFAL_API_DEV_TOKENS=0", NULL};
  pid_t ad = api_with(pd, "test-api-harden-dev", dev), as = api_with(ps, "test-api-harden-strict", strict);
  char *devtok = h_token(tn, "planner");
  json_t *j = NULL;
  cr_expect_eq(get_status(pd, devtok, "/api/v1/auth/me", NULL), 200, "development: a token of `fofal token` works");
  cr_expect_eq(get_status(ps, devtok, "/api/v1/auth/me", &j), 401, "elsewhere it is refused");
  cr_expect_str_eq(str(j, "code"), "session_required");
  json_decref(j);
  cr_expect_null(ws_open(ps, devtok, NULL, &st), "the stream refuses it too");
  cr_expect_eq(st, 401);
  char *real = signed_in(pd, tn, "pat");
  cr_expect_eq(get_status(ps, real, "/api/v1/auth/me", NULL), 200, "a signed-in token works everywhere");

  /* Lifetimes are capped: a day for development tokens. */
  char *long_dev = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tn, "u", "planner", 86400 + 600);
  char *day_dev = fofal_api_token_issue(h_env("FOFAL_JWT_SECRET"), "fofal", "fofal-api", tn, "u", "planner", 86400);
  cr_expect_eq(get_status(pd, long_dev, "/api/v1/auth/me", NULL), 401, "a development token of more than a day");
  cr_expect_eq(get_status(pd, day_dev, "/api/v1/auth/me", NULL), 200, "a development token of a day");
  h_stop(ad, SIGTERM);
  h_stop(as, SIGTERM);
  free(devtok);
  free(real);
  free(long_dev);
  free(day_dev);
}

/* The header of a JWT as JSON (new). */
static json_t *jwt_header(const char *tok) {
  const char *dot = strchr(tok, '.');
  cr_assert_not_null(dot);
  h2o_mem_pool_t pool;
  h2o_mem_init_pool(&pool);
  h2o_iovec_t v = h2o_decode_base64url(&pool, tok, (size_t)(dot - tok));
  json_t *h = v.base ? json_loadb(v.base, v.len, 0, NULL) : NULL;
  h2o_mem_clear_pool(&pool);
  cr_assert_not_null(h, "the token's header is base64url JSON");
  return h;
}

Test(tokens, a_kid_names_the_key_and_keys_rotate) {
  char tn[32];
  h_tenant(tn);
  const char *old_secret = h_env("FOFAL_JWT_SECRET");
  const char *new_secret = "a-new-signing-key-of-at-least-32-characters";
  char *old_tok = h_token(tn, "planner");
  char *new_tok = fofal_api_token_issue(new_secret, "fofal", "fofal-api", tn, "u", "planner", 600);
  char *alien = fofal_api_token_issue("a-key-nobody-configured-of-32-characters", "fofal", "fofal-api", tn, "u", "planner", 600);
  json_t *h = jwt_header(new_tok), *h2 = jwt_header(old_tok);
  const char *kid = str(h, "kid");
  cr_expect_eq(strlen(kid), 16, "a kid of 16 hex digits (got \"%s\")", kid);
  cr_expect_str_neq(kid, str(h2, "kid"), "two keys, two kids");
  cr_expect_str_eq(str(h, "alg"), "HS256");
  json_decref(h);
  json_decref(h2);

  /* During a rotation: the new key signs, the old one still verifies. */
  int p1 = h_free_port(), p2 = h_free_port();
  char s1[128], prev[128];
  snprintf(s1, sizeof s1, "FOFAL_JWT_SECRET=%s", new_secret);
  snprintf(prev, sizeof prev, "FOFAL_JWT_PREVIOUS_SECRETS=%s", old_secret);
  const char *rot[] = {s1, prev, NULL}, *after[] = {s1, "FOFAL_JWT_PREVIOUS_SECRETS=", NULL};
  pid_t a1 = api_with(p1, "test-api-harden-rotate", rot), a2 = api_with(p2, "test-api-harden-rotated", after);
  cr_expect_eq(get_status(p1, old_tok, "/api/v1/auth/me", NULL), 200, "the previous key still verifies");
  cr_expect_eq(get_status(p1, new_tok, "/api/v1/auth/me", NULL), 200, "the new key verifies");
  cr_expect_eq(get_status(p1, alien, "/api/v1/auth/me", NULL), 401, "an unknown key does not");
  /* A session signed in during the rotation carries the new key's kid. */
  char *real = signed_in(p1, tn, "rot");
  json_t *hr = jwt_header(real);
  json_t *hn = jwt_header(new_tok);
  cr_expect_str_eq(str(hr, "kid"), str(hn, "kid"), "the new key signs");
  json_decref(hr);
  json_decref(hn);
  cr_expect_eq(get_status(p2, old_tok, "/api/v1/auth/me", NULL), 401, "once the old key is dropped, its tokens are refused");
  cr_expect_eq(get_status(p2, new_tok, "/api/v1/auth/me", NULL), 200);
  h_stop(a1, SIGTERM);
  h_stop(a2, SIGTERM);
  free(old_tok);
  free(new_tok);
  free(alien);
  free(real);
}

Test(tokens, fofal_token_caps_its_lifetime) {
  char *out = NULL;
  const char *month[] = {"token", "--tenant", "any", "--role", "admin", "--ttl", "2592000", NULL};
  cr_expect_eq(h_run_cli(30, &out, month), 2, "30 days is refused");
  cr_expect_eq(out ? strlen(out) : 0, 0, "and nothing is signed");
  free(out);
  const char *day[] = {"token", "--tenant", "any", "--role", "admin", "--ttl", "86400", NULL};
  cr_expect_eq(h_run_cli(30, &out, day), 0, "a day is the most");
  cr_expect_gt(out ? strlen(out) : 0, 20);
  free(out);
}

/* ===================================================================== MFA */

TestSuite(mfa, .init = log_setup, .fini = log_teardown, .timeout = 300);

Test(mfa, ten_wrong_codes_lock_the_second_factor) {
  char tn[32];
  h_tenant(tn);
  int p = h_free_port();
  /* The per-minute limits out of the way: the lockout is what is examined. */
  const char *extra[] = {"FOFAL_API_RATE_LOGIN_ACCOUNT=100000", "FOFAL_API_RATE_LOGIN_IP=100000", NULL};
  pid_t a = api_with(p, "test-api-harden-mfa", extra);
  char *admin = h_token(tn, "admin");
  cr_assert_eq(post_json(p, "/api/v1/auth/accounts", admin,
                         "{\"username\":\"mia\",\"role\":\"accountant\",\"password\":\"mia-password-0001\"}", NULL),
               201);
  char body[4600];
  snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"username\":\"mia\",\"password\":\"mia-password-0001\"}", tn);
  json_t *l = NULL, *e = NULL, *j = NULL;
  cr_assert_eq(post_json(p, "/api/v1/auth/login", NULL, body, &l), 200);
  const char *mt = str(l, "mfa_token");
  snprintf(body, sizeof body, "{\"mfa_token\":\"%s\"}", mt);
  cr_assert_eq(post_json(p, "/api/v1/auth/totp/enrol", NULL, body, &e), 200);
  const char *sp = strstr(str(e, "otpauth_uri"), "secret=");
  cr_assert_not_null(sp);
  char hex[128], code[7], wrong[7];
  h_b32_hex(sp + 7, hex, sizeof hex);
  cr_assert_eq(fofal_cred_totp_code(hex, (long long)time(NULL), code), 0);
  snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 500000) % 1000000);
  int last = 0;
  for (int i = 1; i <= 10; i++) {
    snprintf(body, sizeof body, "{\"mfa_token\":\"%s\",\"code\":\"%s\"}", mt, wrong);
    last = post_json(p, "/api/v1/auth/mfa", NULL, body, &j);
    if (i < 10) cr_expect_eq(last, 401, "wrong code %d: 401 (got %d)", i, last);
    json_decref(j);
    j = NULL;
  }
  cr_expect_eq(last, 429, "the tenth wrong code locks (got %d)", last);
  cr_assert_eq(fofal_cred_totp_code(hex, (long long)time(NULL), code), 0);
  snprintf(body, sizeof body, "{\"mfa_token\":\"%s\",\"code\":\"%s\"}", mt, code);
  cr_expect_eq(post_json(p, "/api/v1/auth/mfa", NULL, body, &j), 429, "the right code waits for the lock too");
  cr_expect_str_eq(str(j, "code"), "locked_out");
  json_decref(j);

  /* The lock is an event of the account on fofal.identity.events. */
  char account[FOFAL_UUID_LEN + 1] = "";
  json_t *recs = NULL;
  int found = 0;
  for (int k = 0; k < 100 && !found; k++) {
    json_decref(recs);
    recs = h_read_topic("fofal.identity.events");
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
      json_t *v = json_object_get(r, "value");
      if (strcmp(str(v, "fofaltenant"), tn) || strcmp(str(v, "type"), "fofal.identity.mfa_locked.v1")) continue;
      json_t *d = json_object_get(v, "data");
      cr_expect_eq(json_integer_value(json_object_get(d, "failures")), 10);
      cr_expect_eq(json_integer_value(json_object_get(d, "seconds")), 900);
      snprintf(account, sizeof account, "%s", str(v, "subject"));
      found = 1;
    }
    if (!found) usleep(100 * 1000);
  }
  cr_expect(found, "an mfa_locked event was raised");
  json_decref(recs);
  json_decref(l);
  json_decref(e);
  free(admin);
  h_stop(a, SIGTERM);
}

/* ==================================================================== edge */

TestSuite(edge, .init = log_setup, .fini = log_teardown, .timeout = 300);

static int login_as(int p, const char *tn, const char *headers) {
  char body[256], hdr[512];
  snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"username\":\"nobody\",\"password\":\"wrong-password\"}", tn);
  snprintf(hdr, sizeof hdr, "%s", headers ? headers : "");
  h_resp_t r;
  cr_assert_eq(h_http(p, "POST", "/api/v1/auth/login", hdr, body, &r, 30000), 0);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

Test(edge, rate_limits_key_on_the_client_behind_a_trusted_proxy) {
  char tn[32];
  h_tenant(tn);
  int p1 = h_free_port(), p2 = h_free_port();
  const char *behind[] = {"FOFAL_API_TRUSTED_PROXIES=10.9.0.0/16, 127.0.0.1", "FOFAL_API_RATE_LOGIN_IP=2",
                          "FOFAL_API_RATE_LOGIN_ACCOUNT=100000", NULL};
  const char *direct[] = {"FOFAL_API_RATE_LOGIN_IP=2", "FOFAL_API_RATE_LOGIN_ACCOUNT=100000", NULL};
  pid_t a1 = api_with(p1, "test-api-harden-proxy", behind), a2 = api_with(p2, "test-api-harden-noproxy", direct);
  const char *c1 = "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: https\r\n";
  /* The client is the right-most address that is not a trusted proxy. */
  const char *c2 = "X-Forwarded-For: 203.0.113.50, 198.51.100.2, 10.9.4.4\r\nX-Forwarded-Proto: https\r\n";
  const char *c3 = "Forwarded: for=\"[2001:db8::7]:4711\";proto=https\r\n";
  cr_expect_eq(login_as(p1, tn, c1), 401);
  cr_expect_eq(login_as(p1, tn, c1), 401);
  cr_expect_eq(login_as(p1, tn, c1), 429, "a client's third sign-in in a minute");
  cr_expect_eq(login_as(p1, tn, c2), 401, "another client behind the same proxy has its own bucket");
  cr_expect_eq(login_as(p1, tn, c2), 401);
  cr_expect_eq(login_as(p1, tn, c2), 429);
  cr_expect_eq(login_as(p1, tn, c3), 401, "Forwarded: for= names a client too");
  /* From a peer that is not a trusted proxy the headers choose nothing. */
  cr_expect_eq(login_as(p2, tn, "X-Forwarded-For: 198.51.100.11\r\n"), 401);
  cr_expect_eq(login_as(p2, tn, "X-Forwarded-For: 198.51.100.12\r\n"), 401);
  cr_expect_eq(login_as(p2, tn, "X-Forwarded-For: 198.51.100.13\r\n"), 429, "a spoofed header does not reset the limit");
  h_stop(a1, SIGTERM);
  h_stop(a2, SIGTERM);
}

Test(edge, plain_http_is_for_this_host_only) {
  char tn[32];
  h_tenant(tn);
  int p1 = h_free_port(), p2 = h_free_port();
  const char *behind[] = {"FOFAL_API_TRUSTED_PROXIES=127.0.0.1", NULL};
  const char *insecure[] = {"FOFAL_API_TRUSTED_PROXIES=127.0.0.1", "FOFAL_HTTP_INSECURE=1", NULL};
  pid_t a1 = api_with(p1, "test-api-harden-plain", behind), a2 = api_with(p2, "test-api-harden-insecure", insecure);
  char *tok = h_token(tn, "planner"), hdr[4600];
  h_resp_t r;
  /* A client elsewhere, over plain HTTP to the proxy: refused (no HTTPS port to send it to). */
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nX-Forwarded-For: 198.51.100.9\r\n", tok);
  cr_assert_eq(h_http(p1, "GET", "/api/v1/auth/me", hdr, NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 403, "plain HTTP from elsewhere (got %d)", r.status);
  cr_expect(strstr(r.body, "https_required"), "%s", r.body);
  h_resp_free(&r);
  /* The same client over TLS to the proxy. */
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nX-Forwarded-For: 198.51.100.9\r\nX-Forwarded-Proto: https\r\n", tok);
  cr_assert_eq(h_http(p1, "GET", "/api/v1/auth/me", hdr, NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 200);
  char *hsts = h_resp_header(&r, "strict-transport-security");
  cr_expect_not_null(hsts, "HSTS for what came over TLS");
  free(hsts);
  h_resp_free(&r);
  /* Probes, this host, and a deployment that says so, stay on plain HTTP. */
  cr_assert_eq(h_http(p1, "GET", "/healthz", "X-Forwarded-For: 198.51.100.9\r\n", NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 200);
  h_resp_free(&r);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  cr_expect_eq(get_status(p1, tok, "/api/v1/auth/me", NULL), 200, "a client on this host");
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nX-Forwarded-For: 198.51.100.9\r\n", tok);
  cr_assert_eq(h_http(p2, "GET", "/api/v1/auth/me", hdr, NULL, &r, 30000), 0);
  cr_expect_eq(r.status, 200, "FOFAL_HTTP_INSECURE=1");
  h_resp_free(&r);
  free(tok);
  h_stop(a1, SIGTERM);
  h_stop(a2, SIGTERM);
}

Test(edge, new_pins_have_six_digits) {
  char tn[32];
  h_tenant(tn);
  int p = h_free_port();
  pid_t a = api_with(p, "test-api-harden-pin", NULL);
  char *admin = h_token(tn, "admin");
  json_t *j = NULL;
  cr_expect_eq(post_json(p, "/api/v1/auth/accounts", admin, "{\"username\":\"w4\",\"role\":\"weaver\",\"badge\":\"P4\",\"pin\":\"4812\"}",
                         &j),
               422, "a PIN of 4 digits");
  cr_expect(strstr(str(j, "detail"), "6 to 8"), "%s", str(j, "detail"));
  json_decref(j);
  cr_expect_eq(post_json(p, "/api/v1/auth/accounts", admin,
                         "{\"username\":\"w6\",\"role\":\"weaver\",\"badge\":\"P6\",\"pin\":\"481205\"}", NULL),
               201, "a PIN of 6 digits");
  free(admin);
  h_stop(a, SIGTERM);
}

Test(edge, session_tokens_fail_closed_while_revocations_cannot_be_read) {
  char tn[32];
  h_tenant(tn);
  int p = h_free_port();
  const char *extra[] = {"FOFAL_API_REVOCATION_STALE_S=2", NULL};
  pid_t a = api_with(p, "test-api-harden-revoc", extra);
  char *real = signed_in(p, tn, "rev"), *dev = h_token(tn, "planner");
  json_t *j = NULL;
  cr_expect_eq(get_status(p, real, "/api/v1/auth/me", NULL), 200);
  cr_assert_eq(h_stack("stop-service", "redis"), 0, "redis stops");
  int st = 0;
  for (int i = 0; i < 100 && st != 503; i++) {
    st = get_status(p, real, "/api/v1/auth/me", NULL);
    if (st != 503) usleep(100 * 1000);
  }
  cr_expect_eq(st, 503, "a session token is refused while revocations cannot be read (got %d)", st);
  cr_expect_eq(get_status(p, real, "/api/v1/auth/me", &j), 503);
  cr_expect_str_eq(str(j, "code"), "revocations_unavailable");
  json_decref(j);
  cr_expect_eq(get_status(p, dev, "/api/v1/auth/me", NULL), 200, "a development token has no session to check");
  cr_assert_eq(h_stack("restart-service", "redis"), 0, "redis starts again");
  for (int i = 0; i < 200 && st != 200; i++) {
    st = get_status(p, real, "/api/v1/auth/me", NULL);
    if (st != 200) usleep(100 * 1000);
  }
  cr_expect_eq(st, 200, "accepted again once Redis answers (got %d)", st);
  free(real);
  free(dev);
  h_stop(a, SIGTERM);
}

/* Sends `n` GETs at once, each on its own connection, before reading any answer; the
 * statuses into st[]. */
static void burst(int p, const char *token, const char *path, int n, int *st) {
  int fds[64];
  cr_assert_leq(n, 64);
  char req[4600];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, token);
  for (int i = 0; i < n; i++) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0);
  }
  for (int i = 0; i < n; i++) cr_assert_eq(write(fds[i], req, strlen(req)), (ssize_t)strlen(req));
  for (int i = 0; i < n; i++) {
    char buf[64] = "";
    ssize_t got = read(fds[i], buf, sizeof buf - 1);
    st[i] = got > 12 ? atoi(buf + 9) : 0;
    close(fds[i]);
  }
}

Test(edge, one_tenant_cannot_take_every_read_worker) {
  char ta[32], tb[32];
  h_tenant(ta);
  h_tenant(tb);
  int p = h_free_port();
  /* One worker, and at most 2 reads of a tenant waiting for it. */
  const char *extra[] = {"FOFAL_API_PG_POOL=1", "FOFAL_API_PG_TENANT_QUEUE=2", "FOFAL_API_RATE_IP_PER_S=0", NULL};
  pid_t a = api_with(p, "test-api-harden-fair", extra);
  char *tok_a = h_token(ta, "planner"), *tok_b = h_token(tb, "planner");
  int st[48], ok = 0, refused = 0;
  burst(p, tok_a, "/api/v1/production/orders?limit=100", 48, st);
  for (int i = 0; i < 48; i++) {
    ok += st[i] == 200;
    refused += st[i] == 503;
  }
  cr_expect_gt(refused, 0, "a flood of one tenant meets its cap (200: %d, 503: %d)", ok, refused);
  cr_expect_gt(ok, 0, "and is still served (200: %d)", ok);
  cr_expect_eq(ok + refused, 48, "every read answered 200 or 503");
  cr_expect_eq(get_status(p, tok_b, "/api/v1/production/orders?limit=100", NULL), 200, "another tenant is served");
  free(tok_a);
  free(tok_b);
  h_stop(a, SIGTERM);
}
