/*
 * test_production_order.c — commands/production_order.c through commands/registry.c.
 *
 * Every rule of the production order decider (lifecycle, loom, declared quantities and
 * the overproduction cap, purity of the label id), every emitted event's data checked
 * against its JSON Schema under schemas/production/events/, command validation against
 * schemas/production/commands/, aggregate ids, and the command message round trip.
 *
 * Each test loads the registry from the source tree (FOFAL_SOURCE_DIR) in its init.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "production.h" /* the module's command tables */
#include "jsonschema.h" /* to check emitted events against their schemas */
#include "world.h"      /* the looms, beams and weavers an order runs with */

#define ORDER "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
#define ISSUED W_ISSUED
#define TENANT W_TENANT

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  int rc = fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err);
  cr_assert_eq(rc, 0, "registry: %s", err);
  cr_assert_not_null(reg);
  world_init(reg);
  world_floor();
  /* A second ready loom, for orders planned at creation. */
  world_ok("production.loom.register",
           json_pack("{s:s,s:s,s:i,s:s}", "loom", "L-03", "hall", "H1", "nominal_ppm", 400, "weave", "flat"), "loom-3");
  world_beam("B-3", "ground", 5000);
  world_ok("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", "L-03", "beam", "B-3"), "mount-3");
  world_ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", "L-03", "result", "pass"), "fp-3");
  const char *more[] = {"L-09", "L-11"};
  for (int i = 0; i < 2; i++) {
    char id[32], beam[16];
    snprintf(beam, sizeof beam, "B-%s", more[i] + 2);
    world_ok("production.loom.register",
             json_pack("{s:s,s:s,s:i,s:s}", "loom", more[i], "hall", "H2", "nominal_ppm", 400, "weave", "flat"),
             (snprintf(id, sizeof id, "loom-%s", more[i]), id));
    world_beam(beam, "ground", 5000);
    world_ok("production.loom.mount_beam", json_pack("{s:s,s:s}", "loom", more[i], "beam", beam),
             (snprintf(id, sizeof id, "mount-%s", more[i]), id));
    world_ok("production.loom.check_first_piece", json_pack("{s:s,s:s}", "loom", more[i], "result", "pass"),
             (snprintf(id, sizeof id, "fp-%s", more[i]), id));
  }
}

