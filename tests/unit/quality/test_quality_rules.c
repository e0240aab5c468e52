/*
 * test_quality_rules.c — commands/quality (quality.c, nc.c) through the registry and an
 * in-memory tenant (tests/unit/production/world.h): the floor, an order and a declared
 * roll received into stock, as the decider would see them.
 *
 * One test per rule: the 4-point arithmetic against worked examples (points by size, at
 * most 4 per linear metre, points per 100 m² exact to the hundredth), the grade against
 * the article's threshold, a roll cut into graded lots (its checks: in stock, not in
 * quarantine, pieces and defect causes that add up, once), lot approval and rejection
 * (MFA roles only, derogations, a rejected roll that cannot be cut), and a
 * non-conformity's lifecycle. Every emitted event is checked against its schema under
 * schemas/quality/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "decide.h"
#include "jsonschema.h"
#include "quality.h"
#include "../production/world.h"

static fofal_registry_t *reg;
static char roll[FOFAL_UUID_LEN + 1];  /* a roll of 12 pieces of FT-200 in stock (stock()) */
static char order[FOFAL_UUID_LEN + 1]; /* its order: an aggregate that is no roll */

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

TestSuite(points, .init = setup, .fini = teardown);
TestSuite(cut, .init = setup, .fini = teardown);
TestSuite(inspection, .init = setup, .fini = teardown);
TestSuite(lot, .init = setup, .fini = teardown);
TestSuite(nc, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.quality.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/quality/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

/* Decides, expects acceptance, checks the events; the first event (new: type, data,
 * issued) into *first when given. */
static void ok(const char *type, json_t *data, const char *cmd_id, json_t **first) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, cmd_id, &d);
  cr_assert_eq(rc, 0, "%s (%s) rejected: %s: %s", type, cmd_id, d.code, d.detail);
  size_t i;
  json_t *ev;
  json_array_foreach(d.events, i, ev) check_event(ev);
  if (first) *first = json_incref(json_array_get(d.events, 0));
  world_release(&d);
}

static void no(const char *type, json_t *data, const char *code) {
  fofal_decision_t d;
  int rc = world_decide_at(type, data, W_ISSUED, "cmd-refused", &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s was accepted, want %s", type, code);
  cr_assert_str_eq(d.code, code, "%s: %s (%s), want %s", type, d.code, d.detail, code);
  cr_assert_neq(d.detail[0], '\0', "a rejection says why");
  world_release(&d);
}

static json_int_t iof(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* The floor, a started order on L-07, a declaration of 12 pieces and its roll in stock
 * (as inventory's reaction receives it): its label id into roll. */
static void stock(void) {
  world_floor();
  json_t *data = json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 100);
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "production.order.create"), W_TENANT, "order-1", data, order),
               0);
  world_ok("production.order.create", data, "order-1");
  world_ok("production.order.release", json_pack("{s:s}", "order_id", order), "rel-1");
  world_ok("production.order.start", json_pack("{s:s,s:s}", "order_id", order, "loom", "L-07"), "start-1");
  fofal_decision_t d;
  cr_assert_eq(world_decide_at("production.order.declare_output",
                               json_pack("{s:s,s:i,s:s}", "order_id", order, "quantity", 12, "weaver", "W-12"), W_ISSUED,
                               "decl-1", &d),
               0, "%s: %s", d.code, d.detail);
  const json_t *decl = json_object_get(json_array_get(d.events, 0), "data");
  snprintf(roll, sizeof roll, "%s", jstr(decl, "label_id"));
  json_t *unit = json_pack("{s:s,s:s}", "label_id", roll, "location", "loom");
  static const char *const keep[] = {"order_id", "article", "loom", "weaver", "shift", "quantity", "woven_at", NULL};
  for (int i = 0; keep[i]; i++) jcopy(unit, decl, keep[i]);
  world_release(&d);
  world_ok("inventory.unit.receive", unit, "recv-1");
}

