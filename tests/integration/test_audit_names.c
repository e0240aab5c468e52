/*
 * test_audit_names.c — aggregates named as people name them (issue 23 item 4, and the
 * `?as_of=` of item 8): the audit trail by code (L13) and by kind and code (looms/L13),
 * 409 for a code two kinds have, `?as_of=` on the history, the aggregate id on the read
 * routes, `fofal replay --aggregate` with a code, and a WebSocket subscription to a code.
 * Against the real Kafka, PostgreSQL and Redis, with the real decider, projector and API.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

static int port;
static pid_t dec, proj, api;
static char tenant[32];
static char *tok;

static void setup(void) {
  h_tenant(tenant);
  tok = h_token(tenant, "auditor");
  port = h_free_port();
  dec = h_start_decider("it-names");
  proj = h_start_projector("it-names");
  api = h_start_api(port);
}

static void teardown(void) {
  h_stop(api, SIGTERM);
  h_stop(proj, SIGTERM);
  h_stop(dec, SIGTERM);
  free(tok);
}

TestSuite(audit_names, .init = setup, .fini = teardown, .timeout = 300);

/* GET with a token (harness.c's h_get on this file's server). */
static int get(const char *token, const char *path, json_t **body) { return h_get(port, token, path, body, NULL); }

/* GETs until the answer is not 503 (a fresh projector joining its group), at most 60 s. */
static int get_settled(const char *token, const char *path, json_t **body) {
  int st = 503;
  for (int i = 0; i < 300; i++) {
    if (body) *body = NULL;
    st = get(token, path, body);
    if (st != 503) break;
    if (body) json_decref(*body);
    usleep(200 * 1000);
  }
  return st;
}

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

/* A command as an admin that must be accepted; its position (new). */
static char *command(const char *type, const char *key, const char *body) {
  char *admin = h_token(tenant, "admin");
  json_t *res = NULL;
  int st = h_command_ok(port, admin, type, key, NULL, body, &res);
  cr_assert_eq(st, 201, "%s: %d", type, st);
  char *pos = fofal_strdup(str(res, "position"));
  json_decref(res);
  free(admin);
  return pos;
}