static void teardown(void) {
  world_free();
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(order, .init = setup, .fini = teardown);
TestSuite(validate, .init = setup, .fini = teardown);
TestSuite(registry, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static char *dump(const json_t *j) { return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL; }

/* Checks one emitted {"type","data"} against schemas/production/events/<name>.json. */
static void check_event_schema(const json_t *event) {
  static const char prefix[] = "fofal.production.";
  const char *type = json_string_value(json_object_get(event, "type"));
  const json_t *data = json_object_get(event, "data");
  cr_assert_not_null(type, "an event without a type");
  cr_assert(json_is_object(data), "%s: data is not an object", type);
  cr_assert_eq(strncmp(type, prefix, sizeof prefix - 1), 0, "event type %s is not fofal.production.*", type);
  char path[1024], err[512] = "";
  snprintf(path, sizeof path, "%s/schemas/production/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
  json_error_t jerr;
  json_t *sj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  cr_assert_not_null(sj, "no schema for %s: %s: %s", type, path, jerr.text);
  fofal_schema_t *s = NULL;
  int rc = fofal_schema_compile(&s, sj, path, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: %s", path, err);
  json_t *errors = NULL;
  rc = fofal_schema_validate(s, data, &errors);
  char *es = dump(errors), *ds = dump(data);
  cr_assert_eq(rc, 0, "%s data %s does not match its schema: %s", type, ds, es);
  free(es);
  free(ds);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

static int schema_errors_have(const json_t *errors, const char *pointer, const char *keyword) {
  size_t i;
  json_t *e;
  json_array_foreach(errors, i, e) {
    const char *p = json_string_value(json_object_get(e, "pointer"));
    const char *k = json_string_value(json_object_get(e, "keyword"));
    if (p && k && !strcmp(p, pointer) && !strcmp(k, keyword)) return 1;
  }
  return 0;
}

/* Decides production.order.<verb> with `data` (stolen; "order_id" added for a non-create
 * command that lacks one) on `state` (borrowed, may be NULL). If check_schema, the command
 * must first pass its schema. Checks what holds for every decision: the input state is not
 * modified; an acceptance has events (each valid per its schema, each naming the order)
 * and a state and no code; a rejection has neither, and a code and detail. */
static int decide_ex(const char *verb, const json_t *state, json_t *data, const char *cmd_id, int check_schema,
                     fofal_decision_t *d) {
  char type[64];
  snprintf(type, sizeof type, "production.order.%s", verb);
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s not in the registry", type);
  if (!def->creates && !json_object_get(data, "order_id")) json_object_set_new(data, "order_id", json_string(ORDER));
  if (check_schema) {
    json_t *errors = NULL;
    int vrc = fofal_registry_validate(reg, type, data, &errors);
    char *es = dump(errors), *ds = dump(data);
    cr_assert_eq(vrc, 0, "test bug: %s %s is not valid: %s", type, ds, es);
    free(es);
    free(ds);
    json_decref(errors);
  }
  fofal_cmd_t cmd = {.id = cmd_id,
                     .type = type,
                     .tenant = TENANT,
                     .actor = "planner-1",
                     .aggregate = ORDER,
                     .expected_version = -1,
                     .issued_us = ISSUED,
                     .correlation_id = NULL,
                     .data = data,
                     .lookup = &world_lookup};
  json_t *before = state ? json_deep_copy(state) : NULL;
  memset(d, 0, sizeof *d);
  int rc = def->decide(&cmd, state, d);
  if (state) cr_assert(json_equal(state, before), "%s modified its input state", type);
  json_decref(before);
  json_decref(data);
  if (rc == 0) {
    cr_assert_not_null(d->events, "%s accepted without events", type);
    cr_assert_not_null(d->state, "%s accepted without a new state", type);
    cr_assert_eq(d->code[0], '\0', "%s accepted with code %s", type, d->code);
    cr_assert_gt(json_array_size(d->events), 0);
    size_t i;
    json_t *ev;
    json_array_foreach(d->events, i, ev) {
      check_event_schema(ev);
      cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "data"), "order_id")), ORDER);
    }
    const char *id;
    json_t *o;
    json_object_foreach(d->others, id, o) json_array_foreach(json_object_get(o, "events"), i, ev) check_event_schema(ev);
    world_apply_others(d);
    json_decref(d->others);
    d->others = NULL;
  } else {
    cr_assert_eq(rc, FOFAL_EREJECTED, "%s returned %s", type, fofal_err_name(rc));
    cr_assert_null(d->events, "%s rejected but left events", type);
    cr_assert_null(d->state, "%s rejected but left a state", type);
    cr_assert_neq(d->code[0], '\0', "%s rejected without a code", type);
    cr_assert_neq(d->detail[0], '\0', "%s rejected without a detail", type);
  }
  return rc;
}

/* Expects one event of `want_type`; returns the new state (new reference) and, if
 * event_data, the event's data (new reference). */
static json_t *accept(const char *verb, const json_t *state, json_t *data, const char *cmd_id, const char *want_type,
                      json_t **event_data) {
  fofal_decision_t d;
  int rc = decide_ex(verb, state, data, cmd_id, 1, &d);
  cr_assert_eq(rc, 0, "%s rejected: %s: %s", verb, d.code, d.detail);
  cr_assert_eq(json_array_size(d.events), 1, "%s: %zu events", verb, json_array_size(d.events));
  json_t *ev = json_array_get(d.events, 0);
  cr_assert_str_eq(json_string_value(json_object_get(ev, "type")), want_type);
  if (event_data) *event_data = json_incref(json_object_get(ev, "data"));
  json_t *st = d.state;
  json_decref(d.events);
  return st;
}

/* Expects a rejection with `code`. `schema_valid`: whether the command passes its schema
 * (some business rules are also guarded by the schema; the decider must hold them alone). */
static void reject_ex(const char *verb, const json_t *state, json_t *data, int schema_valid, const char *code) {
  fofal_decision_t d;
  int rc = decide_ex(verb, state, data, "cmd-rejected", schema_valid, &d);
  cr_assert_eq(rc, FOFAL_EREJECTED, "%s on a %s order was accepted, want %s", verb,
               state ? json_string_value(json_object_get(state, "status")) : "new", code);
  cr_assert_str_eq(d.code, code, "%s: code %s (%s), want %s", verb, d.code, d.detail, code);
}
#define reject(verb, state, data, code) reject_ex(verb, state, data, 1, code)

static const char *status_of(const json_t *state) { return json_string_value(json_object_get(state, "status")); }

/* An order of `qty` pieces brought to `status` through the decider. `create_loom` (may be
 * NULL) is the loom named at creation; a start without one uses "L-07". */
static json_t *order_in(const char *status, json_int_t qty, const char *create_loom) {
  json_t *data = json_pack("{s:s,s:I}", "article", "FT-200", "quantity", qty);
  if (create_loom) json_object_set_new(data, "loom", json_string(create_loom));
  json_t *st = accept("create", NULL, data, "cmd-create", "fofal.production.order_created.v1", NULL);
  if (!strcmp(status, "created")) return st;
  json_t *next;
  if (!strcmp(status, "cancelled")) {
    next = accept("cancel", st, json_pack("{s:s}", "reason", "test"), "cmd-cancel",
                  "fofal.production.order_cancelled.v1", NULL);
    json_decref(st);
    return next;
  }
  next = accept("release", st, json_object(), "cmd-release", "fofal.production.order_released.v1", NULL);
  json_decref(st);
  st = next;
  if (!strcmp(status, "released")) return st;
  json_t *sdata = create_loom ? json_object() : json_pack("{s:s}", "loom", "L-07");
  next = accept("start", st, sdata, "cmd-start", "fofal.production.order_started.v1", NULL);
  json_decref(st);
  st = next;
  if (!strcmp(status, "started")) return st;
  cr_assert_str_eq(status, "completed", "test bug: unknown status %s", status);
  next = accept("complete", st, json_object(), "cmd-complete", "fofal.production.order_completed.v1", NULL);
  json_decref(st);
  return next;
}

static json_t *declare(const json_t *state, json_int_t q, const char *cmd_id, json_t **event_data) {
  return accept("declare_output", state, json_pack("{s:I,s:s}", "quantity", q, "weaver", "W-12"), cmd_id,
                "fofal.production.output_declared.v1", event_data);
}

static void assert_json_eq(const json_t *got, const json_t *want, const char *what) {
  char *g = dump(got), *w = dump(want);
  cr_assert(json_equal(got, want), "%s:\n got %s\nwant %s", what, g, w);
  free(g);
  free(w);
}

/* ------------------------------------------------------------------ create */

Test(order, create_full) {
  json_t *ev = NULL;
  json_t *st = accept("create", NULL,
                      json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "order_id", ORDER, "article", "FT-200", "quantity", 100,
                                "unit", "meters", "due_date", "2026-12-15", "loom", "L-03"),
                      "cmd-1", "fofal.production.order_created.v1", &ev);
  json_t *want_ev = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "order_id", ORDER, "article", "FT-200", "quantity", 100,
                              "unit", "meters", "due_date", "2026-12-15", "loom", "L-03");
  json_t *want_st = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "status", "created", "article", "FT-200", "quantity",
                              100, "unit", "meters", "due_date", "2026-12-15", "loom", "L-03", "declared", 0);
  assert_json_eq(ev, want_ev, "order_created data");
  assert_json_eq(st, want_st, "state after create");
  json_decref(want_ev);
  json_decref(want_st);
  json_decref(ev);
  json_decref(st);
}

