/*
 * test_weaving.c — commands/weaving.c and the rules of production_order.c that span
 * aggregates, through the registry and an in-memory tenant (world.h).
 *
 * One test per rule of the weaving floor:
 * looms (set-up, beams, first-piece check), the beam lifecycle, and what a declaration
 * needs of its loom, beam
 * and weaver (the hr module's employee and shift, read across modules; hr's own rules
 * are in tests/unit/hr/test_hr.c). Every emitted event is checked against its schema.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "production.h" /* the module's command tables */
#include "decide.h"
#include "jsonschema.h"
#include "world.h"

#define HOUR (3600LL * 1000000)

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

TestSuite(loom, .init = setup, .fini = teardown);
TestSuite(beam, .init = setup, .fini = teardown);
TestSuite(declare, .init = setup, .fini = teardown);
TestSuite(label, .init = setup, .fini = teardown);
TestSuite(events, .init = setup, .fini = teardown);
TestSuite(actor, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  /* fofal.<m>.<name>.v1 → schemas/<m>/events/<name>.v1.json (employees are hr's) */
  const char *name = type && !strncmp(type, "fofal.", 6) ? strchr(type + 6, '.') : NULL;
  cr_assert(name && name - type < 40, "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/%.*s/events/%s.json", FOFAL_SOURCE_DIR, (int)(name - type - 6), type + 6, name + 1);
  json_error_t jerr;
  json_t *sj = json_load_file(path, 0, &jerr);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  int rc = fofal_schema_validate(s, json_object_get(ev, "data"), &errors);
  char *es = errors ? json_dumps(errors, JSON_COMPACT) : NULL, *ds = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
  cr_assert_eq(rc, 0, "%s %s does not match its schema: %s", type, ds, es ? es : "");
  free(es);
  free(ds);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides, expects acceptance, checks every event (own and others') against its schema,
 * and returns the first event's data (new reference) when `first` is given. */
static void ok_at(const char *type, json_t *data, const char *cmd_id, int64_t at, json_t **first) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev, *o;
  const char *id;
  json_array_foreach(d.events, i, ev) check_event(ev);
  json_object_foreach(d.others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) check_event(ev);
  if (first) *first = json_incref(json_object_get(json_array_get(d.events, 0), "data"));
  world_release(&d);
}
#define ok(type, data, id) ok_at(type, data, id, W_ISSUED, NULL)

static void no_at(const char *type, json_t *data, int64_t at, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, at, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

static const char *st(const char *ns, const char *code, const char *key) {
  const json_t *s = world_ref(ns, code);
  cr_assert_not_null(s, "no %s %s", ns, code);
  return jstr(s, key);
}

/* An order of `qty` pieces of FT-200 created, released and started on `loom`; its id. */
static char order_ids[8][FOFAL_UUID_LEN + 1];
static int n_orders;
static const char *started_order(const char *loom, int qty) {
  char cid[32];
  snprintf(cid, sizeof cid, "order-%d", n_orders);
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", qty);
  const fofal_command_def_t *def = fofal_registry_find(reg, "production.order.create");
  char *id = order_ids[n_orders++];
  cr_assert_eq(fofal_command_aggregate_id(def, W_TENANT, cid, data, id), 0);
  ok("production.order.create", data, cid);
  ok("production.order.release", json_pack("{s:s}", "order_id", id), (snprintf(cid, sizeof cid, "rel-%s", id), cid));
  ok("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", loom), (snprintf(cid, sizeof cid, "start-%s", id), cid));
  return id;
}

static json_t *declaration(const char *order, int qty) {
  return json_pack("{s:s,s:i,s:s}", "order_id", order, "quantity", qty, "weaver", "W-12");
}

/* ------------------------------------------------------------------ looms */

Test(loom, set_up_needs_a_defined_article_and_makes_first_piece_due) {
  world_floor();
  cr_assert_str_eq(st("loom", "L-07", "first_piece"), "passed");
  no_at("production.loom.set_up", json_pack("{s:s,s:s}", "loom", "L-07", "article", "FT-999"), W_ISSUED, "unknown_article");
  json_t *ev = NULL;
  ok_at("production.loom.set_up", json_pack("{s:s,s:s}", "loom", "L-07", "article", "FT-200"), "setup", W_ISSUED, &ev);
  cr_assert_str_eq(st("loom", "L-07", "first_piece"), "due");
  cr_assert_str_eq(st("loom", "L-07", "article"), "FT-200");
  /* The article is the catalog's aggregate, read across modules: its density travels in
   * the event, for the production projection's run-out forecast. */
  cr_expect_eq(json_integer_value(json_object_get(ev, "picks_per_cm")), 18, "the article's picks/cm in loom_set_up");
  json_decref(ev);
}

Test(loom, first_piece_check_only_when_due_and_fail_blocks_start) {
  world_floor();
  no_at("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "L-07", "result", "pass"), W_ISSUED,
        "first_piece_not_due");
  ok("production.loom.set_up", json_pack("{s:s,s:s}", "loom", "L-07", "article", "FT-200"), "setup");
  ok("production.loom.check_first_piece", json_pack("{s:s,s:s,s:s}", "loom", "L-07", "result", "fail", "notes", "reed marks"), "fp1");
  cr_assert_str_eq(st("loom", "L-07", "first_piece"), "failed");
  /* A released order cannot start on a loom whose first piece failed, nor while due. */
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 10);
  char id[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "o1", data, id), 0);
  ok("production.order.create", data, "o1");
  ok("production.order.release", json_pack("{s:s}", "order_id", id), "o1r");
  no_at("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-07"), W_ISSUED, "first_piece_check_required");
  ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "L-07", "result", "pass"), "fp2");
  ok("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-07"), "o1s");
  cr_assert_str_eq(st("loom", "L-07", "order"), id, "the loom knows its running order");
}

