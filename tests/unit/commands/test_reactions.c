/*
 * test_reactions.c — commands/reactions.c: the pure pieces of the reactions between
 * modules. The table is well formed; a reaction's command id depends on (reaction, trigger
 * id) only; fofal_reaction_apply makes the command as the API would (id, actor, tenant,
 * correlation, aggregate, trigger) and turns every way a reaction can fail into a reason;
 * the DLQ record says which reaction, which stage, why and where the trigger is; the
 * command message carries the trigger to the decider.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512];
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
}
static void teardown(void) { fofal_registry_free(reg); }

TestSuite(reactions, .init = setup, .fini = teardown);

/* A trigger as fofal-reactor decodes it. */
static fofal_event_t event(const char *id, const char *type, json_t *data /* stolen */) {
  return (fofal_event_t){.id = (char *)id, .type = (char *)type, .subject = "L1", .tenant = "t1", .seq = 3,
                         .actor = "s:fofal-machines", .data = data};
}

/* Reactions of a test module "maintenance", one per way of answering. */
static int answer_mode;
static int test_react(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  (void)ev;
  switch (answer_mode) {
  case 0:
    snprintf(out->type, sizeof out->type, "maintenance.intervention.request");
    out->data = json_pack("{s:s,s:s}", "loom", "L1", "cause", "mechanical");
    return FOFAL_REACT_COMMAND;
  case 1: return FOFAL_REACT_NOTHING;
  case 2: return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "no loom in it");
  case 3:
    snprintf(out->type, sizeof out->type, "machines.loom.reset"); /* another module's */
    out->data = json_object();
    return FOFAL_REACT_COMMAND;
  case 4:
    snprintf(out->type, sizeof out->type, "maintenance.nothing.such");
    out->data = json_object();
    return FOFAL_REACT_COMMAND;
  case 5:
    snprintf(out->type, sizeof out->type, "maintenance.intervention.request");
    out->data = json_pack("{s:s,s:i}", "loom", "L1", "cause", 7); /* cause must be a string */
    return FOFAL_REACT_COMMAND;
  default:
    snprintf(out->type, sizeof out->type, "maintenance.intervention.accept");
    out->data = json_pack("{s:s}", "mechanic", "M1"); /* no intervention_id: no aggregate */
    return FOFAL_REACT_COMMAND;
  }
}
static const char *const on_test[] = {"fofal.machines.loom_stopped.v1", NULL};
static const fofal_reaction_t test_reaction = {"maintenance.test_reaction", on_test, test_react, "test", NULL};

static int apply(int mode, fofal_event_t *ev, fofal_reaction_result_t *res) {
  answer_mode = mode;
  return fofal_reaction_apply(reg, &test_reaction, ev, "fofal.machines.events", 2, 41, 1795845600000000LL, res);
}

Test(reactions, the_table_is_well_formed) {
  char err[256] = "";
  cr_expect_eq(fofal_reactions_check(err, sizeof err), 0, "%s", err);
  const fofal_reaction_t *r = fofal_reaction_find("maintenance.intervention_on_breakdown");
  cr_assert_not_null(r);
  cr_expect_str_eq(r->on[0], "fofal.machines.breakdown_declared.v1");
  cr_expect_null(fofal_reaction_find("maintenance.nothing"));
  cr_expect_null(fofal_reaction_find(NULL));
}

Test(reactions, command_id_depends_on_reaction_and_trigger_only) {
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1], c[FOFAL_UUID_LEN + 1], d[FOFAL_UUID_LEN + 1];
  fofal_reaction_command_id("maintenance.x", "0190a4b2-0000-7000-8000-000000000001", a);
  fofal_reaction_command_id("maintenance.x", "0190a4b2-0000-7000-8000-000000000001", b);
  fofal_reaction_command_id("maintenance.x", "0190a4b2-0000-7000-8000-000000000002", c);
  fofal_reaction_command_id("hr.x", "0190a4b2-0000-7000-8000-000000000001", d);
  cr_expect(fofal_uuid_valid(a));
  cr_expect_str_eq(a, b, "a replay of the trigger gives the same id");
  cr_expect_str_neq(a, c, "another trigger, another id");
  cr_expect_str_neq(a, d, "another reaction to the same trigger, another id");
}

