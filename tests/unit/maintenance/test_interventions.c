/*
 * test_interventions.c — commands/maintenance/maintenance.c through the registry and an
 * in-memory tenant (tests/unit/production/world.h: the floor the requests are about).
 *
 * One test per rule of an intervention request: its lifecycle, cancelling before work,
 * who may say a request comes from telemetry, and that a mechanic takes, starts and
 * finishes as themself (a supervisor for them, recorded as delegated_by). The decisions
 * read production's aggregates (the loom, the mechanic's employee record) across modules,
 * as the decider does. Every emitted event is checked against its schema under
 * schemas/maintenance/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "../production/world.h"

/* The command that registers an employee (a mechanic here): the module that keeps
 * employees decides it. */
#define EMPLOYEE_REGISTER "hr.employee.register"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
  world_init(reg);
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(intervention, .init = setup, .fini = teardown);
TestSuite(actor, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.maintenance.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/maintenance/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
  cr_assert_eq(rc, 0, "%s does not match its schema: %s", type, es ? es : "");
  free(es);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides, expects acceptance, checks every event against its schema, and returns the
 * first event's data (new reference) when `first` is given. */
static void ok_at(const char *type, json_t *data, const char *cmd_id, int64_t at, json_t **first) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  cr_assert_null(d.others, "%s changed another aggregate", type);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  if (first) *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
}
#define ok(type, data, id) ok_at(type, data, id, W_ISSUED, NULL)

static void no_at(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

/* The aggregate id a request `cmd_id` with `data` gets. */
static void request_id(const json_t *data, const char *cmd_id, char id[FOFAL_UUID_LEN + 1]) {
  const fofal_command_def_t *def = fofal_registry_find(reg, "maintenance.intervention.request");
  cr_assert_not_null(def);
  cr_assert_eq(fofal_command_aggregate_id(def, W_TENANT, cmd_id, data, id), 0);
}

static void mechanic(const char *badge, const char *name) {
  char id[32];
  snprintf(id, sizeof id, "emp-%s", badge);
  world_ok(EMPLOYEE_REGISTER, json_pack("{s:s,s:s,s:s}", "badge", badge, "name", name, "job", "mechanic"), id);
}

/* ------------------------------------------------------------ the module */

Test(intervention, commands_are_the_maintenance_modules) {
  static const char *const verbs[] = {"request", "accept", "start", "finish", "cancel"};
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    char type[64], old[64];
    snprintf(type, sizeof type, "maintenance.intervention.%s", verbs[i]);
    snprintf(old, sizeof old, "production." "intervention.%s", verbs[i]); /* the old type, spelt apart */
    const fofal_command_def_t *def = fofal_registry_find(reg, type);
    cr_assert_not_null(def, "%s is registered", type);
    cr_expect_null(fofal_registry_find(reg, old), "%s is no longer production's", old);
    const json_t *s = fofal_registry_schema(reg, type);
    cr_assert(json_is_object(s), "%s has a schema", type);
    cr_expect_gt(json_array_size(json_object_get(s, "x-fofal-roles")), 0, "%s names its roles", type);
    const json_t *key = json_object_get(json_object_get(s, "properties"), def->aggregate_key);
    cr_expect_str_eq(jstr(key, "format"), "uuid", "%s: an intervention is named by a UUID", type);
  }
}

/* ------------------------------------------------------------- lifecycle */

Test(intervention, request_accept_start_finish) {
  world_floor();
  mechanic("M-01", "Karim");
  json_t *data = json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "weft_break", "note", "sensor");
  char id[FOFAL_UUID_LEN + 1];
  request_id(data, "i1", id);
  /* The loom is production's aggregate, read across modules. */
  no_at("maintenance.intervention.request", json_pack("{s:s,s:s}", "loom", "L-99", "cause", "x"), "unknown_loom");
  json_t *ev = NULL;
  ok_at("maintenance.intervention.request", data, "i1", W_ISSUED, &ev);
  cr_expect_str_eq(jstr(ev, "intervention_id"), id);
  cr_expect_str_eq(jstr(ev, "loom"), "L-07");
  cr_expect_str_eq(jstr(ev, "source"), "weaver");
  json_decref(ev);
  cr_assert_str_eq(jstr(json_object_get(world, id), "status"), "requested");
  no_at("maintenance.intervention.start", json_pack("{s:s}", "intervention_id", id), "invalid_transition");
  no_at("maintenance.intervention.accept", json_pack("{s:s,s:s}", "intervention_id", id, "mechanic", "M-404"),
        "unknown_employee");
  ok("maintenance.intervention.accept", json_pack("{s:s,s:s}", "intervention_id", id, "mechanic", "M-01"), "a");
  ok_at("maintenance.intervention.start", json_pack("{s:s}", "intervention_id", id), "s", W_ISSUED + 60 * 1000000LL, NULL);
  no_at("maintenance.intervention.cancel", json_pack("{s:s,s:s}", "intervention_id", id, "reason", "x"),
        "invalid_transition");
  ok_at("maintenance.intervention.finish",
        json_pack("{s:s,s:s,s:[{s:s,s:i}]}", "intervention_id", id, "cause", "weft_break", "parts", "part", "gripper",
                  "quantity", 1),
        "f", W_ISSUED + 46 * 60 * 1000000LL, &ev);
  cr_assert_eq(jint(ev, "duration_min", -1), 45, "duration from start to finish");
  cr_assert_str_eq(jstr(ev, "mechanic"), "M-01");
  json_decref(ev);
  cr_assert_str_eq(jstr(json_object_get(world, id), "status"), "finished");
  no_at("maintenance.intervention.finish", json_pack("{s:s,s:s}", "intervention_id", id, "cause", "x"),
        "invalid_transition");
}