Test(loom, start_needs_a_registered_loom_with_its_beams) {
  world_floor();
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 10);
  char id[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "o1", data, id), 0);
  ok("production.order.create", data, "o1");
  ok("production.order.release", json_pack("{s:s}", "order_id", id), "o1r");
  no_at("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-99"), W_ISSUED, "unknown_loom");
  /* A terry loom with only its ground beam. */
  ok("production.loom.register", json_pack("{s:s,s:s,s:i,s:s}", "loom", "T-1", "hall", "H2", "nominal_ppm", 380, "weave", "terry"), "t1");
  world_beam("G-1", "ground", 3000);
  world_beam("P-1", "pile", 3000);
  ok("production.loom.mount_beam", json_pack("{s:s,s:s,s:s}", "loom", "T-1", "beam", "G-1", "position", "ground"), "m1");
  ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "T-1", "result", "pass"), "fp");
  no_at("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "T-1"), W_ISSUED, "no_beam_mounted");
  ok("production.loom.mount_beam", json_pack("{s:s,s:s,s:s}", "loom", "T-1", "beam", "P-1", "position", "pile"), "m2");
  no_at("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "T-1"), W_ISSUED,
        "first_piece_check_required"); /* the second beam made a check due again */
  ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "T-1", "result", "pass"), "fp2");
  ok("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "T-1"), "o1s");
}

/* ------------------------------------------------------------------ beams */