Test(order, create_minimal_defaults_unit_and_omits_the_rest) {
  json_t *ev = NULL;
  json_t *st = accept("create", NULL, json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 5), "cmd-1",
                      "fofal.production.order_created.v1", &ev);
  json_t *want_ev = json_pack("{s:s,s:s,s:i,s:s}", "order_id", ORDER, "article", "FT-200", "quantity", 5, "unit", "pieces");
  json_t *want_st = json_pack("{s:s,s:s,s:i,s:s,s:i}", "status", "created", "article", "FT-200", "quantity", 5, "unit",
                              "pieces", "declared", 0);
  assert_json_eq(ev, want_ev, "order_created data");
  assert_json_eq(st, want_st, "state after create");
  json_decref(want_ev);
  json_decref(want_st);
  json_decref(ev);
  json_decref(st);
}

Test(order, create_is_deterministic) {
  json_t *data = json_pack("{s:s,s:i,s:s}", "article", "FT-200", "quantity", 5, "due_date", "2027-01-02");
  fofal_decision_t a, b;
  cr_assert_eq(decide_ex("create", NULL, json_deep_copy(data), "cmd-1", 1, &a), 0);
  cr_assert_eq(decide_ex("create", NULL, data, "cmd-1", 1, &b), 0);
  assert_json_eq(a.events, b.events, "events of the same create");
  assert_json_eq(a.state, b.state, "state of the same create");
  json_decref(a.events);
  json_decref(a.state);
  json_decref(b.events);
  json_decref(b.state);
}

/* ----------------------------------------------------------------- release */

Test(order, release_from_created) {
  json_t *st = order_in("created", 100, NULL);
  json_t *ev = NULL;
  json_t *next = accept("release", st, json_object(), "cmd-2", "fofal.production.order_released.v1", &ev);
  json_t *want_ev = json_pack("{s:s}", "order_id", ORDER);
  assert_json_eq(ev, want_ev, "order_released data");
  cr_assert_str_eq(status_of(next), "released");
  /* Nothing else in the state changes. */
  json_object_set_new(st, "status", json_string("released"));
  assert_json_eq(next, st, "state after release");
  json_decref(want_ev);
  json_decref(ev);
  json_decref(next);
  json_decref(st);
}

Test(order, release_only_from_created) {
  static const char *from[] = {"released", "started", "completed", "cancelled"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    cr_assert_str_eq(status_of(st), from[i]);
    reject("release", st, json_object(), "invalid_transition");
    json_decref(st);
  }
}

/* ------------------------------------------------------------------- start */

Test(order, start_with_loom_in_command) {
  json_t *st = order_in("released", 100, NULL);
  json_t *ev = NULL;
  json_t *next = accept("start", st, json_pack("{s:s}", "loom", "L-09"), "cmd-3", "fofal.production.order_started.v1", &ev);
  json_t *want_ev = json_pack("{s:s,s:s}", "order_id", ORDER, "loom", "L-09");
  assert_json_eq(ev, want_ev, "order_started data");
  cr_assert_str_eq(status_of(next), "started");
  cr_assert_str_eq(json_string_value(json_object_get(next, "loom")), "L-09");
  cr_assert_eq(json_integer_value(json_object_get(next, "declared")), 0);
  json_decref(want_ev);
  json_decref(ev);
  json_decref(next);
  json_decref(st);
}

Test(order, start_with_loom_from_state) {
  json_t *st = order_in("released", 100, "L-03");
  json_t *ev = NULL;
  json_t *next = accept("start", st, json_object(), "cmd-3", "fofal.production.order_started.v1", &ev);
  cr_assert_str_eq(json_string_value(json_object_get(ev, "loom")), "L-03");
  cr_assert_str_eq(json_string_value(json_object_get(next, "loom")), "L-03");
  json_decref(ev);
  json_decref(next);
  json_decref(st);
}

Test(order, start_loom_in_command_overrides_the_planned_one) {
  json_t *st = order_in("released", 100, "L-03");
  json_t *ev = NULL;
  json_t *next = accept("start", st, json_pack("{s:s}", "loom", "L-11"), "cmd-3", "fofal.production.order_started.v1", &ev);
  cr_assert_str_eq(json_string_value(json_object_get(ev, "loom")), "L-11");
  cr_assert_str_eq(json_string_value(json_object_get(next, "loom")), "L-11");
  json_decref(ev);
  json_decref(next);
  json_decref(st);
}

Test(order, start_needs_a_loom) {
  json_t *st = order_in("released", 100, NULL);
  reject("start", st, json_object(), "loom_required");
  json_decref(st);
}

Test(order, start_only_from_released) {
  static const char *from[] = {"created", "started", "completed", "cancelled"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    reject("start", st, json_pack("{s:s}", "loom", "L-01"), "invalid_transition");
    json_decref(st);
  }
}

/* ---------------------------------------------------------- declare_output */