Test(intervention, cancel_before_work) {
  world_floor();
  json_t *data = json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "mechanical", "source", "telemetry");
  char id[FOFAL_UUID_LEN + 1];
  request_id(data, "i2", id);
  world_as("r:maintenance.intervention_on_breakdown", NULL); /* a breakdown the loom's sensors saw */
  ok("maintenance.intervention.request", data, "i2");
  world_as("u:tester/admin", NULL);
  ok("maintenance.intervention.cancel", json_pack("{s:s,s:s}", "intervention_id", id, "reason", "restarted by itself"), "c");
  cr_assert_str_eq(jstr(json_object_get(world, id), "status"), "cancelled");
  no_at("maintenance.intervention.accept", json_pack("{s:s,s:s}", "intervention_id", id, "mechanic", "W-12"),
        "invalid_transition");
}

/* ------------------------------------------------------------------ actors
 * DESIGN.md guarantee 9 (commands/actors.c): floor roles act as themselves, from the badge
 * of their sign-in; a planner, manager or admin may record for someone, and the event says
 * so; services name whom they name. */

Test(actor, only_services_and_reactions_say_telemetry) {
  world_floor();
  json_t *ev = NULL;
  world_as("s:fofal-machines/telemetry", NULL);
  ok_at("maintenance.intervention.request",
        json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "mechanical", "source", "telemetry"), "bd", W_ISSUED, &ev);
  cr_assert_null(json_object_get(ev, "requested_by"));
  cr_assert_null(json_object_get(ev, "delegated_by"));
  cr_expect_str_eq(jstr(ev, "source"), "telemetry");
  json_decref(ev);
  world_as("r:maintenance.intervention_on_breakdown", NULL);
  ok("maintenance.intervention.request",
     json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "mechanical", "source", "telemetry"), "bd2");
  /* A person never says the looms' sensors raised a request. */
  world_as("u:acct-w12/weaver", "W-12");
  no_at("maintenance.intervention.request",
        json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "mechanical", "source", "telemetry"), "actor_mismatch");
  world_as("u:acct-p1/planner", "P-01");
  no_at("maintenance.intervention.request",
        json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "mechanical", "source", "telemetry"), "actor_mismatch");
}

Test(actor, a_weaver_calls_a_mechanic_as_themself) {
  world_floor();
  world_as("u:acct-w12/weaver", "W-12");
  json_t *ev = NULL;
  ok_at("maintenance.intervention.request", json_pack("{s:s,s:s}", "loom", "L-07", "cause", "weft_break"), "call",
        W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "requested_by"), "W-12", "who asked comes from the token");
  cr_assert_null(json_object_get(ev, "delegated_by"));
  json_decref(ev);
  no_at("maintenance.intervention.request",
        json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "x", "requested_by", "W-13"), "actor_mismatch");
  /* A planner records the call for the weaver: a delegation. */
  world_as("u:acct-p1/planner", "P-01");
  ok_at("maintenance.intervention.request",
        json_pack("{s:s,s:s,s:s}", "loom", "L-07", "cause", "weft_break", "requested_by", "W-12"), "call-for", W_ISSUED,
        &ev);
  cr_assert_str_eq(jstr(ev, "requested_by"), "W-12");
  cr_assert_str_eq(jstr(json_object_get(ev, "delegated_by"), "badge"), "P-01");
  json_decref(ev);
}

Test(actor, a_mechanic_takes_starts_and_finishes_as_themself) {
  world_floor();
  mechanic("M-01", "Karim");
  mechanic("M-02", "Hedi");
  world_as("u:acct-w12/weaver", "W-12");
  json_t *data = json_pack("{s:s,s:s}", "loom", "L-07", "cause", "weft_break");
  char id[FOFAL_UUID_LEN + 1];
  request_id(data, "i1", id);
  ok("maintenance.intervention.request", data, "i1");
  /* M-02 cannot take it in M-01's name; M-01 takes it with nothing but the id. */
  world_as("u:acct-m2/mechanic", "M-02");
  no_at("maintenance.intervention.accept", json_pack("{s:s,s:s}", "intervention_id", id, "mechanic", "M-01"),
        "actor_mismatch");
  world_as("u:acct-m1/mechanic", "M-01");
  json_t *ev = NULL;
  ok_at("maintenance.intervention.accept", json_pack("{s:s}", "intervention_id", id), "a", W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "mechanic"), "M-01");
  json_decref(ev);
  /* Only M-01 works on what M-01 took. */
  world_as("u:acct-m2/mechanic", "M-02");
  no_at("maintenance.intervention.start", json_pack("{s:s}", "intervention_id", id), "actor_mismatch");
  world_as("u:acct-m1/mechanic", "M-01");
  ok_at("maintenance.intervention.start", json_pack("{s:s}", "intervention_id", id), "s", W_ISSUED, &ev);
  cr_assert_null(json_object_get(ev, "delegated_by"));
  json_decref(ev);
  /* A manager closes it for M-01: recorded as a delegation. */
  world_as("u:acct-d1/manager", "D-01");
  ok_at("maintenance.intervention.finish", json_pack("{s:s,s:s}", "intervention_id", id, "cause", "weft_break"), "f",
        W_ISSUED + 60 * 1000000LL, &ev);
  cr_assert_str_eq(jstr(ev, "mechanic"), "M-01");
  cr_assert_str_eq(jstr(json_object_get(ev, "delegated_by"), "badge"), "D-01");
  json_decref(ev);
}