Test(beam, lifecycle_in_order_only) {
  world_floor();
  ok("production.beam.warp",
     json_pack("{s:s,s:s,s:[s,s],s:i,s:i,s:f}", "beam", "B-9", "kind", "ground", "yarn_lots", "LOT-7", "LOT-8", "ends", 4200,
               "length_m", 2500, "take_up_pct", 9.5),
     "w");
  cr_assert_str_eq(st("beam", "B-9", "status"), "warped");
  no_at("production.beam.draw_in", json_pack("{s:s}", "beam", "B-9"), W_ISSUED, "invalid_transition");
  ok("production.loom.doff_beam", json_pack("{s:s}", "loom", "L-07"), "doff");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-9"), W_ISSUED, "beam_not_ready");
  ok("production.beam.size", json_pack("{s:s,s:s}", "beam", "B-9", "recipe", "PVA-12"), "s");
  no_at("production.beam.size", json_pack("{s:s}", "beam", "B-9"), W_ISSUED, "invalid_transition");
  ok("production.beam.draw_in", json_pack("{s:s,s:s}", "beam", "B-9", "method", "knotted"), "d");
  cr_assert_str_eq(st("beam", "B-9", "status"), "ready");
  cr_assert_str_eq(st("beam", "B-9", "method"), "knotted");
  cr_assert_eq(world_decide_at("production.beam.warp",
                               json_pack("{s:s,s:s,s:[s],s:i,s:i}", "beam", "B-9", "kind", "ground", "yarn_lots", "L", "ends",
                                         100, "length_m", 10),
                               W_ISSUED, "again", NULL),
               FOFAL_EEXIST, "a beam code names one beam");
}

Test(beam, mount_rules) {
  world_floor();
  world_beam("B-2", "ground", 1000);
  world_beam("P-2", "pile", 1000);
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-404"), W_ISSUED, "unknown_beam");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-2"), W_ISSUED, "position_taken");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s,s:s}", "loom", "L-07", "beam", "P-2", "position", "pile"), W_ISSUED,
        "no_pile_beam_on_flat_loom");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "P-2"), W_ISSUED, "beam_kind_mismatch");
  /* Mounting writes both aggregates. */
  ok("production.loom.doff_beam", json_pack("{s:s,s:s}", "loom", "L-07", "reason", "article change"), "doff");
  cr_assert_str_eq(st("beam", "B-1", "status"), "doffed", "B-1 still had warp");
  cr_assert_null(json_object_get(json_object_get(world_ref("loom", "L-07"), "beams"), "ground"));
  ok("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-2"), "m");
  cr_assert_str_eq(st("beam", "B-2", "status"), "mounted");
  cr_assert_str_eq(st("beam", "B-2", "loom"), "L-07");
  cr_assert_str_eq(st("loom", "L-07", "first_piece"), "due", "a beam change makes a first-piece check due");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-07", "beam", "B-1"), W_ISSUED, "position_taken");
  ok("production.loom.register", json_pack("{s:s,s:s,s:i,s:s}", "loom", "L-20", "hall", "H1", "nominal_ppm", 400, "weave", "flat"), "l20");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-20", "beam", "B-1"), W_ISSUED, "beam_not_ready");
  no_at("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-20", "beam", "B-2"), W_ISSUED, "beam_not_ready");
  no_at("production.loom.doff_beam", json_pack("{s:s,s:s}", "loom", "L-07", "position", "pile"), W_ISSUED, "no_beam_mounted");
}

/* ------------------------------------------------------------- declaring */

Test(declare, consumes_the_beam_and_stops_at_what_it_can_give) {
  world_floor();
  const char *order = started_order("L-07", 5000);
  /* B-1: 5,000 m at 8 % take-up gives 4,629.6 m of cloth, i.e. 2,314 pieces of 2 m. */
  json_t *ev = NULL;
  ok_at("production.order.declare_output", declaration(order, 2000), "d1", W_ISSUED, &ev);
  cr_assert_float_eq(json_number_value(json_object_get(json_array_get(json_object_get(ev, "beams"), 0), "meters")), 4320.0,
                     1e-6);
  json_decref(ev);
  cr_assert_float_eq(json_number_value(json_object_get(world_ref("beam", "B-1"), "meters_left")), 680.0, 1e-6);
  no_at("production.order.declare_output", declaration(order, 315), W_ISSUED, "beam_exhausted"); /* 680.4 m > 680 */
  ok("production.order.declare_output", declaration(order, 314), "d2");
  cr_assert_float_eq(json_number_value(json_object_get(world_ref("beam", "B-1"), "meters_left")), 1.76, 1e-6);
  /* An explicit length overrides pieces × piece length. */
  no_at("production.order.declare_output",
        json_pack("{s:s,s:i,s:s,s:f}", "order_id", order, "quantity", 1, "weaver", "W-12", "length_m", 2.0), W_ISSUED,
        "beam_exhausted");
  ok("production.order.declare_output", json_pack("{s:s,s:i,s:s,s:f}", "order_id", order, "quantity", 1, "weaver", "W-12", "length_m", 1.5),
     "d3");
  ok("production.loom.doff_beam", json_pack("{s:s}", "loom", "L-07"), "doff");
  cr_assert_str_eq(st("beam", "B-1", "status"), "empty", "a beam with less than a metre left is empty");
  no_at("production.order.declare_output", declaration(order, 1), W_ISSUED, "no_beam_mounted");
}

