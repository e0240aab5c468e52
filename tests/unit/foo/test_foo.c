/* test_foo.c — commands/foo/foo.c: creating a thing emits thing_created with its name. */
#include <criterion/criterion.h>

#include "commands.h"

Test(foo, create_emits_thing_created) {
  fofal_registry_t *reg = NULL;
  char err[256];
  cr_assert_eq(fofal_registry_load(&reg, FOFAL_SOURCE_DIR "/schemas", err, sizeof err), 0, "%s", err);
  const fofal_command_def_t *def = fofal_registry_find(reg, "foo.thing.create");
  cr_assert_not_null(def);
  json_t *data = json_pack("{s:s,s:s}", "thing", "T1", "name", "One");
  fofal_cmd_t cmd = {.type = def->type, .tenant = "t", .data = data, .expected_version = -1};
  fofal_decision_t d = {0};
  cr_assert_eq(def->decide(&cmd, NULL, &d), 0);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(d.events, 0), "type")), "fofal.foo.thing_created.v1");
  cr_expect_str_eq(json_string_value(json_object_get(d.state, "name")), "One");
  json_decref(d.events);
  json_decref(d.state);
  json_decref(data);
  fofal_registry_free(reg);
}
