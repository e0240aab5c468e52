/*
 * test_reactor.c — reactions between modules on the real Kafka of the test stack
 * (commands/reactor.c, commands.h "reactions"), with the first one registered: the
 * maintenance module's intervention_on_breakdown.
 *   - exactly once: a stream of breakdowns (machines events produced straight to
 *     fofal.machines.events, as fofal-machines writes them) while fofal-reactor is killed
 *     with SIGKILL twice and restarted; afterwards every breakdown has exactly one
 *     intervention request on fofal.commands (id fofal_reaction_command_id(reaction,
 *     trigger id), actor r:<reaction>) and exactly one intervention_requested event;
 *   - never a silent loss: a breakdown the reaction cannot answer (no loom) and one whose
 *     request the decider refuses (a loom never registered) each land in
 *     fofal.reactions.dlq once, with the stage, the reason and the trigger's id and place;
 *     the triggers around them are answered as usual.
 * Each test uses a tenant of its own.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "harness.h"

#define REACTION "maintenance.intervention_on_breakdown"

static fofal_kafka_t *producer(void) {
  char err[256];
  fofal_kafka_t *k = NULL;
  fofal_kafka_opts_t o = {.brokers = h_env("FOFAL_KAFKA_BROKERS"), .client_id = "fofal-test-reactions"};
  cr_assert_eq(fofal_kafka_producer_new(&k, &o, err, sizeof err), 0, "%s", err);
  return k;
}

/* Registers loom `loom` of `tenant` (straight to fofal.commands, as the API would). */
static void register_loom(fofal_kafka_t *k, const char *tenant, const char *loom) {
  char agg[FOFAL_UUID_LEN + 1], id[96];
  fofal_aggregate_ref(tenant, "loom", loom, agg);
  snprintf(id, sizeof id, "register-%s", loom);
  h_produce_command(k, tenant, id, "production.loom.register", agg,
                    json_pack("{s:s,s:s,s:i,s:s}", "loom", loom, "hall", "H1", "nominal_ppm", 450, "weave", "flat"));
}

/* A breakdown_declared of `loom` as fofal-machines writes it (data: stolen, NULL for the
 * usual); its event id into id_out. */
static void produce_breakdown(fofal_kafka_t *k, const char *tenant, const char *loom, int seq, json_t *data,
                              char id_out[FOFAL_UUID_LEN + 1]) {
  char err[256], since[32], topic[96];
  fofal_uuid7(id_out);
  fofal_time_format(fofal_now_us() - 60 * 1000000LL, since);
  if (!data)
    data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "loom", loom, "cause", "mechanical", "since", since, "reason",
                     "mechanical or electrical cause", "command_id", id_out);
  fofal_event_t ev = {.id = id_out, .source = "/fofal/machines", .type = "fofal.machines.breakdown_declared.v1",
                      .subject = (char *)loom, .time_us = fofal_now_us(), .tenant = (char *)tenant, .seq = seq,
                      .actor = "s:fofal-machines", .data = data};
  char *buf = fofal_event_encode(&ev);
  const fofal_kheader_t *h;
  int nh = fofal_event_kafka_headers(&h);
  fofal_topic_events("machines", topic, sizeof topic);
  int rc;
  while ((rc = fofal_kafka_produce(k, topic, -1, loom, strlen(loom), buf, strlen(buf), h, nh, NULL, NULL, err,
                                   sizeof err)) == FOFAL_EUNAVAIL)
    fofal_kafka_poll(k, 10);
  cr_assert_eq(rc, 0, "%s", err);
  free(buf);
  json_decref(data);
}

/* The tenant's commands the reaction sent, by trigger id: trigger id → count (new map of
 * (void *)(intptr_t) counts); *total of them. Checks each command's id and actor. */
static fofal_map_t *reaction_commands(const char *tenant, int *total) {
  json_t *all = h_read_topic(FOFAL_TOPIC_COMMANDS), *r;
  fofal_map_t *by = fofal_map_new(NULL);
  size_t i;
  *total = 0;
  json_array_foreach(all, i, r) {
    json_t *c = json_object_get(r, "value");
    const char *t = json_string_value(json_object_get(c, "tenant"));
    if (!t || strcmp(t, tenant) || strcmp(json_string_value(json_object_get(c, "actor")) ?: "", "r:" REACTION)) continue;
    const char *trig = json_string_value(json_object_get(json_object_get(c, "trigger"), "id"));
    cr_assert_not_null(trig, "a reaction's command names its trigger");
    char want[FOFAL_UUID_LEN + 1];
    fofal_reaction_command_id(REACTION, trig, want);
    cr_expect_str_eq(json_string_value(json_object_get(c, "id")), want);
    cr_expect_str_eq(json_string_value(json_object_get(c, "type")), "maintenance.intervention.request");
    fofal_map_put(by, trig, (void *)((intptr_t)fofal_map_get(by, trig) + 1));
    (*total)++;
  }
  json_decref(all);
  return by;
}

