/*
 * test_machines.c — ingest/machines.c: machine states from loom samples. Dedup by msg_id,
 * late (out-of-order) samples that never flip a state backwards, hysteresis against a
 * single odd sample, breakdowns by cause and by duration with a repeatable id (and no command),
 * shift tallies, snapshots, and the shift function.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ingest.h"
#include "jsonschema.h"

static const fofal_machines_cfg_t cfg = {.hysteresis_ms = 2000, .confirm_samples = 3, .breakdown_after_s = 600,
                                         .tally_s = 60, .gap_s = 300};

/* 2026-11-28T06:00:00Z = 07:00 local: shift A of 2026-11-28. */
#define T0 1795845600000000LL

static json_t *sample(const char *id, int64_t us, long long picks, const char *state, const char *cause) {
  char ts[32];
  fofal_time_format(us, ts);
  json_t *d = json_pack("{s:s,s:s,s:I,s:f,s:s}", "msg_id", id, "ts", ts, "picks", (json_int_t)picks, "ppm",
                        strcmp(state, "running") ? 0.0 : 600.0, "state", state);
  if (cause) json_object_set_new(d, "stop_cause", json_string(cause));
  return d;
}

/* Feeds one sample; returns the outputs (new). */
static json_t *feed(fofal_machines_t *m, const char *id, int64_t us, long long picks, const char *state, const char *cause) {
  json_t *out = json_array(), *d = sample(id, us, picks, state, cause);
  cr_assert_eq(fofal_machines_sample(m, "t1", "L1", d, out), 0);
  json_decref(d);
  return out;
}

static int count_type(const json_t *out, const char *type) {
  size_t i;
  json_t *o;
  int n = 0;
  json_array_foreach(out, i, o) if (json_string_value(json_object_get(o, "type")) &&
                                   strstr(json_string_value(json_object_get(o, "type")), type)) n++;
  return n;
}

static json_t *find(const json_t *out, const char *type) {
  size_t i;
  json_t *o;
  json_array_foreach(out, i, o) if (json_string_value(json_object_get(o, "type")) &&
                                   strstr(json_string_value(json_object_get(o, "type")), type)) return o;
  return NULL;
}

Test(machines, first_sample_sets_the_state) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *out = feed(m, "a1", T0, 100, "running", NULL);
  cr_expect_eq(count_type(out, "loom_running"), 1);
  json_t *e = find(out, "loom_running");
  cr_expect_str_eq(json_string_value(json_object_get(e, "subject")), "L1");
  cr_expect_eq(json_integer_value(json_object_get(e, "seq")), 1);
  json_decref(out);
  fofal_machines_free(m);
}

Test(machines, duplicates_are_dropped) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *all = json_array();
  char id[32];
  for (int i = 0; i < 200; i++) {
    snprintf(id, sizeof id, "s%d", i);
    json_t *o = feed(m, id, T0 + (int64_t)i * 1000000, 100 + i * 10, "running", NULL);
    json_array_extend(all, o);
    json_decref(o);
    if (i % 3 == 0) { /* redelivered right away */
      o = feed(m, id, T0 + (int64_t)i * 1000000, 100 + i * 10, "running", NULL);
      cr_expect_eq(json_array_size(o), 0, "a duplicate must cause nothing");
      json_decref(o);
    }
  }
  /* A whole old stretch redelivered (a broker restart): beyond the memory, still dropped. */
  for (int i = 0; i < 100; i++) {
    snprintf(id, sizeof id, "s%d", i);
    json_t *o = feed(m, id, T0 + (int64_t)i * 1000000, 100 + i * 10, "running", NULL);
    cr_expect_eq(json_array_size(o), 0);
    json_decref(o);
  }
  /* Force the last tally out with a sample far later (a gap). */
  json_t *o = feed(m, "last", T0 + 1000LL * 1000000, 3000, "running", NULL);
  json_array_extend(all, o);
  json_decref(o);
  long long samples = 0, dups = 0, picks = 0;
  size_t i;
  json_t *e;
  json_array_foreach(all, i, e) {
    if (!strstr(json_string_value(json_object_get(e, "type")), "loom_activity")) continue;
    samples += json_integer_value(json_object_get(json_object_get(e, "data"), "samples"));
    dups += json_integer_value(json_object_get(json_object_get(e, "data"), "duplicates"));
    picks += json_integer_value(json_object_get(json_object_get(e, "data"), "picks"));
  }
  cr_expect_eq(samples, 201, "every distinct sample counted once (got %lld)", samples);
  cr_expect_eq(dups, 67 + 100, "duplicates counted apart (got %lld)", dups);
  /* The counter's increase; what it gained across the gap goes to the tally the last
   * sample opened, not yet emitted. */
  cr_expect_eq(picks, 2090 - 100, "picks are the counter's increase (got %lld)", picks);
  json_decref(all);
  fofal_machines_free(m);
}