Test(declare, used_and_left_add_up_to_the_beam_length) {
  /* Issue 23: 0.1125 m woven at 8 % take-up need 0.1215 m of B-1 (5,000 m). Rounded apart
   * to the millimetre that was 0.122 used and 4,999.879 left: 5,000.001 m of a 5,000 m
   * beam. In whole millimetres, the one taken from the other, they add up. */
  world_floor();
  const char *order = started_order("L-07", 5000);
  double used = 0;
  for (int i = 0; i < 3; i++) {
    char cid[16];
    snprintf(cid, sizeof cid, "mm-%d", i);
    json_t *ev = NULL;
    ok_at("production.order.declare_output",
          json_pack("{s:s,s:i,s:s,s:f}", "order_id", order, "quantity", 1, "weaver", "W-12", "length_m", 0.1125), cid,
          W_ISSUED, &ev);
    json_t *b = json_array_get(json_object_get(ev, "beams"), 0);
    used += json_number_value(json_object_get(b, "meters"));
    double left = json_number_value(json_object_get(world_ref("beam", "B-1"), "meters_left"));
    cr_expect_float_eq(used + left, 5000.0, 1e-9, "declaration %d: %.3f used + %.3f left", i, used, left);
    json_decref(ev);
  }
  cr_expect_float_eq(used, 0.366, 1e-9);
}

Test(declare, terry_consumes_both_beams) {
  world_floor();
  ok("production.loom.register", json_pack("{s:s,s:s,s:i,s:s}", "loom", "T-1", "hall", "H2", "nominal_ppm", 380, "weave", "terry"), "t1");
  world_beam("G-1", "ground", 3000);
  ok("production.beam.warp",
     json_pack("{s:s,s:s,s:[s],s:i,s:i,s:f}", "beam", "P-1", "kind", "pile", "yarn_lots", "LOT-P", "ends", 2000, "length_m", 3000,
               "take_up_pct", 400.0),
     "wp");
  ok("production.beam.size", json_pack("{s:s}", "beam", "P-1"), "sp");
  ok("production.beam.draw_in", json_pack("{s:s}", "beam", "P-1"), "dp");
  ok("production.loom.mount_beam", json_pack("{s:s,s:s,s:s}", "loom", "T-1", "beam", "G-1", "position", "ground"), "m1");
  ok("production.loom.mount_beam", json_pack("{s:s,s:s,s:s}", "loom", "T-1", "beam", "P-1", "position", "pile"), "m2");
  ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "T-1", "result", "pass"), "fp");
  const char *order = started_order("T-1", 1000);
  ok("production.order.declare_output", declaration(order, 100), "d1"); /* 200 m: 216 ground, 1,000 pile */
  cr_assert_float_eq(json_number_value(json_object_get(world_ref("beam", "G-1"), "meters_left")), 2784.0, 1e-6);
  cr_assert_float_eq(json_number_value(json_object_get(world_ref("beam", "P-1"), "meters_left")), 2000.0, 1e-6);
  no_at("production.order.declare_output", declaration(order, 401), W_ISSUED, "beam_exhausted"); /* the pile beam is short */
}

