/*
 * inventory.c — the inventory module's deciders and its registration in the command
 * layer: stock units (today the woven rolls and pieces a declaration puts into stock) and
 * the labels that name them. The storekeepers' commands (locations, yarn lots, moves,
 * cartons, pallets, counts) are in stores.c.
 *
 *   inventory.unit.receive    a unit enters stock under the label id its origin gave it;
 *                             sent by the reaction inventory.unit_on_declaration
 *                             (reactions.c) for every production output_declared
 *   inventory.label.reprint   a unit's label printed again (the label id stays the same)
 *
 * Events go to fofal.inventory.events. A unit and its label are one aggregate, named by
 * the label id (a UUID: the aggregate id itself). For a woven roll that id is assigned by
 * the declaration (production's decider, fofal_uuid_named(order, command id)), so the
 * weaver's phone knows it from the declaration's answer before inventory has received
 * the roll, and a decision taken again gives the same one.
 *
 * Other modules' aggregates. A unit is received only for an order of its tenant: the
 * decision reads the order (production's aggregate) through fofal_cmd_lookup. It may,
 * because all of a tenant's commands, whatever their module, are decided on one partition
 * of fofal.commands by the same decider, whose state store holds every aggregate of the
 * partition (commands/catalog/catalog.c says more): the lookup sees the order as of the
 * last command decided before — for a reaction's command, after the declaration that
 * triggered it. The cost: a tenant's commands of all modules are decided one after the
 * other, and this read couples the decision to the order's state having a "status".
 *
 * The build finds this folder and lists fofal_module_inventory_commands in the generated
 * fofal_command_modules[]. Pure functions: no I/O, no clock.
 */
#include "decide.h"
#include "inventory.h"

#define EV(name) "fofal.inventory." name ".v1"

/* What a received unit keeps from its origin (its event and its state). */
static const char *const unit_fields[] = {"order_id", "article", "loom", "weaver", "shift", "quantity", "length_m", "beams",
                                          "woven_at", "location", NULL};

static int unit_receive(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  (void)state;
  const char *order = jstr(cmd->data, "order_id");
  /* The order is production's aggregate, read across modules (the file header). */
  if (!fofal_cmd_lookup(cmd, order)) return REJECT(out, "unknown_order", "order %s does not exist", order);
  json_t *ev = json_pack("{s:s}", "label_id", cmd->aggregate);
  for (int i = 0; unit_fields[i]; i++) jcopy(ev, cmd->data, unit_fields[i]);
  if (!json_object_get(ev, "location")) json_object_set_new(ev, "location", json_string("loom"));
  json_object_set_new(ev, "prints", json_integer(1));
  out->state = json_deep_copy(ev);
  fofal_decision_emit(out, EV("unit_received"), ev);
  return 0;
}

static int label_reprint(const fofal_cmd_t *cmd, const json_t *state, fofal_decision_t *out) {
  json_int_t n = jint(state, "prints", 1) + 1;
  out->state = json_deep_copy(state);
  json_object_set_new(out->state, "prints", json_integer(n));
  json_t *ev = json_pack("{s:s,s:I,s:s}", "label_id", cmd->aggregate, "print_no", n, "reason", jstr(cmd->data, "reason"));
  jcopy(ev, cmd->data, "printer");
  fofal_decision_emit(out, EV("label_reprinted"), ev);
  return 0;
}

static const fofal_command_def_t commands[] = {
    {"inventory.unit.receive", "label_id", 1,
     "A unit (a woven roll or pieces) enters stock under its label id; sent by a reaction to a declaration.",
     unit_receive, NULL},
    {"inventory.label.reprint", "label_id", 0, "Print a unit's label again (recorded; the label id stays the same).",
     label_reprint, NULL},
};
static const int ncommands = sizeof commands / sizeof commands[0];

static const fofal_command_table_t tables[] = {
    {commands, &ncommands},
    {fofal__inventory_stores_commands, &fofal__inventory_stores_ncommands},
    {fofal__inventory_flows_commands, &fofal__inventory_flows_ncommands},
    {NULL, NULL},
};

const fofal_command_module_t fofal_module_inventory_commands = {.name = "inventory", .tables = tables};
