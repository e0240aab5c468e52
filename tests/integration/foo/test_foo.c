/* test_foo.c — the foo module through the running processes: its topic, its command,
 * its projection (read your writes), its read route, its audit trail and its OpenAPI path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

Test(foo, a_registered_module_runs_end_to_end, .timeout = 120) {
  char *out = NULL;
  const char *check[] = {"topics", "check", NULL};
  cr_assert_eq(h_run_cli(60, &out, check), 0, "%s", out);
  cr_expect_not_null(strstr(out, "fofal.foo.events"), "%s", out);
  free(out);
  pid_t dec = h_start_decider("foo"), proj = h_start_projector("foo");
  int port = h_free_port();
  pid_t api = h_start_api(port);
  char tenant[32], auth[1024], path[256];
  h_tenant(tenant);
  char *tok = h_token(tenant, "planner");
  json_t *body = NULL;
  cr_assert_eq(h_command_ok(port, tok, "foo.thing.create", "foo-1", NULL, "{\"thing\":\"T1\",\"name\":\"One\"}", &body), 201);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tok);
  snprintf(path, sizeof path, "/api/v1/foo/things/T1?position=%s", json_string_value(json_object_get(body, "position")));
  h_resp_t r;
  h_http(port, "GET", path, auth, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body);
  cr_expect_not_null(strstr(r.body, "\"One\""), "%s", r.body);
  h_resp_free(&r);
  char *atok = h_token(tenant, "auditor");
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", atok);
  snprintf(path, sizeof path, "/api/v1/audit/foo/%s/events?position=%s", json_string_value(json_object_get(body, "aggregate")),
           json_string_value(json_object_get(body, "position")));
  h_http(port, "GET", path, auth, NULL, &r, 10000);
  cr_expect_eq(r.status, 200, "%s", r.body);
  cr_expect_not_null(strstr(r.body, "fofal.foo.thing_created.v1"), "%s", r.body);
  h_resp_free(&r);
  h_http(port, "GET", "/api/v1/openapi.json", NULL, NULL, &r, 10000);
  cr_expect_not_null(strstr(r.body, "/api/v1/foo/things/{code}"));
  cr_expect_not_null(strstr(r.body, "/api/v1/commands/foo.thing.create"));
  h_resp_free(&r);
  json_decref(body);
  free(tok);
  free(atok);
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}