Test(machines, late_samples_never_flip_back) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_decref(feed(m, "r1", T0, 0, "running", NULL));
  json_decref(feed(m, "r2", T0 + 1000000, 10, "running", NULL));
  json_t *o1 = feed(m, "s1", T0 + 2000000, 20, "stopped", "warp_break");
  json_t *o2 = feed(m, "s2", T0 + 3000000, 20, "stopped", "warp_break");
  json_t *o3 = feed(m, "s3", T0 + 4000000, 20, "stopped", "warp_break");
  cr_expect_eq(count_type(o1, "loom_stopped") + count_type(o2, "loom_stopped"), 0, "one odd sample does not flip");
  cr_expect_eq(count_type(o3, "loom_stopped"), 1, "three samples (or 2 s) confirm the stop");
  json_t *st = json_object_get(find(o3, "loom_stopped"), "data");
  char since[32];
  fofal_time_format(T0 + 2000000, since);
  cr_expect_str_eq(json_string_value(json_object_get(st, "since")), since, "the stop is dated at its first sample");
  cr_expect_str_eq(json_string_value(json_object_get(st, "cause")), "warp_break");
  cr_expect_eq(count_type(o3, "breakdown"), 0, "a warp break is no breakdown");
  /* Late running samples (older than the last one) arrive: no flip back. */
  json_t *o4 = feed(m, "late1", T0 + 1500000, 15, "running", NULL);
  json_t *o5 = feed(m, "late2", T0 + 2500000, 20, "running", NULL);
  json_t *o6 = feed(m, "late3", T0 + 3500000, 20, "running", NULL);
  cr_expect_eq(json_array_size(o4) + json_array_size(o5) + json_array_size(o6), 0);
  json_t *snap = fofal_machines_snapshot(m, "t1", "L1", 0);
  cr_expect_eq(json_integer_value(json_object_get(snap, "state")), 2, "still stopped");
  cr_expect_eq(json_integer_value(json_object_get(snap, "late")), 3);
  json_decref(snap);
  json_decref(o1);
  json_decref(o2);
  json_decref(o3);
  json_decref(o4);
  json_decref(o5);
  json_decref(o6);
  fofal_machines_free(m);
}

Test(machines, glitch_is_ignored) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_decref(feed(m, "a", T0, 0, "running", NULL));
  json_t *o1 = feed(m, "b", T0 + 200000, 2, "stopped", "other");
  json_t *o2 = feed(m, "c", T0 + 400000, 4, "running", NULL);
  json_t *o3 = feed(m, "d", T0 + 600000, 6, "running", NULL);
  cr_expect_eq(count_type(o1, "loom_") + count_type(o2, "loom_") + count_type(o3, "loom_"), 0);
  json_decref(o1);
  json_decref(o2);
  json_decref(o3);
  fofal_machines_free(m);
}

Test(machines, breakdown_by_cause_with_a_repeatable_id) {
  json_t *cmds[2];
  for (int run = 0; run < 2; run++) {
    fofal_machines_t *m = fofal_machines_new(&cfg);
    json_decref(feed(m, "a", T0, 0, "running", NULL));
    json_decref(feed(m, "b", T0 + 1000000, 0, "stopped", "mechanical"));
    json_decref(feed(m, "c", T0 + 2000000, 0, "stopped", "mechanical"));
    json_t *o = feed(m, "d", T0 + 3000000, 0, "stopped", "mechanical");
    cr_assert_eq(count_type(o, "breakdown_declared"), 1);
    /* fofal-machines writes its own events only: the maintenance module's reaction turns the
     * breakdown into an intervention request (tests/unit/maintenance/test_breakdown_reaction.c). */
    cr_assert_eq(count_type(o, "maintenance.intervention.request"), 0);
    cr_assert_eq(json_array_size(o), (size_t)count_type(o, "fofal.machines."), "nothing but machines events");
    cmds[run] = json_incref(json_object_get(find(o, "breakdown_declared"), "data"));
    json_t *d = cmds[run];
    cr_expect_str_eq(json_string_value(json_object_get(d, "loom")), "L1");
    cr_expect_str_eq(json_string_value(json_object_get(d, "cause")), "mechanical");
    cr_expect(fofal_uuid_valid(json_string_value(json_object_get(d, "command_id"))));
    /* Still stopped: no second request. */
    json_t *o2 = feed(m, "e", T0 + 700LL * 1000000, 0, "stopped", "mechanical");
    cr_expect_eq(count_type(o2, "breakdown"), 0);
    json_decref(o2);
    json_decref(o);
    fofal_machines_free(m);
  }
  cr_expect_str_eq(json_string_value(json_object_get(cmds[0], "command_id")),
                   json_string_value(json_object_get(cmds[1], "command_id")),
                   "reprocessing must declare the breakdown with the same id");
  json_decref(cmds[0]);
  json_decref(cmds[1]);
}

Test(machines, breakdown_by_duration_and_running_again) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_decref(feed(m, "a", T0, 0, "running", NULL));
  char id[16];
  int breakdowns = 0;
  for (int i = 1; i <= 70; i++) { /* a weft break every 10 s for 11+ minutes */
    snprintf(id, sizeof id, "s%d", i);
    json_t *o = feed(m, id, T0 + (int64_t)i * 10000000, 0, "stopped", "weft_break");
    breakdowns += count_type(o, "breakdown_declared");
    json_decref(o);
  }
  cr_expect_eq(breakdowns, 1, "a long stop is one breakdown");
  json_t *all = json_array();
  for (int i = 71; i <= 73; i++) {
    snprintf(id, sizeof id, "r%d", i);
    json_t *o = feed(m, id, T0 + (int64_t)i * 10000000, 100 * (i - 70), "running", NULL);
    json_array_extend(all, o);
    json_decref(o);
  }
  json_t *r = find(all, "loom_running");
  cr_assert_not_null(r);
  cr_expect(json_is_true(json_object_get(json_object_get(r, "data"), "after_breakdown")));
  json_decref(all);
  fofal_machines_free(m);
}