Test(declare, weaver_must_be_registered_and_on_the_shift) {
  world_floor();
  const char *order = started_order("L-07", 100);
  no_at("production.order.declare_output", json_pack("{s:s,s:i,s:s}", "order_id", order, "quantity", 1, "weaver", "W-77"),
        W_ISSUED, "unknown_weaver");
  no_at("production.order.declare_output", declaration(order, 1), W_ISSUED + 8 * HOUR, "weaver_not_on_shift"); /* shift B */
  /* An offline phone says when it was woven: during the weaver's shift A. */
  json_t *ev = NULL;
  ok_at("production.order.declare_output",
        json_pack("{s:s,s:i,s:s,s:s}", "order_id", order, "quantity", 1, "weaver", "W-12", "woven_at", "2026-11-24T06:00:00Z"),
        "late", W_ISSUED + 8 * HOUR, &ev);
  cr_assert_str_eq(jstr(ev, "shift"), "2026-11-24/A");
  cr_assert_str_eq(jstr(ev, "woven_at"), "2026-11-24T06:00:00.000000Z");
  json_decref(ev);
  no_at("production.order.declare_output",
        json_pack("{s:s,s:i,s:s,s:s}", "order_id", order, "quantity", 1, "weaver", "W-12", "woven_at", "2026-11-24T09:00:00Z"),
        W_ISSUED, "woven_in_future");
  no_at("production.order.declare_output",
        json_pack("{s:s,s:i,s:s,s:s}", "order_id", order, "quantity", 1, "weaver", "W-12", "woven_at", "2026-11-24T07:00:00Z"),
        W_ISSUED + 8 * 24 * HOUR, "woven_too_long_ago");
}

Test(declare, nothing_on_paused_completed_closed_or_cancelled_orders) {
  world_floor();
  const char *order = started_order("L-07", 100);
  ok("production.order.pause", json_pack("{s:s,s:s}", "order_id", order, "reason", "yarn missing"), "p");
  no_at("production.order.declare_output", declaration(order, 1), W_ISSUED, "order_not_started");
  no_at("production.order.close", json_pack("{s:s}", "order_id", order), W_ISSUED, "invalid_transition");
  ok("production.order.resume", json_pack("{s:s}", "order_id", order), "r");
  ok("production.order.declare_output", declaration(order, 10), "d");
  ok("production.order.complete", json_pack("{s:s}", "order_id", order), "c");
  no_at("production.order.declare_output", declaration(order, 1), W_ISSUED, "order_not_started");
  ok("production.order.close", json_pack("{s:s,s:s}", "order_id", order, "note", "shipped"), "cl");
  no_at("production.order.declare_output", declaration(order, 1), W_ISSUED, "order_not_started");
  no_at("production.order.cancel", json_pack("{s:s,s:s}", "order_id", order, "reason", "x"), W_ISSUED, "invalid_transition");
  const char *other = started_order("L-07", 100);
  ok("production.order.cancel", json_pack("{s:s,s:s}", "order_id", other, "reason", "client cancelled"), "x");
  no_at("production.order.declare_output", declaration(other, 1), W_ISSUED, "order_not_started");
}

Test(declare, length_is_needed_when_the_article_is_unknown) {
  world_floor();
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-NEW", "quantity", 10);
  char id[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "o", data, id), 0);
  ok("production.order.create", data, "o");
  ok("production.order.release", json_pack("{s:s}", "order_id", id), "or");
  ok("production.order.start", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-07"), "os");
  no_at("production.order.declare_output", declaration(id, 1), W_ISSUED, "length_required");
  ok("production.order.declare_output", json_pack("{s:s,s:i,s:s,s:f}", "order_id", id, "quantity", 1, "weaver", "W-12", "length_m", 2.2), "d");
}

Test(declare, plan_on_a_registered_loom_before_start) {
  world_floor();
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 10);
  char id[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "o", data, id), 0);
  ok("production.order.create", data, "o");
  no_at("production.order.plan", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-99"), W_ISSUED, "unknown_loom");
  ok("production.order.plan", json_pack("{s:s,s:s,s:s}", "order_id", id, "loom", "L-07", "planned_start", "2026-11-25T06:00:00Z"), "p");
  ok("production.order.release", json_pack("{s:s}", "order_id", id), "r");
  ok("production.order.start", json_pack("{s:s}", "order_id", id), "s"); /* on the planned loom */
  no_at("production.order.plan", json_pack("{s:s,s:s}", "order_id", id, "loom", "L-07"), W_ISSUED, "invalid_transition");
}

