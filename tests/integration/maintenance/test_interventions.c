/*
 * test_interventions.c — the maintenance module's reads against the real stack (decider,
 * projector, API; Kafka, PostgreSQL, Redis): intervention requests sent through the
 * command API are listed below /api/v1/maintenance/ (keyset pages that never repeat or
 * skip, status and loom filters, one request with its ETag and 304), bad parameters are
 * 400s and unknown ids 404s, each route refuses the roles it does not name (403), the old
 * production paths are gone (404), and production's loom detail joins the loom's open
 * requests from the maintenance schema.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fofal_api.h"
#include "harness.h"

#define N 5

static int port;
static pid_t dec, proj, api;
static char tenant[32];
static char *admin;

static void setup(void) {
  h_tenant(tenant);
  dec = h_start_decider(tenant);
  proj = h_start_projector(tenant);
  port = h_free_port();
  api = h_start_api(port);
  cr_assert_eq(h_wait_ready(port, 60000), 0, "fofal-api ready");
  admin = h_token(tenant, "admin");
}

static void teardown(void) {
  free(admin);
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(maintenance, .init = setup, .fini = teardown, .timeout = 300);

/* GET path as `token`; the status, and the body parsed into *out (new, NULL if not JSON). */
static int get(const char *token, const char *path, const char *extra, json_t **out, char **etag) {
  char hdr[2048];
  h_resp_t r;
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n%s", token, extra ? extra : "");
  h_http(port, "GET", path, hdr, NULL, &r, 30000);
  if (out) *out = json_loads(r.body ? r.body : "", 0, NULL);
  if (etag) *etag = h_resp_header(&r, "ETag");
  int st = r.status;
  h_resp_free(&r);
  return st;
}

