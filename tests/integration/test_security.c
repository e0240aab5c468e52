/*
 * test_security.c — issue 6 against the real PostgreSQL, Redis and Kafka of the test stack,
 * with two fofal-api instances (A and B) sharing them: password sign-in, refresh rotation,
 * refresh reuse revoking the family, logout and password change refusing access tokens on
 * both instances, brute force on sign-in and PIN meeting 429 with Retry-After, the PIN
 * lockout, TOTP enrolment and verification with codes computed here (liboath), recovery
 * codes used once, security headers and CORS, the role matrix (every command type of
 * schemas/ × every role, against the schema's x-fofal-roles), cross-tenant reads of every
 * GET route of the OpenAPI document and writes of every command type, the audit events on
 * fofal.identity.events, and erasure: a name sealed in the events reads "erased" on replay
 * once `fofal account erase` deleted the person's key; an employee's name, phone, national
 * id, bank account and salary sealed before Kafka, opened for HR only, and shredded by
 * hr.employee.erase (read model, replay; employees are the hr module's).
 *
 * Every secret a test uses (passwords, PINs, tokens, TOTP secrets, recovery codes, device
 * secrets) is appended to $FOFAL_STACK_DIR/security-secrets.txt: test_security_logs then
 * greps every log of the run for them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fofal_api.h"
#include "harness.h"
#include "projections.h"

static int pa, pb;      /* ports of instances A and B */
static pid_t api_a, api_b, dec, proj;
static char tenant[32];
static char *admin;     /* a development token of tenant's admin */

static void remember(const char *secret) {
  char path[1024];
  snprintf(path, sizeof path, "%s/security-secrets.txt", h_env("FOFAL_STACK_DIR"));
  FILE *f = fopen(path, "a");
  cr_assert_not_null(f);
  fprintf(f, "%s\n", secret);
  fclose(f);
}

static pid_t start_api(int port, const char *log, const char *account_rate) {
  char p[64], r[80];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  snprintf(r, sizeof r, "FOFAL_API_RATE_LOGIN_ACCOUNT=%s", account_rate);
  const char *env[] = {p, r, "FOFAL_API_RATE_LOGIN_IP=100000", "FOFAL_API_RATE_PIN_DEVICE=100000",
                       "FOFAL_API_RATE_PIN_BADGE=100000", "FOFAL_API_PIN_MAX_FAILURES=3",
                       "FOFAL_API_CORS_ORIGINS=https://app.example, https://other.example", "FOFAL_API_ARGON2_MEMORY_KIB=8192",
                       NULL};
  pid_t pid = h_spawn("api/fofal-api", log, NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
  return pid;
}

static void setup(void) {
  h_tenant(tenant);
  admin = h_token(tenant, "admin");
  /* Accounts, devices and every security event go through the log (issue 13 item 5). */
  dec = h_start_decider("it-sec");
  proj = h_start_projector("it-sec");
  pa = h_free_port();
  pb = h_free_port();
  /* A keeps the default of 5 attempts a minute per account; B is lenient. */
  api_a = start_api(pa, "test-api-sec-a", "5");
  api_b = start_api(pb, "test-api-sec-b", "100000");
}

static void teardown(void) {
  h_stop(api_a, SIGTERM);
  h_stop(api_b, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(admin);
}

TestSuite(security, .init = setup, .fini = teardown, .timeout = 240);

/* POST JSON; the status, *out the parsed body (new, may be NULL), *retry the Retry-After
 * header (new, may be NULL). `token` may be NULL. */
static int post(int port, const char *path, const char *token, const char *body, json_t **out, char **retry) {
  char hdr[4300] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", path, hdr, body, &r, 30000), 0, "no answer to POST %s", path);
  if (out) *out = json_loads(r.body, 0, NULL);
  if (retry) *retry = h_resp_header(&r, "Retry-After");
  if (r.status >= 400) {
    char *ct = h_resp_header(&r, "content-type");
    cr_expect(ct && strstr(ct, "application/problem+json"), "POST %s %d: an error is problem+json", path, r.status);
    free(ct);
  }
  char *cc = h_resp_header(&r, "cache-control");
  if (r.status != 204) cr_expect(cc && !strcmp(cc, "no-store"), "POST %s: auth answers are not cached", path);
  free(cc);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

static int get(int port, const char *path, const char *token, json_t **out) { return h_get(port, token, path, out, NULL); }

static const char *code_of(json_t *j) { return json_string_value(json_object_get(j, "code")) ?: ""; }

/* Creates an account of `tenant` through the admin API; returns its id (new). */
static char *account(const char *role, const char *user, const char *password, const char *badge, const char *pin) {
  json_t *b = json_pack("{s:s,s:s}", "username", user, "role", role), *out;
  if (password) json_object_set_new(b, "password", json_string(password));
  if (badge) json_object_set_new(b, "badge", json_string(badge));
  if (pin) json_object_set_new(b, "pin", json_string(pin));
  char *body = json_dumps(b, 0);
  /* Once per test (each runs in its own process): the decider may still be joining Kafka,
   * which answers 503 and may record the account later after all; an account of its own is
   * tried until one is recorded (201, or 409 when an earlier try was), so the test's own
   * accounts are created once. */
  static int warmed;
  for (int tries = 0; !warmed && tries < 60; tries++) {
    json_t *w = NULL;
    int ws = post(pb, "/api/v1/auth/accounts", admin,
                  "{\"username\":\"warm-up\",\"role\":\"auditor\",\"password\":\"warm-up-password-0001\"}", &w, NULL);
    json_decref(w);
    if (ws == 201 || ws == 409) warmed = 1;
    else sleep(1);
  }
  int st = post(pb, "/api/v1/auth/accounts", admin, body, &out, NULL);
  cr_assert_eq(st, 201, "account %s: %d %s", user, st, code_of(out));
  char *id = fofal_strdup(json_string_value(json_object_get(out, "account_id")));
  if (password) remember(password);
  if (pin) remember(pin);
  free(body);
  json_decref(b);
  json_decref(out);
  return id;
}

/* Signs in; returns the status and *out the body (new). */
static int login(int port, const char *user, const char *password, json_t **out) {
  char *body = fofal_asprintf("{\"tenant\":\"%s\",\"username\":\"%s\",\"password\":\"%s\"}", tenant, user, password);
  int st = post(port, "/api/v1/auth/login", NULL, body, out, NULL);
  free(body);
  json_t *j = *out;
  const char *at = json_string_value(json_object_get(j, "access_token")), *rt = json_string_value(json_object_get(j, "refresh_token"));
  if (at) remember(at);
  if (rt) remember(rt);
  if (json_string_value(json_object_get(j, "mfa_token"))) remember(json_string_value(json_object_get(j, "mfa_token")));
  return st;
}

static const char *s_of(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

static int refresh(int port, const char *rt, json_t **out) {
  char *body = fofal_asprintf("{\"refresh_token\":\"%s\"}", rt);
  int st = post(port, "/api/v1/auth/refresh", NULL, body, out, NULL);
  free(body);
  if (st == 200) {
    remember(s_of(*out, "access_token"));
    remember(s_of(*out, "refresh_token"));
  }
  return st;
}

/* Polls GET /auth/me on `port` until it answers `want` (bounded); returns ms waited or -1. */
static long wait_me(int port, const char *token, int want, int timeout_ms) {
  int64_t t0 = fofal_mono_us();
  while (fofal_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
    if (get(port, "/api/v1/auth/me", token, NULL) == want) return (long)((fofal_mono_us() - t0) / 1000);
    usleep(20 * 1000);
  }
  return -1;
}

Test(security, login_ok_and_refused) {
  char *id = account("planner", "ana", "ana-password-0001", NULL, NULL);
  json_t *j;
  cr_assert_eq(login(pa, "ana", "ana-password-0001", &j), 200);
  cr_expect_str_eq(s_of(j, "token_type"), "Bearer");
  cr_expect_str_eq(s_of(j, "role"), "planner");
  cr_expect_str_eq(s_of(j, "account_id"), id);
  cr_expect(json_integer_value(json_object_get(j, "expires_in")) == 300);
  json_t *me;
  cr_expect_eq(get(pb, "/api/v1/auth/me", s_of(j, "access_token"), &me), 200, "the token works on the other instance");
  cr_expect_str_eq(s_of(me, "tenant"), tenant);
  cr_expect_str_eq(s_of(me, "subject"), id);
  cr_expect_str_eq(s_of(me, "sid"), s_of(j, "sid"));
  /* The token drives the command API like any other, with the account's role. */
  cr_expect_eq(h_command(pa, s_of(j, "access_token"), "production.order.create", "sec-login-1", NULL, "{}", NULL), 422);
  json_decref(me);
  json_decref(j);
  cr_expect_eq(login(pa, "ana", "ana-password-0002", &j), 401);
  cr_expect_str_eq(code_of(j), "invalid_credentials");
  json_decref(j);
  cr_expect_eq(login(pa, "nobody", "ana-password-0001", &j), 401, "an unknown user looks the same");
  cr_expect_str_eq(code_of(j), "invalid_credentials");
  json_decref(j);
  char *other = fofal_asprintf("{\"tenant\":\"t-other\",\"username\":\"ana\",\"password\":\"ana-password-0001\"}");
  cr_expect_eq(post(pa, "/api/v1/auth/login", NULL, other, &j, NULL), 401, "accounts belong to their tenant");
  json_decref(j);
  free(other);
  cr_expect_eq(post(pa, "/api/v1/auth/login", NULL, "{\"tenant\":\"x\"}", &j, NULL), 422);
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/login", NULL, "{nope", &j, NULL), 400);
  json_decref(j);
  /* Only an admin creates accounts. */
  char *planner = h_token(tenant, "planner");
  cr_expect_eq(post(pa, "/api/v1/auth/accounts", planner, "{\"username\":\"x\",\"role\":\"admin\",\"password\":\"xxxxxxxxxxxxxxxx\"}", &j, NULL), 403);
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/accounts", admin, "{\"username\":\"ana\",\"role\":\"weaver\",\"password\":\"yyyyyyyyyyyyyyyy\"}", &j, NULL), 409);
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/accounts", admin, "{\"username\":\"bo\",\"role\":\"king\",\"password\":\"yyyyyyyyyyyyyyyy\"}", &j, NULL), 422);
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/accounts", admin, "{\"username\":\"bo\",\"role\":\"weaver\",\"password\":\"short\"}", &j, NULL), 422);
  json_decref(j);
  free(planner);
  free(id);
}

Test(security, refresh_rotates_and_reuse_revokes_the_family) {
  free(account("weaver", "rui", "rui-password-0001", NULL, NULL));
  json_t *l, *r1, *r2, *bad;
  cr_assert_eq(login(pa, "rui", "rui-password-0001", &l), 200);
  const char *rt0 = s_of(l, "refresh_token");
  cr_assert_eq(refresh(pa, rt0, &r1), 200);
  cr_expect_str_neq(s_of(r1, "refresh_token"), rt0, "every refresh rotates the token");
  cr_expect_str_eq(s_of(r1, "sid"), s_of(l, "sid"), "…within the same session");
  cr_assert_eq(refresh(pb, s_of(r1, "refresh_token"), &r2), 200, "rotation works on any instance");
  cr_expect_eq(get(pa, "/api/v1/auth/me", s_of(r2, "access_token"), NULL), 200);
  cr_expect_eq(get(pb, "/api/v1/auth/me", s_of(r2, "access_token"), NULL), 200);
  /* rt0 again: reuse. The whole family ends, the newest tokens included. */
  cr_expect_eq(refresh(pa, rt0, &bad), 401);
  cr_expect_str_eq(code_of(bad), "refresh_token_reused");
  json_decref(bad);
  cr_expect_eq(refresh(pa, s_of(r2, "refresh_token"), &bad), 401, "the newest refresh token is revoked too");
  cr_expect_str_eq(code_of(bad), "invalid_refresh_token");
  json_decref(bad);
  cr_expect_geq(wait_me(pa, s_of(r2, "access_token"), 401, 3000), 0, "its access token is refused on A");
  cr_expect_geq(wait_me(pb, s_of(r2, "access_token"), 401, 3000), 0, "…and on B");
  cr_expect_eq(refresh(pa, "not-a-token", &bad), 401);
  json_decref(bad);
  json_decref(l);
  json_decref(r1);
  json_decref(r2);
}

Test(security, logout_refuses_the_access_token_on_every_instance) {
  free(account("cutter", "cam", "cam-password-0001", NULL, NULL));
  json_t *l, *other, *j;
  cr_assert_eq(login(pa, "cam", "cam-password-0001", &l), 200);
  cr_assert_eq(login(pa, "cam", "cam-password-0001", &other), 200);
  const char *at = s_of(l, "access_token");
  /* Both instances have verified (and cached) it; B also streams to it. */
  cr_expect_eq(get(pa, "/api/v1/auth/me", at, NULL), 200);
  cr_expect_eq(get(pb, "/api/v1/auth/me", at, NULL), 200);
  char *wpath = fofal_asprintf("/api/v1/stream?access_token=%s", at);
  int wst;
  h_ws_t *ws = h_ws_open(pb, wpath, NULL, 0, &wst);
  cr_assert_not_null(ws, "WebSocket handshake answered %d", wst);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"modules\":[\"production\"]}}"), 0);
  json_t *ack = h_ws_recv_json(ws, 10000, NULL);
  cr_expect_not_null(ack, "the stream acknowledges the subscription");
  json_decref(ack);
  cr_expect_eq(post(pa, "/api/v1/auth/logout", at, NULL, NULL, NULL), 204);
  int close_code = 0;
  json_t *more = h_ws_recv_json(ws, 5000, &close_code);
  cr_expect_null(more);
  cr_expect_eq(close_code, 1008, "the session's stream on the other instance is closed (code %d)", close_code);
  json_decref(more);
  h_ws_close(ws);
  free(wpath);
  json_t *me;
  cr_expect_eq(get(pa, "/api/v1/auth/me", at, &me), 401, "refused at once where it logged out");
  cr_expect_str_eq(code_of(me), "token_revoked");
  json_decref(me);
  long ms = wait_me(pb, at, 401, 5000);
  cr_expect(ms >= 0 && ms < 5000, "refused on the other instance within seconds (%ld ms)", ms);
  fprintf(stderr, "security: logout reached instance B after %ld ms\n", ms);
  cr_expect_eq(h_command(pb, at, "production.order.create", "sec-logout-1", NULL, "{}", NULL), 401);
  cr_expect_eq(refresh(pa, s_of(l, "refresh_token"), &j), 401, "its refresh token ends too");
  json_decref(j);
  cr_expect_eq(get(pb, "/api/v1/auth/me", s_of(other, "access_token"), NULL), 200, "another session is untouched");
  /* A development token has no session to end. */
  cr_expect_eq(post(pa, "/api/v1/auth/logout", admin, NULL, &j, NULL), 400);
  json_decref(j);
  json_decref(l);
  json_decref(other);
}

