/*
 * test_docs.c — what a reader of the API documentation gets (issue 23, items 9 and 10):
 *
 *   - Swagger UI at /api/docs/ renders the operations of the OpenAPI 3.1 document in a
 *     real browser (Debian's headless Chromium, --dump-dom): the Swagger UI 3 of Debian's
 *     python3-flasgger showed "Unable to render this definition" instead. Its page has no
 *     inline script and a strict Content-Security-Policy, its initializer turns query
 *     configuration off, and the package's own index.html and initializer are not served.
 *   - The OpenAPI document is as strict as the server: for sample values of the
 *     Idempotency-Key, If-Match and ?position= parameters, the document's schema
 *     (checked with commands/jsonschema.c) accepts exactly what the server accepts; the
 *     auth routes and GET /commands/{id} document the 400/401/415/422 they answer.
 *
 * Only fofal-api runs (no decider, no projector): every request here is answered before
 * a command would be produced or a read would reach data.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fofal_api.h"
#include "harness.h"
#include "jsonschema.h"

static int port;
static pid_t api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  /* A position that is well formed but not reached answers at once (503), not after 2 s. */
  const char *env[] = {p, "FOFAL_API_POSITION_WAIT_MS=0", NULL};
  api = h_spawn("api/fofal-api", "test-docs-api", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
}

static void teardown(void) { h_stop(api, SIGTERM); }

TestSuite(docs, .init = setup, .fini = teardown, .timeout = 300);

static h_resp_t get(const char *path, const char *headers) {
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", path, headers, NULL, &r, 10000), 0, "no answer to GET %s", path);
  return r;
}

/* ------------------------------------------------------------ Swagger UI */

Test(docs, page_is_strict) {
  h_resp_t r = get("/api/docs/", NULL);
  cr_assert_eq(r.status, 200);
  char *csp = h_resp_header(&r, "content-security-policy");
  cr_assert_not_null(csp);
  cr_expect(strstr(csp, "default-src 'none'") && strstr(csp, "script-src 'self'") && strstr(csp, "connect-src 'self'") &&
                strstr(csp, "frame-ancestors 'none'"),
            "a strict CSP on the docs page (got %s)", csp);
  cr_expect(!strstr(csp, "unsafe"), "no unsafe-inline or unsafe-eval (got %s)", csp);
  free(csp);
  char *xfo = h_resp_header(&r, "x-frame-options"), *nosniff = h_resp_header(&r, "x-content-type-options");
  cr_expect(xfo && !strcmp(xfo, "DENY") && nosniff && !strcmp(nosniff, "nosniff"), "transport.c's headers stay");
  free(xfo);
  free(nosniff);
  /* Every script is a file of this origin: the CSP allows no inline one. */
  int scripts = 0;
  for (const char *s = strstr(r.body, "<script"); s; s = strstr(s + 1, "<script")) {
    cr_expect(!strncmp(s, "<script src=\"/api/docs/", 23), "an inline or foreign script: %.60s", s);
    scripts++;
  }
  cr_expect_eq(scripts, 2, "the bundle and our initializer");
  h_resp_free(&r);

  r = get("/api/docs/fofal-docs.js", NULL);
  cr_expect_eq(r.status, 200);
  cr_expect(strstr(r.body, "queryConfigEnabled: false") && strstr(r.body, "url: '/api/v1/openapi.json'") &&
                strstr(r.body, "validatorUrl: null"),
            "our initializer: no query config, our document, no outside validator");
  h_resp_free(&r);

  r = get("/api/docs/static/swagger-ui-bundle.js", NULL);
  cr_expect_eq(r.status, 200);
  cr_expect_gt(r.body_len, 100000, "the bundle is served whole (%zu bytes)", r.body_len);
  char *ct = h_resp_header(&r, "content-type");
  cr_expect(ct && strstr(ct, "javascript"), "JavaScript (got %s)", ct ? ct : "none");
  free(ct);
  h_resp_free(&r);
  r = get("/api/docs/static/swagger-ui.css", NULL);
  cr_expect_eq(r.status, 200);
  h_resp_free(&r);

  /* Not the package's page, nor its initializer (query config, the petstore), nor
   * anything else of the folder or outside it. */
  const char *refused[] = {"/api/docs/static/index.html", "/api/docs/static/swagger-initializer.js",
                           "/api/docs/static/package.json", "/api/docs/static/../../../etc/passwd",
                           "/api/docs/static/", "/api/docs/nothing"};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    r = get(refused[i], NULL);
    cr_expect_eq(r.status, 404, "%s answers 404 (got %d)", refused[i], r.status);
    h_resp_free(&r);
  }
}