Test(audit_names, the_audit_trail_by_code_kind_and_time) {
  char loom[FOFAL_UUID_LEN + 1], badge[FOFAL_UUID_LEN + 1], beam[FOFAL_UUID_LEN + 1], path[512];
  json_t *j;
  fofal_aggregate_ref(tenant, "loom", "L13", loom);
  fofal_aggregate_ref(tenant, "employee", "W121", badge);
  fofal_aggregate_ref(tenant, "beam", "L13", beam);
  h_floor_http(port, tenant, "L13", "W121", "FOUTA-NAMES");
  /* The last production command: its position says the production audit trail has the
   * floor (an article's, on the catalog's topic, would not). */
  char *pos = command("production.beam.warp", "names-sync",
                      "{\"beam\":\"SYNC-1\",\"kind\":\"ground\",\"yarn_lots\":[\"LOT-S\"],\"ends\":4000,\"length_m\":500}");

  /* A loom by its code: its history, with the aggregate id, kind and code. */
  snprintf(path, sizeof path, "/api/v1/audit/production/L13/events?position=%s", pos);
  cr_assert_eq(get_settled(tok, path, &j), 200, "GET %s", path);
  cr_expect_str_eq(str(j, "aggregate"), loom, "the loom's aggregate id");
  cr_expect_str_eq(str(j, "kind"), "loom");
  cr_expect_str_eq(str(j, "code"), "L13");
  json_t *items = json_object_get(j, "items");
  cr_assert_eq(json_array_size(items), 3, "registered, its beam mounted, first piece checked (got %zu)", json_array_size(items));
  cr_expect(strstr(str(json_array_get(items, 0), "type"), "loom_registered"), "first: %s", str(json_array_get(items, 0), "type"));
  const char *t1 = str(json_array_get(items, 0), "time");
  char first_time[40];
  snprintf(first_time, sizeof first_time, "%s", t1);
  json_decref(j);
  /* The same by kind and code, and an employee by badge. */
  cr_assert_eq(get(tok, "/api/v1/audit/production/looms/L13/events", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), loom);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 3);
  json_decref(j);
  cr_assert_eq(get(tok, "/api/v1/audit/production/W121/events", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), badge);
  cr_expect_str_eq(str(j, "kind"), "employee");
  cr_expect(strstr(str(json_array_get(json_object_get(j, "items"), 0), "type"), "employee_registered"));
  json_decref(j);
  cr_assert_eq(get(tok, "/api/v1/audit/production/employees/W121/events", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), badge);
  json_decref(j);
  /* The id the read routes show is the one the audit trail answers to. */
  char *admin = h_token(tenant, "admin");
  cr_assert_eq(get(admin, "/api/v1/production/looms/L13", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), loom, "GET looms/L13 shows the aggregate id");
  json_decref(j);
  cr_assert_eq(get(admin, "/api/v1/production/employees/W121", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), badge, "GET employees/W121 shows the aggregate id");
  json_decref(j);
  snprintf(path, sizeof path, "/api/v1/audit/production/%s/events", loom);
  cr_assert_eq(get(tok, path, &j), 200, "and the id itself still works");
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 3);
  json_decref(j);

  /* ?as_of= on the history: only the events up to then. */
  snprintf(path, sizeof path, "/api/v1/audit/production/looms/L13/events?as_of=%s", first_time);
  cr_assert_eq(get(tok, path, &j), 200, "GET %s", path);
  cr_expect_eq(json_array_size(json_object_get(j, "items")), 1, "as_of = the first event's time: one event (got %zu)",
               json_array_size(json_object_get(j, "items")));
  cr_expect_str_eq(str(j, "as_of"), first_time);
  json_decref(j);
  cr_expect_eq(get(tok, "/api/v1/audit/production/L13/events?as_of=2001-01-01T00:00:00Z", &j), 404, "before the first");
  json_decref(j);
  cr_expect_eq(get(tok, "/api/v1/audit/production/L13/events?as_of=yesterday", &j), 400, "not a time");
  cr_expect_str_eq(str(j, "code"), "invalid_parameter");
  json_decref(j);
  /* The state of a loom is not folded: said so, with where to look. */
  cr_expect_eq(get(tok, "/api/v1/audit/production/looms/L13", &j), 404);
  cr_expect_str_eq(str(j, "code"), "state_not_computed");
  cr_expect(strstr(str(j, "detail"), "/api/v1/audit/production/looms/L13/events"), "%s", str(j, "detail"));
  json_decref(j);
  /* Unknown codes, kinds and names. */
  cr_expect_eq(get(tok, "/api/v1/audit/production/L99/events", &j), 404);
  cr_expect_str_eq(str(j, "code"), "not_found");
  json_decref(j);
  cr_expect_eq(get(tok, "/api/v1/audit/production/spaceships/L13/events", &j), 404);
  json_decref(j);
  cr_expect_eq(get(tok, "/api/v1/audit/production/looms/L%2013/events", &j), 404);
  json_decref(j);

  /* A beam named L13 as well: the bare code is ambiguous, the kinds are not. */
  free(pos);
  pos = command("production.beam.warp", "names-beam",
                "{\"beam\":\"L13\",\"kind\":\"ground\",\"yarn_lots\":[\"LOT-N\"],\"ends\":4000,\"length_m\":500}");
  snprintf(path, sizeof path, "/api/v1/audit/production/L13/events?position=%s", pos);
  cr_assert_eq(get_settled(tok, path, &j), 409, "GET %s", path);
  cr_expect_str_eq(str(j, "code"), "ambiguous_aggregate");
  json_t *cands = json_object_get(j, "candidates");
  cr_assert_eq(json_array_size(cands), 2, "a loom and a beam (got %zu)", json_array_size(cands));
  int seen_loom = 0, seen_beam = 0;
  size_t i;
  json_t *c;
  json_array_foreach(cands, i, c) {
    if (!strcmp(str(c, "kind"), "loom"))
      seen_loom = !strcmp(str(c, "aggregate"), loom) && !strcmp(str(c, "href"), "/api/v1/audit/production/looms/L13/events");
    if (!strcmp(str(c, "kind"), "beam"))
      seen_beam = !strcmp(str(c, "aggregate"), beam) && !strcmp(str(c, "href"), "/api/v1/audit/production/beams/L13/events");
  }
  cr_expect(seen_loom && seen_beam, "each candidate with its id and path");
  json_decref(j);
  cr_assert_eq(get(tok, "/api/v1/audit/production/beams/L13/events", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), beam);
  cr_expect(strstr(str(json_array_get(json_object_get(j, "items"), 0), "type"), "beam_warped"));
  json_decref(j);
  cr_assert_eq(get(tok, "/api/v1/audit/production/looms/L13/events", &j), 200);
  cr_expect_str_eq(str(j, "aggregate"), loom);
  json_decref(j);
  /* Only the audit roles, whatever the path. */
  char *weaver = h_token(tenant, "weaver");
  cr_expect_eq(get(weaver, "/api/v1/audit/production/looms/L13/events", &j), 403);
  json_decref(j);
  free(weaver);
  free(admin);
  free(pos);
}

