/*
 * test_catalog.c — commands/catalog/catalog.c through the registry: an article is defined
 * once, an update emits only what changes, and one that changes nothing is refused. Every
 * emitted event is checked against its schema under schemas/catalog/events/.
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

TestSuite(article, .init = setup, .fini = teardown);

static void check_event(const json_t *ev) {
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char prefix[] = "fofal.catalog.";
  cr_assert(type && !strncmp(type, prefix, sizeof prefix - 1), "event type %s", type ? type : "(null)");
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/schemas/catalog/events/%s.json", FOFAL_SOURCE_DIR, type + sizeof prefix - 1);
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

/* Decides `type` with `data` (a JSON text) against `state` (NULL: none); *d is the caller's. */
static int decide(const char *type, const char *data, const json_t *state, fofal_decision_t *d) {
  const fofal_command_def_t *def = fofal_registry_find(reg, type);
  cr_assert_not_null(def, "%s not in the registry", type);
  json_t *j = json_loads(data, 0, NULL);
  json_t *errors = NULL;
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

Test(article, is_named_by_its_code_in_the_catalog_module) {
  const fofal_command_def_t *def = fofal_registry_find(reg, "catalog.article.define");
  cr_assert_not_null(def);
  cr_expect_null(fofal_registry_find(reg, "production" ".article.define"), "articles are no longer production's");
  json_t *data = json_pack("{s:s}", "article", "FT-200");
  char agg[FOFAL_UUID_LEN + 1], ref[FOFAL_UUID_LEN + 1];
  cr_assert_eq(fofal_command_aggregate_id(def, TENANT, "cmd-1", data, agg), 0);
  fofal_aggregate_ref(TENANT, "article", "FT-200", ref);
  cr_expect_str_eq(agg, ref, "the same aggregate id whatever module reads it");
  json_decref(data);
}

Test(article, define_emits_what_was_given) {
  fofal_decision_t d;
  cr_assert_eq(decide("catalog.article.define",
                      "{\"article\":\"FT-200\",\"name\":\"Fouta 100x200\",\"weave\":\"flat\",\"width_cm\":100,"
                      "\"length_cm\":200,\"picks_per_cm\":18}",
                      NULL, &d),
               0);
  cr_assert_eq(json_array_size(d.events), 1);
  json_t *ev = json_array_get(d.events, 0);
  cr_expect_str_eq(json_string_value(json_object_get(ev, "type")), "fofal.catalog.article_defined.v1");
  json_t *want = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i}", "article", "FT-200", "name", "Fouta 100x200", "weave", "flat",
                           "width_cm", 100, "length_cm", 200, "picks_per_cm", 18);
  cr_expect(json_equal(json_object_get(ev, "data"), want), "event data");
  cr_expect(json_equal(d.state, want), "state");
  json_decref(want);
  release(&d);
}

Test(article, update_emits_only_what_changes_and_refuses_no_change) {
  json_t *state = json_pack("{s:s,s:s,s:i}", "article", "FT-200", "name", "Fouta", "picks_per_cm", 18);
  fofal_decision_t d;
  cr_assert_eq(decide("catalog.article.update", "{\"article\":\"FT-200\",\"name\":\"Fouta\",\"picks_per_cm\":20}", state, &d), 0);
  json_t *ev = json_array_get(d.events, 0);
  cr_expect_str_eq(json_string_value(json_object_get(ev, "type")), "fofal.catalog.article_updated.v1");
  json_t *want = json_pack("{s:s,s:i}", "article", "FT-200", "picks_per_cm", 20);
  cr_expect(json_equal(json_object_get(ev, "data"), want), "only the density changed");
  cr_expect_eq(json_integer_value(json_object_get(d.state, "picks_per_cm")), 20);
  cr_expect_str_eq(json_string_value(json_object_get(d.state, "name")), "Fouta");
  json_decref(want);
  release(&d);
  cr_assert_eq(decide("catalog.article.update", "{\"article\":\"FT-200\",\"name\":\"Fouta\"}", state, &d), FOFAL_EREJECTED);
  cr_expect_str_eq(d.code, "no_change");
  cr_expect_null(d.events);
  release(&d);
  json_decref(state);
}