/* Runs `chromium --headless --dump-dom <url>` (at most 120 s); its stdout into *dom and
 * its stderr (the console) into *console, both new. Returns its exit status. */
static int browser_dom(const char *url, int budget_ms, char **dom, char **console) {
  const char *stack = h_env("FOFAL_STACK_DIR");
  char dir[1024], out[1100], err[1100], budget[64], profile[1100], cmd[1200];
  snprintf(dir, sizeof dir, "%s/tmp/test-docs-browser", stack);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/profile'", dir, dir);
  cr_assert_eq(system(cmd), 0);
  snprintf(out, sizeof out, "%s/dom.html", dir);
  snprintf(err, sizeof err, "%s/console.log", dir);
  snprintf(profile, sizeof profile, "--user-data-dir=%s/profile", dir);
  snprintf(budget, sizeof budget, "--virtual-time-budget=%d", budget_ms);
  const char *exe = getenv("FOFAL_TEST_CHROMIUM") ? getenv("FOFAL_TEST_CHROMIUM") : "chromium";
  /* The flags of a closed machine: no sandbox (root), no GPU, and none of the browser's
   * own network traffic (updates, sync, QUIC) that would fail here. */
  const char *argv[] = {exe,
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        "--enable-logging=stderr",
                        "--log-level=0",
                        /* Swagger UI renders the operations near the viewport only: a
                         * window as tall as the whole list (~45 px an operation). */
                        "--window-size=1280,24000",
                        profile,
                        budget,
                        "--dump-dom",
                        url,
                        NULL};
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0); /* its own group: a timeout kills the browser's helpers too */
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
    execvp(exe, (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s (Debian package chromium; ops/setup installs it)\n", exe, strerror(errno));
    _exit(127);
  }
  int status = -1;
  for (int i = 0; i < 1200; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (i == 1199) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    usleep(100 * 1000);
  }
  FILE *f;
  char **into[] = {dom, console};
  const char *from[] = {out, err};
  for (int i = 0; i < 2; i++) {
    *into[i] = NULL;
    size_t n = 0;
    cr_assert_not_null(f = fopen(from[i], "rb"));
    FILE *m = open_memstream(into[i], &n);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, m);
    fclose(m);
    fclose(f);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(docs, browser_renders_the_operations) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/api/docs/", port);
  /* Swagger UI's id of an operation: operations-<tag>-<operationId>, dots escaped. */
  const char *ops[] = {"operations-production-production\\.order\\.create",
                       "operations-production-production\\.orders\\.list",
                       "operations-auth-auth\\.login",
                       "operations-commands-commands\\.status",
                       "operations-audit-audit\\.events",
                       "operations-stream-stream",
                       "operations-tag-machines"};
  char *dom = NULL, *console = NULL;
  int rc = -1, rendered = 0;
  /* Virtual time stops while the page waits for the network, so the budget is what the
   * page may spend after its last fetch; on a loaded machine a second try gets more. */
  for (int attempt = 0; attempt < 3 && !rendered; attempt++) {
    free(dom);
    free(console);
    rc = browser_dom(url, 15000 * (attempt + 1), &dom, &console);
    rendered = strstr(dom, ops[0]) != NULL;
  }
  cr_assert_eq(rc, 0, "chromium failed (exit %d): %.2000s", rc, console);
  cr_expect(!strstr(dom, "Unable to render this definition"), "Swagger UI cannot read the document");
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    cr_expect(strstr(dom, ops[i]) != NULL, "the page shows no %s (DOM: %zu bytes; console: %.1500s)", ops[i],
              strlen(dom), console);
  cr_expect(strstr(dom, "OAS 3.1") != NULL, "the version badge says OAS 3.1");
  /* A script, style, font, image or fetch that the CSP refused would be logged here. */
  cr_expect(!strstr(console, "Content Security Policy") && !strstr(console, "Refused to"),
            "the page needs nothing the CSP refuses: %.1500s", console);
  free(dom);
  free(console);
}

/* ------------------------------------------------------- the OpenAPI document */

/* The document as served (new). */
static json_t *document(void) {
  h_resp_t r = get("/api/v1/openapi.json", NULL);
  cr_assert_eq(r.status, 200);
  json_t *doc = json_loads(r.body, 0, NULL);
  h_resp_free(&r);
  cr_assert_not_null(doc, "the OpenAPI document is not JSON");
  return doc;
}