Test(security, password_change_revokes_every_session) {
  free(account("quality", "qui", "qui-password-0001", NULL, NULL));
  json_t *s1, *s2, *j;
  cr_assert_eq(login(pb, "qui", "qui-password-0001", &s1), 200);
  cr_assert_eq(login(pb, "qui", "qui-password-0001", &s2), 200);
  cr_expect_eq(get(pa, "/api/v1/auth/me", s_of(s2, "access_token"), NULL), 200);
  cr_expect_eq(post(pb, "/api/v1/auth/password", s_of(s1, "access_token"),
                    "{\"current_password\":\"wrong-password-00\",\"new_password\":\"qui-password-0002\"}", &j, NULL),
               403);
  json_decref(j);
  remember("qui-password-0002");
  cr_expect_eq(post(pb, "/api/v1/auth/password", s_of(s1, "access_token"),
                    "{\"current_password\":\"qui-password-0001\",\"new_password\":\"qui-password-0002\"}", NULL, NULL),
               204);
  cr_expect_geq(wait_me(pa, s_of(s1, "access_token"), 401, 3000), 0);
  cr_expect_geq(wait_me(pa, s_of(s2, "access_token"), 401, 3000), 0, "every session of the account ends");
  cr_expect_geq(wait_me(pb, s_of(s2, "access_token"), 401, 3000), 0);
  cr_expect_eq(refresh(pb, s_of(s2, "refresh_token"), &j), 401);
  json_decref(j);
  cr_expect_eq(login(pb, "qui", "qui-password-0001", &j), 401, "the old password is gone");
  json_decref(j);
  cr_expect_eq(login(pb, "qui", "qui-password-0002", &j), 200);
  json_decref(j);
  json_decref(s1);
  json_decref(s2);
}