Test(order, declare_output_event_and_state) {
  json_t *st = order_in("started", 100, NULL);
  json_t *ev = NULL;
  json_t *next = accept("declare_output", st, json_pack("{s:i,s:s}", "quantity", 30, "weaver", "W-12"), "cmd-4",
                        "fofal.production.output_declared.v1", &ev);
  const char *label = json_string_value(json_object_get(ev, "label_id"));
  cr_assert(fofal_uuid_valid(label), "label_id \"%s\" is not a UUID", label ? label : "(null)");
  /* 30 pieces of FT-200 (2 m each) are 60 m woven, 64.8 m of warp at 8 % take-up; the
   * shift is the one ISSUED falls in (08:15 UTC is 09:15 at UTC+1: shift A). */
  json_t *want_ev = json_pack("{s:s,s:s,s:i,s:f,s:s,s:s,s:s,s:s,s:s,s:i,s:[{s:s,s:f}]}", "order_id", ORDER, "label_id", label,
                              "quantity", 30, "length_m", 60.0, "weaver", "W-12", "loom", "L-07", "shift", "2026-11-24/A",
                              "woven_at", "2026-11-24T08:15:02.654321Z", "article", "FT-200", "declared_total", 30, "beams",
                              "beam", "B-1", "meters", 64.8);
  assert_json_eq(ev, want_ev, "output_declared data");
  cr_assert_float_eq(json_number_value(json_object_get(world_ref("beam", "B-1"), "meters_left")), 5000 - 64.8, 1e-6,
                     "the beam lost what the declaration consumed");
  json_t *want_st = json_deep_copy(st);
  json_object_set_new(want_st, "declared", json_integer(30));
  json_object_set_new(want_st, "length_m", json_real(60.0));
  assert_json_eq(next, want_st, "state after a declaration");
  json_decref(want_st);
  json_decref(want_ev);
  json_decref(ev);

  /* A second declaration adds up. */
  json_t *next2 = declare(next, 45, "cmd-5", &ev);
  cr_assert_eq(json_integer_value(json_object_get(ev, "quantity")), 45);
  cr_assert_eq(json_integer_value(json_object_get(ev, "declared_total")), 75);
  cr_assert_eq(json_integer_value(json_object_get(next2, "declared")), 75);
  cr_assert_str_eq(json_string_value(json_object_get(ev, "shift")), "2026-11-24/A", "the shift is computed");
  json_decref(ev);
  json_decref(next2);
  json_decref(next);
  json_decref(st);
}

Test(order, declare_output_only_on_started) {
  static const char *from[] = {"created", "released", "completed", "cancelled"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    reject("declare_output", st, json_pack("{s:i,s:s}", "quantity", 1, "weaver", "W-12"), "order_not_started");
    json_decref(st);
  }
}

Test(order, declare_output_quantity_must_be_positive) {
  /* The schema refuses these too; the decider must not rely on it. */
  json_t *st = order_in("started", 100, NULL);
  reject_ex("declare_output", st, json_pack("{s:i,s:s}", "quantity", 0, "weaver", "W-12"), 0, "quantity_not_positive");
  reject_ex("declare_output", st, json_pack("{s:i,s:s}", "quantity", -5, "weaver", "W-12"), 0, "quantity_not_positive");
  reject_ex("declare_output", st, json_pack("{s:s}", "weaver", "W-12"), 0, "quantity_not_positive");
  json_decref(st);
}

Test(order, declare_output_cap_exact_boundary_at_once) {
  json_t *st = order_in("started", 100, NULL);
  json_t *ev = NULL;
  json_t *next = declare(st, 110, "cmd-110", &ev);
  cr_assert_eq(json_integer_value(json_object_get(next, "declared")), 110, "100 + 10 %% = 110 must be accepted");
  cr_assert_eq(json_integer_value(json_object_get(ev, "declared_total")), 110);
  json_decref(ev);
  json_decref(next);
  reject("declare_output", st, json_pack("{s:i,s:s}", "quantity", 111, "weaver", "W-12"), "over_ordered_quantity");
  json_decref(st);
}

Test(order, declare_output_cap_is_cumulative) {
  json_t *st = order_in("started", 100, NULL);
  json_t *s1 = declare(st, 60, "cmd-a", NULL);
  reject("declare_output", s1, json_pack("{s:i,s:s}", "quantity", 51, "weaver", "W-12"), "over_ordered_quantity");
  json_t *s2 = declare(s1, 50, "cmd-b", NULL);
  cr_assert_eq(json_integer_value(json_object_get(s2, "declared")), 110);
  reject("declare_output", s2, json_pack("{s:i,s:s}", "quantity", 1, "weaver", "W-12"), "over_ordered_quantity");
  cr_assert_eq(json_integer_value(json_object_get(s2, "declared")), 110, "a rejection changes nothing");
  json_decref(s2);
  json_decref(s1);
  json_decref(st);
}

Test(order, declare_output_cap_other_quantity) {
  json_t *st = order_in("started", 1000, NULL);
  json_t *s1 = declare(st, 1100, "cmd-a", NULL);
  cr_assert_eq(json_integer_value(json_object_get(s1, "declared")), 1100);
  reject("declare_output", s1, json_pack("{s:i,s:s}", "quantity", 1, "weaver", "W-12"), "over_ordered_quantity");
  reject("declare_output", st, json_pack("{s:i,s:s}", "quantity", 1101, "weaver", "W-12"), "over_ordered_quantity");
  json_decref(s1);
  json_decref(st);
}

Test(order, declare_output_label_is_pure) {
  json_t *st = order_in("started", 100, NULL);
  fofal_decision_t a, b, c;
  cr_assert_eq(decide_ex("declare_output", st, json_pack("{s:i,s:s}", "quantity", 10, "weaver", "W-12"), "cmd-x", 1, &a), 0);
  cr_assert_eq(decide_ex("declare_output", st, json_pack("{s:i,s:s}", "quantity", 10, "weaver", "W-12"), "cmd-x", 1, &b), 0);
  cr_assert_eq(decide_ex("declare_output", st, json_pack("{s:i,s:s}", "quantity", 10, "weaver", "W-12"), "cmd-y", 1, &c), 0);
  const char *la = json_string_value(json_object_get(json_object_get(json_array_get(a.events, 0), "data"), "label_id"));
  const char *lb = json_string_value(json_object_get(json_object_get(json_array_get(b.events, 0), "data"), "label_id"));
  const char *lc = json_string_value(json_object_get(json_object_get(json_array_get(c.events, 0), "data"), "label_id"));
  cr_assert_str_eq(la, lb, "the same command decided twice gives another label");
  cr_assert_str_neq(la, lc, "two commands share a label id");
  assert_json_eq(a.events, b.events, "events of the same command decided twice");
  assert_json_eq(a.state, b.state, "state of the same command decided twice");
  json_decref(a.events);
  json_decref(a.state);
  json_decref(b.events);
  json_decref(b.state);
  json_decref(c.events);
  json_decref(c.state);
  json_decref(st);
}

