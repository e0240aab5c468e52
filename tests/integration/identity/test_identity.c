/*
 * test_identity.c — identity through the log (issue 13 item 5), against the real Kafka,
 * PostgreSQL and Redis of the test stack with fofal-decider, fofal-projector and two
 * fofal-api instances (A and B):
 *
 *   - an account created on A signs in at once on B (the creation answers once the
 *     identity projection has applied it);
 *   - every security event of a sign-in sequence is on fofal.identity.events when its
 *     answer arrives, with the account's sequence numbers 1, 2, 3 … (none 0), and an
 *     attempt on an unknown name is the tenant realm's, without the name typed;
 *   - a revoked device signs nobody in, and its sessions end;
 *   - after `fofal rebuild identity` the same accounts sign in (password, PIN), the revoked
 *     device stays revoked, and `fofal verify identity` finds the live projection equal to
 *     a fresh rebuild;
 *   - without the decider a sign-in fails closed: 503 not_decided (in the log, undecided), no token;
 *   - `fofal account create` goes through the log like the API: its account signs in, a
 *     second one of the same name is refused.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int pa, pb;
static pid_t api_a, api_b, dec, proj;
static char tenant[32];
static char *admin;

/* wait: FOFAL_API_COMMAND_WAIT_MS (a loaded machine may take seconds to decide). */
static pid_t start_api(int port, const char *log, const char *wait) {
  char p[64], w[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  snprintf(w, sizeof w, "FOFAL_API_COMMAND_WAIT_MS=%s", wait);
  const char *env[] = {p, w, "FOFAL_API_ARGON2_MEMORY_KIB=8192", "FOFAL_API_RATE_LOGIN_ACCOUNT=100000",
                       "FOFAL_API_RATE_LOGIN_IP=100000", NULL};
  pid_t pid = h_spawn("api/fofal-api", log, NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
  return pid;
}

static void setup(void) {
  h_tenant(tenant);
  admin = h_token(tenant, "admin");
  dec = h_start_decider("it-identity");
  proj = h_start_projector("it-identity");
  pa = h_free_port();
  pb = h_free_port();
  api_a = start_api(pa, "test-api-identity-a", "30000");
  api_b = start_api(pb, "test-api-identity-b", "30000");
}

static void teardown(void) {
  h_stop(api_a, SIGTERM);
  h_stop(api_b, SIGTERM);
  h_stop(proj, SIGTERM);
  if (dec > 0) h_stop(dec, SIGTERM);
  free(admin);
}

TestSuite(identity, .init = setup, .fini = teardown, .timeout = 300);

static const char *s_of(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)) ?: ""; }