Test(machines, snapshot_round_trip) {
  fofal_machines_t *m = fofal_machines_new(&cfg), *m2 = fofal_machines_new(&cfg);
  json_decref(feed(m, "a", T0, 0, "running", NULL));
  json_decref(feed(m, "b", T0 + 1000000, 10, "running", NULL));
  json_t *s = fofal_machines_snapshot(m, "t1", "L1", 0);
  cr_assert_eq(fofal_machines_restore(m2, s), 0);
  json_t *s2 = fofal_machines_snapshot(m2, "t1", "L1", 0);
  cr_expect(json_equal(s, s2));
  /* The restored one still knows msg_id "b". */
  json_t *out = json_array(), *d = sample("b", T0 + 1000000, 10, "running", NULL);
  fofal_machines_sample(m2, "t1", "L1", d, out);
  json_t *s3 = fofal_machines_snapshot(m2, "t1", "L1", 0);
  cr_expect_eq(json_integer_value(json_object_get(s3, "dups")), 1);
  json_decref(s3);
  json_decref(d);
  json_decref(out);
  json_decref(s);
  json_decref(s2);
  fofal_machines_free(m);
  fofal_machines_free(m2);
}

/* The shift of the first tally of a loom whose first sample is at `us` (new string). */
static char *first_shift(fofal_machines_t *m, const char *loom, int64_t us) {
  json_t *out = json_array(), *d = sample("x", us, 0, "running", NULL);
  cr_assert_eq(fofal_machines_sample(m, "t1", loom, d, out), 0);
  json_decref(d);
  d = sample("y", us + 1000000, 0, "running", NULL);
  cr_assert_eq(fofal_machines_sample(m, "t1", loom, d, out), 0);
  json_decref(d);
  d = sample("z", us + 61000000, 0, "running", NULL); /* past tally_s */
  cr_assert_eq(fofal_machines_sample(m, "t1", loom, d, out), 0);
  json_decref(d);
  json_t *e = find(out, "loom_activity");
  cr_assert_not_null(e);
  char *s = strdup(json_string_value(json_object_get(json_object_get(e, "data"), "shift")));
  json_decref(out);
  return s;
}

Test(machines, shifts_of_the_built_in_model) {
  /* A tenant without a shift model has the decider's built-in 3×8 from 06:00 at UTC+1. */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  struct {
    int64_t us;
    const char *loom, *want;
  } cases[] = {
      {1795842000000000LL, "a", "2026-11-28/A"},                         /* 05:00Z = 06:00 local */
      {1795842000000000LL - 5LL * 60 * 1000000, "b", "2026-11-27/C"},    /* 05:55 local: last night's C */
      {1795842000000000LL + 8LL * 3600 * 1000000, "c", "2026-11-28/B"},  /* 14:00 local */
      {1795842000000000LL + 17LL * 3600 * 1000000, "d", "2026-11-28/C"}, /* 23:00 local */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = first_shift(m, cases[i].loom, cases[i].us);
    cr_expect_str_eq(s, cases[i].want, "case %zu", i);
    free(s);
  }
  fofal_machines_free(m);
}

Test(machines, tally_splits_at_the_shift_boundary) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  /* 12:59:30Z = 13:59:30 local, then 30 s later past 14:00 local. */
  int64_t t = 1795842000000000LL + 8LL * 3600 * 1000000 - 30000000;
  json_decref(feed(m, "a", t, 0, "running", NULL));
  json_t *o = feed(m, "b", t + 40000000, 400, "running", NULL);
  json_t *e = find(o, "loom_activity");
  cr_assert_not_null(e);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(e, "data"), "shift")), "2026-11-28/A");
  cr_expect_float_eq(json_number_value(json_object_get(json_object_get(e, "data"), "run_s")), 30.0, 1e-6);
  json_decref(o);
  fofal_machines_free(m);
}

/* Every event the logic emits matches its schema under schemas/machines/events/. */
static void check_schema(const json_t *e) {
  static const char prefix[] = "fofal.machines.";
  const char *type = json_string_value(json_object_get(e, "type"));
  if (!strcmp(json_string_value(json_object_get(e, "kind")), "command")) return;
  cr_assert_eq(strncmp(type, prefix, sizeof prefix - 1), 0, "%s", type);
  char path[1024], err[512] = "";
  snprintf(path, sizeof path, "%s/schemas/machines/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_error_t jerr;
  json_t *sj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  cr_assert_not_null(sj, "no schema for %s: %s", type, jerr.text);
  fofal_schema_t *sc = NULL;
  cr_assert_eq(fofal_schema_compile(&sc, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(sc, json_object_get(e, "data"), &errors);
  char *es = json_dumps(errors, JSON_COMPACT), *ds = json_dumps(json_object_get(e, "data"), JSON_COMPACT);
  cr_expect_eq(rc, 0, "%s data %s: %s", type, ds, es ? es : "");
  free(es);
  free(ds);
  json_decref(errors);
  fofal_schema_free(sc);
  json_decref(sj);
}

Test(machines, events_match_their_schemas) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *all = json_array(), *o;
  const char *states[] = {"running", "running", "stopped", "stopped", "stopped", "running", "running", "running",
                          "stopped", "stopped", "stopped", "stopped"};
  const char *causes[] = {NULL, NULL, "warp_break", "warp_break", "warp_break", NULL, NULL, NULL,
                          "electrical", "electrical", "electrical", "electrical"};
  char id[16];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "x%d", i);
    o = feed(m, id, T0 + (int64_t)i * 30000000, 100 * i, states[i], causes[i]);
    json_array_extend(all, o);
    json_decref(o);
  }
  o = json_array();
  json_t *h = json_pack("{s:s,s:s,s:f,s:f}", "msg_id", "h1", "ts", "2026-11-28T06:00:00Z", "temperature", 27.5, "humidity", 61.0);
  cr_assert_eq(fofal_machines_hall(m, "t1", "H1", h, o), 0);
  json_array_extend(all, o);
  json_decref(o);
  json_decref(h);
  const char *kinds[] = {"loom_running", "loom_stopped", "breakdown_declared", "loom_activity", "hall_reading"};
  for (size_t k = 0; k < 5; k++) cr_expect(count_type(all, kinds[k]) > 0, "the scenario emits %s", kinds[k]);
  size_t i;
  json_t *e;
  json_array_foreach(all, i, e) check_schema(e);
  json_decref(all);
  fofal_machines_free(m);
}

