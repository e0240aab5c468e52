/*
 * reactions.c — how the inventory module reacts to other modules' events (commands.h,
 * "reactions"). Pure functions: fofal-reactor runs them exactly once per trigger and keys,
 * ids and sends their commands; the emitting module knows nothing of them.
 *
 *   inventory.unit_on_declaration
 *       fofal.production.output_declared → inventory.unit.receive: the woven roll or
 *       pieces a weaver declared enter stock, at the loom, under the label id the
 *       declaration assigned (so the label the phone shows at once is the unit's). A
 *       declaration without a label id or with an unreadable one fails here (stage
 *       "transform" of fofal.reactions.dlq); one the decider refuses (unknown_order, a
 *       label already received) lands there too (stage "rejected"), with its trigger.
 *
 * The build registers the folder's reactions (fofal_module_inventory_reactions) through
 * fofal_reaction_modules[].
 */
#include "commands.h"
#include "decide.h"

#include <stdio.h>

/* What the unit takes from the declaration: the same names on both sides. */
static const char *const from_declaration[] = {"order_id", "article", "loom", "weaver", "shift", "quantity", "beams",
                                               "length_m", "woven_at", NULL};

static int unit_on_declaration(const fofal_event_t *ev, fofal_reaction_out_t *out) {
  const char *label = jstr(ev->data, "label_id");
  if (!fofal_uuid_valid(label))
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the declaration carries no valid label id");
  if (!fofal_uuid_valid(jstr(ev->data, "order_id")) || jint(ev->data, "quantity", 0) < 1)
    return fofal_err(out->reason, sizeof out->reason, FOFAL_EINVAL, "the declaration of label %s names no order or quantity",
                     label);
  json_t *data = json_pack("{s:s,s:s}", "label_id", label, "location", "loom");
  for (int i = 0; from_declaration[i]; i++) jcopy(data, ev->data, from_declaration[i]);
  snprintf(out->type, sizeof out->type, "inventory.unit.receive");
  out->data = data;
  return FOFAL_REACT_COMMAND;
}

static const char *const on_declaration[] = {"fofal.production.output_declared.v1", NULL};

static const fofal_reaction_t reactions[] = {
    {"inventory.unit_on_declaration", on_declaration, unit_on_declaration,
     "a declared roll or pieces (production) enter stock at the loom under the declaration's label id", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const fofal_reaction_module_t fofal_module_inventory_reactions = {.module = "inventory", .reactions = reactions};
