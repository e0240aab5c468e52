/*
 * test_units.c — an item's unit conversions (catalog.item.set_conversions,
 * commands/catalog/catalog.c): integer ratios to the item's own unit, never to itself,
 * never the fixed kg/g and m/mm, each unit once, and a setting that changes nothing is
 * refused. Events checked against schemas/catalog/events/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "jsonschema.h"

#define TENANT "tenant-a"

static fofal_registry_t *reg;

static void setup(void) {
  char err[512] = "";
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "registry: %s", err);
}

static void teardown(void) {
  fofal_registry_free(reg);
  reg = NULL;
}

TestSuite(units, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  char path[512], err[256];
  cr_assert(type && !strncmp(type, "fofal.catalog.", 14), "event type %s", type ? type : "(null)");
  snprintf(path, sizeof path, "%s/schemas/catalog/events/%s.json", FOFAL_SOURCE_DIR, type + 14);
  json_t *sj = json_load_file(path, 0, NULL);
  cr_assert_not_null(sj, "%s has no schema (%s)", type, path);
  fofal_schema_t *s = NULL;
  cr_assert_eq(fofal_schema_compile(&s, sj, path, err, sizeof err), 0, "%s: %s", path, err);
  json_t *errors = NULL;
  cr_expect_eq(fofal_schema_validate(s, json_object_get(ev, "data"), &errors), 0, "%s does not match its schema", type);
  json_decref(errors);
  fofal_schema_free(s);
  json_decref(sj);
}

/* Decides `type` with `data` (JSON text, valid by its schema) against `state`. */
static int decide(const char *type, const char *data, const json_t *state, fofal_decision_t *d) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s not in the registry", type);
  json_t *j = json_loads(data, 0, NULL), *errors = NULL;
  cr_assert_eq(fofal_registry_validate(reg, type, j, &errors), 0, "test bug: %s does not match its schema", data);
  json_decref(errors);
  char agg[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", j, agg), 0);
  fofal_cmd_t cmd = {.id = "cmd-1", .type = type, .tenant = TENANT, .actor = "u:tester/admin", .aggregate = agg,
                     .expected_version = -1, .issued_us = 1, .data = j};
  memset(d, 0, sizeof *d);
  int rc = def->decide(&cmd, state, d);
  size_t i;
  json_t *ev;
  json_array_foreach(d->events, i, ev) check_event(ev);
  json_decref(j);
  return rc;
}

static void release(fofal_decision_t *d) {
  json_decref(d->events);
  json_decref(d->state);
  json_decref(d->others);
}

/* A yarn counted in grams: the state item_define leaves. */
static json_t *yarn(void) {
  fofal_decision_t d;
  cr_assert_eq(decide("catalog.item.define", "{\"item\":\"YRN-20\",\"kind\":\"yarn\",\"name\":\"Ne 20/2\",\"unit\":\"g\"}",
                      NULL, &d),
               0);
  json_t *s = json_incref(d.state);
  release(&d);
  return s;
}

static void refused(const char *data, const json_t *state, const char *code) {
  fofal_decision_t d;
  cr_expect_eq(decide("catalog.item.set_conversions", data, state, &d), FOFAL_EREJECTED, "%s accepted", data);
  cr_expect_str_eq(d.code, code, "%s: %s", data, d.detail);
  release(&d);
}

Test(units, conversions_are_integer_ratios_to_the_items_own_unit) {
  json_t *s = yarn();
  fofal_decision_t d;
  const char *cones = "{\"item\":\"YRN-20\",\"conversions\":[{\"unit\":\"cone\",\"qty\":1,\"base_qty\":1500},"
                      "{\"unit\":\"m\",\"qty\":17000,\"base_qty\":1000}]}";
  cr_assert_eq(decide("catalog.item.set_conversions", cones, s, &d), 0, "%s: %s", d.code, d.detail);
  const json_t *ev = json_object_get(json_array_get(d.events, 0), "data");
  cr_expect_str_eq(json_string_value(json_object_get(ev, "unit")), "g", "the event names the unit the ratios are to");
  cr_expect_eq(json_array_size(json_object_get(d.state, "conversions")), 2);
  json_t *s2 = json_incref(d.state);
  release(&d);
  refused(cones, s2, "no_change");
  /* [] removes them; then [] again changes nothing. */
  cr_assert_eq(decide("catalog.item.set_conversions", "{\"item\":\"YRN-20\",\"conversions\":[]}", s2, &d), 0);
  cr_expect_eq(json_array_size(json_object_get(d.state, "conversions")), 0);
  release(&d);
  refused("{\"item\":\"YRN-20\",\"conversions\":[]}", s, "no_change");
  json_decref(s2);
  json_decref(s);
}

Test(units, never_to_itself_nor_the_fixed_ones_nor_twice) {
  json_t *s = yarn();
  refused("{\"item\":\"YRN-20\",\"conversions\":[{\"unit\":\"g\",\"qty\":1,\"base_qty\":1}]}", s, "same_unit");
  refused("{\"item\":\"YRN-20\",\"conversions\":[{\"unit\":\"kg\",\"qty\":1,\"base_qty\":999}]}", s, "fixed_conversion");
  refused("{\"item\":\"YRN-20\",\"conversions\":[{\"unit\":\"cone\",\"qty\":1,\"base_qty\":1500},{\"unit\":\"cone\","
          "\"qty\":2,\"base_qty\":3000}]}",
          s, "duplicate_unit");
  json_decref(s);
  /* Zero or a ratio out of bounds is the schema's: never a division by zero downstream. */
  json_t *bad = json_loads("{\"item\":\"YRN-20\",\"conversions\":[{\"unit\":\"cone\",\"qty\":1,\"base_qty\":0}]}", 0, NULL),
         *errors = NULL;
  cr_expect_neq(fofal_registry_validate(reg, "catalog.item.set_conversions", bad, &errors), 0);
  json_decref(errors);
  json_decref(bad);
}