/* ------------------------------------------------------------ records */

/* The record fofal-ingest writes for a payload (new string). */
static char *record_of(int kind, const char *tenant, const char *name, const char *payload) {
  fofal_telemetry_sample_t s;
  char why[256], ev[FOFAL_TELEMETRY_EVENT_MAX];
  cr_assert_eq(fofal_telemetry_check(kind, payload, strlen(payload), &s, why, sizeof why), 0, "%s: %s", payload, why);
  size_t n = fofal_telemetry_encode(kind, tenant, name, &s, payload, strlen(payload), ev, sizeof ev);
  cr_assert_gt(n, 0);
  return strdup(ev);
}

/* A stream of a loom's samples (runs, a weft break, a mechanical stop, late and repeated
 * samples) and of a hall's readings, as records: fed through fofal_machines_record (the
 * scanner) it leaves the same outputs and the same state as through the JSON entry points. */
Test(machines, records_read_by_the_scanner_act_as_the_json_samples) {
  fofal_machines_t *fast = fofal_machines_new(&cfg), *slow = fofal_machines_new(&cfg);
  json_t *out_fast = json_array(), *out_slow = json_array();
  char payload[512], ts[32], id[32];
  for (int i = 0; i < 400; i++) {
    int k = i == 150 ? 140 : i == 151 ? 149 : i; /* one late sample, one repeated */
    int64_t us = T0 + (int64_t)k * 500000;
    fofal_time_format(us, ts);
    snprintf(id, sizeof id, "s%d", k);
    const char *cause = k >= 100 && k < 110 ? "weft_break" : k >= 250 && k < 330 ? "mechanical" : NULL;
    if (cause)
      snprintf(payload, sizeof payload,
               "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":0,\"state\":\"stopped\",\"stop_cause\":\"%s\"}", id, ts,
               k * 5, cause);
    else
      snprintf(payload, sizeof payload,
               "{\"msg_id\":\"%s\",\"ts\":\"%s\",\"picks\":%d,\"ppm\":%d.25,\"state\":\"running\",\"temperature\":24.5}", id,
               ts, k * 5, 590 + k % 20);
    char *rec = record_of(FOFAL_TELEMETRY_LOOM, "t1", "L1", payload);
    char tenant[64], name[64];
    int hall = -1;
    cr_assert_eq(fofal_machines_record(fast, rec, strlen(rec), out_fast, tenant, name, &hall), 0);
    cr_expect(!strcmp(tenant, "t1") && !strcmp(name, "L1") && hall == 0);
    json_t *d = json_loads(payload, 0, NULL);
    cr_assert_eq(fofal_machines_sample(slow, "t1", "L1", d, out_slow), 0);
    json_decref(d);
    free(rec);
    if (i % 50 == 0) {
      snprintf(payload, sizeof payload, "{\"msg_id\":\"h%d\",\"ts\":\"%s\",\"humidity\":61.5}", i, ts);
      rec = record_of(FOFAL_TELEMETRY_HALL, "t1", "H1", payload);
      cr_assert_eq(fofal_machines_record(fast, rec, strlen(rec), out_fast, tenant, name, &hall), 0);
      cr_expect(!strcmp(name, "H1") && hall == 1);
      d = json_loads(payload, 0, NULL);
      cr_assert_eq(fofal_machines_hall(slow, "t1", "H1", d, out_slow), 0);
      json_decref(d);
      free(rec);
    }
  }
  cr_assert_gt(json_array_size(out_fast), 10, "the stream caused events");
  cr_expect(json_equal(out_fast, out_slow), "the same events and commands either way");
  const char *names[][2] = {{"L1", "0"}, {"H1", "1"}};
  for (int i = 0; i < 2; i++) {
    json_t *a = fofal_machines_snapshot(fast, "t1", names[i][0], names[i][1][0] == '1');
    json_t *b = fofal_machines_snapshot(slow, "t1", names[i][0], names[i][1][0] == '1');
    cr_assert(a && b);
    cr_expect(json_equal(a, b), "%s: the same state either way", names[i][0]);
    json_decref(a);
    json_decref(b);
  }
  json_decref(out_fast);
  json_decref(out_slow);
  fofal_machines_free(fast);
  fofal_machines_free(slow);
}

/* A record of another shape (reordered attributes, an extra one, escapes) takes the general
 * decoder and counts the same; what is not a telemetry record changes nothing. */