/* Whether the compiled `schema` accepts `value` as a string. */
static int schema_accepts(const json_t *schema, const char *value) {
  fofal_schema_t *s = NULL;
  char err[256];
  cr_assert_eq(fofal_schema_compile(&s, schema, NULL, err, sizeof err), 0, "the parameter's schema: %s", err);
  json_t *v = json_string(value);
  int rc = fofal_schema_validate(s, v, NULL);
  json_decref(v);
  fofal_schema_free(s);
  return rc == 0;
}

static const json_t *param_schema(const json_t *doc, const char *name) {
  const json_t *p = json_object_get(json_object_get(json_object_get(doc, "components"), "parameters"), name);
  const json_t *s = json_object_get(p, "schema");
  cr_assert_not_null(s, "no components.parameters.%s", name);
  return s;
}

/* POSTs production.order.create with an empty body (invalid: 422 once the headers pass). */
static int post_create(const char *token, const char *key, const char *if_match, char *code, size_t codelen) {
  char *h = fofal_asprintf("Authorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: %s\r\n%s%s%s",
                           token, key, if_match ? "If-Match: " : "", if_match ? if_match : "", if_match ? "\r\n" : "");
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", "/api/v1/commands/production.order.create", h, "{}", &r, 10000), 0);
  json_t *j = json_loads(r.body, 0, NULL);
  snprintf(code, codelen, "%s", json_string_value(json_object_get(j, "code")) ? json_string_value(json_object_get(j, "code")) : "");
  json_decref(j);
  free(h);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

Test(docs, idempotency_key_and_if_match_as_strict_as_the_server) {
  json_t *doc = document();
  cr_expect(!strncmp(json_string_value(json_object_get(doc, "openapi")), "3.1.", 4), "OpenAPI 3.1");
  const json_t *key = param_schema(doc, "IdempotencyKey"), *ifm = param_schema(doc, "IfMatch");
  cr_expect(json_is_string(json_object_get(key, "pattern")) && json_is_integer(json_object_get(key, "maxLength")),
            "Idempotency-Key has a pattern and a maxLength");
  cr_expect(json_is_string(json_object_get(ifm, "pattern")), "If-Match has a pattern");
  char *tok = h_token(tenant, "planner");
  char long_ok[201], too_long[202], code[64];
  memset(long_ok, 'k', 200);
  long_ok[200] = '\0';
  memset(too_long, 'k', 201);
  too_long[201] = '\0';
  const char *keys[] = {"k1", "order-2026.11:A_7", long_ok, too_long, "a b", "a,b", "a\"b", "{x}", "é", "a/b", "a~b"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    int doc_ok = schema_accepts(key, keys[i]);
    int st = post_create(tok, keys[i], NULL, code, sizeof code);
    int server_ok = !(st == 400 && (!strcmp(code, "idempotency_key_required") || !strcmp(code, "malformed_idempotency_key")));
    cr_expect_eq(doc_ok, server_ok, "Idempotency-Key \"%.40s\" (%zu chars): the document %s it, the server %s it (%d %s)",
                 keys[i], strlen(keys[i]), doc_ok ? "accepts" : "refuses", server_ok ? "accepts" : "refuses", st, code);
    cr_expect(st < 500, "never a 5xx for a header (got %d)", st);
  }
  const char *versions[] = {"\"7\"",   "W/\"7\"", "\"0\"",  "\"123456789012345678\"", "\"1234567890123456789\"",
                            "\"9999999999999999999\"",
                            "\"99999999999999999999\"", "7", "\"x\"", "\"\"", "\"7", "\"-1\"", "w/\"7\"", "\"7\" "};
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    int doc_ok = schema_accepts(ifm, versions[i]);
    int st = post_create(tok, "k-if-match", versions[i], code, sizeof code);
    int server_ok = !(st == 400 && !strcmp(code, "malformed_if_match"));
    cr_expect_eq(doc_ok, server_ok, "If-Match %s: the document %s it, the server %s it (%d %s)", versions[i],
                 doc_ok ? "accepts" : "refuses", server_ok ? "accepts" : "refuses", st, code);
    cr_expect(st < 500, "never a 5xx for a header (got %d)", st);
  }
  /* The batch's keys follow the same rule. */
  const json_t *item = json_object_get(
      json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                                      "CommandBatch"),
                                      "properties"),
                      "commands"),
      "items");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(item, "properties"), "idempotency_key"),
                                                     "pattern")),
                   json_string_value(json_object_get(key, "pattern")));
  free(tok);
  json_decref(doc);
}

/* GET path?position=pos; whether the server took the position (anything but 400
 * malformed_position). */