/* ------------------------------------------------------------------ actors
 * DESIGN.md guarantee 9 (commands/actors.c): floor roles act as themselves, from the badge
 * of their sign-in; a planner, manager or admin may record for someone, and the event says
 * so; services name whom they name. */

static json_t *weaver_declares(const char *order, const char *weaver) {
  json_t *d = json_pack("{s:s,s:i}", "order_id", order, "quantity", 1);
  if (weaver) json_object_set_new(d, "weaver", json_string(weaver));
  return d;
}

Test(actor, a_weaver_declares_only_their_own_output) {
  world_floor();
  ok("hr.employee.register", json_pack("{s:s,s:s,s:s}", "badge", "W-13", "name", "Sami", "job", "weaver"), "w13");
  ok("hr.employee.assign_shift", json_pack("{s:s,s:s,s:[s]}", "badge", "W-13", "shift", "2026-11-24/A", "looms", "L-07"),
     "w13a");
  const char *order = started_order("L-07", 100);
  world_as("u:0192a8c4-0000-7000-8000-000000000001/weaver", "W-12");
  json_t *ev = NULL;
  ok_at("production.order.declare_output", weaver_declares(order, NULL), "own", W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "weaver"), "W-12", "no weaver given: the signed-in weaver");
  cr_assert_null(json_object_get(ev, "delegated_by"), "acting as themself is no delegation");
  json_decref(ev);
  ok_at("production.order.declare_output", weaver_declares(order, "W-12"), "own2", W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "weaver"), "W-12");
  json_decref(ev);
  no_at("production.order.declare_output", weaver_declares(order, "W-13"), W_ISSUED, "actor_mismatch");
  cr_assert_eq(jint(json_object_get(world, order), "declared", -1), 2, "nothing was credited to W-13");
  /* A weaver's sign-in without a badge credits nobody. */
  world_as("u:dev/weaver", NULL);
  no_at("production.order.declare_output", weaver_declares(order, NULL), W_ISSUED, "badge_required");
  no_at("production.order.declare_output", weaver_declares(order, "W-12"), W_ISSUED, "badge_required");
}

Test(actor, a_supervisor_declares_for_a_weaver_and_the_event_says_so) {
  world_floor();
  const char *order = started_order("L-07", 100);
  world_as("u:acct-p1/planner", "P-01");
  json_t *ev = NULL;
  ok_at("production.order.declare_output", weaver_declares(order, "W-12"), "for-w12", W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "weaver"), "W-12");
  json_t *by = json_object_get(ev, "delegated_by");
  cr_assert_str_eq(jstr(by, "actor"), "u:acct-p1/planner");
  cr_assert_str_eq(jstr(by, "badge"), "P-01");
  json_decref(ev);
  /* Naming nobody, a supervisor is the person: P-01 weaves nothing here. */
  no_at("production.order.declare_output", weaver_declares(order, NULL), W_ISSUED, "unknown_weaver");
  world_as("u:acct-m1/manager", NULL);
  no_at("production.order.declare_output", weaver_declares(order, NULL), W_ISSUED, "person_required");
  ok_at("production.order.declare_output", weaver_declares(order, "W-12"), "mgr", W_ISSUED, &ev);
  by = json_object_get(ev, "delegated_by");
  cr_assert_str_eq(jstr(by, "actor"), "u:acct-m1/manager");
  cr_assert_null(json_object_get(by, "badge"), "a sign-in without a badge records the actor only");
  json_decref(ev);
}

Test(actor, services_name_whom_they_name) {
  world_floor();
  const char *order = started_order("L-07", 100);
  world_as("s:fofal-machines/telemetry", NULL);
  no_at("production.order.declare_output", weaver_declares(order, NULL), W_ISSUED, "person_required");
  world_as("u:x/weaver", "not a badge!");
  no_at("production.order.declare_output", weaver_declares(order, NULL), W_ISSUED, "invalid_actor");
}