Test(security, brute_force_on_login_meets_429) {
  free(account("mechanic", "max", "max-password-0001", NULL, NULL));
  /* A third instance with the same (default) limits: attempts alternate between A and C,
   * and the 6th is refused wherever it lands: the bucket is in Redis, not in a process. */
  int pc = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", pc);
  const char *env[] = {p, "FOFAL_API_ARGON2_MEMORY_KIB=8192", "FOFAL_API_RATE_LOGIN_IP=100000", NULL};
  pid_t c = h_spawn("api/fofal-api", "test-api-sec-c", NULL, env);
  cr_assert_eq(h_wait_ready(pc, 30000), 0);
  int first429 = -1;
  char *retry = NULL;
  for (int i = 0; i < 12 && first429 < 0; i++) {
    char pw[32];
    snprintf(pw, sizeof pw, "guess-%02d-password", i);
    char *body = fofal_asprintf("{\"tenant\":\"%s\",\"username\":\"max\",\"password\":\"%s\"}", tenant, pw);
    json_t *j;
    free(retry);
    retry = NULL;
    int st = post(i % 2 ? pc : pa, "/api/v1/auth/login", NULL, body, &j, &retry);
    if (st == 429) {
      first429 = i;
      cr_expect_str_eq(code_of(j), "rate_limited");
    } else {
      cr_expect_eq(st, 401);
    }
    json_decref(j);
    free(body);
  }
  cr_expect_eq(first429, 5, "the 6th attempt within a minute is refused (got %d)", first429);
  cr_assert_not_null(retry, "429 carries Retry-After");
  cr_expect(atoi(retry) >= 1 && atoi(retry) <= 60, "Retry-After %s", retry);
  free(retry);
  json_t *j;
  cr_expect_eq(login(pa, "max", "max-password-0001", &j), 429, "even the right password waits");
  json_decref(j);
  cr_expect_eq(login(pc, "max", "max-password-0001", &j), 429);
  json_decref(j);
  h_stop(c, SIGTERM);
}

/* ------------------------------------------------------------ devices, PIN */

Test(security, pin_sign_in_on_an_enrolled_device_and_lockout) {
  json_t *d, *j;
  char *manager = h_token(tenant, "manager");
  cr_assert_eq(post(pa, "/api/v1/auth/devices", manager, "{\"name\":\"loom hall phone 1\"}", &d, NULL), 201);
  char *weaver = h_token(tenant, "weaver");
  cr_expect_eq(post(pa, "/api/v1/auth/devices", weaver, "{\"name\":\"mine\"}", &j, NULL), 403, "a weaver enrols no device");
  json_decref(j);
  const char *dev = s_of(d, "device_id"), *dsec = s_of(d, "device_secret");
  remember(dsec);
  free(account("weaver", "wafa", NULL, "B-1001", "481205"));
  free(account("manager", "mona", "mona-password-001", "B-1002", "992107"));
  char *ok = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-1001\",\"pin\":\"481205\"}",
                            tenant, dev, dsec);
  cr_assert_eq(post(pb, "/api/v1/auth/pin-login", NULL, ok, &j, NULL), 200);
  cr_expect_str_eq(s_of(j, "role"), "weaver");
  remember(s_of(j, "access_token"));
  remember(s_of(j, "refresh_token"));
  cr_expect_eq(get(pa, "/api/v1/auth/me", s_of(j, "access_token"), NULL), 200);
  json_decref(j);
  char *baddev = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"wrong\",\"badge\":\"B-1001\",\"pin\":\"481205\"}",
                                tenant, dev);
  cr_expect_eq(post(pa, "/api/v1/auth/pin-login", NULL, baddev, &j, NULL), 401);
  cr_expect_str_eq(code_of(j), "invalid_device");
  json_decref(j);
  char *mgr = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-1002\",\"pin\":\"992107\"}",
                             tenant, dev, dsec);
  cr_expect_eq(post(pa, "/api/v1/auth/pin-login", NULL, mgr, &j, NULL), 403, "a role that needs MFA cannot use a PIN");
  json_decref(j);
  /* Wrong PINs: FOFAL_API_PIN_MAX_FAILURES=3 here, then the badge locks. */
  int statuses[5];
  char *retry = NULL;
  for (int i = 0; i < 5; i++) {
    char *bad = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-1001\",\"pin\":\"%04d\"}",
                               tenant, dev, dsec, 1000 + i);
    free(retry);
    retry = NULL;
    statuses[i] = post(pa, "/api/v1/auth/pin-login", NULL, bad, &j, &retry);
    if (i >= 2) cr_expect_str_eq(code_of(j), "locked_out", "attempt %d", i);
    json_decref(j);
    free(bad);
  }
  cr_expect_eq(statuses[0], 401);
  cr_expect_eq(statuses[1], 401);
  cr_expect_eq(statuses[2], 429, "the 3rd wrong PIN locks the badge");
  cr_expect_eq(statuses[3], 429);
  cr_assert_not_null(retry);
  cr_expect(atoi(retry) >= 30 && atoi(retry) <= 60, "locked about a minute (Retry-After %s)", retry);
  free(retry);
  cr_expect_eq(post(pb, "/api/v1/auth/pin-login", NULL, ok, &j, NULL), 429, "the right PIN waits for the lock too");
  cr_expect_str_eq(code_of(j), "locked_out");
  json_decref(j);
  free(ok);
  free(baddev);
  free(mgr);
  free(weaver);
  free(manager);
  json_decref(d);
}

Test(security, pin_brute_force_meets_the_badge_rate_limit) {
  /* An instance with the default PIN limits (3 a minute per badge). */
  int pc = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", pc);
  const char *env[] = {p, "FOFAL_API_ARGON2_MEMORY_KIB=8192", NULL};
  pid_t c = h_spawn("api/fofal-api", "test-api-sec-c", NULL, env);
  cr_assert_eq(h_wait_ready(pc, 30000), 0);
  json_t *d, *j;
  cr_assert_eq(post(pc, "/api/v1/auth/devices", admin, "{\"name\":\"cutting phone\"}", &d, NULL), 201);
  remember(s_of(d, "device_secret"));
  free(account("cutter", "cyr", NULL, "B-2001", "555512"));
  int got429 = -1;
  char *retry = NULL;
  for (int i = 0; i < 6 && got429 < 0; i++) {
    char *bad = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-2001\",\"pin\":\"%04d\"}",
                               tenant, s_of(d, "device_id"), s_of(d, "device_secret"), 2000 + i);
    if (post(pc, "/api/v1/auth/pin-login", NULL, bad, &j, &retry) == 429) got429 = i;
    else free(retry), retry = NULL;
    json_decref(j);
    free(bad);
  }
  cr_expect_eq(got429, 3, "the 4th PIN attempt on a badge within a minute is refused (got %d)", got429);
  cr_expect(retry && atoi(retry) >= 1, "Retry-After");
  free(retry);
  json_decref(d);
  h_stop(c, SIGTERM);
}

/* Issue 22 item 4: the badge's bucket is taken only once the device is known, and wrong
 * PINs decay. An instance with the default badge limit (3 a minute) and a 2-second decay. */