static json_t *cut_data(int first, int second, int waste) {
  return json_pack("{s:s,s:i,s:i,s:i}", "roll", roll, "first_choice", first, "second_choice", second, "waste_pieces", waste);
}

/* ------------------------------------------------------- 4-point arithmetic */

Test(points, by_size_and_holes) {
  /* 3 in = 76.2 mm, 6 in = 152.4 mm, 9 in = 228.6 mm. */
  struct { int64_t mm; int hole, want; } cases[] = {
      {1, 0, 1}, {76, 0, 1}, {77, 0, 2}, {152, 0, 2}, {153, 0, 3}, {228, 0, 3}, {229, 0, 4}, {2000, 0, 4}, {5, 1, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    cr_expect_eq(fofal_quality_defect_points(cases[i].mm, cases[i].hole), cases[i].want, "%lld mm hole %d",
                 (long long)cases[i].mm, cases[i].hole);
}

Test(points, per_100_square_metres_exact) {
  /* The glossary's formula in metric: 30 points on 100 m × 1.5 m = 150 m² → 20.00. */
  cr_expect_eq(fofal_quality_score_x100(30, 1500, 100000), 2000);
  /* ASTM's worked example in yards: 100 yd × 60 in (91,440 mm × 1,524 mm) with 30 points
   * is 18 points per 100 yd², i.e. 21.53 per 100 m² (30 × 10^8 / 139,354,560 = 21.528). */
  cr_expect_eq(fofal_quality_score_x100(30, 1524, 91440), 2153);
  /* Rounded half up: 1 point on 3 m² is 33.333… → 3333; 2 points on 3 m² 66.67. */
  cr_expect_eq(fofal_quality_score_x100(1, 1000, 3000), 3333);
  cr_expect_eq(fofal_quality_score_x100(2, 1000, 3000), 6667);
  cr_expect_eq(fofal_quality_score_x100(0, 1000, 3000), 0);
  cr_expect_eq(fofal_quality_score_x100(5, 0, 3000), 0, "no area: no score, no division by zero");
  /* The most points the schemas admit (4 per metre of 10 km) on the smallest area stays exact. */
  cr_expect_eq(fofal_quality_score_x100(40000, 1, 10000000), 40000000LL);
}

/* ------------------------------------------------------------ inspection */

static json_t *inspect(const char *lot, int64_t length_mm, int64_t width_mm, json_t *defects /* stolen */) {
  return json_pack("{s:s,s:s,s:I,s:I,s:o}", "lot", lot, "lot_kind", "roll", "length_mm", (json_int_t)length_mm, "width_mm",
                   (json_int_t)width_mm, "defects", defects);
}

Test(inspection, four_points_per_metre_at_most_and_the_grade) {
  stock();
  /* 10 m × 1.5 m = 15 m². Metre 0: 4 + 4 + 1 = 9, counts 4; metre 3: 2; metre 9: hole 4. */
  json_t *defects = json_pack("[{s:i,s:i},{s:i,s:i},{s:i,s:i},{s:i,s:i},{s:i,s:i,s:b}]", "at_mm", 100, "size_mm", 300,
                              "at_mm", 900, "size_mm", 250, "at_mm", 999, "size_mm", 10, "at_mm", 3500, "size_mm", 100,
                              "at_mm", 9999, "size_mm", 2, "hole", 1);
  json_t *ev = NULL;
  ok("quality.inspection.record", inspect(roll, 10000, 1500, defects), "insp-1", &ev);
  const json_t *d = json_object_get(ev, "data");
  cr_expect_eq(iof(d, "points"), 10, "4 + 2 + 4");
  cr_expect_eq(iof(d, "score_x100"), 6667, "10 points on 15 m² = 66.67 per 100 m²");
  cr_expect_eq(iof(d, "max_points_per_100m2"), FOFAL_QUALITY_DEFAULT_THRESHOLD);
  cr_expect_str_eq(jstr(d, "grade"), "second", "66.67 > 40");
  cr_expect_str_eq(jstr(d, "article"), "FT-200", "the roll's article");
  cr_expect_eq(iof(json_array_get(json_object_get(d, "defects"), 4), "points"), 4, "a hole is 4 points");
  json_decref(ev);
}

Test(inspection, the_articles_threshold_decides_the_grade) {
  stock();
  /* 6 points on 20 m² = 30.00: first under the default 40, second under 28. */
  json_t *six = json_pack("[{s:i,s:i},{s:i,s:i}]", "at_mm", 1000, "size_mm", 160, "at_mm", 5000, "size_mm", 200);
  json_t *ev = NULL;
  ok("quality.inspection.record", inspect(roll, 10000, 2000, json_deep_copy(six)), "insp-a", &ev);
  cr_expect_eq(iof(json_object_get(ev, "data"), "score_x100"), 3000);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "grade"), "first");
  json_decref(ev);
  ok("quality.threshold.set", json_pack("{s:s,s:i}", "article", "FT-200", "max_points_per_100m2", 28), "th-1", NULL);
  no("quality.threshold.set", json_pack("{s:s,s:i}", "article", "FT-200", "max_points_per_100m2", 28), "no_change");
  no("quality.threshold.set", json_pack("{s:s,s:i}", "article", "FT-999", "max_points_per_100m2", 28), "unknown_article");
  ok("quality.inspection.record", inspect(roll, 10000, 2000, json_deep_copy(six)), "insp-b", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "grade"), "second", "30.00 > 28");
  cr_expect_eq(iof(json_object_get(ev, "data"), "max_points_per_100m2"), 28);
  json_decref(ev);
  /* Exactly at the threshold is still 1st choice: 28.00 ≤ 28. */
  ok("quality.threshold.set", json_pack("{s:s,s:i}", "article", "FT-200", "max_points_per_100m2", 30), "th-2", NULL);
  ok("quality.inspection.record", inspect(roll, 10000, 2000, six), "insp-c", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "grade"), "first", "30.00 ≤ 30");
  json_decref(ev);
}

