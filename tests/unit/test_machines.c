/*
 * test_machines.c — ingest/machines.c: machine states from loom samples. Dedup by msg_id,
 * late (out-of-order) samples that never flip a state backwards, hysteresis against a
 * single odd sample, breakdowns by cause and by duration with a repeatable command id,
 * shift tallies, snapshots, and the shift function.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "jsonschema.h"

static const fofal_machines_cfg_t cfg = {.hysteresis_ms = 2000, .confirm_samples = 3, .breakdown_after_s = 600,
                                         .tally_s = 60, .gap_s = 300, .shift_utc_offset_min = 60};

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

Test(machines, breakdown_by_cause_with_a_repeatable_command) {
  json_t *cmds[2];
  for (int run = 0; run < 2; run++) {
    fofal_machines_t *m = fofal_machines_new(&cfg);
    json_decref(feed(m, "a", T0, 0, "running", NULL));
    json_decref(feed(m, "b", T0 + 1000000, 0, "stopped", "mechanical"));
    json_decref(feed(m, "c", T0 + 2000000, 0, "stopped", "mechanical"));
    json_t *o = feed(m, "d", T0 + 3000000, 0, "stopped", "mechanical");
    cr_assert_eq(count_type(o, "breakdown_declared"), 1);
    cr_assert_eq(count_type(o, "production.intervention.request"), 1);
    cmds[run] = json_incref(find(o, "production.intervention.request"));
    json_t *d = json_object_get(cmds[run], "data");
    cr_expect_str_eq(json_string_value(json_object_get(d, "loom")), "L1");
    cr_expect_str_eq(json_string_value(json_object_get(d, "cause")), "mechanical");
    cr_expect_str_eq(json_string_value(json_object_get(d, "source")), "telemetry");
    cr_expect(fofal_uuid_valid(json_string_value(json_object_get(cmds[run], "id"))));
    /* Still stopped: no second request. */
    json_t *o2 = feed(m, "e", T0 + 700LL * 1000000, 0, "stopped", "mechanical");
    cr_expect_eq(count_type(o2, "breakdown"), 0);
    json_decref(o2);
    json_decref(o);
    fofal_machines_free(m);
  }
  cr_expect_str_eq(json_string_value(json_object_get(cmds[0], "id")), json_string_value(json_object_get(cmds[1], "id")),
                   "reprocessing must request with the same command id");
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

Test(machines, shifts) {
  char s[24];
  int64_t a, b;
  /* 05:00Z = 06:00 local (+60): shift A starts. */
  fofal_shift_of(1795842000000000LL, 60, s, &a, &b);
  cr_expect_str_eq(s, "2026-11-28/A");
  cr_expect_eq(a, 1795842000000000LL);
  cr_expect_eq(b - a, 8LL * 3600 * 1000000);
  fofal_shift_of(1795842000000000LL - 1, 60, s, NULL, NULL);
  cr_expect_str_eq(s, "2026-11-27/C", "05:59:59 local belongs to the night shift that started the day before");
  fofal_shift_of(1795842000000000LL + 8LL * 3600 * 1000000, 60, s, NULL, NULL);
  cr_expect_str_eq(s, "2026-11-28/B");
  fofal_shift_of(1795842000000000LL + 17LL * 3600 * 1000000, 60, s, NULL, NULL);
  cr_expect_str_eq(s, "2026-11-28/C");
  fofal_shift_of(1795842000000000LL, 0, s, NULL, NULL);
  cr_expect_str_eq(s, "2026-11-27/C", "05:00 UTC with no offset is still night");
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
