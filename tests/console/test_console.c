/*
 * test_console.c — the screens (api/console/) in a real browser: Playwright's test runner
 * drives Debian's chromium (never a browser of its own) against the stack ./ops/test
 * started, through fofal-api's /console/ like a person would.
 *
 * This program is the harness around the browser: it starts every process the screens
 * need (ingest and machines for the loom telemetry, the projector, the decider, the
 * reactor that turns a breakdown into an intervention request, the API), builds a weaving
 * floor in a fresh tenant A through the command API (loom L1 with its beam and first
 * piece passed, weaver W1 on shift, mechanic M1, an order started on L1), creates the
 * accounts the screens sign in with (weaver and mechanic by badge and PIN, a planner by
 * password, a manager by password and TOTP) and a planner of another fresh tenant B. It
 * writes that as a fixture for the browser tests (api/console/e2e/console.spec.ts), runs
 * them, and afterwards checks in Kafka what the browser cannot see: the declaration made
 * offline, whose first answer was lost on its way back, is one output_declared event.
 *
 * Screenshots at phone and desktop sizes go to api/console/e2e/screenshots/ (git-ignored).
 *
 * console.served_files checks how fofal-api serves the built console (api/console.c)
 * without a browser: the page, a hashed asset, a client route, the headers and the CSP,
 * what is not a file, and methods other than GET.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int port;
static char tenant[32], other[32];

static void admin_cmd(const char *tok, const char *type, const char *key, const char *body) {
  json_t *r = NULL;
  int st = h_command_ok(port, tok, type, key, NULL, body, &r);
  const char *code = json_string_value(json_object_get(r, "code"));
  cr_assert(st == 201 || st == 200, "%s answered %d %s", type, st, code ? code : "");
  json_decref(r);
}

/* Waits (at most 30 s) until the hr read model has employee `badge`: the screens join
 * the people (hr's, projected by its own projection) to production's rows. */
static void wait_employee(const char *tok, const char *badge) {
  char path[128], hdr[2048];
  snprintf(path, sizeof path, "/api/v1/hr/employees/%s", badge);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  int st = 0;
  for (int i = 0; i < 150 && st != 200; i++) {
    h_resp_t r;
    cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 10000), 0, "no answer to GET %s", path);
    st = r.status;
    h_resp_free(&r);
    if (st != 200) usleep(200 * 1000);
  }
  cr_assert_eq(st, 200, "GET %s: %d", path, st);
}

static void account(const char *tenant_id, const char *body) {
  char *admin = h_token(tenant_id, "admin");
  char hdr[2048];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", admin);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/auth/accounts", hdr, body, &r, 30000), 0);
  cr_assert_eq(r.status, 201, "account %s: %d %s", body, r.status, r.body ? r.body : "");
  h_resp_free(&r);
  free(admin);
}

/* Runs the Playwright suite with the fixture; its report goes to our stdout (ctest shows
 * it on failure). Returns its exit status (-1 if killed at the time limit). */