Test(security, unknown_devices_do_not_block_a_badge_and_pin_failures_decay) {
  int pc = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", pc);
  const char *env[] = {p, "FOFAL_API_ARGON2_MEMORY_KIB=8192", "FOFAL_API_RATE_PIN_DEVICE=100000",
                       "FOFAL_API_RATE_LOGIN_IP=100000", "FOFAL_API_PIN_MAX_FAILURES=3", "FOFAL_API_PIN_FAILURE_DECAY_S=2",
                       NULL};
  pid_t c = h_spawn("api/fofal-api", "test-api-sec-d", NULL, env);
  cr_assert_eq(h_wait_ready(pc, 30000), 0);
  json_t *d, *j;
  cr_assert_eq(post(pc, "/api/v1/auth/devices", admin, "{\"name\":\"warping phone\"}", &d, NULL), 201);
  const char *dev = s_of(d, "device_id"), *dsec = s_of(d, "device_secret");
  remember(dsec);
  free(account("weaver", "dora", NULL, "B-3001", "730041"));
  free(account("weaver", "dina", NULL, "B-3002", "730042"));
  /* Five requests with made-up devices naming badge B-3001: each is an unknown device, and
   * none takes from the badge's bucket. */
  for (int i = 0; i < 5; i++) {
    char fake[FOFAL_UUID_LEN + 1];
    fofal_uuid7(fake);
    char *body = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"x\",\"badge\":\"B-3001\","
                                "\"pin\":\"0000\"}", tenant, fake);
    cr_expect_eq(post(pc, "/api/v1/auth/pin-login", NULL, body, &j, NULL), 401, "attempt %d", i);
    cr_expect_str_eq(code_of(j), "invalid_device");
    json_decref(j);
    free(body);
  }
  char *ok = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-3001\","
                            "\"pin\":\"730041\"}", tenant, dev, dsec);
  cr_expect_eq(post(pc, "/api/v1/auth/pin-login", NULL, ok, &j, NULL), 200, "the badge's holder still signs in");
  if (s_of(j, "access_token")) {
    remember(s_of(j, "access_token"));
    remember(s_of(j, "refresh_token"));
  }
  json_decref(j);
  /* B-3002: two wrong PINs, a pause longer than the decay, a third: it counts as the first
   * again, so no lock (3 in a row would lock). */
  int st[3];
  for (int i = 0; i < 3; i++) {
    if (i == 2) sleep(3); /* time must pass for the count to decay: not a synchronisation */
    char *bad = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"B-3002\","
                               "\"pin\":\"%04d\"}", tenant, dev, dsec, 4000 + i);
    st[i] = post(pc, "/api/v1/auth/pin-login", NULL, bad, &j, NULL);
    if (i == 2) cr_expect_str_eq(code_of(j), "invalid_credentials", "the third wrong PIN after the pause");
    json_decref(j);
    free(bad);
  }
  cr_expect_eq(st[0], 401);
  cr_expect_eq(st[1], 401);
  cr_expect_eq(st[2], 401, "a failure after the decay does not lock the badge");
  free(ok);
  json_decref(d);
  h_stop(c, SIGTERM);
}

/* ------------------------------------------------------------------- TOTP */

static int mfa(int port, const char *mfa_token, const char *field, const char *value, json_t **out) {
  char *body = fofal_asprintf("{\"mfa_token\":\"%s\",\"%s\":\"%s\"}", mfa_token, field, value);
  int st = post(port, "/api/v1/auth/mfa", NULL, body, out, NULL);
  free(body);
  if (st == 200) {
    remember(s_of(*out, "access_token"));
    remember(s_of(*out, "refresh_token"));
  }
  return st;
}

Test(security, totp_enrolment_verification_and_recovery_codes) {
  cr_assert_eq(fofal_cred_init(), 0);
  free(account("accountant", "amal", "amal-password-001", NULL, NULL));
  json_t *l, *e, *j;
  cr_assert_eq(login(pb, "amal", "amal-password-001", &l), 200);
  cr_expect(json_is_true(json_object_get(l, "mfa_required")), "an accountant needs a second factor");
  cr_expect(!json_object_get(l, "access_token"), "…and gets no access token before it");
  cr_expect(json_is_false(json_object_get(l, "mfa_enrolled")));
  const char *mt = s_of(l, "mfa_token");
  cr_expect_eq(get(pb, "/api/v1/auth/me", mt, NULL), 401, "the MFA step token is not an access token");
  char *eb = fofal_asprintf("{\"mfa_token\":\"%s\"}", mt);
  cr_assert_eq(post(pb, "/api/v1/auth/totp/enrol", NULL, eb, &e, NULL), 200);
  const char *uri = s_of(e, "otpauth_uri");
  cr_assert(uri && !strncmp(uri, "otpauth://totp/FOFAL:amal@", 26), "%s", uri ? uri : "no URI");
  cr_expect(s_of(e, "qr_svg") && !strncmp(s_of(e, "qr_svg"), "<svg", 4), "the QR code comes as SVG");
  const char *sp = strstr(uri, "secret=");
  cr_assert_not_null(sp);
  char hex[128], code[7], wrong[7];
  h_b32_hex(sp + 7, hex, sizeof hex);
  cr_expect_eq(strlen(hex), 40, "a 160-bit secret");
  remember(hex);
  char b32[64];
  snprintf(b32, sizeof b32, "%.*s", (int)strcspn(sp + 7, "&"), sp + 7);
  remember(b32);
  long long now = (long long)time(NULL);
  cr_assert_eq(fofal_cred_totp_code(hex, now, code), 0);
  snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
  cr_expect_eq(mfa(pb, mt, "code", wrong, &j), 401, "a wrong code is refused");
  cr_expect_str_eq(code_of(j), "invalid_code");
  json_decref(j);
  /* A code from 10 minutes ago is refused too. */
  char stale[7];
  fofal_cred_totp_code(hex, now - 600, stale);
  if (strcmp(stale, code)) {
    cr_expect_eq(mfa(pb, mt, "code", stale, &j), 401);
    json_decref(j);
  }
  cr_assert_eq(mfa(pb, mt, "code", code, &j), 200, "the right code completes the enrolment");
  cr_expect_eq(get(pa, "/api/v1/auth/me", s_of(j, "access_token"), NULL), 200);
  json_t *codes = json_object_get(j, "recovery_codes");
  cr_assert_eq(json_array_size(codes), 10, "ten recovery codes, shown once");
  char rc0[32], rc1[32];
  snprintf(rc0, sizeof rc0, "%s", json_string_value(json_array_get(codes, 0)));
  snprintf(rc1, sizeof rc1, "%s", json_string_value(json_array_get(codes, 1)));
  for (size_t i = 0; i < 10; i++) remember(json_string_value(json_array_get(codes, i)));
  json_decref(j);
  cr_expect_eq(post(pb, "/api/v1/auth/totp/enrol", NULL, eb, &j, NULL), 409, "enrolled once");
  json_decref(j);
  json_decref(l);
  /* At rest the secret is sealed under the master key: the database alone gives no code. */
  fofal_pg_t *pg = NULL;
  char perr[256], *stored = NULL;
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), perr, sizeof perr), 0, "%s", perr);
  const char *pq[] = {tenant};
  cr_assert_eq(fofal_pg_query_value(pg, "SELECT totp_secret FROM identity.accounts WHERE tenant = $1 AND username = 'amal'", 1,
                                    pq, &stored, perr, sizeof perr),
               0, "%s", perr);
  cr_assert_not_null(stored);
  cr_expect(!strncmp(stored, "pd1.", 4), "the stored TOTP secret is sealed: %.8s…", stored);
  cr_expect(!strstr(stored, b32) && !strstr(stored, hex), "…and not in clear");
  free(stored);
  fofal_pg_close(pg);
  /* Sign in again: enrolled now; the same code cannot be replayed. */
  cr_assert_eq(login(pb, "amal", "amal-password-001", &l), 200);
  cr_expect(json_is_true(json_object_get(l, "mfa_enrolled")));
  mt = s_of(l, "mfa_token");
  cr_expect_eq(mfa(pb, mt, "code", code, &j), 401, "a TOTP code is accepted once");
  json_decref(j);
  cr_expect_eq(mfa(pb, mt, "recovery_code", rc0, &j), 200, "a recovery code signs in");
  cr_expect_str_eq(s_of(j, "role"), "accountant");
  json_decref(j);
  cr_expect_eq(mfa(pb, mt, "recovery_code", rc0, &j), 401, "…once");
  json_decref(j);
  cr_expect_eq(mfa(pb, mt, "recovery_code", "aaaa-bbbb-cccc", &j), 401);
  json_decref(j);
  cr_expect_eq(mfa(pb, mt, "recovery_code", rc1, &j), 200, "another one still works");
  json_decref(j);
  cr_expect_eq(mfa(pb, "forged.mfa.token", "code", code, &j), 401);
  json_decref(j);
  free(eb);
  json_decref(e);
  json_decref(l);
}

/* ------------------------------------------------------- transport, CORS */

