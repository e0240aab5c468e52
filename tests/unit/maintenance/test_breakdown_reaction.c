/*
 * test_breakdown_reaction.c — commands/maintenance/reactions.c: a loom's breakdown, as
 * fofal-machines declares it, becomes the intervention request fofal-machines used to send
 * itself (same loom, cause, source and note); a breakdown without a loom or a cause is a
 * failure with its reason, never a command; the reaction is pure (the same event gives the
 * same command), and the command it makes passes the schema and names its aggregate.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ingest.h"

#define NAME "maintenance.intervention_on_breakdown"
/* 2026-11-28T06:00:00Z */
#define T0 1795845600000000LL

static const fofal_reaction_t *reaction(void) {
  const fofal_reaction_t *r = fofal_reaction_find(NAME);
  cr_assert_not_null(r, NAME " is registered");
  return r;
}

/* The breakdown_declared fofal-machines emits for a mechanical stop of t1/L1 (new data). */
static json_t *machines_breakdown(void) {
  fofal_machines_cfg_t cfg = {.hysteresis_ms = 2000, .confirm_samples = 3, .breakdown_after_s = 600, .tally_s = 60,
                              .gap_s = 300};
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *out = json_array(), *found = NULL;
  const char *states[] = {"running", "stopped", "stopped", "stopped"};
  for (int i = 0; i < 4; i++) {
    char ts[32], id[8];
    fofal_time_format(T0 + (int64_t)i * 1000000, ts);
    snprintf(id, sizeof id, "s%d", i);
    json_t *d = json_pack("{s:s,s:s,s:i,s:f,s:s}", "msg_id", id, "ts", ts, "picks", 0, "ppm", 0.0, "state", states[i]);
    if (i) json_object_set_new(d, "stop_cause", json_string("mechanical"));
    cr_assert_eq(fofal_machines_sample(m, "t1", "L1", d, out), 0);
    json_decref(d);
  }
  size_t i;
  json_t *e;
  json_array_foreach(out, i, e) if (strstr(json_string_value(json_object_get(e, "type")), "breakdown_declared")) found =
      json_incref(json_object_get(e, "data"));
  json_decref(out);
  fofal_machines_free(m);
  cr_assert_not_null(found, "fofal-machines declared the breakdown");
  return found;
}

static fofal_event_t event(json_t *data) {
  return (fofal_event_t){.id = "0190a4b2-0000-7000-8000-0000000000d1", .type = "fofal.machines.breakdown_declared.v1",
                         .subject = "L1", .tenant = "t1", .seq = 2, .actor = "s:fofal-machines", .data = data};
}

Test(breakdown_reaction, a_breakdown_requests_an_intervention) {
  fofal_event_t ev = event(machines_breakdown());
  fofal_reaction_out_t out = {0}, again = {0};
  cr_assert_eq(reaction()->react(&ev, &out), FOFAL_REACT_COMMAND, "%s", out.reason);
  cr_expect_str_eq(out.type, "maintenance.intervention.request");
  cr_expect_str_eq(json_string_value(json_object_get(out.data, "loom")), "L1");
  cr_expect_str_eq(json_string_value(json_object_get(out.data, "cause")), "mechanical");
  cr_expect_str_eq(json_string_value(json_object_get(out.data, "source")), "telemetry");
  /* The note fofal-machines wrote before: loom, since, cause and why it is a breakdown. */
  cr_expect_str_eq(json_string_value(json_object_get(out.data, "note")),
                   "L1 stopped since 2026-11-28T06:00:01.000000Z (mechanical): mechanical or electrical cause");
  cr_expect_null(json_object_get(out.data, "intervention_id"), "the id is the reactor's to derive");
  /* Pure: the same event, the same answer. */
  cr_assert_eq(reaction()->react(&ev, &again), FOFAL_REACT_COMMAND);
  cr_expect_str_eq(again.type, out.type);
  cr_expect(json_equal(again.data, out.data));
  json_decref(out.data);
  json_decref(again.data);
  json_decref(ev.data);
}

Test(breakdown_reaction, its_command_is_valid_and_keyed) {
  char err[512];
  fofal_registry_t *reg = NULL;
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "%s", err);
  fofal_event_t ev = event(machines_breakdown());
  fofal_reaction_result_t res;
  cr_assert_eq(fofal_reaction_apply(reg, reaction(), &ev, "fofal.machines.events", 0, 5, T0, &res), FOFAL_REACT_COMMAND,
               "%s", res.out.reason);
  char id[FOFAL_UUID_LEN + 1], agg[FOFAL_UUID_LEN + 1];
  fofal_reaction_command_id(NAME, ev.id, id);
  cr_expect_str_eq(res.cmd.id, id);
  fofal_uuid_named("t1", id, agg);
  cr_expect_str_eq(res.cmd.aggregate, agg, "a new intervention, named by the command id");
  cr_expect_str_eq(res.cmd.actor, "r:" NAME);
  fofal_reaction_result_clear(&res);
  json_decref(ev.data);
  fofal_registry_free(reg);
}

Test(breakdown_reaction, a_breakdown_without_loom_or_cause_fails_with_its_reason) {
  static const struct {
    const char *data, *reason;
  } cases[] = {
      {"{\"cause\":\"mechanical\",\"since\":\"2026-11-28T06:00:01Z\",\"reason\":\"x\"}", "no valid loom code"},
      {"{\"loom\":\"L 1\",\"cause\":\"mechanical\"}", "no valid loom code"},
      {"{\"loom\":\"L1\",\"since\":\"2026-11-28T06:00:01Z\"}", "the breakdown of L1 has no cause"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fofal_event_t ev = event(json_loads(cases[i].data, 0, NULL));
    fofal_reaction_out_t out = {0};
    cr_expect_lt(reaction()->react(&ev, &out), 0, "case %zu fails", i);
    cr_expect(strstr(out.reason, cases[i].reason), "case %zu: \"%s\"", i, out.reason);
    cr_expect_null(out.data, "no command");
    json_decref(ev.data);
  }
}