Test(inspection, refuses_unknown_lots_and_defects_outside) {
  stock();
  char other[FOFAL_UUID_LEN + 1];
  fofal_uuid_named("nothing", "here", other);
  no("quality.inspection.record", inspect(other, 10000, 1500, json_array()), "unknown_lot");
  no("quality.inspection.record", inspect(order, 10000, 1500, json_array()), "unknown_lot");
  no("quality.inspection.record", inspect(roll, 10000, 1500, json_pack("[{s:i,s:i}]", "at_mm", 10000, "size_mm", 5)),
     "defect_outside");
  json_t *yarn = json_pack("{s:s,s:s,s:s,s:i,s:i}", "lot", "YL-7", "lot_kind", "yarn", "article", "FT-999", "length_mm",
                           1000, "width_mm", 100);
  no("quality.inspection.record", yarn, "unknown_article");
  /* A weaver may not inspect for someone else; an inspector acts as themself. */
  world_as("u:amira/quality", "Q-1");
  no("quality.inspection.record",
     json_pack("{s:s,s:s,s:i,s:i,s:s}", "lot", roll, "lot_kind", "roll", "length_mm", 1000, "width_mm", 100, "inspector",
               "Q-2"),
     "actor_mismatch");
  json_t *ev = NULL;
  ok("quality.inspection.record", inspect(roll, 1000, 100, json_array()), "insp-q", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "inspector"), "Q-1");
  cr_expect_eq(iof(json_object_get(ev, "data"), "points"), 0);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "grade"), "first");
  json_decref(ev);
}

/* ------------------------------------------------------------------ cut */