/* The tenant's intervention_requested events: fofalcommandid → count (new map); *total. */
static fofal_map_t *requested_events(const char *tenant, int *total) {
  json_t *all = h_read_topic("fofal.maintenance.events"), *r;
  fofal_map_t *by = fofal_map_new(NULL);
  size_t i;
  *total = 0;
  json_array_foreach(all, i, r) {
    json_t *e = json_object_get(r, "value");
    const char *t = json_string_value(json_object_get(e, "fofaltenant"));
    if (!t || strcmp(t, tenant) || !strstr(json_string_value(json_object_get(e, "type")) ?: "", "intervention_requested"))
      continue;
    const char *cid = json_string_value(json_object_get(e, "fofalcommandid"));
    fofal_map_put(by, cid, (void *)((intptr_t)fofal_map_get(by, cid) + 1));
    (*total)++;
  }
  json_decref(all);
  return by;
}

/* The tenant's records of fofal.reactions.dlq (new array of {"value","dlq_reason"}). */
static json_t *dlq_of(const char *tenant) {
  json_t *all = h_read_topic(FOFAL_TOPIC_REACTIONS_DLQ), *out = json_array(), *r;
  size_t i;
  json_array_foreach(all, i, r) {
    const char *t = json_string_value(json_object_get(json_object_get(r, "value"), "tenant"));
    if (t && !strcmp(t, tenant)) json_array_append(out, r);
  }
  json_decref(all);
  return out;
}

Test(reactions, kill9_during_a_stream_of_triggers_every_trigger_has_one_reaction, .timeout = 600) {
  enum { N = 240 };
  char tenant[32], (*ids)[FOFAL_UUID_LEN + 1] = fofal_calloc(N, sizeof *ids);
  h_tenant(tenant);
  fofal_kafka_t *k = producer();
  pid_t dec = h_start_decider(tenant);
  register_loom(k, tenant, "R1");
  pid_t rea = h_start_reactor(tenant);
  int kills = 0;
  for (int i = 0; i < N; i++) {
    produce_breakdown(k, tenant, "R1", i + 1, NULL, ids[i]);
    if (i % 8 == 7) {
      fofal_kafka_flush(k, 10000);
      usleep(20 * 1000); /* a stream, not one burst: the reactor commits batch after batch */
    }
    if (i == N / 3 || i == 2 * N / 3) {
      /* Mid-stream: whatever batch is open dies with the process. */
      int st = h_stop(rea, SIGKILL);
      cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "fofal-reactor was killed (status %d)", st);
      kills++;
      rea = h_start_reactor(tenant);
    }
  }
  fofal_kafka_flush(k, 10000);
  cr_assert_eq(kills, 2);

  /* Every trigger gets its command, once. */
  fofal_map_t *cmds = NULL;
  int ncmd = 0;
  for (int attempt = 0; attempt < 240; attempt++) {
    fofal_map_free(cmds);
    cmds = reaction_commands(tenant, &ncmd);
    if ((int)fofal_map_size(cmds) >= N) break;
    usleep(500 * 1000);
  }
  cr_expect_eq((int)fofal_map_size(cmds), N, "every trigger has a command (%zu of %d)", fofal_map_size(cmds), N);
  cr_expect_eq(ncmd, N, "no trigger has two commands on fofal.commands (%d commands for %d triggers)", ncmd, N);
  for (int i = 0; i < N; i++)
    cr_expect_eq((intptr_t)fofal_map_get(cmds, ids[i]), 1, "trigger %d (%s) has %ld commands", i, ids[i],
                 (long)(intptr_t)fofal_map_get(cmds, ids[i]));
  fofal_map_free(cmds);

  /* ... and the decider accepted each once: one intervention_requested per trigger. */
  fofal_map_t *evs = NULL;
  int nev = 0;
  for (int attempt = 0; attempt < 240; attempt++) {
    fofal_map_free(evs);
    evs = requested_events(tenant, &nev);
    if (nev >= N) break;
    usleep(500 * 1000);
  }
  cr_expect_eq(nev, N, "one intervention_requested per trigger (%d for %d)", nev, N);
  for (int i = 0; i < N; i++) {
    char cid[FOFAL_UUID_LEN + 1];
    fofal_reaction_command_id(REACTION, ids[i], cid);
    cr_expect_eq((intptr_t)fofal_map_get(evs, cid), 1, "trigger %d: %ld intervention_requested", i,
                 (long)(intptr_t)fofal_map_get(evs, cid));
  }
  fofal_map_free(evs);
  json_t *dlq = dlq_of(tenant);
  cr_expect_eq(json_array_size(dlq), 0, "nothing failed");
  json_decref(dlq);

  int st = h_stop(rea, SIGTERM);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fofal-reactor exits cleanly (status %d)", st);
  h_stop(dec, SIGTERM);
  fofal_kafka_free(k);
  free(ids);
}