Test(security, security_headers_and_cors) {
  h_resp_t r;
  cr_assert_eq(h_http(pa, "GET", "/healthz", "Origin: https://app.example\r\n", NULL, &r, 5000), 0);
  const char *want[][2] = {{"x-content-type-options", "nosniff"}, {"x-frame-options", "DENY"},
                           {"content-security-policy", "frame-ancestors 'none'"}, {"referrer-policy", "no-referrer"},
                           {"access-control-allow-origin", "https://app.example"}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char *v = h_resp_header(&r, want[i][0]);
    cr_expect(v && !strcmp(v, want[i][1]), "%s: %s", want[i][0], v ? v : "missing");
    free(v);
  }
  char *hsts = h_resp_header(&r, "strict-transport-security");
  cr_expect_null(hsts, "no HSTS over plain HTTP");
  free(hsts);
  h_resp_free(&r);
  cr_assert_eq(h_http(pa, "GET", "/healthz", "Origin: https://evil.example\r\n", NULL, &r, 5000), 0);
  char *acao = h_resp_header(&r, "access-control-allow-origin");
  cr_expect_null(acao, "an origin not in the list gets no CORS header");
  free(acao);
  h_resp_free(&r);
  cr_assert_eq(h_http(pa, "OPTIONS", "/api/v1/commands/production.order.create",
                      "Origin: https://other.example\r\nAccess-Control-Request-Method: POST\r\n"
                      "Access-Control-Request-Headers: authorization, idempotency-key\r\n",
                      NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 204, "preflight of an allowed origin");
  char *am = h_resp_header(&r, "access-control-allow-methods"), *ah = h_resp_header(&r, "access-control-allow-headers");
  cr_expect(am && strstr(am, "POST"));
  cr_expect(ah && strstr(ah, "Idempotency-Key") && strstr(ah, "Authorization"));
  free(am);
  free(ah);
  h_resp_free(&r);
  cr_assert_eq(h_http(pa, "OPTIONS", "/api/v1/commands/production.order.create",
                      "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n", NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 403, "preflight of another origin");
  h_resp_free(&r);
  /* The OpenAPI document lists the auth endpoints. */
  json_t *doc;
  cr_assert_eq(get(pa, "/api/v1/openapi.json", NULL, &doc), 200);
  const char *paths[] = {"/api/v1/auth/login", "/api/v1/auth/mfa", "/api/v1/auth/totp/enrol", "/api/v1/auth/refresh",
                         "/api/v1/auth/logout", "/api/v1/auth/password", "/api/v1/auth/accounts", "/api/v1/auth/devices",
                         "/api/v1/auth/pin-login", "/api/v1/auth/me"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    cr_expect_not_null(json_object_get(json_object_get(doc, "paths"), paths[i]), "%s missing from OpenAPI", paths[i]);
  json_decref(doc);
}

Test(security, plain_http_redirects_to_https_when_asked) {
  int http = h_free_port();
  char p[64], s[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", http);
  snprintf(s, sizeof s, "FOFAL_HTTPS_PORT=%d", h_free_port());
  /* No certificate: the redirect still names the HTTPS port (a proxy may terminate TLS). */
  const char *env[] = {p, s, "FOFAL_HTTP_REDIRECT=1", NULL};
  pid_t c = h_spawn("api/fofal-api", "test-api-sec-redirect", NULL, env);
  cr_assert_eq(h_wait_ready(http, 30000), 0, "probes stay on plain HTTP");
  h_resp_t r;
  cr_assert_eq(h_http(http, "GET", "/api/v1/production/orders?limit=1", NULL, NULL, &r, 5000), 0);
  cr_expect_eq(r.status, 308);
  char *loc = h_resp_header(&r, "location"), want[128];
  snprintf(want, sizeof want, "https://127.0.0.1:%s/api/v1/production/orders?limit=1", s + strlen("FOFAL_HTTPS_PORT="));
  cr_expect(loc && !strcmp(loc, want), "Location %s, want %s", loc ? loc : "none", want);
  free(loc);
  h_resp_free(&r);
  h_stop(c, SIGTERM);
}

Test(security, hsts_on_tls_only) {
  const char *dir = h_env("FOFAL_STACK_DIR");
  char cmd[2048], out[1100];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout %s/sec-tls.key "
           "-out %s/sec-tls.crt > /dev/null 2>&1", dir, dir);
  cr_assert_eq(system(cmd), 0, "openssl could not make a certificate");
  int http = h_free_port(), https = h_free_port();
  char e1[64], e2[64], e3[1100], e4[1100];
  snprintf(e1, sizeof e1, "FOFAL_HTTP_PORT=%d", http);
  snprintf(e2, sizeof e2, "FOFAL_HTTPS_PORT=%d", https);
  snprintf(e3, sizeof e3, "FOFAL_TLS_CERT=%s/sec-tls.crt", dir);
  snprintf(e4, sizeof e4, "FOFAL_TLS_KEY=%s/sec-tls.key", dir);
  const char *env[] = {e1, e2, e3, e4, NULL};
  pid_t c = h_spawn("api/fofal-api", "test-api-sec-tls", NULL, env);
  cr_assert_eq(h_wait_ready(http, 30000), 0);
  snprintf(out, sizeof out, "%s/logs/sec-tls-headers.out", dir);
  snprintf(cmd, sizeof cmd, "curl -sk --http2 -o /dev/null -D %s https://127.0.0.1:%d/healthz", out, https);
  cr_assert_eq(system(cmd), 0, "curl over TLS failed");
  FILE *f = fopen(out, "r");
  cr_assert_not_null(f);
  char line[512];
  int hsts = 0;
  while (fgets(line, sizeof line, f))
    if (!strncasecmp(line, "strict-transport-security: max-age=31536000", 43)) hsts = 1;
  fclose(f);
  cr_expect(hsts, "HSTS over TLS (HTTP/2)");
  h_stop(c, SIGTERM);
}

/* ------------------------------------------------------------ role matrix */

static const char *const roles[] = {"weaver",  "cutter",     "mechanic", "storekeeper_mp", "storekeeper_pf",
                                    "storekeeper_st", "quality", "planner", "manager", "salesperson",
                                    "accountant", "hr",      "auditor",    "admin",    NULL};

/* Every command type of schemas/<module>/commands/<name>.json: its type and its schema (new). */
static json_t *command_schemas(void) {
  json_t *out = json_object();
  char dir[1200];
  const char *root = FOFAL_SOURCE_DIR "/schemas";
  DIR *d = opendir(root);
  cr_assert_not_null(d);
  struct dirent *m;
  while ((m = readdir(d))) {
    if (m->d_name[0] == '.') continue;
    snprintf(dir, sizeof dir, "%s/%s/commands", root, m->d_name);
    DIR *c = opendir(dir);
    if (!c) continue;
    struct dirent *f;
    while ((f = readdir(c))) {
      size_t n = strlen(f->d_name);
      if (n < 6 || strcmp(f->d_name + n - 5, ".json")) continue;
      char path[2400], type[300];
      snprintf(path, sizeof path, "%s/%s", dir, f->d_name);
      snprintf(type, sizeof type, "%s.%.*s", m->d_name, (int)(n - 5), f->d_name);
      json_t *s = json_load_file(path, 0, NULL);
      cr_assert_not_null(s, "%s is not JSON", path);
      json_object_set_new(out, type, s);
    }
    closedir(c);
  }
  closedir(d);
  return out;
}

static int schema_allows(json_t *schema, const char *role) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(schema, "x-fofal-roles"), i, r) if (!strcmp(json_string_value(r), role)) return 1;
  return 0;
}

Test(security, role_matrix_every_command_type_by_every_role) {
  json_t *types = command_schemas();
  cr_assert_geq(json_object_size(types), 6, "the command schemas were found");
  const char *type;
  json_t *schema;
  int cells = 0;
  json_object_foreach(types, type, schema) {
    cr_expect(json_is_array(json_object_get(schema, "x-fofal-roles")), "%s declares x-fofal-roles", type);
    for (int i = 0; roles[i]; i++) {
      char *tok = h_token(tenant, roles[i]), key[400];
      snprintf(key, sizeof key, "matrix-%s-%s", roles[i], type);
      /* An empty body: allowed roles get past the role check to schema validation (422). */
      int st = h_command(pa, tok, type, key, NULL, "{}", NULL);
      if (schema_allows(schema, roles[i]))
        cr_expect(st != 403 && st >= 400 && st < 500, "%s may send %s (got %d)", roles[i], type, st);
      else
        cr_expect_eq(st, 403, "%s may not send %s (got %d)", roles[i], type, st);
      cells++;
      free(tok);
    }
  }
  cr_expect_eq(cells, (int)json_object_size(types) * 14);
  fprintf(stderr, "security: role matrix: %d cells\n", cells);
  json_decref(types);
}

Test(security, role_matrix_every_query_by_every_role) {
  json_t *doc;
  cr_assert_eq(get(pa, "/api/v1/openapi.json", NULL, &doc), 200);
  const char *route;
  json_t *item;
  int cells = 0;
  json_object_foreach(json_object_get(doc, "paths"), route, item) {
    json_t *op = json_object_get(item, "get");
    if (!op || strncmp(route, "/api/v1/", 8) || !strcmp(route, "/api/v1/openapi.json") || !strcmp(route, "/api/v1/asyncapi.json") ||
        !strcmp(route, "/api/v1/stream") || !strncmp(route, "/api/v1/auth/", 13) || !strncmp(route, "/api/v1/commands/", 17))
      continue;
    json_t *allowed = json_object_get(op, "x-fofal-roles");
    cr_expect(json_is_array(allowed), "GET %s declares x-fofal-roles", route);
    char p[512];
    size_t o = 0;
    for (const char *c = route; *c && o + 64 < sizeof p;) {
      if (*c == '{') {
        const char *e = strchr(c, '}');
        o += (size_t)snprintf(p + o, sizeof p - o, "%s",
                              !strncmp(c, "{module}", 8) ? "production" : "00000000-0000-7000-8000-000000000000");
        c = e + 1;
      } else {
        p[o++] = *c++;
      }
    }
    p[o] = '\0';
    for (int i = 0; roles[i]; i++) {
      char *tok = h_token(tenant, roles[i]);
      int may = 0;
      size_t k;
      json_t *r;
      json_array_foreach(allowed, k, r) if (!strcmp(json_string_value(r), roles[i])) may = 1;
      int st = get(pa, p, tok, NULL);
      if (may) cr_expect(st != 403 && st != 401 && st < 500, "%s may read %s (got %d)", roles[i], route, st);
      else cr_expect_eq(st, 403, "%s may not read %s (got %d)", roles[i], route, st);
      cells++;
      free(tok);
    }
  }
  cr_expect_geq(cells, 7 * 14);
  fprintf(stderr, "security: query role matrix: %d cells\n", cells);
  json_decref(doc);
}

/* -------------------------------------------------------------- the audit */

Test(security, identity_events_are_audited_without_secrets) {
  char *id = account("storekeeper_mp", "sam", "sam-password-0001", NULL, NULL);
  json_t *j;
  cr_assert_eq(login(pa, "sam", "sam-password-0001", &j), 200);
  char sid[64];
  snprintf(sid, sizeof sid, "%s", s_of(j, "sid"));
  cr_expect_eq(post(pa, "/api/v1/auth/logout", s_of(j, "access_token"), NULL, NULL, NULL), 204);
  json_decref(j);
  cr_expect_eq(login(pa, "sam", "sam-password-9999", &j), 401);
  json_decref(j);
  /* Events are produced after the answer: wait until they are in the log. */
  int64_t t0 = fofal_mono_us();
  int created = 0, ok = 0, failed = 0, out = 0;
  while (fofal_mono_us() - t0 < 20 * 1000000LL && !(created && ok && failed && out)) {
    json_t *all = h_read_topic("fofal.identity.events");
    created = ok = failed = out = 0;
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m) {
      json_t *v = json_object_get(m, "value");
      if (!json_is_object(v) || strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", tenant)) continue;
      const char *type = json_string_value(json_object_get(v, "type"));
      json_t *data = json_object_get(v, "data");
      char *text = json_dumps(v, 0);
      cr_expect(!strstr(text, "sam-password"), "no password in an event: %s", text);
      free(text);
      const char *subject = json_string_value(json_object_get(v, "subject")) ?: "";
      if (!strcmp(type, "fofal.identity.account_created.v1") && !strcmp(subject, id)) {
        created = 1;
        cr_expect_str_eq(s_of(data, "role"), "storekeeper_mp");
        cr_expect(fofal_pd_is_sealed(json_object_get(data, "username")), "the username is personal data: sealed");
      }
      if (!strcmp(type, "fofal.identity.login_succeeded.v1") && s_of(data, "sid") && !strcmp(s_of(data, "sid"), sid)) {
        ok = 1;
        cr_expect(json_string_value(json_object_get(v, "fofalactor")) && !strncmp(json_string_value(json_object_get(v, "fofalactor")), "u:", 2));
        cr_expect_str_eq(s_of(data, "ip"), "127.0.0.1");
      }
      if (!strcmp(type, "fofal.identity.login_failed.v1") && !strcmp(subject, id)) {
        failed = 1;
        cr_expect_str_eq(s_of(data, "reason"), "bad_password");
      }
      if (!strcmp(type, "fofal.identity.logged_out.v1") && s_of(data, "sid") && !strcmp(s_of(data, "sid"), sid)) out = 1;
    }
    json_decref(all);
    if (!(created && ok && failed && out)) usleep(300 * 1000);
  }
  cr_expect(created, "account_created is audited");
  cr_expect(ok, "login_succeeded is audited");
  cr_expect(failed, "login_failed is audited");
  cr_expect(out, "logged_out is audited");
  free(id);
}

/* ------------------------------------------------- personal data, erasure */

/* The identity events of `tenant` as one JSON text (new), waiting until `want` is in it. */
static char *identity_events_with(const char *want, int timeout_s) {
  int64_t t0 = fofal_mono_us();
  for (;;) {
    json_t *all = h_read_topic("fofal.identity.events"), *mine = json_array(), *m;
    size_t i;
    json_array_foreach(all, i, m) {
      json_t *v = json_object_get(m, "value");
      if (json_is_object(v) && !strcmp(json_string_value(json_object_get(v, "fofaltenant")) ?: "", tenant))
        json_array_append(mine, v);
    }
    char *text = json_dumps(mine, JSON_COMPACT);
    json_decref(all);
    json_decref(mine);
    if (strstr(text, want) || fofal_mono_us() - t0 > (int64_t)timeout_s * 1000000) return text;
    free(text);
    usleep(300 * 1000);
  }
}

Test(security, erasing_an_account_shreds_its_name_from_the_audit_trail) {
  char *id = account("planner", "eva-lindqvist-77", "eva-password-0001", NULL, NULL);
  remember("eva-lindqvist-77"); /* personal data: no log may show it either */
  json_t *l;
  cr_assert_eq(login(pa, "eva-lindqvist-77", "eva-password-0001", &l), 200);
  char *at = fofal_strdup(s_of(l, "access_token"));
  json_decref(l);
  /* In Kafka the name is sealed with the account's own key. */
  char *events = identity_events_with("login_succeeded", 20);
  cr_expect(strstr(events, id), "the account's events are on fofal.identity.events");
  cr_expect(strstr(events, "\"$enc\":\"v1\""), "its username is sealed");
  cr_expect(!strstr(events, "eva-lindqvist"), "the name is never in clear in Kafka");
  free(events);
  /* An auditor's replay opens it… */
  char *out = NULL;
  const char *replay[] = {"replay", "--module", "identity", "--tenant", tenant, NULL};
  cr_assert_eq(h_run_cli(120, &out, replay), 0, "fofal replay failed");
  cr_expect(strstr(out, "\"username\":\"eva-lindqvist-77\""), "replay opens the sealed name: %.400s", out);
  free(out);
  /* …until the person is erased. */
  const char *erase[] = {"account", "erase", "--tenant", tenant, "--account", id, NULL};
  cr_assert_eq(h_run_cli(60, &out, erase), 0, "fofal account erase failed");
  free(out);
  cr_expect_geq(wait_me(pa, at, 401, 5000), 0, "the erased account's sessions end on the API");
  cr_assert_eq(h_run_cli(120, &out, replay), 0);
  cr_expect(!strstr(out, "eva-lindqvist"), "after erasure no event shows the name");
  cr_expect(strstr(out, "\"username\":\"erased\""), "the sealed fields read \"erased\": %.400s", out);
  free(out);
  json_t *j;
  cr_expect_eq(login(pa, "eva-lindqvist-77", "eva-password-0001", &j), 401, "an erased account cannot sign in");
  json_decref(j);
  free(at);
  free(id);
}

/* ------------------------------------------------------------ cross-tenant */

static int port_t;
static pid_t dec_t, proj_t, api_t;

static void setup_tenants(void) {
  h_tenant(tenant);
  admin = h_token(tenant, "admin");
  port_t = h_free_port();
  dec_t = h_start_decider("it-sec");
  proj_t = h_start_projector("it-sec");
  api_t = h_start_api(port_t);
}

static void teardown_tenants(void) {
  h_stop(api_t, SIGTERM);
  h_stop(proj_t, SIGTERM);
  h_stop(dec_t, SIGTERM);
  free(admin);
}

TestSuite(security_tenants, .init = setup_tenants, .fini = teardown_tenants, .timeout = 300);

/* A body for `schema` whose every uuid names `agg` and other fields have plausible values. */
static json_t *body_for(json_t *schema, const char *agg, const char *loom) {
  json_t *b = json_object(), *props = json_object_get(schema, "properties"), *p;
  const char *name;
  json_object_foreach(props, name, p) {
    const char *t = json_string_value(json_object_get(p, "type")), *fmt = json_string_value(json_object_get(p, "format"));
    if (fmt && !strcmp(fmt, "uuid")) json_object_set_new(b, name, json_string(agg));
    else if (fmt && !strcmp(fmt, "date")) json_object_set_new(b, name, json_string("2026-12-01"));
    else if (!strcmp(name, "loom")) json_object_set_new(b, name, json_string(loom));
    else if (t && !strcmp(t, "string")) json_object_set_new(b, name, json_string("X1"));
    else if (t && (!strcmp(t, "integer") || !strcmp(t, "number"))) json_object_set_new(b, name, json_integer(1));
    else if (t && !strcmp(t, "boolean")) json_object_set_new(b, name, json_true());
  }
  return b;
}

Test(security_tenants, tenant_a_never_reads_or_writes_tenant_b) {
  /* Tenant B (this test's `tenant`) owns a started order on a loom. */
  char order[FOFAL_UUID_LEN + 1], loom[32], *tb = h_token(tenant, "manager");
  fofal_uuid7(order);
  snprintf(loom, sizeof loom, "L-%.6s", order + 30);
  char *c1 = fofal_asprintf("{\"order_id\":\"%s\",\"article\":\"FOUTA-SECRET-B\",\"quantity\":40}", order);
  char *c2 = fofal_asprintf("{\"order_id\":\"%s\"}", order);
  char *c3 = fofal_asprintf("{\"order_id\":\"%s\",\"loom\":\"%s\"}", order, loom);
  json_t *res;
  h_floor_http(port_t, tenant, loom, "W-SEC", NULL); /* the loom the order starts on */
  cr_assert_eq(h_command_ok(port_t, tb, "production.order.create", "b-1", NULL, c1, NULL), 201);
  cr_assert_eq(h_command_ok(port_t, tb, "production.order.release", "b-2", NULL, c2, NULL), 201);
  cr_assert_eq(h_command_ok(port_t, tb, "production.order.start", "b-3", NULL, c3, &res), 201);
  char path[512];
  snprintf(path, sizeof path, "/api/v1/production/orders/%s?position=%s", order, json_string_value(json_object_get(res, "position")));
  json_decref(res);
  json_t *before;
  cr_assert_eq(get(port_t, path, tb, &before), 200, "B reads its order");
  json_int_t version = json_integer_value(json_object_get(before, "version"));
  cr_assert_eq(version, 3);
  json_decref(before);

  /* Tenant A, with the widest roles, walks every GET route of the OpenAPI document. */
  char ta_name[32];
  h_tenant(ta_name);
  json_t *doc;
  cr_assert_eq(get(port_t, "/api/v1/openapi.json", NULL, &doc), 200);
  const char *route;
  json_t *item;
  int walked = 0;
  const char *role_list[] = {"admin", "auditor", "manager"};
  json_object_foreach(json_object_get(doc, "paths"), route, item) {
    if (!json_object_get(item, "get") || strncmp(route, "/api/v1/", 8) || !strcmp(route, "/api/v1/openapi.json") || !strcmp(route, "/api/v1/asyncapi.json") ||
        !strcmp(route, "/api/v1/stream"))
      continue;
    char p[512];
    size_t o = 0;
    for (const char *s = route; *s && o + 64 < sizeof p;) {
      if (*s == '{') {
        const char *e = strchr(s, '}');
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(e - s - 1), s + 1);
        const char *v = !strcmp(name, "module") ? "production" : !strcmp(name, "loom") ? loom
                        : !strcmp(name, "shift") ? "2026-11-28-A" : order;
        o += (size_t)snprintf(p + o, sizeof p - o, "%s", v);
        s = e + 1;
      } else {
        p[o++] = *s++;
      }
    }
    p[o] = '\0';
    for (size_t r = 0; r < 3; r++) {
      char *ta = h_token(ta_name, role_list[r]);
      h_resp_t resp;
      char hdr[4300];
      snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", ta);
      cr_assert_eq(h_http(port_t, "GET", p, hdr, NULL, &resp, 30000), 0);
      cr_expect(resp.status == 404 || resp.status == 403 || resp.status == 200, "GET %s as A/%s: %d", p, role_list[r],
                resp.status);
      cr_expect(!strstr(resp.body, "FOUTA-SECRET-B") && !strstr(resp.body, tenant) &&
                    (resp.status != 200 || !strstr(resp.body, order)),
                "GET %s as A/%s shows B's data: %s", p, role_list[r], resp.body);
      h_resp_free(&resp);
      free(ta);
    }
    walked++;
  }
  cr_expect_geq(walked, 7, "every GET route was walked (%d)", walked);
  fprintf(stderr, "security: cross-tenant: %d GET routes walked\n", walked);
  json_decref(doc);

  /* Every command type, by A, aimed at B's order: B's order is untouched. */
  json_t *types = command_schemas();
  const char *type;
  json_t *schema;
  json_object_foreach(types, type, schema) {
    json_t *b = body_for(schema, order, loom);
    char *body = json_dumps(b, 0), key[300];
    snprintf(key, sizeof key, "a-%s", type);
    char *ta = h_token(ta_name, "admin");
    int st = h_command_ok(port_t, ta, type, key, NULL, body, NULL);
    cr_expect(st != 0 && st < 500, "%s as A: %d", type, st);
    free(ta);
    free(body);
    json_decref(b);
  }
  json_decref(types);
  /* The decider's word: B's order is still at version 3 (If-Match), whatever A sent. */
  char *cancel = fofal_asprintf("{\"order_id\":\"%s\",\"reason\":\"check\"}", order);
  json_t *cres;
  int st = h_command_ok(port_t, tb, "production.order.cancel", "b-4", "3", cancel, &cres);
  cr_expect_eq(st, 201, "B's order was not changed by A (If-Match \"3\" answered %d)", st);
  json_decref(cres);
  free(cancel);
  free(c1);
  free(c2);
  free(c3);
  free(tb);
}