Test(cut, a_roll_cut_into_graded_lots_once) {
  stock();
  json_t *data = cut_data(9, 2, 1);
  json_object_set_new(data, "defects", json_pack("[{s:s,s:i},{s:s,s:i}]", "cause", "oil_stain", "pieces", 2, "cause", "hole",
                                                 "pieces", 1));
  json_object_set_new(data, "waste_mm", json_integer(350));
  json_t *ev = NULL;
  world_as("u:karim/cutter", "C-1");
  ok("quality.roll.cut", data, "cut-1", &ev);
  const json_t *d = json_object_get(ev, "data");
  cr_expect_str_eq(jstr(d, "cutter"), "C-1", "the cutter is who signed in");
  cr_expect_str_eq(jstr(d, "loom"), "L-07", "genealogy: the roll's loom");
  cr_expect_str_eq(jstr(d, "weaver"), "W-12");
  cr_expect_str_eq(jstr(d, "article"), "FT-200");
  cr_expect_eq(iof(d, "waste_mm"), 350);
  const json_t *lots = json_object_get(d, "lots");
  cr_assert_eq(json_array_size(lots), 2);
  cr_expect_str_eq(jstr(json_array_get(lots, 0), "grade"), "first");
  cr_expect_eq(iof(json_array_get(lots, 0), "pieces"), 9);
  cr_expect_eq(iof(json_array_get(lots, 1), "pieces"), 2);
  const char *l1 = jstr(json_array_get(lots, 0), "label_id"), *l2 = jstr(json_array_get(lots, 1), "label_id");
  cr_expect(fofal_uuid_valid(l1) && fofal_uuid_valid(l2) && strcmp(l1, l2), "two label ids");
  cr_expect_str_eq(jstr(json_object_get(ev, "issued"), "first_lot_id"), l1, "the answer shows the lot's label id");
  json_decref(ev);
  /* Once: the cut is named by its roll. */
  json_t *again = cut_data(12, 0, 0);
  cr_expect_eq(world_decide_at("quality.roll.cut", again, W_ISSUED, "cut-2", NULL), FOFAL_EEXIST);
}

Test(cut, refuses_what_does_not_add_up) {
  stock();
  char other[FOFAL_UUID_LEN + 1];
  fofal_uuid_named("nothing", "here", other);
  no("quality.roll.cut", json_pack("{s:s,s:i,s:i,s:i}", "roll", other, "first_choice", 1, "second_choice", 0, "waste_pieces",
                                   0),
     "unknown_roll");
  no("quality.roll.cut", json_pack("{s:s,s:i,s:i,s:i}", "roll", order, "first_choice", 1, "second_choice", 0,
                                   "waste_pieces", 0),
     "unknown_roll"); /* an aggregate of that id, but no roll */
  no("quality.roll.cut", cut_data(0, 0, 0), "empty_cut");
  no("quality.roll.cut", cut_data(12, 1, 0), "exceeds_roll");
  no("quality.roll.cut", cut_data(10, 2, 0), "defects_required");
  json_t *d = cut_data(10, 2, 0);
  json_object_set_new(d, "defects", json_pack("[{s:s,s:i}]", "cause", "oil_stain", "pieces", 1));
  no("quality.roll.cut", d, "defects_mismatch");
  /* A cutter cuts as themself. */
  world_as("u:karim/cutter", "C-1");
  d = cut_data(12, 0, 0);
  json_object_set_new(d, "cutter", json_string("C-2"));
  no("quality.roll.cut", d, "actor_mismatch");
  /* Fewer pieces than declared is fine: the rest is waste by length. */
  ok("quality.roll.cut", cut_data(11, 0, 0), "cut-ok", NULL);
}

/* ------------------------------------------------------------------ lots */

static json_t *lot_cmd(const char *lot, const char *kind, const char *k, const char *v) {
  json_t *o = json_pack("{s:s,s:s}", "lot", lot, "lot_kind", kind);
  if (k) json_object_set_new(o, k, json_string(v));
  return o;
}