Test(actor, an_inspector_checks_as_themself) {
  world_floor();
  ok("production.loom.set_up", json_pack("{s:s,s:s}", "loom", "L-07", "article", "FT-200"), "setup");
  world_as("u:acct-q1/quality", "Q-01");
  no_at("production.loom.check_first_piece", json_pack("{s:s,s:s,s:s}", "loom", "L-07", "result", "pass", "inspector", "Q-02"),
        W_ISSUED, "actor_mismatch");
  json_t *ev = NULL;
  ok_at("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "L-07", "result", "pass"), "fp", W_ISSUED, &ev);
  cr_assert_str_eq(jstr(ev, "inspector"), "Q-01");
  cr_assert_str_eq(jstr(ev, "checked_by"), "u:acct-q1/quality");
  json_decref(ev);
}

/* ----------------------------------------------------------------- labels */

/* The declaration assigns the label id; the label and its unit are the inventory module's
 * (tests/unit/inventory/test_inventory.c): production keeps no label aggregate, and the
 * answer shows the id (issued.label_id) for the weaver's phone. */
Test(label, a_declaration_assigns_the_label_id_and_keeps_no_label) {
  world_floor();
  const char *order = started_order("L-07", 100);
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("production.order.declare_output", declaration(order, 12), W_ISSUED, "decl", &d), 0,
               "%s: %s", d.code, d.detail);
  const json_t *e = json_array_get(d.events, 0);
  const char *label = jstr(json_object_get(e, "data"), "label_id");
  cr_assert(fofal_uuid_valid(label), "output_declared carries the label id");
  cr_expect_str_eq(jstr(json_object_get(e, "issued"), "label_id"), label, "the answer shows the label id");
  cr_expect_null(json_object_get(world, label), "production keeps no label aggregate");
  cr_expect_null(json_object_get(d.others, label), "nor changes one");
  cr_expect_null(fofal_registry_find(reg, "production" ".label.reprint"), "reprints are inventory's");
  world_release(&d);
}

/* ------------------------------------------------------------- the tables */

Test(events, every_weaving_command_has_a_schema_with_roles_and_a_code_key) {
  for (int i = 0; i < fofal_weaving_commands_n; i++) {
    const fofal_command_def_t *def = &fofal_weaving_commands[i];
    const json_t *s = fofal_registry_schema(reg, def->type);
    cr_assert(json_is_object(s), "%s has no schema", def->type);
    cr_assert_gt(json_array_size(json_object_get(s, "x-fofal-roles")), 0, "%s names no role", def->type);
    const json_t *key = json_object_get(json_object_get(s, "properties"), def->aggregate_key);
    cr_assert_not_null(key, "%s: its aggregate key %s is not in its schema", def->type, def->aggregate_key);
    if (def->ns)
      cr_assert(json_object_get(key, "pattern") || json_object_get(key, "enum"), "%s: a code key needs a pattern", def->type);
    else cr_assert_str_eq(jstr(key, "format"), "uuid", "%s: a UUID key", def->type);
  }
}

Test(events, codes) {
  cr_assert(fofal_code_valid("L03"));
  cr_assert(fofal_code_valid("B-0042.v2_x"));
  cr_assert_not(fofal_code_valid(""));
  cr_assert_not(fofal_code_valid("-L"));
  cr_assert_not(fofal_code_valid("L/3"));
  cr_assert_not(fofal_code_valid("L 3"));
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1], c[FOFAL_UUID_LEN + 1];
  fofal_aggregate_ref("t1", "loom", "L03", a);
  fofal_aggregate_ref("t1", "loom", "L03", b);
  fofal_aggregate_ref("t2", "loom", "L03", c);
  cr_assert_str_eq(a, b);
  cr_assert_str_neq(a, c, "tenants do not share aggregates");
  fofal_aggregate_ref("t1", "beam", "L03", c);
  cr_assert_str_neq(a, c, "namespaces do not share aggregates");
}