/* ------------------------------------ personal data of employees (item 8) */

TestSuite(security_personal, .init = setup_tenants, .fini = teardown_tenants, .timeout = 300);

/* Every message of `topic` for `tenant` as one JSON text (new): commands carry the tenant
 * in "tenant", events in "fofaltenant". */
static char *tenant_messages(const char *topic) {
  json_t *all = h_read_topic(topic), *mine = json_array(), *m;
  size_t i;
  json_array_foreach(all, i, m) {
    json_t *v = json_object_get(m, "value");
    const char *t = json_string_value(json_object_get(v, "fofaltenant")) ?: json_string_value(json_object_get(v, "tenant"));
    if (t && !strcmp(t, tenant)) json_array_append(mine, v);
  }
  char *text = json_dumps(mine, JSON_COMPACT);
  json_decref(all);
  json_decref(mine);
  return text;
}

/* GET the employee until `field` of it (or of its "personal") reads `want`; the last body. */
static json_t *employee_when(const char *token, const char *badge, const char *field, const char *want) {
  char path[160];
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", badge);
  int64_t t0 = fofal_mono_us();
  for (;;) {
    json_t *j = NULL;
    int st = get(port_t, path, token, &j);
    json_t *v = json_object_get(j, field);
    if (!v) v = json_object_get(json_object_get(j, "personal"), field);
    if ((st == 200 && json_is_string(v) && !strcmp(json_string_value(v), want)) ||
        fofal_mono_us() - t0 > 20 * 1000000LL)
      return j;
    json_decref(j);
    usleep(200 * 1000);
  }
}