Test(lot, approvals_are_for_mfa_roles_and_signed) {
  const json_t *roles = json_object_get(fofal_registry_schema(reg, "quality.lot.approve"), "x-fofal-roles");
  cr_assert_eq(json_array_size(roles), 2, "manager and admin only: the roles that sign in with TOTP");
  cr_expect_str_eq(json_string_value(json_array_get(roles, 0)), "manager");
  cr_expect_str_eq(json_string_value(json_array_get(roles, 1)), "admin");
  stock();
  world_as("u:sonia/manager", "M-3");
  json_t *ev = NULL;
  ok("quality.lot.approve", lot_cmd(roll, "roll", NULL, NULL), "ap-1", &ev);
  const json_t *d = json_object_get(ev, "data");
  cr_expect_str_eq(jstr(d, "status"), "approved");
  cr_expect_str_eq(jstr(json_object_get(d, "signed_by"), "actor"), "u:sonia/manager");
  cr_expect_str_eq(jstr(json_object_get(d, "signed_by"), "badge"), "M-3");
  json_decref(ev);
  no("quality.lot.approve", lot_cmd(roll, "roll", NULL, NULL), "no_change");
  no("quality.lot.reject", lot_cmd(roll, "pieces", "reason", "x"), "lot_kind_mismatch");
  char other[FOFAL_UUID_LEN + 1];
  fofal_uuid_named("nothing", "here", other);
  no("quality.lot.approve", lot_cmd(other, "roll", NULL, NULL), "unknown_lot");
}

Test(lot, a_rejected_roll_is_quarantined_and_cannot_be_cut) {
  stock();
  world_as("u:amira/quality", "Q-1");
  json_t *ev = NULL;
  ok("quality.lot.reject", lot_cmd(roll, "roll", "reason", "weft bars over 12 m"), "rj-1", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "location"), "quarantine");
  json_decref(ev);
  no("quality.lot.reject", lot_cmd(roll, "roll", "reason", "again"), "no_change");
  world_as("u:karim/cutter", "C-1");
  no("quality.roll.cut", cut_data(12, 0, 0), "lot_quarantined");
  /* Released only with a derogation, signed by a manager. */
  world_as("u:sonia/manager", "M-3");
  no("quality.lot.approve", lot_cmd(roll, "roll", NULL, NULL), "derogation_required");
  ok("quality.lot.approve", lot_cmd(roll, "roll", "derogation", "customer accepts 2nd choice"), "ap-2", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "status"), "approved_with_derogation");
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "previous"), "rejected");
  json_decref(ev);
  world_as("u:karim/cutter", "C-1");
  ok("quality.roll.cut", cut_data(12, 0, 0), "cut-after", NULL);
}

/* ------------------------------------------------------------------- NC */

static void nc_id(const json_t *data, const char *cmd_id, char id[FOFAL_UUID_LEN + 1]) {
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "quality.nc.open"), W_TENANT, cmd_id, data, id), 0);
}

