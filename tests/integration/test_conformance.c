/*
 * test_conformance.c — the API against its own OpenAPI document (issue 22, "Standing checks
 * in CI"): schemathesis (ops/setup's venv, $FOFAL_SCHEMATHESIS; every package pinned by
 * ops/schemathesis/requirements.txt) reads /api/v1/openapi.json from a running fofal-api
 * and sends it generated requests, valid and invalid, with a token of each of a few roles.
 *
 * Checks, on every answer: no 5xx (not_a_server_error), a status the document lists for
 * the operation (status_code_conformance), the documented Content-Type
 * (content_type_conformance), a body valid against the documented schema
 * (response_schema_conformance), and every error as application/problem+json with a
 * `code` and its status (problem_json_on_errors, tests/integration/conformance_hooks.py).
 *
 * Bounded and repeatable: a fixed seed, one worker, a time budget per role — the admin, who
 * may use every operation, 45 s; a weaver, a mechanic (each with a badge) and an auditor
 * 10 s each on the reads — under two minutes in all. A small floor
 * is built first so that the list routes answer with real objects. schemathesis's output
 * and a JUnit report per role stay in $FOFAL_STACK_DIR/logs/ (test-conformance-<role>.*);
 * a failure prints the cases that failed with a curl command to reproduce each.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];

static void setup(void) {
  h_tenant(tenant);
  port = h_free_port();
  dec = h_start_decider("it-conf");
  proj = h_start_projector("it-conf");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
}

TestSuite(conformance, .init = setup, .fini = teardown, .timeout = 600);

/* A token of `role` (and `badge`, or NULL) for the test's tenant, from `fofal token` (new). */
static char *token(const char *role, const char *badge) {
  const char *args[] = {"token", "--tenant", tenant, "--role", role, badge ? "--badge" : NULL, badge, NULL};
  char *out = NULL;
  cr_assert_eq(h_run_cli(30, &out, args), 0, "fofal token --role %s failed", role);
  out[strcspn(out, "\r\n")] = '\0';
  return out;
}

/* Runs schemathesis as `role` (with `badge`, or NULL) for `phases`; 0 when every check
 * passed. `extra` (a shell fragment) narrows and bounds the run. Its output goes to
 * logs/test-conformance-<role>.log. */
static int schemathesis(const char *role, const char *badge, const char *phases, const char *extra) {
  char *tok = token(role, badge);
  const char *logs = h_env("FOFAL_STACK_DIR");
  char *cmd = fofal_asprintf(
      "cd '%s/logs' && PYTHONPATH='%s/tests/integration' SCHEMATHESIS_HOOKS=conformance_hooks NO_COLOR=1 "
      "'%s/bin/schemathesis' run 'http://127.0.0.1:%d/api/v1/openapi.json' -H 'Authorization: Bearer %s' "
      "--checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
      "problem_json_on_errors --seed 1 --workers 1 --phases %s --request-timeout 60 "
      "--report junit --report-junit-path 'test-conformance-%s.xml' %s > 'test-conformance-%s.log' 2>&1",
      logs, FOFAL_SOURCE_DIR, h_env("FOFAL_SCHEMATHESIS"), port, tok, phases, role, extra, role);
  int st = system(cmd);
  free(cmd);
  free(tok);
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (rc) {
    /* What failed, as schemathesis tells it (from its FAILURES section on). */
    char *show = fofal_asprintf("sed -n '/FAILURES\\|ERRORS/,$p' '%s/logs/test-conformance-%s.log' | head -n 150 >&2",
                                logs, role);
    if (system(show)) {}
    free(show);
  }
  return rc;
}

Test(conformance, every_answer_is_documented) {
  h_floor_http(port, tenant, "L-CONF", "W-CONF", "FOUTA-CONF");
  /* The admin may use every operation: commands, auth, reads, the documents. The coverage
   * phase sends each operation its boundary cases (missing and extra members, wrong types,
   * limits), the fuzzing phase random ones, until the time budget is spent. */
  cr_expect_eq(schemathesis("admin", NULL, "coverage,fuzzing", "--max-examples 5 --max-time 45"), 0,
               "schemathesis as admin found answers the document does not allow (logs/test-conformance-admin.log)");
  /* Other roles: what they read (403 where they may not), and who they are on the floor. */
  static const struct {
    const char *role, *badge;
  } roles[] = {{"weaver", "W-CONF"}, {"mechanic", "M-CONF"}, {"auditor", NULL}};
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
    cr_expect_eq(schemathesis(roles[i].role, roles[i].badge, "fuzzing",
                              "--include-method GET --max-examples 5 --max-time 10"),
                 0, "schemathesis as %s found answers the document does not allow (logs/test-conformance-%s.log)",
                 roles[i].role, roles[i].role);
}