Test(security_personal, employee_data_is_sealed_in_kafka_shown_to_hr_only_and_shredded_by_erasure) {
  static const char *const clear[] = {"Leila Trabelsi-Personal", "+216 98 765 432", "09876543", "TN59 0401 8104 0044 1234 5678"};
  for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) remember(clear[i]); /* no log may show them */
  remember("1234.75");
  char *hr = h_token(tenant, "hr"), *planner = h_token(tenant, "planner"), body[512];
  snprintf(body, sizeof body,
           "{\"badge\":\"W-77\",\"name\":\"%s\",\"job\":\"weaver\",\"phone\":\"%s\",\"national_id\":\"%s\","
           "\"bank_account\":\"%s\",\"salary\":1234.75}",
           clear[0], clear[1], clear[2], clear[3]);
  cr_assert_eq(h_command_ok(port_t, hr, "hr.employee.register", "pd-reg-77", NULL, body, NULL), 201);

  /* HR sees everything, opened; a planner sees the name (the floor needs it), not the rest. */
  json_t *e = employee_when(hr, "W-77", "name", clear[0]);
  json_t *p = json_object_get(e, "personal");
  cr_expect_str_eq(s_of(e, "name") ?: "", clear[0]);
  cr_expect_str_eq(s_of(p, "phone") ?: "", clear[1]);
  cr_expect_str_eq(s_of(p, "national_id") ?: "", clear[2]);
  cr_expect_str_eq(s_of(p, "bank_account") ?: "", clear[3]);
  cr_expect_float_eq(json_number_value(json_object_get(p, "salary")), 1234.75, 1e-9);
  json_decref(e);
  json_t *pl = NULL;
  cr_expect_eq(get(port_t, "/api/v1/hr/employees/W-77", planner, &pl), 200);
  cr_expect_str_eq(s_of(pl, "name") ?: "", clear[0]);
  cr_expect_null(json_object_get(pl, "personal"), "a planner does not see phone, id, bank account or salary");
  json_decref(pl);

  /* Neither the command nor the event holds a clear value: sealed before Kafka. */
  char *cmds = tenant_messages("fofal.commands"), *evs = tenant_messages("fofal.hr.events");
  cr_expect(strstr(cmds, "pd-reg-77"), "the command is on fofal.commands");
  cr_expect(strstr(evs, "employee_registered"), "the event is on fofal.hr.events");
  for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) {
    cr_expect(!strstr(cmds, clear[i]), "no clear %s in fofal.commands", clear[i]);
    cr_expect(!strstr(evs, clear[i]), "no clear %s in fofal.hr.events", clear[i]);
  }
  cr_expect(!strstr(evs, "1234.75"), "no clear salary in the events");
  cr_expect(strstr(evs, "\"$enc\":\"v1\""), "sealed values instead");
  free(cmds);
  free(evs);

  /* A change of phone is sealed too and shows to HR. */
  cr_assert_eq(h_command_ok(port_t, hr, "hr.employee.update", "pd-upd-77", NULL,
                            "{\"badge\":\"W-77\",\"phone\":\"+216 22 333 444\"}", NULL),
               201);
  remember("+216 22 333 444");
  e = employee_when(hr, "W-77", "phone", "+216 22 333 444");
  cr_expect_str_eq(s_of(json_object_get(e, "personal"), "phone") ?: "", "+216 22 333 444");
  json_decref(e);

  /* A planner may not erase; HR may. */
  json_t *r = NULL;
  cr_expect_eq(h_command(port_t, planner, "hr.employee.erase", "pd-era-77p", NULL,
                         "{\"badge\":\"W-77\",\"reason\":\"employee_request\"}", &r),
               403);
  json_decref(r);
  cr_assert_eq(h_command_ok(port_t, hr, "hr.employee.erase", "pd-era-77", NULL,
                            "{\"badge\":\"W-77\",\"reason\":\"employee_request\"}", NULL),
               201);
  e = employee_when(hr, "W-77", "name", FOFAL_PD_ERASED);
  cr_expect_str_eq(s_of(e, "name") ?: "", FOFAL_PD_ERASED, "the read model forgets the name");
  cr_expect(json_is_string(json_object_get(e, "erased_at")));
  cr_expect_null(json_object_get(e, "personal"), "nothing personal left to show");
  cr_expect_str_eq(s_of(e, "job") ?: "", "weaver", "the mill's records stay");
  json_decref(e);
  r = NULL;
  cr_expect_eq(h_command(port_t, hr, "hr.employee.update", "pd-upd-77b", NULL,
                         "{\"badge\":\"W-77\",\"phone\":\"+216 22 333 445\"}", &r),
               422);
  cr_expect_str_eq(code_of(r), "person_erased", "nothing personal is sealed for an erased person again");
  json_decref(r);

  /* An auditor's replay, with the master key, shows every sealed field of theirs as erased. */
  char *out = NULL;
  const char *replay[] = {"replay", "--module", "hr", "--tenant", tenant, NULL};
  cr_assert_eq(h_run_cli(120, &out, replay), 0, "fofal replay failed");
  cr_expect(strstr(out, "employee_erased"), "the erasure is an event");
  for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) cr_expect(!strstr(out, clear[i]), "replay: no %s", clear[i]);
  cr_expect(!strstr(out, "+216 22 333 444"));
  const char *reg = strstr(out, "employee_registered");
  cr_expect(strstr(out, "\"phone\":\"erased\""), "replay: the phone reads erased: %.900s", reg ? reg : out);
  cr_expect(strstr(out, "\"salary\":\"erased\""), "replay: the salary reads erased");
  free(out);
  free(hr);
  free(planner);
}