/* ---------------------------------------------------------------- complete */

Test(order, complete_from_started) {
  json_t *st = order_in("started", 100, NULL);
  json_t *s1 = declare(st, 104, "cmd-a", NULL);
  json_t *ev = NULL;
  json_t *next = accept("complete", s1, json_object(), "cmd-c", "fofal.production.order_completed.v1", &ev);
  json_t *want_ev = json_pack("{s:s,s:i}", "order_id", ORDER, "declared_total", 104);
  /* The loom the order ran on travels with the event, so views can free the loom. */
  if (json_is_string(json_object_get(s1, "loom"))) json_object_set(want_ev, "loom", json_object_get(s1, "loom"));
  assert_json_eq(ev, want_ev, "order_completed data");
  json_t *want_st = json_deep_copy(s1);
  json_object_set_new(want_st, "status", json_string("completed"));
  assert_json_eq(next, want_st, "state after complete");
  json_decref(want_st);
  json_decref(want_ev);
  json_decref(ev);
  json_decref(next);
  json_decref(s1);

  /* Nothing declared: total 0 (the event schema allows it). */
  next = accept("complete", st, json_object(), "cmd-c", "fofal.production.order_completed.v1", &ev);
  cr_assert_eq(json_integer_value(json_object_get(ev, "declared_total")), 0);
  cr_assert(json_is_integer(json_object_get(ev, "declared_total")));
  json_decref(ev);
  json_decref(next);
  json_decref(st);
}

Test(order, complete_only_from_started) {
  static const char *from[] = {"created", "released", "completed", "cancelled"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    reject("complete", st, json_object(), "invalid_transition");
    json_decref(st);
  }
}

/* ------------------------------------------------------------------ cancel */

Test(order, cancel_from_created_released_started) {
  static const char *from[] = {"created", "released", "started"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    json_t *ev = NULL;
    json_t *next = accept("cancel", st, json_pack("{s:s}", "reason", "customer withdrew"), "cmd-x",
                          "fofal.production.order_cancelled.v1", &ev);
    json_t *want_ev = json_pack("{s:s,s:s}", "order_id", ORDER, "reason", "customer withdrew");
    if (json_is_string(json_object_get(st, "loom"))) json_object_set(want_ev, "loom", json_object_get(st, "loom"));
    assert_json_eq(ev, want_ev, "order_cancelled data");
    json_t *want_st = json_deep_copy(st);
    json_object_set_new(want_st, "status", json_string("cancelled"));
    assert_json_eq(next, want_st, "state after cancel");
    json_decref(want_st);
    json_decref(want_ev);
    json_decref(ev);
    json_decref(next);
    json_decref(st);
  }
}

Test(order, cancel_not_when_completed_or_cancelled) {
  static const char *from[] = {"completed", "cancelled"};
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    json_t *st = order_in(from[i], 100, NULL);
    reject("cancel", st, json_pack("{s:s}", "reason", "again"), "invalid_transition");
    json_decref(st);
  }
}

Test(order, full_lifecycle_events_are_schema_valid) {
  /* Every decision above already checks its events; this walks one order end to end
   * with every optional field set, so that each optional property is exercised too. */
  json_t *st = accept("create", NULL,
                      json_pack("{s:s,s:i,s:s,s:s,s:s}", "article", "FT-200.blue.v2", "quantity", 20, "unit", "pieces",
                                "due_date", "2026-12-01", "loom", "L-03"),
                      "c1", "fofal.production.order_created.v1", NULL);
  json_t *s2 = accept("release", st, json_object(), "c2", "fofal.production.order_released.v1", NULL);
  json_t *s3 = accept("start", s2, json_pack("{s:s}", "loom", "L-07"), "c3", "fofal.production.order_started.v1", NULL);
  json_t *s4 = accept("declare_output", s3,
                      json_pack("{s:i,s:s,s:f,s:s}", "quantity", 22, "weaver", "W-12", "length_m", 41.5, "woven_at",
                                "2026-11-24T07:00:00Z"),
                      "c4", "fofal.production.output_declared.v1", NULL);
  json_t *s5 = accept("complete", s4, json_object(), "c5", "fofal.production.order_completed.v1", NULL);
  cr_assert_str_eq(status_of(s5), "completed");
  cr_assert_eq(json_integer_value(json_object_get(s5, "declared")), 22);
  json_decref(st);
  json_decref(s2);
  json_decref(s3);
  json_decref(s4);
  json_decref(s5);
}

/* --------------------------------------------------------------- validate */

static void expect_invalid(const char *type, json_t *data /* stolen */, const char *pointer, const char *keyword) {
  json_t *errors = NULL;
  int rc = fofal_registry_validate(reg, type, data, &errors);
  char *ds = dump(data), *es = dump(errors);
  cr_assert_eq(rc, FOFAL_ESCHEMA, "%s %s: got %s", type, ds, fofal_err_name(rc));
  cr_assert(json_is_array(errors) && json_array_size(errors) > 0, "no errors array");
  cr_assert(schema_errors_have(errors, pointer, keyword), "%s %s: no {%s, %s} in %s", type, ds, pointer, keyword, es);
  free(ds);
  free(es);
  json_decref(errors);
  json_decref(data);
}

