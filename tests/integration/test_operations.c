/*
 * test_operations.c — the operations tooling works for every registered module (issue 13,
 * "Done when"), against the real Kafka, PostgreSQL and Redis of the test stack with
 * fofal-decider, fofal-projector and fofal-api:
 *
 *   - every module is audited unless it opts out, and its audit trail is served
 *     (/api/v1/audit/{module}/..., here for a catalog article and an identity account);
 *   - for every registered projection (fofal_projections: the modules' own and their audit
 *     projections "audit.<m>", which share audit.events), `fofal rebuild <p>` swaps in a
 *     rebuilt model and `fofal verify <p>` then finds the live model equal to a fresh
 *     rebuild; a rebuild of one module's audit trail leaves the other modules' rows alone;
 *   - after the identity projection was rebuilt, the same account signs in;
 *   - `fofal replay <m>` prints the module's events, `fofal topics check` lists a topic per
 *     module.
 * The lists come from the registration tables, so a module that registers later is
 * covered without an edit here. Each CLI run projects whole topics: the test adds only a
 * few events of its own.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "projections.h"

static int port;
static pid_t api, dec, proj;
static char tenant[32];
static char *admin, *auditor;

static void setup(void) {
  h_tenant(tenant);
  admin = h_token(tenant, "admin");
  auditor = h_token(tenant, "auditor");
  dec = h_start_decider("it-operations");
  proj = h_start_projector("it-operations");
  port = h_free_port();
  char p[64];
  snprintf(p, sizeof p, "FOFAL_HTTP_PORT=%d", port);
  const char *env[] = {p, "FOFAL_API_ARGON2_MEMORY_KIB=8192", NULL};
  api = h_spawn("api/fofal-api", "test-api-operations", NULL, env);
  cr_assert_eq(h_wait_ready(port, 30000), 0, "fofal-api did not become ready on port %d", port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(admin);
  free(auditor);
}

TestSuite(operations, .init = setup, .fini = teardown, .timeout = 600);

static const char *s_of(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)) ?: ""; }

/* POST JSON as `token`: the status, *out the parsed body (new). */
static int post(const char *path, const char *token, const char *body, json_t **out) {
  char hdr[4300] = "";
  if (token) snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  h_resp_t r;
  cr_assert_eq(h_http(port, "POST", path, hdr, body, &r, 30000), 0, "no answer to POST %s", path);
  *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

/* GET as the auditor: the status, *out the parsed body (new). */
static int get(const char *path, json_t **out) {
  char hdr[4300];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", auditor);
  h_resp_t r;
  cr_assert_eq(h_http(port, "GET", path, hdr, NULL, &r, 30000), 0, "no answer to GET %s", path);
  *out = json_loads(r.body, 0, NULL);
  int st = r.status;
  h_resp_free(&r);
  return st;
}

static int login(const char *user, const char *password) {
  json_t *out = NULL;
  char *body = fofal_asprintf("{\"tenant\":\"%s\",\"username\":\"%s\",\"password\":\"%s\"}", tenant, user, password);
  int st = post("/api/v1/auth/login", NULL, body, &out);
  cr_expect(st != 200 || *s_of(out, "access_token"), "a sign-in answers a token");
  free(body);
  json_decref(out);
  return st;
}

/* The audit trail of `module`'s aggregate `name`, read after `position`: its event types
 * joined by spaces into types. */
static int audit_types(const char *module, const char *name, const char *position, char *types, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "/api/v1/audit/%s/%s/events?position=%s", module, name, position);
  json_t *j = NULL, *it;
  size_t i;
  int st = get(path, &j);
  types[0] = '\0';
  json_array_foreach(json_object_get(j, "items"), i, it) {
    snprintf(types + strlen(types), len - strlen(types), "%s ", s_of(it, "type"));
  }
  json_decref(j);
  return st;
}

/* Rows of audit.events per module, "catalog=3 production=7 …" (one tenant). */
static void audit_rows(char *out, size_t len) {
  char *text = NULL;
  fofal_pg_t *pg = NULL;
  char err[256];
  cr_assert_eq(fofal_pg_connect(&pg, h_env("FOFAL_PG_DSN"), err, sizeof err), 0, "%s", err);
  const char *p[] = {tenant};
  cr_assert_eq(fofal_pg_query_value(pg,
                                    "SELECT coalesce(string_agg(module || '=' || n, ' ' ORDER BY module), '') FROM "
                                    "(SELECT module, count(*) n FROM audit.events WHERE tenant = $1 GROUP BY module) c",
                                    1, p, &text, err, sizeof err),
               0, "%s", err);
  snprintf(out, len, "%s", text ? text : "");
  free(text);
  fofal_pg_close(pg);
}