Test(reactions, apply_makes_the_command_as_the_api_would) {
  fofal_event_t ev = event("0190a4b2-0000-7000-8000-0000000000aa", "fofal.machines.loom_stopped.v1", json_object());
  fofal_reaction_result_t res;
  cr_assert_eq(apply(0, &ev, &res), FOFAL_REACT_COMMAND, "%s", res.out.reason);
  char id[FOFAL_UUID_LEN + 1], agg[FOFAL_UUID_LEN + 1];
  fofal_reaction_command_id("maintenance.test_reaction", ev.id, id);
  fofal_uuid_named("t1", id, agg); /* a creating command without its id: derived like the API's */
  cr_expect_str_eq(res.cmd.id, id);
  cr_expect_str_eq(res.cmd.aggregate, agg);
  cr_expect_str_eq(res.cmd.type, "maintenance.intervention.request");
  cr_expect_str_eq(res.cmd.tenant, "t1");
  cr_expect_str_eq(res.cmd.actor, "r:maintenance.test_reaction");
  cr_expect_str_eq(res.cmd.correlation_id, ev.id, "no correlation id: the trigger's id");
  cr_expect_eq(res.cmd.expected_version, -1);
  cr_expect_eq(res.cmd.issued_us, 1795845600000000LL);
  cr_expect_str_eq(json_string_value(json_object_get(res.cmd.data, "loom")), "L1");
  const json_t *t = res.cmd.trigger;
  cr_expect_str_eq(json_string_value(json_object_get(t, "reaction")), "maintenance.test_reaction");
  cr_expect_str_eq(json_string_value(json_object_get(t, "id")), ev.id);
  cr_expect_str_eq(json_string_value(json_object_get(t, "type")), "fofal.machines.loom_stopped.v1");
  cr_expect_str_eq(json_string_value(json_object_get(t, "topic")), "fofal.machines.events");
  cr_expect_eq(json_integer_value(json_object_get(t, "partition")), 2);
  cr_expect_eq(json_integer_value(json_object_get(t, "offset")), 41);
  fofal_reaction_result_clear(&res);
  /* A correlation id the trigger has is carried over. */
  ev.correlation_id = "corr-1";
  cr_assert_eq(apply(0, &ev, &res), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(res.cmd.correlation_id, "corr-1");
  fofal_reaction_result_clear(&res);
  json_decref(ev.data);
}

Test(reactions, every_failure_has_a_reason) {
  fofal_event_t ev = event("0190a4b2-0000-7000-8000-0000000000bb", "fofal.machines.loom_stopped.v1", json_object());
  fofal_reaction_result_t res;
  cr_expect_eq(apply(1, &ev, &res), FOFAL_REACT_NOTHING);
  fofal_reaction_result_clear(&res);
  static const struct {
    int mode;
    const char *reason;
  } cases[] = {{2, "no loom in it"},
               {3, "command type machines.loom.reset is not one of module maintenance"},
               {4, "no command type maintenance.nothing.such"},
               {5, "the command does not match its schema: /cause"},
               {6, "data.intervention_id does not name an aggregate"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = apply(cases[i].mode, &ev, &res);
    cr_expect_lt(rc, 0, "mode %d is a failure", cases[i].mode);
    cr_expect(strstr(res.out.reason, cases[i].reason), "mode %d: reason \"%s\"", cases[i].mode, res.out.reason);
    cr_expect_not_null(res.trigger, "a failure still knows its trigger (for the DLQ)");
    fofal_reaction_result_clear(&res);
  }
  /* A trigger without a tenant cannot be answered. */
  ev.tenant = NULL;
  cr_expect_lt(apply(0, &ev, &res), 0);
  cr_expect(strstr(res.out.reason, "tenant"), "%s", res.out.reason);
  fofal_reaction_result_clear(&res);
  json_decref(ev.data);
}

Test(reactions, dlq_record_names_reaction_stage_reason_and_trigger) {
  fofal_event_t ev = event("0190a4b2-0000-7000-8000-0000000000cc", "fofal.machines.breakdown_declared.v1", NULL);
  json_t *trigger = fofal_reaction_trigger("maintenance.intervention_on_breakdown", &ev, "fofal.machines.events", 1, 99);
  char *s = fofal_reaction_dlq_record("transform", trigger, NULL, "the breakdown names no valid loom code", NULL);
  json_t *o = json_loads(s, 0, NULL);
  cr_assert_not_null(o, "%s", s);
  cr_expect_str_eq(json_string_value(json_object_get(o, "reaction")), "maintenance.intervention_on_breakdown");
  cr_expect_str_eq(json_string_value(json_object_get(o, "stage")), "transform");
  cr_expect_str_eq(json_string_value(json_object_get(o, "tenant")), "t1");
  cr_expect_str_eq(json_string_value(json_object_get(o, "reason")), "the breakdown names no valid loom code");
  cr_expect_null(json_object_get(o, "code"));
  cr_expect_null(json_object_get(o, "command"));
  cr_expect(json_equal(json_object_get(o, "trigger"), trigger));
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "trigger"), "offset")), 99);
  json_decref(o);
  free(s);
  /* The decider's: the rejection's code and the command. */
  fofal_cmd_t cmd = {.id = "c1", .type = "maintenance.intervention.request", .aggregate = "a1"};
  s = fofal_reaction_dlq_record("rejected", trigger, "unknown_loom", "no loom L9", &cmd);
  o = json_loads(s, 0, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(o, "stage")), "rejected");
  cr_expect_str_eq(json_string_value(json_object_get(o, "code")), "unknown_loom");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o, "command"), "id")), "c1");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o, "command"), "aggregate")), "a1");
  json_decref(o);
  free(s);
  json_decref(trigger);
  /* A record that could not be decoded: no reaction, no id, only its place. */
  fofal_event_t none = {0};
  trigger = fofal_reaction_trigger(NULL, &none, "fofal.machines.events", 0, 7);
  cr_assert_not_null(trigger);
  s = fofal_reaction_dlq_record("decode", trigger, NULL, "not JSON", NULL);
  o = json_loads(s, 0, NULL);
  cr_expect(json_is_null(json_object_get(o, "reaction")) || !json_object_get(o, "reaction"));
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "trigger"), "offset")), 7);
  json_decref(o);
  free(s);
  json_decref(trigger);
}

Test(reactions, the_command_message_carries_its_trigger) {
  json_t *trigger = json_pack("{s:s,s:s}", "reaction", "maintenance.x", "id", "e1"), *data = json_object(), *holder;
  fofal_cmd_t cmd = {.id = "c1", .type = "maintenance.intervention.request", .tenant = "t1", .actor = "r:maintenance.x",
                     .aggregate = "a1", .expected_version = -1, .issued_us = 1795845600000000LL, .data = data,
                     .trigger = trigger},
              back;
  char *s = fofal_command_encode(&cmd), err[256];
  cr_assert_eq(fofal_command_decode(&back, &holder, s, strlen(s), err, sizeof err), 0, "%s", err);
  cr_expect(json_equal(back.trigger, trigger));
  json_decref(holder);
  free(s);
  /* Other commands have none. */
  cmd.trigger = NULL;
  s = fofal_command_encode(&cmd);
  cr_assert_eq(fofal_command_decode(&back, &holder, s, strlen(s), err, sizeof err), 0, "%s", err);
  cr_expect_null(back.trigger);
  json_decref(holder);
  free(s);
  json_decref(trigger);
  json_decref(data);
}