Test(machines, records_of_other_shapes_take_the_general_decoder) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *out = json_array();
  char tenant[64], name[64];
  int hall;
  const char *other =
      "{\"data\":{\"msg_id\":\"x1\",\"ts\":\"2026-11-28T06:00:00Z\",\"picks\":7,\"ppm\":600,\"state\":\"running\"},"
      "\"fofalactor\":\"s:test\",\"fofalseq\":0,\"fofaltenant\":\"t1\",\"time\":\"2026-11-28T06:00:00Z\","
      "\"subject\":\"L\\u0031\",\"type\":\"fofal.telemetry.loom_sample.v1\",\"source\":\"/x\",\"id\":\"i1\",\"specversion\":\"1.0\"}";
  fofal_telemetry_values_t v;
  int kind;
  cr_expect_eq(fofal_telemetry_read_event(other, strlen(other), &kind, tenant, name, &v), 1, "not the scanner's shape");
  cr_assert_eq(fofal_machines_record(m, other, strlen(other), out, tenant, name, &hall), 0);
  cr_expect_str_eq(name, "L1");
  json_t *s = fofal_machines_snapshot(m, "t1", "L1", 0);
  cr_assert_not_null(s);
  cr_expect_eq(json_integer_value(json_object_get(s, "samples")), 1);
  json_decref(s);
  const char *not_telemetry[] = {
      "{}", "garbage", "{\"specversion\":\"1.0\"}",
      "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"/x\",\"type\":\"fofal.production.order_created.v1\","
      "\"subject\":\"O1\",\"time\":\"2026-11-28T06:00:00Z\",\"datacontenttype\":\"application/json\","
      "\"fofaltenant\":\"t1\",\"fofalseq\":1,\"data\":{}}"};
  for (size_t i = 0; i < sizeof not_telemetry / sizeof not_telemetry[0]; i++)
    cr_expect_neq(fofal_machines_record(m, not_telemetry[i], strlen(not_telemetry[i]), out, tenant, name, &hall), 0,
                  "%s is refused", not_telemetry[i]);
  json_decref(out);
  fofal_machines_free(m);
}

/* ------------------------------------------------------------ the floor's figures
 * Worked examples of issue 23 (GLOSSARY.md): one sample a minute, a loom registered at
 * 500 ppm. The read side divides the sums of the tallies exactly so (api/machines_api.c):
 * efficiency = picks ÷ nominal picks, performance = picks ÷ theoretical picks,
 * availability = run ÷ (run + stop), OEE = availability × performance × quality. */

#define MIN_US (60LL * 1000000)

typedef struct {
  double run_s, stop_s, picks, theoretical, nominal;
} sums_t;

/* Feeds minute m of a loom: running at ppm (counter advanced by the caller), or stopped. */
static void minute(fofal_machines_t *m, const char *loom, int64_t t0, int i, long long picks, double ppm, const char *cause,
                   json_t *all) {
  char id[32], ts[32];
  snprintf(id, sizeof id, "%s-%d", loom, i);
  fofal_time_format(t0 + i * MIN_US, ts);
  json_t *d = json_pack("{s:s,s:s,s:I,s:f,s:s}", "msg_id", id, "ts", ts, "picks", (json_int_t)picks, "ppm", cause ? 0.0 : ppm,
                        "state", cause ? "stopped" : "running");
  if (cause) json_object_set_new(d, "stop_cause", json_string(cause));
  cr_assert_eq(fofal_machines_sample(m, "t1", loom, d, all), 0);
  json_decref(d);
}

/* The loom_activity tallies of `all` added up (of one shift when shift is not NULL). */
static sums_t add_up(const json_t *all, const char *shift) {
  sums_t s = {0};
  size_t i;
  json_t *e;
  json_array_foreach(all, i, e) {
    if (!strstr(json_string_value(json_object_get(e, "type")) ?: "", "loom_activity")) continue;
    const json_t *d = json_object_get(e, "data");
    if (shift && strcmp(json_string_value(json_object_get(d, "shift")), shift)) continue;
    s.run_s += json_number_value(json_object_get(d, "run_s"));
    s.stop_s += json_number_value(json_object_get(d, "stop_s"));
    s.picks += json_number_value(json_object_get(d, "picks"));
    s.theoretical += json_number_value(json_object_get(d, "theoretical_picks"));
    s.nominal += json_number_value(json_object_get(d, "nominal_picks"));
  }
  return s;
}

Test(figures, efficiency_counts_speed_and_performance_the_registered_speed) {
  /* 30 min running, a 10 min warp break, 20 min running, all at 450 ppm on a loom
   * registered at 500: picks 50 × 450 = 22,500; efficiency = 22,500 ÷ (60 min × 500) =
   * 0.75 (run ÷ (run + stop) would say 0.8333); performance = 22,500 ÷ (50 min × 500) =
   * 0.90 (the highest speed seen, 450, would say 1); availability 50 ÷ 60; OEE = 0.8333 ×
   * 0.90 × 1 = 0.75. */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  fofal_machines_set_nominal_ppm(m, "t1", "L1", 500);
  json_t *all = json_array();
  long long picks = 0;
  for (int i = 0; i <= 60; i++) {
    int running = i < 30 || i >= 40;
    if (i > 0 && (i <= 30 || i > 40)) picks += 450; /* woven in the minute this sample closes */
    minute(m, "L1", T0, i, picks, 450, running ? NULL : "warp_break", all);
  }
  sums_t s = add_up(all, NULL);
  cr_expect_float_eq(s.run_s, 3000, 1e-6, "run %.3f s", s.run_s);
  cr_expect_float_eq(s.stop_s, 600, 1e-6, "stop %.3f s", s.stop_s);
  cr_expect_float_eq(s.picks, 22500, 1e-6);
  cr_expect_float_eq(s.nominal, 30000, 1e-6, "nominal picks %.3f", s.nominal);
  cr_expect_float_eq(s.theoretical, 25000, 1e-6, "theoretical picks %.3f", s.theoretical);
  cr_expect_float_eq(s.picks / s.nominal, 0.75, 1e-9, "efficiency");
  cr_expect_float_eq(s.picks / s.theoretical, 0.90, 1e-9, "performance");
  cr_expect_float_eq(s.run_s / (s.run_s + s.stop_s) * (s.picks / s.theoretical), 0.75, 1e-9, "OEE");
  json_t *e = find(all, "loom_activity");
  cr_expect_float_eq(json_number_value(json_object_get(json_object_get(e, "data"), "nominal_ppm")), 500, 1e-9);
  json_decref(all);
  fofal_machines_free(m);
}