static void expect_cli(int want, const char *what, const char *const *args, char **out) {
  char *o = NULL;
  int st = h_run_cli(300, &o, args);
  cr_expect_eq(st, want, "%s: exit %d, not %d:\n%s", what, st, want, o ? o : "");
  if (out) *out = o;
  else free(o);
}

Test(operations, every_module_is_audited_rebuilt_verified_and_replayed) {
  /* A few events of three modules: an article (catalog), a loom (production), an account
   * (identity). */
  json_t *res = NULL;
  cr_assert_eq(h_command_ok(port, admin, "catalog.article.define", "ops-article",
                            NULL, "{\"article\":\"FT-OPS\",\"name\":\"Ops\",\"weave\":\"flat\",\"width_cm\":50,"
                            "\"length_cm\":100,\"picks_per_cm\":18}", &res),
               201);
  char article_pos[96];
  snprintf(article_pos, sizeof article_pos, "%s", s_of(res, "position"));
  json_decref(res);
  cr_assert_eq(h_command_ok(port, admin, "production.loom.register", "ops-loom", NULL,
                            "{\"loom\":\"L-OPS\",\"hall\":\"H1\",\"nominal_ppm\":450,\"weave\":\"flat\"}", &res),
               201);
  json_decref(res);
  cr_assert_eq(post("/api/v1/auth/accounts", admin,
                    "{\"username\":\"opsy\",\"role\":\"planner\",\"password\":\"opsy-password-0001\"}", &res),
               201, "%s", s_of(res, "detail"));
  char account[64], account_pos[96] = "";
  snprintf(account, sizeof account, "%s", s_of(res, "account_id"));
  json_decref(res);
  cr_assert_eq(login("opsy", "opsy-password-0001"), 200);

  /* Every module but those that opt out has its audit projection; catalog and identity
   * do not opt out. */
  cr_expect_not_null(fofal_projection_find("audit.catalog"));
  cr_expect_not_null(fofal_projection_find("audit.identity"));

  /* The catalog's audit trail, by code, once recorded (?position=). */
  char types[512];
  cr_expect_eq(audit_types("catalog", "FT-OPS", article_pos, types, sizeof types), 200);
  cr_expect(strstr(types, "fofal.catalog.article_defined.v1"), "the catalog's audit trail: %s", types);
  /* The identity's: the account's creation and its sign-in, by id, read after the
   * sign-in's event (produced right after its answer: looked for until it is there). */
  for (int64_t t0 = fofal_mono_us(); !account_pos[0] && fofal_mono_us() - t0 < 20 * 1000000LL;) {
    json_t *all = h_read_topic("fofal.identity.events"), *m;
    size_t i;
    json_array_foreach(all, i, m) {
      json_t *v = json_object_get(m, "value");
      if (!strcmp(s_of(v, "subject"), account) && !strcmp(s_of(v, "type"), "fofal.identity.login_succeeded.v1"))
        snprintf(account_pos, sizeof account_pos, "identity:%lld:%lld",
                 (long long)json_integer_value(json_object_get(m, "partition")),
                 (long long)json_integer_value(json_object_get(m, "offset")));
    }
    json_decref(all);
  }
  cr_assert(account_pos[0], "login_succeeded of %s is on fofal.identity.events", account);
  cr_expect_eq(audit_types("identity", account, account_pos, types, sizeof types), 200);
  cr_expect(strstr(types, "fofal.identity.account_created.v1") && strstr(types, "fofal.identity.login_succeeded.v1"),
            "the identity's audit trail: %s", types);
  /* …without the secrets sealed under the master key (the password hash). */
  {
    char path[256];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/api/v1/audit/identity/%s/events", account);
    cr_assert_eq(get(path, &j), 200);
    char *text = json_dumps(j, JSON_COMPACT);
    cr_expect(!strstr(text, FOFAL_PD_SECRET_PREFIX), "a sealed secret in the audit trail: %s", text);
    cr_expect_str_eq(s_of(json_object_get(json_array_get(json_object_get(j, "items"), 0), "data"), "password_hash"),
                     "(sealed secret)", "%s", text);
    free(text);
    json_decref(j);
  }
  /* A module that opts out keeps none. */
  for (int k = 0; fofal_projection_modules[k]; k++) {
    if (fofal_projection_modules[k]->audit != FOFAL_AUDIT_OFF) continue;
    char path[256];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/api/v1/audit/%s/x/events", fofal_projection_modules[k]->name);
    cr_expect_eq(get(path, &j), 404, "%s", path);
    cr_expect(strstr(s_of(j, "detail"), "keeps no audit trail"), "%s", s_of(j, "detail"));
    json_decref(j);
  }

  /* Rebuild, then verify, every projection. The audit rows of each module stay what they
   * were through every other module's rebuild. */
  char before[512], after[512];
  audit_rows(before, sizeof before);
  cr_expect(strstr(before, "catalog=1") && strstr(before, "production=1") && strstr(before, "identity="),
            "audit rows of the tenant: %s", before);
  for (int k = 0; fofal_projections[k]; k++) {
    const char *name = fofal_projections[k]->name;
    char *out = NULL;
    const char *rb[] = {"rebuild", name, NULL}, *vf[] = {"verify", name, NULL};
    expect_cli(0, name, rb, &out);
    json_t *sum = json_loads(out ? out : "", 0, NULL);
    cr_expect_str_eq(s_of(sum, "rebuild"), name, "rebuild %s: %s", name, out ? out : "");
    json_decref(sum);
    free(out);
    expect_cli(0, name, vf, &out);
    cr_expect(out && strstr(out, " OK") && !strstr(out, "DIFFERENT"), "verify %s:\n%s", name, out ? out : "");
    free(out);
    audit_rows(after, sizeof after);
    cr_expect_str_eq(after, before, "after rebuild %s, the tenant's audit rows per module", name);
  }
  /* The rebuilt identity projection signs the same account in. */
  cr_expect_eq(login("opsy", "opsy-password-0001"), 200, "the account signs in after `fofal rebuild identity`");
  /* Reads that call a SQL function of the migrations still run after the rebuilds (a
   * rebuild swaps a module's schema: catalog.in_units went with it, and a lot's read was 500). */
  {
    json_t *j = NULL;
    cr_expect_eq(get("/api/v1/inventory/lots/NO-SUCH-LOT", &j), 404, "a lot's read after `fofal rebuild catalog`: %s",
                 s_of(j, "detail"));
    json_decref(j);
    cr_expect_eq(get("/api/v1/inventory/stock", &j), 200, "the stock after `fofal rebuild catalog`: %s", s_of(j, "detail"));
    json_decref(j);
  }

  /* replay <module>: that module's events, and only its. */
  for (int k = 0; fofal_modules[k]; k++) {
    char *out = NULL, want[96];
    const char *rp[] = {"replay", fofal_modules[k], "--tenant", tenant, NULL};
    expect_cli(0, fofal_modules[k], rp, &out);
    snprintf(want, sizeof want, "/fofal/%s", fofal_modules[k]);
    int printed = 0;
    for (char *line = out; line && *line; printed++) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = '\0';
      json_t *ev = json_loads(line, 0, NULL);
      cr_expect_str_eq(s_of(ev, "source"), want, "replay %s printed: %s", fofal_modules[k], line);
      cr_expect_str_eq(s_of(ev, "fofaltenant"), tenant);
      json_decref(ev);
      line = nl ? nl + 1 : NULL;
    }
    if (!strcmp(fofal_modules[k], "catalog") || !strcmp(fofal_modules[k], "identity"))
      cr_expect(printed > 0, "replay %s prints the tenant's events", fofal_modules[k]);
    free(out);
  }
  const char *bad[] = {"replay", "nomodule", NULL};
  expect_cli(2, "replay nomodule", bad, NULL);

  /* topics check: a topic per module. */
  char *out = NULL;
  const char *tc[] = {"topics", "check", NULL};
  expect_cli(0, "topics check", tc, &out);
  for (int k = 0; fofal_modules[k]; k++) {
    char t[96];
    fofal_topic_events(fofal_modules[k], t, sizeof t);
    cr_expect(out && strstr(out, t), "topics check lists %s:\n%s", t, out ? out : "");
  }
  free(out);
}