static int run_browser_tests(const char *fixture, int timeout_s) {
  char dir[1024], fix[1200], base[128];
  snprintf(dir, sizeof dir, "%s/api/console", FOFAL_SOURCE_DIR);
  snprintf(fix, sizeof fix, "FOFAL_E2E_FIXTURE=%s", fixture);
  snprintf(base, sizeof base, "FOFAL_E2E_BASE=http://127.0.0.1:%d", port);
  fflush(stdout);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    if (chdir(dir)) _exit(126);
    putenv(fix);
    putenv(base);
    /* Never a download of Playwright's own browsers: Debian's chromium is named in the config. */
    putenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1");
    execlp("node", "node", "node_modules/@playwright/test/cli.js", "test", "-c", "e2e/playwright.config.ts", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  for (int i = 0; i < timeout_s * 10; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(100 * 1000);
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

static char *header(const h_resp_t *r, const char *name) {
  char *v = h_resp_header(r, name);
  cr_assert_not_null(v, "no %s header", name);
  return v;
}

Test(console, served_files, .timeout = 120) {
  port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, NULL};
  pid_t api = h_spawn("api/fofal-api", "test-console-api", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
  h_resp_t r;
  const char *pages[] = {"/console", "/console/", "/console/floor/weaver", "/console/office/machines"};
  char asset[256] = "";
  for (size_t i = 0; i < 4; i++) {
    cr_assert_eq(h_http(port, "GET", pages[i], NULL, NULL, &r, 10000), 0);
    cr_expect_eq(r.status, 200, "%s answers the page", pages[i]);
    char *type = header(&r, "content-type"), *csp = header(&r, "content-security-policy"), *cache = header(&r, "cache-control");
    char *xfo = header(&r, "x-frame-options"), *nosniff = header(&r, "x-content-type-options");
    cr_expect_str_eq(type, "text/html; charset=utf-8");
    cr_expect_str_eq(cache, "no-cache", "the page is checked again each time (a new build has new asset names)");
    cr_expect(strstr(csp, "default-src 'none'") && strstr(csp, "script-src 'self';") && strstr(csp, "connect-src 'self';") &&
                  strstr(csp, "frame-ancestors 'none'") && !strstr(csp, "unsafe"),
              "a strict CSP, no unsafe-inline or unsafe-eval: %s", csp);
    cr_expect_str_eq(xfo, "DENY");
    cr_expect_str_eq(nosniff, "nosniff");
    cr_expect(strstr(r.body, "<div id=\"root\">") != NULL, "the console's index.html");
    cr_expect(!strstr(r.body, "<script>") && !strstr(r.body, "<style"), "no inline script or style");
    const char *src = strstr(r.body, "src=\"/console/assets/");
    cr_assert_not_null(src, "the page names its script under /console/assets/");
    if (!asset[0]) snprintf(asset, sizeof asset, "%.*s", (int)strcspn(src + 5, "\""), src + 5);
    free(type), free(csp), free(cache), free(xfo), free(nosniff);
    h_resp_free(&r);
  }
  cr_assert_eq(h_http(port, "GET", asset, NULL, NULL, &r, 10000), 0);
  cr_expect_eq(r.status, 200, "%s", asset);
  char *type = header(&r, "content-type"), *cache = header(&r, "cache-control");
  cr_expect_str_eq(type, "text/javascript; charset=utf-8");
  cr_expect_str_eq(cache, "public, max-age=31536000, immutable", "hashed assets are cached for good");
  free(type), free(cache);
  h_resp_free(&r);
  const char *files[][2] = {{"/console/sw.js", "text/javascript; charset=utf-8"},
                            {"/console/manifest.webmanifest", "application/manifest+json"},
                            {"/console/icon-192.png", "image/png"}};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(h_http(port, "GET", files[i][0], NULL, NULL, &r, 10000), 0);
    cr_expect_eq(r.status, 200, "%s", files[i][0]);
    char *t = header(&r, "content-type");
    cr_expect_str_eq(t, files[i][1], "%s", files[i][0]);
    free(t);
    h_resp_free(&r);
  }
  /* What is no file: a missing asset, a dotted name, a way out of the folder. */
  const char *missing[] = {"/console/assets/nope.js", "/console/secret.txt", "/console/../api/v1/openapi.json.map",
                           "/console/assets/"};
  for (size_t i = 0; i < 4; i++) {
    cr_assert_eq(h_http(port, "GET", missing[i], NULL, NULL, &r, 10000), 0);
    cr_expect(r.status == 404, "%s answers 404 (got %d)", missing[i], r.status);
    h_resp_free(&r);
  }
  cr_assert_eq(h_http(port, "POST", "/console/", "Content-Type: text/plain\r\n", "x", &r, 10000), 0);
  cr_expect_eq(r.status, 405);
  char *allow = header(&r, "allow");
  cr_expect_str_eq(allow, "GET, HEAD");
  free(allow);
  h_resp_free(&r);
  h_stop(api, SIGTERM);
}

Test(console, screens_in_a_real_browser, .timeout = 600) {
  h_tenant(tenant);
  h_tenant(other);
  pid_t ing = h_start_ingest(tenant);
  pid_t mach = h_start_machines(tenant);
  pid_t proj = h_start_projector(tenant);
  pid_t dec = h_start_decider(tenant);
  pid_t rea = h_start_reactor(tenant);
  port = h_free_port();
  pid_t api = h_start_api(port);

  /* Tenant A's floor: L1 ready to weave, W1 on this shift and the next at L1, M1, an
   * order started on L1. (h_floor_http's own weaver, W0, has no looms on their shifts.) */
  h_floor_http(port, tenant, "L1", "W0", "ART-E2E");
  char *admin = h_token(tenant, "admin"), b[1024], order[FOFAL_UUID_LEN + 1], shift[32], next[32];
  admin_cmd(admin, "hr.employee.register", "e2e-w1", "{\"badge\":\"W1\",\"name\":\"Wafa\",\"job\":\"weaver\"}");
  h_shift_at(fofal_now_us(), shift);
  for (int64_t t = fofal_now_us(); t < fofal_now_us() + 9 * 3600 * 1000000LL; t += 600 * 1000000LL) {
    h_shift_at(t, next);
    if (strcmp(next, shift)) break;
  }
  snprintf(b, sizeof b, "{\"badge\":\"W1\",\"shift\":\"%s\",\"looms\":[\"L1\"]}", shift);
  admin_cmd(admin, "hr.employee.assign_shift", "e2e-w1-shift", b);
  snprintf(b, sizeof b, "{\"badge\":\"W1\",\"shift\":\"%s\",\"looms\":[\"L1\"]}", next);
  admin_cmd(admin, "hr.employee.assign_shift", "e2e-w1-next", b);
  admin_cmd(admin, "hr.employee.register", "e2e-m1", "{\"badge\":\"M1\",\"name\":\"Mounir\",\"job\":\"mechanic\"}");
  wait_employee(admin, "M1"); /* the last of the tenant's hr commands: W1's shifts are in */
  fofal_uuid7(order);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"article\":\"ART-E2E\",\"quantity\":40,\"due_date\":\"2030-01-31\"}", order);
  admin_cmd(admin, "production.order.create", "e2e-order-create", b);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  admin_cmd(admin, "production.order.plan", "e2e-order-plan", b);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\"}", order);
  admin_cmd(admin, "production.order.release", "e2e-order-release", b);
  snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"loom\":\"L1\"}", order);
  admin_cmd(admin, "production.order.start", "e2e-order-start", b);

  /* The finished-goods store the storekeeper moves the declared roll into. */
  admin_cmd(admin, "inventory.location.define", "e2e-pf1", "{\"location\":\"PF-1\",\"kind\":\"finished\"}");

  account(tenant, "{\"username\":\"w1\",\"role\":\"weaver\",\"badge\":\"W1\",\"pin\":\"481275\"}");
  account(tenant, "{\"username\":\"c1\",\"role\":\"cutter\",\"badge\":\"C1\",\"pin\":\"730518\"}");
  account(tenant, "{\"username\":\"s1\",\"role\":\"storekeeper_pf\",\"badge\":\"S1\",\"pin\":\"264903\"}");
  account(tenant, "{\"username\":\"m1\",\"role\":\"mechanic\",\"badge\":\"M1\",\"pin\":\"592364\"}");
  account(tenant, "{\"username\":\"q1\",\"role\":\"quality\",\"badge\":\"Q1\",\"pin\":\"318264\"}");
  account(tenant, "{\"username\":\"plan\",\"role\":\"planner\",\"password\":\"planner-pass-2026\"}");
  account(tenant, "{\"username\":\"boss\",\"role\":\"manager\",\"password\":\"manager-pass-2026\"}");
  account(tenant, "{\"username\":\"compta\",\"role\":\"accountant\",\"password\":\"accountant-pass-2026\"}");
  account(tenant, "{\"username\":\"rh\",\"role\":\"hr\",\"password\":\"hr-pass-2026-paie\"}");
  account(other, "{\"username\":\"plan\",\"role\":\"planner\",\"password\":\"other-planner-2026\"}");

  char *planner_token = h_token(tenant, "planner");
  char fixture[1024], result[1024];
  snprintf(fixture, sizeof fixture, "%s/console-e2e.json", h_env("FOFAL_STACK_DIR"));
  snprintf(result, sizeof result, "%s/console-e2e-result.json", h_env("FOFAL_STACK_DIR"));
  unlink(result);
  const char *mqtt = h_env("FOFAL_MQTT_URI"); /* tcp://127.0.0.1:PORT */
  const char *colon = strrchr(mqtt, ':');
  json_t *fx = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:s,s:i,s:s}",
                         "tenant", tenant, "other_tenant", other, "order_id", order, "loom", "L1", "article", "ART-E2E",
                         "weaver", "badge", "W1", "pin", "481275", "mechanic", "badge", "M1", "pin", "592364", "planner",
                         "username", "plan", "password", "planner-pass-2026", "manager", "username", "boss", "password",
                         "manager-pass-2026", "other_planner", "username", "plan", "password", "other-planner-2026",
                         "planner_token", planner_token, "mqtt_port", colon ? atoi(colon + 1) : 0, "result", result);
  json_object_set_new(fx, "cutter", json_pack("{s:s,s:s}", "badge", "C1", "pin", "730518"));
  json_object_set_new(fx, "storekeeper_pf", json_pack("{s:s,s:s}", "badge", "S1", "pin", "264903"));
  json_object_set_new(fx, "finished_store", json_string("PF-1"));
  json_object_set_new(fx, "quality", json_pack("{s:s,s:s}", "badge", "Q1", "pin", "318264"));
  json_object_set_new(fx, "accountant", json_pack("{s:s,s:s}", "username", "compta", "password", "accountant-pass-2026"));
  json_object_set_new(fx, "hr", json_pack("{s:s,s:s}", "username", "rh", "password", "hr-pass-2026-paie"));
  int dumped = json_dump_file(fx, fixture, JSON_INDENT(2));
  json_decref(fx);
  free(planner_token); /* before the asserts: a failed browser run is not reported as a leak too */
  free(admin);
  cr_assert_eq(dumped, 0, "cannot write %s", fixture);

  int rc = run_browser_tests(fixture, 420);
  cr_assert_eq(rc, 0, "the browser tests failed (exit %d); their report is above", rc);

  /* The offline declaration: its batch was sent twice (the first answer lost), one event. */
  json_error_t jerr;
  json_t *res = json_load_file(result, 0, &jerr);
  cr_assert_not_null(res, "the browser tests wrote no %s: %s", result, jerr.text);
  const char *key = json_string_value(json_object_get(res, "offline_key"));
  const char *sub = json_string_value(json_object_get(res, "weaver_sub"));
  cr_assert(key && sub, "the result names the offline declaration's key and the weaver");
  char cmd_id[512];
  snprintf(cmd_id, sizeof cmd_id, "%s/%s", sub, key);
  int declared = 0;
  json_t *recs = h_read_topic("fofal.production.events"), *rec;
  size_t i;
  json_array_foreach(recs, i, rec) {
    json_t *v = json_object_get(rec, "value");
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *cid = json_string_value(json_object_get(v, "fofalcommandid"));
    if (type && strstr(type, ".output_declared.") && cid && !strcmp(cid, cmd_id)) declared++;
  }
  json_decref(recs);
  cr_expect_eq(declared, 1, "the offline declaration %s is one output_declared event (found %d)", cmd_id, declared);
  json_decref(res);

  h_stop(api, SIGTERM);
  h_stop(rea, SIGTERM);
  h_stop(dec, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(mach, SIGTERM);
  h_stop(ing, SIGTERM);
}