Test(nc, open_analyse_act_close) {
  stock();
  char insp[FOFAL_UUID_LEN + 1], id[FOFAL_UUID_LEN + 1], missing[FOFAL_UUID_LEN + 1];
  json_t *idata = inspect(roll, 1000, 100, json_array());
  cr_assert_eq(fofal_command_aggregate_id(fofal_registry_find(reg, "quality.inspection.record"), W_TENANT, "insp-nc", idata,
                                          insp),
               0);
  ok("quality.inspection.record", idata, "insp-nc", NULL);
  fofal_uuid_named("nothing", "here", missing);
  no("quality.nc.open", json_pack("{s:s,s:s}", "title", "stains", "source", "inspection"), "unknown_inspection");
  no("quality.nc.open", json_pack("{s:s,s:s,s:s}", "title", "stains", "source", "inspection", "inspection_id", missing),
     "unknown_inspection");
  no("quality.nc.open", json_pack("{s:s,s:s,s:s}", "title", "stains", "source", "inspection", "inspection_id", roll),
     "unknown_inspection"); /* the roll's id is no inspection's */
  no("quality.nc.open", json_pack("{s:s,s:s,s:[s]}", "title", "stains", "source", "manual", "looms", "L-99"), "unknown_loom");
  json_t *data = json_pack("{s:s,s:s,s:s,s:[s],s:[s],s:[s]}", "title", "oil stains on L-07", "source", "inspection",
                           "inspection_id", insp, "lots", roll, "looms", "L-07", "people", "W-12");
  nc_id(data, "nc-1", id);
  json_t *ev = NULL;
  ok("quality.nc.open", data, "nc-1", &ev);
  cr_expect_str_eq(jstr(json_object_get(ev, "data"), "opened_by"), "u:tester/admin", "who opened it: the token's actor");
  json_decref(ev);
  json_t *act = json_pack("{s:s,s:s,s:s,s:s,s:s}", "nc_id", id, "kind", "corrective", "description", "clean the lubricator",
                          "owner", "W-12", "due", "2026-11-30");
  no("quality.nc.act", json_deep_copy(act), "analysis_required");
  no("quality.nc.close", json_pack("{s:s,s:s}", "nc_id", id, "verification", "ok"), "analysis_required");
  ok("quality.nc.analyse", json_pack("{s:s,s:s,s:s}", "nc_id", id, "cause", "leaking oiler", "category", "machine"), "an-1",
     NULL);
  no("quality.nc.analyse", json_pack("{s:s,s:s,s:s}", "nc_id", id, "cause", "x", "category", "man"), "invalid_transition");
  no("quality.nc.close", json_pack("{s:s,s:s}", "nc_id", id, "verification", "ok"), "action_required");
  json_t *bad = json_deep_copy(act);
  json_object_set_new(bad, "owner", json_string("W-404"));
  no("quality.nc.act", bad, "unknown_employee");
  json_t *prev = json_deep_copy(act);
  json_object_set_new(prev, "kind", json_string("preventive"));
  ok("quality.nc.act", prev, "act-0", &ev);
  cr_expect_eq(iof(json_object_get(ev, "data"), "action_no"), 1);
  json_decref(ev);
  no("quality.nc.close", json_pack("{s:s,s:s}", "nc_id", id, "verification", "ok"), "action_required");
  ok("quality.nc.act", act, "act-1", &ev);
  cr_expect_eq(iof(json_object_get(ev, "data"), "action_no"), 2);
  json_decref(ev);
  ok("quality.nc.close", json_pack("{s:s,s:s}", "nc_id", id, "verification", "no stain on 3 rolls since"), "close-1", NULL);
  no("quality.nc.close", json_pack("{s:s,s:s}", "nc_id", id, "verification", "again"), "invalid_transition");
  no("quality.nc.act",
     json_pack("{s:s,s:s,s:s,s:s,s:s}", "nc_id", id, "kind", "corrective", "description", "x", "owner", "W-12", "due",
               "2026-12-01"),
     "invalid_transition");
}

Test(nc, every_command_names_its_roles_and_is_the_modules) {
  static const char *const types[] = {"quality.roll.cut", "quality.threshold.set", "quality.inspection.record",
                                      "quality.lot.approve", "quality.lot.reject", "quality.nc.open",
                                      "quality.nc.analyse", "quality.nc.act", "quality.nc.close"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    const json_t *s = fofal_registry_schema(reg, types[i]);
    cr_assert(json_is_object(s), "%s has a schema", types[i]);
    cr_expect_gt(json_array_size(json_object_get(s, "x-fofal-roles")), 0, "%s names its roles", types[i]);
    cr_expect(json_is_false(json_object_get(s, "additionalProperties")), "%s is closed", types[i]);
  }
  const json_t *cut_roles = json_object_get(fofal_registry_schema(reg, "quality.roll.cut"), "x-fofal-roles");
  cr_expect_str_eq(json_string_value(json_array_get(cut_roles, 0)), "cutter");
}