static int server_takes_position(const char *token, const char *path, const char *pos) {
  char *h = fofal_asprintf("Authorization: Bearer %s\r\n", token), *url = fofal_asprintf("%s?position=%s", path, pos);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", url, h, NULL, &r, 10000), 0);
  json_t *j = json_loads(r.body, 0, NULL);
  int took = !(r.status == 400 && !strcmp(json_string_value(json_object_get(j, "code")) ? json_string_value(json_object_get(j, "code")) : "", "malformed_position"));
  cr_expect(r.status < 500 || r.status == 503, "%s: %d", url, r.status);
  json_decref(j);
  h_resp_free(&r);
  free(h);
  free(url);
  return took;
}

Test(docs, position_as_strict_as_the_server) {
  json_t *doc = document();
  char *tok = h_token(tenant, "auditor");
  const char *positions[] = {"production:0:0",        "machines:3:17",       "production:1023:5",
                             "production:0001023:5",  "production:1024:5",   "production:000000000000007:5",
                             "production:0000000000000007:5", "production:0:123456789012345678",
                             "production:0:1234567890123456789", "bogus:0:0", "audit:0:0", "Production:0:0",
                             "production:-1:0",       "production:0",        "production:0:0:0", "production::0"};
  struct {
    const char *param, *path;
  } routes[] = {{"Position", "/api/v1/production/orders"}, {"AuditPosition", "/api/v1/audit/production/x/events"}};
  for (size_t r = 0; r < 2; r++) {
    const json_t *schema = param_schema(doc, routes[r].param);
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
      int doc_ok = schema_accepts(schema, positions[i]), server_ok = server_takes_position(tok, routes[r].path, positions[i]);
      cr_expect_eq(doc_ok, server_ok, "%s ?position=%s: the document %s it, the server %s it", routes[r].path,
                   positions[i], doc_ok ? "accepts" : "refuses", server_ok ? "accepts" : "refuses");
    }
  }
  free(tok);
  json_decref(doc);
}

Test(docs, auth_and_command_status_document_their_errors) {
  json_t *doc = document(), *paths = json_object_get(doc, "paths");
  const char *path;
  json_t *item;
  int auth_ops = 0;
  json_object_foreach(paths, path, item) {
    if (strncmp(path, "/api/v1/auth/", 13)) continue;
    const char *method;
    json_t *op;
    json_object_foreach(item, method, op) {
      json_t *resp = json_object_get(op, "responses"), *sec = json_object_get(op, "security");
      int pub = json_is_array(sec) && json_array_size(sec) == 0;
      if (!pub) cr_expect_not_null(json_object_get(resp, "401"), "%s %s: 401 undocumented", method, path);
      if (json_object_get(op, "requestBody"))
        for (const char *const *st = (const char *const[]){"400", "415", "422", NULL}; *st; st++)
          cr_expect_not_null(json_object_get(resp, *st), "%s %s: %s undocumented", method, path, *st);
      auth_ops++;
    }
  }
  cr_expect_geq(auth_ops, 10);
  json_t *status = json_object_get(json_object_get(paths, "/api/v1/commands/{id}"), "get");
  cr_expect_not_null(json_object_get(json_object_get(status, "responses"), "401"), "GET /commands/{id}: 401 undocumented");
  json_t *id = json_array_get(json_object_get(status, "parameters"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(id, "schema"), "pattern")),
                   json_string_value(json_object_get(param_schema(doc, "IdempotencyKey"), "pattern")),
                   "the command id is an Idempotency-Key");

  /* And the server answers them. */
  struct {
    const char *method, *path, *headers, *body, *code;
    int status;
  } cases[] = {
      {"GET", "/api/v1/commands/k1", NULL, NULL, "unauthenticated", 401},
      {"POST", "/api/v1/auth/devices", "Content-Type: application/json\r\n", "{\"name\":\"x\"}", "unauthenticated", 401},
      {"POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", "{", "malformed_json", 400},
      {"POST", "/api/v1/auth/login", "Content-Type: text/plain\r\n", "{}", "unsupported_media_type", 415},
      {"POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", "{}", "invalid_request", 422},
      {"POST", "/api/v1/auth/refresh", "Content-Type: application/json\r\n", "{\"refresh_token\":\"\"}", "invalid_request", 422},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    h_resp_t r;
    cr_assert_eq(h_http(port, cases[i].method, cases[i].path, cases[i].headers, cases[i].body, &r, 10000), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_expect_eq(r.status, cases[i].status, "%s %s: %d (expected %d)", cases[i].method, cases[i].path, r.status,
                 cases[i].status);
    cr_expect_str_eq(json_string_value(json_object_get(j, "code")) ? json_string_value(json_object_get(j, "code")) : "",
                     cases[i].code, "%s %s", cases[i].method, cases[i].path);
    json_decref(j);
    h_resp_free(&r);
  }
  json_decref(doc);
}