Test(security_personal, a_clear_personal_field_produced_past_the_api_is_refused) {
  char agg[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, "employee", "W-78", agg);
  fofal_kafka_t *k = NULL;
  char err[256];
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "test-pd"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  h_produce_command(k, tenant, "pd-raw-78", "hr.employee.register", agg,
                    json_pack("{s:s,s:s,s:s}", "badge", "W-78", "name", "Clear Name Bypass", "job", "weaver"));
  fofal_kafka_flush(k, 10000);
  fofal_kafka_free(k);
  remember("Clear Name Bypass");
  /* The decider refuses it: its result is on fofal.commands.results, no event. */
  int64_t t0 = fofal_mono_us();
  char *res = NULL;
  while (fofal_mono_us() - t0 < 20 * 1000000LL) {
    free(res);
    res = tenant_messages("fofal.commands.results");
    if (strstr(res, "pd-raw-78")) break;
    usleep(300 * 1000);
  }
  cr_expect(res && strstr(res, "pd-raw-78"), "the command was decided");
  cr_expect(res && strstr(res, "invalid_command"), "refused: a personal field must be sealed in the log: %.300s", res);
  free(res);
  char *evs = tenant_messages("fofal.hr.events");
  cr_expect(!strstr(evs, "Clear Name Bypass"), "no event carries it");
  free(evs);
}

/* A phone's offline queue arrives as a batch: its personal fields are sealed in order with
 * the rest, and an item with a bad one (or one HR may not send) is refused alone. */
Test(security_personal, a_batch_seals_each_command_in_its_order) {
  remember("+216 55 666 777");
  remember("Batch Person Eighty");
  char *hr = h_token(tenant, "hr");
  const char body[] =
      "{\"commands\":["
      "{\"type\":\"hr.employee.register\",\"idempotency_key\":\"pd-b-1\",\"data\":{\"badge\":\"W-80\","
      "\"name\":\"Batch Person Eighty\",\"job\":\"cutter\",\"phone\":\"+216 55 666 777\"}},"
      "{\"type\":\"hr.employee.register\",\"idempotency_key\":\"pd-b-2\",\"data\":{\"badge\":\"W-81\","
      "\"name\":\"Bad Phone\",\"job\":\"cutter\",\"phone\":\"call me\"}},"
      "{\"type\":\"hr.employee.update\",\"idempotency_key\":\"pd-b-3\",\"data\":{\"badge\":\"W-80\",\"salary\":905}},"
      "{\"type\":\"hr.employee.assign_shift\",\"idempotency_key\":\"pd-b-4\",\"data\":{\"badge\":\"W-80\","
      "\"shift\":\"2026-12-01/A\"}}]}";
  char *h = fofal_asprintf("Authorization: Bearer %s\r\n", hr);
  h_resp_t r;
  cr_assert_eq(h_http(port_t, "POST", "/api/v1/commands", h, body, &r, 30000), 0);
  cr_assert_eq(r.status, 200, "batch answered %d: %s", r.status, r.body);
  json_t *j = json_loads(r.body, 0, NULL), *res = json_object_get(j, "results");
  int expect[] = {201, 422, 201, 403}; /* shifts are the planner's */
  for (size_t i = 0; i < 4; i++)
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(res, i), "status")), expect[i], "batch item %zu: %s", i,
                 r.body);
  json_decref(j);
  h_resp_free(&r);
  json_t *e = employee_when(hr, "W-80", "phone", "+216 55 666 777");
  cr_expect_str_eq(s_of(e, "name") ?: "", "Batch Person Eighty");
  cr_expect_float_eq(json_number_value(json_object_get(json_object_get(e, "personal"), "salary")), 905, 1e-9);
  json_decref(e);
  char *evs = tenant_messages("fofal.hr.events");
  cr_expect(!strstr(evs, "Batch Person Eighty") && !strstr(evs, "55 666 777"), "nothing of the batch in clear");
  free(evs);
  free(h);
  free(hr);
}