Test(figures, performance_does_not_follow_the_fastest_speed_seen) {
  /* 30 min at 450 ppm, then 20 min at 500, registered at 500: performance = (13,500 +
   * 10,000) ÷ 25,000 = 0.94 exactly; a reference raised as faster samples come says 1. */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  fofal_machines_set_nominal_ppm(m, "t1", "L2", 500);
  json_t *all = json_array();
  long long picks = 0;
  for (int i = 0; i <= 50; i++) {
    double ppm = i <= 30 ? 450 : 500;
    if (i > 0) picks += (long long)ppm;
    minute(m, "L2", T0, i, picks, ppm, NULL, all);
  }
  sums_t s = add_up(all, NULL);
  cr_expect_float_eq(s.picks, 23500, 1e-6);
  cr_expect_float_eq(s.theoretical, 25000, 1e-6);
  cr_expect_float_eq(s.picks / s.theoretical, 0.94, 1e-9, "performance %.6f", s.picks / s.theoretical);
  cr_expect_float_eq(s.picks / s.nominal, 0.94, 1e-9, "efficiency (no stop: the same)");
  json_decref(all);
  fofal_machines_free(m);
}

Test(figures, a_loom_of_unknown_speed_has_no_theoretical_picks) {
  /* Not registered: no invented speed (the ratios read null), time and picks still count. */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *all = json_array();
  for (int i = 0; i <= 10; i++) minute(m, "L9", T0, i, 450LL * i, 450, NULL, all);
  sums_t s = add_up(all, NULL);
  cr_expect_float_eq(s.picks, 4500, 1e-6);
  cr_expect_float_eq(s.run_s, 600, 1e-6);
  cr_expect_float_eq(s.theoretical, 0, 1e-9);
  cr_expect_float_eq(s.nominal, 0, 1e-9);
  cr_expect_null(json_object_get(json_object_get(find(all, "loom_activity"), "data"), "nominal_ppm"));
  json_decref(all);
  fofal_machines_free(m);
}

Test(figures, picks_at_a_shift_boundary_land_in_their_shift) {
  /* Samples every minute across the B/C change (22:00 local = 21:00Z), 10 min each side at
   * 500 ppm: 5,000 picks each (the sample at 22:00 closes a minute woven in B). */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  int64_t change = 1795842000000000LL + 16LL * 3600 * 1000000; /* 2026-11-28 21:00Z */
  json_t *all = json_array();
  for (int i = -10; i <= 10; i++) minute(m, "L3", change, i, 500LL * (i + 10), 500, NULL, all);
  sums_t b = add_up(all, "2026-11-28/B"), c = add_up(all, "2026-11-28/C");
  cr_expect_float_eq(b.picks, 5000, 1e-6, "B got %.0f", b.picks);
  cr_expect_float_eq(c.picks, 5000, 1e-6, "C got %.0f", c.picks);
  cr_expect_float_eq(b.run_s, 600, 1e-6);
  cr_expect_float_eq(c.run_s, 600, 1e-6);
  json_decref(all);
  /* Samples off the minute: the interval that straddles the change splits pro rata. */
  json_t *all2 = json_array();
  for (int i = -3; i <= 3; i++) minute(m, "L4", change + 30000000, i, 500LL * (i + 3), 500, NULL, all2);
  b = add_up(all2, "2026-11-28/B");
  c = add_up(all2, "2026-11-28/C");
  cr_expect_float_eq(b.picks, 1250, 1e-6, "21:57:30..22:00 is 2.5 min: B got %.0f", b.picks);
  cr_expect_float_eq(c.picks, 1750, 1e-6, "22:00..22:03:30 is 3.5 min: C got %.0f", c.picks);
  json_decref(all2);
  fofal_machines_free(m);
}

Test(figures, a_stop_of_exactly_the_threshold_is_no_breakdown) {
  /* README: a stop LONGER than FOFAL_BREAKDOWN_AFTER_S (600) is a breakdown. */
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *all = json_array();
  minute(m, "L5", T0, 0, 0, 500, NULL, all);
  for (int i = 1; i <= 10; i++) minute(m, "L5", T0, i, 0, 500, "weft_break", all); /* stopped since minute 1 */
  minute(m, "L5", T0, 11, 0, 500, NULL, all); /* 600 s after the stop began */
  minute(m, "L5", T0, 12, 500, 500, NULL, all);
  cr_expect_eq(count_type(all, "loom_stopped"), 1);
  cr_expect_eq(count_type(all, "breakdown_declared"), 0, "600 s is not longer than 600 s");
  /* One second more is one. */
  char ts[32];
  json_t *all2 = json_array();
  minute(m, "L6", T0, 0, 0, 500, NULL, all2);
  for (int i = 1; i <= 11; i++) minute(m, "L6", T0, i, 0, 500, "weft_break", all2);
  fofal_time_format(T0 + 11 * MIN_US + 1000000, ts);
  json_t *d = json_pack("{s:s,s:s,s:i,s:f,s:s,s:s}", "msg_id", "L6-601", "ts", ts, "picks", 0, "ppm", 0.0, "state",
                        "stopped", "stop_cause", "weft_break");
  cr_assert_eq(fofal_machines_sample(m, "t1", "L6", d, all2), 0);
  json_decref(d);
  cr_expect_eq(count_type(all2, "breakdown_declared"), 1, "601 s is");
  json_decref(all);
  json_decref(all2);
  fofal_machines_free(m);
}