Test(validate, valid_create) {
  json_t *data = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "order_id", ORDER, "article", "FT-200", "quantity", 1, "unit",
                           "meters", "due_date", "2026-12-15", "loom", "L-03");
  json_t *errors = NULL;
  cr_assert_eq(fofal_registry_validate(reg, "production.order.create", data, &errors), 0);
  cr_assert(json_is_array(errors) && json_array_size(errors) == 0, "a valid command has no errors");
  json_decref(errors);
  cr_assert_eq(fofal_registry_validate(reg, "production.order.create", data, NULL), 0, "errors may be NULL");
  json_decref(data);
}

Test(validate, create_quantity_zero) {
  expect_invalid("production.order.create", json_pack("{s:s,s:i}", "article", "FT-200", "quantity", 0), "/quantity",
                 "minimum");
}

Test(validate, create_quantity_not_an_integer) {
  expect_invalid("production.order.create", json_pack("{s:s,s:f}", "article", "FT-200", "quantity", 2.5), "/quantity",
                 "type");
  expect_invalid("production.order.create", json_pack("{s:s,s:s}", "article", "FT-200", "quantity", "5"), "/quantity",
                 "type");
}

Test(validate, create_missing_article) {
  expect_invalid("production.order.create", json_pack("{s:i}", "quantity", 10), "/article", "required");
}

Test(validate, create_extra_property) {
  expect_invalid("production.order.create", json_pack("{s:s,s:i,s:s}", "article", "FT-200", "quantity", 10, "colour", "red"),
                 "/colour", "additionalProperties");
}

Test(validate, create_bad_due_date) {
  static const char *bad[] = {"24/11/2026", "2026-11-24T00:00:00Z", "tomorrow", "2026-13-01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_invalid("production.order.create",
                   json_pack("{s:s,s:i,s:s}", "article", "FT-200", "quantity", 10, "due_date", bad[i]), "/due_date",
                   "format");
}

Test(validate, create_bad_order_id_unit_article) {
  expect_invalid("production.order.create",
                 json_pack("{s:s,s:s,s:i}", "order_id", "not-a-uuid", "article", "FT-200", "quantity", 10), "/order_id",
                 "format");
  expect_invalid("production.order.create", json_pack("{s:s,s:i,s:s}", "article", "FT-200", "quantity", 10, "unit", "kg"),
                 "/unit", "enum");
  expect_invalid("production.order.create", json_pack("{s:s,s:i}", "article", "-bad start", "quantity", 10), "/article",
                 "pattern");
}

Test(validate, several_errors_at_once) {
  json_t *data = json_pack("{s:i,s:s}", "quantity", 0, "extra", "x");
  json_t *errors = NULL;
  cr_assert_eq(fofal_registry_validate(reg, "production.order.create", data, &errors), FOFAL_ESCHEMA);
  cr_assert(schema_errors_have(errors, "/quantity", "minimum"));
  cr_assert(schema_errors_have(errors, "/article", "required"));
  cr_assert(schema_errors_have(errors, "/extra", "additionalProperties"));
  /* Every entry has the three documented members. */
  size_t i;
  json_t *e;
  json_array_foreach(errors, i, e) {
    cr_assert(json_is_string(json_object_get(e, "pointer")));
    cr_assert(json_is_string(json_object_get(e, "keyword")));
    cr_assert(json_is_string(json_object_get(e, "message")));
  }
  json_decref(errors);
  json_decref(data);
}

Test(validate, declare_output_rules) {
  expect_invalid("production.order.declare_output",
                 json_pack("{s:s,s:i,s:s}", "order_id", ORDER, "quantity", 0, "weaver", "W-1"), "/quantity", "minimum");
  /* No weaver is valid for the schema: the decider takes the signed-in weaver's badge
   * (commands/actors.c, tests/unit/production/test_weaving.c suite actor). */
  json_t *errors = NULL, *nobody = json_pack("{s:s,s:i}", "order_id", ORDER, "quantity", 1);
  cr_expect_eq(fofal_registry_validate(reg, "production.order.declare_output", nobody, &errors), 0);
  json_decref(errors);
  json_decref(nobody);
  expect_invalid("production.order.declare_output",
                 json_pack("{s:s,s:i,s:s,s:s}", "order_id", ORDER, "quantity", 1, "weaver", "W-1", "shift", "A"), "/shift",
                 "additionalProperties");
  expect_invalid("production.order.declare_output",
                 json_pack("{s:s,s:i,s:s,s:s}", "order_id", ORDER, "quantity", 1, "weaver", "W-1", "woven_at", "yesterday"),
                 "/woven_at", "format");
  expect_invalid("production.order.declare_output",
                 json_pack("{s:s,s:i,s:s,s:i}", "order_id", ORDER, "quantity", 1, "weaver", "W-1", "length_m", 0),
                 "/length_m", "minimum");
}

Test(validate, non_create_needs_order_id) {
  expect_invalid("production.order.release", json_object(), "/order_id", "required");
  expect_invalid("production.order.cancel", json_pack("{s:s}", "order_id", ORDER), "/reason", "required");
}

Test(validate, data_not_an_object) {
  expect_invalid("production.order.create", json_pack("[i]", 1), "", "type");
}

Test(validate, null_data_is_invalid_argument) {
  /* A NULL instance is an argument error, not "nested too deeply". */
  json_t *errors = (json_t *)1;
  int rc = fofal_registry_validate(reg, "production.order.create", NULL, &errors);
  cr_expect_eq(rc, FOFAL_EINVAL, "NULL data: got %s (%s)", fofal_err_name(rc), fofal_strerror(rc));
  cr_expect_null(errors);
}

Test(validate, unknown_type) {
  json_t *errors = (json_t *)1;
  json_t *data = json_object();
  cr_assert_eq(fofal_registry_validate(reg, "production.order.explode", data, &errors), FOFAL_ENOENT);
  cr_assert_null(errors);
  json_decref(data);
}