Test(reactions, a_reaction_that_cannot_be_carried_out_is_in_the_dlq, .timeout = 300) {
  char tenant[32], before[FOFAL_UUID_LEN + 1], noloom[FOFAL_UUID_LEN + 1], ghost[FOFAL_UUID_LEN + 1],
      after[FOFAL_UUID_LEN + 1];
  h_tenant(tenant);
  fofal_kafka_t *k = producer();
  pid_t dec = h_start_decider(tenant);
  register_loom(k, tenant, "R2");
  pid_t rea = h_start_reactor(tenant);
  produce_breakdown(k, tenant, "R2", 1, NULL, before);
  /* The reaction fails: the breakdown names no loom. */
  produce_breakdown(k, tenant, "R2", 2, json_pack("{s:s,s:s}", "cause", "mechanical", "reason", "x"), noloom);
  /* The decider refuses the request: loom GHOST was never registered. */
  produce_breakdown(k, tenant, "GHOST", 1, NULL, ghost);
  produce_breakdown(k, tenant, "R2", 3, NULL, after);
  fofal_kafka_flush(k, 10000);

  json_t *dlq = NULL;
  for (int attempt = 0; attempt < 240; attempt++) {
    json_decref(dlq);
    dlq = dlq_of(tenant);
    if (json_array_size(dlq) >= 2) break;
    usleep(500 * 1000);
  }
  cr_assert_eq(json_array_size(dlq), 2, "two records in %s (found %zu)", FOFAL_TOPIC_REACTIONS_DLQ, json_array_size(dlq));
  int transform = 0, rejected = 0;
  size_t i;
  json_t *r;
  json_array_foreach(dlq, i, r) {
    json_t *v = json_object_get(r, "value"), *trig = json_object_get(v, "trigger");
    const char *stage = json_string_value(json_object_get(v, "stage"));
    cr_expect_str_eq(json_string_value(json_object_get(v, "reaction")), REACTION);
    cr_expect_str_eq(json_string_value(json_object_get(trig, "topic")), "fofal.machines.events");
    cr_expect(json_integer_value(json_object_get(trig, "offset")) >= 0);
    cr_expect_not_null(json_object_get(r, "dlq_reason"), "the reason is in a header too");
    if (stage && !strcmp(stage, "transform")) {
      transform++;
      cr_expect_str_eq(json_string_value(json_object_get(trig, "id")), noloom);
      cr_expect(strstr(json_string_value(json_object_get(v, "reason")) ?: "", "no valid loom code"), "reason: %s",
                json_string_value(json_object_get(v, "reason")));
    } else if (stage && !strcmp(stage, "rejected")) {
      rejected++;
      char cid[FOFAL_UUID_LEN + 1];
      fofal_reaction_command_id(REACTION, ghost, cid);
      cr_expect_str_eq(json_string_value(json_object_get(trig, "id")), ghost);
      cr_expect_str_eq(json_string_value(json_object_get(v, "code")), "unknown_loom");
      cr_expect(strstr(json_string_value(json_object_get(v, "reason")) ?: "", "GHOST"), "reason: %s",
                json_string_value(json_object_get(v, "reason")));
      cr_expect_str_eq(json_string_value(json_object_get(json_object_get(v, "command"), "id")), cid);
    }
  }
  cr_expect_eq(transform, 1, "the failed transform is recorded once");
  cr_expect_eq(rejected, 1, "the refused command is recorded once");
  json_decref(dlq);

  /* The triggers around them were answered, and the failed one got no command. */
  int ncmd = 0;
  fofal_map_t *cmds = NULL;
  for (int attempt = 0; attempt < 120; attempt++) {
    fofal_map_free(cmds);
    cmds = reaction_commands(tenant, &ncmd);
    if (ncmd >= 3) break;
    usleep(500 * 1000);
  }
  cr_expect_eq(ncmd, 3, "before, ghost and after have a command; the loomless one none (%d)", ncmd);
  cr_expect_eq((intptr_t)fofal_map_get(cmds, before), 1);
  cr_expect_eq((intptr_t)fofal_map_get(cmds, after), 1);
  cr_expect_null(fofal_map_get(cmds, noloom));
  fofal_map_free(cmds);

  h_stop(rea, SIGTERM);
  h_stop(dec, SIGTERM);
  fofal_kafka_free(k);
}
