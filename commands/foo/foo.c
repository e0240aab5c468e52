/*
 * foo.c — the foo module's one aggregate, a thing named by its code, and the module's
 * registration (fofal_module_foo_commands).
 */
#include "decide.h"

#include <stddef.h>

static int thing_create(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  json_t *ev = json_pack("{s:s,s:s}", "thing", jstr(cmd->data, "thing"), "name", jstr(cmd->data, "name"));
  fofal_decision_emit(out, "fofal.foo.thing_created.v1", json_deep_copy(ev));
  out->state = ev;
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"foo.thing.create", "thing", 1, "Create a thing.", thing_create, "thing"},
};
static const int ncommands = sizeof commands / sizeof commands[0];
static const fofal_command_table_t tables[] = {{commands, &ncommands}, {NULL, NULL}};

const fofal_command_module_t fofal_module_foo_commands = {.name = "foo", .tables = tables};