/* POST JSON (body may be NULL); the status and *out the parsed body (new; may be NULL). */
static int post(int port, const char *path, const char *token, const char *body, json_t **out) {
  char hdr[4300] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", path, hdr, body, &r, 30000), 0, "no answer to POST %s", path);
  if (out) *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

static int get_me(int port, const char *token) {
  char hdr[4300];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", "/api/v1/auth/me", hdr, NULL, &r, 30000), 0);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* Creates an account on `port`; returns its id (new). */
static char *account(int port, const char *role, const char *user, const char *password, const char *badge,
                     const char *pin) {
  json_t *b = json_pack("{s:s,s:s}", "username", user, "role", role), *out = NULL;
  if (password) json_object_set_new(b, "password", json_string(password));
  if (badge) json_object_set_new(b, "badge", json_string(badge));
  if (pin) json_object_set_new(b, "pin", json_string(pin));
  char *body = json_dumps(b, 0);
  int st = post(port, "/api/v1/auth/accounts", admin, body, &out);
  cr_assert_eq(st, 201, "account %s: %d %s %s", user, st, s_of(out, "code"), s_of(out, "detail"));
  char *id = fofal_strdup(s_of(out, "account_id"));
  free(body);
  json_decref(b);
  json_decref(out);
  return id;
}

static int login(int port, const char *user, const char *password, json_t **out) {
  char *body = fofal_asprintf("{\"tenant\":\"%s\",\"username\":\"%s\",\"password\":\"%s\"}", tenant, user, password);
  int st = post(port, "/api/v1/auth/login", NULL, body, out);
  free(body);
  return st;
}

static int pin_login(int port, const char *dev, const char *secret, const char *badge, const char *pin, json_t **out) {
  char *body = fofal_asprintf("{\"tenant\":\"%s\",\"device_id\":\"%s\",\"device_secret\":\"%s\",\"badge\":\"%s\","
                              "\"pin\":\"%s\"}",
                              tenant, dev, secret, badge, pin);
  int st = post(port, "/api/v1/auth/pin-login", NULL, body, out);
  free(body);
  return st;
}

/* The events of this test's tenant on fofal.identity.events, in log order (new array of
 * the CloudEvents). */
static json_t *identity_events(void) {
  json_t *all = h_read_topic("fofal.identity.events"), *mine = json_array(), *m;
  size_t i;
  json_array_foreach(all, i, m) {
    json_t *v = json_object_get(m, "value");
    if (json_is_object(v) && !strcmp(s_of(v, "fofaltenant"), tenant)) json_array_append(mine, v);
  }
  json_decref(all);
  return mine;
}

/* The types of the events of `subject`, "a,b,c", checking that their seq run 1, 2, 3 …
 * (new string). */
static char *history_of(json_t *events, const char *subject) {
  char *out = fofal_strdup("");
  size_t i;
  json_t *v;
  long long want = 1;
  json_array_foreach(events, i, v) {
    if (strcmp(s_of(v, "subject"), subject)) continue;
    long long seq = json_integer_value(json_object_get(v, "fofalseq"));
    cr_expect_eq(seq, want, "%s: event %s has seq %lld, want %lld", subject, s_of(v, "type"), seq, want);
    want = seq + 1;
    const char *type = s_of(v, "type"), *prefix = "fofal.identity.";
    size_t tl = strlen(type), pl = strlen(prefix);
    cr_assert(tl > pl + 3 && !strncmp(type, prefix, pl), "%s: event type %s is not identity's", subject, type);
    char *next = fofal_asprintf("%s%s%.*s", out, *out ? "," : "", (int)(tl - pl - 3), type + pl);
    free(out);
    out = next;
  }
  return out;
}

Test(identity, an_account_created_on_one_instance_signs_in_at_once_on_another) {
  for (int i = 0; i < 5; i++) {
    char user[32], pw[32];
    snprintf(user, sizeof user, "fresh-%d", i);
    snprintf(pw, sizeof pw, "fresh-password-%04d", i);
    char *id = account(pa, "weaver", user, pw, NULL, NULL);
    json_t *j = NULL;
    int st = login(pb, user, pw, &j);
    cr_expect_eq(st, 200, "created on A, signed in on B at once (%d %s)", st, s_of(j, "code"));
    cr_expect_str_eq(s_of(j, "account_id"), id);
    json_decref(j);
    free(id);
  }
  json_t *j = NULL;
  cr_expect_eq(post(pb, "/api/v1/auth/accounts", admin, "{\"username\":\"fresh-0\",\"role\":\"cutter\",\"password\":\"another-password-1\"}", &j),
               409, "a username is one account per tenant: the decider refuses the second");
  cr_expect_str_eq(s_of(j, "code"), "already_exists");
  json_decref(j);
  /* The identity commands carry secrets their route makes: not sendable as plain commands. */
  cr_expect_eq(h_command(pa, admin, "identity.account.create", "plain-create", NULL,
                         "{\"account_id\":\"0190aaaa-bbbb-7ccc-8ddd-000000000001\",\"username\":\"x\",\"role\":\"admin\"}", &j),
               422);
  cr_expect_str_eq(s_of(j, "code"), "auth_route_only");
  json_decref(j);
}

Test(identity, every_security_event_of_a_sign_in_sequence_is_in_the_log_with_its_seq) {
  char *id = account(pa, "planner", "seq-user", "seq-password-0001", NULL, NULL);
  json_t *l = NULL, *j = NULL;
  cr_assert_eq(login(pa, "seq-user", "seq-password-0001", &l), 200);
  cr_expect_eq(login(pb, "seq-user", "seq-password-9999", &j), 401);
  json_decref(j);
  char *rb = fofal_asprintf("{\"refresh_token\":\"%s\"}", s_of(l, "refresh_token"));
  cr_assert_eq(post(pa, "/api/v1/auth/refresh", NULL, rb, &j), 200);
  json_decref(j);
  cr_expect_eq(post(pb, "/api/v1/auth/refresh", NULL, rb, &j), 401, "the first refresh token again: reuse");
  cr_expect_str_eq(s_of(j, "code"), "refresh_token_reused");
  json_decref(j);
  json_t *l2 = NULL;
  cr_assert_eq(login(pb, "seq-user", "seq-password-0001", &l2), 200);
  cr_expect_eq(post(pa, "/api/v1/auth/password", s_of(l2, "access_token"),
                    "{\"current_password\":\"wrong-password-000\",\"new_password\":\"seq-password-0002\"}", &j),
               403);
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/logout", s_of(l2, "access_token"), NULL, NULL), 204);
  cr_expect_eq(login(pa, "nobody-here", "seq-password-0001", &j), 401);
  json_decref(j);
  /* Every answer came after its event was committed: the log has them all now. */
  json_t *events = identity_events();
  char *h = history_of(events, id);
  cr_expect_str_eq(h,
                   "account_created,login_succeeded,login_failed,refresh_reused,login_succeeded,"
                   "password_change_failed,logged_out");
  free(h);
  char realm[FOFAL_UUID_LEN + 1];
  fofal_uuid_named(tenant, "identity:realm", realm);
  h = history_of(events, realm);
  cr_expect_str_eq(h, "login_failed", "the unknown name is the tenant realm's");
  free(h);
  size_t i;
  json_t *v;
  json_array_foreach(events, i, v) {
    cr_expect_gt(json_integer_value(json_object_get(v, "fofalseq")), 0, "no event has seq 0 (%s)", s_of(v, "type"));
    char *text = json_dumps(v, JSON_COMPACT);
    cr_expect(!strstr(text, "seq-password") && !strstr(text, "nobody-here") && !strstr(text, "seq-user"),
              "no secret nor typed name in clear: %s", text);
    cr_expect(!strstr(text, "$argon2id"), "hashes travel sealed: %s", text);
    free(text);
  }
  json_decref(events);
  free(rb);
  json_decref(l);
  json_decref(l2);
  free(id);
}

Test(identity, a_revoked_device_cannot_pin_login) {
  json_t *d = NULL, *j = NULL;
  cr_assert_eq(post(pa, "/api/v1/auth/devices", admin, "{\"name\":\"cutting phone 2\"}", &d), 201);
  char dev[64], sec[128], path[128];
  snprintf(dev, sizeof dev, "%s", s_of(d, "device_id"));
  snprintf(sec, sizeof sec, "%s", s_of(d, "device_secret"));
  json_decref(d);
  free(account(pa, "weaver", "rev-user", NULL, "B-4401", "440144"));
  cr_assert_eq(pin_login(pb, dev, sec, "B-4401", "440144", &j), 200, "signed in on the enrolled device");
  char *at = fofal_strdup(s_of(j, "access_token"));
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/auth/devices/%s/revoke", dev);
  char *weaver = h_token(tenant, "weaver");
  cr_expect_eq(post(pa, path, weaver, NULL, &j), 403, "a weaver revokes no device");
  json_decref(j);
  free(weaver);
  cr_assert_eq(post(pa, path, admin, "{\"reason\":\"lost\"}", &j), 204, "%s", s_of(j, "detail"));
  json_decref(j);
  /* Answered once applied: at once, on the other instance too. */
  cr_expect_eq(pin_login(pb, dev, sec, "B-4401", "440144", &j), 401, "a revoked device signs nobody in");
  cr_expect_str_eq(s_of(j, "code"), "invalid_device");
  json_decref(j);
  int64_t t0 = fofal_mono_us();
  while (get_me(pb, at) != 401 && fofal_mono_us() - t0 < 5000000) usleep(20 * 1000);
  cr_expect_eq(get_me(pb, at), 401, "the session opened on it ended");
  cr_expect_eq(post(pa, path, admin, NULL, &j), 409, "revoked once");
  cr_expect_str_eq(s_of(j, "code"), "already_revoked");
  json_decref(j);
  cr_expect_eq(post(pa, "/api/v1/auth/devices/0190aaaa-bbbb-7ccc-8ddd-0000000000ff/revoke", admin, NULL, &j), 404);
  json_decref(j);
  /* The revocation is in the log, after the enrolment. */
  json_t *events = identity_events();
  char *h = history_of(events, dev);
  cr_expect_str_eq(h, "device_enrolled,device_revoked");
  free(h);
  json_decref(events);
  free(at);
}

Test(identity, a_rebuilt_identity_projection_signs_in_the_same_accounts) {
  json_t *d = NULL, *j = NULL;
  cr_assert_eq(post(pa, "/api/v1/auth/devices", admin, "{\"name\":\"hall phone 9\"}", &d), 201);
  json_t *gone = NULL;
  cr_assert_eq(post(pa, "/api/v1/auth/devices", admin, "{\"name\":\"lost phone\"}", &gone), 201);
  char path[128];
  snprintf(path, sizeof path, "/api/v1/auth/devices/%s/revoke", s_of(gone, "device_id"));
  cr_assert_eq(post(pa, path, admin, NULL, NULL), 204);
  free(account(pa, "planner", "rb-planner", "rb-password-0001", NULL, NULL));
  free(account(pa, "weaver", "rb-weaver", NULL, "B-5501", "550155"));
  char *qui = account(pa, "quality", "rb-quality", "rb-password-0002", NULL, NULL);
  json_t *q = NULL;
  cr_assert_eq(login(pa, "rb-quality", "rb-password-0002", &q), 200);
  cr_assert_eq(post(pa, "/api/v1/auth/password", s_of(q, "access_token"),
                    "{\"current_password\":\"rb-password-0002\",\"new_password\":\"rb-password-0003\"}", NULL),
               204);
  json_decref(q);
  cr_assert_eq(login(pa, "rb-planner", "rb-password-0001", &j), 200);
  json_decref(j);
  /* Rebuild the projection from the log alone. */
  char *out = NULL;
  const char *rebuild[] = {"rebuild", "identity", NULL};
  cr_assert_eq(h_run_cli(300, &out, rebuild), 0, "fofal rebuild identity failed: %s", out ? out : "");
  json_t *res = json_loads(out, 0, NULL);
  cr_expect_str_eq(s_of(res, "rebuild"), "identity");
  json_decref(res);
  free(out);
  cr_expect_eq(login(pb, "rb-planner", "rb-password-0001", &j), 200, "the password signs in after the rebuild");
  json_decref(j);
  cr_expect_eq(login(pb, "rb-quality", "rb-password-0003", &j), 200, "…the changed one");
  json_decref(j);
  cr_expect_eq(login(pb, "rb-quality", "rb-password-0002", &j), 401, "…not the old one");
  json_decref(j);
  cr_expect_eq(pin_login(pb, s_of(d, "device_id"), s_of(d, "device_secret"), "B-5501", "550155", &j), 200,
               "the PIN signs in on the enrolled device");
  json_decref(j);
  cr_expect_eq(pin_login(pb, s_of(gone, "device_id"), s_of(gone, "device_secret"), "B-5501", "550155", &j), 401,
               "the revoked device stays revoked");
  json_decref(j);
  /* And the live projection equals a fresh rebuild. */
  const char *verify[] = {"verify", "identity", NULL};
  int vst = h_run_cli(300, &out, verify);
  cr_expect_eq(vst, 0, "fofal verify identity: %s", out ? out : "");
  cr_expect(out && strstr(out, "accounts") && strstr(out, "devices"), "both tables compared: %s", out ? out : "");
  free(out);
  free(qui);
  json_decref(d);
  json_decref(gone);
}

Test(identity, without_the_decider_a_sign_in_fails_closed) {
  free(account(pa, "cutter", "closed-user", "closed-password-01", NULL, NULL));
  /* An instance that waits 2 s for a decision. */
  int pc = h_free_port();
  pid_t api_c = start_api(pc, "test-api-identity-c", "2000");
  h_stop(dec, SIGTERM);
  dec = 0;
  json_t *j = NULL;
  int st = login(pc, "closed-user", "closed-password-01", &j);
  cr_expect_eq(st, 503, "no decision, no sign-in (got %d)", st);
  cr_expect_str_eq(s_of(j, "code"), "not_decided", "the command is in the log, undecided: not \"not_recorded\"");
  cr_expect_null(json_object_get(j, "access_token"), "no token leaves");
  json_decref(j);
  j = NULL;
  h_stop(api_c, SIGTERM);
  dec = h_start_decider("it-identity");
  /* The command sent while the decider was away is decided now; a new sign-in too. */
  int64_t t0 = fofal_mono_us();
  do {
    json_decref(j);
    j = NULL;
    st = login(pa, "closed-user", "closed-password-01", &j);
  } while (st != 200 && fofal_mono_us() - t0 < 60 * 1000000LL);
  cr_expect_eq(st, 200, "with the decider back, the sign-in is recorded and answered");
  json_decref(j);
}

Test(identity, fofal_account_create_goes_through_the_log) {
  char cmd[2048], outp[1024];
  snprintf(outp, sizeof outp, "%s/logs/test-identity-cli.out", h_env("FOFAL_STACK_DIR"));
  snprintf(cmd, sizeof cmd, "%s/ops/fofal account create --tenant %s --username cli-boss --role admin > %s 2>> %s/logs/test-cli.log",
           h_env("FOFAL_BUILD_DIR"), tenant, outp, h_env("FOFAL_STACK_DIR"));
  for (int round = 0; round < 2; round++) {
    FILE *p = popen(cmd, "w");
    cr_assert_not_null(p);
    fprintf(p, "cli-boss-password-1\n");
    int st = pclose(p);
    if (round == 0) {
      cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fofal account create failed (status %d)", st);
      FILE *f = fopen(outp, "r");
      char id[64] = "";
      cr_assert(f && fgets(id, sizeof id, f), "it printed the account id");
      fclose(f);
      id[strcspn(id, "\n")] = '\0';
      json_t *j = NULL;
      cr_expect_eq(login(pa, "cli-boss", "cli-boss-password-1", &j), 200, "the CLI's account signs in at once");
      cr_expect(json_is_true(json_object_get(j, "mfa_required")), "an admin passes MFA next");
      json_decref(j);
      json_t *events = identity_events();
      char *h = history_of(events, id);
      cr_expect_str_eq(h, "account_created,password_verified");
      free(h);
      json_decref(events);
    } else {
      cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "a second account of the same name is refused (status %d)", st);
    }
  }
}