/* A shift model as hr.shift_model.define defines it (a day and a night shift,
 * Monday to Friday, at UTC+1). */
static const char *const two_shifts =
    "{\"model\":\"default\",\"utc_offset_min\":60,\"shifts\":[{\"code\":\"D\",\"start\":\"06:00\",\"hours\":12},"
    "{\"code\":\"N\",\"start\":\"18:00\",\"hours\":10}],\"working_days\":[1,2,3,4,5]}";

Test(figures, shift_tallies_follow_the_tenant_shift_model) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  json_t *model = json_loads(two_shifts, 0, NULL);
  cr_assert_not_null(model);
  fofal_machines_set_shift_model(m, "t1", model);
  /* Friday 2026-11-27 17:50 local (16:50Z) to 18:10: D, then N, at 500 ppm. */
  int64_t fri = 1795842000000000LL - 24LL * 3600 * 1000000 + 11LL * 3600 * 1000000 + 50LL * 60 * 1000000;
  json_t *all = json_array();
  for (int i = 0; i <= 20; i++) minute(m, "L7", fri, i, 500LL * i, 500, NULL, all);
  sums_t d = add_up(all, "2026-11-27/D"), n = add_up(all, "2026-11-27/N");
  cr_expect_float_eq(d.picks, 5000, 1e-6, "D got %.0f", d.picks);
  cr_expect_float_eq(n.picks, 5000, 1e-6, "N got %.0f", n.picks);
  json_decref(all);
  /* N ends at 04:00 Saturday; Saturday is no working day: "<date>/-" until midnight. */
  int64_t sat = 1795842000000000LL - 3LL * 3600 * 1000000 + 50LL * 60 * 1000000; /* 02:50Z = 03:50 local Saturday */
  all = json_array();
  for (int i = 0; i <= 20; i++) minute(m, "L8", sat, i, 500LL * i, 500, NULL, all);
  n = add_up(all, "2026-11-27/N");
  sums_t off = add_up(all, "2026-11-28/-");
  cr_expect_float_eq(n.run_s, 600, 1e-6, "N ran %.0f s", n.run_s);
  cr_expect_float_eq(off.run_s, 600, 1e-6, "off-shift ran %.0f s", off.run_s);
  cr_expect_float_eq(off.picks, 5000, 1e-6);
  json_decref(all);
  /* The shift ids are those of the decider, for the same model. */
  fofal_shift_t sh;
  cr_assert_eq(fofal_shift_at(model, fri + 15 * MIN_US, &sh), 0);
  cr_expect_str_eq(sh.id, "2026-11-27/N");
  json_decref(model);
  fofal_machines_free(m);
}

/* fofal-machines learns the speed from fofal.production.events and the shift model from
 * fofal.hr.events (the model is the hr module's), and keeps them as settings on its state
 * topic. */
Test(figures, settings_come_from_production_and_hr_events_and_survive_a_restore) {
  fofal_machines_t *m = fofal_machines_new(&cfg), *m2 = fofal_machines_new(&cfg);
  char key[160] = "";
  fofal_event_t ev = {.id = "0190f5a0-0000-7000-8000-000000000001", .source = "/fofal/production",
                      .type = "fofal.production.loom_registered.v1", .subject = "x", .time_us = T0, .tenant = "t1",
                      .seq = 1, .actor = "u:1/admin"};
  ev.data = json_pack("{s:s,s:s,s:i}", "loom", "L1", "hall", "H1", "nominal_ppm", 500);
  char *buf = fofal_event_encode(&ev);
  cr_assert_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 1);
  cr_expect_str_eq(key, "t1/~ppm:L1");
  json_t *s1 = fofal_machines_setting_snapshot(m, key, "1");
  free(buf);
  json_decref(ev.data);
  /* A model under production's old name is no event of the model's module any more. */
  ev.type = "fofal.production" ".shift_model_defined.v1";
  ev.data = json_loads(two_shifts, 0, NULL);
  buf = fofal_event_encode(&ev);
  cr_expect_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 0, "the model is hr's");
  free(buf);
  ev.type = "fofal.hr.shift_model_defined.v1";
  ev.source = "/fofal/hr";
  buf = fofal_event_encode(&ev);
  cr_assert_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 1);
  cr_expect_str_eq(key, "t1/~shift_model");
  json_t *s2 = fofal_machines_setting_snapshot(m, key, "1");
  free(buf);
  json_decref(ev.data);
  ev.type = "fofal.production.order_created.v1";
  ev.data = json_pack("{s:s}", "article", "A");
  buf = fofal_event_encode(&ev);
  cr_expect_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 0, "other events set nothing");
  free(buf);
  json_decref(ev.data);
  cr_assert_not_null(s1);
  cr_assert_not_null(s2);
  cr_expect_str_eq(json_string_value(json_object_get(s1, "by")), "1");
  cr_assert_eq(fofal_machines_restore(m2, s1), 0);
  cr_assert_eq(fofal_machines_restore(m2, s2), 0);
  json_t *all = json_array();
  int64_t fri = 1795842000000000LL - 24LL * 3600 * 1000000 + 11LL * 3600 * 1000000 + 50LL * 60 * 1000000;
  for (int i = 0; i <= 20; i++) minute(m2, "L1", fri, i, 450LL * i, 450, NULL, all);
  sums_t n = add_up(all, "2026-11-27/N");
  cr_expect_float_eq(n.picks, 4500, 1e-6);
  cr_expect_float_eq(n.theoretical, 5000, 1e-6, "the restored speed: 10 min × 500");
  json_decref(all);
  json_decref(s1);
  json_decref(s2);
  fofal_machines_free(m);
  fofal_machines_free(m2);
}