/* ----------------------------------------------------------- aggregate id */

static const fofal_command_def_t *def_of(const char *type) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s", type);
  return def;
}

Test(registry, aggregate_id_explicit) {
  char out[FOFAL_UUID_LEN + 1] = "";
  json_t *data = json_pack("{s:s,s:s,s:i}", "order_id", ORDER, "article", "A", "quantity", 1);
  cr_assert_eq(fofal_command_aggregate_id(def_of("production.order.create"), TENANT, "cmd-1", data, out), 0);
  cr_assert_str_eq(out, ORDER);
  json_decref(data);
  data = json_pack("{s:s}", "order_id", ORDER);
  cr_assert_eq(fofal_command_aggregate_id(def_of("production.order.release"), TENANT, "cmd-1", data, out), 0);
  cr_assert_str_eq(out, ORDER);
  json_decref(data);
}

Test(registry, aggregate_id_derived_for_create) {
  const fofal_command_def_t *def = def_of("production.order.create");
  cr_assert(def->creates);
  json_t *data = json_pack("{s:s,s:i}", "article", "A", "quantity", 1);
  char a[FOFAL_UUID_LEN + 1], b[FOFAL_UUID_LEN + 1], c[FOFAL_UUID_LEN + 1], d[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", data, a), 0);
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", data, b), 0);
  cr_assert_eq(fofal_command_aggregate_id(def, "tenant-b", "cmd-1", data, c), 0);
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-2", data, d), 0);
  cr_assert(fofal_uuid_valid(a), "%s", a);
  cr_assert_str_eq(a, b, "a retried create must land on the same aggregate");
  cr_assert_str_neq(a, c, "another tenant's create must not");
  cr_assert_str_neq(a, d, "another command must not");
  json_decref(data);
}

Test(registry, aggregate_id_missing_or_bad) {
  char out[FOFAL_UUID_LEN + 1];
  json_t *empty = json_object();
  static const char *non_create[] = {"production.order.release", "production.order.start",
                                     "production.order.declare_output", "production.order.complete",
                                     "production.order.cancel"};
  for (size_t i = 0; i < sizeof non_create / sizeof non_create[0]; i++) {
    cr_assert_not(def_of(non_create[i])->creates);
    cr_assert_eq(fofal_command_aggregate_id(def_of(non_create[i]), TENANT, "cmd-1", empty, out), FOFAL_EINVAL,
                 "%s without order_id", non_create[i]);
  }
  json_t *bad = json_pack("{s:s}", "order_id", "not-a-uuid");
  cr_assert_eq(fofal_command_aggregate_id(def_of("production.order.release"), TENANT, "c", bad, out), FOFAL_EINVAL);
  cr_assert_eq(fofal_command_aggregate_id(def_of("production.order.create"), TENANT, "c", bad, out), FOFAL_EINVAL,
               "an invalid explicit id must not fall back to a derived one");
  json_decref(bad);
  bad = json_pack("{s:i}", "order_id", 42);
  cr_assert_eq(fofal_command_aggregate_id(def_of("production.order.create"), TENANT, "c", bad, out), FOFAL_EINVAL);
  json_decref(bad);
  json_decref(empty);
}

/* ------------------------------------------------------- command messages */

Test(registry, command_round_trip_every_field) {
  json_t *data = json_pack("{s:s,s:i,s:s}", "order_id", ORDER, "quantity", 7, "weaver", "W-1");
  fofal_cmd_t in = {.id = "cmd-42",
                    .type = "production.order.declare_output",
                    .tenant = TENANT,
                    .actor = "weaver-9",
                    .actor_badge = "W-9",
                    .aggregate = ORDER,
                    .expected_version = 3,
                    .issued_us = ISSUED,
                    .correlation_id = "corr-7",
                    .data = data};
  char *s = fofal_command_encode(&in);
  cr_assert_not_null(s);
  fofal_cmd_t out;
  json_t *holder = NULL;
  char err[256] = "";
  cr_assert_eq(fofal_command_decode(&out, &holder, s, strlen(s), err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(out.id, in.id);
  cr_assert_str_eq(out.type, in.type);
  cr_assert_str_eq(out.tenant, in.tenant);
  cr_assert_str_eq(out.actor, in.actor);
  cr_assert_str_eq(out.actor_badge, in.actor_badge);
  cr_assert_str_eq(out.aggregate, in.aggregate);
  cr_assert_eq(out.expected_version, 3);
  cr_assert_eq(out.issued_us, ISSUED, "issued_us %lld != %lld", (long long)out.issued_us, (long long)ISSUED);
  cr_assert_str_eq(out.correlation_id, in.correlation_id);
  cr_assert(json_equal(out.data, data));
  json_decref(holder);
  free(s);
  json_decref(data);
}

Test(registry, command_round_trip_optional_fields_absent) {
  json_t *data = json_object();
  fofal_cmd_t in = {.id = "cmd-1",
                    .type = "production.order.release",
                    .tenant = TENANT,
                    .actor = "u",
                    .aggregate = ORDER,
                    .expected_version = -1,
                    .issued_us = 0,
                    .correlation_id = NULL,
                    .data = data};
  char *s = fofal_command_encode(&in);
  json_t *o = json_loads(s, 0, NULL);
  cr_assert_null(json_object_get(o, "expected_version"));
  cr_assert_null(json_object_get(o, "correlation_id"));
  cr_assert_null(json_object_get(o, "actor_badge"));
  json_decref(o);
  fofal_cmd_t out;
  json_t *holder = NULL;
  char err[256] = "";
  cr_assert_eq(fofal_command_decode(&out, &holder, s, strlen(s), err, sizeof err), 0, "%s", err);
  cr_assert_eq(out.expected_version, -1);
  cr_assert_null(out.correlation_id);
  cr_assert_null(out.actor_badge);
  cr_assert_eq(out.issued_us, 0);
  cr_assert(json_is_object(out.data) && json_object_size(out.data) == 0);
  json_decref(holder);
  free(s);
  json_decref(data);
}

Test(registry, command_decode_rejects) {
  fofal_cmd_t out;
  json_t *holder = (json_t *)1;
  char err[256];
  static const char *parse[] = {"not json", "[1]", "\"x\""};
  for (size_t i = 0; i < sizeof parse / sizeof parse[0]; i++) {
    cr_assert_eq(fofal_command_decode(&out, &holder, parse[i], strlen(parse[i]), err, sizeof err), FOFAL_EPARSE, "%s",
                 parse[i]);
    cr_assert_null(holder);
  }
  static const char *inval[] = {
      /* no id */
      "{\"type\":\"t\",\"tenant\":\"a\",\"aggregate\":\"g\",\"issued_at\":\"2026-11-24T08:15:02Z\",\"data\":{}}",
      /* no data */
      "{\"id\":\"i\",\"type\":\"t\",\"tenant\":\"a\",\"aggregate\":\"g\",\"issued_at\":\"2026-11-24T08:15:02Z\"}",
      /* bad issued_at */
      "{\"id\":\"i\",\"type\":\"t\",\"tenant\":\"a\",\"aggregate\":\"g\",\"issued_at\":\"yesterday\",\"data\":{}}",
      /* expected_version not an integer */
      "{\"id\":\"i\",\"type\":\"t\",\"tenant\":\"a\",\"aggregate\":\"g\",\"issued_at\":\"2026-11-24T08:15:02Z\","
      "\"data\":{},\"expected_version\":\"3\"}",
  };
  for (size_t i = 0; i < sizeof inval / sizeof inval[0]; i++) {
    holder = (json_t *)1;
    cr_assert_eq(fofal_command_decode(&out, &holder, inval[i], strlen(inval[i]), err, sizeof err), FOFAL_EINVAL, "%s",
                 inval[i]);
    cr_assert_null(holder);
    cr_assert_null(out.id);
  }
  size_t big = FOFAL_COMMAND_MAX_BYTES * 2 + 1;
  char *buf = fofal_malloc(big);
  memset(buf, ' ', big);
  cr_assert_eq(fofal_command_decode(&out, &holder, buf, big, err, sizeof err), FOFAL_ETOOBIG);
  free(buf);
}

/* ---------------------------------------------------------------- registry */

typedef struct {
  int n;
  const char *types[64];
} each_t;

/* The production module's command types, in registry order (other modules have theirs). */
static void collect(void *opaque, const fofal_command_def_t *def) {
  each_t *e = opaque;
  char module[32];
  if (fofal_command_module(def->type, module, sizeof module) || strcmp(module, "production")) return;
  cr_assert_lt(e->n, 64);
  e->types[e->n++] = def->type;
}

Test(registry, table_and_schemas) {
  each_t e = {0};
  fofal_registry_each(reg, collect, &e);
  cr_assert_eq(e.n, fofal_production_commands_n + fofal_weaving_commands_n);
  cr_assert_eq(fofal_production_commands_n, 10);
  for (int i = 0; i < e.n; i++) {
    const fofal_command_def_t *def = i < fofal_production_commands_n ? &fofal_production_commands[i]
                                                                     : &fofal_weaving_commands[i - fofal_production_commands_n];
    cr_assert_str_eq(e.types[i], def->type, "table order");
    cr_assert_eq(fofal_registry_find(reg, e.types[i]), def);
    const json_t *s = fofal_registry_schema(reg, e.types[i]);
    cr_assert(json_is_object(s), "%s has no schema", e.types[i]);
    cr_assert_str_eq(json_string_value(json_object_get(s, "type")), "object");
    char module[32];
    cr_assert_eq(fofal_command_module(e.types[i], module, sizeof module), 0);
    cr_assert_str_eq(module, "production");
  }
  cr_assert_null(fofal_registry_find(reg, "production.order.explode"));
  cr_assert_null(fofal_registry_schema(reg, "production.order.explode"));
  cr_assert(def_of("production.order.create")->creates);
}

Test(registry, command_module) {
  char out[16];
  cr_assert_eq(fofal_command_module("production.order.create", out, sizeof out), 0);
  cr_assert_str_eq(out, "production");
  cr_assert_eq(fofal_command_module("production.order.create", out, 10), FOFAL_EINVAL, "no room for the NUL");
  cr_assert_eq(fofal_command_module("noddots", out, sizeof out), FOFAL_EINVAL);
  cr_assert_eq(fofal_command_module(".order.create", out, sizeof out), FOFAL_EINVAL);
}

Test(registry, load_from_a_missing_folder_fails) {
  fofal_registry_t *r = (fofal_registry_t *)1;
  char err[512] = "";
  int rc = fofal_registry_load(&r, "/nonexistent/schemas", err, sizeof err);
  cr_assert_eq(rc, FOFAL_ECONFIG);
  cr_assert_null(r);
  cr_assert(strstr(err, "/nonexistent/schemas/") && strstr(err, "/commands/"), "errbuf: %s", err);
  fofal_registry_free(NULL);
}

Test(registry, decision_helpers) {
  fofal_decision_t d = {0};
  fofal_decision_emit(&d, "fofal.production.order_released.v1", json_pack("{s:s}", "order_id", ORDER));
  d.state = json_object();
  cr_assert_eq(json_array_size(d.events), 1);
  fofal_decision_reject(&d, "some_code", "because %d", 42);
  cr_assert_null(d.events, "reject must drop emitted events");
  cr_assert_null(d.state, "reject must drop the new state");
  cr_assert_str_eq(d.code, "some_code");
  cr_assert_str_eq(d.detail, "because 42");
}