static const char *s_of(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* Sends a command as the admin; its position into pos. */
static void send(const char *type, const char *key, const char *body, char pos[160]) {
  json_t *j = NULL;
  int st = h_command_ok(port, admin, type, key, NULL, body, &j);
  cr_assert_eq(st, 201, "%s: %d %s", type, st, s_of(j, "detail"));
  if (pos) snprintf(pos, 160, "%s", s_of(j, "position"));
  json_decref(j);
}

Test(maintenance, requests_are_listed_filtered_and_read_across_modules) {
  h_floor_http(port, tenant, "L1", "W1", "ART-1");
  char ids[N][FOFAL_UUID_LEN + 1], b[512], pos[160], path[512];
  for (int i = 0; i < N; i++) {
    fofal_uuid7(ids[i]);
    snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"loom\":\"L1\",\"cause\":\"weft_break\",\"requested_by\":\"W1\"}",
             ids[i]);
    char key[64];
    snprintf(key, sizeof key, "req-%d", i);
    send("maintenance.intervention.request", key, b, pos);
  }
  snprintf(b, sizeof b, "{\"intervention_id\":\"%s\",\"reason\":\"restarted by itself\"}", ids[0]);
  send("maintenance.intervention.cancel", "cancel-0", b, pos);

  /* Pages of 2, oldest request first: every request once. */
  json_t *j = NULL;
  int seen[N] = {0}, pages = 0;
  char cursor[256] = "";
  do {
    snprintf(path, sizeof path, "/api/v1/maintenance/interventions?limit=2&position=%s%s%s", pos,
             cursor[0] ? "&cursor=" : "", cursor);
    cr_assert_eq(get(admin, path, NULL, &j, NULL), 200, "%s", s_of(j, "detail"));
    json_t *items = json_object_get(j, "items"), *e;
    size_t i;
    cr_expect_leq(json_array_size(items), 2);
    json_array_foreach(items, i, e) for (int k = 0; k < N; k++) seen[k] += !strcmp(s_of(e, "intervention_id"), ids[k]);
    snprintf(cursor, sizeof cursor, "%s", s_of(j, "next_cursor"));
    json_decref(j);
    pages++;
  } while (cursor[0] && pages < 10);
  cr_expect_eq(pages, 3, "5 requests in pages of 2");
  for (int k = 0; k < N; k++) cr_expect_eq(seen[k], 1, "request %d listed once (%d)", k, seen[k]);

  cr_assert_eq(get(admin, "/api/v1/maintenance/interventions?status=open&loom=L1", NULL, &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), N - 1, "open: all but the cancelled one");
  json_decref(j);
  cr_assert_eq(get(admin, "/api/v1/maintenance/interventions?status=cancelled", NULL, &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1);
  cr_expect_str_eq(s_of(json_array_get(json_object_get(j, "items"), 0), "cancel_reason"), "restarted by itself");
  json_decref(j);
  cr_assert_eq(get(admin, "/api/v1/maintenance/interventions?loom=L2", NULL, &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 0, "another loom's: none");
  json_decref(j);

  /* One request, with its version as ETag. */
  char *etag = NULL;
  snprintf(path, sizeof path, "/api/v1/maintenance/interventions/%s", ids[1]);
  cr_assert_eq(get(admin, path, NULL, &j, &etag), 200);
  cr_expect_str_eq(s_of(j, "status"), "requested");
  cr_expect_str_eq(s_of(j, "requested_by"), "W1");
  cr_expect_str_eq(s_of(j, "loom"), "L1");
  cr_assert_not_null(etag, "an ETag");
  char inm[128];
  snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag);
  cr_expect_eq(get(admin, path, inm, NULL, NULL), 304, "unchanged: 304");
  free(etag);
  json_decref(j);

  /* Production's loom lists the loom's open requests from the maintenance schema. */
  cr_assert_eq(get(admin, "/api/v1/production/looms/L1", NULL, &j, NULL), 200);
  cr_expect_eq(json_array_size(json_object_get(j, "open_interventions")), N - 1);
  json_decref(j);
  /* And the mechanics' board shows them, oldest first. */
  cr_assert_eq(get(admin, "/api/v1/maintenance/views/mechanic", NULL, &j, NULL), 200);
  json_t *open = json_object_get(j, "open_requests");
  cr_expect_eq(json_array_size(open), N - 1);
  cr_expect_str_eq(s_of(json_array_get(open, 0), "intervention_id"), ids[1]);
  cr_expect_eq(json_integer_value(json_object_get(j, "within_hours")), 8);
  json_decref(j);
}

Test(maintenance, bad_parameters_roles_and_old_paths) {
  char *cutter = h_token(tenant, "cutter"), *weaver = h_token(tenant, "weaver"), *auditor = h_token(tenant, "auditor");
  char *mech = h_token(tenant, "mechanic");
  char unknown[FOFAL_UUID_LEN + 1], path[256];
  fofal_uuid7(unknown);
  snprintf(path, sizeof path, "/api/v1/maintenance/interventions/%s", unknown);
  struct {
    const char *token, *path;
    int status;
    const char *code;
  } cases[] = {
      {weaver, "/api/v1/maintenance/interventions", 200, NULL},
      {mech, "/api/v1/maintenance/views/mechanic?within_hours=24", 200, NULL},
      {cutter, "/api/v1/maintenance/interventions", 403, "forbidden"},
      {auditor, "/api/v1/maintenance/interventions", 403, "forbidden"},
      {weaver, "/api/v1/maintenance/views/mechanic", 403, "forbidden"},
      {admin, "/api/v1/maintenance/interventions?status=nonsense", 400, "invalid_parameter"},
      {admin, "/api/v1/maintenance/interventions?loom=bad%20loom", 400, "invalid_parameter"},
      {admin, "/api/v1/maintenance/interventions?limit=0", 400, "invalid_parameter"},
      {admin, "/api/v1/maintenance/interventions?cursor=bm90LWEtY3Vyc29y", 400, "malformed_cursor"},
      {admin, "/api/v1/maintenance/views/mechanic?within_hours=169", 400, "invalid_parameter"},
      {admin, "/api/v1/maintenance/views/mechanic?within_hours=x", 400, "invalid_parameter"},
      {admin, "/api/v1/maintenance/interventions/not-a-uuid", 404, "not_found"},
      {admin, path, 404, "not_found"},
      {admin, "/api/v1/maintenance/interventions/", 404, "not_found"},
      {admin, "/api/v1/maintenance/nothing", 404, "not_found"},
      {admin, "/api/v1/production/interventions", 404, "not_found"},
      {admin, "/api/v1/production/views/mechanic", 404, "not_found"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *j = NULL;
    int st = get(cases[i].token, cases[i].path, NULL, &j, NULL);
    cr_expect_eq(st, cases[i].status, "GET %s: %d, expected %d (%s)", cases[i].path, st, cases[i].status,
                 s_of(j, "detail"));
    if (cases[i].code) cr_expect_str_eq(s_of(j, "code"), cases[i].code, "GET %s", cases[i].path);
    json_decref(j);
  }
  /* The OpenAPI document has the routes, with their roles, and the new event types' push
   * route is one of them. */
  json_t *doc = NULL;
  cr_assert_eq(get(admin, "/api/v1/openapi.json", NULL, &doc, NULL), 200);
  const char *const routes[] = {"/api/v1/maintenance/interventions", "/api/v1/maintenance/interventions/{id}",
                                "/api/v1/maintenance/views/mechanic"};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    json_t *op = json_object_get(json_object_get(json_object_get(doc, "paths"), routes[i]), "get");
    cr_expect(json_is_object(op), "OpenAPI documents %s", routes[i]);
    cr_expect_gt(json_array_size(json_object_get(op, "x-fofal-roles")), 0, "%s says its roles", routes[i]);
  }
  cr_expect_null(json_object_get(json_object_get(doc, "paths"), "/api/v1/production/interventions"));
  cr_expect_not_null(json_object_get(json_object_get(doc, "paths"), "/api/v1/commands/maintenance.intervention.request"),
                     "the command is documented under its new type");
  json_decref(doc);
  free(cutter);
  free(weaver);
  free(auditor);
  free(mech);
}