/* hr.shift_model.redefine takes effect on its day: fofal-machines keeps the model
 * in force before it for the shifts before it, as the decider does. */
Test(figures, a_redefined_shift_model_applies_from_its_day) {
  fofal_machines_t *m = fofal_machines_new(&cfg);
  char key[160] = "";
  fofal_event_t ev = {.id = "0190f5a0-0000-7000-8000-000000000002", .source = "/fofal/hr",
                      .type = "fofal.hr.shift_model_defined.v1", .subject = "x", .time_us = T0, .tenant = "t1",
                      .seq = 1, .actor = "u:1/admin"};
  ev.data = json_loads(two_shifts, 0, NULL);
  char *buf = fofal_event_encode(&ev);
  cr_assert_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 1);
  free(buf);
  json_decref(ev.data);
  /* From Monday 2026-11-30 on: 3×8 from 06:00 at UTC+1. */
  ev.type = "fofal.hr.shift_model_redefined.v1";
  ev.seq = 2;
  ev.data = json_loads("{\"model\":\"default\",\"utc_offset_min\":60,\"effective_from\":\"2026-11-30\",\"shifts\":["
                       "{\"code\":\"A\",\"start\":\"06:00\",\"hours\":8},{\"code\":\"B\",\"start\":\"14:00\",\"hours\":8},"
                       "{\"code\":\"C\",\"start\":\"22:00\",\"hours\":8}],\"working_days\":[1,2,3,4,5]}",
                       0, NULL);
  cr_assert_not_null(ev.data);
  buf = fofal_event_encode(&ev);
  cr_assert_eq(fofal_machines_setting_record(m, buf, strlen(buf), key), 1);
  cr_expect_str_eq(key, "t1/~shift_model");
  free(buf);
  json_decref(ev.data);
  /* Friday 17:50-18:10 local still runs D then N; Monday 17:50-18:10 is all B. */
  int64_t fri = 1795842000000000LL - 24LL * 3600 * 1000000 + 11LL * 3600 * 1000000 + 50LL * 60 * 1000000;
  int64_t mon = fri + 3LL * 24 * 3600 * 1000000;
  json_t *all = json_array();
  for (int i = 0; i <= 20; i++) minute(m, "L7", fri, i, 500LL * i, 500, NULL, all);
  cr_expect_float_eq(add_up(all, "2026-11-27/D").picks, 5000, 1e-6, "Friday keeps the old model");
  cr_expect_float_eq(add_up(all, "2026-11-27/N").picks, 5000, 1e-6);
  json_decref(all);
  all = json_array();
  for (int i = 0; i <= 20; i++) minute(m, "L8", mon, i, 500LL * i, 500, NULL, all);
  cr_expect_float_eq(add_up(all, "2026-11-30/B").picks, 10000, 1e-6, "Monday runs the new model");
  json_decref(all);
  fofal_machines_free(m);
}

/* Issue 22: with registered_only, a loom the production module never registered is
 * refused (the caller sends it to the DLQ) and gets no state; once registered, it counts. */
Test(machines, an_unregistered_loom_is_refused_and_creates_no_state) {
  fofal_machines_cfg_t c = cfg;
  c.registered_only = 1;
  fofal_machines_t *m = fofal_machines_new(&c);
  json_t *out = json_array(), *d = sample("u1", T0, 100, "running", NULL);
  cr_expect_eq(fofal_machines_sample(m, "t1", "MADEUP", d, out), FOFAL_ENOENT);
  cr_expect_eq(json_array_size(out), 0);
  cr_expect_null(fofal_machines_snapshot(m, "t1", "MADEUP", 0), "no state for a made-up loom");
  /* Registered in another tenant only: still unknown here. */
  fofal_machines_set_nominal_ppm(m, "t2", "L1", 600);
  cr_expect_eq(fofal_machines_sample(m, "t1", "L1", d, out), FOFAL_ENOENT);
  /* Registered (even without a speed): taken. */
  fofal_machines_set_nominal_ppm(m, "t1", "L1", 0);
  cr_expect_eq(fofal_machines_sample(m, "t1", "L1", d, out), 0);
  json_t *snap = fofal_machines_snapshot(m, "t1", "L1", 0);
  cr_expect_not_null(snap);
  json_decref(snap);
  /* Halls are not registered anywhere: taken as before. */
  json_t *h = json_pack("{s:s,s:s,s:f}", "msg_id", "h1", "ts", "2026-11-28T06:00:00Z", "temperature", 24.0);
  cr_expect_eq(fofal_machines_hall(m, "t1", "H9", h, out), 0);
  json_decref(h);
  json_decref(d);
  json_decref(out);
  fofal_machines_free(m);
}