/* The printed lines' subjects (a new array), from `fofal replay` with args. */
static json_t *replay(const char *const *args) {
  char *out = NULL;
  int st = h_run_cli(120, &out, args);
  cr_assert_eq(st, 0, "fofal replay exited %d", st);
  json_t *subjects = json_array();
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *ev = json_loads(line, 0, NULL);
    cr_assert_not_null(ev, "a line that is not JSON: %.200s", line);
    json_array_append_new(subjects, json_string(str(ev, "subject")));
    json_decref(ev);
  }
  free(out);
  return subjects;
}

Test(audit_names, replay_and_stream_by_code) {
  char loom[FOFAL_UUID_LEN + 1], path[4400];
  fofal_aggregate_ref(tenant, "loom", "L13", loom);
  /* A subscription to the code, before anything happens to it. */
  int st;
  snprintf(path, sizeof path, "/api/v1/stream?access_token=%s", tok);
  h_ws_t *ws = h_ws_open(port, path, NULL, 0, &st);
  cr_assert_not_null(ws, "the stream opens (status %d)", st);
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"aggregates\":[\"L13\"]}}"), 0);
  json_t *ack = h_ws_recv_json(ws, 5000, NULL);
  cr_assert_str_eq(str(ack, "ack"), "subscribe");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(ack, "aggregates"), 0)) ?: "", "L13",
                   "the ack lists the name as given");
  json_decref(ack);
  h_floor_http(port, tenant, "L13", "W121", "FOUTA-NAMES");
  /* The first push is the loom's registration (its beam and weaver are other aggregates). */
  json_t *push = NULL;
  for (int k = 0; k < 10 && !push; k++) {
    json_t *m = h_ws_recv_json(ws, 20000, NULL);
    if (!m) break;
    if (json_object_get(m, "event")) push = m;
    else json_decref(m);
  }
  cr_expect_not_null(push, "a push for L13 arrives");
  if (push) {
    json_t *ev = json_object_get(push, "event");
    cr_expect_str_eq(str(ev, "aggregate"), loom);
    cr_expect(strstr(str(ev, "type"), "loom_registered"), "got %s", str(ev, "type"));
    json_decref(push);
  }
  /* An unknown kind is no name: the stream closes with 1008, as for any malformed request. */
  cr_assert_eq(h_ws_send(ws, "{\"subscribe\":{\"aggregates\":[\"spaceship:L13\"]}}"), 0);
  int code = 0;
  json_t *m;
  while ((m = h_ws_recv_json(ws, 5000, &code))) { /* the loom's later pushes, then the close */
    cr_expect_not_null(json_object_get(m, "event"), "no ack for an unknown kind");
    json_decref(m);
  }
  cr_expect_eq(code, 1008, "an unknown kind closes with 1008 (got %d)", code);
  h_ws_close(ws);

  /* fofal replay by code and by kind:code: the loom's three events, nothing else. */
  const char *a1[] = {"replay", "--tenant", tenant, "--module", "production", "--aggregate", "L13", NULL};
  json_t *s = replay(a1);
  cr_expect_eq(json_array_size(s), 3, "L13: three events (got %zu)", json_array_size(s));
  size_t i;
  json_t *v;
  json_array_foreach(s, i, v) cr_expect_str_eq(json_string_value(v), loom);
  json_decref(s);
  const char *a2[] = {"replay", "--module", "production", "--aggregate", "employee:W121", NULL};
  s = replay(a2);
  char badge[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref(tenant, "employee", "W121", badge);
  size_t mine = 0;
  json_array_foreach(s, i, v) mine += !strcmp(json_string_value(v), badge);
  cr_expect_eq(mine, 3, "employee:W121 in every tenant: this tenant's W121 has three events (got %zu)", mine);
  json_decref(s);
  char *out = NULL;
  const char *a3[] = {"replay", "--aggregate", "spaceship:L13", NULL};
  cr_expect_eq(h_run_cli(60, &out, a3), 2, "an unknown kind is a usage error");
  free(out);
}
